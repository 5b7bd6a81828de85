/* Socket pairs that hold each other in flight (SCM_RIGHTS), compared with
 * Linux: an end sent over its own pair and then closed, two ends each in
 * the other's queue, and a chain through a second pair are unreachable
 * once their descriptors are closed, and the kernel must free them (its
 * garbage collector for such cycles); a line of CHAIN ends, each waiting
 * in the next one's queue, is freed by closing the last (without the
 * kernel's stack growing with the line); an end in flight towards a receiver
 * that is still open must survive and work when it is received.
 *
 * The memory check reads MemFree from /proc/meminfo before and after
 * ROUNDS of each kind: a kernel that kept them would lose megabytes (each
 * round holds two sockets and a queued byte), one that frees them stays
 * within SLACK (after a wait of up to 3 s: Linux frees socket inodes
 * after an RCU grace period). Only the verdicts are printed, so the
 * output is Linux's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "show.h"

#define ROUNDS 3000
#define CHAIN  1000
#define SLACK_KB 4096

static long memfree_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	char line[128];
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* One byte on s with the descriptor fd in an SCM_RIGHTS message. */
static int send_fd(int s, int fd)
{
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
	memset(&c, 0, sizeof(c));
	struct msghdr m = { 0 };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	return sendmsg(s, &m, 0) == 1 ? 0 : -1;
}

/* The descriptor that came with one byte on s, or -1. */
static int recv_fd(int s)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } c;
	struct msghdr m = { 0 };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	if (recvmsg(s, &m, 0) != 1)
		return -1;
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (!h || h->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(h), sizeof(int));
	return fd;
}

/* A pair made and closed: on both kernels a release runs the collector. */
static void nudge(void)
{
	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0) {
		close(s[0]);
		close(s[1]);
	}
}

/* CHAIN ends, each waiting in the next one's queue (the newest held by a
 * descriptor), then that descriptor closed: one release frees them all,
 * one after the other. 0 when every call worked. */
static int chain(void)
{
	int prev = -1;
	for (int i = 0; i < CHAIN; i++) {
		int p[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
			return -1;
		if (prev >= 0) {
			if (send_fd(p[1], prev) < 0)
				return -1;
			close(prev);
		}
		close(p[1]);
		prev = p[0];
	}
	close(prev);
	return 0;
}

/* ROUNDS cycles of one kind; 0 when every call worked. */
static int make_garbage(int kind)
{
	if (kind == 3)
		return chain();
	for (int i = 0; i < ROUNDS; i++) {
		int a[2], b[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) < 0)
			return -1;
		int r = 0;
		switch (kind) {
		case 0:   /* a[0] into its own incoming queue (sent by a[1]) */
			r = send_fd(a[1], a[0]);
			break;
		case 1:   /* each end into the other's queue */
			r = send_fd(a[0], a[0]) | send_fd(a[1], a[1]);
			break;
		case 2:   /* a chain: b[0] waits in a[0]'s queue, a[0] in b[0]'s */
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, b) < 0)
				return -1;
			r = send_fd(a[1], b[0]) | send_fd(b[1], a[0]);
			close(b[0]);
			close(b[1]);
			break;
		}
		close(a[0]);
		close(a[1]);
		if (r)
			return -1;
	}
	return 0;
}

int main(void)
{
	mkdir("/proc", 0555);
	mount("proc", "/proc", "proc", 0, NULL);
	static const char *const kinds[] = { "an end sent over its own pair",
					     "two ends in each other's queue",
					     "a chain through a second pair",
					     "a line of ends, each in the next one's queue" };
	for (int k = 0; k < 4; k++) {
		nudge();
		long before = memfree_kb();
		int r = make_garbage(k);
		nudge();
		/* Linux frees sockets' inodes after an RCU grace period: give
		 * the memory up to 3 s to come back */
		long after = memfree_kb();
		for (int t = 0; t < 30 && before - after >= SLACK_KB; t++) {
			usleep(100000);
			after = memfree_kb();
		}
		printf("%s: %d %s %s; memory back (within %d KiB): %d\n", kinds[k],
		       k == 3 ? CHAIN : ROUNDS, k == 3 ? "ends" : "rounds",
		       r ? "failed" : "made", SLACK_KB,
		       before > 0 && after > 0 && before - after < SLACK_KB);
		if (before - after >= SLACK_KB)
			fprintf(stderr, "unixgc: MemFree %ld kB before, %ld kB after\n", before, after);
	}

	/* in flight towards an open receiver: kept, and it works */
	int a[2], b[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, a));
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, b));
	T(send_fd(b[1], a[0]));
	T(close(a[0]));   /* only the queue holds it now */
	nudge();
	nudge();
	int got = recv_fd(b[0]);
	printf("received an end: %d\n", got >= 0);
	T(write(a[1], "ping", 4));
	char buf[8] = { 0 };
	T(read(got, buf, sizeof(buf)));
	printf("it carries: %s\n", buf);
	/* an end in its own queue while its descriptor is open: kept */
	int c[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, c));
	T(send_fd(c[1], c[0]));
	nudge();
	int again = recv_fd(c[0]);
	printf("received itself: %d\n", again >= 0);
	T(write(c[1], "pong", 4));
	memset(buf, 0, sizeof(buf));
	T(read(again, buf, sizeof(buf)));
	printf("it carries: %s\n", buf);
	return 0;
}
