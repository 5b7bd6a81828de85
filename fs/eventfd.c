/*
 * eventfd: a 64-bit counter behind a file (Linux's eventfd(2)). A write
 * of 8 bytes adds its value, waiting while the sum would pass
 * EVENTFD_MAX; a read of 8 bytes (or more) takes the whole count, or 1
 * with EFD_SEMAPHORE, waiting while it is 0. Shorter buffers and a write
 * of 2^64 - 1 are -EINVAL. O_NONBLOCK ends waits with -EAGAIN, a signal
 * to take with -EINTR. Readable while the count is not 0, writable while
 * a write of 1 would not wait; epoll watches its one wait queue.
 *
 * Locks: [L] ev->lock (a spinlock: no sleep under it, the copies to and
 * from user memory happen outside) guards the count.
 */
#include "fs/vfs_priv.h"

#define EVENTFD_MAX 0xfffffffffffffffeULL

struct eventfd {
	spinlock_t lock;
	u64 count;             /* [L] */
	bool semaphore;
	struct waitq wq;       /* readers and writers wait here; epoll watches it */
};

static u64 count_of(struct eventfd *ev)
{
	unsigned long fl = spin_lock_irqsave(&ev->lock);
	u64 c = ev->count;
	spin_unlock_irqrestore(&ev->lock, fl);
	return c;
}

/* Take the count (or 1) if not 0: true and *got. */
static bool take(struct eventfd *ev, u64 *got)
{
	unsigned long fl = spin_lock_irqsave(&ev->lock);
	bool ok = ev->count != 0;
	if (ok) {
		*got = ev->semaphore ? 1 : ev->count;
		ev->count -= *got;
	}
	spin_unlock_irqrestore(&ev->lock, fl);
	return ok;
}

/* Add v if the sum stays at most EVENTFD_MAX. */
static bool add(struct eventfd *ev, u64 v)
{
	unsigned long fl = spin_lock_irqsave(&ev->lock);
	bool ok = ev->count <= EVENTFD_MAX - v;
	if (ok)
		ev->count += v;
	spin_unlock_irqrestore(&ev->lock, fl);
	return ok;
}

static long eventfd_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	struct eventfd *ev = f->priv;
	if (u->len < 8)
		return -EINVAL;
	u64 got;
	while (!take(ev, &got)) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		wait_event(&ev->wq, count_of(ev) != 0 || vfs_signalled());
		if (count_of(ev) == 0)
			return -EINTR;
	}
	waitq_wake_all(&ev->wq);   /* writers waiting for room */
	/* as Linux: a bad buffer still took the count */
	return uio_to(u, &got, 8) < 8 ? -EFAULT : 8;
}

static long eventfd_write(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	struct eventfd *ev = f->priv;
	u64 v;
	if (u->len < 8)
		return -EINVAL;
	if (uio_from(u, &v, 8) < 8)
		return -EFAULT;
	if (v == ~0ULL)
		return -EINVAL;
	while (!add(ev, v)) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		wait_event(&ev->wq, count_of(ev) <= EVENTFD_MAX - v || vfs_signalled());
		if (count_of(ev) > EVENTFD_MAX - v)
			return -EINTR;
	}
	waitq_wake_all(&ev->wq);
	return 8;
}

static unsigned eventfd_poll(struct file *f)
{
	u64 c = count_of(f->priv);
	unsigned m = 0;
	if (c)
		m |= POLLIN | POLLRDNORM;
	if (c < EVENTFD_MAX)
		m |= POLLOUT | POLLWRNORM;
	return m;
}

static int eventfd_waitqs(struct file *f, struct waitq **out)
{
	out[0] = &((struct eventfd *)f->priv)->wq;
	return 1;
}

static void eventfd_release(struct file *f)
{
	kfree(f->priv);   /* the last reference: nobody waits any more */
}

static const struct file_ops eventfd_fops = {
	.read = eventfd_read,
	.write = eventfd_write,
	.release = eventfd_release,
	.poll = eventfd_poll,
	.waitqs = eventfd_waitqs,
	.stat_mode = 0600,   /* an anonymous inode's, as Linux's fstat shows */
};

int eventfd_create(u64 initval, bool semaphore, unsigned flags, struct file **out)
{
	struct eventfd *ev = kzalloc(sizeof(*ev));
	struct file *f = ev ? file_alloc(&eventfd_fops, O_RDWR | (flags & O_NONBLOCK)) : NULL;
	if (!f) {
		kfree(ev);
		return -ENOMEM;
	}
	spin_init(&ev->lock, "eventfd");
	waitq_init(&ev->wq, "eventfd");
	ev->count = initval;
	ev->semaphore = semaphore;
	f->priv = ev;
	*out = f;
	return 0;
}
