/* Bad pointers and unimplemented calls: errors, never a crash. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s = %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
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
	show("ioctl(1, TIOCGWINSZ)", syscall(SYS_ioctl, 1, 0x5413, (void *)0x1000));
	show("rt_sigaction(SIGKILL)", syscall(SYS_rt_sigaction, 9, (void *)0x1000, NULL, 8));
	show("unimplemented 999", syscall(999));
	show("unimplemented fork", syscall(SYS_fork));
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
	printf("efault: done\n");
	return 0;
}
