/* sigwait and rt_sigtimedwait: bad arguments, a time-out, a pending
 * blocked signal taken with its siginfo, one sent to the process by
 * another thread while the main thread waits (apps/httpd's stop), and a
 * wait that another signal with a handler interrupts; the signal masks of
 * ppoll and pselect (a pending blocked signal taken during the wait, its
 * handler under the wait's mask, the old mask back after; a mask that
 * keeps it blocked; a ready descriptor first) and of sigsuspend (its
 * handler under the wait's mask, the old mask back after, a signal
 * from another thread ending it, an ignored one not, bad arguments).
 * Prints what every
 * call returned; the output is the same on Linux (tests/run.py compares
 * them). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

static void *killer(void *arg)
{
	(void)arg;
	usleep(50000);
	kill(getpid(), SIGTERM);
	return NULL;
}

static void on_usr2(int sig) { (void)sig; }

static void *usr2_to_main(void *arg)
{
	usleep(50000);
	pthread_kill(*(pthread_t *)arg, SIGUSR2);
	return NULL;
}

static volatile sig_atomic_t usr1_runs;
static sigset_t in_handler;
static void on_usr1(int sig)
{
	(void)sig;
	usr1_runs++;
	pthread_sigmask(SIG_BLOCK, NULL, &in_handler);
}

static void blocked(const char *when)
{
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	printf("%s: SIGUSR1 blocked %d, SIGTERM blocked %d\n", when, sigismember(&cur, SIGUSR1),
	       sigismember(&cur, SIGTERM));
}

/* SIGUSR1 and SIGTERM are blocked when this runs */
static void wait_masks(const sigset_t *both)
{
	printf("-- the signal masks of ppoll and pselect\n");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t open_;
	sigemptyset(&open_);
	struct timespec t = { 0, 100000000 };
	T(syscall(SYS_ppoll, NULL, 0, &t, &open_, 4));
	T(raise(SIGUSR1));
	T(ppoll(NULL, 0, &t, &open_));
	printf("handler ran %d; in it SIGUSR1 blocked %d, SIGTERM blocked %d\n", (int)usr1_runs,
	       sigismember(&in_handler, SIGUSR1), sigismember(&in_handler, SIGTERM));
	blocked("after ppoll");
	T(raise(SIGUSR1));
	T(ppoll(NULL, 0, &t, both));
	printf("a mask that keeps it blocked: handler ran %d\n", (int)usr1_runs);
	int p[2];
	T(pipe(p));
	struct pollfd pf = { p[1], POLLOUT, 0 };
	T(ppoll(&pf, 1, &t, &open_));
	printf("a ready descriptor first: handler ran %d\n", (int)usr1_runs);
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	T(sigtimedwait(both, &si, &zero));
	T(raise(SIGUSR1));
	T(pselect(0, NULL, NULL, NULL, &t, &open_));
	printf("handler ran %d; in it SIGTERM blocked %d\n", (int)usr1_runs,
	       sigismember(&in_handler, SIGTERM));
	blocked("after pselect");
	fd_set w;
	FD_ZERO(&w);
	FD_SET(p[1], &w);
	T(raise(SIGUSR1));
	T(pselect(p[1] + 1, NULL, &w, NULL, &t, &open_));
	printf("a ready descriptor first: handler ran %d\n", (int)usr1_runs);
	T(sigtimedwait(both, &si, &zero));
	close(p[0]);
	close(p[1]);
}

/* SIGUSR1 and SIGTERM are blocked when this runs; on_usr1 is SIGUSR1's */
static void suspend_masks(void)
{
	printf("-- sigsuspend's mask\n");
	sigset_t open_, term;
	sigemptyset(&open_);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	T(syscall(SYS_rt_sigsuspend, &open_, 4));
	T(syscall(SYS_rt_sigsuspend, (void *)8, 8));
	int before = usr1_runs;
	T(raise(SIGUSR1));
	T(sigsuspend(&term));
	printf("handler ran %d; in it SIGUSR1 blocked %d, SIGTERM blocked %d\n",
	       (int)usr1_runs - before, sigismember(&in_handler, SIGUSR1),
	       sigismember(&in_handler, SIGTERM));
	blocked("after sigsuspend");
	/* a signal from another thread, while SIGCHLD (ignored by default)
	 * and an ignored SIGUSR2 do not end it */
	signal(SIGUSR2, SIG_IGN);
	T(raise(SIGCHLD));
	T(raise(SIGUSR2));
	pthread_t t;
	pthread_create(&t, NULL, killer, NULL);   /* SIGTERM, to the process */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGTERM, &sa, NULL);
	before = usr1_runs;
	T(sigsuspend(&open_));
	pthread_join(t, NULL);
	printf("SIGTERM's handler ran %d; in it SIGUSR1 blocked %d\n", (int)usr1_runs - before,
	       sigismember(&in_handler, SIGUSR1));
	blocked("after the second sigsuspend");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t set, none;
	siginfo_t si;
	struct timespec zero = { 0, 0 }, bad = { 0, 1000000000 }, short_ = { 0, 20000000 };
	sigemptyset(&none);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	printf("-- bad arguments\n");
	T(syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 4));
	T(syscall(SYS_rt_sigtimedwait, (void *)8, NULL, &zero, 8));
	T(syscall(SYS_rt_sigtimedwait, &set, NULL, (void *)8, 8));
	T(sigtimedwait(&set, NULL, &bad));
	printf("-- nothing pending\n");
	T(sigtimedwait(&set, &si, &zero));
	T(sigtimedwait(&set, &si, &short_));
	printf("-- a pending blocked signal\n");
	T(kill(getpid(), SIGUSR1));
	memset(&si, 0, sizeof(si));
	T(sigtimedwait(&set, &si, &zero));
	printf("si_signo %d, si_code is SI_USER %d\n", si.si_signo, si.si_code == SI_USER);
	T(sigtimedwait(&set, &si, &zero));
	T(raise(SIGUSR1));   /* thread-directed */
	T(sigwaitinfo(&set, &si));
	printf("-- sigwait while another thread kills the process\n");
	pthread_t t;
	pthread_create(&t, NULL, killer, NULL);
	int sig = 0;
	T(sigwait(&set, &sig));
	printf("sigwait took %d (SIGTERM %d)\n", sig, SIGTERM);
	pthread_join(t, NULL);
	printf("-- a signal with a handler interrupts the wait\n");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t self = pthread_self();
	pthread_create(&t, NULL, usr2_to_main, &self);
	/* the call itself: musl's sigwaitinfo tries again after EINTR */
	T(syscall(SYS_rt_sigtimedwait, &set, &si, NULL, 8));
	pthread_join(t, NULL);
	wait_masks(&set);
	suspend_masks();
	printf("done\n");
	return 0;
}
