/* Shared file mappings (MAP_SHARED of a regular file, on the RAM file
 * system: /tmp): the mapping's stores are the file's and the file's
 * write(2)s show through the mapping, at once; read(2) into the mapping
 * and write(2) out of it (a system call handed the pages); fork shares
 * them; the zeros after the end in the last page and SIGBUS past it,
 * then a page the file gains later (ftruncate); a hole in the middle of
 * a mapping (munmap) keeps the offsets of what is left; mprotect
 * (PROT_NONE keeps the data; PROT_WRITE refused over a read-only
 * descriptor); unlink while mapped; msync's arguments; and the errors:
 * PROT_WRITE over a read-only descriptor, a write-only descriptor, a
 * directory. Prints what each call returned and what the pages held; the
 * output is the same on Linux (tests/run.py compares them). */
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


/* the file's byte at off, by pread */
static void file_byte(const char *what, int fd, off_t off)
{
	unsigned char c = 0;
	ssize_t n = pread(fd, &c, 1, off);
	printf("%s: pread %zd, byte %u\n", what, n, c);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	probe_init();
	int fd = pages_file("/tmp/shared");

	unsigned char *p = map("mmap 4 pages shared, read-write", NULL, 4 * PAGE,
			       PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	probe("page 0", p);
	probe("page 1", p + PAGE + 7);
	probe("page 2, before the end", p + 2 * PAGE + PAGE / 2 - 1);
	probe("page 2, after the end", p + 2 * PAGE + PAGE / 2);
	probe("page 3, past the file", p + 3 * PAGE);
	poke("write page 3, past the file", p + 3 * PAGE, 1);

	/* the mapping's stores are the file's, and the other way round */
	p[10] = 'X';
	file_byte("after a store at 10", fd, 10);
	show("pwrite 'Y' at 20", pwrite(fd, "Y", 1, 20));
	probe("the mapping at 20", p + 20);
	show("pwrite 2 bytes across pages 0 and 1", pwrite(fd, "MN", 2, PAGE - 1));
	probe("the mapping at 4095", p + PAGE - 1);
	probe("the mapping at 4096", p + PAGE);

	/* system calls handed the mapping */
	int other = open("/tmp/other", O_CREAT | O_RDWR | O_TRUNC, 0644);
	show("write 2 pages out of the mapping", write(other, p, 2 * PAGE));
	unsigned char back[3] = { 0 };
	show("pread them back", pread(other, back, 3, PAGE - 1));
	printf("bytes %c %c %c\n", back[0], back[1], back[2]);
	show("pwrite 'hello' to the other file", pwrite(other, "hello", 5, 0));
	show("pread it into the mapping at 100", pread(other, p + 100, 5, 0));
	char got[6] = { 0 };
	show("pread the file at 100", pread(fd, got, 5, 100));
	printf("file holds %s\n", got);
	close(other);
	unlink("/tmp/other");

	/* fork: the child's stores are the parent's */
	pid_t pid = fork();
	if (pid == 0) {
		p[30] = 'C';
		_exit(p[10] == 'X' ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("child saw the parent's store: %s; parent sees the child's: %c\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no", p[30]);

	/* the file grows: page 3 is its now */
	show("ftruncate to 4 pages", ftruncate(fd, 4 * PAGE));
	probe("page 3 after the growth", p + 3 * PAGE + 5);
	poke("store on page 3", p + 3 * PAGE + 5, 'G');
	file_byte("the file at page 3", fd, 3 * PAGE + 5);
	show("pwrite 'W' on page 3", pwrite(fd, "W", 1, 3 * PAGE + 6));
	probe("the mapping sees it", p + 3 * PAGE + 6);

	/* PROT_NONE keeps the data; back to read-write */
	show("mprotect page 1 PROT_NONE", mprotect(p + PAGE, PAGE, PROT_NONE));
	probe("page 1 under PROT_NONE", p + PAGE + 1);
	show("mprotect page 1 read-write", mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE));
	probe("page 1 again", p + PAGE + 1);

	/* a hole in the middle: what is left keeps its offsets */
	show("munmap page 1", munmap(p + PAGE, PAGE));
	probe("page 1 unmapped", p + PAGE);
	probe("page 2 still the file's page 2", p + 2 * PAGE);
	p[2 * PAGE + 1] = 'H';
	file_byte("a store on page 2 reached the file", fd, 2 * PAGE + 1);

	show("msync MS_SYNC", msync(p, PAGE, MS_SYNC));
	show("msync MS_ASYNC over the hole", msync(p, 3 * PAGE, MS_ASYNC));
	show("msync both flags", msync(p, PAGE, MS_SYNC | MS_ASYNC));
	show("msync unaligned", msync(p + 1, PAGE, MS_SYNC));
	show("msync bad flag", msync(p, PAGE, 8));
	show("msync length 0", msync(p, 0, MS_SYNC));
	/* a shared mapping's pages are the file's: MADV_DONTNEED keeps them */
	show("MADV_FREE", madvise(p, PAGE, MADV_FREE));
	show("MADV_DONTNEED", madvise(p, PAGE, MADV_DONTNEED));
	probe("page 0 after MADV_DONTNEED", p + 10);
	show("MADV_DONTNEED over the hole", madvise(p, 3 * PAGE, MADV_DONTNEED));

	/* unlinked while mapped: the pages stay */
	show("unlink", unlink("/tmp/shared"));
	probe("page 0 after the unlink", p + 10);
	show("munmap page 0", munmap(p, PAGE));
	show("munmap pages 2-3", munmap(p + 2 * PAGE, 2 * PAGE));
	close(fd);

	/* a read-only descriptor */
	fd = open("/tmp/ro", O_CREAT | O_RDWR | O_TRUNC, 0644);
	char zs[100];
	memset(zs, 'z', sizeof(zs));
	show("write 'z' x 100", write(fd, zs, sizeof(zs)));
	close(fd);
	fd = open("/tmp/ro", O_RDONLY);
	map("PROT_WRITE over a read-only descriptor", NULL, PAGE, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	unsigned char *r = map("PROT_READ over it", NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (r != MAP_FAILED) {
		probe("its byte 0", r);
		poke("a store", r, 1);
		show("mprotect PROT_WRITE", mprotect(r, PAGE, PROT_READ | PROT_WRITE));
		int w = open("/tmp/ro", O_WRONLY);
		show("pwrite 'Q' by another descriptor", pwrite(w, "Q", 1, 0));
		close(w);
		probe("the read-only mapping sees it", r);
		munmap(r, PAGE);
	}
	map("private writable over it still", NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
	    0);
	close(fd);
	map_bad_files("/tmp/ro", MAP_SHARED);
	unlink("/tmp/ro");
	printf("mmapshared: done\n");
	return 0;
}
