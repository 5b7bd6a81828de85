/*
 * kernel/mm/page.c: the buddy allocator and its per-CPU caches, over the
 * 64 MiB arena of host_mm_init() (see host.h): usable [1 MiB, 64 MiB) minus
 * the kernel image [2 MiB, 4 MiB) and the struct page array, which the
 * allocator places at 1 MiB.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/mm.h"
#include "tests/host/host.h"

TestSuite(page, .init = host_mm_init, .timeout = 60);

static u64 blocks_of(const struct page_stats *s, unsigned order)
{
	u64 n = 0;
	for (unsigned k = order; k <= PAGE_MAX_ORDER; k++)
		n += s->free_blocks[k] << (k - order);
	return n;
}

/* Free memory as the buddy lists see it, per-CPU caches emptied first. */
static void settled_stats(struct page_stats *s)
{
	page_drain_caches();
	page_stats(s);
	cr_assert_eq(s->free_in_pcp, 0, "page_drain_caches left %llu pages cached",
		     (unsigned long long)s->free_in_pcp);
}

static void assert_same_free_state(const struct page_stats *before, const char *when)
{
	struct page_stats now;
	settled_stats(&now);
	cr_assert_eq(now.free, before->free, "%s: %llu pages free, want %llu", when,
		     (unsigned long long)now.free, (unsigned long long)before->free);
	cr_assert_eq(page_free_count(), before->free, "%s: page_free_count disagrees", when);
	for (unsigned o = 0; o <= PAGE_MAX_ORDER; o++)
		cr_assert_eq(now.free_blocks[o], before->free_blocks[o],
			     "%s: %llu free blocks of order %u, want %llu (not coalesced?)", when,
			     (unsigned long long)now.free_blocks[o], o,
			     (unsigned long long)before->free_blocks[o]);
}

static void assert_good_block(struct page *p, unsigned order)
{
	cr_assert_not_null(p, "page_alloc(%u) failed", order);
	u64 pa = page_to_phys(p), size = (u64)PAGE_SIZE << order;
	cr_assert(IS_ALIGNED(pa, size), "order %u block at %#llx is not aligned to %#llx", order,
		  (unsigned long long)pa, (unsigned long long)size);
	cr_assert(host_phys_allocatable(pa, pa + size), "order %u block [%#llx, %#llx) overlaps "
		  "reserved memory", order, (unsigned long long)pa, (unsigned long long)(pa + size));
	cr_assert_eq(page_refcount(p), 1);
	cr_assert_eq(phys_to_page(pa), p);
	cr_assert_eq(page_address(p), (char *)host_arena + pa);
	cr_assert_eq(virt_to_page(page_address(p)), p);
	cr_assert_eq(virt_to_page((char *)page_address(p) + size - 1), p + (1u << order) - 1);
}

