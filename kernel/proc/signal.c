/*
 * Signals: sending (kill), delivery on the way back to user mode (the
 * architecture's user-return hook), the handler's frame and rt_sigreturn.
 *
 * Two pending sets, words of atomic bits: the process's (kill: any of its
 * threads that does not block the signal takes it) and each thread's own
 * (tgkill, tkill, faults, SIGPIPE). A thread delivers only to itself (on
 * return to user mode: after a system call, a fault or an interrupt), so
 * the frame is built on its own stack (or its alternate stack) by itself;
 * two threads racing for one process-directed signal clear its bit
 * atomically and only the one that saw it set takes it. Each thread has
 * its own mask. A sender sets the bit and wakes the threads that sleep;
 * the sleeps that can be interrupted (wait4, nanosleep, futex, pipe and
 * console reads) check proc_signal_pending and return -EINTR; a handler
 * with SA_RESTART makes the call start again instead, as on Linux. A
 * process that is ending (exit_group, a fatal signal, execve in another
 * thread) looks like a pending signal to each of its threads, which then
 * end on their way back to user mode.
 *
 * The frame (Linux x86-64's struct rt_sigframe, so that a handler's
 * ucontext reads as on Linux): the return address (sa_restorer), the
 * ucontext (flags, link, stack, sigcontext with every register, the old
 * mask), the siginfo, and the FXSAVE image the sigcontext points to.
 *
 * Default actions: SIGCHLD, SIGURG, SIGWINCH and SIGCONT are ignored;
 * SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU stop the process: the thread that
 * takes one marks it stopped (its parent's WUNTRACED wait sees it) and
 * every thread sleeps on its way to user mode until SIGCONT (which
 * continues a stopped process when it is sent, caught, ignored or blocked,
 * and discards pending stop signals, as on Linux) or SIGKILL; a call the
 * stop interrupted starts again. SIGTSTP, SIGTTIN and SIGTTOU do nothing
 * to an orphaned process group (Linux's rule: nobody could continue it). Every other signal ends the process (all
 * its threads). Locks: [P]
 * procs_lock (proc.c) to find a process or a thread; the pending words
 * are atomic.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"
#include "kernel/proc/uaccess.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

#define SA_SIGINFO   0x4
#define SA_ONSTACK   0x08000000
#define SA_RESTORER  0x04000000
#define SA_RESTART   0x10000000
#define SA_NODEFER   0x40000000
#define SA_RESETHAND 0x80000000
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define UNBLOCKABLE ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))

/* rt_sigreturn hands back the interrupted call's -EINTR: not a call to
 * restart */
#define NR_RT_SIGRETURN 15

struct sigcontext {
	u64 r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
	u64 eflags;
	u16 cs, gs, fs, ss;
	u64 err, trapno, oldmask, cr2, fpstate;
	u64 reserved[8];
};

struct ucontext {
	u64 flags, link;
	u64 ss_sp;
	u32 ss_flags, pad;
	u64 ss_size;
	struct sigcontext mc;
	u64 sigmask;
};

struct siginfo {
	s32 signo, errno_, code, pad;
	s32 pid, uid, status, pad2;
	u8 rest[128 - 32];
};

struct rt_sigframe {
	u64 pretcode;
	struct ucontext uc;
	struct siginfo info;
};

_Static_assert(sizeof(struct sigcontext) == 256, "sigcontext");
_Static_assert(sizeof(struct siginfo) == 128, "siginfo");

static bool default_ignored(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

#define STOP_SIGS ((1ULL << (SIGSTOP - 1)) | (1ULL << (SIGTSTP - 1)) | \
		   (1ULL << (SIGTTIN - 1)) | (1ULL << (SIGTTOU - 1)))

static bool is_stop(int sig) { return (STOP_SIGS >> (sig - 1)) & 1; }

/* The other threads must go: the process ends, or one of them execs. */
static bool must_end(const struct uthread *ut)
{
	struct proc *p = ut->proc;
	struct uthread *ex = READ_ONCE(p->execing);
	return READ_ONCE(p->exiting) || (ex && ex != ut);
}

