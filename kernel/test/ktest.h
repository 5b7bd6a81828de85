/*
 * In-kernel tests. Declare one with
 *     KTEST(name) { ... KT_ASSERT(cond, "fmt", ...); ... }
 * Tests run one at a time, each in a fresh thread, when the command line
 * says ktest=all or ktest=name1,name2 (ktest=list prints the names). A
 * failed assertion ends that test. KTEST_EXPLICIT tests (those expected to
 * panic, for instance) run only when named. At the end the kernel prints
 * "ktest: N passed, M failed" and leaves QEMU through isa-debug-exit with
 * status 1 (all passed) or 3 (some failed); see README.
 */
#ifndef TEST_KTEST_H
#define TEST_KTEST_H

#include "kernel/lib/types.h"

struct ktest {
	const char *name;
	void (*fn)(void);
	bool explicit_only;
	const char *file;
};

#define KTEST_DEFINE(nm, expl)                                                     \
	static void ktest_fn_##nm(void);                                           \
	static const struct ktest ktest_##nm = { #nm, ktest_fn_##nm, expl, __FILE__ }; \
	static const struct ktest *const ktest_ptr_##nm __section(".ktest")        \
		__attribute__((used)) = &ktest_##nm;                               \
	static void ktest_fn_##nm(void)

#define KTEST(nm) KTEST_DEFINE(nm, false)
#define KTEST_EXPLICIT(nm) KTEST_DEFINE(nm, true)

void ktest_fail(const char *file, int line, const char *fmt, ...) __printf(3, 4);
/* Log a figure the test measured (machine-readable "ktest-metric" line). */
void ktest_metric(const char *name, u64 value, const char *unit);

#define KT_ASSERT(cond, ...)                                                 \
	do {                                                                 \
		if (!(cond)) {                                               \
			ktest_fail(__FILE__, __LINE__, "assertion " #cond " failed: " __VA_ARGS__); \
			return;                                              \
		}                                                            \
	} while (0)

/* A small deterministic generator for tests (xorshift64*). */
static inline u64 kt_rand(u64 *state)
{
	u64 x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Run one function per online CPU in threads pinned there (plus `extra`
 * unpinned copies spread over the CPUs), and wait for all of them.
 * fn gets the worker index. Returns the number of workers. */
int kt_run_on_all_cpus(void (*fn)(int idx, void *arg), void *arg, int per_cpu);

/* Run the tests the command line selected; returns when done. */
void ktest_run_selected(void);
bool ktest_selected(void);

#endif
