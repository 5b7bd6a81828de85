/* Bad pointers and bad arguments: errors, never a crash. Prints what
 * each call returned; the output is the same on Linux (tests/run.py
 * compares them). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

/* Copies to user memory that run into an unmapped page part way, from
 * starts of every alignment: the kernel copies 8 bytes at a time, and
 * must still stop at the exact byte where the page ends (getrandom
 * reports the count). Not /dev/zero: Linux clears user memory 8 bytes at
 * a time and reports a rounded-down count there; not a pipe's write:
 * Linux drops a short chunk and answers -EFAULT, Caboose keeps the bytes
 * before the fault. */
static void partial_copies(void)
{
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || munmap(m + 4096, 4096) < 0) {
		printf("partial: mmap failed\n");
		return;
	}
	static const int left[] = { 1, 5, 8, 13, 100 };
	for (unsigned i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		char *at = m + 4096 - left[i];
		long r = syscall(SYS_getrandom, at, 200, 0);
		printf("%3d bytes left: getrandom %ld (%s)\n", left[i], r,
		       r < 0 ? strerror(errno) : "ok");
	}
	munmap(m, 4096);
}

int main(void)
{
	show("write(1, (void *)1, 10)", syscall(SYS_write, 1, (void *)1, 10));
	show("write(1, kernel address, 10)", syscall(SYS_write, 1, (void *)0xffffffff80200000UL, 10));
	show("write(1, non-canonical, 10)", syscall(SYS_write, 1, (void *)0x0000900000000000UL, 10));
	show("write(7, buf, 1)", syscall(SYS_write, 7, "x", 1));
	show("clock_gettime(MONOTONIC, NULL)", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, NULL));
	show("clock_gettime(-5, &ts)", syscall(SYS_clock_gettime, -5, (void *)0x1000));
	show("uname(kernel address)", syscall(SYS_uname, (void *)0xffff800000000000UL));
	show("getrandom(NULL, 16, 0)", syscall(SYS_getrandom, NULL, 16, 0));
	show("rt_sigaction(SIGKILL, bad act)", syscall(SYS_rt_sigaction, 9, (void *)0x1000, NULL, 8));
	unsigned long act[4] = { 0 };
	show("rt_sigaction(SIGKILL, &act)", syscall(SYS_rt_sigaction, 9, act, NULL, 8));
	show("rt_sigaction(65, &act)", syscall(SYS_rt_sigaction, 65, act, NULL, 8));
	show("rt_sigaction(SIGUSR1, &act, size 4)", syscall(SYS_rt_sigaction, 10, act, NULL, 4));
	show("rt_sigaction(SIGUSR1, &act, bad old)", syscall(SYS_rt_sigaction, 10, act, (void *)8, 8));
	unsigned long set = 0;
	show("rt_sigprocmask(9, &set)", syscall(SYS_rt_sigprocmask, 9, &set, NULL, 8));
	show("rt_sigprocmask(9, bad set)", syscall(SYS_rt_sigprocmask, 9, (void *)8, NULL, 8));
	show("writev(1, bad iov, 1)", syscall(SYS_writev, 1, (void *)8, 1));
	show("writev(1, iov, -1)", syscall(SYS_writev, 1, &set, -1));
	show("writev(1, iov, 1025)", syscall(SYS_writev, 1, &set, 1025));
	show("mmap(PROT_READ|PROT_WRITE, file 9)", syscall(SYS_mmap, 0, 4096, 3, 2, 9, 0));
	show("mmap(unaligned offset)", syscall(SYS_mmap, 0, 4096, 3, 0x22, -1, 1));
	show("munmap(kernel address)", syscall(SYS_munmap, 0xffff800000000000UL, 4096));
	show("arch_prctl(ARCH_SET_FS, kernel address)",
	     syscall(SYS_arch_prctl, 0x1002, 0xffff800000000000UL));
	show("arch_prctl(0x9999)", syscall(SYS_arch_prctl, 0x9999, 0));
	show("getrandom(r, 1, 0x80)", syscall(SYS_getrandom, &set, 1, 0x80));
	show("unimplemented 999", syscall(999));
	show("unimplemented 400", syscall(400));
	struct utsname u;
	show("uname(&u)", uname(&u));
	printf("machine=%s\n", u.machine);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("monotonic ok=%d\n", b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
	unsigned char r[32] = { 0 };
	show("getrandom(r, 32, 0)", syscall(SYS_getrandom, r, 32, 0));
	printf("pid=%d tid==pid=%d\n", getpid() > 0, (long)getpid() == syscall(SYS_gettid));
	partial_copies();
	printf("efault: done\n");
	return 0;
}
