/*
 * IPv4 (RFC 791, RFC 1122 host requirements): input validation and
 * dispatch to the transport handlers, output with routing, checksum
 * completion and fragmentation, and local delivery (loopback).
 *
 * Input checks, each a counted drop: header length and version, header
 * checksum, total length against the frame (Ethernet padding is trimmed),
 * options well-formed (then skipped: none is acted on), source not
 * broadcast or multicast, destination ours (no forwarding). Fragments go to
 * ip_reass. A handler gets the packet with the IPv4 header pulled; b->nh_len
 * says how long it was, so the handler can pkb_push it back (ICMP errors
 * quote it).
 */
#include "netstack/net_priv.h"
#include "nic/nic.h"
#include "kernel/lib/string.h"

static ip_proto_handler_t handlers[256] = {
	[IPPROTO_ICMP] = icmp_input,
	[IPPROTO_UDP] = udp_input,
	[IPPROTO_TCP] = tcp_input,
};

void ip_set_proto_handler(u8 proto, ip_proto_handler_t fn)
{
	__atomic_store_n(&handlers[proto], fn, __ATOMIC_RELEASE);
}

/* Options (RFC 791 §3.1): EOL ends them, NOP is one byte, every other
 * option has a length byte of at least 2 that stays inside the header. */
static bool options_ok(const u8 *opt, u32 len)
{
	u32 i = 0;
	while (i < len) {
		u8 type = opt[i];
		if (type == IPOPT_EOL)
			return true;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || opt[i + 1] > len - i)
			return false;
		i += opt[i + 1];
	}
	return true;
}

static bool bad_source(ip4_t src)
{
	return src == IP4_BROADCAST || (src >> 28) == 14 || (src >> 28) == 15;
}

void ip_input(struct netif *ifp, struct pkb *b)
{
	struct ip_hdr *ip = (struct ip_hdr *)pkb_pullup(b, IP_HLEN);
	if (!ip) {
		net_drop(b, NET_DROP_ip_short);
		return;
	}
	u32 hl = ip_hlen(ip);
	if ((ip->vihl >> 4) != 4 || hl < IP_HLEN) {
		net_drop(b, NET_DROP_ip_version);
		return;
	}
	ip = (struct ip_hdr *)pkb_pullup(b, hl);
	if (!ip) {
		net_drop(b, NET_DROP_ip_short);
		return;
	}
	if (csum_fold(csum_add(0, ip, hl)) != 0xffff) {
		net_drop(b, NET_DROP_ip_csum);
		return;
	}
	u32 tot = be16(ip->len), zone = pkb_hdr_len(b);
	if (tot < hl || tot > zone + b->len || zone > tot) {
		net_drop(b, NET_DROP_ip_len);
		return;
	}
	pkb_trim(b, tot - zone); /* Ethernet padding */
	if (hl > IP_HLEN && !options_ok((const u8 *)(ip + 1), hl - IP_HLEN)) {
		net_drop(b, NET_DROP_ip_options);
		return;
	}
	ip4_t src = be32(ip->src), dst = be32(ip->dst);
	if (bad_source(src)) {
		net_drop(b, NET_DROP_ip_src);
		return;
	}
	if (!net_is_local(dst) && !net_is_broadcast(ifp, dst) &&
	    !(ip->proto == IPPROTO_UDP && udp_wants_unaddressed(ifp, b))) {
		net_drop(b, NET_DROP_ip_not_ours);
		return;
	}
	if (be16(ip->frag_off) & (IP_MF | IP_OFFMASK)) {
		b = ip_reass(b);
		if (!b)
			return;
		ip = (struct ip_hdr *)pkb_hdr(b);
		hl = ip_hlen(ip);
	}
	u8 proto = ip->proto;
	ip_proto_handler_t fn = __atomic_load_n(&handlers[proto], __ATOMIC_ACQUIRE);
	if (!fn) {
		if (!net_is_broadcast(ifp, dst))
			icmp_send_error(b, ICMP_DEST_UNREACH, ICMP_UNREACH_PROTO);
		net_drop(b, NET_DROP_ip_proto);
		return;
	}
	pkb_pull(b, hl);
	b->nh_len = (u16)hl;
	fn(ifp, b, src, dst);
}

/* ---- output ---- */

/* Fill in a checksum the device was to finish (PKB_CSUM_PARTIAL): the
 * sum from csum_start (an offset in the header zone) to the end of the
 * payload, read in place. */
static void csum_finish(struct pkb *b)
{
	u32 zone = pkb_hdr_len(b);
	if (b->csum_start > zone || b->csum_offset + 2u > zone - b->csum_start) {
		b->flags &= ~PKB_CSUM_PARTIAL; /* nonsense request: leave the field */
		return;
	}
	u8 *start = pkb_hdr(b) + b->csum_start;
	u32 hdr = zone - b->csum_start;
	u32 s = csum_add(0, start, hdr);
	s = csum_pkb_payload(b, hdr, s);
	u16 c = (u16)~csum_fold(s);
	/* a computed 0 goes out as 0xffff: UDP reserves 0 for "none" (RFC 768) */
	put_be16(start + b->csum_offset, c ? c : 0xffff);
	b->flags &= ~PKB_CSUM_PARTIAL;
}

/* Loopback delivery without recursion: a packet sent to ourselves while
 * another is being delivered (a reply, an ACK) waits in the queue, and the
 * first sender delivers them all in turn. */
