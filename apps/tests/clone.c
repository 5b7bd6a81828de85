/* clone's sharing flags without CLONE_THREAD, unshare, and /proc/PID/task
 * (issue 12): a child made with CLONE_FILES shares the descriptor table
 * (its opens and closes are the parent's), with CLONE_FS the working
 * directory and umask, with CLONE_VM|CLONE_SIGHAND the signal actions;
 * without the flags nothing is shared. execve in a child sharing the table
 * or the actions gets its own copies (close-on-exec does not close the
 * parent's descriptors; the reset of the handlers is not the parent's).
 * Linux's errors for the combinations it refuses. unshare(CLONE_FILES) and
 * unshare(CLONE_FS) end the sharing. /proc/self/task lists the threads of
 * a multi-threaded process, each with its stat, status and comm.
 *
 * Prints results only (no pids, no addresses), so that Linux's output and
 * Caboose's are the same. With the argument "exec-child FD1 FD2" it is the
 * program a sharing child execs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "show.h"

#define STACK (64 * 1024)
static char *self_path = "/tests/clone";

/* a child on a stack of its own (shared memory with CLONE_VM); waits for
 * it and returns its exit code, or -1 */
static int run_child(int (*fn)(void *), void *arg, int flags)
{
	char *stack = malloc(STACK);
	if (!stack)
		return -1;
	int pid = clone(fn, stack + STACK, flags | SIGCHLD, arg);
	if (pid < 0) {
		printf("clone %#x: -1 %s\n", flags, strerror(errno));
		free(stack);
		return -1;
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		printf("clone %#x: child did not exit (%#x)\n", flags, st);
		free(stack);
		return -1;
	}
	free(stack);
	return WEXITSTATUS(st);
}

/* ---- CLONE_FILES ---- */

static int shared_fd;   /* the parent's descriptor the child closes */

static int files_child(void *arg)
{
	(void)arg;
	int fd = open("/tmp/clone-files", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 100;
	if (write(fd, "child", 5) != 5)
		return 101;
	close(shared_fd);
	return fd;
}

static void test_files(int flags, const char *what)
{
	shared_fd = dup(0);
	int fd = run_child(files_child, NULL, flags);
	int seen = fd >= 0 && fd < 100 ? fcntl(fd, F_GETFD) : -2;
	printf("%s: child opened a descriptor; parent sees it: %s\n", what,
	       seen >= 0 ? "yes" : "no");
	if (seen >= 0) {
		char buf[8] = { 0 };
		T(pread(fd, buf, sizeof(buf) - 1, 0));
		printf("%s: read through it: %s\n", what, buf);
		close(fd);
	}
	int closed = fcntl(shared_fd, F_GETFD) < 0;
	printf("%s: the child's close closed the parent's descriptor: %s\n", what,
	       closed ? "yes" : "no");
	if (!closed)
		close(shared_fd);
	unlink("/tmp/clone-files");
}

/* ---- CLONE_FS ---- */

static int fs_child(void *arg)
{
	(void)arg;
	if (chdir("/tmp") < 0)
		return 1;
	umask(077);
	return 0;
}

static void test_fs(int flags, const char *what)
{
	char cwd[64];
	chdir("/");
	umask(022);
	T(run_child(fs_child, NULL, flags));
	printf("%s: cwd %s, umask %03o\n", what, getcwd(cwd, sizeof(cwd)) ? cwd : "?", umask(022));
	chdir("/");
	/* a file made after the child's umask: its mode shows which applies */
	umask(022);
}

/* ---- CLONE_SIGHAND ---- */

static volatile int usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen++; }

static int sighand_child(void *arg)
{
	(void)arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	return sigaction(SIGUSR1, &sa, NULL) < 0 ? 1 : 0;
}

static void test_sighand(int flags, const char *what)
{
	signal(SIGUSR1, SIG_IGN);
	usr1_seen = 0;
	T(run_child(sighand_child, NULL, flags));
	struct sigaction old;
	sigaction(SIGUSR1, NULL, &old);
	printf("%s: the child's handler is the parent's: %s\n", what,
	       old.sa_handler == on_usr1 ? "yes" : old.sa_handler == SIG_IGN ? "no (ignored)" : "no");
	raise(SIGUSR1);
	printf("%s: raise(SIGUSR1) ran the handler: %d\n", what, usr1_seen);
	signal(SIGUSR1, SIG_DFL);
}

