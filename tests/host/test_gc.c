/*
 * kernel/gc: the GC heap's allocator and collector on the host, with a
 * simulated stack as a root (tests/host/host_gc.c). Randomised object
 * graphs, cycles included: every object reachable from the roots survives
 * a collection with its contents intact, and every unreachable one is
 * freed within two collections; marking interleaved with mutations through
 * GC_STORE keeps what is reachable at its end; a store that bypasses the
 * barrier is caught by the verifying mark; reservations are enforced.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/host_gc.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

#define HEAP_MAX MiB(24)

static void init(void)
{
	host_gc_init(HEAP_MAX);
	gc_set_verify(true);
}

TestSuite(gc, .init = init, .timeout = 120);

#define NF 3
struct obj {
	u64 id;
	struct obj *f[NF];
	u64 pad;
};
static const u32 obj_ptrs[] = { offsetof(struct obj, f[0]), offsetof(struct obj, f[1]),
				offsetof(struct obj, f[2]) };
static const struct gc_type obj_type = GC_TYPE("obj", struct obj, obj_ptrs);
/* a table: every word a pointer (or not: conservative within it) */
static const struct gc_type tab_type = { .name = "tab", .size = 8, .nptrs = GC_ALL_WORDS };

static u64 rng = 1;
static u64 rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

/* ---- the model: every object allocated, by address ---- */
#define MAXOBJ 20000
static struct mobj {
	uptr addr;
	u64 size;             /* object bytes */
	bool tab;
	bool reach;
	bool freed;
	u64 snapshot[8];      /* the first words, to check contents survive */
} mobjs[MAXOBJ];
static int nobj;

static struct obj *groots[16];     /* registered root */
static uptr sstack[32];            /* simulated stack */

static struct mobj *find(uptr p)
{
	for (int i = 0; i < nobj; i++)   /* small enough for a linear scan */
		if (!mobjs[i].freed && p >= mobjs[i].addr && p < mobjs[i].addr + mobjs[i].size)
			return &mobjs[i];
	return NULL;
}

static void *alloc_obj(void)
{
	cr_assert(nobj < MAXOBJ);
	struct mobj *m = &mobjs[nobj++];
	memset(m, 0, sizeof(*m));
	if (rnd() % 5 == 0) {
		/* tables of 1 to 700 words: small classes and large spans */
		u64 words = 1 + rnd() % (rnd() % 8 == 0 ? 700 : 40);
		m->size = words * 8;
		m->tab = true;
		m->addr = (uptr)gc_new_sized(&tab_type, m->size);
		cr_assert(gc_type_of((void *)m->addr) == &tab_type);
	} else {
		m->size = sizeof(struct obj);
		m->addr = (uptr)gc_new(&obj_type);
		cr_assert(gc_type_of((void *)m->addr) == &obj_type);
	}
	for (u64 k = 0; k < m->size; k++)
		cr_assert(((u8 *)m->addr)[k] == 0, "gc_new returned dirty memory: byte %llu of %llu (%s) is %#x", (unsigned long long)k, (unsigned long long)m->size, m->tab ? "tab" : "obj", ((u8 *)m->addr)[k]);
	if (!m->tab)
		((struct obj *)m->addr)->id = (u64)nobj;
	return (void *)m->addr;
}

static struct mobj *random_live(void)
{
	for (int tries = 0; tries < 64 && nobj; tries++) {
		struct mobj *m = &mobjs[rnd() % (u64)nobj];
		if (!m->freed)
			return m;
	}
	return NULL;
}

/* Store v into a random pointer field of m, through the barrier. */
static void store_random_field(struct mobj *m, uptr v)
{
	if (m->tab) {
		uptr *w = (uptr *)m->addr + rnd() % (m->size / 8);
		struct { uptr w; } *holder = (void *)w;
		GC_STORE(holder, w, v);
	} else {
		struct obj *o = (struct obj *)m->addr;
		GC_STORE(o, f[rnd() % NF], (struct obj *)v);
	}
}

