/* sysfuzz: a seeded system-call fuzzer (issue 12), run as init.
 *
 * Usage: sysfuzz SEED COUNT.  The parent forks children, each makes a
 * share of COUNT calls picked from CALLS below (plus unimplemented and
 * out-of-range numbers) with arguments biased toward the interesting:
 * 0, -1, small ints, its own fds, huge lengths, NULL, unmapped, kernel,
 * misaligned, PROT_NONE, read-only and page-straddling pointers.  A child
 * killed by a signal is expected and counted; a child still running
 * after CHILD_SECS (a call that blocks for good, e.g. a read of a pipe
 * the child made blocking again) is SIGKILLed and counted.  A return
 * value outside [-4095, 0) that is negative is a failure.  At the end the
 * parent checks it can still fork, exec, allocate and write a file,
 * prints a summary and exits 0, or 1 on a failure.
 *
 * Raw syscall instruction, not musl's syscall(), so that the kernel's
 * exact return value is seen. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NCHILD_MAX 64
#define PER_CHILD 100
#define CHILD_SECS 2
#define REPORT_FD 900
#define NSYS 512
/* slab caches and the like may grow a little; a leak per call would not */
#define LEAK_KB 1024

static long raw6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Calls fuzzed with random arguments.  Left out, and why:
 * exit 60, exit_group 231: end the child at once (no information);
 * fork 57, vfork 58, clone 56, clone3 435: a fork bomb of fuzzers;
 * kill 62, tkill 200, tgkill 234: done below only at the child itself
 *   (kill(-1, SIGKILL) would end the parent, init);
 * pause 34, rt_sigsuspend 130: block until a signal that never comes;
 * settimeofday 164, clock_settime 227: as root they would move the wall
 *   clock under every later test of the boot (apps/tests/clock covers them). */
static const int CALLS[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23, 24, 28, 32, 33, 35, 39, 40, 41, 42, 43, 44, 45, 46, 47,
	48, 49, 50, 51, 52, 53, 54, 55, 59, 61, 63, 72, 74, 75, 76, 77, 79, 80,
	81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 95, 96, 97, 98, 99, 102,
	104, 107, 108, 109, 110, 111, 112, 121, 127, 128, 131, 137, 138, 158,
	160, 186, 188, 189, 190, 191, 192, 193, 194, 195, 196, 201, 202, 203,
	204, 213, 217, 218, 221, 228, 230, 232, 233, 235, 247, 257, 258, 261,
	262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 273, 274, 280, 281,
	288, 291, 292, 293, 302, 316, 318, 332, 439, 441, 36, 37, 38,
	/* unimplemented on Caboose, or on both */
	25, 26, 27, 29, 30, 31, 100, 101, 105, 157, 165, 283, 290,
	/* out of range */
	335, 450, 500, 999, -1, (int)(1u << 31), 0x7fffffff,
};
#define NCALLS (int)(sizeof(CALLS) / sizeof(CALLS[0]))

struct stats {
	long calls[NSYS + 1];	/* [NSYS]: numbers outside 0..NSYS-1 */
	long err[4097];		/* [0]: success */
	long bad;		/* return values outside Linux's range */
};

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *arena;	/* RW RW NONE RO unmapped */
static int fds[16], nfds;
static const long PG = 4096;

static long pick_fd(void)
{
	switch (rnd() % 6) {
	case 0: return -1;
	case 1: return (long)(rnd() % 8);
	case 2: return 1000 + (long)(rnd() % 100000);
	default: return nfds ? fds[rnd() % nfds] : 0;
	}
}

static long pick_ptr(void)
{
	switch (rnd() % 12) {
	case 0: return 0;
	case 1: return (long)(arena + 4 * PG);			/* unmapped */
	case 2: return (long)0xffff800000000000ull + (long)(rnd() % 0x100000) * 8;
	case 3: return (long)0xffffffff80000000ull;
	case 4: return (long)(arena + 1 + rnd() % 64);		/* misaligned */
	case 5: return (long)(arena + 2 * PG);			/* PROT_NONE */
	case 6: return (long)(arena + 3 * PG);			/* read-only */
	case 7: return (long)(arena + 2 * PG - 1 - rnd() % 16);	/* straddles */
	case 8: return (long)0x0000800000000000ull;		/* non-canonical */
	case 9: return -1;
	default: return (long)(arena + (rnd() % 64) * 8);	/* valid */
	}
}

static long pick_int(void)
{
	switch (rnd() % 10) {
	case 0: return 0;
	case 1: return -1;
	case 2: return (long)(rnd() % 16);
	case 3: return (long)0x7fffffffffffffffll;
	case 4: return (long)(1ul << (rnd() % 64));
	case 5: return (long)(rnd() % 4096);
	case 6: return 0x80000000l;
	case 7: return (long)rnd();
	default: return (long)(rnd() % 256);
	}
}

