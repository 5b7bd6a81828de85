/*
 * TCP segment arrival (RFC 9293 §3.10.7), with RFC 5961's defences (RST
 * and SYN in the window draw a challenge ACK; an ACK of data never sent is
 * answered and dropped), RFC 7323's window scaling and PAWS, NewReno fast
 * retransmit and recovery (RFC 5681, RFC 6582), RTT samples (RFC 6298,
 * Karn's rule unless timestamps), delayed ACKs, an out-of-order queue, and
 * TIME_WAIT reuse by a new SYN with a higher sequence number (RFC 6191's
 * idea, by sequence).
 */
#include "netstack/tcp_priv.h"
#include "kernel/lib/string.h"

#define TW_MAX 8192              /* connections kept in TIME_WAIT at most */
#define CHALLENGE_PER_S 10       /* RFC 5961 §7: challenge ACKs a second, per connection */
#define PAWS_SLACK 1             /* timestamp ticks */
#define PAWS_IDLE_NS (24ULL * 24 * 3600 * 1000000000ULL)

struct seg {
	u32 seq, ack, len, wnd;
	u8 flags;
	bool ts;
	u32 tsval, tsecr;
	u16 mss;
	int ws;                  /* -1: none */
	bool sack_ok;
	u8 nsack;                /* SACK blocks (RFC 2018) */
	struct sack_range sack[4];
};

static u32 time_wait_count;      /* [atomic] */

/* Options (RFC 9293 §3.2): lengths checked; a malformed list ends the scan. */
static void parse_options(const u8 *o, u32 n, struct seg *s)
{
	u32 i = 0;
	while (i < n) {
		u8 k = o[i];
		if (k == TCPOPT_EOL)
			break;
		if (k == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || o[i + 1] > n - i)
			break;
		u8 l = o[i + 1];
		const u8 *v = o + i + 2;
		if (k == TCPOPT_MSS && l == 4)
			s->mss = be16(v);
		else if (k == TCPOPT_WSCALE && l == 3)
			s->ws = MIN(v[0], TCP_MAX_WSCALE);
		else if (k == TCPOPT_SACK_OK && l == 2)
			s->sack_ok = true;
		else if (k == TCPOPT_SACK) {
			if (l < 10 || (l - 2) % 8)
				TCP_STAT(sack_blocks_bad); /* malformed: ignored */
			else
				for (u32 j = 0; j < (l - 2u) / 8 && s->nsack < 4; j++)
					s->sack[s->nsack++] = (struct sack_range){ be32(v + 8 * j),
										   be32(v + 8 * j + 4) };
		}
		else if (k == TCPOPT_TS && l == 10) {
			s->ts = true;
			s->tsval = be32(v);
			s->tsecr = be32(v + 4);
		}
		i += l;
	}
}

/* The limit is per connection: a limit shared by all connections is a
 * counter an off-path attacker can observe through its own connection and
 * so learn whether its guesses hit another one (CVE-2016-5696). [S] held. */
static bool challenge_ok(struct tcb *t)
{
	u64 sec = net_now_ns() / 1000000000ULL;
	if (t->challenge_sec != sec) {
		t->challenge_sec = sec;
		t->challenge_n = 0;
	}
	return ++t->challenge_n <= CHALLENGE_PER_S;
}

static void challenge_ack(struct tcb *t, struct tcp_xmit *x)
{
	if (challenge_ok(t)) {
		TCP_STAT(challenge_acks);
		tcp_send_ack(t, x);
	}
}

/* Data the NIC left in the header zone after the TCP header goes into a
 * page of its own ahead of the payload (counted as a receive-split miss). */
static struct pkb *zone_to_payload(struct pkb *b)
{
	u32 z = pkb_hdr_len(b);
	if (!z)
		return b;
	struct pkb *h = pkb_alloc();
	if (!h || pkb_copy_in(h, pkb_hdr(b), z) != 0) {
		pkb_free(h);
		pkb_free(b);
		return NULL;
	}
	pkb_count_copy(PKB_COPY_RX_MISS, z);
	pkb_hdr_reset(b);
	if (pkb_join(h, b) != 0) {
		pkb_free(h);
		pkb_free(b);
		return NULL;
	}
	return h;
}

/* ---- the options a SYN brings ---- */

static void take_syn_options(struct tcb *t, const struct seg *s)
{
	t->peer_mss = s->mss ? s->mss : TCP_MSS_DEFAULT;
	if (s->ws >= 0) {
		t->ws_ok = true;
		t->snd_wscale = (u8)s->ws;
	} else {
		t->ws_ok = false;
		t->snd_wscale = 0;
		t->rcv_wscale = 0;
	}
	t->ts_ok = s->ts;
	if (s->ts) {
		t->ts_recent = s->tsval;
		t->ts_recent_ns = net_now_ns();
	}
	t->sack_ok = s->sack_ok && tcp_sack_enabled();
}