/* ---- execve in a sharing child ---- */

static int exec_fds[2];

static int exec_child(void *arg)
{
	(void)arg;
	char a[16], b[16];
	snprintf(a, sizeof(a), "%d", exec_fds[0]);
	snprintf(b, sizeof(b), "%d", exec_fds[1]);
	char *argv[] = { self_path, "exec-child", a, b, NULL };
	char *envp[] = { NULL };
	execve(self_path, argv, envp);
	return 127;
}

/* the program the child execs: what it finds, then a descriptor it makes
 * (EXEC_FD; 0 its exit code when it could) */
#define EXEC_FD 50
static int exec_child_main(int cloexec_fd, int plain_fd)
{
	printf("exec child: close-on-exec descriptor open: %s\n",
	       fcntl(cloexec_fd, F_GETFD) >= 0 ? "yes" : "no");
	printf("exec child: other descriptor open: %s\n", fcntl(plain_fd, F_GETFD) >= 0 ? "yes" : "no");
	struct sigaction sa;
	sigaction(SIGUSR1, NULL, &sa);
	printf("exec child: SIGUSR1 %s\n", sa.sa_handler == SIG_DFL ? "default" :
	       sa.sa_handler == SIG_IGN ? "ignored" : "caught");
	sigaction(SIGUSR2, NULL, &sa);
	printf("exec child: SIGUSR2 %s, flags %#x\n", sa.sa_handler == SIG_DFL ? "default" :
	       sa.sa_handler == SIG_IGN ? "ignored" : "caught", (unsigned)sa.sa_flags & ~0x04000000u);
	fflush(stdout);
	return dup2(plain_fd, EXEC_FD) == EXEC_FD ? 0 : 1;
}

