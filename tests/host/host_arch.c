/*
 * The architecture interface (kernel/arch/arch.h, CABOOSE_HOST part) and the
 * console for the host unit tests, plus the shared memory fixtures. See
 * host.h for the rules (one CPU id per thread, host_expect_panic).
 *
 * Interrupts: each thread has its own interrupt flag, so irq_save/restore
 * pairing is still tracked; nothing ever interrupts a thread.
 */
#include "tests/host/host.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/mm/mm.h"
#include "kernel/sync/rcu.h"

#include <sanitizer/asan_interface.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- sanitizer settings: reports must end the process with a status,
 * never with SIGABRT, so that a death test cannot pass on an ASan/UBSan
 * report instead of the panic it expects. ---- */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__asan_default_options(void)
{
	return "abort_on_error=0:handle_abort=0:detect_leaks=1:exitcode=86";
}
const char *__ubsan_default_options(void)
{
	return "abort_on_error=0:halt_on_error=1:print_stacktrace=1:exitcode=87";
}

/* ---- CPUs ---- */

struct cpu cpus[MAX_CPUS];
unsigned ncpus = 1;

static _Thread_local struct cpu *host_cpu;
static _Thread_local bool host_irq_on = true;

#define HOST_IF (1UL << 9)   /* the x86 interrupt flag, for familiar tokens */

void host_set_cpu(unsigned id)
{
	if (id >= MAX_CPUS) {
		fprintf(stderr, "host_set_cpu: id %u >= MAX_CPUS\n", id);
		abort();
	}
	struct cpu *c = &cpus[id];
	c->self = c;
	c->id = id;
	c->online = true;
	host_cpu = c;
	unsigned n = __atomic_load_n(&ncpus, __ATOMIC_RELAXED);
	while (id + 1 > n &&
	       !__atomic_compare_exchange_n(&ncpus, &n, id + 1, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

struct cpu *this_cpu(void)
{
	if (!host_cpu)
		host_set_cpu(0);
	return host_cpu;
}

unsigned long irq_save(void)
{
	unsigned long f = host_irq_on ? HOST_IF : 0;
	host_irq_on = false;
	return f;
}

void irq_restore(unsigned long flags) { host_irq_on = (flags & HOST_IF) != 0; }
bool irqs_enabled(void) { return host_irq_on; }
void irq_enable(void) { host_irq_on = true; }
void irq_disable(void) { host_irq_on = false; }
/* Waiting for a spinlock: the holder is a thread the host may have
 * descheduled (more test threads than cores), so give it the core. */
void cpu_pause(void)
{
	__builtin_ia32_pause();
	sched_yield();
}

/* There is no scheduler on the host: nothing sets need_resched, and a thread
 * is never switched away. */
void preempt_resched(void) { this_cpu()->need_resched = false; }

u64 arch_cycles(void)
{
	return __builtin_ia32_rdtsc();
}

u64 arch_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

u64 arch_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

u64 arch_realtime_offset_ns(void) { return arch_realtime_ns() - arch_clock_ns(); }

/* ---- console ---- */

int log_level = LOG_WARN;   /* the boot-time "page: N MiB usable" lines stay quiet */
volatile bool console_panicking;
enum panic_action panic_action = PANIC_EXIT;

void console_write(const char *s, size_t n)
{
	fwrite(s, 1, n, stderr);
}

void vprintk(int level, const char *fmt, va_list ap)
{
	char line[512];
	if (level > log_level)
		return;
	kvsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "[host] c%u %s\n", cpu_id(), line);
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}

static const char *_Atomic expected_panic;

void host_expect_panic(const char *substring) { expected_panic = substring; }

static __noreturn void host_vpanic(const char *kind, const char *fmt, va_list ap)
{
	char msg[1024];
	console_panicking = true;
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s (host, cpu %u): %s\n", kind, cpu_id(), msg);
	const char *want = expected_panic;
	if (want && !strstr(msg, want)) {
		fprintf(stderr, "host: the panic above was expected to mention \"%s\"\n", want);
		fflush(stderr);
		_exit(HOST_WRONG_PANIC_STATUS);
	}
	fflush(stderr);
	abort();
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	host_vpanic("PANIC", fmt, ap);
}

void panic_trap(struct trapframe *tf, const char *fmt, ...)
{
	va_list ap;
	(void)tf;
	va_start(ap, fmt);
	host_vpanic("PANIC (trap)", fmt, ap);
}

/* ---- memory fixtures ---- */

uptr host_direct_base;
void *host_arena;
struct boot_info host_boot_info;

void host_arena_init(void)
{
	host_arena = aligned_alloc(HOST_MEM_ALIGN, HOST_MEM_SIZE);
	if (!host_arena) {
		perror("host_arena_init: aligned_alloc");
		abort();
	}
	host_direct_base = (uptr)host_arena;
	/* Nothing may touch the first MiB, below all usable memory. */
	ASAN_POISON_MEMORY_REGION(host_arena, HOST_USABLE_LO);
}

void host_default_boot_info(struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->loader = "host";
	bi->nmem = 1;
	bi->mem[0] = (struct boot_mem_range){ HOST_USABLE_LO, HOST_MEM_SIZE - HOST_USABLE_LO,
					      BOOT_MEM_USABLE };
	bi->nmods = 0;
	bi->kernel_start = HOST_KERNEL_LO;
	bi->kernel_end = HOST_KERNEL_HI;
}

void host_mm_init(void)
{
	host_arena_init();
	host_default_boot_info(&host_boot_info);
	/* The "kernel image" is off limits too. */
	ASAN_POISON_MEMORY_REGION((char *)host_arena + HOST_KERNEL_LO,
				  HOST_KERNEL_HI - HOST_KERNEL_LO);
	page_init_early(&host_boot_info, HOST_LIMIT);
	page_init_late(&host_boot_info, HOST_LIMIT);
}

void host_slab_init(void)
{
	host_mm_init();
	slab_init();
}

bool host_phys_allocatable(u64 lo, u64 hi)
{
	u64 pages_lo = virt_to_phys(phys_to_page(0));
	u64 pages_hi = pages_lo + ALIGN_UP(page_max_phys() / PAGE_SIZE * sizeof(struct page),
					   (u64)PAGE_SIZE);
	if (lo >= hi || lo < HOST_USABLE_LO || hi > HOST_MEM_SIZE)
		return false;
	if (lo < HOST_KERNEL_HI && hi > HOST_KERNEL_LO)
		return false;
	if (lo < pages_hi && hi > pages_lo)
		return false;
	return true;
}

/* ---- RCU ---- */

/* The network stack's host tests and fuzzers run it on one thread: no
 * reader can be inside rcu_read_lock when a writer frees, so the grace
 * period is over at once. */
void call_rcu(struct rcu_head *h, void (*fn)(struct rcu_head *))
{
	fn(h);
}
