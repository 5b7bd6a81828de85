/* Setting the wall clock: clock_settime(CLOCK_REALTIME) and settimeofday
 * as root and as a user, their bad arguments in Linux's order; a setting
 * seen at once through the vDSO (musl's clock_gettime and time use it) and
 * the system calls, by a thread, a forked child and an execve'd program,
 * CLOCK_MONOTONIC unmoved; the time zone settimeofday keeps for
 * gettimeofday, the first one given without a time moving the clock; an
 * absolute CLOCK_REALTIME sleep ended by the clock set past its end. The
 * time is set back at the end. Times are printed as
 * comparisons (they differ from run to run); the output is the same on
 * Linux (tests/run.py compares them). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

#define NS 1000000000LL
#define CLOCK_TAI 11
#define HOUR (3600 * NS)

static long long ns_of(struct timespec t) { return t.tv_sec * NS + t.tv_nsec; }

/* through the vDSO (musl looks __vdso_clock_gettime up) */
static long long vdso_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return ns_of(t);
}

/* through the system call */
static long long sys_ns(clockid_t c)
{
	struct timespec t;
	syscall(SYS_clock_gettime, c, &t);
	return ns_of(t);
}

/* CLOCK_REALTIME's offset from CLOCK_MONOTONIC now */
static long long offset(void)
{
	long long m = vdso_ns(CLOCK_MONOTONIC);
	return vdso_ns(CLOCK_REALTIME) - m;
}

static int near(long long a, long long b, long long within) { return llabs(a - b) < within; }

/* to the nearest minute */
static long long minutes(long long ns) { return (ns + (ns < 0 ? -30 : 30) * NS) / (60 * NS); }

static struct timespec ts_of(long long ns) { return (struct timespec){ ns / NS, ns % NS }; }

static long set_ns(long long ns)
{
	struct timespec t = ts_of(ns);
	return syscall(SYS_clock_settime, CLOCK_REALTIME, &t);
}

/* Every reading of the wall clock there is agrees with want_off (the
 * offset from the monotonic clock) within a second. */
static void readings(const char *who, long long want_off)
{
	long long m = vdso_ns(CLOCK_MONOTONIC);
	long long v = vdso_ns(CLOCK_REALTIME), s = sys_ns(CLOCK_REALTIME);
	long long c = vdso_ns(CLOCK_REALTIME_COARSE);
	struct timeval tv;
	syscall(SYS_gettimeofday, &tv, NULL);
	long long g = tv.tv_sec * NS + tv.tv_usec * 1000LL;
	long long t = (long long)time(NULL) * NS, ts = syscall(SYS_time, NULL) * NS;
	printf("%s: vDSO %d, syscall %d, coarse %d, gettimeofday %d, time %d %d\n", who,
	       near(v - m, want_off, NS), near(s - m, want_off, NS), near(c - m, want_off, NS),
	       near(g - m, want_off, NS), near(t - m, want_off, 2 * NS),
	       near(ts - m, want_off, 2 * NS));
}

static long long thread_off;
static void *reader(void *arg)
{
	(void)arg;
	thread_off = offset();
	return NULL;
}