static void mutate(int steps)
{
	for (int s = 0; s < steps; s++) {
		struct mobj *a = random_live(), *b = random_live();
		switch (rnd() % 8) {
		case 0:
		case 1: { /* a new object linked from a live one or a root */
			void *n = alloc_obj();
			if (a && rnd() % 2)
				store_random_field(a, (uptr)n);
			else
				groots[rnd() % 16] = n;
			break;
		}
		case 2: /* link (makes cycles) */
			if (a && b)
				store_random_field(a, b->addr);
			break;
		case 3: /* cut a link */
			if (a)
				store_random_field(a, 0);
			break;
		case 4: /* the stack: an exact, an interior or a junk word */
			if (b) {
				u64 k = rnd() % 3;
				sstack[rnd() % 32] = k == 0 ? b->addr
						   : k == 1 ? b->addr + rnd() % b->size
							    : rnd() % 4096;
			}
			break;
		case 5:
			sstack[rnd() % 32] = 0;
			break;
		case 6:
			if (b)
				groots[rnd() % 16] = (struct obj *)b->addr;
			break;
		default:
			groots[rnd() % 16] = NULL;
			break;
		}
	}
}

/* The model's view: what the roots reach now, following every field. */
static void reach_from(uptr p, struct mobj **stack, int *sp)
{
	struct mobj *m = find(p);
	if (!m || m->reach)
		return;
	m->reach = true;
	stack[(*sp)++] = m;
}

static int compute_reach(void)
{
	static struct mobj *stack[MAXOBJ];
	int sp = 0, n = 0;
	for (int i = 0; i < nobj; i++)
		mobjs[i].reach = false;
	for (int i = 0; i < 16; i++)
		reach_from((uptr)groots[i], stack, &sp);
	for (int i = 0; i < 32; i++)
		reach_from(sstack[i], stack, &sp);
	while (sp) {
		struct mobj *m = stack[--sp];
		n++;
		if (m->tab) {
			for (u64 k = 0; k < m->size / 8; k++)
				reach_from(((uptr *)m->addr)[k], stack, &sp);
		} else {
			for (int k = 0; k < NF; k++)
				reach_from((uptr)((struct obj *)m->addr)->f[k], stack, &sp);
		}
	}
	for (int i = 0; i < nobj; i++)
		if (mobjs[i].reach)
			memcpy(mobjs[i].snapshot, (void *)mobjs[i].addr, MIN(mobjs[i].size, 64));
	return n;
}

static void check_reachable_survived(void)
{
	for (int i = 0; i < nobj; i++) {
		struct mobj *m = &mobjs[i];
		if (!m->reach)
			continue;
		cr_assert(gc_type_of((void *)m->addr) == (m->tab ? &tab_type : &obj_type),
			  "reachable object %d (%#lx) was freed", i, (unsigned long)m->addr);
		cr_assert(memcmp(m->snapshot, (void *)m->addr, MIN(m->size, 64)) == 0,
			  "reachable object %d changed", i);
	}
}

/* After the collection(s) the caller ran: the unreachable are gone. */
static int check_unreachable_freed(void)
{
	int freed = 0;
	for (int i = 0; i < nobj; i++) {
		struct mobj *m = &mobjs[i];
		if (m->reach || m->freed)
			continue;
		cr_assert(gc_type_of((void *)m->addr) == NULL,
			  "unreachable object %d (%#lx) survived two collections", i,
			  (unsigned long)m->addr);
		m->freed = true;
		freed++;
	}
	return freed;
}

static bool roots_added;

/* Empty roots and an empty heap (objects of an earlier seed collected). */
static void setup_roots(void)
{
	memset(groots, 0, sizeof(groots));
	memset(sstack, 0, sizeof(sstack));
	if (!roots_added) {
		cr_assert(gc_root_add(groots, sizeof(groots), "groots") == 0);
		host_gc_stack(sstack, sizeof(sstack));
		roots_added = true;
	}
	gc_collect();
	struct gc_stats s;
	gc_stats(&s);
	cr_assert(s.used_bytes == 0 && s.heap_bytes == 0, "used %llu heap %llu after a reset",
		  (unsigned long long)s.used_bytes, (unsigned long long)s.heap_bytes);
	nobj = 0;
}