bool proc_signal_pending(void)
{
	struct uthread *ut = uthread_current();
	if (!ut)
		return false;
	struct proc *p = ut->proc;
	if (must_end(ut))
		return true;
	u64 live = (__atomic_load_n(&ut->pending, __ATOMIC_ACQUIRE) |
		    __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE)) & ~ut->sigmask;
	for (int sig = 1; live; sig++, live >>= 1) {
		if (!(live & 1))
			continue;
		u64 h = p->sighand->act[sig - 1].handler;
		if (sig == SIGKILL || (h != SIG_IGN && !(h == SIG_DFL && default_ignored(sig))))
			return true;
	}
	return false;
}

/* What sending does at once (Linux's prepare_signal): SIGCONT continues
 * and voids pending stops; a stop voids a pending SIGCONT. [P] */
static void send_effects(struct proc *p, int sig)
{
	struct list_node *n;
	if (sig == SIGCONT) {
		p->conts++;
		__atomic_and_fetch(&p->pending, ~STOP_SIGS, __ATOMIC_ACQ_REL);
		list_for_each(n, &p->threads) {
			struct uthread *ut = list_entry(n, struct uthread, link);
			__atomic_and_fetch(&ut->pending, ~STOP_SIGS, __ATOMIC_ACQ_REL);
		}
		if (p->stopped) {
			p->stopped = false;
			proc_report_stop(p, PROC_REPORT_CONTINUED);
		}
	} else if (is_stop(sig)) {
		__atomic_and_fetch(&p->pending, ~(1ULL << (SIGCONT - 1)), __ATOMIC_ACQ_REL);
	}
}

void signal_send(struct proc *p, int sig)
{
	send_effects(p, sig);
	__atomic_or_fetch(&p->pending, 1ULL << (sig - 1), __ATOMIC_RELEASE);
	struct list_node *n;
	list_for_each(n, &p->threads) {
		struct uthread *ut = list_entry(n, struct uthread, link);
		if (ut->thread)
			sched_wake(ut->thread);
	}
}

void uthread_signal(struct uthread *ut, int sig)
{
	__atomic_or_fetch(&ut->pending, 1ULL << (sig - 1), __ATOMIC_RELEASE);
	if (ut->thread)
		sched_wake(ut->thread);
}

#define SS_ONSTACK 1
#define SS_DISABLE 2
#define MINSIGSTKSZ 2048

static bool on_altstack(const struct uthread *ut, u64 sp)
{
	return ut->ss_size && sp > ut->ss_sp && sp - ut->ss_sp <= ut->ss_size;
}

