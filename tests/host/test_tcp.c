/*
 * TCP unit tests: connections over the loopback (both ends are ours), and
 * scripted segments from a fake peer through the fake NIC (host_net.h),
 * checking every sequence number the stack sends back.
 */
#include <criterion/criterion.h>
#include "tests/host/host.h"
#include "tests/host/host_net.h"
#include "netstack/tcp_priv.h"
#include "kernel/lib/string.h"

#define US IP4(10, 0, 0, 2)
#define PEER IP4(10, 0, 0, 7)
static const u8 peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x07 };
static u8 frame[70000], out[70000];

static void learn_peer(void)
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

static void setup(void)
{
	host_net_setup(0);
	cr_assert_eq(net_if_set_addr(0, US, 24, 0), 0);
	host_net_tx_drop_all();
	learn_peer(); /* the peer's MAC is known */
}

static void fill(u8 *p, u32 n, u32 seed)
{
	for (u32 i = 0; i < n; i++)
		p[i] = (u8)((i * 131 + seed) ^ (i >> 9));
}

/* ---- loopback ---- */

static struct socket *listener(u16 port)
{
	struct socket *l;
	cr_assert_eq(sock_create(SOCK_STREAM, &l), 0);
	struct sockaddr_in4 a = { 0, port };
	cr_assert_eq(sock_bind(l, &a), 0);
	cr_assert_eq(sock_listen(l, 16), 0);
	return l;
}

static void pair(u16 port, struct socket **l, struct socket **c, struct socket **srv)
{
	*l = listener(port);
	cr_assert_eq(sock_create(SOCK_STREAM, c), 0);
	struct sockaddr_in4 to = { US, port };
	cr_assert_eq(sock_connect(*c, &to), 0, "loopback connect completes at once");
	cr_assert_eq(sock_accept(*l, srv, MSG_DONTWAIT), 0);
	cr_assert_str_eq(tcp_state_name(sk_tcb(*srv)->state), "ESTABLISHED");
	cr_assert_str_eq(tcp_state_name(sk_tcb(*c)->state), "ESTABLISHED");
}

TestSuite(tcp_loop, .init = setup);

Test(tcp_loop, connect_send_receive_close)
{
	struct socket *l, *c, *s;
	pair(80, &l, &c, &s);
	struct sockaddr_in4 a, p;
	cr_assert_eq(sock_getname(s, &a, &p), 0);
	cr_assert_eq(a.port, 80);
	cr_assert_eq(p.addr, US);
	static u8 data[300000], buf[300000];
	fill(data, sizeof(data), 1);
	u32 sent = 0, got = 0;
	cr_assert_eq(sock_setopt(c, SO_NONBLOCK, 1), 0);
	while (got < sizeof(data)) {
		if (sent < sizeof(data)) {
			long n = sock_sendto(c, data + sent, sizeof(data) - sent, 0, NULL);
			cr_assert(n > 0 || n == -EAGAIN, "send: %ld", n);
			if (n > 0)
				sent += (u32)n;
		}
		long r = sock_recvfrom(s, buf + got, sizeof(buf) - got, MSG_DONTWAIT, NULL);
		cr_assert(r > 0 || r == -EAGAIN, "recv: %ld", r);
		if (r > 0)
			got += (u32)r;
		if (r == -EAGAIN && sent == sizeof(data))
			host_net_advance(10000000ULL); /* delayed ACKs, if any */
	}
	cr_assert_eq(memcmp(buf, data, sizeof(data)), 0);
	/* half-close: the server reads EOF, still sends */
	cr_assert_eq(sock_shutdown(c, SHUT_WR), 0);
	cr_assert_eq(sock_recvfrom(s, buf, 10, MSG_DONTWAIT, NULL), 0, "EOF");
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSE_WAIT");
	cr_assert_eq(sock_sendto(s, "bye", 3, 0, NULL), 3);
	cr_assert_eq(sock_recvfrom(c, buf, 10, MSG_DONTWAIT, NULL), 3);
	cr_assert_eq(memcmp(buf, "bye", 3), 0);
	sock_close(s);
	cr_assert_eq(sock_recvfrom(c, buf, 10, MSG_DONTWAIT, NULL), 0, "EOF the other way");
	cr_assert_str_eq(tcp_state_name(sk_tcb(c)->state), "TIME_WAIT");
	sock_close(c);
	sock_close(l);
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(host_net_tx_count(), 0, "nothing went to the wire");
	cr_assert_eq(pkb_live(), 0, "every buffer came back");
	struct pkb_copy_stats cs;
	pkb_copy_stats(&cs);
	cr_assert_eq(cs.bytes[PKB_COPY_TX_WRITE], sizeof(data) + 3, "one copy in");
	cr_assert_eq(cs.bytes[PKB_COPY_RX_READ], sizeof(data) + 3, "one copy out");
}

