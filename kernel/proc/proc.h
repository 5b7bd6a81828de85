/*
 * Processes: address spaces, programs and their lives (ELF programs,
 * static or dynamically linked with their PT_INTERP loader, and #!
 * scripts; fork, execve, wait, signals; descriptor tables over the VFS), and their threads (clone with CLONE_THREAD: struct
 * uthread, several per process, sharing its vm, descriptors, working
 * directory and signal actions; futexes in futex.c).
 *
 * Address space (struct vm), the lower half of the page tables, from the
 * bottom:
 *   [0, VM_MIN)                       never mapped (NULL and small offsets)
 *   the program's segments            where its ELF headers say (ET_EXEC),
 *                                     or from ELF_ET_DYN_BASE (ET_DYN)
 *   [brk_start, brk_start + VM_BRK_MAX)  the heap (brk), kept free for it
 *   ... mmap, placed top-down from mmap_top (the interpreter and the
 *       vDSO first, at exec) ...
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
 * Locks: a vm is shared by the threads of its process. [M] vm->mutex
 * (sleeping) serialises the calls that change it (mmap, munmap, mprotect,
 * brk, fork's copy); [V] vm->lock (a spinlock, interrupts off) guards the
 * VMA list and the page tables against the fault path, which cannot
 * sleep. A change that removes or narrows a translation while the space
 * may be live on another CPU (more than one thread) shoots the other
 * CPUs' TLBs down before the pages are freed. The REPL reads the counts
 * racily. [P] procs_lock guards the process table and each process's
 * thread list.
 *
 * Lifetime: proc_spawn returns a process whose thread already runs;
 * proc_wait waits for its end and frees it (exactly once per spawn). The
 * end is when the last of its kernel threads has been reaped (stack freed),
 * not when its last thread leaves: a waiter finds everything back. A
 * forked process is freed by its parent's wait (a zombie until then), or
 * at its end when its parent went first or ignores SIGCHLD.
 */
#ifndef PROC_PROC_H
#define PROC_PROC_H

#include "kernel/sched/sched.h"
#include "fs/vfs.h"

#define VM_MIN        0x10000UL
#define VM_STACK_TOP  0x00007fffff000000UL
#define VM_STACK_SIZE (8UL << 20)  /* RLIMIT_STACK's default, as Linux's (demand zero) */
/* execve's arguments, as Linux limits them with that stack: each string at
 * most MAX_ARG_STRLEN bytes (its NUL too), the strings and their pointers
 * together at most a quarter of the stack (ARG_MAX); -E2BIG past either */
#define EXEC_ARG_STRLEN (128 * 1024UL)
#define EXEC_ARG_MAX    (VM_STACK_SIZE / 4)
#define VM_GUARD_GAP  (1024 * 1024UL)
#define VM_BRK_MAX    (1024UL * 1024 * 1024)

/* VMA_GUARD and VMA_RESERVED (PROT_NONE) give no pages: any access faults
 * (a PROT_NONE range keeps the pages it had, in entries that are not
 * present). VMA_FILE: a private file mapping, its pages copied from the
 * file when mapped; VMA_FILE_EOF: the part of a file mapping past the
 * file's last page, where any access is SIGBUS as on Linux. VMA_SHARED:
 * shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS), every page present
 * from the mmap on, so that fork can share each one with the child (both
 * map the same page, never copied on write); PROT_NONE over it keeps its
 * kind. VMA_VVAR: the vDSO's data page, a kernel page shared read-only by
 * every process (vm_map_page): never writable (mprotect: -EACCES, as
 * Linux's [vvar]), never discarded (madvise: -EINVAL). VMA_FSHARED: a
 * shared mapping of a file (MAP_SHARED; vm_map_file): its pages
 * are the file's own (file_ops.map_page), so the file's writes show
 * through it and, where the file system allows writable mappings, its
 * writes are the file's; fork shares them as VMA_SHARED's. VMA_FPRIVATE: a
 * private mapping of a file whose file system gives its pages
 * (MAP_PRIVATE; vm_map_file): the file's own pages, mapped read-only, so
 * every process mapping a library shares them; a store copies the page
 * first (copy on write, as after fork). */
enum vma_kind { VMA_ELF, VMA_HEAP, VMA_MMAP, VMA_STACK, VMA_GUARD, VMA_RESERVED,
		VMA_FILE, VMA_FILE_EOF, VMA_SHARED, VMA_VVAR, VMA_FSHARED, VMA_FPRIVATE };

