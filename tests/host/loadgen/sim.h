/*
 * tests/host/loadgen/sim.h: a fake clock and a simulated server for the
 * load generator's engine.
 *
 * The server is one worker that takes requests in arrival order, each for
 * `service` ns; between stall_from and stall_to (absolute, fake clock) it
 * does nothing (a GC pause, a lost interrupt), so requests that arrive or
 * are in progress then finish after stall_to.  Connections listed in
 * `black_hole` never get an answer.  Every send is logged, so tests can see
 * exactly when the engine sent what.
 *
 * sim_run drives the engine from event to event (next due request, next
 * answer, next timeout) until it is done: no real time passes.
 */
#ifndef TESTS_HOST_LOADGEN_SIM_H
#define TESTS_HOST_LOADGEN_SIM_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench/loadgen/engine.h"

#define SIM_CONNS 64
#define SIM_MS 1000000ull
#define SIM_S 1000000000ull
#define SIM_T0 (1000 * SIM_S)   /* the fake clock does not start at 0 */

struct sim {
	struct lg_engine e;
	uint64_t now;
	uint64_t service;
	uint64_t stall_from, stall_to;
	uint64_t server_free;           /* when the worker is next free */
	bool busy[SIM_CONNS];
	uint64_t answer_at[SIM_CONNS];
	bool black_hole[SIM_CONNS];
	bool down[SIM_CONNS];           /* reset by the engine; up again next step */
	uint64_t *send_at;              /* log of send times */
	unsigned *send_conn;
	size_t nsends, cap;
	uint64_t resets;
};

static int sim_send(void *ctx, unsigned c, uint64_t now)
{
	struct sim *s = ctx;
	uint64_t start = now > s->server_free ? now : s->server_free;

	cr_assert(!s->busy[c], "engine sent on busy connection %u", c);
	if (s->nsends == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->send_at = realloc(s->send_at, s->cap * sizeof(*s->send_at));
		s->send_conn = realloc(s->send_conn, s->cap * sizeof(*s->send_conn));
		cr_assert(s->send_at && s->send_conn);
	}
	s->send_at[s->nsends] = now;
	s->send_conn[s->nsends++] = c;
	s->busy[c] = true;
	if (s->black_hole[c]) {
		s->answer_at[c] = UINT64_MAX;
		return 0;
	}
	/* work that would fall in the stall waits for its end */
	if (start + s->service > s->stall_from && start < s->stall_to)
		start = s->stall_to;
	s->server_free = start + s->service;
	s->answer_at[c] = s->server_free;
	return 0;
}

static void sim_reset(void *ctx, unsigned c, uint64_t now)
{
	struct sim *s = ctx;

	(void)now;
	s->busy[c] = false;
	s->down[c] = true;
	s->resets++;
}

static const struct lg_transport sim_transport = {
	.send = sim_send,
	.reset = sim_reset,
};

static void sim_init(struct sim *s, const struct lg_config *cfg, uint64_t service)
{
	memset(s, 0, sizeof(*s));
	cr_assert(cfg->conns <= SIM_CONNS);
	s->now = SIM_T0;
	s->service = service;
	s->stall_from = s->stall_to = 0;
	cr_assert_eq(lg_engine_init(&s->e, cfg, &sim_transport, s), 0);
	for (unsigned c = 0; c < cfg->conns; c++)
		lg_engine_conn_up(&s->e, c, s->now);
}

static void sim_free(struct sim *s)
{
	lg_engine_free(&s->e);
	free(s->send_at);
	free(s->send_conn);
}

static void sim_run(struct sim *s)
{
	unsigned n = s->e.cfg.conns;

	lg_engine_start(&s->e, s->now);
	while (!lg_engine_done(&s->e, s->now)) {
		uint64_t next;

		lg_engine_tick(&s->e, s->now);
		for (unsigned c = 0; c < n; c++) {
			if (s->down[c]) {
				s->down[c] = false;
				lg_engine_conn_up(&s->e, c, s->now);
			}
		}
		next = lg_engine_deadline(&s->e);
		for (unsigned c = 0; c < n; c++)
			if (s->busy[c] && s->answer_at[c] < next)
				next = s->answer_at[c];
		cr_assert_neq(next, UINT64_MAX, "nothing left to wait for, yet not done");
		if (next > s->now)
			s->now = next;
		for (unsigned c = 0; c < n; c++) {
			if (s->busy[c] && s->answer_at[c] <= s->now) {
				s->busy[c] = false;
				lg_engine_response(&s->e, c, s->now, true, 1000, true);
			}
		}
	}
}

#endif
