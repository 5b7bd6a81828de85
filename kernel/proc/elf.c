/*
 * The ELF64 loader and the Linux initial stack; see proc.h. Static
 * programs (ET_EXEC) load where their headers say; static-PIE and dynamic
 * ones (ET_DYN) at ELF_ET_DYN_BASE; a program with PT_INTERP gets its
 * interpreter (Debian's /lib64/ld-linux-x86-64.so.2, read by exec from the
 * file system) loaded beside it at a bias of its own, and the interpreter's
 * entry runs first, told where the program is by the auxiliary vector
 * (AT_PHDR, AT_PHNUM, AT_ENTRY, AT_BASE: the interpreter's bias). Every
 * program also gets the vDSO (AT_SYSINFO_EHDR, kernel/proc/vdso/). Each
 * header field is checked against the file's size before use: a bad
 * program gets -ENOEXEC, a bad interpreter -ELIBBAD, never a fault.
 *
 * The initial stack, from VM_STACK_TOP down (System V x86-64 ABI §3.4.1,
 * as Linux builds it): 16 random bytes (AT_RANDOM), the platform string,
 * the argument and environment strings; then, 16-byte aligned at the
 * bottom, argc, argv[] and NULL, envp[] and NULL, the auxiliary vector
 * ending with AT_NULL. The entry sees rsp pointing at argc.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/elf_format.h"
#include "kernel/console/console.h"
#include "kernel/lib/random.h"
#include "kernel/lib/string.h"
#include "kernel/proc/vdso/vdso_data.h"

#define MAX_PHNUM   64
#define NAUX        20
#define INTERP_MAX  4096         /* PATH_MAX, as Linux limits PT_INTERP */
/* where an ET_DYN program goes (Linux's ELF_ET_DYN_BASE on x86-64: 2/3 of
 * the 47-bit space, page-aligned); its interpreter goes where mmap would
 * put it, top-down under the stack's guard gap */
#define ELF_ET_DYN_BASE 0x555555554000UL

/* What loading one ELF file gave. */
struct elf_loaded {
	u64 bias;          /* added to every p_vaddr (0 for ET_EXEC) */
	u64 entry;         /* e_entry + bias */
	u64 phdr;          /* the program headers' address in the space, or 0 */
	u64 phnum;
	u64 top;           /* the end of the highest segment (page-aligned) */
};

static unsigned seg_prot(u32 flags)
{
	return ((flags & PF_W) ? UMAP_W : 0) | ((flags & PF_X) ? UMAP_X : 0);
}

static int check_header(const u8 *file, size_t size, const struct elf64_ehdr **out)
{
	if (size < sizeof(struct elf64_ehdr))
		return -ENOEXEC;
	const struct elf64_ehdr *eh = (const void *)file;
	if (memcmp(eh->e_ident, ELF_MAGIC, 4) != 0 || eh->e_ident[4] != ELFCLASS64 ||
	    eh->e_ident[5] != ELFDATA2LSB || eh->e_ident[6] != EV_CURRENT ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(struct elf64_phdr) ||
	    eh->e_phnum == 0 || eh->e_phnum > MAX_PHNUM)
		return -ENOEXEC;
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return -ENOEXEC;
	if (eh->e_phoff > size || (u64)eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff)
		return -ENOEXEC;
	*out = eh;
	return 0;
}

static const struct elf64_phdr *phdrs(const u8 *file, const struct elf64_ehdr *eh)
{
	return (const void *)(file + eh->e_phoff);
}

int elf_interp(const u8 *file, size_t size, const char **path)
{
	const struct elf64_ehdr *eh;
	*path = NULL;
	int r = check_header(file, size, &eh);
	if (r < 0)
		return r;
	const struct elf64_phdr *ph = phdrs(file, eh);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *p = &ph[i];
		if (p->p_type != PT_INTERP)
			continue;
		/* as Linux: 2 to PATH_MAX bytes, in the file, NUL ended */
		if (*path || p->p_filesz < 2 || p->p_filesz > INTERP_MAX || p->p_offset > size ||
		    p->p_filesz > size - p->p_offset || file[p->p_offset + p->p_filesz - 1] != '\0')
			return -ENOEXEC;
		*path = (const char *)file + p->p_offset;
	}
	return *path ? 1 : 0;
}

