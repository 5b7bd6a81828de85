/*
 * TCP unit tests: every handshake, RST and FIN path, against the fake peer
 * (tcp_peer.h); the timers that end them.
 */
#include <criterion/criterion.h>
#include "tests/host/tcp_peer.h"
#include "kernel/lib/string.h"

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
