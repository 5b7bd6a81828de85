/*
 * TCP's socket operations (tcp_sock_ops): bind, listen, accept, connect,
 * send, recv, poll, shutdown, close, options; and the acknowledgment
 * watches of the in-kernel services. The table and a connection's life are
 * in tcp.c. Locks: see tcp_priv.h.
 */
#include "netstack/tcp_priv.h"
#include "kernel/lib/string.h"

static int tcp_bind(struct socket *s, const struct sockaddr_in4 *local)
{
	struct tcb *t = sk_tcb(s);
	if (local->addr && !net_is_local(local->addr))
		return -EADDRNOTAVAIL;
	spin_lock(&s->lock);
	int err = 0;
	if (s->bound || t->state != TCP_CLOSED)
		err = -EINVAL;
	spin_unlock(&s->lock);
	if (err)
		return err;
	u16 port = local->port;
	err = tcp_port_pick(t, local->addr, &port);
	if (err)
		return err;
	spin_lock(&s->lock);
	s->local = (struct sockaddr_in4){ local->addr, port };
	s->bound = true;
	spin_unlock(&s->lock);
	return 0;
}

static int tcp_listen(struct socket *s, int backlog)
{
	struct tcb *t = sk_tcb(s);
	if (!s->bound) {
		struct sockaddr_in4 any = { 0, 0 };
		int err = tcp_bind(s, &any);
		if (err)
			return err;
	}
	spin_lock(&s->lock);
	int err = 0;
	if (t->state == TCP_LISTEN) {
		t->backlog = (u32)MAX(1, MIN(backlog, 4096));
	} else if (t->state != TCP_CLOSED) {
		err = -EINVAL;
	} else {
		t->backlog = (u32)MAX(1, MIN(backlog, 4096));
		tcp_set_state(t, TCP_LISTEN);
	}
	WRITE_ONCE(t->accept_cpu, (u16)this_cpu()->id);
	spin_unlock(&s->lock);
	if (!err && !t->hashed) {
		err = tcp_hash(t);   /* the port rules again, as a listener */
		if (err) {
			spin_lock(&s->lock);
			tcp_set_state(t, TCP_CLOSED);   /* as before: bound, not listening */
			spin_unlock(&s->lock);
		}
	}
	return err;
}

static int tcp_accept(struct socket *s, struct socket **out, int flags)
{
	struct tcb *t = sk_tcb(s);
	WRITE_ONCE(t->accept_cpu, (u16)this_cpu()->id);   /* its queue's CPU: reuseport_pick */
	for (;;) {
		struct tcb *c = NULL;
		spin_lock(&tcp_accept_lock);
		if (!list_empty(&t->accept_q)) {
			c = list_entry(t->accept_q.next, struct tcb, child_link);
			list_remove(&c->child_link);
			c->in_accept_q = false;
			c->parent = NULL;
			t->n_accept--;
		}
		spin_unlock(&tcp_accept_lock);
		if (c) {
			sock_put(&t->sk); /* the child's reference on the listener */
			*out = &c->sk;    /* the listener's reference goes to the caller */
			return 0;
		}
		if (t->state != TCP_LISTEN)
			return -EINVAL;
		if (flags & MSG_DONTWAIT)
			return -EAGAIN;
		wait_event(&s->wq, !list_empty(&t->accept_q) || READ_ONCE(t->state) != TCP_LISTEN);
	}
}

