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

/* ---- exception table: (faulting instruction, where to continue) ---- */
struct ex_entry {
	u64 insn, fixup;
};
extern const struct ex_entry _ex_table_start[], _ex_table_end[];

/* syscall_entry calls the two hooks without a look for NULL: these stand
 * in until the process layer sets its own (no system call comes before) */
static long no_syscalls(u64 nr, const u64 args[6])
{
	(void)nr;
	(void)args;
	return -ENOSYS;
}
static void no_user_return(void) {}

long (*syscall_fn)(u64 nr, const u64 args[6]) = no_syscalls;   /* syscall_entry's */
void (*user_return_fn)(void) = no_user_return;                  /* syscall_entry's */
static void (*user_fault_fn)(const struct user_fault *f);
static bool (*user_pf_fn)(u64 addr, bool write, bool exec, bool user);
_Static_assert(offsetof(struct trapframe, rax) == TF_RAX, "TF_RAX");
_Static_assert(offsetof(struct trapframe, error) == TF_ERROR, "TF_ERROR");
_Static_assert(offsetof(struct trapframe, r9) == 5 * sizeof(u64), "the arguments first");

void arch_set_user_pf_resolver(bool (*fn)(u64 addr, bool write, bool exec, bool user))
{
	user_pf_fn = fn;
}
void arch_set_user_return_hook(void (*fn)(void)) { user_return_fn = fn; }

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

/* The frame of the running user thread's entry: syscall_entry and the
 * CPU's own entries both start at the top of its kernel stack. */
static struct trapframe *user_frame(void)
{
	return (struct trapframe *)this_cpu()->kstack_top - 1;
}

/* A system call's frame whose error field is FULL_RETURN leaves by iretq
 * with every register (syscall_entry) */
#define FULL_RETURN TF_FULL_RETURN
#define RFLAGS_USER 0x40dd5UL    /* CF PF AF ZF SF TF DF OF AC */

void arch_user_get_regs(struct user_regs *r)
{
	const struct trapframe *tf = user_frame();
	*r = (struct user_regs){
		.r15 = tf->r15, .r14 = tf->r14, .r13 = tf->r13, .r12 = tf->r12, .rbp = tf->rbp,
		.rbx = tf->rbx, .r11 = tf->r11, .r10 = tf->r10, .r9 = tf->r9, .r8 = tf->r8,
		.rax = tf->rax, .rcx = tf->rcx, .rdx = tf->rdx, .rsi = tf->rsi, .rdi = tf->rdi,
		.rip = tf->rip, .rflags = tf->rflags, .rsp = tf->rsp,
	};
}

int arch_user_set_regs(const struct user_regs *r)
{
	if (r->rip >= USER_TOP || r->rsp >= USER_TOP)
		return -EINVAL;
	struct trapframe *tf = user_frame();
	tf->r15 = r->r15; tf->r14 = r->r14; tf->r13 = r->r13; tf->r12 = r->r12;
	tf->rbp = r->rbp; tf->rbx = r->rbx; tf->r11 = r->r11; tf->r10 = r->r10;
	tf->r9 = r->r9; tf->r8 = r->r8; tf->rax = r->rax; tf->rcx = r->rcx;
	tf->rdx = r->rdx; tf->rsi = r->rsi; tf->rdi = r->rdi;
	tf->rip = r->rip;
	tf->rsp = r->rsp;
	tf->rflags = (r->rflags & RFLAGS_USER) | 0x202;
	if (tf->vector == VEC_SYSCALL)
		tf->error = FULL_RETURN;
	return 0;
}

void arch_user_fork(struct arch_user *child, const struct arch_user *parent, u64 root)
{
	child->root = root;
	child->fs_base = parent->fs_base;
	/* the parent runs: its FPU registers are live, not in its area */
	__asm__ volatile("fxsave64 %0" : "=m"(*(u8(*)[512])child->fpu));
}

void arch_user_fpu_save(void *buf)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*(u8(*)[512])buf));
}

void arch_user_fpu_restore(const void *buf)
{
	/* reserved MXCSR bits would fault: keep the defined ones */
	u8 tmp[512] __aligned(16);
	memcpy(tmp, buf, sizeof(tmp));
	u32 mxcsr;
	memcpy(&mxcsr, tmp + FXSAVE_MXCSR, 4);
	mxcsr &= 0xffbf;
	memcpy(tmp + FXSAVE_MXCSR, &mxcsr, 4);
	__asm__ volatile("fxrstor64 %0" : : "m"(*(const u8(*)[512])tmp));
}

void arch_user_exec(struct arch_user *u, u64 root)
{
	arch_user_init(u, root);
	wrmsr(MSR_FS_BASE, 0);
	__asm__ volatile("fxrstor64 %0" : : "m"(*(const u8(*)[512])u->fpu));
	write_cr3(root);
}

/* Called by syscall_entry, interrupts on; a true result asks for the
 * full return (iretq). */
void trap_user_return(struct trapframe *tf)
{
	if ((tf->cs & 3) == 3)
		user_return_fn();
}

/* A page fault on a user page that the process layer can make present. */
bool trap_user_pf(struct trapframe *tf)
{
	if (tf->vector != EXC_PF || !user_pf_fn)
		return false;
	u64 addr = read_cr2();
	if (addr >= USER_TOP)
		return false;
	if ((tf->cs & 3) == 0) {
		/* the kernel touches user memory only in arch_copy_user */
		bool in_copy = false;
		for (const struct ex_entry *e = _ex_table_start; e < _ex_table_end; e++)
			in_copy |= e->insn == tf->rip;
		if (!in_copy)
			return false;
	}
	bool user = (tf->cs & 3) == 3;
	if (user_pf_fn(addr, tf->error & 2, tf->error & 16, user))
		return true;
	/* a user fault's resolver may have slept (a file's page from the
	 * disk), and another thread's fault on this CPU meanwhile changed
	 * CR2: the report that follows reads this fault's address */
	if (user)
		write_cr2(addr);
	return false;
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
