/*
 * Packet buffers, headers last: the implementation of zerocopy/pkb.h (read
 * that first for the layout, ownership and copy accounting).
 *
 * Invariants of a pkb, kept by every function here:
 *   - nfrags <= PKB_MAX_FRAGS, and len is the sum of frags[0..nfrags).len;
 *   - every fragment has 0 < len and off + len <= PAGE_SIZE, and holds one
 *     reference to its page; slots past nfrags are never read (this file
 *     clears them, but drivers that fill a pkb by hand need not);
 *   - hdr_start <= PKB_HDR_ROOM.
 * Payload bytes never move, except in the two functions that say they copy
 * (pkb_copy_in, pkb_copy_out), which count it. Moving fragment descriptors
 * (advance, split, join) copies no payload and counts nothing.
 *
 * Locks: none. A pkb belongs to one thread at a time (pkb.h); the shared
 * state here is the object cache (created once, [once]), the live count
 * ([atomic]) and the per-CPU copy counters ([atomic] per slot, so a thread
 * that migrates between reading cpu_id() and adding loses nothing).
 */
#include "zerocopy/pkb.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

static struct kmem_cache *pkb_cache;   /* [once] set by pkb_init */
static int pkb_init_state;             /* [atomic] 0 none, 1 creating, 2 done */
static u64 live;                       /* [atomic] */

struct copy_counts {
	u64 bytes[PKB_COPY_NPATHS];
	u64 events[PKB_COPY_NPATHS];
} __aligned(CACHELINE);
static struct copy_counts copy_counts[MAX_CPUS];   /* [atomic] */

static const char *const path_names[PKB_COPY_NPATHS] = {
	[PKB_COPY_TX_WRITE] = "tx_write",
	[PKB_COPY_RX_READ] = "rx_read",
	[PKB_COPY_RX_MISS] = "rx_miss",
	[PKB_COPY_TX_LINEARIZE] = "tx_linearize",
};

/* ---- life cycle ---- */

void pkb_init(void)
{
	int state = 0;
	if (__atomic_load_n(&pkb_init_state, __ATOMIC_ACQUIRE) == 2)
		return;
	if (__atomic_compare_exchange_n(&pkb_init_state, &state, 1, false, __ATOMIC_ACQUIRE,
					__ATOMIC_ACQUIRE)) {
		/* no preemption while others may spin on us */
		preempt_disable();
		struct kmem_cache *c = kmem_cache_create("pkb", sizeof(struct pkb));
		if (!c)
			panic("pkb_init: cannot create the pkb cache");
		__atomic_store_n(&pkb_cache, c, __ATOMIC_RELEASE);
		__atomic_store_n(&pkb_init_state, 2, __ATOMIC_RELEASE);
		preempt_enable();
		return;
	}
	while (__atomic_load_n(&pkb_init_state, __ATOMIC_ACQUIRE) != 2)
		cpu_pause();
}

static struct kmem_cache *cache(void)
{
	struct kmem_cache *c = __atomic_load_n(&pkb_cache, __ATOMIC_ACQUIRE);
	if (unlikely(!c)) {
		pkb_init();
		c = __atomic_load_n(&pkb_cache, __ATOMIC_ACQUIRE);
	}
	return c;
}

struct pkb *pkb_alloc(void)
{
	struct pkb *b = kmem_cache_alloc(cache());
	if (!b)
		return NULL;
	/* the header zone is written before it is read (pkb_push) */
	memset(b, 0, offsetof(struct pkb, hdr));
	b->hdr_start = PKB_HDR_ROOM;
	__atomic_fetch_add(&live, 1, __ATOMIC_RELAXED);
	return b;
}

static void append(struct pkb *b, struct page *page, u32 off, u32 len)
{
	b->frags[b->nfrags++] = (struct pkb_frag){ page, off, len };
	b->len += len;
}

