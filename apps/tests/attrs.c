/* chmod, fchmod, fchmodat, utimensat (times, UTIME_NOW, UTIME_OMIT, a
 * descriptor, bad arguments), utimes, link and linkat (a second name of
 * one inode, what survives an unlink, and the errors: a directory, an
 * existing name, bad flags), in /tmp (-EXDEV across file systems is not
 * here: the Linux guest runs this program with nothing mounted). Prints what
 * each call returned and the stat fields that must follow (times as
 * given, or "recent" for now): the same on Linux. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

static void mode_of(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		printf("stat %s: %s\n", path, strerror(errno));
	else
		printf("%s: mode %o nlink %lu\n", path, (unsigned)st.st_mode, (unsigned long)st.st_nlink);
}

static void times_of(const char *path, time_t before)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		printf("stat %s: %s\n", path, strerror(errno));
		return;
	}
	printf("%s: atime %s mtime %s\n", path,
	       st.st_atime >= before ? "recent" : st.st_atime == 1000000000 ? "1000000000" : "other",
	       st.st_mtime >= before ? "recent" : st.st_mtime == 1234567890 ? "1234567890" : "other");
}

int main(void)
{
	const char *f = "/tmp/attrs-file", *g = "/tmp/attrs-link";
	unlink(f);
	unlink(g);
	int fd = open(f, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	T(fd >= 0);
	T(write(fd, "data", 4));
	mode_of(f);
	T(chmod(f, 0600));
	mode_of(f);
	T(fchmod(fd, 04751));
	mode_of(f);
	T(fchmodat(AT_FDCWD, f, 0640, 0));
	mode_of(f);
	T(chmod("/tmp/attrs-none", 0600));
	T(fchmod(-1, 0600));

	time_t before = time(NULL) - 2;
	struct timespec ts[2] = { { 1000000000, 0 }, { 1234567890, 500000000 } };
	T(utimensat(AT_FDCWD, f, ts, 0));
	times_of(f, before + 1000000000);   /* nothing counts as recent here */
	struct timespec omit_now[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	T(utimensat(AT_FDCWD, f, omit_now, 0));
	times_of(f, before);
	T(utimensat(AT_FDCWD, f, ts, 0));
	T(utimensat(AT_FDCWD, f, NULL, 0));
	times_of(f, before);
	T(utimensat(fd, NULL, ts, 0));   /* futimens */
	times_of(f, before + 1000000000);
	struct timespec bad[2] = { { 0, 1000000000 }, { 0, 0 } };
	T(utimensat(AT_FDCWD, f, bad, 0));
	T(utimensat(AT_FDCWD, f, ts, 0x4000));
	T(utimensat(AT_FDCWD, "/tmp/attrs-none", NULL, 0));
	struct timeval tv[2] = { { 1000000000, 0 }, { 1234567890, 0 } };
	T(utimes(f, tv));
	times_of(f, before + 1000000000);
	T(utimes(f, NULL));
	times_of(f, before);

	T(link(f, g));
	mode_of(f);
	mode_of(g);
	struct stat a, b;
	stat(f, &a);
	stat(g, &b);
	printf("same inode: %s\n", a.st_ino == b.st_ino ? "yes" : "no");
	T(unlink(f));
	mode_of(g);
	char buf[8] = { 0 };
	int rfd = open(g, O_RDONLY);
	T(read(rfd, buf, sizeof(buf) - 1));
	printf("read back: %s\n", buf);
	close(rfd);
	T(link(g, g));
	T(link("/tmp", "/tmp/attrs-dir"));
	T(link("/tmp/attrs-none", "/tmp/attrs-x"));
	T(linkat(AT_FDCWD, g, AT_FDCWD, f, 0x1));
	T(linkat(AT_FDCWD, g, AT_FDCWD, f, 0));
	mode_of(g);
	T(unlink(f));
	T(unlink(g));
	close(fd);
	printf("attrs: done\n");
	return 0;
}
