/*
 * Processes: address spaces, programs and their lives (one thread per
 * process; static ELF programs and #! scripts; fork, execve, wait,
 * signals; descriptor tables over the VFS).
 *
 * Address space (struct vm), the lower half of the page tables, from the
 * bottom:
 *   [0, VM_MIN)                       never mapped (NULL and small offsets)
 *   the program's segments            where its ELF headers say (ET_EXEC)
 *   [brk_start, brk_start + VM_BRK_MAX)  the heap (brk), kept free for it
 *   ... mmap, placed top-down from mmap_top ...
 *   [mmap_top, stack_lo)              guard gap: never mapped, never given
 *   [stack_lo, VM_STACK_TOP)          the stack (VM_STACK_SIZE)
 *   [VM_STACK_TOP, USER_TOP)          unmapped
 * The program's segments are populated when loaded; heap, mmap and stack
 * pages on first touch (demand zero, vm_fault). fork shares every page
 * read-only between the two spaces and the first write copies it (copy on
 * write, vm_fault again); a page fault that vm_fault cannot resolve is a
 * bad access. Mappings are never W and X at once (W^X); data, heap and
 * stack are NX.
 *
 * No failure in the middle of a call (DESIGN principle 7): vm_map_anon
 * allocates everything first (the VMA, every page, the page tables) and
 * changes nothing when it cannot; vm_unmap reserves the one VMA a split may
 * need before it unmaps anything.
 *
 * Locks: a vm belongs to its one thread, which alone changes it [owner];
 * the REPL reads the counts racily. [P] procs_lock guards the process table.
 *
 * Lifetime: proc_spawn returns a process whose thread already runs;
 * proc_wait waits for its end and frees it (exactly once per spawn). A
 * forked process is freed by its parent's wait (a zombie until then), or
 * at its end when its parent went first or ignores SIGCHLD.
 */
#ifndef PROC_PROC_H
#define PROC_PROC_H

#include "kernel/sched/sched.h"
#include "fs/vfs.h"

#define VM_MIN        0x10000UL
#define VM_STACK_TOP  0x00007fffff000000UL
#define VM_STACK_SIZE (256 * 1024UL)
#define VM_GUARD_GAP  (1024 * 1024UL)
#define VM_BRK_MAX    (1024UL * 1024 * 1024)

/* VMA_GUARD and VMA_RESERVED (PROT_NONE) hold no pages: any access faults */
enum vma_kind { VMA_ELF, VMA_HEAP, VMA_MMAP, VMA_STACK, VMA_GUARD, VMA_RESERVED };

struct vma {
	struct list_node link;   /* [owner] in start order */
	u64 start, end;          /* page-aligned, end exclusive */
	unsigned prot;           /* UMAP_W, UMAP_X (readable always) */
	enum vma_kind kind;
};

struct vm {
	u64 root;                /* the top-level page table */
	struct list_node vmas;   /* [owner] */
	u64 pages;               /* [owner] user pages mapped */
	u64 brk_start, brk;      /* [owner] the heap: brk may be unaligned */
	u64 mmap_top;            /* mmap places below this (the guard gap) */
	u64 stack_lo;
};

struct vm *vm_create(void);
void vm_destroy(struct vm *vm);
/* Map [start, start+len) (page-aligned, free) with zeroed pages.
 * 0, -ENOMEM, -EINVAL (W+X, outside the user half). */
int vm_map_anon(struct vm *vm, u64 start, u64 len, unsigned prot, enum vma_kind kind);
/* Unmap whatever lies in [start, start+len); the guard gap stays.
 * 0 or -ENOMEM (a split needed a VMA there was no memory for). */
int vm_unmap(struct vm *vm, u64 start, u64 len);
/* Is [start, start+len) free of every VMA? */
bool vm_range_free(const struct vm *vm, u64 start, u64 len);
/* Does a VMA of that kind overlap [start, start+len)? */
bool vm_range_has(const struct vm *vm, u64 start, u64 len, enum vma_kind kind);
/* A free range of len bytes for mmap (top-down), or 0. */
u64 vm_find_free(const struct vm *vm, u64 len);
/* Write bytes into the space through the kernel's own mapping of its
 * pages (for loading; no user access involved). 0 or -EFAULT. */
