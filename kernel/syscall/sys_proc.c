/*
 * Processes: fork, vfork, clone (fork's flags only), execve, wait4,
 * waitid, getppid, kill, tkill, tgkill, rt_sigreturn, nanosleep,
 * clock_nanosleep, the process-group calls, the identity calls (one user:
 * root), sched_yield.
 *
 * vfork is fork (copy-on-write makes it cheap; the parent does not wait
 * for the child's exec, which POSIX allows). clone takes only what fork
 * means (SIGCHLD as the exit signal, nothing shared): threads are not
 * there yet, and any other flag returns -EINVAL, counted.
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

long sys_fork(const u64 a[6])
{
	(void)a;
	struct user_regs r;
	arch_user_get_regs(&r);
	return proc_fork(&r, 0, 0, 0);
}

#define CSIGNAL 0xff
#define CLONE_FORK_FLAGS (CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID)

long sys_clone(const u64 a[6])
{
	/* clone(flags, stack, parent_tid, child_tid, tls) */
	if ((a[0] & ~(u64)(CSIGNAL | CLONE_FORK_FLAGS)) || (a[0] & CSIGNAL) != SIGCHLD || a[1])
		return -EINVAL;   /* threads, vfork's sharing, namespaces: not supported */
	struct user_regs r;
	arch_user_get_regs(&r);
	return proc_fork(&r, a[0], a[2], a[3]);
}

#define EXEC_STRINGS (128 * 1024)   /* argument and environment bytes */
#define EXEC_PTRS    1024

/* A NULL-ended user array of strings into kernel memory (pool). */
static int copy_strv(u64 uv, char **pool, size_t *left, const char **out, int max)
{
	int n = 0;
	for (; uv; n++) {
		u64 up;
		if (copy_from_user(&up, uv + 8 * (u64)n, 8) < 0)
			return -EFAULT;
		if (!up)
			break;
		if (n == max)
			return -E2BIG;
		size_t k = 0;
		for (;;) {
			if (k == *left)
				return -E2BIG;
			if (copy_from_user(*pool + k, up + k, 1) < 0)
				return -EFAULT;
			if (!(*pool)[k++])
				break;
		}
		out[n] = *pool;
		*pool += k;
		*left -= k;
	}
	out[n] = NULL;
	return n;
}

