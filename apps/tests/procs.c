/* Processes and signals: fork (copy on write), wait4/waitid and the status
 * encoding, exit and fatal signals, pipes between processes, SIGPIPE,
 * execve of a program and of a "#!" script, signal handlers, masks,
 * interrupted and restarted calls, kill, nanosleep. Prints what every call
 * returned, pids only as relations; the output is the same on Linux
 * (tests/run.py compares them). Unbuffered stdout: parent and children
 * write in an order the waits fix. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

/* fork, run fn in the child, exit with what it returns; wait and report */
static void child(const char *what, int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int st;
	pid_t w = waitpid(pid, &st, 0);
	printf("%s: waitpid gave the child: %d\n", what, w == pid);
	status(what, st);
}

static volatile int *volatile null_ptr;
static int shared = 1;
static char *big;

static int exit7(void) { return 7; }
static int segv(void) { return *null_ptr; }
static int cow(void)
{
	shared = 2;
	big[100000] = 'c';
	printf("child: shared=%d big=%c getppid is parent: %d\n", shared, big[100000],
	       getppid() > 0);
	return 0;
}
static int sigpipe_child(void)
{
	int p[2];
	pipe(p);
	close(p[0]);
	write(p[1], "x", 1);
	return 99;   /* not reached: SIGPIPE ends it */
}

static volatile sig_atomic_t got;
static void on_sig(int sig) { got = sig; }

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	printf("SIGSEGV handler: signal %d, code %d, address %p\n", sig, si->si_code, si->si_addr);
	_exit(33);
}

static int segv_handled(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	return *(volatile int *)((char *)null_ptr + 24);
}

static int segv_ignored(void)
{
	signal(SIGSEGV, SIG_IGN);
	return *null_ptr;
}

static int hello_exec(void)
{
	char *argv[] = { "/tests/hello", NULL };
	char *envp[] = { NULL };
	execve(argv[0], argv, envp);
	return 100 + errno;
}

static int script_exec(void)
{
	char *argv[] = { "/tests/script", "arg1", NULL };
	char *envp[] = { "HOME=/", NULL };
	execve(argv[0], argv, envp);
	return 100 + errno;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	big = malloc(200000);
	memset(big, 'p', 200000);
	int st;
	T(wait(&st));
	T(waitpid(-1, &st, WNOHANG));
	child("exit 7", exit7);
	child("null pointer", segv);
	child("null pointer with a SIGSEGV handler", segv_handled);
	child("null pointer with SIGSEGV ignored", segv_ignored);
	child("copy on write", cow);
	printf("parent: shared=%d big=%c\n", shared, big[100000]);
	child("write to a pipe nobody reads", sigpipe_child);

	/* a pipe between two processes */
	int p[2];
	T(pipe(p));
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (int i = 0; i < 100; i++)
			write(p[1], "0123456789", 10);
		_exit(0);
	}
	close(p[1]);
	long total = 0, r;
	char buf[4096];
	while ((r = read(p[0], buf, sizeof(buf))) > 0)
		total += r;
	printf("pipe from the child: %ld bytes, then %ld\n", total, r);
	close(p[0]);
	T(waitpid(pid, &st, 0) == pid);
	status("writer", st);

	/* WNOHANG while the child runs, then waitid */
	pid = fork();
	if (pid == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		_exit(3);
	}
	T(waitpid(pid, &st, WNOHANG));
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	T(waitid(P_PID, pid, &si, WEXITED));
	printf("waitid: signo %d code %d status %d pid ok %d\n", si.si_signo, si.si_code,
	       si.si_status, si.si_pid == pid);
	T(waitid(P_ALL, 0, &si, 0));
	T(wait4(-1, &st, 0x1000, NULL));

	/* execve */
	child("execve /tests/hello", hello_exec);
	child("execve a script", script_exec);
	char *nargv[] = { "x", NULL };
	T(execve("/tests/nope", nargv, nargv));
	T(execve("/tests", nargv, nargv));
	T(execve("/dev/null", nargv, nargv));
	T(execve((char *)8, nargv, nargv));

	/* handlers and masks in this process */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	T(sigaction(SIGUSR1, &sa, NULL));
	volatile long keep = 0x1234567887654321L;
	double f = 1.5;
	T(kill(getpid(), SIGUSR1));
	printf("handler ran for %d; registers kept: %d %d\n", (int)got, keep == 0x1234567887654321L,
	       f * 2 == 3.0);
	got = 0;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	T(sigprocmask(SIG_BLOCK, &set, &old));
	T(kill(getpid(), SIGUSR1));
	printf("blocked: handler ran: %d\n", (int)got);
	T(sigprocmask(SIG_SETMASK, &old, NULL));
	printf("unblocked: handler ran for %d\n", (int)got);
	got = 0;
	T(sigaction(SIGCHLD, &sa, NULL));
	child("with a SIGCHLD handler", exit7);
	printf("SIGCHLD handler ran for %d\n", (int)got);
	T(kill(99999, 0));
	T(kill(getpid(), 0));
	T(kill(getpid(), 99));

	/* a read interrupted by a handler without SA_RESTART: EINTR */
	T(pipe(p));
	pid = fork();
	if (pid == 0) {
		struct sigaction h;
		memset(&h, 0, sizeof(h));
		h.sa_handler = on_sig;
		sigaction(SIGUSR2, &h, NULL);
		close(p[1]);
		long k = read(p[0], buf, 1);
		_exit(k < 0 && errno == EINTR && got == SIGUSR2 ? 42 : 1);
	}
	close(p[0]);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	T(kill(pid, SIGUSR2));
	T(waitpid(pid, &st, 0) == pid);
	status("read interrupted", st);
	close(p[1]);

	/* SIGTERM ends a process blocked in wait for its child */
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(1);
	}
	nanosleep(&ts, NULL);
	T(kill(pid, SIGTERM));
	T(waitpid(pid, &st, 0) == pid);
	status("paused child", st);

	struct timespec a0, a1;
	clock_gettime(CLOCK_MONOTONIC, &a0);
	ts.tv_nsec = 20 * 1000 * 1000;
	T(nanosleep(&ts, NULL));
	clock_gettime(CLOCK_MONOTONIC, &a1);
	long ms = (a1.tv_sec - a0.tv_sec) * 1000 + (a1.tv_nsec - a0.tv_nsec) / 1000000;
	printf("slept at least 20 ms: %d\n", ms >= 20);
	ts.tv_nsec = 2000000000;
	T(nanosleep(&ts, NULL));
	T(nanosleep((struct timespec *)8, NULL));
	printf("procs: done\n");
	return 0;
}
