/*
 * select and pselect6 over the files' poll op, the way poll (sys_io.c)
 * asks them: readable is POLLIN, POLLHUP or POLLERR; writable POLLOUT or
 * POLLERR; exceptional POLLPRI. A file without a poll op is always ready
 * for reading and writing. A wait looks again every 2 ms until a file is
 * ready, the time-out or a signal (-EINTR), as poll's does.
 *
 * As Linux: nfds above the descriptor table's size is cut to it, a
 * negative one is -EINVAL, a closed descriptor in a set -EBADF, and the
 * time left is written back to the timeval (select) or timespec
 * (pselect6). pselect6's signal mask holds while it waits, and for the
 * handler of the signal that interrupted it (proc_wait_mask).
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/string.h"

#define SEL_WORDS (FD_MAX / 64)
#define SEL_IN  (POLLIN | POLLRDNORM | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLERR)
#define SEL_EX  POLLPRI

struct sel_sets {
	u64 in[SEL_WORDS], out[SEL_WORDS], ex[SEL_WORDS];
};

static bool bit(const u64 *set, int fd) { return set[fd / 64] >> (fd % 64) & 1; }
static void set_bit(u64 *set, int fd) { set[fd / 64] |= 1ULL << (fd % 64); }

/* One look at every descriptor asked about: the ready ones in r, their
 * count, or -EBADF. */
static long sel_scan(const struct sel_sets *q, struct sel_sets *r, int n)
{
	memset(r, 0, sizeof(*r));
	long ready = 0;
	for (int fd = 0; fd < n; fd++) {
		if (!bit(q->in, fd) && !bit(q->out, fd) && !bit(q->ex, fd))
			continue;
		struct file *f = sys_file((u64)fd);
		if (!f)
			return -EBADF;
		unsigned ev = f->ops->poll ? f->ops->poll(f) : POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
		file_put(f);
		if (bit(q->in, fd) && (ev & SEL_IN)) {
			set_bit(r->in, fd);
			ready++;
		}
		if (bit(q->out, fd) && (ev & SEL_OUT)) {
			set_bit(r->out, fd);
			ready++;
		}
		if (bit(q->ex, fd) && (ev & SEL_EX)) {
			set_bit(r->ex, fd);
			ready++;
		}
	}
	return ready;
}

/* timeout_ns < 0: no time-out; *left_ns: the time left at the end */
static long do_select(s64 n, const u64 uset[3], s64 timeout_ns, s64 *left_ns)
{
	if (n < 0 || n > INT32_MAX)
		return -EINVAL;
	if (n > FD_MAX)
		n = FD_MAX;
	size_t bytes = (size_t)((n + 63) / 64) * 8;
	struct sel_sets *q = kzalloc(sizeof(*q)), *r = kzalloc(sizeof(*r));
	long ret = 0;
	if (!q || !r) {
		ret = -ENOMEM;
		goto out;
	}
	u64 *qs[3] = { q->in, q->out, q->ex }, *rs[3] = { r->in, r->out, r->ex };
	for (int i = 0; i < 3; i++) {
		if (uset[i] && copy_from_user(qs[i], uset[i], bytes) < 0) {
			ret = -EFAULT;
			goto out;
		}
	}
	u64 start = arch_clock_ns();
	u64 deadline = timeout_ns < 0 ? UINT64_MAX : start + (u64)timeout_ns;
	for (;;) {
		ret = sel_scan(q, r, (int)n);
		if (ret != 0 || arch_clock_ns() >= deadline)
			break;
		if (proc_signal_pending()) {
			ret = -EINTR;
			break;
		}
		thread_sleep_ns(2000000);
	}
	if (timeout_ns >= 0) {
		u64 now = arch_clock_ns();
		*left_ns = now >= deadline ? 0 : (s64)(deadline - now);
	}
	for (int i = 0; i < 3 && ret >= 0; i++) {
		if (uset[i] && copy_to_user(uset[i], rs[i], bytes) < 0)
			ret = -EFAULT;
	}
out:
	kfree(q);
	kfree(r);
	return ret;
}

/* select(nfds, readfds, writefds, exceptfds, struct timeval *) */
long sys_select(const u64 a[6])
{
	s64 timeout = -1, left = 0;
	if (a[4]) {
		s64 tv[2];
		if (copy_from_user(tv, a[4], sizeof(tv)) < 0)
			return -EFAULT;
		if (tv[0] < 0 || tv[1] < 0)
			return -EINVAL;
		/* Linux folds microseconds past a second into the seconds */
		timeout = tv[0] * 1000000000 + tv[1] * 1000;
	}
	const u64 sets[3] = { a[1], a[2], a[3] };
	long r = do_select((s64)(s32)a[0], sets, timeout, &left);
	if (a[4] && r != -EFAULT && r != -EINVAL) {
		s64 tv[2] = { left / 1000000000, left % 1000000000 / 1000 };
		copy_to_user(a[4], tv, sizeof(tv));   /* Linux ignores a failure here */
	}
	return r;
}

/* pselect6(nfds, readfds, writefds, exceptfds, struct timespec *,
 * { const sigset_t *mask; size_t size } *) */
long sys_pselect6(const u64 a[6])
{
	s64 timeout = -1, left = 0;
	if (a[4]) {
		s64 ts[2];
		if (copy_from_user(ts, a[4], sizeof(ts)) < 0)
			return -EFAULT;
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EINVAL;
		timeout = ts[0] * 1000000000 + ts[1];
	}
	u64 mask = 0;
	bool masked = false;
	if (a[5]) {
		u64 sig[2];   /* { const sigset_t *, size_t } */
		if (copy_from_user(sig, a[5], sizeof(sig)) < 0)
			return -EFAULT;
		if (sig[0]) {
			if (sig[1] != sizeof(mask))
				return -EINVAL;
			if (copy_from_user(&mask, sig[0], sizeof(mask)) < 0)
				return -EFAULT;
			masked = true;
		}
	}
	const u64 sets[3] = { a[1], a[2], a[3] };
	u64 old = masked ? proc_wait_mask(mask) : 0;
	long r = do_select((s64)(s32)a[0], sets, timeout, &left);
	if (masked)
		proc_wait_unmask(old, r == -EINTR);
	if (a[4] && r != -EFAULT && r != -EINVAL) {
		s64 ts[2] = { left / 1000000000, left % 1000000000 };
		copy_to_user(a[4], ts, sizeof(ts));
	}
	return r;
}
