/*
 * zerocopy/pkb.c: packet buffers with the headers-last layout, over the page
 * and slab allocators of host_slab_init().
 *
 * What is checked everywhere: payload bytes (pages filled with known
 * patterns, read back with pkb_copy_out or through pkb_to_sg's physical
 * addresses), the aligned-payload invariant where the operation promises
 * it, the copy counters (only pkb_copy_in/pkb_copy_out/pkb_count_copy move
 * them, by exactly the bytes copied), and page accounting: when a test has
 * freed everything, every page's refcount and the free page count are what
 * they were at the start, and pkb_live() is 0 (check_no_leaks).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zerocopy/pkb.h"
#include "tests/host/host.h"

#define MAXPAY ((u32)PKB_MAX_FRAGS * PAGE_SIZE)
#define NPFN (HOST_MEM_SIZE / PAGE_SIZE)

/* ---- fixture: the state every test must return to ---- */

static u64 base_free;
static u32 base_ref[NPFN];
static u16 base_flags[NPFN];

static struct kmem_cache_stats cache_stats(const char *name, int *count)
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

static void pkb_setup(void)
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
static void check_no_leaks(void)
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

TestSuite(pkb, .init = pkb_setup, .timeout = 60);

/* ---- patterns and checks ---- */

static u8 pattern(u32 seed, u32 i)
{
	u32 x = seed * 0x9e3779b1u + i;
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (u8)x;
}

/* A fresh payload of len bytes whose byte i is pattern(seed, i); model gets
 * the same bytes. */
static struct pkb *make_payload(u32 len, u32 seed, u8 *model)
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
static struct page *pattern_page(u32 seed)
{
	struct page *pg = page_alloc(0);
	cr_assert_not_null(pg);
	u8 *p = page_address(pg);
	for (u32 i = 0; i < PAGE_SIZE; i++)
		p[i] = pattern(seed, i);
	return pg;
}

/* The structural invariants of pkb.c's header comment. */
static void check_frags(const struct pkb *b)
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

static u8 outbuf[MAXPAY + PAGE_SIZE];

static void check_payload(const struct pkb *b, const u8 *model, u32 len)
{
	check_frags(b);
	cr_assert_eq(b->len, len, "payload %u bytes, want %u", b->len, len);
	cr_assert_eq(pkb_copy_out(b, 0, outbuf, len), len);
	for (u32 i = 0; i < len; i++)
		cr_assert_eq(outbuf[i], model[i], "payload byte %u: %#x, want %#x", i, outbuf[i],
			     model[i]);
}

static bool same_stats(const struct pkb_copy_stats *a, const struct pkb_copy_stats *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The counters have not moved since *before; then *before = now. */
static void assert_no_copy(struct pkb_copy_stats *before, const char *what)
{
	struct pkb_copy_stats now;
	pkb_copy_stats(&now);
	cr_assert(same_stats(before, &now), "%s counted a copy", what);
	*before = now;
}

/* ---- life cycle ---- */

Test(pkb, alloc_is_empty_and_free_returns_everything)
{
	struct pkb *b = pkb_alloc();
	cr_assert_not_null(b);
	cr_assert_eq(b->len, 0);
	cr_assert_eq(b->nfrags, 0);
	cr_assert_eq(pkb_hdr_len(b), 0);
	cr_assert_eq(b->flags, 0);
	cr_assert_null(b->next);
	cr_assert(pkb_payload_aligned(b));
	cr_assert_eq(pkb_live(), 1);
	pkb_free(b);
	pkb_free(NULL);
	check_no_leaks();
}

Test(pkb, alloc_payload_pages)
{
	static const u32 lens[] = { 0, 1, 100, 4095, 4096, 4097, 8192, 12289, 65536, MAXPAY - 1,
				    MAXPAY };
	for (unsigned k = 0; k < ARRAY_SIZE(lens); k++) {
		u32 len = lens[k];
		struct pkb *b = pkb_alloc_payload(len);
		cr_assert_not_null(b, "pkb_alloc_payload(%u)", len);
		check_frags(b);
		cr_assert_eq(b->len, len);
		cr_assert_eq(b->nfrags, (len + PAGE_SIZE - 1) / PAGE_SIZE, "len %u: %u frags", len,
			     b->nfrags);
		cr_assert(pkb_payload_aligned(b));
		for (unsigned i = 0; i < b->nfrags; i++) {
			cr_assert_eq(b->frags[i].off, 0);
			u32 want = i + 1 < b->nfrags ? PAGE_SIZE : len - i * PAGE_SIZE;
			cr_assert_eq(b->frags[i].len, want);
			cr_assert_eq(page_refcount(b->frags[i].page), 1);
			for (unsigned j = 0; j < i; j++)
				cr_assert_neq(b->frags[i].page, b->frags[j].page);
		}
		pkb_free(b);
	}
	cr_assert_null(pkb_alloc_payload(MAXPAY + 1));
	cr_assert_null(pkb_alloc_payload(0xffffffffu));
	check_no_leaks();
}

/* ---- headers ---- */

Test(pkb, push_and_pull_keep_headers_in_wire_order)
{
	static u8 model[3 * PAGE_SIZE];
	struct pkb *b = make_payload(3 * PAGE_SIZE, 1, model);
	struct pkb_copy_stats before, after;
	pkb_copy_stats(&before);

	u8 *tcp = pkb_push(b, 20);
	cr_assert_eq(tcp, b->hdr + PKB_HDR_ROOM - 20);
	memset(tcp, 'T', 20);
	u8 *ip = pkb_push(b, 20);
	cr_assert_eq(ip + 20, tcp, "a pushed header must sit right in front of the last");
	memset(ip, 'I', 20);
	u8 *eth = pkb_push(b, 14);
	memset(eth, 'E', 14);
	cr_assert_eq(pkb_hdr(b), eth);
	cr_assert_eq(pkb_hdr_len(b), 54);
	for (u32 i = 0; i < 54; i++)
		cr_assert_eq(pkb_hdr(b)[i], i < 14 ? 'E' : i < 34 ? 'I' : 'T');
	cr_assert(pkb_payload_aligned(b));
	pkb_copy_stats(&after);
	cr_assert(same_stats(&before, &after), "push counted a copy");
	check_payload(b, model, 3 * PAGE_SIZE);

	cr_assert_eq(pkb_pull(b, 14), ip, "pull returns the new outermost header");
	cr_assert_eq(pkb_pull(b, 20), tcp);
	cr_assert_eq(pkb_hdr_len(b), 20);
	cr_assert_eq(pkb_pull(b, 0), tcp);
	cr_assert_eq(pkb_pull(b, 20), b->hdr + PKB_HDR_ROOM);
	cr_assert_eq(pkb_hdr_len(b), 0);
	cr_assert(pkb_payload_aligned(b));
	check_payload(b, model, 3 * PAGE_SIZE);

	pkb_push(b, 40);
	pkb_hdr_reset(b);
	cr_assert_eq(pkb_hdr_len(b), 0);
	pkb_free(b);
	check_no_leaks();
}

Test(pkb, header_zone_limits)
{
	struct pkb *b = pkb_alloc();
	cr_assert_null(pkb_pull(b, 1), "pull from no headers");
	cr_assert_null(pkb_push(b, PKB_HDR_ROOM + 1));
	cr_assert_null(pkb_push(b, 0xffffffffu));
	cr_assert_eq(pkb_hdr_len(b), 0);
	cr_assert_eq(pkb_push(b, PKB_HDR_ROOM - 10), b->hdr + 10);
	cr_assert_null(pkb_push(b, 11), "the zone has 10 bytes left");
	cr_assert_eq(pkb_hdr_len(b), PKB_HDR_ROOM - 10);
	cr_assert_eq(pkb_push(b, 10), b->hdr, "exactly full");
	cr_assert_null(pkb_push(b, 1), "full zone");
	cr_assert_not_null(pkb_push(b, 0));
	cr_assert_eq(pkb_hdr_len(b), PKB_HDR_ROOM);
	cr_assert_null(pkb_pull(b, PKB_HDR_ROOM + 1));
	cr_assert_null(pkb_pull(b, 0xffffffffu));
	cr_assert_eq(pkb_hdr_len(b), PKB_HDR_ROOM, "a refused pull removed something");
	cr_assert_not_null(pkb_pull(b, PKB_HDR_ROOM));
	cr_assert_eq(pkb_hdr_len(b), 0);
	pkb_free(b);
	check_no_leaks();
}

/* ---- fragments ---- */

Test(pkb, add_frag_references_and_merges)
{
	struct page *p = pattern_page(7), *q = pattern_page(8);
	struct pkb *b = pkb_alloc();
	cr_assert_eq(pkb_add_frag(b, p, 0, 100), 0);
	cr_assert_eq(page_refcount(p), 2);
	cr_assert_eq(pkb_add_frag(b, p, 100, 200), 0, "contiguous: merges");
	cr_assert_eq(b->nfrags, 1);
	cr_assert_eq(b->frags[0].len, 300);
	cr_assert_eq(page_refcount(p), 2, "a merge takes no reference");
	cr_assert_eq(pkb_add_frag(b, p, 400, 100), 0, "a gap: new fragment");
	cr_assert_eq(b->nfrags, 2);
	cr_assert_eq(page_refcount(p), 3);
	cr_assert_eq(pkb_add_frag(b, q, 500, PAGE_SIZE - 500), 0, "same offset, other page");
	cr_assert_eq(pkb_add_frag(b, p, 0, 10), 0, "a range before the last one: no merge");
	cr_assert_eq(b->nfrags, 4);
	cr_assert_eq(b->len, 300 + 100 + PAGE_SIZE - 500 + 10);
	check_frags(b);
	cr_assert_not(pkb_payload_aligned(b));

	u8 want[PAGE_SIZE + 400];
	u32 n = 0;
	for (u32 i = 0; i < 300; i++)
		want[n++] = pattern(7, i);
	for (u32 i = 400; i < 500; i++)
		want[n++] = pattern(7, i);
	for (u32 i = 500; i < PAGE_SIZE; i++)
		want[n++] = pattern(8, i);
	for (u32 i = 0; i < 10; i++)
		want[n++] = pattern(7, i);
	check_payload(b, want, n);

	pkb_free(b);
	cr_assert_eq(page_refcount(p), 1);
	cr_assert_eq(page_refcount(q), 1);
	page_put(p);
	page_put(q);
	check_no_leaks();
}

Test(pkb, add_frag_bad_ranges_and_full_table)
{
	struct page *p = pattern_page(3);
	struct pkb *b = pkb_alloc();
	static const struct { u32 off, len; } bad[] = {
		{ 0, 0 }, { 100, 0 }, { PAGE_SIZE, 1 }, { 4000, 97 }, { 0, PAGE_SIZE + 1 },
		{ 0xffffffffu, 2 }, { 2, 0xffffffffu }, { 0x80000000u, 0x80000000u },
	};
	for (unsigned k = 0; k < ARRAY_SIZE(bad); k++) {
		cr_assert_eq(pkb_add_frag(b, p, bad[k].off, bad[k].len), -EINVAL, "[%u, +%u)",
			     bad[k].off, bad[k].len);
		cr_assert_eq(b->nfrags, 0);
		cr_assert_eq(b->len, 0);
	}
	cr_assert_eq(pkb_add_frag(b, NULL, 0, 1), -EINVAL);
	cr_assert_eq(page_refcount(p), 1, "a refused fragment kept a reference");
	cr_assert_eq(pkb_add_frag(b, p, 4000, 96), 0, "the page's last bytes");
	cr_assert_eq(pkb_add_frag(b, p, 0, PAGE_SIZE), 0, "a whole page");

	/* fill the table with non-contiguous ranges */
	for (unsigned i = 0; i < 2 * PKB_MAX_FRAGS && b->nfrags < PKB_MAX_FRAGS; i++)
		cr_assert_eq(pkb_add_frag(b, p, b->nfrags * 8, 4), 0);
	cr_assert_eq(b->nfrags, PKB_MAX_FRAGS, "gaps between the ranges, yet they merged");
	u32 len = b->len, refs = page_refcount(p);
	struct pkb_frag last = b->frags[PKB_MAX_FRAGS - 1];
	cr_assert_eq(pkb_add_frag(b, p, 1000, 4), -ENOSPC);
	cr_assert_eq(b->nfrags, PKB_MAX_FRAGS);
	cr_assert_eq(b->len, len);
	cr_assert_eq(page_refcount(p), refs);
	cr_assert_eq(memcmp(&b->frags[PKB_MAX_FRAGS - 1], &last, sizeof(last)), 0);
	/* a full table still takes a range that merges with the last fragment */
	cr_assert_eq(pkb_add_frag(b, p, last.off + last.len, 2), 0);
	cr_assert_eq(b->frags[PKB_MAX_FRAGS - 1].len, last.len + 2);
	cr_assert_eq(page_refcount(p), refs);
	check_frags(b);
	pkb_free(b);
	page_put(p);
	check_no_leaks();
}

Test(pkb, payload_aligned_definition)
{
	struct page *p = pattern_page(5), *q = pattern_page(6);
	static const struct { u32 off0, len0, off1, len1; bool aligned; } cases[] = {
		{ 0, 1, 0, 0, true },               /* one fragment at 0, any length */
		{ 0, PAGE_SIZE, 0, 0, true },
		{ 1, 100, 0, 0, false },            /* the first must start at 0 */
		{ 0, PAGE_SIZE, 0, 7, true },       /* whole page, then the last */
		{ 0, PAGE_SIZE, 0, PAGE_SIZE, true },
		{ 0, PAGE_SIZE - 1, 0, 7, false },  /* a short page before the last */
		{ 0, PAGE_SIZE, 8, 7, false },      /* the last must start at 0 too */
	};
	struct pkb *b = pkb_alloc();
	cr_assert(pkb_payload_aligned(b), "empty");
	pkb_free(b);
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		b = pkb_alloc();
		cr_assert_eq(pkb_add_frag(b, p, cases[k].off0, cases[k].len0), 0);
		if (cases[k].len1)
			cr_assert_eq(pkb_add_frag(b, q, cases[k].off1, cases[k].len1), 0);
		cr_assert_eq(pkb_payload_aligned(b), cases[k].aligned, "case %u", k);
		pkb_free(b);
	}
	page_put(p);
	page_put(q);
	check_no_leaks();
}

