/*
 * Interval timers (setitimer, getitimer, alarm): one of each kind per
 * process, not copied by fork, kept by execve, as Linux's.
 *
 * ITIMER_REAL counts the monotonic clock: a kernel timer (p->it_real)
 * sends SIGALRM.
 *
 * ITIMER_VIRTUAL (SIGVTALRM) counts the process's user CPU time and
 * ITIMER_PROF (SIGPROF) its user and system CPU time, over all its
 * threads. Each holds the CPU time left before it fires. A thread charges
 * them with the CPU time it used (the scheduler's runtime_ns) when it
 * samples itself: on each return to user mode (signal_on_user_return,
 * so the signal is taken there at once) and when it reads or sets a timer.
 * The part of that time since its system call began (itimer_cpu_enter,
 * from the dispatcher) is system time; the rest is user time (an
 * interrupt's or a fault's handling counts as user time, as a tick that
 * finds the thread in user mode counts it on Linux). A thread running in
 * user mode returns to the kernel at least every time slice (10 ms), so
 * the timers fire within about a slice of their time, as Linux's within a
 * tick. Nothing is sampled while neither timer is armed (it_cpu_on), so
 * the system calls of other processes pay one load. Each setting of a CPU
 * timer counts in it_cpu_gen: a thread whose last sample is older starts
 * afresh from its next one (the other threads' CPU time between their
 * last return to the kernel and that sample is not charged). When CPU time
 * past an expiry exceeds the interval, the next period is cut short (it
 * fires at the next sample), as Linux's fires again at the next tick.
 *
 * Locks: [P] procs_lock guards every timer field of struct proc; a
 * uthread's sample fields are its own.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"

#define SIGVTALRM 26
#define SIGPROF   27

/* The ITIMER_REAL timer fired (interrupt context): SIGALRM, then the next
 * period; nothing if it was disarmed or moved later meanwhile (proc_end
 * disarms under [P] before it cancels, so p lives while this runs). */
static void it_real_fired(void *arg)
{
	struct proc *p = arg;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	u64 now = arch_clock_ns();
	if (p->it_real_ns && now >= p->it_real_ns && p->state == PROC_RUNNING) {
		signal_send(p, SIGALRM);
		if (p->it_real_incr_ns) {
			p->it_real_ns += p->it_real_incr_ns;
			if (p->it_real_ns <= now)   /* periods missed: from now on */
				p->it_real_ns = now + p->it_real_incr_ns;
			timer_arm(&p->it_real, p->it_real_ns, it_real_fired, p);
		} else {
			p->it_real_ns = 0;
		}
	}
	spin_unlock_irqrestore(&procs_lock, fl);
}

void proc_itimer_real(bool set, u64 value_ns, u64 incr_ns, u64 *left_ns, u64 *incr_out)
{
	struct proc *p = proc_current();
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	u64 now = arch_clock_ns();
	*left_ns = !p->it_real_ns ? 0 : p->it_real_ns > now + 1000 ? p->it_real_ns - now : 1000;
	*incr_out = p->it_real_incr_ns;
	if (set) {
		p->it_real_ns = value_ns ? now + value_ns : 0;
		p->it_real_incr_ns = value_ns ? incr_ns : 0;   /* as Linux's do_setitimer */
		if (value_ns)
			timer_arm(&p->it_real, p->it_real_ns, it_real_fired, p);
		/* disarmed: a pending timer finds it_real_ns 0 and does nothing */
	}
	spin_unlock_irqrestore(&procs_lock, fl);
}

/* The calling thread's CPU time so far (interrupts off). */
static u64 cpu_now(void)
{
	struct thread *t = thread_current();
	return t->runtime_ns + (arch_clock_ns() - t->started_ns);
}

/* ns more CPU time for timer i (0: virtual, 1: prof). [P] */
static void charge(struct proc *p, int i, u64 ns)
{
	u64 left = p->it_cpu_left[i];
	if (!left || !ns)
		return;
	if (ns < left) {
		p->it_cpu_left[i] = left - ns;
		return;
	}
	signal_send(p, i ? SIGPROF : SIGVTALRM);
	u64 over = ns - left, incr = p->it_cpu_incr[i];
	p->it_cpu_left[i] = !incr ? 0 : incr > over ? incr - over : 1;
}

/* The calling thread charges its CPU time since its last sample. [P] */
static void sample(struct uthread *ut)
{
	struct proc *p = ut->proc;
	u64 now = cpu_now();
	if (ut->cpu_gen != p->it_cpu_gen) {   /* a setting since: start afresh */
		ut->cpu_gen = p->it_cpu_gen;
		ut->cpu_mark = now;
		ut->cpu_sys_from = now;
		return;
	}
	/* never a negative span (two CPUs' clocks a little apart after a
	 * migration): it would charge nearly 2^64 ns */
	u64 user = now > ut->cpu_mark ? now - ut->cpu_mark : 0, sys = 0;
	if (ut->in_syscall && ut->cpu_sys_from >= ut->cpu_mark) {
		user = ut->cpu_sys_from - ut->cpu_mark;
		sys = now > ut->cpu_sys_from ? now - ut->cpu_sys_from : 0;
		ut->cpu_sys_from = now;   /* still in it: the rest is system time too */
	}
	ut->cpu_mark = now;
	charge(p, 0, user);
	charge(p, 1, user + sys);
	p->it_cpu_on = p->it_cpu_left[0] || p->it_cpu_left[1];
}

void itimer_cpu_enter(struct uthread *ut)
{
	unsigned long fl = irq_save();
	ut->cpu_sys_from = cpu_now();
	ut->in_syscall = true;
	irq_restore(fl);
}

void itimer_cpu_on_user_return(struct uthread *ut)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	sample(ut);
	ut->in_syscall = false;
	spin_unlock_irqrestore(&procs_lock, fl);
}

void proc_itimer_cpu(int which, bool set, u64 value_ns, u64 incr_ns, u64 *left_ns,
		     u64 *incr_out)
{
	struct uthread *ut = uthread_current();
	struct proc *p = ut->proc;
	int i = which == PROC_ITIMER_PROF;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	sample(ut);
	u64 left = p->it_cpu_left[i];
	*left_ns = left && left < 1000 ? 1000 : left;   /* armed shows as armed */
	*incr_out = p->it_cpu_incr[i];
	if (set) {
		p->it_cpu_left[i] = value_ns;
		p->it_cpu_incr[i] = incr_ns;   /* kept when disarmed, as Linux's set_cpu_itimer */
		p->it_cpu_gen++;
		ut->cpu_gen = p->it_cpu_gen;   /* this thread's time counts from now */
		p->it_cpu_on = p->it_cpu_left[0] || p->it_cpu_left[1];
	}
	spin_unlock_irqrestore(&procs_lock, fl);
}
