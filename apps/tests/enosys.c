/* Calls Caboose does not have yet, or answers differently from Linux:
 * -ENOSYS, and -ENOTTY for a terminal request on /dev/null. Not compared
 * with Linux. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s = %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

int main(void)
{
	struct winsize ws;
	int null = open("/dev/null", O_RDWR);
	show("ioctl(/dev/null, TIOCGWINSZ, &ws)", ioctl(null, TIOCGWINSZ, &ws));
	show("timerfd_create", syscall(SYS_timerfd_create, 1, 0));
	show("eventfd2", syscall(SYS_eventfd2, 0, 0));
	show("unimplemented 999", syscall(999));
	printf("enosys: done\n");
	return 0;
}
