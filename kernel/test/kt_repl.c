/* A CPU-heavy workload for the REPL test (tests/repl_test.py): the test
 * freezes the machine while it runs, reads kt_workload_progress with
 * `x/1g`, and checks that nothing moves until it thaws. */
#include "kernel/test/ktest.h"
#include "kernel/console/console.h"
#include "kernel/sched/sched.h"

u64 kt_workload_progress;   /* [atomic] increments done, read by the REPL test */
u64 kt_workload_target;

static void workload_worker(int idx, void *arg)
{
	(void)idx;
	(void)arg;
	u64 local = 0;
	while (__atomic_load_n(&kt_workload_progress, __ATOMIC_RELAXED) < kt_workload_target) {
		for (volatile int i = 0; i < 4096; i++)
			;
		local += 4096;
		__atomic_fetch_add(&kt_workload_progress, 4096, __ATOMIC_RELAXED);
	}
	(void)local;
}

KTEST_EXPLICIT(repl_workload)
{
	/* a few seconds of TCG time on two host cores: long enough for the
	 * test to freeze, look and thaw in the middle of it */
	kt_workload_target = 3000000000ULL;
	kt_workload_progress = 0;
	u64 t0 = arch_clock_ns();
	kt_run_on_all_cpus(workload_worker, NULL, 2);
	ktest_metric("workload_ms", (arch_clock_ns() - t0) / 1000000, "ms");
	KT_ASSERT(kt_workload_progress >= kt_workload_target);
}

u64 kt_repl_scratch;        /* written and read back by the REPL test */
