/* Sockets: bad arguments and their errors, options, a TCP exchange over
 * 127.0.0.1 between two processes (blocking and non-blocking connect,
 * accept4, MSG_PEEK, sendmsg, shutdown, EPIPE and SIGPIPE), UDP datagrams
 * (recvfrom's sender, truncation, connect), socketpair, the port rules
 * of SO_REUSEADDR and SO_REUSEPORT, TCP_INFO through a connection's life.
 * Prints what every
 * call returned (ephemeral ports normalised); the output is the same on
 * Linux (tests/run.py compares them). The parent prints the child's part
 * after waiting for it, so the order is fixed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lo.h"
#include "show.h"

#define PORT 7777

static struct sockaddr_in addr(const char *ip, int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}
#define SA(a) ((struct sockaddr *)&(a))

static void show_name(const char *what, int fd, int peer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int r = peer ? getpeername(fd, SA(a), &len) : getsockname(fd, SA(a), &len);
	if (r < 0) {
		printf("%s = -1 %s\n", what, strerror(errno));
		return;
	}
	char ip[32];
	inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
	int port = ntohs(a.sin_port);
	printf("%s = %s port %s (len %u)\n", what, ip,
	       port == PORT || port == PORT + 1 || port == 0 ? (port == 0 ? "0" : "fixed") : "ephemeral",
	       (unsigned)len);
}

static int opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, level, name, &v, &len) < 0)
		return -errno;
	return v;
}

static void bad_arguments(void)
{
	int p[2];
	pipe(p);
	printf("-- bad arguments\n");
	T(socket(12345, SOCK_STREAM, 0));
	T(socket(AF_INET, 99, 0));
	T(socket(AF_INET, SOCK_STREAM | 0x100000, 0));
	T(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	T(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	printf("sockets %d %d\n", s, u);
	struct sockaddr_in a = addr("127.0.0.1", PORT);
	T(bind(99, SA(a), sizeof(a)));
	T(bind(p[0], SA(a), sizeof(a)));
	T(bind(s, NULL, sizeof(a)));
	T(bind(s, (struct sockaddr *)8, sizeof(a)));
	T(bind(s, SA(a), 8));
	T(bind(s, SA(a), 1000));
	struct sockaddr_in bad = a;
	bad.sin_family = AF_UNIX;
	T(bind(s, SA(bad), sizeof(bad)));
	struct sockaddr_in far = addr("10.99.99.99", PORT);
	T(bind(s, SA(far), sizeof(far)));
	T(listen(u, 5));
	T(listen(p[0], 5));
	T(accept(s, NULL, NULL));
	T(accept(u, NULL, NULL));
	T(accept4(s, NULL, NULL, 0x1234));
	T(getpeername(s, NULL, NULL));
	show_name("getpeername(fresh)", s, 1);
	show_name("getsockname(fresh)", s, 0);
	T(shutdown(s, 7));
	T(shutdown(s, SHUT_RDWR));
	T(shutdown(u, SHUT_RD));
	T(send(s, "x", 1, MSG_NOSIGNAL));
	char c;
	T(recv(s, &c, 1, 0));
	T(read(s, &c, 1));
	struct sockaddr_in none = addr("127.0.0.1", PORT + 5);
	T(connect(s, SA(none), sizeof(none)));
	T(opt(s, SOL_SOCKET, SO_ERROR));
	int one = 1;
	T(setsockopt(u, 12345, 1, &one, sizeof(one)));
	T(setsockopt(u, SOL_SOCKET, SO_REUSEADDR, &one, 2));
	T(setsockopt(u, SOL_SOCKET, SO_REUSEADDR, NULL, sizeof(one)));
	T(setsockopt(p[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	T(getsockopt(u, SOL_SOCKET, 9999, &one, &(socklen_t){ 4 }));
	T(getsockopt(u, SOL_SOCKET, SO_TYPE, &one, &(socklen_t){ -1 }));
	T(getsockopt(u, SOL_SOCKET, SO_TYPE, &one, NULL));
	T(socketpair(AF_INET, SOCK_STREAM, 0, p));
	T(socketpair(AF_UNIX, SOCK_STREAM, 7, p));
	close(s);
	close(u);
	close(p[0]);
	close(p[1]);
}

static void options(void)
{
	printf("-- options\n");
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	T(fcntl(s, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	T(fcntl(s, F_GETFD));
	struct stat st;
	T(fstat(s, &st));
	printf("socket type: %d\n", S_ISSOCK(st.st_mode));
	int one = 1, big = 65536;
	T(opt(s, SOL_SOCKET, SO_TYPE));
	T(opt(u, SOL_SOCKET, SO_TYPE));
	T(opt(s, SOL_SOCKET, SO_DOMAIN));
	T(opt(s, SOL_SOCKET, SO_PROTOCOL));
	T(opt(u, SOL_SOCKET, SO_PROTOCOL));
	T(opt(s, SOL_SOCKET, SO_REUSEADDR));
	T(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	T(opt(s, SOL_SOCKET, SO_REUSEADDR));
	T(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	T(opt(s, SOL_SOCKET, SO_KEEPALIVE));
	T(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	T(opt(s, IPPROTO_TCP, TCP_NODELAY));
	T(setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	T(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)));
	T(opt(s, SOL_SOCKET, SO_RCVBUF));
	T(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)));
	T(opt(s, SOL_SOCKET, SO_SNDBUF));
	T(opt(s, SOL_SOCKET, SO_ERROR));
	T(opt(s, SOL_SOCKET, SO_ACCEPTCONN));
	struct timeval tv = { 1, 500000 };
	T(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	memset(&tv, 0, sizeof(tv));
	socklen_t len = sizeof(tv);
	T(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
	printf("rcvtimeo %ld.%06ld len %u\n", (long)tv.tv_sec, (long)tv.tv_usec, (unsigned)len);
	char small[2];
	len = sizeof(small);
	T(getsockopt(s, SOL_SOCKET, SO_TYPE, small, &len));
	printf("short getsockopt: len %u\n", (unsigned)len);
	close(s);
	close(u);
}

static int connected_pair(int l, int *c)
{
	struct sockaddr_in a = addr("127.0.0.1", PORT);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*c, SA(a), sizeof(a)) < 0)
		return -1;
	return accept(l, NULL, NULL);
}

/* The child's half of the TCP exchange: connect, send, read the answer. */
static void tcp_child(void)
{
	struct sockaddr_in a = addr("127.0.0.1", PORT);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, SA(a), sizeof(a)));
	show_name("child getpeername", c, 1);
	show_name("child getsockname", c, 0);
	T(connect(c, SA(a), sizeof(a)));
	T(write(c, "hello, server", 13));
	T(shutdown(c, SHUT_WR));
	T(send(c, "more", 4, MSG_NOSIGNAL));
	static char buf[300000];
	long total = 0, r;
	unsigned sum = 0;
	while ((r = read(c, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < r; i++)
			sum = sum * 31 + (unsigned char)buf[i];
		total += r;
	}
	printf("child read %ld bytes, sum %u, then %ld\n", total, sum, r);
	T(close(c));
	fflush(stdout);
}

