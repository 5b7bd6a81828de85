/*
 * Processes and threads: fork, vfork, clone, clone3, unshare, execve, wait4, waitid, getppid,
 * kill, tkill,
 * tgkill, rt_sigreturn, nanosleep, clock_nanosleep, getitimer, setitimer and
 * alarm, the process-group
 * calls, the identity calls (one user: root), sched_yield, futex,
 * set_robust_list, get_robust_list, sched_getaffinity,
 * sched_setaffinity, the rlimit calls, sigaltstack, madvise.
 *
 * vfork shares the address space and the caller sleeps until the child
 * execs or ends, as on Linux. clone makes either a process (SIGCHLD as
 * the exit signal; its own copy of the space, or the caller's space with
 * CLONE_VM, as posix_spawn's CLONE_VM|CLONE_VFORK asks; sharing the
 * caller's descriptor table with CLONE_FILES, working directory and umask
 * with CLONE_FS, signal actions with CLONE_SIGHAND) or a thread
 * (CLONE_THREAD with CLONE_VM, CLONE_FS, CLONE_FILES and CLONE_SIGHAND,
 * what both libcs' pthread_create ask for). clone3 takes the same through
 * struct clone_args, and CLONE_CLEAR_SIGHAND. The combinations Linux
 * refuses give its errors; the ones Linux allows and Caboose does not
 * support (a thread with its own files or fs; CLONE_PARENT; pidfds;
 * namespaces; set_tid; an exit signal other than SIGCHLD) give -EINVAL.
 * unshare undoes CLONE_FILES and CLONE_FS (proc_unshare).
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

long sys_fork(const u64 a[6])
{
	(void)a;
	struct user_regs r;
	arch_user_get_regs(&r);
	return proc_fork(&r, 0, 0, 0, 0);
}

#define CSIGNAL 0xff
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUTS    0x04000000
#define CLONE_NEWIPC    0x08000000
#define CLONE_NEWUSER   0x10000000
#define CLONE_NEWPID    0x20000000
#define CLONE_NEWNET    0x40000000
#define CLONE_IO        0x80000000
#define CLONE_INTO_CGROUP   0x200000000ULL
#define CLONE_NEWTIME   0x00000080
/* no effect here: nothing is traced, no System V semaphores, and
 * CLONE_DETACHED is ignored by Linux too */
#define CLONE_NOOP_FLAGS (CLONE_SYSVSEM | CLONE_DETACHED | CLONE_PTRACE | CLONE_UNTRACED)
#define CLONE_TID_FLAGS (CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | \
			 CLONE_SETTLS)
#define CLONE_PROC_FLAGS (CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_FS | CLONE_SIGHAND | \
			  CLONE_CLEAR_SIGHAND | CLONE_TID_FLAGS | CLONE_NOOP_FLAGS)
#define CLONE_THREAD_NEEDS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_THREAD_FLAGS (CLONE_THREAD_NEEDS | CLONE_TID_FLAGS | CLONE_NOOP_FLAGS)

/* clone and clone3's common part (Linux's kernel_clone and copy_process
 * checks, in their order): flags without the exit signal, stack the new
 * stack pointer (0: the caller's). */