/* ---- trim and advance ---- */

Test(pkb, trim_keeps_alignment_and_contents)
{
	static u8 model[MAXPAY];
	static const u32 cuts[] = { 5 * PAGE_SIZE + 7, 5 * PAGE_SIZE + 7, 1000000, 4 * PAGE_SIZE,
				    3 * PAGE_SIZE + 1, 2 * PAGE_SIZE - 1, 4096, 1, 0, 0 };
	struct pkb *b = make_payload(6 * PAGE_SIZE, 11, model);
	pkb_push(b, 30);
	struct pkb_copy_stats before, after;
	pkb_copy_stats(&before);
	u32 len = 6 * PAGE_SIZE;
	for (unsigned k = 0; k < ARRAY_SIZE(cuts); k++) {
		u64 free_before = page_free_count();
		u16 nf = b->nfrags;
		pkb_trim(b, cuts[k]);
		len = MIN(len, cuts[k]);
		cr_assert_eq(b->len, len, "trim(%u)", cuts[k]);
		cr_assert_eq(b->nfrags, (len + PAGE_SIZE - 1) / PAGE_SIZE);
		cr_assert_eq(page_free_count() - free_before, (u64)(nf - b->nfrags),
			     "trim(%u): pages that went must be freed", cuts[k]);
		cr_assert(pkb_payload_aligned(b), "trim(%u)", cuts[k]);
		cr_assert_eq(pkb_hdr_len(b), 30);
		pkb_copy_stats(&after);
		cr_assert(same_stats(&before, &after), "trim counted a copy");
		check_payload(b, model, len);
		pkb_copy_stats(&before);
	}
	pkb_free(b);
	check_no_leaks();
}

Test(pkb, advance_keeps_contents_and_page_alignment)
{
	static u8 model[MAXPAY];
	struct pkb *b = make_payload(8 * PAGE_SIZE + 100, 12, model);
	struct pkb_copy_stats before, after;
	pkb_copy_stats(&before);

	pkb_advance(b, 0);
	cr_assert_eq(b->len, 8 * PAGE_SIZE + 100);
	pkb_advance(b, 2 * PAGE_SIZE);    /* whole pages: still aligned */
	cr_assert_eq(b->nfrags, 7);
	cr_assert(pkb_payload_aligned(b));
	pkb_copy_stats(&after);
	cr_assert(same_stats(&before, &after), "advance counted a copy");
	check_payload(b, model + 2 * PAGE_SIZE, 6 * PAGE_SIZE + 100);

	pkb_advance(b, 10);               /* inside a page: first fragment at 10 */
	cr_assert_eq(b->frags[0].off, 10);
	cr_assert_eq(b->frags[0].len, PAGE_SIZE - 10);
	cr_assert_not(pkb_payload_aligned(b));
	check_payload(b, model + 2 * PAGE_SIZE + 10, 6 * PAGE_SIZE + 90);

	u64 free_before = page_free_count();
	pkb_advance(b, PAGE_SIZE - 10 + PAGE_SIZE + 5);   /* two pages go entirely */
	cr_assert_eq(page_free_count() - free_before, 2);
	cr_assert_eq(b->nfrags, 5);
	cr_assert_eq(b->frags[0].off, 5);
	check_payload(b, model + 4 * PAGE_SIZE + 5, 4 * PAGE_SIZE + 95);

	pkb_copy_stats(&before);
	pkb_advance(b, 0xffffffffu);      /* past the end: everything goes */
	pkb_copy_stats(&after);
	cr_assert(same_stats(&before, &after));
	cr_assert_eq(b->len, 0);
	cr_assert_eq(b->nfrags, 0);
	cr_assert(pkb_payload_aligned(b));
	pkb_free(b);
	check_no_leaks();
}

/* ---- split, join, clone ---- */

