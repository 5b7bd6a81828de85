/*
 * Building and sending TCP segments. A data segment is a fresh pkb whose
 * payload references the send queue's pages (no copy) and whose header zone
 * gets the TCP header and options; when the NIC segments TCP (TSO) one
 * such pkb carries up to 64 KiB with gso_size set to the MSS. Segments go
 * on a struct tcp_xmit list; tcp_xmit_flush sends them once [S] is dropped.
 */
#include "netstack/tcp_priv.h"
#include "nic/nic.h"
#include "kernel/lib/string.h"

#define TSO_MAX 65000u

u32 tcp_now_ts(void) { return (u32)(net_now_ns() / 1000000); }

u32 tcp_flight(const struct tcb *t) { return t->snd_max - t->snd_una; }

static void xmit_add(struct tcp_xmit *x, struct pkb *b, ip4_t src, ip4_t dst)
{
	b->cb[0] = src;
	b->cb[1] = dst;
	b->next = NULL;
	if (x->tail)
		x->tail->next = b;
	else
		x->head = b;
	x->tail = b;
}

void tcp_xmit_flush(struct tcp_xmit *x)
{
	struct pkb *b = x->head;
	x->head = x->tail = NULL;
	while (b) {
		struct pkb *n = b->next;
		b->next = NULL;
		if (ip_output(b, b->cb[0], b->cb[1], IPPROTO_TCP, true) == 0)
			TCP_STAT(segs_out);
		b = n;
	}
}

/* The options of a segment: SYN ones, or timestamps and SACK blocks (as
 * many as fit in sack_room bytes). Returns their length (a multiple of 4). */
static u32 put_options(struct tcb *t, u8 *o, bool syn, u32 sack_room)
{
	u32 n = 0;
	bool offer = syn && (t->state == TCP_SYN_SENT || t->state == TCP_CLOSED);
	if (syn) {
		o[n++] = TCPOPT_MSS;
		o[n++] = 4;
		put_be16(o + n, t->adv_mss);
		n += 2;
		if (t->ws_ok || t->state == TCP_SYN_SENT || t->state == TCP_CLOSED) {
			o[n++] = TCPOPT_NOP;
			o[n++] = TCPOPT_WSCALE;
			o[n++] = 3;
			o[n++] = t->rcv_wscale;
		}
	}
	bool sack_ok = syn && (offer ? tcp_sack_enabled() : t->sack_ok);
	if (t->ts_ok || offer) {
		/* SACK-permitted rides in the timestamp's padding */
		o[n++] = sack_ok ? TCPOPT_SACK_OK : TCPOPT_NOP;
		o[n++] = sack_ok ? 2 : TCPOPT_NOP;
		sack_ok = false;
		o[n++] = TCPOPT_TS;
		o[n++] = 10;
		put_be32(o + n, tcp_now_ts());
		put_be32(o + n + 4, t->ts_recent);
		n += 8;
	}
	if (sack_ok) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_SACK_OK;
		o[n++] = 2;
	}
	if (!syn && t->ooo_q && t->sack_ok) {
		/* RFC 2018 §3: what the out-of-order queue holds */
		sack_room = MIN(sack_room, 40 - n);
		struct sack_range r[4];
		unsigned k = sack_room >= 12 ? tcp_sack_blocks(t, r, MIN((sack_room - 4) / 8, 4u)) : 0;
		if (k) {
			o[n++] = TCPOPT_NOP;
			o[n++] = TCPOPT_NOP;
			o[n++] = TCPOPT_SACK;
			o[n++] = (u8)(2 + 8 * k);
			for (unsigned i = 0; i < k; i++, n += 8) {
				put_be32(o + n, r[i].start);
				put_be32(o + n + 4, r[i].end);
			}
		}
	}
	return n;
}

/* The window to announce ([S] held): never shrinking what we announced. */
static u16 announce_window(struct tcb *t, bool syn)
{
	u32 wnd = tcp_rcv_window(t);
	u32 edge = t->rcv_nxt + wnd;
	if (seq_lt(edge, t->rcv_adv))
		wnd = t->rcv_adv - t->rcv_nxt;
	u32 shift = syn ? 0 : t->rcv_wscale;
	u32 w = wnd >> shift;
	if (w > 0xffff)
		w = 0xffff;
	t->rcv_adv = seq_max(t->rcv_adv, t->rcv_nxt + (w << shift));
	return (u16)w;
}

