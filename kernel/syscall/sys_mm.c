/*
 * mmap (anonymous), munmap, mprotect, brk over the process's struct vm
 * (kernel/proc/vm.c). Pages are mapped on first touch (demand zero).
 *
 * Differences from Linux, each an error rather than silent wrong
 * behaviour: file mappings (-ENODEV for an open file: not supported yet;
 * -EBADF otherwise), MAP_SHARED anonymous memory (-EINVAL: fork would copy
 * it, not share it), MAP_GROWSDOWN, MAP_HUGETLB and MAP_LOCKED (-EINVAL),
 * and PROT_WRITE|PROT_EXEC together (-EACCES: W^X).
 */
#include "kernel/syscall/sys_priv.h"

#define PROT_READ  0x1
#define PROT_WRITE 0x2
#define PROT_EXEC  0x4

#define MAP_SHARED          0x01
#define MAP_PRIVATE         0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE            0x0f
#define MAP_FIXED           0x10
#define MAP_ANONYMOUS       0x20
#define MAP_DENYWRITE       0x800
#define MAP_EXECUTABLE      0x1000
#define MAP_NORESERVE       0x4000
#define MAP_POPULATE        0x8000
#define MAP_NONBLOCK        0x10000
#define MAP_STACK           0x20000
#define MAP_FIXED_NOREPLACE 0x100000
#define MAP_SUPPORTED (MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE | \
		       MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_FIXED_NOREPLACE)

static long do_mmap(struct vm *vm, const u64 a[6]);

/* The threads of a process share its vm: one change at a time ([M]). */
long sys_mmap(const u64 a[6])
{
	struct vm *vm = proc_current()->vm;
	vm_lock(vm);
	long r = do_mmap(vm, a);
	vm_unlock(vm);
	return r;
}

static long do_mmap(struct vm *vm, const u64 a[6])
{
	u64 addr = a[0], len = a[1], prot = a[2], flags = a[3], off = a[5];
	s32 fd = (s32)a[4];
	u64 type = flags & MAP_TYPE;
	if (prot & ~(u64)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (type == MAP_SHARED_VALIDATE && (flags & ~(u64)MAP_SUPPORTED))
		return -EOPNOTSUPP;
	if (flags & ~(u64)MAP_SUPPORTED)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS)) {
		struct file *f = fd >= 0 ? sys_file((u64)fd) : NULL;
		if (!f)
			return -EBADF;
		file_put(f);
		return -ENODEV;
	}
	if (type != MAP_PRIVATE)
		return -EINVAL;   /* shared anonymous memory: not supported */
	if (len == 0 || (off & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (len > USER_TOP)
		return -ENOMEM;
	len = ALIGN_UP(len, PAGE_SIZE);
	if ((prot & (PROT_WRITE | PROT_EXEC)) == (PROT_WRITE | PROT_EXEC))
		return -EACCES;
	unsigned uprot = ((prot & PROT_WRITE) ? UMAP_W : 0) | ((prot & PROT_EXEC) ? UMAP_X : 0);
	enum vma_kind kind = prot ? VMA_MMAP : VMA_RESERVED;

	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (PAGE_SIZE - 1))
			return -EINVAL;
		if (addr < VM_MIN)
			return -EPERM;
		if (addr > USER_TOP - len)
			return -ENOMEM;
		if (!vm_range_free(vm, addr, len)) {
			if (flags & MAP_FIXED_NOREPLACE)
				return -EEXIST;
			if (vm_range_has(vm, addr, len, VMA_GUARD))
				return -ENOMEM;   /* the gap under the stack stays */
			int r = vm_unmap(vm, addr, len);
			if (r < 0)
				return r;
		}
	} else {
		/* a hint is taken when that range is free and below the gap */
		bool hint_ok = !(addr & (PAGE_SIZE - 1)) && addr >= VM_MIN && len <= vm->mmap_top &&
			       addr <= vm->mmap_top - len && vm_range_free(vm, addr, len);
		if (!hint_ok && !(addr = vm_find_free(vm, len)))
			return -ENOMEM;
	}
	int r = vm_map_anon(vm, addr, len, uprot, kind);
	return r < 0 ? r : (long)addr;
}

long sys_munmap(const u64 a[6])
{
	u64 addr = a[0], len = a[1];
	if ((addr & (PAGE_SIZE - 1)) || len == 0 || addr >= USER_TOP || len > USER_TOP - addr)
		return -EINVAL;
	struct vm *vm = proc_current()->vm;
	vm_lock(vm);
	long r = vm_unmap(vm, addr, ALIGN_UP(len, PAGE_SIZE));
	vm_unlock(vm);
	return r;
}

long sys_brk(const u64 a[6])
{
	struct vm *vm = proc_current()->vm;
	vm_lock(vm);
	long r = (long)vm_brk(vm, a[0]);
	vm_unlock(vm);
	return r;
}

long sys_mprotect(const u64 a[6])
{
	u64 addr = a[0], len = a[1], prot = a[2];
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (prot & ~(u64)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;   /* PROT_GROWSDOWN/UP: not supported */
	if (len == 0)
		return 0;
	len = ALIGN_UP(len, PAGE_SIZE);
	if (len == 0 || addr >= USER_TOP || len > USER_TOP - addr)
		return -ENOMEM;
	if ((prot & (PROT_WRITE | PROT_EXEC)) == (PROT_WRITE | PROT_EXEC))
		return -EACCES;   /* W^X */
	unsigned uprot = ((prot & PROT_WRITE) ? UMAP_W : 0) | ((prot & PROT_EXEC) ? UMAP_X : 0);
	struct vm *vm = proc_current()->vm;
	vm_lock(vm);
	long r = vm_protect(vm, addr, len, uprot, prot == 0);
	vm_unlock(vm);
	return r;
}
