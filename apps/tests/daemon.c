/* What a forking server like nginx asks of the kernel besides sockets:
 * credentials (get/set of the ids and groups, each rule's EPERM once not
 * root), chown and the set-id bits it clears, prctl (dumpable, the
 * capability bounding set, the name), shared anonymous memory across
 * fork, eventfd (counter and semaphore modes, its errors, poll), files
 * passed over a socketpair (SCM_RIGHTS: installed by recvmsg, closed by
 * a plain read, MSG_CTRUNC), and F_SETOWN/F_GETOWN with FIOASYNC. Prints
 * what every call returned (pids normalised); the output is the same on
 * Linux (tests/run.py compares them). The child's part is printed by the
 * child before the parent goes on, so the order is fixed. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

static void ids(const char *when)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	gid_t g[8];
	int n = getgroups(8, g);
	printf("%s: uid %u %u %u gid %u %u %u groups", when, r, e, s, gr, ge, gs);
	for (int i = 0; i < n; i++)
		printf(" %u", g[i]);
	printf(" (getuid %u geteuid %u getgid %u getegid %u)\n", getuid(), geteuid(), getgid(),
	       getegid());
}

static void show_owner(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		printf("stat %s: %s\n", path, strerror(errno));
		return;
	}
	printf("%s: uid %u gid %u mode %04o\n", path, st.st_uid, st.st_gid, st.st_mode & 07777);
}

static void creds(void)
{
	ids("start");
	T(getgroups(0, NULL));
	gid_t g[3] = { 33, 4, 20 };
	T(setgroups(3, g));
	T(getgroups(0, NULL));
	T(getgroups(1, g));
	ids("after setgroups");
	T(prctl(PR_GET_DUMPABLE));
	T(prctl(PR_CAPBSET_READ, 0));
	T(prctl(PR_CAPBSET_READ, 40));
	T(prctl(PR_CAPBSET_READ, 41));
	T(prctl(PR_SET_DUMPABLE, 2));
	char name[16] = "";
	T(prctl(PR_SET_NAME, "daemon-test-long-name"));
	T(prctl(PR_GET_NAME, name));
	printf("name %s\n", name);

	int fd = open("/tmp/owned", O_CREAT | O_WRONLY, 0644);
	close(fd);
	T(chown("/tmp/owned", 33, 33));
	show_owner("/tmp/owned");
	T(chmod("/tmp/owned", 06755));
	T(chown("/tmp/owned", -1, -1));
	show_owner("/tmp/owned");
	T(chmod("/tmp/owned", 06745));
	T(chown("/tmp/owned", 33, -1));
	show_owner("/tmp/owned");
	T(mkdir("/tmp/dir", 0700));
	T(chmod("/tmp/dir", 02755));
	T(chown("/tmp/dir", 33, 33));
	show_owner("/tmp/dir");
	T(lchown("/tmp/dir", 0, -1));
	show_owner("/tmp/dir");
	T(chown("/tmp/no-such-file", 1, 1));
	T(fchownat(AT_FDCWD, "/tmp/dir", 1, 1, 0x1));   /* a flag Linux refuses */

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* as nginx's worker: groups, then the group, then the user */
		T(setgid(33));
		T(setgroups(1, g));
		T(setuid(33));
		ids("as www-data");
		T(prctl(PR_GET_DUMPABLE));
		T(prctl(PR_SET_DUMPABLE, 1));
		T(prctl(PR_GET_DUMPABLE));
		T(setuid(0));
		T(seteuid(0));
		T(setgid(0));
		T(setgroups(1, g));
		T(setresuid(-1, 33, -1));
		T(setreuid(-1, -1));
		T(setresgid(33, 33, 33));
		T(chown("/tmp/owned", 33, 33));   /* its own file, its own group */
		T(chown("/tmp/owned", 33, 0));    /* a group it is not in */
		T(chown("/tmp/owned", 0, -1));    /* give it away */
		T(chown("/", -1, 33));            /* not its file */
		T(setuid(-1));
		T(kill(getppid(), 0));   /* root's: not ours to signal */
		T(kill(getppid(), SIGUSR1));
		T(kill(getpid(), 0));
		ids("end");
		fflush(stdout);
		_exit(0);
	}
	int st;
	T(waitpid(pid, &st, 0) == pid);
	printf("child status %d\n", st);
	ids("parent after");
}

