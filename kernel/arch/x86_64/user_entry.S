/*
 * The way into and out of user mode:
 *   syscall_entry     the syscall instruction's target (MSR_LSTAR)
 *   arch_user_enter   the first entry of a new program
 *   arch_copy_user    the one routine that touches user memory, with its
 *                     fault fixup in the exception table (.ex_table)
 *
 * syscall leaves the user's rsp in place and interrupts off (SYSCALL_FMASK,
 * cpu.c): swapgs gives this CPU's struct cpu, whose kstack_top is the
 * running thread's kernel stack (set by arch_user_switch_in). The user rsp
 * waits in cpu->user_rsp only until it is pushed, so a thread may migrate
 * during the call. The frame is a struct trapframe (trap.h) with vector
 * VEC_SYSCALL, so faults, signals and the REPL read one layout.
 */
#include "kernel/arch/x86_64/layout.h"

	.text
	.code64

	.globl syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:CPU_USER_RSP
	movq %gs:CPU_KSTACK_TOP, %rsp
	pushq $SEL_UDATA                /* ss */
	pushq %gs:CPU_USER_RSP          /* rsp */
	pushq %r11                      /* rflags */
	pushq $SEL_UCODE                /* cs */
	pushq %rcx                      /* rip */
	pushq $0                        /* error */
	pushq $VEC_SYSCALL              /* vector */
	PUSH_FRAME_REGS
	/* syscall_fn(nr, args): the frame starts with the arguments in the
	 * ABI's order; rbx (saved in the frame) keeps the frame */
	movq %rsp, %rbx
	movq %rax, %rdi
	movq %rsp, %rsi
	xorl %ebp, %ebp                 /* backtraces end here */
	sti
	call *syscall_fn(%rip)
	movq %rax, TF_RAX(%rbx)
	cli
	call *user_return_fn(%rip)      /* signals, with interrupts off */
	cmpq $TF_FULL_RETURN, TF_ERROR(%rbx)
	je syscall_full_return
	POP_FRAME_REGS
	addq $16, %rsp                  /* vector, error */
	/* sysret takes rip from rcx and rflags from r11 (both clobbered by
	 * syscall anyway, as on Linux); a return address at or above USER_TOP
	 * would make sysret fault in kernel mode, so that goes by iret */
	movq 0(%rsp), %rcx
	movabsq $USER_TOP_ASM, %r11
	cmpq %r11, %rcx
	jae 1f
	movq 16(%rsp), %r11
	movq 24(%rsp), %rsp
	swapgs
	sysretq
1:	swapgs
	iretq

/* every register from the frame (execve, signals, sigreturn) */
syscall_full_return:
	POP_FRAME_REGS
	addq $16, %rsp                  /* vector, error */
	swapgs
	iretq

/* arch_user_resume(regs): struct user_regs (arch.h): r15 0, r14 8, r13 16,
 * r12 24, rbp 32, rbx 40, r11 48, r10 56, r9 64, r8 72, rax 80, rcx 88,
 * rdx 96, rsi 104, rdi 112, rip 120, rflags 128, rsp 136 */
	.globl arch_user_resume
arch_user_resume:
	cli
	pushq $SEL_UDATA
	pushq 136(%rdi)
	movq 128(%rdi), %rax
	andq $0x40dd5, %rax             /* the user's flags only */
	orq $0x202, %rax                /* IF */
	pushq %rax
	pushq $SEL_UCODE
	pushq 120(%rdi)
	movq 0(%rdi), %r15
	movq 8(%rdi), %r14
	movq 16(%rdi), %r13
	movq 24(%rdi), %r12
	movq 32(%rdi), %rbp
	movq 40(%rdi), %rbx
	movq 48(%rdi), %r11
	movq 56(%rdi), %r10
	movq 64(%rdi), %r9
	movq 72(%rdi), %r8
	movq 80(%rdi), %rax
	movq 88(%rdi), %rcx
	movq 96(%rdi), %rdx
	movq 104(%rdi), %rsi
	movq 112(%rdi), %rdi
	swapgs
	iretq

/* arch_user_enter(pc, sp): the first return to user mode, registers zero */
	.globl arch_user_enter
arch_user_enter:
	cli
	pushq $SEL_UDATA
	pushq %rsi
	pushq $0x202                    /* IF */
	pushq $SEL_UCODE
	pushq %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	swapgs
	iretq

/*
 * size_t arch_copy_user(void *dst, const void *src, size_t n)
 * 8 bytes per step (rep movsq), then the last n % 8 bytes (rep movsb):
 * under TCG every step is an instruction. A fault inside rep movsq
 * restarts the rest byte by byte from where it stopped, so that a copy
 * that meets a bad page comes up short by exactly the bytes past the
 * fault; a fault inside rep movsb leaves rcx = bytes not copied. trap.c
 * sends a faulting instruction to its fixup (the .ex_table pairs below).
 * With SMAP on, stac/clac open user memory for exactly these instructions.
 */
	.globl arch_copy_user
arch_copy_user:
	movq %rdx, %rcx
	shrq $3, %rcx
	andl $7, %edx
	testb $1, smap_enabled(%rip)
	jz 1f
	stac
1:
copy_user_q:
	rep movsq
	movl %edx, %ecx
copy_user_b:
	rep movsb
copy_user_done:
	testb $1, smap_enabled(%rip)
	jz 2f
	clac
2:	movq %rcx, %rax
	ret
copy_user_q_fault:
	leaq (%rdx,%rcx,8), %rcx     /* the bytes left: whole steps and the tail */
	jmp copy_user_b

	.section .ex_table, "a"
	.balign 8
	.quad copy_user_q, copy_user_q_fault
	.quad copy_user_b, copy_user_done
	.previous