static void tcp_exchange(void)
{
	printf("-- TCP over 127.0.0.1\n");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr("127.0.0.1", PORT);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	T(bind(l, SA(a), sizeof(a)));
	T(bind(l, SA(a), sizeof(a)));
	T(listen(l, 16));
	T(opt(l, SOL_SOCKET, SO_ACCEPTCONN));
	show_name("listener", l, 0);
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	T(bind(l2, SA(a), sizeof(a)));
	close(l2);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		tcp_child();
		_exit(0);
	}
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int s = accept4(l, SA(peer), &plen, SOCK_CLOEXEC);
	char ip[32];
	inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
	char log[4096];
	int n = snprintf(log, sizeof(log), "accept4: %s, peer %s, len %u, cloexec %d\n",
			 s >= 0 ? "ok" : strerror(errno), ip, (unsigned)plen, fcntl(s, F_GETFD));
	char buf[64] = { 0 };
	/* the 13 bytes come whole over loopback before the FIN: peek waits for them */
	long r;
	while ((r = recv(s, buf, 13, MSG_PEEK | MSG_WAITALL)) < 13 && r > 0)
		usleep(1000);
	n += snprintf(log + n, sizeof(log) - n, "peek %ld: %.13s\n", r, buf);
	memset(buf, 0, sizeof(buf));
	long got = 0;
	while ((r = recv(s, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += r;
	n += snprintf(log + n, sizeof(log) - n, "server read %ld: %s, then %ld\n", got, buf, r);
	static char big[250000];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 1000);
	struct iovec iov[3] = { { "HELLO ", 6 }, { big, sizeof(big) }, { " BYE", 4 } };
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = 3;
	r = sendmsg(s, &m, 0);
	n += snprintf(log + n, sizeof(log) - n, "sendmsg %ld\n", r);
	n += snprintf(log + n, sizeof(log) - n, "close %d\n", close(s));
	int status;
	waitpid(pid, &status, 0);
	fputs(log, stdout);
	printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	printf("-- non-blocking\n");
	int c;
	T(fcntl(l, F_SETFL, O_NONBLOCK));
	T(accept(l, NULL, NULL));
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(c, SA(a), sizeof(a));
	printf("connect: %s\n", r == 0 ? "0 (at once)" : errno == EINPROGRESS ? "EINPROGRESS" : strerror(errno));
	struct pollfd pfd = { c, POLLOUT, 0 };
	T(poll(&pfd, 1, 5000));
	printf("revents %#x\n", pfd.revents);
	T(opt(c, SOL_SOCKET, SO_ERROR));
	r = connect(c, SA(a), sizeof(a));
	T(r);
	T(recv(c, buf, 1, 0));
	T(recv(c, buf, 1, MSG_DONTWAIT));
	pfd = (struct pollfd){ l, POLLIN, 0 };
	T(poll(&pfd, 1, 5000));
	s = accept(l, NULL, NULL);
	printf("accepted: %d\n", s >= 0);
	T(fcntl(s, F_GETFL) & O_NONBLOCK);
	T(write(s, "ping", 4));
	pfd = (struct pollfd){ c, POLLIN, 0 };
	T(poll(&pfd, 1, 5000));
	T(read(c, buf, sizeof(buf)));
	T(close(s));
	pfd = (struct pollfd){ c, POLLIN | POLLRDHUP, 0 };
	T(poll(&pfd, 1, 5000));
	printf("revents %#x\n", pfd.revents & (POLLIN | POLLRDHUP));
	T(read(c, buf, sizeof(buf)));
	/* writes to a closed peer: the first goes, the RST makes the next fail */
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 50 && (r = send(c, "x", 1, 0)) > 0; i++)
		usleep(20000);
	printf("write after the peer closed: %s\n", r < 0 ? strerror(errno) : "still going");
	T(close(c));
	signal(SIGPIPE, SIG_DFL);

	printf("-- SIGPIPE\n");
	fflush(stdout);
	fcntl(l, F_SETFL, 0);
	s = connected_pair(l, &c);
	pid = fork();
	if (pid == 0) {
		close(s);
		/* until the peer's close has arrived: up to 10 s, since the
		 * parent may run late on a loaded host. A write that meets the
		 * peer's reset first gets ECONNRESET without a signal (Linux
		 * too: sk_err goes first); the next one gets EPIPE and SIGPIPE */
		for (int i = 0; i < 500; i++) {
			if (write(c, "x", 1) < 0 && errno != ECONNRESET)
				break;
			usleep(20000);
		}
		printf("child: no SIGPIPE\n");
		_exit(0);
	}
	close(c);
	close(s);
	waitpid(pid, &status, 0);
	printf("child: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	close(l);
}

static void udp(void)
{
	printf("-- UDP\n");
	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in aa = addr("127.0.0.1", PORT + 1);
	T(bind(a, SA(aa), sizeof(aa)));
	T(sendto(b, "datagram one", 12, 0, SA(aa), sizeof(aa)));
	T(sendto(b, "two", 3, 0, SA(aa), sizeof(aa)));
	char buf[64] = { 0 };
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	T(recvfrom(a, buf, sizeof(buf), 0, SA(from), &flen));
	char ip[32];
	inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
	printf("got '%s' from %s, port set %d, len %u\n", buf, ip, from.sin_port != 0, (unsigned)flen);
	memset(buf, 0, sizeof(buf));
	T(recv(a, buf, 2, 0));
	printf("truncated: '%s'\n", buf);
	T(recv(a, buf, sizeof(buf), MSG_DONTWAIT));
	T(sendto(a, "answer", 6, 0, SA(from), flen));
	struct iovec iov = { buf, 3 };
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	T(recvmsg(b, &m, 0));
	printf("recvmsg: '%.3s' flags %#x namelen %u\n", buf, m.msg_flags & MSG_TRUNC, (unsigned)m.msg_namelen);
	T(send(b, "x", 1, 0));
	T(connect(b, SA(aa), sizeof(aa)));
	show_name("udp peer", b, 1);
	T(send(b, "connected", 9, 0));
	memset(buf, 0, sizeof(buf));
	T(read(a, buf, sizeof(buf)));
	printf("read '%s'\n", buf);
	static char huge[70000];
	T(sendto(b, huge, sizeof(huge), 0, SA(aa), sizeof(aa)));
	close(a);
	close(b);
}

static void pair(void)
{
	printf("-- socketpair\n");
	int sv[2];
	T(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	char buf[32] = { 0 };
	T(write(sv[0], "to one", 6));
	T(read(sv[1], buf, sizeof(buf)));
	T(send(sv[1], "to zero", 7, 0));
	T(recv(sv[0], buf, sizeof(buf), 0));
	printf("'%.7s'\n", buf);
	T(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT));
	struct stat st;
	fstat(sv[0], &st);
	printf("socket type: %d\n", S_ISSOCK(st.st_mode));
	T(close(sv[1]));
	T(read(sv[0], buf, sizeof(buf)));
	T(send(sv[0], "x", 1, MSG_NOSIGNAL));
	close(sv[0]);
}

/* A socket of type with the options asked (1: SO_REUSEADDR, 2:
 * SO_REUSEPORT), bound to ip:port; the bind's result printed under what. */
static int bound(const char *what, int type, int opts, const char *ip, int port)
{
	int s = socket(AF_INET, type, 0), one = 1;
	if (opts & 1)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (opts & 2)
		setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	struct sockaddr_in a = addr(ip, port);
	show(what, bind(s, SA(a), sizeof(a)) < 0 ? -1 : 0);
	return s;
}

/* The port rules of bind and listen with SO_REUSEADDR and SO_REUSEPORT,
 * listening and not; SO_REUSEPORT listeners sharing a port; closing one
 * of them (Linux resets the connections queued at it, net.ipv4.
 * tcp_migrate_req being 0, and keeps the others'). */
static void port_rules(void)
{
	printf("-- port rules\n");
	const int P = PORT + 10, ST = SOCK_STREAM, DG = SOCK_DGRAM;
	int a, b, c, d;
	a = bound("plain", ST, 0, "127.0.0.1", P);
	b = bound("plain on a bound port", ST, 0, "127.0.0.1", P);
	close(b);
	b = bound("SO_REUSEADDR on a plain bound port", ST, 1, "127.0.0.1", P);
	close(b);
	b = bound("wildcard on a bound address", ST, 0, "0.0.0.0", P);
	close(b);
	T(listen(a, 4));
	b = bound("plain on a listening port", ST, 0, "127.0.0.1", P);
	close(b);
	b = bound("SO_REUSEPORT on a plain listener's port", ST, 2, "127.0.0.1", P);
	close(b);
	close(a);
	b = bound("plain once the listener closed", ST, 0, "127.0.0.1", P);
	close(b);

	a = bound("SO_REUSEADDR", ST, 1, "0.0.0.0", P + 1);
	b = bound("SO_REUSEADDR beside it, none listening", ST, 1, "127.0.0.1", P + 1);
	T(listen(a, 4));
	T(listen(b, 4));
	c = bound("SO_REUSEADDR on a listening port", ST, 1, "127.0.0.1", P + 1);
	close(c);
	close(a);
	T(listen(b, 4));
	close(b);

	a = bound("SO_REUSEPORT", ST, 2, "127.0.0.1", P + 2);
	T(opt(a, SOL_SOCKET, SO_REUSEPORT));
	b = bound("SO_REUSEPORT beside it", ST, 2, "127.0.0.1", P + 2);
	T(listen(a, 16));
	T(listen(b, 16));
	c = bound("plain on a SO_REUSEPORT group", ST, 0, "127.0.0.1", P + 2);
	close(c);
	c = bound("SO_REUSEADDR on a SO_REUSEPORT group", ST, 1, "127.0.0.1", P + 2);
	close(c);
	c = bound("both options on a SO_REUSEPORT group", ST, 3, "127.0.0.1", P + 2);
	d = bound("SO_REUSEPORT on the wildcard", ST, 2, "0.0.0.0", P + 2);
	close(d);
	close(c);

	/* 16 connections to the group: each accepted once, by one of them */
	struct sockaddr_in to = addr("127.0.0.1", P + 2);
	int cs[16], took[2] = { 0, 0 }, reset = 0, fl;
	for (int i = 0; i < 16; i++) {
		cs[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cs[i], SA(to), sizeof(to)) < 0)
			printf("connect %d: %s\n", i, strerror(errno));
	}
	usleep(100000);
	fl = fcntl(b, F_GETFL);
	fcntl(b, F_SETFL, fl | O_NONBLOCK);
	for (int s; (s = accept(b, NULL, NULL)) >= 0; close(s))
		took[1]++;
	/* closing a resets what waits in its queue; b's were accepted */
	close(a);
	usleep(100000);
	char ch;
	for (int i = 0; i < 16; i++) {
		reset += recv(cs[i], &ch, 1, MSG_DONTWAIT) < 0 && errno == ECONNRESET;
		close(cs[i]);
	}
	took[0] = reset;
	/* (how many each took is the flow hash's business: not printed) */
	printf("16 connections, each accepted by one listener or reset by the other's close: %d\n",
	       took[0] + took[1] == 16);
	int e = connect(socket(AF_INET, SOCK_STREAM, 0), SA(to), sizeof(to));
	int s = accept(b, NULL, NULL);
	printf("a new connection goes to the one left: connect %d, accept %s\n", e,
	       s >= 0 ? "ok" : strerror(errno));
	close(s);
	close(b);

	/* a connection in TIME_WAIT on the port (the server closed first):
	 * it forbids a bind unless both it and the new socket asked for
	 * SO_REUSEADDR */
	for (int reuse = 0; reuse < 2; reuse++) {
		int port = P + 4 + reuse;
		printf("TIME_WAIT left by a listener %s SO_REUSEADDR\n", reuse ? "with" : "without");
		a = bound("listener", ST, reuse, "127.0.0.1", port);
		T(listen(a, 4));
		c = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in la = addr("127.0.0.1", port);
		T(connect(c, SA(la), sizeof(la)));
		s = accept(a, NULL, NULL);
		close(a);
		close(s);          /* the server's end closes first: it will wait */
		usleep(50000);
		T(recv(c, &ch, 1, 0));   /* its FIN */
		close(c);
		usleep(100000);   /* c's FIN: the server's end is in TIME_WAIT now */
		b = bound("plain on a port in TIME_WAIT", ST, 0, "127.0.0.1", port);
		close(b);
		b = bound("SO_REUSEADDR on a port in TIME_WAIT", ST, 1, "127.0.0.1", port);
		close(b);
		b = bound("SO_REUSEPORT on a port in TIME_WAIT", ST, 2, "127.0.0.1", port);
		close(b);
	}

	a = bound("UDP", DG, 0, "127.0.0.1", P + 3);
	b = bound("UDP on a bound port", DG, 0, "127.0.0.1", P + 3);
	close(b);
	close(a);
	a = bound("UDP SO_REUSEADDR", DG, 1, "127.0.0.1", P + 3);
	b = bound("UDP SO_REUSEADDR beside it", DG, 1, "127.0.0.1", P + 3);
	close(b);
	close(a);
	a = bound("UDP SO_REUSEPORT", DG, 2, "127.0.0.1", P + 3);
	b = bound("UDP SO_REUSEPORT beside it", DG, 2, "127.0.0.1", P + 3);
	c = bound("UDP plain on a SO_REUSEPORT group", DG, 0, "127.0.0.1", P + 3);
	T(opt(b, SOL_SOCKET, SO_REUSEPORT));
	close(c);
	close(b);
	close(a);
}