Test(pkb, split_at_page_boundaries_and_inside)
{
	static u8 model[MAXPAY];
	const u32 len = 7 * PAGE_SIZE + 300;
	struct pkb *b = make_payload(len, 21, model);
	memset(pkb_push(b, 40), 'h', 40);
	b->hash = 1234;
	struct pkb_copy_stats before;
	pkb_copy_stats(&before);

	/* on a page boundary: both sides aligned, no page shared */
	struct pkb *t = pkb_split(b, 3 * PAGE_SIZE);
	assert_no_copy(&before, "split");
	cr_assert_not_null(t);
	cr_assert_eq(b->nfrags, 3);
	cr_assert_eq(t->nfrags, 5);
	cr_assert(pkb_payload_aligned(b));
	cr_assert(pkb_payload_aligned(t));
	cr_assert_eq(page_refcount(b->frags[2].page), 1);
	cr_assert_eq(page_refcount(t->frags[0].page), 1);
	cr_assert_eq(pkb_hdr_len(b), 40, "headers stay with b");
	cr_assert_eq(pkb_hdr_len(t), 0);
	cr_assert_eq(t->hash, 0);
	check_payload(b, model, 3 * PAGE_SIZE);
	check_payload(t, model + 3 * PAGE_SIZE, len - 3 * PAGE_SIZE);

	/* inside a page: the page is on both sides, one reference each */
	pkb_copy_stats(&before);
	struct pkb *u = pkb_split(t, PAGE_SIZE + 1000);
	assert_no_copy(&before, "split");
	cr_assert_not_null(u);
	struct page *shared = t->frags[1].page;
	cr_assert_eq(u->frags[0].page, shared);
	cr_assert_eq(page_refcount(shared), 2);
	cr_assert_eq(t->frags[1].len, 1000);
	cr_assert_eq(u->frags[0].off, 1000);
	cr_assert(pkb_payload_aligned(t), "the front part keeps its alignment");
	check_payload(t, model + 3 * PAGE_SIZE, PAGE_SIZE + 1000);
	check_payload(u, model + 4 * PAGE_SIZE + 1000, len - 4 * PAGE_SIZE - 1000);

	/* the ends */
	pkb_copy_stats(&before);
	struct pkb *e = pkb_split(u, u->len);
	cr_assert_not_null(e);
	cr_assert_eq(e->len, 0);
	cr_assert_eq(e->nfrags, 0);
	pkb_free(e);
	u32 ulen = u->len;
	e = pkb_split(u, 0);
	assert_no_copy(&before, "split");
	cr_assert_not_null(e);
	cr_assert_eq(u->len, 0);
	cr_assert_eq(u->nfrags, 0);
	check_payload(e, model + 4 * PAGE_SIZE + 1000, ulen);

	pkb_free(u);
	pkb_free(e);
	pkb_free(t);
	cr_assert_eq(page_refcount(shared), 0);
	check_payload(b, model, 3 * PAGE_SIZE);
	pkb_free(b);
	check_no_leaks();
}

Test(pkb, split_beyond_len_changes_nothing)
{
	static u8 model[2 * PAGE_SIZE];
	struct pkb *b = make_payload(2 * PAGE_SIZE, 22, model);
	struct pkb copy = *b;
	cr_assert_null(pkb_split(b, 2 * PAGE_SIZE + 1));
	cr_assert_null(pkb_split(b, 0xffffffffu));
	cr_assert_eq(memcmp(&copy, b, sizeof(copy)), 0);
	cr_assert_eq(pkb_live(), 1, "a refused split allocated a pkb");
	struct pkb *e = pkb_alloc();
	cr_assert_null(pkb_split(e, 1));
	pkb_free(e);
	pkb_free(b);
	check_no_leaks();
}

Test(pkb, join_undoes_split)
{
	static u8 model[MAXPAY];
	const u32 len = 9 * PAGE_SIZE + 77;
	static const u32 cuts[] = { 0, 1, 100, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1,
				    5 * PAGE_SIZE, 9 * PAGE_SIZE + 76, 9 * PAGE_SIZE + 77 };
	struct pkb *b = make_payload(len, 23, model);
	struct pkb_frag frags[PKB_MAX_FRAGS];
	memcpy(frags, b->frags, sizeof(frags));
	u16 nfrags = b->nfrags;
	struct pkb_copy_stats before, after;
	pkb_copy_stats(&before);
	for (unsigned k = 0; k < ARRAY_SIZE(cuts); k++) {
		struct pkb *t = pkb_split(b, cuts[k]);
		cr_assert_not_null(t);
		cr_assert_eq(pkb_join(b, t), 0, "join after split at %u", cuts[k]);
		cr_assert_eq(b->nfrags, nfrags, "split at %u: the halves of a page must merge",
			     cuts[k]);
		cr_assert_eq(memcmp(b->frags, frags, sizeof(frags)), 0, "split/join at %u",
			     cuts[k]);
		for (unsigned i = 0; i < nfrags; i++)
			cr_assert_eq(page_refcount(b->frags[i].page), 1);
		cr_assert(pkb_payload_aligned(b));
		cr_assert_eq(pkb_live(), 1);
	}
	pkb_copy_stats(&after);
	cr_assert(same_stats(&before, &after), "split/join counted a copy");
	check_payload(b, model, len);
	pkb_free(b);
	check_no_leaks();
}

Test(pkb, join_appends_and_keeps_alignment)
{
	static u8 m1[MAXPAY], m2[MAXPAY];
	struct pkb *a = make_payload(2 * PAGE_SIZE, 31, m1);
	struct pkb *c = make_payload(PAGE_SIZE + 5, 32, m2);
	memset(pkb_push(a, 8), 'a', 8);
	memset(pkb_push(c, 8), 'c', 8);
	cr_assert_eq(pkb_join(a, c), 0);
	memcpy(m1 + 2 * PAGE_SIZE, m2, PAGE_SIZE + 5);
	cr_assert_eq(a->nfrags, 4);
	cr_assert(pkb_payload_aligned(a), "aligned + page-multiple dst stays aligned");
	cr_assert_eq(pkb_hdr_len(a), 8);
	cr_assert_eq(pkb_hdr(a)[0], 'a', "dst keeps its headers");
	cr_assert_eq(pkb_live(), 1, "src is freed");
	check_payload(a, m1, 3 * PAGE_SIZE + 5);

	/* into an empty pkb, and an empty src */
	struct pkb *e = pkb_alloc();
	cr_assert_eq(pkb_join(e, a), 0);
	check_payload(e, m1, 3 * PAGE_SIZE + 5);
	cr_assert(pkb_payload_aligned(e));
	cr_assert_eq(pkb_join(e, pkb_alloc()), 0);
	check_payload(e, m1, 3 * PAGE_SIZE + 5);
	cr_assert_eq(pkb_join(e, e), -EINVAL);
	check_payload(e, m1, 3 * PAGE_SIZE + 5);
	pkb_free(e);
	check_no_leaks();
}

Test(pkb, join_too_many_fragments_moves_nothing)
{
	struct page *p = pattern_page(41);
	struct pkb *d = pkb_alloc(), *s = pkb_alloc();
	/* ND + NS = PKB_MAX_FRAGS + 1 fragments that do not merge */
	enum { ND = PKB_MAX_FRAGS / 2 + 1, NS = PKB_MAX_FRAGS - PKB_MAX_FRAGS / 2 };
	for (unsigned i = 0; i < ND; i++)
		cr_assert_eq(pkb_add_frag(d, p, i * 16, 8), 0);
	for (unsigned i = 0; i < NS; i++)
		cr_assert_eq(pkb_add_frag(s, p, 2048 + i * 16, 8), 0);
	struct pkb dcopy = *d, scopy = *s;
	u32 refs = page_refcount(p);
	cr_assert_eq(pkb_join(d, s), -ENOSPC, "one fragment too many");
	cr_assert_eq(memcmp(&dcopy, d, sizeof(dcopy)), 0);
	cr_assert_eq(memcmp(&scopy, s, sizeof(scopy)), 0, "src must be untouched");
	cr_assert_eq(page_refcount(p), refs);
	cr_assert_eq(pkb_live(), 2);

	/* the same with src starting where dst ends: full after the merge, fits */
	pkb_free(s);
	s = pkb_alloc();
	cr_assert_eq(pkb_add_frag(s, p, (ND - 1) * 16 + 8, 8), 0);
	for (unsigned i = 1; i < NS; i++)
		cr_assert_eq(pkb_add_frag(s, p, 2048 + i * 16, 8), 0);
	refs = page_refcount(p);
	cr_assert_eq(pkb_join(d, s), 0);
	cr_assert_eq(d->nfrags, PKB_MAX_FRAGS);
	cr_assert_eq(d->frags[ND - 1].len, 16, "the meeting fragments merge");
	cr_assert_eq(page_refcount(p), refs - 1, "a merge gives one reference back");
	check_frags(d);
	pkb_free(d);
	cr_assert_eq(page_refcount(p), 1);
	page_put(p);
	check_no_leaks();
}

