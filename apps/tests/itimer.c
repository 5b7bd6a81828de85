/* Interval timers and alarm. ITIMER_REAL: bad arguments, alarm's
 * rounded seconds left, a one-shot timer ending pause with its handler,
 * a periodic one, the old value setitimer gives back, a disarm dropping
 * the interval, a child starting with none, SIGALRM's default action.
 * ITIMER_VIRTUAL and ITIMER_PROF (CPU time): a busy loop until a one-shot
 * one fires (after at least its CPU time), five periods, the remaining
 * time and the interval getitimer shows, no signal while asleep, another
 * thread's CPU time counting, a child starting with none, a timer kept
 * by execve, SIGPROF's default action.
 * Prints what every call returned (times as comparisons: they differ from
 * run to run); the output is the same on Linux (tests/run.py compares
 * them). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static long us(struct timeval t) { return t.tv_sec * 1000000L + t.tv_usec; }

/* the timer now: armed or not, the time left within (0, max_us], the interval */
static void show_timer(const char *what, long max_us)
{
	struct itimerval v;
	memset(&v, 0xff, sizeof(v));
	T(getitimer(ITIMER_REAL, &v));
	printf("%s: armed %d, left within bound %d, interval %ld us\n", what, us(v.it_value) != 0,
	       us(v.it_value) > 0 && us(v.it_value) <= max_us, us(v.it_interval));
}

static volatile sig_atomic_t vtalrms, profs;
static void on_vtalrm(int sig) { (void)sig; vtalrms++; }
static void on_prof(int sig) { (void)sig; profs++; }

static const char *const names[] = { "real", "virtual", "prof" };

/* a CPU timer now, as show_timer */
static void show_cpu(int which, const char *what, long max_us)
{
	struct itimerval v;
	memset(&v, 0xff, sizeof(v));
	int r = getitimer(which, &v);
	printf("%s %s: getitimer %d, armed %d, left within bound %d, interval %ld us\n",
	       names[which], what, r, us(v.it_value) != 0,
	       us(v.it_value) > 0 && us(v.it_value) <= max_us, us(v.it_interval));
}

