/*
 * Marking and the collection cycle (gc.h, gc_priv.h).
 *
 * Tri-colour marking: a white object has no mark bit, a grey one has its
 * bit and waits on a stack to be scanned, a black one has been scanned.
 * The barrier (GC_STORE) greys the stored value while marking is on
 * (Dijkstra), so no black object ever points at a white one unnoticed;
 * objects allocated while marking are born black. Stacks and roots carry no
 * barrier: the final pause rescans them and marks what they reach. That is
 * the whole argument for why marking may run beside the mutators.
 *
 * Turning the barrier on and off happens with the world stopped, at safe
 * points: GC_STORE and gc_new run with preemption off, and the world stops
 * only between preemptible instructions, so no store is ever half-way
 * between reading gc_marking and writing its field when the flag changes.
 *
 * The grey objects: the collector's own stack (mstack, only it touches
 * it), a shared stack (gc_grey, [G]) that full per-CPU barrier buffers are
 * flushed to, and the per-CPU buffers themselves, which the final pause
 * empties.
 */
#include "kernel/gc/gc_priv.h"
#include "kernel/mm/mm.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

u32 gc_marking;

#define CHUNK_CAP ((PAGE_SIZE - 2 * sizeof(u64)) / sizeof(uptr))
struct gc_chunk {
	struct gc_chunk *next;
	u64 n;
	uptr v[CHUNK_CAP];
};
_Static_assert(sizeof(struct gc_chunk) <= PAGE_SIZE, "chunk");

static struct gc_stack mstack;        /* the collector's */
static struct gc_stack vstack;        /* the verifying mark's */
static struct {
	spinlock_t lock;
	struct gc_stack st;           /* [G] */
} gc_grey = { SPINLOCK_INIT("gc_grey"), { NULL, 0 } };
static u64 marked_bytes;              /* [A] by the marker and the barrier */
static u64 black_bytes0;              /* per-CPU allocated-black bytes at cycle start */

static struct {
	spinlock_t lock;
	struct { const void *p; size_t len; const char *name; } r[64];  /* [lock] */
	int n;
} roots = { .lock = SPINLOCK_INIT("gc_roots") };

void gc_mark_init(void)
{
	__atomic_store_n(&gc_marking, 0, __ATOMIC_RELAXED);
	mstack = (struct gc_stack){ NULL, 0 };
	vstack = (struct gc_stack){ NULL, 0 };
	gc_grey.st = (struct gc_stack){ NULL, 0 };
	roots.n = 0;
}

/* ---- grey stacks ---- */

static void stack_push(struct gc_stack *st, uptr v)
{
	if (!st->top || st->top->n == CHUNK_CAP) {
		struct page *pg = page_alloc(0);
		if (!pg)
			panic("gc: no page for the mark stack (%llu entries)",
			      (unsigned long long)st->n);
		struct gc_chunk *c = page_address(pg);
		c->next = st->top;
		c->n = 0;
		st->top = c;
	}
	st->top->v[st->top->n++] = v;
	st->n++;
}

static bool stack_pop(struct gc_stack *st, uptr *v)
{
	while (st->top && st->top->n == 0) {
		struct gc_chunk *c = st->top;
		if (!c->next)
			return false;  /* keep the last chunk */
		st->top = c->next;
		page_put(virt_to_page(c));
	}
	if (!st->top)
		return false;
	*v = st->top->v[--st->top->n];
	st->n--;
	return true;
}

/* ---- marking ---- */

/* Grey p's object if p points into an allocated, unmarked one; returns
 * the slot address if this call marked it, 0 otherwise. */
static uptr grey(uptr p)
{
	struct gc_span *s = gc_span_of(p);
	if (!s)
		return 0;
	int i = gc_slot_of(s, p);
	if (i < 0 || !gc_bit(s->alloc, (unsigned)i))
		return 0;
	u64 bit = 1ULL << (i % 64);
	if (__atomic_fetch_or(&s->mark[i / 64], bit, __ATOMIC_ACQ_REL) & bit)
		return 0;
	__atomic_fetch_add(&marked_bytes, s->slot, __ATOMIC_RELAXED);
	return (uptr)s->objs + (u64)i * s->slot;
}

