/*
 * The GC heap's spans and allocation: size classes, per-CPU allocation
 * spans (no lock on the fast path), lazy sweeping. See gc.h for the
 * interface and gc_priv.h for the locks and span states.
 *
 * A span is 2^order pages from the page allocator; its header (this
 * struct gc_span, bitmaps included) sits at its start and its slots follow.
 * Every page of a span has PG_GC set and page->private pointing at the
 * header, so any address maps to its span in O(1) (gc_span_of), which is
 * what conservative stack scanning needs.
 */
#include "kernel/gc/gc_priv.h"
#include "kernel/mm/mm.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

struct gc_state gc;
struct gc_class gc_classes[GC_NCLASSES + 1];
struct gc_pcpu gc_pcpu[MAX_CPUS];

/* slot sizes, header included: each at most 1.5 times the one before */
static const u32 class_slots[GC_NCLASSES] = { 32,  48,  64,   96,   128,  192,  256, 384,
					      512, 768, 1024, 1536, 2048, 3072, 4096 };

#define SPAN_HDR ALIGN_UP(sizeof(struct gc_span), 64)
_Static_assert(GC_SPAN_BYTES / GC_MIN_SLOT <= GC_SPAN_MAXOBJS, "bitmap too small");

void gc_heap_init(u64 heap_max)
{
	memset(&gc, 0, sizeof(gc));
	gc.heap_max = heap_max;
	gc.trigger = MIN(heap_max / 4, (u64)MiB(1));
	gc.lo = ~(uptr)0;
	gc.check = true;
	hist_clear(&gc.pause_hist);
	for (int c = 0; c <= GC_NCLASSES; c++) {
		struct gc_class *k = &gc_classes[c];
		spin_init(&k->lock, "gc_class");
		k->slot = c < GC_NCLASSES ? class_slots[c] : 0;
		list_init(&k->partial);
		list_init(&k->full);
		list_init(&k->unswept);
		list_init(&k->all);
		k->nspans = 0;
	}
	memset(gc_pcpu, 0, sizeof(gc_pcpu));
	gc_mark_init();
}

static unsigned class_of(u64 need)
{
	for (unsigned c = 0; c < GC_NCLASSES; c++)
		if (need <= class_slots[c])
			return c;
	return GC_LARGE;
}

static unsigned large_order(u64 need)
{
	unsigned order = 0;
	while ((PAGE_SIZE << order) - SPAN_HDR < need) {
		if (++order > PAGE_MAX_ORDER)
			panic("gc_new: object of %llu bytes is larger than the largest span",
			      (unsigned long long)need);
	}
	return order;
}

u64 gc_cost_sized(size_t size)
{
	u64 need = size + GC_HDR;
	unsigned c = class_of(need);
	return c < GC_NCLASSES ? class_slots[c] : ((u64)PAGE_SIZE << large_order(need)) - SPAN_HDR;
}

u64 gc_cost(const struct gc_type *t) { return gc_cost_sized(t->size); }

/* ---- spans ---- */

