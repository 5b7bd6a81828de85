/*
 * The page cache (fs/pagecache.h) from inside, on a map of its own: what
 * a filler adds is found again, a write changes a page nobody holds in
 * place and takes a lent page out of the cache without touching it, a
 * second filler gets the first one's page, truncation and eviction let go
 * of pages (never of a lent one), and every page comes back.
 */
#include "kernel/test/ktest.h"
#include "fs/pagecache.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

static struct page *filled(u8 c)
{
	struct page *pg = page_alloc(0);
	if (pg)
		memset(page_address(pg), c, PAGE_SIZE);
	return pg;
}

KTEST(pcache_writes_lending_and_fillers)
{
	static struct pcache_map m;
	pcache_map_init(&m);
	struct pcache_stats s0, s1;
	pcache_stats(&s0);
	struct page *a = filled('a');
	KT_ASSERT(a);
	KT_ASSERT(pcache_find(&m, 0) == NULL && !pcache_has(&m, 0));
	KT_ASSERT(pcache_add(&m, 0, a) == a);
	KT_ASSERT(page_refcount(a) == 2, "the cache's and ours: %u", page_refcount(a));
	page_put(a);
	struct page *f = pcache_find(&m, 0);
	KT_ASSERT(f == a && pcache_has(&m, 0));
	page_put(f);
	/* nobody holds it: a write changes it in place */
	pcache_write(&m, PAGE_SIZE - 2, "XYZ", 3);   /* the tail of page 0, page 1 uncached */
	const u8 *q = page_address(a);
	KT_ASSERT(q[PAGE_SIZE - 3] == 'a' && q[PAGE_SIZE - 2] == 'X' && q[PAGE_SIZE - 1] == 'Y');
	KT_ASSERT(!pcache_has(&m, 1), "a write does not make pages");
	/* lent: a write takes it out and leaves its bytes alone */
	struct page *lent = pcache_find(&m, 0);
	KT_ASSERT(lent == a);
	pcache_write(&m, 0, "QQ", 2);
	KT_ASSERT(q[0] == 'a' && q[1] == 'a', "a lent page changed under its holder");
	KT_ASSERT(!pcache_has(&m, 0) && page_refcount(a) == 1,
		  "the lent page left the cache (refs %u)", page_refcount(a));
	page_put(lent);
	/* two fillers of one index: the second gets the first's page */
	struct page *b = filled('b'), *c = filled('c');
	KT_ASSERT(b && c);
	page_get(c);
	KT_ASSERT(pcache_add(&m, 1, b) == b);
	KT_ASSERT(pcache_add(&m, 1, c) == b, "the second filler gets the cached page");
	KT_ASSERT(page_refcount(c) == 1, "the second filler's page was put: %u",
		  page_refcount(c));
	page_put(c);
	KT_ASSERT(page_refcount(b) == 3, "the cache's and two callers': %u", page_refcount(b));
	page_put(b);
	/* truncation from index 1 on: page 1 goes, the holder keeps it */
	struct page *d = filled('d');
	KT_ASSERT(d && pcache_add(&m, 0, d) == d);
	page_put(d);
	pcache_drop(&m, 1);
	KT_ASSERT(pcache_has(&m, 0) && !pcache_has(&m, 1) && m.npages == 1);
	KT_ASSERT(page_refcount(b) == 1 && ((u8 *)page_address(b))[0] == 'b');
	page_put(b);
	pcache_drop(&m, 0);
	KT_ASSERT(m.npages == 0 && !pcache_has(&m, 0));
	pcache_stats(&s1);
	KT_ASSERT(s1.hits - s0.hits >= 2 && s1.misses - s0.misses >= 1 &&
		  s1.added - s0.added == 3 && s1.written_in_place - s0.written_in_place >= 1 &&
		  s1.dropped - s0.dropped >= 3, "hits +%llu misses +%llu added +%llu",
		  (unsigned long long)(s1.hits - s0.hits), (unsigned long long)(s1.misses - s0.misses),
		  (unsigned long long)(s1.added - s0.added));
}

/* Write-back: a write into a page only the cache and the writer hold
 * changes it in place and makes it dirty; one held by anyone else (a
 * packet, a write-back in flight) keeps its bytes and the cache takes a
 * copy; dirty pages are never evicted; taking them makes them clean and
 * counted under write-back until written; a drop lets them go. */
