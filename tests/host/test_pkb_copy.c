/*
 * zerocopy/pkb.c host tests: copies and their counters, scatter/gather lists
 * (fixture and checks: pkb_check.h).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/pkb_check.h"

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
