/*
 * The small interface between the portable kernel and the architecture.
 * Everything above kernel/arch uses only this header. On the host (unit
 * tests, CABOOSE_HOST) the same names are provided by tests/host/host_arch.c.
 *
 * Interrupt state: irq_save() disables interrupts on this CPU and returns a
 * token for irq_restore(). Preemption: preempt_disable()/enable() nest, and a
 * thread is only switched away by the timer when its CPU's count is 0.
 */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

#include "kernel/lib/types.h"
#include "kernel/lib/cmdline.h"

#define MAX_CPUS 64
#define PAGE_SIZE 4096
#define PAGE_SHIFT 12

struct thread;
struct context;

/*
 * Per-CPU data, reached through this_cpu(). Fields here are only touched by
 * their own CPU with interrupts disabled, except where noted.
 */
struct cpu {
	struct cpu *self;            /* must stay first: %gs:0 */
	unsigned id;                 /* dense index 0..ncpus-1 */
	u32 apic_id;
	struct thread *current;      /* running thread, NULL in the scheduler loop */
	int preempt_count;           /* >0: no preemption (spinlocks, RCU readers) */
	int irq_depth;               /* >0: inside an interrupt handler */
	volatile bool need_resched;  /* set by timer, IPIs; cleared by the scheduler */
	volatile bool online;        /* [atomic] set once by the CPU itself */
	volatile bool idle;          /* [atomic] halted in the scheduler loop */
	struct context *sched_ctx;   /* saved context of this CPU's scheduler loop */
	u64 irq_count;               /* interrupts taken */
	u64 ctx_switches;
	void *arch;                  /* struct arch_cpu, private to kernel/arch */
	/* system-call entry (kernel/arch/x86_64/syscall_entry.S reads these
	 * at fixed offsets): the user stack pointer while the kernel stack is
	 * found, and the kernel stack top of the user thread running here */
	u64 user_rsp;
	u64 kstack_top;
} __aligned(CACHELINE);

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus;           /* CPUs online */

#ifdef CABOOSE_HOST
struct cpu *this_cpu(void);
unsigned long irq_save(void);
void irq_restore(unsigned long flags);
bool irqs_enabled(void);
void irq_enable(void);
void irq_disable(void);
void cpu_pause(void);
u64 arch_cycles(void);
#else
static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}
static inline unsigned long irq_save(void)
{
	unsigned long f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}
static inline void irq_restore(unsigned long f)
{
	if (f & (1UL << 9))
		__asm__ volatile("sti" ::: "memory");
}
static inline bool irqs_enabled(void)
{
	unsigned long f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f & (1UL << 9);
}
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void cpu_pause(void) { __asm__ volatile("pause" ::: "memory"); }
/* The cycle counter (TSC): with QEMU's -icount shift=0 it counts guest
 * instructions, which makes cost-per-operation figures host-independent. */
static inline u64 arch_cycles(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}
#endif

static inline unsigned cpu_id(void) { return this_cpu()->id; }

static inline void preempt_disable(void)
{
	this_cpu()->preempt_count++;
	__asm__ volatile("" ::: "memory");
}
/* Implemented by the scheduler: switch away now if a reschedule is due and
 * this context may sleep (a thread, interrupts on, not in a handler). */
void preempt_resched(void);
/* The scheduler registers fn at boot: called on return from an interrupt
 * that interrupted a preemptible thread (preempt count 0, interrupts on)
 * while a reschedule is due; it switches away. */
void arch_set_preempt_handler(void (*fn)(void));
static inline void preempt_enable(void)
{
	__asm__ volatile("" ::: "memory");
	struct cpu *c = this_cpu();
	if (--c->preempt_count == 0 && unlikely(c->need_resched))
		preempt_resched();
}

/* --- mechanism the portable kernel calls --- */

/* Physical <-> direct-map virtual addresses. */
#ifdef CABOOSE_HOST
extern uptr host_direct_base;
#define DIRECT_BASE host_direct_base
#else
#define DIRECT_BASE 0xffff800000000000UL
#endif
static inline void *phys_to_virt(u64 pa) { return (void *)(uptr)(pa + DIRECT_BASE); }
#ifdef CABOOSE_HOST
static inline u64 virt_to_phys(const void *va) { return (u64)(uptr)va - DIRECT_BASE; }
#else
/* Direct-map addresses, and the kernel image's own (static data). */
static inline u64 virt_to_phys(const void *va)
{
	u64 a = (u64)(uptr)va;
	return a >= 0xffffffff80000000UL ? a - 0xffffffff80000000UL : a - DIRECT_BASE;
}
#endif