void gc_mark_word(uptr w)
{
	uptr slot = grey(w);
	if (slot)
		stack_push(&mstack, slot);
}

void gc_shade(const void *p)
{
	uptr slot = grey((uptr)p);
	if (!slot)
		return;
	struct gc_pcpu *pc = &gc_pcpu[cpu_id()];
	pc->wbuf[pc->nwbuf++] = slot;
	if (pc->nwbuf == GC_WBUF) {
		spin_lock(&gc_grey.lock);
		for (u32 i = 0; i < pc->nwbuf; i++)
			stack_push(&gc_grey.st, pc->wbuf[i]);
		spin_unlock(&gc_grey.lock);
		pc->nwbuf = 0;
	}
}

void gc_scan_range(const void *lo, const void *hi, gc_visit_fn visit)
{
	const uptr *p = (const uptr *)ALIGN_UP((uptr)lo, sizeof(uptr));
	for (; (uptr)(p + 1) <= (uptr)hi; p++)
		visit(__atomic_load_n(p, __ATOMIC_RELAXED));
}

/* Visit the pointer fields of the object in `slot` (precise). */
static void scan_object(uptr slot, gc_visit_fn visit)
{
	const struct gc_type *t = *(const struct gc_type *const *)slot;
	const uptr obj = slot + GC_HDR;
	if (!t)
		panic("gc: allocated object at %#llx has no type", (unsigned long long)obj);
	if (t->nptrs == GC_ALL_WORDS) {
		struct gc_span *s = gc_span_of(slot);
		gc_scan_range((const void *)obj, (const void *)(slot + s->slot), visit);
		return;
	}
	for (u32 k = 0; k < t->nptrs; k++)
		visit(__atomic_load_n((const uptr *)(obj + t->ptrs[k]), __ATOMIC_RELAXED));
}

static void scan_roots(gc_visit_fn visit)
{
	spin_lock(&roots.lock);
	for (int i = 0; i < roots.n; i++)
		gc_scan_range(roots.r[i].p, (const char *)roots.r[i].p + roots.r[i].len, visit);
	spin_unlock(&roots.lock);
}

int gc_root_add(const void *p, size_t len, const char *name)
{
	int err = -ENOSPC;
	spin_lock(&roots.lock);
	if (roots.n < (int)ARRAY_SIZE(roots.r)) {
		roots.r[roots.n].p = p;
		roots.r[roots.n].len = len;
		roots.r[roots.n].name = name;
		roots.n++;
		err = 0;
	}
	spin_unlock(&roots.lock);
	return err;
}

void gc_root_remove(const void *p)
{
	spin_lock(&roots.lock);
	for (int i = 0; i < roots.n; i++) {
		if (roots.r[i].p == p) {
			roots.r[i] = roots.r[--roots.n];
			break;
		}
	}
	spin_unlock(&roots.lock);
}

static void take_shared_grey(void)
{
	spin_lock(&gc_grey.lock);
	uptr v;
	while (stack_pop(&gc_grey.st, &v))
		stack_push(&mstack, v);
	spin_unlock(&gc_grey.lock);
}

bool gc_mark_some(u64 budget)
{
	for (u64 n = 0; n < budget; n++) {
		uptr slot;
		if (!stack_pop(&mstack, &slot)) {
			take_shared_grey();
			if (!stack_pop(&mstack, &slot))
				return true;
		}
		scan_object(slot, gc_mark_word);
	}
	return false;
}

/* ---- the verifying mark ---- */

static void vclear(struct gc_span *s, void *arg)
{
	(void)arg;
	memset(s->vmark, 0, sizeof(s->vmark));
}

