/*
 * TCP timers: retransmission (RFC 6298, with exponential backoff and
 * Karn's rule), SYN retries, the persist probe of a zero window (RFC 9293
 * §3.8.6.1), delayed ACKs, keepalive, TIME_WAIT and the FIN_WAIT_2 limit
 * of an orphan.
 *
 * Each connection keeps one deadline per timer ([S]) and is filed once on
 * the timer wheel of the CPU that owns it (t->cpu), under its earliest
 * deadline: 256 slots of 10 ms, a deadline further than a turn away
 * waits in its slot for the turn it is due. Arming an earlier deadline
 * moves the connection; stopping leaves it filed, and the visit finds
 * nothing due and files it again under what is left (if anything). The
 * wheel holds no reference: tcp_destroy takes a connection off it, and
 * the tick takes a reference only if the count is not already zero.
 * tcp_tick_cpu runs every 10 ms in each CPU's TCP timer thread.
 */
#include "netstack/tcp_priv.h"

#define WHEEL_SLOTS 256
#define WHEEL_TICK_NS 10000000ULL

struct wheel {
	spinlock_t lock;                  /* [W] */
	struct list_node slot[WHEEL_SLOTS];
	u64 next_tick;                    /* the first tick not yet visited */
	u32 filed;
	bool ready;
	u64 fired, visits;                /* statistics */
};
static struct wheel wheels[MAX_CPUS];

static struct wheel *wheel_of(struct tcb *t)
{
	struct wheel *w = &wheels[t->cpu < MAX_CPUS ? t->cpu : 0];
	if (!__atomic_load_n(&w->ready, __ATOMIC_ACQUIRE)) {
		spin_lock(&w->lock);
		if (!w->ready) {
			for (int i = 0; i < WHEEL_SLOTS; i++)
				list_init(&w->slot[i]);
			w->next_tick = net_now_ns() / WHEEL_TICK_NS;
			__atomic_store_n(&w->ready, true, __ATOMIC_RELEASE);
		}
		spin_unlock(&w->lock);
	}
	return w;
}

static u64 earliest(const struct tcb *t)
{
	u64 e = 0;
	for (int i = 0; i < TT_COUNT; i++)
		if (t->timer[i] && (!e || t->timer[i] < e))
			e = t->timer[i];
	return e;
}

/* File t under its earliest deadline if that is earlier than where it is
 * filed ([S] held). */
static void wheel_file(struct tcb *t)
{
	u64 at = earliest(t);
	if (!at)
		return;
	/* Filed already at or before this deadline: nothing to do, and no
	 * lock on the path every ACK takes. Reading without [W] is safe: if
	 * the tick is taking t off the wheel meanwhile, its fire() needs [S],
	 * which we hold, and files t again under what is then earliest. */
	if (READ_ONCE(t->on_wheel) && at >= READ_ONCE(t->wheel_at))
		return;
	struct wheel *w = wheel_of(t);
	spin_lock(&w->lock);
	if (!t->on_wheel || at < t->wheel_at) {
		if (t->on_wheel)
			list_remove(&t->wlink);
		else
			w->filed++;
		/* never in a slot the tick has passed */
		u64 tick = MAX(at / WHEEL_TICK_NS, w->next_tick);
		list_push_back(&w->slot[tick % WHEEL_SLOTS], &t->wlink);
		t->wheel_at = at;
		t->on_wheel = true;
	}
	spin_unlock(&w->lock);
}

void tcp_wheel_remove(struct tcb *t)
{
	struct wheel *w = wheel_of(t);
	spin_lock(&w->lock);
	if (t->on_wheel) {
		list_remove(&t->wlink);
		t->on_wheel = false;
		w->filed--;
	}
	spin_unlock(&w->lock);
}

#define KEEPALIVE_INTVL_NS (75ULL * 1000000000ULL)
#define KEEPALIVE_PROBES 9

void tcp_timer_arm(struct tcb *t, enum tcp_timer which, u64 at)
{
	t->timer[which] = at ? at : 1;
	wheel_file(t);
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

static void fire(struct tcb *t, u64 now)
{
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
	if (t->state != TCP_CLOSED) {
		tcp_output(t, &x);
		wheel_file(t); /* under what is left */
	}
	spin_unlock(&t->sk.lock);
	tcp_xmit_flush(&x);
}

/* Visit the slots from the last tick up to now on one CPU's wheel. */
void tcp_tick_cpu(unsigned cpu, u64 now)
{
	enum { BATCH = 64 };
	struct wheel *w = &wheels[cpu];
	if (!__atomic_load_n(&w->ready, __ATOMIC_ACQUIRE))
		return;
	u64 now_tick = now / WHEEL_TICK_NS;
	for (;;) {
		struct tcb *batch[BATCH];
		int n = 0;
		spin_lock(&w->lock);
		/* a late tick visits each slot once, not each missed tick */
		if (now_tick >= w->next_tick + WHEEL_SLOTS)
			w->next_tick = now_tick - WHEEL_SLOTS + 1;
		while (w->next_tick <= now_tick && n < BATCH) {
			struct list_node *head = &w->slot[w->next_tick % WHEEL_SLOTS], *it, *nx;
			for (it = head->next; it != head && n < BATCH; it = nx) {
				nx = it->next;
				struct tcb *t = list_entry(it, struct tcb, wlink);
				w->visits++;
				if (t->wheel_at > now) {
					if (t->wheel_at / WHEEL_TICK_NS > now_tick)
						continue; /* a later turn */
					/* due later in this tick: the next slot */
					list_remove(&t->wlink);
					list_push_back(&w->slot[(now_tick + 1) % WHEEL_SLOTS],
						       &t->wlink);
					continue;
				}
				list_remove(&t->wlink);
				t->on_wheel = false;
				w->filed--;
				if (sock_tryget(&t->sk))
					batch[n++] = t; /* else: being destroyed */
			}
			if (it != head)
				break; /* the batch is full: this slot again */
			w->next_tick++;
		}
		spin_unlock(&w->lock);
		for (int i = 0; i < n; i++) {
			fire(batch[i], now);
			sock_put(&batch[i]->sk);
		}
		w->fired += (u64)n;
		if (n < BATCH)
			break;
	}
}

void tcp_tick(u64 now)
{
	for (unsigned c = 0; c < MAX_CPUS; c++)
		tcp_tick_cpu(c, now);
}

void tcp_wheel_stats(unsigned cpu, u64 *filed, u64 *fired, u64 *visits)
{
	struct wheel *w = &wheels[cpu];
	*filed = w->filed;
	*fired = w->fired;
	*visits = w->visits;
}
