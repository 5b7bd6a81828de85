/*
 * The x86-64 boot steps start.c takes (arch_start, arch_irq_init), each
 * implemented in the file named beside it. Private to kernel/arch.
 */
#ifndef ARCH_INIT_H
#define ARCH_INIT_H

#include "kernel/arch/arch.h"

/* multiboot.c: the loader's information, copied into *bi */
void multiboot_parse(u32 info_pa, struct boot_info *bi);
/* ioapic.c: mask the legacy 8259 PICs for good */
void pic_disable(void);
/* smp.c: the IPI handlers; this CPU's local APIC marked up */
void smp_ipi_init(void);
void smp_mark_lapic_up(void);
/* time.c: the TSC and LAPIC timer rates, against the PIT */
void time_calibrate(void);
void rtc_init(void);   /* the wall clock, after time_calibrate */

#endif
