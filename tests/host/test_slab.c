/*
 * kernel/mm/slab.c: kmalloc/kfree and typed caches, with the metadata checks
 * mm.h promises (bad pointer, double free, overrun each panic with a message
 * that says which), over the page allocator of host_slab_init().
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/mm.h"
#include "tests/host/host.h"

TestSuite(slab, .init = host_slab_init, .timeout = 60);

#define SMALL_MAX 2048   /* the largest kmalloc size class */

static size_t class_of(size_t size)
{
	size_t c = 16;
	while (c < size)
		c *= 2;
	return c;
}

static const struct kmem_cache_stats *find_stats(struct kmem_cache_stats *all, int n,
						 const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			return &all[i];
	cr_assert_fail("no cache named %s", name);
	return NULL;
}

static struct kmem_cache_stats stats_of(const char *name)
{
	struct kmem_cache_stats all[64];
	int n = kmem_cache_stats(all, 64);
	return *find_stats(all, n, name);
}

static u8 pattern(u64 id, size_t i) { return (u8)(id * 131 + i * 7 + 1); }

static void fill(void *p, size_t size, u64 id)
{
	u8 *b = p;
	for (size_t i = 0; i < size; i++)
		b[i] = pattern(id, i);
}

static bool intact(const void *p, size_t size, u64 id)
{
	const u8 *b = p;
	for (size_t i = 0; i < size; i++)
		if (b[i] != pattern(id, i))
			return false;
	return true;
}

Test(slab, every_size_to_9000)
{
	for (size_t size = 1; size <= 9000; size++) {
		u8 *p = kmalloc(size, 0);
		cr_assert_not_null(p, "kmalloc(%zu)", size);
		cr_assert(IS_ALIGNED((uptr)p, 16), "kmalloc(%zu) = %p is not 16-byte aligned", size,
			  (void *)p);
		/* ksize is the size asked for: the canary sits right after it */
		size_t ks = ksize(p);
		cr_assert_eq(ks, size, "kmalloc(%zu): ksize %zu", size, ks);
		if (size > SMALL_MAX)
			cr_assert(IS_ALIGNED((uptr)p, PAGE_SIZE), "large kmalloc not page aligned");
		cr_assert(host_phys_allocatable(virt_to_phys(p), virt_to_phys(p) + class_of(size)));
		memset(p, 0xee, ks);   /* the whole usable size, checks must not trip */
		kfree(p);
	}
	cr_assert_eq(stats_of("kmalloc-large").inuse, 0);
}

Test(slab, zero_size_gets_a_real_object)
{
	void *p = kmalloc(0, 0);
	cr_assert_not_null(p);
	cr_assert_geq(ksize(p), 1);
	memset(p, 1, ksize(p));
	kfree(p);
}

Test(slab, live_objects_do_not_overlap)
{
	/* every size up to 2 KiB and a spread of large ones, all alive at once */
	enum { N = 2048 + 40 };
	static u8 *p[N];
	static size_t sz[N];
	for (int i = 0; i < N; i++) {
		sz[i] = i < 2048 ? (size_t)i + 1 : 2049 + (size_t)(i - 2048) * 173;
		p[i] = kmalloc(sz[i], 0);
		cr_assert_not_null(p[i], "kmalloc(%zu)", sz[i]);
		fill(p[i], ksize(p[i]), (u64)i);
	}
	for (int i = 0; i < N; i++)
		cr_assert(intact(p[i], ksize(p[i]), (u64)i), "object %d (size %zu) was overwritten",
			  i, sz[i]);
	for (int i = N - 1; i >= 0; i -= 2)
		kfree(p[i]);
	for (int i = N - 2; i >= 0; i -= 2) {
		cr_assert(intact(p[i], ksize(p[i]), (u64)i));
		kfree(p[i]);
	}
}