static long do_clone(u64 fl, u64 exit_signal, u64 stack, u64 parent_tid, u64 child_tid,
		     u64 tls)
{
	if ((fl & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS))
		return -EINVAL;
	if ((fl & (CLONE_NEWUSER | CLONE_FS)) == (CLONE_NEWUSER | CLONE_FS))
		return -EINVAL;
	if ((fl & CLONE_THREAD) && !(fl & CLONE_SIGHAND))
		return -EINVAL;
	if ((fl & CLONE_SIGHAND) && !(fl & CLONE_VM))
		return -EINVAL;
	if ((fl & CLONE_THREAD) && (fl & (CLONE_NEWUSER | CLONE_NEWPID)))
		return -EINVAL;
	if ((fl & CLONE_PIDFD) && (fl & (CLONE_DETACHED | CLONE_THREAD)))
		return -EINVAL;
	struct user_regs r;
	arch_user_get_regs(&r);
	if ((fl & CLONE_SETTLS) && tls >= USER_TOP)
		return -EPERM;   /* as ARCH_SET_FS */
	if (fl & CLONE_THREAD) {
		if ((fl & CLONE_THREAD_NEEDS) != CLONE_THREAD_NEEDS || (fl & ~(u64)CLONE_THREAD_FLAGS))
			return -EINVAL;   /* a thread with its own files or fs: not supported */
		if (stack)
			r.rsp = stack;
		return proc_clone_thread(&r, fl, parent_tid, child_tid, tls);
	}
	/* a process: fork's copy, or posix_spawn's and vfork's shared space
	 * with the parent asleep until the child execs or ends; its files, fs
	 * and signal actions shared on request. CLONE_PARENT, pidfds,
	 * namespaces, and an exit signal other than SIGCHLD are not supported
	 * (-EINVAL). */
	if ((fl & ~(u64)CLONE_PROC_FLAGS) || exit_signal != SIGCHLD)
		return -EINVAL;
	if (stack)
		r.rsp = stack;
	return proc_fork(&r, fl, parent_tid, child_tid, tls);
}

long sys_vfork(const u64 a[6])
{
	(void)a;
	struct user_regs r;
	arch_user_get_regs(&r);
	return proc_fork(&r, CLONE_VM | CLONE_VFORK, 0, 0, 0);
}

long sys_clone(const u64 a[6])
{
	/* clone(flags, stack, parent_tid, child_tid, tls) */
	u64 fl = a[0] & 0xffffffffULL;   /* Linux takes the flags as an int */
	/* clone's pidfd and parent_tid are one pointer (Linux's kernel_clone) */
	if ((fl & CLONE_PIDFD) && (fl & CLONE_PARENT_SETTID))
		return -EINVAL;
	return do_clone(fl & ~(u64)CSIGNAL, fl & CSIGNAL, a[1], a[2], a[3], a[4]);
}

/* struct clone_args, as Linux 6.1 has it (88 bytes, CLONE_ARGS_SIZE_VER2) */
struct clone_args {
	u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	u64 set_tid, set_tid_size, cgroup;
};
#define CLONE_ARGS_SIZE_VER0 64

long sys_clone3(const u64 a[6])
{
	u64 uargs = a[0], size = a[1];
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	if (size > PAGE_SIZE)
		return -E2BIG;
	if (size < CLONE_ARGS_SIZE_VER0)
		return -EINVAL;
	if (copy_from_user(&ca, uargs, size < sizeof(ca) ? size : sizeof(ca)) < 0)
		return -EFAULT;
	/* a larger struct than ours: its tail must be zeros (copy_struct_from_user) */
	for (u64 off = sizeof(ca); off < size; off += 8) {
		u64 chunk = 0;
		u64 n = size - off < 8 ? size - off : 8;
		if (copy_from_user(&chunk, uargs + off, n) < 0)
			return -EFAULT;
		if (chunk)
			return -E2BIG;
	}
	if (ca.set_tid_size > 32)   /* MAX_PID_NS_LEVEL */
		return -EINVAL;
	if ((!ca.set_tid && ca.set_tid_size) || (ca.set_tid && !ca.set_tid_size))
		return -EINVAL;
	if ((ca.exit_signal & ~(u64)CSIGNAL) || ca.exit_signal > PROC_NSIG)
		return -EINVAL;
	if ((ca.flags & CLONE_INTO_CGROUP) && (ca.cgroup > INT32_MAX || size < 88))
		return -EINVAL;
	/* clone3_args_valid */
	if (ca.flags & ~(0xffffffffULL | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP))
		return -EINVAL;
	if (ca.flags & (CLONE_DETACHED | (CSIGNAL & ~(u64)CLONE_NEWTIME)))
		return -EINVAL;
	if ((ca.flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND)) ==
	    (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND))
		return -EINVAL;
	if ((ca.flags & (CLONE_THREAD | CLONE_PARENT)) && ca.exit_signal)
		return -EINVAL;
	if (!ca.stack ? ca.stack_size != 0 :
	    (!ca.stack_size || ca.stack + ca.stack_size < ca.stack ||
	     ca.stack + ca.stack_size > USER_TOP))
		return -EINVAL;
	/* what Caboose does not do: choosing the pid, cgroups, pidfds,
	 * time namespaces */
	if (ca.set_tid || (ca.flags & (CLONE_INTO_CGROUP | CLONE_NEWTIME)))
		return -EINVAL;
	return do_clone(ca.flags, ca.exit_signal, ca.stack ? ca.stack + ca.stack_size : 0,
			ca.parent_tid, ca.child_tid, ca.tls);
}