Test(pkb, clone_shares_pages_and_copies_headers)
{
	static u8 model[MAXPAY];
	struct pkb *b = make_payload(4 * PAGE_SIZE + 9, 51, model);
	u8 *h = pkb_push(b, 54);
	for (u32 i = 0; i < 54; i++)
		h[i] = (u8)i;
	b->flags = PKB_CSUM_PARTIAL;
	b->csum_start = 34;
	b->csum_offset = 16;
	b->gso_size = 1448;
	b->hash = 0xabcdef;
	b->queue = 3;
	b->next = b;
	struct pkb_copy_stats before, after;
	pkb_copy_stats(&before);
	struct pkb *c = pkb_clone(b);
	pkb_copy_stats(&after);
	cr_assert(same_stats(&before, &after), "clone counted a copy");
	cr_assert_not_null(c);
	cr_assert_null(c->next);
	cr_assert_eq(c->flags, PKB_CSUM_PARTIAL);
	cr_assert_eq(c->csum_start, 34);
	cr_assert_eq(c->csum_offset, 16);
	cr_assert_eq(c->gso_size, 1448);
	cr_assert_eq(c->hash, 0xabcdef);
	cr_assert_eq(c->queue, 3);
	cr_assert_eq(c->nfrags, b->nfrags);
	for (unsigned i = 0; i < b->nfrags; i++) {
		cr_assert_eq(c->frags[i].page, b->frags[i].page, "clone shares pages");
		cr_assert_eq(page_refcount(c->frags[i].page), 2);
	}
	cr_assert(pkb_payload_aligned(c));
	cr_assert_eq(pkb_hdr_len(c), 54);
	cr_assert_neq(pkb_hdr(c), pkb_hdr(b));
	cr_assert_eq(memcmp(pkb_hdr(c), pkb_hdr(b), 54), 0);
	check_payload(c, model, 4 * PAGE_SIZE + 9);

	/* headers are the clone's own; payload operations leave b alone */
	pkb_pull(c, 14)[0] = 0xff;
	pkb_trim(c, PAGE_SIZE);
	cr_assert_eq(pkb_hdr(b)[14], 14);
	cr_assert_eq(pkb_hdr_len(b), 54);
	check_payload(b, model, 4 * PAGE_SIZE + 9);
	cr_assert_eq(page_refcount(b->frags[0].page), 2);
	cr_assert_eq(page_refcount(b->frags[1].page), 1);
	pkb_free(b);
	check_payload(c, model, PAGE_SIZE);
	pkb_free(c);
	check_no_leaks();
}

/* ---- copies and their counters ---- */

Test(pkb, copy_in_and_out_count_exact_bytes)
{
	static u8 src[MAXPAY], model[MAXPAY];
	for (u32 i = 0; i < MAXPAY; i++)
		src[i] = pattern(61, i);
	struct pkb_copy_stats s0, s1;
	pkb_copy_stats(&s0);
	struct pkb *b = pkb_alloc();
	cr_assert_eq(pkb_copy_in(b, src, 0), 0);
	cr_assert_eq(b->nfrags, 0);
	cr_assert_eq(pkb_copy_in(b, src, 3 * PAGE_SIZE), 0);
	cr_assert(pkb_payload_aligned(b));
	cr_assert_eq(pkb_copy_in(b, src + 100, 5000), 0);
	cr_assert_eq(b->nfrags, 5);
	cr_assert_eq(b->frags[3].off, 0);
	cr_assert_eq(b->frags[4].len, 5000 - PAGE_SIZE);
	cr_assert(pkb_payload_aligned(b));
	memcpy(model, src, 3 * PAGE_SIZE);
	memcpy(model + 3 * PAGE_SIZE, src + 100, 5000);
	pkb_copy_stats(&s1);
	cr_assert_eq(s1.bytes[PKB_COPY_TX_WRITE] - s0.bytes[PKB_COPY_TX_WRITE],
		     3 * PAGE_SIZE + 5000);
	cr_assert_eq(s1.events[PKB_COPY_TX_WRITE] - s0.events[PKB_COPY_TX_WRITE], 2);
	cr_assert_eq(s1.bytes[PKB_COPY_RX_READ], s0.bytes[PKB_COPY_RX_READ]);

	/* a copy-in after a partial page leaves the pages fresh, at offset 0 */
	cr_assert_eq(pkb_copy_in(b, src, 1), 0);
	cr_assert_eq(b->frags[5].off, 0);
	cr_assert_eq(b->frags[5].len, 1);
	cr_assert_not(pkb_payload_aligned(b));
	model[3 * PAGE_SIZE + 5000] = src[0];
	u32 len = 3 * PAGE_SIZE + 5001;

	/* copy_out: offsets, clamping, exact counts */
	static u8 out[MAXPAY];
	pkb_copy_stats(&s0);
	cr_assert_eq(pkb_copy_out(b, 0, out, len), len);
	cr_assert_eq(memcmp(out, model, len), 0);
	cr_assert_eq(pkb_copy_out(b, PAGE_SIZE - 3, out, 10), 10);
	cr_assert_eq(memcmp(out, model + PAGE_SIZE - 3, 10), 0);
	cr_assert_eq(pkb_copy_out(b, len - 4, out, 100), 4, "clamped at the end");
	cr_assert_eq(memcmp(out, model + len - 4, 4), 0);
	cr_assert_eq(pkb_copy_out(b, len, out, 100), 0);
	cr_assert_eq(pkb_copy_out(b, 0xffffffffu, out, 0xffffffffu), 0);
	cr_assert_eq(pkb_copy_out(b, 5, NULL, 0), 0);
	pkb_copy_stats(&s1);
	cr_assert_eq(s1.bytes[PKB_COPY_RX_READ] - s0.bytes[PKB_COPY_RX_READ], len + 10 + 4);
	cr_assert_eq(s1.events[PKB_COPY_RX_READ] - s0.events[PKB_COPY_RX_READ], 3,
		     "an empty copy is no event");
	cr_assert_eq(s1.bytes[PKB_COPY_TX_WRITE], s0.bytes[PKB_COPY_TX_WRITE]);

	/* -ENOSPC: 6 fragments + (MAX - 5) pages is one too many; nothing
	 * appended, nothing counted */
	struct pkb copy = *b;
	u64 free_before = page_free_count();
	pkb_copy_stats(&s0);
	const u32 room = (PKB_MAX_FRAGS - 6) * PAGE_SIZE;
	cr_assert_eq(pkb_copy_in(b, src, room + 1), -ENOSPC);
	cr_assert_eq(pkb_copy_in(b, src, 0xffffffffu), -ENOSPC);
	cr_assert_eq(memcmp(&copy, b, sizeof(copy)), 0);
	cr_assert_eq(page_free_count(), free_before);
	cr_assert_eq(pkb_copy_in(b, src, room), 0, "exactly PKB_MAX_FRAGS fragments");
	cr_assert_eq(b->nfrags, PKB_MAX_FRAGS);
	pkb_copy_stats(&s1);
	cr_assert_eq(s1.bytes[PKB_COPY_TX_WRITE] - s0.bytes[PKB_COPY_TX_WRITE], room);
	memcpy(model + len, src, room);
	check_payload(b, model, len + room);
	pkb_free(b);
	check_no_leaks();
}

Test(pkb, only_the_copying_functions_count)
{
	static u8 model[MAXPAY];
	struct page *p = pattern_page(71);
	struct pkb_copy_stats s0, s1;
	pkb_copy_stats(&s0);

	struct pkb *b = make_payload(5 * PAGE_SIZE + 10, 72, model);
	pkb_add_frag(b, p, 10, 20);
	pkb_push(b, 60);
	pkb_pull(b, 6);
	struct pkb *c = pkb_clone(b);
	struct pkb *t = pkb_split(c, 2 * PAGE_SIZE + 3);
	pkb_trim(t, PAGE_SIZE);
	pkb_advance(c, 7);
	pkb_join(c, t);
	struct pkb_sg sg[PKB_MAX_FRAGS + 1];
	cr_assert_gt(pkb_to_sg(b, sg, PKB_MAX_FRAGS + 1), 0);
	pkb_hdr_reset(b);
	(void)pkb_payload_aligned(b);
	pkb_free(c);
	pkb_free(b);
	page_put(p);
	pkb_copy_stats(&s1);
	cr_assert(same_stats(&s0, &s1), "a function that copies no payload counted a copy");

	/* drivers count their own copies; unknown paths and empty copies count nothing */
	pkb_count_copy(PKB_COPY_RX_MISS, 1448);
	pkb_count_copy(PKB_COPY_RX_MISS, 52);
	pkb_count_copy(PKB_COPY_TX_LINEARIZE, 9000);
	pkb_count_copy(PKB_COPY_TX_LINEARIZE, 0);
	pkb_count_copy(PKB_COPY_NPATHS, 5);
	pkb_count_copy((enum pkb_copy_path)-1, 5);
	pkb_copy_stats(&s1);
	cr_assert_eq(s1.bytes[PKB_COPY_RX_MISS] - s0.bytes[PKB_COPY_RX_MISS], 1500);
	cr_assert_eq(s1.events[PKB_COPY_RX_MISS] - s0.events[PKB_COPY_RX_MISS], 2);
	cr_assert_eq(s1.bytes[PKB_COPY_TX_LINEARIZE] - s0.bytes[PKB_COPY_TX_LINEARIZE], 9000);
	cr_assert_eq(s1.events[PKB_COPY_TX_LINEARIZE] - s0.events[PKB_COPY_TX_LINEARIZE], 1);
	cr_assert_eq(s1.bytes[PKB_COPY_TX_WRITE], s0.bytes[PKB_COPY_TX_WRITE]);
	cr_assert_eq(s1.bytes[PKB_COPY_RX_READ], s0.bytes[PKB_COPY_RX_READ]);

	cr_assert_str_eq(pkb_copy_path_name(PKB_COPY_TX_WRITE), "tx_write");
	cr_assert_str_eq(pkb_copy_path_name(PKB_COPY_RX_READ), "rx_read");
	cr_assert_str_eq(pkb_copy_path_name(PKB_COPY_RX_MISS), "rx_miss");
	cr_assert_str_eq(pkb_copy_path_name(PKB_COPY_TX_LINEARIZE), "tx_linearize");
	cr_assert_str_eq(pkb_copy_path_name(PKB_COPY_NPATHS), "?");
	check_no_leaks();
}

