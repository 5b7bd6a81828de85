/*
 * RCU, quiescent-state based. Readers:
 *     rcu_read_lock(); p = rcu_dereference(ptr); ... rcu_read_unlock();
 * never block and never sleep inside; they cost a preemption-count change.
 * Writers publish with rcu_assign_pointer and, after unlinking an object,
 * free it after a grace period: call_rcu(&obj->rcu, fn) (fn runs later in
 * the scheduler loop of the calling CPU; it must not sleep) or
 * synchronize_rcu() (sleeps until every reader that could see the object
 * has finished).
 *
 * A CPU passes a quiescent state whenever its scheduler loop runs (every
 * context switch), when the timer interrupts a preemptible thread, and
 * while it is idle. The scheduler drives grace periods: it calls rcu_qs,
 * rcu_idle_enter/exit and rcu_run_callbacks.
 */
#ifndef SYNC_RCU_H
#define SYNC_RCU_H

#include "kernel/arch/arch.h"

struct rcu_head {
	struct rcu_head *next;
	void (*fn)(struct rcu_head *);
	u64 gp;          /* grace period that must complete first */
};

static inline void rcu_read_lock(void) { preempt_disable(); }
static inline void rcu_read_unlock(void) { preempt_enable(); }
#define rcu_dereference(p) __atomic_load_n(&(p), __ATOMIC_CONSUME)
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

void call_rcu(struct rcu_head *h, void (*fn)(struct rcu_head *));
void synchronize_rcu(void);
/* Wait until every callback queued before the call has run. */
void rcu_barrier(void);

/* Scheduler hooks (interrupts disabled). */
void rcu_qs(void);
void rcu_idle_enter(void);
void rcu_idle_exit(void);
void rcu_run_callbacks(void);
void rcu_init(void);

struct rcu_stats {
	u64 gp_started, gp_completed, callbacks_run, callbacks_pending;
	u64 qs_pending_mask, idle_mask;
};
void rcu_stats(struct rcu_stats *s);

#endif
