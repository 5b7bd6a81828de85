/*
 * arch_switch(struct context **from, struct context *to)
 * Saves the callee-saved registers on the current stack, stores the stack
 * pointer in *from, and resumes the context `to` (a stack pointer saved the
 * same way, or made by arch_thread_init).
 */
	.text
	.code64
	.globl arch_switch
arch_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
