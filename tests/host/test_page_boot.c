/*
 * kernel/mm/page.c at boot: what page_init_early/page_init_late give the
 * allocator for other memory maps than the default one (modules, holes,
 * firmware ranges, the early/late split at a limit).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/mm.h"
#include "tests/host/host.h"

TestSuite(page_boot, .init = host_arena_init, .timeout = 60);

struct range {
	u64 lo, hi;
};

/* Allocate every page, check none lies in a forbidden range, free them all.
 * Returns how many there were. */
static u64 alloc_all_avoiding(const struct range *bad, int nbad, u64 below)
{
	u64 cap = HOST_MEM_SIZE / PAGE_SIZE;
	struct page **all = calloc(cap, sizeof(*all));
	cr_assert_not_null(all);
	u64 n = 0;
	struct page *p;
	while ((p = page_alloc(0)) != NULL) {
		cr_assert_lt(n, cap);
		u64 pa = page_to_phys(p);
		cr_assert_lt(pa, below, "page %#llx is above %#llx", (unsigned long long)pa,
			     (unsigned long long)below);
		for (int i = 0; i < nbad; i++)
			cr_assert(pa + PAGE_SIZE <= bad[i].lo || pa >= bad[i].hi,
				  "page %#llx handed out from reserved [%#llx, %#llx)",
				  (unsigned long long)pa, (unsigned long long)bad[i].lo,
				  (unsigned long long)bad[i].hi);
		all[n++] = p;
	}
	for (u64 i = 0; i < n; i++)
		page_put(all[i]);
	page_drain_caches();
	cr_assert_eq(page_free_count(), n);
	free(all);
	return n;
}

static u64 page_array_bytes(void)
{
	return ALIGN_UP(page_max_phys() / PAGE_SIZE * sizeof(struct page), (u64)PAGE_SIZE);
}

Test(page_boot, early_then_late_at_a_limit)
{
	struct boot_info *bi = &host_boot_info;
	host_default_boot_info(bi);
	const u64 limit = MiB(16) + KiB(64);   /* not block aligned: the halves must merge */
	page_init_early(bi, limit);
	u64 array_lo = virt_to_phys(phys_to_page(0));
	cr_assert_lt(array_lo + page_array_bytes(), limit, "the page array must lie below the limit");
	struct range bad[] = { { 0, HOST_USABLE_LO }, { HOST_KERNEL_LO, HOST_KERNEL_HI },
			       { array_lo, array_lo + page_array_bytes() } };
	u64 want_early = (HOST_KERNEL_LO - HOST_USABLE_LO - page_array_bytes() + limit -
			  HOST_KERNEL_HI) / PAGE_SIZE;
	struct page_stats s;
	page_stats(&s);
	cr_assert_eq(s.total, want_early);
	cr_assert_eq(alloc_all_avoiding(bad, 3, limit), want_early);

	page_init_late(bi, limit);
	u64 want_all = want_early + (HOST_MEM_SIZE - limit) / PAGE_SIZE;
	page_stats(&s);
	cr_assert_eq(s.total, want_all);
	cr_assert_eq(alloc_all_avoiding(bad, 3, HOST_MEM_SIZE), want_all);
	/* the two halves coalesce at the limit into full-size blocks */
	page_stats(&s);
	cr_assert_eq(s.free_blocks[PAGE_MAX_ORDER],
		     (HOST_MEM_SIZE - HOST_KERNEL_HI) / (PAGE_SIZE << PAGE_MAX_ORDER));
}

Test(page_boot, modules_holes_and_firmware_ranges)
{
	struct boot_info *bi = &host_boot_info;
	host_default_boot_info(bi);
	bi->nmem = 4;
	bi->mem[0] = (struct boot_mem_range){ 0, 0x9f000, BOOT_MEM_USABLE };   /* low memory */
	bi->mem[1] = (struct boot_mem_range){ HOST_USABLE_LO, MiB(31), BOOT_MEM_USABLE };
	bi->mem[2] = (struct boot_mem_range){ MiB(32), MiB(1), BOOT_MEM_ACPI };
	bi->mem[3] = (struct boot_mem_range){ MiB(33) + 0x800, MiB(31) - 0x800, BOOT_MEM_USABLE };
	bi->nmods = 2;
	bi->mods[0] = (struct boot_module){ 0x500123, 0x600456, "initrd" };      /* unaligned */
	bi->mods[1] = (struct boot_module){ MiB(40), MiB(40) + PAGE_SIZE, "one page" };
	page_init_early(bi, HOST_LIMIT);
	page_init_late(bi, HOST_LIMIT);
	u64 array_lo = virt_to_phys(phys_to_page(0));
	struct range bad[] = {
		{ 0, HOST_USABLE_LO },                        /* the first MiB, usable or not */
		{ HOST_KERNEL_LO, HOST_KERNEL_HI },
		{ 0x500000, 0x601000 },                       /* module, rounded out to pages */
		{ MiB(40), MiB(40) + PAGE_SIZE },
		{ MiB(32), MiB(33) + PAGE_SIZE },             /* ACPI, and the partial page */
		{ array_lo, array_lo + page_array_bytes() },
	};
	u64 want = (MiB(32) - HOST_USABLE_LO - (HOST_KERNEL_HI - HOST_KERNEL_LO) - 0x101000 -
		    page_array_bytes() + (HOST_MEM_SIZE - MiB(33) - PAGE_SIZE) - PAGE_SIZE) /
		   PAGE_SIZE;
	struct page_stats s;
	page_stats(&s);
	cr_assert_eq(s.total, want, "total %llu, want %llu", (unsigned long long)s.total,
		     (unsigned long long)want);
	cr_assert_eq(alloc_all_avoiding(bad, (int)(sizeof(bad) / sizeof(bad[0])), HOST_MEM_SIZE),
		     want);
}

/*
 * Regression (found by this test): reserved
 * ranges are cut out with byte precision, so an image end that is not page
 * aligned frees the page that holds the image's last bytes. (The linker
 * script aligns _kernel_end today; modules are rounded, the kernel is not.)
 */
Test(page_boot, unaligned_kernel_end_keeps_its_page)
{
	struct boot_info *bi = &host_boot_info;
	host_default_boot_info(bi);
	bi->kernel_end = HOST_KERNEL_HI - 0x800;
	page_init_early(bi, HOST_LIMIT);
	page_init_late(bi, HOST_LIMIT);
	struct page *last = phys_to_page(HOST_KERNEL_HI - PAGE_SIZE);
	cr_assert(last->flags & PG_RESERVED, "the page holding the kernel's last bytes is free");
	struct range bad[] = { { HOST_KERNEL_LO, HOST_KERNEL_HI } };
	alloc_all_avoiding(bad, 1, HOST_MEM_SIZE);
}
