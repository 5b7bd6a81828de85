/*
 * PCI: enumeration of bus 0..255 through configuration mechanism #1,
 * BARs, capability lists and MSI-X. Drivers match devices with
 * pci_find(vendor, device, index) and program them through the accessors
 * here (no bare config offsets in drivers).
 */
#ifndef NIC_PCI_H
#define NIC_PCI_H

#include "kernel/lib/types.h"

#define PCI_MAX_DEVICES 64

struct pci_bar {
	u64 addr;      /* physical (memory) or port (I/O) */
	u64 size;
	bool io, is64;
	void *virt;    /* mapped memory BAR, NULL until pci_map_bar */
};

struct pci_dev {
	u8 bus, dev, fn;
	u16 vendor, device, subsys;
	u32 class_rev;
	struct pci_bar bar[6];
	u8 msix_cap;            /* config offset of the MSI-X capability, 0 if none */
	u16 msix_entries;
	volatile u8 *msix_table;
};

int pci_init(void);                         /* scan; returns devices found */
struct pci_dev *pci_find(u16 vendor, u16 device, int index);
int pci_count(void);
struct pci_dev *pci_get(int i);

u8 pci_read8(struct pci_dev *d, u16 off);
u16 pci_read16(struct pci_dev *d, u16 off);
u32 pci_read32(struct pci_dev *d, u16 off);
void pci_write16(struct pci_dev *d, u16 off, u16 v);
void pci_write32(struct pci_dev *d, u16 off, u32 v);

/* Next capability with this id after config offset `from` (0: first). */
u8 pci_find_cap(struct pci_dev *d, u8 id, u8 from);
void *pci_map_bar(struct pci_dev *d, int bar);
void pci_enable(struct pci_dev *d);         /* memory decode + bus master, INTx off */

/* MSI-X: point entry at vector on cpu, unmasked; enable the function. */
int pci_msix_setup(struct pci_dev *d);
int pci_msix_set(struct pci_dev *d, u16 entry, int vector, unsigned cpu);
void pci_msix_enable(struct pci_dev *d, bool on);

#endif