/* Kernel virtual mappings outside the direct map (stacks, device windows).
 * arch_kunmap flushes this CPU only: see tlb_shootdown. */
#define KMAP_W  (1u << 0)
#define KMAP_X  (1u << 1)
#define KMAP_NC (1u << 2)
int arch_kmap(u64 va, u64 pa, u64 size, unsigned prot);
void arch_kunmap(u64 va, u64 size);
u64 arch_kvirt_to_phys(u64 va);      /* 0 when unmapped */
bool arch_kaddr_mapped(u64 va);
/* Protection of a kernel address (KMAP_W, KMAP_X, KMAP_NC for device
 * memory), and whether it sits on a large page; false when unmapped. */
bool arch_kaddr_prot(u64 va, unsigned *prot, bool *large);
/* Kernel stack slots: [guard][stack] repeated from KSTACK_AREA. */
#define KSTACK_AREA_BASE 0xffffc00000000000UL
#define KSTACK_SIZE   16384
#define KSTACK_GUARD  16384
#define KSTACK_SLOT   (KSTACK_SIZE + KSTACK_GUARD)
#define KSTACK_SLOTS  32768

/* Device interrupts. arch_irq_alloc takes a free vector and calls
 * fn(arg) from interrupt context whenever it fires (DESIGN principle 6:
 * note the event, wake a thread). Returns the vector or -ENOSPC. Route it
 * with an MSI/MSI-X message (arch_msi_message) or an I/O APIC line. */
int arch_irq_alloc(void (*fn)(void *arg), void *arg);
void arch_irq_free(int vector);
void arch_msi_message(unsigned cpu, int vector, u64 *addr, u32 *data);
int arch_irq_route_isa(unsigned irq, int vector, unsigned cpu);
void arch_irq_self(int vector);     /* raise vector on this CPU (tests) */
u64 arch_irq_count(unsigned cpu, int vector);

/* PCI configuration space (mechanism #1 on PCs), 32-bit aligned access. */
u32 arch_pci_read32(u8 bus, u8 dev, u8 fn, u16 off);
void arch_pci_write32(u8 bus, u8 dev, u8 fn, u16 off, u32 v);
/* Map device memory (uncached); NULL if the window is full. */
void *arch_map_device(u64 phys, u64 size);

/* Halt until an interrupt arrives; called with interrupts disabled, returns
 * with interrupts disabled (the enable and halt are atomic). */
void arch_halt(void);
/* Switch stacks: save callee-saved state in *from, resume to. */
void arch_switch(struct context **from, struct context *to);
/* Prepare a new thread's stack so arch_switch to it calls entry(). */
struct context *arch_thread_init(void *stack_top, void (*entry)(void));
/* Inter-processor interrupts. */
void arch_send_resched(unsigned cpu);
void arch_send_freeze(unsigned cpu);
/* Monotonic time since boot in nanoseconds; timer programming. */
u64 arch_clock_ns(void);
/* The clock's parameters, for user mode's own reading (the vDSO):
 * arch_clock_ns() = ((rdtsc - tsc0) * mult) >> 32; mult 0: not set up. */
void arch_clock_params(u64 *tsc0, u64 *mult);
/* The wall clock: nanoseconds since 1970-01-01 UTC (the RTC read at boot,
 * carried on by arch_clock_ns), and its offset from arch_clock_ns; the
 * offset is 0 when the RTC gave no date. arch_realtime_set_offset moves
 * the wall clock (clock_settime: kernel/proc/clock.c is its one caller,
 * which also tells the vDSO). */
