/*
 * REPL commands of the sampling profiler (prof.h):
 *   profile               status: running, rate, samples, dropped, per CPU
 *   profile start [HZ]    start sampling (clears the last profile)
 *   profile stop
 *   profile top [N]       the N functions (default 10) with the most samples
 *                         of their own (self), with their share of all
 *                         samples and the share of samples they appear in
 *                         (total)
 *   profile folded        one line per distinct stack, outermost frame
 *                         first: "a;b;c COUNT" (the flame-graph input
 *                         format; tools/flamegraph draws it)
 * They read the tables without stopping the sampling; for figures that
 * add up exactly, stop first.
 */
#include "kernel/prof/prof_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/repl/repl.h"

#define TOP_DEFAULT 10
#define TOP_MAX 100
#define AGG_SLOTS 8192          /* distinct functions `profile top` can rank */

/* A frame's printable name: its symbol, a pseudo frame, or the address. */
static const char *frame_name(u64 fn, char *buf, size_t len)
{
	switch (fn) {
	case PROF_FRAME_IDLE: return "[idle]";
	case PROF_FRAME_IRQ: return "[irq]";
	case PROF_FRAME_USER: return "[user]";
	}
	u64 off = 0;
	const char *s = ksym_lookup(fn, &off);
	if (s && off == 0)
		return s;
	ksnprintf(buf, len, "0x%llx", (unsigned long long)fn);
	return buf;
}

/* v as a percentage of total with two decimals, "12.34". */
static void pct(char *buf, size_t len, u64 v, u64 total)
{
	u64 x = total ? (v * 10000 + total / 2) / total : 0;
	ksnprintf(buf, len, "%llu.%02llu", (unsigned long long)(x / 100),
		  (unsigned long long)(x % 100));
}

static void for_each_stack(void (*fn)(const struct prof_stack *e, void *arg), void *arg)
{
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		const struct prof_cpu *p = &prof_cpus[c];
		if (!p->tab)
			continue;
		for (u32 i = 0; i < p->nslots; i++)
			if (__atomic_load_n(&p->tab[i].hash, __ATOMIC_ACQUIRE))
				fn(&p->tab[i], arg);
	}
}

struct totals {
	u64 samples, dropped, truncated, stacks;
};

static void totals(struct totals *t)
{
	*t = (struct totals){ 0 };
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		const struct prof_cpu *p = &prof_cpus[c];
		t->samples += __atomic_load_n(&p->samples, __ATOMIC_RELAXED);
		t->dropped += __atomic_load_n(&p->dropped, __ATOMIC_RELAXED);
		t->truncated += __atomic_load_n(&p->truncated, __ATOMIC_RELAXED);
		if (!p->tab)
			continue;
		for (u32 i = 0; i < p->nslots; i++)
			if (__atomic_load_n(&p->tab[i].hash, __ATOMIC_RELAXED))
				t->stacks++;
	}
}

