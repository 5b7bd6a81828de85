/* ACPI table discovery; see acpi.h. Layouts from ACPI 6.4 §5.2. */
#include "kernel/arch/x86_64/acpi.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

struct acpi_info acpi;

struct rsdp {
	char sig[8];
	u8 checksum;
	char oem[6];
	u8 revision;
	u32 rsdt;
	u32 length;   /* revision >= 2 */
	u64 xsdt;
	u8 xchecksum;
	u8 reserved[3];
} __packed;

struct sdt_header {
	char sig[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem[6];
	char oem_table[8];
	u32 oem_rev;
	u32 creator;
	u32 creator_rev;
} __packed;

struct madt {
	struct sdt_header h;
	u32 lapic_addr;
	u32 flags;
	u8 entries[];
} __packed;

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_OVERRIDE 2
#define MADT_LAPIC_ADDR 5

static bool sum_ok(const void *p, size_t n)
{
	u8 s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const u8 *)p)[i];
	return s == 0;
}

static const struct rsdp *scan(u64 start, u64 len)
{
	for (u64 pa = start; pa + 20 <= start + len; pa += 16) {
		const struct rsdp *r = phys_to_virt(pa);
		if (memcmp(r->sig, "RSD PTR ", 8) == 0 && sum_ok(r, 20))
			return r;
	}
	return NULL;
}

static const struct rsdp *find_rsdp(void)
{
	u16 ebda_seg = *(const u16 *)phys_to_virt(0x40e);
	const struct rsdp *r = NULL;
	if (ebda_seg)
		r = scan((u64)ebda_seg << 4, 1024);
	if (!r)
		r = scan(0xe0000, 0x20000);
	return r;
}

static const struct sdt_header *map_table(u64 pa)
{
	if (pa == 0 || pa >= GiB(4))
		return NULL;
	const struct sdt_header *h = phys_to_virt(pa);
	if (h->length < sizeof(*h) || h->length > MiB(1) || !sum_ok(h, h->length)) {
		pr_warn("acpi: table at %#llx has a bad length or checksum, skipped",
			(unsigned long long)pa);
		return NULL;
	}
	return h;
}

static void parse_madt(const struct madt *m)
{
	acpi.lapic_phys = m->lapic_addr;
	const u8 *p = m->entries, *end = (const u8 *)m + m->h.length;
	while (p + 2 <= end) {
		u8 type = p[0], len = p[1];
		if (len < 2 || p + len > end) {
			pr_warn("acpi: MADT entry of bad length %u, rest skipped", len);
			break;
		}
		if (type == MADT_LAPIC && len >= 8) {
			u8 apic_id = p[3];
			u32 flags;
			memcpy(&flags, p + 4, 4);
			if ((flags & 1) && acpi.ncpus < (int)ARRAY_SIZE(acpi.apic_ids))
				acpi.apic_ids[acpi.ncpus++] = apic_id;
		} else if (type == MADT_IOAPIC && len >= 12) {
			u32 addr, gsi;
			memcpy(&addr, p + 4, 4);
			memcpy(&gsi, p + 8, 4);
			ioapic_add(p[2], addr, gsi);
		} else if (type == MADT_OVERRIDE && len >= 10) {
			u32 gsi;
			u16 flags;
			memcpy(&gsi, p + 4, 4);
			memcpy(&flags, p + 8, 2);
			ioapic_add_override(p[3], gsi, flags);
		} else if (type == MADT_LAPIC_ADDR && len >= 12) {
			memcpy(&acpi.lapic_phys, p + 4, 8);
		}
		p += len;
	}
}

static void parse_mcfg(const struct sdt_header *h)
{
	const u8 *p = (const u8 *)h + sizeof(*h) + 8, *end = (const u8 *)h + h->length;
	for (; p + 16 <= end && acpi.nmcfg < (int)ARRAY_SIZE(acpi.mcfg); p += 16) {
		memcpy(&acpi.mcfg[acpi.nmcfg].base, p, 8);
		memcpy(&acpi.mcfg[acpi.nmcfg].segment, p + 8, 2);
		acpi.mcfg[acpi.nmcfg].bus_start = p[10];
		acpi.mcfg[acpi.nmcfg].bus_end = p[11];
		acpi.nmcfg++;
	}
}

int acpi_init(void)
{
	acpi.lapic_phys = 0xfee00000;
	const struct rsdp *r = find_rsdp();
	if (!r) {
		pr_warn("acpi: no RSDP found; only the boot CPU will run");
		return -ENOENT;
	}
	memcpy(acpi.oem, r->oem, 6);
	bool x = r->revision >= 2 && r->xsdt && sum_ok(r, MIN(r->length, (u32)sizeof(*r)));
	const struct sdt_header *root = map_table(x ? r->xsdt : r->rsdt);
	if (!root)
		return -ENOENT;
	size_t esz = x ? 8 : 4;
	size_t n = (root->length - sizeof(*root)) / esz;
	const u8 *ents = (const u8 *)root + sizeof(*root);
	bool have_madt = false;
	for (size_t i = 0; i < n; i++) {
		u64 pa = 0;
		memcpy(&pa, ents + i * esz, esz);
		const struct sdt_header *h = map_table(pa);
		if (!h)
			continue;
		if (memcmp(h->sig, "APIC", 4) == 0 && h->length >= sizeof(struct madt)) {
			parse_madt((const struct madt *)h);
			have_madt = true;
		} else if (memcmp(h->sig, "MCFG", 4) == 0) {
			parse_mcfg(h);
		}
	}
	if (!have_madt) {
		pr_warn("acpi: no MADT; only the boot CPU will run");
		return -ENOENT;
	}
	pr_info("acpi: OEM '%s', %d CPUs in MADT, local APIC at %#llx, %d ECAM windows",
		acpi.oem, acpi.ncpus, (unsigned long long)acpi.lapic_phys, acpi.nmcfg);
	return 0;
}
