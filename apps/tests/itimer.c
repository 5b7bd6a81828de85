/* Interval timers (ITIMER_REAL) and alarm: bad arguments, alarm's
 * rounded seconds left, a one-shot timer ending pause with its handler,
 * a periodic one, the old value setitimer gives back, a disarm dropping
 * the interval, a child starting with none, SIGALRM's default action.
 * Prints what every call returned (times as comparisons: they differ from
 * run to run); the output is the same on Linux (tests/run.py compares
 * them). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
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
	printf("done\n");
	return 0;
}
