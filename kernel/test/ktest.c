/* The in-kernel test runner; see ktest.h. */
#include "kernel/test/ktest.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"

#define KTEST_TIMEOUT_NS (240ULL * 1000000000ULL)

extern const struct ktest *const _ktest_start[], *const _ktest_end[];
static const char *selection;       /* NULL: no tests */
static const struct ktest *running; /* the test being run */
static bool failed;

static int set_ktest(const char *v)
{
	selection = v;
	panic_action = PANIC_EXIT;
	return 0;
}
KPARAM("ktest", set_ktest, "all, list, or a comma-separated list of in-kernel tests to run");

bool ktest_selected(void) { return selection != NULL; }

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk(LOG_ERR, "ktest: %s: FAIL at %s:%d: %s", running ? running->name : "?", file, line,
	       msg);
	failed = true;
}

void ktest_metric(const char *name, u64 value, const char *unit)
{
	printk(LOG_INFO, "ktest-metric: %s %s %llu %s", running ? running->name : "?", name,
	       (unsigned long long)value, unit);
}

static bool named(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

static void test_thread(void *arg)
{
	const struct ktest *t = arg;
	t->fn();
}

void ktest_run_selected(void)
{
	int passed = 0, nfailed = 0;
	bool all = strcmp(selection, "all") == 0;
	if (strcmp(selection, "list") == 0) {
		for (const struct ktest *const *tp = _ktest_start; tp < _ktest_end; tp++)
			printk(LOG_INFO, "ktest: %s%s", (*tp)->name,
			       (*tp)->explicit_only ? " (explicit)" : "");
		arch_exit(0);
	}
	/* every name given must exist */
	for (const char *p = selection; !all && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool found = false;
		for (const struct ktest *const *tp = _ktest_start; tp < _ktest_end; tp++)
			if (strlen((*tp)->name) == len && strncmp((*tp)->name, p, len) == 0)
				found = true;
		if (!found) {
			printk(LOG_ERR, "ktest: no test named '%.*s'", (int)len, p);
			nfailed++;
		}
		if (!e)
			break;
		p = e + 1;
	}
	for (const struct ktest *const *tp = _ktest_start; tp < _ktest_end; tp++) {
		const struct ktest *t = *tp;
		if (all ? t->explicit_only : !named(selection, t->name))
			continue;
		running = t;
		failed = false;
		printk(LOG_INFO, "ktest: RUN %s", t->name);
		u64 t0 = arch_clock_ns();
		struct thread *th = thread_create(t->name, test_thread, (void *)t, -1, 0);
		if (!th) {
			ktest_fail(__FILE__, __LINE__, "cannot create test thread");
		} else {
			bool done = wait_event_timeout(&th->exit_wq,
						       __atomic_load_n(&th->exited, __ATOMIC_ACQUIRE),
						       KTEST_TIMEOUT_NS);
			if (!done) {
				ktest_fail(__FILE__, __LINE__, "timed out after %llu s",
					   (unsigned long long)(KTEST_TIMEOUT_NS / 1000000000ULL));
				printk(LOG_ERR, "ktest: FAIL %s (%llu ms)", t->name,
				       (unsigned long long)((arch_clock_ns() - t0) / 1000000));
				printk(LOG_ERR, "ktest: %d passed, %d failed", passed, nfailed + 1);
				arch_exit(1);
			}
			thread_put(th);
		}
		u64 ms = (arch_clock_ns() - t0) / 1000000;
		if (failed) {
			nfailed++;
			printk(LOG_ERR, "ktest: FAIL %s (%llu ms)", t->name, (unsigned long long)ms);
		} else {
			passed++;
			printk(LOG_INFO, "ktest: PASS %s (%llu ms)", t->name, (unsigned long long)ms);
		}
	}
	running = NULL;
	printk(LOG_INFO, "ktest: %d passed, %d failed", passed, nfailed);
	arch_exit(nfailed ? 1 : 0);
}

struct kt_worker {
	void (*fn)(int, void *);
	void *arg;
	int idx;
};

static void kt_worker_main(void *p)
{
	struct kt_worker *w = p;
	w->fn(w->idx, w->arg);
}

int kt_run_on_all_cpus(void (*fn)(int idx, void *arg), void *arg, int per_cpu)
{
	int n = (int)ncpus * per_cpu;
	struct kt_worker *ws = kzalloc(sizeof(*ws) * (size_t)n);
	struct thread **ts = kzalloc(sizeof(*ts) * (size_t)n);
	if (!ws || !ts)
		panic("kt_run_on_all_cpus: out of memory");
	for (int i = 0; i < n; i++) {
		ws[i] = (struct kt_worker){ fn, arg, i };
		ts[i] = thread_create("kt_worker", kt_worker_main, &ws[i], i % (int)ncpus,
				      THREAD_PINNED);
		if (!ts[i])
			panic("kt_run_on_all_cpus: cannot create worker %d", i);
	}
	for (int i = 0; i < n; i++)
		thread_join(ts[i]);
	kfree(ws);
	kfree(ts);
	return n;
}