Test(page, initial_layout)
{
	/* what the arena leaves free, derived from the layout, not from page.c */
	u64 array = ALIGN_UP(HOST_MEM_SIZE / PAGE_SIZE * sizeof(struct page), (u64)PAGE_SIZE);
	u64 lo = HOST_USABLE_LO + array;
	cr_assert_leq(lo, HOST_KERNEL_LO, "the struct page array should fit below the kernel");
	u64 want_blocks[PAGE_MAX_ORDER + 1] = { 0 };
	for (u64 pfn = lo / PAGE_SIZE, end = HOST_KERNEL_LO / PAGE_SIZE; pfn < end;) {
		unsigned o = 0;
		while (o < PAGE_MAX_ORDER && IS_ALIGNED(pfn, 2ULL << o) && pfn + (2ULL << o) <= end)
			o++;
		want_blocks[o]++;
		pfn += 1ULL << o;
	}
	want_blocks[PAGE_MAX_ORDER] += (HOST_MEM_SIZE - HOST_KERNEL_HI) / (PAGE_SIZE << PAGE_MAX_ORDER);
	u64 want_pages = (HOST_KERNEL_LO - lo + HOST_MEM_SIZE - HOST_KERNEL_HI) / PAGE_SIZE;

	struct page_stats s;
	page_stats(&s);
	cr_assert_eq(s.total, want_pages, "total %llu, want %llu", (unsigned long long)s.total,
		     (unsigned long long)want_pages);
	cr_assert_eq(s.free, want_pages);
	cr_assert_eq(s.free_in_pcp, 0);
	cr_assert_eq(page_free_count(), want_pages);
	for (unsigned o = 0; o <= PAGE_MAX_ORDER; o++)
		cr_assert_eq(s.free_blocks[o], want_blocks[o], "order %u: %llu blocks, want %llu", o,
			     (unsigned long long)s.free_blocks[o], (unsigned long long)want_blocks[o]);
	cr_assert_eq(s.allocs, 0);
	cr_assert_eq(s.frees, 0);

	cr_assert_eq(page_max_phys(), HOST_MEM_SIZE);
	cr_assert_null(phys_to_page(HOST_MEM_SIZE));
	cr_assert_eq(virt_to_phys(phys_to_page(0)), HOST_USABLE_LO, "struct page array not at 1 MiB");
	/* reserved: the first MiB, the page array, the kernel image */
	const u64 reserved[] = { 0, 0x9f000, HOST_USABLE_LO, lo - PAGE_SIZE, HOST_KERNEL_LO,
					HOST_KERNEL_HI - PAGE_SIZE };
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		struct page *p = phys_to_page(reserved[i]);
		cr_assert_not_null(p);
		cr_assert(p->flags & PG_RESERVED, "page %#llx should be reserved",
			  (unsigned long long)reserved[i]);
		cr_assert_eq(page_refcount(p), 0);
	}
	cr_assert_not(phys_to_page(lo)->flags & PG_RESERVED);
	cr_assert_not(phys_to_page(HOST_KERNEL_HI)->flags & PG_RESERVED);
	cr_assert_not(phys_to_page(HOST_MEM_SIZE - PAGE_SIZE)->flags & PG_RESERVED);
}

Test(page, every_order_alloc_and_free)
{
	struct page_stats init;
	settled_stats(&init);
	for (unsigned o = 0; o <= PAGE_MAX_ORDER; o++) {
		struct page *p = page_alloc(o);
		assert_good_block(p, o);
		size_t size = (size_t)PAGE_SIZE << o;
		char *va = page_address(p);
		memset(va, 0xa0 + (int)o, size);   /* the whole block is usable */
		cr_assert_eq(va[0], (char)(0xa0 + o));
		cr_assert_eq(va[size - 1], (char)(0xa0 + o));
		cr_assert_eq(page_free_count(), init.free - (1ULL << o));
		page_put(p);
	}
	struct page_stats s;
	page_stats(&s);
	cr_assert_eq(s.allocs, PAGE_MAX_ORDER + 1);
	cr_assert_eq(s.frees, PAGE_MAX_ORDER + 1);
	assert_same_free_state(&init, "after one block of each order");
}

Test(page, free_count_tracks_allocations)
{
	u64 init = page_free_count();
	struct page *p[PAGE_MAX_ORDER + 1];
	u64 used = 0;
	for (unsigned o = 0; o <= PAGE_MAX_ORDER; o++) {
		p[o] = page_alloc(o);
		cr_assert_not_null(p[o]);
		used += 1ULL << o;
		/* per-CPU cached pages count as free */
		cr_assert_eq(page_free_count(), init - used, "after order %u", o);
	}
	for (unsigned o = 0; o <= PAGE_MAX_ORDER; o++) {
		page_put(p[o]);
		used -= 1ULL << o;
		cr_assert_eq(page_free_count(), init - used, "after freeing order %u", o);
	}
}

