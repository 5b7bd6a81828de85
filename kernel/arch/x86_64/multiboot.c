/*
 * Multiboot 1 information (as QEMU's -kernel, iPXE and GRUB provide it):
 * memory map, command line and modules, copied into struct boot_info so the
 * loader's memory can be reused. Lengths are bounded: a loader's bad data
 * is cut and reported, never followed out of range.
 */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/init.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

#define MB_INFO_MEM     (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)
#define MB_INFO_MMAP    (1u << 6)
#define MB_INFO_LOADER  (1u << 9)

struct mb_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
} __packed;

struct mb_module {
	u32 start, end, string, reserved;
} __packed;

struct mb_mmap {
	u32 size;
	u64 addr, len;
	u32 type;
} __packed;

static char loader_name[64];

static void copy_str(char *dst, size_t size, u32 pa)
{
	dst[0] = '\0';
	if (!pa)
		return;
	const char *s = phys_to_virt(pa);
	size_t n = strnlen(s, size - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
}

extern const char _kernel_end[];

void multiboot_parse(u32 info_pa, struct boot_info *bi)
{
	const struct mb_info *mb = phys_to_virt(info_pa);
	bi->kernel_start = KERNEL_PHYS;
	bi->kernel_end = (u64)_kernel_end - KERNEL_VMA;
	bi->loader = "multiboot";
	if (mb->flags & MB_INFO_LOADER) {
		copy_str(loader_name, sizeof(loader_name), mb->boot_loader_name);
		bi->loader = loader_name;
	}
	if (mb->flags & MB_INFO_CMDLINE)
		copy_str(bi->cmdline_raw, sizeof(bi->cmdline_raw), mb->cmdline);
	/* QEMU and iPXE start the command line with the image's name or URI;
	 * GRUB 2 passes only the arguments after the file */
	bi->cmdline_has_image = strncmp(bi->loader, "GRUB", 4) != 0;
	if (mb->flags & MB_INFO_MMAP) {
		u64 p = mb->mmap_addr, end = (u64)mb->mmap_addr + mb->mmap_length;
		while (p + sizeof(struct mb_mmap) <= end) {
			const struct mb_mmap *m = phys_to_virt(p);
			if (m->size < 20)
				break;
			if (bi->nmem == BOOT_MEM_MAX) {
				pr_warn("multiboot: memory map longer than %d entries, rest ignored",
					BOOT_MEM_MAX);
				break;
			}
			bi->mem[bi->nmem++] = (struct boot_mem_range){ m->addr, m->len, m->type };
			p += m->size + 4;
		}
	} else if (mb->flags & MB_INFO_MEM) {
		bi->mem[bi->nmem++] = (struct boot_mem_range){ 0, (u64)mb->mem_lower << 10,
							       BOOT_MEM_USABLE };
		bi->mem[bi->nmem++] = (struct boot_mem_range){ MiB(1), (u64)mb->mem_upper << 10,
							       BOOT_MEM_USABLE };
	}
	if (mb->flags & MB_INFO_MODS) {
		const struct mb_module *mods = phys_to_virt(mb->mods_addr);
		for (u32 i = 0; i < mb->mods_count; i++) {
			if (bi->nmods == BOOT_MOD_MAX) {
				pr_warn("multiboot: more than %d modules, rest ignored", BOOT_MOD_MAX);
				break;
			}
			if (mods[i].end < mods[i].start) {
				pr_warn("multiboot: module %u has end before start, ignored", i);
				continue;
			}
			struct boot_module *bm = &bi->mods[bi->nmods++];
			bm->start = mods[i].start;
			bm->end = mods[i].end;
			copy_str(bm->name, sizeof(bm->name), mods[i].string);
		}
	}
}