/* The MSS we send with, once both sides' options are known. */
static void set_mss(struct tcb *t)
{
	u32 m = MIN(t->adv_mss, t->peer_mss);
	if (t->ts_ok)
		m -= 12;
	t->mss = (u16)MAX(m, 64u);
}

static void conn_input(struct tcb *t, struct pkb *b, const struct tcp_hdr *th, struct seg *s,
		       struct tcp_xmit *x);

/* ---- listening ---- */

/* An ACK for a listener: the end of a handshake we answered with a SYN
 * cookie, if the cookie checks out; anything else is reset. A good cookie
 * while the accept queue is full is dropped, not reset (as Linux does with
 * tcp_abort_on_overflow off): the peer thinks it is connected and sends
 * the ACK again with its data, and the cookie stays good for 64-128 s, so
 * a burst of connections larger than the backlog waits instead of failing. */
static void cookie_ack(struct tcb *lis, struct pkb *b, const struct tcp_hdr *th,
		       const struct seg *s, ip4_t src, ip4_t dst, struct tcp_xmit *x)
{
	u16 lp = be16(th->dport), rp = be16(th->sport);
	u16 mss = (s->flags & TH_RST) ? 0 : tcp_cookie_check(dst, lp, src, rp, s->seq - 1, s->ack - 1);
	if (!mss) {
		if (!(s->flags & TH_RST)) {
			TCP_STAT(syncookies_failed);
			tcp_send_reset_for(NULL, th, s->len, src, dst, x);
		}
		net_drop(b, NET_DROP_tcp_no_conn);
		return;
	}
	if (lis->n_accept >= lis->backlog) {
		net_drop(b, NET_DROP_tcp_accept_full);
		return;
	}
	struct tcb *c = tcp_child(lis, dst, lp, src, rp);
	if (!c) {
		net_drop(b, NET_DROP_nomem);
		return;
	}
	spin_lock(&c->sk.lock);
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->rcv_adv = s->seq + 65535;
	c->iss = s->ack - 1;
	c->snd_una = c->snd_nxt = c->snd_max = s->ack;
	c->snd_wnd = s->wnd;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->peer_mss = mss;
	tcp_route_caps(c);
	c->adv_mss = mss; /* what the cookie promised */
	c->mss = mss;
	tcp_cc_init(c);
	tcp_set_state(c, TCP_ESTABLISHED);
	if (tcp_hash(c) != 0) {
		tcp_done(c);
		spin_unlock(&c->sk.lock);
		pkb_free(b);
		return;
	}
	TCP_STAT(syncookies_ok);
	TCP_STAT(passive_opens);
	sock_get(&c->sk); /* ours while the data goes in */
	tcp_child_established(c);
	if (s->len || (s->flags & TH_FIN)) {
		struct seg sc = *s;
		conn_input(c, b, th, &sc, x);
	} else
		pkb_free(b);
	if (c->state != TCP_CLOSED) {
		tcp_output(c, x);
		if (c->ack_now)
			tcp_send_ack(c, x);
	}
	spin_unlock(&c->sk.lock);
	sock_put(&c->sk);
}

static void listen_input(struct tcb *lis, struct pkb *b, const struct tcp_hdr *th,
			 const struct seg *s, ip4_t src, ip4_t dst, struct tcp_xmit *x)
{
	if (s->flags & TH_RST) {
		pkb_free(b);
		return;
	}
	if ((s->flags & TH_ACK) && !(s->flags & TH_SYN)) {
		cookie_ack(lis, b, th, s, src, dst, x);
		return;
	}
	if (!(s->flags & TH_SYN) || (s->flags & (TH_FIN | TH_ACK))) {
		pkb_free(b);
		return;
	}
	pkb_free(b); /* data on a SYN is not kept: the peer sends it again */
	if (lis->n_accept >= lis->backlog) {
		/* nobody is accepting: no use taking more */
		TCP_STAT(syn_dropped_backlog);
		net_count_drop(NET_DROP_tcp_backlog);
		return;
	}
	if (lis->n_synq + lis->n_accept >= lis->backlog) {
		/* the SYN queue is full (a flood?): answer with a cookie, keep nothing */
		u16 mss;
		u32 cookie = tcp_cookie_make(dst, be16(th->dport), src, be16(th->sport), s->seq,
					     s->mss ? s->mss : TCP_MSS_DEFAULT, &mss);
		tcp_send_cookie_synack(th, s->seq, src, dst, cookie, mss, x);
		return;
	}
	struct tcb *c = tcp_child(lis, dst, be16(th->dport), src, be16(th->sport));
	if (!c) {
		net_count_drop(NET_DROP_nomem);
		return;
	}
	spin_lock(&c->sk.lock);
	tcp_set_state(c, TCP_SYN_RECEIVED);
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	take_syn_options(c, s);
	if (c->ws_ok)
		c->rcv_wscale = tcp_rcv_wscale(c);
	c->iss = tcp_isn(c->laddr, c->lport, c->raddr, c->rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_wnd = s->wnd; /* never scaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = c->iss;
	int err = tcp_hash(c);
	if (err) {
		spin_unlock(&c->sk.lock);
		tcp_done(c); /* drops the listener's references */
		return;
	}
	TCP_STAT(passive_opens);
	tcp_send_syn(c, x);
	set_mss(c);
	tcp_cc_init(c);
	spin_unlock(&c->sk.lock);
}