Test(tcp_loop, refused_and_port_rules)
{
	struct socket *c;
	cr_assert_eq(sock_create(SOCK_STREAM, &c), 0);
	struct sockaddr_in4 to = { US, 81 };
	cr_assert_eq(sock_connect(c, &to), -ECONNREFUSED);
	sock_close(c);
	struct socket *l = listener(90), *l2;
	cr_assert_eq(sock_create(SOCK_STREAM, &l2), 0);
	struct sockaddr_in4 a = { 0, 90 };
	cr_assert_eq(sock_bind(l2, &a), -EADDRINUSE);
	sock_close(l2);
	sock_close(l);
	host_net_advance(1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_loop, close_with_unread_data_resets_the_peer)
{
	struct socket *l, *c, *s;
	pair(82, &l, &c, &s);
	cr_assert_eq(sock_sendto(c, "hello", 5, 0, NULL), 5);
	sock_close(s); /* unread: RST */
	u8 buf[8];
	cr_assert_eq(sock_recvfrom(c, buf, 8, MSG_DONTWAIT, NULL), -ECONNRESET);
	sock_close(c);
	sock_close(l);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_loop, backlog_limits_pending_connections)
{
	struct socket *l;
	cr_assert_eq(sock_create(SOCK_STREAM, &l), 0);
	struct sockaddr_in4 a = { 0, 83 };
	cr_assert_eq(sock_bind(l, &a), 0);
	cr_assert_eq(sock_listen(l, 2), 0);
	struct socket *c[3];
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(sock_create(SOCK_STREAM, &c[i]), 0);
		sock_setopt(c[i], SO_NONBLOCK, 1);
		struct sockaddr_in4 to = { US, 83 };
		int r = sock_connect(c[i], &to);
		cr_assert(i < 2 ? r == 0 : r == -EINPROGRESS, "connect %d: %d", i, r);
	}
	cr_assert_eq(net_drop_count(NET_DROP_tcp_backlog), 1);
	struct socket *s;
	cr_assert_eq(sock_accept(l, &s, MSG_DONTWAIT), 0);
	sock_close(s);
	/* the third one's SYN is retried after a second and gets in */
	host_net_advance(1100000000ULL);
	cr_assert_str_eq(tcp_state_name(sk_tcb(c[2])->state), "ESTABLISHED");
	for (int i = 0; i < 3; i++)
		sock_close(c[i]);
	sock_close(l); /* resets what was never accepted */
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

/* ---- scripted segments from a fake peer ---- */

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

static u32 pseudo(ip4_t s, ip4_t d, u8 proto, u32 len)
{
	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + len;
}

/* The next segment the stack sent, parsed and checked. false: none. */
static bool next_seg(struct seen *g)
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
static void peer_seg(u16 sport, u16 dport, u32 seq, u32 ack, u8 flags, u16 win, const u8 *opts,
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
static void close_and_check(struct socket *s, struct socket *l)
{
	sock_close(s);
	sock_close(l);
	host_net_advance(1000ULL * 1000000000ULL);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0, "every buffer came back");
}

#define PPORT 40000
#define ISN_PEER 1000000u

/* A passive open on port 80 from the fake peer: returns the server socket
 * and our ISN. The peer offers MSS 1460 and no other option. */
static u32 listener_rcvbuf; /* 0: the default */

static struct socket *accept_peer(struct socket **lis, u32 *iss)
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

TestSuite(tcp_peer, .init = setup);

Test(tcp_peer, handshake_then_data_both_ways)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	/* the peer sends 2920 bytes in two segments; we ACK the second at once */
	static u8 d[3000];
	fill(d, 3000, 2);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 65535, NULL, 0, d, 1460);
	cr_assert_eq(host_net_tx_count(), 0, "the first is acknowledged later");
	peer_seg(PPORT, 80, ISN_PEER + 1461, iss + 1, TH_ACK | TH_PSH, 65535, NULL, 0, d + 1460, 1460);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 1 + 2920);
	cr_assert_eq(g.len, 0);
	u8 buf[4000];
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), 2920);
	cr_assert_eq(memcmp(buf, d, 2920), 0);
	/* a frame longer than the MTU is dropped and counted */
	host_net_tx_drop_all(); /* (the reader's window update) */
	peer_seg(PPORT, 80, ISN_PEER + 2921, iss + 1, TH_ACK, 65535, NULL, 0, d, 1500);
	cr_assert_eq(net_drop_count(NET_DROP_eth_too_long), 1);
	cr_assert_eq(host_net_tx_count(), 0);
	/* we send 5000 bytes: the peer's window and MSS cut them */
	static u8 e[5000];
	fill(e, 5000, 3);
	cr_assert_eq(sock_sendto(s, e, 5000, 0, NULL), 5000);
	u32 at = 0;
	for (int round = 0; round < 2; round++) {
		while (next_seg(&g)) {
			if (!g.len)
				continue;
			cr_assert_eq(g.seq, iss + 1 + at);
			cr_assert_leq(g.len, 1460);
			cr_assert_eq(memcmp(g.data, e + at, g.len), 0);
			at += g.len;
		}
		if (round == 0) {
			cr_assert_eq(at, 3 * 1460, "Nagle holds the small tail while data is unacked");
			peer_seg(PPORT, 80, ISN_PEER + 2921, iss + 1 + at, TH_ACK, 65535, NULL, 0, NULL, 0);
		}
	}
	cr_assert_eq(at, 5000);
	peer_seg(PPORT, 80, ISN_PEER + 2921, iss + 1 + 5000, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(sk_tcb(s)->snd_una, iss + 1 + 5000);
	cr_assert_eq(sk_tcb(s)->timer[TT_REXMIT], 0, "nothing in flight, no timer");
	sock_close(s);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_FIN | TH_ACK);
	cr_assert_eq(g.seq, iss + 1 + 5000);
	peer_seg(PPORT, 80, ISN_PEER + 2921, iss + 5002, TH_ACK | TH_FIN, 65535, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 2922, "the FIN is acknowledged");
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "TIME_WAIT");
	sock_close(l);
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, loss_is_repaired_by_timeout_and_by_fast_retransmit)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	static u8 e[14600];
	fill(e, sizeof(e), 4);
	cr_assert_eq(sock_sendto(s, e, sizeof(e), 0, NULL), (long)sizeof(e));
	int n = 0;
	while (next_seg(&g))
		n++;
	cr_assert_eq(n, 10, "an initial window of 10 segments");
	/* nothing acknowledged: after the RTO the first is sent again (the
	 * handshake measured an RTT near 0, so the RTO is its 200 ms floor) */
	cr_assert_eq(sk_tcb(s)->rto_ns, TCP_RTO_MIN_NS);
	host_net_advance(150000000ULL);
	cr_assert_eq(host_net_tx_count(), 0);
	host_net_advance(60000000ULL);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.seq, iss + 1);
	cr_assert_eq(g.len, 1460);
	cr_assert_eq(sk_tcb(s)->cwnd, 1460, "the loss window");
	host_net_tx_drop_all();
	/* the peer acks 2 segments, then dup-acks 3 times: fast retransmit */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 2920, TH_ACK, 65535, NULL, 0, NULL, 0);
	host_net_tx_drop_all();
	for (int i = 0; i < 3; i++)
		peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 2920, TH_ACK, 65535, NULL, 0, NULL, 0);
	bool resent = false;
	while (next_seg(&g))
		if (g.seq == iss + 1 + 2920 && g.len)
			resent = true;
	cr_assert(resent, "the third duplicate ACK resends the hole");
	cr_assert(sk_tcb(s)->in_recovery);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + sizeof(e), TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert(!sk_tcb(s)->in_recovery);
	cr_assert_eq(sk_tcb(s)->snd_una, iss + 1 + sizeof(e));
	host_net_tx_drop_all();
	close_and_check(s, l);
}

Test(tcp_peer, out_of_order_data_waits_then_fills_in)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	static u8 d[4000];
	fill(d, 4000, 5);
	peer_seg(PPORT, 80, ISN_PEER + 1 + 1000, iss + 1, TH_ACK, 65535, NULL, 0, d + 1000, 1400);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 1, "a duplicate ACK for the gap");
	u8 buf[5000];
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), -EAGAIN);
	/* overlapping the queued part */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 65535, NULL, 0, d, 1200);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 1 + 2400);
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), 2400);
	cr_assert_eq(memcmp(buf, d, 2400), 0);
	close_and_check(s, l);
}

Test(tcp_peer, rst_and_syn_in_the_window_get_a_challenge_ack)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	peer_seg(PPORT, 80, ISN_PEER + 100, 0, TH_RST, 0, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_ACK);
	cr_assert_eq(g.ack, ISN_PEER + 1);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "ESTABLISHED");
	peer_seg(PPORT, 80, ISN_PEER + 5, 0, TH_SYN, 0, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "ESTABLISHED");
	cr_assert_eq(net_drop_count(NET_DROP_tcp_rst_ignored), 1);
	cr_assert_eq(net_drop_count(NET_DROP_tcp_syn_ignored), 1);
	/* an ACK for data never sent */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 100000, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(net_drop_count(NET_DROP_tcp_bad_ack), 1);
	host_net_tx_drop_all();
	/* the exact RST resets */
	peer_seg(PPORT, 80, ISN_PEER + 1, 0, TH_RST, 0, NULL, 0, NULL, 0);
	u8 b[4];
	cr_assert_eq(sock_recvfrom(s, b, 4, MSG_DONTWAIT, NULL), -ECONNRESET);
	sock_close(s);
	sock_close(l);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, segments_for_no_connection_are_reset)
{
	static struct seen g;
	peer_seg(PPORT, 81, 5555, 0, TH_SYN, 1000, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_RST | TH_ACK);
	cr_assert_eq(g.ack, 5556);
	peer_seg(PPORT, 81, 5555, 777, TH_ACK, 1000, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_RST);
	cr_assert_eq(g.seq, 777);
	peer_seg(PPORT, 81, 5555, 777, TH_RST, 1000, NULL, 0, NULL, 0);
	cr_assert_eq(host_net_tx_count(), 0, "never a RST for a RST");
	cr_assert_eq(net_drop_count(NET_DROP_tcp_no_conn), 3);
}