static long pick_arg(void)
{
	switch (rnd() % 3) {
	case 0: return pick_fd();
	case 1: return pick_ptr();
	default: return pick_int();
	}
}

static void open_fds(int k)
{
	char path[32];
	int p[2];
	nfds = 0;
	snprintf(path, sizeof(path), "/tmp/fz%d", k % 4);
	fds[nfds++] = open(path, O_RDWR | O_CREAT | O_NONBLOCK, 0644);
	fds[nfds++] = open("/tmp", O_RDONLY | O_DIRECTORY);
	if (pipe2(p, O_NONBLOCK) == 0) {
		fds[nfds++] = p[0];
		fds[nfds++] = p[1];
	}
	fds[nfds++] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	fds[nfds++] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) == 0) {
		fds[nfds++] = p[0];
		fds[nfds++] = p[1];
	}
	fds[nfds++] = (int)raw6(291, 0, 0, 0, 0, 0, 0);	/* epoll_create1 */
	fds[nfds++] = (int)raw6(290, 0, 04000, 0, 0, 0, 0);	/* eventfd2 */
	int j = 0;
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			fds[j++] = fds[i];
	nfds = j;
}

static void setup_arena(void)
{
	arena = mmap(0, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED) {
		perror("sysfuzz: mmap");
		exit(1);
	}
	memset(arena, 0, 2 * PG);
	strcpy(arena + 512, "/tmp/fzx");
	mprotect(arena + 2 * PG, PG, PROT_NONE);
	mprotect(arena + 3 * PG, PG, PROT_READ);
	munmap(arena + 4 * PG, PG);
}

/* Each call goes to the parent at once as a record (an atomic pipe
 * write): before it, with done 0, so that a call that blocks for good can
 * be named, and after, with its result, so that a child killed midway
 * still counts. */
#define REC 9	/* number, result, 6 arguments, done */
static void record(long n, long r, const long *a, long done)
{
	long rec[REC] = { n, r, a[0], a[1], a[2], a[3], a[4], a[5], done };
	if (write(REPORT_FD, rec, sizeof(rec)) != sizeof(rec))
		_exit(3);
}

static long last[REC];	/* the last call a child reported */

static void count(struct stats *st, long n, long r)
{
	st->calls[(n >= 0 && n < NSYS) ? n : NSYS]++;
	if (r >= 0)
		st->err[0]++;
	else if (r >= -4095)
		st->err[-r]++;
	else {
		st->bad++;
		printf("sysfuzz: FAILED: call %ld returned %#lx\n", n, (unsigned long)r);
	}
}

/* One child: open its fds, make its calls, send its counts to the parent. */
static void child(int k, int iters, uint64_t seed)
{
	rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)k + 1;
	setup_arena();
	open_fds(k);
	for (int i = 0; i < iters; i++) {
		long n = CALLS[rnd() % NCALLS];
		long a[6];
		for (int j = 0; j < 6; j++)
			a[j] = pick_arg();
		if (rnd() % 1024 == 0) {	/* kill, sandboxed: only itself */
			n = 62 + (rnd() % 2) * (200 - 62);
			a[0] = (long)getpid();
			a[1] = (long)(rnd() % 40);
		}
		record(n, 0, a, 0);
		record(n, raw6(n, a[0], a[1], a[2], a[3], a[4], a[5]), a, 1);
	}
	_exit(0);
}

static struct stats total;

/* Count the records waiting in the pipe; a partial one stays for later. */
static void drain(int fd)
{
	static char buf[4096];
	static size_t have;
	ssize_t r;
	while ((r = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)r;
		size_t i = 0;
		for (; i + sizeof(last) <= have; i += sizeof(last)) {
			memcpy(last, buf + i, sizeof(last));
			if (last[REC - 1])
				count(&total, last[0], last[1]);
		}
		memmove(buf, buf + i, have - i);
		have -= i;
	}
}

/* Run child k; returns how it ended: 0 exit 0, 1..64 signal, 100 timeout, 101 other. */
static int run_child(int k, int iters, uint64_t seed, int *sig)
{
	int p[2];
	if (pipe(p) < 0 || dup2(p[1], REPORT_FD) < 0) {
		perror("sysfuzz: pipe");
		return 101;
	}
	close(p[1]);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(k, iters, seed);
	}
	close(REPORT_FD);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	memset(last, 0, sizeof(last));
	last[REC - 1] = 1;
	if (pid < 0) {
		perror("sysfuzz: fork");
		close(p[0]);
		return 101;
	}
	int status, ms = 0;
	pid_t w;
	struct timespec ten = { 0, 10 * 1000 * 1000 };
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && ms < CHILD_SECS * 1000) {
		drain(p[0]);
		nanosleep(&ten, 0);
		ms += 10;
	}
	int timed_out = 0;
	if (w == 0) {
		timed_out = 1;
		printf("sysfuzz: child %d still running after %d s%s: SIGKILL\n", k, CHILD_SECS,
		       last[REC - 1] ? "" : " in a call");
		if (!last[REC - 1])
			printf("sysfuzz:   call %ld (%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n",
			       last[0], last[2], last[3], last[4], last[5], last[6], last[7]);
		kill(pid, SIGKILL);
		w = waitpid(pid, &status, 0);
	}
	drain(p[0]);
	close(p[0]);
	if (w != pid)
		return 101;
	if (timed_out)
		return 100;
	if (WIFSIGNALED(status)) {
		*sig = WTERMSIG(status);
		return 1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 101;
}

