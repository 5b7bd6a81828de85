/*
 * Quiescent-state-based RCU; see rcu.h.
 *
 * Grace period g starts (gp_started = g) with qs_pending = the online,
 * non-idle CPUs; each clears its bit at its next quiescent state; the last
 * one completes g (gp_completed = g), wakes synchronize_rcu sleepers, kicks
 * CPUs with callbacks, and starts g+1 if someone asked for it (need_gp).
 * Anything that must wait for readers running *now* waits for
 * gp_started + 1: if a grace period is in progress, it may have begun before
 * the caller's update, so the next one is needed.
 *
 * Locks: [R] rcu.lock (interrupts off) guards everything in struct rcu_state.
 * Per-CPU callback lists are touched only by their CPU with interrupts off.
 */
#include "kernel/sync/rcu.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/sync.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"

static struct {
	spinlock_t lock;
	u64 gp_started, gp_completed;  /* [R] */
	u64 qs_pending;                /* [R] CPUs still to pass a QS; atomic reads */
	u64 idle_mask;                 /* [R] */
	bool need_gp;                  /* [R] */
	u64 callbacks_run;             /* [atomic] */
	struct waitq wq;
} rcu;

struct rcu_cpu {
	struct rcu_head *head, **tail;   /* callbacks, in gp order */
	u64 count;
} __aligned(CACHELINE);
static struct rcu_cpu rcu_cpus[MAX_CPUS];
static struct mutex barrier_lock;   /* one rcu_barrier at a time */

void rcu_init(void)
{
	spin_init(&rcu.lock, "rcu");
	waitq_init(&rcu.wq, "rcu_gp");
	mutex_init(&barrier_lock, "rcu_barrier");
	for (int i = 0; i < MAX_CPUS; i++)
		rcu_cpus[i].tail = &rcu_cpus[i].head;
}

static void gp_complete(void);

static void gp_start(void)
{
	spin_assert_held(&rcu.lock);
	rcu.gp_started++;
	rcu.need_gp = false;
	u64 mask = 0;
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (cpus[i].online)
			mask |= 1ULL << i;
	mask &= ~rcu.idle_mask;
	__atomic_store_n(&rcu.qs_pending, mask, __ATOMIC_RELEASE);
	if (!mask)
		gp_complete();
}

static void gp_complete(void)
{
	rcu.gp_completed = rcu.gp_started;
	waitq_wake_all(&rcu.wq);
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online && rcu_cpus[i].head && cpus[i].idle)
			arch_send_resched(i);
	if (rcu.need_gp)
		gp_start();
}

/* The grace period a caller must wait for; starts one if none is running. */
static u64 gp_request(void)
{
	spin_assert_held(&rcu.lock);
	u64 target = rcu.gp_started + 1;
	if (rcu.gp_started == rcu.gp_completed)
		gp_start();
	else
		rcu.need_gp = true;
	return target;
}

static void report_qs(u64 bit)
{
	u64 left = __atomic_and_fetch(&rcu.qs_pending, ~bit, __ATOMIC_ACQ_REL);
	if (!left && rcu.gp_started != rcu.gp_completed)
		gp_complete();
}

void rcu_qs(void)
{
	u64 bit = 1ULL << cpu_id();
	if (!(__atomic_load_n(&rcu.qs_pending, __ATOMIC_ACQUIRE) & bit))
		return;
	unsigned long f = spin_lock_irqsave(&rcu.lock);
	if (rcu.qs_pending & bit)
		report_qs(bit);
	spin_unlock_irqrestore(&rcu.lock, f);
}

void rcu_idle_enter(void)
{
	u64 bit = 1ULL << cpu_id();
	unsigned long f = spin_lock_irqsave(&rcu.lock);
	rcu.idle_mask |= bit;
	if (rcu.qs_pending & bit)
		report_qs(bit);
	spin_unlock_irqrestore(&rcu.lock, f);
}