Test(slab, km_zero_and_kzalloc)
{
	static const size_t sizes[] = { 1, 15, 16, 17, 100, 1000, 2048, 2049, 4000, 5000, 9000 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t size = sizes[k];
		/* dirty a few objects of the class, free them, ask for zeroed ones */
		void *d[8];
		for (int i = 0; i < 8; i++) {
			d[i] = kmalloc(size, 0);
			cr_assert_not_null(d[i]);
			memset(d[i], 0xff, size);
		}
		for (int i = 7; i >= 0; i--)
			kfree(d[i]);
		for (int i = 0; i < 8; i++) {
			d[i] = i % 2 ? kzalloc(size) : kmalloc(size, KM_ZERO);
			cr_assert_not_null(d[i]);
			const u8 *b = d[i];
			for (size_t j = 0; j < size; j++)
				cr_assert_eq(b[j], 0, "size %zu: byte %zu is %#x", size, j, b[j]);
		}
		for (int i = 0; i < 8; i++)
			kfree(d[i]);
	}
}

Test(slab, kfree_null_is_a_no_op)
{
	u64 before = page_free_count();
	kfree(NULL);
	struct kmem_cache *c = kmem_cache_create("nulltest", 40);
	cr_assert_not_null(c);
	kmem_cache_free(c, NULL);
	cr_assert_eq(page_free_count(), before);
	cr_assert_eq(ksize(NULL), 0);
}

Test(slab, too_large_returns_null)
{
	u64 before = page_free_count();
	cr_assert_null(kmalloc(MiB(4), 0));                /* + canary > the largest block */
	cr_assert_null(kmalloc(MiB(4) - 7, 0));
	cr_assert_null(kmalloc(MiB(64), 0));
	void *p = kmalloc(MiB(4) - 8, 0);                   /* the largest that fits */
	cr_assert_not_null(p);
	memset(p, 3, MiB(4) - 8);
	kfree(p);
	page_drain_caches();
	cr_assert_eq(page_free_count(), before);
}

/*
 * Regression (found by this test): kmalloc computes size + 8 for the
 * canary without checking for overflow, so kmalloc(SIZE_MAX) takes one page
 * and writes the canary at p + SIZE_MAX, 1 byte before p (memory it does not
 * own), instead of returning NULL.
 */
Test(slab, huge_sizes_do_not_wrap)
{
	static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - 7, SIZE_MAX - 4095, (size_t)1 << 63 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		cr_expect_null(kmalloc(sizes[i], 0), "kmalloc(%#zx) did not fail", sizes[i]);
}

Test(slab, out_of_memory_returns_null)
{
	/* large objects until memory runs out, then smaller and smaller ones:
	 * every failure is a NULL, and everything comes back afterwards */
	u64 before = page_free_count();
	static void *held[200000];
	int n = 0;
	static const size_t sizes[] = { MiB(2) - 8, 100000, 5000, 2000, 200, 16 };
	int per_size[6] = { 0 };
	for (int k = 0; k < 6; k++) {
		void *p;
		while ((p = kmalloc(sizes[k], 0)) != NULL) {
			cr_assert_lt(n, 200000);
			held[n++] = p;
			per_size[k]++;
		}
		cr_assert_null(kmalloc(sizes[k], 0), "a second try of %zu succeeded", sizes[k]);
	}
	cr_assert_eq(per_size[0], (int)((HOST_MEM_SIZE - HOST_KERNEL_HI) / MiB(2)));
	cr_assert_eq(page_free_count(), 0);
	cr_assert_null(kmalloc(1, 0));
	cr_assert_null(kzalloc(1));
	for (int i = 0; i < n; i++)
		kfree(held[i]);
	/* and memory is usable again */
	void *p = kmalloc(MiB(2), 0);
	cr_assert_not_null(p);
	kfree(p);
	cr_assert_lt(before - page_free_count(), 64, "pages lost after running out");
}

/* ---- typed caches ---- */

