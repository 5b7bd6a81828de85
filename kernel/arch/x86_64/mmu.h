/*
 * Kernel page tables (x86-64 four-level paging).
 *
 * mmu_init builds the kernel's own tables and switches to them: a direct map
 * of physical memory (2 MiB or 1 GiB pages, no execute), the kernel image
 * (text read+execute on one 2 MiB page; rodata read-only, data and bss
 * read-write, both no-execute; the boot stack's guard page left unmapped).
 * Page-table pages come from the allocator registered with
 * mmu_set_pt_allocator (the page allocator, kernel/mm), which must hand out
 * pages the current tables map.
 *
 * mmu_map/mmu_unmap change kernel mappings in the stack and device areas;
 * they are serialized by one lock and flush this CPU's TLB only: callers
 * that unmap must shoot down other CPUs (tlb_shootdown, smp.c).
 */
#ifndef ARCH_MMU_H
#define ARCH_MMU_H

#include "kernel/lib/types.h"

#define MMU_W      (1u << 0)  /* writable */
#define MMU_X      (1u << 1)  /* executable */
#define MMU_NC     (1u << 2)  /* uncached (device memory) */

void mmu_set_pt_allocator(u64 (*alloc)(void));
void mmu_init(u64 max_phys);
int mmu_map(u64 va, u64 pa, u64 size, unsigned flags);
void mmu_unmap(u64 va, u64 size);
bool mmu_is_mapped(u64 va);
u64 mmu_translate(u64 va);   /* physical address, 0 when unmapped */
u64 mmu_kernel_cr3(void);
/* Map device memory uncached; returns its virtual address or NULL. */
void *mmio_map(u64 pa, u64 size);

/* Built by boot.S: the boot page tables' root (the APs' first CR3 too) and
 * the unmapped page under the boot stack. */
extern u64 boot_pml4[];
extern const char boot_stack_guard[];

#endif
