/* Pipes inside one process: data through, end of file, capacity, O_NONBLOCK,
 * EPIPE with SIGPIPE ignored, bad arguments. Prints what every call
 * returned; the output is the same on Linux (tests/run.py compares them). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "show.h"

static char buf[70000];

int main(void)
{
	int p[2];
	T(pipe(p));
	printf("fds %d %d\n", p[0], p[1]);
	T(write(p[1], "abc", 3));
	T(read(p[0], buf, 100));
	printf("read: %.3s\n", buf);
	struct stat st;
	T(fstat(p[0], &st));
	printf("fifo: %d\n", S_ISFIFO(st.st_mode));
	T(lseek(p[0], 0, SEEK_SET));
	T(pread(p[0], buf, 1, 0));
	T(pwrite(p[1], buf, 1, 0));
	T(read(p[1], buf, 1));
	T(write(p[0], "x", 1));
	T(fcntl(p[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	T(fcntl(p[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	T(fcntl(p[0], F_SETFL, O_NONBLOCK));
	T(read(p[0], buf, 1));
	T(fcntl(p[1], F_SETFL, O_NONBLOCK));
	long total = 0, r;
	memset(buf, 'z', sizeof(buf));
	while ((r = write(p[1], buf, 1000)) > 0)
		total += r;
	printf("capacity: %ld, then %s\n", total, strerror(errno));
	T(write(p[1], buf, 1));
	total = 0;
	while ((r = read(p[0], buf, 7000)) > 0)
		total += r;
	printf("drained: %ld, then %s\n", total, strerror(errno));
	struct iovec iov[2] = { { "one ", 4 }, { "two", 3 } };
	T(writev(p[1], iov, 2));
	T(read(p[0], (void *)8, 7));
	T(read(p[0], buf, 7));
	printf("writev: %.7s\n", buf);
	T(close(p[1]));
	T(read(p[0], buf, 10));
	T(read(p[0], buf, 10));
	T(close(p[0]));

	T(pipe2(p, O_CLOEXEC));
	T(fcntl(p[0], F_GETFD));
	T(fcntl(p[1], F_GETFD));
	signal(SIGPIPE, SIG_IGN);
	T(close(p[0]));
	T(write(p[1], "x", 1));
	T(close(p[1]));
	T(pipe2(p, 0x1));
	T(pipe2(p, O_NONBLOCK | 0x8));
	T(syscall(SYS_pipe, (int *)8));
	T(syscall(SYS_pipe2, (int *)0xffff800000000000UL, 0));
	int q[2];
	T(pipe2(q, O_NONBLOCK));
	printf("fds again %d %d\n", q[0], q[1]);
	T(read(q[0], buf, 1));
	printf("pipe: done\n");
	return 0;
}
