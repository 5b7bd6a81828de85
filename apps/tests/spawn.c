/* posix_spawn, vfork, and clone/clone3's flag checks: musl's posix_spawn
 * clones with CLONE_VM|CLONE_VFORK on a stack of its own, glibc 2.36's
 * with clone3 (the same flags); both report a failure in the child through
 * the shared memory or a pipe. vfork's child shares the parent's memory
 * and the parent sleeps until it execs or ends. The combinations Linux
 * refuses must give its errors, and clone3's sizes theirs. Prints what
 * every call returned, pids only as relations; the output is the same on
 * Linux (tests/run.py compares them). Unbuffered stdout. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

/* posix_spawn returns an error number (not -1 and errno) */
static void spawn_result(const char *what, int r, pid_t pid)
{
	if (r) {
		printf("%s: %s\n", what, strerror(r));
		return;
	}
	int st;
	pid_t w = waitpid(pid, &st, 0);
	printf("%s: 0, waitpid gave the child: %d\n", what, w == pid);
	status(what, st);
}

static void spawns(void)
{
	pid_t pid = 0;
	char *hello[] = { "hello", NULL };
	int r = posix_spawn(&pid, "/tests/hello", NULL, NULL, hello, environ);
	spawn_result("spawn hello", r, pid);

	/* the child's stdout into a pipe: file actions (dup2, close) */
	int p[2];
	T(pipe(p));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addclose(&fa, p[1]);
	char *args[] = { "args", "x", "y z", NULL };
	char *env[] = { "A=1", NULL };
	r = posix_spawn(&pid, "/tests/args", &fa, NULL, args, env);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 && (n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	close(p[0]);
	spawn_result("spawn args into a pipe", r, pid);
	/* the first lines: argc, argv, the environment */
	char *end = strstr(buf, "AT_PAGESZ");
	if (end)
		*end = 0;
	printf("the pipe gave:\n%s", buf);

	r = posix_spawn(&pid, "/tests/no-such-program", NULL, NULL, hello, environ);
	spawn_result("spawn a missing program", r, pid);
	r = posix_spawn(&pid, "/tests", NULL, NULL, hello, environ);
	spawn_result("spawn a directory", r, pid);

	/* a file action that fails in the child: its error comes back */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 5, "/no/such/dir/f", O_RDONLY, 0);
	r = posix_spawn(&pid, "/tests/hello", &fa, NULL, hello, environ);
	posix_spawn_file_actions_destroy(&fa);
	spawn_result("spawn with a failing open", r, pid);

	/* the child resets a handler and a mask: the parent's stay */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR1, &sa, NULL);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t def;
	sigemptyset(&def);
	sigaddset(&def, SIGUSR1);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setsigmask(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	r = posix_spawn(&pid, "/tests/hello", NULL, &at, hello, environ);
	posix_spawnattr_destroy(&at);
	spawn_result("spawn with signal attributes", r, pid);
	sigaction(SIGUSR1, NULL, &sa);
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("parent: SIGUSR1 still ignored: %d, still unblocked: %d\n", sa.sa_handler == SIG_IGN,
	       !sigismember(&now, SIGUSR1));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGUSR1, &sa, NULL);

	/* many in a row: each child's space is the parent's, borrowed */
	int ok = 0;
	for (int i = 0; i < 20; i++) {
		char *a[] = { "hello", NULL };
		int fd = open("/dev/null", O_WRONLY);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fd, 1);
		r = posix_spawn(&pid, "/tests/hello", &fa, NULL, a, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fd);
		int st;
		if (r == 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	printf("20 spawns in a row: %d ended well\n", ok);
}

static volatile int shared_word;

static void vforks(void)
{
	shared_word = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		shared_word = 42;   /* the parent's memory: it sleeps until we end */
		_exit(5);
	}
	printf("vfork: the child wrote into the parent's memory before it went on: %d\n",
	       shared_word == 42);
	int st;
	printf("vfork: waitpid gave the child: %d\n", waitpid(pid, &st, 0) == pid);
	status("vfork child", st);

	pid = vfork();
	if (pid == 0) {
		char *a[] = { "hello", NULL };
		execve("/tests/hello", a, environ);
		_exit(127);
	}
	printf("vfork+execve: waitpid gave the child: %d\n", waitpid(pid, &st, 0) == pid);
	status("vfork+execve child", st);

	pid = vfork();
	if (pid == 0) {
		char *a[] = { "x", NULL };
		execve("/no/such/program", a, environ);
		shared_word = errno;
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("vfork+failed execve: the child saw %s\n", strerror(shared_word));
	status("vfork+failed execve child", st);
}

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef CLONE_NEWNS
#define CLONE_NEWNS 0x20000
#endif
#ifndef CLONE_NEWPID
#define CLONE_NEWPID 0x20000000
#endif

static long raw_clone(unsigned long flags)
{
	return syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
}
#define C(flags) show("clone(" #flags ")", raw_clone(flags))

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
	uint64_t tail[2];   /* beyond what Linux 6.1 knows */
};

static long clone3(struct clone_args_v2 *a, size_t size)
{
	return syscall(435, a, size);
}

static void clone_checks(void)
{
	C(CLONE_SIGHAND | SIGCHLD);
	C(CLONE_THREAD | CLONE_VM | SIGCHLD);
	C(CLONE_NEWNS | CLONE_FS | SIGCHLD);
	C(CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD);
	C(CLONE_PIDFD | CLONE_DETACHED | SIGCHLD);
	C(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID);

	struct clone_args_v2 a;
	memset(&a, 0, sizeof(a));
	a.exit_signal = SIGCHLD;
	T(clone3(&a, 0));
	T(clone3(&a, 63));
	T(clone3(&a, 4097));
	T(clone3((struct clone_args_v2 *)8, 64));
	a.tail[0] = 1;
	T(clone3(&a, sizeof(a)));
	a.tail[0] = 0;
	a.exit_signal = 65;
	T(clone3(&a, 88));
	a.exit_signal = SIGCHLD | 0x100000000ULL;
	T(clone3(&a, 88));
	a.exit_signal = SIGCHLD;
	a.flags = CLONE_DETACHED;
	T(clone3(&a, 88));
	a.flags = 0x40000000000ULL;
	T(clone3(&a, 88));
	a.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	T(clone3(&a, 88));   /* a thread with an exit signal */
	a.flags = 0;
	a.stack = (uint64_t)(uintptr_t)&a;
	T(clone3(&a, 88));   /* a stack without its size */
	a.stack = 0;
	a.stack_size = 4096;
	T(clone3(&a, 88));   /* a size without a stack */
	a.stack_size = 0;
	a.set_tid_size = 1;
	T(clone3(&a, 88));   /* set_tid_size without set_tid */
	a.set_tid_size = 0;
	a.flags = CLONE_SIGHAND | 0x100000000ULL;   /* CLONE_CLEAR_SIGHAND */
	T(clone3(&a, 88));

	/* a fork through clone3, with the short and the long struct */
	a.flags = 0;
	size_t sizes[] = { 64, 88, sizeof(a) };
	for (int i = 0; i < 3; i++) {
		long pid = clone3(&a, sizes[i]);
		if (pid == 0)
			_exit(3 + i);
		if (pid < 0) {
			printf("clone3 fork with size %zu = -1 %s\n", sizes[i], strerror(errno));
			continue;
		}
		int st;
		printf("clone3 fork with size %zu: waitpid gave the child: %d\n", sizes[i],
		       waitpid((pid_t)pid, &st, 0) == pid);
		status("clone3 child", st);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	spawns();
	vforks();
	clone_checks();
	printf("done\n");
	return 0;
}