/* ---- SYN_SENT ---- */

static void syn_sent_input(struct tcb *t, struct pkb *b, const struct tcp_hdr *th,
			   const struct seg *s, struct tcp_xmit *x)
{
	bool ack_ok = false;
	if (s->flags & TH_ACK) {
		if (seq_le(s->ack, t->iss) || seq_gt(s->ack, t->snd_max)) {
			if (!(s->flags & TH_RST))
				tcp_send_reset_for(NULL, th, s->len, t->raddr, t->laddr, x);
			net_drop(b, NET_DROP_tcp_bad_ack);
			return;
		}
		ack_ok = true;
	}
	if (s->flags & TH_RST) {
		if (ack_ok) {
			TCP_STAT(resets_received);
			t->soft_error = -ECONNREFUSED;
			tcp_done(t);
		}
		pkb_free(b);
		return;
	}
	if (!(s->flags & TH_SYN)) {
		pkb_free(b);
		return;
	}
	pkb_free(b);
	t->irs = s->seq;
	t->rcv_nxt = s->seq + 1;
	t->rcv_adv = t->rcv_nxt;
	take_syn_options(t, s);
	set_mss(t);
	t->snd_wnd = s->wnd;
	t->max_snd_wnd = t->snd_wnd;
	t->snd_wl1 = s->seq;
	t->snd_wl2 = s->ack;
	if (ack_ok) {
		t->snd_una = s->ack;
		if (t->backoff == 0)
			tcp_rtt_sample(t, net_now_ns() - t->rtt_start_ns);
		t->backoff = 0;
		tcp_timer_stop(t, TT_REXMIT);
		tcp_cc_init(t);
		tcp_set_state(t, TCP_ESTABLISHED);
		t->ack_now = true;
		tcp_wake(t);
	} else {
		/* simultaneous open (RFC 9293 §3.5) */
		tcp_cc_init(t); /* (its windows: the ACK that completes it grows them) */
		tcp_set_state(t, TCP_SYN_RECEIVED);
		t->snd_nxt = t->iss;
		tcp_send_syn(t, x);
	}
}

/* ---- receiving data ---- */

static void rcv_q_append(struct tcb *t, struct pkb *b)
{
	b->next = NULL;
	if (!t->rcv_q_head)
		t->rcv_stamp_ns = net_now_ns(); /* the oldest unread byte came now */
	if (t->rcv_q_tail)
		t->rcv_q_tail->next = b;
	else
		t->rcv_q_head = b;
	t->rcv_q_tail = b;
	t->rcv_q_bytes += b->len;
	t->rcv_nxt += b->len;
	t->bytes_received += b->len;
}

/* Insert an out-of-order segment (b->hash = its sequence number), trimmed
 * against its neighbours so the queue never holds a byte twice. */
static void ooo_insert(struct tcb *t, struct pkb *b)
{
	struct pkb **pp = &t->ooo_q;
	u32 seq = b->hash;
	while (*pp && seq_le((*pp)->hash + (*pp)->len, seq))
		pp = &(*pp)->next;
	/* overlap with the one before: b starts inside it */
	if (*pp && seq_lt((*pp)->hash, seq + b->len) && seq_le((*pp)->hash, seq)) {
		u32 cover = (*pp)->hash + (*pp)->len - seq;
		if (cover >= b->len) {
			pkb_free(b); /* nothing new */
			return;
		}
		pkb_advance(b, cover);
		seq += cover;
		b->hash = seq;
		pp = &(*pp)->next;
	}
	/* later ones that b covers entirely go; a partial one trims b */
	while (*pp && seq_le((*pp)->hash + (*pp)->len, seq + b->len)) {
		struct pkb *dead = *pp;
		*pp = dead->next;
		t->ooo_bytes -= dead->len;
		pkb_free(dead);
	}
	if (*pp && seq_lt((*pp)->hash, seq + b->len))
		pkb_trim(b, (*pp)->hash - seq);
	if (!b->len) {
		pkb_free(b);
		return;
	}
	b->next = *pp;
	*pp = b;
	t->ooo_bytes += b->len;
}