Test(tcp_peer, zero_window_is_probed)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 0, NULL, 0, NULL, 0); /* window 0 */
	cr_assert_eq(sock_sendto(s, "abcdef", 6, 0, NULL), 6);
	cr_assert_eq(host_net_tx_count(), 0, "nothing fits");
	host_net_advance(1100000000ULL);
	cr_assert(next_seg(&g), "a probe");
	cr_assert_eq(g.len, 1);
	cr_assert_eq(g.seq, iss + 1);
	/* the window opens */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 1000, NULL, 0, NULL, 0);
	u32 got = 0;
	while (next_seg(&g))
		got += g.len;
	cr_assert_geq(got, 5);
	close_and_check(s, l);
}

Test(tcp_peer, window_scale_and_timestamps_are_negotiated)
{
	static struct seen g;
	struct socket *l = listener(80);
	u8 opts[20] = { TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_NOP, TCPOPT_WSCALE, 3, 7,
			TCPOPT_SACK_OK, 2, TCPOPT_TS, 10, 0, 0, 0, 99, 0, 0, 0, 0 };
	peer_seg(PPORT, 80, ISN_PEER, 0, TH_SYN, 65535, opts, 20, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_geq(g.ws, 0, "we scale too");
	cr_assert(g.ts);
	cr_assert_eq(g.tsecr, 99);
	struct socket *s;
	u8 ts[12] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TS, 10, 0, 0, 0, 100 };
	put_be32(ts + 8, g.tsval);
	peer_seg(PPORT, 80, ISN_PEER + 1, g.seq + 1, TH_ACK, 1000, ts, 12, NULL, 0);
	cr_assert_eq(sock_accept(l, &s, MSG_DONTWAIT), 0);
	struct tcb *t = sk_tcb(s);
	cr_assert_eq(t->snd_wnd, 1000u << 7, "the peer's window, scaled");
	cr_assert_eq(t->mss, 1460 - 12, "timestamps take 12 bytes of each segment");
	/* an old timestamp (PAWS) is dropped */
	u8 old[12] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TS, 10, 0, 0, 0, 50 };
	peer_seg(PPORT, 80, ISN_PEER + 1, g.seq + 1, TH_ACK, 1000, old, 12, (const u8 *)"x", 1);
	cr_assert_eq(net_drop_count(NET_DROP_tcp_paws), 1);
	host_net_tx_drop_all();
	close_and_check(s, l);
}

Test(tcp_peer, a_full_syn_queue_answers_with_cookies)
{
	static struct seen g;
	struct socket *l;
	cr_assert_eq(sock_create(SOCK_STREAM, &l), 0);
	struct sockaddr_in4 a = { 0, 80 };
	cr_assert_eq(sock_bind(l, &a), 0);
	cr_assert_eq(sock_listen(l, 2), 0);
	u8 mss[4] = { TCPOPT_MSS, 4, 0x05, 0xb4 };
	/* two half-open connections fill the SYN queue (a flood would) */
	for (u16 i = 0; i < 2; i++) {
		peer_seg(PPORT + i, 80, ISN_PEER, 0, TH_SYN, 65535, mss, 4, NULL, 0);
		cr_assert(next_seg(&g));
		cr_assert_eq(g.flags, TH_SYN | TH_ACK);
	}
	/* the third gets a cookie: no state kept */
	peer_seg(PPORT + 7, 80, ISN_PEER + 5, 0, TH_SYN, 65535, mss, 4, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_SYN | TH_ACK);
	cr_assert_eq(g.ack, ISN_PEER + 6);
	cr_assert_eq(g.mss, 1460);
	cr_assert_eq(tcp_stats.syncookies_sent, 1);
	u32 cookie = g.seq;
	/* a wrong cookie is reset */
	peer_seg(PPORT + 8, 80, ISN_PEER + 6, cookie + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_RST);
	cr_assert_eq(tcp_stats.syncookies_failed, 1);
	/* the right one makes a connection, with data on the ACK */
	peer_seg(PPORT + 7, 80, ISN_PEER + 6, cookie + 1, TH_ACK | TH_PSH, 65535, NULL, 0,
		 (const u8 *)"GET", 3);
	cr_assert_eq(tcp_stats.syncookies_ok, 1);
	struct socket *s;
	cr_assert_eq(sock_accept(l, &s, MSG_DONTWAIT), 0);
	struct sockaddr_in4 p;
	sock_getname(s, NULL, &p);
	cr_assert_eq(p.port, PPORT + 7);
	u8 buf[8];
	cr_assert_eq(sock_recvfrom(s, buf, 8, MSG_DONTWAIT, NULL), 3);
	cr_assert_eq(memcmp(buf, "GET", 3), 0);
	cr_assert_eq(sk_tcb(s)->mss, 1460);
	/* an old cookie (over 128 s) no longer works */
	peer_seg(PPORT + 9, 80, ISN_PEER + 5, 0, TH_SYN, 65535, mss, 4, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(tcp_stats.syncookies_sent, 2, "the queue is still full");
	u32 old = g.seq;
	host_net_advance(130ULL * 1000000000ULL);
	host_net_tx_drop_all();
	learn_peer();
	peer_seg(PPORT + 9, 80, ISN_PEER + 6, old + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_RST, "a stale cookie");
	close_and_check(s, l);
}

Test(tcp_peer, a_window_probe_is_answered_even_when_the_update_was_lost)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	listener_rcvbuf = 2920;
	struct socket *s = accept_peer(&l, &iss);
	static u8 d[2920];
	fill(d, sizeof(d), 9);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 65535, NULL, 0, d, 1460);
	peer_seg(PPORT, 80, ISN_PEER + 1461, iss + 1, TH_ACK, 65535, NULL, 0, d + 1460, 1460);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 2921);
	cr_assert_eq(g.win, 0, "the buffer is full");
	/* the reader empties it; the window update it sends is lost */
	u8 buf[4000];
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), 2920);
	cr_assert(next_seg(&g), "a window update");
	cr_assert_gt(g.win, 0);
	/* the peer's persist probe (Linux sends SND.UNA - 1, no data) gets the window */
	peer_seg(PPORT, 80, ISN_PEER + 2920, iss + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert(next_seg(&g), "the probe is answered");
	cr_assert_eq(g.ack, ISN_PEER + 2921);
	cr_assert_gt(g.win, 0);
	close_and_check(s, l);
}

Test(tcp_peer, acks_at_the_right_edge_of_a_full_window_are_taken)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	listener_rcvbuf = 2920;
	struct socket *s = accept_peer(&l, &iss);
	cr_assert_eq(sock_sendto(s, "hello", 5, 0, NULL), 5);
	host_net_tx_drop_all();
	/* the peer's first segment is lost, its second waits out of order: the
	 * window (2920) is now full up to its right edge */
	static u8 d[2920];
	fill(d, sizeof(d), 11);
	peer_seg(PPORT, 80, ISN_PEER + 1461, iss + 1, TH_ACK, 65535, NULL, 0, d + 1460, 1460);
	host_net_tx_drop_all();
	/* its next ACK (for our 5 bytes) has SEG.SEQ = RCV.NXT + RCV.WND */
	peer_seg(PPORT, 80, ISN_PEER + 2921, iss + 6, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(sk_tcb(s)->snd_una, iss + 6, "the ACK was taken");
	/* a segment wholly past the edge is not kept, but its ACK counts too */
	peer_seg(PPORT, 80, ISN_PEER + 2921, iss + 6, TH_ACK, 65535, NULL, 0, d, 100);
	cr_assert_eq(sk_tcb(s)->ooo_bytes, 1460);
	/* the lost segment comes again: everything is in order */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 6, TH_ACK, 65535, NULL, 0, d, 1460);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 2921);
	u8 buf[4000];
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), 2920);
	cr_assert_eq(memcmp(buf, d, 2920), 0);
	close_and_check(s, l);
}