struct vma {
	struct list_node link;   /* [owner] in start order */
	u64 start, end;          /* page-aligned, end exclusive */
	unsigned prot;           /* UMAP_W, UMAP_X (readable always) */
	enum vma_kind kind;
	/* VMA_FSHARED and VMA_FPRIVATE only (else NULL, 0, false): */
	struct file *file;       /* a reference */
	u64 off;                 /* the file's byte at start (page-aligned) */
	bool maywrite;           /* mprotect may give UMAP_W (the file is open
				  * for writing and its file system maps pages
				  * writable), as Linux's VM_MAYWRITE */
	bool noaccess;           /* PROT_NONE: no access, no fault-in */
};

struct vm {
	u64 root;                /* the top-level page table */
	struct list_node vmas;   /* [V] (changes also under [M]) */
	u64 pages;               /* [V] user pages mapped */
	u64 brk_start, brk;      /* [M] the heap: brk may be unaligned */
	spinlock_t lock;         /* [V] */
	struct mutex mutex;      /* [M] */
	int threads;             /* [P] threads using it: > 1 needs shootdowns */
	u64 mmap_top;            /* mmap places below this (the guard gap) */
	u64 stack_lo;
	int refs;                /* [atomic] processes holding it (clone with
				  * CLONE_VM and without CLONE_THREAD shares it) */
	/* set once by exec, read by /proc/PID/{cmdline,environ,exe} */
	u64 arg_start, arg_end;  /* argv's strings on the initial stack, in order */
	u64 env_start, env_end;  /* envp's */
	char *exe;               /* kmalloc'd absolute path of the program (the
				  * script's interpreter for a script), or NULL */
};

struct vm *vm_create(void);
/* The syscall side's lock ([M]) around a sequence of the calls below
 * (mmap's check and map); vm_fault and vm_poke take only [V]. */
void vm_lock(struct vm *vm);
void vm_unlock(struct vm *vm);
/* Drop a reference: the last one frees the space. */
void vm_destroy(struct vm *vm);
/* One more process uses vm (CLONE_VM without CLONE_THREAD). */
void vm_get(struct vm *vm);
/* Map [start, start+len) (page-aligned, free) with zeroed pages (present
 * at once for VMA_ELF and VMA_FILE, whose caller fills them, and for
 * VMA_SHARED; on first
 * touch for the others).
 * 0, -ENOMEM, -EINVAL (W+X, outside the user half). */
int vm_map_anon(struct vm *vm, u64 start, u64 len, unsigned prot, enum vma_kind kind);
/* Map pg (a page its owner keeps a reference to) read-only at va (free,
 * page-aligned) as VMA_VVAR; the mapping takes a reference of its own.
 * 0, -ENOMEM, -EINVAL. */
int vm_map_page(struct vm *vm, u64 va, struct page *pg);
/* A VMA_FSHARED (shared) or VMA_FPRIVATE mapping of f from byte off
 * (page-aligned) at [start, start+len) (free, page-aligned), prot as
 * vm_map_anon's (maywrite: shared only). The file's pages up to its end
 * are mapped now (so a system call can use the mapping before the program
 * touches it; a private mapping's read-only, a store copies); a page that
 * comes later (the file grew) is mapped at the program's first touch of
 * it, and a touch past the end is SIGBUS. 0, -EINVAL, -ENOMEM, or
 * map_page's error (nothing mapped). */
int vm_map_file(struct vm *vm, u64 start, u64 len, unsigned prot, struct file *f, u64 off,
		bool shared, bool maywrite);
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
/* The kernel's address of the page mapped at va (a VMA_FILE page being
 * filled, under [M]), or NULL. */
void *vm_page_kaddr(struct vm *vm, u64 va);
/* The kind of the VMA holding addr (enum vma_kind), or -1: none ([V]
 * taken, for the fault path's reports). */
int vm_kind_at(struct vm *vm, u64 addr);
/* Make the page at addr present for the access: a zeroed page on first
 * touch, a private copy on a write to a shared one. 0, VM_FAULT_FLUSH (a
 * page was replaced while other threads may cache the old one: shoot
 * their TLBs down before user mode goes on), -EFAULT (a bad access),
 * -ENOMEM. */
#define VM_FAULT_FLUSH 1
int vm_fault(struct vm *vm, u64 addr, bool write, bool exec);
/* A fault of the program itself (user mode: no lock held, interrupts
 * enabled here while it waits) that vm_fault could not resolve
 * because the page must come from a file (VMA_FSHARED or VMA_FPRIVATE,
 * the file grew since the mmap): the file's page, read from the disk if need be. 0
 * (present now, or another thread changed the mapping: the access is
 * retried), -EFAULT, -ENOMEM, -ENXIO (past the file's end: SIGBUS), -EIO. */