long proc_sigaltstack(u64 uss, u64 uold)
{
	struct uthread *ut = uthread_current();
	struct user_regs r;
	arch_user_get_regs(&r);
	bool on = on_altstack(ut, r.rsp);
	struct { u64 sp; s32 flags, pad; u64 size; } ss, old = {
		ut->ss_sp, ut->ss_size ? (on ? SS_ONSTACK : 0) : SS_DISABLE, 0, ut->ss_size };
	if (uss) {
		if (copy_from_user(&ss, uss, sizeof(ss)) < 0)
			return -EFAULT;
		if (on)
			return -EPERM;
		if (ss.flags & ~(SS_DISABLE | SS_ONSTACK | (s32)0x80000000))   /* SS_AUTODISARM */
			return -EINVAL;
		if (ss.flags & SS_DISABLE) {
			ut->ss_sp = 0;
			ut->ss_size = 0;
		} else {
			if (ss.size < MINSIGSTKSZ)
				return -ENOMEM;
			ut->ss_sp = ss.sp;
			ut->ss_size = ss.size;
		}
	}
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

/* Calls Linux ends with EINTR after a handler even with SA_RESTART
 * (signal(7), "Interruption of system calls"): the waits for events and
 * for time. */
static bool never_restarted(long nr)
{
	switch (nr) {
	case 7:     /* poll */
	case 23:    /* select */
	case 34:    /* pause */
	case 35:    /* nanosleep */
	case 128:   /* rt_sigtimedwait */
	case 130:   /* rt_sigsuspend */
	case 230:   /* clock_nanosleep */
	case 232:   /* epoll_wait */
	case 270:   /* pselect6 */
	case 271:   /* ppoll */
	case 281:   /* epoll_pwait */
	case 441:   /* epoll_pwait2 */
		return true;
	default:
		return false;
	}
}

/* Build the handler's frame and point the registers at it. */
static void deliver(struct uthread *p, int sig, struct k_sigaction *act)
{
	struct user_regs r;
	arch_user_get_regs(&r);
	/* a call a handler interrupted: start it again (SA_RESTART) */
	if (p->last_result == -EINTR && r.rax == (u64)-EINTR && (act->flags & SA_RESTART) &&
	    p->last_nr >= 0 && p->last_nr != NR_RT_SIGRETURN && !never_restarted(p->last_nr)) {
		r.rax = (u64)p->last_nr;
		r.rip -= 2;   /* the syscall instruction */
	}
	p->last_result = 0;
	bool on = on_altstack(p, r.rsp);
	u64 sp = r.rsp - 128;   /* the red zone */
	if ((act->flags & SA_ONSTACK) && p->ss_size && !on)
		sp = p->ss_sp + p->ss_size;
	sp = ALIGN_DOWN(sp - 512, 64);
	u64 fpstate = sp;
	sp = ALIGN_DOWN(sp - sizeof(struct rt_sigframe), 16) - 8;   /* as after a call */
	struct rt_sigframe f;
	memset(&f, 0, sizeof(f));
	f.pretcode = act->restorer;
	f.uc.mc = (struct sigcontext){
		.r8 = r.r8, .r9 = r.r9, .r10 = r.r10, .r11 = r.r11, .r12 = r.r12, .r13 = r.r13,
		.r14 = r.r14, .r15 = r.r15, .rdi = r.rdi, .rsi = r.rsi, .rbp = r.rbp, .rbx = r.rbx,
		.rdx = r.rdx, .rax = r.rax, .rcx = r.rcx, .rsp = r.rsp, .rip = r.rip,
		.eflags = r.rflags, .cs = 0x33, .ss = 0x2b, .oldmask = p->sigmask,
		.fpstate = fpstate,
	};
	f.uc.ss_sp = p->ss_sp;
	f.uc.ss_size = p->ss_size;
	f.uc.ss_flags = p->ss_size ? (on ? SS_ONSTACK : 0) : SS_DISABLE;
	f.uc.sigmask = p->mask_saved ? p->saved_mask : p->sigmask;
	if (p->mask_saved) {   /* rt_sigsuspend: its mask holds for the handler only */
		f.uc.mc.oldmask = p->saved_mask;
		p->mask_saved = false;
	}
	f.info.signo = sig;
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL) {
		/* si_addr where si_pid would be; SEGV_MAPERR 1, SEGV_ACCERR 2 */
		f.info.code = p->fault_code;
		memcpy(&f.info.pid, &p->fault_addr, sizeof(p->fault_addr));
		f.uc.mc.cr2 = p->fault_addr;
		p->fault_code = 0;
		p->fault_addr = 0;
	}
	u8 fpu[512] __aligned(16);
	arch_user_fpu_save(fpu);
	if (!(act->flags & SA_RESTORER) ||
	    copy_to_user(fpstate, fpu, sizeof(fpu)) < 0 ||
	    copy_to_user(sp, &f, sizeof(f)) < 0) {
		pr_info("proc: pid %d (%s): cannot deliver %s (bad stack or no restorer)",
			p->proc->pid, p->proc->name, signal_name(sig));
		irq_enable();
		proc_exit(SIGSEGV);
	}
	p->sigmask |= act->mask;
	if (!(act->flags & SA_NODEFER))
		p->sigmask |= 1ULL << (sig - 1);
	p->sigmask &= ~UNBLOCKABLE;
	u64 handler = act->handler;
	if (act->flags & SA_RESETHAND)
		act->handler = SIG_DFL;
	struct user_regs h = r;
	h.rip = handler;
	h.rsp = sp;
	h.rdi = (u64)sig;
	h.rsi = sp + offsetof(struct rt_sigframe, info);
	h.rdx = sp + offsetof(struct rt_sigframe, uc);
	h.rax = 0;
	if (arch_user_set_regs(&h) < 0) {
		irq_enable();
		proc_exit(SIGSEGV);
	}
}

/* Take one pending signal the thread does not block: its own first, then
 * the process's. 0: none. */
