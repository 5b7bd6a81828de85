/*
 * Memory: physical pages, kernel objects, kernel stacks.
 *
 * Pages. Every physical page has a struct page. page_alloc(order) returns a
 * block of 2^order pages with reference count 1 (NULL when memory is out).
 * Whoever holds a reference may take another (page_get) and each reference
 * is dropped with page_put; the block returns to the allocator when the
 * count reaches zero. Zero-copy paths share pages this way: the page cache,
 * user memory and NIC descriptors each hold their own reference. Order-0
 * pages come from a per-CPU cache; page_put from any context is allowed
 * (interrupt handlers included). Before it returns NULL, page_alloc empties
 * the per-CPU caches (objects, then pages) and tries once more.
 *
 * Objects. kmalloc/kfree, and typed caches (kmem_cache_create), keep
 * metadata checks on in every build: freeing a pointer kmalloc never
 * returned, freeing twice, or writing past the end of an object panics with
 * a message that says which.
 *
 * Stacks. kstack_alloc maps a kernel stack in its own slot with an unmapped
 * guard region below it, so an overflow faults instead of corrupting memory.
 */
#ifndef MM_MM_H
#define MM_MM_H

#include "kernel/arch/arch.h"
#include "kernel/lib/list.h"

#define PAGE_MAX_ORDER 10   /* blocks of up to 4 MiB */

enum page_flags {
	PG_RESERVED = 1 << 0,   /* never handed out (firmware, kernel image, holes) */
	PG_BUDDY = 1 << 1,      /* head of a free block in the buddy lists */
	PG_PCP = 1 << 2,        /* free, in a per-CPU cache */
	PG_SLAB = 1 << 3,       /* part of a slab */
	PG_LARGE = 1 << 4,      /* head of a large kmalloc block */
	PG_GC = 1 << 5,         /* part of a GC heap span (kernel/gc) */
	PG_FMAPPED = 1 << 6,    /* a file's page that a shared mapping maps: the
				 * file's writes change it in place (set by the
				 * file system under its lock, page_set_fmapped;
				 * until the page is freed) */
};

struct page {
	u32 refcount;           /* [atomic] 0 when free */
	u16 flags;              /* [owner; buddy lock when free] */
	u8 order;               /* block order (head pages) */
	u8 pcp_cpu;
	struct list_node link;  /* [buddy lock / pcp lock / slab cache lock] */
	void *private;          /* slab: its struct slab; large kmalloc: size */
};

/* -- pages -- */
struct boot_info;
void page_init_early(const struct boot_info *bi, u64 limit);   /* pages below limit */
void page_init_late(const struct boot_info *bi, u64 limit);    /* the rest */
struct page *page_alloc(unsigned order);
struct page *page_alloc_zeroed(unsigned order);
void page_get(struct page *p);
void page_put(struct page *p);
u32 page_refcount(const struct page *p);
/* PG_FMAPPED: set atomically (the page's owner may set it while another
 * CPU reads the flags), read without a lock */
void page_set_fmapped(struct page *p);
bool page_fmapped(const struct page *p);
u64 page_to_phys(const struct page *p);
struct page *phys_to_page(u64 pa);
void *page_address(const struct page *p);
struct page *virt_to_page(const void *va);
/* Give the reserved pages of [pa, pa + len) (memory the allocator never
 * hands out, e.g. a boot module kept for good) one permanent reference,
 * so zero-copy paths may page_get/page_put them like any page; the count
 * never returns to 0. Pages already referenced or outside the page array
 * are left alone. Returns how many pages were pinned. */
u64 page_pin_reserved(u64 pa, u64 len);
/* Return every per-CPU cached page to the buddy lists (for accounting),
 * after the object caches' per-CPU caches (slab_reclaim). */
void page_drain_caches(void);
/* A cache above the allocator (the page cache) that gives pages back when
 * none are free: page_alloc calls fn after draining the per-CPU caches,
 * asking for want pages; fn puts what it can let go of and returns how
 * many. It runs in the allocating context (any: it must not sleep, and
 * takes its own locks only with a trylock). One reclaimer; set at boot. */
void page_set_reclaim(u64 (*fn)(u64 want));

struct page_stats {
	u64 total, free, free_in_pcp;
	u64 free_blocks[PAGE_MAX_ORDER + 1];
	u64 allocs, frees, pcp_hits, pcp_refills, pcp_drains;
	u64 pcp_count[MAX_CPUS];
};
void page_stats(struct page_stats *s);
u64 page_free_count(void);        /* free pages, per-CPU caches included */
u64 page_max_phys(void);

/* -- objects -- */
struct kmem_cache;
struct kmem_cache *kmem_cache_create(const char *name, size_t size);
void *kmem_cache_alloc(struct kmem_cache *c);
void kmem_cache_free(struct kmem_cache *c, void *obj);

#define KM_ZERO 1
void *kmalloc(size_t size, int flags);
void *kzalloc(size_t size);
void kfree(void *p);
size_t ksize(const void *p);     /* usable size of a kmalloc'd object */
void slab_init(void);

struct kmem_cache_stats {
	const char *name;
	u32 obj_size, slot_size, objs_per_slab;
	u64 slabs, inuse, allocs, frees;   /* inuse: handed out, not freed */
	/* per-CPU caches (slab.c): objects held in them (free, but still out of
	 * their slabs), each CPU's capacity, CPUs that have one; calls served
	 * there; batches moved from and to the slabs */
	u64 cached;
	u32 cpu_limit, cpus;
	u64 cpu_allocs, cpu_frees, refills, drains;
};
/* Fill up to max entries; returns the number of caches. */
int kmem_cache_stats(struct kmem_cache_stats *out, int max);

struct slab_cpu_cache_stats {
	u64 stacks, pool, pool_exhausted;  /* per-CPU stacks in use, their pool, misses */
	u64 reclaims, reclaimed;           /* slab_reclaim calls, objects it moved */
};
void slab_cpu_cache_stats(struct slab_cpu_cache_stats *out);
/* Empty every CPU's cache of every object cache back into the slabs (empty
 * slabs go back to the page allocator); returns the objects moved. Memory
 * pressure: page_alloc calls it before it fails. Any context, no slab lock
 * held. */
u64 slab_reclaim(void);

/* -- kernel stacks -- */
struct kstack {
	u64 lo, hi;      /* mapped range; hi is the initial stack pointer */
	int slot;
};
int kstack_alloc(struct kstack *ks);
/* Unmaps (with a TLB shootdown) and frees; needs interrupts enabled. */
void kstack_free(struct kstack *ks);
u64 kstack_count(void);

/* Boot: pages, kernel page tables, objects. */
void mm_init(const struct boot_info *bi);

#endif
