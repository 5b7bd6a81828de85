/*
 * Sleeping synchronization for threads: mutexes, condition variables and
 * counting semaphores. None may be used from interrupt handlers, except
 * sem_up and cond_signal, which never sleep.
 *
 * mutex_lock on a mutex the caller already holds, or mutex_unlock by a
 * thread that does not hold it, panics.
 */
#ifndef SYNC_SYNC_H
#define SYNC_SYNC_H

#include "kernel/sched/sched.h"

struct mutex {
	struct thread *owner;   /* [atomic] */
	struct waitq wq;
	u64 contended;          /* lock calls that had to wait */
	u64 acquired;
};

void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

struct cond {
	struct waitq wq;
};

void cond_init(struct cond *c, const char *name);
/* Atomically release m and wait; m is held again on return. Spurious
 * wakeups happen: wait in a loop on the predicate. */
void cond_wait(struct cond *c, struct mutex *m);
/* As cond_wait, giving up at deadline; returns false on timeout. */
bool cond_wait_until(struct cond *c, struct mutex *m, u64 deadline_ns);
void cond_signal(struct cond *c);

struct sem {
	int count;              /* [atomic] */
	struct waitq wq;
};

void sem_init(struct sem *s, int count, const char *name);
void sem_down(struct sem *s);
bool sem_trydown(struct sem *s);
bool sem_down_timeout(struct sem *s, u64 timeout_ns);
void sem_up(struct sem *s);

#endif
