/*
 * Trap frames and interrupt vectors on x86-64 (private to kernel/arch).
 *
 * Vector plan:
 *   0x00-0x1f  CPU exceptions
 *   0x20-0x2f  legacy 8259 PIC, remapped and masked (spurious only)
 *   0x30-0xcf  allocated to devices (IOAPIC lines, MSI/MSI-X) by irq_alloc
 *   0xe0       LAPIC timer
 *   0xf0-0xf4  IPIs: reschedule, TLB shootdown, freeze, stop, call
 *   0xfe       LAPIC error, 0xff LAPIC spurious
 */
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

#include "kernel/lib/types.h"

struct trapframe {
	u64 rdi, rsi, rdx, r10, r8, r9;   /* first: a system call's arguments, in order */
	u64 r15, r14, r13, r12, r11, rbp, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#define VEC_PIC_BASE     0x20
#define VEC_DYN_FIRST    0x30
#define VEC_DYN_LAST     0xcf
#define VEC_TIMER        0xe0
#define VEC_IPI_RESCHED  0xf0
#define VEC_IPI_TLB      0xf1
#define VEC_IPI_FREEZE   0xf2
#define VEC_IPI_STOP     0xf3
#define VEC_IPI_CALL     0xf4
#define VEC_APIC_ERROR   0xfe
#define VEC_SPURIOUS     0xff

#define EXC_DE 0
#define EXC_NMI 2
#define EXC_BP 3
#define EXC_UD 6
#define EXC_DF 8
#define EXC_GP 13
#define EXC_PF 14
#define EXC_MC 18

#define IST_DF 1
#define IST_NMI 2
#define IST_MC 3

typedef void (*irq_handler_t)(struct trapframe *tf, void *arg);

void idt_init(void);      /* build the IDT (once) */
void idt_load(void);      /* load it on this CPU */
void trap_set_handler(u8 vector, irq_handler_t fn, void *arg);
extern u64 irq_counts[][256];
/* user.c: hand a user-mode exception to the process layer (false: no
 * handler); move a kernel fault in arch_copy_user to its fixup. */
bool trap_user_fault(struct trapframe *tf, const char *name);
bool trap_fixup(struct trapframe *tf);
/* a page fault on a user page made present by the process layer (retry) */
bool trap_user_pf(struct trapframe *tf);
/* on the way back to user mode: pending signals */
void trap_user_return(struct trapframe *tf);
/* Backtrace helpers (trap.c), used by the profiler's walk (profile.c):
 * a kernel text address; whether the function holding pc had pushed %rbp
 * (false in prologues and frameless leaves); a mapped, aligned frame. */
bool trap_is_text(u64 a);
bool trap_frame_set_up(u64 pc);
bool trap_frame_readable(u64 fp);
/* trap_entry.S: the return address of trap_common's call of trap_dispatch,
 * and the end of the entry code (which starts at trap_stubs_start) */
extern const char trap_dispatch_ret[], trap_entry_end[], trap_stubs_start[];

#endif
