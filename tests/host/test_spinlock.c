/*
 * kernel/sync/spinlock.c: mutual exclusion between host threads acting as
 * CPUs, the preemption and interrupt state the wrappers leave behind, and
 * the misuse panics (recursion, unlocking a lock this CPU does not hold).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>

#include "kernel/sync/spinlock.h"
#include "tests/host/host.h"

Test(spinlock, state_around_lock_and_unlock)
{
	spinlock_t l;
	spin_init(&l, "t");
	cr_assert_not(spin_held(&l));
	spin_lock(&l);
	cr_assert(spin_held(&l));
	cr_assert_eq(this_cpu()->preempt_count, 1);
	cr_assert(irqs_enabled());
	spin_unlock(&l);
	cr_assert_not(spin_held(&l));
	cr_assert_eq(this_cpu()->preempt_count, 0);

	unsigned long f = spin_lock_irqsave(&l);
	cr_assert_not(irqs_enabled());
	cr_assert(spin_held(&l));
	spin_unlock_irqrestore(&l, f);
	cr_assert(irqs_enabled());
	cr_assert_eq(this_cpu()->preempt_count, 0);

	/* irqsave nests: the inner restore keeps interrupts off */
	spinlock_t m = SPINLOCK_INIT("m");
	unsigned long f1 = spin_lock_irqsave(&l);
	unsigned long f2 = spin_lock_irqsave(&m);
	spin_unlock_irqrestore(&m, f2);
	cr_assert_not(irqs_enabled());
	spin_unlock_irqrestore(&l, f1);
	cr_assert(irqs_enabled());
}

Test(spinlock, trylock)
{
	spinlock_t l = SPINLOCK_INIT("try");
	cr_assert(spin_trylock(&l));
	cr_assert(spin_held(&l));
	host_set_cpu(3);                 /* another CPU sees it taken */
	cr_assert_not(spin_held(&l));
	cr_assert_not(spin_trylock(&l));
	cr_assert_eq(this_cpu()->preempt_count, 0, "a failed trylock must re-enable preemption");
	host_set_cpu(0);
	spin_unlock(&l);
	host_set_cpu(3);
	cr_assert(spin_trylock(&l));
	spin_unlock(&l);
	host_set_cpu(0);
}

struct counter_arg {
	spinlock_t *lock;
	u64 *counter;
	unsigned cpu;
	int bad;
};

static void *count_thread(void *p)
{
	struct counter_arg *a = p;
	host_set_cpu(a->cpu);
	for (int i = 0; i < 20000; i++) {
		unsigned long f = spin_lock_irqsave(a->lock);
		u64 v = *a->counter;         /* a lost update shows as a short count */
		__asm__ volatile("" ::: "memory");
		*a->counter = v + 1;
		if (!spin_held(a->lock))
			a->bad++;
		spin_unlock_irqrestore(a->lock, f);
	}
	return NULL;
}

Test(spinlock, mutual_exclusion_four_cpus, .timeout = 60)
{
	static spinlock_t l = SPINLOCK_INIT("counter");
	static u64 counter;
	struct counter_arg a[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct counter_arg){ &l, &counter, (unsigned)i + 1, 0 };
		cr_assert_eq(pthread_create(&t[i], NULL, count_thread, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(a[i].bad, 0);
	}
	cr_assert_eq(counter, 4 * 20000);
	cr_assert_eq(l.owner, 0);
	cr_assert_eq(l.next, l.serving);
}

Test(spinlock, recursive_lock_panics, .signal = SIGABRT)
{
	spinlock_t l = SPINLOCK_INIT("rec");
	spin_lock(&l);
	host_expect_panic("lock 'rec' already held by this CPU");
	spin_lock(&l);
}

Test(spinlock, unlock_unheld_panics, .signal = SIGABRT)
{
	spinlock_t l = SPINLOCK_INIT("free");
	host_expect_panic("lock 'free' not held by this CPU");
	raw_spin_unlock(&l);
}

Test(spinlock, unlock_on_other_cpu_panics, .signal = SIGABRT)
{
	spinlock_t l = SPINLOCK_INIT("mine");
	spin_lock(&l);
	host_set_cpu(2);
	host_expect_panic("not held by this CPU (owner 0)");
	raw_spin_unlock(&l);
}

static void assert_held_helper(spinlock_t *l) { spin_assert_held(l); }

Test(spinlock, assert_held)
{
	spinlock_t l = SPINLOCK_INIT("a");
	spin_lock(&l);
	assert_held_helper(&l);   /* held: nothing happens */
	spin_unlock(&l);
}

Test(spinlock, assert_held_panics_when_not_held, .signal = SIGABRT)
{
	spinlock_t l = SPINLOCK_INIT("needed");
	host_expect_panic("assert_held_helper: lock 'needed' not held");
	assert_held_helper(&l);
}
