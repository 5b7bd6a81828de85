/*
 * Process identity and ending, time, randomness, rt_sigaction and
 * rt_sigprocmask (delivery: kernel/proc/signal.c).
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/random.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

/* exit ends the calling thread; the last one ends the process */
long sys_exit(const u64 a[6])
{
	proc_thread_exit((int)((a[0] & 0xff) << 8));
}

long sys_exit_group(const u64 a[6])
{
	proc_exit((int)((a[0] & 0xff) << 8));
}

long sys_getpid(const u64 a[6])
{
	(void)a;
	return proc_current()->pid;   /* the thread group's id */
}

long sys_gettid(const u64 a[6])
{
	(void)a;
	return uthread_current()->tid;
}

long sys_set_tid_address(const u64 a[6])
{
	struct uthread *ut = uthread_current();
	ut->clear_child_tid = a[0];
	return ut->tid;
}

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

long sys_arch_prctl(const u64 a[6])
{
	struct uthread *p = uthread_current();
	switch (a[0]) {
	case ARCH_SET_FS:
		if (a[1] >= USER_TOP)
			return -EPERM;
		arch_user_set_fs(&p->user, a[1]);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user(a[1], &p->user.fs_base, sizeof(u64));
	default:
		return -EINVAL;   /* GS and the CPUID/shadow-stack codes: not yet */
	}
}

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

static void set_field(char *f, const char *v) { memcpy(f, v, strlen(v) + 1); }

long sys_uname(const u64 a[6])
{
	struct utsname u;
	memset(&u, 0, sizeof(u));
	set_field(u.sysname, "Caboose");
	set_field(u.nodename, "caboose");
	set_field(u.release, "6.1.0-caboose");   /* the Linux ABI level it follows */
	set_field(u.version, "#1 SMP");
	set_field(u.machine, "x86_64");
	set_field(u.domainname, "(none)");
	return copy_to_user(a[0], &u, sizeof(u));
}

#define CLOCK_REALTIME           0
#define CLOCK_MONOTONIC          1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID  3
#define CLOCK_MONOTONIC_RAW      4
#define CLOCK_REALTIME_COARSE    5
#define CLOCK_MONOTONIC_COARSE   6
#define CLOCK_BOOTTIME           7

struct timespec {
	s64 sec, nsec;
};

/* CLOCK_REALTIME: the wall clock (the RTC read at boot, carried by the
 * TSC, moved by clock_settime; no NTP slewing); the monotonic clocks count
 * from boot. */
long sys_clock_gettime(const u64 a[6])
{
	u64 ns;
	switch ((s32)a[0]) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		ns = arch_realtime_ns();
		break;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		ns = arch_clock_ns();
		break;
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID: {
		struct thread *t = thread_current();
		ns = t->runtime_ns + (arch_clock_ns() - t->started_ns);
		break;
	}
	default:
		return -EINVAL;
	}
	struct timespec ts = { (s64)(ns / 1000000000ULL), (s64)(ns % 1000000000ULL) };
	return copy_to_user(a[1], &ts, sizeof(ts));
}

/* Linux's timespec64_valid_settod: no negative time, nanoseconds below a
 * second, seconds short of 30 years before ktime_t's end (KTIME_SEC_MAX
 * minus TIME_UPTIME_SEC_MAX) */
#define SETTOD_SEC_MAX (9223372036LL - 30LL * 365 * 24 * 3600)
static bool settod_ok(s64 sec, s64 nsec)
{
	return sec >= 0 && sec < SETTOD_SEC_MAX && nsec >= 0 && nsec < 1000000000;
}

/* clock_settime: only CLOCK_REALTIME may be set (Linux's other clocks
 * have no clock_set: -EINVAL, the CPU-time ones included; the per-pid and
 * per-fd clocks, negative ids, are not supported: -EINVAL as for
 * clock_gettime). Linux's order: the clock, the copy, the range, the
 * privilege (proc_settimeofday). */