static void shared_memory(void)
{
	int *sh = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int *pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap shared %s, private %s\n", sh == MAP_FAILED ? strerror(errno) : "ok",
	       pr == MAP_FAILED ? strerror(errno) : "ok");
	if (sh == MAP_FAILED || pr == MAP_FAILED)
		return;
	sh[0] = 1;
	pr[0] = 1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		printf("child sees shared %d private %d\n", sh[0], pr[0]);
		sh[0] = 42;
		sh[1024] = 7;   /* the second page, never touched before the fork */
		pr[0] = 42;
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("parent sees shared %d %d private %d\n", sh[0], sh[1024], pr[0]);
	/* a page that neither touched before the fork is shared too */
	int *late = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		late[10] = 99;
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("untouched shared page after the child wrote: %d\n", late[10]);
	T(mprotect(sh, 8192, PROT_READ));
	T(mprotect(sh, 8192, PROT_READ | PROT_WRITE));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		sh[1] = 5;
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("after mprotect and fork: %d\n", sh[1]);
	T(munmap(sh, 8192));
	void *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x40000000, -1,
		       0);
	printf("MAP_SHARED_VALIDATE with an unknown flag: %s\n",
	       q == MAP_FAILED ? strerror(errno) : "mapped");
	q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
	printf("MAP_SHARED_VALIDATE: %s\n", q == MAP_FAILED ? strerror(errno) : "mapped");
}

static void eventfds(void)
{
	uint64_t v = 0;
	int e = eventfd(3, 0);
	T(e >= 0);
	T(read(e, &v, 8));
	printf("read %llu\n", (unsigned long long)v);
	T(fcntl(e, F_SETFL, O_NONBLOCK));
	T(read(e, &v, 8));
	T(read(e, &v, 4));
	v = 5;
	T(write(e, &v, 8));
	T(write(e, &v, 8));
	v = UINT64_MAX;
	T(write(e, &v, 8));
	v = UINT64_MAX - 1;
	T(write(e, &v, 8));   /* would pass the maximum: EAGAIN (non-blocking) */
	T(write(e, &v, 7));
	struct pollfd p = { e, POLLIN | POLLOUT, 0 };
	T(poll(&p, 1, 0));
	printf("revents %#x\n", p.revents);
	T(read(e, &v, 16));
	printf("read %llu\n", (unsigned long long)v);
	p.revents = 0;
	T(poll(&p, 1, 0));
	printf("revents %#x\n", p.revents);
	close(e);
	int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	T(fcntl(s, F_GETFD));
	T(fcntl(s, F_GETFL) & O_NONBLOCK);
	for (int i = 0; i < 3; i++) {
		v = 0;
		T(read(s, &v, 8));
		printf("semaphore read %llu\n", (unsigned long long)v);
	}
	close(s);
	T(eventfd(0, 0x10));   /* a flag eventfd2 does not know */
}

