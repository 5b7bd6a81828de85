/*
 * In-kernel tests of the GC heap (kernel/gc): allocation and freeing,
 * a stress test with mutators changing one object graph on every CPU while
 * the collector runs (each collection checked by a verifying mark), and
 * heap exhaustion under a small bound (reservations wait, or fail at entry
 * with -ENOMEM; nothing fails half-way).
 */
#include "kernel/test/ktest.h"
#include "kernel/gc/gc.h"
#include "kernel/sched/sched.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

#define NODE_MAGIC 0x6e6f64656e6f6465ULL
#define HIDE 0x5a5a5a5a5a5a5a5aULL     /* addresses kept XORed are no roots */

struct node {
	u64 magic;            /* NODE_MAGIC ^ id: a freed (poisoned) node shows */
	u64 id;
	struct node *a, *b;
	u8 pad[40];
};
static const u32 node_ptrs[] = { offsetof(struct node, a), offsetof(struct node, b) };
static const struct gc_type node_type = GC_TYPE("kt_node", struct node, node_ptrs);

struct big {
	struct node *n;
	u8 data[6000];
};
static const u32 big_ptrs[] = { offsetof(struct big, n) };
static const struct gc_type big_type = GC_TYPE("kt_big", struct big, big_ptrs);

#define HUB_SLOTS 64
struct hub {
	struct node *e[HUB_SLOTS];
};
static const struct gc_type hub_type = {
	.name = "kt_hub", .size = sizeof(struct hub), .nptrs = GC_ALL_WORDS, .ptrs = NULL
};

static u64 next_id = 1;   /* [atomic] */

static struct node *node_new(void)
{
	struct node *n = gc_new(&node_type);
	n->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	n->magic = NODE_MAGIC ^ n->id;
	return n;
}

static bool node_ok(const struct node *n) { return n->magic == (NODE_MAGIC ^ n->id); }

/* Scrub the dead part of this stack below the caller's frame, so stale
 * copies of pointers there cannot keep objects alive (conservative roots). */
static __attribute__((noinline)) void scrub_stack(void)
{
	volatile u8 junk[2048];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 0;
}

/* ---- basics ---- */

static __attribute__((noinline)) void make_garbage(uptr *hidden, int n)
{
	for (int i = 0; i < n; i++)
		hidden[i] = (uptr)node_new() ^ HIDE;
}

static struct node *basic_root;

KTEST(gc_basic)
{
	struct gc_resv r;
	KT_ASSERT(gc_reserve(&r, 200 * gc_cost(&node_type) + 2 * gc_cost(&big_type), "kt") == 0);
	KT_ASSERT(gc_root_add(&basic_root, sizeof(basic_root), "kt_basic") == 0);
	struct node *n = node_new();
	KT_ASSERT(gc_type_of(n) == &node_type, "type %p", gc_type_of(n));
	KT_ASSERT(gc_type_of((char *)n + 8) == NULL);
	basic_root = n;
	/* a chain through a large object, and a cycle */
	struct big *b = gc_new(&big_type);
	struct node *m = node_new();
	GC_STORE(b, n, m);
	GC_STORE(n, a, (struct node *)(void *)b);   /* any pointer keeps an object */
	GC_STORE(m, a, n);
	static uptr hidden[100];
	make_garbage(hidden, 100);
	gc_unreserve(&r);
	scrub_stack();
	struct gc_stats s0, s1;
	gc_stats(&s0);
	gc_collect();
	gc_collect();
	gc_stats(&s1);
	KT_ASSERT(s1.collections >= s0.collections + 2);
	KT_ASSERT(node_ok(basic_root) && node_ok(m) && gc_type_of(b) == &big_type,
		  "a reachable object was freed");
	int survivors = 0;
	for (int i = 0; i < 100; i++)
		if (gc_type_of((void *)(hidden[i] ^ HIDE)))
			survivors++;
	KT_ASSERT(survivors == 0, "%d of 100 unreachable nodes survived two collections",
		  survivors);
	basic_root = NULL;
	gc_root_remove(&basic_root);
	ktest_metric("pause_max_ns", s1.pause_max_ns, "ns");
}

/* ---- stress: mutators on every CPU, the collector running ---- */

#define WSLOTS 32
#define MAXW (MAX_CPUS * 2)
static struct node *wslots[MAXW][WSLOTS];
static struct hub *hub;
static u64 stress_cycles;          /* [atomic] completed while workers ran */
static u32 stress_done;            /* [atomic] */
static u32 stress_failed;          /* [atomic] */
static u64 stress_deadline, stress_hard_deadline;

