/* Kernel page tables; see mmu.h. */
#include "kernel/arch/x86_64/mmu.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/layout.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/sync/spinlock.h"

#define PTE_P   (1ULL << 0)
#define PTE_W   (1ULL << 1)
#define PTE_U   (1ULL << 2)
#define PTE_PWT (1ULL << 3)
#define PTE_PCD (1ULL << 4)
#define PTE_PS  (1ULL << 7)
#define PTE_G   (1ULL << 8)
#define PTE_NX  (1ULL << 63)
/* software bit of a user PTE that is not present: the page is kept (its
 * address stays in the entry) but no access is allowed (PROT_NONE) */
#define PTE_NONE (1ULL << 9)
#define PTE_ADDR 0x000ffffffffff000ULL

#define PML4_IDX(va) (((va) >> 39) & 511)
#define PDPT_IDX(va) (((va) >> 30) & 511)
#define PD_IDX(va)   (((va) >> 21) & 511)
#define PT_IDX(va)   (((va) >> 12) & 511)

static u64 (*pt_alloc)(void);
static void (*pt_free)(u64 pa);
static bool kernel_half_shared; /* user spaces copy the kernel's top half */
static u64 kernel_pml4;           /* physical */
static u64 nx_bit;                /* PTE_NX when the CPU has NX */
static spinlock_t mmu_lock = SPINLOCK_INIT("mmu");
static u64 mmio_next = MMIO_AREA; /* [mmu_lock] */

void mmu_set_pt_allocator(u64 (*alloc)(void)) { pt_alloc = alloc; }
u64 mmu_kernel_cr3(void) { return kernel_pml4; }

static u64 *table(u64 pa) { return phys_to_virt(pa); }

static u64 new_table(void)
{
	u64 pa = pt_alloc ? pt_alloc() : 0;
	if (!pa)
		panic("mmu: out of memory for page tables");
	memset(table(pa), 0, PAGE_SIZE);
	return pa;
}

/* The entry for va at the given level (3 = PML4 ... 0 = PT), creating
 * intermediate tables. Returns NULL if a large page is in the way. */
static u64 *walk(u64 root, u64 va, int level, bool create)
{
	u64 *t = table(root);
	for (int l = 3; l > level; l--) {
		unsigned idx = (va >> (12 + 9 * l)) & 511;
		u64 e = t[idx];
		if (!(e & PTE_P)) {
			if (!create)
				return NULL;
			/* every user space holds a copy of the kernel's top level:
			 * a new slot there would not reach them */
			if (l == 3 && root == kernel_pml4 && kernel_half_shared)
				panic("mmu: new top-level kernel slot for %#llx after user spaces exist",
				      (unsigned long long)va);
			e = new_table() | PTE_P | PTE_W;
			t[idx] = e;
		} else if (e & PTE_PS) {
			return NULL;
		}
		t = table(e & PTE_ADDR);
	}
	return &t[(va >> (12 + 9 * level)) & 511];
}

static u64 leaf_bits(unsigned flags)
{
	u64 b = PTE_P | PTE_G;
	if (flags & MMU_W)
		b |= PTE_W;
	if (!(flags & MMU_X))
		b |= nx_bit;
	if (flags & MMU_NC)
		b |= PTE_PCD | PTE_PWT;
	return b;
}

static void map_4k(u64 root, u64 va, u64 pa, unsigned flags)
{
	u64 *e = walk(root, va, 0, true);
	if (!e)
		panic("mmu: mapping %#llx collides with a large page", (unsigned long long)va);
	*e = (pa & PTE_ADDR) | leaf_bits(flags);
}

