/*
 * The IDT and trap dispatch. Exceptions in the kernel are reported (what,
 * where, and for page faults which address and why) and end in panic_trap.
 * Exceptions in user mode go to the process layer (user.c), and a fault
 * inside arch_copy_user to its fixup. Interrupts go to the handler registered for their vector; handlers run
 * with interrupts disabled and must do almost nothing (DESIGN principle 6).
 * On the way out, a pending reschedule preempts the interrupted thread if it
 * is preemptible.
 */
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/console/console.h"
#include "kernel/sync/spinlock.h"

struct idt_entry {
	u16 off_lo;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off_mid;
	u32 off_hi;
	u32 zero;
} __packed;

static struct idt_entry idt[256] __aligned(16);

static struct {
	irq_handler_t fn;
	void *arg;
} handlers[256];

u64 irq_counts[MAX_CPUS][256];

static const char *const exc_names[32] = {
	"divide error (#DE)", "debug (#DB)", "NMI", "breakpoint (#BP)", "overflow (#OF)",
	"bound range (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
	"double fault (#DF)", "coprocessor overrun", "invalid TSS (#TS)",
	"segment not present (#NP)", "stack fault (#SS)", "general protection (#GP)",
	"page fault (#PF)", "reserved 15", "x87 error (#MF)", "alignment check (#AC)",
	"machine check (#MC)", "SIMD error (#XM)", "virtualization (#VE)",
	"control protection (#CP)", "reserved 22", "reserved 23", "reserved 24",
	"reserved 25", "reserved 26", "reserved 27", "hypervisor injection (#HV)",
	"VMM communication (#VC)", "security (#SX)", "reserved 31",
};

void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		u64 off = (u64)trap_stubs_start + (u64)v * 16;
		struct idt_entry *e = &idt[v];
		e->off_lo = off & 0xffff;
		e->sel = SEL_KCODE;
		e->ist = 0;
		e->type = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
		e->off_mid = (off >> 16) & 0xffff;
		e->off_hi = (u32)(off >> 32);
		e->zero = 0;
	}
	idt[EXC_DF].ist = IST_DF;
	idt[EXC_NMI].ist = IST_NMI;
	idt[EXC_MC].ist = IST_MC;
}

