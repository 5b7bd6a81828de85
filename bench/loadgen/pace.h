/*
 * bench/loadgen/pace.h: the send schedule of an open-loop load.
 *
 * Request k (k = 0, 1, ...) is due at an offset from the start of the run
 * that depends only on the rate, the arrival process and the seed, never on
 * how fast the server answers:
 *   PACE_FIXED    offset_k = floor(k * 1e9 / rate) ns (evenly spaced)
 *   PACE_POISSON  offset_k = sum of k exponential gaps of mean 1e9 / rate,
 *                 drawn from a splitmix64 stream seeded with SEED
 * The same (rate, arrivals, seed) always gives the same schedule.
 *
 * pace_peek gives the next request's offset, pace_take returns it and moves
 * on.  One pace belongs to one thread.
 */
#ifndef LOADGEN_PACE_H
#define LOADGEN_PACE_H

#include <stdint.h>

enum pace_arrivals {
	PACE_FIXED,
	PACE_POISSON,
};

struct pace {
	double rate;                    /* requests per second, > 0 */
	enum pace_arrivals arrivals;
	uint64_t seed;
	uint64_t rng;                   /* splitmix64 state */
	uint64_t k;                     /* requests taken so far */
	double poisson_ns;              /* offset of request k (PACE_POISSON) */
};

/* 0, or -EINVAL for a rate that is not positive and finite */
int pace_init(struct pace *p, double rate, enum pace_arrivals arrivals, uint64_t seed);
uint64_t pace_peek(const struct pace *p);
uint64_t pace_take(struct pace *p);

/* the seeded generator, also used by tests: next 64-bit value, and a
 * double uniform in [0, 1) */
uint64_t pace_rand64(uint64_t *state);
double pace_rand01(uint64_t *state);

const char *pace_arrivals_name(enum pace_arrivals a);

#endif
