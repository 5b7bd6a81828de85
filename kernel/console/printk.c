/*
 * printk: the human log. Each line gets "[seconds.micros] cN " and goes to
 * the console device. One lock serializes whole lines; after a panic it is
 * bypassed.
 */
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sync/spinlock.h"

int log_level = LOG_INFO;
volatile bool console_panicking;

static spinlock_t console_lock = SPINLOCK_INIT("console");

void console_write(const char *s, size_t n)
{
	if (console_panicking) {
		arch_console_write(s, n);
		return;
	}
	unsigned long f = spin_lock_irqsave(&console_lock);
	arch_console_write(s, n);
	spin_unlock_irqrestore(&console_lock, f);
}

void console_write_raw(const char *s, size_t n)
{
	unsigned long f = spin_lock_irqsave(&console_lock);
	arch_console_write_raw(s, n);
	spin_unlock_irqrestore(&console_lock, f);
}

void vprintk(int level, const char *fmt, va_list ap)
{
	char line[512];
	if (level > log_level)
		return;
	u64 ns = arch_clock_ns();
	int n = ksnprintf(line, sizeof(line), "[%5llu.%06llu] c%u ",
			  (unsigned long long)(ns / 1000000000),
			  (unsigned long long)(ns / 1000 % 1000000), cpu_id());
	int m = kvsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (size_t)MIN(m, (int)(sizeof(line) - (size_t)n - 2));
	if (len == 0 || line[len - 1] != '\n')
		line[len++] = '\n';
	console_write(line, len);
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}