Test(slab, cache_create_alloc_free_stats)
{
	struct kmem_cache *c = kmem_cache_create("thing", 100);
	cr_assert_not_null(c);
	struct kmem_cache_stats s = stats_of("thing");
	cr_assert_eq(s.obj_size, 100);
	cr_assert_geq(s.slot_size, 100 + 8);
	cr_assert(IS_ALIGNED(s.slot_size, 16));
	cr_assert_geq(s.objs_per_slab, 8);
	cr_assert_eq(s.inuse, 0);
	cr_assert_eq(s.slabs, 0);

	enum { N = 100 };
	void *o[N];
	for (int i = 0; i < N; i++) {
		o[i] = kmem_cache_alloc(c);
		cr_assert_not_null(o[i]);
		cr_assert(IS_ALIGNED((uptr)o[i], 16));
		cr_assert_eq(ksize(o[i]), 100);
		fill(o[i], 100, (u64)i);
		s = stats_of("thing");
		cr_assert_eq(s.inuse, (u64)i + 1);
		cr_assert_eq(s.allocs, (u64)i + 1);
	}
	/* the slabs hold the N objects and what this CPU's cache took with them
	 * (at most its limit) */
	u64 slabs_full = s.slabs;
	cr_assert_geq(slabs_full, (N + s.objs_per_slab - 1) / s.objs_per_slab);
	cr_assert_leq(slabs_full, (N + s.cpu_limit + s.objs_per_slab - 1) / s.objs_per_slab);
	for (int i = 0; i < N; i++) {
		cr_assert(intact(o[i], 100, (u64)i), "object %d overwritten", i);
		kmem_cache_free(c, o[i]);
		s = stats_of("thing");
		cr_assert_eq(s.inuse, (u64)(N - 1 - i));
		cr_assert_eq(s.frees, (u64)i + 1);
	}
	/* empty slabs go back to the page allocator, but one is kept (once the
	 * CPU's cache gives back the free objects it holds) */
	cr_assert_leq(s.cached, s.cpu_limit);
	cr_assert_eq(slab_reclaim(), s.cached);
	s = stats_of("thing");
	cr_assert_eq(s.cached, 0);
	cr_assert_eq(s.slabs, 1, "%llu slabs left with no object in use", (unsigned long long)s.slabs);
	cr_assert_eq(s.allocs, N);
}

Test(slab, cache_sizes_and_limits)
{
	cr_assert_null(kmem_cache_create("zero", 0));
	cr_assert_null(kmem_cache_create("huge", 8193));
	static const size_t sizes[] = { 1, 8, 24, 200, 3000, 5000, 8192 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t size = sizes[k];
		struct kmem_cache *c = kmem_cache_create("sized", size);
		cr_assert_not_null(c, "size %zu", size);
		void *o[20];
		for (int i = 0; i < 20; i++) {
			o[i] = kmem_cache_alloc(c);
			cr_assert_not_null(o[i]);
			fill(o[i], size, (u64)(i + k * 100));
		}
		for (int i = 0; i < 20; i++) {
			cr_assert(intact(o[i], size, (u64)(i + k * 100)), "size %zu object %d", size, i);
			kmem_cache_free(c, o[i]);
		}
	}
	/* MAX_CACHES: creation fails cleanly once the table is full */
	int made = 0;
	while (kmem_cache_create("filler", 32) != NULL)
		cr_assert_lt(++made, 1000);
	struct kmem_cache_stats all[128];
	int n = kmem_cache_stats(all, 128);
	cr_assert_eq(n, 8 + 7 + made + 1, "%d caches reported", n);   /* + kmalloc-large */
	cr_assert_null(kmem_cache_create("one more", 32));
}

/* ---- misuse panics ---- */

Test(slab, double_free_panics, .signal = SIGABRT)
{
	void *keep = kmalloc(48, 0);   /* keeps the slab alive */
	void *p = kmalloc(48, 0);
	cr_assert(keep && p);
	kfree(p);
	host_expect_panic("double free");
	kfree(p);
}

Test(slab, double_free_of_only_object_panics, .signal = SIGABRT)
{
	/* the slab may have been given back: still a double free */
	for (size_t size = 16; size <= SMALL_MAX; size *= 2) {
		void *p = kmalloc(size, 0);
		cr_assert_not_null(p);
		kfree(p);
	}
	void *p = kmalloc(700, 0);
	kfree(p);
	host_expect_panic("double free");
	kfree(p);
}

Test(slab, overrun_by_one_byte_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(100, 0);
	cr_assert_not_null(p);
	p[ksize(p)] ^= 0x01;   /* one byte past the usable end */
	host_expect_panic("overrun");
	kfree(p);
}

Test(slab, overrun_inside_the_size_class_panics, .signal = SIGABRT)
{
	/* 24 bytes come from the 32-byte class: byte 24 is still past the end */
	u8 *p = kmalloc(24, 0);
	cr_assert_not_null(p);
	p[24] = 0;
	host_expect_panic("overrun");
	kfree(p);
}

