/*
 * One-shot timers: a per-CPU list of pending timers sorted by deadline, and
 * the local APIC timer armed for the earliest. The timer interrupt runs
 * every expired timer's function (interrupt context) and re-arms.
 *
 * Locks: [B] base->lock (interrupts off) guards the base's list, each queued
 * timer's link/deadline, and base->running.
 */
#include "kernel/sched/sched.h"
#include "kernel/console/console.h"

struct timer_base {
	spinlock_t lock;
	struct list_node pending;    /* [B] sorted by deadline */
	struct timer *running;       /* [B] timer whose fn runs now */
	u64 fired;
} __aligned(CACHELINE);

static struct timer_base bases[MAX_CPUS];

void timer_init(struct timer *t)
{
	list_init(&t->link);
	t->cpu = -1;
	t->fn = NULL;
	t->arg = NULL;
	t->deadline = 0;
}

static void program(struct timer_base *b)
{
	if (!list_empty(&b->pending))
		arch_timer_arm(list_entry(b->pending.next, struct timer, link)->deadline);
}

static void insert(struct timer_base *b, struct timer *t)
{
	struct list_node *pos = b->pending.prev;
	/* most timers are later than the rest: search from the tail */
	while (pos != &b->pending && list_entry(pos, struct timer, link)->deadline > t->deadline)
		pos = pos->prev;
	list_insert_between(&t->link, pos, pos->next);
}

/* Remove t if pending on some base; returns true if it was. */
static bool dequeue(struct timer *t)
{
	for (;;) {
		int cpu = __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE);
		if (cpu < 0)
			return false;
		struct timer_base *b = &bases[cpu];
		unsigned long f = irq_save();
		raw_spin_lock(&b->lock);
		bool ok = t->cpu == cpu;
		if (ok) {
			list_remove(&t->link);
			__atomic_store_n(&t->cpu, -1, __ATOMIC_RELEASE);
		}
		raw_spin_unlock(&b->lock);
		irq_restore(f);
		if (ok)
			return true;
	}
}

void timer_arm(struct timer *t, u64 deadline_ns, void (*fn)(void *), void *arg)
{
	dequeue(t);
	unsigned long f = irq_save();
	struct timer_base *b = &bases[cpu_id()];
	raw_spin_lock(&b->lock);
	t->deadline = deadline_ns;
	t->fn = fn;
	t->arg = arg;
	insert(b, t);
	__atomic_store_n(&t->cpu, (int)cpu_id(), __ATOMIC_RELEASE);
	if (b->pending.next == &t->link)
		program(b);
	raw_spin_unlock(&b->lock);
	irq_restore(f);
}

bool timer_cancel(struct timer *t)
{
	bool was = dequeue(t);
	/* wait for a running fn elsewhere (not our own: we may be inside it) */
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		if (i == cpu_id() && this_cpu()->irq_depth)
			continue;
		while (__atomic_load_n(&bases[i].running, __ATOMIC_ACQUIRE) == t)
			cpu_pause();
	}
	return was;
}

static void timer_interrupt(void)
{
	struct timer_base *b = &bases[cpu_id()];
	u64 now = arch_clock_ns();
	raw_spin_lock(&b->lock);
	while (!list_empty(&b->pending)) {
		struct timer *t = list_entry(b->pending.next, struct timer, link);
		if (t->deadline > now)
			break;
		list_remove(&t->link);
		__atomic_store_n(&t->cpu, -1, __ATOMIC_RELEASE);
		__atomic_store_n(&b->running, t, __ATOMIC_RELEASE);
		void (*fn)(void *) = t->fn;
		void *arg = t->arg;
		raw_spin_unlock(&b->lock);
		fn(arg);
		raw_spin_lock(&b->lock);
		__atomic_store_n(&b->running, NULL, __ATOMIC_RELEASE);
		b->fired++;
		now = arch_clock_ns();
	}
	program(b);
	raw_spin_unlock(&b->lock);
}

void timers_init_cpu(void)
{
	struct timer_base *b = &bases[cpu_id()];
	spin_init(&b->lock, "timer_base");
	list_init(&b->pending);
	b->running = NULL;
	if (cpu_id() == 0)
		arch_timer_set_handler(timer_interrupt);
}

u64 timers_fired(unsigned cpu) { return bases[cpu].fired; }
