/* File permissions and ownership, run as root and then as an ordinary
 * user: root makes files, directories, a sticky and a set-group-ID
 * directory with various modes in /tmp/perms (DIR/perms with an argument
 * DIR: an ext2 disk's gives the same output), then the program takes a
 * user's ids (and a supplementary group) and checks what each call gives:
 * open for reading, writing and O_TRUNC, execve (execute without read,
 * root's need of an x bit), search permission on the directories of a
 * path, creating and removing entries (write on the directory, the
 * sticky bit), rename of a directory to a new parent, chmod, chown,
 * utimensat, access with the real ids, truncate, mknod, and who owns
 * what a user makes (its ids; the directory's group under set-group-ID).
 * Prints what each call returned and the owner and mode that follow: the
 * same on Linux. */
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

#define U 1000   /* the user */
#define G 1000   /* its group */
#define S 2000   /* its supplementary group */
#define O 1001   /* another user */

static const char *base;   /* every path is relative to it */

static void owner_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		printf("lstat %s: %s\n", path, strerror(errno));
	else
		printf("%s: uid %u gid %u mode %o\n", path, (unsigned)st.st_uid,
		       (unsigned)st.st_gid, (unsigned)st.st_mode);
}

/* root's file at path with mode, owner and group, holding "data" */
static void make(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "data", 4) != 4 || fchown(fd, uid, gid) < 0 ||
	    fchmod(fd, mode) < 0) {
		printf("make %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

static void mkd(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdir(path, 0700) < 0 || chown(path, uid, gid) < 0 || chmod(path, mode) < 0) {
		printf("mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* A copy of a program at path with mode (exec needs no read bit). */
static void copy_prog(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0700);
	char buf[4096];
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (in < 0 || out < 0 || fchmod(out, mode) < 0) {
		printf("copy %s: %s\n", to, strerror(errno));
		exit(1);
	}
	close(in);
	close(out);
}

/* execve in a child: its error, or how it ended */
static void try_exec(const char *path)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)path, NULL }, *envp[] = { NULL };
		execve(path, argv, envp);
		int e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(2);
		_exit(127);
	}
	close(p[1]);
	int e = 0, st;
	ssize_t got = read(p[0], &e, sizeof(e));
	close(p[0]);
	waitpid(pid, &st, 0);
	if (got == sizeof(e))
		printf("execve %s = -1 %s\n", path, strerror(e));
	else
		status(path, st);
}

