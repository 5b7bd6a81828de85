/* sysbench: system-call costs, for bench/sys (not a differential test: the
 * user tier does not run it, and its figures differ between kernels by
 * design). bench/sys boots Caboose and the Linux guest with -icount
 * shift=0, where the TSC advances one tick per guest instruction, runs this
 * as PID 1 on each and compares the lines it prints, one per operation:
 *
 *   sysbench: NAME iterations=N ticks=T ticks_per_op=T/N
 *
 * Every tick on the one CPU counts, whoever runs: the kernel's, the
 * partner process's (the pipe's and the socket's other end), timer
 * interrupts, and idle time (which icount skips to the next timer).
 * Operations, each warmed up with a tenth of its iterations first:
 *   null   syscall(SYS_getppid) (no libc caches it, no vDSO has it)
 *   pipe   a 1-byte round trip to a child through two pipes
 *   fork   fork, the child _exits, the parent waits for it
 *   exec   execve of this static binary: a child re-executes itself N
 *          times with the start TSC and a counter in argv (exec and the
 *          program's start-up, no fork), the last one prints
 *   mmap   mmap 1 MiB private anonymous, write a byte in each 4 KiB page,
 *          munmap
 *   tcp    a 4 KiB write to a TCP socket over loopback (TCP_NODELAY);
 *          a child reads everything and answers one byte when it has all
 *          of it, so the ticks cover the data's whole way to the reader
 *   stat   stat of a 5-component path it made in the root file system
 *          (/sysbench.d/a/b/c/f), looked up before: the kernels' cached
 *          path walk
 * Arguments: `quick`, a tenth of the iterations (the bench tier's check);
 * operation names, only those (all of them without any: a profile of one
 * operation, e.g. `sysbench fork`). */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lo.h"

static uint64_t tsc(void)
{
	return __builtin_ia32_rdtsc();
}

static void report(const char *name, long n, uint64_t ticks)
{
	printf("sysbench: %s iterations=%ld ticks=%llu ticks_per_op=%.1f\n", name, n,
	       (unsigned long long)ticks, (double)ticks / (double)n);
	fflush(stdout);
}

static void fail(const char *what)
{
	printf("sysbench: FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static void null_call(long n)
{
	for (long i = 0; i < n / 10; i++)
		syscall(SYS_getppid);
	uint64_t t0 = tsc();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	report("null", n, tsc() - t0);
}

static void pipe_rt(long n)
{
	int a[2], b[2];
	char c = 'x';
	long warm = n / 10;
	if (pipe(a) || pipe(b))
		fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail("pipe: fork");
	if (pid == 0) {
		for (long i = 0; i < warm + n; i++)
			if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	uint64_t t0 = 0;
	for (long i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = tsc();
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			fail("pipe: round trip");
	}
	uint64_t t = tsc() - t0;
	int st;
	if (waitpid(pid, &st, 0) != pid || st != 0)
		fail("pipe: child");
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
	report("pipe", n, t);
}

static void fork_wait(long n)
{
	uint64_t t0 = 0;
	long warm = n / 10;
	for (long i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = tsc();
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0)
			_exit(0);
		int st;
		if (waitpid(pid, &st, 0) != pid || st != 0)
			fail("fork: wait");
	}
	report("fork", n, tsc() - t0);
}

static const char *self = "/tests/sysbench";

/* argv: self exec-run LEFT START N PRINT */
static int exec_step(char **argv, char **envp)
{
	long left = atol(argv[2]);
	if (left > 0) {
		char l[24];
		snprintf(l, sizeof(l), "%ld", left - 1);
		char *args[] = {argv[0], argv[1], l, argv[3], argv[4], argv[5], NULL};
		execve(self, args, envp);
		fail("exec: execve");
	}
	if (argv[5][0] == '1')
		report("exec", atol(argv[4]), tsc() - strtoull(argv[3], NULL, 10));
	return 0;
}

static void exec_run(long n, int print, char **envp)
{
	pid_t pid = fork();
	if (pid < 0)
		fail("exec: fork");
	if (pid == 0) {
		char l[24], s[24], c[24];
		snprintf(l, sizeof(l), "%ld", n);
		snprintf(c, sizeof(c), "%ld", n);
		snprintf(s, sizeof(s), "%llu", (unsigned long long)tsc());
		char *args[] = {(char *)self, "exec-run", l, s, c, print ? "1" : "0", NULL};
		execve(self, args, envp);
		_exit(1);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || st != 0)
		fail("exec: child");
}

static void mmap_touch(long n)
{
	const size_t len = 1 << 20;
	uint64_t t0 = 0;
	long warm = n / 10;
	for (long i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = tsc();
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			fail("mmap");
		for (size_t o = 0; o < len; o += 4096)
			p[o] = 1;
		if (munmap(p, len))
			fail("munmap");
	}
	report("mmap", n, tsc() - t0);
}

static int read_all(int fd, char *buf, long bytes)
{
	while (bytes > 0) {
		ssize_t r = read(fd, buf, bytes > 65536 ? 65536 : bytes);
		if (r <= 0)
			return -1;
		bytes -= r;
	}
	return 0;
}

static void tcp_write(long n)
{
	static char buf[65536];
	long warm = n / 10;
	lo_up();
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7019),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		fail("tcp: listen");
	pid_t pid = fork();
	if (pid < 0)
		fail("tcp: fork");
	if (pid == 0) {
		int c = accept(l, NULL, NULL);
		if (c < 0 || read_all(c, buf, warm * 4096) || write(c, "w", 1) != 1 ||
		    read_all(c, buf, n * 4096) || write(c, "n", 1) != 1)
			_exit(1);
		close(c);
		_exit(0);
	}
	/* no Nagle: Caboose holds no segments back, and Linux's last 4 KiB
	 * would otherwise wait for the reader's delayed ACK (about 40 ms of
	 * idle, counted as ticks) */
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (s < 0 || setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)))
		fail("tcp: connect");
	char c;
	uint64_t t0 = 0;
	for (long i = 0; i < warm + n; i++) {
		if (i == warm) {
			if (read(s, &c, 1) != 1)
				fail("tcp: warm-up answer");
			t0 = tsc();
		}
		if (write(s, buf, 4096) != 4096)
			fail("tcp: write");
	}
	if (read(s, &c, 1) != 1)
		fail("tcp: answer");
	uint64_t t = tsc() - t0;
	int st;
	if (waitpid(pid, &st, 0) != pid || st != 0)
		fail("tcp: child");
	close(s);
	close(l);
	report("tcp", n, t);
}