static void map_direct(u64 root, u64 max_phys)
{
	u64 text_2m = KERNEL_PHYS;
	for (u64 pa = 0; pa < max_phys;) {
		u64 va = DIRECT_MAP_BASE + pa;
		if (cpu_feat.pdpe1gb && IS_ALIGNED(pa, GiB(1)) && pa + GiB(1) <= max_phys &&
		    !(text_2m >= pa && text_2m < pa + GiB(1))) {
			u64 *e = walk(root, va, 2, true);
			*e = pa | leaf_bits(MMU_W) | PTE_PS;
			pa += GiB(1);
			continue;
		}
		u64 *e = walk(root, va, 1, true);
		/* the alias of kernel text stays read-only */
		unsigned fl = pa == text_2m ? 0 : MMU_W;
		*e = pa | leaf_bits(fl) | PTE_PS;
		pa += MiB(2);
	}
}

static void map_image(u64 root)
{
	u64 text_va = KERNEL_VMA + KERNEL_PHYS;
	u64 *e = walk(root, text_va, 1, true);
	*e = KERNEL_PHYS | leaf_bits(MMU_X) | PTE_PS;

	u64 guard = (u64)boot_stack_guard;
	for (u64 va = (u64)_rodata_start; va < (u64)_ksyms_end; va += PAGE_SIZE) {
		unsigned fl;
		if (va == guard)
			continue;
		if (va < (u64)_rodata_end || va >= (u64)_ksyms_start)
			fl = 0;       /* rodata, ksyms: read-only */
		else
			fl = MMU_W;   /* data, bss */
		map_4k(root, va, va - KERNEL_VMA, fl);
	}
}

void mmu_init(u64 max_phys)
{
	nx_bit = cpu_feat.nx ? PTE_NX : 0;
	if (!cpu_feat.nx)
		pr_warn("mmu: CPU has no NX bit: data mappings stay executable");
	if (cpu_feat.pge)
		write_cr4(read_cr4() | (1 << 7));
	max_phys = ALIGN_UP(max_phys, MiB(2));
	u64 root = new_table();
	map_direct(root, max_phys);
	map_image(root);
	/* the stack and device areas get their top-level slots now, so the
	 * kernel half user spaces copy is complete (see walk) */
	walk(root, KSTACK_AREA, 2, true);
	walk(root, MMIO_AREA, 2, true);
	kernel_pml4 = root;
	write_cr3(root);
	pr_info("mmu: direct map %llu MiB (%s pages), kernel text on a 2 MiB page, NX %s",
		(unsigned long long)(max_phys >> 20), cpu_feat.pdpe1gb ? "1 GiB" : "2 MiB",
		nx_bit ? "on" : "off");
}

int mmu_map(u64 va, u64 pa, u64 size, unsigned flags)
{
	if (!IS_ALIGNED(va | pa | size, PAGE_SIZE))
		return -EINVAL;
	unsigned long f = spin_lock_irqsave(&mmu_lock);
	for (u64 off = 0; off < size; off += PAGE_SIZE)
		map_4k(kernel_pml4, va + off, pa + off, flags);
	spin_unlock_irqrestore(&mmu_lock, f);
	return 0;
}

void mmu_unmap(u64 va, u64 size)
{
	unsigned long f = spin_lock_irqsave(&mmu_lock);
	for (u64 off = 0; off < size; off += PAGE_SIZE) {
		u64 *e = walk(kernel_pml4, va + off, 0, false);
		if (e) {
			*e = 0;
			invlpg(va + off);
		}
	}
	spin_unlock_irqrestore(&mmu_lock, f);
}

bool mmu_is_mapped(u64 va)
{
	u64 root = read_cr3() & PTE_ADDR;
	u64 *t = table(root);
	for (int l = 3; l >= 0; l--) {
		u64 e = t[(va >> (12 + 9 * l)) & 511];
		if (!(e & PTE_P))
			return false;
		if (l == 0 || (e & PTE_PS))
			return true;
		t = table(e & PTE_ADDR);
	}
	return false;
}

