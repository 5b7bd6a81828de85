/*
 * IPv4 fragments: reassembly on receive, fragmentation on send.
 *
 * Reassembly keeps at most REASS_DGRAMS datagrams in progress, holding at
 * most REASS_MEM bytes of buffers between them (a fragment costs its pkb
 * plus its pages) and REASS_FRAGS fragments each; when memory runs out the
 * oldest datagram is dropped to make room. A datagram not completed within
 * REASS_TIMEOUT_NS is dropped (and an ICMP time-exceeded goes back when its
 * first fragment came). Fragments are kept sorted by offset: an exact
 * duplicate is dropped alone; any other overlap drops the whole datagram
 * (RFC 5722's rule, applied to IPv4); a non-last fragment whose length is
 * not a multiple of 8, or fragments past the end the last one set, or past
 * 65535 bytes, drop it too. Fragments of one datagram may come in on
 * different CPUs (only the first carries the ports the NIC hashes), so one
 * lock [F] guards it all.
 *
 * A stored fragment has its IPv4 header pulled (b->nh_len long, still in
 * memory in front of the zone) and its data offset in b->hash. Only the
 * first fragment may keep data in its header zone (the transport header the
 * driver split off); the others' data is all payload. The reassembled
 * datagram is the first fragment with the others' payload joined on: no
 * payload byte moves.
 */
#include "netstack/net_priv.h"
#include "kernel/lib/string.h"

#define REASS_DGRAMS 64
#define REASS_FRAGS 64
#define REASS_MEM (4u << 20)
#define REASS_TIMEOUT_NS (30ULL * 1000000000ULL)

struct reass {
	bool used;
	ip4_t src, dst;
	u16 id;
	u8 proto;
	u64 start_ns;
	u32 total;          /* data length, known once the last fragment came */
	u32 have;           /* data bytes held */
	u32 nfrags, npages;
	u32 mem;
	struct pkb *frags;  /* sorted by offset (b->hash), linked by ->next */
};

static struct reass dgrams[REASS_DGRAMS];   /* [F] */
static u32 mem_used;                        /* [F] */
static u64 reassembled, fragments_sent;     /* [F] / [atomic] */
static spinlock_t frag_lock = SPINLOCK_INIT("ip_frag");

static u32 frag_data(const struct pkb *b) { return pkb_hdr_len(b) + b->len; }
static u32 frag_cost(const struct pkb *b) { return (u32)sizeof(*b) + b->nfrags * PAGE_SIZE; }

/* Unlink a datagram; its fragments come back as a list to free unlocked. */
static struct pkb *release(struct reass *r)
{
	struct pkb *l = r->frags;
	mem_used -= r->mem;
	memset(r, 0, sizeof(*r));
	return l;
}

static void free_list(struct pkb *l, enum net_drop why)
{
	while (l) {
		struct pkb *n = l->next;
		l->next = NULL;
		net_drop(l, why);
		l = n;
	}
}

static struct reass *find_or_new(const struct ip_hdr *ip, u64 now, struct pkb **evicted)
{
	struct reass *free_slot = NULL, *oldest = NULL;
	for (int i = 0; i < REASS_DGRAMS; i++) {
		struct reass *r = &dgrams[i];
		if (!r->used) {
			free_slot = free_slot ? free_slot : r;
			continue;
		}
		if (r->src == be32(ip->src) && r->dst == be32(ip->dst) && r->id == be16(ip->id) &&
		    r->proto == ip->proto)
			return r;
		if (!oldest || r->start_ns < oldest->start_ns)
			oldest = r;
	}
	if (!free_slot) {
		*evicted = release(oldest);
		free_slot = oldest;
	}
	free_slot->used = true;
	free_slot->src = be32(ip->src);
	free_slot->dst = be32(ip->dst);
	free_slot->id = be16(ip->id);
	free_slot->proto = ip->proto;
	free_slot->start_ns = now;
	return free_slot;
}

/* Where the data held so far ends. */
static u32 data_end(const struct reass *r)
{
	u32 e = 0;
	for (const struct pkb *p = r->frags; p; p = p->next)
		e = MAX(e, p->hash + frag_data(p));
	return e;
}

static struct reass *oldest_other(const struct reass *keep)
{
	struct reass *o = NULL;
	for (int i = 0; i < REASS_DGRAMS; i++) {
		struct reass *r = &dgrams[i];
		if (r->used && r != keep && (!o || r->start_ns < o->start_ns))
			o = r;
	}
	return o;
}

