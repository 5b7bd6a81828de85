/* The linked vDSO (kernel/proc/vdso/vdso.c, built for user mode by the
 * Makefile into VDSO_SO) as bytes the loader copies into each new address
 * space (elf.c). */
	.section .rodata
	.balign 4096
	.globl vdso_image
vdso_image:
	.incbin VDSO_SO
	.globl vdso_image_end
vdso_image_end:
	.section .note.GNU-stack, "", @progbits
