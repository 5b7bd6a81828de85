/*
 * Per-CPU architecture state (private to kernel/arch/x86_64): the GDT and TSS
 * each CPU loads, and the interrupt stacks the TSS names.
 */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include "kernel/arch/arch.h"

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

struct arch_cpu {
	u64 gdt[7];            /* null, kcode, kdata, udata, ucode, tss (2 slots) */
	struct tss tss;
	u64 ist_top[4];        /* [IST_DF], [IST_NMI], [IST_MC] */
	u64 kstack_lo, kstack_hi; /* this CPU's scheduler-loop stack */
} __aligned(16);

extern struct arch_cpu arch_cpus[MAX_CPUS];

/* CPU features found by cpu_features_init (BSP). */
struct cpu_features {
	bool nx, pdpe1gb, x2apic, tsc_deadline, invariant_tsc, pge, hypervisor;
	bool smep, smap, syscall;
	u32 max_leaf;
	char vendor[13];
	char brand[49];
};
extern struct cpu_features cpu_feat;

void cpu_features_init(void);
/* Load GDT, TSS and GS base for CPU `id` on the running CPU. */
void cpu_setup(unsigned id, u64 ist_df, u64 ist_nmi, u64 ist_mc);
/* User mode on the running CPU (after cpu_features_init): the syscall
 * MSRs, SMEP and SMAP where the CPU has them. */
void cpu_user_setup(void);
/* Nonzero when SMAP is on (the copy routines and trap entry test it). */
extern u8 smap_enabled;

#endif