Test(slab, long_overrun_panics, .signal = SIGABRT)
{
	/* over the canary, the trailer and into the next slot */
	u8 *p = kmalloc(16, 0);
	u8 *next = kmalloc(16, 0);
	cr_assert(p && next);
	memset(p, 0x41, 48);
	host_expect_panic("overrun");
	kfree(p);
}

Test(slab, overrun_of_smallest_class_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(16, 0);
	cr_assert_not_null(p);
	memset(p, 0, 17);
	host_expect_panic("overrun");
	kfree(p);
}

Test(slab, overrun_of_large_object_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(5000, 0);
	cr_assert_not_null(p);
	cr_assert_eq(ksize(p), 5000);
	p[5000] ^= 0x80;
	host_expect_panic("overrun");
	kfree(p);
}

Test(slab, overrun_in_typed_cache_panics, .signal = SIGABRT)
{
	struct kmem_cache *c = kmem_cache_create("t", 40);
	u8 *p = kmem_cache_alloc(c);
	cr_assert_not_null(p);
	p[40 + 7] ^= 0xff;   /* the last canary byte */
	host_expect_panic("overrun");
	kmem_cache_free(c, p);
}

Test(slab, free_of_middle_pointer_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(64, 0);
	cr_assert_not_null(p);
	host_expect_panic("not the start of an object");
	kfree(p + 16);
}

Test(slab, free_of_unaligned_middle_pointer_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(200, 0);
	cr_assert_not_null(p);
	host_expect_panic("not the start of an object");
	kfree(p + 1);
}

Test(slab, free_of_slab_header_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(32, 0);
	cr_assert_not_null(p);
	host_expect_panic("not the start of an object");
	kfree((void *)ALIGN_DOWN((uptr)p, PAGE_SIZE));   /* the struct slab itself */
}

Test(slab, free_of_large_middle_pointer_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(3 * PAGE_SIZE, 0);
	cr_assert_not_null(p);
	host_expect_panic("kfree: ");   /* the message is wrong: see below */
	kfree(p + PAGE_SIZE);
}

Test(slab, free_inside_large_first_page_panics, .signal = SIGABRT)
{
	u8 *p = kmalloc(3000, 0);
	cr_assert_not_null(p);
	host_expect_panic("bad pointer");
	kfree(p + 16);
}

/*
 * Regression (found by this test): a pointer into a later page of a
 * live multi-page kmalloc object lands on a tail page, whose refcount is 0,
 * and kfree reports "double free ... (its pages are already free)" although
 * nothing was freed.
 */
Test(slab, free_of_large_middle_pointer_says_bad_pointer, .signal = SIGABRT)
{
	u8 *p = kmalloc(3 * PAGE_SIZE, 0);
	cr_assert_not_null(p);
	host_expect_panic("bad pointer");
	kfree(p + PAGE_SIZE);
}

Test(slab, free_of_stack_pointer_panics, .signal = SIGABRT)
{
	char local[64];
	memset(local, 0, sizeof(local));
	host_expect_panic("bad pointer");
	kfree(local);
}

static char global_buf[128];

Test(slab, free_of_global_pointer_panics, .signal = SIGABRT)
{
	host_expect_panic("bad pointer");
	kfree(global_buf);
}

Test(slab, free_of_libc_malloc_pointer_panics, .signal = SIGABRT)
{
	void *m = malloc(64);
	cr_assert_not_null(m);
	host_expect_panic("bad pointer");
	kfree(m);
}

Test(slab, free_of_plain_page_panics, .signal = SIGABRT)
{
	struct page *pg = page_alloc(0);   /* memory kmalloc never handed out */
	cr_assert_not_null(pg);
	host_expect_panic("bad pointer");
	kfree(page_address(pg));
}

Test(slab, large_double_free_panics, .signal = SIGABRT)
{
	void *p = kmalloc(2049, 0);
	cr_assert_not_null(p);
	kfree(p);
	host_expect_panic("double free");
	kfree(p);
}

Test(slab, large_multi_page_double_free_panics, .signal = SIGABRT)
{
	void *p = kmalloc(100000, 0);
	cr_assert_not_null(p);
	kfree(p);
	host_expect_panic("double free");
	kfree(p);
}