static int take_signal(struct uthread *ut)
{
	struct proc *p = ut->proc;
	for (;;) {
		u64 own = __atomic_load_n(&ut->pending, __ATOMIC_ACQUIRE) & ~ut->sigmask;
		u64 *set = own ? &ut->pending : &p->pending;
		u64 live = own ? own : __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) & ~ut->sigmask;
		if (!live)
			return 0;
		int sig = __builtin_ctzll(live) + 1;
		u64 bit = 1ULL << (sig - 1);
		if (__atomic_fetch_and(set, ~bit, __ATOMIC_ACQ_REL) & bit)
			return sig;
		/* another thread took that process-directed signal first */
	}
}

/* An orphaned group (POSIX): no member's parent is in another group of
 * the same session; nobody there could continue it. Members whose parent
 * is a first program (the kernel started it: Linux's init) do not count,
 * as Linux. [P] */
static bool orphaned_locked(int pgid, int sid)
{
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		struct proc *q = p->parent;
		if (p->state == PROC_RUNNING && p->pgid == pgid && q && q->parent &&
		    q->pgid != pgid && q->sid == sid)
			return false;
	}
	return true;
}

bool proc_pgrp_orphaned(int pgid, int sid)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	bool r = orphaned_locked(pgid, sid);
	spin_unlock_irqrestore(&procs_lock, fl);
	return r;
}

/* Mark the process stopped by sig unless a SIGCONT came after the stop
 * was taken (conts moved on). */
static void stop_process(struct proc *p, int sig, u32 conts)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	/* the terminal's stops are dropped for an orphaned group, as Linux */
	bool drop = sig != SIGSTOP && orphaned_locked(p->pgid, p->sid);
	if (!p->stopped && p->conts == conts && !p->exiting && !drop) {
		p->stopped = true;
		p->stop_sig = sig;
		proc_report_stop(p, PROC_REPORT_STOPPED);
	}
	spin_unlock_irqrestore(&procs_lock, fl);
}

/* Sleep while the process is stopped (SIGCONT and SIGKILL wake it); then
 * a call the stop interrupted starts again, as Linux restarts it. Called
 * with interrupts on. */
static void stopped_wait(struct uthread *ut, bool slept)
{
	struct proc *p = ut->proc;
	while (READ_ONCE(p->stopped) && !must_end(ut) &&
	       !(__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) & (1ULL << (SIGKILL - 1)))) {
		thread_sleep_ns(100000000);   /* a sender wakes it sooner */
		slept = true;
	}
	struct user_regs r;
	arch_user_get_regs(&r);
	if (slept && ut->last_result == -EINTR && r.rax == (u64)-EINTR && ut->last_nr >= 0 &&
	    ut->last_nr != NR_RT_SIGRETURN) {
		r.rax = (u64)ut->last_nr;
		r.rip -= 2;   /* the syscall instruction */
		ut->last_result = 0;
		arch_user_set_regs(&r);
	}
}

/* The user-return hook (interrupts off). */
static void user_return_work(struct uthread *ut);

void signal_on_user_return(void)
{
	struct uthread *ut = uthread_current();
	if (!ut)
		return;
	struct proc *p = ut->proc;
	/* the common case, on every system call's way out: nothing to do
	 * (each condition below, looked at once, without a branch each);
	 * the rest is out of line, so this path saves no registers */
	if (unlikely(READ_ONCE(p->return_work) | ut->return_work |
		     (READ_ONCE(p->execing) != NULL) |
		     (((__atomic_load_n(&ut->pending, __ATOMIC_ACQUIRE) |
			__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE)) & ~ut->sigmask) != 0)))
		user_return_work(ut);
}