/* unshare(2): Linux's ksys_unshare and check_unshare_flags, in their
 * order; the namespaces are not supported (-EINVAL, logged once). */
#define UNSHARE_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER | \
		    CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)
#define UNSHARE_FLAGS (UNSHARE_NS | CLONE_THREAD | CLONE_FS | CLONE_SIGHAND | CLONE_VM | \
		       CLONE_FILES | CLONE_SYSVSEM)

long sys_unshare(const u64 a[6])
{
	u64 fl = a[0];
	if (fl & CLONE_NEWUSER)
		fl |= CLONE_THREAD | CLONE_FS;
	if (fl & CLONE_VM)
		fl |= CLONE_SIGHAND;
	if (fl & CLONE_SIGHAND)
		fl |= CLONE_THREAD;
	if (fl & CLONE_NEWNS)
		fl |= CLONE_FS;
	if (fl & ~(u64)UNSHARE_FLAGS)
		return -EINVAL;
	if (fl & UNSHARE_NS) {
		static bool said;
		if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
			pr_info("unshare: pid %d: namespaces (flags %#llx) are not supported: -EINVAL",
				proc_current()->pid, (unsigned long long)fl);
		return -EINVAL;
	}
	return proc_unshare(fl);
}

/* execve's strings, copied in: a pool that doubles as it fills (the
 * strings at offsets, made pointers once all are in), bounded by Linux's
 * limits (proc.h EXEC_ARG_*: -E2BIG) */
struct strpool {
	char *buf;
	size_t used, cap, total;     /* total: strings and pointers, as Linux counts */
};

/* A NULL-ended user array of strings into the pool: how many, their
 * offsets in *offs (grown as needed, n + 1 entries), or an error. */
static long copy_strv(u64 uv, struct strpool *p, size_t **offs)
{
	size_t n = 0, ncap = 0;
	for (; uv; n++) {
		u64 up;
		if (copy_from_user(&up, uv + 8 * (u64)n, 8) < 0)
			return -EFAULT;
		if (!up)
			break;
		if (n + 1 >= ncap) {
			size_t nc = ncap ? 2 * ncap : 64;
			size_t *no = kmalloc(nc * sizeof(*no), 0);
			if (!no)
				return -ENOMEM;
			if (*offs)
				memcpy(no, *offs, n * sizeof(*no));
			kfree(*offs);
			*offs = no;
			ncap = nc;
		}
		(*offs)[n] = p->used;
		for (size_t k = 0;; k++) {
			if (k >= EXEC_ARG_STRLEN || p->total + k + 1 + 8 > EXEC_ARG_MAX)
				return -E2BIG;
			if (p->used == p->cap) {
				size_t nc = p->cap ? 2 * p->cap : 4096;
				char *nb = kmalloc(nc, 0);
				if (!nb)
					return -ENOMEM;
				memcpy(nb, p->buf, p->used);
				kfree(p->buf);
				p->buf = nb;
				p->cap = nc;
			}
			if (copy_from_user(p->buf + p->used, up + k, 1) < 0)
				return -EFAULT;
			if (!p->buf[p->used++]) {
				p->total += k + 1 + 8;
				break;
			}
		}
	}
	if (!*offs && !(*offs = kmalloc(sizeof(**offs), 0)))
		return -ENOMEM;
	return (long)n;
}

