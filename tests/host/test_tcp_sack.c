/*
 * TCP unit tests: selective acknowledgments (RFC 2018, RFC 6675), limited
 * transmit and early retransmit, against the fake peer (tcp_peer.h).
 */
#include <criterion/criterion.h>
#include "tests/host/tcp_peer.h"
#include "kernel/lib/string.h"

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
