/*
 * bench/loadgen/hist.h: log-linear latency histograms (HDR-style).
 *
 * Values are unsigned 64-bit integers (the load generator records
 * nanoseconds).  Values below 2^sub_bits get a bucket each (exact); above,
 * every power of two [2^m, 2^(m+1)) is split into 2^(sub_bits-1) buckets of
 * equal width, so a bucket's width is at most 1/2^(sub_bits-1) of its lower
 * bound: with sub_bits = 8 a recorded value is known to within 0.79%.
 * Values at or above 2^max_bits land in the last bucket and are counted in
 * `saturated`; min and max are kept exactly.
 *
 * Percentiles report the highest value equivalent to the bucket that holds
 * the requested rank (never an underestimate of a latency), capped at the
 * exact maximum.  hist_value_at(h, 100) is the maximum.
 *
 * Use: hist_init once (it allocates), hist_record per sample, hist_merge to
 * add one histogram into another of the same shape, hist_free at the end.
 * No locking: one histogram belongs to one thread.
 */
#ifndef LOADGEN_HIST_H
#define LOADGEN_HIST_H

#include <stdint.h>

struct hist {
	unsigned sub_bits;      /* 2^sub_bits exact buckets at the bottom */
	unsigned max_bits;      /* values >= 2^max_bits saturate */
	uint32_t nbuckets;
	uint64_t *counts;
	uint64_t total;
	uint64_t saturated;
	uint64_t min, max;
	double sum;             /* for the mean */
};

/* 0, or -EINVAL (bad shape: 2 <= sub_bits < max_bits <= 63), -ENOMEM */
int hist_init(struct hist *h, unsigned sub_bits, unsigned max_bits);
void hist_free(struct hist *h);
void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
void hist_record_n(struct hist *h, uint64_t v, uint64_t n);
/* 0, or -EINVAL if the shapes differ */
int hist_merge(struct hist *into, const struct hist *from);

/* the bucket of V, and a bucket's value range [lo, hi] */
uint32_t hist_index(const struct hist *h, uint64_t v);
uint64_t hist_bucket_lo(const struct hist *h, uint32_t i);
uint64_t hist_bucket_hi(const struct hist *h, uint32_t i);

/* the value at percentile P (0..100) of what was recorded; 0 when empty */
uint64_t hist_value_at(const struct hist *h, double p);
double hist_mean(const struct hist *h);

#endif