#define VM_FAULT_FILE 2
int vm_fault_file(struct vm *vm, u64 addr, bool write);
/* Is a failed access at addr a SIGBUS (Linux's: past the end of a mapped
 * file, or its page could not be read) rather than a SIGSEGV? */
bool vm_fault_sigbus(struct vm *vm, u64 addr, bool write, bool exec);
/* madvise: [start, start+len) must be mapped (else -ENOMEM); free:
 * its pages go (the next touch finds zeros; over VMA_FSHARED and
 * VMA_FPRIVATE the file's pages are mapped again, a private mapping's
 * copies gone, as Linux's MADV_DONTNEED); -EINVAL over a VMA_FILE mapping
 * (copies made at the mmap), shared anonymous memory and the vDSO's data,
 * and with anon_only (MADV_FREE) over any file mapping. */
int vm_discard(struct vm *vm, u64 start, u64 len, bool free, bool anon_only);
/* Is every byte of [start, start+len) in a VMA (the guard gap is not)? */
bool vm_range_mapped(struct vm *vm, u64 start, u64 len);
/* The files of the VMA_FSHARED mappings over [start, start+len), each
 * once and with a reference (file_put them), into out[0..max); how many */
int vm_shared_files(struct vm *vm, u64 start, u64 len, struct file **out, int max);
/* mprotect: [start, start+len) (page-aligned) takes prot (none: no access
 * at all; the pages keep their data). 0, -ENOMEM (a part is not mapped),
 * -EACCES (write or execute asked of the vDSO's data). */
int vm_protect(struct vm *vm, u64 start, u64 len, unsigned prot, bool none);
/* fork: a copy of src sharing every page copy-on-write; NULL: no memory. */
struct vm *vm_clone(struct vm *src);
/* brk(2): the new break, or the old one when the request fails. */
u64 vm_brk(struct vm *vm, u64 want);

/* ---- programs ---- */
struct exec_image {
	u64 entry;                /* where user mode starts: the interpreter's or the program's */
	u64 prog_entry;           /* the program's own entry (AT_ENTRY) */
	u64 base;                 /* the interpreter's bias (AT_BASE), 0: none */
	u64 vdso;                 /* the vDSO's ELF header (AT_SYSINFO_EHDR) */
	u64 phdr, phnum, phent;
	u64 sp;                   /* initial stack pointer (argc there) */
};
/* The interpreter a program names (PT_INTERP): 1 and *path (inside file),
 * 0 (none: a static program), -ENOEXEC (not an ELF we run, or a bad
 * PT_INTERP). */
int elf_interp(const u8 *file, size_t size, const char **path);
/* Load an ELF64 x86-64 program (ET_EXEC or ET_DYN) from memory into vm,
 * with its interpreter's file when it names one (else NULL), and build
 * the Linux initial stack. -ENOEXEC (not a program we run), -ELIBBAD (not
 * an interpreter we run), -ENOMEM, -E2BIG (arguments too long). */
int elf_load(struct vm *vm, const u8 *file, size_t size, const u8 *interp, size_t isize,
	     const char *const *argv, const char *const *envp, struct exec_image *img);

/* ---- descriptor tables (fd.c) ----
 * A table holds one reference to each file it names. The threads of a
 * process share it, and so do processes made by clone with CLONE_FILES:
 * users counts those processes; the last fdtable_put frees it. [F] its
 * lock guards the entries. */
#define FD_MAX 4096       /* Linux's default hard RLIMIT_NOFILE: the table's size */
#define FD_SOFT_MAX 1024  /* Linux's default soft limit: a new table's `limit` */
struct fdtable {
	spinlock_t lock;
	int users;                /* [atomic] processes holding it */
	u32 limit;                /* [F] RLIMIT_NOFILE's soft value: no descriptor at or above */
	u32 used;                 /* [F] entries at and above are empty and not initialised:
				   * fork copies, exit and exec scan only [0, used) */
	struct file **files;      /* [F] FD_MAX entries (8 pages, page_alloc'd) */
	bool cloexec[FD_MAX];     /* [F] */
};
/* An empty table, one user; NULL: no memory. */
struct fdtable *fdtable_new(void);
/* fork: every file shared, one more reference each; NULL: no memory */
struct fdtable *fdtable_copy(const struct fdtable *t);
/* The same into an empty table made earlier (execve's unsharing: the
 * memory reserved at entry, the copy made past the point of no return). */
