/*
 * printk: the human log. Each line gets "[seconds.micros] cN " and goes to
 * the console device and to an in-memory ring (log_ring) that the REPL can
 * show. One lock serializes whole lines; after a panic it is bypassed.
 */
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sync/spinlock.h"

int log_level = LOG_INFO;
volatile bool console_panicking;

static spinlock_t console_lock = SPINLOCK_INIT("console");

#define LOG_RING_SIZE 65536
static char log_ring[LOG_RING_SIZE];
static u64 log_ring_pos; /* [console_lock] bytes ever written */

static void ring_append(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		log_ring[(log_ring_pos + i) % LOG_RING_SIZE] = s[i];
	log_ring_pos += n;
}

static void emit(const char *s, size_t n)
{
	ring_append(s, n);
	arch_console_write(s, n);
}

void console_write(const char *s, size_t n)
{
	if (console_panicking) {
		emit(s, n);
		return;
	}
	unsigned long f = spin_lock_irqsave(&console_lock);
	emit(s, n);
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

/* Copy the newest part of the log ring into buf; returns bytes copied. */
size_t console_log_tail(char *buf, size_t size)
{
	unsigned long f = spin_lock_irqsave(&console_lock);
	u64 avail = MIN(log_ring_pos, (u64)LOG_RING_SIZE);
	u64 n = MIN(avail, (u64)size);
	u64 start = log_ring_pos - n;
	for (u64 i = 0; i < n; i++)
		buf[i] = log_ring[(start + i) % LOG_RING_SIZE];
	spin_unlock_irqrestore(&console_lock, f);
	return (size_t)n;
}