Test(slab, cache_free_to_wrong_cache_panics, .signal = SIGABRT)
{
	struct kmem_cache *a = kmem_cache_create("cache-a", 64);
	struct kmem_cache *b = kmem_cache_create("cache-b", 64);
	void *o = kmem_cache_alloc(a);
	cr_assert_not_null(o);
	host_expect_panic("belongs to cache cache-a");
	kmem_cache_free(b, o);
}

Test(slab, cache_free_of_kmalloc_object_panics, .signal = SIGABRT)
{
	struct kmem_cache *c = kmem_cache_create("mine", 64);
	void *o = kmalloc(64, 0);
	cr_assert_not_null(o);
	host_expect_panic("belongs to cache kmalloc-64");
	kmem_cache_free(c, o);
}

Test(slab, cache_free_of_non_slab_pointer_panics, .signal = SIGABRT)
{
	struct kmem_cache *c = kmem_cache_create("mine", 64);
	void *o = kmalloc(3000, 0);
	cr_assert_not_null(o);
	host_expect_panic("is not a slab object");
	kmem_cache_free(c, o);
}

Test(slab, cache_double_free_panics, .signal = SIGABRT)
{
	struct kmem_cache *c = kmem_cache_create("twice", 24);
	void *a = kmem_cache_alloc(c), *b = kmem_cache_alloc(c);
	cr_assert(a && b);
	kmem_cache_free(c, b);
	host_expect_panic("double free");
	kmem_cache_free(c, b);
}

/* ---- model test: random kmalloc/kfree against a shadow list ---- */

struct live {
	u8 *p;
	size_t size;
	u64 id;
};

static size_t random_size(unsigned *seed)
{
	switch (rand_r(seed) % 10) {
	case 0: return 2049 + (size_t)(rand_r(seed) % (9000 - 2048));   /* large */
	case 1: return 1 + (size_t)(rand_r(seed) % 16);
	case 2: return class_of(1 + (size_t)(rand_r(seed) % SMALL_MAX));  /* exact class */
	default: return 1 + (size_t)(rand_r(seed) % SMALL_MAX);
	}
}

/* Touch each kmalloc class once: each keeps one empty slab from then on. */
static void warm_up(void)
{
	for (size_t size = 16; size <= SMALL_MAX; size *= 2)
		kfree(kmalloc(size, 0));
	page_drain_caches();
}

static void assert_all_free(u64 baseline)
{
	struct kmem_cache_stats all[64];
	int n = kmem_cache_stats(all, 64);
	for (int i = 0; i < n; i++)
		cr_assert_eq(all[i].inuse, 0, "%s: %llu objects still in use", all[i].name,
			     (unsigned long long)all[i].inuse);
	/* free objects the CPUs' caches hold keep their slabs until drained */
	slab_reclaim();
	n = kmem_cache_stats(all, 64);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(all[i].cached, 0, "%s: %llu objects left in CPU caches", all[i].name,
			     (unsigned long long)all[i].cached);
		if (strncmp(all[i].name, "kmalloc-", 8) == 0 && strcmp(all[i].name, "kmalloc-large"))
			cr_assert_eq(all[i].slabs, 1, "%s keeps %llu empty slabs, want 1", all[i].name,
				     (unsigned long long)all[i].slabs);
	}
	page_drain_caches();
	cr_assert_eq(page_free_count(), baseline, "%lld pages not returned",
		     (long long)(baseline - page_free_count()));
}

