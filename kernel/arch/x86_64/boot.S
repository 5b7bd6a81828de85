/*
 * First code: Multiboot 1 entry in 32-bit protected mode (BOOT.md).
 * Records the TSC of the first instruction, checks for long mode, builds
 * boot page tables (identity and direct map of the low 4 GiB, and the kernel
 * image at KERNEL_VMA), enters long mode and jumps to the higher half.
 * The boot page tables stay in use for APs starting up (trampoline.S).
 */
#include "kernel/arch/x86_64/layout.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS ((1 << 0) | (1 << 1) | (1 << 16)) /* align modules, memory info, a.out kludge */
#define PHYS(x) ((x) - KERNEL_VMA)

	.section .boot.header, "a"
	.align 4
	.globl mb_header
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header           /* header_addr */
	.long _load_start         /* load_addr */
	.long _load_end_phys      /* load_end_addr */
	.long _bss_end_phys       /* bss_end_addr */
	.long _start32            /* entry_addr */

	.section .boot.text, "ax"
	.code32
	.globl _start32
_start32:
	movl %eax, %edi            /* the loader's magic, checked by kmain */
	rdtsc
	movl %eax, PHYS(boot_tsc0)
	movl %edx, PHYS(boot_tsc0) + 4
	cli
	cld
	movl $PHYS(boot_stack_top), %esp
	movl %ebx, PHYS(mb_info_phys)
	movl %edi, PHYS(mb_magic)
1:
	/* Long mode available? */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode
	movl %edx, %esi            /* keep: bit 20 is NX */

	/* Zero the boot page tables (the loader zeroed bss, but be sure). */
	movl $PHYS(boot_pt_start), %edi
	movl $PHYS(boot_pt_end), %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl

	/* PML4[0] and PML4[256] -> low PDPT (identity and direct map);
	 * PML4[511] -> high PDPT whose entry 510 maps the kernel image. */
	movl $PHYS(boot_pdpt_low), %eax
	orl $0x3, %eax
	movl %eax, PHYS(boot_pml4)
	movl %eax, PHYS(boot_pml4) + 256 * 8
	movl $PHYS(boot_pdpt_high), %eax
	orl $0x3, %eax
	movl %eax, PHYS(boot_pml4) + 511 * 8

	/* low PDPT[0..3] -> boot_pd[0..3]; high PDPT[510] -> boot_pd[0] */
	movl $PHYS(boot_pd), %eax
	orl $0x3, %eax
	movl $PHYS(boot_pdpt_low), %edi
	movl %eax, 0(%edi)
	movl %eax, PHYS(boot_pdpt_high) + 510 * 8
	addl $4096, %eax
	movl %eax, 8(%edi)
	addl $4096, %eax
	movl %eax, 16(%edi)
	addl $4096, %eax
	movl %eax, 24(%edi)

	/* 2048 large (2 MiB) pages: 4 GiB, present + writable + PS */
	movl $PHYS(boot_pd), %edi
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, (%edi, %ecx, 8)
	movl %ecx, %eax
	shrl $11, %eax             /* high dword: (ecx * 2 MiB) >> 32 */
	movl %eax, 4(%edi, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	/* CR4: PAE | PGE | OSFXSR | OSXMMEXCPT */
	movl %cr4, %eax
	orl $((1 << 5) | (1 << 7) | (1 << 9) | (1 << 10)), %eax
	movl %eax, %cr4
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3
	/* EFER: LME, and NXE when the CPU has NX */
	movl $0xC0000080, %ecx
	rdmsr
	orl $(1 << 8), %eax
	testl $(1 << 20), %esi
	jz 3f
	orl $(1 << 11), %eax
3:	wrmsr
	/* CR0: PG | WP | NE | MP | PE */
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | (1 << 5) | (1 << 1) | 1), %eax
	andl $~(1 << 2), %eax      /* EM off: SSE is usable by nobody, but no #UD */
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $SEL_KCODE, $start64_low

no_long_mode:
	movl $msg_no_lm, %esi
4:	lodsb
	testb %al, %al
	jz 5f
	movw $0x3f8, %dx
	outb %al, %dx
	jmp 4b
5:	hlt
	jmp 5b

	.code64
start64_low:
	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $kernel_entry64, %rax
	jmp *%rax

	.section .boot.data, "aw"
	.align 16
	.globl boot_gdt
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff   /* 0x08 kernel code, long mode */
	.quad 0x00cf92000000ffff   /* 0x10 kernel data */
	.quad 0x00cf9a000000ffff   /* 0x18 32-bit code (AP trampoline) */
boot_gdt_end:
	.globl boot_gdt_ptr
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt
msg_no_lm:
	.asciz "caboose: this CPU has no long mode (x86-64); halting\r\n"

	.text
	.code64
	.globl kernel_entry64
kernel_entry64:
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	pushq $0                   /* terminates backtraces */
	movl mb_magic(%rip), %edi
	movl mb_info_phys(%rip), %esi
	call arch_start
6:	cli
	hlt
	jmp 6b

	.bss
	.align 4096
	.globl boot_pt_start, boot_pt_end, boot_pml4
boot_pt_start:
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096 * 4
boot_pt_end:
	.globl boot_stack_guard, boot_stack_top
boot_stack_guard:
	.skip 4096                 /* unmapped once the kernel page tables are up */
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:

	.data
	.align 8
	.globl boot_tsc0, mb_info_phys, mb_magic
boot_tsc0:    .quad 0
mb_info_phys: .long 0
mb_magic:     .long 0
