/*
 * Threads, the scheduler, wait queues and one-shot timers.
 *
 * The scheduler is an event loop per CPU (seed essay "REPL kernel and CPU
 * scheduler"):
 *
 *     for (;;) {
 *         t = next();           policy: own queue, else steal from the busiest
 *         if (!t) halt();       mechanism: sleep until an interrupt
 *         else { run(t);        mechanism: switch to t until it yields,
 *                put(t); }      blocks, exits or is preempted; policy: requeue
 *     }                         or dispose of t
 *
 * Freezing the machine is making next() return nothing (sched_freeze); only
 * threads created with THREAD_NOFREEZE (the REPL) still run.
 *
 * Threads. thread_create returns a reference the caller must give back with
 * thread_join (waits for the exit) or thread_put. A thread ends by returning
 * from its function or calling thread_exit. Kernel threads are preemptible
 * unless they hold a spinlock or are inside rcu_read_lock.
 *
 * Wait queues. To wait for a condition:
 *     wait_event(&wq, cond);          (cond re-checked after each wakeup)
 * and the side that makes cond true calls waitq_wake_one/all(&wq) after.
 *
 * Timers. timer_arm(t, deadline_ns, fn, arg) runs fn(arg) once, in
 * interrupt context on the CPU that armed it, at or after the deadline. fn
 * must be short and must not sleep (wake a thread, set a flag).
 * timer_cancel waits for a running fn to finish, so after it returns the
 * timer is neither pending nor running.
 */
#ifndef SCHED_SCHED_H
#define SCHED_SCHED_H

#include "kernel/lib/list.h"
#include "kernel/mm/mm.h"
#include "kernel/sync/spinlock.h"

struct gc_resv;

/* ---- timers ---- */
struct timer {
	struct list_node link;    /* [timer base lock of cpu] */
	u64 deadline;             /* ns, arch_clock_ns() time */
	void (*fn)(void *arg);
	void *arg;
	int cpu;                  /* [atomic] base it is queued on, -1 if not pending */
};

void timer_init(struct timer *t);
void timer_arm(struct timer *t, u64 deadline_ns, void (*fn)(void *), void *arg);
bool timer_cancel(struct timer *t);  /* true if it was pending */
void timers_init_cpu(void);          /* per CPU, before interrupts */
u64 timers_fired(unsigned cpu);

/* ---- threads ---- */
enum thread_state { THREAD_RUNNABLE, THREAD_RUNNING, THREAD_BLOCKED, THREAD_DEAD };

#define THREAD_NOFREEZE (1u << 0)   /* keeps running while the machine is frozen */
#define THREAD_PINNED   (1u << 1)   /* never migrates off its CPU */

struct waitq {
	spinlock_t lock;
	struct list_node waiters;   /* [lock] struct waiter */
	const char *name;
};

struct thread {
	struct context *ctx;        /* saved stack pointer when not running */
	spinlock_t lock;            /* [T] */
	enum thread_state state;    /* [T] */
	bool wake_pending;          /* [T] woken between wait_prepare and block */
	unsigned cpu;               /* [T] CPU running it or whose queue holds it */
	unsigned flags;
	struct list_node rq_link;   /* [run queue lock] */
	struct list_node all_link;  /* [threads lock] */
	struct kstack stack;
	u64 id;
	char name[24];
	void (*fn)(void *);
	void *arg;
	const char *wait_chan;      /* what it blocks on (for inspection) */
	int refs;                   /* [atomic] */
	bool exited;                /* [exit_wq.lock] */
	struct waitq exit_wq;
	u64 runtime_ns, started_ns; /* [owner CPU] */
	u64 switches, migrations;
	struct timer sleep_timer;
	bool timed_out;             /* [T] the sleep timer woke it */
	/* user-mode state (kernel/proc sets it, on the thread itself with
	 * interrupts off); NULL for kernel threads. The scheduler switches it
	 * in and out around the thread's runs. */
	struct arch_user *user;
	/* the innermost GC heap reservation of the thread (kernel/gc) */
	struct gc_resv *gc_resv;
	/* thread_exit_notify: called by the reaper once the stack is freed */
	void (*on_reaped)(void *);
	void *reaped_arg;
};

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, int cpu,
			     unsigned flags);
void thread_join(struct thread *t);
void thread_put(struct thread *t);
__noreturn void thread_exit(void);
/* thread_exit, and fn(arg) runs on the reaper once this thread's stack is
 * freed and its own reference dropped (the owner of several threads learns
 * when the last one's resources are back). fn may sleep. */
__noreturn void thread_exit_notify(void (*fn)(void *), void *arg);
/* The running thread, NULL in the scheduler loop (inline: every system
 * call asks, often more than once). */