static void stress_fail(int w, const char *what, const struct node *n)
{
	if (__atomic_exchange_n(&stress_failed, 1, __ATOMIC_ACQ_REL))
		return;
	if (n)
		pr_err("kt_gc: worker %d: %s: node %p magic %#llx id %llu", w, what, n,
		       (unsigned long long)n->magic, (unsigned long long)n->id);
	else
		pr_err("kt_gc: worker %d: %s", w, what);
}

/* Follow the a links from n up to depth, checking every node seen and the
 * type word of what each b points at (a freed object's is poisoned). */
static int walk(int w, const struct node *n, int depth)
{
	int seen = 0;
	while (n && depth-- > 0) {
		if (!node_ok(n)) {
			stress_fail(w, "reachable node freed or corrupt", n);
			return seen;
		}
		seen++;
		if (n->b) {
			const struct gc_type *t = *(const struct gc_type *const *)((const char *)n->b - 8);
			if (t != &node_type && t != &big_type) {
				stress_fail(w, "object reachable through b freed", n);
				return seen;
			}
		}
		n = n->a;
	}
	return seen;
}

static void stress_worker(int w, void *arg)
{
	(void)arg;
	u64 seed = 0x9e3779b97f4a7c15ULL * (u64)(w + 1);
	struct node *volatile onstack[4] = { NULL, NULL, NULL, NULL };
	struct node **slots = wslots[w];
	u64 ops = 0;
	while (!__atomic_load_n(&stress_failed, __ATOMIC_ACQUIRE)) {
		u64 now = arch_clock_ns();
		if (now > stress_hard_deadline ||
		    (now > stress_deadline && __atomic_load_n(&stress_cycles, __ATOMIC_ACQUIRE) >= 4))
			break;
		struct gc_resv r;
		if (gc_reserve(&r, 16 * gc_cost(&node_type), "kt_gc_stress") < 0) {
			stress_fail(w, "reservation failed", NULL);
			break;
		}
		for (int k = 0; k < 16; k++, ops++) {
			u64 x = kt_rand(&seed);
			int i = (int)(x % WSLOTS), j = (int)((x >> 8) % WSLOTS);
			int h = (int)((x >> 16) % HUB_SLOTS), s = (int)((x >> 24) % 4);
			struct node *n;
			switch ((x >> 32) % 8) {
			case 0: /* a new node in a root slot, linked to another (cycles) */
				n = node_new();
				GC_STORE(n, a, slots[j]);
				slots[i] = n;
				break;
			case 1: /* a new node held only by this stack */
				n = node_new();
				GC_STORE(n, b, onstack[s]);
				onstack[s] = n;
				break;
			case 2: /* link two reachable nodes */
				if (slots[i])
					GC_STORE(slots[i], b, onstack[s] ? onstack[s] : slots[j]);
				break;
			case 3: /* move a stack-only node into the graph and drop the slot */
				if (onstack[s] && slots[i])
					GC_STORE(slots[i], a, onstack[s]);
				onstack[s] = slots[j];
				slots[j] = NULL;
				break;
			case 4: /* publish to the hub (seen by every CPU) */
				GC_STORE(hub, e[h], slots[i] ? slots[i] : onstack[s]);
				break;
			case 5: /* take from the hub: maybe another CPU's node */
				n = READ_ONCE(hub->e[h]);
				if (n) {
					if (!node_ok(n)) {
						stress_fail(w, "hub node freed", n);
						break;
					}
					if (slots[i])
						GC_STORE(slots[i], a, n);
					else
						slots[i] = n;
				}
				break;
			case 6: /* drop */
				slots[i] = NULL;
				GC_STORE(hub, e[h], NULL);
				break;
			default:
				walk(w, slots[i], 24);
				walk(w, onstack[s], 24);
				break;
			}
		}
		gc_unreserve(&r);
		if (ops % 256 == 0)
			thread_yield();
	}
	for (int s = 0; s < 4; s++)
		walk(w, onstack[s], 1000);
	for (int i = 0; i < WSLOTS; i++)
		walk(w, slots[i], 1000);
}

static void stress_driver(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stress_done, __ATOMIC_ACQUIRE)) {
		gc_collect();
		__atomic_fetch_add(&stress_cycles, 1, __ATOMIC_ACQ_REL);
	}
}