/* ---- selective acknowledgments (RFC 2018, RFC 6675) ---- */

/* A passive open from a peer that offers MSS 1460 and SACK-permitted. */
static struct socket *accept_sack_peer(struct socket **lis, u32 *iss)
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
static void peer_sack(u32 iss, u32 ack_off, const u32 (*blk)[2], unsigned n)
{
	u8 o[36] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, (u8)(2 + 8 * n) };
	for (unsigned i = 0; i < n; i++) {
		put_be32(o + 4 + 8 * i, iss + 1 + blk[i][0]);
		put_be32(o + 8 + 8 * i, iss + 1 + blk[i][1]);
	}
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + ack_off, TH_ACK, 65535, o, 4 + 8 * n, NULL, 0);
}

Test(tcp_peer, sack_blocks_report_the_out_of_order_queue)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_sack_peer(&l, &iss);
	static u8 d[5000];
	fill(d, sizeof(d), 21);
	const u32 B = ISN_PEER + 1;
	/* [1000, 2000) arrives early: one block */
	peer_seg(PPORT, 80, B + 1000, iss + 1, TH_ACK, 65535, NULL, 0, d + 1000, 1000);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, B);
	cr_assert_eq(g.nsack, 1);
	cr_assert_eq(g.sack[0][0], B + 1000);
	cr_assert_eq(g.sack[0][1], B + 2000);
	/* then [3000, 4000): the newest block comes first */
	peer_seg(PPORT, 80, B + 3000, iss + 1, TH_ACK, 65535, NULL, 0, d + 3000, 1000);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.nsack, 2);
	cr_assert_eq(g.sack[0][0], B + 3000);
	cr_assert_eq(g.sack[0][1], B + 4000);
	cr_assert_eq(g.sack[1][0], B + 1000);
	cr_assert_eq(g.sack[1][1], B + 2000);
	/* [2000, 3000) joins them into one */
	peer_seg(PPORT, 80, B + 2000, iss + 1, TH_ACK, 65535, NULL, 0, d + 2000, 1000);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, B);
	cr_assert_eq(g.nsack, 1);
	cr_assert_eq(g.sack[0][0], B + 1000);
	cr_assert_eq(g.sack[0][1], B + 4000);
	/* five separate blocks: four fit beside no timestamps, newest first */
	for (u32 k = 0; k < 5; k++) {
		u32 off = 5000 + k * 2000;
		static u8 z[1000];
		peer_seg(PPORT, 80, B + off, iss + 1, TH_ACK, 65535, NULL, 0, z, 1000);
		host_net_tx_drop_all();
	}
	peer_seg(PPORT, 80, B + 4500, iss + 1, TH_ACK, 65535, NULL, 0, d + 4500, 100);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.nsack, 4);
	cr_assert_eq(g.sack[0][0], B + 4500, "the block the last segment landed in");
	cr_assert_eq(g.sack[0][1], B + 4600);
	cr_assert_eq(g.sack[1][0], B + 13000, "then the most recent ones");
	cr_assert_eq(g.sack[2][0], B + 11000);
	cr_assert_eq(g.sack[3][0], B + 9000);
	/* the hole fills: everything up to the next hole is acked, and the
	 * rest of the queue is still reported */
	peer_seg(PPORT, 80, B, iss + 1, TH_ACK, 65535, NULL, 0, d, 1000);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, B + 4000);
	cr_assert_geq(g.nsack, 1);
	for (unsigned i = 0; i < g.nsack; i++)
		cr_assert(seq_gt(g.sack[i][0], g.ack), "no block below the ACK");
	u8 buf[5000];
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), 4000);
	cr_assert_eq(memcmp(buf, d, 4000), 0);
	host_net_tx_drop_all();
	close_and_check(s, l);
}

Test(tcp_peer, sack_recovery_resends_only_the_holes)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_sack_peer(&l, &iss);
	struct tcb *t = sk_tcb(s);
	static u8 e[40 * 1460];
	fill(e, sizeof(e), 22);
	cr_assert_eq(sock_sendto(s, e, sizeof(e), 0, NULL), (long)sizeof(e));
	int n = 0;
	while (next_seg(&g))
		n++;
	cr_assert_eq(n, 10, "the initial window");
	const u32 M = 1460;
	/* segments 0 and 3 are lost: the peer SACKs 1-2 and 4-9 */
	u32 blk[2][2] = { { 4 * M, 10 * M }, { 1 * M, 3 * M } };
	peer_sack(iss, 0, blk, 2);
	cr_assert(t->in_recovery, "enough SACKed above the first byte: it is lost");
	cr_assert_eq(t->sacked_bytes, 8 * M);
	u32 resent[8], nr = 0, new_from = 10 * M, new_bytes = 0;
	while (next_seg(&g)) {
		u32 off = g.seq - (iss + 1);
		if (off < 10 * M) {
			cr_assert_lt(nr, 8);
			cr_assert_eq(memcmp(g.data, e + off, g.len), 0);
			resent[nr++] = off;
		} else {
			cr_assert_eq(off, new_from + new_bytes, "new data in order");
			new_bytes += g.len;
		}
	}
	cr_assert_eq(nr, 2, "only the two holes are sent again (%u)", nr);
	cr_assert_eq(resent[0], 0);
	cr_assert_eq(resent[1], 3 * M);
	cr_assert_leq(t->cwnd, 7 * M + M, "the window was reduced");
	cr_assert_leq(tcp_sack_pipe(t), t->cwnd, "the pipe stays under cwnd");
	cr_assert_eq(tcp_sack_pipe(t), 2 * M + new_bytes);
	/* a partial ACK (segment 0 arrived) keeps recovery going */
	peer_sack(iss, 3 * M, blk, 1);
	cr_assert(t->in_recovery);
	cr_assert_eq(t->snd_una, iss + 1 + 3 * M);
	host_net_tx_drop_all();
	/* everything up to the recovery point: recovery is over */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 10 * M + new_bytes, TH_ACK, 65535, NULL, 0,
		 NULL, 0);
	cr_assert(!t->in_recovery);
	cr_assert_eq(t->n_sacked, 0, "the scoreboard empties with the cumulative ACK");
	cr_assert_eq(t->sack_recoveries, 1);
	cr_assert_eq(t->nr_recoveries, 0);
	host_net_tx_drop_all();
	close_and_check(s, l);
}

