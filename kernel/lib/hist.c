/*
 * Log-linear histograms; the layout and the rules are in hist.h.
 *
 * Index of a value v, with H = HIST_HALF = 2^(sub_bits-1): values below 2H
 * are their own index; above, shift = msb(v) - (sub_bits-1) puts
 * top = v >> shift in [H, 2H) and the index is shift * H + top.
 * Consecutive shifts tile the index space without gaps. This is the
 * load generator's formula (bench/loadgen/hist.c), written again here.
 *
 * Every field a reader may look at concurrently is read and written with
 * relaxed atomic loads and stores: plain moves on x86-64, never torn, and
 * no read-modify-write (the writer is alone).
 */
#include "kernel/lib/hist.h"
#include "kernel/arch/arch.h"

#define HIST_TOP ((1ull << HIST_MAX_BITS) - 1)   /* the largest value kept apart */

static inline u64 ld(const u64 *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void st(u64 *p, u64 v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

static unsigned msb64(u64 v) { return 63u - (unsigned)__builtin_clzll(v); }

u32 hist_index(u64 v)
{
	if (v > HIST_TOP)
		v = HIST_TOP;
	if (v < 2 * HIST_HALF)
		return (u32)v;
	unsigned shift = msb64(v) - (HIST_SUB_BITS - 1);
	return (u32)(shift * HIST_HALF + (v >> shift));
}

u64 hist_bucket_lo(u32 i)
{
	if (i < 2 * HIST_HALF)
		return i;
	u64 shift = i / HIST_HALF - 1;
	return (i - shift * HIST_HALF) << shift;
}

u64 hist_bucket_hi(u32 i)
{
	if (i < 2 * HIST_HALF)
		return i;
	u64 shift = i / HIST_HALF - 1;
	return hist_bucket_lo(i) + (1ull << shift) - 1;
}

void hist_clear(struct hist *h)
{
	st(&h->count, 0);
	st(&h->sum, 0);
	st(&h->min, 0);
	st(&h->max, 0);
	st(&h->saturated, 0);
	for (u32 i = 0; i < HIST_NBUCKETS; i++)
		st(&h->buckets[i], 0);
}

void hist_record(struct hist *h, u64 v)
{
	u32 i = hist_index(v);
	u64 n = ld(&h->count);
	st(&h->buckets[i], ld(&h->buckets[i]) + 1);
	if (v > HIST_TOP)
		st(&h->saturated, ld(&h->saturated) + 1);
	if (n == 0 || v < ld(&h->min))
		st(&h->min, v);
	if (n == 0 || v > ld(&h->max))
		st(&h->max, v);
	st(&h->sum, ld(&h->sum) + v);
	st(&h->count, n + 1);
}

void hist_merge(struct hist *into, const struct hist *from)
{
	u64 n = 0;
	for (u32 i = 0; i < HIST_NBUCKETS; i++) {
		u64 c = ld(&from->buckets[i]);
		into->buckets[i] += c;
		n += c;
	}
	if (n == 0)
		return;
	u64 mn = ld(&from->min), mx = ld(&from->max);
	if (into->count == 0 || mn < into->min)
		into->min = mn;
	if (into->count == 0 || mx > into->max)
		into->max = mx;
	into->count += n;
	into->sum += ld(&from->sum);
	into->saturated += ld(&from->saturated);
}

u64 hist_percentile(const struct hist *h, u32 ppm)
{
	u64 total = ld(&h->count), mx = ld(&h->max);
	if (total == 0)
		return 0;
	if (ppm == 0)
		return ld(&h->min);
	if (ppm >= HIST_PPM)
		return mx;
	/* rank = ceil(total * ppm / 10^6), without overflowing 64 bits */
	u64 q = total / HIST_PPM, r = total % HIST_PPM;
	u64 rank = q * ppm + (r * ppm + HIST_PPM - 1) / HIST_PPM;
	u64 seen = 0;
	if (rank == 0)
		rank = 1;
	for (u32 i = 0; i < HIST_NBUCKETS; i++) {
		seen += ld(&h->buckets[i]);
		if (seen >= rank) {
			u64 hi = hist_bucket_hi(i);
			return hi < mx ? hi : mx;
		}
	}
	return mx;
}

u64 hist_count_le(const struct hist *h, u64 v)
{
	u64 total = ld(&h->count);
	if (total == 0 || v >= ld(&h->max))
		return total;
	u32 last = hist_index(v);
	if (hist_bucket_hi(last) > v) {
		if (last == 0)
			return 0;
		last--;
	}
	u64 n = 0;
	for (u32 i = 0; i <= last; i++)
		n += ld(&h->buckets[i]);
	return n;
}

/* ---- per CPU ---- */

void hist_pcpu_init(struct hist_pcpu *p, struct hist_cpu *mem, unsigned ncpu)
{
	p->cpu = mem;
	p->ncpu = ncpu;
	p->gen = 0;
	p->lost = 0;
	for (unsigned c = 0; c < ncpu; c++)
		mem[c].gen = 0;
}

void hist_pcpu_record(struct hist_pcpu *p, u64 v)
{
	preempt_disable();
	unsigned c = cpu_id();
	if (unlikely(c >= p->ncpu)) {
		__atomic_fetch_add(&p->lost, 1, __ATOMIC_RELAXED);
	} else {
		struct hist_cpu *hc = &p->cpu[c];
		u64 g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&hc->gen, __ATOMIC_RELAXED) != g) {
			/* the first record since a reset: start this part afresh;
			 * readers skip it until the new generation is published */
			hist_clear(&hc->h);
			__atomic_store_n(&hc->gen, g, __ATOMIC_RELEASE);
		}
		hist_record(&hc->h, v);
	}
	preempt_enable();
}

void hist_pcpu_read(const struct hist_pcpu *p, struct hist *out)
{
	hist_clear(out);
	u64 g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
	for (unsigned c = 0; c < p->ncpu; c++)
		if (__atomic_load_n(&p->cpu[c].gen, __ATOMIC_ACQUIRE) == g)
			hist_merge(out, &p->cpu[c].h);
}

void hist_pcpu_reset(struct hist_pcpu *p)
{
	__atomic_fetch_add(&p->gen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&p->lost, 0, __ATOMIC_RELAXED);
}
