/*
 * I/O APICs (from the MADT) and the legacy 8259 PICs, which are remapped to
 * 0x20-0x2f and masked so that only the APICs deliver interrupts.
 */
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/init.h"
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"
#include "kernel/sync/spinlock.h"

/* I/O APIC: indirect registers through a select/window pair (82093AA §3) */
#define IOAPIC_REGSEL 0x00  /* write: register index */
#define IOAPIC_WIN    0x10  /* read/write: register data */
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_REDIR(n) (0x10 + 2 * (n))
#define IOAPIC_MASKED (1u << 16)
#define IOAPIC_LEVEL  (1u << 15)
#define IOAPIC_ACTIVE_LOW (1u << 13)
#define IOAPIC_DM_NMI (4u << 8)    /* delivery mode NMI (bits 8-10); edge only */

/* 8259 PIC ports */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

struct ioapic {
	u32 id;
	u64 phys;
	u32 gsi_base;
	u32 nlines;
	volatile u32 *regs;
};

static struct ioapic ioapics[IOAPIC_MAX];
static int nioapics;
static spinlock_t ioapic_lock = SPINLOCK_INIT("ioapic");

static struct {
	u32 gsi;
	u16 flags;
	bool set;
} isa_override[16];

void ioapic_add(u32 id, u64 phys, u32 gsi_base)
{
	if (nioapics == IOAPIC_MAX) {
		pr_warn("ioapic: more than %d I/O APICs, ignoring id %u", IOAPIC_MAX, id);
		return;
	}
	ioapics[nioapics++] = (struct ioapic){ .id = id, .phys = phys, .gsi_base = gsi_base };
}

void ioapic_add_override(u8 irq, u32 gsi, u16 flags)
{
	if (irq < 16)
		isa_override[irq] = (__typeof__(isa_override[0])){ gsi, flags, true };
}

static u32 rd(struct ioapic *io, u32 reg)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	return io->regs[IOAPIC_WIN / 4];
}

static void wr(struct ioapic *io, u32 reg, u32 v)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	io->regs[IOAPIC_WIN / 4] = v;
}

void pic_disable(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: init, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, VEC_PIC_BASE);
	outb(PIC2_DATA, VEC_PIC_BASE + 8);
	outb(PIC1_DATA, 4);
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, 1);
	outb(PIC2_DATA, 1);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

void ioapic_init(void)
{
	for (int i = 0; i < nioapics; i++) {
		struct ioapic *io = &ioapics[i];
		io->regs = mmio_map(io->phys, PAGE_SIZE);
		if (!io->regs)
			panic("ioapic: cannot map %#llx", (unsigned long long)io->phys);
		io->nlines = ((rd(io, IOAPIC_REG_VER) >> 16) & 0xff) + 1;
		for (u32 n = 0; n < io->nlines; n++) {
			wr(io, IOAPIC_REG_REDIR(n), IOAPIC_MASKED);
			wr(io, IOAPIC_REG_REDIR(n) + 1, 0);
		}
		pr_info("ioapic: id %u at %#llx, GSIs %u-%u", io->id,
			(unsigned long long)io->phys, io->gsi_base, io->gsi_base + io->nlines - 1);
	}
}

static struct ioapic *find(u32 gsi)
{
	for (int i = 0; i < nioapics; i++)
		if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].nlines)
			return &ioapics[i];
	return NULL;
}

static int route(u32 gsi, u32 lo, u32 apic_id)
{
	struct ioapic *io = find(gsi);
	if (!io)
		return -ENOENT;
	unsigned long f = spin_lock_irqsave(&ioapic_lock);
	u32 n = gsi - io->gsi_base;
	wr(io, IOAPIC_REG_REDIR(n) + 1, apic_id << 24);
	wr(io, IOAPIC_REG_REDIR(n), lo);
	spin_unlock_irqrestore(&ioapic_lock, f);
	return 0;
}

int ioapic_route_gsi(u32 gsi, u8 vector, u32 apic_id, bool level, bool active_low)
{
	return route(gsi, vector | (level ? IOAPIC_LEVEL : 0) | (active_low ? IOAPIC_ACTIVE_LOW : 0),
		     apic_id);
}

/* An ISA IRQ's GSI and its trigger and polarity (after MADT overrides). */
static u32 isa_gsi(unsigned irq, bool *level, bool *low)
{
	*level = *low = false;
	if (!isa_override[irq].set)
		return irq;
	u16 pol = isa_override[irq].flags & 3, trig = (isa_override[irq].flags >> 2) & 3;
	*low = pol == 3;
	*level = trig == 3;
	return isa_override[irq].gsi;
}

int ioapic_route_isa(unsigned irq, u8 vector, u32 apic_id)
{
	if (irq >= 16)
		return -EINVAL;
	bool level, low;
	u32 gsi = isa_gsi(irq, &level, &low);
	return ioapic_route_gsi(gsi, vector, apic_id, level, low);
}

int ioapic_isa_nmi(unsigned irq, u32 apic_id, bool on)
{
	if (irq >= 16)
		return -EINVAL;
	bool level, low;
	u32 gsi = isa_gsi(irq, &level, &low);
	if (level)
		return -EINVAL; /* an NMI line must be edge-triggered */
	return route(gsi, on ? IOAPIC_DM_NMI | (low ? IOAPIC_ACTIVE_LOW : 0) : IOAPIC_MASKED,
		     apic_id);
}