Test(slab, random_model_sequence)
{
	warm_up();
	u64 baseline = page_free_count();
	enum { MAXLIVE = 600, OPS = 30000 };
	static struct live live[MAXLIVE];
	int n = 0;
	unsigned seed = 31337;
	u64 next_id = 1, allocs = 0;
	for (int op = 0; op < OPS; op++) {
		bool alloc = n == 0 || (n < MAXLIVE && rand_r(&seed) % 100 < 55);
		if (alloc) {
			size_t size = random_size(&seed);
			int flags = rand_r(&seed) % 4 == 0 ? KM_ZERO : 0;
			u8 *p = kmalloc(size, flags);
			cr_assert_not_null(p, "op %d: kmalloc(%zu) failed with %d live", op, size, n);
			cr_assert(IS_ALIGNED((uptr)p, 16));
			cr_assert_geq(ksize(p), size);
			if (flags & KM_ZERO)
				for (size_t i = 0; i < size; i++)
					cr_assert_eq(p[i], 0, "op %d: KM_ZERO object byte %zu", op, i);
			live[n] = (struct live){ p, ksize(p), next_id++ };
			fill(p, live[n].size, live[n].id);
			n++;
			allocs++;
		} else {
			int i = rand_r(&seed) % n;
			cr_assert(intact(live[i].p, live[i].size, live[i].id),
				  "op %d: object %p (id %llu, size %zu) was overwritten", op,
				  (void *)live[i].p, (unsigned long long)live[i].id, live[i].size);
			kfree(live[i].p);
			live[i] = live[--n];
		}
	}
	cr_assert_gt(allocs, OPS / 3);
	while (n > 0) {
		n--;
		cr_assert(intact(live[n].p, live[n].size, live[n].id));
		kfree(live[n].p);
	}
	assert_all_free(baseline);
}

/* ---- concurrency: kmalloc from four CPUs, some frees on another CPU ---- */

enum { KM_THREADS = 4, KM_ITERS = 15000, KM_HELD = 128 };

struct km_thread {
	unsigned cpu;
	pthread_t thread;
	struct live handoff[KM_HELD];
	int nhandoff;
	int errors;
	int nulls;
};

static void *km_thread_main(void *arg)
{
	struct km_thread *t = arg;
	host_set_cpu(t->cpu);
	unsigned seed = 7 * t->cpu;
	struct live held[KM_HELD];
	int n = 0;
	for (int it = 0; it < KM_ITERS; it++) {
		if (n == 0 || (n < KM_HELD && rand_r(&seed) % 2)) {
			size_t size = random_size(&seed);
			u8 *p = kmalloc(size, 0);
			if (!p) {
				t->nulls++;
				continue;
			}
			held[n] = (struct live){ p, ksize(p), ((u64)t->cpu << 40) + (u64)it };
			fill(p, held[n].size, held[n].id);
			n++;
		} else {
			int i = rand_r(&seed) % n;
			if (!intact(held[i].p, held[i].size, held[i].id))
				t->errors++;
			kfree(held[i].p);
			held[i] = held[--n];
		}
	}
	for (int i = 0; i < n; i++)
		t->handoff[i] = held[i];
	t->nhandoff = n;
	return NULL;
}

Test(slab, concurrent_kmalloc_four_cpus)
{
	warm_up();
	u64 baseline = page_free_count();
	static struct km_thread t[KM_THREADS];
	for (int i = 0; i < KM_THREADS; i++) {
		t[i] = (struct km_thread){ .cpu = (unsigned)i + 1 };
		cr_assert_eq(pthread_create(&t[i].thread, NULL, km_thread_main, &t[i]), 0);
	}
	for (int i = 0; i < KM_THREADS; i++)
		cr_assert_eq(pthread_join(t[i].thread, NULL), 0);
	for (int i = 0; i < KM_THREADS; i++) {
		cr_assert_eq(t[i].errors, 0, "cpu %u: %d objects overwritten", t[i].cpu, t[i].errors);
		cr_assert_eq(t[i].nulls, 0, "cpu %u: kmalloc failed %d times", t[i].cpu, t[i].nulls);
		for (int j = 0; j < t[i].nhandoff; j++) {   /* freed on CPU 0 */
			struct live *l = &t[i].handoff[j];
			cr_assert(intact(l->p, l->size, l->id));
			kfree(l->p);
		}
	}
	assert_all_free(baseline);
}

/* ---- per-CPU caches ---- */

/* allocs - frees is what is out; what the slabs hold out is that plus what
 * the CPUs' caches keep */
