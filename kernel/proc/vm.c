/* User address spaces: VMAs over the arch page tables; see proc.h. */
#include "kernel/proc/proc.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"

static struct vma *vma_at(struct list_node *n) { return list_entry(n, struct vma, link); }

static u64 vm_zero_faults, vm_cow_copies, vm_file_maps, vm_file_faults;   /* [atomic] */
KCOUNTER_VAR("vm.zero_faults", "pages", vm_zero_faults);
KCOUNTER_VAR("vm.cow_copies", "pages", vm_cow_copies);
/* file mappings' pages (VMA_FSHARED, VMA_FPRIVATE): mapped at the mmap; at a program's touch
 * (the file grew since) */
KCOUNTER_VAR("vm.file_map_pages", "pages", vm_file_maps);
KCOUNTER_VAR("vm.file_map_faults", "pages", vm_file_faults);

struct vm *vm_create(void)
{
	struct vm *vm = kzalloc(sizeof(*vm));
	if (!vm)
		return NULL;
	vm->root = arch_uspace_new();
	if (!vm->root) {
		kfree(vm);
		return NULL;
	}
	vm->refs = 1;
	list_init(&vm->vmas);
	spin_init(&vm->lock, "vm");
	mutex_init(&vm->mutex, "vm");
	vm->stack_lo = VM_STACK_TOP - VM_STACK_SIZE;
	vm->mmap_top = vm->stack_lo - VM_GUARD_GAP;
	return vm;
}

void vm_lock(struct vm *vm) { mutex_lock(&vm->mutex); }
void vm_unlock(struct vm *vm) { mutex_unlock(&vm->mutex); }

static u64 vm_shootdowns;   /* [atomic] */
KCOUNTER_VAR("vm.shootdowns", "calls", vm_shootdowns);

/* Another CPU may hold translations of this space: one of its threads
 * runs there (or ran there last). */
static bool vm_shared(struct vm *vm) { return READ_ONCE(vm->threads) > 1; }

/* A file mapping's: VMA_FSHARED or VMA_FPRIVATE */
static bool file_kind(enum vma_kind k) { return k == VMA_FSHARED || k == VMA_FPRIVATE; }

/* A VMA_FSHARED's or VMA_FPRIVATE's hold on its file: a reference, and a writer's count
 * when it may write the pages (file_ops.map_writers). The hold is taken
 * under [V] (a fork's copy, a split); dropped once the VMA's pages are
 * unmapped, with no spinlock held. */
static void vma_file_hold(struct vma *v)
{
	file_get(v->file);
	if (v->maywrite && v->file->ops->map_writers)
		v->file->ops->map_writers(v->file, 1);
}

static void vma_file_drop(struct vma *v)
{
	if (v->maywrite && v->file->ops->map_writers)
		v->file->ops->map_writers(v->file, -1);
	file_put(v->file);
}

static void vm_shootdown(struct vm *vm, u64 start, u64 len)
{
	if (!vm_shared(vm))
		return;
	tlb_shootdown(start, len);
	__atomic_add_fetch(&vm_shootdowns, 1, __ATOMIC_RELAXED);
}

/* Unmap the pages of [start, end) (no VMA covers it any more, so no fault
 * maps them again) in batches: the page-table entries go under [V], the
 * other CPUs drop their translations, and only then are the pages freed.
 * Caller holds [M] (or owns vm alone) and no spinlock. */
#define UNMAP_BATCH 64
static void unmap_pages_flush(struct vm *vm, u64 start, u64 end)
{
	u64 batch[UNMAP_BATCH];
	u64 va = start;
	while (va < end) {
		u64 from = va;
		int n = 0;
		unsigned long fl = spin_lock_irqsave(&vm->lock);
		for (; va < end && n < UNMAP_BATCH; va += PAGE_SIZE) {
			va = arch_uspace_next(vm->root, va, end);
			if (va >= end)
				break;
			u64 pa = arch_uspace_unmap(vm->root, va);
			if (pa) {
				batch[n++] = pa;
				vm->pages--;
			}
		}
		spin_unlock_irqrestore(&vm->lock, fl);
		if (n)
			vm_shootdown(vm, from, va - from);
		for (int i = 0; i < n; i++)
			page_put(phys_to_page(batch[i]));
	}
}