static void vvisit(uptr p)
{
	struct gc_span *s = gc_span_of(p);
	if (!s)
		return;
	int i = gc_slot_of(s, p);
	if (i < 0 || !gc_bit(s->alloc, (unsigned)i))
		return;
	u64 bit = 1ULL << (i % 64);
	if (s->vmark[i / 64] & bit)
		return;
	s->vmark[i / 64] |= bit;
	uptr slot = (uptr)s->objs + (u64)i * s->slot;
	if (!gc_bit(s->mark, (unsigned)i)) {
		const struct gc_type *t = *(const struct gc_type *const *)slot;
		panic("gc verify: reachable object %#llx (type %s) is unmarked after marking: "
		      "a pointer store bypassed GC_STORE, or a root is missing",
		      (unsigned long long)(slot + GC_HDR), t ? t->name : "?");
	}
	stack_push(&vstack, slot);
}

/* Inside the final pause: a full mark from the roots, in its own bits,
 * that checks every object it reaches carries the real mark. */
static void verify(void)
{
	gc_for_each_span(vclear, NULL);
	scan_roots(vvisit);
	gc_env_scan_roots(vvisit);
	uptr slot;
	u64 n = 0;
	while (stack_pop(&vstack, &slot)) {
		scan_object(slot, vvisit);
		n++;
	}
	gc.verify_runs++;
	gc.verified_objects += n;
}

/* ---- the cycle ---- */

static u64 black_bytes(void)
{
	u64 b = 0;
	for (int i = 0; i < MAX_CPUS; i++)
		b += __atomic_load_n(&gc_pcpu[i].marked_bytes, __ATOMIC_RELAXED);
	return b;
}

/* A pause runs from the request to stop the other CPUs to their release:
 * what a mutator on another CPU may wait; stopped() records the first part. */
static void stopped(u64 t0)
{
	u64 ns = arch_clock_ns() - t0;
	if (ns > gc.stop_max_ns)
		gc.stop_max_ns = ns;
}

static void pause_done(u64 ns, u64 tsc)
{
	if (tsc > gc.pause_max_tsc)
		gc.pause_max_tsc = tsc;
	gc.pauses++;
	gc.pause_total_ns += ns;
	if (ns > gc.pause_max_ns)
		gc.pause_max_ns = ns;
	hist_record(&gc.pause_hist, ns);
}

void gc_cycle_begin(void)
{
	gc_sweep_all();
	u64 t0 = arch_clock_ns(), c0 = arch_cycles();
	gc_env_stop_world();
	stopped(t0);
	for (int c = 0; c <= GC_NCLASSES; c++)
		if (!list_empty(&gc_classes[c].unswept))
			panic("gc: marking would start with unswept spans in class %d", c);
	__atomic_store_n(&marked_bytes, 0, __ATOMIC_RELAXED);
	black_bytes0 = black_bytes();
	__atomic_store_n(&gc_marking, 1, __ATOMIC_SEQ_CST);
	gc_env_start_world();
	pause_done(arch_clock_ns() - t0, arch_cycles() - c0);
	/* a first look at the registered roots while the mutators run; the
	 * final pause looks again */
	scan_roots(gc_mark_word);
}

void gc_cycle_end(void)
{
	u64 t0 = arch_clock_ns(), c0 = arch_cycles();
	gc_env_stop_world();
	stopped(t0);
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		struct gc_pcpu *pc = &gc_pcpu[cpu];
		for (u32 i = 0; i < pc->nwbuf; i++)
			stack_push(&mstack, pc->wbuf[i]);
		pc->nwbuf = 0;
	}
	scan_roots(gc_mark_word);
	gc_env_scan_roots(gc_mark_word);
	while (!gc_mark_some(~0ULL))
		;
	gc_flush_caches();
	u64 vns = 0, vtsc = 0;
	if (gc.verify) {
		u64 v0 = arch_clock_ns(), vc0 = arch_cycles();
		verify();
		vns = arch_clock_ns() - v0;
		vtsc = arch_cycles() - vc0;
	}
	__atomic_store_n(&gc_marking, 0, __ATOMIC_SEQ_CST);
	gc.live = __atomic_load_n(&marked_bytes, __ATOMIC_RELAXED) + black_bytes() - black_bytes0;
	u64 limit = gc.heap_max / 8 * 7;
	u64 trigger = MAX(2 * gc.live, MIN(gc.heap_max / 4, (u64)MiB(1)));
	__atomic_store_n(&gc.trigger, MIN(trigger, MAX(limit, gc.live)), __ATOMIC_RELAXED);
	gc_rotate_unswept();
	gc_env_start_world();
	pause_done(arch_clock_ns() - t0 - vns, arch_cycles() - c0 - vtsc);
}

