/* The sampling profiler (kernel/prof, arch_sample_stack): the stack walk
 * stops, without faulting, at every kind of bad frame an NMI can meet, and
 * start/stop refuse what they must. The REPL tier checks the profiles. */
#include "kernel/test/ktest.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/prof/prof.h"
#include "kernel/sched/sched.h"

static __attribute__((noinline)) u64 kt_prof_leaf(u64 x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

/* An address inside kt_prof_leaf past its prologue: a "frame set up" pc. */
static u64 leaf_pc(void) { return (u64)&kt_prof_leaf + 8; }

static __attribute__((noinline)) int walk_here(u64 *pcs, int max)
{
	u64 fp = (u64)__builtin_frame_address(0);
	struct arch_sample s = { .cpu = cpu_id(), .kind = SAMPLE_KERNEL, .pc = leaf_pc(),
				 .fp = fp, .sp = fp };
	return arch_sample_stack(&s, pcs, max);
}

static int walk(enum arch_sample_kind kind, u64 pc, u64 fp, u64 sp, u64 *pcs, int max)
{
	struct arch_sample s = { .cpu = cpu_id(), .kind = kind, .pc = pc, .fp = fp, .sp = sp };
	return arch_sample_stack(&s, pcs, max);
}

KTEST(prof_walk)
{
	u64 pcs[24], off = 0;
	int n = walk_here(pcs, 24);
	const char *caller = n >= 2 ? ksym_lookup(pcs[1], &off) : NULL;
	KT_ASSERT(n >= 3 && pcs[0] == leaf_pc(), "a real stack: %d frames", n);
	KT_ASSERT(caller && strcmp(caller, "ktest_fn_prof_walk") == 0, "caller %s",
		  caller ? caller : "?");
	KT_ASSERT(walk_here(pcs, 2) == 2, "at most max frames");

	/* fake frames on this stack: [saved rbp, return address] */
	u64 fake[8] __aligned(16);
	u64 ret = (u64)&kt_prof_leaf + 9, below = (u64)&fake[0] - 64;
	fake[0] = (u64)&fake[0];
	fake[1] = ret;
	n = walk(SAMPLE_KERNEL, leaf_pc(), (u64)&fake[0], below, pcs, 24);
	KT_ASSERT(n == 2 && pcs[1] == ret - 1, "a frame pointing at itself: %d", n);
	fake[4] = (u64)&fake[0];
	fake[5] = ret;
	n = walk(SAMPLE_KERNEL, leaf_pc(), (u64)&fake[4], below, pcs, 24);
	KT_ASSERT(n == 2, "a frame pointing down the stack: %d", n);
	fake[1] = 0x1234;
	n = walk(SAMPLE_KERNEL, leaf_pc(), (u64)&fake[0], below, pcs, 24);
	KT_ASSERT(n == 1, "a return address outside the kernel's text: %d", n);
	n = walk(SAMPLE_KERNEL, leaf_pc(), 0xffff900000000000ULL, below, pcs, 24);
	KT_ASSERT(n == 1, "a frame off the stack: %d", n);
	/* a stack the walk does not know, unmapped: nothing of it is read,
	 * neither as a frame nor as a frameless leaf's return address */
	n = walk(SAMPLE_KERNEL, leaf_pc(), 0xffff900000000000ULL, 0xffff900000000000ULL, pcs, 24);
	KT_ASSERT(n == 1, "an unmapped stack, frame set up: %d", n);
	n = walk(SAMPLE_KERNEL, (u64)&kt_prof_leaf, 0xffff900000000000ULL,
		 0xffff900000000000ULL, pcs, 24);
	KT_ASSERT(n == 1, "an unmapped stack, at a function's entry: %d", n);
	KT_ASSERT(walk(SAMPLE_USER, 0x400000, 0, 0x7ff000, pcs, 24) == 0, "user mode");

	/* an interrupt handler's walk ends at the interrupt entry */
	u64 entry = ksym_address("trap_dispatch_ret");
	KT_ASSERT(entry, "trap_dispatch_ret in the symbol table");
	fake[0] = 0;
	fake[1] = entry;
	KT_ASSERT(walk(SAMPLE_IRQ, leaf_pc(), (u64)&fake[0], below, pcs, 24) == 1,
		  "irq: stops at the entry");
	KT_ASSERT(walk(SAMPLE_KERNEL, leaf_pc(), (u64)&fake[0], below, pcs, 24) == 2,
		  "a thread preempted on an interrupt's way out: walks through");
}

KTEST(prof_start_stop)
{
	if (prof_running())
		KT_ASSERT(prof_stop() == 0, "stop the boot's profile");
	KT_ASSERT(prof_start(ARCH_PROFILE_HZ_MIN - 1) == -EINVAL, "below the rates");
	KT_ASSERT(prof_start(ARCH_PROFILE_HZ_MAX + 1) == -EINVAL, "above the rates");
	KT_ASSERT(prof_stop() == -EALREADY, "stop while stopped");
	KT_ASSERT(prof_start(997) == 0, "start");
	KT_ASSERT(prof_running(), "running");
	KT_ASSERT(prof_start(997) == -EBUSY, "start while running");
	u64 end = arch_clock_ns() + 50000000ULL, x = 0;
	while (arch_clock_ns() < end)
		x = kt_prof_leaf(x);
	KT_ASSERT(prof_stop() == 0, "stop");
	KT_ASSERT(!prof_running(), "stopped");
	KT_ASSERT(prof_start(ARCH_PROFILE_HZ_MAX) == 0 && prof_stop() == 0, "restart");
	(void)x;
}
