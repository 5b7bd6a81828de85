/*
 * What the TCP host tests share (tcp_peer.c): the fixture (setup: the fake
 * NIC of host_net.h with address US, the peer's MAC learned), a listener,
 * and a fake peer at PEER that sends scripted segments (peer_seg) and reads
 * back every segment the stack sends (next_seg), checking its checksum and
 * options. Buffers are shared: one test at a time (Criterion runs each
 * test in its own process).
 */
#ifndef TESTS_HOST_TCP_PEER_H
#define TESTS_HOST_TCP_PEER_H

#include "tests/host/host.h"
#include "tests/host/host_net.h"
#include "netstack/tcp_priv.h"

#define US IP4(10, 0, 0, 2)
#define PEER IP4(10, 0, 0, 7)
#define PPORT 40000
#define ISN_PEER 1000000u

extern const u8 peer_mac[6];
extern u8 frame[70000], out[70000];

void learn_peer(void);
void setup(void);
void fill(u8 *p, u32 n, u32 seed);
struct socket *listener(u16 port);

/* A segment the stack sent, parsed. */
struct seen {
	u32 seq, ack, len;
	u16 win;
	u8 flags;
	u16 mss;
	int ws;
	bool ts;
	u32 tsval, tsecr;
	bool sack_ok;
	unsigned nsack;
	u32 sack[4][2];
	u8 data[66000];
};

u32 pseudo(ip4_t s, ip4_t d, u8 proto, u32 len);
/* The next segment the stack sent, parsed and checked. false: none. */
bool next_seg(struct seen *g);
/* Send a segment from the peer; opts raw (length a multiple of 4). */
void peer_seg(u16 sport, u16 dport, u32 seq, u32 ack, u8 flags, u16 win, const u8 *opts,
	      u32 olen, const u8 *data, u32 n);
/* Close both sockets, let every timer run out (an orphan gives up after
 * its retries), and check that no buffer is left. */
void close_and_check(struct socket *s, struct socket *l);
/* The receive buffer accept_peer's listener sets (0: the default). */
extern u32 listener_rcvbuf;
/* A passive open on port 80 from the fake peer: returns the server socket
 * and our ISN. The peer offers MSS 1460 and no other option. */
struct socket *accept_peer(struct socket **lis, u32 *iss);
/* A passive open from a peer that offers MSS 1460 and SACK-permitted. */
struct socket *accept_sack_peer(struct socket **lis, u32 *iss);
/* An ACK from the peer carrying SACK blocks (offsets from our iss + 1). */
void peer_sack(u32 iss, u32 ack_off, const u32 (*blk)[2], unsigned n);

#endif
