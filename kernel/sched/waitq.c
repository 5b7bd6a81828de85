/*
 * Wait queues (sched.h). A waiter is queued by wait_prepare before the
 * condition is checked, so a wakeup that comes after the check either finds
 * the thread still running (and marks it, so wait_block returns at once) or
 * finds it blocked (and queues it to run): no wakeup is lost.
 *
 * A standing watch (waitq_watch, w->fn set) is no thread: every wakeup
 * calls its fn and leaves it queued, until wait_finish. Exclusive watches
 * (EPOLLEXCLUSIVE) are called in the order they were queued until one
 * says it woke a thread; the rest of them miss that wakeup, as Linux's
 * exclusive wait entries do.
 *
 * Locks: [W] wq->lock (interrupts off) guards the waiter list. Taken before
 * thread and run-queue locks, and before whatever a watch's fn takes.
 */
#include "kernel/sched/sched.h"
#include "kernel/sched/sched_priv.h"
#include "kernel/console/console.h"

void waitq_init(struct waitq *wq, const char *name)
{
	spin_init(&wq->lock, name);
	list_init(&wq->waiters);
	wq->name = name;
}

static bool queued(const struct waiter *w)
{
	return w->link.next != NULL && w->link.next != &w->link;
}

void wait_prepare(struct waitq *wq, struct waiter *w)
{
	struct thread *t = thread_current();
	if (!t)
		panic("wait_prepare(%s): not in a thread", wq->name);
	w->thread = t;
	unsigned long f = irq_save();
	raw_spin_lock(&t->lock);
	t->wake_pending = false;
	raw_spin_unlock(&t->lock);
	raw_spin_lock(&wq->lock);
	if (!queued(w))
		list_push_back(&wq->waiters, &w->link);
	raw_spin_unlock(&wq->lock);
	irq_restore(f);
}

void wait_block(struct waitq *wq) { sched_block(wq->name); }

void wait_finish(struct waitq *wq, struct waiter *w)
{
	unsigned long f = spin_lock_irqsave(&wq->lock);
	if (queued(w))
		list_remove(&w->link);
	spin_unlock_irqrestore(&wq->lock, f);
}

void waitq_watch(struct waitq *wq, struct waiter *w, bool (*fn)(struct waiter *w),
		 bool exclusive)
{
	w->thread = NULL;
	w->fn = fn;
	w->exclusive = exclusive;
	unsigned long f = spin_lock_irqsave(&wq->lock);
	if (!queued(w))
		list_push_back(&wq->waiters, &w->link);
	spin_unlock_irqrestore(&wq->lock, f);
}

/* Wake up to max threads; call every watch, the exclusive ones until one
 * wakes a thread. [W] held. */
static int wake_locked(struct waitq *wq, int max)
{
	int woken = 0;
	bool taken = false; /* an exclusive watch woke a thread */
	struct list_node *n = wq->waiters.next;
	while (n != &wq->waiters) {
		struct list_node *next = n->next;
		struct waiter *w = list_entry(n, struct waiter, link);
		if (w->fn) {
			if (!w->exclusive)
				w->fn(w);
			else if (!taken)
				taken = w->fn(w);
		} else if (woken < max) {
			list_remove(n);
			sched_wake(w->thread);
			woken++;
		}
		n = next;
	}
	return woken;
}

bool waitq_wake_one(struct waitq *wq)
{
	unsigned long f = spin_lock_irqsave(&wq->lock);
	int woken = wake_locked(wq, 1);
	spin_unlock_irqrestore(&wq->lock, f);
	return woken != 0;
}

int waitq_wake_all(struct waitq *wq)
{
	unsigned long f = spin_lock_irqsave(&wq->lock);
	int woken = wake_locked(wq, 0x7fffffff);
	spin_unlock_irqrestore(&wq->lock, f);
	return woken;
}

void waitq_complete(struct waitq *wq, volatile bool *done)
{
	unsigned long f = spin_lock_irqsave(&wq->lock);
	__atomic_store_n(done, true, __ATOMIC_RELEASE);
	wake_locked(wq, 0x7fffffff);
	spin_unlock_irqrestore(&wq->lock, f);   /* the last touch of wq */
}