void fdtable_copy_into(struct fdtable *n, const struct fdtable *t);
/* One more process uses t (CLONE_FILES). */
void fdtable_get(struct fdtable *t);
/* A process lets go of t: the last user closes every file and frees it. */
void fdtable_put(struct fdtable *t);
/* Is t used by more than one process? */
bool fdtable_shared(const struct fdtable *t);
/* setrlimit(RLIMIT_NOFILE): new descriptors stay below n (at most FD_MAX);
 * the ones already open above it stay open, as on Linux */
void fdtable_set_limit(struct fdtable *t, u64 n);
u32 fdtable_limit(struct fdtable *t);
void fdtable_close_on_exec(struct fdtable *t);
/* The lowest free number >= min takes f (the table's reference now), or
 * -EMFILE (f untouched). */
int fd_install(struct fdtable *t, int min, struct file *f, bool cloexec);
/* The file behind fd with a reference for the caller, or NULL. */
struct file *fd_get(struct fdtable *t, u64 fd);
int fd_close(struct fdtable *t, u64 fd);
/* Is fd open? fn (unless NULL) looks at its file under [F]: it must not
 * sleep nor keep the pointer (/proc's fd links). */
bool fd_peek(struct fdtable *t, u64 fd, void (*fn)(struct file *f, void *arg), void *arg);
/* /proc (procfs.c), mounted at boot. */
void procfs_init(void);
/* /proc mounted (after the disks: root= may have changed "/") */
void procfs_mount(void);
/* dup2/dup3's core: newfd takes f (the table's reference now); the file
 * it named before is closed. */
void fd_replace(struct fdtable *t, u64 newfd, struct file *f, bool cloexec);
/* F_GETFD / F_SETFD: -EBADF for a closed descriptor */
int fd_get_cloexec(struct fdtable *t, u64 fd);
int fd_set_cloexec(struct fdtable *t, u64 fd, bool on);
int fd_count(const struct fdtable *t);

/* ---- processes ---- */
enum proc_state { PROC_RUNNING, PROC_ZOMBIE };

struct k_sigaction {
	u64 handler, flags, restorer, mask;
};
#define PROC_NSIG 64

struct proc;
/* What else clone may share between processes (share.c), besides the
 * space (CLONE_VM) and the descriptor table (CLONE_FILES): the working
 * directory and umask (CLONE_FS, Linux's fs_struct) and the signal actions
 * (CLONE_SIGHAND, Linux's sighand_struct). The threads of a process always
 * share them (they hang off the process). users counts the processes; the
 * last put frees. A process's own threads read its pointers without a
 * lock (only a single-threaded process replaces one: execve, unshare);
 * anyone else reads them under [P], which its exit takes to clear them.
 * [S] fs->lock guards cwd (a leaf lock, taken under [P] by /proc). */
struct proc_fs {
	int users;                /* [atomic] */
	spinlock_t lock;
	struct inode *cwd;        /* [S] a reference */
	u32 umask;                /* [atomic] */
};
struct proc_sighand {
	int users;                /* [atomic] */
	struct k_sigaction act[PROC_NSIG]; /* [P] changes; read racily */
};
/* A new fs info with cwd (the caller's reference now) and umask; NULL: no
 * memory (cwd still the caller's). */
struct proc_fs *proc_fs_new(struct inode *cwd, u32 umask);
/* A private copy of fs (CLONE_FS not given, unshare); NULL: no memory. */
struct proc_fs *proc_fs_copy(struct proc_fs *fs);
void proc_fs_get(struct proc_fs *fs);
void proc_fs_put(struct proc_fs *fs);
/* The working directory of fs with a reference for the caller. */
struct inode *proc_fs_cwd(struct proc_fs *fs);
/* chdir: fs takes ino (the caller's reference), the old one is dropped. */
void proc_fs_set_cwd(struct proc_fs *fs, struct inode *ino);
/* The calling process's working directory, a reference (vfs_iput it). */
struct inode *proc_cwd(void);
/* p's umask (p itself calling). */
u32 proc_umask(struct proc *p);
/* A table of default actions, or a copy of sh ([P] taken for the copy);
 * NULL: no memory. */
struct proc_sighand *sighand_new(void);
struct proc_sighand *sighand_copy(struct proc_sighand *sh);
void sighand_get(struct proc_sighand *sh);
/* [P] may be held: the last user frees (no sleep). */
void sighand_put(struct proc_sighand *sh);
/* execve's and CLONE_CLEAR_SIGHAND's reset (Linux's
 * flush_signal_handlers): every handled signal back to its default, every
 * action's flags, restorer and mask cleared; ignored ones stay ignored. */
