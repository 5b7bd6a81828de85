/* Condition variables on wait queues: the waiter is queued before the
 * mutex is released, so a signal sent after the release is never lost. */
#include "kernel/sync/sync.h"

void cond_init(struct cond *c, const char *name) { waitq_init(&c->wq, name); }

void cond_wait(struct cond *c, struct mutex *m)
{
	struct waiter w = WAITER_INIT;
	wait_prepare(&c->wq, &w);
	mutex_unlock(m);
	wait_block(&c->wq);
	wait_finish(&c->wq, &w);
	mutex_lock(m);
}

bool cond_wait_until(struct cond *c, struct mutex *m, u64 deadline_ns)
{
	struct waiter w = WAITER_INIT;
	wait_prepare(&c->wq, &w);
	mutex_unlock(m);
	bool ok = wait_block_until(&c->wq, deadline_ns);
	wait_finish(&c->wq, &w);
	mutex_lock(m);
	return ok;
}

void cond_signal(struct cond *c) { waitq_wake_one(&c->wq); }
