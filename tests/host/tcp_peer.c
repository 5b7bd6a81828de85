/*
 * The TCP host tests' fixture and fake peer (tcp_peer.h): the fake NIC set
 * up with our address and the peer's MAC learned, segments sent as the
 * peer and the stack's segments parsed and checked. Shared by the
 * test_tcp*.c files.
 */
#include <criterion/criterion.h>
#include "tests/host/tcp_peer.h"
#include "kernel/lib/string.h"

const u8 peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x07 };
u8 frame[70000], out[70000];

void learn_peer(void)
{
	u8 f[64];
	memcpy(f, host_nic_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put_be16(f + 12, ETH_P_ARP);
	struct arp_pkt *a = (struct arp_pkt *)(f + 14);
	put_be16(a->htype, 1);
	put_be16(a->ptype, ETH_P_IP);
	a->hlen = 6;
	a->plen = 4;
	put_be16(a->op, ARP_OP_REPLY);
	memcpy(a->sha, peer_mac, 6);
	put_be32(a->spa, PEER);
	put_be32(a->tpa, US);
	host_net_rx(f, 42, 14);
	host_net_tx_drop_all();
}

void setup(void)
{
	host_net_setup(0);
	cr_assert_eq(net_if_set_addr(0, US, 24, 0), 0);
	host_net_tx_drop_all();
	learn_peer(); /* the peer's MAC is known */
}

void fill(u8 *p, u32 n, u32 seed)
{
	for (u32 i = 0; i < n; i++)
		p[i] = (u8)((i * 131 + seed) ^ (i >> 9));
}

/* ---- loopback ---- */

struct socket *listener(u16 port)
{
	struct socket *l;
	cr_assert_eq(sock_create(SOCK_STREAM, &l), 0);
	struct sockaddr_in4 a = { 0, port };
	cr_assert_eq(sock_bind(l, &a), 0);
	cr_assert_eq(sock_listen(l, 16), 0);
	return l;
}

/* ---- scripted segments from a fake peer ---- */

u32 pseudo(ip4_t s, ip4_t d, u8 proto, u32 len)
{
	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + len;
}

/* The next segment the stack sent, parsed and checked. false: none. */
bool next_seg(struct seen *g)
{
	int len = host_net_tx_bytes(out, sizeof(out), NULL);
	if (len < 0)
		return false;
	cr_assert_eq(be16(out + 12), ETH_P_IP);
	cr_assert_eq(out[23], IPPROTO_TCP);
	u32 iplen = be16(out + 16);
	const u8 *t = out + 34;
	u32 tl = iplen - 20, hl = (t[12] >> 4) * 4u;
	cr_assert_eq(host_csum(t, tl, pseudo(US, PEER, IPPROTO_TCP, tl)), 0, "TCP checksum");
	memset(g, 0, offsetof(struct seen, data));
	g->ws = -1;
	g->seq = be32(t + 4);
	g->ack = be32(t + 8);
	g->flags = t[13];
	g->win = be16(t + 14);
	g->len = tl - hl;
	for (u32 i = 20; i < hl;) {
		u8 k = t[i];
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (k == TCPOPT_MSS)
			g->mss = be16(t + i + 2);
		if (k == TCPOPT_WSCALE)
			g->ws = t[i + 2];
		if (k == TCPOPT_TS) {
			g->ts = true;
			g->tsval = be32(t + i + 2);
			g->tsecr = be32(t + i + 6);
		}
		if (k == TCPOPT_SACK_OK) {
			cr_assert_eq(t[i + 1], 2);
			g->sack_ok = true;
		}
		if (k == TCPOPT_SACK) {
			cr_assert(t[i + 1] >= 10 && (t[i + 1] - 2) % 8 == 0, "SACK option length");
			g->nsack = (t[i + 1] - 2u) / 8;
			for (unsigned j = 0; j < g->nsack; j++) {
				g->sack[j][0] = be32(t + i + 2 + 8 * j);
				g->sack[j][1] = be32(t + i + 6 + 8 * j);
			}
		}
		cr_assert(t[i + 1] >= 2 && i + t[i + 1] <= hl, "option %u fits", k);
		i += t[i + 1];
	}
	memcpy(g->data, t + hl, g->len);
	return true;
}

/* Send a segment from the peer; opts raw (length a multiple of 4). */
void peer_seg(u16 sport, u16 dport, u32 seq, u32 ack, u8 flags, u16 win, const u8 *opts,
		     u32 olen, const u8 *data, u32 n)
{
	u32 o = 0;
	memcpy(frame, host_nic_mac, 6);
	memcpy(frame + 6, peer_mac, 6);
	put_be16(frame + 12, ETH_P_IP);
	o = 14;
	u8 *ip = frame + o;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put_be16(ip + 2, (u16)(20 + 20 + olen + n));
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put_be32(ip + 12, PEER);
	put_be32(ip + 16, US);
	put_be16(ip + 10, host_csum(ip, 20, 0));
	u8 *t = ip + 20;
	memset(t, 0, 20);
	put_be16(t, sport);
	put_be16(t + 2, dport);
	put_be32(t + 4, seq);
	put_be32(t + 8, ack);
	t[12] = (u8)(((20 + olen) / 4) << 4);
	t[13] = flags;
	put_be16(t + 14, win);
	if (olen)
		memcpy(t + 20, opts, olen);
	if (n)
		memcpy(t + 20 + olen, data, n);
	u32 tl = 20 + olen + n;
	put_be16(t + 16, host_csum(t, tl, pseudo(PEER, US, IPPROTO_TCP, tl)));
	host_net_rx(frame, 14 + 20 + tl, 14 + 20 + 20 + olen);
}

/* Close both sockets, let every timer run out (an orphan gives up after
 * its retries), and check that no buffer is left. */
void close_and_check(struct socket *s, struct socket *l)
{
	sock_close(s);
	sock_close(l);
	host_net_advance(1000ULL * 1000000000ULL);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0, "every buffer came back");
}


