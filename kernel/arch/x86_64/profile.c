/*
 * The sampling profiler's clock and its stack walk (arch.h:
 * arch_profile_start, arch_sample_stack); kernel/prof keeps the samples.
 *
 * Clock: PIT channel 0 in rate-generator mode, its ISA line (IRQ 0) routed
 * by the I/O APIC as an NMI to CPU 0; CPU 0's handler sends an NMI to
 * every other CPU (the LAPIC's "all but self" shorthand) and then samples
 * itself. The LAPIC timer stays the scheduler's one-shot alarm. Because an
 * NMI is taken with interrupts off too, code that runs with interrupts
 * disabled (handlers, irqsave spinlocks) is sampled where it runs rather
 * than at the `sti` after it.
 *
 * NMI context: the handler finds its CPU by its local APIC id, never
 * through %gs (trap_dispatch calls it before touching this_cpu()), takes
 * no lock and reads memory only after checking that it is mapped.
 *
 * [S] start/stop: called from one thread at a time (the profiler's, which
 * holds its own lock); `active` and `in_fn` are atomics shared with the
 * NMI handlers (a seq_cst store/load pair on each side, so that stop never
 * returns while a handler is still inside fn).
 */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"

/* 8254 PIT, channel 0 (its output is ISA IRQ 0) */
#define PIT_HZ 1193182
#define PIT_CH0 0x40          /* write: count, low byte then high byte */
#define PIT_CMD 0x43          /* write: mode/command */
#define PIT_CH0_RATE 0x34     /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
#define PIT_CH0_STOP 0x30     /* channel 0, mode 0: counting stops until a count is written */
#define PIT_IRQ 0

static void (*sample_fn)(const struct arch_sample *s);  /* [S] */
static bool handler_set;                                 /* [S] */
static bool active;                                      /* [atomic] */
static u8 in_fn[MAX_CPUS];                               /* [atomic] */
static u64 stray_nmis;                                   /* [atomic] NMIs while stopped */

static int cpu_by_apic(u32 apic_id)
{
	unsigned n = __atomic_load_n(&ncpus, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n && i < MAX_CPUS; i++)
		if (cpus[i].apic_id == apic_id)
			return (int)i;
	return -1;
}

static enum arch_sample_kind kind_of(const struct trapframe *tf, const struct cpu *c)
{
	if (tf->cs & 3)
		return SAMPLE_USER;
	if (c->irq_depth > 0 ||
	    (tf->rip >= (u64)trap_stubs_start && tf->rip < (u64)trap_entry_end))
		return SAMPLE_IRQ;
	if (c->idle)
		return SAMPLE_IDLE;
	return SAMPLE_KERNEL;
}

static void nmi(struct trapframe *tf, void *arg)
{
	(void)arg;
	int id = cpu_by_apic(lapic_id());
	if (id < 0)
		return;
	__atomic_store_n(&in_fn[id], 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&active, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&stray_nmis, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&in_fn[id], 0, __ATOMIC_RELEASE);
		return;
	}
	if (id == 0)
		lapic_send_nmi_others();
	struct arch_sample s = {
		.cpu = (unsigned)id,
		.kind = kind_of(tf, &cpus[id]),
		.pc = tf->rip,
		.fp = tf->rbp,
		.sp = tf->rsp,
	};
	sample_fn(&s);
	__atomic_store_n(&in_fn[id], 0, __ATOMIC_RELEASE);
}

int arch_profile_start(unsigned hz, void (*fn)(const struct arch_sample *s))
{
	if (hz < ARCH_PROFILE_HZ_MIN || hz > ARCH_PROFILE_HZ_MAX || !fn)
		return -EINVAL;
	if (__atomic_load_n(&active, __ATOMIC_SEQ_CST))
		return -EBUSY;
	sample_fn = fn;
	if (!handler_set) {
		trap_set_handler(EXC_NMI, nmi, NULL);
		handler_set = true;
	}
	__atomic_store_n(&active, true, __ATOMIC_SEQ_CST);
	u32 div = PIT_HZ / hz;
	outb(PIT_CMD, PIT_CH0_RATE);
	outb(PIT_CH0, (u8)(div & 0xff));
	outb(PIT_CH0, (u8)(div >> 8));
	int err = ioapic_isa_nmi(PIT_IRQ, cpus[0].apic_id, true);
	if (err < 0) {
		outb(PIT_CMD, PIT_CH0_STOP);
		__atomic_store_n(&active, false, __ATOMIC_SEQ_CST);
		return -ENODEV;
	}
	return 0;
}

void arch_profile_stop(void)
{
	ioapic_isa_nmi(PIT_IRQ, cpus[0].apic_id, false);
	outb(PIT_CMD, PIT_CH0_STOP);
	__atomic_store_n(&active, false, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < MAX_CPUS; i++)
		while (__atomic_load_n(&in_fn[i], __ATOMIC_SEQ_CST))
			cpu_relax();
}

/* The stack that holds sp: a kernel stack slot, the boot stack, or (for
 * the interrupt stacks and anything else) a window above sp whose pages
 * are each checked before they are read. */
static void stack_bounds(u64 sp, u64 *lo, u64 *hi)
{
	if (sp >= KSTACK_AREA && sp < KSTACK_AREA + (u64)KSTACK_SLOTS * KSTACK_SLOT) {
		u64 slot = sp - (sp - KSTACK_AREA) % KSTACK_SLOT;
		*lo = slot + KSTACK_GUARD;
		*hi = slot + KSTACK_SLOT;
		return;
	}
	u64 b = (u64)boot_stack_guard + PAGE_SIZE;
	if (sp >= b && sp < b + BOOT_STACK_SIZE) {
		*lo = b;
		*hi = b + BOOT_STACK_SIZE;
		return;
	}
	*lo = sp;
	*hi = sp + KSTACK_SIZE;
}

int arch_sample_stack(const struct arch_sample *s, u64 *pcs, int max)
{
	int n = 0;
	if (max <= 0 || s->kind == SAMPLE_USER)
		return 0;
	pcs[n++] = s->pc;
	/* the entry code keeps no frame of its own worth walking */
	if (s->pc >= (u64)trap_stubs_start && s->pc < (u64)trap_entry_end)
		return n;
	u64 lo, hi;
	stack_bounds(s->sp, &lo, &hi);
	if (s->sp < lo || s->sp + 8 > hi)
		return n;
	if (!trap_frame_set_up(s->pc) && trap_frame_readable(s->sp)) {
		/* a prologue or a frameless leaf: the return address is on top */
		u64 ret = *(const u64 *)s->sp;
		if (ret == (u64)trap_dispatch_ret && s->kind == SAMPLE_IRQ)
			return n;
		if (trap_is_text(ret) && n < max)
			pcs[n++] = ret - 1;
	}
	/* each frame record [saved rbp, return address] must lie above the
	 * last one, on the same stack, in mapped memory */
	u64 fp = s->fp, floor = s->sp;
	while (n < max && fp >= floor && fp + 16 <= hi && trap_frame_readable(fp)) {
		const u64 *f = (const u64 *)fp;
		u64 ret = f[1];
		if (ret == (u64)trap_dispatch_ret && s->kind == SAMPLE_IRQ)
			break;
		if (!trap_is_text(ret))
			break;
		pcs[n++] = ret - 1;
		floor = fp + 16;
		fp = f[0];
	}
	return n;
}