/* Push the TCP header on b (payload already attached) and queue it. */
static void finish_segment(struct tcb *t, struct tcp_xmit *x, struct pkb *b, u32 seq, u8 flags)
{
	u8 opts[40];
	bool syn = flags & TH_SYN;
	/* SACK blocks go where the MSS leaves room: always on a bare ACK, on
	 * a data segment only if it is short enough, never on a TSO one */
	u32 room = !b->len ? 40 : b->gso_size || b->len >= t->mss ? 0 : t->mss - b->len;
	u32 olen = put_options(t, opts, syn, room);
	struct tcp_hdr *th = (struct tcp_hdr *)pkb_push(b, TCP_HLEN + olen);
	put_be16(th->sport, t->lport);
	put_be16(th->dport, t->rport);
	put_be32(th->seq, seq);
	put_be32(th->ack, flags & TH_ACK ? t->rcv_nxt : 0);
	th->doff = (u8)(((TCP_HLEN + olen) / 4) << 4);
	th->flags = flags;
	put_be16(th->win, announce_window(t, syn));
	put_be16(th->urg, 0);
	memcpy(th + 1, opts, olen);
	u32 len = TCP_HLEN + olen + b->len;
	put_be16(th->csum, csum_fold(csum_pseudo(t->laddr, t->raddr, IPPROTO_TCP, len)));
	b->flags = PKB_CSUM_PARTIAL;
	b->csum_start = 0;
	b->csum_offset = 16;
	if (flags & TH_ACK) {
		t->ack_now = false;
		t->segs_since_ack = 0;
		t->timer[TT_DELACK] = 0;
	}
	t->segs_out++;
	xmit_add(x, b, t->laddr, t->raddr);
}

/* A segment of send-queue bytes [seq, seq+len) (references, no copy). */
static struct pkb *data_segment(struct tcb *t, u32 seq, u32 len)
{
	struct pkb *b = pkb_alloc();
	if (!b)
		return NULL;
	u32 off = seq - t->snd_una;
	for (struct pkb *q = t->snd_q_head; q && len; q = q->next) {
		if (off >= q->len) {
			off -= q->len;
			continue;
		}
		for (unsigned i = 0; i < q->nfrags && len; i++) {
			const struct pkb_frag *f = &q->frags[i];
			if (off >= f->len) {
				off -= f->len;
				continue;
			}
			u32 n = MIN(f->len - off, len);
			if (pkb_add_frag(b, f->page, f->off + off, n) != 0)
				return b; /* the fragment table is full: a shorter segment */
			len -= n;
			off = 0;
		}
	}
	return b;
}

void tcp_route_caps(struct tcb *t)
{
	struct netif *ifp;
	ip4_t nh, src;
	bool local = net_is_local(t->raddr);
	bool routed = !local && route_lookup(t->raddr, &ifp, &nh, &src) == 0;
	u32 mtu = local ? 65535 : routed ? ifp->mtu : 1500;
	t->adv_mss = (u16)MIN(mtu - 40, 65495u);
	t->tso = routed && (ifp->nic->features & NIC_F_TSO4) && (ifp->nic->features & NIC_F_TX_CSUM);
}

/* The largest segment to build: one MSS, or up to 64 KiB for the NIC to
 * cut (TSO; what the route offers was noted once, by tcp_route_caps). */
static u32 max_segment(const struct tcb *t)
{
	return t->tso ? MAX((u32)t->mss, (TSO_MAX / t->mss) * t->mss) : t->mss;
}

