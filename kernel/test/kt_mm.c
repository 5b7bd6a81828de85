/* In-kernel tests of the page and object allocators. */
#include "kernel/test/ktest.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/sync/sync.h"

/* ---- page storm: every CPU allocates and frees at once ---- */

#define STORM_LIVE 16
#define STORM_ITERS 3000

struct storm {
	struct sem ready, go, done, leave;
	int errors;   /* [atomic] */
	u64 allocs;   /* [atomic] */
};

static void page_storm_worker(int idx, void *arg)
{
	struct storm *s = arg;
	struct page *live[STORM_LIVE] = { 0 };
	u64 rng = 0x9e3779b97f4a7c15ULL * (u64)(idx + 1);
	sem_up(&s->ready);
	sem_down(&s->go);
	for (int i = 0; i < STORM_ITERS; i++) {
		int slot = (int)(kt_rand(&rng) % STORM_LIVE);
		if (live[slot]) {
			u64 *w = page_address(live[slot]);
			size_t last = ((PAGE_SIZE << live[slot]->order) / 8) - 1;
			u64 tag = page_to_phys(live[slot]) ^ (u64)idx;
			if (w[0] != tag || w[last] != ~tag)
				__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
			page_put(live[slot]);
			live[slot] = NULL;
		} else {
			unsigned order = (unsigned)(kt_rand(&rng) % 4);
			struct page *p = page_alloc(order);
			if (!p)
				continue;
			u64 *w = page_address(p);
			size_t last = ((PAGE_SIZE << order) / 8) - 1;
			w[0] = page_to_phys(p) ^ (u64)idx;
			w[last] = ~w[0];
			live[slot] = p;
			__atomic_fetch_add(&s->allocs, 1, __ATOMIC_RELAXED);
		}
	}
	for (int i = 0; i < STORM_LIVE; i++)
		if (live[i])
			page_put(live[i]);
	sem_up(&s->done);
	sem_down(&s->leave);
}

struct storm_run {
	void (*worker)(int, void *);
	struct storm *s;
	int n;
};

static void storm_spawner(void *arg)
{
	struct storm_run *r = arg;
	r->n = kt_run_on_all_cpus(r->worker, r->s, 2);
}

/* Start the workers, hold them at a gate, take `before`, let them run,
 * take `after` once they are done but still alive (so their own stacks
 * and thread structures do not disturb the counts), then let them go. */
static void run_storm(void (*worker)(int, void *), struct storm *s,
		      void (*measure)(u64 *out), u64 *before, u64 *after)
{
	int n = (int)ncpus * 2;
	sem_init(&s->ready, 0, "storm_ready");
	sem_init(&s->go, 0, "storm_go");
	sem_init(&s->done, 0, "storm_done");
	sem_init(&s->leave, 0, "storm_leave");
	struct storm_run r = { worker, s, 0 };
	struct thread *sp = thread_create("storm", storm_spawner, &r, -1, 0);
	for (int i = 0; i < n; i++)
		sem_down(&s->ready);
	thread_wait_reaped(); /* earlier tests' stacks, freed asynchronously */
	measure(before);
	for (int i = 0; i < n; i++)
		sem_up(&s->go);
	for (int i = 0; i < n; i++)
		sem_down(&s->done);
	measure(after);
	for (int i = 0; i < n; i++)
		sem_up(&s->leave);
	thread_join(sp);
}

static void measure_pages(u64 *out)
{
	page_drain_caches();
	*out = page_free_count();
}

KTEST(page_storm)
{
	static struct storm s;
	u64 before, after;
	s.errors = 0;
	s.allocs = 0;
	run_storm(page_storm_worker, &s, measure_pages, &before, &after);
	ktest_metric("page_allocs", s.allocs, "allocations");
	KT_ASSERT(s.errors == 0, "%d pages had their contents changed while held", s.errors);
	KT_ASSERT(s.allocs > (u64)ncpus * STORM_ITERS / 2, "only %llu allocations",
		  (unsigned long long)s.allocs);
	KT_ASSERT(before == after, "free pages %llu before, %llu after: %lld leaked",
		  (unsigned long long)before, (unsigned long long)after,
		  (long long)(before - after));
}

/* ---- object storm ---- */

static struct kmem_cache *storm_cache;