u64 arch_realtime_ns(void);
u64 arch_realtime_offset_ns(void);
void arch_realtime_set_offset(u64 off_ns);
void arch_timer_arm(u64 deadline_ns);  /* one-shot, this CPU */
void arch_timer_set_handler(void (*fn)(void)); /* runs in interrupt context */
void arch_udelay(u64 us);
extern u64 tsc_hz;
/* The console device (COM1 on PCs). Output is synchronous and polled. */
void arch_console_init(void);
void arch_console_write(const char *s, size_t n);
int arch_console_getc(void);      /* -1 when no byte is waiting */
void arch_console_write_raw(const char *s, size_t n);   /* no \n to \r\n */
/* Serial ports ttyS0..ttyS3 (COM1..COM4 on PCs). arch_uart_init returns
 * false when the port is absent. arch_uart_rx_irq routes the port's
 * receive interrupt to vector on cpu. */
bool arch_uart_init(unsigned n);
void arch_uart_write(unsigned n, const char *s, size_t len);
int arch_uart_getc(unsigned n);
int arch_uart_rx_irq(unsigned n, int vector, unsigned cpu);
/* Panic's helpers: the registers of a trap frame (or of the caller when tf
 * is NULL) printed, pc/fp/sp taken from one, and the other CPUs stopped. */
struct trapframe;
void arch_dump_trapframe(struct trapframe *tf);
void arch_trapframe_regs(struct trapframe *tf, u64 *pc, u64 *fp, u64 *sp);
void arch_stop_other_cpus(void);
/* Exit the emulator (isa-debug-exit) with status (code << 1) | 1, or halt. */
__noreturn void arch_exit(int code);
/* Boot-time steps the portable kmain calls, in this order. */
void arch_mm_init(u64 max_phys, u64 (*pt_alloc)(void));
void arch_irq_init(void);
int arch_cpus_possible(u32 *apic_ids, int max);
/* Start CPU idx (APIC id) on stack_top, with interrupt stacks ist[0..2]
 * (double fault, NMI, machine check); it calls entry() once online.
 * Returns 0 or -ETIMEDOUT. */
int arch_cpu_start(unsigned idx, u32 apic_id, u64 stack_top, const u64 ist[3],
		   void (*entry)(void));
/* Make every other CPU drop cached translations for [va, va+len). Call with
 * interrupts enabled and no spinlock held. */
void tlb_shootdown(u64 va, u64 len);
/* Stop this CPU for good (interrupts off). */
__noreturn void arch_die(void);
/* Print a backtrace: pc (0: none), then the frame-pointer chain from fp.
 * sp (0: unknown) is the stack pointer at pc, used when pc's function had
 * not set up its frame (leaf functions, prologues). */
void arch_backtrace(u64 fp, u64 pc, u64 sp);
/* The same walk, handing each frame to emit (for the REPL). */
typedef void (*bt_emit_t)(void *arg, int depth, u64 addr, const char *sym, u64 off);
void arch_backtrace_walk(u64 fp, u64 pc, u64 sp, bt_emit_t emit, void *arg);
/* Frame pointer and resume address saved in a switched-out context. */
void arch_context_frame(const struct context *ctx, u64 *fp, u64 *pc);

/* Sampling (for kernel/prof): hz times a second every CPU takes a
 * non-maskable interrupt (so interrupt handlers and code with interrupts
 * off are sampled too) and calls fn with what it interrupted. fn runs in
 * NMI context on any CPU at any instruction: it takes no lock, allocates
 * nothing, must not fault, and must not use this_cpu() (%gs may hold the
 * user's base there); s->cpu names the CPU. arch_profile_start returns 0,
 * -EINVAL for hz outside [ARCH_PROFILE_HZ_MIN, ARCH_PROFILE_HZ_MAX], or
 * -ENODEV when there is no timer to drive it; arch_profile_stop returns
 * once no CPU is inside fn. */
#define ARCH_PROFILE_HZ_MIN 10
#define ARCH_PROFILE_HZ_MAX 10000
enum arch_sample_kind {
	SAMPLE_KERNEL,      /* a thread or the scheduler loop, in the kernel */
	SAMPLE_IRQ,         /* inside an interrupt handler or the entry code */
	SAMPLE_IDLE,        /* halted, waiting for work */
	SAMPLE_USER,        /* in user mode */
};
struct arch_sample {
	unsigned cpu;
	enum arch_sample_kind kind;
	u64 pc, fp, sp;     /* interrupted instruction, frame and stack pointers */
};
int arch_profile_start(unsigned hz, void (*fn)(const struct arch_sample *s));
void arch_profile_stop(void);
/* The call chain of a kernel sample, innermost first: pcs[0] is s->pc,
 * each further entry a call site (return address - 1). At most max
 * entries; never faults: the walk stops at a frame that leaves the
 * interrupted stack, goes down the stack, or is unmapped, and for
 * SAMPLE_IRQ at the interrupt entry (so only the handler's frames come
 * back). Returns the number written. */
