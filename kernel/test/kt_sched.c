/* In-kernel tests of threads and the scheduler. */
#include "kernel/test/ktest.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/sync.h"

/* ---- thousands of threads ---- */

#define MANY 2000

static int many_count;

static void many_main(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&many_count, 1, __ATOMIC_RELAXED);
	thread_sleep_ns(1000000);
	__atomic_fetch_add(&many_count, 1, __ATOMIC_RELAXED);
}

KTEST(threads_many)
{
	static struct thread *ts[MANY];
	many_count = 0;
	u64 t0 = arch_clock_ns();
	for (int i = 0; i < MANY; i++) {
		ts[i] = thread_create("many", many_main, NULL, i % (int)ncpus, 0);
		KT_ASSERT(ts[i] != NULL, "thread_create failed at %d", i);
	}
	for (int i = 0; i < MANY; i++)
		thread_join(ts[i]);
	ktest_metric("create_join_2000_ms", (arch_clock_ns() - t0) / 1000000, "ms");
	KT_ASSERT(many_count == 2 * MANY, "count %d, expected %d", many_count, 2 * MANY);
	thread_wait_reaped();
	KT_ASSERT(kstack_count() < 200, "%llu stacks still allocated after all exited",
		  (unsigned long long)kstack_count());
}

/* ---- work stealing: all work queued on CPU 0 spreads to every CPU ---- */

#define SKEW_PER_CPU 8
#define SKEW_WORK 4000      /* batches of 1000 iterations per thread: fixed work, not time */

struct skew {
	u64 ran_on[SKEW_PER_CPU * MAX_CPUS]; /* bitmask of CPUs each thread ran on */
	volatile bool go;
};

struct skew_arg {
	struct skew *s;
	int idx;
};

static void skew_main(void *arg)
{
	struct skew_arg *a = arg;
	while (!a->s->go)
		thread_yield();
	/* a fixed amount of work, so that a vCPU the host runs less often
	 * (TCG with more vCPUs than host cores) still has work left to steal */
	for (int batch = 0; batch < SKEW_WORK; batch++) {
		a->s->ran_on[a->idx] |= 1ULL << cpu_id();
		for (volatile int i = 0; i < 1000; i++)
			;
	}
}

KTEST(steal_balance)
{
	static struct skew s;
	static struct skew_arg args[SKEW_PER_CPU * MAX_CPUS];
	static struct thread *ts[SKEW_PER_CPU * MAX_CPUS];
	int n = SKEW_PER_CPU * (int)ncpus;
	memset(&s, 0, sizeof(s));
	u64 steals0 = 0, steals1 = 0;
	struct sched_cpu_stats st;
	for (unsigned c = 0; c < ncpus; c++) {
		sched_stats(c, &st);
		steals0 += st.steals;
	}
	for (int i = 0; i < n; i++) {
		args[i] = (struct skew_arg){ &s, i };
		ts[i] = thread_create("skew", skew_main, &args[i], 0, 0); /* all on CPU 0 */
		KT_ASSERT(ts[i] != NULL);
	}
	s.go = true;
	for (int i = 0; i < n; i++)
		thread_join(ts[i]);
	for (unsigned c = 0; c < ncpus; c++) {
		sched_stats(c, &st);
		steals1 += st.steals;
	}
	u64 all = 0;
	int per_cpu[MAX_CPUS] = { 0 };
	for (int i = 0; i < n; i++) {
		all |= s.ran_on[i];
		for (unsigned c = 0; c < ncpus; c++)
			if (s.ran_on[i] & (1ULL << c))
				per_cpu[c]++;
	}
	for (unsigned c = 0; c < ncpus; c++) {
		printk(LOG_INFO, "ktest: steal_balance: cpu %u ran %d of %d threads", c,
		       per_cpu[c], n);
		KT_ASSERT(per_cpu[c] >= 1, "cpu %u never ran any of the skewed threads", c);
	}
	ktest_metric("steals", steals1 - steals0, "threads");
	if (ncpus > 1)
		KT_ASSERT(steals1 > steals0, "no steals recorded");
	KT_ASSERT(all == (ncpus == 64 ? ~0ULL : (1ULL << ncpus) - 1), "cpu mask %#llx",
		  (unsigned long long)all);
}