static void unmap_pages(struct vm *vm, u64 start, u64 end)
{
	for (u64 va = arch_uspace_next(vm->root, start, end); va < end;
	     va = arch_uspace_next(vm->root, va + PAGE_SIZE, end)) {
		u64 pa = arch_uspace_unmap(vm->root, va);
		if (pa) {
			page_put(phys_to_page(pa));
			vm->pages--;
		}
	}
}

void vm_get(struct vm *vm)
{
	__atomic_add_fetch(&vm->refs, 1, __ATOMIC_RELAXED);
}

void vm_destroy(struct vm *vm)
{
	if (__atomic_sub_fetch(&vm->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;   /* another process (CLONE_VM) still uses it */
	struct list_node *n;
	while ((n = list_pop_front(&vm->vmas))) {
		struct vma *v = vma_at(n);
		unmap_pages(vm, v->start, v->end);
		if (v->file)
			vma_file_drop(v);
		kfree(v);
	}
	if (vm->pages)
		panic("vm_destroy: %llu pages still mapped", (unsigned long long)vm->pages);
	arch_uspace_free(vm->root);
	kfree(vm->exe);
	kfree(vm);
}

const struct vma *vm_find(const struct vm *vm, u64 addr)
{
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (addr >= v->start && addr < v->end)
			return v;
	}
	return NULL;
}

int vm_kind_at(struct vm *vm, u64 addr)
{
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	const struct vma *v = vm_find(vm, addr);
	int k = v ? (int)v->kind : -1;
	spin_unlock_irqrestore(&vm->lock, fl);
	return k;
}

bool vm_range_free(const struct vm *vm, u64 start, u64 len)
{
	if (start < VM_MIN || len > USER_TOP || start > USER_TOP - len)
		return false;
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (v->start < start + len && start < v->end)
			return false;
	}
	return true;
}

bool vm_range_has(const struct vm *vm, u64 start, u64 len, enum vma_kind kind)
{
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (v->kind == kind && v->start < start + len && start < v->end)
			return true;
	}
	return false;
}

static bool holds_pages(enum vma_kind k)
{
	return k != VMA_GUARD && k != VMA_RESERVED && k != VMA_FILE_EOF;
}

u64 vm_find_free(const struct vm *vm, u64 len)
{
	u64 floor = vm->brk_start + VM_BRK_MAX;
	if (len > vm->mmap_top || vm->mmap_top - len < floor)
		return 0;
	u64 cand = vm->mmap_top - len;
	/* walk down from the highest VMA: each one overlapping the candidate
	 * pushes it below itself */
	for (struct list_node *n = vm->vmas.prev; n != &vm->vmas; n = n->prev) {
		struct vma *v = vma_at(n);
		if (v->start >= cand + len)
			continue;
		if (v->end <= cand)
			break;
		if (v->start < len || v->start - len < floor)
			return 0;
		cand = v->start - len;
	}
	return cand;
}

/* Insert v in start order, merging with a neighbour of the same kind. */
static void vma_insert(struct vm *vm, struct vma *v)
{
	struct list_node *n;
	list_for_each(n, &vm->vmas)
		if (vma_at(n)->start > v->start)
			break;
	struct list_node *prev = n->prev;
	if (prev != &vm->vmas) {
		struct vma *p = vma_at(prev);
		if (p->end == v->start && p->prot == v->prot && p->kind == v->kind && !v->file) {
			p->end = v->end;
			kfree(v);
			return;
		}
	}
	list_insert_between(&v->link, prev, n);
}

