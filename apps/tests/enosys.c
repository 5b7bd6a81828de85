/* Calls Caboose does not have yet, or answers differently from Linux
 * (no terminal layer): -ENOSYS and -ENOTTY. Not compared with Linux. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "show.h"

int main(void)
{
	struct winsize ws;
	show("ioctl(1, TIOCGWINSZ, &ws)", ioctl(1, TIOCGWINSZ, &ws));
	show("timerfd_create", syscall(SYS_timerfd_create, 1, 0));
	show("inotify_init1", syscall(SYS_inotify_init1, 0));
	show("unimplemented 999", syscall(999));
	printf("enosys: done\n");
	return 0;
}