/* MemFree of /proc/meminfo in kB, or -1 where there is none (Linux
 * booted with rdinit= mounts no /proc). */
static long mem_free_kb(void)
{
	char buf[512];
	int fd = open("/proc/meminfo", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, "MemFree:");
	return p ? strtol(p + 8, 0, 10) : -1;
}

/* The files the children made in /tmp hold memory: remove them, so that
 * what is left missing after the run is a leak. */
static void remove_files(void)
{
	char path[32];
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/tmp/fz%d", i);
		unlink(path);
	}
	unlink("/tmp/fzx");
	rmdir("/tmp/fzx");
	unlink("/tmp/sysfuzz-check");
}

/* After the run: can the system still fork, exec, allocate, write a file? */
static int still_works(void)
{
	int ok = 1;
	char *m = malloc(1 << 20);
	if (!m)
		ok = 0;
	else
		memset(m, 7, 1 << 20);
	free(m);
	int fd = open("/tmp/sysfuzz-check", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[6] = { 0 };
	if (fd < 0 || write(fd, "after", 5) != 5 || pread(fd, buf, 5, 0) != 5 ||
	    strcmp(buf, "after"))
		ok = 0;
	if (fd >= 0)
		close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/tests/hello", "/tests/hello", (char *)0);
		_exit(127);
	}
	int status = -1;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		ok = 0;
	printf("sysfuzz: after the run fork/exec/malloc/write %s\n", ok ? "ok" : "FAILED");
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sysfuzz SEED COUNT\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[1], 0, 0);
	long count = strtol(argv[2], 0, 0);
	int nchild = (int)((count + PER_CHILD - 1) / PER_CHILD);
	if (count <= 0 || nchild > NCHILD_MAX) {
		fprintf(stderr, "sysfuzz: COUNT must be 1..%d\n", NCHILD_MAX * PER_CHILD);
		return 2;
	}
	setvbuf(stdout, 0, _IOLBF, 0);
	printf("sysfuzz: seed %llu, %ld calls in %d children\n",
	       (unsigned long long)seed, count, nchild);
	still_works();	/* warm up what the check allocates once */
	remove_files();
	long free_before = mem_free_kb();
	int sigs[65] = { 0 }, timeouts = 0, other = 0, clean = 0;
	for (int k = 0; k < nchild; k++) {
		long iters = count - (long)k * PER_CHILD;
		int sig = 0, how = run_child(k, iters > PER_CHILD ? PER_CHILD : (int)iters, seed, &sig);
		if (how == 0)
			clean++;
		else if (how == 1 && sig > 0 && sig <= 64)
			sigs[sig]++;
		else if (how == 100)
			timeouts++;
		else
			other++;
	}
	printf("sysfuzz: children: %d exited 0, %d timed out (SIGKILLed), %d other\n",
	       clean, timeouts, other);
	for (int s = 1; s <= 64; s++)
		if (sigs[s])
			printf("sysfuzz: %d killed by signal %d\n", sigs[s], s);
	for (int i = 0; i <= NSYS; i++)
		if (total.calls[i])
			printf("sysfuzz: call %d: %ld\n", i == NSYS ? -1 : i, total.calls[i]);
	for (int e = 0; e <= 4095; e++)
		if (total.err[e])
			printf("sysfuzz: %s: %ld\n", e ? strerror(e) : "success", total.err[e]);
	int ok = still_works() && total.bad == 0 && other == 0;
	remove_files();
	long free_after = mem_free_kb();
	if (free_before >= 0 && free_after >= 0) {
		long leak = free_before - free_after;
		int leak_ok = leak <= LEAK_KB;
		printf("sysfuzz: MemFree %ld kB before, %ld kB after: %s (bound %d kB)\n",
		       free_before, free_after, leak_ok ? "no leak" : "LEAK FAILED", LEAK_KB);
		ok = ok && leak_ok;
	} else {
		printf("sysfuzz: no /proc/meminfo, memory not checked\n");
	}
	printf("sysfuzz: %ld bad return values; %s\n", total.bad, ok ? "done" : "FAILED");
	return ok ? 0 : 1;
}
