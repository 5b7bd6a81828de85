/*
 * The scheduler: per-CPU run queues and the per-CPU event loop (sched.h).
 *
 * Locks, in the order they may be taken:
 *   [T] thread->lock   the thread's state. Handed across the context
 *                      switch: the side that switches away takes it, the
 *                      side that resumes releases it, so a thread is never
 *                      woken or picked while its registers are being saved.
 *   [Q] rq->lock       one run queue. Never two at once.
 * All scheduler locks are taken with interrupts off (raw_ variants).
 */
#include "kernel/sched/sched.h"
#include "kernel/sched/sched_priv.h"
#include "kernel/console/console.h"
#include "kernel/sync/rcu.h"

#define TIMESLICE_NS 10000000ULL   /* 10 ms */

struct runq rqs[MAX_CPUS];
static volatile bool frozen;
/* Stop-the-world generations: odd while stopped. A CPU parks for
 * generation g by writing g into park_gen and halting until the generation
 * moves on, so a new stop never counts a CPU still leaving the last one. */
static u64 stw_gen;                   /* [atomic] */
static u64 park_gen[MAX_CPUS];        /* [atomic] written by their CPU */
/* Bit i: CPU i is idle (cpus[i].idle, as a mask: a waker finds an idle CPU
 * without a loop over MAX_CPUS). One past the highest CPU in its loop:
 * bounds the loops that look at every CPU's queue. */
static u64 idle_mask;                 /* [atomic] */
static unsigned cpu_top = 1;          /* [atomic] */
_Static_assert(MAX_CPUS <= 64, "idle_mask has a bit per CPU");

void sched_init(void)
{
	for (int i = 0; i < MAX_CPUS; i++) {
		spin_init(&rqs[i].lock, "runq");
		list_init(&rqs[i].queue);
		timer_init(&rqs[i].slice);
	}
	/* the timer interrupt (or any other) preempts a thread through this */
	arch_set_preempt_handler(thread_yield);
}

/* ---- policy: put and next ---- */

static void rq_push(unsigned cpu, struct thread *t)
{
	struct runq *rq = &rqs[cpu];
	raw_spin_lock(&rq->lock);
	t->cpu = cpu;
	list_push_back(&rq->queue, &t->rq_link);
	rq->len++;
	raw_spin_unlock(&rq->lock);
}

static unsigned kick_rotor; /* [atomic] spreads wakeups over idle CPUs */

/* Wake idle CPU i with an IPI, unless one is already on its way: a CPU
 * clears its `kicked` as it publishes its idleness (sched_loop), before its
 * last look at the run queues, so a waker that finds the flag set knows
 * that an IPI sent after that moment will end the CPU's halt, and that the
 * CPU looks at the queues after it (it goes round the loop again). Under
 * emulation an IPI is an exit to the device model: a burst of wake-ups
 * (one per received packet) would send one each. */
static bool kick_cpu(unsigned i)
{
	struct runq *rq = &rqs[i];
	if (__atomic_exchange_n(&rq->kicked, true, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&rq->kicks_saved, 1, __ATOMIC_RELAXED);
		return false;
	}
	__atomic_fetch_add(&rq->kicks, 1, __ATOMIC_RELAXED);
	arch_send_resched(i);
	return true;
}

/* Wake one idle CPU other than `except` (it will steal); round-robin, so
 * a burst of new work does not keep waking the same CPU. An idle CPU
 * already woken counts: it will steal too. */
static void kick_idle(unsigned except)
{
	u64 m = __atomic_load_n(&idle_mask, __ATOMIC_SEQ_CST) &
		~(1ULL << except) & ~(1ULL << cpu_id());
	if (!m)
		return;
	unsigned start = __atomic_fetch_add(&kick_rotor, 1, __ATOMIC_RELAXED) % MAX_CPUS;
	u64 from = m & (~0ULL << start);   /* the first idle CPU at or after start */
	kick_cpu((unsigned)__builtin_ctzll(from ? from : m));
}

/* After queueing on cpu: make sure someone will run it. */
static void kick(unsigned cpu)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (cpu != cpu_id() && cpus[cpu].idle) {
		kick_cpu(cpu);
		return;
	}
	if (!frozen)
		kick_idle(cpu); /* the target is busy: an idle CPU will steal */
}

/* Make t runnable on cpu (t->lock held). */
void sched_enqueue(struct thread *t, unsigned cpu)
{
	t->state = THREAD_RUNNABLE;
	rq_push(cpu, t);
	kick(cpu);
}

static struct thread *take_nofreeze(struct runq *rq)
{
	struct list_node *n;
	list_for_each(n, &rq->queue) {
		struct thread *t = list_entry(n, struct thread, rq_link);
		if (t->flags & THREAD_NOFREEZE) {
			list_remove(n);
			rq->len--;
			return t;
		}
	}
	return NULL;
}

