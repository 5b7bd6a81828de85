/*
 * The packet-buffer host tests' fixture and checks (pkb_check.h), shared by
 * the test_pkb*.c files.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/host/pkb_check.h"

/* ---- fixture: the state every test must return to ---- */

u64 base_free;
u32 base_ref[NPFN];
u16 base_flags[NPFN];

struct kmem_cache_stats cache_stats(const char *name, int *count)
{
	static struct kmem_cache_stats all[64];
	struct kmem_cache_stats found = { 0 };
	int n = kmem_cache_stats(all, 64), seen = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(all[i].name, name) == 0) {
			found = all[i];
			seen++;
		}
	}
	if (count)
		*count = seen;
	return found;
}

void pkb_setup(void)
{
	host_slab_init();
	pkb_init();
	/* the pkb cache keeps its first slab once it has one: take it now */
	pkb_free(pkb_alloc());
	page_drain_caches();
	base_free = page_free_count();
	for (u64 pfn = 0; pfn < page_max_phys() / PAGE_SIZE; pfn++) {
		struct page *p = phys_to_page(pfn * PAGE_SIZE);
		base_ref[pfn] = page_refcount(p);
		base_flags[pfn] = p->flags;
	}
}

/* Slab pages are compared in total (the free count), not one by one: which
 * empty slab the pkb cache keeps after a test is the slab's business. */
void check_no_leaks(void)
{
	cr_assert_eq(pkb_live(), 0, "pkb_live() = %llu after freeing everything",
		     (unsigned long long)pkb_live());
	cr_assert_eq(cache_stats("pkb", NULL).inuse, 0);
	for (u64 pfn = 0; pfn < page_max_phys() / PAGE_SIZE; pfn++) {
		struct page *p = phys_to_page(pfn * PAGE_SIZE);
		if ((p->flags | base_flags[pfn]) & PG_SLAB)
			continue;
		cr_assert_eq(page_refcount(p), base_ref[pfn], "page %#llx: refcount %u, was %u",
			     (unsigned long long)(pfn * PAGE_SIZE), page_refcount(p), base_ref[pfn]);
	}
	page_drain_caches();
	cr_assert_eq(page_free_count(), base_free, "%llu pages free, %llu at the start",
		     (unsigned long long)page_free_count(), (unsigned long long)base_free);
}


/* ---- patterns and checks ---- */

u8 pattern(u32 seed, u32 i)
{
	u32 x = seed * 0x9e3779b1u + i;
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (u8)x;
}

/* A fresh payload of len bytes whose byte i is pattern(seed, i); model gets
 * the same bytes. */
struct pkb *make_payload(u32 len, u32 seed, u8 *model)
{
	struct pkb *b = pkb_alloc_payload(len);
	cr_assert_not_null(b, "pkb_alloc_payload(%u)", len);
	u32 pos = 0;
	for (unsigned i = 0; i < b->nfrags; i++) {
		u8 *p = (u8 *)page_address(b->frags[i].page) + b->frags[i].off;
		for (u32 k = 0; k < b->frags[i].len; k++, pos++)
			p[k] = model[pos] = pattern(seed, pos);
	}
	cr_assert_eq(pos, len);
	return b;
}

/* A page the test owns (like a page-cache page), filled with pattern(seed). */
struct page *pattern_page(u32 seed)
{
	struct page *pg = page_alloc(0);
	cr_assert_not_null(pg);
	u8 *p = page_address(pg);
	for (u32 i = 0; i < PAGE_SIZE; i++)
		p[i] = pattern(seed, i);
	return pg;
}

/* The structural invariants of pkb.c's header comment. */
void check_frags(const struct pkb *b)
{
	cr_assert_leq(b->nfrags, PKB_MAX_FRAGS);
	cr_assert_leq(b->hdr_start, PKB_HDR_ROOM);
	u64 sum = 0;
	for (unsigned i = 0; i < b->nfrags; i++) {
		const struct pkb_frag *f = &b->frags[i];
		cr_assert_not_null(f->page, "frag %u has no page", i);
		cr_assert(f->len > 0 && f->off + f->len <= PAGE_SIZE, "frag %u: off %u len %u", i,
			  f->off, f->len);
		cr_assert_gt(page_refcount(f->page), 0, "frag %u references a free page", i);
		if (i)
			cr_assert_not(f->page == f[-1].page && f[-1].off + f[-1].len == f->off,
				      "frags %u and %u are contiguous but not merged", i - 1, i);
		sum += f->len;
	}
	cr_assert_eq(sum, b->len, "len %u, fragments sum to %llu", b->len,
		     (unsigned long long)sum);
}

u8 outbuf[MAXPAY + PAGE_SIZE];

void check_payload(const struct pkb *b, const u8 *model, u32 len)
{
	check_frags(b);
	cr_assert_eq(b->len, len, "payload %u bytes, want %u", b->len, len);
	cr_assert_eq(pkb_copy_out(b, 0, outbuf, len), len);
	for (u32 i = 0; i < len; i++)
		cr_assert_eq(outbuf[i], model[i], "payload byte %u: %#x, want %#x", i, outbuf[i],
			     model[i]);
}

bool same_stats(const struct pkb_copy_stats *a, const struct pkb_copy_stats *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The counters have not moved since *before; then *before = now. */
void assert_no_copy(struct pkb_copy_stats *before, const char *what)
{
	struct pkb_copy_stats now;
	pkb_copy_stats(&now);
	cr_assert(same_stats(before, &now), "%s counted a copy", what);
	*before = now;
}

u32 gather(const struct pkb_sg *sg, int n, u8 *out)
{
	u32 pos = 0;
	for (int i = 0; i < n; i++) {
		cr_assert_gt(sg[i].len, 0, "entry %d is empty", i);
		cr_assert(host_phys_allocatable(sg[i].addr, sg[i].addr + sg[i].len),
			  "entry %d [%#llx, +%u) is not allocatable memory", i,
			  (unsigned long long)sg[i].addr, sg[i].len);
		memcpy(out + pos, phys_to_virt(sg[i].addr), sg[i].len);
		pos += sg[i].len;
	}
	return pos;
}
