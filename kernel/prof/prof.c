/*
 * The sampling profiler's recording side (see prof.h): the NMI handler's
 * part, which files each sample into its CPU's table of distinct stacks,
 * and start/stop.
 *
 * Locks: [M] prof_lock (a mutex) serializes start, stop and the REPL's
 * reading of the status; the tables are written by their CPU's NMI
 * handler only, without a lock (prof_priv.h says in which order).
 */
#include "kernel/prof/prof_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/param.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/sync/sync.h"

struct prof_cpu prof_cpus[MAX_CPUS];
static struct mutex prof_lock;
static struct prof_status status;        /* [M] */
static bool running;                     /* [atomic] also read by the NMI handler */
static unsigned default_hz = PROF_HZ_DEFAULT;
static bool start_at_boot;

static u64 stack_hash(const u64 *fn, u32 depth)
{
	u64 h = 0xcbf29ce484222325ULL;   /* FNV-1a over the words */
	for (u32 i = 0; i < depth; i++) {
		h ^= fn[i];
		h *= 0x100000001b3ULL;
	}
	h ^= depth;
	return h ? h : 1;
}

static bool same(const struct prof_stack *e, const u64 *fn, u32 depth)
{
	if (e->depth != depth)
		return false;
	for (u32 i = 0; i < depth; i++)
		if (e->fn[i] != fn[i])
			return false;
	return true;
}

const struct prof_stack *prof_find(unsigned cpu, const u64 *fn, u32 depth, u64 hash)
{
	const struct prof_cpu *p = &prof_cpus[cpu];
	if (!p->tab)
		return NULL;
	for (u32 i = 0; i < PROF_PROBES; i++) {
		const struct prof_stack *e = &p->tab[(hash + i) % p->nslots];
		u64 h = __atomic_load_n(&e->hash, __ATOMIC_ACQUIRE);
		if (!h)
			return NULL;
		if (h == hash && same(e, fn, depth))
			return e;
	}
	return NULL;
}