static inline struct thread *thread_current(void) { return this_cpu()->current; }
void thread_yield(void);
void thread_sleep_ns(u64 ns);
u64 thread_count(void);
/* Wait (up to a second) until every dead thread's stack has been freed. */
void thread_wait_reaped(void);
/* Start the thread that frees dead threads' stacks (kmain, once). */
void thread_init_reaper(void);

/* Walk all threads (for the REPL and tests); fn runs under the threads lock
 * with interrupts disabled and must not block. */
void thread_for_each(void (*fn)(struct thread *t, void *arg), void *arg);

/* ---- wait queues ---- */
struct waiter {
	struct list_node link;   /* [waitq lock]; next == NULL: never queued */
	struct thread *thread;
	/* a standing watch (waitq_watch): called at every wakeup, with the
	 * queue's lock held and interrupts off (it must not sleep nor touch
	 * this queue); it stays queued until wait_finish. Returns true if it
	 * woke a thread of its own. */
	bool (*fn)(struct waiter *w);
	/* an exclusive watch: a wakeup calls exclusive watches only until
	 * one returns true (EPOLLEXCLUSIVE: one instance's waiters woken) */
	bool exclusive;
};
#define WAITER_INIT { { NULL, NULL }, NULL, NULL, false }

void waitq_init(struct waitq *wq, const char *name);
void wait_prepare(struct waitq *wq, struct waiter *w);
void wait_block(struct waitq *wq);        /* sleeps unless already woken */
void wait_finish(struct waitq *wq, struct waiter *w);
/* Queue w as a standing watch of wq: fn(w) at every wakeup (epoll's
 * ready lists), or for an exclusive watch at the wakeups no exclusive
 * watch before it took; wait_finish removes it. */
void waitq_watch(struct waitq *wq, struct waiter *w, bool (*fn)(struct waiter *w),
		 bool exclusive);
/* Returns true if it woke a thread. Safe from interrupt handlers. */
bool waitq_wake_one(struct waitq *wq);
int waitq_wake_all(struct waitq *wq);
/* *done = true and waitq_wake_all, both under wq's lock: for a wait
 * queue that lives with its waiter (on its stack), which may return as
 * soon as it sees *done; its wait_finish takes the lock, so it cannot
 * return before this call has let go of the queue for good. */
void waitq_complete(struct waitq *wq, volatile bool *done);
/* wait_block with a deadline; returns false on timeout. */
bool wait_block_until(struct waitq *wq, u64 deadline_ns);

#define wait_event(wq, cond)                              \
	do {                                              \
		struct waiter __w = WAITER_INIT;          \
		for (;;) {                                \
			wait_prepare((wq), &__w);         \
			if (cond)                         \
				break;                    \
			wait_block(wq);                   \
		}                                         \
		wait_finish((wq), &__w);                  \
	} while (0)

/* Evaluates to true if cond held, false on timeout. */
#define wait_event_timeout(wq, cond, timeout_ns)                          \
	({                                                                \
		struct waiter __w = WAITER_INIT;                          \
		u64 __deadline = arch_clock_ns() + (timeout_ns);          \
		bool __ok;                                                \
		for (;;) {                                                \
			wait_prepare((wq), &__w);                         \
			if (cond) { __ok = true; break; }                 \
			if (!wait_block_until((wq), __deadline)) {        \
				__ok = (cond);                            \
				break;                                    \
			}                                                 \
		}                                                         \
		wait_finish((wq), &__w);                                  \
		__ok;                                                     \
	})

/* ---- scheduler ---- */
void sched_init(void);
/* Become this CPU's scheduler loop; never returns. */
__noreturn void sched_loop(void);
/* Wake a blocked thread (any context). */
void sched_wake(struct thread *t);
/* Freeze: every CPU but the caller's halts once its running thread is
 * preempted; only THREAD_NOFREEZE threads run. Returns 0, -EPERM if the
 * caller is not THREAD_NOFREEZE, or -ETIMEDOUT if some CPU did not halt
 * within timeout (the freeze stays in effect). */
int sched_freeze(u64 timeout_ns);
void sched_thaw(void);
bool sched_frozen(void);
/* Stop the world (the GC's pauses): every other CPU switches its thread out
 * at its next preemptible point and waits in its scheduler loop, interrupts
 * on, until sched_resume_others. The caller (a thread holding no spinlock)
 * stays on its CPU with preemption off in between; one stopper at a time. */
void sched_stop_others(void);
void sched_resume_others(void);

struct sched_cpu_stats {
	u32 runnable;       /* queued */
	bool idle, frozen, online;
	u64 steals;         /* threads this CPU took from others */
	u64 stolen;         /* threads others took from this CPU */
	u64 switches, idle_ns;
	const char *current;
};
void sched_stats(unsigned cpu, struct sched_cpu_stats *s);
/* The running thread's name, or "(scheduler loop)" (panic reports it). */
const char *sched_thread_name(void);

#endif
