/* PCI configuration mechanism #1: ports 0xcf8 (address) and 0xcfc (data).
 * One lock serializes the address/data pair across CPUs. */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/sync/spinlock.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc

static spinlock_t pci_conf_lock = SPINLOCK_INIT("pci_conf");

static u32 address(u8 bus, u8 dev, u8 fn, u16 off)
{
	return 0x80000000u | ((u32)bus << 16) | ((u32)(dev & 31) << 11) | ((u32)(fn & 7) << 8) |
	       (off & 0xfc);
}

u32 arch_pci_read32(u8 bus, u8 dev, u8 fn, u16 off)
{
	unsigned long f = spin_lock_irqsave(&pci_conf_lock);
	outl(PCI_CONFIG_ADDRESS, address(bus, dev, fn, off));
	u32 v = inl(PCI_CONFIG_DATA);
	spin_unlock_irqrestore(&pci_conf_lock, f);
	return v;
}

void arch_pci_write32(u8 bus, u8 dev, u8 fn, u16 off, u32 v)
{
	unsigned long f = spin_lock_irqsave(&pci_conf_lock);
	outl(PCI_CONFIG_ADDRESS, address(bus, dev, fn, off));
	outl(PCI_CONFIG_DATA, v);
	spin_unlock_irqrestore(&pci_conf_lock, f);
}

void *arch_map_device(u64 phys, u64 size) { return mmio_map(phys, size); }