static int tcp_connect(struct socket *s, const struct sockaddr_in4 *peer)
{
	struct tcb *t = sk_tcb(s);
	if (!peer->addr || !peer->port || peer->addr == IP4_BROADCAST)
		return -EINVAL;
	ip4_t src = t->laddr;
	if (!src) {
		struct netif *ifp;
		ip4_t nh;
		if (net_is_local(peer->addr))
			src = peer->addr;
		else if (route_lookup(peer->addr, &ifp, &nh, &src) != 0 || !src)
			return -ENETUNREACH;
	}
	if (!s->bound) {
		struct sockaddr_in4 l = { 0, 0 };
		int err = tcp_bind(s, &l);
		if (err)
			return err;
	}
	struct tcp_xmit x = { 0 };
	spin_lock(&s->lock);
	if (t->state != TCP_CLOSED) {
		int st = t->state;
		spin_unlock(&s->lock);
		return st == TCP_SYN_SENT ? -EALREADY : -EISCONN;
	}
	t->laddr = src;
	t->raddr = peer->addr;
	t->rport = peer->port;
	s->local.addr = src;
	s->peer = *peer;
	s->connected = true;
	t->iss = tcp_isn(t->laddr, t->lport, t->raddr, t->rport);
	t->snd_una = t->snd_nxt = t->snd_max = t->iss;
	tcp_set_state(t, TCP_SYN_SENT);
	int err = tcp_hash(t);
	if (err) {
		tcp_set_state(t, TCP_CLOSED);
		spin_unlock(&s->lock);
		return err;
	}
	TCP_STAT(active_opens);
	tcp_send_syn(t, &x);
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	if (s->nonblock && READ_ONCE(t->state) == TCP_SYN_SENT)
		return -EINPROGRESS;
	wait_event(&s->wq, READ_ONCE(t->state) != TCP_SYN_SENT);
	spin_lock(&s->lock);
	err = t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT ? 0
	      : t->soft_error ? t->soft_error : -ECONNREFUSED;
	spin_unlock(&s->lock);
	return err;
}

/* Append b's payload to the send queue (b is consumed). */
static void snd_q_append(struct tcb *t, struct pkb *b)
{
	pkb_hdr_reset(b);
	b->flags = 0;
	b->gso_size = b->gso_type = 0;
	b->next = NULL;
	t->snd_q_bytes += b->len;
	if (t->snd_q_tail)
		t->snd_q_tail->next = b;
	else
		t->snd_q_head = b;
	t->snd_q_tail = b;
}

static bool can_send(const struct tcb *t)
{
	return t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT;
}

static long tcp_send_pkb(struct socket *s, struct pkb *b, int flags, const struct sockaddr_in4 *to)
{
	(void)to;
	struct tcb *t = sk_tcb(s);
	u32 len = b->len;
	bool nb = (flags & MSG_DONTWAIT) || s->nonblock;
	for (;;) {
		spin_lock(&s->lock);
		int err = 0;
		if (t->soft_error)
			err = t->soft_error;
		else if (t->wr_shut || (!can_send(t) && t->state != TCP_SYN_SENT &&
					t->state != TCP_SYN_RECEIVED))
			err = t->state == TCP_CLOSED && !s->connected ? -ENOTCONN : -EPIPE;
		if (err) {
			spin_unlock(&s->lock);
			pkb_free(b);
			return err;
		}
		if (can_send(t) && t->snd_q_bytes < s->sndbuf) {
			struct tcp_xmit x = { 0 };
			snd_q_append(t, b);
			s->st.tx_packets++;
			s->st.tx_bytes += len;
			tcp_output(t, &x);
			spin_unlock(&s->lock);
			tcp_xmit_flush(&x);
			return len;
		}
		spin_unlock(&s->lock);
		if (nb) {
			pkb_free(b);
			return -EAGAIN;
		}
#define SEND_READY ((can_send(t) && READ_ONCE(t->snd_q_bytes) < s->sndbuf) ||                \
		    READ_ONCE(t->soft_error) || READ_ONCE(t->wr_shut) ||                        \
		    (!can_send(t) && READ_ONCE(t->state) != TCP_SYN_SENT &&                     \
		     READ_ONCE(t->state) != TCP_SYN_RECEIVED))
		if (s->sndtimeo_ms) {
			if (!wait_event_timeout(&s->wq, SEND_READY, s->sndtimeo_ms * 1000000ULL)) {
				pkb_free(b);
				return -EAGAIN; /* the peer took nothing for that long */
			}
			continue;
		}
		wait_event(&s->wq, SEND_READY);
#undef SEND_READY
	}
}

/* After the reader took bytes: announce the window if it opened enough
 * (RFC 9293 §3.8.6.2.2: by an MSS or half the buffer). [S] held. */
static void window_update(struct tcb *t, struct tcp_xmit *x)
{
	if (t->state < TCP_ESTABLISHED || t->state == TCP_TIME_WAIT)
		return;
	u32 wnd = tcp_rcv_window(t), announced = t->rcv_adv - t->rcv_nxt;
	if (wnd > announced && wnd - announced >= MIN((u32)t->mss * 2, t->sk.rcvbuf / 2))
		tcp_send_ack(t, x);
}