Test(page, order_too_large)
{
	u64 init = page_free_count();
	cr_assert_null(page_alloc(PAGE_MAX_ORDER + 1));
	cr_assert_null(page_alloc(31));
	cr_assert_null(page_alloc(~0u));
	cr_assert_eq(page_free_count(), init);
}

/* Allocate every block of one order, check they are disjoint, free them. */
static void alloc_all_of_order(unsigned order, const struct page_stats *init)
{
	u64 want = blocks_of(init, order);
	struct page **all = calloc(want + 1, sizeof(*all));
	u8 *used = calloc(HOST_MEM_SIZE / PAGE_SIZE, 1);
	cr_assert(all && used);
	u64 n = 0;
	struct page *p;
	while ((p = page_alloc(order)) != NULL) {
		cr_assert_lt(n, want, "order %u: more than the %llu blocks that exist", order,
			     (unsigned long long)want);
		assert_good_block(p, order);
		u64 pfn = page_to_phys(p) / PAGE_SIZE;
		for (u64 i = 0; i < (1ULL << order); i++) {
			cr_assert_not(used[pfn + i], "page %#llx handed out twice",
				      (unsigned long long)((pfn + i) * PAGE_SIZE));
			used[pfn + i] = 1;
		}
		all[n++] = p;
	}
	cr_assert_eq(n, want, "order %u: got %llu blocks, want %llu", order,
		     (unsigned long long)n, (unsigned long long)want);
	/* out of memory: NULL again and again, and smaller orders too */
	cr_assert_null(page_alloc(order));
	for (unsigned o = 0; o < order; o++)
		if (page_free_count() == 0)
			cr_assert_null(page_alloc(o));
	if (order == 0)
		cr_assert_eq(page_free_count(), 0);
	/* free in an order unlike the allocation order */
	for (u64 i = 0; i < n; i += 2)
		page_put(all[i]);
	for (u64 i = 1; i < n; i += 2)
		page_put(all[i]);
	char when[64];
	snprintf(when, sizeof(when), "after allocating all of order %u", order);
	assert_same_free_state(init, when);
	free(all);
	free(used);
}

Test(page, exhaust_each_order_then_coalesce)
{
	struct page_stats init;
	settled_stats(&init);
	for (unsigned o = 0; o <= PAGE_MAX_ORDER; o++)
		alloc_all_of_order(o, &init);
}

Test(page, exhaustion_returns_null)
{
	/* take everything as the biggest blocks first, then the crumbs */
	u64 init = page_free_count();
	u64 got = 0;
	struct page **all = calloc(init, sizeof(*all));
	cr_assert_not_null(all);
	u64 n = 0;
	for (int o = PAGE_MAX_ORDER; o >= 0; o--) {
		struct page *p;
		while ((p = page_alloc((unsigned)o)) != NULL) {
			all[n++] = p;
			got += 1ULL << o;
		}
	}
	cr_assert_eq(got, init);
	cr_assert_eq(page_free_count(), 0);
	for (unsigned o = 0; o <= PAGE_MAX_ORDER; o++)
		cr_assert_null(page_alloc(o));
	cr_assert_null(page_alloc_zeroed(0));
	for (u64 i = 0; i < n; i++)
		page_put(all[i]);
	page_drain_caches();
	cr_assert_eq(page_free_count(), init);
	free(all);
}

static int cmp_page_ptr(const void *a, const void *b)
{
	struct page *x = *(struct page *const *)a, *y = *(struct page *const *)b;
	return x < y ? -1 : x > y;
}

