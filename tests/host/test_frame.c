/*
 * zerocopy/frame.c: where the headers of a received frame end (virtio-net's
 * header-split prediction, the nictest echo). Frames are built here byte by
 * byte, so the test does not lean on the parser's own constants.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "zerocopy/frame.h"

/* Ethernet [+ VLAN tag] + IPv4 (ihl words) + transport header of l4len. */
static u32 build(u8 *f, bool vlan, u8 ihl, u8 proto, u16 frag, u32 l4len, u32 payload)
{
	u32 n = 12;
	memset(f, 0xaa, 12);
	if (vlan) {
		f[n++] = 0x81, f[n++] = 0x00, f[n++] = 0x00, f[n++] = 0x05;
	}
	f[n++] = 0x08, f[n++] = 0x00;
	u8 *ip = f + n;
	memset(ip, 0, ihl * 4u);
	ip[0] = (u8)(0x40 | ihl);
	ip[6] = (u8)(frag >> 8), ip[7] = (u8)frag;
	ip[9] = proto;
	n += ihl * 4u;
	u8 *l4 = f + n;
	memset(l4, 0, l4len + payload);
	l4[2] = 0, l4[3] = 7;              /* destination port 7 */
	if (proto == 6)
		l4[12] = (u8)((l4len / 4) << 4);
	return n + l4len + payload;
}

Test(frame, tcp_with_options)
{
	u8 f[256];
	u32 len = build(f, false, 5, 6, 0, 32, 100);
	struct frame_hdrs h;
	cr_assert_eq(frame_parse_flat(f, len, &h), 14 + 20 + 32);
	cr_assert_eq(h.ethertype, 0x0800);
	cr_assert_eq(h.l3, 14);
	cr_assert_eq(h.l4, 34);
	cr_assert_eq(h.proto, 6);
	cr_assert_eq(h.len, 66);
	cr_assert_eq(be16(f + h.l4 + L4_OFF_DPORT), 7);
}

Test(frame, udp_behind_a_vlan_tag_and_ip_options)
{
	u8 f[256];
	u32 len = build(f, true, 6, 17, 0, 8, 10);
	struct frame_hdrs h;
	cr_assert_eq(frame_parse_flat(f, len, &h), 18 + 24 + 8);
	cr_assert_eq(h.l3, 18);
	cr_assert_eq(h.l4, 42);
	cr_assert_eq(h.proto, 17);
}

Test(frame, the_first_fragment_has_a_transport_header_later_ones_do_not)
{
	u8 f[256];
	struct frame_hdrs h;
	u32 len = build(f, false, 5, 17, 0x2000 /* MF, offset 0 */, 8, 10);
	cr_assert_eq(frame_parse_flat(f, len, &h), 42);
	cr_assert_eq(h.l4, 34);
	len = build(f, false, 5, 17, 0x2000 | 185, 8, 10);
	cr_assert_eq(frame_parse_flat(f, len, &h), 34);
	cr_assert_eq(h.l4, 0);
	cr_assert_eq(h.proto, 0);
}

Test(frame, headers_cut_short_stop_at_the_last_whole_one)
{
	u8 f[256];
	struct frame_hdrs h;
	u32 len = build(f, false, 5, 6, 0, 20, 0);
	cr_assert_eq(frame_parse_flat(f, len, &h), 54);
	cr_assert_eq(frame_parse_flat(f, 53, &h), 34, "a TCP header one byte short");
	cr_assert_eq(h.l4, 0);
	cr_assert_eq(frame_parse_flat(f, 33, &h), 14, "an IPv4 header one byte short");
	cr_assert_eq(frame_parse_flat(f, 13, &h), 13, "a runt is all header");
	cr_assert_eq(h.l3, 0);
	/* a data offset reaching past the frame */
	build(f, false, 5, 6, 0, 20, 0);
	f[34 + 12] = 15 << 4;
	cr_assert_eq(frame_parse_flat(f, 54, &h), 34);
}

Test(frame, malformed_network_headers_end_at_ethernet)
{
	u8 f[256];
	struct frame_hdrs h;
	u32 len = build(f, false, 5, 6, 0, 20, 0);
	f[14] = 0x65;                      /* version 6 in an IPv4 EtherType */
	cr_assert_eq(frame_parse_flat(f, len, &h), 14);
	build(f, false, 5, 6, 0, 20, 0);
	f[14] = 0x44;                      /* ihl 4: shorter than the fixed header */
	cr_assert_eq(frame_parse_flat(f, len, &h), 14);
	build(f, false, 5, 6, 0, 20, 0);
	f[34 + 12] = 4 << 4;               /* TCP data offset 4 words */
	cr_assert_eq(frame_parse_flat(f, len, &h), 34);
	build(f, false, 5, 1, 0, 8, 0);    /* ICMP: no transport header to find */
	cr_assert_eq(frame_parse_flat(f, len, &h), 34);
	cr_assert_eq(h.l4, 0);
	f[12] = 0x08, f[13] = 0x06;        /* ARP */
	cr_assert_eq(frame_parse_flat(f, len, &h), 14);
	cr_assert_eq(h.ethertype, 0x0806);
}

/* The scattered reader sees the same frame as the flat one. */
struct two_parts {
	const u8 *a, *b;
	u32 alen;
};
static u32 two_byte(const void *ctx, u32 i)
{
	const struct two_parts *t = ctx;
	return i < t->alen ? t->a[i] : t->b[i - t->alen];
}

Test(frame, a_frame_in_two_pieces_parses_as_one)
{
	u8 f[256];
	u32 len = build(f, true, 7, 6, 0, 40, 30);
	struct frame_hdrs flat, split;
	u32 want = frame_parse_flat(f, len, &flat);
	for (u32 cut = 0; cut <= len; cut++) {
		u8 a[256], b[256];
		memcpy(a, f, cut);
		memcpy(b, f + cut, len - cut);
		struct two_parts t = { a, b, cut };
		cr_assert_eq(frame_parse(two_byte, &t, len, &split), want, "cut at %u", cut);
		cr_assert_eq(memcmp(&split, &flat, sizeof(flat)), 0, "cut at %u", cut);
	}
}