/* Move what became in order from the out-of-order queue. */
static void ooo_drain(struct tcb *t)
{
	while (t->ooo_q && seq_le(t->ooo_q->hash, t->rcv_nxt)) {
		struct pkb *b = t->ooo_q;
		t->ooo_q = b->next;
		t->ooo_bytes -= b->len;
		u32 old = t->rcv_nxt - b->hash;
		if (old >= b->len) {
			pkb_free(b);
			continue;
		}
		pkb_advance(b, old);
		rcv_q_append(t, b);
	}
}

static void data_input(struct tcb *t, struct pkb *b, struct seg *s)
{
	/* the part before rcv_nxt was had already */
	if (seq_lt(s->seq, t->rcv_nxt)) {
		u32 old = t->rcv_nxt - s->seq;
		if (old >= s->len) {
			pkb_trim(b, 0);
			s->len = 0;
		} else {
			pkb_advance(b, old);
			s->len -= old;
		}
		s->seq = t->rcv_nxt;
	}
	/* the part past the window's right edge is not taken */
	u32 edge = t->rcv_nxt + MAX(tcp_rcv_window(t), t->rcv_adv - t->rcv_nxt);
	if (seq_gt(s->seq + s->len, edge)) {
		u32 keep = seq_gt(edge, s->seq) ? edge - s->seq : 0;
		pkb_trim(b, keep);
		s->len = keep;
		s->flags &= (u8)~TH_FIN;
		net_count_drop(NET_DROP_tcp_rcvbuf);
	}
	if (!s->len) {
		pkb_free(b);
		return;
	}
	t->sk.st.rx_packets++;
	if (s->seq == t->rcv_nxt) {
		bool filled_gap = t->ooo_q != NULL;
		rcv_q_append(t, b);
		ooo_drain(t);
		if (++t->segs_since_ack >= 2 || filled_gap || (s->flags & TH_FIN))
			t->ack_now = true;
		else if (!t->timer[TT_DELACK])
			tcp_timer_arm(t, TT_DELACK, net_now_ns() + TCP_DELACK_NS);
		tcp_wake(t);
	} else {
		b->hash = s->seq;
		tcp_sack_note_ooo(t, s->seq);
		ooo_insert(t, b);
		t->ack_now = true; /* a duplicate ACK tells the sender */
		s->flags &= (u8)~TH_FIN; /* a FIN past a gap waits for its retransmission */
	}
}

/* ---- the acknowledgment ---- */

static void remove_acked(struct tcb *t, u32 bytes)
{
	t->snd_q_bytes -= bytes;
	t->bytes_acked += bytes;
	while (bytes && t->snd_q_head) {
		struct pkb *q = t->snd_q_head;
		if (bytes >= q->len) {
			bytes -= q->len;
			t->snd_q_head = q->next;
			if (!t->snd_q_head)
				t->snd_q_tail = NULL;
			pkb_free(q);
		} else {
			pkb_advance(q, bytes);
			bytes = 0;
		}
	}
}