Test(tcp_peer, sack_recovery_starts_on_three_duplicates_and_a_timeout_clears_the_board)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_sack_peer(&l, &iss);
	struct tcb *t = sk_tcb(s);
	static u8 e[10 * 1460];
	fill(e, sizeof(e), 23);
	cr_assert_eq(sock_sendto(s, e, sizeof(e), 0, NULL), (long)sizeof(e));
	host_net_tx_drop_all();
	const u32 M = 1460;
	/* one segment SACKed at a time: not lost yet (2 MSS above), so the
	 * third duplicate starts recovery */
	u32 b1[1][2] = { { 1 * M, 2 * M } }, b2[2][2] = { { 2 * M, 3 * M }, { 1 * M, 2 * M } };
	peer_sack(iss, 0, b1, 1);
	cr_assert(!t->in_recovery);
	peer_sack(iss, 0, b2, 2);
	cr_assert(!t->in_recovery, "2 MSS SACKed is not yet a loss");
	cr_assert_eq(host_net_tx_count(), 0);
	u32 b3[1][2] = { { 1 * M, 4 * M } };
	peer_sack(iss, 0, b3, 1);
	cr_assert(t->in_recovery, "the third duplicate");
	cr_assert(next_seg(&g));
	cr_assert_eq(g.seq, iss + 1, "the first segment again");
	host_net_tx_drop_all();
	/* a block outside what was sent is ignored and counted */
	u64 bad = tcp_stats.sack_blocks_bad;
	u32 wild[1][2] = { { 20 * M, 21 * M } };
	peer_sack(iss, 0, wild, 1);
	cr_assert_eq(tcp_stats.sack_blocks_bad, bad + 1);
	cr_assert_eq(t->sacked_bytes, 3 * M);
	/* a malformed option (length 7) is ignored and counted */
	u8 o[8] = { TCPOPT_SACK, 7, 0, 0, 0, 0, 0, TCPOPT_NOP };
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 65535, o, 8, NULL, 0);
	cr_assert_eq(tcp_stats.sack_blocks_bad, bad + 2);
	host_net_tx_drop_all();
	/* the retransmission is lost too: the timeout forgets the SACKs */
	host_net_advance(1000000000ULL);
	cr_assert_eq(t->n_sacked, 0);
	cr_assert(!t->in_recovery);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.seq, iss + 1);
	host_net_tx_drop_all();
	close_and_check(s, l);
}

Test(tcp_peer, sack_off_neither_offers_nor_uses_it)
{
	static struct seen g;
	tcp_sack_set_enabled(false);
	struct socket *l = listener(80);
	u8 opts[8] = { TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_OK, 2 };
	peer_seg(PPORT, 80, ISN_PEER, 0, TH_SYN, 65535, opts, 8, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert(!g.sack_ok);
	peer_seg(PPORT, 80, ISN_PEER + 1, g.seq + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	struct socket *s;
	cr_assert_eq(sock_accept(l, &s, MSG_DONTWAIT), 0);
	cr_assert(!sk_tcb(s)->sack_ok);
	static u8 z[1000];
	peer_seg(PPORT, 80, ISN_PEER + 1001, g.seq + 1, TH_ACK, 65535, NULL, 0, z, 1000);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.nsack, 0, "no blocks without SACK");
	tcp_sack_set_enabled(true);
	close_and_check(s, l);
}

Test(tcp_peer, limited_transmit_and_early_retransmit)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_sack_peer(&l, &iss);
	struct tcb *t = sk_tcb(s);
	const u32 M = 1460;
	static u8 e[20 * 1460];
	fill(e, sizeof(e), 24);
	cr_assert_eq(sock_sendto(s, e, sizeof(e), 0, NULL), (long)sizeof(e));
	host_net_tx_drop_all(); /* the initial window: 10 segments */
	/* each of the first two duplicates lets one new segment go (RFC 3042) */
	u32 b1[1][2] = { { 1 * M, 2 * M } }, b2[1][2] = { { 1 * M, 3 * M } };
	peer_sack(iss, 0, b1, 1);
	cr_assert(next_seg(&g), "a new segment on the first duplicate");
	cr_assert_eq(g.seq, iss + 1 + 10 * M);
	cr_assert(!next_seg(&g), "only one");
	peer_sack(iss, 0, b2, 1);
	cr_assert(next_seg(&g), "and one on the second");
	cr_assert_eq(g.seq, iss + 1 + 11 * M);
	cr_assert(!t->in_recovery);
	host_net_tx_drop_all();
	/* everything acked but the last three segments, the first of them lost */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 12 * M, TH_ACK, 65535, NULL, 0, NULL, 0);
	host_net_tx_drop_all();
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 17 * M, TH_ACK, 65535, NULL, 0, NULL, 0);
	host_net_tx_drop_all();
	cr_assert_eq(t->snd_max, iss + 1 + 20 * M, "all sent");
	/* three segments out and nothing new to send: two duplicates are
	 * enough (RFC 5827) */
	u32 b3[1][2] = { { 18 * M, 19 * M } }, b4[1][2] = { { 18 * M, 20 * M } };
	peer_sack(iss, 17 * M, b3, 1);
	cr_assert(!t->in_recovery);
	peer_sack(iss, 17 * M, b4, 1);
	cr_assert(t->in_recovery, "early retransmit");
	cr_assert(next_seg(&g));
	cr_assert_eq(g.seq, iss + 1 + 17 * M);
	cr_assert_eq(memcmp(g.data, e + 17 * M, g.len), 0);
	host_net_tx_drop_all();
	close_and_check(s, l);
}

Test(tcp_peer, keepalive_far_ahead_waits_its_turn_on_the_wheel)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	struct tcb *t = sk_tcb(s);
	cr_assert_eq(sock_setopt(s, SO_KEEPALIVE, 1), 0);
	/* any segment arms the keepalive two hours out: many turns of the wheel */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert(t->on_wheel);
	u64 at = t->timer[TT_KEEPALIVE];
	cr_assert_gt(at, host_net_now() + 7000ULL * 1000000000ULL);
	u64 filed, fired0, fired1, visits;
	/* the stopped handshake timer's slot comes first: the visit finds
	 * nothing due and files it under the keepalive */
	host_net_advance(2000000000ULL);
	tcp_wheel_stats(t->cpu, &filed, &fired0, &visits);
	cr_assert_eq(filed, 1, "one connection filed once (the listener has no timer)");
	host_net_advance(at - host_net_now() - 20000000ULL);
	cr_assert_eq(host_net_tx_count(), 0, "no probe before its time");
	tcp_wheel_stats(t->cpu, &filed, &fired1, &visits);
	cr_assert_eq(fired1, fired0, "visited each turn, never fired early");
	learn_peer(); /* (the ARP entry aged out meanwhile) */
	host_net_advance(40000000ULL);
	cr_assert(next_seg(&g), "the keepalive probe, on time");
	cr_assert_eq(g.seq, iss, "SND.UNA - 1");
	cr_assert_eq(g.len, 0);
	cr_assert(t->on_wheel, "filed again for the next probe");
	close_and_check(s, l);
	tcp_wheel_stats(0, &filed, &fired1, &visits);
	cr_assert_eq(filed, 0, "freed connections leave the wheel");
}

Test(tcp_peer, a_deadline_inside_a_tick_fires_on_the_next_one)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	host_net_advance(3000000ULL); /* 3 ms past a tick: deadlines fall between ticks */
	struct socket *s = accept_peer(&l, &iss);
	cr_assert_eq(sock_sendto(s, "abc", 3, 0, NULL), 3);
	cr_assert(next_seg(&g));
	u64 due = sk_tcb(s)->timer[TT_REXMIT];
	cr_assert_neq(due % 10000000ULL, 0, "a deadline between two ticks");
	host_net_advance(due - host_net_now() - 1000000ULL);
	cr_assert_eq(host_net_tx_count(), 0, "not before its deadline");
	host_net_advance(20000000ULL);
	cr_assert(next_seg(&g), "retransmitted within a tick of the deadline, not a turn later");
	cr_assert_eq(g.seq, iss + 1);
	close_and_check(s, l);
}

