/*
 * Unit tests of the network stack below TCP (netstack/), driven through a
 * fake NIC (host_net.h): frames in as the virtio driver hands them up,
 * frames out as the driver would send them, a clock that moves only when a
 * test says so. Each parser gets its good path and its bad inputs; each bad
 * input must be dropped and counted under its own reason. The DHCP client
 * is tested in test_dhcp.c; the fixture and frame builders are in
 * net_frames.h.
 */
#include <pthread.h>

#include "tests/host/net_frames.h"

/* ---- Ethernet ---- */

TestSuite(net_eth, .init = setup);

Test(net_eth, short_foreign_vlan_and_unknown_frames_are_counted)
{
	u8 f[64] = { 0 };
	host_net_rx(f, 10, 10);
	cr_assert_eq(drops(NET_DROP_eth_short), 1);
	static const u8 other[6] = { 0x02, 9, 9, 9, 9, 9 };
	eth(f, other, ETH_P_IP);
	host_net_rx(f, 60, 14);
	cr_assert_eq(drops(NET_DROP_eth_not_ours), 1);
	eth(f, host_nic_mac, ETH_P_VLAN);
	host_net_rx(f, 60, 14);
	cr_assert_eq(drops(NET_DROP_eth_vlan), 1);
	eth(f, host_nic_mac, 0x86dd);
	host_net_rx(f, 60, 14);
	cr_assert_eq(drops(NET_DROP_eth_proto), 1);
	cr_assert_eq(host_net_tx_count(), 0);
	cr_assert_eq(pkb_live(), 0, "every dropped frame was freed");
}

/* ---- ARP ---- */

TestSuite(net_arp, .init = setup);

Test(net_arp, request_for_us_is_answered_and_learned)
{
	u32 n = arp_frame(frame, ARP_OP_REQUEST, peer_mac, PEER, US);
	host_net_rx(frame, 60, 14); /* with Ethernet padding */
	(void)n;
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(len, ETH_HLEN + ARP_LEN, "the reply carries no padding of ours");
	cr_assert_eq(memcmp(out, peer_mac, 6), 0);
	cr_assert_eq(be16(out + 12), ETH_P_ARP);
	const struct arp_pkt *a = (const struct arp_pkt *)(out + ETH_HLEN);
	cr_assert_eq(be16(a->op), ARP_OP_REPLY);
	cr_assert_eq(memcmp(a->sha, host_nic_mac, 6), 0);
	cr_assert_eq(be32(a->spa), US);
	cr_assert_eq(memcmp(a->tha, peer_mac, 6), 0);
	cr_assert_eq(be32(a->tpa), PEER);
	u8 mac[6];
	cr_assert_eq(arp_lookup(PEER, mac), 0);
	cr_assert_eq(memcmp(mac, peer_mac, 6), 0);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_arp, a_storm_for_other_addresses_fills_nothing)
{
	u8 sha[6] = { 0x02, 1, 0, 0, 0, 0 };
	for (u32 i = 0; i < 5000; i++) {
		sha[4] = (u8)(i >> 8);
		sha[5] = (u8)i;
		u32 n = arp_frame(frame, i & 1 ? ARP_OP_REPLY : ARP_OP_REQUEST, sha,
				  IP4(10, 0, 1, 0) + i, IP4(10, 0, 2, 0) + i);
		host_net_rx(frame, n, 14);
	}
	struct arp_info info[8];
	cr_assert_eq(arp_list(info, 8), 0, "no entry for strangers");
	cr_assert_eq(host_net_tx_count(), 0, "no answer to strangers");
	cr_assert_eq(drops(NET_DROP_arp_not_for_us), 5000);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_arp, malformed_packets_are_counted)
{
	u32 n = arp_frame(frame, ARP_OP_REQUEST, peer_mac, PEER, US);
	host_net_rx(frame, 20, 14);                       /* truncated */
	frame[ETH_HLEN + 4] = 8;                          /* hlen 8 */
	host_net_rx(frame, n, 14);
	arp_frame(frame, 9, peer_mac, PEER, US);          /* unknown op */
	host_net_rx(frame, n, 14);
	static const u8 mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	arp_frame(frame, ARP_OP_REQUEST, mcast, PEER, US); /* multicast sender */
	host_net_rx(frame, n, 14);
	arp_frame(frame, ARP_OP_REQUEST, peer_mac, US, US); /* someone claims our address */
	host_net_rx(frame, n, 14);
	cr_assert_eq(drops(NET_DROP_arp_bad), 5);
	cr_assert_eq(host_net_tx_count(), 0);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_arp, packets_wait_for_resolution_then_go_or_are_dropped)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	struct sockaddr_in4 to = { PEER, 9 };
	u8 data[10] = "0123456789";
	for (int i = 0; i < 3; i++)
		cr_assert_eq(sock_sendto(s, data, 10, 0, &to), 10);
	/* one request, the datagrams wait */
	cr_assert_eq(host_net_tx_count(), 1);
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(be16(out + 12), ETH_P_ARP);
	cr_assert_eq(memcmp(out, eth_broadcast, 6), 0);
	cr_assert_eq(be32(((struct arp_pkt *)(out + ETH_HLEN))->tpa), PEER);
	(void)len;
	/* the reply releases them, in order, to the right MAC */
	u32 n = arp_frame(frame, ARP_OP_REPLY, peer_mac, PEER, US);
	host_net_rx(frame, n, 14);
	cr_assert_eq(host_net_tx_count(), 3);
	for (int i = 0; i < 3; i++) {
		host_net_tx_bytes(out, sizeof(out), NULL);
		cr_assert_eq(memcmp(out, peer_mac, 6), 0);
		cr_assert_eq(be16(out + 12), ETH_P_IP);
	}
	/* an address that never answers: 3 requests a second apart, then the
	 * queue (bounded at 8) is dropped */
	struct sockaddr_in4 ghost = { IP4(10, 0, 0, 99), 9 };
	for (int i = 0; i < 12; i++)
		sock_sendto(s, data, 10, 0, &ghost);
	cr_assert_eq(drops(NET_DROP_arp_queue_full), 4);
	host_net_tx_drop_all();
	for (int i = 0; i < 5; i++)
		host_net_advance(1000000000ULL);
	cr_assert_eq(drops(NET_DROP_arp_unresolved), 8);
	sock_close(s);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0);
}

