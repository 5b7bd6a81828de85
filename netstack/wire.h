/*
 * Wire formats below TCP: Ethernet (IEEE 802.3), ARP (RFC 826), IPv4
 * (RFC 791), ICMP (RFC 792), UDP (RFC 768), DHCP (RFC 2131/2132). Packed
 * fixed-width structs in network byte order; read and write multi-byte
 * fields only through be16()/be32()/put_be16()/put_be32()
 * (kernel/lib/byteorder.h). The constants the NIC layer needs too (ETH_*,
 * IP_*, IPPROTO_*, UDP_HLEN, TCP_HLEN) are defined once, in
 * zerocopy/frame.h, included here. Hardware and protocol facts only: no
 * behaviour lives here.
 */
#ifndef NETSTACK_WIRE_H
#define NETSTACK_WIRE_H

#include "zerocopy/frame.h"   /* byte order, and the constants a header split needs */

/* ---- Ethernet ---- */
struct eth_hdr {
	u8 dst[ETH_ALEN];
	u8 src[ETH_ALEN];
	u8 type[2];
} __packed;

/* ---- ARP for IPv4 over Ethernet ---- */
#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2
#define ARP_LEN 28
struct arp_pkt {
	u8 htype[2], ptype[2];
	u8 hlen, plen;
	u8 op[2];
	u8 sha[ETH_ALEN], spa[4];
	u8 tha[ETH_ALEN], tpa[4];
} __packed;

/* ---- IPv4 ---- */
#define IP_MAX_LEN 65535
#define IPOPT_EOL 0
#define IPOPT_NOP 1
struct ip_hdr {
	u8 vihl;                   /* version 4, header length in words */
	u8 tos;
	u8 len[2];                 /* total length */
	u8 id[2];
	u8 frag_off[2];            /* flags and offset */
	u8 ttl;
	u8 proto;
	u8 csum[2];
	u8 src[4], dst[4];
} __packed;
static inline u32 ip_hlen(const struct ip_hdr *ip) { return (ip->vihl & 0xfu) * 4u; }

/* ---- ICMP ---- */
#define ICMP_HLEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_UNREACH_NET 0
#define ICMP_UNREACH_HOST 1
#define ICMP_UNREACH_PROTO 2
#define ICMP_UNREACH_PORT 3
#define ICMP_UNREACH_NEEDFRAG 4
#define ICMP_EXC_FRAGTIME 1
struct icmp_hdr {
	u8 type, code;
	u8 csum[2];
	u8 rest[4];                /* echo: id, sequence; unreachable: unused / mtu */
} __packed;

/* ---- UDP ---- */
struct udp_hdr {
	u8 sport[2], dport[2];
	u8 len[2];
	u8 csum[2];
} __packed;

/* ---- DHCP (BOOTP framing) ---- */
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_FIXED_LEN 236        /* up to and including `file` */
#define DHCP_MAGIC 0x63825363
#define DHCP_MIN_LEN 300          /* BOOTP's minimum message, padded */
#define BOOTREQUEST 1
#define BOOTREPLY 2
#define DHCP_FLAG_BROADCAST 0x8000
struct dhcp_msg {
	u8 op, htype, hlen, hops;
	u8 xid[4];
	u8 secs[2], flags[2];
	u8 ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
	u8 chaddr[16];
	u8 sname[64];
	u8 file[128];
	u8 magic[4];
	/* options follow */
} __packed;
/* option codes (RFC 2132) */
#define DHO_PAD 0
#define DHO_SUBNET_MASK 1
#define DHO_ROUTER 3
#define DHO_DNS 6
#define DHO_REQUESTED_ADDR 50
#define DHO_LEASE_TIME 51
#define DHO_OVERLOAD 52
#define DHO_MSG_TYPE 53
#define DHO_SERVER_ID 54
#define DHO_PARAM_LIST 55
#define DHO_RENEWAL_TIME 58
#define DHO_REBINDING_TIME 59
#define DHO_CLIENT_ID 61
#define DHO_END 255
/* message types */
#define DHCPDISCOVER 1
#define DHCPOFFER 2
#define DHCPREQUEST 3
#define DHCPDECLINE 4
#define DHCPACK 5
#define DHCPNAK 6
#define DHCPRELEASE 7

#endif
