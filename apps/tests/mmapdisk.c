/* Shared mappings of a file on an ext2/ext3 disk (Caboose maps the page
 * cache's own pages; tests/integration/ext2_test.py runs this on
 * /mnt/vda).
 *
 * mmapdisk FILE: a read-only and a writable mapping of FILE hold its
 * bytes; a store through the writable one is read back by pread and seen
 * by the other; a pwrite(2) and an append that reaches a new page show
 * through at once; past the end is SIGBUS; a child sees the same; a hole
 * the file gains (ftruncate) takes a store through the mapping, and so
 * does another through a read-only mapping made writable (mprotect);
 * msync MS_SYNC succeeds. Prints one line per check.
 *
 * mmapdisk cut FILE: for a power cut (the harness kills QEMU): FILE made
 * (64 KiB of 'o', fsync'd), stores of 'S' at 1000-1099 through a writable
 * mapping then msync MS_SYNC ("== msynced"); stores of 'T' at
 * 20000-20099, munmap, no msync, 5 s asleep ("== slept"). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static sigjmp_buf jb;
static volatile int got_sig;

static void on_fault(int sig)
{
	got_sig = sig;
	siglongjmp(jb, 1);
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* the file's bytes [0, n) read with pread, hashed */
static uint64_t file_hash(int fd, size_t n)
{
	static unsigned char buf[65536];
	uint64_t h = 14695981039346656037ull;
	for (size_t at = 0; at < n;) {
		ssize_t k = pread(fd, buf, n - at < sizeof(buf) ? n - at : sizeof(buf), (off_t)at);
		if (k <= 0)
			return 0;
		for (ssize_t i = 0; i < k; i++)
			h = (h ^ buf[i]) * 1099511628211ull;
		at += (size_t)k;
	}
	return h;
}

static int cut(const char *path)
{
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	static char o[65536];
	memset(o, 'o', sizeof(o));
	if (fd < 0 || write(fd, o, sizeof(o)) != (ssize_t)sizeof(o) || fsync(fd) < 0) {
		printf("making %s: %s\n", path, strerror(errno));
		return 1;
	}
	unsigned char *w = mmap(NULL, sizeof(o), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED) {
		printf("writable shared mapping: %s\n", strerror(errno));
		return 1;
	}
	memset(w + 1000, 'S', 100);
	int r = msync(w, sizeof(o), MS_SYNC);
	printf("== msynced %d\n", r);
	memset(w + 20000, 'T', 100);
	munmap(w, sizeof(o));
	close(fd);
	printf("== unmapped\n");
	sleep(5);
	printf("== slept\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && strcmp(argv[1], "cut") == 0)
		return cut(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: mmapdisk FILE | mmapdisk cut FILE\n");
		return 2;
	}
	signal(SIGBUS, on_fault);
	signal(SIGSEGV, on_fault);
	int fd = open(argv[1], O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		printf("open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	size_t size = (size_t)st.st_size;
	size_t len = (size + 3 * PAGE) & ~(size_t)(PAGE - 1);
	unsigned char *w = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED || p == MAP_FAILED) {
		printf("shared mappings: %s\n", strerror(errno));
		return 1;
	}
	uint64_t mh = fnv(p, size), fh = file_hash(fd, size);
	printf("%zu bytes: the mapping's hash equals the file's: %s\n", size,
	       mh == fh && fh ? "yes" : "no");

	/* stores through the writable mapping are the file's */
	memset(w + 100, 'M', 100);
	unsigned char m[100];
	pread(fd, m, sizeof(m), 100);
	printf("stores at 100: pread reads them back: %s; the read-only mapping: %c\n",
	       memcmp(m, w + 100, sizeof(m)) == 0 && m[0] == 'M' ? "yes" : "no", p[150]);

	/* the file's writes show through the mapping */
	pwrite(fd, "Z", 1, 5000);
	printf("after pwrite at 5000: %c\n", p[5000]);
	/* an append that fills the last page and starts a new one */
	size_t add = PAGE + 100 - size % PAGE;
	char *e = malloc(add);
	memset(e, 'E', add);
	ssize_t n = pwrite(fd, e, add, (off_t)size);
	size_t end = size + add;
	printf("appended %zd bytes: the old end %c, the new page's last byte %c\n", n, p[size],
	       p[end - 1]);
	size_t past = (end + PAGE - 1) & ~(size_t)(PAGE - 1);
	got_sig = 0;
	if (sigsetjmp(jb, 1) == 0)
		printf("past the end: byte %u\n", p[past]);
	else
		printf("past the end: %s\n", got_sig == SIGBUS ? "SIGBUS" : "another signal");
	/* a child sees the same pages */
	pid_t pid = fork();
	if (pid == 0)
		_exit(fnv(p, end) == file_hash(fd, end) ? 0 : 1);
	int status = 0;
	waitpid(pid, &status, 0);
	printf("the child's hash equals the file's: %s\n",
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
	printf("the mapping's hash equals the file's after the writes: %s\n",
	       fnv(p, end) == file_hash(fd, end) ? "yes" : "no");
	/* a hole the file gains, stored into through the mapping */
	size_t hole = past + PAGE;
	printf("ftruncate to %zu: %d\n", hole, ftruncate(fd, (off_t)hole));
	w[past + 10] = 'H';
	unsigned char h = 0;
	pread(fd, &h, 1, (off_t)(past + 10));
	printf("a store into the new hole: pread reads %c\n", h);
	int ms = msync(w, len, MS_SYNC);
	printf("msync MS_SYNC: %s\n", ms == 0 ? "0" : strerror(errno));
	munmap(w, len);
	munmap(p, len);
	/* a read-only mapping made writable: a store into a hole's page that
	 * was mapped for reading gets the page's blocks first */
	printf("ftruncate to %zu: %d\n", hole + PAGE, ftruncate(fd, (off_t)(hole + PAGE)));
	unsigned char *q = mmap(NULL, hole + PAGE, PROT_READ, MAP_SHARED, fd, 0);
	printf("a byte of the new hole: %u\n", q == MAP_FAILED ? 999u : q[hole + 20]);
	printf("mprotect read-write: %d\n", mprotect(q, hole + PAGE, PROT_READ | PROT_WRITE));
	q[hole + 20] = 'P';
	pread(fd, &h, 1, (off_t)(hole + 20));
	printf("a store after the mprotect: pread reads %c\n", h);
	ms = msync(q, hole + PAGE, MS_SYNC);
	printf("msync MS_SYNC: %s\n", ms == 0 ? "0" : strerror(errno));
	munmap(q, hole + PAGE);
	fsync(fd);
	close(fd);
	printf("mmapdisk: done\n");
	return 0;
}