/* The pool's strings as a NULL-ended array of pointers (freed by the caller) */
static const char **strv_of(const struct strpool *p, const size_t *offs, long n)
{
	const char **v = kmalloc(sizeof(*v) * (size_t)(n + 1), 0);
	if (!v)
		return NULL;
	for (long i = 0; i < n; i++)
		v[i] = p->buf + offs[i];
	v[n] = NULL;
	return v;
}

long sys_execve(const u64 a[6])
{
	char *path;
	int r = sys_path(a[0], &path);
	if (r < 0)
		return r;
	struct strpool pool = { 0 };
	size_t *aoff = NULL, *eoff = NULL;
	const char **argv = NULL, **envp = NULL;
	long argc = copy_strv(a[1], &pool, &aoff), envc = 0;
	if (argc >= 0)
		envc = copy_strv(a[2], &pool, &eoff);
	if (argc < 0 || envc < 0) {
		r = (int)(argc < 0 ? argc : envc);
	} else if (!(argv = strv_of(&pool, aoff, argc)) || !(envp = strv_of(&pool, eoff, envc))) {
		r = -ENOMEM;
	} else {
		r = proc_execve(path, argv, envp);
	}
	kfree(path);
	kfree(pool.buf);
	kfree(aoff);
	kfree(eoff);
	kfree(argv);
	kfree(envp);
	return r;
}

#define WNOHANG    1
#define WUNTRACED  2
#define WEXITED    4
#define WCONTINUED 8
#define WNOWAIT    0x01000000
#define __WNOTHREAD 0x20000000
#define __WALL     0x40000000
#define __WCLONE   0x80000000

long sys_wait4(const u64 a[6])
{
	s32 pid = (s32)a[0];
	u64 opts = a[2];
	if (opts & ~(u64)(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE))
		return -EINVAL;
	if (pid == INT32_MIN)
		return -ESRCH;
	int status;
	int r = proc_wait_child(pid, (int)(opts & (WNOHANG | WUNTRACED | WCONTINUED)), &status);
	if (r > 0 && a[1] && copy_to_user(a[1], &status, sizeof(status)) < 0)
		return -EFAULT;
	if (r > 0 && a[3]) {
		u8 ru[144];   /* struct rusage: no accounting yet, zeros */
		memset(ru, 0, sizeof(ru));
		if (copy_to_user(a[3], ru, sizeof(ru)) < 0)
			return -EFAULT;
	}
	return r;
}

#define P_ALL  0
#define P_PID  1
#define P_PGID 2
#define CLD_EXITED 1
#define CLD_KILLED 2
#define CLD_STOPPED 5
#define CLD_CONTINUED 6

long sys_waitid(const u64 a[6])
{
	u64 which = a[0], opts = a[3];
	s32 id = (s32)a[1];
	if (opts & ~(u64)(WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | __WNOTHREAD |
			  __WALL | __WCLONE))
		return -EINVAL;
	if (!(opts & (WEXITED | WUNTRACED | WCONTINUED)))
		return -EINVAL;
	if (opts & WNOWAIT)
		return -EINVAL;   /* leaving the child waitable: not supported */
	int pid;
	if (which == P_ALL)
		pid = -1;
	else if (which == P_PID && id > 0)
		pid = id;
	else if (which == P_PGID && id >= 0)
		pid = id ? -id : 0;
	else
		return -EINVAL;
	int status;
	int r = proc_wait_child(pid, (int)(opts & (WNOHANG | WUNTRACED | WCONTINUED)) |
				     (opts & WEXITED ? 0 : PROC_WAIT_NOEXIT), &status);
	if (r < 0)
		return r;
	if (a[2]) {
		s32 si[32];
		memset(si, 0, sizeof(si));
		if (r > 0) {
			si[0] = SIGCHLD;
			si[4] = r;
			if (status == 0xffff) {
				si[2] = CLD_CONTINUED;
				si[6] = SIGCONT;
			} else if ((status & 0xff) == 0x7f) {
				si[2] = CLD_STOPPED;
				si[6] = (status >> 8) & 0xff;
			} else {
				si[2] = (status & 0x7f) ? CLD_KILLED : CLD_EXITED;
				si[6] = (status & 0x7f) ? (status & 0x7f) : (status >> 8) & 0xff;
			}
		}
		if (copy_to_user(a[2], si, sizeof(si)) < 0)
			return -EFAULT;
	}
	return 0;
}