static void new_ack(struct tcb *t, const struct seg *s, struct tcp_xmit *x)
{
	u32 acked = s->ack - t->snd_una;
	u32 data_start = t->snd_una + (t->snd_una == t->iss ? 1 : 0);  /* past our SYN */
	u32 fin_seq = data_start + t->snd_q_bytes;
	bool fin_acked = t->fin_queued && seq_gt(s->ack, fin_seq);
	u32 data = seq_gt(s->ack, data_start) ? MIN(s->ack - data_start, t->snd_q_bytes) : 0;
	remove_acked(t, data);
	/* RTT: timestamps, or the one timed segment (Karn) */
	u64 now = net_now_ns();
	if (t->ts_ok && s->ts && s->tsecr)
		tcp_rtt_sample(t, (u64)(tcp_now_ts() - s->tsecr) * 1000000ULL);
	else if (t->rtt_timing && seq_gt(s->ack, t->rtt_seq))
		tcp_rtt_sample(t, now - t->rtt_start_ns);
	if (t->rtt_timing && seq_gt(s->ack, t->rtt_seq))
		t->rtt_timing = false;
	t->backoff = 0;
	t->probes = 0;
	if (t->in_recovery && t->sack_ok) {
		/* RFC 6675: a cumulative ACK past the recovery point ends it; a
		 * partial one leaves the scoreboard to pick the next hole */
		if (seq_ge(s->ack, t->recover)) {
			t->in_recovery = false;
			t->cwnd = MAX(t->ssthresh, 2u * t->mss);
		}
	} else if (t->in_recovery) {
		if (seq_ge(s->ack, t->recover)) {
			t->in_recovery = false;
			t->cwnd = MAX(t->ssthresh, 2u * t->mss);       /* RFC 6582 §3.2 step 3 */
		} else {
			/* partial ACK: the next hole goes out now, the window deflates */
			t->snd_una = s->ack;
			tcp_retransmit(t, x, s->ack, t->mss);
			t->cwnd = t->cwnd > acked ? t->cwnd - acked + t->mss : t->mss;
		}
	} else {
		tcp_cc_ack(t, acked);
	}
	t->dupacks = 0;
	t->snd_una = s->ack;
	if (seq_lt(t->snd_nxt, t->snd_una))
		t->snd_nxt = t->snd_una;
	if (t->sack_ok)
		tcp_sack_cumack(t);
	if (t->snd_una == t->snd_max)
		tcp_timer_stop(t, TT_REXMIT);
	else
		tcp_rearm_rexmit(t);
	tcp_wake(t); /* room in the send buffer */
	/* ack watches (tcp_ack_watch in tcp.c): services time their responses */
	if (t->n_watch)
		tcp_ack_watch_fire(t, now);
	if (fin_acked) {
		switch (t->state) {
		case TCP_FIN_WAIT_1:
			tcp_set_state(t, TCP_FIN_WAIT_2);
			if (t->user_closed)
				tcp_timer_arm(t, TT_2MSL, now + 2 * TCP_MSL_NS);
			break;
		case TCP_CLOSING:
			tcp_set_state(t, TCP_TIME_WAIT);
			tcp_timer_arm(t, TT_2MSL, now + 2 * TCP_MSL_NS);
			break;
		case TCP_LAST_ACK:
			tcp_done(t);
			break;
		default:
			break;
		}
	}
}

/* Enter SACK-based loss recovery (RFC 6675 §5, step 4). */
static void sack_recovery(struct tcb *t, struct tcp_xmit *x)
{
	tcp_cc_loss(t);
	t->recover = t->snd_max;
	t->in_recovery = true;
	t->rtt_timing = false;
	t->cwnd = t->ssthresh;
	t->high_rxt = t->snd_una;
	t->sack_recoveries++;
	TCP_STAT(sack_recoveries);
	/* the first segment presumed lost goes now, whatever the pipe */
	u32 before = t->retransmits;
	tcp_retransmit(t, x, t->snd_una, t->mss);
	if (t->retransmits != before && x->tail) {
		t->high_rxt = t->snd_una + x->tail->len;
		TCP_STAT(sack_rexmits);
	}
}

/* Has a SACK connection seen enough to call its first segment lost? RFC
 * 6675 §5: DupThresh duplicates, or DupThresh segments' worth SACKed above
 * it (IsLost). Early Retransmit (RFC 5827): with under 4 segments out and
 * nothing new to send, fewer can come; one less than the segments out
 * will do. */
static bool sack_loss(const struct tcb *t)
{
	u32 thresh = 3, out = (tcp_flight(t) + t->mss - 1) / t->mss;
	bool unsent = t->snd_una + t->snd_q_bytes != t->snd_max;
	if (out < 4 && !unsent)
		thresh = MAX(out, 2u) - 1;
	u32 sacked_segs = (t->sacked_bytes + t->mss - 1) / t->mss;
	return t->dupacks >= thresh || (t->n_sacked && sacked_segs >= thresh) ||
	       tcp_sack_is_lost(t, t->snd_una);
}

static void dup_ack(struct tcb *t, struct tcp_xmit *x)
{
	if (t->sack_ok) {
		++t->dupacks;
		if (!t->in_recovery && sack_loss(t))
			sack_recovery(t, x);
		return;
	}
	if (++t->dupacks == 3 && !t->in_recovery) {
		t->nr_recoveries++;
		TCP_STAT(nr_recoveries);
		/* fast retransmit (RFC 5681 §3.2), recovery per RFC 6582 */
		tcp_cc_loss(t);
		t->recover = t->snd_max;
		t->in_recovery = true;
		t->rtt_timing = false;
		tcp_retransmit(t, x, t->snd_una, t->mss);
		t->cwnd = t->ssthresh + 3u * t->mss;
	} else if (t->in_recovery) {
		t->cwnd += t->mss; /* each dup ACK: a segment left the network */
	}
}