int vm_poke(struct vm *vm, u64 va, const void *src, size_t len);
const struct vma *vm_find(const struct vm *vm, u64 addr);
/* Make the page at addr present for the access: a zeroed page on first
 * touch, a private copy on a write to a shared one. 0, -EFAULT (a bad
 * access), -ENOMEM. */
int vm_fault(struct vm *vm, u64 addr, bool write, bool exec);
/* mprotect: [start, start+len) (page-aligned) takes prot (none: no access
 * at all). 0, -ENOMEM (a part is not mapped), -EINVAL (PROT_NONE over
 * pages holding data: not supported). */
int vm_protect(struct vm *vm, u64 start, u64 len, unsigned prot, bool none);
/* fork: a copy of src sharing every page copy-on-write; NULL: no memory. */
struct vm *vm_clone(struct vm *src);
/* brk(2): the new break, or the old one when the request fails. */
u64 vm_brk(struct vm *vm, u64 want);

/* ---- programs ---- */
struct exec_image {
	u64 entry, phdr, phnum, phent;
	u64 sp;                   /* initial stack pointer (argc there) */
};
/* Load a static ELF64 x86-64 program (ET_EXEC) from memory into vm and
 * build the Linux initial stack. -ENOEXEC (not a program we run),
 * -ENOMEM, -E2BIG (arguments too long). */
int elf_load(struct vm *vm, const u8 *file, size_t size, const char *const *argv,
	     const char *const *envp, struct exec_image *img);

/* ---- descriptor tables (fd.c) ----
 * A table holds one reference to each file it names. A process's table
 * belongs to its thread [owner]. */
#define FD_MAX 1024   /* Linux's default RLIMIT_NOFILE */
struct fdtable {
	struct file *files[FD_MAX];
	bool cloexec[FD_MAX];
};
struct fdtable *fdtable_new(void);
/* fork: every file shared, one more reference each; NULL: no memory */
struct fdtable *fdtable_copy(const struct fdtable *t);
void fdtable_free(struct fdtable *t);
void fdtable_close_on_exec(struct fdtable *t);
/* The lowest free number >= min takes f (the table's reference now), or
 * -EMFILE (f untouched). */
int fd_install(struct fdtable *t, int min, struct file *f, bool cloexec);
/* The file behind fd with a reference for the caller, or NULL. */
struct file *fd_get(struct fdtable *t, u64 fd);
int fd_close(struct fdtable *t, u64 fd);
int fd_count(const struct fdtable *t);

/* ---- processes ---- */
enum proc_state { PROC_RUNNING, PROC_ZOMBIE };

struct k_sigaction {
	u64 handler, flags, restorer, mask;
};
#define PROC_NSIG 64

struct proc {
	struct arch_user user;    /* first: thread->user points here */
	int pid;
	char name[32];
	enum proc_state state;    /* [P] */
	int status;               /* wait status, Linux encoding, once exited */
	struct vm *vm;            /* [owner] NULL once exited */
	struct thread *thread;    /* set by the thread itself when it starts */
	u64 entry_pc, entry_sp;   /* where it enters user mode first */
	struct user_regs fork_regs; /* a forked child's first entry */
	u64 clear_child_tid;      /* [owner] */
	u64 sigmask;              /* [owner] recorded, not yet acted on */
	struct k_sigaction sigact[PROC_NSIG]; /* [owner] recorded */
	u64 syscalls;             /* [owner] */
	struct fdtable *fds;      /* [owner] its entries; the pointer [P] to set NULL at exit */
	struct inode *cwd;        /* [owner] a reference */
	u32 umask;                /* [owner] */
	struct list_node link;    /* [P] */
	struct proc *parent;      /* [P] NULL: the kernel waits (proc_wait), or nobody */
	struct list_node children; /* [P] */
	struct list_node sibling;  /* [P] in the parent's children */
	bool kernel_waits;        /* spawned by the kernel: proc_wait frees it */
	int pgid;                 /* [owner] */
	u64 pending;              /* [atomic] signals sent, not yet delivered */
	long last_nr, last_result; /* [owner] the call a signal interrupted */
	u64 saved_mask;           /* [owner] rt_sigsuspend's mask to restore */
	u64 fault_addr;           /* [owner] a fault signal's si_addr, si_code */
	int fault_code;
	bool mask_saved;          /* [owner] */
};