Test(gc, sizes_and_types)
{
	struct gc_resv r;
	cr_assert(gc_reserve(&r, MiB(1), "t") == 0);
	size_t sizes[] = { 8, 16, 24, 40, 56, 100, 200, 500, 1000, 2000, 4000, 4088, 4089, 10000, 70000 };
	void *prev = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		u8 *p = gc_new_sized(&tab_type, sizes[i]);
		cr_assert(p && p != prev);
		cr_assert(((uptr)p & 7) == 0, "%zu bytes: misaligned %p", sizes[i], (void *)p);
		cr_assert(gc_type_of(p) == &tab_type);
		cr_assert(gc_type_of(p + 8) == NULL, "an interior address is no object start");
		for (size_t k = 0; k < sizes[i]; k++)
			cr_assert(p[k] == 0);
		memset(p, 0xab, sizes[i]);
		cr_assert(gc_cost_sized(sizes[i]) >= sizes[i] + 8);
		prev = p;
	}
	struct gc_stats s;
	gc_stats(&s);
	cr_assert(s.allocs == ARRAY_SIZE(sizes));
	cr_assert(s.used_bytes == r.used, "used %llu, charged %llu",
		  (unsigned long long)s.used_bytes, (unsigned long long)r.used);
	gc_unreserve(&r);
}

/* Collections with the world stopped between mutations. */
Test(gc, random_graphs)
{
	for (u64 seed = 1; seed <= 6; seed++) {
		rng = seed * 0x9e3779b97f4a7c15ULL;
		setup_roots();
		struct gc_stats s0;
		gc_stats(&s0);
		for (int round = 0; round < 6; round++) {
			struct gc_resv r;
			cr_assert(gc_reserve(&r, MiB(4), "round") == 0);
			mutate(400);
			gc_unreserve(&r);
			int reach = compute_reach();
			gc_collect();
			check_reachable_survived();
			gc_collect();
			check_reachable_survived();
			int freed = check_unreachable_freed();
			cr_assert(reach > 0 && (round == 0 || freed > 0),
				  "seed %llu round %d: reach %d freed %d", (unsigned long long)seed,
				  round, reach, freed);
		}
		struct gc_stats s;
		gc_stats(&s);
		cr_assert(s.verify_runs == s.collections && s.collections == s0.collections + 12);
	}
}

/* Marking interleaved with mutations (what another CPU would do while the
 * collector runs): what is reachable at the final pause survives; the
 * floating garbage goes in the next collection. */
Test(gc, incremental_marking)
{
	for (u64 seed = 1; seed <= 6; seed++) {
		rng = seed * 0x51ed270b27fce3a1ULL;
		setup_roots();
		struct gc_resv r;
		cr_assert(gc_reserve(&r, MiB(2), "build") == 0);
		mutate(600);
		gc_unreserve(&r);
		for (int round = 0; round < 5; round++) {
			cr_assert(gc_reserve(&r, MiB(4), "round") == 0);
			gc_cycle_begin();
			bool done = false;
			for (int k = 0; k < 200; k++) {
				mutate(3);
				if (!done)
					done = gc_mark_some(rnd() % 8);
			}
			gc_unreserve(&r);
			compute_reach();
			gc_cycle_end();     /* verifies: panics on a missed object */
			gc_sweep_all();
			check_reachable_survived();
			compute_reach();
			gc_collect();
			check_reachable_survived();
			check_unreachable_freed();
		}
	}
}

/* An object moved from the stack into an already scanned object with a
 * plain store: the marker cannot see it; the verifying mark must. */
Test(gc, bypassed_barrier_is_caught, .signal = SIGABRT)
{
	setup_roots();
	struct gc_resv r;
	cr_assert(gc_reserve(&r, 4096, "t") == 0);
	struct obj *a = gc_new(&obj_type), *b = gc_new(&obj_type);
	gc_unreserve(&r);
	groots[0] = a;
	sstack[0] = (uptr)b;
	gc_cycle_begin();
	while (!gc_mark_some(16))
		;
	a->f[1] = b;         /* no GC_STORE */
	sstack[0] = 0;
	host_expect_panic("gc verify: reachable object");
	gc_cycle_end();
}