static void sendfile_case(void)
{
	printf("-- sendfile to a socket\n");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr("127.0.0.1", PORT + 2);
	T(bind(l, SA(a), sizeof(a)));
	T(listen(l, 4));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, SA(a), sizeof(a)));
	int s = accept(l, NULL, NULL);
	int fd = open("/tests/sockets", O_RDONLY);
	struct stat st;
	fstat(fd, &st);
	off_t off = 1000;
	T(sendfile(s, fd, &off, 30000));
	printf("offset now %ld\n", (long)off);
	static char want[30000], got[30000];
	pread(fd, want, sizeof(want), 1000);
	long n = 0, r;
	while (n < (long)sizeof(got) && (r = read(c, got + n, sizeof(got) - n)) > 0)
		n += r;
	printf("received %ld, same bytes %d\n", n, memcmp(want, got, sizeof(got)) == 0);
	off = st.st_size - 10;
	r = sendfile(s, fd, &off, 100);
	printf("sendfile at the end: %ld, offset at the end %d\n", r, off == st.st_size);
	while (n < (long)sizeof(got) + 10 && (r = read(c, got, 10)) > 0)
		n += r;
	T(lseek(fd, 0, SEEK_SET));
	T(sendfile(s, fd, NULL, 100));
	T(lseek(fd, 0, SEEK_CUR));
	T(read(c, got, 100));
	T(sendfile(s, c, NULL, 10));
	T(sendfile(fd, s, NULL, 10));
	close(fd);
	close(c);
	close(s);
	close(l);
}