Test(page, fragmentation_blocks_higher_orders)
{
	struct page_stats init;
	settled_stats(&init);
	u64 total = init.free;
	struct page **all = calloc(total, sizeof(*all));
	cr_assert_not_null(all);
	for (u64 i = 0; i < total; i++) {
		all[i] = page_alloc(0);
		cr_assert_not_null(all[i]);
	}
	qsort(all, total, sizeof(*all), cmp_page_ptr);
	/* free every other page: half the memory is free, no two pages adjacent */
	u64 freed = 0;
	for (u64 i = 0; i < total; i++) {
		if (page_to_phys(all[i]) / PAGE_SIZE % 2 == 0) {
			page_put(all[i]);
			all[i] = NULL;
			freed++;
		}
	}
	page_drain_caches();
	cr_assert_eq(page_free_count(), freed);
	for (unsigned o = 1; o <= PAGE_MAX_ORDER; o++)
		cr_assert_null(page_alloc(o), "order %u allocated from fragmented memory", o);
	struct page *p = page_alloc(0);
	cr_assert_not_null(p);
	page_put(p);
	for (u64 i = 0; i < total; i++)
		if (all[i])
			page_put(all[i]);
	assert_same_free_state(&init, "after fragmenting and freeing");
	free(all);
}

Test(page, zeroed_allocation)
{
	for (unsigned o = 0; o <= 3; o++) {
		/* dirty some blocks, free them, ask for zeroed ones (likely the same) */
		struct page *d[4];
		for (int i = 0; i < 4; i++) {
			d[i] = page_alloc(o);
			cr_assert_not_null(d[i]);
			memset(page_address(d[i]), 0xff, (size_t)PAGE_SIZE << o);
		}
		for (int i = 3; i >= 0; i--)
			page_put(d[i]);
		for (int i = 0; i < 4; i++) {
			d[i] = page_alloc_zeroed(o);
			assert_good_block(d[i], o);
			const u8 *b = page_address(d[i]);
			for (size_t j = 0; j < (size_t)PAGE_SIZE << o; j++)
				cr_assert_eq(b[j], 0, "order %u byte %zu not zeroed", o, j);
		}
		for (int i = 0; i < 4; i++)
			page_put(d[i]);
	}
}

Test(page, refcount_keeps_block_until_last_put)
{
	struct page_stats init;
	settled_stats(&init);
	for (unsigned o = 0; o <= 4; o += 2) {
		struct page *p = page_alloc(o);
		assert_good_block(p, o);
		page_get(p);
		page_get(p);
		cr_assert_eq(page_refcount(p), 3);
		page_put(p);
		page_put(p);
		cr_assert_eq(page_refcount(p), 1);
		page_drain_caches();
		cr_assert_eq(page_free_count(), init.free - (1ULL << o), "freed before the last put");
		/* the block is still ours: a new allocation never returns it */
		struct page *q = page_alloc(o);
		cr_assert_neq(q, p);
		page_put(q);
		memset(page_address(p), 0x11, (size_t)PAGE_SIZE << o);
		page_put(p);
		cr_assert_eq(page_refcount(p), 0);
		page_drain_caches();
		cr_assert_eq(page_free_count(), init.free);
	}
	assert_same_free_state(&init, "after refcounting");
}

Test(page, per_cpu_cache_bounds_and_drain)
{
	struct page_stats init, s;
	settled_stats(&init);
	enum { N = 200 };
	struct page *p[N];
	for (int i = 0; i < N; i++)
		p[i] = page_alloc(0);
	for (int i = 0; i < N; i++) {
		cr_assert_not_null(p[i]);
		page_put(p[i]);
	}
	page_stats(&s);
	cr_assert_gt(s.pcp_count[0], 0, "order-0 frees should go to this CPU's cache");
	cr_assert_leq(s.pcp_count[0], 64, "the per-CPU cache holds %llu pages",
		      (unsigned long long)s.pcp_count[0]);
	cr_assert_eq(s.free_in_pcp, s.pcp_count[0]);
	cr_assert_gt(s.pcp_drains, 0);
	cr_assert_gt(s.pcp_hits, 0);
	cr_assert_gt(s.pcp_refills, 0);
	cr_assert_eq(s.free, init.free);
	cr_assert_eq(page_free_count(), init.free);

	/* another CPU's frees land in its own cache */
	host_set_cpu(5);
	struct page *q = page_alloc(0);
	cr_assert_not_null(q);
	page_put(q);
	page_stats(&s);
	cr_assert_gt(s.pcp_count[5], 0);
	host_set_cpu(0);
	assert_same_free_state(&init, "after per-CPU caching");
}

