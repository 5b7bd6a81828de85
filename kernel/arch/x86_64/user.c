/*
 * User mode on x86-64 (arch.h "user mode"): the per-thread state switched
 * with a user thread, the system-call and user-fault upcalls, and the
 * exception table that turns a fault in arch_copy_user into a short copy.
 */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

_Static_assert(USER_TOP == USER_TOP_ASM, "USER_TOP");

static long (*syscall_fn)(u64 nr, const u64 args[6]);
static void (*user_fault_fn)(const struct user_fault *f);

void arch_set_syscall_handler(long (*fn)(u64 nr, const u64 args[6])) { syscall_fn = fn; }
void arch_set_user_fault_handler(void (*fn)(const struct user_fault *f)) { user_fault_fn = fn; }

#define FXSAVE_FCW   0      /* x87 control word */
#define FXSAVE_MXCSR 24     /* SSE control and status */

void arch_user_init(struct arch_user *u, u64 root)
{
	memset(u, 0, sizeof(*u));
	u->root = root;
	/* the state after finit and a reset MXCSR: all exceptions masked,
	 * round to nearest, 64-bit x87 precision */
	u16 fcw = 0x037f;
	u32 mxcsr = 0x1f80;
	memcpy(u->fpu + FXSAVE_FCW, &fcw, sizeof(fcw));
	memcpy(u->fpu + FXSAVE_MXCSR, &mxcsr, sizeof(mxcsr));
}

void arch_user_switch_in(struct arch_user *u, u64 kstack_top)
{
	struct cpu *c = this_cpu();
	struct arch_cpu *ac = c->arch;
	c->kstack_top = kstack_top;
	ac->tss.rsp[0] = kstack_top;
	write_cr3(u->root);
	wrmsr(MSR_FS_BASE, u->fs_base);
	__asm__ volatile("fxrstor64 %0" : : "m"(*(const u8(*)[512])u->fpu));
}

void arch_user_switch_out(struct arch_user *u)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*(u8(*)[512])u->fpu));
	write_cr3(mmu_kernel_cr3());
}

void arch_user_set_fs(struct arch_user *u, u64 base)
{
	u->fs_base = base;
	wrmsr(MSR_FS_BASE, base);
}

u64 arch_user_hwcap(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	return d;
}

/* Called by syscall_entry, interrupts on. */
void arch_syscall(struct trapframe *tf);
void arch_syscall(struct trapframe *tf)
{
	const u64 args[6] = { tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9 };
	tf->rax = syscall_fn ? (u64)syscall_fn(tf->rax, args) : (u64)-ENOSYS;
}

/* An exception in user mode: hand it to the process layer. */
bool trap_user_fault(struct trapframe *tf, const char *name)
{
	if (!user_fault_fn)
		return false;
	struct user_fault f = { .what = name, .pc = tf->rip, .sp = tf->rsp };
	switch (tf->vector) {
	case EXC_PF:
		f.kind = UFAULT_PAGE;
		f.addr = read_cr2();
		f.present = tf->error & 1;
		f.write = tf->error & 2;
		f.exec = tf->error & 16;
		break;
	case EXC_DE:
		f.kind = UFAULT_DIVIDE;
		break;
	case 16: /* #MF */
	case 19: /* #XM */
		f.kind = UFAULT_FP;
		break;
	case EXC_UD:
		f.kind = UFAULT_INVALID_OP;
		break;
	case 1: /* #DB */
	case EXC_BP:
		f.kind = UFAULT_BREAKPOINT;
		break;
	case 12: /* #SS */
	case 17: /* #AC */
		f.kind = UFAULT_BUS;
		break;
	default:
		f.kind = UFAULT_PROTECTION;
		break;
	}
	user_fault_fn(&f);
	return true;
}

/* ---- exception table: (faulting instruction, where to continue) ---- */
struct ex_entry {
	u64 insn, fixup;
};
extern const struct ex_entry _ex_table_start[], _ex_table_end[];

bool trap_fixup(struct trapframe *tf)
{
	for (const struct ex_entry *e = _ex_table_start; e < _ex_table_end; e++) {
		if (e->insn == tf->rip) {
			tf->rip = e->fixup;
			return true;
		}
	}
	return false;
}
