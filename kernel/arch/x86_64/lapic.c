/* Local APIC in xAPIC mode; see apic.h. */
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"

static volatile u32 *lapic;
u64 lapic_ticks_per_ms;

static inline u32 lapic_read(u32 reg) { return lapic[reg / 4]; }
static inline void lapic_write(u32 reg, u32 v)
{
	lapic[reg / 4] = v;
	(void)lapic[LAPIC_ID / 4]; /* wait for the write to land */
}

void lapic_init(u64 phys)
{
	if (!lapic) {
		lapic = mmio_map(phys, PAGE_SIZE);
		if (!lapic)
			panic("lapic: cannot map %#llx", (unsigned long long)phys);
	}
	lapic_enable();
}

void lapic_enable(void)
{
	/* make sure the APIC is globally enabled in xAPIC mode */
	u64 base = rdmsr(MSR_APIC_BASE);
	if (!(base & (1u << 11)))
		wrmsr(MSR_APIC_BASE, base | (1u << 11));
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, VEC_APIC_ERROR);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_EOI, 0);
}

u32 lapic_id(void) { return lapic ? lapic_read(LAPIC_ID) >> 24 : 0; }

void lapic_eoi(void)
{
	if (lapic)
		lapic_write(LAPIC_EOI, 0);
}

static void icr_wait(void)
{
	for (int i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_PENDING); i++)
		cpu_relax();
}

static void icr_send(u32 apic_id, u32 lo)
{
	unsigned long f = irq_save();
	icr_wait();
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	icr_wait();
	irq_restore(f);
}

void lapic_send_ipi(u32 apic_id, u8 vector) { icr_send(apic_id, vector); }

void lapic_send_nmi_others(void)
{
	icr_wait();
	lapic_write(LAPIC_ICR_LO, LAPIC_ICR_ALL_BUT_SELF | LAPIC_ICR_NMI | LAPIC_ICR_ASSERT);
	icr_wait();
}

void lapic_send_init(u32 apic_id)
{
	icr_send(apic_id, LAPIC_ICR_INIT | LAPIC_ICR_LEVEL | LAPIC_ICR_ASSERT);
}

void lapic_send_sipi(u32 apic_id, u8 page)
{
	icr_send(apic_id, LAPIC_ICR_STARTUP | page);
}

void lapic_timer_oneshot(u32 count)
{
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER); /* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INIT, count ? count : 1);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VEC_TIMER);
}

u32 lapic_timer_current(void) { return lapic_read(LAPIC_TIMER_CUR); }

void msi_compose(u32 apic_id, u8 vector, u64 *addr, u32 *data)
{
	/* §10.11.1: physical destination mode, no redirection hint */
	*addr = 0xfee00000ULL | ((u64)(apic_id & 0xff) << 12);
	*data = vector; /* edge, fixed delivery */
}