/* ---- scatter/gather ---- */

/* The bytes the sg list describes, read back through the direct map. */
static u32 gather(const struct pkb_sg *sg, int n, u8 *out)
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

Test(pkb, to_sg_headers_then_payload)
{
	static u8 model[MAXPAY + PKB_HDR_ROOM], got[MAXPAY + PKB_HDR_ROOM];
	struct page *p = pattern_page(81);
	struct pkb *b = make_payload(3 * PAGE_SIZE + 50, 82, model + 42);
	cr_assert_eq(pkb_add_frag(b, p, 1000, 500), 0);
	for (u32 i = 0; i < 500; i++)
		model[42 + 3 * PAGE_SIZE + 50 + i] = pattern(81, 1000 + i);
	u8 *h = pkb_push(b, 42);
	for (u32 i = 0; i < 42; i++)
		h[i] = model[i] = (u8)(0xa0 + i);
	const u32 total = 42 + 3 * PAGE_SIZE + 50 + 500;

	struct pkb_sg sg[PKB_MAX_FRAGS + 2];
	int n = pkb_to_sg(b, sg, PKB_MAX_FRAGS + 2);
	cr_assert_eq(n, 6, "1 header entry + 5 fragments");
	cr_assert_eq(sg[0].addr, virt_to_phys(pkb_hdr(b)));
	cr_assert_eq(sg[0].len, 42);
	cr_assert_eq(phys_to_virt(sg[0].addr), pkb_hdr(b));
	for (int i = 1; i < n; i++) {
		cr_assert_eq(sg[i].addr, page_to_phys(b->frags[i - 1].page) + b->frags[i - 1].off);
		cr_assert_eq(sg[i].len, b->frags[i - 1].len);
	}
	cr_assert_eq(sg[5].addr, page_to_phys(p) + 1000);
	cr_assert_eq(gather(sg, n, got), total);
	cr_assert_eq(memcmp(got, model, total), 0, "sg bytes differ from headers + payload");

	/* too small, exactly right */
	struct pkb_sg canary = { 0xdead, 0xbeef };
	for (int i = 0; i < PKB_MAX_FRAGS + 2; i++)
		sg[i] = canary;
	cr_assert_eq(pkb_to_sg(b, sg, 5), -ENOSPC);
	cr_assert_eq(pkb_to_sg(b, sg, 0), -ENOSPC);
	cr_assert_eq(pkb_to_sg(b, sg, -1), -ENOSPC);
	cr_assert_eq(memcmp(&sg[0], &canary, sizeof(canary)), 0, "-ENOSPC wrote entries");
	cr_assert_eq(pkb_to_sg(b, sg, 6), 6);
	cr_assert_eq(memcmp(&sg[6], &canary, sizeof(canary)), 0, "wrote past the count");

	/* no headers: no header entry */
	pkb_hdr_reset(b);
	n = pkb_to_sg(b, sg, PKB_MAX_FRAGS + 2);
	cr_assert_eq(n, 5);
	cr_assert_eq(gather(sg, n, got), total - 42);
	cr_assert_eq(memcmp(got, model + 42, total - 42), 0);

	/* headers only; nothing at all */
	struct pkb *e = pkb_alloc();
	cr_assert_eq(pkb_to_sg(e, NULL, 0), 0);
	memcpy(pkb_push(e, 14), model, 14);
	cr_assert_eq(pkb_to_sg(e, sg, 1), 1);
	cr_assert_eq(gather(sg, 1, got), 14);
	cr_assert_eq(memcmp(got, model, 14), 0);
	pkb_free(e);
	pkb_free(b);
	page_put(p);
	check_no_leaks();
}

/* ---- bad inputs change nothing ---- */

