/*
 * zerocopy/pkb.c host tests: random operations against a model (fixture and
 * checks: pkb_check.h).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/pkb_check.h"

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
