/* The vDSO's data page (see vdso.c): written by the kernel into each new
 * address space just below the vDSO's text, read by the vDSO's code. */
#ifndef PROC_VDSO_DATA_H
#define PROC_VDSO_DATA_H

#define VDSO_DATA_SIZE 4096

struct vdso_data {
	unsigned long long tsc0;   /* the TSC when the clock read 0 */
	unsigned long long mult;   /* ns = ((tsc - tsc0) * mult) >> 32; 0: use the system calls */
};

#endif