Test(pkb, bad_inputs_change_nothing)
{
	static u8 model[MAXPAY];
	struct page *p = pattern_page(91);
	struct pkb *b = make_payload(PAGE_SIZE + 1, 92, model);
	memset(pkb_push(b, 100), 'x', 100);
	struct pkb copy;
	struct pkb_copy_stats s0, s1;
	pkb_copy_stats(&s0);
#define UNCHANGED(what)                                                                 \
	do {                                                                            \
		what;                                                                   \
		cr_assert_eq(memcmp(&copy, b, sizeof(copy)), 0, "%s changed the pkb", #what); \
	} while (0)
	copy = *b;
	UNCHANGED(cr_assert_null(pkb_push(b, PKB_HDR_ROOM - 99)));
	UNCHANGED(cr_assert_null(pkb_pull(b, 101)));
	UNCHANGED(cr_assert_null(pkb_split(b, PAGE_SIZE + 2)));
	UNCHANGED(cr_assert_eq(pkb_add_frag(b, p, PAGE_SIZE - 1, 2), -EINVAL));
	UNCHANGED(cr_assert_eq(pkb_add_frag(b, p, 0, 0), -EINVAL));
	UNCHANGED(cr_assert_eq(pkb_join(b, b), -EINVAL));
	UNCHANGED(pkb_trim(b, PAGE_SIZE + 1));
	UNCHANGED(pkb_trim(b, 0xffffffffu));
	UNCHANGED(pkb_advance(b, 0));
	UNCHANGED(cr_assert_eq(pkb_copy_in(b, model, 0), 0));
	UNCHANGED(cr_assert_eq(pkb_copy_out(b, PAGE_SIZE + 1, model, 1), 0));
	struct pkb_sg sg[2];
	UNCHANGED(cr_assert_eq(pkb_to_sg(b, sg, 2), -ENOSPC));
	/* too many fragments */
	for (unsigned i = 0; i < 2 * PKB_MAX_FRAGS && b->nfrags < PKB_MAX_FRAGS; i++)
		cr_assert_eq(pkb_add_frag(b, p, 2 * b->nfrags, 1), 0);
	cr_assert_eq(b->nfrags, PKB_MAX_FRAGS);
	copy = *b;
	UNCHANGED(cr_assert_eq(pkb_add_frag(b, p, 3000, 1), -ENOSPC));
	UNCHANGED(cr_assert_eq(pkb_copy_in(b, model, 1), -ENOSPC));
#undef UNCHANGED
	pkb_copy_stats(&s1);
	cr_assert(same_stats(&s0, &s1));
	cr_assert_eq(pkb_live(), 1);
	pkb_free(b);
	page_put(p);
	check_no_leaks();
}

Test(pkb, out_of_memory_unwinds)
{
	/* take every free page */
	static struct page *all[NPFN];
	u64 n = 0;
	struct page *pg;
	while ((pg = page_alloc(0)))
		all[n++] = pg;
	cr_assert_gt(n, 1000);
	static u8 src[4 * PAGE_SIZE];

	/* pkbs from the slab's spare slots, but no payload pages */
	struct pkb *b = pkb_alloc();
	cr_assert_not_null(b, "the warm pkb slab has free slots");
	cr_assert_null(pkb_alloc_payload(1));
	cr_assert_eq(pkb_copy_in(b, src, 1), -ENOMEM);
	page_put(all[--n]);
	page_put(all[--n]);
	cr_assert_null(pkb_alloc_payload(3 * PAGE_SIZE), "2 pages free, 3 needed");
	cr_assert_eq(pkb_copy_in(b, src, 3 * PAGE_SIZE), -ENOMEM);
	cr_assert_eq(b->len, 0);
	cr_assert_eq(b->nfrags, 0);
	cr_assert_eq(page_free_count(), 2, "a failed allocation kept pages");
	cr_assert_eq(pkb_copy_in(b, src, 2 * PAGE_SIZE), 0);

	/* now use up the pkb slots: split and clone fail cleanly */
	static struct pkb *more[4096];
	unsigned m = 0;
	while ((more[m] = pkb_alloc()))
		cr_assert_lt(++m, ARRAY_SIZE(more));
	struct pkb copy = *b;
	cr_assert_null(pkb_split(b, PAGE_SIZE));
	cr_assert_null(pkb_clone(b));
	cr_assert_eq(memcmp(&copy, b, sizeof(copy)), 0);
	cr_assert_eq(page_refcount(b->frags[0].page), 1);
	cr_assert_eq(pkb_live(), m + 1);

	while (m)
		pkb_free(more[--m]);
	pkb_free(b);
	while (n)
		page_put(all[--n]);
	check_no_leaks();
}

/* ---- misuse panics ---- */

Test(pkb, double_free_panics, .signal = SIGABRT)
{
	struct pkb *b = pkb_alloc_payload(100);
	pkb_free(b);
	host_expect_panic("double free");
	pkb_free(b);
}

Test(pkb, free_of_a_non_pkb_panics, .signal = SIGABRT)
{
	void *p = kzalloc(sizeof(struct pkb));
	host_expect_panic("belongs to cache");
	pkb_free(p);
}

Test(pkb, fragment_of_a_free_page_panics, .signal = SIGABRT)
{
	struct page *p = page_alloc(0);
	page_put(p);
	struct pkb *b = pkb_alloc();
	host_expect_panic("is free");
	pkb_add_frag(b, p, 0, 10);
}

/* ---- property test: random operations against a model ---- */

/*
 * The model of a packet is two byte arrays, payload and headers (in wire
 * order), plus "aligned", which is true when the operations so far promise
 * pkb_payload_aligned (it may be true when this is false). Page references
 * are modelled by counting: each pool page (owned by the test, like the page
 * cache) has one reference of the test's plus one per fragment that points
 * at it; every other page one per fragment. After every step each live
 * packet must agree with its model in length and in every byte, every
 * page's refcount must be the count, and the copy counters must have moved
 * by exactly what the model copied.
 */
#define SLOTS 4
#define POOL 6

struct model {
	struct pkb *b;
	u32 len, hlen;
	bool aligned;
	u8 hdr[PKB_HDR_ROOM];
	u8 pay[MAXPAY];
};

struct prop {
	u64 rng;
	struct model m[SLOTS];
	struct page *pool[POOL];
	struct pkb_copy_stats want;   /* what the counters must say */
	u64 done[16], refused[16];    /* outcomes by operation */
};

static struct prop P;

static u64 rnd(void)
{
	u64 x = P.rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	P.rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static u32 below(u32 n) { return n ? (u32)(rnd() % n) : 0; }

/* A length that likes interesting values: page multiples, page +- 1, 0. */
static u32 rnd_len(u32 max)
{
	switch (below(6)) {
	case 0:
		return below(max / PAGE_SIZE + 1) * PAGE_SIZE;
	case 1:
		return below(max / PAGE_SIZE + 1) * PAGE_SIZE + 1;
	case 2: {
		u32 k = below(max / PAGE_SIZE + 1) * PAGE_SIZE;
		return k ? k - 1 : 0;
	}
	case 3:
		return below(64);
	default:
		return below(max + 1);
	}
}

static void count_read(u32 n)
{
	P.want.bytes[PKB_COPY_RX_READ] += n;
	P.want.events[PKB_COPY_RX_READ] += n ? 1 : 0;
}

static int empty_slot(void)
{
	int start = (int)below(SLOTS);
	for (int k = 0; k < SLOTS; k++)
		if (!P.m[(start + k) % SLOTS].b)
			return (start + k) % SLOTS;
	return -1;
}

static int full_slot(int except)
{
	int start = (int)below(SLOTS);
	for (int k = 0; k < SLOTS; k++) {
		int s = (start + k) % SLOTS;
		if (P.m[s].b && s != except)
			return s;
	}
	return -1;
}

static bool in_pool(const struct page *pg)
{
	for (int i = 0; i < POOL; i++)
		if (P.pool[i] == pg)
			return true;
	return false;
}

static void check_model(int step, int s)
{
	struct model *m = &P.m[s];
	struct pkb *b = m->b;
	check_frags(b);
	cr_assert_eq(b->len, m->len, "step %d slot %d: len %u, model %u", step, s, b->len, m->len);
	cr_assert_eq(pkb_hdr_len(b), m->hlen, "step %d slot %d: header len", step, s);
	cr_assert_eq(memcmp(pkb_hdr(b), m->hdr, m->hlen), 0, "step %d slot %d: headers", step, s);
	cr_assert_eq(pkb_copy_out(b, 0, outbuf, MAXPAY + PAGE_SIZE), m->len);
	count_read(m->len);
	if (memcmp(outbuf, m->pay, m->len) != 0) {
		u32 i = 0;
		while (outbuf[i] == m->pay[i])
			i++;
		cr_assert_fail("step %d slot %d: payload byte %u is %#x, model %#x", step, s, i,
			       outbuf[i], m->pay[i]);
	}
	if (m->aligned)
		cr_assert(pkb_payload_aligned(b), "step %d slot %d: payload lost its alignment",
			  step, s);
}

static void check_refcounts(int step)
{
	struct page_refs { struct page *pg; u32 refs; } seen[SLOTS * PKB_MAX_FRAGS + POOL];
	int n = 0;
	for (int i = 0; i < POOL; i++)
		seen[n++] = (struct page_refs){ P.pool[i], 1 };
	for (int s = 0; s < SLOTS; s++) {
		struct pkb *b = P.m[s].b;
		for (unsigned f = 0; b && f < b->nfrags; f++) {
			int k = 0;
			while (k < n && seen[k].pg != b->frags[f].page)
				k++;
			if (k == n)
				seen[n++] = (struct page_refs){ b->frags[f].page, 0 };
			seen[k].refs++;
		}
	}
	for (int k = 0; k < n; k++)
		cr_assert_eq(page_refcount(seen[k].pg), seen[k].refs,
			     "step %d: page %#llx has refcount %u, %u references exist", step,
			     (unsigned long long)page_to_phys(seen[k].pg),
			     page_refcount(seen[k].pg), seen[k].refs);
}

static void fill_fresh(struct model *m)
{
	struct pkb *b = m->b;
	u32 pos = 0;
	for (unsigned i = 0; i < b->nfrags; i++) {
		u8 *p = (u8 *)page_address(b->frags[i].page) + b->frags[i].off;
		for (u32 k = 0; k < b->frags[i].len; k++)
			p[k] = m->pay[pos++] = (u8)rnd();
	}
}

enum outcome { SKIPPED, DONE, REFUSED };

static int op_alloc(void)
{
	int s = empty_slot();
	if (s < 0)
		return SKIPPED;
	struct model *m = &P.m[s];
	m->hlen = 0;
	m->aligned = true;
	if (below(4) == 0) {
		m->b = pkb_alloc();
		cr_assert_not_null(m->b);
		m->len = 0;
		return DONE;
	}
	u32 len = below(8) == 0 ? MAXPAY + 1 + below(3 * PAGE_SIZE) : rnd_len(MAXPAY / 2);
	m->b = pkb_alloc_payload(len);
	if (len > MAXPAY) {
		cr_assert_null(m->b, "pkb_alloc_payload(%u)", len);
		return REFUSED;
	}
	cr_assert_not_null(m->b);
	m->len = len;
	fill_fresh(m);
	return DONE;
}

static int op_free(struct model *m)
{
	if (below(3))   /* rarer than the rest, so that packets grow */
		return SKIPPED;
	pkb_free(m->b);
	m->b = NULL;
	return DONE;
}

static int op_hdr_reset(struct model *m)
{
	if (below(8))
		return SKIPPED;
	pkb_hdr_reset(m->b);
	m->hlen = 0;
	return DONE;
}

static int op_push(struct model *m)
{
	u32 len = below(4) == 0 ? below(PKB_HDR_ROOM + 20) : below(40);
	u8 *h = pkb_push(m->b, len);
	if (m->hlen + len > PKB_HDR_ROOM) {
		cr_assert_null(h, "push %u onto %u header bytes", len, m->hlen);
		return REFUSED;
	}
	cr_assert_eq(h, pkb_hdr(m->b));
	memmove(m->hdr + len, m->hdr, m->hlen);
	for (u32 i = 0; i < len; i++)
		h[i] = m->hdr[i] = (u8)rnd();
	m->hlen += len;
	return DONE;
}

static int op_pull(struct model *m)
{
	u32 len = below(m->hlen + 10);
	u8 *h = pkb_pull(m->b, len);
	if (len > m->hlen) {
		cr_assert_null(h);
		return REFUSED;
	}
	cr_assert_eq(h, pkb_hdr(m->b));
	memmove(m->hdr, m->hdr + len, m->hlen - len);
	m->hlen -= len;
	return DONE;
}

static int op_add_frag(struct model *m)
{
	struct pkb *b = m->b;
	struct page *pg = P.pool[below(POOL)];
	u32 off = below(PAGE_SIZE + 1), len = below(PAGE_SIZE - off + 1);
	const struct pkb_frag *last = b->nfrags ? &b->frags[b->nfrags - 1] : NULL;
	if (last && in_pool(last->page) && below(2)) {
		/* continue the last fragment: must merge */
		pg = last->page;
		off = last->off + last->len;
		len = below(PAGE_SIZE - off + 1);
	}
	if (below(8) == 0) {   /* out of the page */
		off = below(PAGE_SIZE + 8);
		len = PAGE_SIZE - MIN(off, (u32)PAGE_SIZE) + 1 + below(8);
	}
	if (below(6) == 0)
		off = 0;
	bool bad = len == 0 || (u64)off + len > PAGE_SIZE;
	bool merge = !bad && last && last->page == pg && last->off + last->len == off;
	u16 nf = b->nfrags;
	int rc = pkb_add_frag(b, pg, off, len);
	if (bad || (!merge && nf == PKB_MAX_FRAGS)) {
		cr_assert_eq(rc, bad ? -EINVAL : -ENOSPC, "add_frag(off %u, len %u) = %d", off, len,
			     rc);
		return REFUSED;
	}
	cr_assert_eq(rc, 0, "add_frag(off %u, len %u)", off, len);
	cr_assert_eq(b->nfrags, nf + (merge ? 0 : 1), "merge expected: %d", merge);
	memcpy(m->pay + m->len, (u8 *)page_address(pg) + off, len);
	m->aligned = m->aligned && m->len % PAGE_SIZE == 0 && off == 0;
	m->len += len;
	return DONE;
}

static int op_trim(struct model *m)
{
	u32 len = rnd_len(m->len + 100);
	pkb_trim(m->b, len);
	m->len = MIN(m->len, len);
	return DONE;
}

static int op_advance(struct model *m)
{
	u32 len = rnd_len(m->len + 100);
	pkb_advance(m->b, len);
	if (len >= m->len) {
		m->len = 0;
	} else {
		memmove(m->pay, m->pay + len, m->len - len);
		m->len -= len;
		m->aligned = m->aligned && len % PAGE_SIZE == 0;
	}
	return DONE;
}

static int op_split(int s)
{
	int t = empty_slot();
	if (t < 0)
		return SKIPPED;
	struct model *m = &P.m[s], *n = &P.m[t];
	u32 at = rnd_len(m->len + 100);
	n->b = pkb_split(m->b, at);
	if (at > m->len) {
		cr_assert_null(n->b, "split at %u of %u", at, m->len);
		return REFUSED;
	}
	cr_assert_not_null(n->b);
	n->len = m->len - at;
	n->hlen = 0;
	memcpy(n->pay, m->pay + at, n->len);
	n->aligned = m->aligned && at % PAGE_SIZE == 0;
	m->len = at;
	return DONE;
}

static int op_join(int d)
{
	struct model *m = &P.m[d];
	if (below(16) == 0) {
		struct pkb copy = *m->b;
		cr_assert_eq(pkb_join(m->b, m->b), -EINVAL);
		cr_assert_eq(memcmp(&copy, m->b, sizeof(copy)), 0);
		return REFUSED;
	}
	int s = full_slot(d);
	if (s < 0)
		return SKIPPED;
	struct model *o = &P.m[s];
	struct pkb *db = m->b, *sb = o->b;
	bool merge = db->nfrags && sb->nfrags &&
		     db->frags[db->nfrags - 1].page == sb->frags[0].page &&
		     db->frags[db->nfrags - 1].off + db->frags[db->nfrags - 1].len == sb->frags[0].off;
	bool fits = db->nfrags + sb->nfrags - (merge ? 1 : 0) <= PKB_MAX_FRAGS;
	struct pkb dcopy = *db, scopy = *sb;
	int rc = pkb_join(db, sb);
	if (!fits) {
		cr_assert_eq(rc, -ENOSPC);
		cr_assert_eq(memcmp(&dcopy, db, sizeof(dcopy)), 0);
		cr_assert_eq(memcmp(&scopy, sb, sizeof(scopy)), 0);
		return REFUSED;
	}
	cr_assert_eq(rc, 0);
	memcpy(m->pay + m->len, o->pay, o->len);
	m->aligned = m->aligned && o->aligned && m->len % PAGE_SIZE == 0;
	m->len += o->len;
	o->b = NULL;
	return DONE;
}

static int op_clone(int s)
{
	int t = empty_slot();
	if (t < 0)
		return SKIPPED;
	struct model *m = &P.m[s], *n = &P.m[t];
	n->b = pkb_clone(m->b);
	cr_assert_not_null(n->b);
	n->len = m->len;
	n->hlen = m->hlen;
	n->aligned = m->aligned;
	memcpy(n->hdr, m->hdr, m->hlen);
	memcpy(n->pay, m->pay, m->len);
	return DONE;
}

static int op_copy_in(struct model *m)
{
	static u8 src[MAXPAY + PAGE_SIZE];
	u32 len = below(4) == 0 ? rnd_len(MAXPAY) : rnd_len(3 * PAGE_SIZE);
	for (u32 i = 0; i < len; i++)
		src[i] = (u8)rnd();
	u32 npages = (len + PAGE_SIZE - 1) / PAGE_SIZE, nf = m->b->nfrags;
	int rc = pkb_copy_in(m->b, src, len);
	if (nf + npages > PKB_MAX_FRAGS) {
		cr_assert_eq(rc, -ENOSPC, "copy_in(%u) with %u fragments", len, m->b->nfrags);
		return REFUSED;
	}
	cr_assert_eq(rc, 0, "copy_in(%u)", len);
	memcpy(m->pay + m->len, src, len);
	m->aligned = m->aligned && m->len % PAGE_SIZE == 0;
	m->len += len;
	P.want.bytes[PKB_COPY_TX_WRITE] += len;
	P.want.events[PKB_COPY_TX_WRITE] += len ? 1 : 0;
	return DONE;
}

static int op_copy_out(struct model *m)
{
	static u8 dst[MAXPAY];
	u32 off = rnd_len(m->len + 10), len = rnd_len(m->len + 10);
	u32 want = off >= m->len ? 0 : MIN(len, m->len - off);
	cr_assert_eq(pkb_copy_out(m->b, off, dst, len), want, "copy_out(%u, %u) of %u", off, len,
		     m->len);
	cr_assert_eq(memcmp(dst, m->pay + off, want), 0);
	count_read(want);
	return DONE;
}

static int op_to_sg(struct model *m)
{
	static u8 got[MAXPAY + PKB_HDR_ROOM];
	struct pkb_sg sg[PKB_MAX_FRAGS + 1];
	int max = (int)below(PKB_MAX_FRAGS + 2);
	int need = (m->hlen ? 1 : 0) + m->b->nfrags;
	int n = pkb_to_sg(m->b, sg, max);
	if (max < need) {
		cr_assert_eq(n, -ENOSPC);
		return REFUSED;
	}
	cr_assert_eq(n, need);
	if (m->hlen)
		cr_assert_eq(sg[0].len, m->hlen, "the headers are one entry, the first");
	cr_assert_eq(gather(sg, n, got), m->hlen + m->len);
	cr_assert_eq(memcmp(got, m->hdr, m->hlen), 0);
	cr_assert_eq(memcmp(got + m->hlen, m->pay, m->len), 0);
	return DONE;
}

static void prop_run(u64 seed, int steps)
{
	memset(&P, 0, sizeof(P));
	P.rng = seed;
	for (int i = 0; i < POOL; i++) {
		P.pool[i] = page_alloc(0);
		cr_assert_not_null(P.pool[i]);
		u8 *p = page_address(P.pool[i]);
		for (u32 k = 0; k < PAGE_SIZE; k++)
			p[k] = (u8)rnd();
	}
	pkb_copy_stats(&P.want);
	for (int step = 0; step < steps; step++) {
		int s = full_slot(-1), r = SKIPPED;
		u32 op = s < 0 ? 0 : below(16);
		struct model *m = s < 0 ? NULL : &P.m[s];
		switch (op) {
		case 0: r = op_alloc(); break;
		case 1: r = op_free(m); break;
		case 2: r = op_push(m); break;
		case 3: r = op_pull(m); break;
		case 4: r = op_hdr_reset(m); break;
		case 5: r = op_add_frag(m); break;
		case 6: r = op_add_frag(m); break;
		case 7: r = op_trim(m); break;
		case 8: r = op_advance(m); break;
		case 9: r = op_split(s); break;
		case 10: r = op_join(s); break;
		case 11: r = op_clone(s); break;
		case 12: r = op_copy_in(m); break;
		case 13: r = op_copy_out(m); break;
		case 14: r = op_to_sg(m); break;
		case 15: r = op_join(s); break;
		}
		P.done[op] += r == DONE;
		P.refused[op] += r == REFUSED;
		if (m && m->b && m->len == 0)
			m->aligned = true;
		for (int k = 0; k < SLOTS; k++)
			if (P.m[k].b)
				check_model(step, k);
		check_refcounts(step);
		struct pkb_copy_stats now;
		pkb_copy_stats(&now);
		cr_assert(same_stats(&now, &P.want), "step %d: copy counters moved wrongly "
			  "(tx_write %llu want %llu, rx_read %llu want %llu)", step,
			  (unsigned long long)now.bytes[PKB_COPY_TX_WRITE],
			  (unsigned long long)P.want.bytes[PKB_COPY_TX_WRITE],
			  (unsigned long long)now.bytes[PKB_COPY_RX_READ],
			  (unsigned long long)P.want.bytes[PKB_COPY_RX_READ]);
		u64 live = 0;
		for (int k = 0; k < SLOTS; k++)
			live += P.m[k].b != NULL;
		cr_assert_eq(pkb_live(), live, "step %d", step);
	}
	for (int k = 0; k < SLOTS; k++)
		pkb_free(P.m[k].b);
	for (int i = 0; i < POOL; i++)
		page_put(P.pool[i]);
	/* the generator must reach every operation, and the refusals of those
	 * that can refuse */
	static const char *const names[16] = { "alloc", "free", "push", "pull", "hdr_reset",
		"add_frag", "add_frag", "trim", "advance", "split", "join", "clone", "copy_in",
		"copy_out", "to_sg", "join" };
	for (int op = 0; op < 16; op++)
		cr_assert_gt(P.done[op], (u64)steps / 200, "%s done only %llu times", names[op],
			     (unsigned long long)P.done[op]);
	static const int refusing[] = { 0, 2, 3, 5, 9, 10, 12, 14 };
	for (unsigned k = 0; k < ARRAY_SIZE(refusing); k++)
		cr_assert_gt(P.refused[refusing[k]], (u64)steps / 1000, "%s refused only %llu times",
			     names[refusing[k]], (unsigned long long)P.refused[refusing[k]]);
	if (getenv("PKB_PROP_VERBOSE"))
		for (int op = 0; op < 16; op++)
			fprintf(stderr, "%-10s done %6llu refused %6llu\n", names[op],
				(unsigned long long)P.done[op], (unsigned long long)P.refused[op]);
	check_no_leaks();
}

Test(pkb, property_seed_1) { prop_run(0x9e3779b97f4a7c15ULL, 20000); }
Test(pkb, property_seed_2) { prop_run(0xc0ffee1234567ULL, 20000); }
Test(pkb, property_seed_3) { prop_run(42, 20000); }

/* ---- CPUs ---- */

struct worker {
	pthread_t thread;
	unsigned cpu;
	u64 read, written;
	const char *error;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	static const u8 src[3 * PAGE_SIZE];
	u8 dst[512];
	host_set_cpu(w->cpu);
	for (int i = 0; i < 400; i++) {
		struct pkb *b = pkb_alloc();
		if (!b || pkb_copy_in(b, src, (u32)(i % 3 + 1) * 1000) != 0) {
			w->error = "alloc or copy_in failed";
			return NULL;
		}
		w->written += (u32)(i % 3 + 1) * 1000;
		struct pkb *c = pkb_clone(b);
		w->read += pkb_copy_out(c, 10, dst, sizeof(dst));
		pkb_free(b);
		pkb_free(c);
	}
	return NULL;
}

/* Each thread counts on its own CPU's counters; the sums are exact. */
Test(pkb, counters_sum_over_cpus)
{
	struct worker w[4];
	struct pkb_copy_stats s0, s1;
	pkb_copy_stats(&s0);
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		w[i] = (struct worker){ .cpu = i + 1 };
		cr_assert_eq(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	}
	u64 read = 0, written = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		cr_assert_eq(pthread_join(w[i].thread, NULL), 0);
		cr_assert_null(w[i].error, "cpu %u: %s", w[i].cpu, w[i].error);
		read += w[i].read;
		written += w[i].written;
	}
	pkb_copy_stats(&s1);
	cr_assert_eq(s1.bytes[PKB_COPY_TX_WRITE] - s0.bytes[PKB_COPY_TX_WRITE], written);
	cr_assert_eq(s1.events[PKB_COPY_TX_WRITE] - s0.events[PKB_COPY_TX_WRITE], 4 * 400);
	cr_assert_eq(s1.bytes[PKB_COPY_RX_READ] - s0.bytes[PKB_COPY_RX_READ], read);
	cr_assert_eq(read, 4 * 400 * 512);
	check_no_leaks();
}

/* pkb_init not called: the first pkb_alloc calls, racing on several CPUs,
 * create exactly one cache. */
#define RACERS 6
static pthread_barrier_t init_barrier;

static void *racer_main(void *arg)
{
	host_set_cpu((unsigned)(uptr)arg);
	pthread_barrier_wait(&init_barrier);
	struct pkb *b = pkb_alloc();
	pthread_barrier_wait(&init_barrier);
	pkb_free(b);
	return b;
}

Test(pkb_init, first_use_races_create_one_cache, .init = host_slab_init, .timeout = 60)
{
	pthread_t t[RACERS];
	void *got[RACERS];
	int count;
	cache_stats("pkb", &count);
	cr_assert_eq(count, 0, "the cache exists before first use");
	pthread_barrier_init(&init_barrier, NULL, RACERS);
	for (unsigned i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, racer_main, (void *)(uptr)(i + 1)), 0);
	for (unsigned i = 0; i < RACERS; i++) {
		cr_assert_eq(pthread_join(t[i], &got[i]), 0);
		cr_assert_not_null(got[i], "racer %u got no pkb", i);
	}
	pthread_barrier_destroy(&init_barrier);
	cache_stats("pkb", &count);
	cr_assert_eq(count, 1, "%d pkb caches", count);
	pkb_init();
	cache_stats("pkb", &count);
	cr_assert_eq(count, 1, "pkb_init after first use made another cache");
	cr_assert_eq(pkb_live(), 0);
}