Test(net_arp, entries_age_out)
{
	learn_peer();
	u8 mac[6];
	cr_assert_eq(arp_lookup(PEER, mac), 0);
	host_net_advance(121ULL * 1000000000ULL);
	cr_assert_eq(arp_lookup(PEER, mac), -ENOENT);
}

/* arp_output reads resolved entries without the lock (arp.c): what it
 * sends follows every change of the table, the entry it used last
 * included: a new MAC for the peer, the entry aging out. */
Test(net_arp, lookups_without_the_lock_follow_changes)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	struct sockaddr_in4 to = { PEER, 9 };
	u8 data[4] = "abcd";
	learn_peer();
	u64 h0, m0, h1, m1;
	arp_fast_stats(&h0, &m0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(sock_sendto(s, data, 4, 0, &to), 4);
		host_net_tx_bytes(out, sizeof(out), NULL);
		cr_assert_eq(memcmp(out, peer_mac, 6), 0);
	}
	arp_fast_stats(&h1, &m1);
	cr_assert_eq(h1 - h0, 3, "the resolved entry was not found without the lock");
	/* the peer moves to another MAC: the next datagram goes there */
	static const u8 moved[6] = { 0x02, 0x99, 0x88, 0x77, 0x66, 0x55 };
	u32 n = arp_frame(frame, ARP_OP_REPLY, moved, PEER, US);
	host_net_rx(frame, n, 14);
	cr_assert_eq(sock_sendto(s, data, 4, 0, &to), 4);
	host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(memcmp(out, moved, 6), 0, "sent to the old MAC");
	/* the entry ages out: the next datagram waits for a new request */
	host_net_advance(121ULL * 1000000000ULL);
	host_net_tx_drop_all();
	cr_assert_eq(sock_sendto(s, data, 4, 0, &to), 4);
	cr_assert_eq(host_net_tx_count(), 1);
	host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(be16(out + 12), ETH_P_ARP, "sent with an aged-out entry");
	arp_fast_stats(&h1, &m1);
	cr_assert_gt(m1 - m0, 0);
	sock_close(s);
	host_net_tx_drop_all();
	host_net_advance(5ULL * 1000000000ULL);
}

Test(net_arp, address_change_announces_itself)
{
	cr_assert_eq(net_if_set_addr(0, IP4(10, 0, 0, 3), 24, GW), 0);
	cr_assert_eq(host_net_tx_bytes(out, sizeof(out), NULL), ETH_HLEN + ARP_LEN);
	const struct arp_pkt *a = (const struct arp_pkt *)(out + ETH_HLEN);
	cr_assert_eq(be32(a->spa), IP4(10, 0, 0, 3));
	cr_assert_eq(be32(a->tpa), IP4(10, 0, 0, 3), "gratuitous: asks for itself");
}

/* ---- IPv4 ---- */

TestSuite(net_ip, .init = setup);

Test(net_ip, bad_headers_are_counted_by_reason)
{
	u8 d[8] = { 0 };
	u32 n = udp_frame(frame, PEER, US, 1000, 9, d, 8);
	u8 *ip = frame + ETH_HLEN;
	host_net_rx(frame, ETH_HLEN + 10, 24);                 /* shorter than 20 */
	cr_assert_eq(drops(NET_DROP_ip_short), 1);
	ip[0] = 0x65;                                          /* version 6 */
	host_net_rx(frame, n, 42);
	ip[0] = 0x44;                                          /* ihl 4 */
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_ip_version), 2);
	udp_frame(frame, PEER, US, 1000, 9, d, 8);
	ip[10] ^= 1;                                           /* checksum */
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_ip_csum), 1);
	udp_frame(frame, PEER, US, 1000, 9, d, 8);
	put_be16(ip + 2, 200);                                 /* longer than the frame */
	put_be16(ip + 10, 0);
	put_be16(ip + 10, host_csum(ip, 20, 0));
	host_net_rx(frame, n, 42);
	put_be16(ip + 2, 10);                                  /* shorter than the header */
	put_be16(ip + 10, 0);
	put_be16(ip + 10, host_csum(ip, 20, 0));
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_ip_len), 2);
	udp_frame(frame, PEER, IP4(10, 0, 0, 50), 1000, 9, d, 8); /* not ours */
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_ip_not_ours), 1);
	udp_frame(frame, IP4(224, 0, 0, 1), US, 1000, 9, d, 8);   /* multicast source */
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_ip_src), 1);
	cr_assert_eq(pkb_live(), 0);
}