static struct thread *steal(unsigned me)
{
	unsigned victim = me;
	u32 most = 0;
	unsigned top = __atomic_load_n(&cpu_top, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < top; i++) {
		u32 len = READ_ONCE(rqs[i].len);
		if (i != me && len > most) {
			most = len;
			victim = i;
		}
	}
	if (victim == me)
		return NULL;
	struct runq *rq = &rqs[victim];
	struct thread *t = NULL;
	raw_spin_lock(&rq->lock);
	/* take the coldest: from the tail, skipping pinned threads */
	for (struct list_node *n = rq->queue.prev; n != &rq->queue; n = n->prev) {
		struct thread *c = list_entry(n, struct thread, rq_link);
		if (!(c->flags & THREAD_PINNED)) {
			list_remove(n);
			rq->len--;
			rq->stolen++;
			t = c;
			break;
		}
	}
	u32 left = rq->len;
	raw_spin_unlock(&rq->lock);
	if (t) {
		rqs[me].steals++;
		t->migrations++;
		if (left > 1)
			kick_idle(victim); /* more to take: wake another thief */
	}
	return t;
}

static struct thread *next(unsigned me)
{
	struct runq *rq = &rqs[me];
	struct thread *t = NULL;
	raw_spin_lock(&rq->lock);
	if (frozen) {
		t = take_nofreeze(rq);
	} else {
		struct list_node *n = list_pop_front(&rq->queue);
		if (n) {
			t = list_entry(n, struct thread, rq_link);
			rq->len--;
		}
	}
	raw_spin_unlock(&rq->lock);
	if (!t && !frozen)
		t = steal(me);
	return t;
}

static void put(struct thread *t)
{
	switch (t->state) {
	case THREAD_RUNNING:   /* preempted or yielded */
		t->state = THREAD_RUNNABLE;
		rq_push(cpu_id(), t);
		break;
	case THREAD_BLOCKED:   /* a waker will queue it */
		break;
	case THREAD_DEAD:      /* reaped once its lock is released */
		break;
	case THREAD_RUNNABLE:
		panic("sched: put of runnable thread %s", t->name);
	}
}

/* ---- mechanism: run and halt ---- */

static void slice_expired(void *arg)
{
	(void)arg;
	struct cpu *c = this_cpu();
	c->need_resched = true;
	if (c->current && c->preempt_count == 0)
		rcu_qs();   /* the interrupted thread is outside any RCU reader */
}

static void run(struct cpu *c, struct thread *t)
{
	raw_spin_lock(&t->lock);
	t->cpu = c->id;
	t->state = THREAD_RUNNING;
	c->current = t;
	c->need_resched = false;
	t->started_ns = arch_clock_ns();
	t->switches++;
	c->ctx_switches++;
	timer_arm(&rqs[c->id].slice, t->started_ns + TIMESLICE_NS, slice_expired, NULL);
	if (t->user)
		arch_user_switch_in(t->user, t->stack.hi);
	arch_switch(&c->sched_ctx, t->ctx);
	/* back in the loop with t->lock held by the thread's side; the loop
	 * runs on the kernel's tables, never on a user space's */
	if (t->user)
		arch_user_switch_out(t->user);
	c->current = NULL;
	t->runtime_ns += arch_clock_ns() - t->started_ns;
}

static void halt(struct cpu *c)
{
	struct runq *rq = &rqs[c->id];
	rq->frozen = frozen;
	timer_cancel(&rq->slice);
	rcu_idle_enter();
	u64 t0 = arch_clock_ns();
	arch_halt();
	rq->idle_ns += arch_clock_ns() - t0;
	rcu_idle_exit();
	rq->frozen = false;
}

/* Wait here, between threads, while the world is stopped: halted, so that
 * an emulated CPU gives its host core to the CPUs still on their way.
 * Interrupts are taken while halted (TLB shootdowns, devices). */
static void stw_park(struct cpu *c)
{
	u64 g = __atomic_load_n(&stw_gen, __ATOMIC_ACQUIRE);
	if (!(g & 1))
		return;
	__atomic_store_n(&park_gen[c->id], g, __ATOMIC_RELEASE);
	while (__atomic_load_n(&stw_gen, __ATOMIC_ACQUIRE) == g)
		arch_halt();   /* irqs off here: a wakeup between look and halt is kept */
}

void sched_stop_others(void)
{
	preempt_disable();
	u64 g = __atomic_add_fetch(&stw_gen, 1, __ATOMIC_SEQ_CST);
	if (!(g & 1))
		panic("sched_stop_others: the world is already stopped");
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			arch_send_resched(i);
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			while (__atomic_load_n(&park_gen[i], __ATOMIC_ACQUIRE) != g)
				cpu_pause();
}

