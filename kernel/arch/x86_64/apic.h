/*
 * Local APIC (xAPIC, memory-mapped) and I/O APIC.
 *
 * The local APIC delivers IPIs and the per-CPU one-shot timer; lapic_eoi
 * acknowledges an interrupt. The I/O APIC routes legacy lines (GSIs) to a
 * vector on a CPU; all lines start masked. MSI/MSI-X messages for devices
 * are composed by msi_compose (the device writes `data` to `addr`).
 */
#ifndef ARCH_APIC_H
#define ARCH_APIC_H

#include "kernel/lib/types.h"

/* §10.4 (Intel SDM vol. 3A) local APIC register offsets, 32-bit each */
#define LAPIC_ID        0x020  /* read */
#define LAPIC_VERSION   0x030  /* read */
#define LAPIC_TPR       0x080  /* read/write */
#define LAPIC_EOI       0x0b0  /* write */
#define LAPIC_SVR       0x0f0  /* read/write: spurious vector, enable bit 8 */
#define LAPIC_ESR       0x280  /* read/write */
#define LAPIC_ICR_LO    0x300  /* read/write */
#define LAPIC_ICR_HI    0x310  /* read/write: destination in bits 24-31 */
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380 /* read/write: initial count */
#define LAPIC_TIMER_CUR  0x390 /* read: current count */
#define LAPIC_TIMER_DIV  0x3e0 /* read/write: divide configuration */

#define LAPIC_SVR_ENABLE   (1u << 8)
#define LAPIC_LVT_MASKED   (1u << 16)
#define LAPIC_ICR_PENDING  (1u << 12)
#define LAPIC_ICR_INIT     (5u << 8)
#define LAPIC_ICR_STARTUP  (6u << 8)
#define LAPIC_ICR_NMI      (4u << 8)
#define LAPIC_ICR_ASSERT   (1u << 14)
#define LAPIC_ICR_LEVEL    (1u << 15)
#define LAPIC_ICR_ALL_BUT_SELF (3u << 18)
#define LAPIC_DIV_16       0x3

void lapic_init(u64 phys);  /* BSP: map; every CPU: enable */
void lapic_enable(void);
u32 lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(u32 apic_id, u8 vector);
void lapic_send_init(u32 apic_id);
void lapic_send_sipi(u32 apic_id, u8 page);
/* An NMI to every other CPU; safe in NMI context (it writes only the low
 * ICR word, which an interrupted lapic_send_ipi rewrites after). */
void lapic_send_nmi_others(void);
void lapic_timer_oneshot(u32 count);
u32 lapic_timer_current(void);
void lapic_timer_stop(void);
extern u64 lapic_ticks_per_ms;

#define IOAPIC_MAX 8
void ioapic_add(u32 id, u64 phys, u32 gsi_base);
void ioapic_init(void);
/* Route an ISA IRQ (after MADT overrides) or GSI to vector on a CPU. */
int ioapic_route_isa(unsigned irq, u8 vector, u32 apic_id);
int ioapic_route_gsi(u32 gsi, u8 vector, u32 apic_id, bool level, bool active_low);
void ioapic_add_override(u8 irq, u32 gsi, u16 flags);
/* Deliver ISA IRQ irq (an edge-triggered line) as an NMI to apic_id, or
 * mask it again (on false). */
int ioapic_isa_nmi(unsigned irq, u32 apic_id, bool on);

void msi_compose(u32 apic_id, u8 vector, u64 *addr, u32 *data);

#endif
