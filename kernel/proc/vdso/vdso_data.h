/* The vDSO's data page (see vdso.c): one kernel page (kernel/proc/clock.c)
 * mapped read-only into every address space just below the vDSO's text,
 * read by the vDSO's code. The kernel changes it under a sequence count:
 * seq is odd while a change is under way; a reader takes seq, the fields,
 * then seq again, and starts over if it was odd or moved (x86-64 keeps
 * loads in order, so only the compiler's order needs a barrier). */
#ifndef PROC_VDSO_DATA_H
#define PROC_VDSO_DATA_H

#define VDSO_DATA_SIZE 4096

struct vdso_data {
	unsigned seq;              /* even: stable; odd: the kernel is writing */
	unsigned pad;
	unsigned long long tsc0;   /* the TSC when the clock read 0 */
	unsigned long long mult;   /* ns = ((tsc - tsc0) * mult) >> 32; 0: use the system calls */
	unsigned long long realtime_off;   /* CLOCK_REALTIME = that + realtime_off */
};

#endif
