/*
 * Per-CPU descriptor tables and the %gs base that this_cpu() reads.
 * Each CPU has its own GDT (so its TSS descriptor can be busy without
 * disturbing others) and TSS (whose IST slots give the double-fault, NMI and
 * machine-check handlers stacks of their own).
 */
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/lib/string.h"
#include "kernel/console/console.h"

struct cpu cpus[MAX_CPUS];
struct arch_cpu arch_cpus[MAX_CPUS];
unsigned ncpus = 1;
struct cpu_features cpu_feat;

#define GDT_KCODE 0x00af9a000000ffffULL
#define GDT_KDATA 0x00cf92000000ffffULL
#define GDT_UDATA 0x00cff2000000ffffULL
#define GDT_UCODE 0x00affa000000ffffULL

void cpu_features_init(void)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	cpu_feat.max_leaf = a;
	memcpy(cpu_feat.vendor, &b, 4);
	memcpy(cpu_feat.vendor + 4, &d, 4);
	memcpy(cpu_feat.vendor + 8, &c, 4);
	cpuid(1, 0, &a, &b, &c, &d);
	cpu_feat.x2apic = c & (1u << 21);
	cpu_feat.tsc_deadline = c & (1u << 24);
	cpu_feat.hypervisor = c & (1u << 31);
	cpu_feat.pge = d & (1u << 13);
	if (cpu_feat.max_leaf >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		cpu_feat.smep = b & (1u << 7);
		cpu_feat.smap = b & (1u << 20);
	}
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	u32 ext_max = a;
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	cpu_feat.syscall = d & (1u << 11);
	cpu_feat.nx = d & (1u << 20);
	cpu_feat.pdpe1gb = d & (1u << 26);
	if (ext_max >= 0x80000004) {
		u32 *p = (u32 *)cpu_feat.brand;
		for (u32 leaf = 0x80000002; leaf <= 0x80000004; leaf++, p += 4)
			cpuid(leaf, 0, &p[0], &p[1], &p[2], &p[3]);
	}
	if (ext_max >= 0x80000007) {
		cpuid(0x80000007, 0, &a, &b, &c, &d);
		cpu_feat.invariant_tsc = d & (1u << 8);
	}
}

static void load_segments(void)
{
	__asm__ volatile(
		"pushq %0\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w1, %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movw %%ax, %%fs\n\t"
		"movw %%ax, %%gs\n\t"
		:
		: "i"((u64)SEL_KCODE), "i"(SEL_KDATA)
		: "rax", "memory");
}

void cpu_setup(unsigned id, u64 ist_df, u64 ist_nmi, u64 ist_mc)
{
	struct arch_cpu *ac = &arch_cpus[id];
	struct cpu *c = &cpus[id];

	c->self = c;
	c->id = id;
	c->arch = ac;
	ac->gdt[0] = 0;
	ac->gdt[1] = GDT_KCODE;
	ac->gdt[2] = GDT_KDATA;
	ac->gdt[3] = GDT_UDATA;
	ac->gdt[4] = GDT_UCODE;
	memset(&ac->tss, 0, sizeof(ac->tss));
	ac->tss.iomap_base = sizeof(struct tss);
	ac->tss.ist[IST_DF - 1] = ist_df;
	ac->tss.ist[IST_NMI - 1] = ist_nmi;
	ac->tss.ist[IST_MC - 1] = ist_mc;
	ac->ist_top[IST_DF] = ist_df;
	ac->ist_top[IST_NMI] = ist_nmi;
	ac->ist_top[IST_MC] = ist_mc;
	u64 base = (u64)&ac->tss, limit = sizeof(struct tss) - 1;
	ac->gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		     (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	ac->gdt[6] = base >> 32;

	struct {
		u16 limit;
		u64 base;
	} __packed gdtr = { sizeof(ac->gdt) - 1, (u64)ac->gdt };
	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	load_segments();
	__asm__ volatile("ltr %w0" : : "r"((u16)SEL_TSS));
	wrmsr(MSR_GS_BASE, (u64)c);
	wrmsr(MSR_KERNEL_GS, 0);
}

/* ---- user mode ---- */

#define MSR_STAR   0xC0000081
#define MSR_LSTAR  0xC0000082
#define MSR_FMASK  0xC0000084
#define EFER_SCE   (1UL << 0)
#define CR4_SMEP   (1UL << 20)
#define CR4_SMAP   (1UL << 21)
/* flags syscall clears: IF (entry runs with interrupts off until the
 * stack is switched), TF, DF, AC (SMAP stays in force), NT */
#define SYSCALL_FMASK ((1UL << 9) | (1UL << 8) | (1UL << 10) | (1UL << 18) | (1UL << 14))

_Static_assert(__builtin_offsetof(struct cpu, user_rsp) == CPU_USER_RSP, "CPU_USER_RSP");
_Static_assert(__builtin_offsetof(struct cpu, kstack_top) == CPU_KSTACK_TOP, "CPU_KSTACK_TOP");
/* sysret takes CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8 */
_Static_assert(SEL_UCODE == ((SEL_KDATA + 16) | 3) && SEL_UDATA == ((SEL_KDATA + 8) | 3),
	       "the GDT order sysret needs");

u8 smap_enabled;
void syscall_entry(void);

void cpu_user_setup(void)
{
	if (!cpu_feat.syscall)
		panic("cpu: no syscall instruction");
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, ((u64)SEL_KDATA << 48) | ((u64)SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (u64)syscall_entry);
	wrmsr(MSR_FMASK, SYSCALL_FMASK);
	u64 cr4 = read_cr4();
	if (cpu_feat.smep)
		cr4 |= CR4_SMEP;
	if (cpu_feat.smap) {
		cr4 |= CR4_SMAP;
		smap_enabled = 1;
	}
	write_cr4(cr4);
}

bool arch_smep_on(void) { return cpu_feat.smep; }
bool arch_smap_on(void) { return smap_enabled; }

struct context *arch_thread_init(void *stack_top, void (*entry)(void))
{
	u64 *sp = (u64 *)ALIGN_DOWN((u64)stack_top, 16);
	*--sp = 0;            /* return address of entry: ends backtraces */
	*--sp = (u64)entry;   /* where arch_switch's ret goes */
	for (int i = 0; i < 6; i++)
		*--sp = 0;    /* rbp rbx r12 r13 r14 r15 */
	return (struct context *)sp;
}