KTEST(pcache_write_back_dirty_lent_and_taken)
{
	static struct pcache_map m;
	pcache_map_init(&m);
	u64 old_limit = pcache_set_limit(16);
	struct pcache_stats s0, s1;
	pcache_stats(&s0);
	struct page *a = filled('a');
	KT_ASSERT(a && pcache_add(&m, 0, a) == a);
	KT_ASSERT(pcache_write_page(&m, 0, a, NULL, 10, "hello", 5, 1) == 0);
	const u8 *q = page_address(a);
	KT_ASSERT(memcmp(q + 10, "hello", 5) == 0 && q[9] == 'a' && q[15] == 'a');
	KT_ASSERT(m.ndirty == 1 && pcache_dirty_count() >= 1);
	KT_ASSERT(pcache_write_page(&m, 0, a, NULL, 4095, "xy", 2, 1) == -EINVAL,
		  "past the page's end");
	struct page *other = filled('o');
	KT_ASSERT(other);
	KT_ASSERT(pcache_write_page(&m, 0, other, NULL, 0, "z", 1, 1) == -ENOENT,
		  "a page that is not the cached one");
	page_put(other);
	/* dirty: the clock passes it over at the limit */
	for (u64 i = 1; i <= 40; i++) {
		struct page *p = filled('c');
		KT_ASSERT(p);
		page_put(pcache_add(&m, i, p));
	}
	KT_ASSERT(pcache_has(&m, 0), "the dirty page was evicted");
	KT_ASSERT(m.npages <= 17, "the clean ones were not: %llu", (unsigned long long)m.npages);
	/* lent: the write needs a spare, then goes to a copy */
	struct page *lent = pcache_find(&m, 0);
	KT_ASSERT(lent == a);
	KT_ASSERT(pcache_write_page(&m, 0, a, NULL, 0, "LL", 2, 2) == -EAGAIN);
	struct page *spare = page_alloc(0);
	KT_ASSERT(spare);
	KT_ASSERT(pcache_write_page(&m, 0, a, &spare, 0, "LL", 2, 2) == 0 && spare == NULL);
	KT_ASSERT(q[0] == 'a' && q[1] == 'a', "a lent page changed under its holder");
	struct page *now = pcache_find(&m, 0);
	KT_ASSERT(now && now != a);
	const u8 *c = page_address(now);
	KT_ASSERT(c[0] == 'L' && c[1] == 'L' && c[2] == 'a' && memcmp(c + 10, "hello", 5) == 0,
		  "the copy has the old bytes and the new");
	page_put(lent);
	page_put(a);   /* the writer's: the cache's went with the copy */
	/* taken for write-back: clean, counted, and a write meanwhile copies */
	struct pcache_dirty d[4];
	KT_ASSERT(pcache_take_dirty(&m, d, 4) == 1);
	KT_ASSERT(d[0].idx == 0 && d[0].pg == now && d[0].units == 3, "units %u", d[0].units);
	KT_ASSERT(m.ndirty == 0 && pcache_take_dirty(&m, d + 1, 3) == 0);
	pcache_stats(&s1);
	KT_ASSERT(s1.writeback >= 1);
	struct page *sp2 = page_alloc(0);
	KT_ASSERT(sp2 && pcache_write_page(&m, 0, now, &sp2, 0, "N", 1, 1) == 0 && !sp2,
		  "the page under write-back is copied");
	KT_ASSERT(c[0] == 'L' && m.ndirty == 1);
	pcache_written(d, 1, true);
	page_put(now);
	/* a drop lets dirty pages go with their bytes */
	pcache_drop(&m, 0);
	KT_ASSERT(m.npages == 0 && m.ndirty == 0);
	pcache_stats(&s1);
	KT_ASSERT(s1.dirty == s0.dirty && s1.writeback == s0.writeback &&
		  s1.written_back - s0.written_back == 1 && s1.write_copies - s0.write_copies == 2,
		  "dirty %llu->%llu, written back +%llu, copies +%llu",
		  (unsigned long long)s0.dirty, (unsigned long long)s1.dirty,
		  (unsigned long long)(s1.written_back - s0.written_back),
		  (unsigned long long)(s1.write_copies - s0.write_copies));
	pcache_set_limit(old_limit);
}

/* At its limit the clock lets go of pages nobody holds, never of a lent
 * one; the pages come back to the allocator. */
KTEST(pcache_evicts_at_its_limit_but_not_lent_pages)
{
	static struct pcache_map m;
	pcache_map_init(&m);
	page_drain_caches();
	u64 free0 = page_free_count();
	u64 old = pcache_set_limit(16);
	struct pcache_stats s0, s1;
	pcache_stats(&s0);
	struct page *held = filled('h');
	KT_ASSERT(held && pcache_add(&m, 0, held) == held);   /* our reference kept: lent */
	for (u64 i = 1; i < 64; i++) {
		struct page *p = filled((u8)i);
		KT_ASSERT(p);
		struct page *c = pcache_add(&m, i, p);
		KT_ASSERT(c == p);
		page_put(c);
	}
	pcache_stats(&s1);
	KT_ASSERT(s1.pages <= 16, "%llu pages cached over a limit of 16",
		  (unsigned long long)s1.pages);
	KT_ASSERT(s1.evicted - s0.evicted >= 64 - 16, "evicted +%llu",
		  (unsigned long long)(s1.evicted - s0.evicted));
	KT_ASSERT(pcache_has(&m, 0), "the lent page was evicted");
	KT_ASSERT(s1.lent >= 1, "lent %llu", (unsigned long long)s1.lent);
	/* what is still cached reads back as it was filled */
	for (u64 i = 1; i < 64; i++) {
		struct page *p = pcache_find(&m, i);
		if (p) {
			KT_ASSERT(((u8 *)page_address(p))[PAGE_SIZE - 1] == (u8)i);
			page_put(p);
		}
	}
	pcache_drop(&m, 0);
	page_put(held);
	pcache_set_limit(old);
	page_drain_caches();
	u64 free1 = page_free_count();
	KT_ASSERT(free1 + 4 >= free0, "pages lost: %llu free before, %llu after",
		  (unsigned long long)free0, (unsigned long long)free1);
}
