/*
 * Log-linear latency histograms (HDR-style), fixed memory, no floating
 * point, and a per-CPU form that records without a lock.
 *
 * Buckets: the scheme of the load generator's histograms
 * (bench/loadgen/hist.h with sub_bits 8, max_bits 40), so that a server-side
 * figure and a client-side one come from the same bucket bounds. Values (in
 * nanoseconds, for the callers so far) below 256 have a bucket each; above,
 * every power of two [2^m, 2^(m+1)) is split into 128 buckets of equal
 * width, so a bucket is at most 1/128 (0.79%) of its lower bound wide.
 * Values at or above 2^40 (about 18 minutes in ns) land in the last bucket
 * and are counted in `saturated`; min, max and sum are kept exactly.
 *
 * Percentiles, in parts per million (p99.9 is 999000): the highest value of
 * the bucket that holds the requested rank (never an underestimate of a
 * latency), capped at the exact maximum; 0 when empty.
 *
 * One histogram, struct hist: one writer at a time (hist_record); readers
 * (hist_merge, hist_percentile, ...) may run concurrently on other CPUs
 * and see each field whole (relaxed atomic loads and stores), though not
 * necessarily all fields of one instant: hist_merge takes the count from
 * the buckets, so a merged histogram is always self-consistent.
 *
 * Per CPU, struct hist_pcpu: one struct hist_cpu per CPU, in memory the
 * caller provides (zeroed). hist_pcpu_record writes this CPU's part with
 * preemption disabled (no lock, no atomic read-modify-write); it must not be
 * called from interrupt handlers (an interrupted record would lose one).
 * hist_pcpu_read merges the parts, lock-free. hist_pcpu_reset starts a new
 * generation: parts of an older one count as empty, and each CPU clears its
 * own part at its next record, so nobody writes another CPU's part.
 */
#ifndef KLIB_HIST_H
#define KLIB_HIST_H

#include "kernel/lib/types.h"

#define HIST_SUB_BITS 8
#define HIST_MAX_BITS 40
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
#define HIST_NBUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 2) * HIST_HALF)
#define HIST_PPM 1000000u      /* hist_percentile(h, HIST_PPM) is the maximum */

struct hist {
	u64 count;             /* values recorded */
	u64 sum;               /* their sum (wraps after 2^64: 584 years of ns) */
	u64 min, max;          /* exact; min is meaningless while count is 0 */
	u64 saturated;         /* values >= 2^HIST_MAX_BITS */
	u64 buckets[HIST_NBUCKETS];
};

/* The bucket of v, and a bucket's value range [lo, hi]. */
u32 hist_index(u64 v);
u64 hist_bucket_lo(u32 i);
u64 hist_bucket_hi(u32 i);

void hist_clear(struct hist *h);
void hist_record(struct hist *h, u64 v);
/* Add `from` into `into` (into's writer is the caller). */
void hist_merge(struct hist *into, const struct hist *from);
/* The value at ppm parts per million of the recorded values (see above). */
u64 hist_percentile(const struct hist *h, u32 ppm);
/* How many recorded values are known to be <= v: the buckets whose whole
 * range is <= v (for cumulative bucket exports such as Prometheus'). */
u64 hist_count_le(const struct hist *h, u64 v);

struct hist_cpu {
	u64 gen;               /* [atomic] the generation h belongs to */
	struct hist h;         /* written by its own CPU only */
} __aligned(CACHELINE);

struct hist_pcpu {
	struct hist_cpu *cpu;  /* [once] ncpu parts, the caller's zeroed memory */
	unsigned ncpu;         /* [once] */
	u64 gen;               /* [atomic] bumped by hist_pcpu_reset */
	u64 lost;              /* [atomic] records from a CPU id >= ncpu */
};

void hist_pcpu_init(struct hist_pcpu *p, struct hist_cpu *mem, unsigned ncpu);
void hist_pcpu_record(struct hist_pcpu *p, u64 v);
/* out = the sum of the parts of the current generation. */
void hist_pcpu_read(const struct hist_pcpu *p, struct hist *out);
void hist_pcpu_reset(struct hist_pcpu *p);

#endif
