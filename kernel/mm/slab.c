/*
 * Kernel object allocator: slab caches of fixed-size objects, and kmalloc on
 * top of them (power-of-two classes up to 2 KiB, whole pages above).
 *
 * A slab is a block of pages that starts with a struct slab header and holds
 * equal slots. A slot is [object: obj_size bytes][8 spare][8-byte trailer].
 * The trailer records the size the caller asked for (kmalloc rounds up to a
 * class) and an 8-byte canary derived from the object's address sits right
 * after those requested bytes, so writing even one byte past the request is
 * caught at free time. An allocation bitmap in the header marks slots in
 * use. kfree/kmem_cache_free check, in every build, that the pointer is a
 * slot start in a slab of this allocator, that the slot is in use (else:
 * double free), and that the canary is intact (else: overrun). Each check
 * panics with a message naming the failure.
 *
 * Per-CPU caches. In front of each cache's slabs every CPU keeps a small
 * stack of free objects (struct cpu_cache, a "magazine" of at most `limit`
 * objects, sized so that it holds about 32 KiB). kmem_cache_alloc and
 * kmem_cache_free/kfree take from and give to the calling CPU's stack with
 * interrupts off and only that stack's own lock, which no other CPU takes
 * on the fast path; the cache's shared lock is taken once per `batch`
 * objects, when the stack is empty (refill from partial slabs) or full
 * (drain half of it back). An object freed on another CPU than the one that
 * allocated it simply joins that CPU's stack. Objects in a stack stay
 * marked in use in their slab's bitmap; their trailer is overwritten with a
 * "free in a CPU cache" mark, so a second free of one is caught there (a
 * double free racing on two CPUs is caught when the stack drains: the slab
 * bit is clear by then). Memory pressure: page_alloc calls slab_reclaim()
 * before it fails, which empties every stack (page_drain_caches, used for
 * accounting, does too). An allocation that finds no partial slab takes the
 * old path (one object straight from a new slab) and the next refill uses
 * that slab.
 *
 * Counters: allocs and frees count every call (per CPU in the stacks, in
 * the cache for the slow path); inuse as reported is the objects handed out
 * and not freed: the slabs' in-use count minus the objects in stacks.
 *
 * Locks: [C] cache->lock guards the cache's slab lists, every slab header of
 * the cache and the cache's counters. [K] cpu_cache->lock guards one CPU's
 * stack and its counters; taken with interrupts off, by its CPU, or by
 * slab_reclaim and kmem_cache_stats from elsewhere. Order: [K] before [C];
 * several [K] of one cache in increasing CPU order. kmalloc may be called
 * with interrupts disabled; it never sleeps.
 */
#include "kernel/mm/mm.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/sync/spinlock.h"

#define SLAB_MAGIC 0x51ab51ab
#define LARGE_MAGIC 0x1a96e000
#define CANARY_KEY 0xc0ffee5a11adb0b5ULL
#define SLAB_MAX_OBJS 512
#define MAX_CACHES 48
#define CPU_CACHE_MAX 64        /* objects per CPU stack, at most */
#define CPU_CACHE_MIN 8
#define CPU_CACHE_BYTES 32768   /* a stack holds about this many bytes */
#define CPU_CACHE_POOL 256      /* stacks for all caches and CPUs */
#define FREE_MARK_KEY 0xf7eec0c0a5ed1e55ULL

struct slab {
	u32 magic;
	u16 inuse;                       /* [C] */
	u16 nobjs;
	struct kmem_cache *cache;
	struct list_node link;           /* [C] on partial or full list */
	char *objs;                      /* first slot */
	u64 bitmap[SLAB_MAX_OBJS / 64];  /* [C] 1 = in use */
};

struct kmem_cache {
	const char *name;
	u32 obj_size;    /* what the user asked for */
	u32 slot_size;   /* object + canary, 16-byte aligned */
	u32 nobjs;       /* per slab */
	u32 order;       /* slab size: 2^order pages */
	u32 limit, batch;          /* per-CPU stack: capacity, objects moved at a time */
	spinlock_t lock;
	struct list_node partial;  /* [C] slabs with free slots */
	struct list_node full;     /* [C] */
	u64 slabs, inuse, allocs, frees; /* [C] inuse: out of the slabs (stacks included) */
	struct cpu_cache *cpu[MAX_CPUS];   /* [atomic] set once, on the CPU's first use */
};

