/*
 * mmap, munmap, mprotect, brk over the process's struct vm
 * (kernel/proc/vm.c). Anonymous pages are mapped on first touch (demand
 * zero).
 *
 * File mappings: MAP_PRIVATE of a regular file opened for reading (what
 * ld.so and glibc do with libraries and locale files) is VMA_FPRIVATE:
 * the file's own pages (a RAM file's, the page cache's; file_ops.map_page)
 * mapped read-only, so every process that maps a library shares its
 * pages, and a store copies the page first (vm.cow_copies). A page not
 * yet copied sees the file's later writes, as on Linux (MAP_PRIVATE
 * leaves that unspecified). Bytes past the end of the file in its last
 * page read as zeros; a page wholly past the end is SIGBUS on access, as
 * on Linux. A regular file whose file system gives no pages (/proc's) is
 * copied at the mmap instead (VMA_FILE, counted: vm.file_copies; past
 * the end VMA_FILE_EOF).
 *
 * Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, what nginx's master
 * shares with its workers) is VMA_SHARED: its pages are allocated at the
 * mmap and fork maps the same ones in the child (kernel/proc/vm.c).
 * MADV_DONTNEED over it is -EINVAL (its pages cannot be dropped here).
 *
 * Shared file mappings (MAP_SHARED of a regular file) are VMA_FSHARED:
 * the file's own pages (the page cache's, or a RAM file's), marked so that
 * the file's writes change them in place: the mapping sees every write(),
 * and a writable mapping's stores are the file's at once (read(2) sees
 * them). On ext2/ext3 they reach the disk by write-back: while a file has
 * writable mappings, each write-back of it writes all its mapped pages
 * (the flusher's every 2 s, fsync's, a commit's), and once more after the
 * last one goes; msync(MS_SYNC) is the file's fsync (fs/ext2/ext2_vfs.c).
 * The pages up to the file's end are mapped at the mmap (so read(2) and
 * write(2) may be handed the mapping at once); a page the file gains later
 * is mapped at the program's first touch of it.
 *
 * Differences from Linux, each an error rather than silent wrong
 * behaviour: mappings of anything but a regular file (-ENODEV),
 * MAP_GROWSDOWN, MAP_HUGETLB and MAP_LOCKED (-EINVAL), and
 * PROT_WRITE|PROT_EXEC together (-EACCES: W^X). And where a shared file
 * mapping differs without an error: its pages stay in memory while mapped
 * (the cache cannot evict them: a mapping bigger than the page cache fails
 * with -ENOMEM); a truncate leaves pages already mapped in place (Linux
 * unmaps them, and a touch is SIGBUS), and a store into such a page is not
 * the file's; a system call handed a page the file gained after the mmap,
 * before the program touched it, gets -EFAULT (vm.file_map_copy_faults),
 * and so does one that would store into a page of an ext2 mapping made
 * writable by mprotect before the program stored into it (its blocks are
 * allocated at the program's first store);
 * a writable ext2 mapping is written back whole, not page by page as it is
 * stored into (no dirty bits are read).
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/counter.h"

static u64 file_copies, file_copy_bytes;   /* [atomic] */
KCOUNTER_VAR("vm.file_copies", "pages", file_copies);
KCOUNTER_VAR("vm.file_copy_bytes", "bytes", file_copy_bytes);

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
static long mmap_checks(struct file *f, u64 type, u64 prot, u64 len, u64 off);
static long mmap_place(struct vm *vm, struct file *f, u64 addr, u64 len, u64 prot, u64 flags,
		       u64 off);

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
	/* Linux validates flags for file mappings only: anonymous memory
	 * knows MAP_SHARED and MAP_PRIVATE alone */
	if (type == MAP_SHARED_VALIDATE && (flags & MAP_ANONYMOUS))
		return -EINVAL;
	if (type == MAP_SHARED_VALIDATE && (flags & ~(u64)MAP_SUPPORTED))
		return -EOPNOTSUPP;
	if (flags & ~(u64)MAP_SUPPORTED)
		return -EINVAL;
	struct file *f = NULL;
	if (!(flags & MAP_ANONYMOUS)) {
		f = fd >= 0 ? sys_file((u64)fd) : NULL;
		if (!f)
			return -EBADF;
	}
	long r = mmap_checks(f, type, prot, len, off);
	if (r == 0)
		r = mmap_place(vm, f, addr, ALIGN_UP(len, PAGE_SIZE), prot, flags, off);
	if (f)
		file_put(f);
	return r;
}