static void assert_counts_add_up(const struct kmem_cache_stats *s, u64 out)
{
	cr_assert_eq(s->allocs - s->frees, out, "%s: allocs %llu - frees %llu, %llu out", s->name,
		     (unsigned long long)s->allocs, (unsigned long long)s->frees,
		     (unsigned long long)out);
	cr_assert_eq(s->inuse, out, "%s: inuse %llu, %llu out", s->name,
		     (unsigned long long)s->inuse, (unsigned long long)out);
	cr_assert_leq(s->cached, (u64)s->cpus * s->cpu_limit, "%s: %llu cached on %u CPUs of %u",
		      s->name, (unsigned long long)s->cached, s->cpus, s->cpu_limit);
	cr_assert_leq(s->cpu_allocs, s->allocs);
	cr_assert_leq(s->cpu_frees, s->frees);
	cr_assert_leq(out + s->cached, s->slabs * s->objs_per_slab,
		      "%s: %llu out and %llu cached in %llu slabs of %u", s->name,
		      (unsigned long long)out, (unsigned long long)s->cached,
		      (unsigned long long)s->slabs, s->objs_per_slab);
}

struct xfer {
	struct kmem_cache *c;
	unsigned cpu;
	void **objs;
	int n;
};

static void *xfer_alloc_main(void *arg)
{
	struct xfer *x = arg;
	host_set_cpu(x->cpu);
	for (int i = 0; i < x->n; i++) {
		x->objs[i] = kmem_cache_alloc(x->c);
		if (x->objs[i])
			fill(x->objs[i], 200, (u64)i);
	}
	return NULL;
}

static void *xfer_free_main(void *arg)
{
	struct xfer *x = arg;
	host_set_cpu(x->cpu);
	for (int i = 0; i < x->n; i++) {
		if (!intact(x->objs[i], 200, (u64)i))
			return (void *)1;
		kmem_cache_free(x->c, x->objs[i]);
	}
	return NULL;
}

static void *run_on_cpu(void *(*fn)(void *), struct xfer *x)
{
	pthread_t t;
	void *ret;
	cr_assert_eq(pthread_create(&t, NULL, fn, x), 0);
	cr_assert_eq(pthread_join(t, &ret), 0);
	return ret;
}

/* Allocated on CPU 1, freed on CPU 2 (a packet received on one CPU and sent
 * on the other): the objects join CPU 2's cache, at most its limit stay
 * there and the rest go back to the slabs in batches; CPU 2 then allocates
 * from its cache without going to the slabs, and everything adds up. */
Test(slab, cpu_cache_objects_freed_on_another_cpu)
{
	warm_up();
	u64 baseline = page_free_count();
	struct kmem_cache *c = kmem_cache_create("xfer200", 200);
	cr_assert_not_null(c);
	enum { N = 500 };
	static void *objs[N];
	struct xfer x = { c, 1, objs, N };
	cr_assert_null(run_on_cpu(xfer_alloc_main, &x));
	for (int i = 0; i < N; i++)
		cr_assert_not_null(objs[i]);
	struct kmem_cache_stats s = stats_of("xfer200");
	assert_counts_add_up(&s, N);
	cr_assert_eq(s.cpus, 1);
	cr_assert_gt(s.refills, 0);
	/* all but the slab-path allocations (one per new slab) came from CPU 1's cache */
	cr_assert_geq(s.cpu_allocs, N - s.slabs);

	x.cpu = 2;
	cr_assert_null(run_on_cpu(xfer_free_main, &x), "an object changed between CPUs");
	s = stats_of("xfer200");
	assert_counts_add_up(&s, 0);
	cr_assert_eq(s.cpus, 2);
	cr_assert_eq(s.cpu_frees, N, "every free went to CPU 2's cache");
	cr_assert_gt(s.drains, 0, "CPU 2's cache never gave back a batch");
	cr_assert_leq(s.cached, 2 * (u64)s.cpu_limit);

	/* CPU 2 takes back what its cache holds first */
	u64 refills = s.refills;
	x.n = (int)s.cpu_limit / 2;
	cr_assert_null(run_on_cpu(xfer_alloc_main, &x));
	s = stats_of("xfer200");
	cr_assert_eq(s.refills, refills, "CPU 2 went to the slabs with objects in its cache");
	assert_counts_add_up(&s, (u64)x.n);
	cr_assert_null(run_on_cpu(xfer_free_main, &x));

	s = stats_of("xfer200");
	cr_assert_eq(slab_reclaim(), s.cached);
	s = stats_of("xfer200");
	assert_counts_add_up(&s, 0);
	cr_assert_eq(s.cached, 0);
	cr_assert_eq(s.slabs, 1, "%llu slabs kept", (unsigned long long)s.slabs);
	/* the slab kept is one page (224-byte slots fit 8 in a page) */
	cr_assert_leq((u64)s.objs_per_slab * s.slot_size, PAGE_SIZE);
	page_drain_caches();
	cr_assert_eq(page_free_count(), baseline - 1,
		     "pages: %llu free, %llu before (one slab kept)",
		     (unsigned long long)page_free_count(), (unsigned long long)baseline);
}