/* The page-aligned span [lo, hi) of the PT_LOAD segments; -ENOEXEC when
 * there is none or a size overflows. */
static int load_span(const struct elf64_phdr *ph, unsigned n, u64 *lo, u64 *hi)
{
	*lo = ~0ULL;
	*hi = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct elf64_phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_memsz > USER_TOP || p->p_vaddr > USER_TOP - p->p_memsz)
			return -ENOEXEC;
		*lo = MIN(*lo, ALIGN_DOWN(p->p_vaddr, PAGE_SIZE));
		*hi = MAX(*hi, ALIGN_UP(p->p_vaddr + p->p_memsz, PAGE_SIZE));
	}
	return *hi ? 0 : -ENOEXEC;
}

static int load_segments(struct vm *vm, const u8 *file, size_t size,
			 const struct elf64_ehdr *eh, u64 bias, struct elf_loaded *out)
{
	const struct elf64_phdr *ph = phdrs(file, eh);
	u64 top = 0, phdr = 0;
	bool entry_ok = false;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *p = &ph[i];
		if (p->p_type == PT_PHDR)
			phdr = p->p_vaddr + bias;
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		u64 va = p->p_vaddr + bias;
		if (p->p_filesz > p->p_memsz || p->p_offset > size || p->p_filesz > size - p->p_offset ||
		    va < p->p_vaddr || va < VM_MIN || p->p_memsz > vm->mmap_top ||
		    va > vm->mmap_top - p->p_memsz)
			return -ENOEXEC;
		if ((p->p_flags & (PF_W | PF_X)) == (PF_W | PF_X))
			return -ENOEXEC;   /* W^X: no segment is both */
		u64 lo = ALIGN_DOWN(va, PAGE_SIZE);
		u64 hi = ALIGN_UP(va + p->p_memsz, PAGE_SIZE);
		/* segments sharing a page would need one protection for both */
		if (!vm_range_free(vm, lo, hi - lo))
			return -ENOEXEC;
		int r = vm_map_anon(vm, lo, hi - lo, seg_prot(p->p_flags), VMA_ELF);
		if (r < 0)
			return r;
		if (vm_poke(vm, va, file + p->p_offset, p->p_filesz) < 0)
			return -ENOEXEC;
		if ((p->p_flags & PF_X) && eh->e_entry >= p->p_vaddr &&
		    eh->e_entry < p->p_vaddr + p->p_memsz)
			entry_ok = true;
		if (!phdr && p->p_offset <= eh->e_phoff &&
		    eh->e_phoff - p->p_offset < p->p_filesz)
			phdr = va + (eh->e_phoff - p->p_offset);
		top = MAX(top, hi);
	}
	if (!entry_ok)
		return -ENOEXEC;
	out->bias = bias;
	out->entry = eh->e_entry + bias;
	out->phdr = phdr;
	out->phnum = eh->e_phnum;
	out->top = top;
	return 0;
}

/* The program itself: ET_EXEC where its headers say, ET_DYN at
 * ELF_ET_DYN_BASE. */
static int load_program(struct vm *vm, const u8 *file, size_t size, struct elf_loaded *out)
{
	const struct elf64_ehdr *eh;
	int r = check_header(file, size, &eh);
	if (r < 0)
		return r;
	u64 lo, hi, bias = 0;
	if ((r = load_span(phdrs(file, eh), eh->e_phnum, &lo, &hi)) < 0)
		return r;
	if (eh->e_type == ET_DYN)
		bias = ELF_ET_DYN_BASE - lo;
	return load_segments(vm, file, size, eh, bias, out);
}

