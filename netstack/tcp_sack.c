/*
 * Selective acknowledgment: the blocks a receiver reports (RFC 2018) and
 * the sender's scoreboard with conservative loss recovery (RFC 6675).
 *
 * Receiver: the out-of-order queue is the truth; an ACK reports its runs,
 * the run holding the most recent arrival first, then the runs reported
 * lately (t->sack_recent), then the rest in order.
 *
 * Sender: t->sacked holds the SACKed ranges above snd_una, sorted and
 * disjoint. A hole (bytes between snd_una and the highest SACKed byte not
 * SACKed) is lost when more than DupThresh - 1 segments' worth of bytes, or
 * DupThresh separate ranges, were SACKed above it (IsLost). In recovery the
 * sender keeps `pipe` (bytes it believes in the network: not SACKed and not
 * lost, plus everything retransmitted) under cwnd, and picks what to send
 * by NextSeg: a lost hole above HighRxt, else new data, else any hole
 * below the highest SACKed byte. Everything here runs with [S] held.
 */
#include "netstack/tcp_priv.h"
#include "kernel/lib/string.h"

#define DUPTHRESH 3

static bool sack_on = true;     /* tcp.sack= on the command line (net_init.c) */
bool tcp_sack_enabled(void) { return sack_on; }
void tcp_sack_set_enabled(bool on) { sack_on = on; }

/* ---- receiver ---- */

void tcp_sack_note_ooo(struct tcb *t, u32 seq)
{
	/* most recent first; a repeat moves to the front */
	unsigned n = t->n_sack_recent, i;
	for (i = 0; i < n && t->sack_recent[i] != seq; i++)
		;
	if (i == n && n < TCP_SACK_RECENT)
		t->n_sack_recent = (u8)++n;
	if (i == n)
		i = n - 1;
	for (; i > 0; i--)
		t->sack_recent[i] = t->sack_recent[i - 1];
	t->sack_recent[0] = seq;
}

/* The run of the out-of-order queue holding seq: [*s, *e). */
static bool ooo_run(const struct tcb *t, u32 seq, u32 *s, u32 *e)
{
	const struct pkb *b = t->ooo_q;
	while (b) {
		u32 rs = b->hash, re = b->hash + b->len;
		while (b->next && b->next->hash == re) {
			b = b->next;
			re += b->len;
		}
		if (seq_le(rs, seq) && seq_lt(seq, re)) {
			*s = rs;
			*e = re;
			return true;
		}
		b = b->next;
	}
	return false;
}

static bool have_block(const struct sack_range *r, unsigned n, u32 s)
{
	for (unsigned i = 0; i < n; i++)
		if (r[i].start == s)
			return true;
	return false;
}

unsigned tcp_sack_blocks(const struct tcb *t, struct sack_range *out, unsigned max)
{
	unsigned n = 0;
	if (!t->sack_ok || !t->ooo_q)
		return 0;
	for (unsigned i = 0; i < t->n_sack_recent && n < max; i++) {
		u32 s, e;
		if (ooo_run(t, t->sack_recent[i], &s, &e) && !have_block(out, n, s))
			out[n++] = (struct sack_range){ s, e };
	}
	for (const struct pkb *b = t->ooo_q; b && n < max;) {
		u32 s = b->hash, e = b->hash + b->len;
		while (b->next && b->next->hash == e) {
			b = b->next;
			e += b->len;
		}
		if (!have_block(out, n, s))
			out[n++] = (struct sack_range){ s, e };
		b = b->next;
	}
	return n;
}

/* ---- sender: the scoreboard ---- */

static void recount(struct tcb *t)
{
	u32 bytes = 0;
	for (unsigned i = 0; i < t->n_sacked; i++)
		bytes += t->sacked[i].end - t->sacked[i].start;
	t->sacked_bytes = bytes;
}

/* Add [s, e) to the scoreboard, merging. Past the table's size the highest
 * range is forgotten (losing SACK information only costs retransmissions). */
static void add_range(struct tcb *t, u32 s, u32 e)
{
	struct sack_range *r = t->sacked;
	unsigned n = t->n_sacked, i = 0;
	while (i < n && seq_lt(r[i].end, s))
		i++;
	/* r[i] is the first range that ends at or after s: merge what overlaps */
	unsigned j = i;
	while (j < n && seq_le(r[j].start, e)) {
		if (seq_lt(r[j].start, s))
			s = r[j].start;
		if (seq_gt(r[j].end, e))
			e = r[j].end;
		j++;
	}
	/* ranges i..j-1 become one */
	if (j > i) {
		r[i] = (struct sack_range){ s, e };
		memmove(&r[i + 1], &r[j], (n - j) * sizeof(*r));
		t->n_sacked = (u8)(n - (j - i - 1));
		return;
	}
	if (n == TCP_SACK_RANGES) {
		if (i == n)
			return; /* above everything we keep */
		n--;    /* forget the highest */
	}
	memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
	r[i] = (struct sack_range){ s, e };
	t->n_sacked = (u8)(n + 1);
}

