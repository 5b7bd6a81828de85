/* The profiler's tables, shared by prof.c and prof_repl.c (private). */
#ifndef PROF_PROF_PRIV_H
#define PROF_PROF_PRIV_H

#include "kernel/prof/prof.h"
#include "kernel/arch/arch.h"

#define PROF_DEPTH 20          /* frames kept of one stack */
#define PROF_TABLE_ORDER 7     /* 2^7 pages: 512 KiB a CPU */
#define PROF_TABLE_BYTES ((u64)PAGE_SIZE << PROF_TABLE_ORDER)
#define PROF_PROBES 32         /* slots tried before a new stack is dropped */

/* pseudo frames (no kernel function starts this low) */
#define PROF_FRAME_IDLE 1
#define PROF_FRAME_IRQ  2
#define PROF_FRAME_USER 3

/* One distinct stack. Written only by its CPU's NMI handler: depth and fn
 * first, hash last (release), so a reader that sees hash != 0 (acquire)
 * sees the whole stack; count grows afterwards (relaxed). */
struct prof_stack {
	u64 hash;                  /* [atomic] 0: empty slot */
	u32 depth;
	u32 reserved;
	u64 count;                 /* [atomic] */
	u64 fn[PROF_DEPTH];        /* function addresses, innermost first */
};

struct prof_cpu {
	struct prof_stack *tab;    /* [M] allocated once, cleared by prof_start */
	u32 nslots;                /* [M] */
	u64 samples;               /* [atomic] recorded in tab */
	u64 dropped;               /* [atomic] table full, or no table */
	u64 truncated;             /* [atomic] recorded without outer frames */
} __aligned(CACHELINE);

/* [M]: the profiler's mutex (prof.c) */
extern struct prof_cpu prof_cpus[MAX_CPUS];

struct prof_status {
	bool running, ever;        /* sampling now; a profile exists */
	unsigned hz;
	u64 start_ns, stop_ns;     /* stop_ns 0 while running */
};
void prof_status(struct prof_status *st);
/* The entry of cpu's table holding stack (fn, depth), or NULL. */
const struct prof_stack *prof_find(unsigned cpu, const u64 *fn, u32 depth, u64 hash);

#endif