/* Receive-buffer auto-tuning (the idea of Dynamic Right-Sizing): once an
 * RTT, compare what the reader took in that RTT with the buffer; a sender
 * limited by our window can double its rate each RTT in slow start, so
 * the buffer grows to four times the reader's take, up to
 * TCP_RCVBUF_MAX. A buffer set with SO_RCVBUF stays as set; without an RTT
 * estimate (no timestamps, nothing sent) nothing changes. [S] held. */
static void rcv_autotune(struct tcb *t, u32 took)
{
	if (t->sk.rcvbuf_set || t->sk.rcvbuf >= TCP_RCVBUF_MAX)
		return;
	u64 rtt = t->rcv_rtt_ns ? t->rcv_rtt_ns : t->srtt_ns;
	u64 now = net_now_ns();
	if (!t->rcv_space_ns || !rtt) {
		t->rcv_space_ns = now;
		t->rcv_space_bytes = 0;
		return;
	}
	t->rcv_space_bytes += took;
	u64 elapsed = now - t->rcv_space_ns;
	if (elapsed < rtt)
		return;
	u64 per_rtt = (u64)t->rcv_space_bytes * rtt / elapsed;
	u64 want = MIN(4 * per_rtt, (u64)TCP_RCVBUF_MAX);
	if (want > t->sk.rcvbuf) {
		t->sk.rcvbuf = (u32)want;
		t->rcvbuf_grown++;
	}
	t->rcv_space_ns = now;
	t->rcv_space_bytes = 0;
}

u8 tcp_rcv_wscale(const struct tcb *t)
{
	u32 most = t->sk.rcvbuf_set ? t->sk.rcvbuf : MAX(t->sk.rcvbuf, TCP_RCVBUF_MAX);
	u8 ws = 0;
	while (ws < TCP_MAX_WSCALE && (most >> ws) > 0xffff)
		ws++;
	return ws;
}

static long tcp_recv(struct socket *s, void *buf, u32 len, int flags)
{
	struct tcb *t = sk_tcb(s);
	bool nb = (flags & MSG_DONTWAIT) || s->nonblock;
	for (;;) {
		spin_lock(&s->lock);
		if (t->rcv_q_head && (flags & MSG_PEEK)) {
			u32 done = 0;
			for (struct pkb *b = t->rcv_q_head; b && done < len; b = b->next)
				done += pkb_copy_out(b, 0, (u8 *)buf + done, len - done);
			spin_unlock(&s->lock);
			return done;
		}
		if (t->rcv_q_head) {
			u32 done = 0;
			/* (bytes left unread keep the older stamp: an early one) */
			t->read_stamp_ns = t->rcv_stamp_ns;
			while (done < len && t->rcv_q_head) {
				struct pkb *b = t->rcv_q_head;
				u32 n = pkb_copy_out(b, 0, (u8 *)buf + done, len - done);
				done += n;
				if (n == b->len) {
					t->rcv_q_head = b->next;
					if (!t->rcv_q_head)
						t->rcv_q_tail = NULL;
					pkb_free(b);
				} else {
					pkb_advance(b, n);
				}
				t->rcv_q_bytes -= n;
			}
			s->st.rx_bytes += done;
			struct tcp_xmit x = { 0 };
			rcv_autotune(t, done);
			window_update(t, &x);
			spin_unlock(&s->lock);
			tcp_xmit_flush(&x);
			return done;
		}
		int err = t->soft_error;
		bool eof = t->fin_received || t->rd_shut || t->state == TCP_CLOSED;
		spin_unlock(&s->lock);
		if (err)
			return err;
		if (eof)   /* a shut receive side reads 0 before "not connected" (as Linux) */
			return t->state == TCP_CLOSED && !s->connected && !t->rd_shut ? -ENOTCONN : 0;
		if (len == 0)
			return 0;
		if (nb)
			return -EAGAIN;
		if (s->rcvtimeo_ms) {
			if (!wait_event_timeout(&s->wq, READ_ONCE(t->rcv_q_head) ||
						READ_ONCE(t->fin_received) || READ_ONCE(t->soft_error) ||
						READ_ONCE(t->state) == TCP_CLOSED,
						s->rcvtimeo_ms * 1000000ULL))
				return -EAGAIN;
			continue;
		}
		wait_event(&s->wq, READ_ONCE(t->rcv_q_head) || READ_ONCE(t->fin_received) ||
					   READ_ONCE(t->soft_error) || READ_ONCE(t->state) == TCP_CLOSED);
	}
}