static __attribute__((noinline)) void user_return_work(struct uthread *ut)
{
	struct proc *p = ut->proc;
	if (!p->vm)
		return;
	if (READ_ONCE(p->it_cpu_on))   /* may send SIGVTALRM or SIGPROF, taken below */
		itimer_cpu_on_user_return(ut);
	if (ut->flush_pending) {   /* a copy-on-write fault's page replaced */
		ut->flush_pending = false;
		irq_enable();
		tlb_shootdown(0, USER_TOP);
		irq_disable();
	}
	if (must_end(ut)) {
		irq_enable();
		proc_thread_exit(0);   /* the status is the process's */
	}
	if (READ_ONCE(p->stopped)) {   /* another thread took the stop */
		irq_enable();
		stopped_wait(ut, false);
		irq_disable();
	}
	for (;;) {
		u32 conts = READ_ONCE(p->conts);
		int sig = take_signal(ut);
		if (!sig) {
			if (ut->mask_saved) {   /* a masked wait ended with no handler run */
				ut->sigmask = ut->saved_mask;
				ut->mask_saved = false;
			}
			return;
		}
		struct k_sigaction *act = &p->sighand->act[sig - 1];
		if (sig != SIGKILL && act->handler == SIG_IGN)
			continue;
		if (sig == SIGKILL || act->handler == SIG_DFL) {
			if (sig != SIGKILL && default_ignored(sig))
				continue;
			irq_enable();
			if (is_stop(sig)) {
				stop_process(p, sig, conts);
				stopped_wait(ut, true);   /* stopped or dropped: restart */
				irq_disable();
				if (must_end(ut)) {
					irq_enable();
					proc_thread_exit(0);
				}
				continue;
			}
			proc_exit(sig);
		}
		deliver(ut, sig, act);
		return;   /* one frame at a time: the rest after the handler */
	}
}

long sys_rt_sigreturn_impl(void)
{
	struct uthread *p = uthread_current();
	struct user_regs r;
	arch_user_get_regs(&r);
	u64 frame = r.rsp - 8;   /* the handler's ret took pretcode */
	struct rt_sigframe f;
	u8 fpu[512] __aligned(16);
	if (copy_from_user(&f, frame, sizeof(f)) < 0 ||
	    copy_from_user(fpu, f.uc.mc.fpstate, sizeof(fpu)) < 0) {
		pr_info("proc: pid %d (%s): rt_sigreturn with a bad frame", p->proc->pid,
			p->proc->name);
		proc_exit(SIGSEGV);
	}
	const struct sigcontext *m = &f.uc.mc;
	struct user_regs n = {
		.r15 = m->r15, .r14 = m->r14, .r13 = m->r13, .r12 = m->r12, .rbp = m->rbp,
		.rbx = m->rbx, .r11 = m->r11, .r10 = m->r10, .r9 = m->r9, .r8 = m->r8,
		.rax = m->rax, .rcx = m->rcx, .rdx = m->rdx, .rsi = m->rsi, .rdi = m->rdi,
		.rip = m->rip, .rflags = m->eflags, .rsp = m->rsp,
	};
	if (arch_user_set_regs(&n) < 0) {
		pr_info("proc: pid %d (%s): rt_sigreturn to a kernel address", p->proc->pid,
			p->proc->name);
		proc_exit(SIGSEGV);
	}
	arch_user_fpu_restore(fpu);
	p->sigmask = f.uc.sigmask & ~UNBLOCKABLE;
	return (long)m->rax;   /* the syscall path stores it in rax again */
}

u64 proc_wait_mask(u64 mask)
{
	struct uthread *p = uthread_current();
	u64 old = p->sigmask;
	p->sigmask = mask & ~UNBLOCKABLE;
	return old;
}

void proc_wait_unmask(u64 old, bool interrupted)
{
	struct uthread *p = uthread_current();
	if (interrupted) {   /* the handler runs under the wait's mask */
		p->saved_mask = old;
		p->mask_saved = true;
	} else {
		p->sigmask = old;
	}
}

/* A wait with a mask like ppoll's that always ends interrupted: the old
 * mask comes back after the handler (or at once on the way to user mode
 * when no handler runs). */
long proc_sigsuspend(const u64 *mask)
{
	u64 old = mask ? proc_wait_mask(*mask) : 0;
	while (!proc_signal_pending())
		thread_sleep_ns(10000000);   /* a sender wakes it sooner */
	if (mask)
		proc_wait_unmask(old, true);
	return -EINTR;
}

/* rt_sigtimedwait: take one pending signal of set (its own, then the
 * process's; blocked or not, as Linux allows), its siginfo into *info.
 * timeout_ns < 0: no limit. The signal's number, -EAGAIN at the time-out,
 * -EINTR when a signal outside set is to be taken first. */