/* A frame with IPv4 options `opt` (length a multiple of 4) to UDP port 9. */
static u32 frame_with_options(const u8 *opt, u32 olen)
{
	u8 d[4] = { 1, 2, 3, 4 };
	u32 o = eth(frame, host_nic_mac, ETH_P_IP);
	u8 *ip = frame + o;
	ipv4(ip, PEER, US, IPPROTO_UDP, olen + UDP_HLEN + 4, 0, 3);
	ip[0] = (u8)(0x40 | ((20 + olen) / 4));
	put_be16(ip + 2, (u16)(20 + olen + UDP_HLEN + 4));
	memcpy(ip + 20, opt, olen);
	u8 *u = ip + 20 + olen;
	put_be16(u, 5000);
	put_be16(u + 2, 9);
	put_be16(u + 4, UDP_HLEN + 4);
	put_be16(u + 6, 0); /* no UDP checksum */
	memcpy(u + 8, d, 4);
	put_be16(ip + 10, 0);
	put_be16(ip + 10, host_csum(ip, 20 + olen, 0));
	return o + 20 + olen + UDP_HLEN + 4;
}

Test(net_ip, options_are_checked_then_skipped)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	struct sockaddr_in4 a = { 0, 9 };
	cr_assert_eq(sock_bind(s, &a), 0);
	static const u8 good[8] = { IPOPT_NOP, 0x44, 6, 5, 0, 0, 0, IPOPT_EOL }; /* timestamp-ish */
	u32 n = frame_with_options(good, 8);
	host_net_rx(frame, n, 14);  /* the driver split before the options */
	u8 buf[16];
	struct sockaddr_in4 from;
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, &from), 4);
	cr_assert_eq(from.addr, PEER);
	cr_assert_eq(from.port, 5000);
	cr_assert_eq(buf[3], 4);
	static const u8 bad_len[4] = { 0x44, 1, 0, 0 };        /* length 1 */
	static const u8 past_end[4] = { IPOPT_NOP, 0x83, 9, 0 }; /* runs past the header */
	static const u8 no_len[4] = { IPOPT_NOP, IPOPT_NOP, IPOPT_NOP, 0x07 };
	n = frame_with_options(bad_len, 4);
	host_net_rx(frame, n, 42);
	n = frame_with_options(past_end, 4);
	host_net_rx(frame, n, 42);
	n = frame_with_options(no_len, 4);
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_ip_options), 3);
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, &from), -EAGAIN);
	sock_close(s);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_ip, unknown_protocol_gets_protocol_unreachable)
{
	learn_peer();
	u32 o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, 99, 12, 0, 4);
	memset(frame + o, 0xab, 12);
	host_net_rx(frame, o + 12, 34);
	cr_assert_eq(drops(NET_DROP_ip_proto), 1);
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(len, ETH_HLEN + 20 + 8 + 20 + 8);
	cr_assert_eq(out[ETH_HLEN + 9], IPPROTO_ICMP);
	cr_assert_eq(out[34], ICMP_DEST_UNREACH);
	cr_assert_eq(out[35], ICMP_UNREACH_PROTO);
	cr_assert_eq(memcmp(out + 42, frame + ETH_HLEN, 28), 0, "quotes header + 8 bytes");
	cr_assert_eq(host_csum(out + 34, 36, 0), 0, "ICMP checksum");
	cr_assert_eq(host_csum(out + 14, 20, 0), 0, "IPv4 checksum");
}

/* ---- ICMP ---- */

TestSuite(net_icmp, .init = setup);

Test(net_icmp, echo_is_answered_with_the_same_pages)
{
	learn_peer();
	static u8 data[1400];
	fill(data, sizeof(data), 3);
	u32 n = icmp_echo_frame(frame, PEER, US, data, sizeof(data));
	host_net_rx(frame, n, 34); /* the driver does not split ICMP headers off */
	struct pkb *b;
	int len = host_net_tx_bytes(out, sizeof(out), &b);
	cr_assert_eq(len, (int)n);
	cr_assert_eq(memcmp(out, peer_mac, 6), 0);
	cr_assert_eq(be32(out + 26), US);
	cr_assert_eq(be32(out + 30), PEER);
	cr_assert_eq(out[34], ICMP_ECHO_REPLY);
	cr_assert_eq(be16(out + 38), 0x1234);
	cr_assert_eq(memcmp(out + 42, data, sizeof(data)), 0);
	cr_assert_eq(host_csum(out + 34, ICMP_HLEN + sizeof(data), 0), 0, "ICMP checksum");
	cr_assert_eq(host_csum(out + 14, 20, 0), 0, "IPv4 checksum");
	cr_assert_eq(pkb_hdr_len(b), ETH_HLEN + 20 + 8, "headers in the zone, data in pages");
	pkb_free(b);
	struct pkb_copy_stats cs;
	pkb_copy_stats(&cs);
	for (int p = 0; p < PKB_COPY_NPATHS; p++)
		cr_assert_eq(cs.bytes[p], 0, "an echo copies no payload (%s)", pkb_copy_path_name(p));
	cr_assert_eq(pkb_live(), 0);
}

Test(net_icmp, bad_checksum_and_short_messages_are_dropped)
{
	u8 d[8] = { 0 };
	u32 n = icmp_echo_frame(frame, PEER, US, d, 8);
	frame[40] ^= 0xff;
	host_net_rx(frame, n, 34);
	cr_assert_eq(drops(NET_DROP_icmp_csum), 1);
	u32 o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 4, 0, 9);
	host_net_rx(frame, o + 4, 34);
	cr_assert_eq(drops(NET_DROP_icmp_short), 1);
	cr_assert_eq(host_net_tx_count(), 0);
}

Test(net_icmp, errors_are_rate_limited)
{
	learn_peer();
	u8 d[4] = { 0 };
	for (int i = 0; i < 100; i++) {
		u32 n = udp_frame(frame, PEER, US, 1000, (u16)(2000 + i), d, 4);
		host_net_rx(frame, n, 42);
	}
	cr_assert_eq(drops(NET_DROP_udp_no_socket), 100);
	int sent = host_net_tx_count();
	cr_assert(sent >= 15 && sent <= 25, "a burst of about 20, got %d", sent);
	cr_assert_eq(drops(NET_DROP_icmp_rate), (u64)(100 - sent));
	host_net_tx_drop_all();
	host_net_advance(100000000ULL); /* 0.1 s: 10 more tokens */
	for (int i = 0; i < 20; i++) {
		u32 n = udp_frame(frame, PEER, US, 1000, 3000, d, 4);
		host_net_rx(frame, n, 42);
	}
	cr_assert_eq(host_net_tx_count(), 10);
}

