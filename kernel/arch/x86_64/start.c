/*
 * x86-64 start: the first C code, on the boot stack with the boot page
 * tables. Sets up this CPU's descriptor tables, the console and exception
 * handling, reads the Multiboot information, then enters the portable
 * kmain. Also the arch half of later init steps (arch_mm_init,
 * arch_irq_init) and the console device.
 */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/acpi.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/init.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/serial.h"
#include "kernel/arch/x86_64/serial_reg.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"

#define MULTIBOOT_LOADER_MAGIC 0x2BADB002

struct boot_info boot_info;

static u8 bsp_ist[3][8192] __aligned(16);
static bool serial_ok;
static u16 console_port = COM1_PORT;

void arch_console_init(void) { serial_ok = serial_init(console_port); }

static const u16 uart_ports[4] = { COM1_PORT, COM2_PORT, 0x3e8, 0x2e8 };
static const u8 uart_irqs[4] = { 4, 3, 4, 3 };
static bool uart_present[4];

bool arch_uart_init(unsigned n)
{
	if (n >= 4)
		return false;
	uart_present[n] = serial_init(uart_ports[n]);
	return uart_present[n];
}

void arch_uart_write(unsigned n, const char *s, size_t len)
{
	if (n >= 4 || !uart_present[n])
		return;
	for (size_t i = 0; i < len; i++)
		serial_putc(uart_ports[n], s[i]);
}

int arch_uart_getc(unsigned n)
{
	if (n >= 4 || !uart_present[n])
		return -1;
	return serial_getc(uart_ports[n]);
}

int arch_uart_rx_irq(unsigned n, int vector, unsigned cpu)
{
	if (n >= 4 || !uart_present[n])
		return -ENOENT;
	serial_enable_rx_irq(uart_ports[n]);
	return arch_irq_route_isa(uart_irqs[n], vector, cpu);
}

void arch_console_write(const char *s, size_t n)
{
	if (!serial_ok)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc(console_port, '\r');
		serial_putc(console_port, s[i]);
	}
}

void arch_console_write_raw(const char *s, size_t n)
{
	if (!serial_ok)
		return;
	for (size_t i = 0; i < n; i++)
		serial_putc(console_port, s[i]);
}

int arch_console_getc(void) { return serial_ok ? serial_getc(console_port) : -1; }

void arch_start(u32 magic, u32 info_pa)
{
	cpu_setup(0, (u64)bsp_ist[0] + sizeof(bsp_ist[0]), (u64)bsp_ist[1] + sizeof(bsp_ist[1]),
		  (u64)bsp_ist[2] + sizeof(bsp_ist[2]));
	cpus[0].online = true;
	arch_console_init();
	console_write("\ncaboose: starting\n", 19);
	idt_init();
	idt_load();
	cpu_features_init();
	if (magic != MULTIBOOT_LOADER_MAGIC)
		panic("start: not loaded by a Multiboot loader (magic %#x)", magic);
	multiboot_parse(info_pa, &boot_info);
	kmain();
}

void arch_mm_init(u64 max_phys, u64 (*pt_alloc)(void))
{
	mmu_set_pt_allocator(pt_alloc);
	mmu_init(max_phys);
	cpu_user_setup();
	pr_info("cpu: user mode by syscall/sysret; SMEP %s, SMAP %s",
		cpu_feat.smep ? "on" : "off (the CPU lacks it)",
		cpu_feat.smap ? "on" : "off (the CPU lacks it)");
}

void arch_irq_init(void)
{
	/* Mask the 8259s first, while LINT0 still has the firmware's ExtINT
	 * setting: that retracts an interrupt the PIC may have raised since
	 * the loader disabled interrupts (QEMU otherwise delivers it later as
	 * a bogus vector). */
	pic_disable();
	acpi_init();
	lapic_init(acpi.lapic_phys);
	cpus[0].apic_id = lapic_id();
	smp_ipi_init();
	smp_mark_lapic_up();
	ioapic_init();
	time_calibrate();
	rtc_init();
	pr_info("cpu: %s %s%s%s%s", cpu_feat.vendor, cpu_feat.brand,
		cpu_feat.nx ? " nx" : "", cpu_feat.pdpe1gb ? " 1g-pages" : "",
		cpu_feat.hypervisor ? " (virtual)" : "");
}

/* The CPUs firmware reports (APIC IDs), boot CPU first. */
int arch_cpus_possible(u32 *apic_ids, int max)
{
	int n = 0;
	u32 me = lapic_id();
	if (max > 0)
		apic_ids[n++] = me;
	for (int i = 0; i < acpi.ncpus && n < max; i++)
		if (acpi.apic_ids[i] != me)
			apic_ids[n++] = acpi.apic_ids[i];
	return n;
}