struct pkb *pkb_alloc_payload(u32 len)
{
	if (len > (u32)PKB_MAX_FRAGS * PAGE_SIZE)
		return NULL;
	struct pkb *b = pkb_alloc();
	if (!b)
		return NULL;
	while (b->len < len) {
		struct page *pg = page_alloc(0);
		if (!pg) {
			pkb_free(b);
			return NULL;
		}
		append(b, pg, 0, MIN(len - b->len, (u32)PAGE_SIZE));
	}
	return b;
}

/* Drop the references of fragments [from, nfrags) and clear their slots;
 * the caller fixes len. */
static void drop_frags(struct pkb *b, unsigned from)
{
	for (unsigned i = from; i < b->nfrags; i++) {
		page_put(b->frags[i].page);
		b->frags[i] = (struct pkb_frag){ 0 };
	}
	if (from < b->nfrags)
		b->nfrags = (u16)from;
}

void pkb_free(struct pkb *b)
{
	if (!b)
		return;
	drop_frags(b, 0);
	b->len = 0;
	/* a second pkb_free of b gets here with no fragments, and the slab
	 * check panics ("double free") before the live count moves */
	kmem_cache_free(cache(), b);
	__atomic_fetch_sub(&live, 1, __ATOMIC_RELAXED);
}

u64 pkb_live(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }

/* ---- headers ---- */

u8 *pkb_push(struct pkb *b, u32 len)
{
	if (len > b->hdr_start)
		return NULL;
	b->hdr_start = (u16)(b->hdr_start - len);
	return b->hdr + b->hdr_start;
}

u8 *pkb_pull(struct pkb *b, u32 len)
{
	if (len > pkb_hdr_len(b))
		return NULL;
	b->hdr_start = (u16)(b->hdr_start + len);
	return b->hdr + b->hdr_start;
}

void pkb_hdr_reset(struct pkb *b) { b->hdr_start = PKB_HDR_ROOM; }

static u64 pullup_bytes[MAX_CPUS]; /* per CPU */

u8 *pkb_pullup(struct pkb *b, u32 len)
{
	u32 have = pkb_hdr_len(b);
	if (have >= len)
		return pkb_hdr(b);
	u32 k = len - have;
	if (len > PKB_HDR_ROOM || k > b->len)
		return NULL;
	/* the whole zone moves, so headers pulled earlier (still in front of
	 * hdr_start) keep their place relative to the rest and can be pushed
	 * back */
	memmove(b->hdr, b->hdr + k, PKB_HDR_ROOM - k);
	b->hdr_start = (u16)(b->hdr_start - k);
	u8 *dst = b->hdr + PKB_HDR_ROOM - k;
	for (u32 done = 0, i = 0; done < k; i++) {
		u32 n = MIN(k - done, b->frags[i].len);
		memcpy(dst + done, (const u8 *)page_address(b->frags[i].page) + b->frags[i].off, n);
		done += n;
	}
	pkb_advance(b, k);
	__atomic_fetch_add(&pullup_bytes[cpu_id()], k, __ATOMIC_RELAXED);
	return pkb_hdr(b);
}

u64 pkb_pullup_bytes(void)
{
	u64 s = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++)
		s += __atomic_load_n(&pullup_bytes[c], __ATOMIC_RELAXED);
	return s;
}

const u8 *pkb_payload_ptr(const struct pkb *b, u32 off, u32 len)
{
	if (off > b->len || len > b->len - off)
		return NULL;
	for (unsigned i = 0; i < b->nfrags; i++) {
		const struct pkb_frag *f = &b->frags[i];
		if (off < f->len) {
			if (len > f->len - off)
				return NULL;
			return (const u8 *)page_address(f->page) + f->off + off;
		}
		off -= f->len;
	}
	return len == 0 ? (const u8 *)"" : NULL;
}

/* ---- payload ---- */

static bool contiguous(const struct pkb_frag *a, const struct pkb_frag *b)
{
	return a->page == b->page && a->off + a->len == b->off;
}