void sighand_flush(struct proc_sighand *sh);

/* A thread of a user process: its registers' home (arch_user), its id,
 * its signal mask and thread-directed signals. Only the thread itself
 * touches its [own] fields. */
struct uthread {
	struct arch_user user;    /* first: thread->user points here */
	struct proc *proc;
	int tid;
	struct thread *thread;    /* set by the thread itself when it starts */
	struct list_node link;    /* [P] in proc->threads */
	struct user_regs start_regs; /* a forked or cloned thread's first entry */
	u64 clear_child_tid;      /* [own] set_tid_address, CLONE_CHILD_CLEARTID */
	u64 robust_list, robust_len; /* [own] set_robust_list */
	u64 sigmask;              /* [own] */
	u64 pending;              /* [atomic] thread-directed signals (tgkill, faults) */
	long last_nr, last_result; /* [own] the call a signal interrupted */
	u64 saved_mask;           /* [own] rt_sigsuspend's mask to restore */
	u64 fault_addr;           /* [own] a fault signal's si_addr, si_code */
	int fault_code;
	u64 ss_sp, ss_size;       /* [own] sigaltstack (ss_size 0: none) */
	union {                   /* work: either set (one load on the way out) */
		struct {
			bool mask_saved;      /* [own] */
			bool flush_pending;   /* [own] a copy-on-write fault replaced a
					       * page: shoot the TLBs down before user mode */
		};
		u16 return_work;
	};
	/* its CPU time for the CPU interval timers (itimer.c) [own]: at its
	 * last sample, at the start of its system call (in_syscall), and
	 * the setting of the timers (proc->it_cpu_gen) that sample was under */
	u64 cpu_mark, cpu_sys_from;
	bool in_syscall;
	u32 cpu_gen;
};

/* A process's credentials (Linux's real, effective and saved ids and its
 * supplementary groups). Caboose checks them where Linux's credential
 * calls do (set*id, setgroups, chown), the VFS checks file permissions
 * with them (fs/perm.c), and they are reported (get*id, /proc). */
#define PROC_NGROUPS 32
struct proc_cred {
	u32 uid, euid, suid, fsuid;     /* fsuid: the file system's (follows euid) */
	u32 gid, egid, sgid, fsgid;
	int ngroups;
	u32 groups[PROC_NGROUPS];
};

struct proc {
	int pid;                  /* the thread group's id (its first thread's tid) */
	char name[32];
	enum proc_state state;    /* [P] */
	int status;               /* wait status, Linux encoding, once exited */
	struct vm *vm;            /* shared by its threads; NULL once exited */
	u64 entry_pc, entry_sp;   /* where a spawned process enters user mode */
	struct proc_sighand *sighand; /* its signal actions (proc_fs's comment);
				   * freed with the process (proc_free) */
	u64 syscalls;             /* [atomic] */
	struct fdtable *fds;      /* [F] its entries; the pointer [P] to change
				   * (NULL at exit, execve's and unshare's copy) */
	struct proc_fs *fs;       /* cwd, umask; the pointer as fds */
	struct list_node link;    /* [P] */
	struct proc *parent;      /* [P] NULL: the kernel waits (proc_wait), or nobody */
	struct list_node children; /* [P] */
	struct list_node sibling;  /* [P] in the parent's children */
	bool kernel_waits;        /* spawned by the kernel: proc_wait frees it */
	int pgid;                 /* [P] */
	int sid;                  /* [P] its session (0: the kernel's, as init's) */
	/* What a thread of it must look at on its way back to user mode, in
	 * one word that signal_on_user_return reads on every system call:
	 * stopped (job control, [P]: by a stop signal until SIGCONT);
	 * exiting ([P] exit_group or a fatal signal: every thread goes);
	 * it_cpu_on (the CPU interval timers below: either armed). */
	union {
		struct {
			bool stopped;
			bool exiting;
			bool it_cpu_on;
		};
		u32 return_work;
	};
	/* job control ([P]): a stop or a continue not yet reported to a
	 * WUNTRACED/WCONTINUED wait */
	int stop_sig;
	u8 report;                /* PROC_REPORT_* */
	u32 conts;                /* SIGCONTs sent: a stop taken before one is void */
	bool ctty;                /* [P] the console tty is its controlling
				   * terminal while its session holds it
				   * (kernel/proc/tty.c) */
	u64 pending;              /* [atomic] process-directed signals sent, not yet taken */
	struct list_node threads; /* [P] its live uthreads */
	int nthreads;             /* [P] */
	int kthreads;             /* [P] kernel threads not yet reaped (their
				   * stacks not yet freed): it becomes a zombie
				   * (waitable) only at 0, so a wait that returns
				   * has every resource of it back */
	int exit_status;          /* [P] the status when exiting */
	struct uthread *execing;  /* [P] a thread in execve ending the others */
	struct waitq thread_wq;   /* the exec'ing thread waits here for the others */
	struct rlimit_pair { u64 cur, max; } rlim[16]; /* [own: one setter at a time] */
	bool rlim_set[16];        /* set by the program (else the defaults) */
	struct vfork_done *vfork; /* [P] its parent sleeps in vfork until it execs or ends */
	struct proc_cred cred;    /* [P] to change; copied by fork, kept by execve;
				   * read without a lock under cred_seq */
	u32 cred_seq;             /* odd while cred changes (proc_cred_get retries) */
	bool execed;              /* [P] it called execve since its fork (Linux's
				   * PF_FORKNOEXEC clear): its parent's setpgid
				   * of it is -EACCES */
	bool dumpable;            /* prctl PR_SET_DUMPABLE ([atomic]; reported only) */
	/* ITIMER_REAL (setitimer, alarm; signal.c): SIGALRM at it_real_ns
	 * (arch_clock_ns; 0: disarmed), then every it_real_incr_ns. [P];
	 * not copied by fork, kept by execve */
	struct timer it_real;
	u64 it_real_ns, it_real_incr_ns;
	/* ITIMER_VIRTUAL [0] and ITIMER_PROF [1] (itimer.c): the CPU time
	 * left before SIGVTALRM / SIGPROF (0: disarmed) and the intervals;
	 * it_cpu_gen counts their settings; it_cpu_on (above): either armed
	 * (read racily by every return to user mode). [P]; not copied by
	 * fork, kept by execve */
	u64 it_cpu_left[2], it_cpu_incr[2];
	u32 it_cpu_gen;
};