/* As Linux's SIOCINQ: in-order bytes not yet read (-EINVAL listening) */
static long tcp_inq(struct socket *s)
{
	struct tcb *t = sk_tcb(s);
	spin_lock(&s->lock);
	long n = t->state == TCP_LISTEN ? -EINVAL : (long)t->rcv_q_bytes;
	spin_unlock(&s->lock);
	return n;
}

static unsigned tcp_poll(struct socket *s)
{
	struct tcb *t = sk_tcb(s);
	unsigned m = 0;
	spin_lock(&s->lock);
	if (t->state == TCP_LISTEN) {
		if (!list_empty(&t->accept_q))
			m |= POLLIN;
	} else {
		if (t->rcv_q_head || t->fin_received || t->rd_shut)
			m |= POLLIN;
		if (t->fin_received || t->rd_shut)
			m |= POLLRDHUP;
		/* as Linux's tcp_poll: past the handshake a socket is
		 * writable with room, or once shut for sending (a write then
		 * fails at once); closed or shut both ways is a hang-up */
		if (t->state != TCP_SYN_SENT && t->state != TCP_SYN_RECEIVED &&
		    (t->wr_shut || t->state == TCP_CLOSED || t->snd_q_bytes < s->sndbuf))
			m |= POLLOUT;
		if (t->soft_error)
			m |= POLLERR;
		if (t->state == TCP_CLOSED)
			m |= POLLHUP;
		if ((t->fin_received || t->rd_shut) && t->wr_shut)
			m |= POLLHUP;
	}
	spin_unlock(&s->lock);
	return m;
}

