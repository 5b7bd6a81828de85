/*
 * The vDSO: a small shared object the loader maps into every process
 * (AT_SYSINFO_EHDR) so that glibc reads the clock without a system call.
 * Built for user mode (not part of the kernel image's code: the kernel
 * embeds the linked .so, kernel/proc/vdso_image.S, and copies it into each
 * new address space, elf.c).
 *
 * The page just below the vDSO's first page holds struct vdso_data (the
 * kernel's clock parameters: one page shared by every process, read-only
 * to them, kernel/proc/clock.c): the monotonic clock is
 * ((rdtsc - tsc0) * mult) >> 32 nanoseconds, as the kernel's arch_clock_ns
 * computes it; CLOCK_REALTIME adds the wall clock's offset (realtime_off,
 * which clock_settime changes for every process at once). The fields are
 * read under the page's sequence count (vdso_data.h). Any other clock,
 * and getcpu, go to the system call.
 */
#include "kernel/proc/vdso/vdso_data.h"

#define CLOCK_REALTIME          0
#define CLOCK_MONOTONIC         1
#define CLOCK_MONOTONIC_RAW     4
#define CLOCK_REALTIME_COARSE   5
#define CLOCK_MONOTONIC_COARSE  6
#define CLOCK_BOOTTIME          7

#define SYS_gettimeofday  96
#define SYS_time          201
#define SYS_clock_gettime 228
#define SYS_clock_getres  229
#define SYS_getcpu        309

struct timespec { long tv_sec, tv_nsec; };
struct timeval { long tv_sec, tv_usec; };

/* The data page: below the vDSO's ELF header (__ehdr_start, which the
 * linker defines at the image's first byte), reached PC-relative. */
static const volatile struct vdso_data *data(void)
{
	unsigned long p;
	__asm__("lea __ehdr_start(%%rip), %0" : "=r"(p));
	return (const volatile struct vdso_data *)(p - VDSO_DATA_SIZE);
}

static long sys2(long nr, long a, long b)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static long sys3(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

#define barrier() __asm__ volatile("" ::: "memory")

/* The monotonic clock's nanoseconds, and the wall clock's offset from it,
 * read together under the sequence count. */
static unsigned long long now_ns(unsigned long long *realtime_off)
{
	const volatile struct vdso_data *d = data();
	for (;;) {
		unsigned seq = d->seq;
		barrier();
		if (seq & 1) {
			__asm__ volatile("pause");
			continue;
		}
		unsigned lo, hi;
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		unsigned long long t = ((unsigned long long)hi << 32 | lo) - d->tsc0;
		unsigned long long ns = (unsigned long long)(((unsigned __int128)t * d->mult) >> 32);
		*realtime_off = d->realtime_off;
		barrier();
		if (d->seq == seq)
			return ns;
	}
}

static int simple_clock(long clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_RAW ||
	       clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE ||
	       clk == CLOCK_BOOTTIME;
}

int __vdso_clock_gettime(long clk, struct timespec *ts)
{
	if (!simple_clock(clk) || !data()->mult)
		return (int)sys2(SYS_clock_gettime, clk, (long)ts);
	unsigned long long off, ns = now_ns(&off);
	if (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)
		ns += off;
	ts->tv_sec = (long)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
	return 0;
}

int __vdso_gettimeofday(struct timeval *tv, void *tz)
{
	if (!data()->mult || tz)
		return (int)sys2(SYS_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		unsigned long long off, ns = now_ns(&off);
		ns += off;
		tv->tv_sec = (long)(ns / 1000000000ULL);
		tv->tv_usec = (long)(ns % 1000000000ULL / 1000);
	}
	return 0;
}

long __vdso_time(long *t)
{
	if (!data()->mult)
		return sys2(SYS_time, (long)t, 0);
	unsigned long long off, ns = now_ns(&off);
	long s = (long)((ns + off) / 1000000000ULL);
	if (t)
		*t = s;
	return s;
}

int __vdso_clock_getres(long clk, struct timespec *ts)
{
	return (int)sys2(SYS_clock_getres, clk, (long)ts);
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	return sys3(SYS_getcpu, (long)cpu, (long)node, (long)cache);
}

/* the plain names, weak aliases as Linux's vDSO has them */
__asm__(".weak clock_gettime\n.set clock_gettime, __vdso_clock_gettime\n"
	".weak gettimeofday\n.set gettimeofday, __vdso_gettimeofday\n"
	".weak time\n.set time, __vdso_time\n"
	".weak clock_getres\n.set clock_getres, __vdso_clock_getres\n"
	".weak getcpu\n.set getcpu, __vdso_getcpu\n");
