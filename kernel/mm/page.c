/*
 * The physical page allocator: a binary buddy allocator over one array of
 * struct page, with a per-CPU cache of order-0 pages in front of it.
 *
 * Locks:
 *   [B] buddy.lock   free lists, PG_BUDDY flags and free block orders
 *   [P] pcp[c].lock  CPU c's cache; taken with interrupts off, almost always
 *                    by CPU c itself (page_drain_caches takes it remotely)
 * Order: a pcp lock may be held while taking the buddy lock, never the
 * reverse.
 */
#include "kernel/mm/mm.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/sync/spinlock.h"

#define PCP_HIGH 64   /* cache at most this many pages per CPU */
#define PCP_BATCH 16  /* move this many at a time to/from the buddy lists */

static struct page *pages;      /* one per page frame below max_pfn */
static u64 max_pfn;
static u64 total_pages;

static struct {
	spinlock_t lock;
	struct list_node free[PAGE_MAX_ORDER + 1]; /* [B] */
	u64 nfree[PAGE_MAX_ORDER + 1];             /* [B] blocks per order */
	u64 free_pages;                            /* [B] */
} buddy;

struct pcp {
	spinlock_t lock;
	struct list_node list;   /* [P] */
	u64 count;               /* [P] */
	u64 hits, refills, drains;
} __aligned(CACHELINE);
static struct pcp pcp[MAX_CPUS];

static u64 stat_allocs, stat_frees;  /* [atomic] */

static inline u64 pfn_of(const struct page *p) { return (u64)(p - pages); }
u64 page_to_phys(const struct page *p) { return pfn_of(p) << PAGE_SHIFT; }
void *page_address(const struct page *p) { return phys_to_virt(page_to_phys(p)); }
u64 page_max_phys(void) { return max_pfn << PAGE_SHIFT; }

struct page *phys_to_page(u64 pa)
{
	u64 pfn = pa >> PAGE_SHIFT;
	return pfn < max_pfn ? &pages[pfn] : NULL;
}

struct page *virt_to_page(const void *va) { return phys_to_page(virt_to_phys(va)); }

