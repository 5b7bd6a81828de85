/*
 * What the packet-buffer host tests share (pkb_check.c). The fixture
 * (pkb_setup, the .init of the pkb suite) notes every page's refcount and
 * the free page count; check_no_leaks() asserts that a test that freed
 * everything left them as they were and pkb_live() at 0. Payloads are
 * filled with pattern(seed, i) and checked against a model; the copy
 * counters are checked with assert_no_copy. One test at a time (Criterion
 * runs each in its own process).
 */
#ifndef TESTS_HOST_PKB_CHECK_H
#define TESTS_HOST_PKB_CHECK_H

#include "zerocopy/pkb.h"
#include "tests/host/host.h"

#define MAXPAY ((u32)PKB_MAX_FRAGS * PAGE_SIZE)
#define NPFN (HOST_MEM_SIZE / PAGE_SIZE)

struct kmem_cache_stats cache_stats(const char *name, int *count);
void pkb_setup(void);
void check_no_leaks(void);
u8 pattern(u32 seed, u32 i);
/* A fresh payload of len bytes whose byte i is pattern(seed, i); model gets
 * the same bytes. */
struct pkb *make_payload(u32 len, u32 seed, u8 *model);
/* A page the test owns (like a page-cache page), filled with pattern(seed). */
struct page *pattern_page(u32 seed);
/* The structural invariants of pkb.c's header comment. */
void check_frags(const struct pkb *b);
extern u8 outbuf[MAXPAY + PAGE_SIZE];
void check_payload(const struct pkb *b, const u8 *model, u32 len);
bool same_stats(const struct pkb_copy_stats *a, const struct pkb_copy_stats *b);
/* The counters have not moved since *before; then *before = now. */
void assert_no_copy(struct pkb_copy_stats *before, const char *what);
/* The bytes the sg list describes, read back through the direct map, into
 * out; returns how many. */
u32 gather(const struct pkb_sg *sg, int n, u8 *out);

#endif