/* ---- wakeups are not lost: ping-pong across CPUs ---- */

#define PINGS 5000

struct pingpong {
	struct sem a, b;
	int lost;
};

static void pong_main(void *arg)
{
	struct pingpong *p = arg;
	for (int i = 0; i < PINGS; i++) {
		if (!sem_down_timeout(&p->a, 5000000000ULL)) {
			p->lost++;
			return;
		}
		sem_up(&p->b);
	}
}

KTEST(wakeup_pingpong)
{
	static struct pingpong p;
	sem_init(&p.a, 0, "ping");
	sem_init(&p.b, 0, "pong");
	p.lost = 0;
	struct thread *t = thread_create("pong", pong_main, &p, (int)(ncpus > 1), THREAD_PINNED);
	KT_ASSERT(t != NULL);
	u64 t0 = arch_clock_ns();
	int done = 0;
	for (; done < PINGS; done++) {
		sem_up(&p.a);
		if (!sem_down_timeout(&p.b, 5000000000ULL))
			break;
	}
	thread_join(t);
	u64 ns = arch_clock_ns() - t0;
	ktest_metric("roundtrip_ns", ns / (done ? (u64)done : 1), "ns");
	KT_ASSERT(done == PINGS && p.lost == 0, "lost a wakeup after %d round trips", done);
}

/* ---- condition variables: producer/consumer ---- */

#define ITEMS 20000

struct pc {
	struct mutex m;
	struct cond not_empty, not_full;
	int buf[8];
	int head, tail, count;
	u64 sum;
};

static void producer_main(void *arg)
{
	struct pc *q = arg;
	for (int i = 1; i <= ITEMS; i++) {
		mutex_lock(&q->m);
		while (q->count == 8)
			cond_wait(&q->not_full, &q->m);
		q->buf[q->tail] = i;
		q->tail = (q->tail + 1) % 8;
		q->count++;
		cond_signal(&q->not_empty);
		mutex_unlock(&q->m);
	}
}

KTEST(cond_producer_consumer)
{
	static struct pc q;
	memset(&q, 0, sizeof(q));
	mutex_init(&q.m, "pc");
	cond_init(&q.not_empty, "pc_not_empty");
	cond_init(&q.not_full, "pc_not_full");
	struct thread *t = thread_create("producer", producer_main, &q, (int)(ncpus - 1), 0);
	KT_ASSERT(t != NULL);
	u64 deadline = arch_clock_ns() + 60000000000ULL;
	for (int i = 0; i < ITEMS; i++) {
		mutex_lock(&q.m);
		while (q.count == 0) {
			if (!cond_wait_until(&q.not_empty, &q.m, deadline) && q.count == 0) {
				mutex_unlock(&q.m);
				KT_ASSERT(false, "consumer starved after %d items (lost wakeup?)", i);
			}
		}
		q.sum += (u64)q.buf[q.head];
		q.head = (q.head + 1) % 8;
		q.count--;
		cond_signal(&q.not_full);
		mutex_unlock(&q.m);
	}
	thread_join(t);
	KT_ASSERT(q.sum == (u64)ITEMS * (ITEMS + 1) / 2, "sum %llu", (unsigned long long)q.sum);
}

/* ---- mutex contention ---- */

#define MTX_ITERS 2000

struct mtx_test {
	struct mutex m;
	u64 counter; /* [m] deliberately not atomic */
};

static void mutex_worker(int idx, void *arg)
{
	struct mtx_test *t = arg;
	(void)idx;
	for (int i = 0; i < MTX_ITERS; i++) {
		mutex_lock(&t->m);
		u64 v = t->counter;
		if ((i & 15) == 0)
			thread_yield(); /* hold it across a switch: others must wait */
		t->counter = v + 1;
		mutex_unlock(&t->m);
	}
}

