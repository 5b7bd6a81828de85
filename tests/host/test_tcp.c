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

/* tcp_ack_watch: a watch fires when the peer acknowledges the last byte
 * queued before it was set, in order, at the ACK's time; not on a partial
 * ACK; at once when nothing is outstanding; with 0 when a reset ends the
 * connection; at most TCP_ACK_WATCH_MAX wait at a time. */
struct fired {
	int n;
	int id[16];
	u64 at[16];
};

static struct fired fired;
static int watch_ids[16];

static void on_acked(void *arg, u64 now)
{
	cr_assert_lt(fired.n, 16);
	fired.id[fired.n] = *(int *)arg;
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