static int cmd_status(struct repl_out *o)
{
	struct prof_status st;
	prof_status(&st);
	struct totals t;
	totals(&t);
	u64 end = st.running ? arch_clock_ns() : st.stop_ns;
	repl_obj_begin(o, "profile");
	repl_kv_str(o, "running", st.running ? "yes" : "no");
	repl_kv_u64(o, "hz", st.ever ? st.hz : prof_default_hz());
	repl_kv_u64(o, "duration_ms", st.ever ? (end - st.start_ns) / 1000000 : 0);
	repl_kv_u64(o, "samples", t.samples);
	/* what the rate promises; fewer when ticks were lost (QEMU merges a
	 * timer tick, or an NMI, that comes while the last is pending: a
	 * vCPU the host does not run takes none) */
	u64 ms = st.ever ? (end - st.start_ns) / 1000000 : 0;
	repl_kv_u64(o, "expected", (u64)st.hz * ms / 1000 * ncpus);
	repl_kv_u64(o, "dropped", t.dropped);
	repl_kv_u64(o, "truncated", t.truncated);
	repl_kv_u64(o, "stacks", t.stacks);
	repl_kv_u64(o, "table_kib_per_cpu", PROF_TABLE_BYTES / 1024);
	repl_obj_end(o);
	repl_table_begin(o, "cpus", "cpu:n:3 samples:n:10 dropped:n:8 truncated:n:9");
	for (unsigned c = 0; c < ncpus && c < MAX_CPUS; c++) {
		const struct prof_cpu *p = &prof_cpus[c];
		char id[8], s[24], d[24], tr[24];
		ksnprintf(id, sizeof(id), "%u", c);
		ksnprintf(s, sizeof(s), "%llu", (unsigned long long)p->samples);
		ksnprintf(d, sizeof(d), "%llu", (unsigned long long)p->dropped);
		ksnprintf(tr, sizeof(tr), "%llu", (unsigned long long)p->truncated);
		const char *cells[4] = { id, s, d, tr };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

static int cmd_start(struct repl_out *o, int argc, char **argv)
{
	u64 hz = prof_default_hz();
	if (argc > 3)
		return repl_error(o, -EINVAL, "usage: profile start [HZ]");
	if (argc == 3 && (repl_parse_u64(argv[2], &hz) < 0 || hz < ARCH_PROFILE_HZ_MIN ||
			  hz > ARCH_PROFILE_HZ_MAX))
		return repl_error(o, -EINVAL, "profile start: HZ must be a number from %d to %d, "
				  "not '%s'", ARCH_PROFILE_HZ_MIN, ARCH_PROFILE_HZ_MAX, argv[2]);
	int err = prof_start((unsigned)hz);
	if (err == -EBUSY)
		return repl_error(o, err, "profile start: already running; profile stop first");
	if (err < 0)
		return repl_error(o, err, "profile start: cannot start (%d)", err);
	repl_obj_begin(o, "profile");
	repl_kv_str(o, "running", "yes");
	repl_kv_u64(o, "hz", hz);
	repl_obj_end(o);
	return 0;
}

static int cmd_stop(struct repl_out *o, int argc)
{
	if (argc != 2)
		return repl_error(o, -EINVAL, "usage: profile stop");
	if (prof_stop() < 0)
		return repl_error(o, -EALREADY, "profile stop: not running");
	return cmd_status(o);
}

/* ---- profile top ---- */

struct agg {
	u64 fn, self, total;
};

struct top_ctx {
	struct agg *a;
	bool full;
};

static struct agg *agg_slot(struct top_ctx *t, u64 fn)
{
	u64 h = fn * 0x9e3779b97f4a7c15ULL;
	for (u32 i = 0; i < AGG_SLOTS; i++) {
		struct agg *a = &t->a[(h + i) % AGG_SLOTS];
		if (a->fn == fn)
			return a;
		if (!a->fn) {
			a->fn = fn;
			return a;
		}
	}
	t->full = true;
	return NULL;
}

static void top_add(const struct prof_stack *e, void *arg)
{
	struct top_ctx *t = arg;
	u64 n = __atomic_load_n(&e->count, __ATOMIC_RELAXED);
	for (u32 i = 0; i < e->depth; i++) {
		bool seen = false; /* recursion: count a function once a stack */
		for (u32 j = 0; j < i && !seen; j++)
			seen = e->fn[j] == e->fn[i];
		struct agg *a = seen ? NULL : agg_slot(t, e->fn[i]);
		if (!a)
			continue;
		a->total += n;
		if (i == 0)
			a->self += n;
	}
}

static int cmd_top(struct repl_out *o, int argc, char **argv)
{
	u64 n = TOP_DEFAULT;
	if (argc > 3 || (argc == 3 && (repl_parse_u64(argv[2], &n) < 0 || n < 1 || n > TOP_MAX)))
		return repl_error(o, -EINVAL, "usage: profile top [N], N from 1 to %d", TOP_MAX);
	struct prof_status st;
	prof_status(&st);
	if (!st.ever)
		return repl_error(o, -ENOENT, "profile top: no profile yet (profile start)");
	struct top_ctx t = { .a = kmalloc(AGG_SLOTS * sizeof(struct agg), KM_ZERO) };
	if (!t.a)
		return repl_error(o, -ENOMEM, "profile top: out of memory");
	for_each_stack(top_add, &t);
	u64 all = 0;
	for (u32 i = 0; i < AGG_SLOTS; i++)
		all += t.a[i].self;
	if (t.full)
		repl_printf(o, "(more functions than %d: some are missing)\n", AGG_SLOTS);
	repl_table_begin(o, "top", "self:n:8 self_pct:n:8 total:n:8 total_pct:n:9 function::0");
	for (u64 r = 0; r < n; r++) {
		struct agg *best = NULL; /* selection: N is small */
		for (u32 i = 0; i < AGG_SLOTS; i++)
			if (t.a[i].fn && t.a[i].self &&
			    (!best || t.a[i].self > best->self ||
			     (t.a[i].self == best->self && t.a[i].fn < best->fn)))
				best = &t.a[i];
		if (!best)
			break;
		char s[24], sp[16], tot[24], tp[16], nb[24];
		ksnprintf(s, sizeof(s), "%llu", (unsigned long long)best->self);
		pct(sp, sizeof(sp), best->self, all);
		ksnprintf(tot, sizeof(tot), "%llu", (unsigned long long)best->total);
		pct(tp, sizeof(tp), best->total, all);
		const char *cells[5] = { s, sp, tot, tp, frame_name(best->fn, nb, sizeof(nb)) };
		repl_row(o, cells);
		best->self = 0; /* taken */
	}
	repl_table_end(o);
	repl_obj_begin(o, "summary");
	repl_kv_u64(o, "samples", all);
	repl_obj_end(o);
	kfree(t.a);
	return 0;
}

/* ---- profile folded ---- */

struct folded_ctx {
	struct repl_out *o;
	bool json;
	char line[PROF_DEPTH * 64];
};

/* An entry of the first CPU that has its stack prints the count of all. */
static void folded_line(const struct prof_stack *e, void *arg)
{
	struct folded_ctx *f = arg;
	unsigned mine = MAX_CPUS;
	for (unsigned c = 0; c < MAX_CPUS && mine == MAX_CPUS; c++)
		if (prof_cpus[c].tab && e >= prof_cpus[c].tab && e < prof_cpus[c].tab + prof_cpus[c].nslots)
			mine = c;
	u64 count = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (c == mine)
			continue;
		const struct prof_stack *x = prof_find(c, e->fn, e->depth, e->hash);
		if (x && c < mine)
			return;
		if (x)
			count += __atomic_load_n(&x->count, __ATOMIC_RELAXED);
	}
	count += __atomic_load_n(&e->count, __ATOMIC_RELAXED);
	size_t len = 0;
	char nb[24];
	for (u32 i = e->depth; i-- > 0;) {
		const char *name = frame_name(e->fn[i], nb, sizeof(nb));
		len += (size_t)ksnprintf(f->line + len, sizeof(f->line) - len, "%s%s",
					 i + 1 == e->depth ? "" : ";", name);
		len = MIN(len, sizeof(f->line) - 1);
	}
	if (f->json) {
		char cnt[24];
		ksnprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)count);
		const char *cells[2] = { f->line, cnt };
		repl_row(f->o, cells);
		return;
	}
	/* repl_printf formats at most 512 bytes at a time */
	for (size_t at = 0; at < len; at += 256) {
		char part[257];
		size_t n = MIN(len - at, (size_t)256);
		memcpy(part, f->line + at, n);
		part[n] = '\0';
		repl_printf(f->o, "%s", part);
	}
	repl_printf(f->o, " %llu\n", (unsigned long long)count);
}