struct cpu_cache {
	spinlock_t lock;
	u32 n;                             /* [K] objects in objs[] */
	u64 allocs, frees;                 /* [K] served by this stack */
	u64 refills, drains;               /* [K] batches moved from / to the slabs */
	void *objs[CPU_CACHE_MAX];         /* [K] */
} __aligned(CACHELINE);

static struct cpu_cache cpu_pool[CPU_CACHE_POOL];
static u32 cpu_pool_used;              /* [atomic] */
static u64 cpu_pool_exhausted;         /* [atomic] CPUs left without a stack */
static u64 reclaims, reclaimed;        /* [atomic] slab_reclaim calls, objects */

static struct kmem_cache caches[MAX_CACHES];
static int ncaches;
static spinlock_t caches_lock = SPINLOCK_INIT("kmem_caches");

static const u32 kmalloc_sizes[] = { 16, 32, 64, 128, 256, 512, 1024, 2048 };
static struct kmem_cache *kmalloc_caches[ARRAY_SIZE(kmalloc_sizes)];
static u64 large_allocs, large_frees; /* [atomic] */

static inline u64 canary_of(const void *obj) { return CANARY_KEY ^ (u64)(uptr)obj; }

/* trailer: requested size in the high half, a check of it in the low half */
static inline u64 trailer_of(const void *obj, u32 size)
{
	return ((u64)size << 32) | (u32)((canary_of(obj) >> 7) ^ size);
}

/* An object sitting in a per-CPU stack carries this in its trailer. */
static inline u64 free_mark_of(const void *obj) { return FREE_MARK_KEY ^ (u64)(uptr)obj; }

static void arm_canary(struct kmem_cache *c, void *obj, u32 size)
{
	u64 canary = canary_of(obj), trailer = trailer_of(obj, size);
	memcpy((char *)obj + size, &canary, sizeof(canary));
	memcpy((char *)obj + c->obj_size + sizeof(u64), &trailer, sizeof(trailer));
}

/* The requested size, or panics if the trailer or canary was overwritten. */
static u32 check_canary(struct kmem_cache *c, void *obj)
{
	u64 trailer, canary;
	memcpy(&trailer, (char *)obj + c->obj_size + sizeof(u64), sizeof(trailer));
	u32 size = (u32)(trailer >> 32);
	if (size > c->obj_size || trailer != trailer_of(obj, size))
		panic("kfree: overrun past the end of %p (cache %s): trailer %#llx smashed",
		      obj, c->name, (unsigned long long)trailer);
	memcpy(&canary, (char *)obj + size, sizeof(canary));
	if (canary != canary_of(obj))
		panic("kfree: overrun past the end of %p (cache %s, size %u): canary %#llx",
		      obj, c->name, size, (unsigned long long)canary);
	return size;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size)
{
	if (size == 0 || size > 8192)
		return NULL;
	unsigned long f = spin_lock_irqsave(&caches_lock);
	if (ncaches == MAX_CACHES) {
		spin_unlock_irqrestore(&caches_lock, f);
		return NULL;
	}
	struct kmem_cache *c = &caches[ncaches++];
	spin_unlock_irqrestore(&caches_lock, f);
	c->name = name;
	c->obj_size = (u32)size;
	c->slot_size = (u32)ALIGN_UP(size + 2 * sizeof(u64), 16);
	/* at least 8 objects per slab, at most 4 pages, bounded by the bitmap */
	c->order = 0;
	while (c->order < 2 &&
	       ((PAGE_SIZE << c->order) - sizeof(struct slab)) / c->slot_size < 8)
		c->order++;
	u64 usable = (PAGE_SIZE << c->order) - ALIGN_UP(sizeof(struct slab), 16);
	c->nobjs = (u32)MIN(usable / c->slot_size, (u64)SLAB_MAX_OBJS);
	c->limit = MIN(MAX(CPU_CACHE_BYTES / c->slot_size, (u32)CPU_CACHE_MIN), (u32)CPU_CACHE_MAX);
	c->batch = c->limit / 2;
	spin_init(&c->lock, name);
	list_init(&c->partial);
	list_init(&c->full);
	return c;
}