void sched_resume_others(void)
{
	__atomic_add_fetch(&stw_gen, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			arch_send_resched(i);
	preempt_enable();
}

__noreturn void sched_loop(void)
{
	struct cpu *c = this_cpu();
	irq_disable();
	unsigned top = __atomic_load_n(&cpu_top, __ATOMIC_RELAXED);
	while (top < c->id + 1 &&
	       !__atomic_compare_exchange_n(&cpu_top, &top, c->id + 1, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED))
		;
	for (;;) {
		rcu_qs();
		rcu_run_callbacks();
		if (unlikely(__atomic_load_n(&stw_gen, __ATOMIC_ACQUIRE) & 1))
			stw_park(c);
		struct thread *t = next(c->id);
		if (!t) {
			/* publish idleness before the last look, so that a waker
			 * either sees us idle (and sends an IPI) or we see its
			 * thread */
			c->idle = true;
			__atomic_fetch_or(&idle_mask, 1ULL << c->id, __ATOMIC_SEQ_CST);
			__atomic_store_n(&rqs[c->id].kicked, false, __ATOMIC_SEQ_CST);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			t = next(c->id);
			if (!t) {
				halt(c);
				c->idle = false;
				__atomic_fetch_and(&idle_mask, ~(1ULL << c->id), __ATOMIC_SEQ_CST);
				continue;
			}
			c->idle = false;
			__atomic_fetch_and(&idle_mask, ~(1ULL << c->id), __ATOMIC_SEQ_CST);
		}
		run(c, t);
		put(t);
		bool dead = t->state == THREAD_DEAD;
		raw_spin_unlock(&t->lock);
		if (dead)
			sched_reap(t);   /* t may be freed from here on */
	}
}

/* Switch from the current thread to this CPU's scheduler loop. Called with
 * interrupts off and t->lock held; returns the same way, maybe on another
 * CPU. */
void sched_switch_out(struct thread *t)
{
	arch_switch(&t->ctx, this_cpu()->sched_ctx);
}

void thread_yield(void)
{
	unsigned long f = irq_save();
	struct thread *t = this_cpu()->current;
	raw_spin_lock(&t->lock);
	sched_switch_out(t);
	raw_spin_unlock(&t->lock);
	irq_restore(f);
}

void preempt_resched(void)
{
	struct cpu *c = this_cpu();
	if (c->current && c->irq_depth == 0 && c->preempt_count == 0 && irqs_enabled())
		thread_yield();
}

void sched_wake(struct thread *t)
{
	unsigned long f = irq_save();
	raw_spin_lock(&t->lock);
	if (t->state == THREAD_BLOCKED) {
		unsigned cpu = t->cpu;
		if (!cpus[cpu].online)
			cpu = cpu_id();
		t->wait_chan = NULL;
		sched_enqueue(t, cpu);
	} else if (t->state != THREAD_DEAD) {
		/* running, or preempted between wait_prepare and wait_block (and
		 * so queued as runnable): either way its next wait_block must not
		 * sleep, because the waker has already taken it off the wait queue */
		t->wake_pending = true;
	}
	raw_spin_unlock(&t->lock);
	irq_restore(f);
}

/* Block the current thread unless a wakeup already came. */
void sched_block(const char *chan)
{
	unsigned long f = irq_save();
	struct thread *t = this_cpu()->current;
	if (this_cpu()->preempt_count)
		panic("sched_block: thread %s would sleep in atomic context (preempt count %d)",
		      t->name, this_cpu()->preempt_count);
	raw_spin_lock(&t->lock);
	if (t->wake_pending) {
		t->wake_pending = false;
	} else {
		t->state = THREAD_BLOCKED;
		t->wait_chan = chan;
		sched_switch_out(t);
	}
	raw_spin_unlock(&t->lock);
	irq_restore(f);
}

/* ---- freeze ---- */

bool sched_frozen(void) { return frozen; }

int sched_freeze(u64 timeout_ns)
{
	struct thread *me = thread_current();
	if (!me || !(me->flags & THREAD_NOFREEZE))
		return -EPERM;
	frozen = true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			arch_send_freeze(i);
	u64 deadline = arch_clock_ns() + timeout_ns;
	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < MAX_CPUS; i++)
			if (i != cpu_id() && cpus[i].online && !(rqs[i].frozen && cpus[i].idle))
				all = false;
		if (all)
			return 0;
		if (arch_clock_ns() > deadline)
			return -ETIMEDOUT;
		thread_sleep_ns(100000);
	}
}

void sched_thaw(void)
{
	frozen = false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			arch_send_resched(i);
}

void sched_stats(unsigned cpu, struct sched_cpu_stats *s)
{
	struct runq *rq = &rqs[cpu];
	s->runnable = READ_ONCE(rq->len);
	s->idle = cpus[cpu].idle;
	s->frozen = rq->frozen;
	s->online = cpus[cpu].online;
	s->steals = rq->steals;
	s->stolen = rq->stolen;
	s->switches = cpus[cpu].ctx_switches;
	s->idle_ns = rq->idle_ns;
	struct thread *cur = READ_ONCE(cpus[cpu].current);
	s->current = cur ? cur->name : NULL;
}