static void stat_path(long n)
{
	static const char *const dirs[] = {"/sysbench.d", "/sysbench.d/a", "/sysbench.d/a/b",
					   "/sysbench.d/a/b/c"};
	const char *path = "/sysbench.d/a/b/c/f";
	for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
			fail("mkdir");
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		fail("open");
	close(fd);
	struct stat st;
	for (long i = 0; i < n / 10; i++)
		if (stat(path, &st) < 0)
			fail("stat");
	uint64_t t0 = tsc();
	for (long i = 0; i < n; i++)
		stat(path, &st);
	uint64_t t = tsc() - t0;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		fail("stat");
	report("stat", n, t);
}

int main(int argc, char **argv, char **envp)
{
	if (argc > 0 && argv[0][0] == '/')
		self = argv[0];
	if (argc == 6 && !strcmp(argv[1], "exec-run"))
		return exec_step(argv, envp);
	long k = 1;
	unsigned want = 0;   /* bit i: OPS[i] named; none named: all */
	static const char *const OPS[] = {"null", "pipe", "fork", "exec", "mmap", "tcp",
					     "stat"};
	for (int i = 1; i < argc; i++) {
		unsigned j = 0;
		while (j < sizeof(OPS) / sizeof(OPS[0]) && strcmp(argv[i], OPS[j]))
			j++;
		if (!strcmp(argv[i], "quick"))
			k = 10;
		else if (j < sizeof(OPS) / sizeof(OPS[0]))
			want |= 1u << j;
		else
			fail("usage: sysbench [quick] [null|pipe|fork|exec|mmap|tcp|stat]...");
	}
	if (!want)
		want = ~0u;
	if (want & 1)
		null_call(200000 / k);
	if (want & 2)
		pipe_rt(20000 / k);
	if (want & 4)
		fork_wait(2000 / k);
	if (want & 8) {
		exec_run(500 / k / 10, 0, envp);
		exec_run(500 / k, 1, envp);
	}
	if (want & 16)
		mmap_touch(300 / k);
	if (want & 32)
		tcp_write(10000 / k);
	if (want & 64)
		stat_path(100000 / k);
	printf("sysbench: done\n");
	fflush(stdout);
	return 0;
}