void tcp_output(struct tcb *t, struct tcp_xmit *x)
{
	switch (t->state) {
	case TCP_ESTABLISHED: case TCP_CLOSE_WAIT: case TCP_FIN_WAIT_1: case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	default:
		return;
	}
	u32 maxseg = max_segment(t);
	bool sent = false;
	bool sack_rec = t->in_recovery && t->sack_ok;
	if (sack_rec && tcp_sack_retransmit(t, x, maxseg, false))
		sent = true; /* NextSeg rule 1: lost holes first */
	for (;;) {
		u32 off = t->snd_nxt - t->snd_una;
		u32 avail = off <= t->snd_q_bytes ? t->snd_q_bytes - off : 0;
		bool fin_pending = t->fin_queued && t->snd_nxt == t->snd_una + t->snd_q_bytes;
		if (fin_pending && seq_lt(t->snd_una + t->snd_q_bytes, t->snd_max))
			fin_pending = false; /* the FIN is out already */
		if (!avail && !fin_pending)
			break;
		/* Limited Transmit (RFC 3042): the first two duplicate ACKs
		 * each let one new segment go past cwnd */
		u32 limited = !t->in_recovery && t->dupacks && t->dupacks < 3 ? t->dupacks * t->mss : 0;
		u32 wnd = MIN(t->snd_wnd, t->cwnd + limited);
		u32 inflight = t->snd_nxt - t->snd_una;
		u32 usable = wnd > inflight ? wnd - inflight : 0;
		if (sack_rec) {
			/* RFC 6675: the pipe, not the flight, is held under cwnd */
			u32 pipe = tcp_sack_pipe(t);
			u32 rw = t->snd_wnd > inflight ? t->snd_wnd - inflight : 0;
			usable = MIN(rw, t->cwnd > pipe ? t->cwnd - pipe : 0);
		}
		u32 len = MIN(avail, MIN(usable, maxseg));
		if (avail && len == 0) {
			/* window closed: the persist probe takes over when nothing is
			 * in flight to bring an ACK */
			if (t->snd_wnd == 0 && t->snd_max == t->snd_una && !t->timer[TT_REXMIT])
				tcp_timer_arm(t, TT_REXMIT, net_now_ns() + t->rto_ns);
			break;
		}
		/* Nagle (RFC 896): hold a small segment while data is unacked */
		if (len && len < t->mss && len == avail && !t->nodelay && !fin_pending &&
		    t->snd_nxt != t->snd_una)
			break;
		if (len && len < t->mss && len < avail && t->snd_nxt != t->snd_una)
			break; /* a sliver of window: wait for more (sender SWS) */
		struct pkb *b = data_segment(t, t->snd_nxt, len);
		if (!b)
			break;
		len = b->len;
		u8 flags = TH_ACK;
		bool fin = t->fin_queued && off + len == t->snd_q_bytes;
		if (fin)
			flags |= TH_FIN;
		if (len && off + len == t->snd_q_bytes)
			flags |= TH_PSH;
		if (len > t->mss && t->tso) {
			b->gso_size = t->mss;
			b->gso_type = 1;
		}
		u32 seq = t->snd_nxt;
		bool new_data = !seq_lt(seq, t->snd_max);
		if (!new_data)
			t->retransmits++;
		finish_segment(t, x, b, seq, flags);
		t->snd_nxt += len + (fin ? 1 : 0);
		t->snd_max = seq_max(t->snd_max, t->snd_nxt);
		if (!t->rtt_timing && len && new_data) {
			t->rtt_timing = true;
			t->rtt_seq = seq;
			t->rtt_start_ns = net_now_ns();
		}
		if (!t->timer[TT_REXMIT])
			tcp_timer_arm(t, TT_REXMIT, net_now_ns() + t->rto_ns);
		sent = true;
		if (flags & TH_FIN)
			break;
	}
	/* NextSeg rule 3: nothing new could go, a hole not yet deemed lost */
	if (sack_rec && !sent && tcp_sack_retransmit(t, x, maxseg, true))
		sent = true;
	if (!sent && t->ack_now)
		tcp_send_ack(t, x);
}

void tcp_send_ack(struct tcb *t, struct tcp_xmit *x)
{
	struct pkb *b = pkb_alloc();
	if (!b) {
		net_count_drop(NET_DROP_nomem);
		return;
	}
	finish_segment(t, x, b, t->snd_nxt, TH_ACK);
}

void tcp_send_syn(struct tcb *t, struct tcp_xmit *x)
{
	struct pkb *b = pkb_alloc();
	if (!b) {
		net_count_drop(NET_DROP_nomem);
		return;
	}
	u8 flags = TH_SYN | (t->state == TCP_SYN_RECEIVED ? TH_ACK : 0);
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
		tcp_route_caps(t); /* our MSS: what the route's MTU carries */
		if (t->state == TCP_SYN_SENT) {
			/* the scale that lets the largest receive buffer show */
			t->rcv_wscale = tcp_rcv_wscale(t);
		}
	}
	finish_segment(t, x, b, t->iss, flags);
	if (t->backoff == 0)
		t->rtt_start_ns = net_now_ns();
	t->snd_nxt = t->iss + 1;
	t->snd_max = seq_max(t->snd_max, t->snd_nxt);
	if (!t->timer[TT_REXMIT])
		tcp_timer_arm(t, TT_REXMIT, net_now_ns() + t->rto_ns);
}

void tcp_retransmit(struct tcb *t, struct tcp_xmit *x, u32 seq, u32 len)
{
	u32 off = seq - t->snd_una;
	u32 avail = off <= t->snd_q_bytes ? t->snd_q_bytes - off : 0;
	/* only what was sent: bytes queued past snd_max are new data, for
	 * tcp_output to send under the window and timing rules (a FIN sent
	 * sits past the last data byte, so this bound keeps it) */
	u32 data_end = seq_min(t->snd_max, t->snd_una + t->snd_q_bytes);
	u32 sent = seq_lt(seq, data_end) ? data_end - seq : 0;
	len = MIN(len, MIN(MIN(avail, sent), max_segment(t)));
	/* never past the peer's window: what lies beyond waits (a closed
	 * window is the persist probe's business) */
	u32 wnd_end = t->snd_una + t->snd_wnd;
	u32 room = seq_lt(seq, wnd_end) ? wnd_end - seq : 0;
	if (!room)
		return;
	len = MIN(len, room);
	u8 flags = TH_ACK;
	bool fin = t->fin_queued && off + len == t->snd_q_bytes && seq_lt(seq + len, t->snd_max);
	if (fin)
		flags |= TH_FIN;
	if (!len && !fin)
		return;
	struct pkb *b = data_segment(t, seq, len);
	if (!b)
		return;
	if (b->len < len)
		flags &= (u8)~TH_FIN;
	if (b->len > t->mss) {
		b->gso_size = t->mss; /* only when the NIC segments (max_segment) */
		b->gso_type = 1;
	}
	t->retransmits++;
	TCP_STAT(retransmits);
	finish_segment(t, x, b, seq, flags | (b->len ? TH_PSH : 0));
	if (t->rtt_timing && seq_le(seq, t->rtt_seq) && seq_gt(seq + b->len, t->rtt_seq))
		t->rtt_timing = false; /* Karn: no sample from a retransmitted segment */
}