static void bound_update(uptr lo, uptr hi)
{
	uptr cur = __atomic_load_n(&gc.lo, __ATOMIC_RELAXED);
	while (lo < cur && !__atomic_compare_exchange_n(&gc.lo, &cur, lo, false, __ATOMIC_RELEASE,
							__ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&gc.hi, __ATOMIC_RELAXED);
	while (hi > cur && !__atomic_compare_exchange_n(&gc.hi, &cur, hi, false, __ATOMIC_RELEASE,
							__ATOMIC_RELAXED))
		;
}

/* A new span of class cls (lock held). It never fails: past heap_max only
 * fragmentation can need it (reservations keep the bytes in bounds), so it
 * is counted; only the machine running out of pages panics. */
static struct gc_span *span_new(struct gc_class *k, unsigned cls, unsigned order, u32 slot)
{
	u64 npages = 1ULL << order;
	u64 pages = __atomic_add_fetch(&gc.heap_pages, npages, __ATOMIC_RELAXED);
	if (pages * PAGE_SIZE > gc.heap_max) {
		__atomic_fetch_add(&gc.over_limit_spans, 1, __ATOMIC_RELAXED);
		gc_env_kick();
	}
	struct page *pg = page_alloc(order);
	if (!pg)
		panic("gc: out of physical memory for a span (heap %llu pages)",
		      (unsigned long long)pages);
	struct gc_span *s = page_address(pg);
	memset(s, 0, sizeof(*s));
	s->magic = GC_SPAN_MAGIC;
	s->cls = (u16)cls;
	s->order = order;
	s->slot = slot;
	s->objs = (char *)s + SPAN_HDR;
	s->nobjs = (u16)MIN(((PAGE_SIZE << order) - SPAN_HDR) / slot, (u64)GC_SPAN_MAXOBJS);
	s->nfree = s->nobjs;
	list_init(&s->link);
	list_push_back(&k->all, &s->all);
	k->nspans++;
	__atomic_fetch_add(&gc.nspans, 1, __ATOMIC_RELAXED);
	for (u64 i = 0; i < npages; i++) {
		pg[i].private = s;
		__atomic_fetch_or(&pg[i].flags, (u16)PG_GC, __ATOMIC_RELEASE);
	}
	bound_update((uptr)s, (uptr)s + (PAGE_SIZE << order));
	return s;
}

static void span_free(struct gc_span *s)
{
	struct gc_class *k = &gc_classes[s->cls];
	spin_lock(&k->lock);
	list_remove(&s->all);
	k->nspans--;
	spin_unlock(&k->lock);
	struct page *pg = virt_to_page(s);
	u64 npages = 1ULL << s->order;
	s->magic = 0;
	for (u64 i = 0; i < npages; i++) {
		__atomic_fetch_and(&pg[i].flags, (u16)~PG_GC, __ATOMIC_RELEASE);
		pg[i].private = NULL;
	}
	__atomic_fetch_sub(&gc.heap_pages, npages, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&gc.nspans, 1, __ATOMIC_RELAXED);
	page_put(pg);
}

struct gc_span *gc_span_of(uptr p)
{
	if (p < __atomic_load_n(&gc.lo, __ATOMIC_ACQUIRE) ||
	    p >= __atomic_load_n(&gc.hi, __ATOMIC_ACQUIRE))
		return NULL;
	if (p < DIRECT_BASE || p - DIRECT_BASE >= page_max_phys())
		return NULL;
	struct page *pg = phys_to_page(p - DIRECT_BASE);
	if (!pg || !(__atomic_load_n(&pg->flags, __ATOMIC_ACQUIRE) & PG_GC))
		return NULL;
	struct gc_span *s = READ_ONCE(pg->private);
	if (!s || s->magic != GC_SPAN_MAGIC)
		return NULL;
	return s;
}

int gc_slot_of(const struct gc_span *s, uptr p)
{
	if (p < (uptr)s->objs)
		return -1;
	u64 i = (p - (uptr)s->objs) / s->slot;
	return i < s->nobjs ? (int)i : -1;
}

const struct gc_type *gc_type_of(const void *p)
{
	struct gc_span *s = gc_span_of((uptr)p);
	if (!s)
		return NULL;
	int i = gc_slot_of(s, (uptr)p);
	if (i < 0 || (uptr)s->objs + (u64)i * s->slot + GC_HDR != (uptr)p ||
	    !gc_bit(s->alloc, (unsigned)i))
		return NULL;
	return *(const struct gc_type *const *)((const char *)p - GC_HDR);
}

/* ---- sweeping ---- */

/* (the kernel is built for a CPU without POPCNT: no libgcc helper either) */
static unsigned popcount64(u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

/* Free the unmarked objects of s, which the caller has taken off every
 * list (preemption off). Returns false if s was empty and freed. */
static bool sweep_span(struct gc_span *s, bool may_free)
{
	struct gc_pcpu *pc = &gc_pcpu[cpu_id()];
	u64 nfreed = 0, inuse = 0;
	unsigned words = (s->nobjs + 63) / 64;
	for (unsigned w = 0; w < words; w++) {
		u64 a = s->alloc[w], m = __atomic_load_n(&s->mark[w], __ATOMIC_RELAXED);
		u64 dead = a & ~m;
		while (dead) {
			unsigned b = (unsigned)__builtin_ctzll(dead);
			dead &= dead - 1;
			/* poisoned: a stale pointer the collector missed shows */
			memset(s->objs + (u64)(w * 64 + b) * s->slot, 0xdb, s->slot);
			nfreed++;
		}
		__atomic_store_n(&s->alloc[w], a & m, __ATOMIC_RELEASE);
		__atomic_store_n(&s->mark[w], 0, __ATOMIC_RELAXED);
		inuse += popcount64(a & m);
	}
	s->nfree = (u32)(s->nobjs - inuse);
	s->hint = 0;
	pc->freed_bytes += nfreed * s->slot;
	pc->frees += nfreed;
	if (may_free && inuse == 0) {
		span_free(s);
		return false;
	}
	return true;
}

static void span_file(struct gc_class *k, struct gc_span *s)
{
	spin_assert_held(&k->lock);
	list_push_front(s->nfree ? &k->partial : &k->full, &s->link);
}

u64 gc_sweep_all(void)
{
	u64 n = 0;
	for (int c = 0; c <= GC_NCLASSES; c++) {
		struct gc_class *k = &gc_classes[c];
		for (;;) {
			spin_lock(&k->lock);
			struct list_node *l = list_pop_front(&k->unswept);
			if (!l) {
				spin_unlock(&k->lock);
				break;
			}
			__atomic_fetch_add(&gc.sweeping, 1, __ATOMIC_RELAXED);
			/* keep preemption off for the sweep: the counters are per CPU,
			 * and a pause must not find a span half swept */
			struct gc_span *s = list_entry(l, struct gc_span, link);
			raw_spin_unlock(&k->lock);
			bool kept = sweep_span(s, true);
			if (kept) {
				raw_spin_lock(&k->lock);
				span_file(k, s);
				raw_spin_unlock(&k->lock);
			}
			__atomic_fetch_sub(&gc.sweeping, 1, __ATOMIC_RELEASE);
			preempt_enable();
			n++;
		}
	}
	while (__atomic_load_n(&gc.sweeping, __ATOMIC_ACQUIRE))
		cpu_pause();
	return n;
}

void gc_flush_caches(void)
{
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		for (int c = 0; c < GC_NCLASSES; c++) {
			struct gc_span *s = gc_pcpu[cpu].cur[c];
			if (!s)
				continue;
			gc_pcpu[cpu].cur[c] = NULL;
			spin_lock(&gc_classes[c].lock);
			span_file(&gc_classes[c], s);
			spin_unlock(&gc_classes[c].lock);
		}
	}
}

static void list_move_all(struct list_node *to, struct list_node *from)
{
	struct list_node *n;
	while ((n = list_pop_front(from)))
		list_push_back(to, n);
}

void gc_rotate_unswept(void)
{
	for (int c = 0; c <= GC_NCLASSES; c++) {
		struct gc_class *k = &gc_classes[c];
		spin_lock(&k->lock);
		if (!list_empty(&k->unswept))
			panic("gc: class %d has unswept spans at the end of marking", c);
		list_move_all(&k->unswept, &k->partial);
		list_move_all(&k->unswept, &k->full);
		spin_unlock(&k->lock);
	}
}

void gc_for_each_span(void (*fn)(struct gc_span *s, void *arg), void *arg)
{
	for (int c = 0; c <= GC_NCLASSES; c++) {
		struct list_node *n;
		list_for_each(n, &gc_classes[c].all)
			fn(list_entry(n, struct gc_span, all), arg);
	}
}

u64 gc_used_bytes(void)
{
	u64 a = 0, f = 0;
	for (int i = 0; i < MAX_CPUS; i++) {
		a += __atomic_load_n(&gc_pcpu[i].alloc_bytes, __ATOMIC_RELAXED);
		f += __atomic_load_n(&gc_pcpu[i].freed_bytes, __ATOMIC_RELAXED);
	}
	return a > f ? a - f : 0;
}

/* ---- allocation ---- */

/* A span of class cls with a free slot for this CPU (preemption off). */
static struct gc_span *refill(struct gc_pcpu *pc, unsigned cls)
{
	struct gc_class *k = &gc_classes[cls];
	struct gc_span *s;
	spin_lock(&k->lock);
	if (pc->cur[cls]) {
		span_file(k, pc->cur[cls]);
		pc->cur[cls] = NULL;
	}
	for (;;) {
		struct list_node *l = list_pop_front(&k->partial);
		if (l) {
			s = list_entry(l, struct gc_span, link);
			break;
		}
		l = list_pop_front(&k->unswept);
		if (l) {
			/* lazy sweeping: this CPU sweeps the span it is about to use */
			s = list_entry(l, struct gc_span, link);
			__atomic_fetch_add(&gc.sweeping, 1, __ATOMIC_RELAXED);
			spin_unlock(&k->lock);
			sweep_span(s, false);
			spin_lock(&k->lock);
			__atomic_fetch_sub(&gc.sweeping, 1, __ATOMIC_RELEASE);
			if (s->nfree)
				break;
			span_file(k, s);
			continue;
		}
		s = span_new(k, cls, GC_SPAN_ORDER, k->slot);
		break;
	}
	spin_unlock(&k->lock);
	pc->cur[cls] = s;
	if (gc_used_bytes() >= __atomic_load_n(&gc.trigger, __ATOMIC_RELAXED))
		gc_env_kick();
	return s;
}

static unsigned take_slot(struct gc_span *s)
{
	unsigned words = (s->nobjs + 63) / 64;
	for (unsigned k = 0; k < words; k++) {
		unsigned w = (s->hint + k) % words;
		u64 free = ~s->alloc[w];
		if (w == words - 1 && s->nobjs % 64)
			free &= (1ULL << (s->nobjs % 64)) - 1;
		if (free) {
			s->hint = w;
			return w * 64 + (unsigned)__builtin_ctzll(free);
		}
	}
	panic("gc: span %p of class %u has nfree %u but no free slot", s, s->cls, s->nfree);
}

/* Hand out slot i of s (owned by this CPU, or by the caller under the class
 * lock for large spans): header first, then the mark bit if marking is on
 * (allocate black), then the alloc bit, which is what the marker checks. */
static void *slot_init(struct gc_pcpu *pc, struct gc_span *s, unsigned i,
		       const struct gc_type *t)
{
	char *slot = s->objs + (u64)i * s->slot;
	memset(slot, 0, s->slot);
	*(const struct gc_type **)slot = t;
	u64 bit = 1ULL << (i % 64);
	if (__atomic_load_n(&gc_marking, __ATOMIC_RELAXED)) {
		__atomic_fetch_or(&s->mark[i / 64], bit, __ATOMIC_RELAXED);
		pc->marked_bytes += s->slot;
	}
	__atomic_store_n(&s->alloc[i / 64], s->alloc[i / 64] | bit, __ATOMIC_RELEASE);
	s->nfree--;
	pc->alloc_bytes += s->slot;
	pc->allocs++;
	return slot + GC_HDR;
}

void *gc_new_sized(const struct gc_type *t, size_t size)
{
	if (size < t->size)
		panic("gc_new(%s): %zu bytes is less than the type's %u", t->name, size, t->size);
	if (this_cpu()->irq_depth)
		panic("gc_new(%s): called in interrupt context", t->name);
	u64 need = size + GC_HDR;
	unsigned cls = class_of(need);
	void *obj;
	preempt_disable();
	struct gc_pcpu *pc = &gc_pcpu[cpu_id()];
	if (cls == GC_LARGE) {
		struct gc_class *k = &gc_classes[GC_LARGE];
		unsigned order = large_order(need);
		spin_lock(&k->lock);
		struct gc_span *s = span_new(k, GC_LARGE, order, (u32)((PAGE_SIZE << order) - SPAN_HDR));
		obj = slot_init(pc, s, 0, t);
		span_file(k, s);
		spin_unlock(&k->lock);
		gc_charge(s->slot, t);
		if (gc_used_bytes() >= __atomic_load_n(&gc.trigger, __ATOMIC_RELAXED))
			gc_env_kick();
	} else {
		struct gc_span *s = pc->cur[cls];
		if (!s || !s->nfree)
			s = refill(pc, cls);
		obj = slot_init(pc, s, take_slot(s), t);
		gc_charge(s->slot, t);
	}
	preempt_enable();
	return obj;
}

void *gc_new(const struct gc_type *t) { return gc_new_sized(t, t->size); }
