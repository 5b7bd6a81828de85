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

#include "show.h"

int main(void)
{
	struct winsize ws;
	int null = open("/dev/null", O_RDWR);
	show("ioctl(/dev/null, TIOCGWINSZ, &ws)", ioctl(null, TIOCGWINSZ, &ws));
	show("timerfd_create", syscall(SYS_timerfd_create, 1, 0));
	show("inotify_init1", syscall(SYS_inotify_init1, 0));
	show("unimplemented 999", syscall(999));
	printf("enosys: done\n");
	return 0;
}