int vm_map_anon(struct vm *vm, u64 start, u64 len, unsigned prot, enum vma_kind kind)
{
	if (!IS_ALIGNED(start | len, PAGE_SIZE) || len == 0 ||
	    (prot & (UMAP_W | UMAP_X)) == (UMAP_W | UMAP_X) || !vm_range_free(vm, start, len))
		return -EINVAL;
	/* a request bigger than what is free fails here, before anything */
	if (holds_pages(kind) && (len >> PAGE_SHIFT) + 64 > page_free_count())
		return -ENOMEM;
	struct vma *v = kzalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	v->start = start;
	v->end = start + len;
	v->prot = prot;
	v->kind = kind;
	/* written at once by the caller; or shared by fork, page for page */
	if (kind == VMA_ELF || kind == VMA_FILE || kind == VMA_SHARED) {
		for (u64 va = start; va < start + len; va += PAGE_SIZE) {
			struct page *pg = page_alloc_zeroed(0);
			int r = pg ? arch_uspace_map(vm->root, va, page_to_phys(pg), prot) : -ENOMEM;
			if (r < 0) {
				if (pg)
					page_put(pg);
				unmap_pages(vm, start, va);
				spin_unlock_irqrestore(&vm->lock, fl);
				kfree(v);
				return r;
			}
			vm->pages++;
		}
	}
	vma_insert(vm, v);
	spin_unlock_irqrestore(&vm->lock, fl);
	return 0;
}

int vm_map_page(struct vm *vm, u64 va, struct page *pg)
{
	if (!IS_ALIGNED(va, PAGE_SIZE) || !vm_range_free(vm, va, PAGE_SIZE))
		return -EINVAL;
	struct vma *v = kzalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	int r = arch_uspace_map(vm->root, va, page_to_phys(pg), 0);
	if (r == 0) {
		page_get(pg);
		vm->pages++;
		v->start = va;
		v->end = va + PAGE_SIZE;
		v->kind = VMA_VVAR;
		vma_insert(vm, v);
	}
	spin_unlock_irqrestore(&vm->lock, fl);
	if (r < 0)
		kfree(v);
	return r;
}

/* Map page idx of f at va, in a VMA_FSHARED or VMA_FPRIVATE mapping of
 * f, if it is still there and the page is not present yet (a private
 * mapping's without W: a store copies it); or, for a write to a shared
 * one, give the present page (the same one) the mapping's protection (W)
 * now that map_page had it made writable. No lock held: map_page may sleep. A hole
 * that the file system maps no page for (a read-only mapping only) reads
 * as zeros, from a page of the mapping's own. 0 (mapped, present already,
 * or the mapping changed meanwhile), -ENXIO (past the file's end), or
 * map_page's error. */
