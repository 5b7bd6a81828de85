/*
 * Host side of the unit tests (tier 1): what tests/host/host_arch.c provides
 * besides the kernel/arch/arch.h names, and the shared fixtures.
 *
 * CPUs. Each pthread is one "CPU": it calls host_set_cpu(id) with an id no
 * other live thread uses (0 is the main thread's, and the default). Locks
 * record their owner by CPU id, so two threads sharing an id would look like
 * a recursive acquisition and panic.
 *
 * Panics. panic() prints its message on stderr and abort()s, so a test that
 * expects a panic declares `.signal = SIGABRT`. To make sure it dies for the
 * right reason, it first calls host_expect_panic("words of the message"):
 * a panic whose message lacks them exits with HOST_WRONG_PANIC_STATUS instead
 * of SIGABRT, and the test fails. AddressSanitizer and UBSan reports end the
 * process with an exit status too (never SIGABRT), so they fail any test,
 * death tests included.
 *
 * Known kernel bugs have a test of the right behaviour marked
 * `.disabled = true` under a comment that says what is wrong: Criterion
 * reports it as skipped until the fix lands and the test is enabled.
 *
 * Memory. host_mm_init() gives the page allocator a fresh 64 MiB "physical
 * memory" arena laid out as described below; host_slab_init() adds the
 * object allocator on top. Criterion runs each test in its own process, so
 * each test starts from the same state. Reserved ranges of the arena are
 * poisoned for AddressSanitizer: a kernel access there is reported.
 */
#ifndef TESTS_HOST_HOST_H
#define TESTS_HOST_HOST_H

#include "kernel/arch/arch.h"

/* The arena: physical address pa lives at host_direct_base + pa. */
#define HOST_MEM_SIZE   MiB(64)
#define HOST_MEM_ALIGN  MiB(4)
#define HOST_USABLE_LO  MiB(1)          /* the one usable range [LO, SIZE) */
#define HOST_KERNEL_LO  0x200000ULL     /* the "kernel image", reserved */
#define HOST_KERNEL_HI  0x400000ULL
#define HOST_LIMIT      (1ULL << 32)    /* the early/late split, as on a PC */

#define HOST_WRONG_PANIC_STATUS 99

void host_set_cpu(unsigned id);
void host_expect_panic(const char *substring);

void host_mm_init(void);     /* page_init_early + page_init_late */
void host_slab_init(void);   /* host_mm_init + slab_init */
/* The pieces of host_mm_init, for tests with their own memory map: a fresh
 * arena (host_direct_base set, the first MiB poisoned), and the default
 * boot_info described above. */
void host_arena_init(void);
void host_default_boot_info(struct boot_info *bi);
extern struct boot_info host_boot_info;
extern void *host_arena;

/* Physical range [lo, hi) is memory the page allocator may hand out: inside
 * the usable range and clear of the first MiB, the kernel image and the
 * struct page array. */
bool host_phys_allocatable(u64 lo, u64 hi);

#endif