/* Join the fragments into the first; NULL if pkb_join refused (cannot
 * happen within the page budget checked on insert, but stays safe). */
static struct pkb *assemble(struct reass *r)
{
	struct pkb *first = r->frags, *f = first->next;
	first->next = NULL;
	u32 total = r->total, hl = first->nh_len;
	while (f) {
		struct pkb *n = f->next;
		f->next = NULL;
		if (pkb_join(first, f) != 0) {
			pkb_free(f);
			free_list(n, NET_DROP_frag_too_many);
			net_drop(first, NET_DROP_frag_too_many);
			return NULL;
		}
		f = n;
	}
	struct ip_hdr *ip = (struct ip_hdr *)pkb_push(first, hl);
	put_be16(ip->len, (u16)(hl + total));
	put_be16(ip->frag_off, 0);
	put_be16(ip->csum, 0);
	put_be16(ip->csum, (u16)~csum_fold(csum_add(0, ip, hl)));
	first->flags &= ~(PKB_CSUM_VALID | PKB_CSUM_PARTIAL);
	return first;
}

struct pkb *ip_reass(struct pkb *b)
{
	struct ip_hdr *ip = (struct ip_hdr *)pkb_hdr(b);
	u32 hl = ip_hlen(ip);
	u16 fo = be16(ip->frag_off);
	u32 off = (u32)(fo & IP_OFFMASK) * 8;
	bool more = fo & IP_MF;
	struct ip_hdr hdr_copy;
	memcpy(&hdr_copy, ip, sizeof(hdr_copy));
	pkb_pull(b, hl);
	b->nh_len = (u16)hl;
	b->hash = off;
	b->next = NULL;
	u32 len = frag_data(b);
	if ((more && (len == 0 || (len & 7))) || (off && pkb_hdr_len(b))) {
		net_drop(b, NET_DROP_frag_bad);
		return NULL;
	}
	if (off + len > IP_MAX_LEN - hl) {
		net_drop(b, NET_DROP_frag_too_big);
		return NULL;
	}
	u64 now = net_now_ns();
	struct pkb *dead = NULL, *evicted = NULL, *done = NULL;
	enum net_drop why = NET_DROP_frag_bad;
	spin_lock(&frag_lock);
	struct reass *r = find_or_new(&hdr_copy, now, &evicted);
	u32 end = off + len;
	if ((r->total && end > r->total) || (!more && (end < data_end(r) || (r->total && end != r->total)))) {
		why = NET_DROP_frag_bad;
		goto drop_dgram;
	}
	/* where it goes, and what it overlaps */
	struct pkb **pp = &r->frags;
	while (*pp && (*pp)->hash < off)
		pp = &(*pp)->next;
	struct pkb *prev = NULL;
	for (struct pkb *p = r->frags; p && p != *pp; p = p->next)
		prev = p;
	if (*pp && (*pp)->hash == off && frag_data(*pp) == len) {
		spin_unlock(&frag_lock);
		free_list(evicted, NET_DROP_frag_mem);
		net_drop(b, NET_DROP_frag_dup);
		return NULL;
	}
	if ((prev && prev->hash + frag_data(prev) > off) || (*pp && (*pp)->hash < end)) {
		why = NET_DROP_frag_overlap;
		goto drop_dgram;
	}
	if (r->nfrags == REASS_FRAGS || r->npages + b->nfrags > PKB_MAX_FRAGS) {
		why = NET_DROP_frag_too_many;
		goto drop_dgram;
	}
	u32 cost = frag_cost(b);
	while (mem_used + cost > REASS_MEM) {
		struct reass *o = oldest_other(r);
		if (!o) {
			why = NET_DROP_frag_mem;
			goto drop_dgram;
		}
		struct pkb *l = release(o);
		while (l) { /* onto the evicted list */
			struct pkb *n = l->next;
			l->next = evicted;
			evicted = l;
			l = n;
		}
	}
	b->next = *pp;
	*pp = b;
	r->nfrags++;
	r->npages += b->nfrags;
	r->have += len;
	r->mem += cost;
	mem_used += cost;
	if (!more)
		r->total = end;
	if (r->total && r->have == r->total && r->frags->hash == 0) {
		done = r->frags;
		mem_used -= r->mem;
		struct reass copy = *r;
		memset(r, 0, sizeof(*r));
		copy.frags = done;
		reassembled++;
		spin_unlock(&frag_lock);
		free_list(evicted, NET_DROP_frag_mem);
		return assemble(&copy);
	}
	spin_unlock(&frag_lock);
	free_list(evicted, NET_DROP_frag_mem);
	return NULL;

drop_dgram:
	dead = release(r);
	spin_unlock(&frag_lock);
	free_list(evicted, NET_DROP_frag_mem);
	free_list(dead, why);
	net_drop(b, why);
	return NULL;
}

