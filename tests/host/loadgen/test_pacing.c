/*
 * bench/loadgen pace.c and engine.c: requests leave on schedule, measured
 * against a fake clock (sim.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>

#include "bench/loadgen/pace.h"
#include "tests/host/loadgen/sim.h"

static struct lg_config cfg(double rate, unsigned conns, double warmup_s, double duration_s)
{
	return (struct lg_config){
		.rate = rate, .arrivals = PACE_FIXED, .seed = 1, .conns = conns,
		.warmup_ns = (uint64_t)(warmup_s * SIM_S),
		.duration_ns = (uint64_t)(duration_s * SIM_S),
		.timeout_ns = 2 * SIM_S, .drain_ns = 2 * SIM_S,
	};
}

Test(pacing, fixed_schedule_is_exact)
{
	struct pace p;

	cr_assert_eq(pace_init(&p, 7000, PACE_FIXED, 1), 0);
	for (uint64_t k = 0; k < 7000 * 60; k++) {
		uint64_t want = (uint64_t)((long double)k * 1e9L / 7000.0L);
		uint64_t got = pace_take(&p);

		if (got != want)
			cr_assert_fail("request %llu due at %llu ns, want %llu",
				       (unsigned long long)k, (unsigned long long)got,
				       (unsigned long long)want);
	}
	/* after a minute, no drift: request 420000 is due at exactly 60 s */
	cr_assert_eq(pace_peek(&p), 60 * SIM_S);
}

Test(pacing, bad_rates_refused)
{
	struct pace p;

	cr_assert_eq(pace_init(&p, 0, PACE_FIXED, 1), -EINVAL);
	cr_assert_eq(pace_init(&p, -5, PACE_POISSON, 1), -EINVAL);
	cr_assert_eq(pace_init(&p, INFINITY, PACE_FIXED, 1), -EINVAL);
	cr_assert_eq(pace_init(&p, NAN, PACE_FIXED, 1), -EINVAL);
}

Test(pacing, poisson_gaps_are_exponential_and_seeded)
{
	struct pace a, b, c;
	const int n = 200000;
	double sum = 0, sumsq = 0, prev = 0;
	int above_mean = 0, same_as_other_seed = 0;

	pace_init(&a, 10000, PACE_POISSON, 42);
	pace_init(&b, 10000, PACE_POISSON, 42);
	pace_init(&c, 10000, PACE_POISSON, 43);
	cr_assert_eq(pace_take(&a), 0);
	pace_take(&b);
	pace_take(&c);
	for (int i = 0; i < n; i++) {
		uint64_t t = pace_take(&a);
		double gap = (double)t - prev;

		cr_assert_eq(t, pace_take(&b), "same seed, different schedule at %d", i);
		same_as_other_seed += t == pace_take(&c);
		sum += gap;
		sumsq += gap * gap;
		above_mean += gap > 100000.0;
		prev = (double)t;
	}
	double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);

	/* mean 1/rate = 100 us; an exponential's sd equals its mean and
	 * P(gap > mean) = 1/e */
	cr_expect(fabs(mean - 100000.0) < 1000.0, "mean gap %.0f ns, want 100000 +- 1%%", mean);
	cr_expect(fabs(sd / mean - 1.0) < 0.02, "sd/mean %.3f, want 1 +- 0.02", sd / mean);
	cr_expect(fabs((double)above_mean / n - exp(-1)) < 0.005,
		  "P(gap > mean) = %.4f, want %.4f", (double)above_mean / n, exp(-1));
	cr_expect_lt(same_as_other_seed, 10, "seeds 42 and 43 agree on %d due times",
		     same_as_other_seed);
}

/* an idle, instant server: every request leaves exactly when it is due */
Test(pacing, sends_leave_on_schedule)
{
	struct lg_config c = cfg(1000, 1, 0, 1);
	struct sim s;

	sim_init(&s, &c, 1);
	sim_run(&s);
	cr_assert_eq(s.nsends, 1000);
	for (size_t k = 0; k < s.nsends; k++)
		cr_assert_eq(s.send_at[k], SIM_T0 + k * SIM_MS, "send %zu at +%llu ns", k,
			     (unsigned long long)(s.send_at[k] - SIM_T0));
	cr_assert_eq(s.e.measured.scheduled, 1000);
	cr_assert_eq(s.e.measured.completed, 1000);
	/* latency = service time = 1 ns: nothing was late */
	cr_assert_eq(s.e.latency.max, 1);
	sim_free(&s);
}

/* a slow server does not slow the schedule down: the same number of
 * requests is due, they wait in the queue, and they are sent as soon as a
 * connection frees, never earlier than due */
Test(pacing, slow_server_does_not_move_the_schedule)
{
	struct lg_config c = cfg(1000, 2, 0, 2);
	struct sim s;
	uint64_t due;

	sim_init(&s, &c, 4 * SIM_MS);   /* 250/s: a quarter of the offered rate */
	sim_run(&s);
	cr_assert_eq(s.e.all.scheduled, 2000, "scheduled %llu",
		     (unsigned long long)s.e.all.scheduled);
	cr_assert_gt(s.e.max_queue, 1000, "the backlog was never queued (max %llu)",
		     (unsigned long long)s.e.max_queue);
	for (size_t k = 0; k < s.nsends; k++) {
		due = SIM_T0 + k * SIM_MS;
		cr_assert_geq(s.send_at[k], due, "request %zu sent before it was due", k);
	}
	/* the drain (2 s) ends the run: what was not answered by then is a
	 * timeout, and the books balance */
	cr_assert_gt(s.e.measured.timeouts, 0);
	/* throughput counts answers inside the window: the server's 250/s,
	 * not the measured requests it finished late, during the drain */
	cr_expect(s.e.window_completed >= 498 && s.e.window_completed <= 501,
		  "%llu answers in the 2 s window", (unsigned long long)s.e.window_completed);
	cr_expect_gt(s.e.measured.completed, 900, "answered late: %llu",
		     (unsigned long long)s.e.measured.completed);
	cr_assert_eq(s.e.measured.scheduled,
		     s.e.measured.completed + s.e.measured.errors + s.e.measured.timeouts);
	sim_free(&s);
}

Test(pacing, warmup_is_excluded)
{
	struct lg_config c = cfg(1000, 4, 1, 2);
	struct sim s;

	sim_init(&s, &c, 100000);
	/* a stall in the warm-up only */
	s.stall_from = SIM_T0 + 200 * SIM_MS;
	s.stall_to = SIM_T0 + 700 * SIM_MS;
	sim_run(&s);
	cr_assert_eq(s.e.all.scheduled, 3000);
	cr_assert_eq(s.e.measured.scheduled, 2000);
	cr_assert_eq(s.e.latency.total, 2000);
	/* the stall's backlog (500 ms of requests, 4 connections) clears well
	 * before the measured window: its latencies are not in the histogram */
	cr_assert_lt(s.e.latency.max, 5 * SIM_MS, "max %llu ns",
		     (unsigned long long)s.e.latency.max);
	sim_free(&s);
}
