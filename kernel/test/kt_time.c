/* In-kernel tests of the clock, one-shot timers and interrupt vectors. */
#include "kernel/test/ktest.h"
#include "kernel/console/console.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/sync.h"
#include "kernel/lib/string.h"

#define NTIMERS 40
/* Under TCG with more vCPUs than host cores, the host deschedules whole
 * vCPUs for tens of milliseconds: the bound catches timers that wait for
 * an unrelated interrupt or a missed wakeup, not host jitter. */
#define TOLERANCE_NS 100000000ULL

struct tt {
	struct timer t;
	u64 deadline, fired_at;
	int fired;
	unsigned cpu_armed, cpu_fired;
};

static struct tt timers[NTIMERS];

static void tt_fire(void *arg)
{
	struct tt *x = arg;
	x->fired_at = arch_clock_ns();
	x->cpu_fired = cpu_id();
	__atomic_fetch_add(&x->fired, 1, __ATOMIC_RELEASE);
}

static void arm_some(int idx, void *arg)
{
	(void)arg;
	u64 rng = 0x7173 + (u64)idx;
	for (int i = idx; i < NTIMERS; i += (int)ncpus) {
		struct tt *x = &timers[i];
		timer_init(&x->t);
		x->deadline = arch_clock_ns() + 1000000ULL + kt_rand(&rng) % 50000000ULL;
		x->cpu_armed = cpu_id();
		timer_arm(&x->t, x->deadline, tt_fire, x);
	}
}

KTEST(timers_fire_in_time)
{
	memset(timers, 0, sizeof(timers));
	kt_run_on_all_cpus(arm_some, NULL, 1);
	/* one more, cancelled: it must never fire */
	static struct tt cancelled;
	memset(&cancelled, 0, sizeof(cancelled));
	timer_init(&cancelled.t);
	timer_arm(&cancelled.t, arch_clock_ns() + 30000000ULL, tt_fire, &cancelled);
	KT_ASSERT(timer_cancel(&cancelled.t), "pending timer not cancelled");
	thread_sleep_ns(150000000ULL);
	u64 worst = 0;
	for (int i = 0; i < NTIMERS; i++) {
		struct tt *x = &timers[i];
		KT_ASSERT(x->fired == 1, "timer %d fired %d times", i, x->fired);
		KT_ASSERT(x->fired_at >= x->deadline, "timer %d fired %llu ns early", i,
			  (unsigned long long)(x->deadline - x->fired_at));
		KT_ASSERT(x->cpu_fired == x->cpu_armed, "timer %d armed on cpu %u fired on %u", i,
			  x->cpu_armed, x->cpu_fired);
		worst = MAX(worst, x->fired_at - x->deadline);
	}
	ktest_metric("worst_lateness_us", worst / 1000, "us");
	KT_ASSERT(worst < TOLERANCE_NS, "a timer fired %llu us late",
		  (unsigned long long)(worst / 1000));
	KT_ASSERT(cancelled.fired == 0, "cancelled timer fired");
}

KTEST(sleep_accuracy)
{
	u64 worst = 0;
	for (int i = 0; i < 20; i++) {
		u64 want = 1000000ULL * (u64)(1 + i % 10);
		u64 t0 = arch_clock_ns();
		thread_sleep_ns(want);
		u64 got = arch_clock_ns() - t0;
		KT_ASSERT(got >= want, "slept %llu ns of %llu", (unsigned long long)got,
			  (unsigned long long)want);
		worst = MAX(worst, got - want);
	}
	ktest_metric("worst_oversleep_us", worst / 1000, "us");
	KT_ASSERT(worst < TOLERANCE_NS, "overslept by %llu us", (unsigned long long)(worst / 1000));
}

static void clock_check(int idx, void *arg)
{
	(void)idx;
	int *bad = arg;
	u64 prev = arch_clock_ns();
	for (int i = 0; i < 100000; i++) {
		u64 now = arch_clock_ns();
		if (now < prev)
			__atomic_fetch_add(bad, 1, __ATOMIC_RELAXED);
		prev = now;
	}
}

KTEST(clock_monotonic)
{
	int bad = 0;
	u64 t0 = arch_clock_ns();
	kt_run_on_all_cpus(clock_check, &bad, 1);
	KT_ASSERT(bad == 0, "clock went backwards %d times", bad);
	KT_ASSERT(arch_clock_ns() > t0);
	KT_ASSERT(tsc_hz > 100000000ULL, "TSC at %llu Hz", (unsigned long long)tsc_hz);
}

/* ---- device vectors: allocate, deliver, compose MSI messages ---- */

static int vec_hits[MAX_CPUS];

static void vec_handler(void *arg)
{
	(void)arg;
	vec_hits[cpu_id()]++;
}

static void raise_on_cpu(int idx, void *arg)
{
	(void)idx;
	int v = *(int *)arg;
	for (int i = 0; i < 10; i++)
		arch_irq_self(v);
}

KTEST(irq_vectors_and_msi)
{
	memset(vec_hits, 0, sizeof(vec_hits));
	int v = arch_irq_alloc(vec_handler, NULL);
	KT_ASSERT(v > 0, "arch_irq_alloc: %d", v);
	int v2 = arch_irq_alloc(vec_handler, NULL);
	KT_ASSERT(v2 > 0 && v2 != v, "second vector %d", v2);
	kt_run_on_all_cpus(raise_on_cpu, &v, 1);
	for (unsigned c = 0; c < ncpus; c++) {
		KT_ASSERT(vec_hits[c] == 10, "cpu %u handled vector %d %d times", c, v, vec_hits[c]);
		KT_ASSERT(arch_irq_count(c, v) >= 10);
	}
	for (unsigned c = 0; c < ncpus; c++) {
		u64 addr;
		u32 data;
		arch_msi_message(c, v, &addr, &data);
		KT_ASSERT((addr & 0xfff00000ULL) == 0xfee00000ULL, "MSI address %#llx",
			  (unsigned long long)addr);
		KT_ASSERT(((addr >> 12) & 0xff) == cpus[c].apic_id, "MSI destination");
		KT_ASSERT((data & 0xff) == (u32)v, "MSI data %#x", data);
	}
	arch_irq_free(v);
	arch_irq_free(v2);
	int v3 = arch_irq_alloc(vec_handler, NULL);
	KT_ASSERT(v3 == v, "freed vector %d not reused (got %d)", v, v3);
	arch_irq_free(v3);
}