int arch_sample_stack(const struct arch_sample *s, u64 *pcs, int max);

/* ---- user mode (used by kernel/proc and kernel/syscall) ----
 *
 * User addresses are [0, USER_TOP); everything above belongs to the kernel.
 * A user address space is a top-level page table whose lower half maps the
 * process's pages (4 KiB, user-accessible, never global) and whose upper
 * half is the kernel's, shared by every space. Kernel threads and each
 * CPU's scheduler loop always run on the kernel's own tables: a user
 * space's tables are loaded only while its thread runs (switch_in), so
 * changing or freeing them needs no TLB shootdown.
 */
#define USER_TOP 0x00007ffffffff000UL  /* as Linux: the last page stays unmapped */
#define UMAP_W (1u << 0)               /* writable (never together with UMAP_X) */
#define UMAP_X (1u << 1)               /* executable */
/* no access (PROT_NONE): the entry keeps the page but is not present, so
 * every access faults; map, unmap and lookup treat it as mapped */
#define UMAP_NONE (1u << 2)

/* The state of a thread that runs in user mode, kept across switches. */
struct arch_user {
	u64 root;                      /* physical address of the top page table */
	u64 fs_base;                   /* the TLS pointer (arch_prctl ARCH_SET_FS) */
	u8 fpu[512] __aligned(16);     /* FXSAVE image: x87 and SSE registers */
};
void arch_user_init(struct arch_user *u, u64 root);
/* Around a switch to and from a thread with user state (irqs off):
 * loads its tables, kernel stack for entries from user mode, FS base and
 * FPU registers; switch_out saves the FPU and goes back to the kernel's
 * tables. */
void arch_user_switch_in(struct arch_user *u, u64 kstack_top);
void arch_user_switch_out(struct arch_user *u);
void arch_user_set_fs(struct arch_user *u, u64 base);
/* AT_HWCAP for the ELF auxiliary vector (CPUID 1 EDX on x86-64, as Linux). */
u64 arch_user_hwcap(void);
/* Leave for user mode at pc with stack sp (irqs off, state switched in). */
__noreturn void arch_user_enter(u64 pc, u64 sp);
/* The user registers saved at the current thread's entry from user mode
 * (system call, fault or interrupt), in Linux's user_regs_struct order. */
struct user_regs {
	u64 r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
	u64 rip, rflags, rsp;
};
void arch_user_get_regs(struct user_regs *r);
/* Replace them (execve, signal delivery, sigreturn): the return to user
 * mode then restores every register (iretq), not sysret's subset. Only
 * the user-modifiable flags are taken from rflags. -EINVAL (nothing
 * changed) for a pc or stack outside the user half. */
int arch_user_set_regs(const struct user_regs *r);
/* Enter user mode with every register from r (a forked child's first
 * entry; irqs off, state switched in). */
__noreturn void arch_user_resume(const struct user_regs *r);
/* A forked child's user state: the parent's FS base and live FPU
 * registers, the child's page tables. */
void arch_user_fork(struct arch_user *child, const struct arch_user *parent, u64 root);
/* The live FPU registers of the running user thread to and from a
 * 512-byte, 16-aligned FXSAVE image (signal frames). */
void arch_user_fpu_save(void *buf);
void arch_user_fpu_restore(const void *buf);
/* execve: a fresh FPU state and FS base, and the new tables loaded. */
void arch_user_exec(struct arch_user *u, u64 root);
/* fn(addr, write, exec, user) makes a user page present (demand zero,
 * copy on write, a file's page) and returns true, or false for a bad
 * access. Called for page faults in user mode (user: no lock held, so fn
 * may enable interrupts and sleep, and disables them again before it
 * returns) and for those of arch_copy_user on user addresses (user
 * false: the copy's caller may hold locks), interrupts off, before either
 * is treated as an error. */
