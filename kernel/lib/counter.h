/*
 * Named counters, for the REPL and the metrics. A subsystem declares
 *     KCOUNTER("tlb.shootdowns", "events", read_fn);
 * where read_fn() returns the current value (summing per-CPU parts if
 * needed). Copy accounting (DESIGN principle 2) uses names "copy.<path>".
 */
#ifndef KLIB_COUNTER_H
#define KLIB_COUNTER_H

#include "kernel/lib/types.h"

struct kcounter {
	const char *name;
	const char *unit;
	u64 (*read)(void);
};

#define KCOUNTER(nm, un, fn) \
	static const struct kcounter __kcounter_##fn = { (nm), (un), (fn) }; \
	static const struct kcounter *const __kcounter_ptr_##fn __section(".kcounter") \
		__attribute__((used)) = &__kcounter_##fn

/* All counters: *n of them. */
const struct kcounter *const *kcounters(size_t *n);

#endif