void ip_frag_tick(u64 now)
{
	struct pkb *dead = NULL, *first_of_expired[4];
	int nfirst = 0;
	spin_lock(&frag_lock);
	for (int i = 0; i < REASS_DGRAMS; i++) {
		struct reass *r = &dgrams[i];
		if (!r->used || now - r->start_ns < REASS_TIMEOUT_NS)
			continue;
		struct pkb *l = release(r);
		if (l && l->hash == 0 && nfirst < 4) { /* keep the first to quote it */
			first_of_expired[nfirst++] = l;
			struct pkb *n = l->next;
			l->next = NULL;
			net_count_drop(NET_DROP_frag_timeout);
			l = n;
		}
		while (l) {
			struct pkb *n = l->next;
			l->next = dead;
			dead = l;
			l = n;
		}
	}
	spin_unlock(&frag_lock);
	free_list(dead, NET_DROP_frag_timeout);
	for (int i = 0; i < nfirst; i++) {
		struct pkb *f = first_of_expired[i];
		if (pkb_push(f, f->nh_len))
			icmp_send_error(f, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME);
		pkb_free(f);
	}
}

void ip_frag_flush(void)
{
	ip_frag_tick(~0ULL);
}

void ip_frag_stats(struct frag_stats *out)
{
	memset(out, 0, sizeof(*out));
	spin_lock(&frag_lock);
	for (int i = 0; i < REASS_DGRAMS; i++)
		if (dgrams[i].used)
			out->datagrams++;
	out->bytes = mem_used;
	out->reassembled = reassembled;
	spin_unlock(&frag_lock);
	out->fragments_sent = __atomic_load_n(&fragments_sent, __ATOMIC_RELAXED);
}

/* ---- fragmentation ---- */

static int send_fragment(struct netif *ifp, struct pkb *f, const struct ip_hdr *hdr, u32 off,
			 bool more, ip4_t nh)
{
	u32 data = pkb_hdr_len(f) + f->len;
	struct ip_hdr *ip = (struct ip_hdr *)pkb_push(f, IP_HLEN);
	if (!ip) {
		net_drop(f, NET_DROP_tx_error);
		return -ENOSPC;
	}
	memcpy(ip, hdr, IP_HLEN);
	put_be16(ip->len, (u16)(IP_HLEN + data));
	put_be16(ip->frag_off, (u16)((off / 8) | (more ? IP_MF : 0)));
	put_be16(ip->csum, 0);
	put_be16(ip->csum, (u16)~csum_fold(csum_add(0, ip, IP_HLEN)));
	__atomic_fetch_add(&fragments_sent, 1, __ATOMIC_RELAXED);
	return arp_output(ifp, f, nh);
}

int ip_fragment(struct netif *ifp, struct pkb *b, const struct ip_hdr *hdr, ip4_t nh)
{
	u32 maxdata = ((u32)ifp->mtu - IP_HLEN) & ~7u;
	u32 zone = pkb_hdr_len(b);
	if (maxdata < 8 || zone > maxdata) {
		net_drop(b, NET_DROP_frag_bad);
		return -EMSGSIZE;
	}
	u32 off = 0;
	struct pkb *cur = b;
	while (cur) {
		u32 data = pkb_hdr_len(cur) + cur->len;
		struct pkb *rest = NULL;
		if (data > maxdata) {
			rest = pkb_split(cur, maxdata - pkb_hdr_len(cur));
			if (!rest) {
				net_drop(cur, NET_DROP_nomem);
				return -ENOMEM;
			}
			data = maxdata;
		}
		int err = send_fragment(ifp, cur, hdr, off, rest != NULL, nh);
		off += data;
		cur = rest;
		if (err && err != -EAGAIN && cur) {
			net_drop(cur, NET_DROP_tx_error);
			return err;
		}
	}
	return 0;
}
