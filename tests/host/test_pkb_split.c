/*
 * zerocopy/pkb.c host tests: split, join and clone (fixture and checks: pkb_check.h).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/pkb_check.h"

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