void *mmio_map(u64 pa, u64 size)
{
	u64 off = pa & (PAGE_SIZE - 1);
	u64 len = ALIGN_UP(size + off, PAGE_SIZE);
	unsigned long f = spin_lock_irqsave(&mmu_lock);
	u64 va = mmio_next;
	if (va + len > MMIO_AREA + MMIO_AREA_SIZE) {
		spin_unlock_irqrestore(&mmu_lock, f);
		return NULL;
	}
	mmio_next += len + PAGE_SIZE; /* keep a hole between windows */
	for (u64 o = 0; o < len; o += PAGE_SIZE)
		map_4k(kernel_pml4, va + o, pa - off + o, MMU_W | MMU_NC);
	spin_unlock_irqrestore(&mmu_lock, f);
	return (void *)(va + off);
}

u64 mmu_translate(u64 va)
{
	u64 *t = table(read_cr3() & PTE_ADDR);
	for (int l = 3; l >= 0; l--) {
		u64 e = t[(va >> (12 + 9 * l)) & 511];
		if (!(e & PTE_P))
			return 0;
		if (l == 0 || (e & PTE_PS)) {
			u64 mask = (1ULL << (12 + 9 * l)) - 1;
			return (e & PTE_ADDR & ~mask) | (va & mask);
		}
		t = table(e & PTE_ADDR);
	}
	return 0;
}

/* The portable names (arch.h) */
_Static_assert(KMAP_W == MMU_W && KMAP_X == MMU_X && KMAP_NC == MMU_NC, "prot bits");
_Static_assert(KSTACK_AREA_BASE == KSTACK_AREA, "stack area");
int arch_kmap(u64 va, u64 pa, u64 size, unsigned prot) { return mmu_map(va, pa, size, prot); }
void arch_kunmap(u64 va, u64 size) { mmu_unmap(va, size); }
u64 arch_kvirt_to_phys(u64 va) { return mmu_translate(va); }
bool arch_kaddr_mapped(u64 va) { return mmu_is_mapped(va); }

bool arch_kaddr_prot(u64 va, unsigned *prot, bool *large)
{
	u64 *t = table(read_cr3() & PTE_ADDR);
	for (int l = 3; l >= 0; l--) {
		u64 e = t[(va >> (12 + 9 * l)) & 511];
		if (!(e & PTE_P))
			return false;
		if (l == 0 || (e & PTE_PS)) {
			*prot = ((e & PTE_W) ? KMAP_W : 0) | ((e & PTE_NX) ? 0 : KMAP_X) |
				((e & PTE_PCD) ? KMAP_NC : 0);
			*large = l > 0;
			return true;
		}
		t = table(e & PTE_ADDR);
	}
	return false;
}

/* ---- user address spaces (arch.h) ---- */

#define USER_SLOTS 256   /* top-level entries of the lower half */

void arch_mm_set_pt_free(void (*fn)(u64 pa)) { pt_free = fn; }

u64 arch_uspace_new(void)
{
	u64 pa = pt_alloc ? pt_alloc() : 0;
	if (!pa)
		return 0;
	u64 *t = table(pa);
	memset(t, 0, USER_SLOTS * sizeof(u64));
	__atomic_store_n(&kernel_half_shared, true, __ATOMIC_RELEASE);
	memcpy(t + USER_SLOTS, table(kernel_pml4) + USER_SLOTS, USER_SLOTS * sizeof(u64));
	return pa;
}

/* The level-0 entry for va in a user space, or NULL (create: tables made
 * as needed, NULL when out of memory). */
static u64 *uwalk(u64 root, u64 va, bool create)
{
	u64 *t = table(root);
	for (int l = 3; l > 0; l--) {
		u64 *e = &t[(va >> (12 + 9 * l)) & 511];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			u64 pa = pt_alloc ? pt_alloc() : 0;
			if (!pa)
				return NULL;
			memset(table(pa), 0, PAGE_SIZE);
			*e = pa | PTE_P | PTE_W | PTE_U;
		}
		t = table(*e & PTE_ADDR);
	}
	return &t[PT_IDX(va)];
}

static bool user_va_ok(u64 va) { return va < USER_TOP && IS_ALIGNED(va, PAGE_SIZE); }