Test(net_icmp, no_error_about_an_icmp_error_or_a_broadcast)
{
	learn_peer();
	u8 d[4] = { 0 };
	u32 n = udp_frame(frame, PEER, IP4(10, 0, 0, 255), 1000, 4444, d, 4);
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_udp_no_socket), 1);
	cr_assert_eq(host_net_tx_count(), 0, "no error about a broadcast");
	u32 o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, 99, 8, 0, 4);
	u8 *h = frame + o;   /* unknown protocol carrying an ICMP-looking byte: still answered */
	memset(h, 0, 8);
	host_net_rx(frame, o + 8, 34);
	cr_assert_eq(host_net_tx_count(), 1);
}

/* ---- fragments ---- */

TestSuite(net_frag, .init = setup);

/* Send data (ICMP echo of n bytes) to us as fragments of `chunk` data
 * bytes, in the order given by perm (NULL: in order). */
static void send_fragments(const u8 *data, u32 n, u32 chunk, const int *perm, u16 id)
{
	static u8 dgram[70000];
	u8 *h = dgram;
	memset(h, 0, ICMP_HLEN);
	h[0] = ICMP_ECHO;
	put_be16(h + 4, 0x77);
	memcpy(h + 8, data, n);
	put_be16(h + 2, host_csum(h, ICMP_HLEN + n, 0));
	u32 total = ICMP_HLEN + n, nfr = (total + chunk - 1) / chunk;
	for (u32 k = 0; k < nfr; k++) {
		u32 i = perm ? (u32)perm[k] : k;
		u32 off = i * chunk, len = MIN(chunk, total - off);
		u32 o = eth(frame, host_nic_mac, ETH_P_IP);
		o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, len,
			  (u16)(off / 8 | (i + 1 < nfr ? IP_MF : 0)), id);
		memcpy(frame + o, dgram + off, len);
		host_net_rx(frame, o + len, 34);
	}
}

/* Collect the fragments we sent and put the datagram back together. */
static u32 collect_reply(u8 *dgram, int *nfrags)
{
	u32 total = 0;
	*nfrags = 0;
	int len;
	while ((len = host_net_tx_bytes(out, sizeof(out), NULL)) >= 0) {
		cr_assert_eq(be16(out + 12), ETH_P_IP);
		cr_assert_leq(len, ETH_HLEN + 1500, "fragments fit the MTU");
		cr_assert_eq(host_csum(out + 14, 20, 0), 0);
		u16 fo = be16(out + 20);
		u32 off = (fo & IP_OFFMASK) * 8u, dl = be16(out + 16) - 20u;
		cr_assert_eq((u32)len, ETH_HLEN + 20 + dl);
		memcpy(dgram + off, out + 34, dl);
		if (!(fo & IP_MF))
			total = off + dl;
		(*nfrags)++;
	}
	return total;
}

Test(net_frag, out_of_order_fragments_reassemble_and_the_reply_is_fragmented)
{
	learn_peer();
	static u8 data[8000], dgram[70000];
	fill(data, sizeof(data), 5);
	static const int perm[] = { 3, 0, 5, 1, 4, 2 };
	send_fragments(data, sizeof(data), 1480, perm, 42);
	int nf;
	u32 total = collect_reply(dgram, &nf);
	cr_assert_eq(nf, 6);
	cr_assert_eq(total, ICMP_HLEN + sizeof(data));
	cr_assert_eq(dgram[0], ICMP_ECHO_REPLY);
	cr_assert_eq(memcmp(dgram + 8, data, sizeof(data)), 0);
	cr_assert_eq(host_csum(dgram, total, 0), 0);
	struct frag_stats fs;
	ip_frag_stats(&fs);
	cr_assert_eq(fs.reassembled, 1);
	cr_assert_eq(fs.datagrams, 0);
	cr_assert_eq(fs.fragments_sent, 6);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_frag, a_64k_echo_goes_both_ways)
{
	learn_peer();
	static u8 data[65507 - 8], dgram[70000];
	fill(data, sizeof(data), 6);
	send_fragments(data, sizeof(data), 1480, NULL, 43);
	int nf;
	u32 total = collect_reply(dgram, &nf);
	cr_assert_eq(total, ICMP_HLEN + sizeof(data));
	cr_assert_eq(nf, 45);
	cr_assert_eq(memcmp(dgram + 8, data, sizeof(data)), 0);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_frag, duplicates_overlaps_and_bad_fragments)
{
	learn_peer();
	static u8 data[3000];
	fill(data, sizeof(data), 7);
	/* a duplicate is dropped alone; the datagram still completes */
	static const int dup[] = { 0, 1, 1, 2 };
	send_fragments(data, sizeof(data), 1000, NULL, 50);   /* 3008 bytes: 4 fragments */
	host_net_tx_drop_all();
	(void)dup;
	u32 o = eth(frame, host_nic_mac, ETH_P_IP);
	/* overlap: [0,1000) then [992, 1992) of datagram 51 */
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 1000, IP_MF, 51);
	host_net_rx(frame, o + 1000, 34);
	o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 1000, (992 / 8) | IP_MF, 51);
	host_net_rx(frame, o + 1000, 34);
	cr_assert_eq(drops(NET_DROP_frag_overlap), 2, "the fragment and the one held");
	/* exact duplicate */
	for (int i = 0; i < 2; i++) {
		o = eth(frame, host_nic_mac, ETH_P_IP);
		o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 1000, IP_MF, 52);
		host_net_rx(frame, o + 1000, 34);
	}
	cr_assert_eq(drops(NET_DROP_frag_dup), 1);
	/* a non-last fragment not a multiple of 8 */
	o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 1001, IP_MF, 53);
	host_net_rx(frame, o + 1001, 34);
	cr_assert_eq(drops(NET_DROP_frag_bad), 1);
	/* past 65535 */
	o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 1000, (65000 / 8), 54);
	host_net_rx(frame, o + 1000, 34);
	cr_assert_eq(drops(NET_DROP_frag_too_big), 1);
	/* a last fragment that ends before data already held */
	o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 800, (2000 / 8) | IP_MF, 55);
	host_net_rx(frame, o + 800, 34);
	o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 800, 1000 / 8, 55); /* ends at 1800 */
	host_net_rx(frame, o + 800, 34);
	cr_assert_eq(drops(NET_DROP_frag_bad), 3, "%llu", (unsigned long long)drops(NET_DROP_frag_bad));
	settle();
	cr_assert_eq(pkb_live(), 0);
}

