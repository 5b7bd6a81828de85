/*
 * Multiprocessor support: starting application processors (INIT-SIPI-SIPI
 * through trampoline.S), and the inter-processor interrupts the kernel uses:
 * reschedule, freeze (both make the target's scheduler run), TLB shootdown
 * and stop (panic).
 */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/init.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/sync/spinlock.h"

extern const char trampoline_start[], trampoline_end[];
extern u64 tramp_boot_cr3, tramp_kernel_cr3, tramp_stack, tramp_entry;
extern u32 tramp_cpu, tramp_efer_nx;
void ap_start64(void);

static struct {
	u64 ist[3];
	void (*entry)(void);
} ap_boot;

/* C entry of an application processor, on its own stack and page tables. */
void ap_main(unsigned idx)
{
	cpu_setup(idx, ap_boot.ist[0], ap_boot.ist[1], ap_boot.ist[2]);
	cpu_user_setup();
	idt_load();
	lapic_enable();
	this_cpu()->apic_id = lapic_id();
	void (*entry)(void) = ap_boot.entry;
	__atomic_store_n(&cpus[idx].online, true, __ATOMIC_RELEASE);
	entry();
	arch_die();
}

#define TR(sym) ((u8 *)phys_to_virt(AP_TRAMPOLINE) + ((const char *)&(sym) - trampoline_start))

int arch_cpu_start(unsigned idx, u32 apic_id, u64 stack_top, const u64 ist[3],
		   void (*entry)(void))
{
	size_t len = (size_t)(trampoline_end - trampoline_start);
	memcpy(phys_to_virt(AP_TRAMPOLINE), trampoline_start, len);
	u64 v;
	v = (u64)boot_pml4 - KERNEL_VMA;
	memcpy(TR(tramp_boot_cr3), &v, 8);
	v = mmu_kernel_cr3();
	memcpy(TR(tramp_kernel_cr3), &v, 8);
	memcpy(TR(tramp_stack), &stack_top, 8);
	v = (u64)ap_start64;
	memcpy(TR(tramp_entry), &v, 8);
	u32 w = idx;
	memcpy(TR(tramp_cpu), &w, 4);
	w = cpu_feat.nx ? (1u << 11) : 0;
	memcpy(TR(tramp_efer_nx), &w, 4);
	memcpy(ap_boot.ist, ist, sizeof(ap_boot.ist));
	ap_boot.entry = entry;
	cpus[idx].apic_id = apic_id;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	lapic_send_init(apic_id);
	arch_udelay(10000);
	for (int sipi = 0; sipi < 2; sipi++) {
		lapic_send_sipi(apic_id, AP_TRAMPOLINE >> 12);
		u64 wait_us = sipi == 0 ? 1000 : 500000;
		for (u64 t = 0; t < wait_us; t += 50) {
			if (__atomic_load_n(&cpus[idx].online, __ATOMIC_ACQUIRE))
				return 0;
			arch_udelay(50);
		}
	}
	return -ETIMEDOUT;
}

/* ---- IPIs ---- */

static struct {
	spinlock_t lock;
	volatile u64 start, end;
	volatile int pending;
} tlb = { .lock = SPINLOCK_INIT("tlb") };
u64 tlb_shootdowns;

static void flush_range(u64 start, u64 end)
{
	if (end - start > 64 * PAGE_SIZE) {
		u64 cr4 = read_cr4();
		write_cr4(cr4 & ~(1UL << 7)); /* toggling PGE flushes global entries too */
		write_cr4(cr4);
		return;
	}
	for (u64 va = start; va < end; va += PAGE_SIZE)
		invlpg(va);
}

static void tlb_ipi(struct trapframe *tf, void *arg)
{
	(void)tf;
	(void)arg;
	flush_range(tlb.start, tlb.end);
	__atomic_fetch_sub(&tlb.pending, 1, __ATOMIC_RELEASE);
}

void tlb_shootdown(u64 va, u64 len)
{
	if (!irqs_enabled())
		panic("tlb_shootdown: called with interrupts disabled (would deadlock)");
	spin_lock(&tlb.lock);
	u64 start = ALIGN_DOWN(va, PAGE_SIZE), end = ALIGN_UP(va + len, PAGE_SIZE);
	tlb.start = start;
	tlb.end = end;
	int n = 0;
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			n++;
	__atomic_store_n(&tlb.pending, n, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			lapic_send_ipi(cpus[i].apic_id, VEC_IPI_TLB);
	flush_range(start, end);
	while (__atomic_load_n(&tlb.pending, __ATOMIC_ACQUIRE) > 0)
		cpu_relax();
	tlb_shootdowns++;
	spin_unlock(&tlb.lock);
}

static void resched_ipi(struct trapframe *tf, void *arg)
{
	(void)tf;
	(void)arg;
	this_cpu()->need_resched = true;
}

static void stop_ipi(struct trapframe *tf, void *arg)
{
	(void)tf;
	(void)arg;
	arch_die();
}

static void ignore_irq(struct trapframe *tf, void *arg)
{
	(void)tf;
	(void)arg;
}

static void apic_error(struct trapframe *tf, void *arg)
{
	(void)tf;
	(void)arg;
	pr_warn("lapic: error interrupt on cpu %u", cpu_id());
}

void smp_ipi_init(void)
{
	trap_set_handler(VEC_IPI_RESCHED, resched_ipi, NULL);
	trap_set_handler(VEC_IPI_FREEZE, resched_ipi, NULL);
	trap_set_handler(VEC_IPI_TLB, tlb_ipi, NULL);
	trap_set_handler(VEC_IPI_STOP, stop_ipi, NULL);
	trap_set_handler(VEC_SPURIOUS, ignore_irq, NULL);
	trap_set_handler(VEC_APIC_ERROR, apic_error, NULL);
	for (int v = VEC_PIC_BASE; v < VEC_PIC_BASE + 16; v++)
		trap_set_handler((u8)v, ignore_irq, NULL);
}

void arch_send_resched(unsigned cpu)
{
	if (cpus[cpu].online)
		lapic_send_ipi(cpus[cpu].apic_id, VEC_IPI_RESCHED);
}

void arch_send_freeze(unsigned cpu)
{
	if (cpus[cpu].online)
		lapic_send_ipi(cpus[cpu].apic_id, VEC_IPI_FREEZE);
}

static bool lapic_up;
void smp_mark_lapic_up(void) { lapic_up = true; }

void arch_stop_other_cpus(void)
{
	if (!lapic_up)
		return;
	for (unsigned i = 0; i < MAX_CPUS; i++)
		if (i != cpu_id() && cpus[i].online)
			lapic_send_ipi(cpus[i].apic_id, VEC_IPI_STOP);
}

__noreturn void arch_die(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void arch_halt(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

__noreturn void arch_exit(int code)
{
	outl(0xf4, (u32)code);
	/* no isa-debug-exit device: say so and stop */
	console_write("exit: no isa-debug-exit device; halting\n", 41);
	arch_die();
}

KCOUNTER_VAR("tlb.shootdowns", "events", tlb_shootdowns);