/* The peer streams data with timestamps over a 20 ms path; the reader keeps
 * up. Returns the receive buffer after `rounds` round trips. */
static u32 stream_to_reader(bool set_rcvbuf, int rounds)
{
	static struct seen g;
	struct socket *l = listener(80);
	if (set_rcvbuf)
		cr_assert_eq(sock_setopt(l, SO_RCVBUF, 256 * 1024), 0);
	u8 opts[20] = { TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_NOP, TCPOPT_WSCALE, 3, 7,
			TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TS, 10, 0, 0, 0, 1, 0, 0, 0, 0 };
	peer_seg(PPORT, 80, ISN_PEER, 0, TH_SYN, 65535, opts, 20, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ws, set_rcvbuf ? 3 : 7, "the scale fits the largest buffer (%d)", g.ws);
	u32 iss = g.seq, echo = g.tsval, seq = ISN_PEER + 1, tsval = 2;
	u8 ts[12] = { TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TS, 10 };
	put_be32(ts + 4, tsval);
	put_be32(ts + 8, echo);
	peer_seg(PPORT, 80, seq, iss + 1, TH_ACK, 1000, ts, 12, NULL, 0);
	struct socket *s;
	cr_assert_eq(sock_accept(l, &s, MSG_DONTWAIT), 0);
	struct tcb *t = sk_tcb(s);
	static u8 d[1448], buf[1 << 16];
	fill(d, sizeof(d), 31);
	u32 window = 65535u << t->rcv_wscale, sent_total = 0;
	for (int r = 0; r < rounds; r++) {
		/* a window's worth (up to 64 segments) this round trip, each
		 * echoing the clock of our latest ACK */
		u32 n = MIN(window / 1448, 64u);
		for (u32 i = 0; i < n; i++) {
			put_be32(ts + 4, ++tsval);
			put_be32(ts + 8, echo);
			peer_seg(PPORT, 80, seq, iss + 1, TH_ACK, 1000, ts, 12, d, 1448);
			seq += 1448;
			sent_total += 1448;
			while (sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL) > 0)
				;
		}
		while (next_seg(&g)) {
			window = (u32)g.win << t->rcv_wscale;
			echo = g.tsval;
		}
		host_net_advance(20000000ULL);
	}
	cr_assert_eq(t->bytes_received, sent_total);
	u32 rb = t->sk.rcvbuf;
	close_and_check(s, l);
	return rb;
}

Test(tcp_peer, the_receive_buffer_grows_for_a_fast_reader)
{
	u32 rb = stream_to_reader(false, 12);
	cr_assert_gt(rb, TCP_RCVBUF_DEFAULT, "auto-tuned up from %u to %u", TCP_RCVBUF_DEFAULT, rb);
	cr_assert_leq(rb, TCP_RCVBUF_MAX);
}

Test(tcp_peer, a_buffer_set_by_the_program_stays_as_set)
{
	cr_assert_eq(stream_to_reader(true, 12), 256 * 1024);
}

Test(tcp_peer, a_loss_at_every_position_of_a_flight_is_repaired_alone)
{
	static struct seen g;
	const u32 M = 1460;
	for (u32 lost = 0; lost < 10; lost++) {
		struct socket *l;
		u32 iss;
		struct socket *s = accept_sack_peer(&l, &iss);
		struct tcb *t = sk_tcb(s);
		static u8 e[10 * 1460];
		fill(e, sizeof(e), 40 + lost);
		cr_assert_eq(sock_sendto(s, e, sizeof(e), 0, NULL), (long)sizeof(e));
		host_net_tx_drop_all();
		/* the peer acks what came before the hole and SACKs what came
		 * after it, one segment at a time (as each arrives) */
		u32 after = 0;
		for (u32 k = lost + 1; k < 10; k++) {
			u32 b[1][2] = { { (lost + 1) * M, (k + 1) * M } };
			peer_sack(iss, lost * M, b, 1);
			after++;
		}
		if (lost == 9)
			peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 9 * M, TH_ACK, 65535, NULL, 0, NULL, 0);
		/* the hole alone goes again: by SACK when segments followed it
		 * (early retransmit when few did), by the timeout when it was
		 * the last */
		u32 again = 0;
		for (int pass = 0; pass < 2 && !again; pass++) {
			if (pass == 1) {
				cr_assert_eq(after, 0, "no timeout needed with %u SACKed after", after);
				host_net_advance(t->rto_ns + 10000000ULL); /* one timeout */
			}
			while (next_seg(&g)) {
				if (!g.len)
					continue;
				cr_assert_eq(g.seq, iss + 1 + lost * M, "only the lost segment %u is resent",
					     lost);
				cr_assert_eq(memcmp(g.data, e + lost * M, g.len), 0);
				again++;
			}
		}
		cr_assert_eq(again, 1, "segment %u sent again once (%u)", lost, again);
		peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 10 * M, TH_ACK, 65535, NULL, 0, NULL, 0);
		cr_assert_eq(t->snd_una, iss + 1 + 10 * M);
		cr_assert(!t->in_recovery);
		host_net_tx_drop_all();
		close_and_check(s, l);
		host_net_tx_drop_all();
		learn_peer();
	}
}

Test(tcp_peer, a_receive_timeout_returns_eagain_after_its_time)
{
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	cr_assert_eq(sock_setopt(s, SO_RCVTIMEO, 500), 0);
	u64 t0 = host_net_now();
	u8 buf[16];
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), 0, NULL), -EAGAIN);
	cr_assert_geq(host_net_now() - t0, 490000000ULL, "it waited its 500 ms");
	/* data that is there comes at once */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK | TH_PSH, 65535, NULL, 0,
		 (const u8 *)"hi", 2);
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), 0, NULL), 2);
	host_net_tx_drop_all();
	close_and_check(s, l);
}

/* ---- every handshake, RST and FIN path ---- */

/* An active open to the fake peer (non-blocking): our SYN's sequence. */
static struct socket *connect_to_peer(u16 lport, u32 *iss)
{
	static struct seen g;
	struct socket *c;
	cr_assert_eq(sock_create(SOCK_STREAM, &c), 0);
	cr_assert_eq(sock_setopt(c, SO_NONBLOCK, 1), 0);
	struct sockaddr_in4 me = { 0, lport }, to = { PEER, PPORT };
	cr_assert_eq(sock_bind(c, &me), 0);
	cr_assert_eq(sock_connect(c, &to), -EINPROGRESS);
	cr_assert(next_seg(&g), "a SYN");
	cr_assert_eq(g.flags, TH_SYN);
	*iss = g.seq;
	return c;
}

static void peer_to(u16 lport, u32 seq, u32 ack, u8 flags)
{
	peer_seg(PPORT, lport, seq, ack, flags, 65535, NULL, 0, NULL, 0);
}