/* RFC 9293 §3.10.7.4, fifth check. false: stop processing (b handled). */
static bool ack_input(struct tcb *t, struct pkb *b, const struct tcp_hdr *th, struct seg *s,
		      struct tcp_xmit *x)
{
	if (!(s->flags & TH_ACK)) {
		pkb_free(b);
		return false;
	}
	if (t->state == TCP_SYN_RECEIVED) {
		if (seq_gt(s->ack, t->snd_una) && seq_le(s->ack, t->snd_max)) {
			tcp_set_state(t, TCP_ESTABLISHED);
			t->snd_wnd = s->wnd << t->snd_wscale;
			t->max_snd_wnd = MAX(t->max_snd_wnd, t->snd_wnd);
			t->snd_wl1 = s->seq;
			t->snd_wl2 = s->ack;
			if (t->backoff == 0)
				tcp_rtt_sample(t, net_now_ns() - t->rtt_start_ns);
			tcp_child_established(t);
			tcp_wake(t);
		} else {
			tcp_send_reset_for(NULL, th, s->len, t->raddr, t->laddr, x);
			pkb_free(b);
			return false;
		}
	}
	if (seq_gt(s->ack, t->snd_max)) {
		tcp_send_ack(t, x);             /* RFC 5961 §5.2 */
		net_drop(b, NET_DROP_tcp_bad_ack);
		return false;
	}
	/* RFC 5961 §5.2: an ACK older than the largest window the peer ever
	 * offered is no ACK of this connection's (blind data injection) */
	if (seq_lt(s->ack, t->snd_una - MAX(t->max_snd_wnd, 65535u))) {
		challenge_ack(t, x);
		net_drop(b, NET_DROP_tcp_old_ack);
		return false;
	}
	u32 wnd = s->wnd << t->snd_wscale;
	u32 newly_sacked = 0;
	if (t->sack_ok && s->nsack)
		newly_sacked = tcp_sack_update(t, s->sack, s->nsack);
	if (seq_gt(s->ack, t->snd_una)) {
		new_ack(t, s, x);
		if (t->state == TCP_CLOSED) {
			pkb_free(b);
			return false;
		}
		/* an ACK whose SACK blocks already show the next loss */
		if (t->sack_ok && !t->in_recovery && t->n_sacked && sack_loss(t))
			sack_recovery(t, x);
	} else if (s->ack == t->snd_una && t->snd_max != t->snd_una &&
		   ((s->len == 0 && !(s->flags & (TH_FIN | TH_SYN)) && wnd == t->snd_wnd) ||
		    newly_sacked)) {
		dup_ack(t, x);
	}
	/* the send window (RFC 9293 §3.10.7.4: SND.WL1/WL2) */
	if (seq_lt(t->snd_wl1, s->seq) || (t->snd_wl1 == s->seq && seq_le(t->snd_wl2, s->ack))) {
		bool opened = t->snd_wnd == 0 && wnd > 0;
		t->snd_wnd = wnd;
		t->max_snd_wnd = MAX(t->max_snd_wnd, wnd);
		t->snd_wl1 = s->seq;
		t->snd_wl2 = s->ack;
		if (opened && t->snd_una == t->snd_max)
			tcp_timer_stop(t, TT_REXMIT); /* the persist probe is done */
		if (opened && t->snd_max != t->snd_una && t->snd_max - t->snd_una <= 1) {
			/* the probe byte went past a closed window and was not
			 * taken: send it again now with what follows, rather than
			 * waiting out a backed-off timer */
			t->snd_nxt = t->snd_una;
			t->backoff = 0;
			tcp_rearm_rexmit(t);
		}
		if (wnd)
			t->probes = 0;
	}
	if (t->state == TCP_TIME_WAIT && (s->flags & TH_FIN)) {
		t->ack_now = true;
		tcp_timer_arm(t, TT_2MSL, net_now_ns() + 2 * TCP_MSL_NS);
	}
	return true;
}

static void enter_time_wait(struct tcb *t)
{
	if (__atomic_add_fetch(&time_wait_count, 1, __ATOMIC_RELAXED) > TW_MAX) {
		/* bounded: past the limit a connection closes without waiting */
		__atomic_fetch_sub(&time_wait_count, 1, __ATOMIC_RELAXED);
		tcp_done(t);
		return;
	}
	tcp_set_state(t, TCP_TIME_WAIT);
	tcp_timer_stop(t, TT_REXMIT);
	tcp_timer_arm(t, TT_2MSL, net_now_ns() + 2 * TCP_MSL_NS);
}

void tcp_time_wait_end(struct tcb *t)
{
	__atomic_fetch_sub(&time_wait_count, 1, __ATOMIC_RELAXED);
	tcp_done(t);
}