static void bad_arguments(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct timespec t = now;
	T(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &t));
	T(syscall(SYS_clock_settime, CLOCK_PROCESS_CPUTIME_ID, &t));
	T(syscall(SYS_clock_settime, CLOCK_THREAD_CPUTIME_ID, &t));
	T(syscall(SYS_clock_settime, CLOCK_MONOTONIC_RAW, &t));
	T(syscall(SYS_clock_settime, CLOCK_REALTIME_COARSE, &t));
	T(syscall(SYS_clock_settime, CLOCK_BOOTTIME, &t));
	T(syscall(SYS_clock_settime, CLOCK_TAI, &t));
	T(syscall(SYS_clock_settime, 99, &t));
	T(syscall(SYS_clock_settime, 99, NULL));
	T(syscall(SYS_clock_settime, CLOCK_REALTIME, NULL));
	T(syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)8));
	t.tv_nsec = NS;
	T(syscall(SYS_clock_settime, CLOCK_REALTIME, &t));
	t.tv_nsec = -1;
	T(syscall(SYS_clock_settime, CLOCK_REALTIME, &t));
	t = (struct timespec){ -1, 0 };
	T(syscall(SYS_clock_settime, CLOCK_REALTIME, &t));
	t = (struct timespec){ 1LL << 40, 0 };
	T(syscall(SYS_clock_settime, CLOCK_REALTIME, &t));
	struct timeval tv = { now.tv_sec, 1000000 };
	T(syscall(SYS_settimeofday, &tv, NULL));
	tv.tv_usec = -1;
	T(syscall(SYS_settimeofday, &tv, NULL));
	tv = (struct timeval){ -1, 0 };
	T(syscall(SYS_settimeofday, &tv, NULL));
	T(syscall(SYS_settimeofday, (void *)8, NULL));
	tv = (struct timeval){ now.tv_sec, 0 };
	T(syscall(SYS_settimeofday, &tv, (void *)8));
	struct timezone tz = { 15 * 60 + 1, 0 };
	T(syscall(SYS_settimeofday, NULL, &tz));
	tz.tz_minuteswest = -15 * 60 - 1;
	T(syscall(SYS_settimeofday, NULL, &tz));
}

