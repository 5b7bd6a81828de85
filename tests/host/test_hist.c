/*
 * kernel/lib/hist.c: the bucket layout (the load generator's, bound for
 * bound), percentiles against known distributions, cumulative counts,
 * saturation, and the per-CPU form: parts merged on read, records lost
 * from CPUs past the parts, generations on reset, and writers on several
 * host threads (CPUs) while a reader merges.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/hist.h"
#include "tests/host/host.h"

static struct hist *new_hist(void)
{
	struct hist *h = calloc(1, sizeof(*h));
	cr_assert_not_null(h);
	return h;
}

static struct hist_cpu *new_parts(unsigned n)
{
	struct hist_cpu *p = aligned_alloc(CACHELINE, n * sizeof(*p));
	cr_assert_not_null(p);
	memset(p, 0, n * sizeof(*p));
	return p;
}

/* buckets tile 0 .. 2^40 - 1 without gaps or overlaps, each within 1/128
 * of its lower bound, and hist_index agrees with the bounds */
Test(khist, buckets_tile_the_range)
{
	u64 next = 0;
	cr_assert_eq(HIST_NBUCKETS, 4352);
	for (u32 i = 0; i < HIST_NBUCKETS; i++) {
		u64 lo = hist_bucket_lo(i), hi = hist_bucket_hi(i);
		cr_assert_eq(lo, next, "bucket %u starts at %llu, want %llu", i,
			     (unsigned long long)lo, (unsigned long long)next);
		cr_assert_geq(hi, lo);
		if (lo >= 256)
			cr_assert_leq((hi - lo + 1) * 128, lo, "bucket %u too wide", i);
		else
			cr_assert_eq(hi, lo, "values below 256 are exact");
		cr_assert_eq(hist_index(lo), i);
		cr_assert_eq(hist_index(hi), i);
		next = hi + 1;
	}
	cr_assert_eq(next, 1ull << 40);
	cr_assert_eq(hist_index(1ull << 41), HIST_NBUCKETS - 1, "beyond the range: the last bucket");
}

/* The same bounds as bench/loadgen/hist.c with sub_bits 8, max_bits 40
 * (figures printed by that code), so server and client figures line up. */