static long long ns_of(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Spin until *count reaches n or 20 s pass; the process's CPU time
 * used, or -1 at the time limit. */
static long long spin_until(volatile sig_atomic_t *count, int n)
{
	long long c0 = ns_of(CLOCK_PROCESS_CPUTIME_ID), end = ns_of(CLOCK_MONOTONIC) + 20000000000LL;
	while (*count < n)
		if (ns_of(CLOCK_MONOTONIC) > end)
			return -1;
	return ns_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
}

static void arm(int which, long value_us, long interval_us)
{
	struct itimerval v = { { interval_us / 1000000, interval_us % 1000000 },
			       { value_us / 1000000, value_us % 1000000 } };
	if (setitimer(which, &v, NULL) < 0)
		printf("setitimer %s: %s\n", names[which], strerror(errno));
}

static void *spinner(void *arg)
{
	(void)arg;
	long long used = spin_until(&vtalrms, 1);
	printf("a thread's CPU time fired it: %d\n", used >= 0);
	return NULL;
}

static void cpu_timers(char *self)
{
	printf("-- ITIMER_VIRTUAL and ITIMER_PROF: bad arguments\n");
	struct itimerval v, old;
	memset(&v, 0, sizeof(v));
	v.it_value.tv_usec = 1000000;
	T(setitimer(ITIMER_VIRTUAL, &v, NULL));
	v.it_value.tv_usec = 0;
	v.it_interval.tv_usec = -1;
	T(setitimer(ITIMER_PROF, &v, NULL));
	T(syscall(SYS_setitimer, ITIMER_PROF, (void *)8, NULL));
	T(syscall(SYS_getitimer, ITIMER_VIRTUAL, (void *)8));
	T(syscall(SYS_setitimer, ITIMER_VIRTUAL, NULL, (void *)8));
	show_cpu(ITIMER_VIRTUAL, "at start", 0);
	show_cpu(ITIMER_PROF, "at start", 0);

	printf("-- a one-shot ITIMER_VIRTUAL ends a busy loop\n");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_vtalrm;
	T(sigaction(SIGVTALRM, &sa, NULL));
	sa.sa_handler = on_prof;
	T(sigaction(SIGPROF, &sa, NULL));
	memset(&v, 0, sizeof(v));
	v.it_value.tv_usec = 50000;
	T(setitimer(ITIMER_VIRTUAL, &v, &old));
	printf("old: armed %d interval %ld\n", us(old.it_value) != 0, us(old.it_interval));
	show_cpu(ITIMER_VIRTUAL, "50 ms", 60000);
	long long used = spin_until(&vtalrms, 1);
	printf("SIGVTALRM %d, after 40 to 500 ms of CPU %d\n", (int)vtalrms,
	       used >= 40000000 && used < 500000000);
	show_cpu(ITIMER_VIRTUAL, "after it fired", 0);

	printf("-- a periodic ITIMER_PROF\n");
	arm(ITIMER_PROF, 20000, 20000);
	show_cpu(ITIMER_PROF, "20 ms every 20 ms", 30000);
	used = spin_until(&profs, 5);
	printf("SIGPROF at least 5: %d, after 80 to 1000 ms of CPU %d\n", profs >= 5,
	       used >= 80000000 && used < 1000000000);
	show_cpu(ITIMER_PROF, "running", 30000);
	memset(&v, 0, sizeof(v));
	v.it_interval.tv_usec = 250000;   /* no value: disarmed */
	T(setitimer(ITIMER_PROF, &v, &old));
	printf("old: left within bound %d, interval %ld us\n",
	       us(old.it_value) > 0 && us(old.it_value) <= 30000, us(old.it_interval));
	show_cpu(ITIMER_PROF, "disarmed with an interval", 0);
	int then = profs;
	usleep(50000);
	printf("no SIGPROF since: %d\n", profs == then);
	memset(&v, 0, sizeof(v));
	T(setitimer(ITIMER_PROF, &v, NULL));

	printf("-- asleep, no CPU time passes\n");
	vtalrms = profs = 0;
	arm(ITIMER_VIRTUAL, 30000, 0);
	arm(ITIMER_PROF, 30000, 0);
	usleep(300000);
	printf("SIGVTALRM %d, SIGPROF %d\n", (int)vtalrms, (int)profs);
	show_cpu(ITIMER_VIRTUAL, "after the sleep", 40000);
	show_cpu(ITIMER_PROF, "after the sleep", 40000);
	arm(ITIMER_PROF, 0, 0);

	printf("-- another thread's CPU time counts\n");
	vtalrms = 0;
	arm(ITIMER_VIRTUAL, 50000, 0);
	pthread_t th;
	pthread_create(&th, NULL, spinner, NULL);
	pthread_join(th, NULL);
	show_cpu(ITIMER_VIRTUAL, "after the thread", 0);

	printf("-- a child starts with none; execve keeps them\n");
	arm(ITIMER_PROF, 10000000, 0);
	arm(ITIMER_VIRTUAL, 10000000, 1000000);
	pid_t kid = fork();
	if (kid == 0) {
		show_cpu(ITIMER_VIRTUAL, "child", 0);
		show_cpu(ITIMER_PROF, "child", 0);
		arm(ITIMER_VIRTUAL, 10000000, 1000000);
		execl(self, self, "exec", (char *)NULL);
		_exit(99);
	}
	int st;
	waitpid(kid, &st, 0);
	status("child", st);
	show_cpu(ITIMER_PROF, "parent", 10010000);
	arm(ITIMER_PROF, 0, 0);
	arm(ITIMER_VIRTUAL, 0, 0);

	printf("-- SIGPROF's default action ends the process\n");
	kid = fork();
	if (kid == 0) {
		signal(SIGPROF, SIG_DFL);
		arm(ITIMER_PROF, 10000, 10000);
		spin_until(&profs, 1000000);
		_exit(0);
	}
	waitpid(kid, &st, 0);
	status("child", st);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "exec")) {   /* the execve'd child */
		show_cpu(ITIMER_VIRTUAL, "after execve", 10010000);
		show_cpu(ITIMER_PROF, "after execve", 0);
		return 0;
	}
	struct itimerval v, old;
	printf("-- bad arguments\n");
	memset(&v, 0, sizeof(v));
	T(setitimer(3, &v, NULL));
	T(getitimer(3, &v));
	v.it_value.tv_usec = 1000000;
	T(setitimer(ITIMER_REAL, &v, NULL));
	v.it_value.tv_usec = -1;
	T(setitimer(ITIMER_REAL, &v, NULL));
	T(syscall(SYS_setitimer, ITIMER_REAL, (void *)8, NULL));
	T(syscall(SYS_getitimer, ITIMER_REAL, (void *)8));
	show_timer("at start", 0);

	printf("-- alarm\n");
	T(alarm(0));
	T(alarm(5));
	T(alarm(3));
	show_timer("alarm 3", 3000000);
	T(alarm(0));
	show_timer("alarm 0", 0);

	printf("-- a one-shot timer ends pause\n");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	T(sigaction(SIGALRM, &sa, NULL));
	memset(&v, 0, sizeof(v));
	v.it_value.tv_usec = 100000;
	T(setitimer(ITIMER_REAL, &v, &old));
	printf("old: armed %d interval %ld\n", us(old.it_value) != 0, us(old.it_interval));
	show_timer("100 ms", 100000);
	T(pause());
	printf("alarms %d\n", (int)alarms);
	show_timer("after it fired", 0);

	printf("-- a periodic timer\n");
	v.it_value.tv_usec = 30000;
	v.it_interval.tv_usec = 30000;
	T(setitimer(ITIMER_REAL, &v, NULL));
	while (alarms < 5)
		pause();
	printf("alarms at least 5: %d\n", alarms >= 5);
	memset(&v, 0, sizeof(v));
	v.it_interval.tv_usec = 250000;   /* no value: disarmed, the interval dropped */
	T(setitimer(ITIMER_REAL, &v, &old));
	int then = alarms;
	printf("old: left within bound %d, interval %ld us\n",
	       us(old.it_value) > 0 && us(old.it_value) <= 30000, us(old.it_interval));
	show_timer("disarmed with an interval", 0);
	usleep(100000);
	printf("no alarm since: %d\n", alarms == then);
	memset(&v, 0, sizeof(v));
	T(setitimer(ITIMER_REAL, &v, NULL));

	printf("-- a child starts with none\n");
	T(alarm(10));
	pid_t kid = fork();
	if (kid == 0) {
		show_timer("child", 0);
		_exit(0);
	}
	int st;
	waitpid(kid, &st, 0);
	status("child", st);
	T(alarm(0) > 8);

	printf("-- SIGALRM's default action ends the process\n");
	kid = fork();
	if (kid == 0) {
		signal(SIGALRM, SIG_DFL);
		struct itimerval k = { { 0, 0 }, { 0, 50000 } };
		setitimer(ITIMER_REAL, &k, NULL);
		for (;;)
			pause();
	}
	waitpid(kid, &st, 0);
	status("child", st);
	cpu_timers(argv[0]);
	printf("done\n");
	return 0;
}