/* NMI context: only this CPU writes p. */
static void record(struct prof_cpu *p, const u64 *fn, u32 depth)
{
	u64 hash = stack_hash(fn, depth);
	for (u32 i = 0; i < PROF_PROBES; i++) {
		struct prof_stack *e = &p->tab[(hash + i) % p->nslots];
		u64 h = __atomic_load_n(&e->hash, __ATOMIC_RELAXED);
		if (!h) {
			e->depth = depth;
			memcpy(e->fn, fn, depth * sizeof(fn[0]));
			__atomic_store_n(&e->count, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&e->hash, hash, __ATOMIC_RELEASE);
			__atomic_store_n(&p->samples, p->samples + 1, __ATOMIC_RELAXED);
			return;
		}
		if (h == hash && same(e, fn, depth)) {
			__atomic_store_n(&e->count, e->count + 1, __ATOMIC_RELAXED);
			__atomic_store_n(&p->samples, p->samples + 1, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_store_n(&p->dropped, p->dropped + 1, __ATOMIC_RELAXED);
}

/* The start of the function holding pc (pc itself when no symbol has it). */
static u64 func_of(u64 pc)
{
	u64 off = 0;
	return ksym_lookup(pc, &off) ? pc - off : pc;
}

static void sample(const struct arch_sample *s)
{
	if (s->cpu >= MAX_CPUS || !__atomic_load_n(&running, __ATOMIC_RELAXED))
		return;
	struct prof_cpu *p = &prof_cpus[s->cpu];
	if (!p->tab) { /* a CPU that came online after prof_start */
		__atomic_store_n(&p->dropped, p->dropped + 1, __ATOMIC_RELAXED);
		return;
	}
	u64 fn[PROF_DEPTH + 1];
	u32 n;
	if (s->kind == SAMPLE_IDLE || s->kind == SAMPLE_USER) {
		fn[0] = s->kind == SAMPLE_IDLE ? PROF_FRAME_IDLE : PROF_FRAME_USER;
		n = 1;
	} else {
		/* one more than fits, to see that the stack was cut */
		u32 room = s->kind == SAMPLE_IRQ ? PROF_DEPTH - 1 : PROF_DEPTH;
		n = (u32)arch_sample_stack(s, fn, (int)room + 1);
		if (n > room) {
			n = room;
			__atomic_store_n(&p->truncated, p->truncated + 1, __ATOMIC_RELAXED);
		}
		for (u32 i = 0; i < n; i++)
			fn[i] = func_of(fn[i]);
		if (s->kind == SAMPLE_IRQ)
			fn[n++] = PROF_FRAME_IRQ;
	}
	record(p, fn, n);
}

static int alloc_tables(void)
{
	for (unsigned c = 0; c < ncpus && c < MAX_CPUS; c++) {
		struct prof_cpu *p = &prof_cpus[c];
		if (p->tab)
			continue;
		struct page *pg = page_alloc(PROF_TABLE_ORDER);
		if (!pg)
			return -ENOMEM;
		p->tab = page_address(pg);
		p->nslots = (u32)(PROF_TABLE_BYTES / sizeof(struct prof_stack));
	}
	return 0;
}

int prof_start(unsigned hz)
{
	if (hz < ARCH_PROFILE_HZ_MIN || hz > ARCH_PROFILE_HZ_MAX)
		return -EINVAL;
	mutex_lock(&prof_lock);
	int err = -EBUSY;
	if (status.running)
		goto out;
	err = alloc_tables();
	if (err < 0)
		goto out;
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		struct prof_cpu *p = &prof_cpus[c];
		if (p->tab)
			memset(p->tab, 0, (size_t)p->nslots * sizeof(struct prof_stack));
		p->samples = p->dropped = p->truncated = 0;
	}
	__atomic_store_n(&running, true, __ATOMIC_SEQ_CST);
	err = arch_profile_start(hz, sample);
	if (err < 0) {
		__atomic_store_n(&running, false, __ATOMIC_SEQ_CST);
		goto out;
	}
	status = (struct prof_status){ .running = true, .ever = true, .hz = hz,
				       .start_ns = arch_clock_ns() };
out:
	mutex_unlock(&prof_lock);
	return err;
}

int prof_stop(void)
{
	mutex_lock(&prof_lock);
	int err = -EALREADY;
	if (status.running) {
		arch_profile_stop();  /* returns once no handler is in sample() */
		__atomic_store_n(&running, false, __ATOMIC_SEQ_CST);
		status.running = false;
		status.stop_ns = arch_clock_ns();
		err = 0;
	}
	mutex_unlock(&prof_lock);
	return err;
}

bool prof_running(void) { return __atomic_load_n(&running, __ATOMIC_RELAXED); }
unsigned prof_default_hz(void) { return default_hz; }

void prof_status(struct prof_status *st)
{
	mutex_lock(&prof_lock);
	*st = status;
	mutex_unlock(&prof_lock);
}

static int set_hz(const char *v)
{
	u64 hz;
	if (kstrtou64(v, NULL, false, &hz) < 0 || hz < ARCH_PROFILE_HZ_MIN ||
	    hz > ARCH_PROFILE_HZ_MAX)
		return -EINVAL;
	default_hz = (unsigned)hz;
	return 0;
}
KPARAM("profile.hz", set_hz, "sampling rate of `profile start` without HZ (10-10000, default 997)");

static int set_profile(const char *v)
{
	if (strcmp(v, "on") == 0)
		start_at_boot = true;
	else if (strcmp(v, "off") == 0)
		start_at_boot = false;
	else
		return -EINVAL;
	return 0;
}
KPARAM("profile", set_profile, "on: start the sampling profiler at boot (at profile.hz)");

void prof_init(void)
{
	mutex_init(&prof_lock, "prof");
	if (!start_at_boot)
		return;
	int err = prof_start(default_hz);
	if (err < 0)
		pr_warn("prof: cannot start at boot (%d)", err);
	else
		pr_info("prof: sampling every CPU at %u Hz", default_hz);
}