static int tcp_info_of(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);
	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

/* Wait (up to 3 s) until fd's connection leaves state `from` or, with
 * unacked, until nothing is unacknowledged; returns its TCP_INFO. */
static struct tcp_info settle(int fd, int from, int unacked)
{
	struct tcp_info ti;
	for (int i = 0; i < 300; i++) {
		tcp_info_of(fd, &ti);
		if (unacked ? ti.tcpi_unacked == 0 : ti.tcpi_state != from)
			break;
		usleep(10000);
	}
	return ti;
}

/* What both kernels must agree on: the state through a connection's life,
 * the options in use, no retransmission on a quiet loopback, the bytes
 * acknowledged and received (Linux counts the SYN as one byte acked: give
 * or take one), what a short buffer gets; RTT, MSS and windows differ by
 * design and are shown as comparisons. */
static void show_info(const char *who, int fd, long sent, long got)
{
	struct tcp_info ti = settle(fd, 0, 1);
	printf("%s: state %u options %#x retrans %u total_retrans %u unacked %u\n", who,
	       ti.tcpi_state, ti.tcpi_options, ti.tcpi_retransmits, ti.tcpi_total_retrans,
	       ti.tcpi_unacked);
	printf("%s: bytes_acked %s bytes_received %s\n", who,
	       ti.tcpi_bytes_acked - (unsigned long long)sent <= 1 ? "sent" : "wrong",
	       ti.tcpi_bytes_received - (unsigned long long)got <= 1 ? "got" : "wrong");
	printf("%s: rtt>0 %d rto>=200ms %d snd_mss>0 %d advmss>0 %d cwnd>=2 %d ssthresh unset %d "
	       "segs_out>0 %d segs_in>0 %d\n", who, ti.tcpi_rtt > 0, ti.tcpi_rto >= 200000,
	       ti.tcpi_snd_mss > 0, ti.tcpi_advmss > 0, ti.tcpi_snd_cwnd >= 2,
	       ti.tcpi_snd_ssthresh == 0x7fffffff, ti.tcpi_segs_out > 0, ti.tcpi_segs_in > 0);
}