static struct folded_ctx folded; /* the REPL runs one command at a time */

static int cmd_folded(struct repl_out *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 2)
		return repl_error(o, -EINVAL, "usage: profile folded");
	struct prof_status st;
	prof_status(&st);
	if (!st.ever)
		return repl_error(o, -ENOENT, "profile folded: no profile yet (profile start)");
	/* human mode: the bare lines, no table heading */
	folded.o = o;
	folded.json = repl_json(o);
	if (folded.json)
		repl_table_begin(o, "folded", "stack::0 count:n");
	for_each_stack(folded_line, &folded);
	if (folded.json)
		repl_table_end(o);
	return 0;
}

REPL_CMD("profile", cmd_profile, "[start [HZ] | stop | top [N] | folded]",
	 "sampling profiler: start/stop it, top functions, folded stacks");
static int cmd_profile(struct repl_out *o, int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "status") == 0))
		return cmd_status(o);
	if (strcmp(argv[1], "start") == 0)
		return cmd_start(o, argc, argv);
	if (strcmp(argv[1], "stop") == 0)
		return cmd_stop(o, argc);
	if (strcmp(argv[1], "top") == 0)
		return cmd_top(o, argc, argv);
	if (strcmp(argv[1], "folded") == 0)
		return cmd_folded(o, argc, argv);
	return repl_error(o, -EINVAL, "profile: unknown subcommand '%s' (status, start, stop, "
			  "top, folded)", argv[1]);
}