static void slab_storm_worker(int idx, void *arg)
{
	struct storm *s = arg;
	void *live[STORM_LIVE] = { 0 };
	size_t sizes[STORM_LIVE] = { 0 };
	u64 rng = 0x51ab0001ULL * (u64)(idx + 7);
	sem_up(&s->ready);
	sem_down(&s->go);
	for (int i = 0; i < STORM_ITERS; i++) {
		int slot = (int)(kt_rand(&rng) % STORM_LIVE);
		if (live[slot]) {
			u8 *b = live[slot];
			for (size_t k = 0; k < sizes[slot]; k++)
				if (b[k] != (u8)(slot + idx + k)) {
					__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
					break;
				}
			if (sizes[slot] == 200)
				kmem_cache_free(storm_cache, live[slot]);
			else
				kfree(live[slot]);
			live[slot] = NULL;
		} else {
			u64 r = kt_rand(&rng);
			size_t size = (r & 3) == 0 ? 200 : 1 + (size_t)((r >> 8) % 6000);
			void *p = size == 200 ? kmem_cache_alloc(storm_cache) : kmalloc(size, 0);
			if (!p)
				continue;
			for (size_t k = 0; k < size; k++)
				((u8 *)p)[k] = (u8)(slot + idx + k);
			live[slot] = p;
			sizes[slot] = size;
			__atomic_fetch_add(&s->allocs, 1, __ATOMIC_RELAXED);
		}
	}
	for (int i = 0; i < STORM_LIVE; i++) {
		if (!live[i])
			continue;
		if (sizes[i] == 200)
			kmem_cache_free(storm_cache, live[i]);
		else
			kfree(live[i]);
	}
	sem_up(&s->done);
	sem_down(&s->leave);
}

/* Objects in use in the caches the storm uses (kmalloc's and its own). The
 * others change under it: the boot has a NIC, and its packet buffers ("pkb")
 * are freed whenever a transmit completion is reclaimed, by the next transmit
 * or the NIC watchdog; the storm's threads come and go ("thread"). */
static void measure_objects(u64 *out)
{
	struct kmem_cache_stats st[64];
	int n = kmem_cache_stats(st, 64);
	u64 inuse = 0;
	for (int i = 0; i < n; i++)
		if (strncmp(st[i].name, "kmalloc-", 8) == 0 || strcmp(st[i].name, "kt_storm200") == 0)
			inuse += st[i].inuse;
	*out = inuse;
}

KTEST(slab_storm)
{
	static struct storm s;
	u64 before, after;
	if (!storm_cache)
		storm_cache = kmem_cache_create("kt_storm200", 200);
	KT_ASSERT(storm_cache != NULL);
	s.errors = 0;
	s.allocs = 0;
	run_storm(slab_storm_worker, &s, measure_objects, &before, &after);
	ktest_metric("object_allocs", s.allocs, "allocations");
	KT_ASSERT(s.errors == 0, "%d objects had their contents changed while held", s.errors);
	KT_ASSERT(s.allocs > (u64)ncpus * STORM_ITERS / 2, "only %llu allocations",
		  (unsigned long long)s.allocs);
	KT_ASSERT(before == after, "objects in use %llu before, %llu after",
		  (unsigned long long)before, (unsigned long long)after);
}

/* ---- reference counts ---- */

/* One round of page_refcount's block: *exact when the free count moved by
 * exactly what the block's puts should move it (nothing else in the
 * system allocated or freed pages meanwhile: the NIC's buffers and the
 * per-CPU object caches, which page_drain_caches empties, do). */
static void refcount_round(bool *finished, bool *exact)
{
	*finished = *exact = false;
	struct page *p = page_alloc(2);
	KT_ASSERT(p != NULL);
	KT_ASSERT(page_refcount(p) == 1, "new block has refcount %u", page_refcount(p));
	KT_ASSERT(IS_ALIGNED(page_to_phys(p), PAGE_SIZE << 2), "order-2 block misaligned");
	page_get(p);
	page_get(p);
	KT_ASSERT(page_refcount(p) == 3);
	page_drain_caches();
	u64 free0 = page_free_count();
	page_put(p);
	page_put(p);
	/* what the design guarantees, whatever else runs: still held */
	KT_ASSERT(page_refcount(p) == 1);
	KT_ASSERT(!(p->flags & (PG_BUDDY | PG_PCP)), "block on a free list while referenced");
	page_drain_caches();
	bool same = page_free_count() == free0;
	page_put(p);
	KT_ASSERT(page_refcount(p) == 0);
	page_drain_caches();
	*exact = same && page_free_count() == free0 + 4;
	*finished = true;
}

KTEST(page_refcount)
{
	/* the free count is exact only while nothing else moves it: up to 5
	 * rounds (on 2 CPUs a packet buffer cached on the other CPU came back
	 * as a page between two drains) */
	for (int rounds = 0;; rounds++) {
		bool finished, exact;
		refcount_round(&finished, &exact);
		if (!finished)
			return;   /* an assertion failed (reported) */
		if (exact)
			break;
		KT_ASSERT(rounds < 4, "the free count never moved by exactly the block's 4 pages");
	}
	/* a shared order-0 page, as the page cache and a NIC would share it */
	struct page *q = page_alloc_zeroed(0);
	KT_ASSERT(q != NULL);
	u8 *b = page_address(q);
	KT_ASSERT(b[0] == 0 && b[PAGE_SIZE - 1] == 0, "page_alloc_zeroed not zeroed");
	page_get(q);
	page_put(q);
	KT_ASSERT(page_refcount(q) == 1);
	page_put(q);
}

