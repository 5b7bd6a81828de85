/*
 * Congestion control, per connection: NewReno (RFC 5681, RFC 6582) or
 * CUBIC (RFC 9438, the default), chosen with TCP_CONGESTION. Windows are in
 * bytes; slow start counts bytes acked (RFC 3465, L = 2 SMSS). CUBIC works
 * in integers: time in ms, C = 0.4, beta = 0.7.
 */
#include "netstack/tcp_priv.h"

void tcp_cc_init(struct tcb *t)
{
	/* RFC 6928: min(10 MSS, max(2 MSS, 14600)) */
	u32 iw = MIN((u32)TCP_INIT_CWND * t->mss, MAX(2u * t->mss, 14600u));
	t->cwnd = iw;
	t->ssthresh = 0xffffffffu;
	t->cubic_wmax = 0;
	t->cubic_epoch_ns = 0;
}

/* Integer cube root. */
static u64 icbrt(u64 v)
{
	u64 r = 0;
	for (int s = 63; s >= 0; s -= 3) {
		r <<= 1;
		u64 b = 3 * r * (r + 1) + 1;
		if ((v >> s) >= b) {
			v -= b << s;
			r++;
		}
	}
	return r;
}

static void cubic_ack(struct tcb *t, u32 acked)
{
	u64 now = net_now_ns();
	u32 mss = t->mss;
	if (!t->cubic_epoch_ns) {
		t->cubic_epoch_ns = now;
		if (t->cwnd < t->cubic_wmax) {
			/* K = cbrt(Wmax (1 - beta) / C) s, Wmax in segments */
			u64 w = (t->cubic_wmax - t->cwnd) / mss;
			t->cubic_k_ms = (u32)icbrt(w * 1000000000ULL * 10 / 4);
		} else {
			t->cubic_k_ms = 0;
			t->cubic_wmax = t->cwnd;
		}
		t->cubic_west = t->cwnd;
	}
	int64_t d = (int64_t)((now - t->cubic_epoch_ns) / 1000000) + (int64_t)(t->srtt_ns / 1000000) -
		    (int64_t)t->cubic_k_ms;
	/* W(t) = C (t - K)^3 + Wmax, in bytes: 0.4 d^3 / 1e9 segments */
	int64_t seg = d * d / 1000 * d / 1000000 * 4 / 10;
	int64_t target = (int64_t)t->cubic_wmax + seg * (int64_t)mss;
	if (target < (int64_t)t->cwnd)
		target = t->cwnd;
	if (target > (int64_t)t->cwnd * 3 / 2)
		target = (int64_t)t->cwnd * 3 / 2;
	u64 inc = (u64)(target - (int64_t)t->cwnd) * acked / t->cwnd;
	/* the Reno-friendly window grows 3 (1 - beta) / (1 + beta) ~ 0.53 MSS an RTT */
	t->cubic_west += (u32)((u64)acked * mss * 53 / 100 / t->cwnd);
	t->cwnd += (u32)MAX(inc, (u64)((u64)acked * mss / 100 / t->cwnd));
	if (t->cubic_west > t->cwnd)
		t->cwnd = t->cubic_west;
}

void tcp_cc_ack(struct tcb *t, u32 acked)
{
	if (t->cwnd < t->mss)
		t->cwnd = t->mss; /* never below one segment (and never 0: it divides) */
	if (t->cwnd < t->ssthresh) {
		t->cwnd += MIN(acked, 2u * t->mss);
		return;
	}
	if (t->cc == TCP_CC_CUBIC) {
		cubic_ack(t, acked);
		return;
	}
	/* NewReno congestion avoidance: about one MSS an RTT */
	t->cwnd += MAX(1u, (u32)((u64)t->mss * MIN(acked, (u32)t->mss) / t->cwnd));
}

static u32 reduced(struct tcb *t)
{
	if (t->cc == TCP_CC_CUBIC) {
		/* fast convergence (RFC 9438 §4.7) */
		t->cubic_wmax = t->cwnd < t->cubic_wmax ? (u32)((u64)t->cwnd * 17 / 20) : t->cwnd;
		t->cubic_epoch_ns = 0;
		return MAX((u32)((u64)t->cwnd * 7 / 10), 2u * t->mss);
	}
	return MAX(tcp_flight(t) / 2, 2u * t->mss);
}

void tcp_cc_loss(struct tcb *t)
{
	t->ssthresh = reduced(t);
}

void tcp_cc_timeout(struct tcb *t)
{
	t->ssthresh = reduced(t);
	t->cwnd = t->mss; /* the loss window (RFC 5681 §3.1) */
}
