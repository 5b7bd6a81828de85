/*
 * bench/loadgen/pace.c: send schedules (see pace.h).
 */
#include "bench/loadgen/pace.h"

#include <errno.h>
#include <math.h>

uint64_t pace_rand64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double pace_rand01(uint64_t *state)
{
	return (double)(pace_rand64(state) >> 11) * 0x1.0p-53;
}

/* an exponential gap of mean 1e9 / rate ns; 1 - u is in (0, 1] */
static double exp_gap_ns(struct pace *p)
{
	return -log(1.0 - pace_rand01(&p->rng)) * 1e9 / p->rate;
}

int pace_init(struct pace *p, double rate, enum pace_arrivals arrivals, uint64_t seed)
{
	if (!(rate > 0) || !isfinite(rate))
		return -EINVAL;
	if (arrivals != PACE_FIXED && arrivals != PACE_POISSON)
		return -EINVAL;
	p->rate = rate;
	p->arrivals = arrivals;
	p->seed = seed;
	p->rng = seed;
	p->k = 0;
	/* the first request is due at once in both processes */
	p->poisson_ns = 0;
	return 0;
}

uint64_t pace_peek(const struct pace *p)
{
	if (p->arrivals == PACE_POISSON)
		return (uint64_t)p->poisson_ns;
	/* long double: k * 1e9 stays exact well past 2^53 */
	return (uint64_t)((long double)p->k * 1e9L / (long double)p->rate);
}

uint64_t pace_take(struct pace *p)
{
	uint64_t t = pace_peek(p);

	p->k++;
	if (p->arrivals == PACE_POISSON)
		p->poisson_ns += exp_gap_ns(p);
	return t;
}

const char *pace_arrivals_name(enum pace_arrivals a)
{
	return a == PACE_POISSON ? "poisson" : "fixed";
}