static spinlock_t loop_lock = SPINLOCK_INIT("ip_loop");
static struct pkb *loop_head, *loop_tail;   /* [loop_lock] */
static bool loop_busy;                      /* [loop_lock] */

/* 127/8 on a machine with no interface attached (booted without a NIC):
 * a loopback interface of its own, since Linux's lo is always there. It is
 * in no table (net_ifs, routes, the REPL's); loop_deliver names it by
 * LO_INDEX. With an interface, 127/8 goes through the first one. */
#define LO_INDEX NET_MAX_IFS
static struct nic lo_nic = { .name = "lo", .mtu = 65535, .link_up = true };
static struct netif lo_if = {
	.index = LO_INDEX, .nic = &lo_nic, .name = "lo", .mtu = 65535,
	.lock = SPINLOCK_INIT("lo"),
};

static void loop_deliver(struct netif *ifp, struct pkb *b)
{
	b->cb[0] = (u32)ifp->index;
	b->next = NULL;
	spin_lock(&loop_lock);
	if (loop_tail)
		loop_tail->next = b;
	else
		loop_head = b;
	loop_tail = b;
	if (loop_busy) {
		spin_unlock(&loop_lock);
		return;
	}
	loop_busy = true;
	for (;;) {
		struct pkb *p = loop_head;
		if (!p) {
			loop_busy = false;
			break;
		}
		loop_head = p->next;
		if (!loop_head)
			loop_tail = NULL;
		spin_unlock(&loop_lock);
		p->next = NULL;
		ip_input(p->cb[0] == LO_INDEX ? &lo_if : net_ifs[p->cb[0]], p);
		spin_lock(&loop_lock);
	}
	spin_unlock(&loop_lock);
}

/* The interface that owns local address dst (127/8: the first one, or
 * lo_if when there is none). */
static struct netif *local_if(ip4_t dst)
{
	for (int i = 0; i < net_if_count(); i++)
		if (READ_ONCE(net_ifs[i]->addr) == dst || (dst >> 24) == 127)
			return net_ifs[i];
	return (dst >> 24) == 127 ? &lo_if : NULL;
}

int ip_output(struct pkb *b, ip4_t src, ip4_t dst, u8 proto, bool df)
{
	struct netif *ifp;
	ip4_t nh, rsrc;
	if (net_is_local(dst) && (ifp = local_if(dst)) != NULL) {
		nh = dst;
		rsrc = dst;
	} else if (route_lookup(dst, &ifp, &nh, &rsrc) != 0) {
		net_drop(b, NET_DROP_no_route);
		return -ENETUNREACH;
	}
	if (!src)
		src = rsrc;
	if (!src) {
		net_drop(b, NET_DROP_no_addr);
		return -EADDRNOTAVAIL;
	}
	return ip_output_if(ifp, b, src, dst, proto, df, nh);
}

static void fill_header(struct netif *ifp, struct ip_hdr *h, u32 tot, ip4_t src, ip4_t dst,
			u8 proto, bool df)
{
	h->vihl = 0x45;
	h->tos = 0;
	put_be16(h->len, (u16)tot);
	put_be16(h->id, __atomic_fetch_add(&ifp->ip_id, 1, __ATOMIC_RELAXED));
	put_be16(h->frag_off, df ? IP_DF : 0);
	h->ttl = IP_TTL_DEFAULT;
	h->proto = proto;
	put_be16(h->csum, 0);
	put_be32(h->src, src);
	put_be32(h->dst, dst);
	put_be16(h->csum, (u16)~csum_fold(csum_add(0, h, IP_HLEN)));
}

int ip_output_if(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst, u8 proto, bool df,
		 ip4_t nh)
{
	u32 tot = IP_HLEN + pkb_hdr_len(b) + b->len;
	if (tot > IP_MAX_LEN) {
		net_drop(b, NET_DROP_frag_too_big);
		return -EMSGSIZE;
	}
	bool local = net_is_local(dst);
	bool gso = b->gso_size && (ifp->nic->features & NIC_F_TSO4) && !local;
	if ((b->flags & PKB_CSUM_PARTIAL) && !local &&
	    (!(ifp->nic->features & NIC_F_TX_CSUM) || (tot > ifp->mtu && !gso)))
		csum_finish(b);
	struct ip_hdr h;
	fill_header(ifp, &h, tot, src, dst, proto, df || gso);
	if (tot > ifp->mtu && !local && !gso) {
		if (df) {
			net_drop(b, NET_DROP_frag_df);
			return -EMSGSIZE;
		}
		return ip_fragment(ifp, b, &h, nh);
	}
	struct ip_hdr *ip = (struct ip_hdr *)pkb_push(b, IP_HLEN);
	if (!ip) {
		net_drop(b, NET_DROP_tx_error);
		return -ENOSPC;
	}
	memcpy(ip, &h, IP_HLEN);
	if (b->flags & PKB_CSUM_PARTIAL)
		b->csum_start = (u16)(b->csum_start + IP_HLEN);
	if (local) {
		/* loopback: the receive side trusts what never left memory */
		b->flags = (b->flags & ~PKB_CSUM_PARTIAL) | PKB_CSUM_VALID;
		b->gso_size = b->gso_type = 0;
		loop_deliver(ifp, b);
		return 0;
	}
	return arp_output(ifp, b, nh);
}