/* one fd of a pipe's write end across a socketpair */
static void pass_files(void)
{
	int sv[2], pp[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	T(pipe(pp));
	char data[4] = "ping";
	struct iovec iov = { data, 4 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} c;
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = c.buf;
	m.msg_controllen = CMSG_SPACE(2 * sizeof(int));
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int two[2] = { pp[1], pp[0] };
	memcpy(CMSG_DATA(h), two, sizeof(two));
	T(sendmsg(sv[0], &m, 0));

	char in[8];
	struct iovec riov = { in, sizeof(in) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} rc;
	struct msghdr r;
	memset(&r, 0, sizeof(r));
	r.msg_iov = &riov;
	r.msg_iovlen = 1;
	r.msg_control = rc.buf;
	r.msg_controllen = sizeof(rc.buf);
	T(recvmsg(sv[1], &r, 0));
	struct cmsghdr *rh = CMSG_FIRSTHDR(&r);
	printf("controllen %zu flags %#x", (size_t)r.msg_controllen, r.msg_flags);
	if (rh) {
		int got[2];
		memcpy(got, CMSG_DATA(rh), sizeof(got));
		printf(" level %d type %d len %zu fds differ %d\n", rh->cmsg_level, rh->cmsg_type,
		       (size_t)rh->cmsg_len, got[0] != pp[1] && got[1] != pp[0]);
		T(write(got[0], "pong", 4));
		char back[4];
		T(read(pp[0], back, 4));
		printf("through the passed end: %.4s\n", back);
		close(got[0]);
		close(got[1]);
	} else {
		printf(" no control message\n");
	}

	/* a control buffer with room for one descriptor of two */
	T(sendmsg(sv[0], &m, 0));
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} small;
	r.msg_control = small.buf;
	r.msg_controllen = CMSG_LEN(sizeof(int));   /* room for one */
	r.msg_flags = 0;
	T(recvmsg(sv[1], &r, 0));
	printf("small: controllen %zu ctrunc %d\n", (size_t)r.msg_controllen,
	       !!(r.msg_flags & MSG_CTRUNC));

	/* a plain read takes the bytes and closes the files */
	T(sendmsg(sv[0], &m, 0));
	T(read(sv[1], in, sizeof(in)));
	/* no control buffer at all */
	T(sendmsg(sv[0], &m, 0));
	r.msg_control = NULL;
	r.msg_controllen = 0;
	r.msg_flags = 0;
	T(recvmsg(sv[1], &r, 0));
	printf("none: ctrunc %d\n", !!(r.msg_flags & MSG_CTRUNC));
	/* bad control messages */
	h->cmsg_type = 99;
	T(sendmsg(sv[0], &m, 0));
	h->cmsg_type = SCM_RIGHTS;
	two[0] = 1000;
	memcpy(CMSG_DATA(h), two, sizeof(two));
	T(sendmsg(sv[0], &m, 0));

	/* owners and O_ASYNC, as nginx sets them on its channels */
	int on = 1;
	T(ioctl(sv[0], FIOASYNC, &on));
	T(!!(fcntl(sv[0], F_GETFL) & O_ASYNC));
	T(fcntl(sv[0], F_SETOWN, getpid()));
	T(fcntl(sv[0], F_GETOWN) == getpid());
	T(fcntl(sv[0], F_SETOWN, 99999));
	on = 0;
	T(ioctl(sv[0], FIOASYNC, &on));
	T(!!(fcntl(sv[0], F_GETFL) & O_ASYNC));
	close(sv[0]);
	close(sv[1]);
	close(pp[0]);
	close(pp[1]);
}

/* the Uid: and Gid: lines of /proc/self/status (real, effective, saved,
 * file system) */
static void status_ids(void)
{
	char buf[2048];
	int fd = open("/proc/self/status", O_RDONLY);
	long n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		printf("/proc/self/status: unreadable\n");
		return;
	}
	buf[n] = 0;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		if (!strncmp(l, "Uid:", 4) || !strncmp(l, "Gid:", 4))
			printf("%s\n", l);
}

/* setfsuid/setfsgid: the VFS checks and owns by the file-system ids;
 * then, as an ordinary user, its own /proc fd directory */
static void fsids(void)
{
	printf("-- setfsuid and setfsgid\n");
	/* Linux's first process finds /proc unmounted; Caboose mounts it */
	mkdir("/proc", 0555);
	mount("proc", "/proc", "proc", 0, NULL);
	T(mkdir("/tmp/rootonly", 0700));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		T(setfsuid(-1));
		T(setfsuid(33));
		T(setfsuid(-1));
		T(setfsgid(33));
		T(setfsgid(-1));
		status_ids();
		ids("fs ids moved");
		int fd = open("/tmp/fs-made", O_CREAT | O_WRONLY, 0644);
		printf("open(O_CREAT) %s\n", fd >= 0 ? "made it" : strerror(errno));
		if (fd >= 0)
			close(fd);
		show_owner("/tmp/fs-made");
		T(open("/tmp/rootonly/x", O_CREAT | O_WRONLY, 0644));
		T(access("/tmp/rootonly", W_OK));   /* the real ids: root's */
		T(setfsuid(0));
		T(open("/tmp/rootonly/x", O_CREAT | O_WRONLY, 0644) >= 0);
		T(setuid(1000));
		/* not dumpable now: /proc/self's files are root's, but a
		 * process may read its own fd directory, not its parent's */
		T(open("/proc/self/fd", O_RDONLY | O_DIRECTORY) >= 0);
		char pfd[32];
		snprintf(pfd, sizeof(pfd), "/proc/%d/fd", (int)getppid());
		T(open(pfd, O_RDONLY | O_DIRECTORY));
		T(setfsuid(-1));
		T(setfsuid(0));
		T(setfsuid(-1));
		T(setfsgid(0));
		T(setfsgid(-1));
		status_ids();
		fflush(stdout);
		_exit(0);
	}
	int st;
	T(waitpid(pid, &st, 0) == pid);
	status("child", st);
}

int main(void)
{
	creds();
	fsids();
	shared_memory();
	eventfds();
	pass_files();
	return 0;
}
