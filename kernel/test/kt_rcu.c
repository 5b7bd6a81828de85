/* In-kernel tests of RCU: readers never see freed memory; grace periods end. */
#include "kernel/test/ktest.h"
#include "kernel/console/console.h"
#include "kernel/mm/mm.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/rcu.h"

#define LIVE 0x11fe11fe11fe11feULL
#define DEAD 0xdeaddeaddeaddeadULL
#define GRAVEYARD 4096

struct obj {
	u64 magic;
	u64 serial;
	struct rcu_head rcu;
};

static struct obj *shared;            /* published with rcu_assign_pointer */
static struct obj *graveyard[GRAVEYARD];
static int ngrave;                    /* [atomic] */
static volatile bool stop;
static u64 violations, reads;         /* [atomic] */

/* The grace period is over: nobody can see the object. Mark it dead but
 * keep the memory until the test ends, so a reader that wrongly still
 * holds it sees DEAD instead of some reused object. */
static void retire(struct rcu_head *h)
{
	struct obj *o = container_of(h, struct obj, rcu);
	o->magic = DEAD;
	int i = __atomic_fetch_add(&ngrave, 1, __ATOMIC_RELAXED);
	if (i < GRAVEYARD)
		graveyard[i] = o;
	else
		kfree(o);
}

static void reader(int idx, void *arg)
{
	(void)idx;
	(void)arg;
	u64 n = 0, bad = 0;
	while (!stop) {
		rcu_read_lock();
		struct obj *o = rcu_dereference(shared);
		if (o->magic != LIVE)
			bad++;
		for (volatile int k = 0; k < 200; k++)
			;
		if (o->magic != LIVE) /* still inside the read section */
			bad++;
		rcu_read_unlock();
		n++;
	}
	__atomic_fetch_add(&reads, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&violations, bad, __ATOMIC_RELAXED);
}

static void reader_spawner(void *arg)
{
	(void)arg;
	kt_run_on_all_cpus(reader, NULL, 1);
}

KTEST(rcu_readers_never_see_freed)
{
	struct rcu_stats s0, s1;
	rcu_stats(&s0);
	stop = false;
	violations = reads = 0;
	ngrave = 0;
	struct obj *first = kzalloc(sizeof(*first));
	KT_ASSERT(first != NULL);
	first->magic = LIVE;
	rcu_assign_pointer(shared, first);
	struct thread *rs = thread_create("rcu_readers", reader_spawner, NULL, -1, 0);
	KT_ASSERT(rs != NULL);

	int replaced = 0, synced = 0;
	u64 end = arch_clock_ns() + 400000000ULL;
	while (arch_clock_ns() < end && replaced < GRAVEYARD - 16) {
		struct obj *o = kzalloc(sizeof(*o));
		KT_ASSERT(o != NULL);
		o->magic = LIVE;
		o->serial = (u64)replaced;
		struct obj *old = __atomic_exchange_n(&shared, o, __ATOMIC_ACQ_REL);
		if (replaced % 8 == 0) {
			synchronize_rcu();
			retire(&old->rcu);
			synced++;
		} else {
			call_rcu(&old->rcu, retire);
		}
		replaced++;
		if (replaced % 32 == 0)
			thread_sleep_ns(1000000);
	}
	stop = true;
	thread_join(rs);
	rcu_barrier();
	rcu_stats(&s1);
	ktest_metric("replacements", (u64)replaced, "objects");
	ktest_metric("reads", reads, "reads");
	ktest_metric("grace_periods", s1.gp_completed - s0.gp_completed, "gp");
	KT_ASSERT(violations == 0, "readers saw freed objects %llu times",
		  (unsigned long long)violations);
	KT_ASSERT(reads > 0, "readers never ran");
	KT_ASSERT(s1.gp_completed > s0.gp_completed, "no grace period completed");
	KT_ASSERT(ngrave == replaced, "%d of %d retired objects were reclaimed", ngrave, replaced);
	for (int i = 0; i < ngrave && i < GRAVEYARD; i++)
		kfree(graveyard[i]);
	kfree(shared);
	shared = NULL;
}

static int cb_ran;
static void count_cb(struct rcu_head *h)
{
	(void)h;
	__atomic_fetch_add(&cb_ran, 1, __ATOMIC_RELAXED);
}

KTEST(rcu_grace_periods_end)
{
	static struct rcu_head heads[64];
	struct rcu_stats s0, s1;
	rcu_stats(&s0);
	for (int i = 0; i < 20; i++)
		synchronize_rcu();
	rcu_stats(&s1);
	KT_ASSERT(s1.gp_completed >= s0.gp_completed + 20, "20 synchronize_rcu, %llu grace periods",
		  (unsigned long long)(s1.gp_completed - s0.gp_completed));
	cb_ran = 0;
	u64 t0 = arch_clock_ns();
	for (int i = 0; i < 64; i++)
		call_rcu(&heads[i], count_cb);
	/* what the design guarantees is that they run, not how soon: with 4
	 * vCPUs on a busy 2-core host a grace period has taken over 2 s; the
	 * bound only turns "never" into a failure (the latency is a metric) */
	while (__atomic_load_n(&cb_ran, __ATOMIC_RELAXED) < 64 &&
	       arch_clock_ns() - t0 < 15000000000ULL)
		thread_sleep_ns(1000000);
	ktest_metric("callback_latency_us", (arch_clock_ns() - t0) / 1000, "us");
	KT_ASSERT(cb_ran == 64, "only %d of 64 callbacks ran within 15 s", cb_ran);
}
