/*
 * What the host tests of the stack below TCP share (test_net.c,
 * test_dhcp.c): the fixture (the fake NIC of host_net.h with address US and
 * gateway GW), frame builders, the peer at PEER and its MAC, and settle()
 * to let go of everything the stack holds. Header-only: each test file gets
 * its own buffers (one test at a time: Criterion runs each in a process).
 */
#ifndef TESTS_HOST_NET_FRAMES_H
#define TESTS_HOST_NET_FRAMES_H

#include <criterion/criterion.h>
#include "tests/host/host.h"
#include "tests/host/host_net.h"
#include "netstack/net_priv.h"
#include "kernel/lib/string.h"

#define US IP4(10, 0, 0, 2)
#define PEER IP4(10, 0, 0, 7)
#define GW IP4(10, 0, 0, 1)
static const u8 peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x07 };
static u8 frame[70000], out[70000];

static inline void setup(void)
{
	host_net_setup(0);
	cr_assert_eq(net_if_set_addr(0, US, 24, GW), 0);
	host_net_tx_drop_all(); /* the gratuitous ARP */
}

static inline void setup_no_addr(void) { host_net_setup(0); }

/* ---- building frames ---- */

static inline u32 eth(u8 *f, const u8 *dst, u16 type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, peer_mac, 6);
	put_be16(f + 12, type);
	return ETH_HLEN;
}

/* IPv4 header at f for `datalen` bytes of data; returns its length. */
static inline u32 ipv4(u8 *f, ip4_t src, ip4_t dst, u8 proto, u32 datalen, u16 frag, u16 id)
{
	struct ip_hdr *ip = (struct ip_hdr *)f;
	memset(ip, 0, IP_HLEN);
	ip->vihl = 0x45;
	put_be16(ip->len, (u16)(IP_HLEN + datalen));
	put_be16(ip->id, id);
	put_be16(ip->frag_off, frag);
	ip->ttl = 64;
	ip->proto = proto;
	put_be32(ip->src, src);
	put_be32(ip->dst, dst);
	put_be16(ip->csum, host_csum(ip, IP_HLEN, 0));
	return IP_HLEN;
}

static inline u32 pseudo(ip4_t s, ip4_t d, u8 proto, u32 len)
{
	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + len;
}

/* A whole Ethernet/IPv4/UDP frame; returns its length. */
static inline u32 udp_frame(u8 *f, ip4_t src, ip4_t dst, u16 sport, u16 dport, const u8 *data, u32 n)
{
	u32 o = eth(f, host_nic_mac, ETH_P_IP);
	o += ipv4(f + o, src, dst, IPPROTO_UDP, UDP_HLEN + n, 0, 1);
	u8 *u = f + o;
	put_be16(u, sport);
	put_be16(u + 2, dport);
	put_be16(u + 4, (u16)(UDP_HLEN + n));
	put_be16(u + 6, 0);
	memcpy(u + 8, data, n);
	u16 c = host_csum(u, UDP_HLEN + n, pseudo(src, dst, IPPROTO_UDP, UDP_HLEN + n));
	put_be16(u + 6, c ? c : 0xffff);
	return o + UDP_HLEN + n;
}

static inline u32 icmp_echo_frame(u8 *f, ip4_t src, ip4_t dst, const u8 *data, u32 n)
{
	u32 o = eth(f, host_nic_mac, ETH_P_IP);
	o += ipv4(f + o, src, dst, IPPROTO_ICMP, ICMP_HLEN + n, 0, 2);
	u8 *h = f + o;
	memset(h, 0, ICMP_HLEN);
	h[0] = ICMP_ECHO;
	put_be16(h + 4, 0x1234);
	put_be16(h + 6, 1);
	memcpy(h + 8, data, n);
	put_be16(h + 2, host_csum(h, ICMP_HLEN + n, 0));
	return o + ICMP_HLEN + n;
}

static inline u32 arp_frame(u8 *f, u16 op, const u8 *sha, ip4_t spa, ip4_t tpa)
{
	u32 o = eth(f, op == ARP_OP_REQUEST ? eth_broadcast : host_nic_mac, ETH_P_ARP);
	struct arp_pkt *a = (struct arp_pkt *)(f + o);
	put_be16(a->htype, ARP_HTYPE_ETHER);
	put_be16(a->ptype, ETH_P_IP);
	a->hlen = 6;
	a->plen = 4;
	put_be16(a->op, op);
	memcpy(a->sha, sha, 6);
	put_be32(a->spa, spa);
	memset(a->tha, 0, 6);
	put_be32(a->tpa, tpa);
	return o + ARP_LEN;
}

static inline void fill(u8 *p, u32 n, u32 seed)
{
	for (u32 i = 0; i < n; i++)
		p[i] = (u8)((i * 31 + seed * 7) ^ (i >> 8));
}

/* Teach the stack the peer's MAC (as a request for our address would). */
static inline void learn_peer(void)
{
	u32 n = arp_frame(frame, ARP_OP_REQUEST, peer_mac, PEER, US);
	host_net_rx(frame, n, 14);
	host_net_tx_drop_all();
}

static inline u64 drops(enum net_drop r) { return net_drop_count(r); }

/* Let go of everything the stack still holds (fragments in reassembly,
 * packets waiting for ARP, frames sent), so pkb_live() must be 0. */
static inline void settle(void)
{
	ip_frag_flush();
	arp_flush_if(net_ifs[0]);
	host_net_tx_drop_all();
}

#endif
