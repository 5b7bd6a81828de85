/*
 * Where the headers of a received Ethernet frame end, and what they are:
 * the one parser the NIC layer uses below the stack (virtio-net's
 * header-split prediction, the nictest echo service). A header split is
 * this layer's business (headers in the buffer's zone, payload in pages),
 * so the parser and the few wire facts it needs live here; netstack/wire.h
 * takes these constants from this header rather than defining them twice.
 *
 * frame_parse(byte, ctx, len, &f) reads the frame's first len bytes through
 * byte(ctx, i) (0 <= i < len), so a frame scattered over a header zone and
 * pages needs no copy; frame_parse_flat() reads contiguous memory. It walks
 * Ethernet (and one 802.1Q tag), then IPv4 with its options, then a TCP or
 * UDP header, and stops at the first header that is not there whole, not
 * IPv4 version 4, or a later fragment (which carries no transport header).
 * It validates nothing else (lengths, checksums, options are the stack's
 * business) and returns f.len: the bytes of headers found, at most len.
 */
#ifndef ZEROCOPY_FRAME_H
#define ZEROCOPY_FRAME_H

#include "kernel/lib/byteorder.h"

/* Ethernet (IEEE 802.3), 802.1Q */
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_VLAN_HLEN 4
#define ETH_OFF_DST 0
#define ETH_OFF_SRC 6
#define ETH_OFF_TYPE 12
#define ETH_P_IP   0x0800
#define ETH_P_ARP  0x0806
#define ETH_P_VLAN 0x8100

/* IPv4 (RFC 791) */
#define IP_HLEN 20             /* without options */
#define IP_MAX_HLEN 60
#define IP_OFF_VIHL 0          /* version (high nibble), header length in words */
#define IP_OFF_FRAG 6          /* flags and fragment offset, 16 bits */
#define IP_OFF_PROTO 9
#define IP_OFF_SRC 12
#define IP_OFF_DST 16
#define IP_DF 0x4000           /* in frag_off: don't fragment */
#define IP_MF 0x2000           /* more fragments */
#define IP_OFFMASK 0x1fff      /* offset in 8-byte units */
#define IPPROTO_ICMP 1
#define IPPROTO_TCP  6
#define IPPROTO_UDP  17

/* TCP (RFC 9293 §3.1) and UDP (RFC 768): ports first in both */
#define L4_OFF_SPORT 0
#define L4_OFF_DPORT 2
#define TCP_HLEN 20            /* without options */
#define TCP_MAX_HLEN 60
#define TCP_OFF_DOFF 12        /* data offset in words, high nibble */
#define UDP_HLEN 8

struct frame_hdrs {
	u16 ethertype;   /* after the VLAN tag, if any; 0 when the frame is shorter */
	u8 proto;        /* the IPv4 protocol when l4 is set, else 0 */
	u32 l3;          /* offset of the network header (ETH_HLEN or with a tag) */
	u32 l4;          /* offset of a whole TCP or UDP header, 0 when none */
	u32 len;         /* the headers found end here: the payload starts */
};

typedef u32 (*frame_byte_fn)(const void *ctx, u32 i);

u32 frame_parse(frame_byte_fn byte, const void *ctx, u32 len, struct frame_hdrs *f);
u32 frame_parse_flat(const u8 *p, u32 len, struct frame_hdrs *f);

#endif