static void try_open(const char *path, int flags)
{
	int fd = open(path, flags, 0644);
	printf("open %s %s%s%s = %s\n", path,
	       (flags & O_ACCMODE) == O_RDONLY ? "r" : (flags & O_ACCMODE) == O_WRONLY ? "w" : "rw",
	       flags & O_TRUNC ? "+trunc" : "", flags & O_CREAT ? "+creat" : "",
	       fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void setup(void)
{
	umask(022);
	mkd("perms", 0777, 0, 0);
	make("perms/r600", 0600, 0, 0);
	make("perms/r644", 0644, 0, 0);
	make("perms/r666", 0666, 0, 0);
	make("perms/g640", 0640, 0, S);
	make("perms/u066", 0066, U, 0);
	make("perms/suid", 04755, 0, 0);
	copy_prog("/tests/hello", "perms/hello700", 0700);
	copy_prog("/tests/hello", "perms/hello711", 0711);
	copy_prog("/tests/hello", "perms/hello644", 0644);
	mkd("perms/d700", 0700, 0, 0);
	make("perms/d700/f", 0644, 0, 0);
	mkd("perms/d711", 0711, 0, 0);
	make("perms/d711/f", 0644, 0, 0);
	mkd("perms/d755", 0755, 0, 0);
	make("perms/d755/f", 0666, 0, 0);
	mkd("perms/d755/sub", 0777, 0, 0);
	mkd("perms/sticky", 01777, 0, 0);
	make("perms/sticky/rootf", 0666, 0, 0);
	make("perms/sticky/otherf", 0666, O, O);
	mkd("perms/sgid", 02777, 0, S);
	mkd("perms/rootdir", 0755, 0, 0);
	/* links in a sticky world-writable directory: followed only by their
	 * owner or when the directory's owner owns them (Debian's
	 * fs.protected_symlinks), root included */
	if (symlink("../r644", "perms/sticky/olink") < 0 ||
	    lchown("perms/sticky/olink", O, O) < 0 ||
	    symlink("../r644", "perms/sticky/ulink") < 0 ||
	    lchown("perms/sticky/ulink", U, G) < 0 ||
	    symlink("../r644", "perms/sticky/rlink") < 0)
		printf("symlinks: %s\n", strerror(errno));
	owner_of("perms/suid");
	T(chown("perms/suid", U, -1));   /* root's chown clears set-user-ID too */
	owner_of("perms/suid");
}

/* root: read and write anything, search any directory, execute only
 * what has an x bit */
static void as_root(void)
{
	try_open("perms/u066", O_RDWR);
	try_open("perms/d700/f", O_RDONLY);
	T(access("perms/u066", R_OK | W_OK));
	T(access("perms/hello644", X_OK));
	T(access("perms/d700", X_OK));
	try_exec("perms/hello644");
	try_exec("perms/hello700");
	try_open("perms/sticky/olink", O_RDONLY);
	try_open("perms/sticky/rlink", O_RDONLY);
	/* effective uid U, real 0: open checks U, access the real root */
	T(setresuid(-1, U, 0));
	try_open("perms/r600", O_RDONLY);
	T(access("perms/r600", R_OK));
	T(faccessat(AT_FDCWD, "perms/r600", R_OK, AT_EACCESS));
	T(setresuid(-1, 0, -1));
}

static void opens(void)
{
	try_open("perms/r600", O_RDONLY);
	try_open("perms/r644", O_RDONLY);
	try_open("perms/r644", O_WRONLY);
	try_open("perms/r644", O_RDONLY | O_TRUNC);
	try_open("perms/r644", O_WRONLY | O_CREAT);
	try_open("perms/r666", O_RDWR);
	try_open("perms/g640", O_RDONLY);   /* its supplementary group */
	try_open("perms/g640", O_WRONLY);
	try_open("perms/u066", O_RDONLY);   /* the owner's bits, though others may */
	try_open("perms/d700/f", O_RDONLY); /* no search on d700 */
	try_open("perms/d711/f", O_RDONLY); /* search without read */
	try_open("perms/d711", O_RDONLY | O_DIRECTORY);
	try_open("perms/d755/new", O_WRONLY | O_CREAT);
	try_open("perms/d755/f", O_WRONLY | O_CREAT | O_EXCL);
	int fd = open("perms/r644", O_RDONLY | O_NOATIME);
	printf("open O_NOATIME of another's file = %s\n", fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
	struct stat st;
	T(stat("perms/d700/f", &st));
	T(stat("perms/d711/f", &st));
	T(chdir("perms/d700"));
	T(chdir("perms/d711"));
	T(chdir(base));
	try_exec("perms/hello700");
	try_exec("perms/hello711");
	try_exec("perms/d700/f");
	try_exec("perms/d711");
	T(access("perms/r600", R_OK));
	T(access("perms/r644", R_OK));
	T(access("perms/r644", W_OK));
	T(access("perms/hello711", X_OK));
	T(access("perms/hello711", R_OK));
	T(access("perms/d700/f", F_OK));
	T(truncate("perms/r644", 0));
	T(truncate("perms/r666", 1));
}

static void entries(void)
{
	T(unlink("perms/d755/f"));
	T(unlink("perms/d755/none"));
	T(mkdir("perms/d755/dir", 0755));
	T(mkdir("perms/d755/sub", 0755));   /* it exists: EEXIST first */
	T(rmdir("perms/d755/sub"));
	T(rename("perms/d755/f", "perms/f"));
	T(rename("perms/r666", "perms/d755/r666"));
	T(symlink("/x", "perms/d755/link"));
	T(link("perms/r644", "perms/d755/hard"));
	/* hard links to another's file: only a plain one it may read and
	 * write (Debian's fs.protected_hardlinks) */
	T(link("perms/r644", "perms/hard1"));
	T(link("perms/r666", "perms/hard2"));
	T(link("perms/u066", "perms/hard3"));   /* its own */
	try_open("perms/sticky/olink", O_RDONLY);
	try_open("perms/sticky/ulink", O_RDONLY);
	try_open("perms/sticky/rlink", O_RDONLY);
	/* the sticky directory: only one's own entries go */
	T(unlink("perms/sticky/rootf"));
	T(rename("perms/sticky/otherf", "perms/sticky/x"));
	int fd = open("perms/sticky/mine", O_CREAT | O_WRONLY, 0666);
	T(fd >= 0);
	close(fd);
	T(rename("perms/sticky/mine", "perms/sticky/rootf"));   /* over root's */
	T(rename("perms/sticky/mine", "perms/sticky/mine2"));
	T(unlink("perms/sticky/mine2"));
	/* write and search on perms suffice to remove root's empty directory */
	T(rmdir("perms/rootdir"));
	/* a directory moving to another parent must be writable (its "..") */
	T(mkdir("perms/ud", 0755));
	T(mkdir("perms/ud2", 0755));
	T(chmod("perms/ud", 0555));
	T(rename("perms/ud", "perms/ud2/ud"));
	T(rename("perms/ud", "perms/ud3"));   /* same parent: allowed */
	T(mknod("perms/null", S_IFCHR | 0666, makedev(1, 3)));
	T(mkfifo("perms/fifo", 0666));
}

static void created(void)
{
	int fd = open("perms/mine", O_CREAT | O_WRONLY, 0666);
	T(fd >= 0);
	close(fd);
	owner_of("perms/mine");
	owner_of("perms/ud2");
	T(symlink("mine", "perms/mylink"));
	owner_of("perms/mylink");
	owner_of("perms/fifo");
	fd = open("perms/sgid/f", O_CREAT | O_WRONLY, 02775);
	T(fd >= 0);
	close(fd);
	owner_of("perms/sgid/f");
	T(mkdir("perms/sgid/d", 0755));
	owner_of("perms/sgid/d");
}

static void attrs(void)
{
	T(chmod("perms/r644", 0666));
	T(chmod("perms/mine", 0600));
	owner_of("perms/mine");
	T(chown("perms/mine", O, -1));
	T(chown("perms/mine", U, -1));
	T(chown("perms/mine", -1, S));
	owner_of("perms/mine");
	T(chown("perms/mine", -1, 3000));
	T(chown("perms/r644", -1, -1));
	T(chown("perms/r644", -1, 0));
	/* set-group-ID kept only for a group of one's own */
	T(chmod("perms/mine", 02755));
	owner_of("perms/mine");
	T(chown("perms/mine", -1, G));
	T(chmod("perms/mine", 06755));
	owner_of("perms/mine");
	/* a write by other than root drops the set-id bits */
	int fd = open("perms/mine", O_WRONLY);
	T(write(fd, "x", 1));
	close(fd);
	owner_of("perms/mine");
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	T(utimensat(AT_FDCWD, "perms/d755/r666", NULL, 0));   /* not moved there */
	T(utimensat(AT_FDCWD, "perms/r666", NULL, 0));        /* writable: now is fine */
	T(utimensat(AT_FDCWD, "perms/r666", ts, 0));          /* times: the owner's */
	T(utimensat(AT_FDCWD, "perms/r600", NULL, 0));
	T(utimensat(AT_FDCWD, "perms/mine", ts, 0));
}

int main(int argc, char **argv)
{
	/* where: /tmp, or another directory (a disk's: the same output) */
	base = argc > 1 ? argv[1] : "/tmp";
	if (chdir(base) < 0) {
		printf("chdir %s: %s\n", base, strerror(errno));
		return 1;
	}
	setup();
	as_root();
	gid_t groups[] = { S };
	T(setgroups(1, groups));
	T(setgid(G));
	T(setuid(U));
	printf("uid %u euid %u gid %u\n", (unsigned)getuid(), (unsigned)geteuid(), (unsigned)getgid());
	opens();
	entries();
	created();
	attrs();
	T(setuid(0));
	return 0;
}
