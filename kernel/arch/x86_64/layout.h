/*
 * Virtual and physical memory layout of Caboose on x86-64. Included by
 * assembly and C.
 *
 *   0xffff800000000000  direct map of all physical memory (NX, 2 MiB pages)
 *   0xffffc00000000000  kernel stacks, each under an unmapped guard page
 *   0xffffd00000000000  device memory (MMIO), uncached
 *   0xffffffff80000000  kernel image (text on a 2 MiB page, rest 4 KiB)
 *
 * The lower half, [0, USER_TOP), is the running process's (arch.h); its
 * layout is kernel/proc's business (kernel/proc/vm.h).
 */
#ifndef ARCH_LAYOUT_H
#define ARCH_LAYOUT_H

#define KERNEL_VMA        0xffffffff80000000
#define KERNEL_PHYS       0x200000          /* text starts here, 2 MiB aligned */
#define DIRECT_MAP_BASE   0xffff800000000000
#define KSTACK_AREA       0xffffc00000000000
#define MMIO_AREA         0xffffd00000000000
#define MMIO_AREA_SIZE    0x0000000040000000 /* 1 GiB of device windows */
#define AP_TRAMPOLINE     0x8000            /* real-mode start page for APs */

#define PAGE_SHIFT 12
#define PAGE_SIZE  4096
#define BOOT_STACK_SIZE 16384

/* GDT selectors */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS   0x28

/* struct cpu fields the system-call entry reads through %gs (checked in
 * cpu.c) */
#define CPU_USER_RSP   72
#define CPU_KSTACK_TOP 80

/* USER_TOP (arch.h), for assembly */
#define USER_TOP_ASM 0x00007ffffffff000

/* a trap frame's vector for a system call (no vector of the IDT) */
#define VEC_SYSCALL 0x100

/* struct trapframe (trap.h) as syscall_entry reads it (checked in user.c):
 * the rax slot, the error slot, and the error value that asks for the
 * return by iretq with every register */
#define TF_RAX   112
#define TF_ERROR 128
#define TF_FULL_RETURN 1


/* Kernel stack slot geometry: KSTACK_SIZE, KSTACK_GUARD, KSTACK_SLOT and
 * KSTACK_SLOTS are in kernel/arch/arch.h (the stack allocator uses them). */

#ifdef __ASSEMBLER__
/* The general registers of a struct trapframe (trap.h), saved and restored
 * in its order: the six system-call argument registers end up first, in
 * the ABI's order (rdi at the lowest address). trap_entry.S and
 * user_entry.S both use these. */
.macro PUSH_FRAME_REGS
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rbp
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %r9
	pushq %r8
	pushq %r10
	pushq %rdx
	pushq %rsi
	pushq %rdi
.endm

.macro POP_FRAME_REGS
	popq %rdi
	popq %rsi
	popq %rdx
	popq %r10
	popq %r8
	popq %r9
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %rbp
	popq %rcx
	popq %rbx
	popq %rax
.endm
#endif

#endif
