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
 *
 * This file: life cycle, headers, fragments, trim and advance, pull-up. By
 * subject also: test_pkb_split.c (split, join, clone), test_pkb_copy.c
 * (copies and their counters, scatter/gather), test_pkb_misuse.c (bad
 * inputs, out of memory, misuse that panics), test_pkb_model.c (random
 * operations against a model), test_pkb_cpus.c (per-CPU counters, the
 * first use racing); the fixture and checks are in pkb_check.c.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/pkb_check.h"

TestSuite(pkb, .init = pkb_setup, .timeout = 60);

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
