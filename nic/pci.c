/*
 * PCI enumeration and the helpers drivers use; see pci.h. Devices are found
 * once at boot (pci_init) and kept in a fixed table.
 */
#include "nic/pci.h"
#include "nic/pci_reg.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"

static struct pci_dev devs[PCI_MAX_DEVICES];
static int ndevs;

u32 pci_read32(struct pci_dev *d, u16 off) { return arch_pci_read32(d->bus, d->dev, d->fn, off); }

u16 pci_read16(struct pci_dev *d, u16 off)
{
	return (u16)(pci_read32(d, off & ~3u) >> ((off & 2) * 8));
}

u8 pci_read8(struct pci_dev *d, u16 off)
{
	return (u8)(pci_read32(d, off & ~3u) >> ((off & 3) * 8));
}

void pci_write32(struct pci_dev *d, u16 off, u32 v) { arch_pci_write32(d->bus, d->dev, d->fn, off, v); }

void pci_write16(struct pci_dev *d, u16 off, u16 v)
{
	u32 old = pci_read32(d, off & ~3u);
	unsigned shift = (off & 2) * 8;
	old &= ~(0xffffu << shift);
	pci_write32(d, off & ~3u, old | ((u32)v << shift));
}

u8 pci_find_cap(struct pci_dev *d, u8 id, u8 from)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	u8 p = from ? pci_read8(d, from + 1) : pci_read8(d, PCI_CAP_PTR);
	for (int guard = 0; p >= 0x40 && guard < 48; guard++) { /* a looping list ends */
		if (pci_read8(d, p) == id)
			return p;
		p = pci_read8(d, p + 1);
	}
	return 0;
}

