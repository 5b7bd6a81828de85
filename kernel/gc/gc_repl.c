/* The GC heap in the REPL (`gc`, `gc collect`) and in the counters (and so
 * in /metrics and /metrics.json). */
#include "kernel/gc/gc_priv.h"
#include "kernel/sched/sched.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/repl/repl.h"

REPL_CMD("gc", cmd_gc, "[collect]", "GC heap: collections, pauses, marking time, live and total "
	 "heap, headroom, allocation rate, reservations; `collect` runs a collection first");
static int cmd_gc(struct repl_out *o, int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "collect"))
			return repl_error(o, -EINVAL, "usage: gc [collect]");
		if (sched_frozen())
			return repl_error(o, -EBUSY, "frozen: the collector cannot run (thaw first)");
		gc_collect();
	}
	struct gc_stats s;
	gc_stats(&s);
	repl_obj_begin(o, "gc");
	repl_kv_u64(o, "collections", s.collections);
	repl_kv_u64(o, "pauses", s.pauses);
	repl_kv_u64(o, "pause_p50_ns", s.pause_p50_ns);
	repl_kv_u64(o, "pause_p99_ns", s.pause_p99_ns);
	repl_kv_u64(o, "pause_max_ns", s.pause_max_ns);
	repl_kv_u64(o, "pause_total_ns", s.pause_total_ns);
	repl_kv_u64(o, "pause_max_tsc", s.pause_max_tsc);
	repl_kv_u64(o, "stop_max_ns", s.stop_max_ns);
	repl_kv_u64(o, "mark_last_ns", s.mark_last_ns);
	repl_kv_u64(o, "mark_total_ns", s.mark_ns);
	repl_kv_u64(o, "sweep_total_ns", s.sweep_ns);
	repl_kv_u64(o, "live_bytes", s.live_bytes);
	repl_kv_u64(o, "used_bytes", s.used_bytes);
	repl_kv_u64(o, "heap_bytes", s.heap_bytes);
	repl_kv_u64(o, "heap_max", s.heap_max);
	repl_kv_u64(o, "headroom_pct", s.live_bytes ? s.heap_bytes * 100 / s.live_bytes : 0);
	repl_kv_u64(o, "trigger_bytes", s.trigger_bytes);
	repl_kv_u64(o, "spans", s.spans);
	repl_kv_u64(o, "over_limit_spans", s.over_limit_spans);
	repl_kv_u64(o, "allocs", s.allocs);
	repl_kv_u64(o, "alloc_bytes", s.alloc_bytes);
	repl_kv_u64(o, "alloc_bytes_per_s", s.alloc_rate);
	repl_kv_u64(o, "frees", s.frees);
	repl_kv_u64(o, "reserved_bytes", s.reserved_bytes);
	repl_kv_u64(o, "reservations", s.resv_ok);
	repl_kv_u64(o, "reservation_waits", s.resv_waits);
	repl_kv_u64(o, "reservation_wait_ns", s.resv_wait_ns);
	repl_kv_u64(o, "reservation_wait_max_ns", s.resv_wait_max_ns);
	repl_kv_u64(o, "reservation_enomem", s.resv_enomem);
	repl_kv_u64(o, "unreserved_allocs", s.unreserved_allocs);
	repl_kv_u64(o, "over_reservation", s.over_reservation);
	repl_kv_u64(o, "verify_runs", s.verify_runs);
	repl_obj_end(o);
	return 0;
}

static u64 c_used(void) { return gc_used_bytes(); }
static u64 c_heap(void) { return __atomic_load_n(&gc.heap_pages, __ATOMIC_RELAXED) * PAGE_SIZE; }
static u64 c_p99(void) { return hist_percentile(&gc.pause_hist, 990000); }
static u64 c_allocs(void)
{
	u64 n = 0;
	for (int i = 0; i < MAX_CPUS; i++)
		n += __atomic_load_n(&gc_pcpu[i].alloc_bytes, __ATOMIC_RELAXED);
	return n;
}
static u64 c_headroom(void)
{
	u64 live = READ_ONCE(gc.live);
	return live ? c_heap() * 100 / live : 0;
}
KCOUNTER_VAR("gc.collections", "cycles", gc.cycles);
KCOUNTER_VAR("gc.pauses", "pauses", gc.pauses);
KCOUNTER_VAR("gc.pause_max_ns", "ns", gc.pause_max_ns);
KCOUNTER_VAR("gc.pause_total_ns", "ns", gc.pause_total_ns);
KCOUNTER("gc.pause_p99_ns", "ns", c_p99);
KCOUNTER_VAR("gc.stop_max_ns", "ns", gc.stop_max_ns);
KCOUNTER_VAR("gc.mark_ns", "ns", gc.mark_ns);
KCOUNTER_VAR("gc.live_bytes", "bytes", gc.live);
KCOUNTER("gc.used_bytes", "bytes", c_used);
KCOUNTER("gc.heap_bytes", "bytes", c_heap);
KCOUNTER_VAR("gc.heap_max", "bytes", gc.heap_max);
KCOUNTER("gc.headroom_pct", "percent", c_headroom);
KCOUNTER("gc.alloc_bytes", "bytes", c_allocs);
KCOUNTER_VAR("gc.alloc_bytes_per_s", "bytes/s", gc.alloc_rate);
KCOUNTER_VAR("gc.over_limit_spans", "spans", gc.over_limit_spans);
KCOUNTER_VAR("gc.reservation_waits", "waits", gc_resv_waits);
KCOUNTER_VAR("gc.reservation_wait_ns", "ns", gc_resv_wait_ns);
KCOUNTER_VAR("gc.reservation_enomem", "failures", gc_resv_enomem);