Test(net_frag, tiny_endless_fragments_hit_the_limits)
{
	/* 8-byte fragments of one datagram: at most 64 are held */
	for (u32 i = 0; i < 200; i++) {
		u32 o = eth(frame, host_nic_mac, ETH_P_IP);
		o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 8, (u16)(i | IP_MF), 60);
		host_net_rx(frame, o + 8, 34);
	}
	cr_assert_gt(drops(NET_DROP_frag_too_many), 0);
	/* many datagrams: memory stays bounded */
	for (u32 i = 0; i < 3000; i++) {
		u32 o = eth(frame, host_nic_mac, ETH_P_IP);
		o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 1000, IP_MF, (u16)(1000 + i));
		host_net_rx(frame, o + 1000, 34);
	}
	struct frag_stats fs;
	ip_frag_stats(&fs);
	cr_assert_leq(fs.bytes, 4u << 20);
	cr_assert_leq(fs.datagrams, 64);
	cr_assert_gt(drops(NET_DROP_frag_mem), 0);
	/* and they time out */
	host_net_advance(31ULL * 1000000000ULL);
	ip_frag_stats(&fs);
	cr_assert_eq(fs.datagrams, 0);
	cr_assert_gt(drops(NET_DROP_frag_timeout), 0);
	settle();
	cr_assert_eq(pkb_live(), 0);
}

Test(net_frag, a_timed_out_datagram_gets_time_exceeded)
{
	learn_peer();
	u32 o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_ICMP, 1000, IP_MF, 70);
	memset(frame + o, 0x5a, 1000);
	host_net_rx(frame, o + 1000, 34);
	host_net_advance(29ULL * 1000000000ULL);
	cr_assert_eq(host_net_tx_count(), 0);
	host_net_advance(2ULL * 1000000000ULL);
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(len, ETH_HLEN + 20 + 8 + 20 + 8);
	cr_assert_eq(out[34], ICMP_TIME_EXCEEDED);
	cr_assert_eq(out[35], ICMP_EXC_FRAGTIME);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_frag, udp_larger_than_the_mtu_is_fragmented_unless_df)
{
	learn_peer();
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	static u8 data[5000], dgram[70000];
	fill(data, sizeof(data), 8);
	struct sockaddr_in4 to = { PEER, 7777 };
	cr_assert_eq(sock_sendto(s, data, sizeof(data), 0, &to), (long)sizeof(data));
	int nf;
	u32 total = collect_reply(dgram, &nf);
	cr_assert_eq(nf, 4);
	cr_assert_eq(total, UDP_HLEN + sizeof(data));
	cr_assert_eq(be16(dgram + 2), 7777);
	cr_assert_eq(memcmp(dgram + 8, data, sizeof(data)), 0);
	cr_assert_eq(host_csum(dgram, total, pseudo(US, PEER, IPPROTO_UDP, total)), 0,
		     "the UDP checksum was finished in software before fragmenting");
	sock_close(s);
	cr_assert_eq(pkb_live(), 0);
}

/* ---- UDP and sockets ---- */

TestSuite(net_udp, .init = setup);