static void read_bars(struct pci_dev *d)
{
	/* no decoding while the BARs hold all-ones for sizing */
	u16 cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & (u16)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (int i = 0; i < 6; i++) {
		u16 off = PCI_BAR0 + 4 * i;
		u32 lo = pci_read32(d, off);
		struct pci_bar *b = &d->bar[i];
		if (lo & PCI_BAR_IO) {
			pci_write32(d, off, 0xffffffffu);
			u32 sz = pci_read32(d, off) & ~3u;
			pci_write32(d, off, lo);
			b->io = true;
			b->addr = lo & ~3u;
			b->size = sz ? (~sz + 1) & 0xffff : 0;
			continue;
		}
		bool is64 = (lo & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64;
		u32 hi = is64 && i < 5 ? pci_read32(d, off + 4) : 0;
		pci_write32(d, off, 0xffffffffu);
		u64 mask = pci_read32(d, off) & ~0xfu;
		pci_write32(d, off, lo);
		if (is64 && i < 5) {
			pci_write32(d, off + 4, 0xffffffffu);
			mask |= (u64)pci_read32(d, off + 4) << 32;
			pci_write32(d, off + 4, hi);
		} else {
			mask |= 0xffffffff00000000ULL;
		}
		b->is64 = is64;
		b->addr = ((u64)hi << 32) | (lo & ~0xfu);
		b->size = mask ? ~mask + 1 : 0;
		if (is64)
			i++; /* the next slot holds the high half */
	}
	pci_write16(d, PCI_COMMAND, cmd);
}

static void add(u8 bus, u8 dev, u8 fn)
{
	if (ndevs == PCI_MAX_DEVICES) {
		pr_warn("pci: more than %d functions; %02x:%02x.%u ignored", PCI_MAX_DEVICES, bus, dev,
			fn);
		return;
	}
	struct pci_dev *d = &devs[ndevs++];
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	u32 id = pci_read32(d, PCI_VENDOR_ID);
	d->vendor = (u16)id;
	d->device = (u16)(id >> 16);
	d->class_rev = pci_read32(d, PCI_CLASS_REV);
	d->subsys = pci_read16(d, PCI_SUBSYS_ID);
	read_bars(d);
	d->msix_cap = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
	if (d->msix_cap)
		d->msix_entries = (pci_read16(d, d->msix_cap + PCI_MSIX_CTRL) & PCI_MSIX_CTRL_SIZE) + 1;
	pr_debug("pci: %02x:%02x.%u %04x:%04x class %06x msix %u", bus, dev, fn, d->vendor,
		 d->device, d->class_rev >> 8, d->msix_entries);
}

int pci_init(void)
{
	static bool done;
	if (done)
		return ndevs;
	done = true;
	for (unsigned bus = 0; bus < 256; bus++) {
		for (u8 dev = 0; dev < 32; dev++) {
			if ((arch_pci_read32((u8)bus, dev, 0, PCI_VENDOR_ID) & 0xffff) == 0xffff)
				continue;
			u8 fns = (arch_pci_read32((u8)bus, dev, 0, 0x0c) >> 16) & 0x80 ? 8 : 1;
			for (u8 fn = 0; fn < fns; fn++)
				if ((arch_pci_read32((u8)bus, dev, fn, PCI_VENDOR_ID) & 0xffff) != 0xffff)
					add((u8)bus, dev, fn);
		}
	}
	pr_info("pci: %d functions", ndevs);
	return ndevs;
}

int pci_count(void) { return ndevs; }
struct pci_dev *pci_get(int i) { return i >= 0 && i < ndevs ? &devs[i] : NULL; }

struct pci_dev *pci_find(u16 vendor, u16 device, int index)
{
	for (int i = 0; i < ndevs; i++)
		if (devs[i].vendor == vendor && devs[i].device == device && index-- == 0)
			return &devs[i];
	return NULL;
}

void *pci_map_bar(struct pci_dev *d, int bar)
{
	struct pci_bar *b = &d->bar[bar];
	if (b->io || !b->size || !b->addr)
		return NULL;
	if (!b->virt)
		b->virt = arch_map_device(b->addr, b->size);
	return b->virt;
}

void pci_enable(struct pci_dev *d)
{
	u16 cmd = pci_read16(d, PCI_COMMAND);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_OFF;
	pci_write16(d, PCI_COMMAND, cmd);
}

int pci_msix_setup(struct pci_dev *d)
{
	if (!d->msix_cap)
		return -ENOENT;
	u32 t = pci_read32(d, d->msix_cap + PCI_MSIX_TABLE);
	int bir = (int)(t & PCI_MSIX_BIR_MASK);
	if (bir > 5)
		return -EINVAL;
	u8 *base = pci_map_bar(d, bir);
	if (!base)
		return -ENOMEM;
	u32 off = t & ~PCI_MSIX_BIR_MASK;
	if ((u64)off + (u64)d->msix_entries * PCI_MSIX_ENTRY_SIZE > d->bar[bir].size)
		return -EINVAL;
	d->msix_table = base + off;
	for (u16 i = 0; i < d->msix_entries; i++)
		*(volatile u32 *)(d->msix_table + i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL) =
			PCI_MSIX_ENTRY_MASKED;
	return 0;
}

int pci_msix_set(struct pci_dev *d, u16 entry, int vector, unsigned cpu)
{
	if (!d->msix_table || entry >= d->msix_entries)
		return -EINVAL;
	u64 addr;
	u32 data;
	arch_msi_message(cpu, vector, &addr, &data);
	volatile u8 *e = d->msix_table + entry * PCI_MSIX_ENTRY_SIZE;
	*(volatile u32 *)(e + PCI_MSIX_ENTRY_CTRL) = PCI_MSIX_ENTRY_MASKED;
	*(volatile u32 *)(e + PCI_MSIX_ENTRY_ADDR_LO) = (u32)addr;
	*(volatile u32 *)(e + PCI_MSIX_ENTRY_ADDR_HI) = (u32)(addr >> 32);
	*(volatile u32 *)(e + PCI_MSIX_ENTRY_DATA) = data;
	*(volatile u32 *)(e + PCI_MSIX_ENTRY_CTRL) = 0;
	return 0;
}

void pci_msix_enable(struct pci_dev *d, bool on)
{
	if (!d->msix_cap)
		return;
	u16 c = pci_read16(d, d->msix_cap + PCI_MSIX_CTRL);
	c &= (u16)~PCI_MSIX_CTRL_MASK;
	c = on ? (c | PCI_MSIX_CTRL_ENABLE) : (c & (u16)~PCI_MSIX_CTRL_ENABLE);
	pci_write16(d, d->msix_cap + PCI_MSIX_CTRL, c);
}
