/* epoll: bad arguments, level and edge triggering on pipes and on TCP
 * sockets over 127.0.0.1, EPOLLONESHOT, EPOLLRDHUP/HUP/ERR, a watched
 * descriptor closed (with and without a dup), time-outs and EINTR; ready
 * lists (one ready among many, two instances, maxevents 1 in turn, a
 * wake from another process, a socketpair); EPOLLEXCLUSIVE (one write
 * wakes one of two instances asleep, not both). Prints
 * what every call returned; the output is the same on Linux (tests/run.py
 * compares them). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lo.h"
#include "show.h"

static int ep;

/* epoll_wait, printing each event (bits and the data word) */
static void wait_show(const char *what, int timeout)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, timeout);
	if (n < 0) {
		printf("%s: -1 %s\n", what, strerror(errno));
		return;
	}
	/* in the order of their data words: the order of a ready list is
	 * no contract */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && ev[j - 1].data.u64 > ev[j].data.u64; j--) {
			struct epoll_event t = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = t;
		}
	printf("%s: %d", what, n);
	for (int i = 0; i < n; i++)
		printf(" [%#x data %llu]", ev[i].events, (unsigned long long)ev[i].data.u64);
	printf("\n");
}

static int add(int fd, unsigned events, unsigned long long data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int fd, unsigned events, unsigned long long data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void bad_arguments(void)
{
	printf("-- bad arguments\n");
	int p[2];
	pipe(p);
	int file = open("/tests/epoll", O_RDONLY);
	int null = open("/dev/null", O_RDONLY);
	struct epoll_event ev = { .events = EPOLLIN };
	T(epoll_create(0));
	T(epoll_create(-1));
	T(epoll_create1(1));
	T(epoll_ctl(99, EPOLL_CTL_ADD, p[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, 99, &ev));
	T(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev));
	T(epoll_ctl(ep, 7, p[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], NULL));
	T(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	struct epoll_event out[2];
	T(epoll_wait(ep, out, 0, 0));
	T(epoll_wait(ep, out, -1, 0));
	T(epoll_wait(ep, NULL, 2, 0));
	T(epoll_wait(99, out, 2, 0));
	T(epoll_wait(p[0], out, 2, 0));
	T(epoll_wait(ep, out, 2, 0));
	T(epoll_wait(ep, out, 2, 30));
	int e2 = epoll_create1(EPOLL_CLOEXEC);
	T(fcntl(e2, F_GETFD));
	T(close(e2));
	close(p[0]);
	close(p[1]);
	close(file);
	close(null);
}

static char big[70000];

static void pipes(void)
{
	printf("-- pipes, level-triggered\n");
	int p[2];
	char buf[100];
	pipe(p);
	T(add(p[0], EPOLLIN, 1));
	T(add(p[1], EPOLLOUT, 2));
	wait_show("empty", 0);
	T(write(p[1], "abc", 3));
	wait_show("data", 0);
	wait_show("data again", 0);
	T(read(p[0], buf, sizeof(buf)));
	wait_show("drained", 0);
	T(fcntl(p[1], F_SETFL, O_NONBLOCK));
	long total = 0, r;
	while ((r = write(p[1], big, sizeof(big))) > 0)
		total += r;
	printf("filled %ld\n", total);
	wait_show("full", 0);
	T(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));

	printf("-- pipes, edge-triggered\n");
	T(mod(p[0], EPOLLIN | EPOLLET, 3));
	wait_show("after MOD (data waiting)", 0);
	wait_show("no new data", 0);
	T(read(p[0], big, sizeof(big)));
	T(fcntl(p[0], F_SETFL, O_NONBLOCK));
	T(read(p[0], big, sizeof(big)));
	wait_show("drained", 0);
	T(write(p[1], "1", 1));
	wait_show("one write", 0);
	wait_show("nothing new", 0);
	T(write(p[1], "2", 1));
	wait_show("another write", 0);
	T(read(p[0], buf, sizeof(buf)));

	printf("-- oneshot\n");
	T(mod(p[0], EPOLLIN | EPOLLONESHOT, 4));
	T(write(p[1], "x", 1));
	wait_show("first", 0);
	wait_show("disabled", 0);
	T(mod(p[0], EPOLLIN | EPOLLONESHOT, 5));
	wait_show("re-armed", 0);
	T(read(p[0], buf, sizeof(buf)));

	printf("-- hang-up and error\n");
	T(mod(p[0], EPOLLIN, 6));
	T(write(p[1], "y", 1));
	T(close(p[1]));
	wait_show("writer gone, data left", 0);
	T(read(p[0], buf, sizeof(buf)));
	wait_show("writer gone, empty", 0);
	T(close(p[0]));
	wait_show("read end closed: entry gone", 0);
	T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	pipe(p);
	T(add(p[1], EPOLLOUT, 7));
	T(close(p[0]));
	wait_show("reader gone", 0);
	int d = dup(p[1]);
	T(close(p[1]));
	wait_show("closed, a dup keeps it", 0);
	T(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
	T(close(d));
	wait_show("dup closed too", 0);
}

static void sockets(void)
{
	printf("-- sockets\n");
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7788);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	T(bind(l, (struct sockaddr *)&a, sizeof(a)));
	T(listen(l, 8));
	T(add(l, EPOLLIN, 10));
	wait_show("listener, nobody", 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	wait_show("listener, a connection", 1000);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	printf("accepted %d\n", s >= 0);
	wait_show("listener, taken", 0);
	T(add(c, EPOLLOUT, 11));
	wait_show("client writable", 1000);
	T(epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));
	T(add(s, EPOLLIN | EPOLLRDHUP | EPOLLET, 12));
	wait_show("server, nothing", 0);
	T(write(c, "hello", 5));
	wait_show("server, data", 1000);
	wait_show("server, no new data", 0);
	T(write(c, "again", 5));
	wait_show("server, more data", 1000);
	char buf[64];
	T(read(s, buf, sizeof(buf)));
	T(read(s, buf, sizeof(buf)));
	T(shutdown(c, SHUT_WR));
	wait_show("server, peer shut down", 1000);
	T(mod(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 13));
	wait_show("server, level", 0);
	T(shutdown(s, SHUT_WR));
	wait_show("server, both shut", 1000);
	T(close(c));
	T(close(s));
	T(close(l));
	wait_show("all closed", 0);
}

static void on_usr1(int sig) { (void)sig; }

static void eintr(void)
{
	printf("-- EINTR\n");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;   /* epoll_wait is never restarted */
	sigaction(SIGUSR1, &sa, NULL);
	fflush(stdout);
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		usleep(200000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	wait_show("waiting for ever", -1);
	int status;
	waitpid(pid, &status, 0);
	printf("child exit %d\n", WEXITSTATUS(status));
}

/* Ready lists: one ready among many watched; one pipe in two instances;
 * level-triggered entries served in turn by maxevents 1; an entry whose
 * readiness went before the wait; a socketpair; a thread-free wake from
 * another process through a pipe. */
static void ready_lists(void)
{
	printf("-- ready lists\n");
	enum { N = 200 };
	static int pf[N][2];
	int ok = 1;
	for (int i = 0; i < N; i++) {
		if (pipe(pf[i]) < 0 || add(pf[i][0], EPOLLIN, 1000 + i) < 0)
			ok = 0;
	}
	printf("%d pipes watched: %d\n", N, ok);
	wait_show("none ready", 0);
	T(write(pf[137][1], "x", 1));
	wait_show("one of them", 0);
	wait_show("level: again", 0);
	char c;
	T(read(pf[137][0], &c, 1));
	wait_show("read: none", 0);
	/* maxevents 1: three level-triggered entries, each in turn */
	T(write(pf[3][1], "x", 1));
	T(write(pf[77][1], "x", 1));
	T(write(pf[190][1], "x", 1));
	unsigned long long seen[3] = { 0, 0, 0 };
	for (int i = 0; i < 3; i++) {
		struct epoll_event ev;
		if (epoll_wait(ep, &ev, 1, 0) == 1)
			seen[i] = ev.data.u64;
	}
	for (int i = 1; i < 3; i++)
		for (int j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
			unsigned long long t = seen[j];
			seen[j] = seen[j - 1];
			seen[j - 1] = t;
		}
	printf("maxevents 1, three waits: %llu %llu %llu\n", seen[0], seen[1], seen[2]);
	T(read(pf[3][0], &c, 1));
	T(read(pf[77][0], &c, 1));
	/* ready, then not, before any wait */
	T(write(pf[5][1], "x", 1));
	T(read(pf[5][0], &c, 1));
	wait_show("ready and gone again; 190 stays", 0);
	T(read(pf[190][0], &c, 1));
	/* one pipe in two instances */
	int ep2 = epoll_create1(0);
	struct epoll_event e2 = { .events = EPOLLIN | EPOLLET, .data.u64 = 7 };
	T(epoll_ctl(ep2, EPOLL_CTL_ADD, pf[9][0], &e2));
	T(write(pf[9][1], "x", 1));
	wait_show("first instance", 0);
	struct epoll_event got;
	T(epoll_wait(ep2, &got, 1, 0));
	printf("second instance: data %llu\n", (unsigned long long)got.data.u64);
	T(epoll_wait(ep2, &got, 1, 0));
	T(read(pf[9][0], &c, 1));
	/* a write from another process wakes a blocked wait */
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		if (write(pf[150][1], "x", 1) < 0)
			_exit(1);
		_exit(0);
	}
	wait_show("blocked until a child writes", 5000);
	waitpid(pid, NULL, 0);
	T(read(pf[150][0], &c, 1));
	/* a socketpair end */
	int sv[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	T(add(sv[0], EPOLLIN | EPOLLOUT | EPOLLET, 5));
	wait_show("socketpair: writable", 0);
	wait_show("edge: not again", 0);
	T(write(sv[1], "y", 1));
	wait_show("socketpair: data", 0);
	T(close(sv[1]));
	wait_show("socketpair: the other end closed", 0);
	T(close(sv[0]));
	T(close(ep2));
	for (int i = 0; i < N; i++) {
		close(pf[i][0]);
		close(pf[i][1]);
	}
	wait_show("all closed", 0);
}

/* One pipe watched by two instances, each in a child blocked in
 * epoll_wait: how many of them does one write wake? */
static int woken_of_two(unsigned events)
{
	int p[2], ready[2], res[2];
	if (pipe(p) < 0 || pipe(ready) < 0 || pipe(res) < 0)
		return -1;
	pid_t kid[2];
	for (int i = 0; i < 2; i++) {
		kid[i] = fork();
		if (kid[i] == 0) {
			int e = epoll_create1(0);
			struct epoll_event ev = { .events = events, .data.u64 = (unsigned)i };
			char c = epoll_ctl(e, EPOLL_CTL_ADD, p[0], &ev) == 0 ? 'r' : 'f';
			if (write(ready[1], &c, 1) != 1)
				_exit(1);
			struct epoll_event got;
			c = epoll_wait(e, &got, 1, 1500) == 1 ? 'w' : 't';
			_exit(write(res[1], &c, 1) == 1 ? 0 : 1);
		}
	}
	char c[2] = { 0, 0 };
	for (int i = 0; i < 2; i++)
		if (read(ready[0], &c[i], 1) != 1 || c[i] != 'r')
			return -2;
	usleep(300000); /* both asleep in epoll_wait */
	if (write(p[1], "x", 1) != 1)
		return -3;
	int woken = 0;
	for (int i = 0; i < 2; i++) {
		waitpid(kid[i], NULL, 0);
		if (read(res[0], &c[0], 1) == 1 && c[0] == 'w')
			woken++;
	}
	close(p[0]);
	close(p[1]);
	close(ready[0]);
	close(ready[1]);
	close(res[0]);
	close(res[1]);
	return woken;
}

static void exclusive(void)
{
	printf("-- EPOLLEXCLUSIVE\n");
	printf("one write, two instances asleep: %d woken\n", woken_of_two(EPOLLIN));
	printf("the same with EPOLLEXCLUSIVE: %d woken\n", woken_of_two(EPOLLIN | EPOLLEXCLUSIVE));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	lo_up();
	ep = epoll_create1(0);
	printf("epoll fd %d\n", ep);
	bad_arguments();
	pipes();
	sockets();
	eintr();
	ready_lists();
	exclusive();
	T(close(ep));
	printf("done\n");
	return 0;
}