Test(pkb, pullup_moves_header_bytes_from_the_payload_front)
{
	static u8 model[3 * PAGE_SIZE];
	struct pkb *b = make_payload(2 * PAGE_SIZE + 100, 91, model);
	u8 *eth = pkb_push(b, 14);
	memset(eth, 0xee, 14);
	u64 moved0 = pkb_pullup_bytes();
	struct pkb_copy_stats s0, s1;
	pkb_copy_stats(&s0);

	cr_assert_eq(pkb_pullup(b, 10), pkb_hdr(b), "enough already: nothing moves");
	cr_assert_eq(pkb_hdr_len(b), 14);
	/* 14 header bytes in the zone, 28 more wanted from the payload */
	u8 *h = pkb_pullup(b, 42);
	cr_assert_not_null(h);
	cr_assert_eq(h, pkb_hdr(b));
	cr_assert_eq(pkb_hdr_len(b), 42);
	for (int i = 0; i < 14; i++)
		cr_assert_eq(h[i], 0xee, "the old headers stay in front");
	cr_assert_eq(memcmp(h + 14, model, 28), 0, "then the payload's first bytes");
	cr_assert_eq(b->len, 2 * PAGE_SIZE + 100 - 28);
	cr_assert_eq(pkb_pullup_bytes() - moved0, 28);
	pkb_copy_stats(&s1);
	for (int p = 0; p < PKB_COPY_NPATHS; p++)
		cr_assert_eq(s1.bytes[p], s0.bytes[p], "a pullup is not a payload copy");
	check_payload(b, model + 28, b->len);

	/* across a fragment boundary */
	struct pkb *c = pkb_alloc();
	struct page *pg = pattern_page(92);
	cr_assert_eq(pkb_add_frag(c, pg, 0, 5), 0);
	cr_assert_eq(pkb_add_frag(c, pg, 100, 50), 0);
	h = pkb_pullup(c, 20);
	cr_assert_not_null(h);
	const u8 *src = page_address(pg);
	cr_assert_eq(memcmp(h, src, 5), 0);
	cr_assert_eq(memcmp(h + 5, src + 100, 15), 0);
	cr_assert_eq(c->len, 35);
	cr_assert_eq(c->nfrags, 1);
	cr_assert_eq(c->frags[0].off, 115);

	/* refusals leave the pkb as it was */
	struct pkb copy = *c;
	cr_assert_null(pkb_pullup(c, 20 + 36), "packet too short");
	cr_assert_null(pkb_pullup(c, PKB_HDR_ROOM + 1), "zone too small");
	cr_assert_eq(memcmp(&copy, c, sizeof(copy)), 0);

	/* payload_ptr: in place, inside one fragment only */
	cr_assert_eq(pkb_payload_ptr(c, 0, 35), src + 115);
	cr_assert_eq(pkb_payload_ptr(c, 30, 5), src + 145);
	cr_assert_null(pkb_payload_ptr(c, 30, 6));
	cr_assert_null(pkb_payload_ptr(c, 0xffffffffu, 2));
	cr_assert_null(pkb_payload_ptr(b, PAGE_SIZE - 40, 20), "spans two fragments");
	pkb_free(b);
	pkb_free(c);
	page_put(pg);
	check_no_leaks();
}

Test(pkb, pullup_keeps_pulled_headers_restorable)
{
	static u8 model[PAGE_SIZE];
	struct pkb *b = make_payload(200, 93, model);
	u8 *h = pkb_push(b, 20);
	for (int i = 0; i < 20; i++)
		h[i] = (u8)(0xa0 + i);
	pkb_pull(b, 20);                       /* the "IP header" pulled */
	cr_assert_not_null(pkb_pullup(b, 8));  /* the next header from the payload */
	cr_assert_eq(memcmp(pkb_hdr(b), model, 8), 0);
	u8 *back = pkb_push(b, 20);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(back[i], 0xa0 + i, "pulled header byte %d restored", i);
	cr_assert_eq(memcmp(back + 20, model, 8), 0);
	pkb_free(b);
	check_no_leaks();
}
