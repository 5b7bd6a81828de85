/* Process details programs see: setpgid of a child before and after its
 * execve (EACCES after), the state /proc/PID/stat and status give for a
 * sleeping and a stopped child ('S', 'T (stopped)'), a vfork parent that
 * goes on when its child dies of a signal, and FIONREAD on a pipe (both
 * ends) and on a UDP socket (the next datagram's size). Prints what each
 * call returned: the same on Linux. */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lo.h"
#include "show.h"

static void setpgid_after_exec(void)
{
	int go[2], execd[2];
	if (pipe(go) < 0 || pipe2(execd, O_CLOEXEC) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(execd[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		char *argv[] = { "sleep", "30", NULL }, *envp[] = { NULL };
		execve("/bin/busybox", argv, envp);
		_exit(127);
	}
	close(execd[1]);
	T(setpgid(pid, pid));     /* before its execve: fine */
	T(getpgid(pid) == pid);
	T(write(go[1], "x", 1));
	char c;
	T(read(execd[0], &c, 1));   /* 0: the close-on-exec end went with its execve */
	T(setpgid(pid, 0));
	T(setpgid(pid, getpgid(0)));
	T(kill(pid, SIGKILL));
	int st;
	T(waitpid(pid, &st, 0) == pid);
	status("exec'd child", st);
	close(go[0]);
	close(go[1]);
	close(execd[0]);
}

static void show_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		printf("%s: %s\n", path, strerror(errno));
	} else {
		char *p = strrchr(buf, ')');
		printf("stat state: %c\n", p && p[1] ? p[2] : '?');
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "State:", 6))
			printf("status %s", buf);
	if (f)
		fclose(f);
}

static void stopped_state(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	usleep(200000);   /* asleep in pause */
	show_state(pid);
	T(kill(pid, SIGSTOP));
	int st;
	T(waitpid(pid, &st, WUNTRACED) == pid);
	printf("stopped by %d\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
	show_state(pid);
	T(kill(pid, SIGCONT));
	T(waitpid(pid, &st, WCONTINUED) == pid);
	printf("continued: %d\n", WIFCONTINUED(st));
	T(kill(pid, SIGKILL));
	T(waitpid(pid, &st, 0) == pid);
	status("paused child", st);
}

static void vfork_crash(void)
{
	pid_t pid = vfork();
	if (pid == 0) {
		static volatile int *volatile bad;
		*bad = 1;   /* SIGSEGV in the child, on the parent's stack */
		_exit(0);
	}
	printf("vfork parent goes on: %d\n", pid > 0);
	int st;
	T(waitpid(pid, &st, 0) == pid);
	status("vfork child", st);
}

static void fionread(void)
{
	int p[2], n = -1;
	if (pipe(p) < 0)
		return;
	T(ioctl(p[0], FIONREAD, &n));
	printf("pipe empty: %d\n", n);
	T(write(p[1], "hello", 5));
	T(write(p[1], "world!", 6));
	T(ioctl(p[0], FIONREAD, &n));
	printf("pipe read end: %d\n", n);
	n = -1;
	T(ioctl(p[1], FIONREAD, &n));
	printf("pipe write end: %d\n", n);
	char buf[4];
	T(read(p[0], buf, 4));
	T(ioctl(p[0], FIONREAD, &n));
	printf("pipe after a read: %d\n", n);
	T(ioctl(p[0], FIONREAD, (int *)8));
	close(p[0]);
	close(p[1]);

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	T(bind(s, (struct sockaddr *)&a, sizeof(a)));
	T(getsockname(s, (struct sockaddr *)&a, &len));
	n = -1;
	T(ioctl(s, FIONREAD, &n));
	printf("udp empty: %d\n", n);
	T(sendto(s, "abc", 3, 0, (struct sockaddr *)&a, sizeof(a)));
	T(sendto(s, "0123456", 7, 0, (struct sockaddr *)&a, sizeof(a)));
	struct pollfd pf = { .fd = s, .events = POLLIN };
	T(poll(&pf, 1, 2000));
	usleep(100000);   /* the second datagram too */
	T(ioctl(s, FIONREAD, &n));
	printf("udp first datagram: %d\n", n);
	T(recv(s, buf, sizeof(buf), 0));
	T(ioctl(s, FIONREAD, &n));
	printf("udp second datagram: %d\n", n);
	close(s);
}

/* The Linux guest boots with lo down and /proc unmounted (this program is
 * its first process); Caboose has neither to do (set-up, not printed). */
static void set_up(void)
{
	mkdir("/proc", 0555);
	mount("proc", "/proc", "proc", 0, NULL);
	lo_up();
}

int main(void)
{
	set_up();
	setpgid_after_exec();
	stopped_state();
	vfork_crash();
	fionread();
	return 0;
}
