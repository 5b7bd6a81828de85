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
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	xorl %ebp, %ebp                 /* backtraces end here */
	sti
	call arch_syscall
	cli
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
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
 * A fault inside rep movsb leaves rcx = bytes not copied; trap.c sends the
 * faulting instruction to its fixup (the .ex_table pair below), which
 * returns that count. With SMAP on, stac/clac open user memory for exactly
 * this instruction.
 */
	.globl arch_copy_user
arch_copy_user:
	movq %rdx, %rcx
	testb $1, smap_enabled(%rip)
	jz 1f
	stac
1:
copy_user_insn:
	rep movsb
copy_user_done:
	testb $1, smap_enabled(%rip)
	jz 2f
	clac
2:	movq %rcx, %rax
	ret

	.section .ex_table, "a"
	.balign 8
	.quad copy_user_insn, copy_user_done
	.previous