/* Credentials (cred.c). proc_cred_get copies p's whole. The set calls
 * change the calling process's ids by Linux's rules: 0, -EPERM (not
 * privileged and not among its ids), -EINVAL ((u32)-1 where an id is
 * needed; more than PROC_NGROUPS groups). */
void proc_cred_get(struct proc *p, struct proc_cred *out);
int proc_setuid(u32 uid);
int proc_setgid(u32 gid);
int proc_setreuid(u32 r, u32 e);
int proc_setregid(u32 r, u32 e);
int proc_setresuid(u32 r, u32 e, u32 s);
int proc_setresgid(u32 r, u32 e, u32 s);
int proc_setgroups(int n, const u32 *groups);
/* setfsuid/setfsgid: the old file-system id, always; the new one is taken
 * if privileged or one of the real, effective, saved and file-system ids
 * ((u32)-1: only the old one returned). */
u32 proc_setfsuid(u32 uid);
u32 proc_setfsgid(u32 gid);
/* c as the VFS checks permissions (fs/vfs.h): its effective ids, or its
 * real ones (access(2)); privileged when that uid is 0. */
void proc_vfs_cred(const struct proc_cred *c, bool real, struct vfs_cred *out);
/* The VFS's hook (vfs_cred_hook), set by proc_init. */
bool proc_vfs_cred_hook(struct vfs_cred *out);

/* The user thread running, or NULL in a kernel thread (inline: on every
 * system call's way). */
static inline struct uthread *uthread_current(void)
{
	struct thread *t = thread_current();
	if (!t || !t->user)
		return NULL;
	return (struct uthread *)t->user;   /* user is the first member */
}
/* The process whose thread is running, or NULL in a kernel thread. */
static inline struct proc *proc_current(void)
{
	struct uthread *ut = uthread_current();
	return ut ? ut->proc : NULL;
}
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
 * regs; returns the child's pid, or -ENOMEM (nothing made). clone_flags:
 * CLONE_VM shares the address space (no copy), CLONE_FILES the descriptor
 * table, CLONE_FS the working directory and umask, CLONE_SIGHAND the
 * signal actions (the caller checked it comes with CLONE_VM),
 * CLONE_CLEAR_SIGHAND (clone3) resets the copied handlers; CLONE_VFORK
 * makes the caller sleep until the child execs or ends; the tid flags as
 * clone's. */
int proc_fork(const struct user_regs *regs, u64 clone_flags, u64 parent_tid, u64 child_tid,
	      u64 tls);