Test(net_udp, datagrams_reach_the_bound_socket_with_one_copy)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	struct sockaddr_in4 a = { 0, 5353 };
	cr_assert_eq(sock_bind(s, &a), 0);
	static u8 data[1400], buf[2000];
	fill(data, sizeof(data), 9);
	u32 n = udp_frame(frame, PEER, US, 40000, 5353, data, sizeof(data));
	host_net_rx(frame, n, 42);
	cr_assert_eq(sock_poll(s) & POLLIN, POLLIN);
	struct sockaddr_in4 from;
	struct pkb_copy_stats c0, c1;
	pkb_copy_stats(&c0);
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, &from), 1400);
	pkb_copy_stats(&c1);
	cr_assert_eq(c1.bytes[PKB_COPY_RX_READ] - c0.bytes[PKB_COPY_RX_READ], 1400);
	cr_assert_eq(memcmp(buf, data, 1400), 0);
	cr_assert_eq(from.addr, PEER);
	cr_assert_eq(from.port, 40000);
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, &from), -EAGAIN);
	cr_assert_eq(sock_poll(s) & POLLIN, 0);
	/* a short read takes the datagram's head and discards the rest */
	host_net_rx(frame, n, 42);
	cr_assert_eq(sock_recvfrom(s, buf, 10, MSG_DONTWAIT, NULL), 10);
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), -EAGAIN);
	struct sock_stats st;
	sock_stats(s, &st);
	cr_assert_eq(st.rx_packets, 2);
	cr_assert_eq(st.rx_bytes, 2800);
	sock_close(s);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_udp, bad_length_checksum_and_no_socket)
{
	learn_peer();
	u8 d[20];
	fill(d, 20, 1);
	u32 n = udp_frame(frame, PEER, US, 1, 9, d, 20);
	frame[50] ^= 1;                          /* data: the checksum no longer matches */
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_udp_csum), 1);
	n = udp_frame(frame, PEER, US, 1, 9, d, 20);
	put_be16(frame + 38, 100);               /* UDP length past the IP packet */
	host_net_rx(frame, n, 42);
	put_be16(frame + 38, 4);                 /* below its own header */
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_udp_len), 2);
	u32 o = eth(frame, host_nic_mac, ETH_P_IP);
	o += ipv4(frame + o, PEER, US, IPPROTO_UDP, 5, 0, 1);
	host_net_rx(frame, o + 5, 34);
	cr_assert_eq(drops(NET_DROP_udp_short), 1);
	n = udp_frame(frame, PEER, US, 1, 9, d, 20);
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_udp_no_socket), 1);
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(len, ETH_HLEN + 20 + 8 + 20 + 8);
	cr_assert_eq(out[34], ICMP_DEST_UNREACH);
	cr_assert_eq(out[35], ICMP_UNREACH_PORT);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_udp, a_full_receive_buffer_drops_and_counts)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	struct sockaddr_in4 a = { US, 9 };
	cr_assert_eq(sock_bind(s, &a), 0);
	cr_assert_eq(sock_setopt(s, SO_RCVBUF, 10000), 0);
	static u8 d[1000];
	u32 n = udp_frame(frame, PEER, US, 1, 9, d, sizeof(d));
	for (int i = 0; i < 20; i++)
		host_net_rx(frame, n, 42);
	struct sock_stats st;
	sock_stats(s, &st);
	cr_assert_eq(st.rx_packets, 6, "6 x (1000 + 512) fit in 10000");
	cr_assert_eq(st.rx_drops, 14);
	cr_assert_eq(drops(NET_DROP_udp_rcvbuf), 14);
	sock_close(s);
	cr_assert_eq(pkb_live(), 0, "closing freed the queue");
}

Test(net_udp, bind_rules)
{
	struct socket *a, *b, *c;
	cr_assert_eq(sock_create(SOCK_DGRAM, &a), 0);
	cr_assert_eq(sock_create(SOCK_DGRAM, &b), 0);
	cr_assert_eq(sock_create(SOCK_DGRAM, &c), 0);
	struct sockaddr_in4 any = { 0, 700 }, mine = { US, 700 }, foreign = { PEER, 701 };
	cr_assert_eq(sock_bind(a, &any), 0);
	cr_assert_eq(sock_bind(b, &any), -EADDRINUSE);
	cr_assert_eq(sock_bind(b, &mine), -EADDRINUSE);
	cr_assert_eq(sock_bind(b, &foreign), -EADDRNOTAVAIL);
	struct sockaddr_in4 zero = { 0, 0 };
	cr_assert_eq(sock_bind(c, &zero), 0);
	struct sockaddr_in4 l;
	cr_assert_eq(sock_getname(c, &l, NULL), 0);
	cr_assert_geq(l.port, 49152, "an ephemeral port");
	cr_assert_eq(sock_create(77, &b), -EINVAL);
	sock_close(a);
	sock_close(c);
	cr_assert_eq(sock_create(SOCK_DGRAM, &b), 0);
	cr_assert_eq(sock_bind(b, &mine), 0, "free again after close");
	sock_close(b);
}

Test(net_udp, connected_sockets_take_only_their_peer)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	struct sockaddr_in4 a = { 0, 6000 }, p = { PEER, 53 };
	cr_assert_eq(sock_bind(s, &a), 0);
	cr_assert_eq(sock_connect(s, &p), 0);
	u8 d[4] = { 1, 2, 3, 4 };
	u32 n = udp_frame(frame, IP4(10, 0, 0, 8), US, 53, 6000, d, 4);
	host_net_rx(frame, n, 42);
	cr_assert_eq(drops(NET_DROP_udp_no_socket), 1);
	n = udp_frame(frame, PEER, US, 53, 6000, d, 4);
	host_net_rx(frame, n, 42);
	u8 buf[8];
	cr_assert_eq(sock_recvfrom(s, buf, 8, MSG_DONTWAIT, NULL), 4);
	sock_close(s);
	settle();
	cr_assert_eq(pkb_live(), 0);
}

