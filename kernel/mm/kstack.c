/*
 * Kernel stacks. Each stack lives in its own slot of the stack area: an
 * unmapped guard region, then KSTACK_SIZE bytes of mapped stack. Overflowing
 * a stack touches the guard and faults (the double-fault handler names it).
 *
 * A stack takes the lowest free slot. Unmapping a stack leaves the page
 * tables that mapped it, so the tables of the area follow the highest slot
 * ever used: lowest-first keeps that at the most stacks alive at once. (Slots
 * taken in turn around the whole area, as before, built page tables for all
 * of it, 513 pages, as threads came and went: a thread a connection, and the
 * soak saw pages in use grow by some 25 a minute.) The price: a freed slot
 * is soon reused, so a stale pointer into a dead thread's stack can reach a
 * live one instead of faulting.
 *
 * Locks: [S] kstack_lock guards the slot bitmap.
 */
#include "kernel/mm/mm.h"
#include "kernel/console/console.h"
#include "kernel/sync/spinlock.h"

static spinlock_t kstack_lock = SPINLOCK_INIT("kstack");
static u64 slot_map[KSTACK_SLOTS / 64]; /* [S] */
static u64 nstacks;                     /* [S] */

#define STACK_PAGES (KSTACK_SIZE / PAGE_SIZE)
#define STACK_ORDER 2
_Static_assert((1 << STACK_ORDER) == STACK_PAGES, "stack order");

static int slot_take(void)
{
	unsigned long f = spin_lock_irqsave(&kstack_lock);
	for (int w = 0; w < KSTACK_SLOTS / 64; w++) {
		if (slot_map[w] == ~0ULL)
			continue;
		int s = w * 64 + __builtin_ctzll(~slot_map[w]);
		slot_map[w] |= 1ULL << (s % 64);
		nstacks++;
		spin_unlock_irqrestore(&kstack_lock, f);
		return s;
	}
	spin_unlock_irqrestore(&kstack_lock, f);
	return -ENOSPC;
}

static void slot_give(int s)
{
	unsigned long f = spin_lock_irqsave(&kstack_lock);
	slot_map[s / 64] &= ~(1ULL << (s % 64));
	nstacks--;
	spin_unlock_irqrestore(&kstack_lock, f);
}

int kstack_alloc(struct kstack *ks)
{
	int s = slot_take();
	if (s < 0)
		return s;
	struct page *pg = page_alloc(STACK_ORDER);
	if (!pg) {
		slot_give(s);
		return -ENOMEM;
	}
	u64 lo = KSTACK_AREA_BASE + (u64)s * KSTACK_SLOT + KSTACK_GUARD;
	int err = arch_kmap(lo, page_to_phys(pg), KSTACK_SIZE, KMAP_W);
	if (err) {
		page_put(pg);
		slot_give(s);
		return err;
	}
	ks->lo = lo;
	ks->hi = lo + KSTACK_SIZE;
	ks->slot = s;
	return 0;
}

void kstack_free(struct kstack *ks)
{
	u64 pa = arch_kvirt_to_phys(ks->lo);
	arch_kunmap(ks->lo, KSTACK_SIZE);
	tlb_shootdown(ks->lo, KSTACK_SIZE);
	if (pa)
		page_put(phys_to_page(pa));
	slot_give(ks->slot);
	ks->lo = ks->hi = 0;
}

u64 kstack_count(void) { return nstacks; }