Test(tcp_peer, simultaneous_open)
{
	static struct seen g;
	u32 iss;
	struct socket *c = connect_to_peer(5000, &iss);
	/* the peer's own SYN crosses ours (RFC 9293 §3.5, figure 8) */
	u8 mss[4] = { TCPOPT_MSS, 4, 0x05, 0xb4 };
	peer_seg(PPORT, 5000, ISN_PEER, 0, TH_SYN, 65535, mss, 4, NULL, 0);
	cr_assert_str_eq(tcp_state_name(sk_tcb(c)->state), "SYN_RECEIVED");
	cr_assert(next_seg(&g), "a SYN-ACK");
	cr_assert_eq(g.flags, TH_SYN | TH_ACK);
	cr_assert_eq(g.seq, iss);
	cr_assert_eq(g.ack, ISN_PEER + 1);
	/* the peer's SYN-ACK for ours */
	peer_to(5000, ISN_PEER, iss + 1, TH_SYN | TH_ACK);
	host_net_tx_drop_all();
	peer_to(5000, ISN_PEER + 1, iss + 1, TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(c)->state), "ESTABLISHED");
	cr_assert_eq(sock_sendto(c, "x", 1, 0, NULL), 1);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.seq, iss + 1);
	cr_assert_eq(g.len, 1);
	sock_close(c);
	host_net_advance(1000ULL * 1000000000ULL);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, a_reset_answering_our_syn_refuses_the_connection)
{
	u32 iss;
	struct socket *c = connect_to_peer(5001, &iss);
	/* a RST with a wrong ACK is ignored (RFC 9293 §3.10.7.3) */
	peer_to(5001, 0, iss + 5, TH_RST | TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(c)->state), "SYN_SENT");
	host_net_tx_drop_all();
	peer_to(5001, 0, iss + 1, TH_RST | TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(c)->state), "CLOSED");
	u8 b[4];
	cr_assert_eq(sock_recvfrom(c, b, 4, 0, NULL), -ECONNREFUSED);
	sock_close(c);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, simultaneous_close_goes_through_closing)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	sock_close(s);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_FIN | TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "FIN_WAIT_1");
	/* the peer's FIN crosses ours, not acking it */
	peer_to(80, ISN_PEER + 1, iss + 1, TH_FIN | TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSING");
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 2, "the FIN is acknowledged");
	peer_to(80, ISN_PEER + 2, iss + 2, TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "TIME_WAIT");
	/* a retransmitted FIN in TIME_WAIT is acknowledged again */
	peer_to(80, ISN_PEER + 1, iss + 2, TH_FIN | TH_ACK);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.ack, ISN_PEER + 2);
	/* 2 MSL later it is gone */
	host_net_advance(2 * TCP_MSL_NS + 100000000ULL);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSED");
	host_net_tx_drop_all();
	sock_close(l);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, passive_close_through_close_wait_and_last_ack)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	peer_to(80, ISN_PEER + 1, iss + 1, TH_FIN | TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSE_WAIT");
	u8 b[4];
	cr_assert_eq(sock_recvfrom(s, b, 4, MSG_DONTWAIT, NULL), 0, "EOF");
	host_net_tx_drop_all();
	sock_close(s);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_FIN | TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "LAST_ACK");
	/* the FIN is lost: it goes again after the RTO */
	host_net_advance(sk_tcb(s)->rto_ns + 20000000ULL);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.flags, TH_FIN | TH_ACK);
	cr_assert_eq(g.seq, iss + 1);
	peer_to(80, ISN_PEER + 2, iss + 2, TH_ACK);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSED");
	sock_close(l);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, rst_in_close_wait_and_in_syn_received)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	peer_to(80, ISN_PEER + 1, iss + 1, TH_FIN | TH_ACK);
	host_net_tx_drop_all();
	peer_to(80, ISN_PEER + 2, 0, TH_RST);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSED");
	u8 b[4];
	cr_assert_eq(sock_sendto(s, "x", 1, 0, NULL), -EPIPE, "the peer is gone");
	sock_close(s);
	/* a half-open connection (SYN_RECEIVED) reset by the peer leaves no
	 * trace and nothing for accept */
	u8 mss[4] = { TCPOPT_MSS, 4, 0x05, 0xb4 };
	peer_seg(PPORT + 1, 80, ISN_PEER, 0, TH_SYN, 65535, mss, 4, NULL, 0);
	cr_assert(next_seg(&g));
	peer_seg(PPORT + 1, 80, ISN_PEER + 1, 0, TH_RST, 0, NULL, 0, NULL, 0);
	struct socket *s2;
	cr_assert_eq(sock_accept(l, &s2, MSG_DONTWAIT), -EAGAIN);
	cr_assert_eq(host_net_tx_count(), 0, "no answer to the RST");
	(void)b;
	sock_close(l);
	host_net_advance(1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, an_orphan_in_fin_wait_2_is_given_up)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	struct tcb *t = sk_tcb(s);
	sock_close(s);
	cr_assert(next_seg(&g));
	peer_to(80, ISN_PEER + 1, iss + 2, TH_ACK);
	cr_assert_str_eq(tcp_state_name(t->state), "FIN_WAIT_2");
	/* the peer never closes: the orphan goes after its 2 MSL */
	host_net_advance(TCP_MSL_NS);
	cr_assert_str_eq(tcp_state_name(t->state), "FIN_WAIT_2");
	host_net_advance(TCP_MSL_NS + 100000000ULL);
	cr_assert_str_eq(tcp_state_name(t->state), "CLOSED");
	sock_close(l);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_peer, hundreds_of_deadlines_in_one_tick_fire_once_each, .timeout = 20)
{
	static struct seen g;
	struct socket *l;
	cr_assert_eq(sock_create(SOCK_STREAM, &l), 0);
	struct sockaddr_in4 a = { 0, 80 };
	cr_assert_eq(sock_bind(l, &a), 0);
	cr_assert_eq(sock_listen(l, 400), 0);
	/* the SYNs come 5 ms into a tick and the ticks run 3 ms into theirs:
	 * every deadline is met by a tick a little before it */
	host_net_advance(5000000ULL);
	u8 mss[4] = { TCPOPT_MSS, 4, 0x05, 0xb4 };
	for (u16 i = 0; i < 300; i++)
		peer_seg(PPORT + i, 80, ISN_PEER, 0, TH_SYN, 65535, mss, 4, NULL, 0);
	host_net_tx_drop_all();
	host_net_advance(8000000ULL);
	u64 filed, fired0, fired1, visits;
	tcp_wheel_stats(0, &filed, &fired0, &visits);
	cr_assert_eq(filed, 300);
	/* every SYN-ACK is resent after 1 s, once, from one crowded slot */
	host_net_advance(1020000000ULL);
	u32 n = 0;
	while (next_seg(&g))
		if (g.flags == (TH_SYN | TH_ACK))
			n++;
	cr_assert_eq(n, 300, "each half-open connection resent its SYN-ACK (%u)", n);
	tcp_wheel_stats(0, &filed, &fired1, &visits);
	cr_assert_leq(fired1 - fired0, 2 * 300, "each fired about once, no spinning (%llu)",
		      (unsigned long long)(fired1 - fired0));
	sock_close(l); /* resets the half-open ones */
	host_net_advance(1000000000ULL);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0, "every buffer came back");
}

Test(tcp_peer, a_send_timeout_and_an_aborting_close)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 0, NULL, 0, NULL, 0); /* window 0 */
	cr_assert_eq(sock_setopt(s, SO_SNDBUF, 4096), 0);
	cr_assert_eq(sock_setopt(s, SO_SNDTIMEO, 500), 0);
	static u8 d[8192];
	long n = sock_sendto(s, d, sizeof(d), 0, NULL);
	cr_assert_eq(n, (long)sizeof(d), "an empty queue takes a whole send (%ld)", n);
	u64 t0 = host_net_now();
	cr_assert_eq(sock_sendto(s, d, sizeof(d), 0, NULL), -EAGAIN, "no room for 500 ms");
	cr_assert_geq(host_net_now() - t0, 490000000ULL);
	cr_assert_eq(sock_setopt(s, SO_LINGER, 5), -EINVAL, "only an aborting linger");
	cr_assert_eq(sock_setopt(s, SO_LINGER, 0), 0);
	host_net_tx_drop_all();
	sock_close(s);
	cr_assert(next_seg(&g), "a RST");
	cr_assert_eq(g.flags & TH_RST, TH_RST);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSED");
	sock_close(l);
	host_net_advance(1000000000ULL);
	host_net_tx_drop_all();
	cr_assert_eq(pkb_live(), 0, "the unsent data went with it");
}