long sys_clock_settime(const u64 a[6])
{
	if ((s32)a[0] != CLOCK_REALTIME)
		return -EINVAL;
	struct timespec ts;
	if (copy_from_user(&ts, a[1], sizeof(ts)) < 0)
		return -EFAULT;
	if (!settod_ok(ts.sec, ts.nsec))
		return -EINVAL;
	u64 ns = (u64)ts.sec * 1000000000ULL + (u64)ts.nsec;
	return proc_settimeofday(&ns, NULL);
}

/* settimeofday(tv, tz): either may be NULL (both NULL: only the privilege
 * is checked, as Linux's). The time zone is kept for gettimeofday and
 * nothing else (Linux's sys_tz; no warp of a local-time RTC). Linux's
 * order: tv's copy and microseconds, tz's copy, tv's range, privilege,
 * tz's range. */
long sys_settimeofday(const u64 a[6])
{
	s64 tv[2];
	s32 tz[2];
	if (a[0]) {
		if (copy_from_user(tv, a[0], sizeof(tv)) < 0)
			return -EFAULT;
		if (tv[1] < 0 || tv[1] > 1000000)   /* 1000000 is refused below */
			return -EINVAL;
	}
	if (a[1] && copy_from_user(tz, a[1], sizeof(tz)) < 0)
		return -EFAULT;
	u64 ns = 0;
	if (a[0]) {
		if (!settod_ok(tv[0], tv[1] * 1000))
			return -EINVAL;
		ns = (u64)tv[0] * 1000000000ULL + (u64)tv[1] * 1000;
	}
	return proc_settimeofday(a[0] ? &ns : NULL, a[1] ? tz : NULL);
}

#define GRND_NONBLOCK 1
#define GRND_RANDOM   2
#define GRND_INSECURE 4

