/* Scheduler internals shared by sched.c, thread.c and waitq.c. */
#ifndef SCHED_SCHED_PRIV_H
#define SCHED_SCHED_PRIV_H

#include "kernel/sched/sched.h"

struct runq {
	spinlock_t lock;
	struct list_node queue;   /* [Q] runnable threads */
	u32 len;                  /* [Q] written; read racily by stealers */
	u64 steals, stolen;       /* [Q] / owner */
	u64 idle_ns;
	volatile bool frozen;     /* halted because of a freeze */
	bool kicked;              /* [atomic] sent a wake-up IPI since it last went idle */
	u64 kicks, kicks_saved;   /* [atomic] IPIs sent to wake it; not sent: one was on its way */
	struct timer slice;       /* preemption timer of this CPU */
} __aligned(CACHELINE);

extern struct runq rqs[MAX_CPUS];

void sched_enqueue(struct thread *t, unsigned cpu);   /* t->lock held */
void sched_switch_out(struct thread *t);              /* t->lock held, irqs off */
void sched_block(const char *chan);
void sched_reap(struct thread *t);    /* a dead thread, its lock released (thread.c) */

#endif