/* tcp_ack_watch: a watch fires when the peer acknowledges the last byte
 * queued before it was set, in order, at the ACK's time; not on a partial
 * ACK; at once when nothing is outstanding; with 0 when a reset ends the
 * connection; at most TCP_ACK_WATCH_MAX wait at a time. */
struct fired {
	int n;
	int id[16];
	u64 at[16];
	u32 rexmits[16];
};

static struct fired fired;
static int watch_ids[16];

static void on_acked(void *arg, u64 now, u32 rexmits)
{
	cr_assert_lt(fired.n, 16);
	fired.id[fired.n] = *(int *)arg;
	fired.rexmits[fired.n] = rexmits;
	fired.at[fired.n++] = now;
}

static int watch(struct socket *s, int id)
{
	watch_ids[id] = id;
	return tcp_ack_watch(s, on_acked, &watch_ids[id]);
}

Test(tcp_peer, ack_watches_fire_when_their_bytes_are_acknowledged)
{
	static struct seen g;
	struct socket *l, *u;
	u32 iss;
	memset(&fired, 0, sizeof(fired));
	cr_assert_eq(sock_create(SOCK_DGRAM, &u), 0);
	cr_assert_eq(tcp_ack_watch(u, on_acked, NULL), -EOPNOTSUPP);
	sock_close(u);
	cr_assert_eq(sock_create(SOCK_STREAM, &u), 0);
	cr_assert_eq(tcp_ack_watch(u, on_acked, NULL), -ENOTCONN);
	sock_close(u);
	struct socket *s = accept_peer(&l, &iss);
	cr_assert_eq(sock_setopt(s, TCP_NODELAY, 1), 0);

	cr_assert_eq(watch(s, 0), 0, "nothing outstanding: fires at once");
	cr_assert_eq(fired.n, 1);
	cr_assert_eq(fired.at[0], host_net_now());

	static u8 e[3000];
	fill(e, sizeof(e), 4);
	cr_assert_eq(sock_sendto(s, e, 1000, 0, NULL), 1000);
	cr_assert_eq(watch(s, 1), 0);
	cr_assert_eq(sock_sendto(s, e + 1000, 2000, 0, NULL), 2000);
	cr_assert_eq(watch(s, 2), 0);
	while (next_seg(&g))
		;
	cr_assert_eq(fired.n, 1, "nothing acknowledged yet");
	host_net_advance(3000000);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 500, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(fired.n, 1, "a partial ACK fires nothing");
	host_net_advance(2000000);
	u64 t1 = host_net_now();
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 1000, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(fired.n, 2, "the first response is acknowledged");
	cr_assert_eq(fired.id[1], 1);
	cr_assert_eq(fired.at[1], t1);
	host_net_advance(4000000);
	u64 t2 = host_net_now();
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 2999, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(fired.n, 2, "one byte short");
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 3000, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(fired.n, 3);
	cr_assert_eq(fired.id[2], 2);
	cr_assert_eq(fired.at[2], t2);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(fired.rexmits[i], 0, "watch %d: nothing was retransmitted", i);

	/* at most TCP_ACK_WATCH_MAX wait; one ACK past several fires them in order */
	cr_assert_eq(sock_sendto(s, e, 100, 0, NULL), 100);
	for (int i = 0; i < TCP_ACK_WATCH_MAX; i++) {
		cr_assert_eq(watch(s, 3 + i), 0);
		cr_assert_eq(sock_sendto(s, e, 10, 0, NULL), 10);
	}
	cr_assert_eq(watch(s, 3 + TCP_ACK_WATCH_MAX), -EBUSY);
	while (next_seg(&g))
		;
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 3000 + 115, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(fired.n, 5, "the first two (100 and 110 bytes) are acknowledged, not the third (120)");
	cr_assert_eq(fired.id[3], 3);
	cr_assert_eq(fired.id[4], 4);
	/* a reset ends the connection: the rest fire with 0 */
	peer_seg(PPORT, 80, ISN_PEER + 1, 0, TH_RST, 0, NULL, 0, NULL, 0);
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSED");
	cr_assert_eq(fired.n, 3 + TCP_ACK_WATCH_MAX);
	for (int i = 5; i < fired.n; i++) {
		cr_assert_eq(fired.id[i], i);
		cr_assert_eq(fired.at[i], 0, "watch %d: the connection ended first", i);
	}
	cr_assert_eq(watch(s, 9), -ENOTCONN);
	close_and_check(s, l);
}

/* A watch tells how many segments were retransmitted while it waited
 * (the HTTP responder files such responses under "retrans", metrics.h). */
Test(tcp_peer, ack_watches_count_retransmissions)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	memset(&fired, 0, sizeof(fired));
	struct socket *s = accept_peer(&l, &iss);
	cr_assert_eq(sock_setopt(s, TCP_NODELAY, 1), 0);
	static u8 e[1000];
	fill(e, sizeof(e), 5);
	cr_assert_eq(sock_sendto(s, e, sizeof(e), 0, NULL), (long)sizeof(e));
	cr_assert_eq(watch(s, 0), 0);
	while (next_seg(&g))
		;
	/* lost: two timeouts (200 ms, then 400 ms backed off) send it again */
	host_net_advance(TCP_RTO_MIN_NS + 10000000ULL);
	cr_assert(next_seg(&g), "the first retransmission");
	host_net_advance(2 * TCP_RTO_MIN_NS + 10000000ULL);
	cr_assert(next_seg(&g), "the second retransmission");
	host_net_tx_drop_all();
	cr_assert_eq(fired.n, 0);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + sizeof(e), TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(fired.n, 1);
	cr_assert_eq(fired.rexmits[0], 2);
	/* the next watch starts from there */
	cr_assert_eq(sock_sendto(s, e, 10, 0, NULL), 10);
	cr_assert_eq(watch(s, 1), 0);
	while (next_seg(&g))
		;
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + sizeof(e) + 10, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(fired.n, 2);
	cr_assert_eq(fired.rexmits[1], 0);
	close_and_check(s, l);
}

Test(tcp_peer, a_read_knows_when_its_bytes_arrived)
{
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	u64 arrived = host_net_now();
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK | TH_PSH, 65535, NULL, 0,
		 (const u8 *)"GET / HTTP/1.1\r\n\r\n", 18);
	host_net_advance(50000000ULL); /* the reader comes 50 ms later */
	u8 buf[64];
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), 18);
	cr_assert_eq(sock_read_stamp(s), arrived, "the arrival, not the read");
	u64 later = host_net_now();
	peer_seg(PPORT, 80, ISN_PEER + 19, iss + 1, TH_ACK | TH_PSH, 65535, NULL, 0,
		 (const u8 *)"x", 1);
	cr_assert_eq(sock_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), 1);
	cr_assert_eq(sock_read_stamp(s), later);
	host_net_tx_drop_all();
	close_and_check(s, l);
}
