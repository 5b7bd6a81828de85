/*
 * bench/loadgen/engine.c: no coordinated omission.  A server that stalls
 * for one second must show up in the latencies of every request the stall
 * held up, not only in the one request that was in flight; the service
 * times (send to answer, what a closed-loop tool measures) show how little
 * such a tool would see.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "tests/host/loadgen/sim.h"

static struct lg_config cfg(unsigned conns)
{
	return (struct lg_config){
		.rate = 1000, .arrivals = PACE_FIXED, .seed = 1, .conns = conns,
		.warmup_ns = 1 * SIM_S, .duration_ns = 10 * SIM_S,
		.timeout_ns = 5 * SIM_S, .drain_ns = 5 * SIM_S,
	};
}

static uint64_t count_above(const struct hist *h, uint64_t v)
{
	uint64_t n = 0;

	for (uint32_t i = hist_index(h, v) + 1; i < h->nbuckets; i++)
		n += h->counts[i];
	return n;
}

static void stalled_run(unsigned conns)
{
	struct lg_config c = cfg(conns);
	struct sim s;

	/* 200 us per request: 20% busy, except 6 s .. 7 s after the start */
	sim_init(&s, &c, 200000);
	s.stall_from = SIM_T0 + 6 * SIM_S;
	s.stall_to = SIM_T0 + 7 * SIM_S;
	sim_run(&s);

	cr_assert_eq(s.e.measured.scheduled, 10000);
	cr_assert_eq(s.e.measured.completed, 10000, "completed %llu",
		     (unsigned long long)s.e.measured.completed);
	cr_assert_eq(s.e.latency.total, 10000);
	/* the 1,000 requests due during the stall each waited for its end:
	 * from 1 s down to a little; 10% of all requests */
	cr_expect_geq(count_above(&s.e.latency, 100 * SIM_MS), 900, "only %llu above 100 ms",
		      (unsigned long long)count_above(&s.e.latency, 100 * SIM_MS));
	cr_expect_geq(hist_value_at(&s.e.latency, 99), 900 * SIM_MS, "p99 %llu ns",
		      (unsigned long long)hist_value_at(&s.e.latency, 99));
	cr_expect_geq(hist_value_at(&s.e.latency, 90), 50 * SIM_MS, "p90 %llu ns",
		      (unsigned long long)hist_value_at(&s.e.latency, 90));
	cr_expect_geq(s.e.latency.max, 999 * SIM_MS);
	cr_expect_lt(s.e.latency.max, 1001 * SIM_MS);
	/* at most CONNS requests were in flight when the stall began: a tool
	 * that timed from the send would see only those as slow */
	cr_expect_leq(count_above(&s.e.service, 100 * SIM_MS), conns,
		      "%llu slow service times with %u connections",
		      (unsigned long long)count_above(&s.e.service, 100 * SIM_MS), conns);
	cr_expect_lt(hist_value_at(&s.e.service, 99), 10 * SIM_MS, "service p99 %llu ns",
		     (unsigned long long)hist_value_at(&s.e.service, 99));
	sim_free(&s);
}

Test(stall, one_connection)
{
	stalled_run(1);
}

Test(stall, eight_connections)
{
	stalled_run(8);
}

/* a connection whose server never answers: each request put on it times
 * out after 50 ms and the engine resets it, while the other connections
 * carry the load on time; the books balance */
Test(stall, black_hole_connection_times_out)
{
	struct lg_config c = cfg(4);
	struct sim s;

	c.timeout_ns = 50 * SIM_MS;
	sim_init(&s, &c, 100000);
	s.black_hole[2] = true;
	sim_run(&s);
	/* one timeout per 50 ms of the 10 s window, give or take */
	cr_expect(s.e.measured.timeouts >= 150 && s.e.measured.timeouts <= 210,
		  "%llu timeouts", (unsigned long long)s.e.measured.timeouts);
	cr_assert_geq(s.resets, s.e.all.timeouts);
	cr_assert_eq(s.e.measured.scheduled,
		     s.e.measured.completed + s.e.measured.errors + s.e.measured.timeouts);
	/* every measured request has a latency, a timed-out one at least the
	 * time-out; the rest were not held up */
	cr_assert_eq(s.e.latency.total, s.e.measured.scheduled);
	cr_expect_geq(s.e.latency.max, 50 * SIM_MS, "max %llu ns",
		      (unsigned long long)s.e.latency.max);
	cr_expect_lt(hist_value_at(&s.e.latency, 50), 1 * SIM_MS, "p50 %llu ns",
		     (unsigned long long)hist_value_at(&s.e.latency, 50));
	cr_expect_lt(s.e.service.max, 1 * SIM_MS, "service max %llu ns",
		     (unsigned long long)s.e.service.max);
	cr_assert_eq(s.e.service.total, s.e.measured.completed);
	sim_free(&s);
}
