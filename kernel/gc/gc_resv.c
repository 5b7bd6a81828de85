/*
 * Heap reservations (DESIGN principle 7, gc.h).
 *
 * Admission: a reservation of b bytes is admitted while
 *     used + admitted + b <= limit       (limit = 7/8 of gc.heap_max)
 * where used is every allocated byte, live or not yet swept, and admitted
 * is the sum of the outstanding reservations. An admitted reservation's
 * allocations are counted twice (in used and in admitted) until it ends,
 * which only errs on the safe side: whatever the outstanding reservations
 * may still allocate always fits under the limit.
 *
 * Waiting: when a reservation does not fit, its thread (holding no lock:
 * checked) runs the collector and tries again; after three collections
 * that did not make room it waits for other reservations to end, and fails
 * with -ENOMEM when none is outstanding or two seconds have gone by.
 */
#include "kernel/gc/gc_priv.h"
#include "kernel/console/console.h"

#define RESV_MAGIC 0x7265737672657376ULL
#define RESV_COLLECTIONS 3
#define RESV_DEADLINE_NS 2000000000ULL

spinlock_t gc_resv_lock = SPINLOCK_INIT("gc_resv");
u64 gc_admitted;
u64 gc_resv_ok, gc_resv_waits, gc_resv_wait_ns, gc_resv_wait_max_ns, gc_resv_enomem;

static bool try_admit(u64 bytes, u64 limit)
{
	spin_lock(&gc_resv_lock);
	bool ok = gc_used_bytes() + gc_admitted + bytes <= limit;
	if (ok)
		__atomic_store_n(&gc_admitted, gc_admitted + bytes, __ATOMIC_RELAXED);
	spin_unlock(&gc_resv_lock);
	return ok;
}

static void waited(u64 t0)
{
	if (!t0)
		return;
	u64 ns = arch_clock_ns() - t0;
	gc_resv_wait_ns += ns;
	if (ns > gc_resv_wait_max_ns)
		gc_resv_wait_max_ns = ns;
}

int gc_reserve(struct gc_resv *r, u64 bytes, const char *what)
{
	if (this_cpu()->preempt_count || !irqs_enabled())
		panic("gc_reserve(%s): called holding a lock or with interrupts off (it may wait)",
		      what);
	u64 limit = gc.heap_max / 8 * 7, t0 = 0, deadline = 0;
	int collections = 0;
	while (!try_admit(bytes, limit)) {
		if (!t0) {
			t0 = arch_clock_ns();
			deadline = t0 + RESV_DEADLINE_NS;
			__atomic_fetch_add(&gc_resv_waits, 1, __ATOMIC_RELAXED);
		}
		if (bytes > limit)
			goto nomem;
		if (collections < RESV_COLLECTIONS) {
			gc_env_collect();
			collections++;
			continue;
		}
		if (arch_clock_ns() > deadline || !gc_env_wait_unreserve(10000000))
			goto nomem;
		collections = RESV_COLLECTIONS - 1;  /* one more collection after */
	}
	waited(t0);
	__atomic_fetch_add(&gc_resv_ok, 1, __ATOMIC_RELAXED);
	struct gc_resv **slot = gc_env_resv_slot();
	r->bytes = bytes;
	r->used = 0;
	r->what = what;
	r->outer = *slot;
	r->magic = RESV_MAGIC;
	*slot = r;
	return 0;
nomem:
	waited(t0);
	__atomic_fetch_add(&gc_resv_enomem, 1, __ATOMIC_RELAXED);
	r->magic = 0;
	return -ENOMEM;
}

void gc_unreserve(struct gc_resv *r)
{
	struct gc_resv **slot = gc_env_resv_slot();
	if (r->magic != RESV_MAGIC)
		panic("gc_unreserve: %p is not an active reservation", r);
	if (*slot != r)
		panic("gc_unreserve(%s): not the innermost reservation (that is %s)", r->what,
		      *slot ? (*slot)->what : "none");
	*slot = r->outer;
	r->magic = 0;
	spin_lock(&gc_resv_lock);
	__atomic_store_n(&gc_admitted, gc_admitted - r->bytes, __ATOMIC_RELAXED);
	spin_unlock(&gc_resv_lock);
	gc_env_unreserved();
}

/* Charge an allocation to the current reservation (preemption off). */
void gc_charge(u64 bytes, const struct gc_type *t)
{
	struct gc_resv *r = *gc_env_resv_slot();
	if (!r) {
		if (gc.check)
			panic("gc_new(%s): allocation outside any reservation", t->name);
		__atomic_fetch_add(&gc.unreserved_allocs, 1, __ATOMIC_RELAXED);
		return;
	}
	r->used += bytes;
	if (r->used > r->bytes) {
		if (gc.check)
			panic("gc_new(%s): reservation '%s' exceeded: %llu bytes charged, %llu reserved",
			      t->name, r->what, (unsigned long long)r->used,
			      (unsigned long long)r->bytes);
		__atomic_fetch_add(&gc.over_reservation, 1, __ATOMIC_RELAXED);
	}
}
