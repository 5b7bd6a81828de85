/*
 * TCP wire format (RFC 9293 §3.1) and options: MSS (RFC 9293 §3.2), window
 * scale and timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018).
 * Network byte order; read through be16/be32 (wire.h).
 */
#ifndef NETSTACK_TCP_WIRE_H
#define NETSTACK_TCP_WIRE_H

#include "netstack/wire.h"

/* TCP_HLEN and TCP_MAX_HLEN: zerocopy/frame.h */
struct tcp_hdr {
	u8 sport[2], dport[2];
	u8 seq[4], ack[4];
	u8 doff;                 /* data offset in words, high nibble */
	u8 flags;
	u8 win[2];
	u8 csum[2];
	u8 urg[2];
} __packed;
static inline u32 tcp_hlen(const struct tcp_hdr *t) { return (u32)(t->doff >> 4) * 4u; }

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

/* options */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2             /* len 4 */
#define TCPOPT_WSCALE 3          /* len 3 */
#define TCPOPT_SACK_OK 4         /* len 2 */
#define TCPOPT_SACK 5            /* len 2 + 8n */
#define TCPOPT_TS 8              /* len 10 */
#define TCP_MAX_WSCALE 14

#endif
