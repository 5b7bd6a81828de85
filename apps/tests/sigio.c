/* O_ASYNC and SIGIO (issue 12): fcntl F_SETOWN/F_GETOWN, F_SETSIG/F_GETSIG,
 * F_SETFL O_ASYNC and ioctl FIOASYNC; the owner gets SIGIO (or F_SETSIG's
 * signal) when a pipe's read end gets data, when its write end gets room
 * (a read), when an AF_UNIX stream socket or a UDP socket gets data;
 * nothing without an owner or once O_ASYNC is cleared; a process group as
 * the owner; SIGIO's default action ends the process. Linux's errors for
 * bad owners and signals.
 *
 * Prints counts of handled signals where Linux's are exact (each call
 * returns to user mode, where a pending signal is taken), and only
 * whether one came where delivery is asynchronous (UDP over loopback). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "show.h"
#include "lo.h"

static volatile int nio, nusr1;
static void on_io(int sig) { (void)sig; nio++; }
static void on_usr1(int sig) { (void)sig; nusr1++; }

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
}

static void test_owner(void)
{
	int p[2];
	char c;
	T(pipe(p));
	T(fcntl(p[0], F_GETOWN));
	T(fcntl(p[0], F_GETSIG));
	T(fcntl(p[0], F_SETOWN, 999999));
	T(fcntl(p[0], F_SETOWN, INT_MIN));
	T(fcntl(p[0], F_SETSIG, 65));
	T(fcntl(p[0], F_SETSIG, -1));
	T(fcntl(p[0], F_SETOWN, getpid()));
	printf("F_GETOWN is the pid: %s\n", fcntl(p[0], F_GETOWN) == getpid() ? "yes" : "no");
	T(fcntl(p[0], F_SETOWN, -getpgrp()));
	printf("F_GETOWN is minus the group: %s\n",
	       fcntl(p[0], F_GETOWN) == -getpgrp() ? "yes" : "no");
	T(fcntl(p[0], F_SETOWN, 0));
	T(fcntl(p[0], F_GETOWN));
	/* O_ASYNC without an owner: nothing */
	T(fcntl(p[0], F_SETFL, O_ASYNC));
	printf("F_GETFL has O_ASYNC: %s\n", fcntl(p[0], F_GETFL) & O_ASYNC ? "yes" : "no");
	nio = 0;
	T(write(p[1], "a", 1));
	printf("no owner: SIGIO %d\n", nio);
	T(read(p[0], &c, 1));
	close(p[0]);
	close(p[1]);
}

static void test_pipe(void)
{
	int p[2];
	char buf[8];
	T(pipe(p));
	T(fcntl(p[0], F_SETOWN, getpid()));
	T(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK));
	nio = 0;
	T(read(p[0], buf, 1));
	printf("read end, nothing written: SIGIO %d\n", nio);
	T(write(p[1], "ab", 2));
	printf("read end, after a write: SIGIO %d\n", nio);
	T(write(p[1], "c", 1));
	printf("read end, after a second write: SIGIO %d\n", nio);
	T(read(p[0], buf, 1));
	printf("read end, after its own read: SIGIO %d\n", nio);
	/* the write end: room after a read */
	T(fcntl(p[1], F_SETOWN, getpid()));
	int on = 1;
	T(ioctl(p[1], FIOASYNC, &on));
	printf("FIOASYNC set O_ASYNC: %s\n", fcntl(p[1], F_GETFL) & O_ASYNC ? "yes" : "no");
	nio = 0;
	T(write(p[1], "d", 1));
	printf("both ends, after a write: SIGIO %d\n", nio);
	T(read(p[0], buf, 2));
	printf("both ends, after a read: SIGIO %d\n", nio);
	/* off again: nothing */
	T(fcntl(p[0], F_SETFL, O_NONBLOCK));
	on = 0;
	T(ioctl(p[1], FIOASYNC, &on));
	nio = 0;
	T(write(p[1], "e", 1));
	T(read(p[0], buf, 1));
	printf("O_ASYNC cleared: SIGIO %d\n", nio);
	/* F_SETSIG: that signal instead */
	T(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK));
	T(fcntl(p[0], F_SETSIG, SIGUSR1));
	T(fcntl(p[0], F_GETSIG));
	nio = nusr1 = 0;
	T(write(p[1], "f", 1));
	printf("F_SETSIG SIGUSR1: SIGUSR1 %d, SIGIO %d\n", nusr1, nio);
	T(fcntl(p[0], F_SETSIG, 0));
	T(write(p[1], "g", 1));
	printf("F_SETSIG 0: SIGUSR1 %d, SIGIO %d\n", nusr1, nio);
	/* the process group as the owner */
	T(fcntl(p[0], F_SETOWN, -getpgrp()));
	nio = 0;
	T(write(p[1], "h", 1));
	printf("group owner: SIGIO %d\n", nio);
	/* the writer closes: a hang-up is an event too */
	T(fcntl(p[0], F_SETOWN, getpid()));
	nio = 0;
	T(close(p[1]));
	printf("writer closed: SIGIO %d\n", nio);
	T(read(p[0], buf, sizeof(buf)));
	close(p[0]);
}

static void test_default_action(void)
{
	int p[2];
	T(pipe(p));
	fflush(stdout);
	int pid = fork();
	if (pid == 0) {
		signal(SIGIO, SIG_DFL);
		close(p[1]);
		fcntl(p[0], F_SETOWN, getpid());
		fcntl(p[0], F_SETFL, O_ASYNC);
		write(1, "child: O_ASYNC set\n", 19);
		pause();
		_exit(0);
	}
	close(p[0]);
	usleep(200000);   /* the child is set up (its line is printed first) */
	T(write(p[1], "x", 1));
	int st;
	waitpid(pid, &st, 0);
	status("child with SIGIO's default action", st);
	close(p[1]);
}

static void test_socketpair(void)
{
	int s[2];
	char buf[8];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	T(fcntl(s[0], F_SETOWN, getpid()));
	T(fcntl(s[0], F_SETFL, O_ASYNC | O_NONBLOCK));
	nio = 0;
	T(write(s[1], "ab", 2));
	printf("socketpair, after the peer's write: SIGIO %d\n", nio);
	T(read(s[0], buf, sizeof(buf)));
	printf("socketpair, after its own read: SIGIO %d\n", nio);
	close(s[0]);
	close(s[1]);
}

static void test_udp(void)
{
	lo_up();
	int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T(bind(r, (struct sockaddr *)&a, sizeof(a)));
	getsockname(r, (struct sockaddr *)&a, &len);
	T(fcntl(r, F_SETOWN, getpid()));
	T(fcntl(r, F_SETFL, O_ASYNC));
	nio = 0;
	T(sendto(w, "udp", 3, 0, (struct sockaddr *)&a, sizeof(a)));
	struct pollfd pf = { r, POLLIN, 0 };
	T(poll(&pf, 1, 2000));
	for (int i = 0; i < 100 && !nio; i++)
		usleep(10000);
	printf("UDP datagram: SIGIO came: %s\n", nio ? "yes" : "no");
	close(r);
	close(w);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Linux's first process is in group 0, Caboose's in its own: the
	 * same group on both */
	T(setpgid(0, 0));
	handle(SIGIO, on_io);
	handle(SIGUSR1, on_usr1);
	test_owner();
	test_pipe();
	test_socketpair();
	test_udp();
	test_default_action();
	return 0;
}
