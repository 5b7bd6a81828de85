/*
 * read, write, writev, ioctl. Descriptors 0, 1 and 2 are the serial
 * console (COM1) until the VFS brings files; any other gives -EBADF.
 * Every byte crosses between user memory and the console in exactly one
 * copy through a small kernel buffer (counted: copy.user_write,
 * copy.user_read).
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"

#define CONSOLE_FDS  3
#define MAX_RW_COUNT 0x7ffff000UL   /* Linux's cap on one transfer */
#define IOV_MAX      1024
#define TIOCGWINSZ   0x5413

static u64 bytes_written, bytes_read;  /* [atomic] */
static u64 read_user_write(void) { return __atomic_load_n(&bytes_written, __ATOMIC_RELAXED); }
static u64 read_user_read(void) { return __atomic_load_n(&bytes_read, __ATOMIC_RELAXED); }
KCOUNTER("copy.user_write", "bytes", read_user_write);
KCOUNTER("copy.user_read", "bytes", read_user_read);

static bool console_fd(u64 fd) { return fd < CONSOLE_FDS; }

/* Bytes written, or -EFAULT when the first byte could not be read. */
static long console_write_user(u64 buf, size_t len)
{
	char tmp[256];
	size_t done = 0;
	while (done < len) {
		size_t k = MIN(len - done, sizeof(tmp));
		size_t got = copy_from_user_partial(tmp, buf + done, k);
		if (got)
			console_write(tmp, got);
		done += got;
		if (got < k)
			break;
	}
	__atomic_add_fetch(&bytes_written, done, __ATOMIC_RELAXED);
	return done || !len ? (long)done : -EFAULT;
}

long sys_write(const u64 a[6])
{
	if (!console_fd(a[0]))
		return -EBADF;
	return console_write_user(a[1], MIN(a[2], MAX_RW_COUNT));
}

/* Raw bytes from COM1: waits for the first, then takes what has arrived,
 * up to a newline. (Polled every 2 ms: the console has no receive
 * interrupt path yet.) */
long sys_read(const u64 a[6])
{
	if (!console_fd(a[0]))
		return -EBADF;
	size_t len = MIN(a[2], MAX_RW_COUNT);
	if (len == 0)
		return 0;
	if (!user_range_ok(a[1], len))
		return -EFAULT;
	char tmp[128];
	size_t n = 0, max = MIN(len, sizeof(tmp));
	while (n < max) {
		int c = arch_console_getc();
		if (c < 0) {
			if (n)
				break;
			thread_sleep_ns(2000000);
			continue;
		}
		tmp[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (copy_to_user(a[1], tmp, n) < 0)
		return -EFAULT;
	__atomic_add_fetch(&bytes_read, n, __ATOMIC_RELAXED);
	return (long)n;
}

struct iovec {
	u64 base, len;
};

long sys_writev(const u64 a[6])
{
	if (!console_fd(a[0]))
		return -EBADF;
	u64 uiov = a[1];
	s64 cnt = (s32)a[2];
	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	/* first pass: every length, before any byte moves (as Linux does) */
	u64 total = 0;
	for (s64 i = 0; i < cnt; i++) {
		struct iovec v;
		if (copy_from_user(&v, uiov + (u64)i * sizeof(v), sizeof(v)) < 0)
			return -EFAULT;
		if ((s64)v.len < 0 || v.len > (u64)INT64_MAX - total)
			return -EINVAL;
		total += v.len;
	}
	total = MIN(total, MAX_RW_COUNT);
	u64 done = 0;
	for (s64 i = 0; i < cnt && done < total; i++) {
		struct iovec v;
		if (copy_from_user(&v, uiov + (u64)i * sizeof(v), sizeof(v)) < 0)
			break;
		size_t want = MIN(v.len, total - done);
		long r = console_write_user(v.base, want);
		if (r < 0)
			break;
		done += (u64)r;
		if ((size_t)r < want)
			break;
	}
	return done || !total ? (long)done : -EFAULT;
}

long sys_ioctl(const u64 a[6])
{
	if (!console_fd(a[0]))
		return -EBADF;
	(void)TIOCGWINSZ;   /* no terminal layer yet: the console is no tty */
	return -ENOTTY;
}