/* Queue our FIN (RFC 9293 §3.10.4). [S] held. */
static void send_fin(struct tcb *t, struct tcp_xmit *x)
{
	if (t->fin_queued)
		return;
	switch (t->state) {
	case TCP_ESTABLISHED:
		tcp_set_state(t, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		tcp_set_state(t, TCP_LAST_ACK);
		break;
	default:
		return;
	}
	t->fin_queued = true;
	tcp_output(t, x);
}

static int tcp_shutdown(struct socket *s, int how)
{
	struct tcb *t = sk_tcb(s);
	struct tcp_xmit x = { 0 };
	spin_lock(&s->lock);
	int err = t->state == TCP_CLOSED || t->state == TCP_LISTEN ? -ENOTCONN : 0;
	/* Linux marks an unconnected socket shut too (a read then gives 0,
	 * a write -EPIPE) and still answers -ENOTCONN */
	if (t->state == TCP_CLOSED) {
		t->rd_shut |= how == SHUT_RD || how == SHUT_RDWR;
		t->wr_shut |= how == SHUT_WR || how == SHUT_RDWR;
	}
	if (!err && (how == SHUT_RD || how == SHUT_RDWR))
		t->rd_shut = true;
	if (!err && (how == SHUT_WR || how == SHUT_RDWR)) {
		t->wr_shut = true;
		send_fin(t, &x);
	}
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	tcp_wake(t);
	return err;
}

static void tcp_close(struct socket *s)
{
	struct tcb *t = sk_tcb(s);
	struct tcp_xmit x = { 0 };
	if (t->state == TCP_LISTEN) {
		spin_lock(&s->lock);
		tcp_set_state(t, TCP_CLOSED);
		spin_unlock(&s->lock);
		tcp_unhash(t);
		/* children waiting to be accepted are reset */
		for (;;) {
			struct tcb *c = NULL;
			spin_lock(&tcp_accept_lock);
			if (!list_empty(&t->accept_q)) {
				c = list_entry(t->accept_q.next, struct tcb, child_link);
				sock_get(&c->sk);
			}
			spin_unlock(&tcp_accept_lock);
			if (!c)
				break;
			tcp_abort_child(c);
			sock_put(&c->sk);
		}
		tcp_wake(t);
		return;
	}
	spin_lock(&s->lock);
	t->user_closed = true;
	t->rd_shut = t->wr_shut = true;
	switch (t->state) {
	case TCP_CLOSED:
		tcp_unbind(t);   /* a port bound, never used, is free at once */
		break;
	case TCP_SYN_SENT:
		tcp_done(t);
		break;
	default:
		if (t->rcv_q_bytes || t->linger0) {
			/* unread data: abort (RFC 2525 §2.17); or asked to */
			tcp_send_rst(t, &x);
			tcp_done(t);
			break;
		}
		send_fin(t, &x);
		if (t->state == TCP_FIN_WAIT_2)
			tcp_timer_arm(t, TT_2MSL, net_now_ns() + 2 * TCP_MSL_NS);
	}
	tcp_free_list(t->rcv_q_head);
	t->rcv_q_head = t->rcv_q_tail = NULL;
	t->rcv_q_bytes = 0;
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	tcp_wake(t);
}

static int tcp_setopt(struct socket *s, int opt, u32 v)
{
	struct tcb *t = sk_tcb(s);
	int err = 0;
	struct tcp_xmit x = { 0 };
	spin_lock(&s->lock);
	switch (opt) {
	case TCP_NODELAY:
		t->nodelay = v != 0;
		if (t->nodelay)
			tcp_output(t, &x);
		break;
	case SO_KEEPALIVE:
		t->keepalive = v != 0;
		break;
	case SO_LINGER:
		if (v != 0)
			err = -EINVAL; /* a close that waits is not offered */
		else
			t->linger0 = true;
		break;
	case TCP_CONGESTION:
		if (v != TCP_CC_NEWRENO && v != TCP_CC_CUBIC)
			err = -EINVAL;
		else
			t->cc = (u8)v;
		break;
	default:
		err = -ENOPROTOOPT;
	}
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	return err;
}

static int tcp_getopt(struct socket *s, int opt, u32 *v)
{
	struct tcb *t = sk_tcb(s);
	int err = 0;
	spin_lock(&s->lock);
	switch (opt) {
	case SO_ERROR:   /* read once, as Linux clears sk_err */
		*v = (u32)-t->soft_error;
		t->soft_error = 0;
		break;
	case TCP_NODELAY:
		*v = t->nodelay;
		break;
	case SO_KEEPALIVE:
		*v = t->keepalive;
		break;
	case TCP_CONGESTION:
		*v = t->cc;
		break;
	default:
		err = -ENOPROTOOPT;
	}
	spin_unlock(&s->lock);
	return err;
}

/* Linux's TCP state numbers (include/net/tcp_states.h), by ours */
static const u8 linux_state[] = {
	[TCP_CLOSED] = 7, [TCP_LISTEN] = 10, [TCP_SYN_SENT] = 2, [TCP_SYN_RECEIVED] = 3,
	[TCP_ESTABLISHED] = 1, [TCP_FIN_WAIT_1] = 4, [TCP_FIN_WAIT_2] = 5,
	[TCP_CLOSE_WAIT] = 8, [TCP_CLOSING] = 11, [TCP_LAST_ACK] = 9, [TCP_TIME_WAIT] = 6,
};

static u32 segs(u32 bytes, u32 mss) { return mss ? (bytes + mss - 1) / mss : 0; }

static int tcp_info(struct socket *s, struct sock_tcp_info *o)
{
	struct tcb *t = sk_tcb(s);
	spin_lock(&s->lock);
	o->state = linux_state[t->state];
	o->backoff = (u8)MIN(t->backoff, 255u);
	o->ts = t->ts_ok;
	o->sack = t->sack_ok;
	o->wscale = t->ws_ok;
	o->in_recovery = t->in_recovery;
	o->snd_wscale = t->ws_ok ? t->snd_wscale : 0;
	o->rcv_wscale = t->ws_ok ? t->rcv_wscale : 0;
	o->rto_us = (u32)(t->rto_ns / 1000);
	o->rtt_us = (u32)(t->srtt_ns / 1000);
	o->rttvar_us = (u32)(t->rttvar_ns / 1000);
	o->rcv_rtt_us = (u32)(t->rcv_rtt_ns / 1000);
	o->snd_mss = t->mss;
	o->adv_mss = t->adv_mss;
	o->cwnd_segs = segs(t->cwnd, t->mss);
	o->ssthresh_segs = t->ssthresh >= 0x7fffffffu / 2 ? 0x7fffffffu : segs(t->ssthresh, t->mss);
	bool synced = t->state != TCP_CLOSED && t->state != TCP_LISTEN;
	o->unacked_segs = synced ? segs(t->snd_max - t->snd_una, t->mss) : 0;
	o->sacked_segs = segs(t->sacked_bytes, t->mss);
	o->snd_wnd = t->snd_wnd;
	o->rcv_wnd = synced ? tcp_rcv_window(t) : 0;
	u32 sent = synced ? t->snd_max - t->snd_una : 0;
	o->notsent_bytes = t->snd_q_bytes > sent ? t->snd_q_bytes - sent : 0;
	o->total_retrans = t->retransmits;
	o->segs_out = t->segs_out;
	o->segs_in = t->segs_in;
	o->bytes_acked = t->bytes_acked;
	o->bytes_received = t->bytes_received;
	spin_unlock(&s->lock);
	return 0;
}

static int tcp_owner_cpu(struct socket *s) { return sk_tcb(s)->cpu; }
static u64 tcp_read_stamp(struct socket *s) { return READ_ONCE(sk_tcb(s)->read_stamp_ns); }

const struct sock_ops tcp_sock_ops = {
	.owner_cpu = tcp_owner_cpu,
	.read_stamp = tcp_read_stamp,
	.bind = tcp_bind,
	.connect = tcp_connect,
	.send_pkb = tcp_send_pkb,
	.close = tcp_close,
	.listen = tcp_listen,
	.accept = tcp_accept,
	.recv = tcp_recv,
	.poll = tcp_poll,
	.inq = tcp_inq,
	.shutdown = tcp_shutdown,
	.destroy = tcp_destroy,
	.setopt = tcp_setopt,
	.getopt = tcp_getopt,
	.tcp_info = tcp_info,
	.name = "tcp",
};

/* ---- acknowledgment watches (tcp_ack_watch in net.h): how the in-kernel
 * services learn when the last byte of a response was acknowledged. A
 * watch's sequence number is the end of the data queued when it was set;
 * new_ack (tcp_input.c) fires the watches snd_una has reached. ---- */

int tcp_ack_watch(struct socket *s, void (*fn)(void *arg, u64 now_ns, u32 rexmits), void *arg)
{
	if (!s || !fn)
		return -EINVAL;
	if (s->ops != &tcp_sock_ops)
		return -EOPNOTSUPP;
	struct tcb *t = sk_tcb(s);
	int err = 0;
	bool now = false;
	spin_lock(&s->lock);
	if (t->state < TCP_ESTABLISHED) {
		err = -ENOTCONN;
	} else if (t->snd_q_bytes == 0) {
		now = true;               /* everything queued is acknowledged */
	} else if (t->n_watch == TCP_ACK_WATCH_MAX) {
		err = -EBUSY;
	} else {
		u32 data_start = t->snd_una + (t->snd_una == t->iss ? 1 : 0);  /* past our SYN */
		struct tcp_ack_watch *w = &t->watch[(t->watch_head + t->n_watch) % TCP_ACK_WATCH_MAX];
		*w = (struct tcp_ack_watch){ data_start + t->snd_q_bytes, fn, arg, t->retransmits };
		t->n_watch++;
	}
	spin_unlock(&s->lock);
	if (now) {
		u64 ns = net_now_ns();
		fn(arg, ns ? ns : 1, 0);
	}
	return err;
}

void tcp_ack_watch_fire(struct tcb *t, u64 now)
{
	while (t->n_watch && seq_ge(t->snd_una, t->watch[t->watch_head].seq)) {
		struct tcp_ack_watch w = t->watch[t->watch_head];
		t->watch_head = (u8)((t->watch_head + 1) % TCP_ACK_WATCH_MAX);
		t->n_watch--;
		w.fn(w.arg, now ? now : 1, (u32)(t->retransmits - w.rexmit0));
	}
}

/* The connection is over: every watch left fires with 0. [S] held (or the
 * last reference). */
void tcp_ack_watch_cancel(struct tcb *t)
{
	while (t->n_watch) {
		struct tcp_ack_watch w = t->watch[t->watch_head];
		t->watch_head = (u8)((t->watch_head + 1) % TCP_ACK_WATCH_MAX);
		t->n_watch--;
		w.fn(w.arg, 0, (u32)(t->retransmits - w.rexmit0));
	}
}