KTEST(kmalloc_sizes)
{
	for (size_t size = 1; size <= 20000; size = size < 64 ? size + 1 : size * 3 / 2) {
		u8 *p = kmalloc(size, KM_ZERO);
		KT_ASSERT(p != NULL, "kmalloc(%zu) failed", size);
		KT_ASSERT(IS_ALIGNED((uptr)p, 16), "kmalloc(%zu) = %p not 16-aligned", size, p);
		KT_ASSERT(ksize(p) >= size, "ksize %zu < %zu", ksize(p), size);
		for (size_t i = 0; i < size; i++)
			KT_ASSERT(p[i] == 0, "kmalloc(%zu, KM_ZERO) byte %zu not zero", size, i);
		memset(p, 0xa5, size);
		kfree(p);
	}
}

/* ---- expected panics (run one per boot by the test runner) ---- */

KTEST_EXPLICIT(slab_double_free)
{
	void *p = kmalloc(100, 0);
	kfree(p);
	kfree(p);
	ktest_fail(__FILE__, __LINE__, "double free was not caught");
}

KTEST_EXPLICIT(slab_overrun)
{
	u8 *p = kmalloc(100, 0);
	p[100] = 0x42; /* one byte past the end: the canary */
	kfree(p);
	ktest_fail(__FILE__, __LINE__, "overrun was not caught");
}

KTEST_EXPLICIT(slab_bad_pointer)
{
	static u64 not_from_kmalloc[4];
	kfree(not_from_kmalloc);
	ktest_fail(__FILE__, __LINE__, "bad pointer was not caught");
}

KTEST_EXPLICIT(page_double_put)
{
	struct page *p = page_alloc(0);
	page_put(p);
	page_put(p);
	ktest_fail(__FILE__, __LINE__, "double put was not caught");
}

KTEST_EXPLICIT(boot_module)
{
	static const char magic[] = "CABOOSE-TEST-MODULE";
	KT_ASSERT(boot_info.nmods >= 1, "no Multiboot module was loaded");
	const struct boot_module *m = &boot_info.mods[0];
	KT_ASSERT(m->end - m->start >= sizeof(magic) - 1, "module too small");
	KT_ASSERT(IS_ALIGNED(m->start, PAGE_SIZE), "module not page-aligned");
	KT_ASSERT(memcmp(phys_to_virt(m->start), magic, sizeof(magic) - 1) == 0,
		  "module does not start with %s", magic);
	printk(LOG_INFO, "ktest: boot_module: '%s', %llu bytes at %#llx", m->name,
	       (unsigned long long)(m->end - m->start), (unsigned long long)m->start);
}

/* ---- kernel page tables: W^X, NX, large pages, guard pages ---- */

extern char kt_data_word[];
char kt_data_word[64];
static const char kt_rodata_word[64] = "read-only";

KTEST(page_tables_wx)
{
	unsigned prot;
	bool large;
	KT_ASSERT(arch_kaddr_prot((u64)_text_start, &prot, &large), "text unmapped");
	KT_ASSERT(prot == KMAP_X, "text is %s%s", prot & KMAP_W ? "writable " : "",
		  prot & KMAP_X ? "executable" : "not executable");
	KT_ASSERT(large, "kernel text is not on a large page");
	KT_ASSERT(arch_kaddr_prot((u64)kt_rodata_word, &prot, &large));
	KT_ASSERT(prot == 0, "rodata has prot %#x", prot);
	KT_ASSERT(arch_kaddr_prot((u64)kt_data_word, &prot, &large));
	KT_ASSERT(prot == KMAP_W, "data has prot %#x (want writable, no execute)", prot);
	void *heap = kmalloc(64, 0);
	KT_ASSERT(arch_kaddr_prot((u64)heap, &prot, &large));
	KT_ASSERT(prot == KMAP_W && large, "direct map: prot %#x large %d", prot, large);
	kfree(heap);
	/* a thread's stack sits right above an unmapped guard */
	u64 sp = (u64)__builtin_frame_address(0);
	u64 lo = sp - (sp - KSTACK_AREA_BASE) % KSTACK_SLOT + KSTACK_GUARD;
	KT_ASSERT(arch_kaddr_mapped(lo), "stack bottom %#llx unmapped", (unsigned long long)lo);
	KT_ASSERT(!arch_kaddr_mapped(lo - 8), "no guard page below the stack");
	KT_ASSERT(!arch_kaddr_mapped(0), "page 0 is mapped");
}