long proc_sigtimedwait(u64 set, void *info, s64 timeout_ns)
{
	struct uthread *ut = uthread_current();
	struct proc *p = ut->proc;
	set &= ~UNBLOCKABLE;
	u64 deadline = timeout_ns < 0 ? UINT64_MAX : arch_clock_ns() + (u64)timeout_ns;
	for (;;) {
		u64 own = __atomic_load_n(&ut->pending, __ATOMIC_ACQUIRE) & set;
		u64 *from = own ? &ut->pending : &p->pending;
		u64 live = own ? own : __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) & set;
		if (live) {
			int sig = __builtin_ctzll(live) + 1;
			u64 bit = 1ULL << (sig - 1);
			if (!(__atomic_fetch_and(from, ~bit, __ATOMIC_ACQ_REL) & bit))
				continue;   /* another thread took it */
			struct siginfo si;
			memset(&si, 0, sizeof(si));
			si.signo = sig;   /* si_code SI_USER; the sender is not kept */
			memcpy(info, &si, sizeof(si));
			return sig;
		}
		if (proc_signal_pending())
			return -EINTR;
		u64 now = arch_clock_ns();
		if (now >= deadline)
			return -EAGAIN;
		thread_sleep_ns(MIN(deadline - now, 10000000ull));   /* a sender wakes it sooner */
	}
}

/* Linux's kill_ok_by_cred ([P] held): a kernel thread, a privileged
 * sender (effective uid 0), or one whose real or effective uid is the
 * target's real or saved uid may signal it; its own threads always.
 * (Linux's SIGCONT within a session is not special here.) */
static bool may_signal(const struct proc *self, const struct proc *p)
{
	if (!self || self == p || self->cred.euid == 0)
		return true;
	const struct proc_cred *s = &self->cred, *t = &p->cred;
	return s->euid == t->suid || s->euid == t->uid || s->uid == t->suid || s->uid == t->uid;
}

int proc_kill(int pid, int sig)
{
	struct proc *self = proc_current();
	if (sig < 0 || sig > PROC_NSIG)
		return -EINVAL;
	int found = 0, sent = 0;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->state != PROC_RUNNING)
			continue;
		bool match = pid > 0 ? p->pid == pid :
			     pid == 0 ? p->pgid == self->pgid :
			     pid == -1 ? p != self :
			     p->pgid == -pid;
		if (!match)
			continue;
		found++;
		if (!may_signal(self, p))
			continue;
		sent++;
		if (sig)
			signal_send(p, sig);
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	/* as Linux: success if any was signalled, else -EPERM or -ESRCH */
	return sent ? 0 : found ? -EPERM : -ESRCH;
}

void proc_sigio(int owner, int sig)
{
	if (!owner || sig <= 0 || sig > PROC_NSIG)
		return;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->state == PROC_RUNNING && (owner > 0 ? p->pid == owner : p->pgid == -owner))
			signal_send(p, sig);
	}
	spin_unlock_irqrestore(&procs_lock, fl);
}

int proc_tkill(int tgid, int tid, int sig)
{
	if (sig < 0 || sig > PROC_NSIG)
		return -EINVAL;
	int r = -ESRCH;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *n, *m;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->state != PROC_RUNNING || (tgid > 0 && p->pid != tgid))
			continue;
		list_for_each(m, &p->threads) {
			struct uthread *ut = list_entry(m, struct uthread, link);
			if (ut->tid != tid)
				continue;
			r = may_signal(proc_current(), p) ? 0 : -EPERM;
			if (sig && r == 0)
				uthread_signal(ut, sig);
			goto out;
		}
	}
out:
	spin_unlock_irqrestore(&procs_lock, fl);
	return r;
}

long proc_sigpending(void)
{
	struct uthread *ut = uthread_current();
	if (!ut)
		return 0;
	return (long)((__atomic_load_n(&ut->pending, __ATOMIC_ACQUIRE) |
		       __atomic_load_n(&ut->proc->pending, __ATOMIC_ACQUIRE)) & ut->sigmask);
}

/* the threads share the actions: one change at a time ([P]) */
void proc_sigaction(struct proc *p, int sig, const struct k_sigaction *act,
		    struct k_sigaction *old)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	*old = p->sighand->act[sig - 1];
	if (act)
		p->sighand->act[sig - 1] = *act;
	spin_unlock_irqrestore(&procs_lock, fl);
}
