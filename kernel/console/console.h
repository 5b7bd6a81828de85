/*
 * The kernel console: the human log (printk) on the serial port, panic, and
 * the embedded symbol table.
 *
 * printk(level, fmt, ...) writes one line, prefixed with the time since boot
 * and the CPU, if level <= the current log level (loglevel= on the command
 * line). Lines from different CPUs never interleave. It may be called from
 * any context, interrupt handlers included; it never allocates.
 *
 * panic() prints the message, the registers and a symbolized backtrace, stops
 * the other CPUs and then halts, or exits the emulator when panic=exit (the
 * default for ktest runs; exit status 5, see README).
 */
#ifndef CONSOLE_CONSOLE_H
#define CONSOLE_CONSOLE_H

#include "kernel/lib/types.h"

enum log_level { LOG_EMERG = 0, LOG_ERR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4 };

extern int log_level;

void printk(int level, const char *fmt, ...) __printf(2, 3);
void vprintk(int level, const char *fmt, va_list ap);
#define pr_err(...) printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...) printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

/* Raw console output, bypassing levels and prefixes (still serialized). */
void console_write(const char *s, size_t n);
/* The same without turning \n into \r\n (the tty's own output processing). */
void console_write_raw(const char *s, size_t n);
/* Set by panic: console output stops taking its lock. */
extern volatile bool console_panicking;

__noreturn void panic(const char *fmt, ...) __printf(1, 2);
struct trapframe;
/* Panic from an exception: prints the trap frame's registers and unwinds
 * from the faulting frame. */
__noreturn void panic_trap(struct trapframe *tf, const char *fmt, ...) __printf(2, 3);
#define BUG_ON(cond) \
	do { if (unlikely(cond)) panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); } while (0)

/* What panic does at the end: halt (default) or exit the emulator. */
enum panic_action { PANIC_HALT, PANIC_EXIT };
extern enum panic_action panic_action;

/* Symbol table embedded at build time (tools/mksyms.sh). */
const char *ksym_lookup(u64 addr, u64 *offset);
/* Address of a symbol by name, or 0. */
u64 ksym_address(const char *name);

#endif
