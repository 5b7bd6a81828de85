/* sigwait and rt_sigtimedwait: bad arguments, a time-out, a pending
 * blocked signal taken with its siginfo, one sent to the process by
 * another thread while the main thread waits (apps/httpd's stop), and a
 * wait that another signal with a handler interrupts. Prints what every
 * call returned; the output is the same on Linux (tests/run.py compares
 * them). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
	printf("done\n");
	return 0;
}
