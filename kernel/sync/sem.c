/* Counting semaphores: an atomic count and a wait queue. */
#include "kernel/sync/sync.h"

void sem_init(struct sem *s, int count, const char *name)
{
	s->count = count;
	waitq_init(&s->wq, name);
}

bool sem_trydown(struct sem *s)
{
	int c = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
	while (c > 0)
		if (__atomic_compare_exchange_n(&s->count, &c, c - 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

void sem_down(struct sem *s) { wait_event(&s->wq, sem_trydown(s)); }

bool sem_down_timeout(struct sem *s, u64 timeout_ns)
{
	return wait_event_timeout(&s->wq, sem_trydown(s), timeout_ns);
}

void sem_up(struct sem *s)
{
	__atomic_fetch_add(&s->count, 1, __ATOMIC_RELEASE);
	waitq_wake_one(&s->wq);
}