long sys_getrandom(const u64 a[6])
{
	u64 buf = a[0];
	size_t len = MIN(a[1], 0x1ffffffUL);   /* Linux's cap on one call */
	if (a[2] & ~(u64)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) ||
	    (a[2] & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	u8 tmp[256];
	size_t done = 0;
	while (done < len) {
		size_t k = MIN(len - done, sizeof(tmp));
		random_bytes(tmp, k);
		size_t got = copy_to_user_partial(buf + done, tmp, k);
		done += got;
		if (got < k)
			break;
	}
	return done || !len ? (long)done : -EFAULT;
}

#define SIG_BLOCK   0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define SIGSET_SIZE 8
#define UNBLOCKABLE ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))

/* The checks in Linux's order (kernel/signal.c): the set size, reading the
 * new action, the signal number, writing the old action. */
long sys_rt_sigaction(const u64 a[6])
{
	struct proc *p = proc_current();
	s64 sig = (s32)a[0];
	if (a[3] != SIGSET_SIZE)
		return -EINVAL;
	struct k_sigaction act;
	if (a[1] && copy_from_user(&act, a[1], sizeof(act)) < 0)
		return -EFAULT;
	if (sig < 1 || sig > PROC_NSIG || (a[1] && (sig == SIGKILL || sig == SIGSTOP)))
		return -EINVAL;
	act.mask &= ~UNBLOCKABLE;
	struct k_sigaction old;
	proc_sigaction(p, (int)sig, a[1] ? &act : NULL, &old);
	if (a[2] && copy_to_user(a[2], &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

/* Linux's order: the set size, reading the new set, how, writing the old. */
long sys_rt_sigprocmask(const u64 a[6])
{
	struct uthread *p = uthread_current();
	if (a[3] != SIGSET_SIZE)
		return -EINVAL;
	u64 set = 0, old = p->sigmask;
	if (a[1]) {
		if (copy_from_user(&set, a[1], sizeof(set)) < 0)
			return -EFAULT;
		set &= ~UNBLOCKABLE;
		if (a[0] == SIG_BLOCK)
			p->sigmask |= set;
		else if (a[0] == SIG_UNBLOCK)
			p->sigmask &= ~set;
		else if (a[0] == SIG_SETMASK)
			p->sigmask = set;
		else
			return -EINVAL;
	}
	if (a[2] && copy_to_user(a[2], &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

/* rt_sigtimedwait(set, info, timeout, sigsetsize); sigwait's call */
long sys_rt_sigtimedwait(const u64 a[6])
{
	if (a[3] != SIGSET_SIZE)
		return -EINVAL;
	u64 set;
	if (copy_from_user(&set, a[0], sizeof(set)) < 0)
		return -EFAULT;
	s64 timeout;
	int e = sys_timeout(a[2], &timeout);
	if (e < 0)
		return e;
	u8 info[128];
	long sig = proc_sigtimedwait(set, info, timeout);
	if (sig > 0 && a[1] && copy_to_user(a[1], info, sizeof(info)) < 0)
		return -EFAULT;
	return sig;
}

/* Linux's order: the size, then writing the set */
long sys_rt_sigpending(const u64 a[6])
{
	if (a[1] > SIGSET_SIZE)
		return -EINVAL;
	u64 set = (u64)proc_sigpending();
	return copy_to_user(a[0], &set, a[1]);
}

/* struct sysinfo of Linux x86-64 */
struct ksysinfo {
	s64 uptime;
	u64 loads[3];
	u64 totalram, freeram, sharedram, bufferram, totalswap, freeswap;
	u16 procs, pad;
	u32 pad2;
	u64 totalhigh, freehigh;
	u32 mem_unit;
	char reserved[4];
};
_Static_assert(sizeof(struct ksysinfo) == 112, "struct sysinfo");

/* sysinfo: uptime, memory in pages (mem_unit PAGE_SIZE), and the threads
 * the scheduler knows as procs (Linux's nr_threads counts kernel threads
 * too). No load average is kept: zeros; no swap. */
long sys_sysinfo(const u64 a[6])
{
	struct page_stats ps;
	page_stats(&ps);
	struct ksysinfo si;
	memset(&si, 0, sizeof(si));
	si.uptime = (s64)(arch_clock_ns() / 1000000000ULL);
	si.totalram = ps.total;
	si.freeram = page_free_count();
	u64 n = thread_count();
	si.procs = (u16)MIN(n, 0xffffULL);
	si.mem_unit = PAGE_SIZE;
	return copy_to_user(a[0], &si, sizeof(si));
}

/* time and gettimeofday: CLOCK_REALTIME's reading (glibc calls them when
 * there is no vDSO to answer without a system call) */
long sys_time(const u64 a[6])
{
	s64 t = (s64)(arch_realtime_ns() / 1000000000ULL);
	if (a[0] && copy_to_user(a[0], &t, sizeof(t)) < 0)
		return -EFAULT;
	return t;
}

long sys_gettimeofday(const u64 a[6])
{
	u64 ns = arch_realtime_ns();
	s64 tv[2] = { (s64)(ns / 1000000000ULL), (s64)(ns % 1000000000ULL / 1000) };
	if (a[0] && copy_to_user(a[0], tv, sizeof(tv)) < 0)
		return -EFAULT;
	if (a[1]) {   /* struct timezone: settimeofday's (UTC until set) */
		s32 tz[2];
		proc_gettz(tz);
		if (copy_to_user(a[1], tz, sizeof(tz)) < 0)
			return -EFAULT;
	}
	return 0;
}

/* getrusage: the CPU time the calling thread has had (RUSAGE_THREAD), or
 * that thread's time for RUSAGE_SELF too (other threads' time is not
 * summed yet), all of it reported as user time: the scheduler does not
 * split user from system time. RUSAGE_CHILDREN: zeros (children's times
 * are not kept). The other fields are zeros. */
#define RUSAGE_SELF     0
#define RUSAGE_CHILDREN (-1)
#define RUSAGE_THREAD   1
long sys_getrusage(const u64 a[6])
{
	s32 who = (s32)a[0];
	if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
		return -EINVAL;
	s64 ru[18];   /* struct rusage: two timevals, then 14 longs */
	memset(ru, 0, sizeof(ru));
	if (who != RUSAGE_CHILDREN) {
		struct thread *t = thread_current();
		u64 ns = t->runtime_ns + (arch_clock_ns() - t->started_ns);
		ru[0] = (s64)(ns / 1000000000ULL);
		ru[1] = (s64)(ns % 1000000000ULL / 1000);
	}
	return copy_to_user(a[1], ru, sizeof(ru));
}
