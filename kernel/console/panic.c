/*
 * panic: report a broken invariant and stop. Prints the message, the CPU and
 * thread, the registers and a symbolized backtrace; stops the other CPUs; then
 * halts or exits the emulator (panic=exit). A panic inside a panic prints one
 * line and halts at once.
 */
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/sched/sched.h"

enum panic_action panic_action = PANIC_HALT;
static volatile int panic_cpu = -1;

static void vpanic(struct trapframe *tf, const char *fmt, va_list ap)
{
	char msg[256];
	irq_disable();
	int me = (int)cpu_id();
	int expect = -1;
	if (!__atomic_compare_exchange_n(&panic_cpu, &expect, me, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		if (expect == me) {
			console_panicking = true;
			console_write("\npanic: nested panic, halting\n", 30);
		}
		arch_die();
	}
	arch_stop_other_cpus();
	console_panicking = true;
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	printk(LOG_EMERG, "panic: %s", msg);
	printk(LOG_EMERG, "panic: on cpu %d, thread %s", me, sched_thread_name());
	arch_dump_trapframe(tf);
	u64 pc = 0, fp = 0, sp = 0;
	if (tf)
		arch_trapframe_regs(tf, &pc, &fp, &sp);
	else
		fp = (u64)__builtin_frame_address(0);
	arch_backtrace(fp, pc, sp);
	printk(LOG_EMERG, "panic: end of report");
	if (panic_action == PANIC_EXIT)
		arch_exit(2);
	arch_die();
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpanic(NULL, fmt, ap);
	va_end(ap);
	for (;;)
		;
}

void panic_trap(struct trapframe *tf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpanic(tf, fmt, ap);
	va_end(ap);
	for (;;)
		;
}