/* ---- misuse panics ---- */

Test(page, put_on_freed_page_panics, .signal = SIGABRT)
{
	struct page *p = page_alloc(0);
	cr_assert_not_null(p);
	page_put(p);
	host_expect_panic("freed twice");
	page_put(p);
}

Test(page, put_on_freed_block_panics, .signal = SIGABRT)
{
	struct page *p = page_alloc(3);
	cr_assert_not_null(p);
	page_get(p);
	page_put(p);
	page_put(p);
	host_expect_panic("freed twice");
	page_put(p);
}

Test(page, put_on_never_allocated_page_panics, .signal = SIGABRT)
{
	host_expect_panic("freed twice");
	page_put(phys_to_page(HOST_MEM_SIZE - PAGE_SIZE));
}

Test(page, put_on_reserved_page_panics, .signal = SIGABRT)
{
	host_expect_panic("page_put");
	page_put(phys_to_page(HOST_KERNEL_LO));
}

Test(page, get_on_free_page_panics, .signal = SIGABRT)
{
	struct page *p = page_alloc(0);
	cr_assert_not_null(p);
	page_put(p);
	host_expect_panic("is free");
	page_get(p);
}

Test(page, get_on_never_allocated_page_panics, .signal = SIGABRT)
{
	host_expect_panic("is free");
	page_get(phys_to_page(HOST_KERNEL_HI + MiB(8)));
}

/* ---- concurrency ---- */

enum { STORM_THREADS = 4, STORM_ITERS = 20000, STORM_HELD = 64, STORM_MAX_ORDER = 4 };

struct held {
	struct page *p;
	unsigned order;
	u64 token;
};

struct storm {
	unsigned cpu;
	pthread_t thread;
	struct held handoff[STORM_HELD];   /* left for another CPU to free */
	int nhandoff;
	u64 allocs, nulls;
};

static _Atomic int storm_errors;
static char storm_first_error[256];

static void storm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void storm_error(const char *fmt, ...)
{
	if (__atomic_fetch_add(&storm_errors, 1, __ATOMIC_RELAXED) == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(storm_first_error, sizeof(storm_first_error), fmt, ap);
		va_end(ap);
	}
}

static void stamp(struct held *h)
{
	u64 *first = page_address(h->p);
	u64 *last = (u64 *)((char *)first + ((size_t)PAGE_SIZE << h->order)) - 1;
	*first = h->token;
	*last = ~h->token;
}

static void check_and_put(struct held *h, unsigned cpu)
{
	u64 *first = page_address(h->p);
	u64 *last = (u64 *)((char *)first + ((size_t)PAGE_SIZE << h->order)) - 1;
	if (*first != h->token || *last != ~h->token)
		storm_error("cpu %u: block %#llx (order %u) was overwritten: handed out twice?", cpu,
			    (unsigned long long)page_to_phys(h->p), h->order);
	if (page_refcount(h->p) != 1)
		storm_error("cpu %u: refcount %u", cpu, page_refcount(h->p));
	page_put(h->p);
}