/* A double free is caught while the object sits in a CPU's cache, whichever
 * CPU frees it the second time. */
Test(slab, cpu_cache_double_free_on_other_cpu_panics, .signal = SIGABRT)
{
	struct kmem_cache *c = kmem_cache_create("xfer200", 200);
	static void *objs[1];
	struct xfer x = { c, 1, objs, 1 };
	cr_assert_null(run_on_cpu(xfer_alloc_main, &x));
	cr_assert_null(run_on_cpu(xfer_free_main, &x));
	host_expect_panic("double free");
	x.cpu = 2;
	kmem_cache_free(c, objs[0]);
}

/* Memory pressure: with the free objects of a cache parked in two CPUs'
 * caches (their slabs held), page_alloc reclaims them before it fails, so
 * every slab but one comes back as pages. */
Test(slab, cpu_cache_drained_on_memory_pressure)
{
	struct kmem_cache *c = kmem_cache_create("xfer200", 200);
	cr_assert_not_null(c);
	enum { N = 60 };
	static void *objs[2][N];
	for (unsigned cpu = 1; cpu <= 2; cpu++) {
		struct xfer x = { c, cpu, objs[cpu - 1], N };
		cr_assert_null(run_on_cpu(xfer_alloc_main, &x));
	}
	for (unsigned cpu = 1; cpu <= 2; cpu++) {
		struct xfer x = { c, cpu, objs[cpu - 1], N };
		cr_assert_null(run_on_cpu(xfer_free_main, &x));
	}
	struct kmem_cache_stats s = stats_of("xfer200");
	assert_counts_add_up(&s, 0);
	cr_assert_gt(s.cached, 0);
	cr_assert_gt(s.slabs, 1, "the cached objects should hold slabs");
	struct slab_cpu_cache_stats cs0, cs1;
	slab_cpu_cache_stats(&cs0);

	/* take every page there is */
	static struct page *held[HOST_MEM_SIZE / PAGE_SIZE];
	u64 n = 0;
	struct page *p;
	while ((p = page_alloc(0)) != NULL) {
		cr_assert_lt(n, ARRAY_SIZE(held));
		held[n++] = p;
	}
	slab_cpu_cache_stats(&cs1);
	cr_assert_gt(cs1.reclaims, cs0.reclaims, "page_alloc failed without reclaiming");
	cr_assert_geq(cs1.reclaimed - cs0.reclaimed, s.cached);
	s = stats_of("xfer200");
	cr_assert_eq(s.cached, 0);
	cr_assert_eq(s.slabs, 1, "%llu slabs still held", (unsigned long long)s.slabs);
	cr_assert_eq(page_free_count(), 0);
	for (u64 i = 0; i < n; i++)
		page_put(held[i]);
	/* the cache works as before */
	void *o = kmem_cache_alloc(c);
	cr_assert_not_null(o);
	kmem_cache_free(c, o);
}

/* A CPU's cache never holds more than its limit, however many objects that
 * CPU frees. */
Test(slab, cpu_cache_bounded)
{
	struct kmem_cache *c = kmem_cache_create("small16", 16);
	cr_assert_not_null(c);
	enum { N = 2000 };
	static void *o[N];
	for (int i = 0; i < N; i++)
		cr_assert_not_null(o[i] = kmem_cache_alloc(c));
	struct kmem_cache_stats s = stats_of("small16");
	cr_assert_geq(s.cpu_limit, 8);
	for (int i = 0; i < N; i++) {
		kmem_cache_free(c, o[i]);
		s = stats_of("small16");
		cr_assert_leq(s.cached, s.cpu_limit, "after %d frees: %llu cached", i + 1,
			      (unsigned long long)s.cached);
		assert_counts_add_up(&s, (u64)(N - 1 - i));
	}
	cr_assert_geq(s.drains, (N - s.cpu_limit) / s.cpu_limit);
}
