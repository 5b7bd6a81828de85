/*
 * Kernel threads: creation, exit, join, sleeping, and the reaper that frees
 * the stacks of dead threads (freeing a stack unmaps it, which needs a TLB
 * shootdown, which needs interrupts on: the scheduler loop cannot do it).
 *
 * Locks: [A] threads_lock guards all_threads; [R] reap_lock the reap list.
 * A thread holds two references while it runs and after: one for its
 * creator (dropped by thread_join/thread_put) and one for itself (dropped
 * by the reaper once its stack is gone).
 */
#include "kernel/sched/sched.h"
#include "kernel/sched/sched_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/gc/gc.h"

static struct kmem_cache *thread_cache;
static spinlock_t threads_lock = SPINLOCK_INIT("threads");
static struct list_node all_threads = LIST_INIT(all_threads); /* [A] */
static u64 nthreads;                                          /* [A] */
static u64 next_id = 1;                                       /* [atomic] */

static spinlock_t reap_lock = SPINLOCK_INIT("reap");
static struct list_node reap_list = LIST_INIT(reap_list);     /* [R] via rq_link */
static struct waitq reap_wq;
static struct thread *reaper;

const char *sched_thread_name(void)
{
	struct thread *t = this_cpu()->current;
	return t ? t->name : "(scheduler loop)";
}

static void thread_start(void)
{
	struct thread *t = this_cpu()->current;
	raw_spin_unlock(&t->lock); /* taken by the scheduler's run() */
	irq_enable();
	t->fn(t->arg);
	thread_exit();
}

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, int cpu,
			     unsigned flags)
{
	if (!thread_cache) {
		thread_cache = kmem_cache_create("thread", sizeof(struct thread));
		if (!thread_cache)
			return NULL;
	}
	struct thread *t = kmem_cache_alloc(thread_cache);
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	if (kstack_alloc(&t->stack) < 0) {
		kmem_cache_free(thread_cache, t);
		return NULL;
	}
	spin_init(&t->lock, "thread");
	list_init(&t->rq_link);
	waitq_init(&t->exit_wq, "join");
	timer_init(&t->sleep_timer);
	size_t n = strnlen(name, sizeof(t->name) - 1);
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	t->fn = fn;
	t->arg = arg;
	t->flags = flags;
	t->refs = 2;
	t->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	t->ctx = arch_thread_init((void *)t->stack.hi, thread_start);
	if (cpu < 0 || cpu >= MAX_CPUS || !cpus[cpu].online)
		cpu = (int)cpu_id();

	unsigned long f = spin_lock_irqsave(&threads_lock);
	list_push_back(&all_threads, &t->all_link);
	nthreads++;
	spin_unlock_irqrestore(&threads_lock, f);

	f = irq_save();
	raw_spin_lock(&t->lock);
	sched_enqueue(t, (unsigned)cpu);
	raw_spin_unlock(&t->lock);
	irq_restore(f);
	return t;
}

void thread_put(struct thread *t)
{
	if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	unsigned long f = spin_lock_irqsave(&threads_lock);
	list_remove(&t->all_link);
	nthreads--;
	spin_unlock_irqrestore(&threads_lock, f);
	kmem_cache_free(thread_cache, t);
}

void thread_join(struct thread *t)
{
	wait_event(&t->exit_wq, __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE));
	thread_put(t);
}

__noreturn void thread_exit(void)
{
	struct thread *t = thread_current();
	/* a thread that ends inside a system call (exit, a fatal signal) gives
	 * its GC heap reservations back here */
	while (t->gc_resv)
		gc_unreserve(t->gc_resv);
	timer_cancel(&t->sleep_timer);
	unsigned long f = spin_lock_irqsave(&t->exit_wq.lock);
	__atomic_store_n(&t->exited, true, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&t->exit_wq.lock, f);
	waitq_wake_all(&t->exit_wq);
	irq_disable();
	raw_spin_lock(&t->lock);
	t->state = THREAD_DEAD;
	sched_switch_out(t);
	panic("thread_exit: dead thread %s was scheduled", t->name);
}

__noreturn void thread_exit_notify(void (*fn)(void *), void *arg)
{
	struct thread *t = thread_current();
	t->reaped_arg = arg;
	t->on_reaped = fn;
	thread_exit();
}

/* Called by the scheduler loop once a dead thread's lock is released. */
void sched_reap(struct thread *t)
{
	unsigned long f = spin_lock_irqsave(&reap_lock);
	list_push_back(&reap_list, &t->rq_link);
	spin_unlock_irqrestore(&reap_lock, f);
	if (reaper)
		waitq_wake_one(&reap_wq);
}

static bool reap_pending(void) { return !list_empty(&reap_list); }

static void reaper_main(void *arg)
{
	(void)arg;
	for (;;) {
		wait_event(&reap_wq, reap_pending());
		for (;;) {
			unsigned long f = spin_lock_irqsave(&reap_lock);
			struct list_node *n = list_pop_front(&reap_list);
			spin_unlock_irqrestore(&reap_lock, f);
			if (!n)
				break;
			struct thread *t = list_entry(n, struct thread, rq_link);
			void (*fn)(void *) = t->on_reaped;
			void *arg = t->reaped_arg;
			kstack_free(&t->stack);
			thread_put(t);   /* t may be freed from here on */
			if (fn)
				fn(arg);
		}
	}
}

void thread_init_reaper(void)
{
	waitq_init(&reap_wq, "reap");
	reaper = thread_create("reaper", reaper_main, NULL, 0, 0);
	if (!reaper)
		panic("thread: cannot create the reaper");
}

static void sleep_timeout(void *arg)
{
	struct thread *t = arg;
	t->timed_out = true;
	sched_wake(t);
}

bool wait_block_until(struct waitq *wq, u64 deadline_ns)
{
	struct thread *t = thread_current();
	t->timed_out = false;
	if (arch_clock_ns() >= deadline_ns)
		return false;
	timer_arm(&t->sleep_timer, deadline_ns, sleep_timeout, t);
	sched_block(wq->name);
	timer_cancel(&t->sleep_timer);
	return !t->timed_out;
}

void thread_sleep_ns(u64 ns)
{
	u64 deadline = arch_clock_ns() + ns;
	struct waitq wq;
	waitq_init(&wq, "sleep");
	while (arch_clock_ns() < deadline) {
		struct waiter w = WAITER_INIT;
		wait_prepare(&wq, &w);
		wait_block_until(&wq, deadline);
		wait_finish(&wq, &w);
	}
}

u64 thread_count(void) { return nthreads; }

void thread_for_each(void (*fn)(struct thread *t, void *arg), void *arg)
{
	unsigned long f = spin_lock_irqsave(&threads_lock);
	struct list_node *n;
	list_for_each(n, &all_threads)
		fn(list_entry(n, struct thread, all_link), arg);
	spin_unlock_irqrestore(&threads_lock, f);
}

void thread_wait_reaped(void)
{
	for (int i = 0; i < 1000; i++) {
		unsigned long f = spin_lock_irqsave(&reap_lock);
		bool empty = list_empty(&reap_list);
		spin_unlock_irqrestore(&reap_lock, f);
		if (empty && reaper && READ_ONCE(reaper->state) == THREAD_BLOCKED)
			return;
		thread_sleep_ns(1000000);
	}
}