/* as a user: the privilege, checked after the copies and the range */
static void as_user(void)
{
	pid_t kid = fork();
	if (kid == 0) {
		T(setuid(1000));
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		T(syscall(SYS_clock_settime, CLOCK_REALTIME, &t));
		T(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &t));
		T(syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)8));
		t.tv_nsec = NS;
		T(syscall(SYS_clock_settime, CLOCK_REALTIME, &t));
		struct timeval tv = { t.tv_sec, 0 };
		T(syscall(SYS_settimeofday, &tv, NULL));
		T(syscall(SYS_settimeofday, NULL, NULL));
		tv.tv_usec = 1000000;
		T(syscall(SYS_settimeofday, &tv, NULL));
		struct timezone tz = { 60, 0 };
		T(syscall(SYS_settimeofday, NULL, &tz));
		tz.tz_minuteswest = 15 * 60 + 1;   /* the privilege comes first */
		T(syscall(SYS_settimeofday, NULL, &tz));
		T(syscall(SYS_settimeofday, NULL, (void *)8));
		_exit(0);
	}
	int st;
	waitpid(kid, &st, 0);
	status("user", st);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "exec")) {   /* the execve'd program */
		printf("after execve: the new time %d\n", near(offset(), atoll(argv[2]), NS));
		return 0;
	}
	long long off0 = offset();
	printf("-- bad arguments as root\n");
	bad_arguments();
	printf("offset unmoved: %d\n", near(offset(), off0, NS));
	printf("-- as a user\n");
	as_user();
	printf("offset unmoved: %d\n", near(offset(), off0, NS));

	printf("-- an hour forward with clock_settime\n");
	long long m0 = vdso_ns(CLOCK_MONOTONIC), mr0 = sys_ns(CLOCK_MONOTONIC);
	T(set_ns(vdso_ns(CLOCK_REALTIME) + HOUR));
	long long off1 = off0 + HOUR;
	readings("now", off1);
	printf("monotonic unmoved: vDSO %d, syscall %d\n", near(vdso_ns(CLOCK_MONOTONIC), m0, NS),
	       near(sys_ns(CLOCK_MONOTONIC), mr0, NS));
	pthread_t th;
	pthread_create(&th, NULL, reader, NULL);
	pthread_join(th, NULL);
	printf("a thread sees it: %d\n", near(thread_off, off1, NS));
	pid_t kid = fork();
	if (kid == 0) {
		readings("a forked child", off1);
		_exit(0);
	}
	int st;
	waitpid(kid, &st, 0);
	status("child", st);
	kid = fork();
	if (kid == 0) {
		char arg[32];
		snprintf(arg, sizeof(arg), "%lld", off1);
		execl(argv[0], argv[0], "exec", arg, (char *)NULL);
		_exit(99);
	}
	waitpid(kid, &st, 0);
	status("execve'd child", st);

	printf("-- back an hour, then two forward with settimeofday\n");
	T(set_ns(vdso_ns(CLOCK_REALTIME) - HOUR));
	readings("back", off0);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	tv.tv_sec += 7200;
	T(syscall(SYS_settimeofday, &tv, NULL));
	readings("two hours on", off0 + 2 * HOUR);
	gettimeofday(&tv, NULL);
	tv.tv_sec -= 7200;
	T(syscall(SYS_settimeofday, &tv, NULL));
	readings("back again", off0);

	printf("-- an absolute CLOCK_REALTIME sleep of 30 s, then the clock an hour on\n");
	int hs[2];
	T(pipe(hs));
	pid_t sleeper = fork();
	if (sleeper == 0) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 30;
		long long m = vdso_ns(CLOCK_MONOTONIC);
		if (write(hs[1], "s", 1) != 1)   /* its end is fixed: the parent may move the clock */
			_exit(2);
		int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
		printf("the sleep returned %d, in under 10 s: %d\n", r,
		       vdso_ns(CLOCK_MONOTONIC) - m < 10 * NS);
		_exit(0);
	}
	char hb;
	T(read(hs[0], &hb, 1));
	usleep(200000);   /* most likely asleep by now; if not, it finds its end past */
	T(set_ns(vdso_ns(CLOCK_REALTIME) + HOUR));
	waitpid(sleeper, &st, 0);
	status("sleeper", st);
	T(set_ns(vdso_ns(CLOCK_REALTIME) - HOUR));
	readings("back", off0);
	close(hs[0]);
	close(hs[1]);
	printf("-- before the monotonic clock: refused\n");
	T(set_ns(0));
	T(set_ns(vdso_ns(CLOCK_MONOTONIC) / 2));
	readings("unmoved", off0);

	printf("-- the time zone\n");
	struct timezone tz = { -1, -1 };
	T(syscall(SYS_gettimeofday, NULL, &tz));
	printf("tz %d %d\n", tz.tz_minuteswest, tz.tz_dsttime);
	T(syscall(SYS_settimeofday, NULL, NULL));
	/* the first time zone since boot, without a time: Linux takes the
	 * RTC to have kept local time and moves the clock to UTC */
	long long before = offset();
	tz = (struct timezone){ -120, 1 };
	T(syscall(SYS_settimeofday, NULL, &tz));
	printf("the clock moved by %lld minutes\n", minutes(offset() - before));
	before = offset();
	tz = (struct timezone){ 60, 0 };
	T(syscall(SYS_settimeofday, NULL, &tz));
	printf("then by %lld minutes\n", minutes(offset() - before));
	tz = (struct timezone){ -120, 1 };
	T(syscall(SYS_settimeofday, NULL, &tz));
	tz = (struct timezone){ 0, 0 };
	T(syscall(SYS_gettimeofday, &tv, &tz));
	printf("tz %d %d\n", tz.tz_minuteswest, tz.tz_dsttime);
	T(syscall(SYS_gettimeofday, NULL, (void *)8));
	tz = (struct timezone){ 0, 0 };
	T(syscall(SYS_settimeofday, NULL, &tz));
	T(syscall(SYS_gettimeofday, NULL, &tz));
	printf("tz %d %d\n", tz.tz_minuteswest, tz.tz_dsttime);
	T(set_ns(vdso_ns(CLOCK_REALTIME) + (off0 - offset())));   /* undo the move */
	readings("at the end", off0);
	printf("done\n");
	return 0;
}