static struct hub *hub_new(void)
{
	struct gc_resv r;
	if (gc_reserve(&r, gc_cost(&hub_type), "kt_hub") < 0)
		return NULL;
	struct hub *h = gc_new(&hub_type);
	gc_unreserve(&r);
	return h;
}

KTEST(gc_stress)
{
	memset(wslots, 0, sizeof(wslots));
	KT_ASSERT(gc_root_add(wslots, sizeof(wslots), "kt_wslots") == 0);
	KT_ASSERT(gc_root_add(&hub, sizeof(hub), "kt_hub") == 0);
	hub = hub_new();
	KT_ASSERT(hub);
	gc_set_verify(true);
	struct gc_stats s0, s1;
	gc_stats(&s0);
	stress_cycles = 0;
	stress_done = 0;
	stress_failed = 0;
	stress_deadline = arch_clock_ns() + 1500000000ULL;
	stress_hard_deadline = arch_clock_ns() + 60000000000ULL;
	struct thread *driver = thread_create("kt_gc_driver", stress_driver, NULL, -1, 0);
	KT_ASSERT(driver);
	int nw = kt_run_on_all_cpus(stress_worker, NULL, ncpus > 2 ? 1 : 2);
	__atomic_store_n(&stress_done, 1, __ATOMIC_RELEASE);
	thread_join(driver);
	gc_stats(&s1);
	gc_set_verify(false);
	memset(wslots, 0, sizeof(wslots));
	hub = NULL;
	gc_root_remove(wslots);
	gc_root_remove(&hub);
	KT_ASSERT(!stress_failed, "a worker found a reachable node freed (see above)");
	u64 cycles = s1.collections - s0.collections;
	KT_ASSERT(cycles >= 4, "only %llu collections ran", (unsigned long long)cycles);
	KT_ASSERT(s1.verify_runs - s0.verify_runs >= cycles,
		  "%llu verifying marks for %llu collections",
		  (unsigned long long)(s1.verify_runs - s0.verify_runs), (unsigned long long)cycles);
	KT_ASSERT(s1.frees > s0.frees, "nothing was freed");
	ktest_metric("workers", (u64)nw, "threads");
	ktest_metric("collections", cycles, "cycles");
	ktest_metric("allocs", s1.allocs - s0.allocs, "objects");
	ktest_metric("verified_objects", s1.verified_objects - s0.verified_objects, "objects");
	ktest_metric("pause_max_ns", s1.pause_max_ns, "ns");
	ktest_metric("pause_p50_ns", s1.pause_p50_ns, "ns");
	ktest_metric("pause_p99_ns", s1.pause_p99_ns, "ns");
	ktest_metric("pause_max_tsc", s1.pause_max_tsc, "tsc");
	ktest_metric("stop_max_ns", s1.stop_max_ns, "ns");
	ktest_metric("pauses", s1.pauses - s0.pauses, "pauses");
	ktest_metric("mark_last_ns", s1.mark_last_ns, "ns");
}

/* ---- exhaustion: a small heap ---- */

#define EX_RESV (256 * 1024)
static struct node *ex_chain[MAXW];
static u64 ex_ok, ex_enomem, ex_objs;   /* [atomic] */
static u64 ex_deadline;

/* Allocate about `bytes` of objects under r, chained from *head. */
static u64 fill(struct node **head, u64 bytes, u64 *seed)
{
	u64 cost_n = gc_cost(&node_type), cost_b = gc_cost(&big_type), spent = 0, n = 0;
	for (;;) {
		bool big = kt_rand(seed) % 4 == 0;
		u64 c = big ? cost_b + cost_n : cost_n;
		if (spent + c > bytes)
			break;
		struct node *x = node_new();
		if (big) {
			struct big *b = gc_new(&big_type);
			GC_STORE(b, n, *head);
			GC_STORE(x, b, (struct node *)(void *)b);
		} else {
			GC_STORE(x, a, *head);
		}
		spent += c;
		*head = x;
		n++;
		if (spent + cost_n > bytes)
			break;
	}
	return n;
}