int arch_uspace_map(u64 root, u64 va, u64 pa, unsigned prot)
{
	if (!user_va_ok(va) || !IS_ALIGNED(pa, PAGE_SIZE) ||
	    (prot & (UMAP_W | UMAP_X)) == (UMAP_W | UMAP_X))
		return -EINVAL;
	u64 *e = uwalk(root, va, true);
	if (!e)
		return -ENOMEM;
	bool was = *e & PTE_P;
	if (prot & UMAP_NONE)
		*e = pa | PTE_NONE;
	else
		*e = pa | PTE_P | PTE_U | ((prot & UMAP_W) ? PTE_W : 0) |
		     ((prot & UMAP_X) ? 0 : nx_bit);
	if (was && (read_cr3() & PTE_ADDR) == root)
		invlpg(va);
	return 0;
}

u64 arch_uspace_unmap(u64 root, u64 va)
{
	if (!user_va_ok(va))
		return 0;
	u64 *e = uwalk(root, va, false);
	if (!e || !(*e & (PTE_P | PTE_NONE)))
		return 0;
	u64 pa = *e & PTE_ADDR;
	bool was = *e & PTE_P;
	*e = 0;
	if (was && (read_cr3() & PTE_ADDR) == root)
		invlpg(va);
	return pa;
}

u64 arch_uspace_lookup(u64 root, u64 va, unsigned *prot)
{
	if (va >= USER_TOP)
		return 0;
	u64 *e = uwalk(root, ALIGN_DOWN(va, PAGE_SIZE), false);
	if (!e || !(*e & (PTE_P | PTE_NONE)))
		return 0;
	if (prot && !(*e & PTE_P))
		*prot = UMAP_NONE;
	else if (prot)
		*prot = ((*e & PTE_W) ? UMAP_W : 0) | ((*e & PTE_NX) ? 0 : UMAP_X);
	return (*e & PTE_ADDR) | (va & (PAGE_SIZE - 1));
}

u64 arch_uspace_next(u64 root, u64 va, u64 end)
{
	u64 lim = MIN(end, (u64)USER_TOP);
	va = ALIGN_DOWN(va, PAGE_SIZE);
	while (va < lim) {
		/* down to the level where va's entry is missing (or its page) */
		u64 *t = table(root);
		int l = 3;
		for (; l > 0 && (t[(va >> (12 + 9 * l)) & 511] & PTE_P); l--)
			t = table(t[(va >> (12 + 9 * l)) & 511] & PTE_ADDR);
		u64 leaf = PTE_P | PTE_NONE;
		if (l == 0 && (t[PT_IDX(va)] & leaf))
			return va;
		/* then along that table to its next entry in use: a walk from
		 * the top again for what is under it */
		unsigned shift = 12 + 9 * l;
		u64 want = l ? PTE_P : leaf;
		unsigned i = ((va >> shift) & 511) + 1;
		va = (ALIGN_DOWN(va, (u64)1 << shift) + ((u64)1 << shift));
		for (; i < 512 && va < lim && !(t[i] & want); i++)
			va += (u64)1 << shift;
		if (va == 0)
			break;   /* wrapped past the top */
		if (l == 0 && i < 512 && va < lim)
			return va;
	}
	return end;
}

static void free_level(u64 pa, int level)
{
	u64 *t = table(pa);
	if (level > 0) {
		for (int i = 0; i < 512; i++) {
			if (!(t[i] & PTE_P))
				continue;
			free_level(t[i] & PTE_ADDR, level - 1);
		}
	}
	/* a leaf table is not scanned: vm_destroy has checked that its count
	 * of mapped pages is zero */
	pt_free(pa);
}

void arch_uspace_free(u64 root)
{
	if ((read_cr3() & PTE_ADDR) == root)
		panic("mmu: freeing the address space in use");
	u64 *t = table(root);
	for (int i = 0; i < USER_SLOTS; i++)
		if (t[i] & PTE_P)
			free_level(t[i] & PTE_ADDR, 2);
	pt_free(root);
}
