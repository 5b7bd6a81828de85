/* A CPU-heavy workload for the REPL test (tests/integration/repl_test.py):
 * the test freezes the machine while it runs, reads kt_workload_progress
 * with `x/1g`, and checks that nothing moves until it thaws. The workload
 * checks itself that no increment was lost: each worker counts what it
 * added, and the counts add up to the shared counter. */
#include "kernel/test/ktest.h"
#include "kernel/console/console.h"
#include "kernel/sched/sched.h"

#define WORKERS_PER_CPU 2

u64 kt_workload_progress;   /* [atomic] increments done, read by the REPL test */
u64 kt_workload_target;     /* [atomic] repl_spin's timer ends it early */
static u64 worker_added[MAX_CPUS * WORKERS_PER_CPU];  /* each worker's own */

static void workload_worker(int idx, void *arg)
{
	(void)arg;
	u64 local = 0;
	while (__atomic_load_n(&kt_workload_progress, __ATOMIC_RELAXED) <
	       __atomic_load_n(&kt_workload_target, __ATOMIC_RELAXED)) {
		for (volatile int i = 0; i < 4096; i++)
			;
		local += 4096;
		__atomic_fetch_add(&kt_workload_progress, 4096, __ATOMIC_RELAXED);
	}
	worker_added[idx] = local;
}

static void run_workload(u64 target)
{
	kt_workload_target = target;
	kt_workload_progress = 0;
	u64 t0 = arch_clock_ns();
	int n = kt_run_on_all_cpus(workload_worker, NULL, WORKERS_PER_CPU);
	ktest_metric("workload_ms", (arch_clock_ns() - t0) / 1000000, "ms");
	u64 sum = 0;
	for (int i = 0; i < n; i++)
		sum += worker_added[i];
	u64 progress = __atomic_load_n(&kt_workload_progress, __ATOMIC_RELAXED);
	KT_ASSERT(sum == progress, "the workers added %llu, the counter says %llu",
		  (unsigned long long)sum, (unsigned long long)progress);
}

KTEST_EXPLICIT(repl_workload)
{
	/* a few seconds of TCG time on two host cores: long enough for the
	 * test to freeze, look and thaw in the middle of it */
	run_workload(3000000000ULL);
}

static void spin_end(void *arg)
{
	(void)arg;
	__atomic_store_n(&kt_workload_target, 0, __ATOMIC_RELAXED);
}

/* The same workers with no amount of work to finish: they spin until
 * REPL_SPIN_NS have passed, so a test that needs a busy machine for a
 * while (the profiler's) does not race the workload's end, which exits
 * QEMU; the test closes the guest long before. */
#define REPL_SPIN_NS (300ULL * 1000000000ULL)

KTEST_EXPLICIT(repl_spin)
{
	static struct timer end;
	timer_init(&end);
	timer_arm(&end, arch_clock_ns() + REPL_SPIN_NS, spin_end, NULL);
	run_workload(~0ULL);
	timer_cancel(&end);
}

u64 kt_repl_scratch;        /* written and read back by the REPL test */