static void ex_worker(int w, void *arg)
{
	(void)arg;
	u64 seed = 0x51ed270b27fce3a1ULL * (u64)(w + 3);
	while (arch_clock_ns() < ex_deadline) {
		struct gc_resv r;
		int err = gc_reserve(&r, EX_RESV, "kt_gc_exhaust");
		if (err) {
			if (err != -ENOMEM)
				stress_fail(w, "reservation: not -ENOMEM", NULL);
			__atomic_fetch_add(&ex_enomem, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_fetch_add(&ex_ok, 1, __ATOMIC_RELAXED);
		u64 n = fill(&ex_chain[w], EX_RESV, &seed);
		__atomic_fetch_add(&ex_objs, n, __ATOMIC_RELAXED);
		gc_unreserve(&r);
		thread_yield();
		if (walk(w, ex_chain[w], 1 << 20) == 0)
			stress_fail(w, "own chain empty", NULL);
		ex_chain[w] = NULL;   /* garbage now */
	}
}

KTEST(gc_exhaust)
{
	struct gc_stats s0, s1;
	gc_collect();
	gc_collect();
	gc_stats(&s0);
	u64 old_max = s0.heap_max;
	u64 max = MiB(2);
	gc_set_heap_max(max);
	memset(ex_chain, 0, sizeof(ex_chain));
	KT_ASSERT(gc_root_add(ex_chain, sizeof(ex_chain), "kt_ex") == 0);
	stress_failed = 0;
	ex_ok = ex_enomem = ex_objs = 0;
	ex_deadline = arch_clock_ns() + 1500000000ULL;
	kt_run_on_all_cpus(ex_worker, NULL, 4);
	KT_ASSERT(!stress_failed, "a worker failed (see above)");
	KT_ASSERT(ex_ok > 0, "no reservation succeeded");

	/* one thread holds most of the heap and asks for more than is left:
	 * it must fail at entry, after the collector ran */
	struct gc_resv r;
	u64 seed = 7;
	u64 hold = max / 2;
	KT_ASSERT(gc_reserve(&r, hold, "kt_hold") == 0);
	fill(&ex_chain[0], hold, &seed);
	gc_unreserve(&r);
	struct gc_stats sa, sb;
	gc_stats(&sa);
	int err = gc_reserve(&r, max / 2, "kt_too_much");
	gc_stats(&sb);
	if (err == 0)
		gc_unreserve(&r);
	KT_ASSERT(err == -ENOMEM, "a reservation past the heap returned %d", err);
	KT_ASSERT(sb.collections > sa.collections, "-ENOMEM without running the collector");
	ex_chain[0] = NULL;
	scrub_stack();
	gc_collect();
	gc_collect();
	gc_stats(&s1);
	gc_set_heap_max(old_max);
	gc_root_remove(ex_chain);
	KT_ASSERT(s1.resv_waits > s0.resv_waits, "no reservation ever waited");
	KT_ASSERT(s1.used_bytes <= s0.used_bytes + 64 * 1024,
		  "heap in use %llu, baseline %llu: not back after the load",
		  (unsigned long long)s1.used_bytes, (unsigned long long)s0.used_bytes);
	ktest_metric("reservations", ex_ok, "ok");
	ktest_metric("enomem", ex_enomem + 1, "failures");
	ktest_metric("waits", s1.resv_waits - s0.resv_waits, "waits");
	ktest_metric("wait_max_ns", s1.resv_wait_max_ns, "ns");
	ktest_metric("objects", ex_objs, "objects");
	ktest_metric("pause_max_ns", s1.pause_max_ns, "ns");
}

/* ---- a thread that ends holding reservations gives them back ---- */

static void exit_reserved(void *arg)
{
	static struct gc_resv outer, inner;
	(void)arg;
	if (gc_reserve(&outer, 4096, "kt_exit_outer") == 0 &&
	    gc_reserve(&inner, 4096, "kt_exit_inner") == 0)
		node_new();
	thread_exit();
}

KTEST(gc_reservation_freed_at_exit)
{
	struct gc_stats s0, s1;
	gc_stats(&s0);
	struct thread *t = thread_create("kt_gc_exit", exit_reserved, NULL, -1, 0);
	KT_ASSERT(t);
	thread_join(t);
	gc_stats(&s1);
	KT_ASSERT(s1.resv_ok == s0.resv_ok + 2, "%llu reservations made",
		  (unsigned long long)(s1.resv_ok - s0.resv_ok));
	KT_ASSERT(s1.reserved_bytes == s0.reserved_bytes, "reserved %llu bytes before, %llu after",
		  (unsigned long long)s0.reserved_bytes, (unsigned long long)s1.reserved_bytes);
}