u32 tcp_sack_update(struct tcb *t, const struct sack_range *blk, unsigned n)
{
	u32 before = t->sacked_bytes;
	for (unsigned i = 0; i < n; i++) {
		u32 s = blk[i].start, e = blk[i].end;
		/* a block must lie within what we sent and is not yet acked; a
		 * D-SACK (RFC 2883: below the cumulative ACK) carries no news for
		 * the scoreboard */
		if (!seq_lt(s, e) || seq_gt(e, t->snd_max) || seq_lt(s, t->snd_una)) {
			if (!seq_le(e, t->snd_una))
				TCP_STAT(sack_blocks_bad);
			continue;
		}
		add_range(t, s, e);
	}
	recount(t);
	return t->sacked_bytes > before ? t->sacked_bytes - before : 0;
}

void tcp_sack_cumack(struct tcb *t)
{
	unsigned k = 0;
	for (unsigned i = 0; i < t->n_sacked; i++) {
		struct sack_range r = t->sacked[i];
		if (seq_le(r.end, t->snd_una))
			continue;
		if (seq_lt(r.start, t->snd_una))
			r.start = t->snd_una;
		t->sacked[k++] = r;
	}
	t->n_sacked = (u8)k;
	recount(t);
	if (seq_lt(t->high_rxt, t->snd_una))
		t->high_rxt = t->snd_una;
}

void tcp_sack_clear(struct tcb *t)
{
	t->n_sacked = 0;
	t->sacked_bytes = 0;
	t->high_rxt = t->snd_una;
}

u32 tcp_sack_high(const struct tcb *t)
{
	return t->n_sacked ? t->sacked[t->n_sacked - 1].end : t->snd_una;
}

/* IsLost for every byte of the hole that ends at range i's start: what was
 * SACKed from range i on. */
static bool lost_below(const struct tcb *t, unsigned i, u32 above_bytes)
{
	return t->n_sacked - i >= DUPTHRESH || above_bytes > (DUPTHRESH - 1) * (u32)t->mss;
}

bool tcp_sack_is_lost(const struct tcb *t, u32 seq)
{
	u32 above = 0;
	unsigned ranges = 0;
	for (unsigned i = t->n_sacked; i-- > 0;) {
		if (seq_le(t->sacked[i].end, seq))
			break;
		if (seq_le(t->sacked[i].start, seq))
			return false; /* SACKed itself */
		above += t->sacked[i].end - t->sacked[i].start;
		ranges++;
	}
	return ranges >= DUPTHRESH || above > (DUPTHRESH - 1) * (u32)t->mss;
}

/* Walk the holes from snd_una up, highest range last: fn(start, end, lost). */
struct hole { u32 start, end; bool lost; };
static unsigned holes(const struct tcb *t, struct hole *h, unsigned max)
{
	u32 above = t->sacked_bytes, at = t->snd_una;
	unsigned n = 0;
	for (unsigned i = 0; i < t->n_sacked && n < max; i++) {
		const struct sack_range *r = &t->sacked[i];
		if (seq_lt(at, r->start))
			h[n++] = (struct hole){ at, r->start, lost_below(t, i, above) };
		above -= r->end - r->start;
		at = seq_max(at, r->end);
	}
	return n;
}

u32 tcp_sack_pipe(const struct tcb *t)
{
	struct hole h[TCP_SACK_RANGES];
	unsigned n = holes(t, h, TCP_SACK_RANGES);
	u32 pipe = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!h[i].lost)
			pipe += h[i].end - h[i].start;
		/* retransmitted bytes are in the network (again) */
		if (seq_gt(t->high_rxt, h[i].start))
			pipe += (seq_lt(t->high_rxt, h[i].end) ? t->high_rxt : h[i].end) - h[i].start;
	}
	/* above the highest SACKed byte nothing is deemed lost */
	u32 high = tcp_sack_high(t);
	if (seq_lt(high, t->snd_max))
		pipe += t->snd_max - high;
	return pipe;
}

/* Rule 1 of NextSeg (or rule 3 when `any`): the first byte at or above
 * HighRxt that is in a hole (a lost one unless `any`). */
static bool next_hole(const struct tcb *t, bool any, u32 *seq, u32 *len)
{
	struct hole h[TCP_SACK_RANGES];
	unsigned n = holes(t, h, TCP_SACK_RANGES);
	for (unsigned i = 0; i < n; i++) {
		if (!any && !h[i].lost)
			continue;
		u32 s = seq_max(h[i].start, t->high_rxt);
		if (seq_lt(s, h[i].end)) {
			*seq = s;
			*len = h[i].end - s;
			return true;
		}
	}
	return false;
}

/* Send what RFC 6675 allows now: retransmissions of lost holes, then (by
 * the caller) new data; `rule3` once no new data could go. Returns the
 * bytes retransmitted. */
u32 tcp_sack_retransmit(struct tcb *t, struct tcp_xmit *x, u32 maxseg, bool rule3)
{
	u32 sent = 0;
	for (int guard = 0; guard < 64; guard++) {
		u32 pipe = tcp_sack_pipe(t);
		if (pipe + t->mss > t->cwnd)
			break;
		u32 seq, len;
		if (!next_hole(t, rule3, &seq, &len))
			break;
		len = MIN(len, MIN(maxseg, t->cwnd - pipe));
		u32 before = t->retransmits;
		tcp_retransmit(t, x, seq, len);
		if (t->retransmits == before)
			break; /* nothing could go (no buffer) */
		u32 went = x->tail ? x->tail->len : len;
		if (!went)
			break;
		t->high_rxt = seq + went;
		sent += went;
		TCP_STAT(sack_rexmits);
		if (rule3)
			break; /* one rescue segment per ACK */
	}
	return sent;
}