/* The interpreter (ld.so): any ELF64 x86-64 file of ours, placed where
 * mmap would place its span. A file that is no such ELF, or that names
 * an interpreter itself, is -ELIBBAD (Linux says -ELIBBAD for the first
 * and ignores the second's PT_INTERP; Caboose refuses it rather than run
 * a loader that expects to be loaded by another); one shorter than an ELF
 * header -EIO, as Linux's short read. */
static int load_interp(struct vm *vm, const u8 *file, size_t size, struct elf_loaded *out)
{
	const struct elf64_ehdr *eh;
	const char *inner;
	if (size < sizeof(struct elf64_ehdr))
		return -EIO;   /* Linux's short read of the interpreter's header */
	if (check_header(file, size, &eh) < 0 || elf_interp(file, size, &inner) != 0)
		return -ELIBBAD;
	u64 lo, hi, bias = 0;
	if (load_span(phdrs(file, eh), eh->e_phnum, &lo, &hi) < 0)
		return -ELIBBAD;
	if (eh->e_type == ET_DYN) {
		u64 at = vm_find_free(vm, hi - lo);
		if (!at)
			return -ENOMEM;
		bias = at - lo;
	}
	int r = load_segments(vm, file, size, eh, bias, out);
	return r == -ENOEXEC ? -ELIBBAD : r;
}

/* How many strings v holds, adding their bytes and their pointers' to
 * *bytes: -E2BIG past execve's limits (proc.h EXEC_ARG_*) */
static int count(const char *const *v, size_t *bytes)
{
	int n = 0;
	for (; v && v[n]; n++) {
		size_t k = strlen(v[n]) + 1;
		if (k > EXEC_ARG_STRLEN)
			return -E2BIG;
		*bytes += k + sizeof(u64);
		if (*bytes > EXEC_ARG_MAX)
			return -E2BIG;
	}
	return n;
}

/* Copy the strings below *sp as one block in order (v[0] lowest, as Linux
 * lays them out, so that /proc/PID/cmdline reads them in order),
 * recording their user addresses in ptrs and the block in [*start, *end). */
static int push_strings(struct vm *vm, u64 *sp, const char *const *v, int n, u64 *ptrs,
			u64 *start, u64 *end)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += strlen(v[i]) + 1;
	*end = *sp;
	*sp -= total;
	*start = *sp;
	u64 at = *sp;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		if (vm_poke(vm, at, v[i], len) < 0)
			return -EFAULT;
		ptrs[i] = at;
		at += len;
	}
	return 0;
}

static int build_stack(struct vm *vm, const char *const *argv, const char *const *envp,
		       struct exec_image *img)
{
	size_t bytes = 0;
	int argc = count(argv, &bytes), envc = count(envp, &bytes);
	if (argc < 0 || envc < 0)
		return -E2BIG;
	u64 *ptrs = kmalloc(sizeof(u64) * (size_t)(argc + envc + 1), 0);
	if (!ptrs)
		return -ENOMEM;
	u64 sp = VM_STACK_TOP;
	u8 rnd[16];
	random_bytes(rnd, sizeof(rnd));
	sp -= sizeof(rnd);
	u64 at_random = sp;
	int r = vm_poke(vm, sp, rnd, sizeof(rnd));
	static const char platform[] = "x86_64";
	sp -= sizeof(platform);
	u64 at_platform = sp;
	if (!r)
		r = vm_poke(vm, sp, platform, sizeof(platform));
	if (!r)   /* envp's block above argv's, as on Linux */
		r = push_strings(vm, &sp, envp, envc, ptrs + argc, &vm->env_start, &vm->env_end);
	if (!r)
		r = push_strings(vm, &sp, argv, argc, ptrs, &vm->arg_start, &vm->arg_end);
	if (r) {
		kfree(ptrs);
		return r;
	}
	/* AT_EXECFN: the path exec was given is argv[0] here (init and the
	 * REPL pass it so); AT_HWCAP2 0: no FSGSBASE for user mode */
	u64 aux[NAUX][2] = {
		{ AT_PHDR, img->phdr }, { AT_PHENT, img->phent }, { AT_PHNUM, img->phnum },
		{ AT_PAGESZ, PAGE_SIZE }, { AT_BASE, img->base }, { AT_FLAGS, 0 },
		{ AT_ENTRY, img->prog_entry }, { AT_UID, 0 }, { AT_EUID, 0 }, { AT_GID, 0 },
		{ AT_EGID, 0 }, { AT_PLATFORM, at_platform }, { AT_HWCAP, arch_user_hwcap() },
		{ AT_HWCAP2, 0 }, { AT_CLKTCK, 100 }, { AT_SECURE, 0 }, { AT_RANDOM, at_random },
		{ AT_EXECFN, argc ? ptrs[0] : 0 }, { AT_SYSINFO_EHDR, img->vdso }, { AT_NULL, 0 },
	};
	size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + 2 * NAUX;
	sp = ALIGN_DOWN(sp - words * 8, 16);
	img->sp = sp;
	u64 w = (u64)argc;
	r = vm_poke(vm, sp, &w, 8);
	sp += 8;
	for (int i = 0; i <= argc && !r; i++, sp += 8) {
		w = i < argc ? ptrs[i] : 0;
		r = vm_poke(vm, sp, &w, 8);
	}
	for (int i = 0; i <= envc && !r; i++, sp += 8) {
		w = i < envc ? ptrs[argc + i] : 0;
		r = vm_poke(vm, sp, &w, 8);
	}
	if (!r)
		r = vm_poke(vm, sp, aux, sizeof(aux));
	kfree(ptrs);
	return r;
}