/* clone with CLONE_THREAD: a new thread of the calling process entering
 * user mode with regs (stack and TLS already set there); returns its tid
 * or -ENOMEM, -EAGAIN (the process is exiting). */
int proc_clone_thread(const struct user_regs *regs, u64 clone_flags, u64 parent_tid,
		      u64 child_tid, u64 tls);
#define CLONE_VM             0x00000100
#define CLONE_FS             0x00000200
#define CLONE_FILES          0x00000400
#define CLONE_SIGHAND        0x00000800
#define CLONE_PIDFD          0x00001000
#define CLONE_PTRACE         0x00002000
#define CLONE_VFORK          0x00004000
#define CLONE_PARENT         0x00008000
#define CLONE_THREAD         0x00010000
#define CLONE_NEWNS          0x00020000
#define CLONE_SYSVSEM        0x00040000
#define CLONE_SETTLS         0x00080000
#define CLONE_PARENT_SETTID  0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_DETACHED       0x00400000
#define CLONE_UNTRACED       0x00800000
#define CLONE_CHILD_SETTID   0x01000000
#define CLONE_CLEAR_SIGHAND  0x100000000ULL
/* unshare(2) for the calling process: CLONE_FILES and CLONE_FS give it a
 * private copy when another process shares its table or fs info;
 * CLONE_SIGHAND, CLONE_VM and CLONE_THREAD succeed when there is nothing
 * to unshare (as Linux, which does not implement them), else -EINVAL.
 * A process of several threads cannot unshare its files or fs for one
 * thread (Caboose keeps them per process, Linux per thread): -EINVAL,
 * logged once. -ENOMEM. The caller checked the flags Linux accepts. */
int proc_unshare(u64 flags);
/* wait4's core: a zombie child matching pid (-1: any, > 0: that one, 0 or
 * < -1: a process group) is freed and its pid and status returned; with
 * PROC_WUNTRACED (PROC_WCONTINUED) a child's stop (continue) not yet
 * reported is, in Linux's encoding (sig << 8 | 0x7f, 0xffff); 0 with
 * PROC_WNOHANG when nothing is there; -ECHILD when none matches; -EINTR
 * when a signal came first. opts: Linux's bit values. */
#define PROC_WNOHANG    1
#define PROC_WUNTRACED  2
#define PROC_WCONTINUED 8
#define PROC_WAIT_NOEXIT 0x10   /* waitid without WEXITED: ended children stay */
#define PROC_REPORT_STOPPED   1
#define PROC_REPORT_CONTINUED 2
int proc_wait_child(int pid, int opts, int *status);
/* Find a process by pid and send it sig (0: only check it exists).
 * 0, -ESRCH, -EINVAL, -EPERM (found, but the caller's credentials may
 * signal none of them; kernel threads may signal any). pid <= 0: every
 * process of a group (0: the caller's; -1: every process but the
 * caller). */
int proc_kill(int pid, int sig);
/* Is group pgid of session sid orphaned (no member's parent in another
 * group of the session)? (signal.c) */
bool proc_pgrp_orphaned(int pgid, int sid);
/* The session of process pid, or -ESRCH (kernel/proc/tty.c). */
int proc_getsid(int pid);
/* The process group of process pid, or -ESRCH (kernel/proc/tty.c). */
int proc_getpgid(int pid);
/* setpgid for the caller (pid 0 or its own) or a child of it; pgid 0: the
 * target's pid. 0, -ESRCH (no such child), -EPERM (a session leader, a
 * child of another session, a group of another session), -EACCES (a
 * child that has called execve). */
int proc_setpgid(int pid, int pgid);
/* Is a signal waiting that would interrupt a sleep? */
bool proc_signal_pending(void);
/* rt_sigreturn: the registers and mask from the handler's frame; returns
 * the rax to go back with (a bad frame ends the process). */
long sys_rt_sigreturn_impl(void);
/* rt_sigaction's core: sig's action into *old, then act (unless NULL). */
void proc_sigaction(struct proc *p, int sig, const struct k_sigaction *act,
		    struct k_sigaction *old);
/* rt_sigpending: the blocked signals pending for the calling thread (its
 * own and its process's). */
long proc_sigpending(void);
/* sigaltstack(2) for the calling thread. */
long proc_sigaltstack(u64 uss, u64 uold);
/* rt_sigtimedwait: take a pending signal of set, its 128-byte siginfo
 * into *info; timeout_ns < 0 waits for ever. The signal, -EAGAIN, -EINTR. */