static int map_file_page(struct vm *vm, u64 va, struct file *f, u64 idx, bool write)
{
	struct page *pg = NULL;
	int r = f->ops->map_page(f, idx, write, &pg);   /* write: a shared mapping's */
	if (r == -EOPNOTSUPP && !write) {
		pg = page_alloc_zeroed(0);
		r = pg ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	const struct vma *v = vm_find(vm, va);
	if (v && file_kind(v->kind) && v->file == f && v->off + (va - v->start) == idx << PAGE_SHIFT) {
		u64 pa = arch_uspace_lookup(vm->root, va, NULL);
		unsigned prot = v->noaccess ? UMAP_NONE :
				v->kind == VMA_FPRIVATE ? v->prot & ~UMAP_W : v->prot;
		if (!pa) {
			r = arch_uspace_map(vm->root, va, page_to_phys(pg), prot);
			if (r == 0) {
				vm->pages++;
				pg = NULL;   /* the mapping's reference now */
			}
		} else if (write && v->kind == VMA_FSHARED && !v->noaccess && (v->prot & UMAP_W) &&
			   ALIGN_DOWN(pa, PAGE_SIZE) == page_to_phys(pg)) {
			r = arch_uspace_map(vm->root, va, page_to_phys(pg), v->prot);
		}
	}
	spin_unlock_irqrestore(&vm->lock, fl);
	if (pg)
		page_put(pg);
	return r;
}

int vm_map_file(struct vm *vm, u64 start, u64 len, unsigned prot, struct file *f, u64 off,
		bool shared, bool maywrite)
{
	if (!IS_ALIGNED(start | len | off, PAGE_SIZE) || len == 0 || !f->ops->map_page ||
	    (prot & (UMAP_W | UMAP_X)) == (UMAP_W | UMAP_X) || !vm_range_free(vm, start, len))
		return -EINVAL;
	struct vma *v = kzalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = start + len;
	v->prot = prot;
	v->kind = shared ? VMA_FSHARED : VMA_FPRIVATE;
	v->file = f;
	v->off = off;
	v->maywrite = shared && maywrite;
	vma_file_hold(v);
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	vma_insert(vm, v);
	spin_unlock_irqrestore(&vm->lock, fl);
	/* the pages up to the file's end now: a system call handed the
	 * mapping finds them (a kernel copy cannot wait for a disk) */
	for (u64 at = 0; at < len; at += PAGE_SIZE) {
		int r = map_file_page(vm, start + at, f, (off + at) >> PAGE_SHIFT,
				      shared && (prot & UMAP_W));
		if (r == -ENXIO)
			break;
		if (r < 0) {
			vm_unmap(vm, start, len);
			return r;
		}
		__atomic_add_fetch(&vm_file_maps, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

int vm_fault_file(struct vm *vm, u64 addr, bool write)
{
	u64 va = ALIGN_DOWN(addr, PAGE_SIZE);
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	const struct vma *v = vm_find(vm, va);
	struct file *f = v && file_kind(v->kind) ? v->file : NULL;
	u64 idx = f ? (v->off + (va - v->start)) >> PAGE_SHIFT : 0;
	write = write && f && v->kind == VMA_FSHARED;   /* a private store: a copy, after */
	if (f)
		file_get(f);
	spin_unlock_irqrestore(&vm->lock, fl);
	if (!f)
		return 0;   /* unmapped meanwhile: the access faults again */
	int r = map_file_page(vm, va, f, idx, write);
	file_put(f);
	if (r == 0)
		__atomic_add_fetch(&vm_file_faults, 1, __ATOMIC_RELAXED);
	return r;
}

bool vm_fault_sigbus(struct vm *vm, u64 addr, bool write, bool exec)
{
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	const struct vma *v = vm_find(vm, addr);
	bool r = v && (v->kind == VMA_FILE_EOF ||
		       (file_kind(v->kind) && !v->noaccess && (!write || (v->prot & UMAP_W)) &&
			(!exec || (v->prot & UMAP_X))));
	spin_unlock_irqrestore(&vm->lock, fl);
	return r;
}

/* One step of vm_unmap under [V]: the first VMA overlapping [start, end)
 * loses its part in the range; that part in *lo, *hi. False: none left. */
static bool unmap_step(struct vm *vm, u64 start, u64 end, struct vma **spare, struct vma **dead,
		       u64 *lo, u64 *hi)
{
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (v->kind == VMA_GUARD || v->end <= start || v->start >= end)
			continue;
		*lo = MAX(v->start, start);
		*hi = MIN(v->end, end);
		if (*lo == v->start && *hi == v->end) {
			list_remove(&v->link);
			*dead = v;
		} else if (*lo == v->start) {
			v->off += v->file ? *hi - v->start : 0;
			v->start = *hi;
		} else if (*hi == v->end) {
			v->end = *lo;
		} else {
			/* a hole in the middle: v keeps the low part, spare the high */
			struct vma *h = *spare;
			*spare = NULL;
			*h = *v;
			h->start = *hi;
			if (h->file) {
				h->off += *hi - v->start;
				vma_file_hold(h);
			}
			v->end = *lo;
			list_insert_between(&h->link, &v->link, v->link.next);
		}
		return true;
	}
	return false;
}

int vm_unmap(struct vm *vm, u64 start, u64 len)
{
	u64 end = start + len;
	/* the one VMA a split of a mapping around the range needs */
	struct vma *spare = kzalloc(sizeof(*spare));
	if (!spare)
		return -ENOMEM;
	for (;;) {
		struct vma *dead = NULL;
		u64 lo, hi;
		unsigned long fl = spin_lock_irqsave(&vm->lock);
		bool more = unmap_step(vm, start, end, &spare, &dead, &lo, &hi);
		spin_unlock_irqrestore(&vm->lock, fl);
		if (!more)
			break;
		unmap_pages_flush(vm, lo, hi);
		if (dead && dead->file)
			vma_file_drop(dead);   /* after its pages: their stores are all in */
		kfree(dead);
		if (!spare)
			break;   /* the range lay inside one VMA: nothing else overlaps */
	}
	kfree(spare);
	return 0;
}

static int fault_locked(struct vm *vm, u64 addr, bool write, bool exec);
/* the page is present now (not VM_FAULT_FILE: that needs vm_fault_file) */
static bool resolved(int r) { return r == 0 || r == VM_FAULT_FLUSH; }

/* Used on a space no other thread runs in (loading, a fork child's). */
int vm_poke(struct vm *vm, u64 va, const void *src, size_t len)
{
	const u8 *s = src;
	while (len) {
		unsigned prot;
		unsigned long fl = spin_lock_irqsave(&vm->lock);
		u64 pa = arch_uspace_lookup(vm->root, va, &prot);
		const struct vma *v = vm_find(vm, va);
		/* a page shared since fork gets its own copy first */
		if ((!pa || !(prot & UMAP_W)) && v && (v->prot & UMAP_W) &&
		    resolved(fault_locked(vm, va, true, false)))
			pa = arch_uspace_lookup(vm->root, va, NULL);
		if (!pa && resolved(fault_locked(vm, va, false, false)))
			pa = arch_uspace_lookup(vm->root, va, NULL);
		if (v && v->kind == VMA_VVAR)
			pa = 0;   /* every process's page: never written for one */
		size_t chunk = MIN(len, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
		if (pa)
			memcpy(phys_to_virt(pa), s, chunk);
		spin_unlock_irqrestore(&vm->lock, fl);
		if (!pa)
			return -EFAULT;
		s += chunk;
		va += chunk;
		len -= chunk;
	}
	return 0;
}

void *vm_page_kaddr(struct vm *vm, u64 va)
{
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	u64 pa = arch_uspace_lookup(vm->root, ALIGN_DOWN(va, PAGE_SIZE), NULL);
	spin_unlock_irqrestore(&vm->lock, fl);
	return pa ? phys_to_virt(pa) : NULL;
}

u64 vm_brk(struct vm *vm, u64 want)
{
	if (want < vm->brk_start || want - vm->brk_start > VM_BRK_MAX)
		return vm->brk;
	u64 old_end = ALIGN_UP(vm->brk, PAGE_SIZE), new_end = ALIGN_UP(want, PAGE_SIZE);
	if (new_end > old_end) {
		if (vm_map_anon(vm, old_end, new_end - old_end, UMAP_W, VMA_HEAP) < 0)
			return vm->brk;
	} else if (new_end < old_end) {
		if (vm_unmap(vm, new_end, old_end - new_end) < 0)
			return vm->brk;
	}
	vm->brk = want;
	return want;
}

/* ---- demand paging and copy on write ---- */

int vm_fault(struct vm *vm, u64 addr, bool write, bool exec)
{
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	int r = fault_locked(vm, addr, write, exec);
	spin_unlock_irqrestore(&vm->lock, fl);
	return r;
}

static int fault_locked(struct vm *vm, u64 addr, bool write, bool exec)
{
	const struct vma *v = vm_find(vm, addr);
	if (!v || !holds_pages(v->kind) || (write && !(v->prot & UMAP_W)) ||
	    (exec && !(v->prot & UMAP_X)) || (v->kind == VMA_SHARED && !v->prot) || v->noaccess)
		return -EFAULT;
	u64 va = ALIGN_DOWN(addr, PAGE_SIZE);
	unsigned prot;
	u64 pa = arch_uspace_lookup(vm->root, va, &prot);
	if (!pa && v->kind == VMA_VVAR)
		return -EFAULT;   /* the shared page or nothing: never a zeroed one */
	if (!pa && file_kind(v->kind))
		return VM_FAULT_FILE;   /* the file's page, never a zeroed one */
	if (!pa) {   /* first touch: a zeroed page */
		struct page *pg = page_alloc_zeroed(0);
		if (!pg)
			return -ENOMEM;
		int r = arch_uspace_map(vm->root, va, page_to_phys(pg), v->prot);
		if (r < 0) {
			page_put(pg);
			return r;
		}
		vm->pages++;
		__atomic_add_fetch(&vm_zero_faults, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (!write || (prot & UMAP_W)) {
		/* present and allowed: another thread resolved it first (the
		 * fault dropped this CPU's stale entry), or not ours to fix */
		return (!exec || (prot & UMAP_X)) && vm_shared(vm) ? 0 : -EFAULT;
	}
	/* a write to a page shared since fork */
	struct page *old = phys_to_page(ALIGN_DOWN(pa, PAGE_SIZE));
	/* a file's page becoming writable: its file system first allocates
	 * its blocks (map_page with write; it may sleep) */
	if (v->kind == VMA_FSHARED && v->file->ops->map_writers)
		return VM_FAULT_FILE;
	if (page_refcount(old) == 1 || v->kind == VMA_SHARED || v->kind == VMA_FSHARED)
		/* ours, or meant to be shared */
		return arch_uspace_map(vm->root, va, page_to_phys(old), v->prot);
	struct page *pg = page_alloc(0);
	if (!pg)
		return -ENOMEM;
	memcpy(page_address(pg), page_address(old), PAGE_SIZE);
	int r = arch_uspace_map(vm->root, va, page_to_phys(pg), v->prot);
	if (r < 0) {
		page_put(pg);
		return r;
	}
	page_put(old);
	__atomic_add_fetch(&vm_cow_copies, 1, __ATOMIC_RELAXED);
	/* another CPU may still read the old page through its TLB */
	return vm_shared(vm) ? VM_FAULT_FLUSH : 0;
}

struct vm *vm_clone(struct vm *src)
{
	struct vm *vm = vm_create();
	if (!vm)
		return NULL;
	vm_lock(src);
	unsigned long fl = spin_lock_irqsave(&src->lock);
	vm->brk_start = src->brk_start;
	vm->brk = src->brk;
	vm->mmap_top = src->mmap_top;
	vm->stack_lo = src->stack_lo;
	vm->arg_start = src->arg_start;
	vm->arg_end = src->arg_end;
	vm->env_start = src->env_start;
	vm->env_end = src->env_end;
	if (src->exe) {   /* a missing copy only makes exe read -ENOENT */
		size_t len = strlen(src->exe) + 1;
		vm->exe = kmalloc(len, 0);
		if (vm->exe)
			memcpy(vm->exe, src->exe, len);
	}
	struct list_node *n;
	list_for_each(n, &src->vmas) {
		struct vma *v = vma_at(n);
		struct vma *c = kmalloc(sizeof(*c), 0);
		if (!c)
			goto fail;
		*c = *v;
		if (c->file)
			vma_file_hold(c);
		list_push_back(&vm->vmas, &c->link);
		if (v->kind == VMA_GUARD || v->kind == VMA_FILE_EOF)
			continue;   /* PROT_NONE (VMA_RESERVED) may keep pages */
		for (u64 va = arch_uspace_next(src->root, v->start, v->end); va < v->end;
		     va = arch_uspace_next(src->root, va + PAGE_SIZE, v->end)) {
			unsigned prot;
			u64 pa = arch_uspace_lookup(src->root, va, &prot);
			if (!pa)
				continue;
			/* both read-only now: the first write copies (vm_fault);
			 * a PROT_NONE page stays inaccessible in both; shared
			 * memory stays as it is, the same page in both */
			bool same = v->kind == VMA_SHARED || v->kind == VMA_FSHARED;
			unsigned shared = same ? prot : prot & ~UMAP_W;
			if (arch_uspace_map(vm->root, va, pa, shared) < 0)
				goto fail;
			page_get(phys_to_page(pa));
			vm->pages++;
			if ((prot & UMAP_W) && !same)
				arch_uspace_map(src->root, va, pa, shared);   /* its table exists */
		}
	}
	spin_unlock_irqrestore(&src->lock, fl);
	/* the other threads' CPUs must not keep writing through W entries */
	vm_shootdown(src, 0, USER_TOP);
	vm_unlock(src);
	return vm;
fail:
	spin_unlock_irqrestore(&src->lock, fl);
	vm_shootdown(src, 0, USER_TOP);
	vm_unlock(src);
	vm_destroy(vm);
	return NULL;
}

/* Is every byte of [start, end) in a VMA (not the guard gap)? */
static bool range_mapped(struct vm *vm, u64 start, u64 end)
{
	u64 at = start;
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (v->end <= at || v->start >= end)
			continue;
		if (v->start > at || v->kind == VMA_GUARD)
			return false;
		at = v->end;
		if (at >= end)
			break;
	}
	return at >= end;
}

int vm_shared_files(struct vm *vm, u64 start, u64 len, struct file **out, int max)
{
	int n = 0;
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	struct list_node *it;
	list_for_each(it, &vm->vmas) {
		struct vma *v = vma_at(it);
		if (v->kind != VMA_FSHARED || v->end <= start || v->start >= start + len)
			continue;
		bool seen = false;
		for (int i = 0; i < n; i++)
			seen |= out[i] == v->file;
		if (!seen && n < max) {
			file_get(v->file);
			out[n++] = v->file;
		}
	}
	spin_unlock_irqrestore(&vm->lock, fl);
	return n;
}

bool vm_range_mapped(struct vm *vm, u64 start, u64 len)
{
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	bool r = range_mapped(vm, start, start + len);
	spin_unlock_irqrestore(&vm->lock, fl);
	return r;
}

/* After MADV_DONTNEED over file mappings ([M] held: the VMAs stay): the
 * file's pages of [start, end) mapped again, as at the mmap (a private
 * mapping's copies are gone: it reads the file again) */
static void file_pages_again(struct vm *vm, u64 start, u64 end)
{
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (!file_kind(v->kind) || v->end <= start || v->start >= end)
			continue;
		bool write = v->kind == VMA_FSHARED && (v->prot & UMAP_W);
		for (u64 va = MAX(v->start, start); va < MIN(v->end, end); va += PAGE_SIZE)
			if (map_file_page(vm, va, v->file, (v->off + (va - v->start)) >> PAGE_SHIFT,
					  write) < 0)
				break;   /* past the end, or an error: a touch faults it in */
	}
}

int vm_discard(struct vm *vm, u64 start, u64 len, bool free, bool anon_only)
{
	if (!range_mapped(vm, start, start + len))
		return -ENOMEM;
	/* Linux reads a private file page in again after MADV_DONTNEED; a
	 * VMA_FILE mapping's pages are copies made at mmap: not supported */
	if (free && vm_range_has(vm, start, len, VMA_FILE))
		return -EINVAL;
	/* Linux keeps shared memory's contents after MADV_DONTNEED (only this
	 * process's mapping of them goes): freeing the pages here would lose
	 * them for every sharer */
	if (free && vm_range_has(vm, start, len, VMA_SHARED))
		return -EINVAL;
	/* MADV_FREE: private anonymous memory only, as Linux */
	if (free && anon_only && (vm_range_has(vm, start, len, VMA_FSHARED) ||
				  vm_range_has(vm, start, len, VMA_FPRIVATE)))
		return -EINVAL;
	/* the vDSO's data: Linux's madvise refuses its VM_PFNMAP mapping */
	if (free && vm_range_has(vm, start, len, VMA_VVAR))
		return -EINVAL;
	if (free)
		unmap_pages_flush(vm, start, start + len);
	if (free && (vm_range_has(vm, start, len, VMA_FSHARED) ||
		     vm_range_has(vm, start, len, VMA_FPRIVATE)))
		file_pages_again(vm, start, start + len);
	return 0;
}

/* ---- mprotect ---- */

/* Split v at addr (inside it) with the spare *sp; the new VMA is the high part. */
static void split_at(struct vma *v, u64 addr, struct vma **sp)
{
	struct vma *h = *sp;
	*sp = NULL;
	*h = *v;
	h->start = addr;
	if (h->file) {
		h->off += addr - v->start;
		vma_file_hold(h);
	}
	v->end = addr;
	list_insert_between(&h->link, &v->link, v->link.next);
}

int vm_protect(struct vm *vm, u64 start, u64 len, unsigned prot, bool none)
{
	u64 end = start + len;
	/* every byte must be mapped, and no guard gap in it */
	u64 at = start;
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (v->end <= at || v->start >= end)
			continue;
		if (v->start > at || v->kind == VMA_GUARD)
			return -ENOMEM;
		at = v->end;
		if (at >= end)
			break;
	}
	if (at < end)
		return -ENOMEM;
	/* Linux's [vvar] may never be written nor run (no VM_MAYWRITE/MAYEXEC) */
	if (!none && (prot & (UMAP_W | UMAP_X)) && vm_range_has(vm, start, len, VMA_VVAR))
		return -EACCES;
	/* a shared file mapping gains PROT_WRITE only where it may (the file
	 * open for writing: Linux's EACCES) */
	if (!none && (prot & UMAP_W)) {
		list_for_each(n, &vm->vmas) {
			struct vma *v = vma_at(n);
			if (v->end > start && v->start < end && v->kind == VMA_FSHARED && !v->maywrite)
				return -EACCES;
		}
	}
	struct vma *spare[2] = { kmalloc(sizeof(struct vma), 0), kmalloc(sizeof(struct vma), 0) };
	if (!spare[0] || !spare[1]) {
		kfree(spare[0]);
		kfree(spare[1]);
		return -ENOMEM;
	}
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	list_for_each(n, &vm->vmas) {
		struct vma *v = vma_at(n);
		if (v->end <= start || v->start >= end)
			continue;
		if (v->start < start) {
			split_at(v, start, &spare[0]);
			continue;   /* the high part comes next in the walk */
		}
		if (v->end > end)
			split_at(v, end, &spare[1]);
		v->prot = prot;
		v->noaccess = none && file_kind(v->kind);
		if (none && v->kind != VMA_FILE_EOF && v->kind != VMA_SHARED && !file_kind(v->kind))
			v->kind = VMA_RESERVED;
		else if (v->kind == VMA_RESERVED)
			v->kind = VMA_MMAP;
		/* present pages take the new protection, but never gain W here:
		 * a write faults and vm_fault gives W (copying a shared page);
		 * under PROT_NONE a page keeps its data in a non-present entry */
		for (u64 va = arch_uspace_next(vm->root, v->start, v->end); va < v->end;
		     va = arch_uspace_next(vm->root, va + PAGE_SIZE, v->end)) {
			unsigned old;
			u64 pa = arch_uspace_lookup(vm->root, va, &old);
			if (!pa)
				continue;
			unsigned keep_w = (old & UMAP_NONE) ? 0 : old & prot & UMAP_W;
			arch_uspace_map(vm->root, va, pa & ~(u64)(PAGE_SIZE - 1),
					none ? UMAP_NONE : (prot & ~UMAP_W) | keep_w);
		}
	}
	spin_unlock_irqrestore(&vm->lock, fl);
	vm_shootdown(vm, start, len);
	kfree(spare[0]);
	kfree(spare[1]);
	return 0;
}
