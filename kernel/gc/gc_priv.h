/*
 * GC heap internals, shared by the portable core (gc_heap.c: spans,
 * allocation, sweeping; gc_mark.c: marking and the cycle; gc_resv.c:
 * reservations) and its environment: kernel/gc/gc_kernel.c in the kernel,
 * tests/host/host_gc.c in the host tests.
 *
 * Locks, in order:
 *   [L] gc_classes[c].lock  a class's span lists
 *   [G] gc_grey.lock        the shared grey stack
 *   [R] gc_resv_lock        admitted bytes
 * [O] fields belong to the CPU that owns the span (its allocation cache),
 * or to whoever took the span off the lists to sweep it, with preemption
 * off. [A] fields are read and written atomically.
 *
 * Span states: on a class's `partial` or `full` list (swept), on its
 * `unswept` list (after a collection), in a CPU's cache, or being swept
 * (off every list, counted in sweeping). Marking runs only while no span
 * is unswept; sweeping runs only while marking does not, so the marker
 * never meets a span whose alloc bits are being rewritten.
 */
#ifndef GC_GC_PRIV_H
#define GC_GC_PRIV_H

#include "kernel/gc/gc.h"
#include "kernel/lib/list.h"
#include "kernel/lib/hist.h"
#include "kernel/sync/spinlock.h"

#define GC_SPAN_MAGIC 0x6cb0a7e5u
#define GC_SPAN_ORDER 3                        /* 32 KiB spans */
#define GC_SPAN_BYTES (PAGE_SIZE << GC_SPAN_ORDER)
#define GC_HDR 8                               /* the type word */
#define GC_MIN_SLOT 32
#define GC_SPAN_MAXOBJS (GC_SPAN_BYTES / GC_MIN_SLOT)
#define GC_BITWORDS (GC_SPAN_MAXOBJS / 64)
#define GC_NCLASSES 15
#define GC_LARGE GC_NCLASSES                   /* the class of large objects */
#define GC_WBUF 128                            /* per-CPU barrier buffer */

struct gc_span {
	u32 magic;
	u16 cls;
	u16 nobjs;
	u32 slot;              /* slot size */
	u32 order;             /* 2^order pages */
	u32 nfree;             /* [O] */
	u32 hint;              /* [O] where the next free-slot search starts */
	struct list_node link; /* [L] */
	struct list_node all;  /* [L of class] every span of the class */
	char *objs;
	u64 alloc[GC_BITWORDS];  /* [O] writes; [A] reads by the marker */
	u64 mark[GC_BITWORDS];   /* [A] */
	u64 vmark[GC_BITWORDS];  /* the verifying mark (inside a pause only) */
};

struct gc_class {
	spinlock_t lock;
	u32 slot;
	struct list_node partial, full, unswept;  /* [L] */
	struct list_node all;                     /* [L] */
	u64 nspans;                               /* [L] */
} __aligned(CACHELINE);

struct gc_pcpu {
	struct gc_span *cur[GC_NCLASSES];  /* this CPU's allocation spans */
	u32 nwbuf;
	uptr wbuf[GC_WBUF];                /* shaded objects not yet on the grey stack */
	/* counters, written by this CPU with preemption off */
	u64 alloc_bytes, allocs, freed_bytes, frees, marked_bytes;
} __aligned(CACHELINE);

/* A stack of object addresses in chunks of one page each (page_alloc). */
struct gc_stack {
	struct gc_chunk *top;
	u64 n;
};

struct gc_state {
	u64 heap_max;                 /* bytes; set at boot */
	u64 heap_pages;               /* [A] in spans */
	u64 nspans;                   /* [A] */
	uptr lo, hi;                  /* [A] address bounds of every span so far */
	u64 trigger;                  /* [A] start a cycle when used passes it */
	u64 live;                     /* marked by the last cycle */
	u64 sweeping;                 /* [A] spans being swept right now */
	bool verify, check;
	/* statistics (written by the collector) */
	u64 cycles, pauses, pause_total_ns, pause_max_ns, mark_ns, mark_last_ns, sweep_ns;
	u64 pause_max_tsc;             /* TSC ticks: guest instructions under -icount */
	u64 stop_max_ns;               /* the longest wait for the other CPUs to park */
	u64 verify_runs, verified_objects;
	u64 over_limit_spans;         /* [A] */
	u64 unreserved_allocs, over_reservation;  /* [A] */
	u64 alloc_rate, rate_t0, rate_bytes0;
	struct hist pause_hist;       /* one writer: the collector */
};

extern struct gc_state gc;
extern struct gc_class gc_classes[GC_NCLASSES + 1];
extern struct gc_pcpu gc_pcpu[MAX_CPUS];

/* ---- gc_heap.c ---- */
void gc_heap_init(u64 heap_max);
struct gc_span *gc_span_of(uptr p);
/* The slot index of p in s, or -1 if p is outside its slots. */
int gc_slot_of(const struct gc_span *s, uptr p);
static inline bool gc_bit(const u64 *map, unsigned i)
{
	return (__atomic_load_n(&map[i / 64], __ATOMIC_ACQUIRE) >> (i % 64)) & 1;
}
/* Return every CPU's allocation spans to their classes (inside a pause). */
void gc_flush_caches(void);
/* Move every swept span to its class's unswept list (inside the final pause). */
void gc_rotate_unswept(void);
/* Sweep every unswept span; returns how many were swept. */
u64 gc_sweep_all(void);
u64 gc_used_bytes(void);
/* Call fn for every span (inside a pause). */
void gc_for_each_span(void (*fn)(struct gc_span *s, void *arg), void *arg);

/* ---- gc_mark.c ---- */
void gc_mark_init(void);            /* (gc_heap_init) empty stacks, no roots */
typedef void (*gc_visit_fn)(uptr word);
void gc_scan_range(const void *lo, const void *hi, gc_visit_fn visit);
void gc_mark_word(uptr w);          /* the marker's visit: grey if white */
void gc_cycle_begin(void);          /* first pause: the barrier on */
bool gc_mark_some(u64 budget);      /* concurrent marking; true when no grey left */
void gc_cycle_end(void);            /* final pause and statistics */
void gc_cycle_run(void);            /* begin, mark, end, sweep */

/* ---- gc_resv.c ---- */
extern spinlock_t gc_resv_lock;
extern u64 gc_admitted;             /* [R] */
extern u64 gc_resv_ok, gc_resv_waits, gc_resv_wait_ns, gc_resv_wait_max_ns, gc_resv_enomem;
void gc_charge(u64 bytes, const struct gc_type *t);

/* ---- the environment (kernel: gc_kernel.c; host tests: host_gc.c) ---- */
/* Park every other CPU at a safe point (preemption on, outside GC_STORE and
 * gc_new) and keep this thread on its CPU; start_world undoes it. */
void gc_env_stop_world(void);
void gc_env_start_world(void);
/* Visit the thread stacks and the per-CPU data conservatively (world
 * stopped). */
void gc_env_scan_roots(gc_visit_fn visit);
/* The slot of the current thread's innermost reservation. */
struct gc_resv **gc_env_resv_slot(void);
/* Ask for a collection without waiting (allocation path, preemption off). */
void gc_env_kick(void);
/* Run a collection that starts after the call, and wait for its sweep. */
void gc_env_collect(void);
/* Wait (up to ns) for some reservation to end; false when none is out. */
bool gc_env_wait_unreserve(u64 ns);
void gc_env_unreserved(void);       /* a reservation ended */

#endif
