/*
 * Wait queues (sched.h). A waiter is queued by wait_prepare before the
 * condition is checked, so a wakeup that comes after the check either finds
 * the thread still running (and marks it, so wait_block returns at once) or
 * finds it blocked (and queues it to run): no wakeup is lost.
 *
 * Locks: [W] wq->lock (interrupts off) guards the waiter list. Taken before
 * thread and run-queue locks.
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

bool waitq_wake_one(struct waitq *wq)
{
	unsigned long f = spin_lock_irqsave(&wq->lock);
	struct list_node *n = list_pop_front(&wq->waiters);
	if (n)
		sched_wake(list_entry(n, struct waiter, link)->thread);
	spin_unlock_irqrestore(&wq->lock, f);
	return n != NULL;
}

int waitq_wake_all(struct waitq *wq)
{
	int woken = 0;
	unsigned long f = spin_lock_irqsave(&wq->lock);
	struct list_node *n;
	while ((n = list_pop_front(&wq->waiters)) != NULL) {
		sched_wake(list_entry(n, struct waiter, link)->thread);
		woken++;
	}
	spin_unlock_irqrestore(&wq->lock, f);
	return woken;
}