Test(net_udp, sending_builds_a_valid_datagram_and_uses_checksum_offload)
{
	learn_peer();
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	u8 d[300];
	fill(d, 300, 4);
	struct sockaddr_in4 to = { PEER, 9999 };
	cr_assert_eq(sock_sendto(s, d, 300, 0, &to), 300);
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(len, ETH_HLEN + 20 + 8 + 300);
	cr_assert_eq(host_csum(out + 14, 20, 0), 0);
	cr_assert_eq(be16(out + 36), 9999);
	cr_assert_eq(host_csum(out + 34, 308, pseudo(US, PEER, IPPROTO_UDP, 308)), 0,
		     "no offload: the stack finished the checksum");
	/* with offload the device finishes it: the request is passed on */
	host_nic.features |= NIC_F_TX_CSUM;
	cr_assert_eq(sock_sendto(s, d, 300, 0, &to), 300);
	struct pkb *b;
	host_net_tx_bytes(out, sizeof(out), &b);
	cr_assert(b->flags & PKB_CSUM_PARTIAL);
	cr_assert_eq(b->csum_start, 34);
	cr_assert_eq(b->csum_offset, 6);
	pkb_free(b);
	/* finish it the way the device would */
	put_be16(out + 40, 0);
	u16 c = host_csum(out + 34, 308, pseudo(US, PEER, IPPROTO_UDP, 308));
	cr_assert_neq(c, 0);
	struct pkb_copy_stats cs;
	pkb_copy_stats(&cs);
	cr_assert_eq(cs.bytes[PKB_COPY_TX_WRITE], 600, "send copies once");
	sock_close(s);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_udp, zero_copy_send_and_receive)
{
	learn_peer();
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	struct sockaddr_in4 a = { 0, 7 };
	cr_assert_eq(sock_bind(s, &a), 0);
	static u8 data[1000];
	fill(data, sizeof(data), 12);
	u32 n = udp_frame(frame, PEER, US, 3333, 7, data, sizeof(data));
	host_net_rx(frame, n, 42);
	struct pkb *b;
	struct sockaddr_in4 from;
	cr_assert_eq(sock_recv_pkb(s, &b, MSG_DONTWAIT, &from), 0);
	cr_assert_eq(b->len, 1000);
	cr_assert_eq(pkb_hdr_len(b), 0);
	cr_assert_eq(from.port, 3333);
	cr_assert_geq(sock_send_pkb(s, b, 0, &from), 0);
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(len, (int)n);
	cr_assert_eq(memcmp(out + 42, data, sizeof(data)), 0);
	struct pkb_copy_stats cs;
	pkb_copy_stats(&cs);
	for (int p = 0; p < PKB_COPY_NPATHS; p++)
		cr_assert_eq(cs.bytes[p], 0, "the echo copied nothing (%s)", pkb_copy_path_name(p));
	sock_close(s);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_udp, loopback_to_our_own_address)
{
	struct socket *rx, *tx;
	cr_assert_eq(sock_create(SOCK_DGRAM, &rx), 0);
	cr_assert_eq(sock_create(SOCK_DGRAM, &tx), 0);
	struct sockaddr_in4 a = { 0, 8080 };
	cr_assert_eq(sock_bind(rx, &a), 0);
	static u8 data[3000], buf[4000];
	fill(data, sizeof(data), 13);
	struct sockaddr_in4 to = { US, 8080 }, lo = { IP4(127, 0, 0, 1), 8080 };
	cr_assert_eq(sock_sendto(tx, data, sizeof(data), 0, &to), 3000);
	cr_assert_eq(sock_sendto(tx, data, 10, 0, &lo), 10);
	cr_assert_eq(host_net_tx_count(), 0, "nothing goes to the wire");
	struct sockaddr_in4 from;
	cr_assert_eq(sock_recvfrom(rx, buf, sizeof(buf), MSG_DONTWAIT, &from), 3000);
	cr_assert_eq(memcmp(buf, data, 3000), 0);
	cr_assert_eq(from.addr, US);
	cr_assert_eq(sock_recvfrom(rx, buf, sizeof(buf), MSG_DONTWAIT, &from), 10);
	cr_assert_eq(from.addr, IP4(127, 0, 0, 1));
	sock_close(rx);
	sock_close(tx);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_udp, bad_arguments_are_refused)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	u8 d[4] = { 0 };
	cr_assert_eq(sock_sendto(s, d, 4, 0, NULL), -EDESTADDRREQ);
	struct sockaddr_in4 noport = { PEER, 0 }, far = { IP4(192, 168, 5, 5), 9 };
	cr_assert_eq(sock_sendto(s, d, 4, 0, &noport), -EINVAL);
	cr_assert_eq(sock_sendto(s, NULL, 4, 0, &far), -EINVAL);
	cr_assert_eq(sock_sendto(s, d, 70000, 0, &far), -EMSGSIZE);
	/* no route: the default gateway takes it (ARP for the gateway) */
	cr_assert_eq(sock_sendto(s, d, 4, 0, &far), 4);
	host_net_tx_bytes(out, sizeof(out), NULL);
	cr_assert_eq(be32(((struct arp_pkt *)(out + ETH_HLEN))->tpa), GW);
	cr_assert_eq(sock_setopt(s, 12345, 1), -ENOPROTOOPT);
	cr_assert_eq(sock_recvfrom(NULL, d, 4, 0, NULL), -EINVAL);
	sock_close(s);
	sock_close(NULL);
	net_if_set_addr(0, US, 24, 0); /* no gateway: no route */
	cr_assert_eq(sock_create(SOCK_DGRAM, &s), 0);
	cr_assert_eq(sock_sendto(s, d, 4, 0, &far), -ENETUNREACH);
	sock_close(s);
	ip_frag_flush();
	arp_flush_if(net_ifs[0]);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0);
}

/* ---- the ip= setting ---- */