long sys_getppid(const u64 a[6])
{
	(void)a;
	struct proc *parent = READ_ONCE(proc_current()->parent);
	return parent ? parent->pid : 0;
}

long sys_kill(const u64 a[6])
{
	s32 pid = (s32)a[0];
	if (pid == INT32_MIN)
		return -ESRCH;
	return proc_kill(pid, (s32)a[1]);
}

long sys_tkill(const u64 a[6])
{
	if ((s32)a[0] <= 0)
		return -EINVAL;
	return proc_tkill(0, (s32)a[0], (s32)a[1]);
}

long sys_tgkill(const u64 a[6])
{
	if ((s32)a[0] <= 0 || (s32)a[1] <= 0)
		return -EINVAL;
	return proc_tkill((s32)a[0], (s32)a[1], (s32)a[2]);
}

long sys_rt_sigreturn(const u64 a[6])
{
	(void)a;
	return sys_rt_sigreturn_impl();
}

struct timespec {
	s64 sec, nsec;
};

#define TIMER_ABSTIME 1

/* Sleep until the monotonic clock reads t or, for an absolute CLOCK_REALTIME
 * time (realtime), until the wall clock reads t: its offset is read again
 * at every step, so that a clock_settime or settimeofday past t ends the
 * sleep within a step and one back before it lengthens the sleep (Linux's
 * absolute timers follow the clock the same way). 0, or -EINTR on a
 * signal; signals are seen within a 10 ms step. */
static int sleep_until(u64 t, bool realtime)
{
	for (;;) {
		u64 now = arch_clock_ns(), deadline = t;
		if (realtime) {
			u64 off = arch_realtime_offset_ns();
			deadline = t > off ? t - off : 0;   /* 0: long past */
		}
		if (now >= deadline)
			return 0;
		if (proc_signal_pending())
			return -EINTR;
		thread_sleep_ns(MIN(deadline - now, 10000000ULL));
	}
}

