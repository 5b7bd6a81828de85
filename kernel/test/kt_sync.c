/* In-kernel tests of spinlocks, semaphores and lock misuse detection. */
#include "kernel/test/ktest.h"
#include "kernel/console/console.h"
#include "kernel/sync/sync.h"

#define SPIN_ITERS 5000

struct spin_test {
	spinlock_t lock;
	u64 counter; /* [lock] */
};

static void spin_worker(int idx, void *arg)
{
	struct spin_test *t = arg;
	(void)idx;
	for (int i = 0; i < SPIN_ITERS; i++) {
		unsigned long f = spin_lock_irqsave(&t->lock);
		t->counter++;
		spin_unlock_irqrestore(&t->lock, f);
	}
}

KTEST(spinlock_counter)
{
	static struct spin_test t;
	spin_init(&t.lock, "kt_spin");
	t.counter = 0;
	int n = kt_run_on_all_cpus(spin_worker, &t, 2);
	KT_ASSERT(t.counter == (u64)n * SPIN_ITERS, "counter %llu, expected %llu",
		  (unsigned long long)t.counter, (unsigned long long)n * SPIN_ITERS);
	KT_ASSERT(!spin_held(&t.lock));
	ktest_metric("contended", t.lock.contended, "acquisitions");
}

struct sem_test {
	struct sem s;
	int inside;   /* [atomic] */
	int max_inside;
};

static void sem_worker(int idx, void *arg)
{
	struct sem_test *t = arg;
	(void)idx;
	for (int i = 0; i < 500; i++) {
		sem_down(&t->s);
		int now = __atomic_add_fetch(&t->inside, 1, __ATOMIC_ACQ_REL);
		int m = __atomic_load_n(&t->max_inside, __ATOMIC_RELAXED);
		while (now > m &&
		       !__atomic_compare_exchange_n(&t->max_inside, &m, now, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		if ((i & 7) == 0)
			thread_yield();
		__atomic_sub_fetch(&t->inside, 1, __ATOMIC_ACQ_REL);
		sem_up(&t->s);
	}
}

KTEST(semaphore_limit)
{
	static struct sem_test t;
	sem_init(&t.s, 2, "kt_sem");
	t.inside = 0;
	t.max_inside = 0;
	kt_run_on_all_cpus(sem_worker, &t, 3);
	KT_ASSERT(t.max_inside <= 2, "%d threads inside a semaphore of 2", t.max_inside);
	KT_ASSERT(t.max_inside >= 1);
	KT_ASSERT(t.s.count == 2, "count %d after all ups", t.s.count);
	KT_ASSERT(sem_trydown(&t.s) && sem_trydown(&t.s) && !sem_trydown(&t.s),
		  "a semaphore of 2 did not allow exactly 2 downs");
}

KTEST_EXPLICIT(spinlock_recursion)
{
	static spinlock_t l = SPINLOCK_INIT("kt_recursive");
	spin_lock(&l);
	spin_lock(&l);
	ktest_fail(__FILE__, __LINE__, "recursive spinlock was not caught");
}

KTEST_EXPLICIT(mutex_recursion)
{
	static struct mutex m;
	mutex_init(&m, "kt_recursive_mutex");
	mutex_lock(&m);
	mutex_lock(&m);
	ktest_fail(__FILE__, __LINE__, "recursive mutex was not caught");
}
