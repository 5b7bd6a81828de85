/*
 * bench/loadgen/sweep.c: the knee of a sweep (rules in sweep.h).
 */
#include "bench/loadgen/sweep.h"

bool lg_step_keeps_up(const struct lg_step *s, uint64_t base_p50_ns)
{
	return s->achieved >= LG_KEEP_UP * s->scheduled && s->failed == 0 &&
	       (double)s->p50_ns <= LG_KNEE_P50_FACTOR * (double)base_p50_ns;
}

bool lg_step_saturated(const struct lg_step *s)
{
	return s->achieved < LG_SATURATED * s->scheduled ||
	       (double)s->failed > 0.01 * (double)s->requests;
}

bool lg_second_better(const struct lg_step *first, const struct lg_step *second,
		      uint64_t base_p50_ns)
{
	return lg_step_keeps_up(second, base_p50_ns) ||
	       (lg_step_saturated(first) && !lg_step_saturated(second));
}

int lg_knee(const struct lg_step *steps, size_t n)
{
	int knee = -1;

	for (size_t i = 0; i < n; i++) {
		if (!lg_step_keeps_up(&steps[i], steps[0].p50_ns))
			break;
		knee = (int)i;
	}
	return knee;
}
