/*
 * Kernel stacks. Each stack lives in its own slot of the stack area: an
 * unmapped guard region, then KSTACK_SIZE bytes of mapped stack. Overflowing
 * a stack touches the guard and faults (the double-fault handler names it).
 *
 * Locks: [S] kstack_lock guards the slot bitmap.
 */
#include "kernel/mm/mm.h"
#include "kernel/console/console.h"
#include "kernel/sync/spinlock.h"

static spinlock_t kstack_lock = SPINLOCK_INIT("kstack");
static u64 slot_map[KSTACK_SLOTS / 64]; /* [S] */
static u64 nstacks;                     /* [S] */
static int slot_hint;                   /* [S] */

#define STACK_PAGES (KSTACK_SIZE / PAGE_SIZE)
#define STACK_ORDER 2
_Static_assert((1 << STACK_ORDER) == STACK_PAGES, "stack order");

static int slot_take(void)
{
	unsigned long f = spin_lock_irqsave(&kstack_lock);
	for (int i = 0; i < KSTACK_SLOTS; i++) {
		int s = (slot_hint + i) % KSTACK_SLOTS;
		if (!(slot_map[s / 64] & (1ULL << (s % 64)))) {
			slot_map[s / 64] |= 1ULL << (s % 64);
			slot_hint = s + 1;
			nstacks++;
			spin_unlock_irqrestore(&kstack_lock, f);
			return s;
		}
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
