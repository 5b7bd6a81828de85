/* The differential test programs' memory probes (apps/tests): probe()
 * reads a byte and poke() writes one, each printing the value or the
 * signal (SIGBUS, SIGSEGV) and si_code the access met, so that a fault's
 * kind is compared with Linux's line by line. probe_init() installs the
 * handlers for SIGBUS and SIGSEGV. map() is mmap printing what it
 * returned; pages_file() makes the file the mapping tests map. */
#ifndef APPS_TESTS_PROBE_H
#define APPS_TESTS_PROBE_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

static sigjmp_buf probe_jb;
static volatile int probe_sig, probe_code;

static void probe_on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	probe_sig = sig;
	probe_code = si->si_code;
	siglongjmp(probe_jb, 1);
}

static inline void probe_init(void)
{
	struct sigaction sa = { .sa_sigaction = probe_on_fault, .sa_flags = SA_SIGINFO };
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

static inline void probe_report(const char *what)
{
	printf("%s: signal %s code %d\n", what, probe_sig == SIGBUS ? "SIGBUS" :
	       probe_sig == SIGSEGV ? "SIGSEGV" : "other", probe_code);
}

/* read one byte at p: its value, or the signal the read met */
static inline void probe(const char *what, volatile const unsigned char *p)
{
	probe_sig = 0;
	if (sigsetjmp(probe_jb, 1) == 0)
		printf("%s: byte %u\n", what, (unsigned)*p);
	else
		probe_report(what);
}

/* write v at p: done, or the signal the write met */
static inline void poke(const char *what, volatile unsigned char *p, unsigned char v)
{
	probe_sig = 0;
	if (sigsetjmp(probe_jb, 1) == 0) {
		*p = v;
		printf("%s: done\n", what);
	} else {
		probe_report(what);
	}
}

static inline void *map(const char *what, void *addr, size_t len, int prot, int flags, int fd,
			off_t off)
{
	void *p = mmap(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		printf("%s = -1 %s\n", what, strerror(errno));
	else
		printf("%s = ok%s\n", what, addr && p == addr ? " (at the address asked)" : "");
	return p;
}

/* A new file of 2.5 pages in /tmp, open read-write: page i holds 'a' + i,
 * the last half page 'z'; its descriptor (the write's result printed) */
static inline int pages_file(const char *path)
{
	static unsigned char buf[PAGE * 2 + PAGE / 2];
	for (int i = 0; i < 2; i++)
		memset(buf + i * PAGE, 'a' + i, PAGE);
	memset(buf + 2 * PAGE, 'z', PAGE / 2);
	mkdir("/tmp", 01777);
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	ssize_t n = write(fd, buf, sizeof(buf));
	printf("write file = %zd\n", n);
	return fd;
}

/* mmap's refusals of a write-only descriptor of path and of a directory,
 * with the mapping type given (MAP_PRIVATE, MAP_SHARED) */
static inline void map_bad_files(const char *path, int type)
{
	int wo = open(path, O_WRONLY);
	map("a write-only descriptor", NULL, PAGE, PROT_READ, type, wo, 0);
	close(wo);
	int dir = open("/tmp", O_RDONLY);
	map("a directory", NULL, PAGE, PROT_READ, type, dir, 0);
	close(dir);
}

#endif
