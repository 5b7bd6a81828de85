/*
 * Named counters, for the REPL (`counters`) and the metrics. A subsystem
 * declares each of its counters once, at file scope, in one of three ways:
 *
 *     KCOUNTER_VAR("rcu.grace_periods", "periods", rcu.gp_completed);
 *         a u64 variable (or struct field), read as it is;
 *     KCOUNTER_PCPU("sched.steals", "threads", rqs, steals);
 *         the sum of a u64 field over every element of a per-CPU array;
 *     KCOUNTER("page.free", "pages", read_fn);
 *         read_fn() returns the value: only for a value that is computed.
 *
 * The first two take the address of a u64 lvalue, so the compiler refuses a
 * counter of another width. Values are read without a lock (relaxed atomic
 * loads): a reader sees each part as it was at some moment, not a snapshot.
 * Copy accounting (DESIGN principle 2) uses names "copy.<path>".
 */
#ifndef KLIB_COUNTER_H
#define KLIB_COUNTER_H

#include "kernel/lib/types.h"

struct kcounter {
	const char *name;
	const char *unit;
	u64 (*read)(void);      /* a computed value; NULL: read var */
	const u64 *var;         /* the first (or only) u64 to add up */
	size_t stride;          /* bytes from one to the next */
	size_t n;               /* how many */
};

#define KCOUNTER_CAT2(a, b) a##b
#define KCOUNTER_CAT(a, b) KCOUNTER_CAT2(a, b)

/* The section holds pointers: the compiler may pad and align the structs
 * themselves, but an array of pointers has no gaps. */
#define KCOUNTER_DEFINE(id, ...) \
	static const struct kcounter KCOUNTER_CAT(__kcounter_, id) = { __VA_ARGS__ }; \
	static const struct kcounter *const KCOUNTER_CAT(__kcounter_ptr_, id) \
		__section(".kcounter") __attribute__((used)) = &KCOUNTER_CAT(__kcounter_, id)

#define KCOUNTER(nm, un, fn) \
	KCOUNTER_DEFINE(fn, .name = (nm), .unit = (un), .read = (fn))
#define KCOUNTER_VAR(nm, un, v) \
	KCOUNTER_DEFINE(KCOUNTER_CAT(var_, __COUNTER__), .name = (nm), .unit = (un), \
			.var = &(v), .stride = 0, .n = 1)
#define KCOUNTER_PCPU(nm, un, arr, field) \
	KCOUNTER_DEFINE(KCOUNTER_CAT(pcpu_, __COUNTER__), .name = (nm), .unit = (un), \
			.var = &(arr)[0].field, .stride = sizeof((arr)[0]), \
			.n = ARRAY_SIZE(arr))

static inline u64 kcounter_read(const struct kcounter *c)
{
	if (c->read)
		return c->read();
	u64 sum = 0;
	const char *p = (const char *)c->var;
	for (size_t i = 0; i < c->n; i++, p += c->stride)
		sum += __atomic_load_n((const u64 *)p, __ATOMIC_RELAXED);
	return sum;
}

/* All counters: *n of them. */
const struct kcounter *const *kcounters(size_t *n);

#endif