void tcp_send_probe(struct tcb *t, struct tcp_xmit *x)
{
	/* one byte beyond the window (RFC 9293 §3.8.6.1), or an old byte when
	 * none is left to send, to draw an ACK with the window */
	u32 off = t->snd_nxt - t->snd_una;
	if (off < t->snd_q_bytes) {
		struct pkb *b = data_segment(t, t->snd_nxt, 1);
		if (b) {
			finish_segment(t, x, b, t->snd_nxt, TH_ACK);
			/* the byte is sent: a receiver with room takes it, and
			 * its ACK must be one of data we sent */
			t->snd_nxt++;
			t->snd_max = seq_max(t->snd_max, t->snd_nxt);
		}
	} else {
		struct pkb *b = pkb_alloc();
		if (b)
			finish_segment(t, x, b, t->snd_una - 1, TH_ACK);
	}
}

void tcp_send_rst(struct tcb *t, struct tcp_xmit *x)
{
	struct pkb *b = pkb_alloc();
	if (!b)
		return;
	bool ts = t->ts_ok;
	t->ts_ok = false; /* a bare RST */
	finish_segment(t, x, b, t->snd_nxt, TH_RST | TH_ACK);
	t->ts_ok = ts;
	TCP_STAT(resets_sent);
}

void tcp_send_reset_for(struct netif *ifp, const struct tcp_hdr *th, u32 seglen, ip4_t src,
			ip4_t dst, struct tcp_xmit *x)
{
	(void)ifp;
	if (th->flags & TH_RST)
		return;
	struct pkb *b = pkb_alloc();
	if (!b)
		return;
	struct tcp_hdr *r = (struct tcp_hdr *)pkb_push(b, TCP_HLEN);
	memset(r, 0, TCP_HLEN);
	memcpy(r->sport, th->dport, 2);
	memcpy(r->dport, th->sport, 2);
	if (th->flags & TH_ACK) {
		memcpy(r->seq, th->ack, 4);
		r->flags = TH_RST;
	} else {
		u32 ack = be32(th->seq) + seglen + ((th->flags & TH_SYN) ? 1 : 0) +
			  ((th->flags & TH_FIN) ? 1 : 0);
		put_be32(r->ack, ack);
		r->flags = TH_RST | TH_ACK;
	}
	r->doff = 5 << 4;
	put_be16(r->csum, csum_fold(csum_pseudo(dst, src, IPPROTO_TCP, TCP_HLEN)));
	b->flags = PKB_CSUM_PARTIAL;
	b->csum_start = 0;
	b->csum_offset = 16;
	TCP_STAT(resets_sent);
	xmit_add(x, b, dst, src);
}

void tcp_send_cookie_synack(const struct tcp_hdr *syn, u32 peer_isn, ip4_t src, ip4_t dst,
			    u32 cookie, u16 mss, struct tcp_xmit *x)
{
	struct pkb *b = pkb_alloc();
	if (!b)
		return;
	struct tcp_hdr *r = (struct tcp_hdr *)pkb_push(b, TCP_HLEN + 4);
	memset(r, 0, TCP_HLEN);
	memcpy(r->sport, syn->dport, 2);
	memcpy(r->dport, syn->sport, 2);
	put_be32(r->seq, cookie);
	put_be32(r->ack, peer_isn + 1);
	r->doff = 6 << 4;
	r->flags = TH_SYN | TH_ACK;
	put_be16(r->win, 65535);
	u8 *o = (u8 *)(r + 1);
	o[0] = TCPOPT_MSS;
	o[1] = 4;
	put_be16(o + 2, mss);
	put_be16(r->csum, csum_fold(csum_pseudo(dst, src, IPPROTO_TCP, TCP_HLEN + 4)));
	b->flags = PKB_CSUM_PARTIAL;
	b->csum_start = 0;
	b->csum_offset = 16;
	TCP_STAT(syncookies_sent);
	xmit_add(x, b, dst, src);
}