long sys_execve(const u64 a[6])
{
	char *path;
	int r = sys_path(a[0], &path);
	if (r < 0)
		return r;
	char *strings = kmalloc(EXEC_STRINGS, 0);
	const char **argv = kmalloc(sizeof(char *) * (EXEC_PTRS + 1), 0);
	const char **envp = kmalloc(sizeof(char *) * (EXEC_PTRS + 1), 0);
	if (!strings || !argv || !envp) {
		r = -ENOMEM;
		goto out;
	}
	char *pool = strings;
	size_t left = EXEC_STRINGS;
	r = copy_strv(a[1], &pool, &left, argv, EXEC_PTRS);
	if (r >= 0)
		r = copy_strv(a[2], &pool, &left, envp, EXEC_PTRS);
	if (r >= 0)
		r = proc_execve(path, argv, envp);
out:
	kfree(path);
	kfree(strings);
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
	int r = proc_wait_child(pid, opts & WNOHANG, &status);
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
	if (!(opts & WEXITED))
		return -ECHILD;   /* stopped and continued children: none exist */
	int status;
	int r = proc_wait_child(pid, opts & WNOHANG, &status);
	if (r < 0)
		return r;
	if (a[2]) {
		s32 si[32];
		memset(si, 0, sizeof(si));
		if (r > 0) {
			si[0] = SIGCHLD;
			si[2] = (status & 0x7f) ? CLD_KILLED : CLD_EXITED;
			si[4] = r;
			si[6] = (status & 0x7f) ? (status & 0x7f) : (status >> 8) & 0xff;
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

/* one thread a process: a thread id is its process id */
long sys_tkill(const u64 a[6])
{
	if ((s32)a[0] <= 0)
		return -EINVAL;
	return proc_kill((s32)a[0], (s32)a[1]);
}

long sys_tgkill(const u64 a[6])
{
	if ((s32)a[0] <= 0 || (s32)a[1] <= 0)
		return -EINVAL;
	if (a[0] != a[1])
		return -ESRCH;
	return proc_kill((s32)a[1], (s32)a[2]);
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

/* Sleep until deadline (the monotonic clock) or a signal: 0 or -EINTR. */
static int sleep_until(u64 deadline)
{
	while (arch_clock_ns() < deadline) {
		if (proc_signal_pending())
			return -EINTR;
		u64 left = deadline - arch_clock_ns();
		thread_sleep_ns(MIN(left, 10000000ULL));   /* signals are seen within 10 ms */
	}
	return 0;
}

static long do_nanosleep(u64 ureq, u64 urem, bool abs)
{
	struct timespec ts;
	if (copy_from_user(&ts, ureq, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
		return -EINVAL;
	u64 ns = (u64)ts.sec * 1000000000ULL + (u64)ts.nsec;
	u64 now = arch_clock_ns();
	u64 deadline = abs ? ns : now + ns;
	int r = sleep_until(deadline);
	if (r == -EINTR && urem && !abs) {
		u64 rem = deadline > arch_clock_ns() ? deadline - arch_clock_ns() : 0;
		struct timespec out = { (s64)(rem / 1000000000ULL), (s64)(rem % 1000000000ULL) };
		if (copy_to_user(urem, &out, sizeof(out)) < 0)
			return -EFAULT;
	}
	return r;
}

long sys_nanosleep(const u64 a[6]) { return do_nanosleep(a[0], a[1], false); }

/* Every clock counts from boot (no wall clock yet): an absolute time of
 * CLOCK_REALTIME is one of CLOCK_MONOTONIC. */
long sys_clock_nanosleep(const u64 a[6])
{
	s32 clk = (s32)a[0];
	if (clk != 0 && clk != 1 && clk != 7)   /* REALTIME, MONOTONIC, BOOTTIME */
		return clk == 2 ? -ENOTSUP : -EINVAL;
	if (a[1] & ~(u64)TIMER_ABSTIME)
		return -EINVAL;
	long r = do_nanosleep(a[2], a[3], a[1] & TIMER_ABSTIME);
	return r;
}

long sys_getpgid(const u64 a[6])
{
	struct proc *p = proc_current();
	if (a[0] == 0 || (s32)a[0] == p->pid)
		return p->pgid;
	return (s32)a[0] < 0 ? -ESRCH : proc_kill((s32)a[0], 0) < 0 ? -ESRCH : -EPERM;
}

long sys_getpgrp(const u64 a[6])
{
	(void)a;
	return proc_current()->pgid;
}

/* Only a process's own group may be set (its children's: not yet). */
long sys_setpgid(const u64 a[6])
{
	struct proc *p = proc_current();
	s32 pid = (s32)a[0], pgid = (s32)a[1];
	if (pgid < 0)
		return -EINVAL;
	if (pid != 0 && pid != p->pid)
		return -ESRCH;
	p->pgid = pgid ? pgid : p->pid;
	return 0;
}

long sys_setsid(const u64 a[6])
{
	(void)a;
	struct proc *p = proc_current();
	if (p->pgid == p->pid)
		return -EPERM;
	p->pgid = p->pid;
	return p->pid;
}

/* one user: root */
long sys_getuid(const u64 a[6])
{
	(void)a;
	return 0;
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

long sys_rt_sigsuspend(const u64 a[6])
{
	if (a[1] != 8)
		return -EINVAL;
	u64 mask;
	if (copy_from_user(&mask, a[0], sizeof(mask)) < 0)
		return -EFAULT;
	return proc_sigsuspend(&mask);
}