Test(khist, same_buckets_as_the_load_generator)
{
	static const struct { u64 v; u32 idx; u64 lo, hi; } want[] = {
		{ 0ULL, 0, 0ULL, 0ULL },
		{ 255ULL, 255, 255ULL, 255ULL },
		{ 256ULL, 256, 256ULL, 257ULL },
		{ 1000ULL, 506, 1000ULL, 1003ULL },
		{ 12345ULL, 960, 12288ULL, 12351ULL },
		{ 1000000ULL, 1780, 999424ULL, 1003519ULL },
		{ 123456789ULL, 2667, 123207680ULL, 123731967ULL },
		{ 999999999999ULL, 4328, 996432412672ULL, 1000727379967ULL },
		{ 1099511627775ULL, 4351, 1095216660480ULL, 1099511627775ULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		u32 x = hist_index(want[i].v);
		cr_assert_eq(x, want[i].idx, "index of %llu", (unsigned long long)want[i].v);
		cr_assert_eq(hist_bucket_lo(x), want[i].lo);
		cr_assert_eq(hist_bucket_hi(x), want[i].hi);
	}
}

Test(khist, empty)
{
	struct hist *h = new_hist();
	cr_assert_eq(hist_percentile(h, 500000), 0);
	cr_assert_eq(hist_percentile(h, HIST_PPM), 0);
	cr_assert_eq(hist_count_le(h, 1000), 0);
	free(h);
}

/* 1 .. 100000 once each: every percentile is the true value, or above it
 * by less than a bucket (0.79%); count, sum, min and max are exact */
Test(khist, uniform_distribution)
{
	struct hist *h = new_hist();
	const u64 n = 100000;
	for (u64 v = n; v >= 1; v--)
		hist_record(h, v);
	cr_assert_eq(h->count, n);
	cr_assert_eq(h->sum, n * (n + 1) / 2);
	cr_assert_eq(h->min, 1);
	cr_assert_eq(h->max, n);
	static const u32 ppm[] = { 500000, 900000, 990000, 999000, 999990 };
	for (size_t i = 0; i < ARRAY_SIZE(ppm); i++) {
		u64 truth = n * ppm[i] / HIST_PPM;
		u64 got = hist_percentile(h, ppm[i]);
		cr_assert_geq(got, truth, "p%u: %llu below the true %llu", ppm[i],
			      (unsigned long long)got, (unsigned long long)truth);
		cr_assert_leq(got, truth + truth / 128, "p%u: %llu too far above %llu", ppm[i],
			      (unsigned long long)got, (unsigned long long)truth);
	}
	cr_assert_eq(hist_percentile(h, HIST_PPM), n, "p100 is the exact maximum");
	cr_assert_eq(hist_percentile(h, 0), 1, "p0 is the exact minimum");
	free(h);
}

/* 990 requests at 100 us and 10 at 10 ms: p50..p99 are the fast bucket,
 * p99.9 the slow one (rank 999 of 1000), and both are capped by the max */
Test(khist, two_point_distribution_ranks)
{
	struct hist *h = new_hist();
	for (int i = 0; i < 990; i++)
		hist_record(h, 100000);
	for (int i = 0; i < 10; i++)
		hist_record(h, 10000000);
	u64 fast = hist_bucket_hi(hist_index(100000));
	cr_assert_eq(hist_percentile(h, 500000), fast);
	cr_assert_eq(hist_percentile(h, 990000), fast, "rank 990 is the last fast one");
	cr_assert_eq(hist_percentile(h, 991000), 10000000, "rank 991 is slow (capped at the max)");
	cr_assert_eq(hist_percentile(h, 999000), 10000000);
	cr_assert_eq(hist_percentile(h, HIST_PPM), 10000000);
	free(h);
}

/* cumulative counts never overstate: exact at bucket bounds, below a
 * bucket's width elsewhere, the total at or past the maximum */
Test(khist, count_le)
{
	struct hist *h = new_hist();
	for (u64 v = 1; v <= 10000; v++)
		hist_record(h, v);
	cr_assert_eq(hist_count_le(h, 0), 0);
	cr_assert_eq(hist_count_le(h, 200), 200, "exact below 256");
	cr_assert_eq(hist_count_le(h, 1003), 1003, "1003 ends a bucket");
	cr_assert_eq(hist_count_le(h, 1002), 999, "1002 is inside [1000, 1003]");
	u64 prev = 0;
	for (u64 v = 0; v <= 12000; v += 7) {
		u64 c = hist_count_le(h, v), truth = MIN(v, 10000);
		cr_assert_leq(c, truth);
		cr_assert_geq(c + truth / 128 + 1, truth, "count_le(%llu) = %llu", (unsigned long long)v,
			      (unsigned long long)c);
		cr_assert_geq(c, prev, "cumulative counts never fall");
		prev = c;
	}
	cr_assert_eq(hist_count_le(h, 10000), 10000);
	free(h);
}

Test(khist, saturation)
{
	struct hist *h = new_hist();
	hist_record(h, 5);
	hist_record(h, 1ull << 41);
	cr_assert_eq(h->saturated, 1);
	cr_assert_eq(h->buckets[HIST_NBUCKETS - 1], 1);
	cr_assert_eq(h->max, 1ull << 41, "the maximum stays exact");
	cr_assert_eq(hist_percentile(h, HIST_PPM), 1ull << 41);
	cr_assert_eq(hist_percentile(h, 999000), (1ull << 40) - 1, "the last bucket's bound");
	cr_assert_eq(hist_percentile(h, 500000), 5);
	free(h);
}

/* Parts written on four CPUs merge into exactly the histogram of all the
 * values recorded in one place. */
Test(khist, per_cpu_parts_merge)
{
	struct hist_pcpu p;
	struct hist_cpu *parts = new_parts(4);
	struct hist *one = new_hist(), *merged = new_hist();
	hist_pcpu_init(&p, parts, 4);
	u64 x = 12345;
	for (int i = 0; i < 40000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		u64 v = 1000 + (x >> 33) % 5000000;       /* 1 us .. 5 ms */
		host_set_cpu((unsigned)(x >> 20) % 4);
		hist_pcpu_record(&p, v);
		cr_assert_eq(this_cpu()->preempt_count, 0, "preemption enabled again");
		hist_record(one, v);
	}
	host_set_cpu(0);
	for (unsigned c = 0; c < 4; c++)
		cr_assert_gt(parts[c].h.count, 5000, "CPU %u recorded its share", c);
	hist_pcpu_read(&p, merged);
	cr_assert_eq(merged->count, one->count);
	cr_assert_eq(merged->sum, one->sum);
	cr_assert_eq(merged->min, one->min);
	cr_assert_eq(merged->max, one->max);
	cr_assert_eq(memcmp(merged->buckets, one->buckets, sizeof(one->buckets)), 0);
	static const u32 ppm[] = { 500000, 900000, 990000, 999000, HIST_PPM };
	for (size_t i = 0; i < ARRAY_SIZE(ppm); i++)
		cr_assert_eq(hist_percentile(merged, ppm[i]), hist_percentile(one, ppm[i]));
	cr_assert_eq(p.lost, 0);
	free(parts);
	free(one);
	free(merged);
}

Test(khist, cpu_without_a_part_is_counted_lost)
{
	struct hist_pcpu p;
	struct hist_cpu *parts = new_parts(2);
	struct hist *m = new_hist();
	hist_pcpu_init(&p, parts, 2);
	host_set_cpu(5);
	hist_pcpu_record(&p, 100);
	host_set_cpu(1);
	hist_pcpu_record(&p, 200);
	host_set_cpu(0);
	hist_pcpu_read(&p, m);
	cr_assert_eq(m->count, 1);
	cr_assert_eq(m->max, 200);
	cr_assert_eq(p.lost, 1);
	free(parts);
	free(m);
}

/* After a reset the old figures are gone from every part, though only the
 * CPUs that record again clear their own */
Test(khist, reset_starts_a_new_generation)
{
	struct hist_pcpu p;
	struct hist_cpu *parts = new_parts(3);
	struct hist *m = new_hist();
	hist_pcpu_init(&p, parts, 3);
	for (unsigned c = 0; c < 3; c++) {
		host_set_cpu(c);
		for (int i = 0; i < 10; i++)
			hist_pcpu_record(&p, 1000000 * (c + 1));
	}
	host_set_cpu(0);
	hist_pcpu_read(&p, m);
	cr_assert_eq(m->count, 30);
	hist_pcpu_reset(&p);
	hist_pcpu_read(&p, m);
	cr_assert_eq(m->count, 0, "nothing after a reset");
	cr_assert_eq(hist_percentile(m, 990000), 0);
	host_set_cpu(2);
	hist_pcpu_record(&p, 7000);
	host_set_cpu(0);
	hist_pcpu_read(&p, m);
	cr_assert_eq(m->count, 1, "only the new record");
	cr_assert_eq(m->min, 7000);
	cr_assert_eq(m->max, 7000);
	cr_assert_eq(m->sum, 7000);
	cr_assert_eq(parts[1].h.count, 10, "CPU 1's old part is left alone ...");
	cr_assert_neq(parts[1].gen, p.gen, "... and ignored");
	host_set_cpu(1);
	hist_pcpu_record(&p, 8000);
	host_set_cpu(0);
	cr_assert_eq(parts[1].h.count, 1, "CPU 1 cleared its part at its next record");
	hist_pcpu_read(&p, m);
	cr_assert_eq(m->count, 2);
	cr_assert_eq(m->max, 8000);
	free(parts);
	free(m);
}

/* Four threads (CPUs 1-4) record while the main thread (CPU 0) merges:
 * no sanitizer report, counts only grow, each merge is self-consistent,
 * and the final merge has every record. */
struct writer {
	pthread_t thread;
	unsigned cpu;
	struct hist_pcpu *p;
};

#define PER_WRITER 200000

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	host_set_cpu(w->cpu);
	for (u64 i = 0; i < PER_WRITER; i++)
		hist_pcpu_record(w->p, 100 + (i * 7919) % 1000000);
	return NULL;
}

Test(khist, concurrent_writers_and_reader)
{
	struct hist_pcpu p;
	struct hist_cpu *parts = new_parts(5);
	struct hist *m = new_hist();
	struct writer w[4];
	hist_pcpu_init(&p, parts, 5);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){ .cpu = (unsigned)i + 1, .p = &p };
		cr_assert_eq(pthread_create(&w[i].thread, NULL, writer_main, &w[i]), 0);
	}
	u64 prev = 0;
	for (int r = 0; r < 50; r++) {
		hist_pcpu_read(&p, m);
		u64 sum = 0;
		for (u32 i = 0; i < HIST_NBUCKETS; i++)
			sum += m->buckets[i];
		cr_assert_eq(sum, m->count, "a merge's count is its buckets'");
		cr_assert_geq(m->count, prev);
		cr_assert_leq(hist_percentile(m, 500000), hist_percentile(m, 990000));
		cr_assert_leq(hist_percentile(m, 990000), hist_percentile(m, HIST_PPM));
		prev = m->count;
	}
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_join(w[i].thread, NULL), 0);
	hist_pcpu_read(&p, m);
	cr_assert_eq(m->count, 4 * PER_WRITER);
	cr_assert_eq(m->min, 100);
	free(parts);
	free(m);
}
