/*
 * bench/loadgen/hist.c: bucket layout and percentiles against known
 * distributions.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>

#include "bench/loadgen/hist.h"
#include "bench/loadgen/pace.h"

static struct hist h;

static void setup(void)
{
	cr_assert_eq(hist_init(&h, 8, 40), 0);
}

static void teardown(void)
{
	hist_free(&h);
}

TestSuite(hist, .init = setup, .fini = teardown);

Test(hist, shapes_refused)
{
	struct hist x;

	cr_assert_eq(hist_init(&x, 1, 40), -EINVAL);
	cr_assert_eq(hist_init(&x, 8, 8), -EINVAL);
	cr_assert_eq(hist_init(&x, 8, 64), -EINVAL);
}

/* buckets tile 0 .. 2^40 - 1 without gaps or overlaps, each within 1/128
 * of its lower bound, and hist_index agrees with the bounds */
Test(hist, buckets_tile_the_range)
{
	uint64_t next = 0;

	for (uint32_t i = 0; i < h.nbuckets; i++) {
		uint64_t lo = hist_bucket_lo(&h, i), hi = hist_bucket_hi(&h, i);

		cr_assert_eq(lo, next, "bucket %u starts at %llu, want %llu", i,
			     (unsigned long long)lo, (unsigned long long)next);
		cr_assert_geq(hi, lo);
		if (lo >= 256)
			cr_assert_leq((hi - lo + 1) * 128, lo, "bucket %u [%llu, %llu] too wide", i,
				      (unsigned long long)lo, (unsigned long long)hi);
		else
			cr_assert_eq(hi, lo, "values below 256 are exact");
		cr_assert_eq(hist_index(&h, lo), i);
		cr_assert_eq(hist_index(&h, hi), i);
		next = hi + 1;
	}
	cr_assert_eq(next, 1ull << 40, "the last bucket ends at %llu", (unsigned long long)next);
}

Test(hist, random_values_land_in_their_bucket)
{
	uint64_t rng = 7;

	for (int i = 0; i < 100000; i++) {
		uint64_t v = pace_rand64(&rng) >> (24 + pace_rand64(&rng) % 40);
		uint32_t b = hist_index(&h, v);

		cr_assert(hist_bucket_lo(&h, b) <= v && v <= hist_bucket_hi(&h, b),
			  "%llu not in bucket %u", (unsigned long long)v, b);
	}
}

/* 1 .. 100000, once each: the p-th percentile is p * 1000 */
Test(hist, uniform_percentiles)
{
	static const double ps[] = { 10, 50, 90, 99, 99.9, 99.99 };

	for (uint64_t v = 1; v <= 100000; v++)
		hist_record(&h, v);
	cr_assert_eq(h.total, 100000);
	cr_assert_eq(h.min, 1);
	cr_assert_eq(h.max, 100000);
	cr_assert_eq(hist_value_at(&h, 0), 1);
	cr_assert_eq(hist_value_at(&h, 100), 100000);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		double want = ps[i] * 1000;
		uint64_t got = hist_value_at(&h, ps[i]);

		/* an upper bound, within one bucket (1/128) */
		cr_expect(got >= want && got <= want * (1 + 1.0 / 128) + 1,
			  "p%g = %llu, want %.0f .. %.0f", ps[i], (unsigned long long)got, want,
			  want * (1 + 1.0 / 128));
	}
	cr_expect(fabs(hist_mean(&h) - 50000.5) < 1e-6);
}

/* small counts: 99% of 100 samples is the 99th, not the 100th */
Test(hist, rank_rounding)
{
	for (uint64_t v = 1; v <= 100; v++)
		hist_record(&h, v);
	cr_assert_eq(hist_value_at(&h, 99), 99);
	cr_assert_eq(hist_value_at(&h, 50), 50);
	cr_assert_eq(hist_value_at(&h, 1), 1);
	cr_assert_eq(hist_value_at(&h, 99.5), 100);
}

/* a million exponential samples of mean 1 ms: quantile -ln(1-p) ms */
Test(hist, exponential_percentiles)
{
	static const double ps[] = { 50, 90, 99, 99.9 };
	uint64_t rng = 12345;

	for (int i = 0; i < 1000000; i++)
		hist_record(&h, (uint64_t)(-log(1.0 - pace_rand01(&rng)) * 1e6));
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		double want = -log(1.0 - ps[i] / 100) * 1e6;
		double got = (double)hist_value_at(&h, ps[i]);

		cr_expect(fabs(got / want - 1) < 0.02, "p%g = %.0f ns, want %.0f +- 2%%", ps[i],
			  got, want);
	}
	cr_expect(fabs(hist_mean(&h) / 1e6 - 1) < 0.01, "mean %.0f ns", hist_mean(&h));
}

Test(hist, saturation_is_counted)
{
	hist_record(&h, 1ull << 41);
	hist_record(&h, 5);
	cr_assert_eq(h.saturated, 1);
	cr_assert_eq(h.max, 1ull << 41, "max stays exact");
	cr_assert_eq(hist_value_at(&h, 100), 1ull << 41);
	cr_assert_eq(hist_index(&h, 1ull << 41), h.nbuckets - 1);
}

Test(hist, merge_equals_recording_together)
{
	struct hist a, b;
	uint64_t rng = 99;

	cr_assert_eq(hist_init(&a, 8, 40), 0);
	cr_assert_eq(hist_init(&b, 8, 40), 0);
	for (int i = 0; i < 20000; i++) {
		uint64_t v = pace_rand64(&rng) % 10000000;

		hist_record(&h, v);
		hist_record(i % 3 ? &a : &b, v);
	}
	cr_assert_eq(hist_merge(&a, &b), 0);
	cr_assert_eq(a.total, h.total);
	cr_assert_eq(a.min, h.min);
	cr_assert_eq(a.max, h.max);
	for (double p = 0; p <= 100; p += 0.5)
		cr_assert_eq(hist_value_at(&a, p), hist_value_at(&h, p), "p%g", p);
	hist_free(&b);
	cr_assert_eq(hist_init(&b, 7, 40), 0);
	cr_assert_eq(hist_merge(&a, &b), -EINVAL, "shapes differ");
	hist_free(&a);
	hist_free(&b);
}

Test(hist, empty_reports_zero)
{
	cr_assert_eq(hist_value_at(&h, 99), 0);
	cr_assert_eq(hist_mean(&h), 0);
	hist_record(&h, 1000);
	hist_reset(&h);
	cr_assert_eq(h.total, 0);
	cr_assert_eq(hist_value_at(&h, 50), 0);
}
