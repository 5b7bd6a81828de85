/*
 * bench/loadgen/hist.c: log-linear histograms; the layout is in hist.h.
 *
 * Index of a value v, with H = 2^(sub_bits-1): let shift be 0 for
 * v < 2^sub_bits, else msb(v) - (sub_bits-1); then top = v >> shift lies in
 * [H, 2H) (or [0, 2H) when shift is 0) and the index is shift * H + top.
 * Consecutive shifts tile the index space without gaps.
 */
#include "bench/loadgen/hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static unsigned msb64(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

int hist_init(struct hist *h, unsigned sub_bits, unsigned max_bits)
{
	memset(h, 0, sizeof(*h));
	if (sub_bits < 2 || max_bits <= sub_bits || max_bits > 63)
		return -EINVAL;
	h->sub_bits = sub_bits;
	h->max_bits = max_bits;
	/* the largest value kept is 2^max_bits - 1: its shift is
	 * max_bits - sub_bits, its top at most 2H - 1 */
	h->nbuckets = (uint32_t)((max_bits - sub_bits + 2) << (sub_bits - 1));
	h->counts = calloc(h->nbuckets, sizeof(*h->counts));
	if (!h->counts)
		return -ENOMEM;
	h->min = UINT64_MAX;
	return 0;
}

void hist_free(struct hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void hist_reset(struct hist *h)
{
	memset(h->counts, 0, h->nbuckets * sizeof(*h->counts));
	h->total = h->saturated = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->sum = 0;
}

uint32_t hist_index(const struct hist *h, uint64_t v)
{
	uint64_t half = 1ull << (h->sub_bits - 1);
	unsigned shift;

	if (v >> h->max_bits)
		v = (1ull << h->max_bits) - 1;
	if (v < (half << 1))
		return (uint32_t)v;
	shift = msb64(v) - (h->sub_bits - 1);
	return (uint32_t)(shift * half + (v >> shift));
}

uint64_t hist_bucket_lo(const struct hist *h, uint32_t i)
{
	uint64_t half = 1ull << (h->sub_bits - 1);
	uint64_t shift;

	if (i < (half << 1))
		return i;
	shift = i / half - 1;
	return (i - shift * half) << shift;
}

uint64_t hist_bucket_hi(const struct hist *h, uint32_t i)
{
	uint64_t half = 1ull << (h->sub_bits - 1);
	uint64_t shift;

	if (i < (half << 1))
		return i;
	shift = i / half - 1;
	return hist_bucket_lo(h, i) + (1ull << shift) - 1;
}

void hist_record_n(struct hist *h, uint64_t v, uint64_t n)
{
	if (!n)
		return;
	if (v >> h->max_bits)
		h->saturated += n;
	h->counts[hist_index(h, v)] += n;
	h->total += n;
	h->sum += (double)v * (double)n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_record(struct hist *h, uint64_t v)
{
	hist_record_n(h, v, 1);
}

int hist_merge(struct hist *into, const struct hist *from)
{
	if (into->sub_bits != from->sub_bits || into->max_bits != from->max_bits)
		return -EINVAL;
	for (uint32_t i = 0; i < into->nbuckets; i++)
		into->counts[i] += from->counts[i];
	into->total += from->total;
	into->saturated += from->saturated;
	into->sum += from->sum;
	if (from->total) {
		if (from->min < into->min)
			into->min = from->min;
		if (from->max > into->max)
			into->max = from->max;
	}
	return 0;
}

uint64_t hist_value_at(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;
	double x;

	if (!h->total)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	/* the smallest rank with at least P% of the samples at or below it;
	 * the tolerance keeps 99% of 100 samples at rank 99 (not 100) when
	 * the product is off by a rounding error */
	x = p * (double)h->total / 100.0;
	rank = (uint64_t)x;
	if ((double)rank < x - 1e-9 * x)
		rank++;
	if (rank < 1)
		rank = 1;
	for (uint32_t i = 0; i < h->nbuckets; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t hi = hist_bucket_hi(h, i);
			return hi < h->max ? hi : h->max;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->total ? h->sum / (double)h->total : 0;
}