u64 page_pin_reserved(u64 pa, u64 len)
{
	u64 n = 0;
	for (u64 pfn = pa >> PAGE_SHIFT; pfn < max_pfn && pfn << PAGE_SHIFT < pa + len; pfn++) {
		struct page *p = &pages[pfn];
		u32 zero = 0;
		if ((p->flags & PG_RESERVED) &&
		    __atomic_compare_exchange_n(&p->refcount, &zero, 1, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			n++;
	}
	return n;
}

/* ---- buddy lists ---- */

static void buddy_insert(u64 pfn, unsigned order)
{
	while (order < PAGE_MAX_ORDER) {
		u64 bpfn = pfn ^ (1ULL << order);
		if (bpfn + (1ULL << order) > max_pfn)
			break;
		struct page *b = &pages[bpfn];
		if (!(b->flags & PG_BUDDY) || b->order != order)
			break;
		list_remove(&b->link);
		b->flags &= (u16)~PG_BUDDY;
		buddy.nfree[order]--;
		pfn &= ~(1ULL << order);
		order++;
	}
	struct page *p = &pages[pfn];
	p->flags |= PG_BUDDY;
	p->order = (u8)order;
	list_push_front(&buddy.free[order], &p->link);
	buddy.nfree[order]++;
}

static void buddy_free(u64 pfn, unsigned order)
{
	spin_assert_held(&buddy.lock);
	buddy.free_pages += 1ULL << order;
	buddy_insert(pfn, order);
}

static struct page *buddy_take(unsigned order)
{
	spin_assert_held(&buddy.lock);
	unsigned o = order;
	while (o <= PAGE_MAX_ORDER && list_empty(&buddy.free[o]))
		o++;
	if (o > PAGE_MAX_ORDER)
		return NULL;
	struct page *p = list_entry(list_pop_front(&buddy.free[o]), struct page, link);
	buddy.nfree[o]--;
	p->flags &= (u16)~PG_BUDDY;
	u64 pfn = pfn_of(p);
	while (o > order) { /* split: give back the upper halves */
		o--;
		struct page *half = &pages[pfn + (1ULL << o)];
		half->flags |= PG_BUDDY;
		half->order = (u8)o;
		list_push_front(&buddy.free[o], &half->link);
		buddy.nfree[o]++;
	}
	buddy.free_pages -= 1ULL << order;
	p->order = (u8)order;
	return p;
}

/* ---- per-CPU cache ---- */

static struct page *pcp_alloc(void)
{
	unsigned long f = irq_save();
	struct pcp *c = &pcp[cpu_id()];
	raw_spin_lock(&c->lock);
	if (c->count == 0) {
		raw_spin_lock(&buddy.lock);
		for (int i = 0; i < PCP_BATCH; i++) {
			struct page *p = buddy_take(0);
			if (!p)
				break;
			p->flags |= PG_PCP;
			list_push_back(&c->list, &p->link);
			c->count++;
		}
		raw_spin_unlock(&buddy.lock);
		c->refills++;
	} else {
		c->hits++;
	}
	struct page *p = NULL;
	struct list_node *n = list_pop_front(&c->list);
	if (n) {
		p = list_entry(n, struct page, link);
		p->flags &= (u16)~PG_PCP;
		c->count--;
	}
	raw_spin_unlock(&c->lock);
	irq_restore(f);
	return p;
}

static void pcp_drain_locked(struct pcp *c, u64 keep)
{
	raw_spin_lock(&buddy.lock);
	while (c->count > keep) {
		struct page *p = list_entry(list_pop_front(&c->list), struct page, link);
		p->flags &= (u16)~PG_PCP;
		c->count--;
		buddy_free(pfn_of(p), 0);
	}
	raw_spin_unlock(&buddy.lock);
	c->drains++;
}

static void pcp_free(struct page *p)
{
	unsigned long f = irq_save();
	struct pcp *c = &pcp[cpu_id()];
	raw_spin_lock(&c->lock);
	p->flags |= PG_PCP;
	p->pcp_cpu = (u8)cpu_id();
	list_push_front(&c->list, &p->link);
	if (++c->count > PCP_HIGH)
		pcp_drain_locked(c, PCP_HIGH - PCP_BATCH);
	raw_spin_unlock(&c->lock);
	irq_restore(f);
}

void page_drain_caches(void)
{
	slab_reclaim();   /* empty slabs come back as pages first */
	for (int i = 0; i < MAX_CPUS; i++) {
		unsigned long f = irq_save();
		raw_spin_lock(&pcp[i].lock);
		if (pcp[i].count)
			pcp_drain_locked(&pcp[i], 0);
		raw_spin_unlock(&pcp[i].lock);
		irq_restore(f);
	}
}

/* ---- public interface ---- */

static struct page *take(unsigned order)
{
	if (order == 0)
		return pcp_alloc();
	unsigned long f = spin_lock_irqsave(&buddy.lock);
	struct page *p = buddy_take(order);
	spin_unlock_irqrestore(&buddy.lock, f);
	return p;
}

static u64 (*reclaim_fn)(u64 want);

void page_set_reclaim(u64 (*fn)(u64 want)) { reclaim_fn = fn; }

struct page *page_alloc(unsigned order)
{
	if (order > PAGE_MAX_ORDER)
		return NULL;
	struct page *p = take(order);
	if (unlikely(!p)) {
		/* memory pressure: what the per-CPU caches (objects' and pages')
		 * hold goes back to the buddy lists, then one more try */
		page_drain_caches();
		p = take(order);
		if (!p && reclaim_fn && reclaim_fn(MAX(32ull, 1ull << order))) {
			page_drain_caches();   /* freed pages merge in the buddy lists */
			p = take(order);
		}
	}
	if (!p)
		return NULL;
	if (p->refcount != 0 || (p->flags & (PG_RESERVED | PG_SLAB | PG_LARGE)))
		panic("page_alloc: free page %#llx has refcount %u flags %#x (corrupt free list)",
		      (unsigned long long)page_to_phys(p), p->refcount, p->flags);
	p->order = (u8)order;
	p->private = NULL;
	__atomic_store_n(&p->refcount, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stat_allocs, 1, __ATOMIC_RELAXED);
	return p;
}

struct page *page_alloc_zeroed(unsigned order)
{
	struct page *p = page_alloc(order);
	if (p)
		memset(page_address(p), 0, PAGE_SIZE << order);
	return p;
}

void page_get(struct page *p)
{
	u32 old = __atomic_fetch_add(&p->refcount, 1, __ATOMIC_RELAXED);
	if (unlikely(old == 0))
		panic("page_get: page %#llx is free (refcount was 0)",
		      (unsigned long long)page_to_phys(p));
}

u32 page_refcount(const struct page *p) { return __atomic_load_n(&p->refcount, __ATOMIC_RELAXED); }

void page_set_fmapped(struct page *p)
{
	__atomic_fetch_or(&p->flags, (u16)PG_FMAPPED, __ATOMIC_RELAXED);
}

bool page_fmapped(const struct page *p)
{
	return __atomic_load_n(&p->flags, __ATOMIC_RELAXED) & PG_FMAPPED;
}

void page_put(struct page *p)
{
	u32 old = __atomic_fetch_sub(&p->refcount, 1, __ATOMIC_ACQ_REL);
	if (unlikely(old == 0))
		panic("page_put: page %#llx freed twice (refcount was already 0)",
		      (unsigned long long)page_to_phys(p));
	if (old != 1)
		return;
	if (unlikely(p->flags & (PG_RESERVED | PG_BUDDY | PG_PCP)))
		panic("page_put: page %#llx has flags %#x, cannot be freed",
		      (unsigned long long)page_to_phys(p), p->flags);
	unsigned order = p->order;
	p->flags &= (u16)~(PG_SLAB | PG_LARGE | PG_FMAPPED);
	p->private = NULL;
	__atomic_fetch_add(&stat_frees, 1, __ATOMIC_RELAXED);
	if (order == 0) {
		pcp_free(p);
		return;
	}
	unsigned long f = spin_lock_irqsave(&buddy.lock);
	buddy_free(pfn_of(p), order);
	spin_unlock_irqrestore(&buddy.lock, f);
}

u64 page_free_count(void)
{
	u64 n = __atomic_load_n(&buddy.free_pages, __ATOMIC_RELAXED);
	for (int i = 0; i < MAX_CPUS; i++)
		n += __atomic_load_n(&pcp[i].count, __ATOMIC_RELAXED);
	return n;
}

void page_stats(struct page_stats *s)
{
	memset(s, 0, sizeof(*s));
	unsigned long f = spin_lock_irqsave(&buddy.lock);
	s->total = total_pages;
	s->free = buddy.free_pages;
	for (int o = 0; o <= PAGE_MAX_ORDER; o++)
		s->free_blocks[o] = buddy.nfree[o];
	spin_unlock_irqrestore(&buddy.lock, f);
	for (int i = 0; i < MAX_CPUS; i++) {
		s->pcp_count[i] = pcp[i].count;
		s->free_in_pcp += pcp[i].count;
		s->pcp_hits += pcp[i].hits;
		s->pcp_refills += pcp[i].refills;
		s->pcp_drains += pcp[i].drains;
	}
	s->free += s->free_in_pcp;
	s->allocs = stat_allocs;
	s->frees = stat_frees;
}

/* ---- boot ---- */

struct range {
	u64 start, end;
};

/* Ranges never given to the allocator: the first MiB (BIOS data, the AP
 * trampoline), the kernel image, the modules and the page array. */
static int reserved_ranges(const struct boot_info *bi, struct range *r, int max)
{
	int n = 0;
	r[n++] = (struct range){ 0, MiB(1) };
	r[n++] = (struct range){ ALIGN_DOWN(bi->kernel_start, PAGE_SIZE),
				 ALIGN_UP(bi->kernel_end, PAGE_SIZE) };
	for (int i = 0; i < bi->nmods && n < max - 1; i++)
		r[n++] = (struct range){ ALIGN_DOWN(bi->mods[i].start, PAGE_SIZE),
					 ALIGN_UP(bi->mods[i].end, PAGE_SIZE) };
	if (pages)
		r[n++] = (struct range){ virt_to_phys(pages),
					 ALIGN_UP(virt_to_phys(pages) + max_pfn * sizeof(struct page),
						  PAGE_SIZE) };
	return n;
}

/* Call fn on each piece of usable memory in [lo, hi) minus reserved ranges. */
static void for_each_usable(const struct boot_info *bi, u64 lo, u64 hi,
			    void (*fn)(u64 start, u64 end, void *arg), void *arg)
{
	struct range res[BOOT_MOD_MAX + 4];
	int nres = reserved_ranges(bi, res, (int)ARRAY_SIZE(res));
	for (int i = 0; i < bi->nmem; i++) {
		const struct boot_mem_range *m = &bi->mem[i];
		if (m->type != BOOT_MEM_USABLE)
			continue;
		u64 s = MAX(ALIGN_UP(m->base, PAGE_SIZE), lo);
		u64 e = MIN(ALIGN_DOWN(m->base + m->len, PAGE_SIZE), hi);
		/* cut reserved ranges out of [s, e), piece by piece */
		while (s < e) {
			u64 piece_end = e;
			bool cut = false;
			for (int j = 0; j < nres; j++) {
				if (res[j].start <= s && res[j].end > s) {
					s = res[j].end;
					cut = true;
					break;
				}
				if (res[j].start > s && res[j].start < piece_end)
					piece_end = res[j].start;
			}
			if (cut)
				continue;
			fn(s, piece_end, arg);
			s = piece_end;
		}
	}
}

static void add_free(u64 start, u64 end, void *arg)
{
	(void)arg;
	u64 pfn = start >> PAGE_SHIFT, last = end >> PAGE_SHIFT;
	for (u64 i = pfn; i < last; i++)
		pages[i].flags &= (u16)~PG_RESERVED;
	while (pfn < last) {
		unsigned order = 0;
		while (order < PAGE_MAX_ORDER && IS_ALIGNED(pfn, 1ULL << (order + 1)) &&
		       pfn + (1ULL << (order + 1)) <= last)
			order++;
		buddy_free(pfn, order);
		total_pages += 1ULL << order;
		pfn += 1ULL << order;
	}
}

struct fit {
	u64 need, limit, found;
};

static void find_fit(u64 start, u64 end, void *arg)
{
	struct fit *f = arg;
	if (!f->found && end - start >= f->need && start + f->need <= f->limit)
		f->found = start;
}

void page_init_early(const struct boot_info *bi, u64 limit)
{
	u64 top = 0;
	for (int i = 0; i < bi->nmem; i++)
		if (bi->mem[i].type == BOOT_MEM_USABLE)
			top = MAX(top, bi->mem[i].base + bi->mem[i].len);
	max_pfn = top >> PAGE_SHIFT;
	spin_init(&buddy.lock, "buddy");
	for (int o = 0; o <= PAGE_MAX_ORDER; o++)
		list_init(&buddy.free[o]);
	for (int i = 0; i < MAX_CPUS; i++) {
		spin_init(&pcp[i].lock, "pcp");
		list_init(&pcp[i].list);
	}
	struct fit f = { ALIGN_UP(max_pfn * sizeof(struct page), PAGE_SIZE), limit, 0 };
	for_each_usable(bi, 0, limit, find_fit, &f);
	if (!f.found)
		panic("page_init: no room for the page array (%llu KiB)",
		      (unsigned long long)(f.need >> 10));
	pages = phys_to_virt(f.found);
	memset(pages, 0, max_pfn * sizeof(struct page));
	for (u64 i = 0; i < max_pfn; i++) {
		pages[i].flags = PG_RESERVED;
		list_init(&pages[i].link);
	}
	unsigned long fl = spin_lock_irqsave(&buddy.lock);
	for_each_usable(bi, 0, limit, add_free, NULL);
	spin_unlock_irqrestore(&buddy.lock, fl);
}

void page_init_late(const struct boot_info *bi, u64 limit)
{
	unsigned long fl = spin_lock_irqsave(&buddy.lock);
	for_each_usable(bi, limit, UINT64_MAX, add_free, NULL);
	spin_unlock_irqrestore(&buddy.lock, fl);
	pr_info("page: %llu MiB usable of %llu MiB physical, struct page array %llu KiB",
		(unsigned long long)(total_pages >> 8), (unsigned long long)(max_pfn >> 8),
		(unsigned long long)((max_pfn * sizeof(struct page)) >> 10));
}
