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
 * Locks: [C] cache->lock guards the cache's slab lists, every slab header of
 * the cache and the counters. kmalloc may be called with interrupts
 * disabled; it never sleeps.
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
	spinlock_t lock;
	struct list_node partial;  /* [C] slabs with free slots */
	struct list_node full;     /* [C] */
	u64 slabs, inuse, allocs, frees; /* [C] */
};

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

static void *cache_alloc(struct kmem_cache *c, u32 size)
{
	unsigned long f = spin_lock_irqsave(&c->lock);
	struct slab *s;
	if (list_empty(&c->partial)) {
		spin_unlock_irqrestore(&c->lock, f);
		s = slab_new(c);   /* outside the lock: page_alloc has its own */
		if (!s)
			return NULL;
		f = spin_lock_irqsave(&c->lock);
		list_push_front(&c->partial, &s->link);
		c->slabs++;
	}
	s = list_entry(c->partial.next, struct slab, link);
	u32 idx = 0;
	for (u32 w = 0; w < ARRAY_SIZE(s->bitmap); w++) {
		if (~s->bitmap[w]) {
			idx = w * 64 + (u32)__builtin_ctzll(~s->bitmap[w]);
			break;
		}
	}
	if (idx >= s->nobjs)
		panic("kmem_cache_alloc(%s): partial slab %p has no free slot", c->name, s);
	s->bitmap[idx / 64] |= 1ULL << (idx % 64);
	if (++s->inuse == s->nobjs) {
		list_remove(&s->link);
		list_push_front(&c->full, &s->link);
	}
	c->inuse++;
	c->allocs++;
	spin_unlock_irqrestore(&c->lock, f);
	char *obj = s->objs + (u64)idx * c->slot_size;
	arm_canary(c, obj, size);
	return obj;
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
	u64 off = (u64)((char *)obj - s->objs);
	if ((char *)obj < s->objs || off % c->slot_size || off / c->slot_size >= s->nobjs)
		panic("kfree: %p is not the start of an object in cache %s", obj, c->name);
	u32 idx = (u32)(off / c->slot_size);

	unsigned long f = spin_lock_irqsave(&c->lock);
	if (!(s->bitmap[idx / 64] & (1ULL << (idx % 64)))) {
		spin_unlock_irqrestore(&c->lock, f);
		panic("kfree: double free of %p (cache %s)", obj, c->name);
	}
	spin_unlock_irqrestore(&c->lock, f);
	check_canary(c, obj);
	/* poison the trailer so a second free of this slot cannot pass the
	 * canary check even if the bitmap were wrong */
	memset((char *)obj + c->obj_size + sizeof(u64), 0, sizeof(u64));
	f = spin_lock_irqsave(&c->lock);
	if (!(s->bitmap[idx / 64] & (1ULL << (idx % 64)))) {
		spin_unlock_irqrestore(&c->lock, f);
		panic("kfree: double free of %p (cache %s, freed concurrently)", obj, c->name);
	}
	s->bitmap[idx / 64] &= ~(1ULL << (idx % 64));
	bool was_full = s->inuse == s->nobjs;
	s->inuse--;
	c->inuse--;
	c->frees++;
	struct slab *release = NULL;
	if (was_full) {
		list_remove(&s->link);
		list_push_front(&c->partial, &s->link);
	}
	if (s->inuse == 0 && c->partial.next != c->partial.prev) {
		/* empty, and not the only partial slab: give its pages back */
		list_remove(&s->link);
		c->slabs--;
		release = s;
	}
	spin_unlock_irqrestore(&c->lock, f);
	if (release) {
		struct page *pg = virt_to_page(release);
		release->magic = 0;
		for (u32 i = 0; i < (1u << c->order); i++) {
			pg[i].flags &= (u16)~PG_SLAB;
			pg[i].private = NULL;
		}
		page_put(pg);
	}
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
	int n = 0;
	for (int i = 0; i < ncaches && n < max; i++, n++) {
		struct kmem_cache *c = &caches[i];
		unsigned long f = spin_lock_irqsave(&c->lock);
		out[n] = (struct kmem_cache_stats){ c->name, c->obj_size, c->slot_size, c->nobjs,
						    c->slabs, c->inuse, c->allocs, c->frees };
		spin_unlock_irqrestore(&c->lock, f);
	}
	if (n < max) {
		out[n] = (struct kmem_cache_stats){ "kmalloc-large", 0, 0, 0, 0,
						    large_allocs - large_frees, large_allocs,
						    large_frees };
		n++;
	}
	return n;
}
