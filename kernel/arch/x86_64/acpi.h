/*
 * ACPI tables the kernel needs at boot: the MADT (CPUs, I/O APICs,
 * interrupt overrides) and the MCFG (PCI ECAM windows, for the PCI driver).
 * Tables come from firmware: every length and checksum is checked, and a
 * bad table is reported and skipped, never trusted.
 */
#ifndef ARCH_ACPI_H
#define ARCH_ACPI_H

#include "kernel/lib/types.h"

struct acpi_info {
	int ncpus;
	u32 apic_ids[64];
	u64 lapic_phys;
	int nmcfg;
	struct { u64 base; u16 segment; u8 bus_start, bus_end; } mcfg[4];
	char oem[7];
};

extern struct acpi_info acpi;

/* Returns 0, or -ENOENT when no usable RSDP/MADT is found (the caller then
 * runs on the boot CPU with default APIC addresses). */
int acpi_init(void);

#endif