void arch_set_user_pf_resolver(bool (*fn)(u64 addr, bool write, bool exec, bool user));
/* fn runs on every return to user mode (interrupts off): pending signals. */
void arch_set_user_return_hook(void (*fn)(void));
/* Copy n bytes where one side is user memory, through the fault fixup:
 * returns the number of bytes NOT copied (0 on success). Callers check
 * that the user range lies below USER_TOP first (kernel/proc/uaccess.h). */
size_t arch_copy_user(void *dst, const void *src, size_t n);

/* User address spaces. Page-table pages come from the allocator given to
 * arch_mm_init and go back through arch_mm_set_pt_free. */
void arch_mm_set_pt_free(void (*pt_free)(u64 pa));
u64 arch_uspace_new(void);                  /* 0: no memory */
/* Map one 4 KiB page; -ENOMEM when a page table could not be allocated
 * (nothing changed then), -EINVAL for a bad address or W+X. */
int arch_uspace_map(u64 root, u64 va, u64 pa, unsigned prot);
u64 arch_uspace_unmap(u64 root, u64 va);    /* its physical page, or 0 */
u64 arch_uspace_lookup(u64 root, u64 va, unsigned *prot); /* 0: unmapped */
/* The first page-aligned va' in [va, end) whose entry maps a page (present
 * or PROT_NONE), or end: a loop over a range visits the pages it has, and
 * steps over an absent table (2 MiB, 1 GiB, 512 GiB) in one go. */
u64 arch_uspace_next(u64 root, u64 va, u64 end);
/* Free the page tables (every page must be unmapped already). */
void arch_uspace_free(u64 root);

/* Upcalls the architecture makes into the layers above (set at boot). */
enum user_fault_kind {
	UFAULT_PAGE,        /* unmapped or protection: SIGSEGV */
	UFAULT_PROTECTION,  /* #GP: SIGSEGV */
	UFAULT_DIVIDE,      /* SIGFPE */
	UFAULT_FP,          /* x87/SIMD error: SIGFPE */
	UFAULT_INVALID_OP,  /* SIGILL */
	UFAULT_BREAKPOINT,  /* SIGTRAP */
	UFAULT_BUS,         /* alignment, stack segment: SIGBUS */
};
struct user_fault {
	enum user_fault_kind kind;
	const char *what;   /* the exception's name */
	u64 pc, sp, addr;   /* addr: the faulting address of a page fault */
	bool write, exec, present;
};
/* fn runs on the thread's kernel stack, interrupts off; it may end the
 * thread (and so not return). */
void arch_set_user_fault_handler(void (*fn)(const struct user_fault *f));
/* fn(nr, args) handles a system call; its result goes back in rax. */
void arch_set_syscall_handler(long (*fn)(u64 nr, const u64 args[6]));
/* CPU protections in force (for the boot log and the REPL). */
bool arch_smep_on(void);
bool arch_smap_on(void);

/* --- what the loader handed over, in a loader-neutral form --- */

#define BOOT_MEM_MAX 64
#define BOOT_MOD_MAX 8

enum { BOOT_MEM_USABLE = 1, BOOT_MEM_RESERVED = 2, BOOT_MEM_ACPI = 3, BOOT_MEM_NVS = 4 };

struct boot_mem_range {
	u64 base, len;
	u32 type;
};

struct boot_module {
	u64 start, end;          /* physical, end exclusive */
	char name[96];           /* the module's string (its file name or URI first) */
};

struct boot_info {
	const char *loader;
	char cmdline_raw[CMDLINE_MAX];
	bool cmdline_has_image;         /* first word is the image (QEMU, iPXE; not GRUB 2) */
	int nmem;
	struct boot_mem_range mem[BOOT_MEM_MAX];
	int nmods;
	struct boot_module mods[BOOT_MOD_MAX];
	u64 kernel_start, kernel_end;   /* physical */
};

/* Filled by the architecture's boot code (e.g. kernel/arch/x86_64/
 * multiboot.c) before it calls kmain. */
extern struct boot_info boot_info;

/* The portable kernel's start (kernel/boot/main.c), called by the
 * architecture once this CPU, the console and exception handling are up and
 * boot_info is filled. */
__noreturn void kmain(void);

#ifndef CABOOSE_HOST
/* The kernel image's sections, from the linker script (text and rodata
 * read-only, the embedded symbol table last). */
extern const char _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern const char _data_start[], _bss_end[], _ksyms_start[], _ksyms_end[];
#endif

#endif