static struct slab *slab_new(struct kmem_cache *c)
{
	struct page *pg = page_alloc(c->order);
	if (!pg)
		return NULL;
	struct slab *s = page_address(pg);
	memset(s, 0, sizeof(*s));
	s->magic = SLAB_MAGIC;
	s->nobjs = (u16)c->nobjs;
	s->cache = c;
	s->objs = (char *)s + ALIGN_UP(sizeof(struct slab), 16);
	list_init(&s->link);
	for (u32 i = 0; i < (1u << c->order); i++) {
		pg[i].flags |= PG_SLAB;
		pg[i].private = s;
	}
	return s;
}

/* Take a free slot of partial slab s. [C] */
static void *slab_take(struct kmem_cache *c, struct slab *s)
{
	u32 idx = 0;
	for (u32 w = 0; w < ARRAY_SIZE(s->bitmap); w++) {
		if (~s->bitmap[w]) {
			idx = w * 64 + (u32)__builtin_ctzll(~s->bitmap[w]);
			break;
		}
	}
	if (idx >= s->nobjs)
		panic("kmem_cache_alloc(%s): partial slab %p has no free slot", c->name, s);
	__atomic_store_n(&s->bitmap[idx / 64], s->bitmap[idx / 64] | (1ULL << (idx % 64)),
			 __ATOMIC_RELAXED);
	if (++s->inuse == s->nobjs) {
		list_remove(&s->link);
		list_push_front(&c->full, &s->link);
	}
	c->inuse++;
	return s->objs + (u64)idx * c->slot_size;
}

/* The slow path: one object straight from the slabs, a new slab if none has
 * room (allocated outside the lock: page_alloc has its own). */
static void *cache_alloc_slow(struct kmem_cache *c, u32 size)
{
	unsigned long f = spin_lock_irqsave(&c->lock);
	if (list_empty(&c->partial)) {
		spin_unlock_irqrestore(&c->lock, f);
		struct slab *s = slab_new(c);
		if (!s)
			return NULL;
		f = spin_lock_irqsave(&c->lock);
		list_push_front(&c->partial, &s->link);
		c->slabs++;
	}
	char *obj = slab_take(c, list_entry(c->partial.next, struct slab, link));
	c->allocs++;
	spin_unlock_irqrestore(&c->lock, f);
	arm_canary(c, obj, size);
	return obj;
}

/* This CPU's stack for c, NULL when the pool of stacks is used up (then
 * every operation of this CPU on c takes the slow path). Interrupts off. */