Test(net_conf, ip_setting_parser)
{
	struct ip_setting c;
	cr_assert_eq(net_parse_ip_setting("dhcp", &c), 0);
	cr_assert_eq(c.mode, IP_SET_DHCP);
	cr_assert_eq(net_parse_ip_setting("off", &c), 0);
	cr_assert_eq(c.mode, IP_SET_OFF);
	cr_assert_eq(net_parse_ip_setting("10.213.9.3/24,10.213.9.1", &c), 0);
	cr_assert_eq(c.mode, IP_SET_STATIC);
	cr_assert_eq(c.addr, IP4(10, 213, 9, 3));
	cr_assert_eq(c.prefix, 24);
	cr_assert_eq(c.gw, IP4(10, 213, 9, 1));
	cr_assert_eq(net_parse_ip_setting("192.168.1.5/16", &c), 0);
	cr_assert_eq(c.gw, 0);
	static const char *const bad[] = { "", "10.0.0.1", "10.0.0.1/", "10.0.0.1/33", "10.0.0.1/0",
		"10.0.0/8", "10.0.0.256/8", "10.0.0.1/8,", "10.0.0.1/8,1.2.3", "10.0.0.1/8x",
		"dhcpx", "1..2.3/8", "10.0.0.1/99999999999" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(net_parse_ip_setting(bad[i], &c), -EINVAL, "'%s'", bad[i]);
}

Test(net_conf, set_addr_checks_its_arguments, .init = setup_no_addr)
{
	cr_assert_eq(net_if_set_addr(1, US, 24, 0), -ENODEV);
	cr_assert_eq(net_if_set_addr(0, US, 33, 0), -EINVAL);
	cr_assert_eq(net_if_set_addr(0, IP4(10, 0, 0, 255), 24, 0), -EINVAL, "broadcast");
	cr_assert_eq(net_if_set_addr(0, IP4(224, 0, 0, 1), 24, 0), -EINVAL, "multicast");
	cr_assert_eq(net_if_set_addr(0, US, 24, IP4(10, 1, 0, 1)), -EINVAL, "gateway off-link");
	cr_assert_eq(net_if_set_addr(0, US, 24, GW), 0);
	struct netif_info f;
	cr_assert_eq(net_if_info(0, &f), 0);
	cr_assert_eq(f.addr, US);
	cr_assert_eq(f.mask, 0xffffff00u);
	cr_assert_eq(f.gw, GW);
	cr_assert_str_eq(f.dhcp_state, "off");
	struct route_info r[4];
	cr_assert_eq(route_list(r, 4), 2, "connected and default");
}

/* ---- the route table read without its lock ---- */

/* route_lookup takes no lock (route.c): while another CPU adds and removes
 * routes as fast as it can, every lookup returns a route that was in the
 * table as a whole (interface, next hop and source of one route), never
 * parts of two. */
struct route_race {
	struct netif *a, *b;
	volatile bool stop;
	u64 lookups, found_a, found_b, unreachable;
	const char *error;
};

#define RR_GW IP4(192, 168, 7, 1)
#define RR_DST IP4(10, 77, 0, 9)

static void *route_writer(void *arg)
{
	struct route_race *r = arg;
	host_set_cpu(1);
	for (int i = 0; i < 200000 && !r->error; i++) {
		/* the connected route of a and a default through b, added and
		 * removed in alternating orders, so that each table slot holds
		 * a's route in one turn and b's in the next */
		if (i & 2) {
			route_add(IP4(10, 77, 0, 0), 0xffffff00u, 0, r->a);
			route_add(0, 0, RR_GW, r->b);
		} else {
			route_add(0, 0, RR_GW, r->b);
			route_add(IP4(10, 77, 0, 0), 0xffffff00u, 0, r->a);
		}
		if (i & 1) {
			route_del_if(r->a);
			route_del_if(r->b);
		} else {
			route_del_if(r->b);
			route_del_if(r->a);
		}
	}
	r->stop = true;
	return NULL;
}

static void *route_reader(void *arg)
{
	struct route_race *r = arg;
	host_set_cpu(2);
	while (!r->stop) {
		struct netif *ifp;
		ip4_t nh, src;
		int err = route_lookup(RR_DST, &ifp, &nh, &src);
		r->lookups++;
		if (err == -ENETUNREACH) {
			r->unreachable++;
		} else if (err != 0) {
			r->error = "unexpected error";
		} else if (ifp == r->a) {
			r->found_a++;
			if (nh != RR_DST || src != r->a->addr)
				r->error = "interface a with another route's next hop or source";
		} else if (ifp == r->b) {
			r->found_b++;
			if (nh != RR_GW || src != r->b->addr)
				r->error = "interface b with another route's next hop or source";
		} else {
			r->error = "an interface that was never in the table";
		}
		if (r->error)
			break;
	}
	return NULL;
}

Test(net_route, lookup_without_lock_sees_whole_routes)
{
	static struct netif a = { .index = 0, .addr = IP4(10, 77, 0, 2) };
	static struct netif b = { .index = 1, .addr = IP4(192, 168, 7, 2) };
	static struct route_race r;
	r = (struct route_race){ .a = &a, .b = &b };
	pthread_t w, rd;
	cr_assert_eq(pthread_create(&rd, NULL, route_reader, &r), 0);
	cr_assert_eq(pthread_create(&w, NULL, route_writer, &r), 0);
	cr_assert_eq(pthread_join(w, NULL), 0);
	cr_assert_eq(pthread_join(rd, NULL), 0);
	cr_assert_null(r.error, "after %llu lookups: %s", (unsigned long long)r.lookups, r.error);
	cr_assert_gt(r.lookups, 0);
	/* and the table is empty again, for one last look */
	struct netif *ifp;
	ip4_t nh, src;
	cr_assert_eq(route_lookup(RR_DST, &ifp, &nh, &src), -ENETUNREACH);
	route_add(IP4(10, 77, 0, 0), 0xffffff00u, 0, &a);
	route_add(0, 0, RR_GW, &b);
	cr_assert_eq(route_lookup(RR_DST, &ifp, &nh, &src), 0);
	cr_assert_eq(ifp, &a, "the longer prefix wins");
	cr_assert_eq(nh, RR_DST);
	cr_assert_eq(route_lookup(IP4(8, 8, 8, 8), &ifp, &nh, &src), 0);
	cr_assert_eq(ifp, &b);
	cr_assert_eq(nh, RR_GW);
	cr_assert_eq(src, b.addr);
}
