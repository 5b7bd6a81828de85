/*
 * bench/loadgen/sweep.h: reading a latency-versus-load sweep.
 *
 * A sweep runs the same load at increasing offered rates.  A step "keeps
 * up" when the responses that arrived in its measured window are at least
 * LG_KEEP_UP of the requests it scheduled there (a Poisson schedule's count
 * varies around the nominal rate, so that count, not the nominal rate, is
 * the yardstick), with no errors or timeouts, and its median latency
 * stayed within LG_KNEE_P50_FACTOR times the median of the first (lightest)
 * step.  The knee is the last step of the run of steps, from the first, that
 * all keep up: the highest load the server takes before its throughput or
 * its latency gives way.  The median, not p99, decides: under TCG on a
 * shared host a few hundred slow requests (the host descheduling a vCPU)
 * move a step's p99 by 10x while its median stays put, and a knee that
 * jumps between runs is no yardstick.  The p99s are reported per step.
 *
 * One bad step must not decide a sweep: a step that does
 * not keep up is run once more (loadgen.c), and lg_second_better says
 * which attempt counts: the second if it keeps up, or if the first was
 * saturated and the second is not; otherwise the first.
 *
 * A step is saturated when it achieved less than LG_SATURATED of its
 * scheduled rate or more than 1% of its requests failed; a sweep stops after
 * the first saturated step (heavier steps only take longer to say the same).
 */
#ifndef LOADGEN_SWEEP_H
#define LOADGEN_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_KEEP_UP 0.95
#define LG_KNEE_P50_FACTOR 4.0
#define LG_SATURATED 0.90

struct lg_step {
	double offered;         /* requests per second, nominal */
	double scheduled;       /* requests per second the schedule actually had */
	double achieved;        /* responses per second in the window */
	uint64_t p50_ns;
	uint64_t requests;      /* measured requests scheduled */
	uint64_t failed;        /* errors + timeouts */
};

bool lg_step_keeps_up(const struct lg_step *s, uint64_t base_p50_ns);
bool lg_step_saturated(const struct lg_step *s);
bool lg_second_better(const struct lg_step *first, const struct lg_step *second,
		      uint64_t base_p50_ns);
/* index of the knee in STEPS[0..N), or -1 if even the first step fails */
int lg_knee(const struct lg_step *steps, size_t n);

#endif