/* realtime: an absolute time is the wall clock's (CLOCK_REALTIME) */
static long do_nanosleep(u64 ureq, u64 urem, bool abs, bool realtime)
{
	struct timespec ts;
	if (copy_from_user(&ts, ureq, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
		return -EINVAL;
	u64 ns = (u64)ts.sec * 1000000000ULL + (u64)ts.nsec;
	u64 deadline = abs ? ns : arch_clock_ns() + ns;
	int r = sleep_until(deadline, abs && realtime);
	if (r == -EINTR && urem && !abs) {
		u64 rem = deadline > arch_clock_ns() ? deadline - arch_clock_ns() : 0;
		struct timespec out = { (s64)(rem / 1000000000ULL), (s64)(rem % 1000000000ULL) };
		if (copy_to_user(urem, &out, sizeof(out)) < 0)
			return -EFAULT;
	}
	return r;
}

long sys_nanosleep(const u64 a[6]) { return do_nanosleep(a[0], a[1], false, false); }

long sys_clock_nanosleep(const u64 a[6])
{
	s32 clk = (s32)a[0];
	if (clk != 0 && clk != 1 && clk != 7)   /* REALTIME, MONOTONIC, BOOTTIME */
		return clk == 2 ? -ENOTSUP : -EINVAL;
	if (a[1] & ~(u64)TIMER_ABSTIME)
		return -EINVAL;
	return do_nanosleep(a[2], a[3], a[1] & TIMER_ABSTIME, clk == 0);
}

long sys_getpgid(const u64 a[6])
{
	struct proc *p = proc_current();
	if (a[0] == 0 || (s32)a[0] == p->pid)
		return p->pgid;
	return (s32)a[0] < 0 ? -ESRCH : proc_getpgid((s32)a[0]);
}

long sys_getpgrp(const u64 a[6])
{
	(void)a;
	return proc_current()->pgid;
}

/* Its own group or a child's (a shell sets both sides of a fork). */
long sys_setpgid(const u64 a[6])
{
	s32 pid = (s32)a[0], pgid = (s32)a[1];
	if (pgid < 0)
		return -EINVAL;
	return proc_setpgid(pid, pgid);
}

long sys_setsid(const u64 a[6])
{
	(void)a;
	struct proc *p = proc_current();
	if (p->pgid == p->pid)
		return -EPERM;
	p->pgid = p->pid;
	p->sid = p->pid;
	p->ctty = false;   /* a new session has no terminal */
	return p->pid;
}

long sys_getsid(const u64 a[6])
{
	struct proc *p = proc_current();
	if (a[0] == 0 || (s32)a[0] == p->pid)
		return p->sid;
	return proc_getsid((s32)a[0]);
}

long sys_sched_yield(const u64 a[6])
{
	(void)a;
	thread_yield();
	return 0;
}

long sys_pause(const u64 a[6])
{
	(void)a;
	return proc_sigsuspend(NULL);
}

/* Interval timers: ITIMER_REAL (SIGALRM; proc_itimer_real), ITIMER_VIRTUAL
 * (SIGVTALRM) and ITIMER_PROF (SIGPROF), counting CPU time
 * (proc_itimer_cpu); any other which: -EINVAL. */
#define ITIMER_REAL 0
#define ITIMER_PROF 2
struct itimerval {
	s64 interval_s, interval_us, value_s, value_us;
};

static void itimer_call(u64 which, bool set, u64 value_ns, u64 incr_ns, u64 *left, u64 *incr)
{
	if (which == ITIMER_REAL)
		proc_itimer_real(set, value_ns, incr_ns, left, incr);
	else
		proc_itimer_cpu((int)which, set, value_ns, incr_ns, left, incr);
}

static struct itimerval itimer_out(u64 left_ns, u64 incr_ns)
{
	return (struct itimerval){ (s64)(incr_ns / 1000000000), (s64)(incr_ns % 1000000000 / 1000),
				   (s64)(left_ns / 1000000000), (s64)(left_ns % 1000000000 / 1000) };
}

static bool timeval_ok(s64 s, s64 us) { return s >= 0 && us >= 0 && us < 1000000; }

/* seconds past 292 years: as good as never (Linux's clamp is similar) */
static u64 tv_ns(s64 s, s64 us)
{
	return (u64)s >= UINT64_MAX / 1000000000 - 1 ? UINT64_MAX / 2 : (u64)s * 1000000000 + (u64)us * 1000;
}

long sys_getitimer(const u64 a[6])
{
	if (a[0] > ITIMER_PROF)
		return -EINVAL;
	u64 left, incr;
	itimer_call(a[0], false, 0, 0, &left, &incr);
	struct itimerval v = itimer_out(left, incr);
	return copy_to_user(a[1], &v, sizeof(v)) < 0 ? -EFAULT : 0;
}

/* Linux's order: reading the new value, checking it, which, the old out. */
long sys_setitimer(const u64 a[6])
{
	struct itimerval v = { 0, 0, 0, 0 };   /* NULL: disarm, as Linux takes it */
	if (a[1] && copy_from_user(&v, a[1], sizeof(v)) < 0)
		return -EFAULT;
	if (!timeval_ok(v.value_s, v.value_us) || !timeval_ok(v.interval_s, v.interval_us))
		return -EINVAL;
	if (a[0] > ITIMER_PROF)
		return -EINVAL;
	u64 left, incr;
	itimer_call(a[0], true, tv_ns(v.value_s, v.value_us), tv_ns(v.interval_s, v.interval_us),
		    &left, &incr);
	struct itimerval old = itimer_out(left, incr);
	if (a[2] && copy_to_user(a[2], &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

/* alarm: SIGALRM in seconds (0: none), no interval; the seconds the last
 * one had left, rounded to the nearest (at least 1 if any was left). */
long sys_alarm(const u64 a[6])
{
	u64 secs = (u32)a[0], left, incr;
	proc_itimer_real(true, secs * 1000000000, 0, &left, &incr);
	u64 s = left / 1000000000, us = left % 1000000000 / 1000;
	if ((!s && us) || us >= 500000)
		s++;
	return (long)s;
}

long sys_rt_sigsuspend(const u64 a[6])
{
	if (a[1] != 8)
		return -EINVAL;
	u64 mask;
	if (copy_from_user(&mask, a[0], sizeof(mask)) < 0)
		return -EFAULT;
	return proc_sigsuspend(&mask);
}

long sys_futex(const u64 a[6]) { return futex_call(a[0], a[1], a[2], a[3], a[4], a[5]); }

/* struct robust_list_head: next, futex_offset, list_op_pending */
#define ROBUST_HEAD_SIZE 24

long sys_set_robust_list(const u64 a[6])
{
	if (a[1] != ROBUST_HEAD_SIZE)
		return -EINVAL;
	struct uthread *ut = uthread_current();
	ut->robust_list = a[0];
	ut->robust_len = a[1];
	return 0;
}

/* get_robust_list(pid, head_ptr, len_ptr): pid 0 or a thread's id */
long sys_get_robust_list(const u64 a[6])
{
	struct uthread *ut = uthread_current();
	s32 tid = (s32)a[0];
	if (tid && tid != ut->tid)
		return proc_tkill(0, tid, 0) == -ESRCH ? -ESRCH : -EPERM;   /* others': not supported */
	u64 len = ROBUST_HEAD_SIZE;
	if (copy_to_user(a[2], &len, sizeof(len)) < 0)
		return -EFAULT;
	return copy_to_user(a[1], &ut->robust_list, sizeof(u64));
}

/* sched_getaffinity(pid, len, mask): every CPU, as Linux with no
 * affinity set; the mask is one long (Linux: nr_cpu_ids bits rounded up to
 * longs). */
long sys_sched_getaffinity(const u64 a[6])
{
	s32 pid = (s32)a[0];
	u64 len = a[1];
	if (len * 8 < ncpus || (len & 7))
		return -EINVAL;
	if (pid < 0)
		return -ESRCH;
	if (pid && proc_tkill(0, pid, 0) == -ESRCH)
		return -ESRCH;
	u64 mask = ncpus >= 64 ? ~0ULL : (1ULL << ncpus) - 1;
	if (copy_to_user(a[2], &mask, sizeof(mask)) < 0)
		return -EFAULT;
	return sizeof(mask);
}

/* Caboose places threads itself: a mask holding every CPU is accepted,
 * any narrower one is not supported (-EINVAL). */
long sys_sched_setaffinity(const u64 a[6])
{
	s32 pid = (s32)a[0];
	if (pid < 0)
		return -ESRCH;
	if (pid && proc_tkill(0, pid, 0) == -ESRCH)
		return -ESRCH;
	u64 mask = 0;
	u64 n = MIN(a[1], sizeof(mask));
	if (n && copy_from_user(&mask, a[2], n) < 0)
		return -EFAULT;
	u64 all = ncpus >= 64 ? ~0ULL : (1ULL << ncpus) - 1;
	if (!(mask & all))
		return -EINVAL;
	return (mask & all) == all ? 0 : -EINVAL;
}

long sys_sigaltstack(const u64 a[6]) { return proc_sigaltstack(a[0], a[1]); }

/* ---- resource limits: Linux's defaults for a first process; the
 * descriptor limit's hard value is the table's size, its soft value is
 * enforced by the table (fdtable_set_limit). A soft value may go up to the
 * hard one; raising a hard value is not supported (-EPERM). ---- */
#define RLIM_INFINITY (~0ULL)
#define RLIMIT_NLIMITS 16
struct rlim {
	u64 cur, max;
};
static const struct rlim rlim_default[RLIMIT_NLIMITS] = {
	[0] = { RLIM_INFINITY, RLIM_INFINITY },            /* CPU */
	[1] = { RLIM_INFINITY, RLIM_INFINITY },            /* FSIZE */
	[2] = { RLIM_INFINITY, RLIM_INFINITY },            /* DATA */
	[3] = { 8UL << 20, RLIM_INFINITY },                /* STACK */
	[4] = { 0, RLIM_INFINITY },                        /* CORE */
	[5] = { RLIM_INFINITY, RLIM_INFINITY },            /* RSS */
	[6] = { 4096, 4096 },                              /* NPROC */
	[7] = { FD_SOFT_MAX, FD_MAX },                     /* NOFILE */
	[8] = { 8UL << 20, 8UL << 20 },                    /* MEMLOCK */
	[9] = { RLIM_INFINITY, RLIM_INFINITY },            /* AS */
	[10] = { RLIM_INFINITY, RLIM_INFINITY },           /* LOCKS */
	[11] = { 4096, 4096 },                             /* SIGPENDING */
	[12] = { 819200, 819200 },                         /* MSGQUEUE */
	[13] = { 0, 0 },                                   /* NICE */
	[14] = { 0, 0 },                                   /* RTPRIO */
	[15] = { RLIM_INFINITY, RLIM_INFINITY },           /* RTTIME */
};

static long do_prlimit(s32 pid, u64 res, u64 unew, u64 uold)
{
	if (res >= RLIMIT_NLIMITS)
		return -EINVAL;
	struct proc *p = proc_current();
	if (pid && pid != p->pid && proc_tkill(0, pid, 0) == -ESRCH && proc_kill(pid, 0) == -ESRCH)
		return -ESRCH;
	if (pid && pid != p->pid)
		return -EPERM;   /* another process's limits: not supported */
	struct rlim n;
	if (unew) {
		if (copy_from_user(&n, unew, sizeof(n)) < 0)
			return -EFAULT;
		if (n.cur > n.max)
			return -EINVAL;
	}
	struct rlim old = rlim_default[res];
	if (p->rlim_set[res])
		old = (struct rlim){ p->rlim[res].cur, p->rlim[res].max };
	if (unew) {
		if (n.max > old.max)
			return -EPERM;
		p->rlim[res] = (struct rlimit_pair){ n.cur, n.max };
		p->rlim_set[res] = true;
		if (res == 7)   /* NOFILE: the descriptor table enforces it */
			fdtable_set_limit(p->fds, n.cur);
	}
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

long sys_prlimit64(const u64 a[6]) { return do_prlimit((s32)a[0], a[1], a[2], a[3]); }
long sys_getrlimit(const u64 a[6]) { return do_prlimit(0, a[0], 0, a[1]); }
long sys_setrlimit(const u64 a[6]) { return do_prlimit(0, a[0], a[1], 0); }

#define MADV_NORMAL     0
#define MADV_RANDOM     1
#define MADV_SEQUENTIAL 2
#define MADV_WILLNEED   3
#define MADV_DONTNEED   4
#define MADV_FREE       8

/* The hints are taken (and do nothing); MADV_DONTNEED and MADV_FREE give
 * the pages back (the next touch finds zeros, as Linux's private anonymous
 * memory; over a file mapping, MADV_DONTNEED only: the file's bytes, a
 * private mapping's copies gone); the rest: -EINVAL. */
long sys_madvise(const u64 a[6])
{
	u64 addr = a[0], len = a[1], adv = a[2];
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	len = ALIGN_UP(len, PAGE_SIZE);
	if (addr >= USER_TOP || len > USER_TOP - addr)
		return -EINVAL;
	switch (adv) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_FREE:
		break;
	default:
		return -EINVAL;
	}
	if (!len)
		return 0;
	struct vm *vm = proc_current()->vm;
	vm_lock(vm);
	long r = vm_discard(vm, addr, len, adv == MADV_DONTNEED || adv == MADV_FREE,
			    adv == MADV_FREE);
	vm_unlock(vm);
	return r;
}