/* The same moves through GC_STORE are fine. */
Test(gc, barrier_keeps_moved_object)
{
	setup_roots();
	struct gc_resv r;
	cr_assert(gc_reserve(&r, 4096, "t") == 0);
	struct obj *a = gc_new(&obj_type), *b = gc_new(&obj_type);
	b->id = 77;
	gc_unreserve(&r);
	groots[0] = a;
	sstack[0] = (uptr)b;
	gc_cycle_begin();
	while (!gc_mark_some(16))
		;
	GC_STORE(a, f[1], b);
	sstack[0] = 0;
	gc_cycle_end();
	gc_sweep_all();
	cr_assert(gc_type_of(b) == &obj_type && b->id == 77);
	gc_collect();
	cr_assert(gc_type_of(b) == &obj_type && b->id == 77);
	groots[0] = NULL;
	gc_collect();
	cr_assert(gc_type_of(b) == NULL && gc_type_of(a) == NULL);
}

Test(gc, allocation_past_reservation_panics, .signal = SIGABRT)
{
	struct gc_resv r;
	cr_assert(gc_reserve(&r, gc_cost(&obj_type), "one_obj") == 0);
	gc_new(&obj_type);
	host_expect_panic("reservation 'one_obj' exceeded");
	gc_new(&obj_type);
}

Test(gc, allocation_without_reservation_panics, .signal = SIGABRT)
{
	host_expect_panic("outside any reservation");
	gc_new(&obj_type);
}

Test(gc, nested_reservations_charge_innermost)
{
	struct gc_resv outer, inner;
	cr_assert(gc_reserve(&outer, 10 * gc_cost(&obj_type), "outer") == 0);
	gc_new(&obj_type);
	cr_assert(gc_reserve(&inner, gc_cost(&obj_type), "inner") == 0);
	gc_new(&obj_type);
	cr_assert(inner.used == gc_cost(&obj_type) && outer.used == gc_cost(&obj_type));
	gc_unreserve(&inner);
	gc_new(&obj_type);
	cr_assert(outer.used == 2 * gc_cost(&obj_type));
	gc_unreserve(&outer);
}

/* A heap full of live objects: a reservation that cannot fit fails at
 * entry with -ENOMEM after collecting; once the objects die it fits. */
Test(gc, reservation_enomem_then_room)
{
	setup_roots();
	gc_set_heap_max(MiB(2));
	struct gc_resv r;
	u64 limit = MiB(2) / 8 * 7;
	cr_assert(gc_reserve(&r, limit + 1, "too_big") == -ENOMEM);
	cr_assert(gc_reserve(&r, MiB(1), "fill") == 0);
	struct obj *head = NULL;
	while (r.used + gc_cost(&obj_type) <= r.bytes) {
		struct obj *o = gc_new(&obj_type);
		GC_STORE(o, f[0], head);
		head = o;
		groots[0] = head;
	}
	gc_unreserve(&r);
	struct gc_stats s0, s1;
	gc_stats(&s0);
	cr_assert(gc_reserve(&r, MiB(1), "more") == -ENOMEM);
	gc_stats(&s1);
	cr_assert(s1.collections >= s0.collections + 3, "it gave up without collecting");
	cr_assert(s1.resv_enomem == s0.resv_enomem + 1 && s1.resv_waits == s0.resv_waits + 1);
	groots[0] = NULL;
	head = NULL;
	cr_assert(gc_reserve(&r, MiB(1), "after") == 0, "no room after the objects died");
	gc_unreserve(&r);
	gc_stats(&s1);
	cr_assert(s1.used_bytes == 0, "used %llu", (unsigned long long)s1.used_bytes);
}

/* Empty spans go back to the page allocator; the heap shrinks. */
Test(gc, empty_spans_released)
{
	setup_roots();
	struct gc_resv r;
	cr_assert(gc_reserve(&r, MiB(8), "t") == 0);
	for (int i = 0; i < 20000; i++)
		gc_new(&obj_type);
	gc_unreserve(&r);
	struct gc_stats s0, s1;
	gc_stats(&s0);
	cr_assert(s0.heap_bytes >= 20000 * gc_cost(&obj_type));
	u64 free0 = page_free_count();
	gc_collect();
	gc_stats(&s1);
	cr_assert(s1.heap_bytes == 0 && s1.used_bytes == 0 && s1.live_bytes == 0,
		  "heap %llu used %llu live %llu", (unsigned long long)s1.heap_bytes,
		  (unsigned long long)s1.used_bytes, (unsigned long long)s1.live_bytes);
	cr_assert(page_free_count() >= free0 + s0.heap_bytes / PAGE_SIZE);
	cr_assert(s1.frees - s0.frees == 20000);
}
