/*
 * TCP timers: retransmission (RFC 6298, with exponential backoff and
 * Karn's rule), SYN retries, the persist probe of a zero window (RFC 9293
 * §3.8.6.1), delayed ACKs, keepalive, TIME_WAIT and the FIN_WAIT_2 limit
 * of an orphan. Each connection keeps one deadline per timer ([S]);
 * tcp_tick (every 10 ms from the kernel's TCP timer thread, or a test)
 * visits the connections with a deadline due. (A scan of the table, not
 * yet a timer wheel: fine for thousands of connections, not for millions.)
 */
#include "netstack/tcp_priv.h"

#define KEEPALIVE_INTVL_NS (75ULL * 1000000000ULL)
#define KEEPALIVE_PROBES 9

void tcp_time_wait_end(struct tcb *t);

void tcp_timer_arm(struct tcb *t, enum tcp_timer which, u64 at)
{
	t->timer[which] = at ? at : 1;
}

void tcp_timer_stop(struct tcb *t, enum tcp_timer which) { t->timer[which] = 0; }

void tcp_timers_stop(struct tcb *t)
{
	for (int i = 0; i < TT_COUNT; i++)
		t->timer[i] = 0;
}

void tcp_rearm_rexmit(struct tcb *t)
{
	tcp_timer_arm(t, TT_REXMIT, net_now_ns() + t->rto_ns);
}

/* RFC 6298 §2 */
void tcp_rtt_sample(struct tcb *t, u64 r)
{
	if (r == 0)
		r = 1000; /* below the clock's grain */
	if (!t->srtt_ns) {
		t->srtt_ns = r;
		t->rttvar_ns = r / 2;
	} else {
		u64 d = t->srtt_ns > r ? t->srtt_ns - r : r - t->srtt_ns;
		t->rttvar_ns = (3 * t->rttvar_ns + d) / 4;
		t->srtt_ns = (7 * t->srtt_ns + r) / 8;
	}
	u64 rto = t->srtt_ns + MAX(1000000ULL, 4 * t->rttvar_ns);
	t->rto_ns = MIN(MAX(rto, TCP_RTO_MIN_NS), TCP_RTO_MAX_NS);
}

static void backoff(struct tcb *t)
{
	t->backoff++;
	t->rto_ns = MIN(t->rto_ns * 2, TCP_RTO_MAX_NS);
}

static void give_up(struct tcb *t, struct tcp_xmit *x)
{
	t->soft_error = -ETIMEDOUT;
	if (t->state != TCP_SYN_SENT)
		tcp_send_rst(t, x);
	tcp_done(t);
}

static void rexmit_timeout(struct tcb *t, struct tcp_xmit *x, u64 now)
{
	TCP_STAT(timeouts);
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
		if (t->backoff >= TCP_SYN_RETRIES) {
			give_up(t, x);
			return;
		}
		backoff(t);
		t->snd_nxt = t->iss;
		tcp_send_syn(t, x);
		tcp_timer_arm(t, TT_REXMIT, now + t->rto_ns);
		return;
	}
	if (t->snd_una == t->snd_max) {
		/* nothing in flight: the persist probe of a closed window */
		if (t->snd_wnd == 0 && t->snd_q_bytes) {
			if (++t->probes > TCP_RETRIES) {
				give_up(t, x);
				return;
			}
			tcp_send_probe(t, x);
			backoff(t);
			tcp_timer_arm(t, TT_REXMIT, now + t->rto_ns);
		}
		return;
	}
	if (t->backoff >= TCP_RETRIES) {
		give_up(t, x);
		return;
	}
	tcp_cc_timeout(t);
	t->in_recovery = false;
	/* the receiver may have dropped what it SACKed (RFC 2018 §8): start
	 * the scoreboard afresh */
	tcp_sack_clear(t);
	t->dupacks = 0;
	t->rtt_timing = false;
	backoff(t);
	/* go back: resend from the first unacknowledged byte */
	t->snd_nxt = t->snd_una;
	if (t->snd_wnd == 0) {
		tcp_send_probe(t, x);
	} else {
		tcp_retransmit(t, x, t->snd_una, t->mss);
		u32 off = 0;
		if (x->tail) {
			/* what the retransmission carried */
			off = x->tail->len + ((t->fin_queued && t->snd_una + x->tail->len ==
					       t->snd_una + t->snd_q_bytes) ? 1 : 0);
		}
		t->snd_nxt = t->snd_una + MAX(off, 1u);
		if (seq_gt(t->snd_nxt, t->snd_max))
			t->snd_nxt = t->snd_max;
	}
	tcp_timer_arm(t, TT_REXMIT, now + t->rto_ns);
}

static void keepalive_timeout(struct tcb *t, struct tcp_xmit *x, u64 now)
{
	if (!t->keepalive || t->state != TCP_ESTABLISHED)
		return;
	if (++t->probes > KEEPALIVE_PROBES) {
		give_up(t, x);
		return;
	}
	tcp_send_probe(t, x);
	tcp_timer_arm(t, TT_KEEPALIVE, now + KEEPALIVE_INTVL_NS);
}

static void fire(struct tcb *t, void *arg)
{
	u64 now = *(u64 *)arg;
	struct tcp_xmit x = { 0 };
	spin_lock(&t->sk.lock);
	for (int i = 0; i < TT_COUNT && t->state != TCP_CLOSED; i++) {
		if (!t->timer[i] || t->timer[i] > now)
			continue;
		t->timer[i] = 0;
		switch (i) {
		case TT_REXMIT:
			rexmit_timeout(t, &x, now);
			break;
		case TT_DELACK:
			tcp_send_ack(t, &x);
			break;
		case TT_KEEPALIVE:
			keepalive_timeout(t, &x, now);
			break;
		case TT_2MSL:
			if (t->state == TCP_TIME_WAIT)
				tcp_time_wait_end(t);
			else
				tcp_done(t); /* an orphan in FIN_WAIT_2 */
			break;
		}
	}
	if (t->state != TCP_CLOSED)
		tcp_output(t, &x);
	spin_unlock(&t->sk.lock);
	tcp_xmit_flush(&x);
}

static bool due(struct tcb *t, void *arg)
{
	u64 now = *(u64 *)arg;
	for (int i = 0; i < TT_COUNT; i++) {
		u64 d = READ_ONCE(t->timer[i]);
		if (d && d <= now)
			return true;
	}
	return false;
}

void tcp_for_each(void (*fn)(struct tcb *t, void *arg), void *arg,
		  bool (*want)(struct tcb *t, void *arg));

void tcp_tick(u64 now)
{
	tcp_for_each(fire, &now, due);
}
