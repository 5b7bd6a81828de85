/* File mappings as ld.so and glibc make them: MAP_PRIVATE of a regular
 * file, read-only and writable (writes stay private), at an offset, the
 * zeros after the end of the file in its last page and SIGBUS past it,
 * MAP_FIXED of a file over an earlier mapping, mprotect of such pages
 * (PROT_NONE keeps their data), fork's copy, and the errors: a bad
 * descriptor, a write-only one, a directory, an unaligned offset. Prints
 * what each call returned and what the pages held; the output is the same
 * on Linux (tests/run.py compares them). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "show.h"


int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	probe_init();
	int fd = pages_file("/tmp/mapped");

	unsigned char *p = map("mmap whole file, read-only", NULL, 4 * PAGE, PROT_READ,
			       MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED) {
		probe("page 0", p);
		probe("page 1", p + PAGE + 7);
		probe("page 2, before the end", p + 2 * PAGE + PAGE / 2 - 1);
		probe("page 2, after the end", p + 2 * PAGE + PAGE / 2);
		probe("page 2, last byte", p + 3 * PAGE - 1);
		probe("page 3, past the file", p + 3 * PAGE);
		poke("write to a read-only mapping", p, 1);
		show("mprotect page 2 PROT_NONE", mprotect(p + 2 * PAGE, PAGE, PROT_NONE));
		probe("page 2 under PROT_NONE", p + 2 * PAGE);
		show("mprotect page 2 PROT_READ", mprotect(p + 2 * PAGE, PAGE, PROT_READ));
		probe("page 2 again", p + 2 * PAGE);
		show("munmap", munmap(p, 4 * PAGE));
	}

	unsigned char *w = map("mmap at offset 1 page, writable", NULL, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE, fd, PAGE);
	if (w != MAP_FAILED) {
		probe("offset page", w);
		w[0] = 'Q';
		probe("after a private write", w);
		unsigned char c = 0;
		show("pread the file there", pread(fd, &c, 1, PAGE));
		printf("the file still holds %c\n", c);
		pid_t pid = fork();
		if (pid == 0) {
			w[1] = 'R';
			_exit(w[0] == 'Q' && w[1] == 'R' ? 0 : 1);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		printf("child saw its copy: %s; parent's byte 1: %c\n",
		       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no", w[1]);
		show("mprotect read-only", mprotect(w, PAGE, PROT_READ));
		probe("still there", w);
		/* the private copy goes: the file's byte again */
		show("MADV_FREE over it", madvise(w, PAGE, MADV_FREE));
		show("MADV_DONTNEED over it", madvise(w, PAGE, MADV_DONTNEED));
		probe("the file's byte again", w);
		munmap(w, PAGE);
	}

	/* ld.so's way: reserve the span with the file, then MAP_FIXED pieces
	 * over it, anonymous and from the file, and PROT_NONE the gap */
	unsigned char *r = map("reserve 4 pages from the file", NULL, 4 * PAGE, PROT_READ,
			       MAP_PRIVATE, fd, 0);
	if (r != MAP_FAILED) {
		map("MAP_FIXED file page 1 at page 3", r + 3 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED,
		    fd, PAGE);
		probe("page 3 now", r + 3 * PAGE);
		map("MAP_FIXED anonymous at page 2", r + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
		probe("page 2 now", r + 2 * PAGE);
		show("mprotect page 1 PROT_NONE", mprotect(r + PAGE, PAGE, PROT_NONE));
		probe("page 1 under PROT_NONE", r + PAGE);
		probe("page 0 still", r);
		munmap(r, 4 * PAGE);
	}

	/* anonymous data kept under PROT_NONE */
	unsigned char *a = map("anonymous page", NULL, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a != MAP_FAILED) {
		a[5] = 77;
		show("mprotect PROT_NONE", mprotect(a, PAGE, PROT_NONE));
		probe("under PROT_NONE", a + 5);
		show("mprotect PROT_READ|PROT_WRITE", mprotect(a, PAGE, PROT_READ | PROT_WRITE));
		probe("data kept", a + 5);
		munmap(a, PAGE);
	}

	map("unaligned offset", NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100);
	map("bad descriptor", NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0);
	map_bad_files("/tmp/mapped", MAP_PRIVATE);
	unsigned char *e = map("empty file region past the end", NULL, PAGE, PROT_READ,
			       MAP_PRIVATE, fd, 8 * PAGE);
	if (e != MAP_FAILED)
		probe("past the end", e);
	close(fd);
	unlink("/tmp/mapped");
	printf("mmapfile: done\n");
	return 0;
}