/* A passive open on port 80 from the fake peer: returns the server socket
 * and our ISN. The peer offers MSS 1460 and no other option. */
u32 listener_rcvbuf; /* 0: the default */

struct socket *accept_peer(struct socket **lis, u32 *iss)
{
	*lis = listener(80);
	if (listener_rcvbuf)
		cr_assert_eq(sock_setopt(*lis, SO_RCVBUF, listener_rcvbuf), 0);
	u8 mss[4] = { TCPOPT_MSS, 4, 0x05, 0xb4 };
	peer_seg(PPORT, 80, ISN_PEER, 0, TH_SYN, 65535, mss, 4, NULL, 0);
	struct seen g;
	cr_assert(next_seg(&g), "a SYN-ACK");
	cr_assert_eq(g.flags, TH_SYN | TH_ACK);
	cr_assert_eq(g.ack, ISN_PEER + 1);
	cr_assert_eq(g.mss, 1460);
	cr_assert_eq(g.ws, -1, "no window scale unless the peer offers it");
	cr_assert(!g.ts);
	cr_assert(!g.sack_ok, "no SACK unless the peer offers it");
	*iss = g.seq;
	peer_seg(PPORT, 80, ISN_PEER + 1, *iss + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	struct socket *s;
	cr_assert_eq(sock_accept(*lis, &s, MSG_DONTWAIT), 0);
	return s;
}

/* A passive open from a peer that offers MSS 1460 and SACK-permitted. */
struct socket *accept_sack_peer(struct socket **lis, u32 *iss)
{
	static struct seen g;
	*lis = listener(80);
	u8 opts[8] = { TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_OK, 2 };
	peer_seg(PPORT, 80, ISN_PEER, 0, TH_SYN, 65535, opts, 8, NULL, 0);
	cr_assert(next_seg(&g), "a SYN-ACK");
	cr_assert(g.sack_ok, "SACK-permitted answered");
	*iss = g.seq;
	peer_seg(PPORT, 80, ISN_PEER + 1, *iss + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	struct socket *s;
	cr_assert_eq(sock_accept(*lis, &s, MSG_DONTWAIT), 0);
	cr_assert(sk_tcb(s)->sack_ok);
	return s;
}

/* An ACK from the peer carrying SACK blocks (offsets from our iss + 1). */
void peer_sack(u32 iss, u32 ack_off, const u32 (*blk)[2], unsigned n)
{
	u8 o[36] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, (u8)(2 + 8 * n) };
	for (unsigned i = 0; i < n; i++) {
		put_be32(o + 4 + 8 * i, iss + 1 + blk[i][0]);
		put_be32(o + 8 + 8 * i, iss + 1 + blk[i][1]);
	}
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + ack_off, TH_ACK, 65535, o, 4 + 8 * n, NULL, 0);
}
