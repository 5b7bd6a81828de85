/*
 * ICMP (RFC 792, RFC 1122 §3.2.2): echo replies at any size up to a full
 * datagram (the request's pages go back out as they came; the reply is
 * fragmented on the way out when it has to be), destination-unreachable and
 * time-exceeded errors, rate-limited by a token bucket (ICMP_RATE a second,
 * bursts of ICMP_BURST). No error is sent about an ICMP error, a broadcast,
 * a non-first fragment or a bad source (RFC 1122 §3.2.2).
 */
#include "netstack/net_priv.h"
#include "kernel/lib/string.h"

#define ICMP_RATE 100
#define ICMP_BURST 20
#define ICMP_QUOTE 8        /* data bytes quoted after the IPv4 header */

static u64 echo_requests, echo_replies, errors_sent, errors_received; /* [atomic] */
static spinlock_t rate_lock = SPINLOCK_INIT("icmp_rate");
static u64 tokens_ns;       /* [rate_lock] token bucket, in ns of credit */
static u64 last_ns;

static bool rate_ok(void)
{
	const u64 per = 1000000000ULL / ICMP_RATE, cap = per * ICMP_BURST;
	u64 now = net_now_ns();
	bool ok = false;
	spin_lock(&rate_lock);
	if (last_ns == 0)
		tokens_ns = cap;
	else
		tokens_ns = MIN(cap, tokens_ns + (now - last_ns));
	last_ns = now;
	if (tokens_ns >= per) {
		tokens_ns -= per;
		ok = true;
	}
	spin_unlock(&rate_lock);
	return ok;
}

static void echo_reply(struct pkb *b, ip4_t src, ip4_t dst)
{
	struct icmp_hdr *h = (struct icmp_hdr *)pkb_hdr(b);
	/* RFC 1624 incremental update: the type/code word goes 0x0800 -> 0 */
	u32 s = (u16)~be16(h->csum);
	s += (u16)~(ICMP_ECHO << 8);
	h->type = ICMP_ECHO_REPLY;
	put_be16(h->csum, (u16)~csum_fold(s));
	b->flags = 0;
	b->gso_size = b->gso_type = 0;
	__atomic_fetch_add(&echo_replies, 1, __ATOMIC_RELAXED);
	ip_output(b, net_is_local(dst) ? dst : 0, src, IPPROTO_ICMP, false);
}

void icmp_input(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst)
{
	struct icmp_hdr *h = (struct icmp_hdr *)pkb_pullup(b, ICMP_HLEN);
	if (!h) {
		net_drop(b, NET_DROP_icmp_short);
		return;
	}
	if (!(b->flags & PKB_CSUM_VALID)) {
		u32 zone = pkb_hdr_len(b);
		u32 s = csum_pkb_payload(b, zone, csum_add(0, h, zone));
		if (csum_fold(s) != 0xffff) {
			net_drop(b, NET_DROP_icmp_csum);
			return;
		}
	}
	switch (h->type) {
	case ICMP_ECHO:
		__atomic_fetch_add(&echo_requests, 1, __ATOMIC_RELAXED);
		if (net_is_broadcast(ifp, dst)) {
			net_drop(b, NET_DROP_icmp_type); /* no replies to broadcast pings */
			return;
		}
		echo_reply(b, src, dst);
		return;
	case ICMP_DEST_UNREACH:
	case ICMP_TIME_EXCEEDED:
		__atomic_fetch_add(&errors_received, 1, __ATOMIC_RELAXED);
		pkb_free(b);
		return;
	case ICMP_ECHO_REPLY:
		pkb_free(b);
		return;
	default:
		net_drop(b, NET_DROP_icmp_type);
	}
}

static bool is_icmp_error(u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == 4 ||
	       type == 5 || type == 12;
}

void icmp_send_error(struct pkb *orig, u8 type, u8 code)
{
	const struct ip_hdr *ip = (const struct ip_hdr *)pkb_hdr(orig);
	u32 zone = pkb_hdr_len(orig);
	if (zone < IP_HLEN || zone < ip_hlen(ip))
		return;
	u32 hl = ip_hlen(ip);
	ip4_t src = be32(ip->src), dst = be32(ip->dst);
	if (src == 0 || src == IP4_BROADCAST || (src >> 28) >= 14 || (dst >> 28) >= 14 ||
	    dst == IP4_BROADCAST || (be16(ip->frag_off) & IP_OFFMASK))
		return;
	/* the quote: the IPv4 header and the first bytes of its data, from the
	 * zone and then the payload (header bytes, however the NIC split them) */
	u8 quote[IP_MAX_HLEN + ICMP_QUOTE];
	u32 data = MIN((u32)ICMP_QUOTE, zone - hl + orig->len);
	u32 qlen = hl + data, from_zone = MIN(qlen, zone);
	memcpy(quote, ip, from_zone);
	for (u32 i = 0, k = from_zone; k < qlen && i < orig->nfrags; i++) {
		const struct pkb_frag *f = &orig->frags[i];
		u32 n = MIN(qlen - k, f->len);
		memcpy(quote + k, (const u8 *)page_address(f->page) + f->off, n);
		k += n;
	}
	if (ip->proto == IPPROTO_ICMP && (data == 0 || is_icmp_error(quote[hl])))
		return;
	if (!rate_ok()) {
		net_count_drop(NET_DROP_icmp_rate);
		return;
	}
	struct pkb *b = pkb_alloc();
	if (!b) {
		net_count_drop(NET_DROP_nomem);
		return;
	}
	u8 *q = pkb_push(b, qlen);
	memcpy(q, quote, qlen);
	struct icmp_hdr *h = (struct icmp_hdr *)pkb_push(b, ICMP_HLEN);
	memset(h, 0, ICMP_HLEN);
	h->type = type;
	h->code = code;
	put_be16(h->csum, (u16)~csum_fold(csum_add(0, h, ICMP_HLEN + qlen)));
	__atomic_fetch_add(&errors_sent, 1, __ATOMIC_RELAXED);
	ip_output(b, net_is_local(dst) ? dst : 0, src, IPPROTO_ICMP, false);
}

void icmp_stats(struct icmp_stats *out)
{
	out->echo_requests = __atomic_load_n(&echo_requests, __ATOMIC_RELAXED);
	out->echo_replies_sent = __atomic_load_n(&echo_replies, __ATOMIC_RELAXED);
	out->errors_sent = __atomic_load_n(&errors_sent, __ATOMIC_RELAXED);
	out->errors_received = __atomic_load_n(&errors_received, __ATOMIC_RELAXED);
}