static void *storm_thread(void *arg)
{
	struct storm *st = arg;
	host_set_cpu(st->cpu);
	unsigned seed = 1000 + st->cpu;
	struct held held[STORM_HELD];
	int n = 0;
	u64 serial = 0;
	for (int it = 0; it < STORM_ITERS; it++) {
		int r = rand_r(&seed) % 100;
		if (n < STORM_HELD && (n == 0 || r < 52)) {
			unsigned order = rand_r(&seed) % 3 ? 0 : (unsigned)(rand_r(&seed) % (STORM_MAX_ORDER + 1));
			struct page *p = page_alloc(order);
			if (!p) {
				st->nulls++;
				continue;
			}
			st->allocs++;
			held[n] = (struct held){ p, order, ((u64)st->cpu << 56) | ++serial };
			stamp(&held[n]);
			n++;
		} else if (r < 97) {
			int i = rand_r(&seed) % n;
			check_and_put(&held[i], st->cpu);
			held[i] = held[--n];
		} else if (r < 99) {
			/* a short-lived extra reference */
			struct page *p = held[rand_r(&seed) % n].p;
			page_get(p);
			page_put(p);
		} else {
			page_drain_caches();   /* takes every CPU's cache lock */
		}
		if (!irqs_enabled() || this_cpu()->preempt_count != 0)
			storm_error("cpu %u: interrupts or preemption left disabled", st->cpu);
	}
	/* free half here, hand the rest to the main thread (a remote free) */
	while (n > STORM_HELD / 4 && n > 0) {
		check_and_put(&held[n - 1], st->cpu);
		n--;
	}
	for (int i = 0; i < n; i++)
		st->handoff[i] = held[i];
	st->nhandoff = n;
	return NULL;
}

Test(page, concurrent_storm_four_cpus)
{
	struct page_stats init;
	settled_stats(&init);
	static struct storm st[STORM_THREADS];
	for (int i = 0; i < STORM_THREADS; i++) {
		st[i] = (struct storm){ .cpu = (unsigned)i + 1 };
		cr_assert_eq(pthread_create(&st[i].thread, NULL, storm_thread, &st[i]), 0);
	}
	for (int i = 0; i < STORM_THREADS; i++)
		cr_assert_eq(pthread_join(st[i].thread, NULL), 0);
	cr_assert_eq(storm_errors, 0, "%d errors, first: %s", storm_errors, storm_first_error);
	u64 allocs = 0;
	for (int i = 0; i < STORM_THREADS; i++) {
		allocs += st[i].allocs;
		cr_assert_eq(st[i].nulls, 0, "cpu %u ran out of memory", st[i].cpu);
		for (int j = 0; j < st[i].nhandoff; j++)
			check_and_put(&st[i].handoff[j], 0);
	}
	cr_assert_eq(storm_errors, 0, "%d errors, first: %s", storm_errors, storm_first_error);
	cr_assert_gt(allocs, STORM_THREADS * STORM_ITERS / 4);
	struct page_stats s;
	page_stats(&s);
	cr_assert_eq(s.allocs, s.frees, "%llu allocations, %llu frees",
		     (unsigned long long)s.allocs, (unsigned long long)s.frees);
	for (int i = 1; i <= STORM_THREADS; i++)
		cr_assert_leq(s.pcp_count[i], 64);
	assert_same_free_state(&init, "after the storm");
}

struct ref_storm {
	unsigned cpu;
	struct page *p;
	pthread_t thread;
};

static void *ref_thread(void *arg)
{
	struct ref_storm *r = arg;
	host_set_cpu(r->cpu);
	for (int i = 0; i < 50000; i++) {
		page_get(r->p);
		if (i % 3 == 0)
			page_get(r->p);
		page_put(r->p);
		if (i % 3 == 0)
			page_put(r->p);
	}
	return NULL;
}

Test(page, concurrent_get_put_on_one_page)
{
	u64 init = page_free_count();
	struct page *p = page_alloc(2);
	cr_assert_not_null(p);
	static struct ref_storm r[STORM_THREADS];
	for (int i = 0; i < STORM_THREADS; i++) {
		r[i] = (struct ref_storm){ .cpu = (unsigned)i + 1, .p = p };
		cr_assert_eq(pthread_create(&r[i].thread, NULL, ref_thread, &r[i]), 0);
	}
	for (int i = 0; i < STORM_THREADS; i++)
		cr_assert_eq(pthread_join(r[i].thread, NULL), 0);
	cr_assert_eq(page_refcount(p), 1);
	cr_assert_eq(page_free_count(), init - 4);
	page_put(p);
	cr_assert_eq(page_free_count(), init);
}