void gc_cycle_run(void)
{
	u64 t0 = arch_clock_ns();
	gc_cycle_begin();
	while (!gc_mark_some(4096))
		;
	gc_cycle_end();
	u64 t1 = arch_clock_ns();
	gc.mark_last_ns = t1 - t0;
	gc.mark_ns += t1 - t0;
	gc_sweep_all();
	u64 t2 = arch_clock_ns();
	gc.sweep_ns += t2 - t1;
	u64 bytes = 0;
	for (int i = 0; i < MAX_CPUS; i++)
		bytes += __atomic_load_n(&gc_pcpu[i].alloc_bytes, __ATOMIC_RELAXED);
	if (gc.rate_t0 && t2 > gc.rate_t0)
		gc.alloc_rate = (bytes - gc.rate_bytes0) * 1000000000ULL / (t2 - gc.rate_t0);
	gc.rate_t0 = t2;
	gc.rate_bytes0 = bytes;
	gc.cycles++;
}

void gc_set_verify(bool on) { gc.verify = on; }
void gc_set_check(bool on) { gc.check = on; }

void gc_stats(struct gc_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->collections = gc.cycles;
	s->pauses = gc.pauses;
	s->pause_max_ns = gc.pause_max_ns;
	s->pause_total_ns = gc.pause_total_ns;
	s->pause_max_tsc = gc.pause_max_tsc;
	s->stop_max_ns = gc.stop_max_ns;
	s->pause_p50_ns = hist_percentile(&gc.pause_hist, 500000);
	s->pause_p99_ns = hist_percentile(&gc.pause_hist, 990000);
	s->mark_ns = gc.mark_ns;
	s->mark_last_ns = gc.mark_last_ns;
	s->sweep_ns = gc.sweep_ns;
	s->live_bytes = gc.live;
	s->used_bytes = gc_used_bytes();
	s->heap_bytes = __atomic_load_n(&gc.heap_pages, __ATOMIC_RELAXED) * PAGE_SIZE;
	s->heap_max = gc.heap_max;
	s->reserved_bytes = __atomic_load_n(&gc_admitted, __ATOMIC_RELAXED);
	for (int i = 0; i < MAX_CPUS; i++) {
		s->alloc_bytes += gc_pcpu[i].alloc_bytes;
		s->allocs += gc_pcpu[i].allocs;
		s->freed_bytes += gc_pcpu[i].freed_bytes;
		s->frees += gc_pcpu[i].frees;
	}
	s->alloc_rate = gc.alloc_rate;
	s->trigger_bytes = gc.trigger;
	s->spans = gc.nspans;
	s->over_limit_spans = gc.over_limit_spans;
	s->resv_ok = gc_resv_ok;
	s->resv_waits = gc_resv_waits;
	s->resv_wait_ns = gc_resv_wait_ns;
	s->resv_wait_max_ns = gc_resv_wait_max_ns;
	s->resv_enomem = gc_resv_enomem;
	s->unreserved_allocs = gc.unreserved_allocs;
	s->over_reservation = gc.over_reservation;
	s->verify_runs = gc.verify_runs;
	s->verified_objects = gc.verified_objects;
}