static void test_exec(int flags, const char *what)
{
	exec_fds[0] = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	exec_fds[1] = open("/tmp", O_RDONLY | O_DIRECTORY);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	fflush(stdout);
	printf("%s: child's exit %d\n", what, run_child(exec_child, NULL, flags));
	printf("%s: the exec'd child's dup2 in the parent: %s\n", what,
	       fcntl(EXEC_FD, F_GETFD) >= 0 ? "yes" : "no");
	struct stat st;
	printf("%s: parent's close-on-exec descriptor still open: %s\n", what,
	       fstat(exec_fds[0], &st) == 0 && S_ISDIR(st.st_mode) ? "yes" : "no");
	close(EXEC_FD);
	sigaction(SIGUSR1, NULL, &sa);
	printf("%s: parent's SIGUSR1 handler kept: %s\n", what, sa.sa_handler == on_usr1 ? "yes" : "no");
	close(exec_fds[0]);
	close(exec_fds[1]);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

/* ---- unshare ---- */

static int unshare_child(void *arg)
{
	int flags = *(int *)arg;
	if (unshare(flags) < 0)
		return 99;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	if (chdir("/tmp") < 0)
		return 98;
	return fd < 0 ? 97 : fd;
}

static void test_unshare(void)
{
	T(unshare(0));
	T(unshare(CLONE_FILES));
	T(unshare(CLONE_FS));
	T(unshare(CLONE_SIGHAND));
	T(unshare(CLONE_VM));
	T(unshare(CLONE_THREAD));
	T(unshare(0x1));          /* CSIGNAL bits: not a flag of unshare */
	T(unshare(CLONE_VFORK));
	T(unshare(CLONE_SETTLS));
	int fl = CLONE_FILES | CLONE_FS;
	chdir("/");
	int fd = run_child(unshare_child, &fl, CLONE_FILES | CLONE_FS);
	char cwd[64];
	printf("unshare(CLONE_FILES|CLONE_FS) in a sharing child: exit %s; the parent sees its "
	       "descriptor: %s; cwd %s\n", fd >= 3 && fd < 97 ? "a descriptor" : "not a descriptor",
	       fd >= 3 && fd < 97 && fcntl(fd, F_GETFD) >= 0 ? "yes" : "no",
	       getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	if (fd >= 3 && fd < 97 && fcntl(fd, F_GETFD) >= 0)
		close(fd);
	chdir("/");
	fl = 0;
	fd = run_child(unshare_child, &fl, CLONE_FILES | CLONE_FS);
	printf("unshare(0) in a sharing child: the parent sees its descriptor: %s; cwd %s\n",
	       fd >= 3 && fd < 97 && fcntl(fd, F_GETFD) >= 0 ? "yes" : "no",
	       getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	if (fd >= 3 && fd < 97)
		close(fd);
	chdir("/");
}

static int unshare_vm_child(void *arg)
{
	int flags = *(int *)arg;
	return unshare(flags) < 0 ? errno : 0;
}

static void test_unshare_shared(void)
{
	int fl = CLONE_SIGHAND;
	int e = run_child(unshare_vm_child, &fl, CLONE_VM | CLONE_SIGHAND);
	printf("unshare(CLONE_SIGHAND) sharing the actions: %s\n", e ? strerror(e) : "0");
	fl = CLONE_VM;
	e = run_child(unshare_vm_child, &fl, CLONE_VM);
	printf("unshare(CLONE_VM) sharing the space: %s\n", e ? strerror(e) : "0");
	fl = CLONE_SIGHAND;
	e = run_child(unshare_vm_child, &fl, CLONE_VM);
	printf("unshare(CLONE_SIGHAND) with its own actions: %s\n", e ? strerror(e) : "0");
}

/* ---- the flags Linux refuses ---- */

static void bad_flags(unsigned long flags, const char *what)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(99);   /* it should not have worked: the child goes at once */
	if (r > 0) {
		int st;
		waitpid((int)r, &st, 0);
		printf("clone(%s) = a child\n", what);
		return;
	}
	printf("clone(%s) = -1 %s\n", what, strerror(errno));
}

/* ---- /proc/self/task ---- */

#define NT 3
static pthread_barrier_t bar;
static int tids[NT + 1];

static void *thread_fn(void *arg)
{
	long i = (long)arg;
	tids[i] = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&bar);   /* all started */
	pthread_barrier_wait(&bar);   /* the main thread has looked */
	return NULL;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int list_tasks(int *out, int max)
{
	DIR *d = opendir("/proc/self/task");
	if (!d) {
		printf("opendir /proc/self/task: %s\n", strerror(errno));
		return -1;
	}
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n < max)
			out[n] = atoi(e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	int n = (int)read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static const char *field(const char *text, const char *name)
{
	static char v[64];
	const char *p = strstr(text, name);
	v[0] = '\0';
	if (!p)
		return "(none)";
	p += strlen(name);
	while (*p == '\t' || *p == ' ')
		p++;
	size_t n = strcspn(p, "\n");
	if (n >= sizeof(v))
		n = sizeof(v) - 1;
	memcpy(v, p, n);
	v[n] = '\0';
	return v;
}

static void show_task(int tid, int pid, const char *who)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	int n = slurp(path, buf, sizeof(buf));
	printf("%s: comm %s", who, n > 0 ? buf : "(unreadable)\n");
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	if (slurp(path, buf, sizeof(buf)) <= 0) {
		printf("%s: status unreadable\n", who);
		return;
	}
	printf("%s: status Name %s,", who, field(buf, "Name:"));
	printf(" Tgid is the pid: %s,", atoi(field(buf, "\nTgid:")) == pid ? "yes" : "no");
	printf(" Pid is the tid: %s,", atoi(field(buf, "\nPid:")) == tid ? "yes" : "no");
	printf(" Threads %s\n", field(buf, "\nThreads:"));
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (slurp(path, buf, sizeof(buf)) <= 0) {
		printf("%s: stat unreadable\n", who);
		return;
	}
	char comm[32] = "", state = '?';
	int spid = 0, threads = 0;
	const char *rp = strrchr(buf, ')');
	sscanf(buf, "%d (%31[^)])", &spid, comm);
	if (rp) {
		/* after ") ": state, then fields 4..; num_threads is field 20 */
		state = rp[2];
		const char *q = rp + 2;
		for (int f = 3; f < 20 && q; f++) {
			q = strchr(q, ' ');
			if (q)
				q++;
		}
		if (q)
			threads = atoi(q);
	}
	printf("%s: stat pid is the tid: %s, comm %s, state %s, threads %d\n", who,
	       spid == tid ? "yes" : "no", comm, state == 'R' || state == 'S' ? "R or S" : "other",
	       threads);
}

static void test_task(void)
{
	pthread_t t[NT];
	int pid = getpid();
	tids[0] = (int)syscall(SYS_gettid);
	pthread_barrier_init(&bar, NULL, NT + 1);
	for (long i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, thread_fn, (void *)(i + 1));
	pthread_barrier_wait(&bar);
	int listed[16];
	int n = list_tasks(listed, 16);
	printf("/proc/self/task: %d entries\n", n);
	if (n > 0 && n <= 16) {
		int want[NT + 1];
		memcpy(want, tids, sizeof(want));
		qsort(want, NT + 1, sizeof(int), cmp_int);
		qsort(listed, (size_t)n, sizeof(int), cmp_int);
		printf("/proc/self/task: the thread ids, sorted: %s\n",
		       n == NT + 1 && !memcmp(want, listed, sizeof(want)) ? "yes" : "no");
		printf("/proc/self/task: the first is the pid: %s\n", listed[0] == pid ? "yes" : "no");
	}
	show_task(pid, pid, "main thread");
	show_task(tids[2], pid, "second thread");
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/self/task/%d", tids[1]);
	printf("stat of a task directory: %s\n",
	       stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? "a directory" : strerror(errno));
	T(stat("/proc/self/task/999999", &st));
	T(stat("/proc/self/task/0", &st));
	T(stat("/proc/self/task/abc", &st));
	char buf[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tids[3]);
	printf("/proc/PID/task/TID/comm: %d bytes\n", slurp(path, buf, sizeof(buf)));
	pthread_barrier_wait(&bar);
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	/* a joined thread may still be on its way out (its tid is cleared
	 * before it is gone, on both kernels): wait for it, a second at most */
	for (int i = 0; i < 100 && (n = list_tasks(listed, 16)) != 1; i++)
		usleep(10000);
	printf("/proc/self/task after the joins: %d entries, the pid: %s\n", n,
	       n == 1 && listed[0] == pid ? "yes" : "no");
	snprintf(path, sizeof(path), "/proc/self/task/%d", tids[1]);
	T(stat(path, &st));
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", pid);
	int r = slurp(path, buf, sizeof(buf));
	printf("the main thread's status still reads: %s\n", r > 0 ? "yes" : "no");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "exec-child"))
		return exec_child_main(atoi(argv[2]), atoi(argv[3]));
	if (argc > 0 && argv[0][0] == '/')
		self_path = argv[0];
	/* Linux's first process finds /proc unmounted; Caboose mounts it */
	mount("proc", "/proc", "proc", 0, NULL);
	mkdir("/tmp", 01777);

	test_files(CLONE_FILES, "CLONE_FILES");
	test_files(0, "no CLONE_FILES");
	test_files(CLONE_FILES | CLONE_VM, "CLONE_FILES|CLONE_VM");
	test_fs(CLONE_FS, "CLONE_FS");
	test_fs(0, "no CLONE_FS");
	test_fs(CLONE_FS | CLONE_VM | CLONE_VFORK, "CLONE_FS|CLONE_VM|CLONE_VFORK");
	test_sighand(CLONE_VM | CLONE_SIGHAND, "CLONE_VM|CLONE_SIGHAND");
	test_sighand(CLONE_VM, "CLONE_VM alone");
	test_exec(CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_SIGHAND,
		  "exec from CLONE_VM|CLONE_VFORK|CLONE_FILES|CLONE_SIGHAND");
	test_exec(CLONE_VM | CLONE_VFORK, "exec from CLONE_VM|CLONE_VFORK");
	test_unshare();
	test_unshare_shared();

	bad_flags(CLONE_SIGHAND, "CLONE_SIGHAND without CLONE_VM");
	bad_flags(CLONE_SIGHAND | CLONE_FILES, "CLONE_SIGHAND|CLONE_FILES without CLONE_VM");
	bad_flags(CLONE_THREAD | CLONE_VM, "CLONE_THREAD without CLONE_SIGHAND");
	bad_flags(CLONE_FS | CLONE_NEWNS, "CLONE_FS|CLONE_NEWNS");

	test_task();
	return 0;
}
