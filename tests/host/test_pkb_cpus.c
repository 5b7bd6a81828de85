/*
 * zerocopy/pkb.c host tests: counters summed over CPUs, the first use racing
 * on several CPUs (fixture and checks: pkb_check.h).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/pkb_check.h"

/* ---- CPUs ---- */

struct worker {
	pthread_t thread;
	unsigned cpu;
	u64 read, written;
	const char *error;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	static const u8 src[3 * PAGE_SIZE];
	u8 dst[512];
	host_set_cpu(w->cpu);
	for (int i = 0; i < 400; i++) {
		struct pkb *b = pkb_alloc();
		if (!b || pkb_copy_in(b, src, (u32)(i % 3 + 1) * 1000) != 0) {
			w->error = "alloc or copy_in failed";
			return NULL;
		}
		w->written += (u32)(i % 3 + 1) * 1000;
		struct pkb *c = pkb_clone(b);
		w->read += pkb_copy_out(c, 10, dst, sizeof(dst));
		pkb_free(b);
		pkb_free(c);
	}
	return NULL;
}

/* Each thread counts on its own CPU's counters; the sums are exact. */
Test(pkb, counters_sum_over_cpus)
{
	struct worker w[4];
	struct pkb_copy_stats s0, s1;
	pkb_copy_stats(&s0);
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		w[i] = (struct worker){ .cpu = i + 1 };
		cr_assert_eq(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	}
	u64 read = 0, written = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
		cr_assert_eq(pthread_join(w[i].thread, NULL), 0);
		cr_assert_null(w[i].error, "cpu %u: %s", w[i].cpu, w[i].error);
		read += w[i].read;
		written += w[i].written;
	}
	pkb_copy_stats(&s1);
	cr_assert_eq(s1.bytes[PKB_COPY_TX_WRITE] - s0.bytes[PKB_COPY_TX_WRITE], written);
	cr_assert_eq(s1.events[PKB_COPY_TX_WRITE] - s0.events[PKB_COPY_TX_WRITE], 4 * 400);
	cr_assert_eq(s1.bytes[PKB_COPY_RX_READ] - s0.bytes[PKB_COPY_RX_READ], read);
	cr_assert_eq(read, 4 * 400 * 512);
	check_no_leaks();
}

/* pkb_init not called: the first pkb_alloc calls, racing on several CPUs,
 * create exactly one cache. */
#define RACERS 6
static pthread_barrier_t init_barrier;

static void *racer_main(void *arg)
{
	host_set_cpu((unsigned)(uptr)arg);
	pthread_barrier_wait(&init_barrier);
	struct pkb *b = pkb_alloc();
	pthread_barrier_wait(&init_barrier);
	pkb_free(b);
	return b;
}

Test(pkb_init, first_use_races_create_one_cache, .init = host_slab_init, .timeout = 60)
{
	pthread_t t[RACERS];
	void *got[RACERS];
	int count;
	cache_stats("pkb", &count);
	cr_assert_eq(count, 0, "the cache exists before first use");
	pthread_barrier_init(&init_barrier, NULL, RACERS);
	for (unsigned i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, racer_main, (void *)(uptr)(i + 1)), 0);
	for (unsigned i = 0; i < RACERS; i++) {
		cr_assert_eq(pthread_join(t[i], &got[i]), 0);
		cr_assert_not_null(got[i], "racer %u got no pkb", i);
	}
	pthread_barrier_destroy(&init_barrier);
	cache_stats("pkb", &count);
	cr_assert_eq(count, 1, "%d pkb caches", count);
	pkb_init();
	cache_stats("pkb", &count);
	cr_assert_eq(count, 1, "pkb_init after first use made another cache");
	cr_assert_eq(pkb_live(), 0);
}