void rcu_idle_exit(void)
{
	u64 bit = 1ULL << cpu_id();
	unsigned long f = spin_lock_irqsave(&rcu.lock);
	rcu.idle_mask &= ~bit;
	spin_unlock_irqrestore(&rcu.lock, f);
}

void call_rcu(struct rcu_head *h, void (*fn)(struct rcu_head *))
{
	h->fn = fn;
	h->next = NULL;
	unsigned long f = spin_lock_irqsave(&rcu.lock);
	h->gp = gp_request();
	struct rcu_cpu *rc = &rcu_cpus[cpu_id()];
	*rc->tail = h;
	rc->tail = &h->next;
	rc->count++;
	spin_unlock_irqrestore(&rcu.lock, f);
}

void rcu_run_callbacks(void)
{
	struct rcu_cpu *rc = &rcu_cpus[cpu_id()];
	u64 done = __atomic_load_n(&rcu.gp_completed, __ATOMIC_ACQUIRE);
	while (rc->head && rc->head->gp <= done) {
		unsigned long f = irq_save();
		struct rcu_head *h = rc->head;
		rc->head = h->next;
		if (!rc->head)
			rc->tail = &rc->head;
		rc->count--;
		irq_restore(f);
		h->fn(h);
		__atomic_fetch_add(&rcu.callbacks_run, 1, __ATOMIC_RELAXED);
	}
}

void synchronize_rcu(void)
{
	unsigned long f = spin_lock_irqsave(&rcu.lock);
	u64 target = gp_request();
	spin_unlock_irqrestore(&rcu.lock, f);
	wait_event(&rcu.wq, __atomic_load_n(&rcu.gp_completed, __ATOMIC_ACQUIRE) >= target);
}

struct barrier_cb {
	struct rcu_head head;
	int *left;
	struct waitq *wq;
};

static void barrier_fn(struct rcu_head *h)
{
	struct barrier_cb *b = container_of(h, struct barrier_cb, head);
	__atomic_fetch_sub(b->left, 1, __ATOMIC_RELEASE);
	waitq_wake_all(b->wq);
}

static void barrier_thread(void *arg)
{
	call_rcu(arg, barrier_fn);
}

void rcu_barrier(void)
{
	/* Callbacks run in order per CPU: queue one on every CPU and wait for
	 * them all. A pinned helper thread queues each. */
	static struct barrier_cb cbs[MAX_CPUS];   /* [barrier_lock] */
	static struct waitq wq;
	int left = 0;
	mutex_lock(&barrier_lock);
	waitq_init(&wq, "rcu_barrier");
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		if (!cpus[i].online)
			continue;
		left++;
		cbs[i] = (struct barrier_cb){ .left = &left, .wq = &wq };
	}
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		if (!cpus[i].online)
			continue;
		struct thread *t = thread_create("rcu_barrier", barrier_thread, &cbs[i].head,
						 (int)i, THREAD_PINNED);
		if (!t)
			panic("rcu_barrier: cannot create helper thread");
		thread_join(t);
	}
	wait_event(&wq, __atomic_load_n(&left, __ATOMIC_ACQUIRE) == 0);
	mutex_unlock(&barrier_lock);
}

void rcu_stats(struct rcu_stats *s)
{
	unsigned long f = spin_lock_irqsave(&rcu.lock);
	s->gp_started = rcu.gp_started;
	s->gp_completed = rcu.gp_completed;
	s->qs_pending_mask = rcu.qs_pending;
	s->idle_mask = rcu.idle_mask;
	spin_unlock_irqrestore(&rcu.lock, f);
	s->callbacks_run = rcu.callbacks_run;
	s->callbacks_pending = 0;
	for (int i = 0; i < MAX_CPUS; i++)
		s->callbacks_pending += rcu_cpus[i].count;
}

KCOUNTER_VAR("rcu.grace_periods", "periods", rcu.gp_completed);
KCOUNTER_VAR("rcu.callbacks_run", "callbacks", rcu.callbacks_run);
