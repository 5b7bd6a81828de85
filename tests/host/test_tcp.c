/*
 * TCP unit tests: scripted segments from a fake peer through the fake NIC
 * (tcp_peer.h), checking every sequence number the stack sends back:
 * handshakes and data, loss and its repair, windows and probes, SYN
 * cookies, timers, buffers, acknowledgment watches. Also by subject:
 * test_tcp_loop.c (connections over the loopback), test_tcp_sack.c
 * (selective acknowledgments, limited transmit), test_tcp_states.c (every
 * handshake, RST and FIN path).
 */
#include <criterion/criterion.h>
#include "tests/host/tcp_peer.h"
#include "kernel/lib/string.h"

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

/* A retransmission resends what was sent, never bytes queued behind
 * snd_max: those have not been sent, so the congestion window, RTT timing
 * and snd_max never counted them. Nagle holds 500 bytes behind a first
 * 100 that are lost; the timeout resends the 100 alone, and so do three
 * duplicate ACKs (NewReno fast retransmit). */
Test(tcp_peer, a_retransmission_stops_at_snd_max)
{
	static struct seen g;
	struct socket *l;
	u32 iss;
	struct socket *s = accept_peer(&l, &iss);
	struct tcb *t = sk_tcb(s);
	static u8 e[600];
	fill(e, sizeof(e), 9);
	cr_assert_eq(sock_sendto(s, e, 100, 0, NULL), 100);
	cr_assert(next_seg(&g));
	cr_assert_eq(g.len, 100);
	cr_assert_eq(sock_sendto(s, e + 100, 500, 0, NULL), 500);
	cr_assert(!next_seg(&g), "Nagle holds the small segment while 100 bytes are unacked");
	cr_assert_eq(t->snd_max, iss + 1 + 100);
	cr_assert_eq(t->snd_q_bytes, 600u);
	/* the RTO: the first 100 bytes again, and only those */
	host_net_advance(TCP_RTO_MIN_NS + 10000000ULL);
	cr_assert(next_seg(&g), "the timeout resends");
	cr_assert_eq(g.seq, iss + 1);
	cr_assert_eq(g.len, 100, "sent %u bytes: past snd_max", g.len);
	cr_assert_eq(memcmp(g.data, e, 100), 0);
	cr_assert(!next_seg(&g));
	cr_assert_eq(t->snd_max, iss + 1 + 100);
	cr_assert_eq(t->snd_nxt, iss + 1 + 100);
	/* three duplicate ACKs (of nothing new): the fast retransmit is held
	 * to snd_max too */
	for (int i = 0; i < 3; i++)
		peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	bool resent = false;
	while (next_seg(&g)) {
		if (g.seq == iss + 1 && g.len) {
			cr_assert_eq(g.len, 100, "fast retransmit sent %u bytes: past snd_max", g.len);
			resent = true;
		}
		cr_assert(seq_le(g.seq + g.len, t->snd_max), "nothing beyond snd_max");
	}
	cr_assert(resent, "the third duplicate ACK resends the first segment");
	/* the 100 arrive: the 500 follow as new data, and all is acknowledged */
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 100, TH_ACK, 65535, NULL, 0, NULL, 0);
	u32 at = 100;
	while (next_seg(&g)) {
		if (!g.len)
			continue;
		cr_assert_eq(g.seq, iss + 1 + at);
		cr_assert_eq(memcmp(g.data, e + at, g.len), 0);
		at += g.len;
	}
	cr_assert_eq(at, 600u);
	peer_seg(PPORT, 80, ISN_PEER + 1, iss + 1 + 600, TH_ACK, 65535, NULL, 0, NULL, 0);
	cr_assert_eq(t->snd_una, iss + 1 + 600);
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

Test(tcp_peer, a_good_cookie_waits_while_the_accept_queue_is_full)
{
	static struct seen g;
	struct socket *l;
	cr_assert_eq(sock_create(SOCK_STREAM, &l), 0);
	struct sockaddr_in4 a = { 0, 80 };
	cr_assert_eq(sock_bind(l, &a), 0);
	cr_assert_eq(sock_listen(l, 2), 0);
	u8 mss[4] = { TCPOPT_MSS, 4, 0x05, 0xb4 };
	u32 iss[2];
	for (u16 i = 0; i < 2; i++) {
		peer_seg(PPORT + i, 80, ISN_PEER, 0, TH_SYN, 65535, mss, 4, NULL, 0);
		cr_assert(next_seg(&g));
		iss[i] = g.seq;
	}
	/* the SYN queue is full: the third gets a cookie */
	peer_seg(PPORT + 7, 80, ISN_PEER + 5, 0, TH_SYN, 65535, mss, 4, NULL, 0);
	cr_assert(next_seg(&g));
	cr_assert_eq(tcp_stats.syncookies_sent, 1);
	u32 cookie = g.seq;
	/* the two half-open ones complete: now the accept queue is full */
	for (u16 i = 0; i < 2; i++)
		peer_seg(PPORT + i, 80, ISN_PEER + 1, iss[i] + 1, TH_ACK, 65535, NULL, 0, NULL, 0);
	/* the cookie's ACK, with data, is dropped and counted: no reset */
	u64 full0 = net_drop_count(NET_DROP_tcp_accept_full);
	peer_seg(PPORT + 7, 80, ISN_PEER + 6, cookie + 1, TH_ACK | TH_PSH, 65535, NULL, 0,
		 (const u8 *)"GET", 3);
	cr_assert_not(next_seg(&g), "nothing answers it (flags %#x)", g.flags);
	cr_assert_eq(net_drop_count(NET_DROP_tcp_accept_full), full0 + 1);
	cr_assert_eq(tcp_stats.syncookies_failed, 0);
	cr_assert_eq(tcp_stats.syncookies_ok, 0);
	/* the program takes one; the peer's retransmission gets in */
	struct socket *s[3];
	cr_assert_eq(sock_accept(l, &s[0], MSG_DONTWAIT), 0);
	peer_seg(PPORT + 7, 80, ISN_PEER + 6, cookie + 1, TH_ACK | TH_PSH, 65535, NULL, 0,
		 (const u8 *)"GET", 3);
	cr_assert_eq(tcp_stats.syncookies_ok, 1);
	cr_assert_eq(sock_accept(l, &s[1], MSG_DONTWAIT), 0);
	cr_assert_eq(sock_accept(l, &s[2], MSG_DONTWAIT), 0);
	struct sockaddr_in4 p;
	sock_getname(s[2], NULL, &p);
	cr_assert_eq(p.port, PPORT + 7, "the cookie's connection is the last in the queue");
	u8 buf[8];
	cr_assert_eq(sock_recvfrom(s[2], buf, 8, MSG_DONTWAIT, NULL), 3);
	cr_assert_eq(memcmp(buf, "GET", 3), 0);
	host_net_tx_drop_all();
	sock_close(s[0]);
	sock_close(s[1]);
	close_and_check(s[2], l);
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