KTEST(mutex_contention)
{
	static struct mtx_test t;
	mutex_init(&t.m, "kt_mutex");
	t.counter = 0;
	int n = kt_run_on_all_cpus(mutex_worker, &t, 3);
	ktest_metric("contended", t.m.contended, "acquisitions");
	KT_ASSERT(t.counter == (u64)n * MTX_ITERS, "counter %llu, expected %llu",
		  (unsigned long long)t.counter, (unsigned long long)n * MTX_ITERS);
	KT_ASSERT(t.m.contended > 0, "no contention happened");
	KT_ASSERT(t.m.owner == NULL);
}

/* ---- timer preemption: a spinning thread does not starve others ---- */

static volatile bool spin_stop;

static void spinner_main(void *arg)
{
	(void)arg;
	while (!spin_stop)
		;
}

KTEST(preemption)
{
	spin_stop = false;
	/* one spinner per CPU, pinned, never yielding */
	struct thread *sp[MAX_CPUS];
	for (unsigned c = 0; c < ncpus; c++) {
		sp[c] = thread_create("spinner", spinner_main, NULL, (int)c, THREAD_PINNED);
		KT_ASSERT(sp[c] != NULL);
	}
	/* this thread still gets to run and to sleep and wake */
	u64 t0 = arch_clock_ns();
	for (int i = 0; i < 10; i++)
		thread_sleep_ns(2000000);
	u64 ms = (arch_clock_ns() - t0) / 1000000;
	spin_stop = true;
	for (unsigned c = 0; c < ncpus; c++)
		thread_join(sp[c]);
	ktest_metric("10x2ms_sleeps_under_load_ms", ms, "ms");
	KT_ASSERT(ms < 2000, "10 sleeps of 2 ms took %llu ms beside spinning threads",
		  (unsigned long long)ms);
}

/* ---- freeze and thaw ---- */

struct freeze_test {
	volatile u64 counters[2 * MAX_CPUS];
	volatile bool stop;
	int result;   /* 0 ok, else which check failed */
	u64 frozen_delta, thawed_delta;
};

static struct freeze_test ft;

static void counting_main(void *arg)
{
	volatile u64 *c = arg;
	while (!ft.stop)
		(*c)++;
}

static u64 sum_counters(int n)
{
	u64 s = 0;
	for (int i = 0; i < n; i++)
		s += ft.counters[i];
	return s;
}

static void controller_main(void *arg)
{
	int n = *(int *)arg;
	thread_sleep_ns(30000000);
	if (sched_freeze(2000000000ULL) != 0) {
		ft.result = 1;
		return;
	}
	u64 a = sum_counters(n);
	thread_sleep_ns(100000000);
	u64 b = sum_counters(n);
	ft.frozen_delta = b - a;
	struct sched_cpu_stats st;
	for (unsigned c = 0; c < ncpus; c++) {
		sched_stats(c, &st);
		if (c != cpu_id() && !st.frozen)
			ft.result = 2;
	}
	sched_thaw();
	thread_sleep_ns(100000000);
	ft.thawed_delta = sum_counters(n) - b;
}

KTEST(freeze_thaw)
{
	memset((void *)&ft, 0, sizeof(ft));
	int n = 2 * (int)ncpus;
	struct thread *w[2 * MAX_CPUS];
	for (int i = 0; i < n; i++) {
		w[i] = thread_create("counter", counting_main, (void *)&ft.counters[i],
				     i % (int)ncpus, THREAD_PINNED);
		KT_ASSERT(w[i] != NULL);
	}
	struct thread *ctl = thread_create("freezer", controller_main, &n, -1, THREAD_NOFREEZE);
	KT_ASSERT(ctl != NULL);
	thread_join(ctl);
	ft.stop = true;
	for (int i = 0; i < n; i++)
		thread_join(w[i]);
	ktest_metric("progress_while_frozen", ft.frozen_delta, "increments");
	ktest_metric("progress_after_thaw", ft.thawed_delta, "increments");
	KT_ASSERT(ft.result != 1, "sched_freeze did not halt the other CPUs in time");
	KT_ASSERT(ft.result != 2, "a CPU did not report itself frozen");
	KT_ASSERT(ft.frozen_delta == 0, "workers made %llu increments while frozen",
		  (unsigned long long)ft.frozen_delta);
	KT_ASSERT(ft.thawed_delta > 0, "no progress after thaw");
	KT_ASSERT(!sched_frozen());
}
