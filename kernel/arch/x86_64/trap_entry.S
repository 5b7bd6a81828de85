/*
 * Interrupt and exception entry stubs. Each stub pushes an error code (0 for
 * vectors where the CPU pushes none) and its vector, then trap_common saves
 * the general registers as a struct trapframe (trap.h) and calls
 * trap_dispatch(tf). From user mode (the saved CS has RPL 3) the entry and
 * the exit swap GS, so %gs always names this CPU's struct cpu in the kernel.
 * With SMAP on, entry clears AC: user mode may have set it, and a handler
 * interrupting arch_copy_user must not inherit its open window.
 */
#include "kernel/arch/x86_64/layout.h"

	.text
	.code64

/* vectors that push an error code: 8, 10-14, 17, 21, 29, 30 */
.macro STUB n
	.org trap_stubs_start + \n * 16   /* fails the build if a stub outgrows 16 bytes */
trap_stub_\n:
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
.endm

	.globl trap_stubs_start
	.align 16
trap_stubs_start:
.altmacro
.set i, 0
.rept 256
	STUB %i
	.set i, i + 1
.endr

	.org trap_stubs_start + 256 * 16
trap_common:
	testb $3, 24(%rsp)         /* cs, above vector, error and rip */
	jz 1f
	swapgs
1:	testb $1, smap_enabled(%rip)
	jz 2f
	clac
2:	PUSH_FRAME_REGS
	cld
	movq %rsp, %rdi
	/* a frame record so backtraces walk from the handler into the
	 * interrupted code: [rbp] = interrupted rbp, [rbp+8] = its rip */
	pushq 136(%rsp)            /* tf->rip; the address uses %rsp before the push */
	pushq %rbp
	movq %rsp, %rbp
	call trap_dispatch
	/* the profiler's walk stops here: frames above belong to the
	 * interrupted code */
	.globl trap_dispatch_ret
trap_dispatch_ret:
	addq $16, %rsp
	POP_FRAME_REGS
	addq $16, %rsp
	testb $3, 8(%rsp)          /* cs */
	jz 3f
	swapgs
3:	iretq
	/* [trap_stubs_start, trap_entry_end): the profiler counts a sample
	 * taken here as interrupt time */
	.globl trap_entry_end
trap_entry_end:

