/*
 * bench/loadgen/engine.c: the open-loop engine (see engine.h).
 */
#include "bench/loadgen/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* 1 ns .. 2^40 ns (18 minutes), 0.79% resolution */
#define LG_HIST_SUB_BITS 8
#define LG_HIST_MAX_BITS 40

int lg_engine_init(struct lg_engine *e, const struct lg_config *cfg,
		   const struct lg_transport *tr, void *ctx)
{
	int err;

	memset(e, 0, sizeof(*e));
	if (!cfg->conns || !cfg->duration_ns || !cfg->timeout_ns)
		return -EINVAL;
	e->cfg = *cfg;
	e->tr = tr;
	e->ctx = ctx;
	err = pace_init(&e->pace, cfg->rate, cfg->arrivals, cfg->seed);
	if (err)
		return err;
	e->conns = calloc(cfg->conns, sizeof(*e->conns));
	e->qcap = 1024;
	e->q = malloc(e->qcap * sizeof(*e->q));
	if (!e->conns || !e->q) {
		err = -ENOMEM;
		goto fail_alloc;
	}
	err = hist_init(&e->latency, LG_HIST_SUB_BITS, LG_HIST_MAX_BITS);
	if (err)
		goto fail_alloc;
	err = hist_init(&e->service, LG_HIST_SUB_BITS, LG_HIST_MAX_BITS);
	if (err)
		goto fail_latency;
	return 0;

fail_latency:
	hist_free(&e->latency);
fail_alloc:
	free(e->q);
	free(e->conns);
	return err;
}

void lg_engine_free(struct lg_engine *e)
{
	hist_free(&e->service);
	hist_free(&e->latency);
	free(e->q);
	free(e->conns);
}

static uint64_t measure_start(const struct lg_engine *e)
{
	return e->t0 + e->cfg.warmup_ns;
}

uint64_t lg_engine_window_end(const struct lg_engine *e)
{
	return measure_start(e) + e->cfg.duration_ns;
}

static bool is_measured(const struct lg_engine *e, uint64_t due)
{
	return due >= measure_start(e) && due < lg_engine_window_end(e);
}

/* one more request in FIELD, in the measured counts too if M */
#define COUNT(e, m, field) do {                         \
		(e)->all.field++;                       \
		if (m)                                  \
			(e)->measured.field++;          \
	} while (0)

/*
 * A measured request that got no answer (timed out, failed, never sent)
 * counts in the latency histogram at the time-out value or its real wait if
 * longer: left out, the percentiles would improve exactly when the server
 * fails.  The service histogram keeps answered requests only.
 */
static void record_failed(struct lg_engine *e, bool measured, uint64_t due, uint64_t now)
{
	uint64_t waited = now > due ? now - due : 0;

	if (measured)
		hist_record(&e->latency, waited > e->cfg.timeout_ns ? waited : e->cfg.timeout_ns);
}

static int q_push(struct lg_engine *e, uint64_t due)
{
	if (e->qlen == e->qcap) {
		uint64_t *n = malloc(2 * e->qcap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (uint64_t i = 0; i < e->qlen; i++)
			n[i] = e->q[(e->qhead + i) % e->qcap];
		free(e->q);
		e->q = n;
		e->qhead = 0;
		e->qcap *= 2;
	}
	e->q[(e->qhead + e->qlen) % e->qcap] = due;
	e->qlen++;
	if (e->qlen > e->max_queue)
		e->max_queue = e->qlen;
	return 0;
}

static uint64_t q_pop(struct lg_engine *e)
{
	uint64_t due = e->q[e->qhead];

	e->qhead = (e->qhead + 1) % e->qcap;
	e->qlen--;
	return due;
}

static int idle_conn(struct lg_engine *e)
{
	for (unsigned i = 0; i < e->cfg.conns; i++) {
		unsigned c = (e->rr + i) % e->cfg.conns;

		if (e->conns[c].state == LG_IDLE) {
			e->rr = c + 1;
			return (int)c;
		}
	}
	return -1;
}

/* a request that will get no response: the connection's request failed */
static void conn_failed(struct lg_engine *e, unsigned c, uint64_t now)
{
	struct lg_conn *cn = &e->conns[c];

	if (cn->state == LG_BUSY) {
		COUNT(e, cn->measured, errors);
		record_failed(e, cn->measured, cn->due, now);
	}
	cn->state = LG_DOWN;
}

/* send waiting requests while there are idle connections */
static void dispatch(struct lg_engine *e, uint64_t now)
{
	int c;

	while (e->qlen && (c = idle_conn(e)) >= 0) {
		struct lg_conn *cn = &e->conns[c];

		cn->due = q_pop(e);
		cn->sent = now;
		cn->measured = is_measured(e, cn->due);
		cn->state = LG_BUSY;
		COUNT(e, cn->measured, sent);
		if (e->tr->send(e->ctx, (unsigned)c, now) < 0) {
			conn_failed(e, (unsigned)c, now);
			e->tr->reset(e->ctx, (unsigned)c, now);
		}
	}
}

void lg_engine_start(struct lg_engine *e, uint64_t now)
{
	e->t0 = now;
	e->started = true;
	e->scheduling = true;
	e->next_due = now + pace_peek(&e->pace);
}

void lg_engine_tick(struct lg_engine *e, uint64_t now)
{
	if (!e->started || e->finished)
		return;
	while (e->scheduling && e->next_due <= now) {
		uint64_t due = e->next_due;

		if (due >= lg_engine_window_end(e)) {
			e->scheduling = false;
			break;
		}
		pace_take(&e->pace);
		e->next_due = e->t0 + pace_peek(&e->pace);
		COUNT(e, is_measured(e, due), scheduled);
		if (q_push(e, due) < 0) {
			/* out of memory: the request is lost, and says so */
			COUNT(e, is_measured(e, due), errors);
			record_failed(e, is_measured(e, due), due, now);
		}
	}
	if (e->scheduling && e->next_due >= lg_engine_window_end(e))
		e->scheduling = false;
	for (unsigned c = 0; c < e->cfg.conns; c++) {
		struct lg_conn *cn = &e->conns[c];

		if (cn->state == LG_BUSY && now - cn->sent >= e->cfg.timeout_ns) {
			COUNT(e, cn->measured, timeouts);
			record_failed(e, cn->measured, cn->due, now);
			cn->state = LG_DOWN;
			e->tr->reset(e->ctx, c, now);
		}
	}
	dispatch(e, now);
}

void lg_engine_conn_up(struct lg_engine *e, unsigned conn, uint64_t now)
{
	e->conns[conn].state = LG_IDLE;
	if (e->started && !e->finished)
		dispatch(e, now);
}

void lg_engine_response(struct lg_engine *e, unsigned conn, uint64_t now, bool ok,
			uint64_t bytes, bool keep)
{
	struct lg_conn *cn = &e->conns[conn];

	if (cn->state != LG_BUSY)
		return;         /* a late answer to an abandoned request */
	e->all.bytes += bytes;
	if (cn->measured)
		e->measured.bytes += bytes;
	if (ok && now >= measure_start(e) && now < lg_engine_window_end(e)) {
		e->window_completed++;
		e->window_bytes += bytes;
	}
	if (ok) {
		COUNT(e, cn->measured, completed);
		if (cn->measured) {
			hist_record(&e->latency, now - cn->due);
			hist_record(&e->service, now - cn->sent);
		}
	} else {
		COUNT(e, cn->measured, errors);
		record_failed(e, cn->measured, cn->due, now);
	}
	cn->state = keep ? LG_IDLE : LG_DOWN;
	if (keep && !e->finished)
		dispatch(e, now);
}

void lg_engine_conn_error(struct lg_engine *e, unsigned conn, uint64_t now)
{
	conn_failed(e, conn, now);
}

uint64_t lg_engine_deadline(const struct lg_engine *e)
{
	uint64_t d = UINT64_MAX;

	if (!e->started || e->finished)
		return d;
	if (e->scheduling)
		d = e->next_due;
	for (unsigned c = 0; c < e->cfg.conns; c++) {
		const struct lg_conn *cn = &e->conns[c];

		if (cn->state == LG_BUSY && cn->sent + e->cfg.timeout_ns < d)
			d = cn->sent + e->cfg.timeout_ns;
	}
	if (!e->scheduling) {
		uint64_t drain_end = lg_engine_window_end(e) + e->cfg.drain_ns;

		if (drain_end < d)
			d = drain_end;
	}
	return d;
}

bool lg_engine_done(struct lg_engine *e, uint64_t now)
{
	bool busy = false;

	if (e->finished)
		return true;
	if (!e->started || e->scheduling)
		return false;
	for (unsigned c = 0; c < e->cfg.conns; c++)
		busy |= e->conns[c].state == LG_BUSY;
	if ((busy || e->qlen) && now < lg_engine_window_end(e) + e->cfg.drain_ns)
		return false;
	/* the drain is over: what is left gets no answer */
	for (unsigned c = 0; c < e->cfg.conns; c++) {
		struct lg_conn *cn = &e->conns[c];

		if (cn->state == LG_BUSY) {
			COUNT(e, cn->measured, timeouts);
			record_failed(e, cn->measured, cn->due, now);
			cn->state = LG_DOWN;
		}
	}
	while (e->qlen) {
		uint64_t due = q_pop(e);
		bool m = is_measured(e, due);

		COUNT(e, m, timeouts);
		COUNT(e, m, unsent);
		record_failed(e, m, due, now);
	}
	e->finished = true;
	return true;
}