static void tcp_info_case(void)
{
	printf("-- TCP_INFO\n");
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	T(getsockopt(u, IPPROTO_TCP, TCP_INFO, &ti, &len));
	int l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&ti, 0xff, sizeof(ti));
	len = sizeof(ti);
	T(getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len));
	printf("fresh: len %u state %u total_retrans %u unacked %u\n", (unsigned)len,
	       ti.tcpi_state, ti.tcpi_total_retrans, ti.tcpi_unacked);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = addr("127.0.0.1", PORT + 3);
	T(bind(l, SA(a), sizeof(a)));
	T(listen(l, 4));
	memset(&ti, 0xff, sizeof(ti));
	len = 8;
	T(getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len));
	printf("listening, 8 bytes asked: len %u state %u, byte 8 untouched %d\n", (unsigned)len,
	       ti.tcpi_state, ti.tcpi_rto == 0xffffffffu);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, SA(a), sizeof(a)));
	int d = accept(l, NULL, NULL);
	static char buf[10000];
	memset(buf, 'i', sizeof(buf));
	long got = 0, r;
	T(write(c, buf, sizeof(buf)));
	while (got < (long)sizeof(buf) && (r = read(d, buf, sizeof(buf) - (size_t)got)) > 0)
		got += r;
	printf("server read %ld\n", got);
	T(write(d, buf, 5000));
	got = 0;
	while (got < 5000 && (r = read(c, buf, 5000 - (size_t)got)) > 0)
		got += r;
	printf("client read %ld\n", got);
	show_info("client", c, 10000, 5000);
	show_info("server", d, 5000, 10000);
	T(shutdown(c, SHUT_WR));
	T(read(d, buf, 1));
	printf("server after the client's FIN: state %u\n", settle(d, 0, 1).tcpi_state);
	printf("client after its FIN: state %u\n", settle(c, 4, 0).tcpi_state);
	T(close(d));
	printf("client after the server's FIN: state %u\n", settle(c, 5, 0).tcpi_state);
	T(close(c));
	T(close(l));
	T(close(u));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);   /* a child's lines before it dies, as on a tty */
	lo_up();
	bad_arguments();
	options();
	tcp_exchange();
	udp();
	pair();
	sendfile_case();
	tcp_info_case();
	port_rules();
	printf("done\n");
	return 0;
}