/* Linux's order of checks (mm/mmap.c do_mmap, then the file's). */
static long mmap_checks(struct file *f, u64 type, u64 prot, u64 len, u64 off)
{
	if (len == 0 || (off & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (len > USER_TOP)
		return -ENOMEM;
	if (!f)
		return 0;
	if (off + ALIGN_UP(len, PAGE_SIZE) < off)
		return -EOVERFLOW;
	if (type != MAP_PRIVATE && (prot & PROT_WRITE) && (f->flags & O_ACCMODE) != O_RDWR)
		return -EACCES;
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	if (!f->inode || !S_ISREG(f->inode->mode))
		return -ENODEV;   /* devices, pipes, sockets: not supported */
	if (type != MAP_PRIVATE && !f->ops->map_page)
		return -ENODEV;
	return 0;
}

/* Fill a new VMA_FILE mapping of [addr, addr+len) from f at off: each page
 * a copy of the file's bytes (zeros past its end). */
static long mmap_fill(struct vm *vm, struct file *f, u64 addr, u64 len, u64 off)
{
	for (u64 at = 0; at < len; at += PAGE_SIZE) {
		u8 *dst = vm_page_kaddr(vm, addr + at);
		if (!dst)
			return -EFAULT;
		struct uio u = { .addr = (u64)dst, .len = PAGE_SIZE, .user = false };
		u64 pos = off + at;
		long n = vfs_read(f, &u, &pos);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		__atomic_add_fetch(&file_copies, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&file_copy_bytes, (u64)n, __ATOMIC_RELAXED);
	}
	return 0;
}

static long mmap_place(struct vm *vm, struct file *f, u64 addr, u64 len, u64 prot, u64 flags,
		       u64 off)
{
	if ((prot & (PROT_WRITE | PROT_EXEC)) == (PROT_WRITE | PROT_EXEC))
		return -EACCES;
	unsigned uprot = ((prot & PROT_WRITE) ? UMAP_W : 0) | ((prot & PROT_EXEC) ? UMAP_X : 0);
	bool shared = !f && (flags & MAP_TYPE) != MAP_PRIVATE;
	bool fshared = f && (flags & MAP_TYPE) != MAP_PRIVATE;
	enum vma_kind kind = shared ? VMA_SHARED : prot ? VMA_MMAP : VMA_RESERVED;
	/* a file's pages: those holding its bytes, then SIGBUS past its end */
	u64 flen = 0;
	if (f) {
		mutex_lock(&f->inode->lock);
		u64 size = f->inode->size;
		mutex_unlock(&f->inode->lock);
		u64 end = ALIGN_UP(size, PAGE_SIZE);
		flen = end > off ? MIN(len, end - off) : 0;
	}

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
	if (!f) {
		int r = vm_map_anon(vm, addr, len, uprot, kind);
		if (r == 0 && shared && !prot && (r = vm_protect(vm, addr, len, 0, true)) < 0)
			vm_unmap(vm, addr, len);
		return r < 0 ? r : (long)addr;
	}
	int r = 0;
	if (fshared || f->ops->map_page) {
		bool maywrite = (f->flags & O_ACCMODE) == O_RDWR;
		r = vm_map_file(vm, addr, len, uprot, f, off, fshared, maywrite);
		if (r == 0 && !prot && (r = vm_protect(vm, addr, len, 0, true)) < 0)
			vm_unmap(vm, addr, len);
		return r < 0 ? r : (long)addr;
	}
	if (flen)
		r = vm_map_anon(vm, addr, flen, uprot, VMA_FILE);
	if (!r && flen < len)
		r = vm_map_anon(vm, addr + flen, len - flen, uprot, VMA_FILE_EOF);
	if (!r && flen)
		r = (int)mmap_fill(vm, f, addr, flen, off);
	if (!r && !prot)
		r = vm_protect(vm, addr, len, 0, true);
	if (r < 0) {
		vm_unmap(vm, addr, len);
		return r;
	}
	return (long)addr;
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

/* msync: Linux's checks of its arguments; MS_SYNC makes each shared file
 * mapped in the range durable (its fsync: ext2 writes its mapped pages
 * back and commits), as Linux's vfs_fsync_range; MS_ASYNC has nothing to
 * start (the flushers write mapped pages within seconds). */
#define MS_ASYNC      1
#define MS_INVALIDATE 2
#define MS_SYNC       4
long sys_msync(const u64 a[6])
{
	u64 addr = a[0], len = a[1], flags = a[2];
	if ((flags & ~(u64)(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) || (addr & (PAGE_SIZE - 1)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	u64 end = addr + ALIGN_UP(len, PAGE_SIZE);
	if (end < addr)
		return -ENOMEM;
	if (end == addr)
		return 0;
	if (addr >= USER_TOP || end > USER_TOP)
		return -ENOMEM;
	struct vm *vm = proc_current()->vm;
	struct file *files[8];
	int n = 0;
	vm_lock(vm);
	bool mapped = vm_range_mapped(vm, addr, end - addr);
	if (flags & MS_SYNC)
		n = vm_shared_files(vm, addr, end - addr, files, ARRAY_SIZE(files));
	vm_unlock(vm);
	long r = 0;
	for (int i = 0; i < n; i++) {
		int e = files[i]->ops->fsync ? files[i]->ops->fsync(files[i]) : 0;
		if (e < 0 && r == 0)
			r = e;
		file_put(files[i]);
	}
	return r < 0 ? r : mapped ? 0 : -ENOMEM;
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