/* The vDSO (kernel/proc/vdso/): its image copied into the space where mmap
 * would place it, with its data page (the clock's parameters: the one
 * kernel page every process shares read-only, clock.c) just below; *base:
 * its ELF header's address, for AT_SYSINFO_EHDR. */
extern const u8 vdso_image[], vdso_image_end[];
static int load_vdso(struct vm *vm, u64 *base)
{
	const u8 *file = vdso_image;
	size_t size = (size_t)(vdso_image_end - vdso_image);
	const struct elf64_ehdr *eh;
	u64 lo, hi;
	if (check_header(file, size, &eh) < 0 || load_span(phdrs(file, eh), eh->e_phnum, &lo, &hi) < 0)
		panic("elf: the built-in vDSO is no ELF file we load");
	u64 at = vm_find_free(vm, VDSO_DATA_SIZE + hi - lo);
	if (!at)
		return -ENOMEM;
	int r = vm_map_page(vm, at, proc_vvar_page());
	if (r < 0)
		return r;
	struct elf_loaded out;
	r = load_segments(vm, file, size, eh, at + VDSO_DATA_SIZE - lo, &out);
	if (r < 0)
		return r;
	*base = at + VDSO_DATA_SIZE;
	return 0;
}

int elf_load(struct vm *vm, const u8 *file, size_t size, const u8 *interp, size_t isize,
	     const char *const *argv, const char *const *envp, struct exec_image *img)
{
	struct elf_loaded prog, ld;
	int r = load_program(vm, file, size, &prog);
	if (r < 0)
		return r;
	vm->brk_start = vm->brk = prog.top;
	img->phdr = prog.phdr;
	img->phnum = prog.phnum;
	img->phent = sizeof(struct elf64_phdr);
	img->prog_entry = prog.entry;
	img->entry = prog.entry;
	img->base = 0;
	if (interp) {
		r = load_interp(vm, interp, isize, &ld);
		if (r < 0)
			return r;
		img->entry = ld.entry;
		img->base = ld.bias;
	}
	r = load_vdso(vm, &img->vdso);
	if (r < 0)
		return r;
	r = vm_map_anon(vm, vm->stack_lo, VM_STACK_SIZE, UMAP_W, VMA_STACK);
	if (!r)   /* the gap under the stack: never mapped, never handed out */
		r = vm_map_anon(vm, vm->mmap_top, VM_GUARD_GAP, 0, VMA_GUARD);
	if (!r)
		r = build_stack(vm, argv, envp, img);
	return r;
}
