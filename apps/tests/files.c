/* Descriptors and the file system: open/openat flags, read/write and
 * their positional and vector forms, lseek, stat, getdents64, mkdir,
 * unlink, rmdir, rename, dup/dup2/dup3, fcntl, getcwd/chdir, truncate,
 * RLIMIT_NOFILE (the first process's 1024/4096, raised, lowered),
 * the /dev nodes; bad arguments of each. Prints what every call returned;
 * the output is the same on Linux (tests/run.py compares them). Directory
 * listings are printed sorted (file systems order entries differently),
 * inode numbers and times not at all. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "show.h"

static char buf[8192];

static void show_stat(const char *what, int r, const struct stat *st)
{
	if (r < 0) {
		printf("%s = -1 %s\n", what, strerror(errno));
		return;
	}
	const char *type = S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "dir" :
			   S_ISCHR(st->st_mode) ? "chr" : S_ISFIFO(st->st_mode) ? "fifo" : "?";
	printf("%s: %s mode %o", what, type, (unsigned)(st->st_mode & 07777));
	if (S_ISREG(st->st_mode))
		printf(" size %lld nlink %lu", (long long)st->st_size, (unsigned long)st->st_nlink);
	if (S_ISCHR(st->st_mode))
		printf(" rdev %u:%u", major(st->st_rdev), minor(st->st_rdev));
	printf("\n");
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* getdents64 through a small buffer (several calls), names sorted */
static void list(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		printf("list %s: %s\n", dir, strerror(errno));
		return;
	}
	char *names[64];
	int n = 0, calls = 0;
	for (;;) {
		char d[128];
		long k = syscall(SYS_getdents64, fd, d, sizeof(d));
		if (k <= 0)
			break;
		calls++;
		for (long off = 0; off < k;) {
			/* struct linux_dirent64: ino, off, reclen (16), type (18), name (19) */
			unsigned short reclen;
			memcpy(&reclen, d + off + 16, sizeof(reclen));
			unsigned char type = (unsigned char)d[off + 18];
			const char *t = type == DT_DIR ? "/" : type == DT_CHR ? "%" : "";
			if (n < 64 && asprintf(&names[n], "%s%s", d + off + 19, t) > 0)
				n++;
			off += reclen;
		}
	}
	qsort(names, n, sizeof(names[0]), cmp);
	printf("list %s:", dir);
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf(" (%s)\n", calls > 1 ? "several calls" : "one call");
	close(fd);
}