long proc_sigtimedwait(u64 set, void *info, s64 timeout_ns);
/* pause and rt_sigsuspend (with mask, unless NULL): sleep until a signal
 * is to be taken; -EINTR. */
long proc_sigsuspend(const u64 *mask);
/* ITIMER_REAL of the calling process: the time left (0: disarmed; an
 * armed timer shows at least 1 us, as Linux's) and the interval into
 * *left_ns and *incr_out, then, if set, SIGALRM in value_ns (0: disarm)
 * and every incr_ns after. */
void proc_itimer_real(bool set, u64 value_ns, u64 incr_ns, u64 *left_ns, u64 *incr_out);
/* ITIMER_VIRTUAL (user CPU time, SIGVTALRM) or ITIMER_PROF (user and
 * system, SIGPROF) of the calling process, as proc_itimer_real: the CPU
 * time left and the interval out, then, if set, the new ones. */
#define PROC_ITIMER_VIRTUAL 1
#define PROC_ITIMER_PROF    2
void proc_itimer_cpu(int which, bool set, u64 value_ns, u64 incr_ns, u64 *left_ns,
		     u64 *incr_out);
/* The system-call dispatcher, at a call's start while the calling
 * process has a CPU timer armed (proc->it_cpu_on): what follows is
 * system time. */
void itimer_cpu_enter(struct uthread *ut);
/* ---- the clocks as processes see them (clock.c) ---- */
/* Boot, after the arch's clocks: the vDSO's data page. */
void proc_clock_init(void);
/* That page, which every address space maps read-only (elf.c). */
struct page *proc_vvar_page(void);
/* settimeofday and clock_settime(CLOCK_REALTIME), their arguments checked
 * for range by the caller: the wall clock to *ns (nanoseconds since the
 * epoch) and the time zone to tz (minutes west, DST flag), either NULL
 * for no change (the first time zone since boot given without a time
 * moves the clock by its minutes, as Linux's warp of a local-time RTC).
 * 0, -EPERM (not root), -EINVAL (a time zone beyond 15 hours; a time
 * before the monotonic clock's reading, as Linux refuses). */
int proc_settimeofday(const u64 *ns, const s32 *tz);
/* The time zone gettimeofday reports (minutes west, DST flag). */
void proc_gettz(s32 tz[2]);
/* A wait with a signal mask of its own (ppoll, pselect6, epoll_pwait):
 * proc_wait_mask sets mask on the calling thread and returns the mask it
 * had; proc_wait_unmask, after the wait, puts that back at once, or, if
 * the wait was interrupted (-EINTR), after the handler ran under the
 * wait's mask (Linux's restore_saved_sigmask_unless). */
u64 proc_wait_mask(u64 mask);
void proc_wait_unmask(u64 old, bool interrupted);
/* End the current process with a wait status (exit: code << 8; a
 * signal: its number): every thread of it ends (exit_group). */
__noreturn void proc_exit(int status);
/* End the calling thread only (exit); the last one ends the process with
 * status. */
__noreturn void proc_thread_exit(int status);
/* O_ASYNC's signal (SIGIO, or F_SETSIG's) to a file's owner: process
 * owner (> 0) or every process of group -owner (< 0); no permission
 * check (Linux checks the F_SETOWN caller's, not done here). [P] taken:
 * callable with interrupts off and under a wait queue's lock. */
void proc_sigio(int owner, int sig);
/* Send sig to thread tid (of process tgid, unless tgid <= 0): tkill and
 * tgkill. 0, -ESRCH, -EINVAL, -EPERM (as proc_kill). */
int proc_tkill(int tgid, int tid, int sig);
/* ---- futexes (futex.c) ---- */
/* futex(2): op with its arguments as the call got them. */
long futex_call(u64 uaddr, u64 op, u64 val, u64 utime, u64 uaddr2, u64 val3);
/* Wake up to n waiters on the private futex at uaddr of vm (thread exit's
 * clear_child_tid, robust futexes). */
int futex_wake_vm(struct vm *vm, u64 uaddr, int n);
/* Boot: the futex hash's buckets. */
void futex_init(void);
/* Counts for tests: waiters queued now. */
int futex_waiters(void);
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
#define SIGALRM 14
#define SIGCHLD 17
#define SIGCONT 18
#define SIGURG  23
#define SIGWINCH 28
#define SIGIO   29
#define SIGKILL 9
#define SIGSEGV 11
#define SIGSTOP 19
const char *signal_name(int sig);
/* A write found no reader (EPIPE): SIGPIPE, delivered on the way back
 * to user mode (its default action ends the process). */
void proc_raise_sigpipe(void);

#endif