static void fin_input(struct tcb *t)
{
	t->rcv_nxt++;
	t->fin_received = true;
	t->ack_now = true;
	switch (t->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		tcp_set_state(t, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		if (t->snd_una == t->snd_max)
			enter_time_wait(t);
		else
			tcp_set_state(t, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT_2:
		enter_time_wait(t);
		break;
	default:
		break;
	}
	tcp_wake(t);
}

/* A segment for a synchronized connection (or SYN_RECEIVED). [S] held. */
static void conn_input(struct tcb *t, struct pkb *b, const struct tcp_hdr *th, struct seg *s,
		       struct tcp_xmit *x)
{
	u64 now = net_now_ns();
	t->segs_in++;
	if (t->keepalive && t->state == TCP_ESTABLISHED)
		tcp_timer_arm(t, TT_KEEPALIVE, now + 7200ULL * 1000000000ULL);
	/* PAWS (RFC 7323 §5.3), with one tick of slack as Linux has: segments
	 * reordered between two receive queues can carry a timestamp a tick
	 * older than one already seen, and are no old duplicates */
	if (t->ts_ok && s->ts && !(s->flags & TH_RST) && seq_lt(s->tsval + PAWS_SLACK, t->ts_recent) &&
	    now - t->ts_recent_ns < PAWS_IDLE_NS) {
		t->ack_now = true;
		net_drop(b, NET_DROP_tcp_paws);
		return;
	}
	/* acceptability (RFC 9293 §3.10.7.4, first check), with the right edge
	 * included as Linux does: a peer that filled our window exactly (its
	 * first segment lost, the rest waiting out of order) sends its ACKs at
	 * RCV.NXT + RCV.WND, and refusing them would refuse the ACKs for our
	 * own data too: both sides would stall */
	u32 rwnd = MAX(tcp_rcv_window(t), t->rcv_adv - t->rcv_nxt);
	u32 slen = s->len + ((s->flags & TH_FIN) ? 1 : 0);
	bool ok = seq_le(s->seq, t->rcv_nxt + rwnd) &&
		  (slen == 0 ? seq_ge(s->seq, t->rcv_nxt) : seq_gt(s->seq + slen, t->rcv_nxt));
	/* (data past the window is cut off in data_input; the ACK still counts) */
	/* (a window or keepalive probe carries SND.UNA - 1: it lands here and
	 * its answer, an ACK with our window, is what the prober waits for) */
	if (!ok) {
		if (!(s->flags & TH_RST))
			t->ack_now = true;
		net_drop(b, NET_DROP_tcp_window);
		return;
	}
	/* the receiver's RTT: a data segment echoing our clock (RFC 7323 §4) */
	if (t->ts_ok && s->ts && s->tsecr && s->len) {
		/* (the clock's grain is 1 ms: no sample below it) */
		u64 r = MAX((u64)(u32)(tcp_now_ts() - s->tsecr), 1ULL) * 1000000ULL;
		if (r < 60ULL * 1000000000ULL)
			t->rcv_rtt_ns = t->rcv_rtt_ns ? (7 * t->rcv_rtt_ns + r) / 8 : r;
	}
	/* timestamps: remember the peer's (RFC 7323 §4.3) */
	if (t->ts_ok && s->ts && seq_le(s->seq, t->rcv_nxt) && seq_ge(s->tsval, t->ts_recent)) {
		t->ts_recent = s->tsval;
		t->ts_recent_ns = now;
	}
	/* RST (RFC 5961 §3.2) */
	if (s->flags & TH_RST) {
		if (s->seq == t->rcv_nxt) {
			TCP_STAT(resets_received);
			if (t->state == TCP_TIME_WAIT) {
				tcp_time_wait_end(t);
			} else {
				if (t->state != TCP_SYN_RECEIVED)
					t->soft_error = t->state == TCP_CLOSE_WAIT ? -EPIPE : -ECONNRESET;
				tcp_done(t);
			}
			pkb_free(b);
		} else {
			challenge_ack(t, x);
			net_drop(b, NET_DROP_tcp_rst_ignored);
		}
		return;
	}
	/* SYN (RFC 5961 §4) */
	if (s->flags & TH_SYN) {
		if (t->state == TCP_SYN_RECEIVED && s->seq == t->irs) {
			t->snd_nxt = t->iss;
			tcp_send_syn(t, x); /* our SYN-ACK was lost */
			pkb_free(b);
			return;
		}
		challenge_ack(t, x);
		net_drop(b, NET_DROP_tcp_syn_ignored);
		return;
	}
	if (!ack_input(t, b, th, s, x))
		return;
	if (t->state == TCP_CLOSED) {
		pkb_free(b);
		return;
	}
	bool fin = s->flags & TH_FIN;
	switch (t->state) {
	case TCP_ESTABLISHED: case TCP_FIN_WAIT_1: case TCP_FIN_WAIT_2:
		if (s->len && t->user_closed && t->rd_shut) {
			/* data for a socket nobody will read: abort (RFC 9293 §3.10.7.4) */
			tcp_send_rst(t, x);
			t->soft_error = -ECONNRESET;
			tcp_done(t);
			pkb_free(b);
			return;
		}
		data_input(t, b, s);
		fin = s->flags & TH_FIN;
		break;
	default:
		/* CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT: the peer's FIN came */
		if (s->len)
			t->ack_now = true;
		pkb_free(b);
		fin = false;
		break;
	}
	if (fin && s->seq + s->len == t->rcv_nxt)
		fin_input(t);
}

void tcp_input(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst)
{
	struct tcp_hdr *th = (struct tcp_hdr *)pkb_pullup(b, TCP_HLEN);
	if (!th || tcp_hlen(th) < TCP_HLEN || !(th = (struct tcp_hdr *)pkb_pullup(b, tcp_hlen(th)))) {
		net_drop(b, NET_DROP_tcp_short);
		return;
	}
	u32 hl = tcp_hlen(th), zone = pkb_hdr_len(b), tot = zone + b->len;
	if (!(b->flags & PKB_CSUM_VALID)) {
		u32 sum = csum_pseudo(src, dst, IPPROTO_TCP, tot);
		sum = csum_pkb_payload(b, zone, csum_add(sum, th, zone));
		if (csum_fold(sum) != 0xffff) {
			net_drop(b, NET_DROP_tcp_csum);
			return;
		}
	}
	if (net_is_broadcast(ifp, dst) || (dst >> 28) == 14 || (src >> 28) >= 14 || !src) {
		net_drop(b, NET_DROP_ip_not_ours);
		return;
	}
	TCP_STAT(segs_in);
	struct tcp_hdr hdr;
	memcpy(&hdr, th, TCP_HLEN);
	struct seg s = { .seq = be32(th->seq), .ack = be32(th->ack), .len = tot - hl,
			 .wnd = be16(th->win), .flags = th->flags, .ws = -1 };
	parse_options((const u8 *)(th + 1), hl - TCP_HLEN, &s);
	pkb_pull(b, hl);
	b = zone_to_payload(b);
	if (!b) {
		net_count_drop(NET_DROP_nomem);
		return;
	}
	u16 sport = be16(hdr.sport), dport = be16(hdr.dport);
	struct tcp_xmit x = { 0 };
	struct tcb *t = tcp_lookup(dst, dport, src, sport);
	if (t && (s.flags & TH_SYN) && !(s.flags & TH_ACK)) {
		/* a new SYN for a connection in TIME_WAIT with a higher sequence
		 * number starts a new connection */
		spin_lock(&t->sk.lock);
		bool reuse = t->state == TCP_TIME_WAIT && seq_gt(s.seq, t->rcv_nxt);
		if (reuse) {
			TCP_STAT(time_wait_reused);
			tcp_time_wait_end(t);
		}
		spin_unlock(&t->sk.lock);
		if (reuse) {
			sock_put(&t->sk);
			t = NULL;
		}
	}
	if (!t) {
		struct tcb *lis = tcp_lookup_listener(dst, dport, src, sport);
		if (!lis) {
			tcp_send_reset_for(ifp, &hdr, s.len, src, dst, &x);
			net_drop(b, NET_DROP_tcp_no_conn);
			tcp_xmit_flush(&x);
			return;
		}
		spin_lock(&lis->sk.lock);
		if (lis->state == TCP_LISTEN)
			listen_input(lis, b, &hdr, &s, src, dst, &x);
		else
			net_drop(b, NET_DROP_tcp_no_conn);
		spin_unlock(&lis->sk.lock);
		tcp_xmit_flush(&x);
		sock_put(&lis->sk);
		return;
	}
	spin_lock(&t->sk.lock);
	switch (t->state) {
	case TCP_CLOSED:
		tcp_send_reset_for(ifp, &hdr, s.len, src, dst, &x);
		net_drop(b, NET_DROP_tcp_no_conn);
		break;
	case TCP_SYN_SENT:
		syn_sent_input(t, b, &hdr, &s, &x);
		break;
	default:
		conn_input(t, b, &hdr, &s, &x);
		break;
	}
	if (t->state != TCP_CLOSED) {
		tcp_output(t, &x);
		if (t->ack_now)
			tcp_send_ack(t, &x);
	}
	spin_unlock(&t->sk.lock);
	tcp_xmit_flush(&x);
	sock_put(&t->sk);
}