/* ---- TLB shootdown: a remapped page is seen everywhere at once ----
 * Reader threads stay alive across both reads: a thread exit would free a
 * stack, and that shootdown would flush the stale entry for us. */

static volatile u64 *tlb_va;
static u64 tlb_seen[MAX_CPUS];
static struct sem tlb_go[MAX_CPUS], tlb_done;

static void tlb_reader(void *arg)
{
	unsigned c = (unsigned)(uptr)arg;
	for (int round = 0; round < 2; round++) {
		sem_down(&tlb_go[c]);
		tlb_seen[c] = *tlb_va;
		sem_up(&tlb_done);
	}
}

static void tlb_round(void)
{
	for (unsigned c = 0; c < ncpus; c++)
		sem_up(&tlb_go[c]);
	for (unsigned c = 0; c < ncpus; c++)
		sem_down(&tlb_done);
}

/* A stack takes the lowest free slot, so stacks that come and go reuse the
 * page tables of the stack area instead of mapping ever more of it (one
 * table page per 64 slots; kstack.c). */
KTEST(kstack_slots_reused)
{
	struct kstack a, b;
	/* the next stack takes a slot no higher than the one just freed
	 * (another CPU's thread may free a lower one meanwhile, or take this
	 * one: a few tries) */
	bool reused = false;
	for (int i = 0; i < 5 && !reused; i++) {
		KT_ASSERT(kstack_alloc(&a) == 0);
		kstack_free(&a);
		KT_ASSERT(kstack_alloc(&b) == 0);
		reused = b.slot <= a.slot;
		kstack_free(&b);
		if (!reused)
			pr_info("ktest: try %d: slot %d freed, the next stack took %d", i, a.slot,
				b.slot);
	}
	KT_ASSERT(reused, "a freed slot is not taken again");
	u64 free0 = page_free_count();
	for (int i = 0; i < 2000; i++) {
		KT_ASSERT(kstack_alloc(&a) == 0);
		kstack_free(&a);
	}
	u64 free1 = page_free_count();
	/* 2000 slots in turn would have needed 31 more table pages */
	KT_ASSERT(free1 + 4 >= free0, "2000 stacks one after another took %lld pages",
		  (long long)(free0 - free1));
}

KTEST(tlb_shootdown_remap)
{
	struct kstack ks;
	struct thread *ts[MAX_CPUS];
	KT_ASSERT(kstack_alloc(&ks) == 0);
	struct page *a = page_alloc(0), *b = page_alloc(0);
	KT_ASSERT(a && b);
	*(u64 *)page_address(a) = 0xaaaaaaaaULL;
	*(u64 *)page_address(b) = 0xbbbbbbbbULL;
	u64 orig = arch_kvirt_to_phys(ks.lo);
	tlb_va = (volatile u64 *)ks.lo;
	sem_init(&tlb_done, 0, "tlb_done");
	for (unsigned c = 0; c < ncpus; c++) {
		sem_init(&tlb_go[c], 0, "tlb_go");
		ts[c] = thread_create("tlb_reader", tlb_reader, (void *)(uptr)c, (int)c,
				      THREAD_PINNED);
		KT_ASSERT(ts[c] != NULL);
	}
	thread_wait_reaped();
	KT_ASSERT(arch_kmap(ks.lo, page_to_phys(a), PAGE_SIZE, KMAP_W) == 0);
	tlb_shootdown(ks.lo, PAGE_SIZE);
	tlb_round(); /* every CPU caches va -> a */
	for (unsigned c = 0; c < ncpus; c++)
		KT_ASSERT(tlb_seen[c] == 0xaaaaaaaaULL, "cpu %u read %#llx", c,
			  (unsigned long long)tlb_seen[c]);
	KT_ASSERT(arch_kmap(ks.lo, page_to_phys(b), PAGE_SIZE, KMAP_W) == 0);
	tlb_shootdown(ks.lo, PAGE_SIZE);
	tlb_round();
	for (unsigned c = 0; c < ncpus; c++)
		thread_join(ts[c]);
	for (unsigned c = 0; c < ncpus; c++)
		KT_ASSERT(tlb_seen[c] == 0xbbbbbbbbULL, "cpu %u still reads %#llx after shootdown",
			  c, (unsigned long long)tlb_seen[c]);
	KT_ASSERT(arch_kmap(ks.lo, orig, PAGE_SIZE, KMAP_W) == 0);
	tlb_shootdown(ks.lo, PAGE_SIZE);
	kstack_free(&ks);
	page_put(a);
	page_put(b);
}
