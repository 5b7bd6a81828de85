/* Named pipes (mkfifo, mknod S_IFIFO) in /tmp: what each open gives with
 * and without O_NONBLOCK (a writer with no reader: ENXIO), a blocking open
 * meeting its partner from another process either way round, a signal
 * ending a blocking open (EINTR, nothing left counted), O_RDWR, bytes
 * lost with the last close, poll's HUP only once a writer came and went,
 * lseek, fstat, unlink while open, execve of a FIFO. Prints what every
 * call returned; the output is the same on Linux (tests/run.py compares
 * them). */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

static char buf[256];

/* fd's poll events now, without waiting */
static void events(const char *what, int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	int n = poll(&p, 1, 0);
	printf("poll %s: %d revents %#x\n", what, n, (unsigned)p.revents);
}

/* Print an open's result without the descriptor's number. */
static int opened(const char *what, int fd)
{
	if (fd < 0)
		printf("%s = -1 %s\n", what, strerror(errno));
	else
		printf("%s: a descriptor\n", what);
	return fd;
}
#define OPEN(path, flags) opened("open(" #path ", " #flags ")", open(path, flags))

static void on_alarm(int sig) { (void)sig; }

/* SIGALRM to this process in ms milliseconds, from a child; returns it */
static pid_t in_ms(int ms)
{
	pid_t parent = getpid(), kid = fork();
	if (kid == 0) {
		usleep((unsigned)ms * 1000);
		kill(parent, SIGALRM);
		_exit(0);
	}
	return kid;
}

/* Read fd to its end; print what came. */
static void drain(const char *who, int fd)
{
	size_t got = 0;
	long r;
	while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = 0;
	printf("%s read \"%s\"\n", who, buf);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct stat st;
	printf("-- making them\n");
	T(mkfifo("/tmp/f", 0644));
	T(mkfifo("/tmp/f", 0644));
	T(stat("/tmp/f", &st));
	printf("f: fifo %d size %ld mode %o\n", S_ISFIFO(st.st_mode), (long)st.st_size,
	       (unsigned)(st.st_mode & 07777));
	T(mknod("/tmp/g", S_IFIFO | 0600, 0));
	T(lstat("/tmp/g", &st));
	printf("g: fifo %d\n", S_ISFIFO(st.st_mode));

	printf("-- O_NONBLOCK\n");
	OPEN("/tmp/f", O_WRONLY | O_NONBLOCK);
	int r = OPEN("/tmp/f", O_RDONLY | O_NONBLOCK);
	T(read(r, buf, sizeof(buf)));
	events("reader, no writer yet", r);
	int w = OPEN("/tmp/f", O_WRONLY | O_NONBLOCK);
	events("reader, a writer", r);
	events("writer", w);
	T(write(w, "hello", 5));
	events("reader, 5 bytes", r);
	T(read(r, buf, sizeof(buf)));
	printf("read \"%.5s\"\n", buf);
	T(fstat(w, &st));
	printf("fstat of the writer: fifo %d\n", S_ISFIFO(st.st_mode));
	T(lseek(r, 0, SEEK_SET));
	T(pread(r, buf, 1, 0));
	T(read(r, buf, sizeof(buf)));
	T(close(w));
	events("reader, the writer gone", r);
	T(read(r, buf, sizeof(buf)));
	T(write(r, "x", 1));
	T(close(r));

	printf("-- O_RDWR, and the bytes go with the last close\n");
	int rw = OPEN("/tmp/f", O_RDWR);
	events("O_RDWR", rw);
	T(write(rw, "abc", 3));
	T(read(rw, buf, 2));
	printf("read \"%.2s\"\n", buf);
	T(close(rw));
	rw = OPEN("/tmp/f", O_RDWR | O_NONBLOCK);
	T(read(rw, buf, sizeof(buf)));
	T(close(rw));

	printf("-- a writer waits for a reader\n");
	pid_t kid = fork();
	if (kid == 0) {
		int fd = open("/tmp/f", O_WRONLY);
		_exit(fd >= 0 && write(fd, "from the child", 14) == 14 ? 0 : 1);
	}
	usleep(200000);
	r = OPEN("/tmp/f", O_RDONLY);
	drain("parent", r);
	int st2;
	waitpid(kid, &st2, 0);
	status("child", st2);
	T(close(r));

	printf("-- a reader waits for a writer\n");
	kid = fork();
	if (kid == 0) {
		usleep(200000);
		int fd = open("/tmp/f", O_WRONLY);
		_exit(fd >= 0 && write(fd, "late", 4) == 4 ? 0 : 1);
	}
	r = OPEN("/tmp/f", O_RDONLY);
	drain("parent", r);
	waitpid(kid, &st2, 0);
	status("child", st2);
	T(close(r));

	printf("-- a signal ends a blocking open\n");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART */
	T(sigaction(SIGALRM, &sa, NULL));
	kid = in_ms(200);
	OPEN("/tmp/g", O_RDONLY);
	waitpid(kid, NULL, 0);
	kid = in_ms(200);
	OPEN("/tmp/g", O_WRONLY);
	waitpid(kid, NULL, 0);
	/* neither interrupted open is left counted */
	OPEN("/tmp/g", O_WRONLY | O_NONBLOCK);
	r = OPEN("/tmp/g", O_RDONLY | O_NONBLOCK);
	events("reader of g, no writer yet", r);
	T(close(r));

	printf("-- unlinked while open\n");
	rw = OPEN("/tmp/f", O_RDWR);
	T(unlink("/tmp/f"));
	T(write(rw, "still", 5));
	T(read(rw, buf, sizeof(buf)));
	printf("read \"%.5s\"\n", buf);
	T(close(rw));
	OPEN("/tmp/f", O_RDONLY | O_NONBLOCK);

	printf("-- execve of a FIFO\n");
	T(chmod("/tmp/g", 0755));
	char *argv[] = { "/tmp/g", NULL };
	T(execve("/tmp/g", argv, argv + 1));
	T(unlink("/tmp/g"));
	printf("done\n");
	return 0;
}