/* The process whose thread is running, or NULL in a kernel thread. */
struct proc *proc_current(void);
/* Start path from the initial archive. 0 and *out, or -ENOENT, -ENOEXEC,
 * -ENOMEM, -E2BIG. */
int proc_spawn(const char *path, const char *const *argv, const char *const *envp,
	       struct proc **out);
/* execve for the current process: path relative to its working
 * directory, argv and envp in kernel memory. Scripts starting with "#!"
 * run their interpreter. On success the registers are set for the new
 * program's entry (0 returned); on failure the old program is untouched:
 * -ENOENT, -EACCES, -ENOEXEC, -ENOMEM, -E2BIG, -ELOOP. */
int proc_execve(const char *path, const char *const *argv, const char *const *envp);
/* Its first half: the program (or the script's interpreter) at path,
 * relative to cwd, loaded into a new vm with its stack; nothing else
 * changes. The errors of proc_execve. */
int exec_prepare(struct inode *cwd, const char *path, const char *const *argv,
		 const char *const *envp, struct vm **out, struct exec_image *img);
/* The same from a program image in memory (tests); name is for the logs. */
int proc_spawn_image(const char *name, const u8 *data, size_t size, const char *const *argv,
		     const char *const *envp, struct proc **out);
/* Wait for the end of p and free it; returns its wait status. */
int proc_wait(struct proc *p);
/* fork: a copy of the calling process, whose thread enters user mode with
 * regs; returns the child's pid, or -ENOMEM (nothing made). */
int proc_fork(const struct user_regs *regs, u64 clone_flags, u64 parent_tid, u64 child_tid);
#define CLONE_PARENT_SETTID  0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_CHILD_SETTID   0x01000000
/* wait4's core: a zombie child matching pid (-1: any, > 0: that one, 0 or
 * < -1: a process group) is freed and its pid and status returned; 0 with
 * nohang when none has ended; -ECHILD when none matches; -EINTR when a
 * signal came first. */
int proc_wait_child(int pid, bool nohang, int *status);
/* Find a process by pid and send it sig (0: only check it exists).
 * 0, -ESRCH, -EINVAL. pid <= 0: every process of a group (0: the
 * caller's; -1: every process but the caller). */
int proc_kill(int pid, int sig);
/* Is a signal waiting that would interrupt a sleep? */
bool proc_signal_pending(void);
/* rt_sigreturn: the registers and mask from the handler's frame; returns
 * the rax to go back with (a bad frame ends the process). */
long sys_rt_sigreturn_impl(void);
/* pause and rt_sigsuspend (with mask, unless NULL): sleep until a signal
 * is to be taken; -EINTR. */
long proc_sigsuspend(const u64 *mask);
/* End the current process with a wait status (exit: code << 8; a
 * signal: its number). */
__noreturn void proc_exit(int status);
/* Boot: the fault handler; and the init= programs (after the system is
 * ready; returns unless init.exit=qemu). */
void proc_init(void);
void proc_run_init(void);

/* Signal numbers (Linux x86-64) the kernel sends. */
#define SIGILL  4
#define SIGTRAP 5
#define SIGBUS  7
#define SIGFPE  8
#define SIGPIPE 13
#define SIGCHLD 17
#define SIGCONT 18
#define SIGURG  23
#define SIGWINCH 28
#define SIGKILL 9
#define SIGSEGV 11
#define SIGSTOP 19
const char *signal_name(int sig);
/* A write found no reader (EPIPE): SIGPIPE, delivered on the way back
 * to user mode (its default action ends the process). */
void proc_raise_sigpipe(void);

#endif