static struct cpu_cache *cpu_cache_of(struct kmem_cache *c)
{
	unsigned cpu = cpu_id();
	struct cpu_cache *k = __atomic_load_n(&c->cpu[cpu], __ATOMIC_ACQUIRE);
	if (likely(k))
		return k;
	u32 i = __atomic_fetch_add(&cpu_pool_used, 1, __ATOMIC_RELAXED);
	if (i >= CPU_CACHE_POOL) {
		__atomic_store_n(&cpu_pool_used, CPU_CACHE_POOL, __ATOMIC_RELAXED);
		__atomic_fetch_add(&cpu_pool_exhausted, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	k = &cpu_pool[i];
	spin_init(&k->lock, "slab_cpu");
	/* only this CPU sets its own entry; readers elsewhere see it whole */
	__atomic_store_n(&c->cpu[cpu], k, __ATOMIC_RELEASE);
	return k;
}

/* Fill k with up to a batch of objects from partial slabs (never a new
 * slab: that needs page_alloc, which must not run under [K]). [K] */
static void cpu_cache_refill(struct kmem_cache *c, struct cpu_cache *k)
{
	raw_spin_lock(&c->lock);
	while (k->n < c->batch && !list_empty(&c->partial)) {
		void *obj = slab_take(c, list_entry(c->partial.next, struct slab, link));
		u64 mark = free_mark_of(obj);
		memcpy((char *)obj + c->obj_size + sizeof(u64), &mark, sizeof(mark));
		k->objs[k->n++] = obj;
	}
	raw_spin_unlock(&c->lock);
	k->refills++;
}

static void slab_release(struct kmem_cache *c, struct slab *s)
{
	struct page *pg = virt_to_page(s);
	s->magic = 0;
	for (u32 i = 0; i < (1u << c->order); i++) {
		pg[i].flags &= (u16)~PG_SLAB;
		pg[i].private = NULL;
	}
	page_put(pg);
}

/* Give slot idx of s back. Returns s when the caller must release it (after
 * dropping the lock): it is empty and not the only partial slab. [C] */
static struct slab *slab_put(struct kmem_cache *c, struct slab *s, u32 idx, void *obj,
			     const char *how)
{
	if (!(s->bitmap[idx / 64] & (1ULL << (idx % 64))))
		panic("kfree: double free of %p (cache %s, %s)", obj, c->name, how);
	__atomic_store_n(&s->bitmap[idx / 64], s->bitmap[idx / 64] & ~(1ULL << (idx % 64)),
			 __ATOMIC_RELAXED);
	bool was_full = s->inuse == s->nobjs;
	s->inuse--;
	c->inuse--;
	if (was_full) {
		list_remove(&s->link);
		list_push_front(&c->partial, &s->link);
	}
	if (s->inuse == 0 && c->partial.next != c->partial.prev) {
		list_remove(&s->link);
		c->slabs--;
		return s;
	}
	return NULL;
}

static u32 slot_index(struct kmem_cache *c, struct slab *s, const void *obj)
{
	u64 off = (u64)((const char *)obj - s->objs);
	if ((const char *)obj < s->objs || off % c->slot_size || off / c->slot_size >= s->nobjs)
		panic("kfree: %p is not the start of an object in cache %s", obj, c->name);
	return (u32)(off / c->slot_size);
}

/* Move the n oldest objects of k back to their slabs. [K] */
static void cpu_cache_drain(struct kmem_cache *c, struct cpu_cache *k, u32 n)
{
	struct slab *release[CPU_CACHE_MAX];
	u32 nrel = 0;
	raw_spin_lock(&c->lock);
	for (u32 i = 0; i < n; i++) {
		void *obj = k->objs[i];
		struct slab *s = virt_to_page(obj)->private;
		struct slab *r = slab_put(c, s, slot_index(c, s, obj), obj,
					  "freed twice on two CPUs");
		if (r)
			release[nrel++] = r;
	}
	raw_spin_unlock(&c->lock);
	k->n -= n;
	memmove(&k->objs[0], &k->objs[n], k->n * sizeof(k->objs[0]));
	k->drains++;
	for (u32 i = 0; i < nrel; i++)
		slab_release(c, release[i]);
}

static void *cache_alloc(struct kmem_cache *c, u32 size)
{
	unsigned long f = irq_save();
	struct cpu_cache *k = cpu_cache_of(c);
	if (likely(k)) {
		raw_spin_lock(&k->lock);
		if (k->n == 0)
			cpu_cache_refill(c, k);
		if (likely(k->n)) {
			void *obj = k->objs[--k->n];
			k->allocs++;
			raw_spin_unlock(&k->lock);
			irq_restore(f);
			arm_canary(c, obj, size);
			return obj;
		}
		raw_spin_unlock(&k->lock);
	}
	irq_restore(f);
	return cache_alloc_slow(c, size);
}

void *kmem_cache_alloc(struct kmem_cache *c) { return cache_alloc(c, c->obj_size); }

static struct slab *slab_of(const void *obj, struct page **pgp)
{
	struct page *pg = virt_to_page(obj);
	if (pgp)
		*pgp = pg;
	if (!pg || !(pg->flags & PG_SLAB))
		return NULL;
	struct slab *s = pg->private;
	if (!s || s->magic != SLAB_MAGIC)
		panic("kfree: slab header for %p is corrupt (magic %#x)", obj, s ? s->magic : 0);
	return s;
}

static void slab_free_obj(struct kmem_cache *c, struct slab *s, void *obj)
{
	u32 idx = slot_index(c, s, obj);
	u64 word = __atomic_load_n(&s->bitmap[idx / 64], __ATOMIC_RELAXED);
	if (!(word & (1ULL << (idx % 64))))
		panic("kfree: double free of %p (cache %s)", obj, c->name);
	u64 trailer;
	memcpy(&trailer, (char *)obj + c->obj_size + sizeof(u64), sizeof(trailer));
	if (trailer == free_mark_of(obj))
		panic("kfree: double free of %p (cache %s, already in a CPU cache)", obj, c->name);
	check_canary(c, obj);
	/* the mark: a second free of this slot cannot pass the checks */
	u64 mark = free_mark_of(obj);
	memcpy((char *)obj + c->obj_size + sizeof(u64), &mark, sizeof(mark));

	unsigned long f = irq_save();
	struct cpu_cache *k = cpu_cache_of(c);
	if (likely(k)) {
		raw_spin_lock(&k->lock);
		if (k->n == c->limit)
			cpu_cache_drain(c, k, c->batch);
		k->objs[k->n++] = obj;
		k->frees++;
		raw_spin_unlock(&k->lock);
		irq_restore(f);
		return;
	}
	raw_spin_lock(&c->lock);
	struct slab *release = slab_put(c, s, idx, obj, "freed concurrently");
	c->frees++;
	raw_spin_unlock(&c->lock);
	irq_restore(f);
	if (release)
		slab_release(c, release);
}

void kmem_cache_free(struct kmem_cache *c, void *obj)
{
	if (!obj)
		return;
	struct slab *s = slab_of(obj, NULL);
	if (!s)
		panic("kmem_cache_free(%s): %p is not a slab object", c->name, obj);
	if (s->cache != c)
		panic("kmem_cache_free(%s): %p belongs to cache %s", c->name, obj, s->cache->name);
	slab_free_obj(c, s, obj);
}

u64 slab_reclaim(void)
{
	u64 moved = 0;
	int n = __atomic_load_n(&ncaches, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		struct kmem_cache *c = &caches[i];
		for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
			struct cpu_cache *k = __atomic_load_n(&c->cpu[cpu], __ATOMIC_ACQUIRE);
			if (!k)
				continue;
			unsigned long f = irq_save();
			raw_spin_lock(&k->lock);
			if (k->n) {
				moved += k->n;
				cpu_cache_drain(c, k, k->n);
			}
			raw_spin_unlock(&k->lock);
			irq_restore(f);
		}
	}
	__atomic_fetch_add(&reclaims, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&reclaimed, moved, __ATOMIC_RELAXED);
	return moved;
}

/* ---- kmalloc ---- */

struct large_hdr {
	u32 magic;
	u32 order;
	u64 size;
};

void *kmalloc(size_t size, int flags)
{
	void *p = NULL;
	if (size == 0)
		size = 1;
	for (unsigned i = 0; i < ARRAY_SIZE(kmalloc_sizes); i++) {
		if (size <= kmalloc_sizes[i]) {
			p = cache_alloc(kmalloc_caches[i], (u32)size);
			if (p && (flags & KM_ZERO))
				memset(p, 0, size);
			return p;
		}
	}
	/* large: whole pages; the size is kept in the head page, and the
	 * canary follows the object (checked first: size + 8 must not wrap) */
	if (size > ((u64)PAGE_SIZE << PAGE_MAX_ORDER) - sizeof(u64))
		return NULL;
	u64 need = size + sizeof(u64);
	unsigned order = 0;
	while (((u64)PAGE_SIZE << order) < need && order <= PAGE_MAX_ORDER)
		order++;
	if (order > PAGE_MAX_ORDER)
		return NULL;
	struct page *pg = page_alloc(order);
	if (!pg)
		return NULL;
	pg->flags |= PG_LARGE;
	pg->private = (void *)(uptr)size;
	for (u32 i = 1; i < (1u << order); i++) {
		pg[i].flags |= PG_LARGE;   /* tail pages point at their head */
		pg[i].private = pg;
	}
	p = page_address(pg);
	u64 canary = canary_of(p);
	memcpy((char *)p + size, &canary, sizeof(canary));
	if (flags & KM_ZERO)
		memset(p, 0, size);
	__atomic_fetch_add(&large_allocs, 1, __ATOMIC_RELAXED);
	return p;
}

void *kzalloc(size_t size) { return kmalloc(size, KM_ZERO); }

void kfree(void *p)
{
	if (!p)
		return;
	struct page *pg;
	struct slab *s = slab_of(p, &pg);
	if (s) {
		slab_free_obj(s->cache, s, p);
		return;
	}
	if (!pg || !(pg->flags & PG_LARGE) || page_address(pg) != p || page_refcount(pg) == 0) {
		if (pg && IS_ALIGNED((uptr)p, PAGE_SIZE) && page_refcount(pg) == 0 &&
		    !(pg->flags & PG_LARGE))
			panic("kfree: double free of %p (its pages are already free)", p);
		panic("kfree: bad pointer %p (not returned by kmalloc)", p);
	}
	unsigned order = pg->order;
	for (u32 i = 1; i < (1u << order); i++) {
		pg[i].flags &= (u16)~PG_LARGE;
		pg[i].private = NULL;
	}
	u64 size = (u64)(uptr)pg->private, canary;
	memcpy(&canary, (char *)p + size, sizeof(canary));
	if (canary != canary_of(p))
		panic("kfree: overrun past the end of %p (size %llu): canary %#llx", p,
		      (unsigned long long)size, (unsigned long long)canary);
	__atomic_fetch_add(&large_frees, 1, __ATOMIC_RELAXED);
	page_put(pg);
}

size_t ksize(const void *p)
{
	struct page *pg;
	struct slab *s = slab_of(p, &pg);
	if (s) {
		u64 trailer;
		memcpy(&trailer, (const char *)p + s->cache->obj_size + sizeof(u64), sizeof(trailer));
		return (size_t)(trailer >> 32);
	}
	if (pg && (pg->flags & PG_LARGE) && page_address(pg) == p && page_refcount(pg))
		return (size_t)(uptr)pg->private;
	return 0;
}

void slab_init(void)
{
	static const char *const names[] = { "kmalloc-16", "kmalloc-32", "kmalloc-64",
					     "kmalloc-128", "kmalloc-256", "kmalloc-512",
					     "kmalloc-1k", "kmalloc-2k" };
	for (unsigned i = 0; i < ARRAY_SIZE(kmalloc_sizes); i++) {
		kmalloc_caches[i] = kmem_cache_create(names[i], kmalloc_sizes[i]);
		if (!kmalloc_caches[i])
			panic("slab_init: cannot create %s", names[i]);
	}
}

int kmem_cache_stats(struct kmem_cache_stats *out, int max)
{
	int n = 0, nc = __atomic_load_n(&ncaches, __ATOMIC_ACQUIRE);
	for (int i = 0; i < nc && n < max; i++, n++) {
		struct kmem_cache *c = &caches[i];
		struct cpu_cache *ks[MAX_CPUS];
		unsigned nk = 0;
		for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
			struct cpu_cache *k = __atomic_load_n(&c->cpu[cpu], __ATOMIC_ACQUIRE);
			if (k)
				ks[nk++] = k;
		}
		/* one consistent view: every stack of c, then c ([K] before [C]) */
		unsigned long f = irq_save();
		for (unsigned j = 0; j < nk; j++)
			raw_spin_lock(&ks[j]->lock);
		raw_spin_lock(&c->lock);
		struct kmem_cache_stats st = { .name = c->name, .obj_size = c->obj_size,
					       .slot_size = c->slot_size, .objs_per_slab = c->nobjs,
					       .slabs = c->slabs, .inuse = c->inuse,
					       .allocs = c->allocs, .frees = c->frees };
		st.cpu_limit = c->limit;
		st.cpus = nk;
		for (unsigned j = 0; j < nk; j++) {
			st.cached += ks[j]->n;
			st.cpu_allocs += ks[j]->allocs;
			st.cpu_frees += ks[j]->frees;
			st.refills += ks[j]->refills;
			st.drains += ks[j]->drains;
		}
		st.inuse -= st.cached;
		st.allocs += st.cpu_allocs;
		st.frees += st.cpu_frees;
		raw_spin_unlock(&c->lock);
		for (unsigned j = nk; j-- > 0;)
			raw_spin_unlock(&ks[j]->lock);
		irq_restore(f);
		out[n] = st;
	}
	if (n < max) {
		out[n] = (struct kmem_cache_stats){ .name = "kmalloc-large",
						    .inuse = large_allocs - large_frees,
						    .allocs = large_allocs, .frees = large_frees };
		n++;
	}
	return n;
}

void slab_cpu_cache_stats(struct slab_cpu_cache_stats *out)
{
	out->stacks = MIN(__atomic_load_n(&cpu_pool_used, __ATOMIC_RELAXED), (u32)CPU_CACHE_POOL);
	out->pool = CPU_CACHE_POOL;
	out->pool_exhausted = __atomic_load_n(&cpu_pool_exhausted, __ATOMIC_RELAXED);
	out->reclaims = __atomic_load_n(&reclaims, __ATOMIC_RELAXED);
	out->reclaimed = __atomic_load_n(&reclaimed, __ATOMIC_RELAXED);
}