static void basics(void)
{
	struct stat st;
	T(mkdir("/t", 0755));
	T(mkdir("/t", 0755));
	T(mkdir("/t/", 0755));
	T(chdir("/t"));
	printf("getcwd = %s\n", getcwd(buf, sizeof(buf)));
	int fd = open("a", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	printf("open(a, O_CREAT) = %d\n", fd);
	T(write(fd, "hello world\n", 12));
	T(read(fd, buf, 1));
	T(close(fd));
	T(close(fd));
	fd = open("a", O_RDONLY);
	printf("open(a, O_RDONLY) = %d\n", fd);
	T(read(fd, buf, 5));
	printf("read: %.5s\n", buf);
	T(lseek(fd, 0, SEEK_CUR));
	T(lseek(fd, 0, SEEK_END));
	T(lseek(fd, -1, SEEK_SET));
	T(lseek(fd, 0, 7));
	T(read(fd, buf, 10));
	T(pread(fd, buf, 5, 6));
	printf("pread: %.5s\n", buf);
	T(pread(fd, buf, 5, -1));
	T(lseek(fd, 0, SEEK_CUR));
	T(write(fd, "x", 1));
	T(lseek(fd, 100, SEEK_SET));
	T(read(fd, buf, 10));
	T(read(fd, (void *)8, 10));
	T(lseek(fd, 0, SEEK_SET));
	T(read(fd, (void *)8, 10));
	T(read(fd, NULL, 0));
	show_stat("fstat(a)", fstat(fd, &st), &st);
	close(fd);

	fd = open("a", O_WRONLY | O_APPEND);
	T(write(fd, "more\n", 5));
	T(pwrite(fd, "P", 1, 0));   /* Linux appends even so */
	T(lseek(fd, 0, SEEK_CUR));
	close(fd);
	show_stat("stat(a)", stat("a", &st), &st);
	fd = open("a", O_RDONLY);
	T(read(fd, buf, sizeof(buf)));
	printf("contents: %.18s|\n", buf);
	close(fd);

	fd = open("a", O_RDWR | O_TRUNC);
	show_stat("after O_TRUNC", fstat(fd, &st), &st);
	struct iovec iov[3] = { { "one ", 4 }, { "", 0 }, { "two\n", 4 } };
	T(writev(fd, iov, 3));
	T(lseek(fd, 0, SEEK_SET));
	char x[3], y[10];
	struct iovec rv[2] = { { x, 3 }, { y, 10 } };
	T(readv(fd, rv, 2));
	printf("readv: %.3s|%.5s|\n", x, y);
	T(writev(fd, iov, -1));
	T(writev(fd, (void *)8, 1));
	T(ftruncate(fd, 10000));
	show_stat("after ftruncate", fstat(fd, &st), &st);
	T(pread(fd, buf, 4, 9000));
	printf("hole reads zeros: %d\n", !buf[0] && !buf[1] && !buf[2] && !buf[3]);
	T(ftruncate(fd, 3));
	T(ftruncate(fd, -1));
	T(truncate("a", 5));
	show_stat("after truncate", fstat(fd, &st), &st);
	T(pread(fd, buf, 10, 0));
	printf("after shrink and grow: %.3s %d %d\n", buf, buf[3], buf[4]);
	close(fd);
}

static void errors(void)
{
	char longname[300];
	memset(longname, 'n', sizeof(longname));
	longname[sizeof(longname) - 1] = '\0';
	T(open("a", O_CREAT | O_EXCL | O_WRONLY, 0644));
	T(open("a", O_RDONLY | O_DIRECTORY));
	T(open("/t", O_WRONLY));
	T(open("/t", O_RDWR));
	T(open("/t", O_CREAT | O_RDONLY, 0644));
	T(open("nope", O_RDONLY));
	T(open("a/b", O_RDONLY));
	T(open("a/", O_RDONLY));
	T(open("new/", O_CREAT | O_WRONLY, 0644));
	T(open("nodir/new", O_CREAT | O_WRONLY, 0644));
	T(open(longname, O_RDONLY));
	T(open(NULL, O_RDONLY));
	T(open((char *)0xffff800000000000UL, O_RDONLY));
	T(open("", O_RDONLY));
	T(read(-1, buf, 1));
	T(read(1024, buf, 1));
	T(write(99999, buf, 1));
	T(close(-1));
	T(fstat(77, (struct stat *)buf));
	/* musl's stat wrappers copy through a struct of their own: bad
	 * pointers go to the kernel only through syscall() */
	T(syscall(SYS_fstat, 0, 8));
	T(syscall(SYS_stat, "a", 8));
	T(syscall(SYS_newfstatat, AT_FDCWD, "a", 8, 0));
	T(stat("nope", (struct stat *)buf));
	T(lseek(55, 0, SEEK_SET));
	T(syscall(SYS_getdents64, 0, buf, sizeof(buf)));
	int fd = open("a", O_RDONLY);
	T(syscall(SYS_getdents64, fd, buf, sizeof(buf)));
	close(fd);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	T(syscall(SYS_getdents64, fd, buf, 10));
	T(syscall(SYS_getdents64, fd, (void *)8, 4096));
	T(read(fd, buf, 1));
	T(lseek(fd, 0, SEEK_END));
	close(fd);
}

static void names(void)
{
	struct stat st;
	int fd;
	T(mkdir("d", 0700));
	fd = open("d/inner", O_CREAT | O_WRONLY, 0600);
	close(fd);
	fd = open("b", O_CREAT | O_WRONLY, 0600);
	close(fd);
	T(mkdir("e", 0755));
	list("/t");
	list("/t/d");
	show_stat("stat(d)", stat("d", &st), &st);
	show_stat("stat(d/inner)", stat("d/inner", &st), &st);
	show_stat("lstat(b)", lstat("b", &st), &st);
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	show_stat("fstatat(d, inner)", fstatat(dfd, "inner", &st, 0), &st);
	show_stat("fstatat(d, \"\", AT_EMPTY_PATH)", fstatat(dfd, "", &st, AT_EMPTY_PATH), &st);
	T(fstatat(dfd, "inner", &st, 0x4000));
	T(fstatat(dfd, "inner", &st, 0x10000));
	T(openat(dfd, "made", O_CREAT | O_WRONLY, 0644) >= 0);
	T(mkdirat(dfd, "sub", 0755));
	T(unlinkat(dfd, "sub", AT_REMOVEDIR));
	T(unlinkat(dfd, "made", 0));
	T(unlinkat(dfd, "made", 0x8));
	fd = open("a", O_RDONLY);
	T(openat(fd, "x", O_RDONLY));
	T(openat(12345, "x", O_RDONLY));
	T(openat(12345, "/t/a", O_RDONLY) >= 0);
	close(fd);

	T(unlink("d"));
	T(rmdir("d"));
	T(rmdir("b"));
	T(rmdir("."));
	T(rmdir("/t/.."));
	T(unlink("nope"));
	T(unlink("b/"));
	T(rename("b", "c"));
	T(rename("b", "c"));
	T(rename("c", "a"));
	show_stat("stat(a) after rename over", stat("a", &st), &st);
	T(rename("a", "d"));
	T(rename("d", "a"));
	T(rename("e", "d/e2"));
	T(rename("d", "d/e2/deeper"));
	T(rename("d/e2", "d"));
	T(mkdir("g", 0755));
	close(open("g/x", O_CREAT | O_WRONLY, 0644));
	T(rename("d", "g"));
	T(mkdir("h", 0755));
	T(rename("h", "d/e2"));
	T(rename("d", "."));
	T(rename("a", "a"));
	T(rename("nope", "a"));
	T(rename("a", "nodir/a"));
	list("/t");
	list("/t/d");
	list("/t/g");
	T(unlink("d/inner"));
	T(rmdir("d/e2"));
	T(rmdir("d"));
	T(unlink("g/x"));
	T(rmdir("g"));
	T(mkdir("d", 0755));
	T(mkdir("nodir/d", 0755));
	T(mkdir("a/d", 0755));
}

static void descriptors(void)
{
	int fd = open("dups", O_CREAT | O_RDWR | O_TRUNC, 0644);
	printf("open(dups) = %d\n", fd);
	int d = dup(fd);
	printf("dup = %d\n", d);
	T(write(fd, "12345", 5));
	T(lseek(d, 0, SEEK_CUR));
	T(dup2(fd, 10));
	T(dup2(fd, fd));
	T(dup2(99, 5));
	T(dup2(fd, 5000));
	T(dup3(fd, fd, 0));
	T(dup3(fd, 11, O_CLOEXEC));
	T(dup3(fd, 12, 0x4));
	T(fcntl(11, F_GETFD));
	T(fcntl(10, F_GETFD));
	T(fcntl(10, F_SETFD, FD_CLOEXEC));
	T(fcntl(10, F_GETFD));
	T(fcntl(fd, F_DUPFD, 20));
	T(fcntl(fd, F_DUPFD_CLOEXEC, 20));
	T(fcntl(21, F_GETFD));
	T(fcntl(fd, F_DUPFD, 5000));
	T(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	T(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY));
	T(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	T(fcntl(d, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	T(fcntl(fd, 9999));
	T(fcntl(555, F_GETFD));
	T(write(10, "67", 2));
	T(lseek(fd, 0, SEEK_CUR));
	T(close(10));
	T(close(11));
	T(close(20));
	T(close(21));
	T(close(d));
	T(dup(fd));
	close(d);
	/* an unlinked file lives while it is open */
	T(unlink("dups"));
	struct stat st;
	show_stat("fstat(unlinked)", fstat(fd, &st), &st);
	T(pread(fd, buf, 7, 0));
	printf("unlinked reads: %.7s\n", buf);
	T(access("dups", F_OK));
	close(fd);
	/* sendfile from a file into a pipe and another file */
	int sf = open("sf", O_CREAT | O_RDWR | O_TRUNC, 0644);
	T(write(sf, "sendfile data", 13));
	int pp[2];
	pipe(pp);
	off_t off = 4;
	T(sendfile(pp[1], sf, &off, 100));
	printf("offset now %ld\n", (long)off);
	T(read(pp[0], buf, 100));
	printf("through the pipe: %.9s\n", buf);
	T(lseek(sf, 0, SEEK_SET));
	int sf2 = open("sf2", O_CREAT | O_RDWR | O_TRUNC, 0644);
	T(sendfile(sf2, sf, NULL, 8));
	T(lseek(sf, 0, SEEK_CUR));
	T(pread(sf2, buf, 20, 0));
	printf("copied: %.8s\n", buf);
	T(sendfile(sf2, pp[0], NULL, 8));
	T(sendfile(sf2, 99, NULL, 8));
	T(sendfile(sf2, sf, (off_t *)8, 8));
	close(pp[0]);
	close(pp[1]);
	close(sf);
	close(sf2);
	unlink("sf");
	unlink("sf2");
	/* the lowest free number */
	int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
	close(a);
	printf("lowest free: %d\n", open("/dev/null", O_RDONLY) == a);
	close(a);
	close(b);
}

static void devices_and_dirs(void)
{
	struct stat st;
	show_stat("stat(/dev/null)", stat("/dev/null", &st), &st);
	show_stat("stat(/dev/zero)", stat("/dev/zero", &st), &st);
	show_stat("stat(/dev/urandom)", stat("/dev/urandom", &st), &st);
	show_stat("stat(/dev/console)", stat("/dev/console", &st), &st);
	int fd = open("/dev/null", O_RDWR);
	T(read(fd, buf, 10));
	T(write(fd, buf, 10));
	T(lseek(fd, 5, SEEK_SET));
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	memset(buf, 1, 8);
	T(read(fd, buf, 8));
	printf("zeros: %d\n", !buf[0] && !buf[7]);
	T(read(fd, (void *)8, 8));
	close(fd);
	fd = open("/dev/urandom", O_RDONLY);
	T(read(fd, buf, 16));
	close(fd);
	T(open("/dev/nope", O_RDONLY));

	T(chdir(".."));
	printf("getcwd = %s\n", getcwd(buf, sizeof(buf)));
	T(chdir("/t/d"));
	printf("getcwd = %s\n", getcwd(buf, sizeof(buf)));
	T(syscall(SYS_getcwd, buf, 3));
	T(syscall(SYS_getcwd, (void *)8, 100));
	T(syscall(SYS_getcwd, buf, 100));
	T(chdir("/t/a"));
	T(chdir("/nope"));
	T(chdir(NULL));
	fd = open("/", O_RDONLY | O_DIRECTORY);
	T(fchdir(fd));
	printf("getcwd = %s\n", getcwd(buf, sizeof(buf)));
	close(fd);
	fd = open("/t/a", O_RDONLY);
	T(fchdir(fd));
	close(fd);
	T(fchdir(77));
	T(access("/t/a", R_OK | W_OK));
	T(access("/t/a", X_OK));
	T(access("/tests/files", X_OK));
	T(access("/t/nope", F_OK));
	T(access("/t/a", 0x10));
	T(umask(077));
	fd = open("/t/masked", O_CREAT | O_WRONLY, 0666);
	show_stat("stat(masked)", fstat(fd, &st), &st);
	close(fd);
	T(umask(022));
	char lb[16];
	T(readlink("/t/a", lb, sizeof(lb)));
	T(readlink("/t/nope", lb, sizeof(lb)));
	list("/t");
}

/* a bigger file: 200 KiB written in odd pieces, read back */
static void big(void)
{
	int fd = open("/t/big", O_CREAT | O_RDWR | O_TRUNC, 0644);
	unsigned sum = 0, n = 0;
	for (int i = 0; i < 200 * 1024; i += 777) {
		int k = 777 < 200 * 1024 - i ? 777 : 200 * 1024 - i;
		for (int j = 0; j < k; j++)
			buf[j] = (char)((i + j) * 7);
		n += write(fd, buf, k);
	}
	printf("big: wrote %u\n", n);
	lseek(fd, 0, SEEK_SET);
	long r;
	unsigned total = 0;
	int bad = 0;
	while ((r = read(fd, buf, 5000)) > 0) {
		for (long j = 0; j < r; j++)
			if (buf[j] != (char)((total + j) * 7))
				bad++;
		total += r;
		sum += r;
	}
	printf("big: read %u, %d bad bytes\n", total, bad);
	close(fd);
	T(unlink("/t/big"));
}

/* the descriptor limit: a first process has 1024 of a hard 4096; the
 * soft one can go up to the hard one and down below open descriptors */
static void limits(void)
{
	struct rlimit rl;
	T(getrlimit(RLIMIT_NOFILE, &rl));
	printf("nofile %llu of %llu\n", (unsigned long long)rl.rlim_cur,
	       (unsigned long long)rl.rlim_max);
	T(dup2(0, 1023));
	T(close(1023));
	T(dup2(0, 1024));
	T(poll(NULL, 2000, 0));
	rl.rlim_cur = rl.rlim_max;
	T(setrlimit(RLIMIT_NOFILE, &rl));
	T(dup2(0, 4000));
	T(fcntl(0, F_DUPFD, 3000));
	T(dup2(0, 4096));
	rl.rlim_cur = 8;
	T(setrlimit(RLIMIT_NOFILE, &rl));
	T(fcntl(4000, F_GETFD));
	T(close(4000));
	T(close(3000));
	T(fcntl(0, F_DUPFD, 8));
	T(dup2(0, 8));
	int fds[16], n = 0;
	while (n < 16 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	printf("opened %d under the limit of 8, then: %s\n", n, n < 16 ? strerror(errno) : "-");
	while (n > 0)
		close(fds[--n]);
	rl.rlim_cur = 9;
	rl.rlim_max = 8;
	T(setrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = 1024;
	rl.rlim_max = 4096;
	T(setrlimit(RLIMIT_NOFILE, &rl));
	T(getrlimit(RLIMIT_NOFILE, &rl));
	printf("nofile %llu of %llu\n", (unsigned long long)rl.rlim_cur,
	       (unsigned long long)rl.rlim_max);
}

int main(void)
{
	basics();
	errors();
	names();
	descriptors();
	limits();
	devices_and_dirs();
	big();
	printf("files: done\n");
	return 0;
}
