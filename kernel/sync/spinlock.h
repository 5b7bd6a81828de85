/*
 * Spinlocks: ticket locks that record their owner CPU.
 *
 *   spin_lock/spin_unlock            disable preemption while held
 *   spin_lock_irqsave/..._irqrestore also disable interrupts; use them for
 *                                    any lock an interrupt handler takes
 *   raw_spin_lock/raw_spin_unlock    change nothing else; only for code that
 *                                    already runs with interrupts off and
 *                                    hands a lock across a context switch
 *                                    (the scheduler)
 *
 * Taking a lock this CPU already holds panics (it would deadlock). Locks
 * are not recursive and must be released on the CPU that took them, except
 * the scheduler's hand-off (sched.c), which acquires and releases on the
 * same CPU in two different contexts.
 */
#ifndef SYNC_SPINLOCK_H
#define SYNC_SPINLOCK_H

#include "kernel/arch/arch.h"

typedef struct spinlock {
	u32 next;            /* next ticket to hand out */
	u32 serving;         /* ticket now holding the lock */
	int owner;           /* cpu id + 1 of the holder, 0 when free */
	const char *name;
	u64 contended;       /* acquisitions that had to wait */
} spinlock_t;

#define SPINLOCK_INIT(n) { 0, 0, 0, (n), 0 }

void spin_init(spinlock_t *l, const char *name);
void raw_spin_lock(spinlock_t *l);
void raw_spin_unlock(spinlock_t *l);
bool raw_spin_trylock(spinlock_t *l);
bool spin_held(const spinlock_t *l);       /* held by this CPU */

static inline void spin_lock(spinlock_t *l)
{
	preempt_disable();
	raw_spin_lock(l);
}
static inline void spin_unlock(spinlock_t *l)
{
	raw_spin_unlock(l);
	preempt_enable();
}
static inline bool spin_trylock(spinlock_t *l)
{
	preempt_disable();
	if (raw_spin_trylock(l))
		return true;
	preempt_enable();
	return false;
}
static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
	unsigned long f = irq_save();
	spin_lock(l);
	return f;
}
static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long f)
{
	spin_unlock(l);
	irq_restore(f);
}

void spin_assert_held_fail(const spinlock_t *l, const char *func);
#define spin_assert_held(l) \
	do { if (!spin_held(l)) spin_assert_held_fail((l), __func__); } while (0)

#endif
