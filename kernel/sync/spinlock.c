/* Ticket spinlocks; see spinlock.h for the rules. */
#include "kernel/sync/spinlock.h"
#include "kernel/console/console.h"

void spin_init(spinlock_t *l, const char *name)
{
	l->next = 0;
	l->serving = 0;
	l->owner = 0;
	l->name = name;
	l->contended = 0;
}

bool spin_held(const spinlock_t *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == (int)cpu_id() + 1;
}

void raw_spin_lock(spinlock_t *l)
{
	if (unlikely(spin_held(l)))
		panic("spin_lock: lock '%s' already held by this CPU", l->name ? l->name : "?");
	u32 t = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != t) {
		l->contended++; /* racy statistic, good enough */
		while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != t)
			cpu_pause();
	}
	__atomic_store_n(&l->owner, (int)cpu_id() + 1, __ATOMIC_RELAXED);
}

bool raw_spin_trylock(spinlock_t *l)
{
	u32 s = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
	u32 want = s;
	if (!__atomic_compare_exchange_n(&l->next, &want, s + 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(&l->owner, (int)cpu_id() + 1, __ATOMIC_RELAXED);
	return true;
}

void raw_spin_unlock(spinlock_t *l)
{
	if (unlikely(!spin_held(l)))
		panic("spin_unlock: lock '%s' not held by this CPU (owner %d)",
		      l->name ? l->name : "?", l->owner - 1);
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
}

void spin_assert_held_fail(const spinlock_t *l, const char *func)
{
	panic("%s: lock '%s' not held", func, l->name ? l->name : "?");
}
