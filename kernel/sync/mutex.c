/*
 * Mutexes: an owner word taken by compare-and-swap, and a wait queue for
 * contenders. Unlock wakes one waiter, which retries (a newcomer may take
 * the mutex first; the waiter then waits again).
 */
#include "kernel/sync/sync.h"
#include "kernel/console/console.h"

void mutex_init(struct mutex *m, const char *name)
{
	m->owner = NULL;
	waitq_init(&m->wq, name);
	m->contended = 0;
	m->acquired = 0;
}

static bool try_take(struct mutex *m, struct thread *me)
{
	struct thread *expect = NULL;
	return __atomic_compare_exchange_n(&m->owner, &expect, me, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

void mutex_lock(struct mutex *m)
{
	struct thread *me = thread_current();
	if (try_take(m, me)) {
		m->acquired++;
		return;
	}
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == me)
		panic("mutex_lock: %s already held by this thread (%s)", m->wq.name, me->name);
	__atomic_fetch_add(&m->contended, 1, __ATOMIC_RELAXED);
	wait_event(&m->wq, try_take(m, me));
	m->acquired++;
}

void mutex_unlock(struct mutex *m)
{
	struct thread *me = thread_current();
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != me)
		panic("mutex_unlock: %s not held by this thread (%s)", m->wq.name,
		      me ? me->name : "-");
	__atomic_store_n(&m->owner, NULL, __ATOMIC_RELEASE);
	waitq_wake_one(&m->wq);
}
