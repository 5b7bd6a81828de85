/* Memory bring-up order: pages below 4 GiB (which the boot page tables
 * map), then the kernel's page tables (built from those pages), then the
 * rest of memory, then the object allocator. */
#include "kernel/mm/mm.h"
#include "kernel/arch/arch.h"

static u64 pt_alloc(void)
{
	struct page *p = page_alloc(0);
	return p ? page_to_phys(p) : 0;
}

static void pt_free(u64 pa) { page_put(phys_to_page(pa)); }

void mm_init(const struct boot_info *bi)
{
	page_init_early(bi, GiB(4));
	u64 top = page_max_phys();
	for (int i = 0; i < bi->nmem; i++) {
		const struct boot_mem_range *m = &bi->mem[i];
		if (m->type == BOOT_MEM_ACPI || m->type == BOOT_MEM_NVS)
			top = MAX(top, m->base + m->len);
	}
	top = MAX(top, bi->kernel_end);
	arch_mm_init(top, pt_alloc);
	arch_mm_set_pt_free(pt_free);
	page_init_late(bi, GiB(4));
	slab_init();
}
