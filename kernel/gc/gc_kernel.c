/*
 * The GC heap in the kernel: its settings, the collector thread, and the
 * environment the portable core needs (gc_priv.h): stopping the world
 * through the scheduler, the thread stacks and per-CPU data as roots, the
 * current thread's reservation, waiting for collections.
 *
 * Locks: [W] gc_wq's lock guards nothing of ours; requested/started/done
 * are [A] and the wait queues re-check them.
 */
#include "kernel/gc/gc_priv.h"
#include "kernel/mm/mm.h"
#include "kernel/sched/sched.h"
#include "kernel/console/console.h"
#include "kernel/lib/param.h"
#include "kernel/lib/string.h"

static u64 heap_max_param;           /* 0: a quarter of memory */
static bool verify_param, check_param = true;

static struct thread *collector;
static struct waitq gc_wq;           /* the collector waits here */
static struct waitq done_wq;         /* gc_collect waits here */
static struct waitq resv_wq;         /* reservations waiting for others' ends */
static u64 kicked, requested;        /* [A] */
static u64 cycles_started, cycles_done;  /* [A] */
static u64 unreserves;               /* [A] */

static int set_heap_max(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, true, &n) < 0 || n < MiB(1))
		return -EINVAL;
	heap_max_param = n;
	return 0;
}
KPARAM("gc.heap_max", set_heap_max, "bound on the GC heap in bytes (K/M/G suffixes; at least 1M; "
       "default a quarter of memory)");

static int set_verify(const char *v)
{
	if (strcmp(v, "1") && strcmp(v, "0"))
		return -EINVAL;
	verify_param = v[0] == '1';
	return 0;
}
KPARAM("gc.verify", set_verify, "1: check each collection with a second, full mark (slow)");

static int set_check(const char *v)
{
	if (strcmp(v, "1") && strcmp(v, "0"))
		return -EINVAL;
	check_param = v[0] == '1';
	return 0;
}
KPARAM("gc.check", set_check, "1 (default): an allocation past its reservation, or with none, "
       "panics; 0: counted only");

void gc_init(void)
{
	u64 max = heap_max_param;
	if (!max) {
		struct page_stats *ps = kzalloc(sizeof(*ps));
		if (!ps)
			panic("gc_init: no memory");
		page_stats(ps);
		max = MAX(ps->total * PAGE_SIZE / 4, (u64)MiB(1));
		kfree(ps);
	}
	gc_heap_init(max);
	gc.verify = verify_param;
	gc.check = check_param;
	waitq_init(&gc_wq, "gc");
	waitq_init(&done_wq, "gc_done");
	waitq_init(&resv_wq, "gc_resv");
	pr_info("gc: heap bounded at %llu KiB%s", (unsigned long long)(max >> 10),
		gc.verify ? ", verifying every collection" : "");
}

void gc_set_heap_max(u64 bytes) { gc.heap_max = bytes; }

/* ---- the collector thread ---- */

static bool work_pending(void)
{
	return __atomic_load_n(&kicked, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&requested, __ATOMIC_ACQUIRE) >
		       __atomic_load_n(&cycles_started, __ATOMIC_ACQUIRE);
}

static void collector_main(void *arg)
{
	(void)arg;
	for (;;) {
		wait_event(&gc_wq, work_pending());
		__atomic_store_n(&kicked, 0, __ATOMIC_RELEASE);
		__atomic_fetch_add(&cycles_started, 1, __ATOMIC_ACQ_REL);
		gc_cycle_run();
		__atomic_fetch_add(&cycles_done, 1, __ATOMIC_ACQ_REL);
		waitq_wake_all(&done_wq);
		/* a reservation waiting for others may fit now */
		waitq_wake_all(&resv_wq);
	}
}

void gc_start_collector(void)
{
	collector = thread_create("gc", collector_main, NULL, -1, 0);
	if (!collector)
		panic("gc: cannot create the collector thread");
}

void gc_collect(void) { gc_env_collect(); }

/* ---- the environment ---- */

void gc_env_stop_world(void) { sched_stop_others(); }
void gc_env_start_world(void) { sched_resume_others(); }

struct scan_arg {
	gc_visit_fn visit;
	struct thread *self;
	uptr self_sp;
};

static void scan_thread(struct thread *t, void *p)
{
	struct scan_arg *a = p;
	uptr lo, hi = t->stack.hi;
	if (t == a->self)
		lo = a->self_sp;
	else if (t->state == THREAD_DEAD)
		return;   /* never runs again; its stack may be unmapped by now */
	else
		lo = (uptr)t->ctx;
	if (!t->stack.lo || lo < t->stack.lo || lo > hi)
		return;   /* being created: nothing on its stack yet */
	gc_scan_range((const void *)lo, (const void *)hi, a->visit);
}

/* World stopped: every other thread is switched out, its registers saved
 * on its stack above t->ctx. */
__attribute__((noinline)) void gc_env_scan_roots(gc_visit_fn visit)
{
	__builtin_unwind_init();   /* this thread's callee-saved registers onto its stack */
	uptr here = (uptr)__builtin_frame_address(0);
	struct scan_arg a = { visit, thread_current(), here };
	thread_for_each(scan_thread, &a);
	gc_scan_range(&cpus[0], &cpus[ncpus], visit);
}

struct gc_resv **gc_env_resv_slot(void)
{
	struct thread *t = thread_current();
	if (!t)
		panic("gc: heap use outside a thread (scheduler loop)");
	return &t->gc_resv;
}

void gc_env_kick(void)
{
	if (!collector || __atomic_exchange_n(&kicked, 1, __ATOMIC_ACQ_REL))
		return;
	waitq_wake_one(&gc_wq);
}

void gc_env_collect(void)
{
	if (!collector) {
		gc_cycle_run();
		return;
	}
	u64 target = __atomic_load_n(&cycles_started, __ATOMIC_ACQUIRE) + 1;
	u64 want = __atomic_load_n(&requested, __ATOMIC_RELAXED);
	while (want < target &&
	       !__atomic_compare_exchange_n(&requested, &want, target, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED))
		;
	waitq_wake_one(&gc_wq);
	wait_event(&done_wq, __atomic_load_n(&cycles_done, __ATOMIC_ACQUIRE) >= target);
}

bool gc_env_wait_unreserve(u64 ns)
{
	if (__atomic_load_n(&gc_admitted, __ATOMIC_ACQUIRE) == 0)
		return false;
	u64 seen = __atomic_load_n(&unreserves, __ATOMIC_ACQUIRE);
	wait_event_timeout(&resv_wq, __atomic_load_n(&unreserves, __ATOMIC_ACQUIRE) != seen, ns);
	return true;
}

void gc_env_unreserved(void)
{
	__atomic_fetch_add(&unreserves, 1, __ATOMIC_RELEASE);
	waitq_wake_all(&resv_wq);
}