void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __packed idtr = { sizeof(idt) - 1, (u64)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void trap_set_handler(u8 vector, irq_handler_t fn, void *arg)
{
	handlers[vector].arg = arg;
	__atomic_store_n(&handlers[vector].fn, fn, __ATOMIC_RELEASE);
}

/* ---- dynamically allocated device vectors ---- */

static spinlock_t dyn_lock = SPINLOCK_INIT("irq_alloc");
static struct {
	void (*fn)(void *);
	void *arg;
} dyn[256];

static void dyn_irq(struct trapframe *tf, void *arg)
{
	(void)tf;
	int v = (int)(uptr)arg;
	dyn[v].fn(dyn[v].arg);
}

int arch_irq_alloc(void (*fn)(void *arg), void *arg)
{
	unsigned long f = spin_lock_irqsave(&dyn_lock);
	for (int v = VEC_DYN_FIRST; v <= VEC_DYN_LAST; v++) {
		if (!dyn[v].fn && !handlers[v].fn) {
			dyn[v].fn = fn;
			dyn[v].arg = arg;
			trap_set_handler((u8)v, dyn_irq, (void *)(uptr)v);
			spin_unlock_irqrestore(&dyn_lock, f);
			return v;
		}
	}
	spin_unlock_irqrestore(&dyn_lock, f);
	return -ENOSPC;
}

void arch_irq_free(int v)
{
	if (v < VEC_DYN_FIRST || v > VEC_DYN_LAST)
		return;
	unsigned long f = spin_lock_irqsave(&dyn_lock);
	trap_set_handler((u8)v, NULL, NULL);
	dyn[v].fn = NULL;
	dyn[v].arg = NULL;
	spin_unlock_irqrestore(&dyn_lock, f);
}

void arch_msi_message(unsigned cpu, int vector, u64 *addr, u32 *data)
{
	msi_compose(cpus[cpu].apic_id, (u8)vector, addr, data);
}

int arch_irq_route_isa(unsigned irq, int vector, unsigned cpu)
{
	return ioapic_route_isa(irq, (u8)vector, cpus[cpu].apic_id);
}

void arch_irq_self(int vector) { lapic_send_ipi(this_cpu()->apic_id, (u8)vector); }

u64 arch_irq_count(unsigned cpu, int vector) { return irq_counts[cpu][vector & 255]; }

/* Which kernel stack guard, if any, holds addr. */
static bool in_stack_guard(u64 addr, u64 *stack_lo)
{
	if (addr >= KSTACK_AREA && addr < KSTACK_AREA + (u64)KSTACK_SLOTS * KSTACK_SLOT) {
		u64 off = (addr - KSTACK_AREA) % KSTACK_SLOT;
		*stack_lo = addr - off + KSTACK_GUARD;
		return off < KSTACK_GUARD;
	}
	u64 g = (u64)boot_stack_guard;
	if (addr >= g && addr < g + PAGE_SIZE) {
		*stack_lo = g + PAGE_SIZE;
		return true;
	}
	return false;
}

static void report_exception(struct trapframe *tf)
{
	u64 off = 0;
	const char *sym = ksym_lookup(tf->rip, &off);
	const char *name = tf->vector < 32 ? exc_names[tf->vector] : "unknown";
	u64 stack_lo;

	if (tf->vector == EXC_PF) {
		u64 cr2 = read_cr2();
		const char *why = (tf->error & 1) ? "protection violation" : "not present";
		const char *acc = (tf->error & 16) ? "instruction fetch" :
				  (tf->error & 2) ? "write" : "read";
		if (in_stack_guard(cr2, &stack_lo))
			panic_trap(tf, "kernel stack overflow: %s of guard page %#llx below stack %#llx "
				   "at %s+0x%llx", acc, (unsigned long long)cr2,
				   (unsigned long long)stack_lo, sym ? sym : "?",
				   (unsigned long long)off);
		panic_trap(tf, "page fault: %s of %#llx (%s) at %#llx <%s+0x%llx>", acc,
			   (unsigned long long)cr2, why, (unsigned long long)tf->rip,
			   sym ? sym : "?", (unsigned long long)off);
	}
	if (tf->vector == EXC_DF) {
		/* The CPU could not deliver a fault; the usual cause is a stack
		 * overflow, where pushing the #PF frame itself faulted. */
		if (in_stack_guard(tf->rsp - 8, &stack_lo) || in_stack_guard(tf->rsp, &stack_lo))
			panic_trap(tf, "double fault: kernel stack overflow (rsp %#llx in the guard page "
				   "below stack %#llx) at %s+0x%llx", (unsigned long long)tf->rsp,
				   (unsigned long long)stack_lo, sym ? sym : "?",
				   (unsigned long long)off);
	}
	panic_trap(tf, "exception %s, error %#llx, at %#llx <%s+0x%llx>", name,
		   (unsigned long long)tf->error, (unsigned long long)tf->rip, sym ? sym : "?",
		   (unsigned long long)off);
}

/* Registered by the scheduler at boot (arch_set_preempt_handler): called
 * on interrupt return when a reschedule is pending and the interrupted
 * thread may be preempted. */
static void (*preempt_handler)(void);

void arch_set_preempt_handler(void (*fn)(void))
{
	__atomic_store_n(&preempt_handler, fn, __ATOMIC_RELEASE);
}

void trap_dispatch(struct trapframe *tf)
{
	u64 v = tf->vector;

	/* An NMI can arrive where %gs still holds the user's base (the
	 * instructions around swapgs on the way in and out of user mode):
	 * its handler must not use this_cpu(). */
	if (v == EXC_NMI && handlers[v].fn) {
		handlers[v].fn(tf, handlers[v].arg);
		return;
	}
	struct cpu *c = this_cpu();
	if (v < 32) {
		/* a fault of the program's own making; an NMI or a machine check
		 * is the machine's and is reported as before */
		if (v == EXC_PF && trap_user_pf(tf)) {
			trap_user_return(tf);
			return;
		}
		if ((tf->cs & 3) == 3 && v != EXC_NMI && v != EXC_MC &&
		    trap_user_fault(tf, exc_names[v])) {
			trap_user_return(tf);
			return;
		}
		/* a bad user pointer met by arch_copy_user: the copy comes up short */
		if ((v == EXC_PF || v == EXC_GP) && (tf->cs & 3) == 0 && trap_fixup(tf))
			return;
		report_exception(tf);
	}
	c->irq_depth++;
	c->irq_count++;
	irq_counts[c->id][v]++;
	irq_handler_t fn = __atomic_load_n(&handlers[v].fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(tf, handlers[v].arg);
	if (v >= VEC_PIC_BASE && v < VEC_PIC_BASE + 16) {
		/* masked legacy PIC: only spurious IRQ7/15 arrive; no EOI for those */
	} else if (v != VEC_SPURIOUS) {
		lapic_eoi();
	}
	c->irq_depth--;
	if (c->need_resched && c->current && c->preempt_count == 0 && (tf->rflags & RFLAGS_IF)) {
		void (*fn)(void) = __atomic_load_n(&preempt_handler, __ATOMIC_ACQUIRE);
		if (fn)
			fn();
	}
	trap_user_return(tf);
}

void arch_dump_trapframe(struct trapframe *tf)
{
	if (!tf) {
		printk(LOG_EMERG, "  (no trap frame) rsp=%#llx cr3=%#llx",
		       (unsigned long long)__builtin_frame_address(0),
		       (unsigned long long)read_cr3());
		return;
	}
	printk(LOG_EMERG, "  rip=%016llx cs=%04llx rflags=%08llx vector=%llu error=%#llx",
	       (unsigned long long)tf->rip, (unsigned long long)tf->cs,
	       (unsigned long long)tf->rflags, (unsigned long long)tf->vector,
	       (unsigned long long)tf->error);
	printk(LOG_EMERG, "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx",
	       (unsigned long long)tf->rax, (unsigned long long)tf->rbx,
	       (unsigned long long)tf->rcx, (unsigned long long)tf->rdx);
	printk(LOG_EMERG, "  rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx",
	       (unsigned long long)tf->rsi, (unsigned long long)tf->rdi,
	       (unsigned long long)tf->rbp, (unsigned long long)tf->rsp);
	printk(LOG_EMERG, "  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx",
	       (unsigned long long)tf->r8, (unsigned long long)tf->r9,
	       (unsigned long long)tf->r10, (unsigned long long)tf->r11);
	printk(LOG_EMERG, "  r12=%016llx r13=%016llx r14=%016llx r15=%016llx",
	       (unsigned long long)tf->r12, (unsigned long long)tf->r13,
	       (unsigned long long)tf->r14, (unsigned long long)tf->r15);
	printk(LOG_EMERG, "  cr2=%016llx cr3=%016llx", (unsigned long long)read_cr2(),
	       (unsigned long long)read_cr3());
}

void arch_trapframe_regs(struct trapframe *tf, u64 *pc, u64 *fp, u64 *sp)
{
	*pc = tf->rip;
	*fp = tf->rbp;
	*sp = tf->rsp;
}

bool trap_is_text(u64 a) { return a >= (u64)_text_start && a < (u64)_text_end; }

/* Had the function containing pc pushed %rbp yet? Leaf functions may have
 * no frame at all, and a fault can hit a prologue. */
bool trap_frame_set_up(u64 pc)
{
	u64 off = 0;
	if (!ksym_lookup(pc, &off) || !trap_is_text(pc - off))
		return true;
	const u8 *f = (const u8 *)(pc - off);
	u64 push = 0;
	if (f[0] == 0xf3 && f[1] == 0x0f && f[2] == 0x1e && f[3] == 0xfa) /* endbr64 */
		push = 4;
	if (f[push] != 0x55) /* no push %rbp at entry: a frameless function */
		return false;
	/* push %rbp; mov %rsp,%rbp (48 89 e5) may be separated by one other
	 * instruction; be conservative: set up once pc is past the push */
	return off > push;
}

bool trap_frame_readable(u64 fp)
{
	return fp >= 0xffff800000000000ULL && IS_ALIGNED(fp, 8) && mmu_is_mapped(fp) &&
	       mmu_is_mapped(fp + 8);
}

static void print_emit(void *arg, int i, u64 addr, const char *sym, u64 off)
{
	(void)arg;
	printk(LOG_EMERG, "  #%-2d %016llx %s+0x%llx", i, (unsigned long long)addr,
	       sym ? sym : "?", (unsigned long long)off);
}

void arch_backtrace_walk(u64 fp, u64 pc, u64 sp, bt_emit_t emit, void *arg)
{
	int i = 0;
	u64 off = 0;
	const char *sym;
	if (pc) {
		sym = ksym_lookup(pc, &off);
		emit(arg, i++, pc, sym, off);
	}
	if (pc && sp && !trap_frame_set_up(pc) && trap_frame_readable(sp)) {
		/* the return address is on top of the stack, fp is the caller's */
		u64 ret = *(u64 *)sp;
		if (trap_is_text(ret)) {
			sym = ksym_lookup(ret - 1, &off);
			emit(arg, i++, ret, sym, off + 1);
		}
	}
	while (i < 32 && fp && trap_frame_readable(fp)) {
		u64 *f = (u64 *)fp;
		u64 ret = f[1], next = f[0];
		if (!ret)
			break;
		/* a return address points after the call: look up ret-1 */
		sym = ksym_lookup(ret - 1, &off);
		emit(arg, i++, ret, sym, off + 1);
		if (next == fp)
			break;
		fp = next;
	}
}

void arch_backtrace(u64 fp, u64 pc, u64 sp)
{
	printk(LOG_EMERG, "backtrace:");
	arch_backtrace_walk(fp, pc, sp, print_emit, NULL);
}

void arch_context_frame(const struct context *ctx, u64 *fp, u64 *pc)
{
	/* arch_switch pushed rbp rbx r12 r13 r14 r15, then the call pushed
	 * the return address: [r15 r14 r13 r12 rbx rbp ret] from ctx up */
	const u64 *w = (const u64 *)ctx;
	*fp = w[5];
	*pc = w[6];
}