int pkb_add_frag(struct pkb *b, struct page *page, u32 off, u32 len)
{
	if (!page || len == 0 || len > PAGE_SIZE || off > PAGE_SIZE - len)
		return -EINVAL;
	if (b->nfrags) {
		struct pkb_frag *last = &b->frags[b->nfrags - 1];
		if (contiguous(last, &(struct pkb_frag){ page, off, len })) {
			last->len += len;
			b->len += len;
			return 0;
		}
	}
	if (b->nfrags == PKB_MAX_FRAGS)
		return -ENOSPC;
	page_get(page);
	append(b, page, off, len);
	return 0;
}

/* The fragment holding payload byte `at` (< b->len), and at's offset in it. */
static unsigned frag_at(const struct pkb *b, u32 at, u32 *skip)
{
	unsigned i = 0;
	while (at >= b->frags[i].len)
		at -= b->frags[i++].len;
	*skip = at;
	return i;
}

void pkb_trim(struct pkb *b, u32 len)
{
	if (len >= b->len)
		return;
	if (len == 0) {
		drop_frags(b, 0);
	} else {
		/* byte len-1 is the last one kept */
		u32 skip;
		unsigned i = frag_at(b, len - 1, &skip);
		b->frags[i].len = skip + 1;
		drop_frags(b, i + 1);
	}
	b->len = len;
}

void pkb_advance(struct pkb *b, u32 len)
{
	if (len >= b->len) {
		drop_frags(b, 0);
		b->len = 0;
		return;
	}
	u32 skip;
	unsigned i = frag_at(b, len, &skip);
	for (unsigned k = 0; k < i; k++)
		page_put(b->frags[k].page);
	b->frags[i].off += skip;
	b->frags[i].len -= skip;
	unsigned n = b->nfrags - i;
	memmove(&b->frags[0], &b->frags[i], n * sizeof(b->frags[0]));
	memset(&b->frags[n], 0, i * sizeof(b->frags[0]));
	b->nfrags = (u16)n;
	b->len -= len;
}

struct pkb *pkb_split(struct pkb *b, u32 at)
{
	if (at > b->len)
		return NULL;
	struct pkb *t = pkb_alloc();
	if (!t || at == b->len)
		return t;
	u32 skip;
	unsigned i = frag_at(b, at, &skip);
	unsigned keep = i;
	if (skip) {
		/* the fragment straddles the cut: both sides reference its page */
		struct pkb_frag *f = &b->frags[i];
		page_get(f->page);
		append(t, f->page, f->off + skip, f->len - skip);
		f->len = skip;
		keep = i + 1;
	}
	for (unsigned k = keep; k < b->nfrags; k++) {
		append(t, b->frags[k].page, b->frags[k].off, b->frags[k].len);
		b->frags[k] = (struct pkb_frag){ 0 };
	}
	b->nfrags = (u16)keep;
	b->len = at;
	return t;
}

int pkb_join(struct pkb *dst, struct pkb *src)
{
	if (dst == src)
		return -EINVAL;
	unsigned first = 0;
	if (dst->nfrags && src->nfrags &&
	    contiguous(&dst->frags[dst->nfrags - 1], &src->frags[0]))
		first = 1;
	if (dst->nfrags + src->nfrags - first > PKB_MAX_FRAGS)
		return -ENOSPC;
	if (first) {
		/* two references become one fragment: dst's keeps the page */
		dst->frags[dst->nfrags - 1].len += src->frags[0].len;
		dst->len += src->frags[0].len;
		page_put(src->frags[0].page);
	}
	for (unsigned k = first; k < src->nfrags; k++)
		append(dst, src->frags[k].page, src->frags[k].off, src->frags[k].len);
	memset(src->frags, 0, src->nfrags * sizeof(src->frags[0]));
	src->nfrags = 0;
	src->len = 0;
	pkb_free(src);
	return 0;
}

