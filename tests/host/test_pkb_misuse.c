/*
 * zerocopy/pkb.c host tests: bad inputs change nothing, running out of memory
 * unwinds, misuse panics (fixture and checks: pkb_check.h).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/pkb_check.h"

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
