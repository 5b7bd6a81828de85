/*
 * Application-processor start code. smp.c copies [trampoline_start,
 * trampoline_end) to physical AP_TRAMPOLINE and sends INIT-SIPI-SIPI; the AP
 * starts here in real mode at CS:IP = (AP_TRAMPOLINE >> 4):0, goes through
 * protected mode into long mode on the boot page tables (which identity-map
 * this page and map the kernel image), and jumps to ap_start64 in the kernel
 * with its CPU index, stack and the kernel's CR3 in registers.
 */
#include "kernel/arch/x86_64/layout.h"

#define T(x) (AP_TRAMPOLINE + (x) - trampoline_start)

	.section .rodata
	.code16
	.globl trampoline_start, trampoline_end
	.globl tramp_boot_cr3, tramp_kernel_cr3, tramp_stack, tramp_cpu, tramp_efer_nx, tramp_entry
trampoline_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdt_ptr)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x18, $T(tramp_pm32)

	.code32
tramp_pm32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $((1 << 5) | (1 << 7) | (1 << 9) | (1 << 10)), %eax
	movl %eax, %cr4
	movl T(tramp_boot_cr3), %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx
	rdmsr
	orl $(1 << 8), %eax
	orl T(tramp_efer_nx), %eax
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | (1 << 5) | (1 << 1)), %eax
	andl $~(1 << 2), %eax
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp_lm64)

	.code64
tramp_lm64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl T(tramp_cpu), %edi
	movq T(tramp_stack), %rsi
	movq T(tramp_kernel_cr3), %rdx
	movq T(tramp_entry), %rax
	jmp *%rax

	.balign 16
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff   /* 0x08 64-bit code */
	.quad 0x00cf92000000ffff   /* 0x10 data */
	.quad 0x00cf9a000000ffff   /* 0x18 32-bit code */
tramp_gdt_ptr:
	.word tramp_gdt_ptr - tramp_gdt - 1
	.long T(tramp_gdt)
	.balign 8
tramp_boot_cr3:   .quad 0
tramp_kernel_cr3: .quad 0
tramp_stack:      .quad 0
tramp_entry:      .quad 0
tramp_cpu:        .long 0
tramp_efer_nx:    .long 0
trampoline_end:

	.text
	.code64
	.globl ap_start64
/* rdi = CPU index, rsi = stack top, rdx = kernel CR3 */
ap_start64:
	movq %rdx, %cr3
	movq %rsi, %rsp
	xorl %ebp, %ebp
	pushq $0
	call ap_main
1:	cli
	hlt
	jmp 1b