struct pkb *pkb_clone(const struct pkb *b)
{
	struct pkb *c = pkb_alloc();
	if (!c)
		return NULL;
	memcpy(c, b, offsetof(struct pkb, hdr));
	c->next = NULL;
	for (unsigned i = 0; i < c->nfrags; i++)
		page_get(c->frags[i].page);
	memcpy(pkb_hdr(c), b->hdr + b->hdr_start, pkb_hdr_len(b));
	return c;
}

u32 pkb_copy_out(const struct pkb *b, u32 off, void *dst, u32 len)
{
	if (off >= b->len || len == 0)
		return 0;
	len = MIN(len, b->len - off);
	u32 skip, done = 0;
	for (unsigned i = frag_at(b, off, &skip); done < len; i++, skip = 0) {
		const struct pkb_frag *f = &b->frags[i];
		u32 n = MIN(f->len - skip, len - done);
		memcpy((u8 *)dst + done, (const u8 *)page_address(f->page) + f->off + skip, n);
		done += n;
	}
	pkb_count_copy(PKB_COPY_RX_READ, len);
	return len;
}

int pkb_copy_in(struct pkb *b, const void *src, u32 len)
{
	struct page *pg[PKB_MAX_FRAGS];
	if (len == 0)
		return 0;
	u64 npages = ((u64)len + PAGE_SIZE - 1) / PAGE_SIZE;
	if (b->nfrags + npages > PKB_MAX_FRAGS)
		return -ENOSPC;
	for (unsigned k = 0; k < npages; k++) {
		pg[k] = page_alloc(0);
		if (!pg[k]) {
			while (k--)
				page_put(pg[k]);
			return -ENOMEM;
		}
	}
	for (unsigned k = 0; k < npages; k++) {
		u32 n = MIN(len - k * (u32)PAGE_SIZE, (u32)PAGE_SIZE);
		memcpy(page_address(pg[k]), (const u8 *)src + (u64)k * PAGE_SIZE, n);
		append(b, pg[k], 0, n);
	}
	pkb_count_copy(PKB_COPY_TX_WRITE, len);
	return 0;
}

bool pkb_payload_aligned(const struct pkb *b)
{
	for (unsigned i = 0; i < b->nfrags; i++) {
		if (b->frags[i].off != 0)
			return false;
		if (i + 1 < b->nfrags && b->frags[i].len != PAGE_SIZE)
			return false;
	}
	return true;
}

/* ---- scatter/gather ---- */

int pkb_to_sg(struct pkb *b, struct pkb_sg *sg, int max)
{
	u32 hlen = pkb_hdr_len(b);
	int need = (hlen ? 1 : 0) + b->nfrags, n = 0;
	if (max < need)
		return -ENOSPC;
	if (hlen)
		sg[n++] = (struct pkb_sg){ virt_to_phys(pkb_hdr(b)), hlen };
	for (unsigned i = 0; i < b->nfrags; i++)
		sg[n++] = (struct pkb_sg){ page_to_phys(b->frags[i].page) + b->frags[i].off,
					   b->frags[i].len };
	return n;
}

/* ---- copy accounting ---- */

void pkb_count_copy(enum pkb_copy_path path, u64 bytes)
{
	if ((unsigned)path >= PKB_COPY_NPATHS || bytes == 0)
		return;
	struct copy_counts *c = &copy_counts[cpu_id()];
	__atomic_fetch_add(&c->bytes[path], bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->events[path], 1, __ATOMIC_RELAXED);
}

void pkb_copy_stats(struct pkb_copy_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		for (unsigned p = 0; p < PKB_COPY_NPATHS; p++) {
			out->bytes[p] += __atomic_load_n(&copy_counts[c].bytes[p], __ATOMIC_RELAXED);
			out->events[p] += __atomic_load_n(&copy_counts[c].events[p], __ATOMIC_RELAXED);
		}
	}
}

const char *pkb_copy_path_name(enum pkb_copy_path path)
{
	return (unsigned)path < PKB_COPY_NPATHS ? path_names[path] : "?";
}
