/*
 * Character devices behind the nodes in /dev, by Linux's numbers:
 *   5:1 console   COM1: the tty of kernel/proc/tty.c once it registers
 *                 (dev_set_console_ops); until then, and with the REPL on
 *                 ttyS0, the raw device here (writes go to the console log
 *                 channel; reads take raw bytes, polled every 2 ms)
 *   4:64 ttyS0    the same tty without the console's exemption from job
 *                 control (as on Linux); -ENXIO without the tty
 *   5:0 tty       the opener's controlling terminal (there is one: the
 *                 console's tty, as ttyS0); -ENXIO for a process without
 *                 one, as on Linux
 *   1:3 null      reads end at once, writes vanish
 *   1:5 zero      reads give zeros, writes vanish
 *   1:9 urandom   reads give kernel/lib/random.h's bytes
 * Every byte that crosses to or from user memory is one copy, counted
 * (copy.user_write for the console's output, copy.user_read for its input).
 */
#include "fs/vfs_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/random.h"

static u64 bytes_written, bytes_read;  /* [atomic] */
KCOUNTER_VAR("copy.user_write", "bytes", bytes_written);
KCOUNTER_VAR("copy.user_read", "bytes", bytes_read);

static long console_write_uio(struct file *f, struct uio *u, u64 *pos)
{
	(void)f;
	(void)pos;
	char tmp[256];
	size_t want = u->len, done = 0;
	while (u->len) {
		size_t k = MIN(u->len, sizeof(tmp));
		size_t got = uio_from(u, tmp, k);
		if (got)
			console_write(tmp, got);
		done += got;
		if (got < k)
			break;
	}
	__atomic_add_fetch(&bytes_written, done, __ATOMIC_RELAXED);
	return done || !want ? (long)done : -EFAULT;
}

/* Waits for the first byte, then takes what has arrived, up to a newline. */
static long console_read_uio(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	if (u->len == 0)
		return 0;
	char tmp[128];
	size_t n = 0, max = MIN(u->len, sizeof(tmp));
	while (n < max) {
		int c = arch_console_getc();
		if (c < 0) {
			if (n)
				break;
			if (f->flags & O_NONBLOCK)
				return -EAGAIN;
			if (vfs_signalled())
				return -EINTR;
			thread_sleep_ns(2000000);
			continue;
		}
		tmp[n++] = (char)c;
		if (c == '\n')
			break;
	}
	size_t got = uio_to(u, tmp, n);
	__atomic_add_fetch(&bytes_read, got, __ATOMIC_RELAXED);
	return got == n ? (long)n : -EFAULT;
}

static long sink_write(struct file *f, struct uio *u, u64 *pos)
{
	(void)f;
	(void)pos;
	long n = (long)u->len;
	u->addr += u->len;
	u->len = 0;
	return n;
}

static long null_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)f;
	(void)u;
	(void)pos;
	return 0;
}

static long zero_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)f;
	(void)pos;
	size_t want = u->len, done = 0;
	while (u->len) {
		size_t k = MIN(u->len, PAGE_SIZE);
		size_t got = uio_to(u, vfs_zero_page, k);
		done += got;
		if (got < k)
			break;
	}
	return done || !want ? (long)done : -EFAULT;
}

static long urandom_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)f;
	(void)pos;
	u8 tmp[256];
	size_t want = u->len, done = 0;
	while (u->len) {
		size_t k = MIN(u->len, sizeof(tmp));
		random_bytes(tmp, k);
		size_t got = uio_to(u, tmp, k);
		done += got;
		if (got < k)
			break;
	}
	return done || !want ? (long)done : -EFAULT;
}

static const struct file_ops console_fops = { .read = console_read_uio, .write = console_write_uio };
/* lseek on these succeeds and returns 0, as on Linux */
static const struct file_ops null_fops = {
	.read = null_read, .write = sink_write, .seekable = true, .seek_noop = true,
};
static const struct file_ops zero_fops = {
	.read = zero_read, .write = sink_write, .seekable = true, .seek_noop = true,
};
static const struct file_ops urandom_fops = {
	.read = urandom_read, .write = sink_write, .seekable = true, .seek_noop = true,
};

static const struct file_ops *console_ops = &console_fops, *ttys0_ops, *tty_ops;

void dev_set_console_ops(const struct file_ops *console, const struct file_ops *ttys0,
			 const struct file_ops *tty)
{
	WRITE_ONCE(ttys0_ops, ttys0);
	WRITE_ONCE(tty_ops, tty);
	WRITE_ONCE(console_ops, console);
}

const struct file_ops *dev_fops(u32 rdev)
{
	switch (rdev) {
	case DEV_CONSOLE: return READ_ONCE(console_ops);
	case DEV_TTYS0: return READ_ONCE(ttys0_ops);
	case DEV_TTY: return READ_ONCE(tty_ops);
	case DEV_NULL: return &null_fops;
	case DEV_ZERO: return &zero_fops;
	case DEV_URANDOM: return &urandom_fops;
	default: return NULL;
	}
}
