/*
 * The GC heap: typed objects that a tracing collector frees once nothing
 * points at them.
 *
 * Objects. A type descriptor names an object's size and the byte offsets of
 * its pointer fields (marking is precise inside objects):
 *
 *     struct node { u64 key; struct node *left, *right; };
 *     static const u32 node_ptrs[] = { offsetof(struct node, left),
 *                                      offsetof(struct node, right) };
 *     static const struct gc_type node_type = GC_TYPE("node", struct node, node_ptrs);
 *     struct node *n = gc_new(&node_type);      zeroed, never NULL
 *
 * A type with .nptrs = GC_ALL_WORDS treats every aligned word of the object
 * as a pointer (tables of pointers). A slot is [8-byte header: the type]
 * [object], in size classes of 32 bytes to 4 KiB carved from 32 KiB spans;
 * larger objects get spans of their own. Each CPU allocates from spans it
 * owns, without a lock.
 *
 * Stores. Every store of a pointer into a field of a heap object goes
 * through GC_STORE(obj, field, val): marking runs while the mutators run,
 * and the barrier (Dijkstra's: the stored value is shaded while marking)
 * is what keeps the collector from missing an object that moves from a
 * stack into an object it has already scanned. Stores into stacks,
 * registered roots and non-heap memory need no barrier. Neither gc_new nor
 * GC_STORE may be used in interrupt context (DESIGN principle 6).
 *
 * Roots: registered ranges (gc_root_add), the per-CPU data, and the kernel
 * stack of every thread, scanned conservatively: any word that points into
 * an allocated object keeps that object (interior pointers count). An
 * object is freed by the first sweep after a collection that found it
 * unreachable: every unreachable object is gone after two collections.
 *
 * Collections. A collector thread runs a cycle when the heap in use passes
 * twice what the last cycle found live (or on gc_collect): a short pause
 * (every other CPU parked in its scheduler loop) turns the barrier on;
 * marking runs concurrently; a second short pause rescans the stacks and
 * roots, finishes marking and turns the barrier off; spans are then swept
 * lazily, by the CPU that next allocates from them, and by the collector.
 *
 * Reservations (DESIGN principle 7). Code that allocates (a system call,
 * a kernel thread's unit of work) reserves its worst case first, while it
 * holds no lock:
 *
 *     struct gc_resv r;
 *     int err = gc_reserve(&r, 2 * gc_cost(&node_type), "sys_foo");
 *     if (err) return err;              -ENOMEM, at entry, never mid-way
 *     ... gc_new() cannot fail now ...
 *     gc_unreserve(&r);
 *
 * gc_reserve waits (running the collector, waiting for other reservations
 * to end) while the heap is short; it fails with -ENOMEM only when repeated
 * collections cannot make room. Reservations nest (the innermost pays).
 * Every allocation is charged to the current thread's reservation; one
 * that exceeds it, or allocates with none, panics (gc.check=0 counts
 * instead). gc_cost(type) is what one object of the type is charged.
 *
 * The heap is bounded by gc.heap_max (bytes): reservations are admitted
 * while live-or-unswept bytes plus outstanding reservations stay under 7/8
 * of it; the rest absorbs size-class fragmentation. Spans past the bound,
 * which only fragmentation can need, are counted (gc.over_limit_spans).
 */
#ifndef GC_GC_H
#define GC_GC_H

#include "kernel/arch/arch.h"

#define GC_ALL_WORDS 0xffffffffu

struct gc_type {
	const char *name;
	u32 size;          /* bytes of the object */
	u32 nptrs;         /* entries in ptrs, or GC_ALL_WORDS */
	const u32 *ptrs;   /* byte offsets of pointer fields, 8-byte aligned */
};

#define GC_TYPE(nm, T, offsets) \
	{ .name = (nm), .size = sizeof(T), .nptrs = ARRAY_SIZE(offsets), .ptrs = (offsets) }
#define GC_TYPE_LEAF(nm, T) { .name = (nm), .size = sizeof(T), .nptrs = 0, .ptrs = NULL }

/* Allocate a zeroed object of type t (size t->size); never NULL. */
void *gc_new(const struct gc_type *t);
/* A zeroed object of `size` bytes (>= t->size), for variable-length
 * tables (GC_ALL_WORDS types). */
void *gc_new_sized(const struct gc_type *t, size_t size);
/* The type of a heap object (from its header), or NULL if p is not the
 * start of an allocated object. */
const struct gc_type *gc_type_of(const void *p);
/* Bytes one object of this type (or size) is charged. */
u64 gc_cost(const struct gc_type *t);
u64 gc_cost_sized(size_t size);

/* ---- the write barrier ---- */
extern u32 gc_marking;           /* [atomic] the barrier is on */
void gc_shade(const void *p);    /* slow path: mark p's object grey */

#define GC_STORE(obj, field, val)                                        \
	do {                                                             \
		__typeof__((obj)->field) __gc_v = (val);                 \
		preempt_disable();                                       \
		if (unlikely(__atomic_load_n(&gc_marking, __ATOMIC_RELAXED))) \
			gc_shade((const void *)(uptr)__gc_v);                             \
		(obj)->field = __gc_v;                                   \
		preempt_enable();                                        \
	} while (0)

/* ---- roots ---- */
/* Scan [p, p+len) conservatively in every collection; -ENOSPC when the
 * table (64 ranges) is full. */
int gc_root_add(const void *p, size_t len, const char *name);
void gc_root_remove(const void *p);

/* ---- reservations ---- */
struct gc_resv {
	u64 bytes;             /* reserved */
	u64 used;              /* charged so far */
	const char *what;
	struct gc_resv *outer;
	u64 magic;
};
int gc_reserve(struct gc_resv *r, u64 bytes, const char *what);
void gc_unreserve(struct gc_resv *r);

/* ---- collections ---- */
/* Run a full collection (and sweep) that starts after this call; waits. */
void gc_collect(void);
/* Check, in each collection's final pause, that every object reachable from
 * the roots is marked (a second, full mark); a failure panics naming it. */
void gc_set_verify(bool on);
void gc_set_check(bool on);
/* A new bound for reservations to be admitted against (tests). */
void gc_set_heap_max(u64 bytes);

struct gc_stats {
	u64 collections;
	u64 pauses, pause_max_ns, pause_total_ns, pause_p50_ns, pause_p99_ns;
	u64 pause_max_tsc;     /* the longest pause in TSC ticks */
	u64 stop_max_ns;       /* the longest part of a pause spent stopping the CPUs */
	u64 mark_ns, mark_last_ns, sweep_ns;
	u64 live_bytes;        /* marked by the last collection */
	u64 used_bytes;        /* allocated, live or not yet swept */
	u64 heap_bytes;        /* in spans */
	u64 heap_max;
	u64 reserved_bytes;    /* admitted, outstanding */
	u64 alloc_bytes, allocs, freed_bytes, frees;
	u64 alloc_rate;        /* bytes/s between the last two collections */
	u64 trigger_bytes;
	u64 spans, over_limit_spans;
	u64 resv_ok, resv_waits, resv_wait_ns, resv_wait_max_ns, resv_enomem;
	u64 unreserved_allocs, over_reservation;
	u64 verify_runs, verified_objects;
};
void gc_stats(struct gc_stats *s);

/* Boot: the heap's bounds (kmain, after mm_init), then the collector
 * thread (once threads run). */
void gc_init(void);
void gc_start_collector(void);

#endif
