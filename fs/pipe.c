/*
 * Pipes: a ring of PIPE_SLOTS page-sized slots between a read end and a
 * write end (two struct files sharing one struct pipe), filled the way
 * Linux fills its pipe buffers, so that capacity and partial writes look
 * the same to a program: a write first tops up the last slot with its
 * length modulo the page size when that fits whole, then takes fresh slots
 * of a page each. (Linux's default: 16 slots, 65,536 bytes at most.)
 *
 * A read waits for data, or for the last writer to go (then 0: end of
 * file). A write of at most PIPE_BUF bytes goes in whole or waits for room
 * (POSIX atomicity); a longer one goes in as room appears. With no reader
 * left a write returns what it wrote so far, or -EPIPE (the system-call
 * layer then raises SIGPIPE). O_NONBLOCK ends waits with -EAGAIN.
 *
 * Memory: the slots' pages are taken when the pipe is made, so a write
 * never allocates (DESIGN principle 7).
 *
 * A signal to take ends a wait: -EINTR, or the bytes moved so far.
 *
 * FIFOs (named pipes, mknod S_IFIFO): an open joins the inode's pipe, made
 * at its first open and freed with its last end (bytes left in it are
 * lost, as on Linux). As Linux's fifo_open: O_RDONLY waits until a writer
 * has opened it, O_WRONLY until a reader has (a partner that came and went
 * meanwhile counts), O_RDWR never waits; with O_NONBLOCK a reader does not
 * wait and a writer with no reader gets -ENXIO. A signal ends the wait
 * (-EINTR; no restart). The wait comes after the VFS's name-space lock is
 * dropped (fifo_wait).
 *
 * Locks: [L] pipe->lock (a mutex: copies to and from user memory may sleep
 * on a page fault) guards the slots and the counts; readers and writers
 * sleep on the wait queues, checking the counts again under the lock. A
 * FIFO's inode lock, taken before [L], guards inode->fifo.
 */
#include "fs/vfs_priv.h"
#include "kernel/mm/mm.h"

#define PIPE_SLOTS 16
#define PIPE_BUF   4096

struct slot {
	u8 *page;
	size_t off, len;             /* [L] the bytes held: page[off, off + len) */
};

struct pipe {
	struct mutex lock;
	struct slot slot[PIPE_SLOTS];
	unsigned head, used;         /* [L] the oldest slot, slots holding bytes */
	int readers, writers;        /* [L] open ends (an O_RDWR file is both) */
	unsigned r_opens, w_opens;   /* [L] opens of each side so far (FIFOs) */
	struct inode *fifo;          /* the FIFO's inode, or NULL (pipe(2)) */
	struct waitq rwait, wwait;   /* readers wait for data, writers for room; epoll watches both */
};

static bool readable(struct pipe *p) { return READ_ONCE(p->used) || !READ_ONCE(p->writers); }

static long pipe_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	struct pipe *p = f->priv;
	if (u->len == 0)
		return 0;
	mutex_lock(&p->lock);
	while (!p->used && p->writers) {
		mutex_unlock(&p->lock);
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		wait_event(&p->rwait, readable(p) || vfs_signalled());
		if (!readable(p))
			return -EINTR;
		mutex_lock(&p->lock);
	}
	size_t done = 0;
	bool fault = false;
	while (p->used && u->len) {
		struct slot *s = &p->slot[p->head];
		size_t k = MIN(s->len, u->len);
		size_t got = uio_to(u, s->page + s->off, k);
		s->off += got;
		s->len -= got;
		done += got;
		if (!s->len) {
			s->off = 0;
			p->head = (p->head + 1) % PIPE_SLOTS;
			p->used--;
		}
		if (got < k) {
			fault = true;
			break;
		}
	}
	mutex_unlock(&p->lock);
	if (done)
		waitq_wake_all(&p->wwait);
	return done || !fault ? (long)done : -EFAULT;
}

static bool writable(struct pipe *p) { return READ_ONCE(p->used) < PIPE_SLOTS || !READ_ONCE(p->readers); }

/* Copy up to n bytes into slot s after what it holds. */
static size_t fill(struct slot *s, struct uio *u, size_t n)
{
	size_t got = uio_from(u, s->page + s->off + s->len, n);
	s->len += got;
	return got;
}

static long pipe_write(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	struct pipe *p = f->priv;
	size_t want = u->len, done = 0;
	bool fault = false;
	mutex_lock(&p->lock);
	if (!p->readers) {
		mutex_unlock(&p->lock);
		return -EPIPE;
	}
	/* the length modulo a page tops up the last slot if it fits there */
	size_t chars = want & (PAGE_SIZE - 1);
	if (p->used && chars) {
		struct slot *last = &p->slot[(p->head + p->used - 1) % PIPE_SLOTS];
		if (last->off + last->len + chars <= PAGE_SIZE) {
			size_t got = fill(last, u, chars);
			done += got;
			fault = got < chars;
		}
	}
	while (u->len && !fault) {
		if (!p->readers) {
			mutex_unlock(&p->lock);
			return done ? (long)done : -EPIPE;
		}
		if (p->used == PIPE_SLOTS) {
			mutex_unlock(&p->lock);
			if (done)
				waitq_wake_all(&p->rwait);
			if (f->flags & O_NONBLOCK)
				return done ? (long)done : -EAGAIN;
			wait_event(&p->wwait, writable(p) || vfs_signalled());
			if (!writable(p))
				return done ? (long)done : -EINTR;
			mutex_lock(&p->lock);
			continue;
		}
		/* a write of PIPE_BUF bytes or less needs one slot at most: it
		 * went into the last slot above or goes whole into a new one */
		struct slot *s = &p->slot[(p->head + p->used) % PIPE_SLOTS];
		s->off = s->len = 0;
		size_t k = MIN(u->len, PAGE_SIZE);
		size_t got = fill(s, u, k);
		if (got)
			p->used++;
		done += got;
		fault = got < k;
	}
	mutex_unlock(&p->lock);
	if (done)
		waitq_wake_all(&p->rwait);
	return done || !fault ? (long)done : -EFAULT;
}

static void pipe_free(struct pipe *p)
{
	for (int i = 0; i < PIPE_SLOTS; i++)
		if (p->slot[i].page)
			page_put(virt_to_page(p->slot[i].page));
	kfree(p);
}

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;
	if (!p)
		return;   /* pipe_create gave up before the ends were joined */
	struct inode *fifo = p->fifo;  /* f holds the inode: it is alive */
	unsigned acc = f->flags & O_ACCMODE;
	if (fifo)
		mutex_lock(&fifo->lock);
	mutex_lock(&p->lock);
	if (acc != O_WRONLY)
		p->readers--;
	if (acc != O_RDONLY)
		p->writers--;
	bool last = !p->readers && !p->writers;
	mutex_unlock(&p->lock);
	if (fifo) {
		if (last)
			fifo->fifo = NULL;   /* the next open makes a new pipe */
		mutex_unlock(&fifo->lock);
	}
	waitq_wake_all(&p->rwait);
	waitq_wake_all(&p->wwait);
	if (last) {
		/* no end left: nobody else can reach p (the wake-ups above took
		 * and released each queue's lock after the sleepers left) */
		pipe_free(p);
	}
}

/* as Linux: a read end is readable with data, hung up with no writer; a
 * write end writable with a free slot, in error with no reader (a FIFO
 * opened O_RDWR is both) */
static unsigned pipe_poll(struct file *f)
{
	struct pipe *p = f->priv;
	unsigned ev = 0, acc = f->flags & O_ACCMODE;
	mutex_lock(&p->lock);
	if (acc != O_WRONLY) {
		if (p->used)
			ev |= POLLIN | POLLRDNORM;
		/* (a FIFO's reader opened with O_NONBLOCK and no writer sees
		 * no hang-up until a writer has come: Linux's f_version) */
		if (!p->writers && f->pos != p->w_opens)
			ev |= POLLHUP;
	}
	if (acc != O_RDONLY) {
		if (p->used < PIPE_SLOTS)
			ev |= POLLOUT | POLLWRNORM;
		if (!p->readers)
			ev |= POLLERR;
	}
	mutex_unlock(&p->lock);
	return ev;
}


/* both queues: a reader's hang-up and a writer's broken pipe wake the
 * other side's queue too */
static int pipe_waitqs(struct file *f, struct waitq **out)
{
	struct pipe *p = f->priv;
	out[0] = &p->rwait;
	out[1] = &p->wwait;
	return 2;
}

/* O_ASYNC: a read end's readers' queue (a write, the last writer
 * gone), a write end's writers' queue (a read, the last reader gone), as
 * Linux's fasync_readers and fasync_writers; a FIFO open for both, both */
static int pipe_async_waitqs(struct file *f, struct waitq **out)
{
	struct pipe *p = f->priv;
	unsigned acc = f->flags & O_ACCMODE;
	int n = 0;
	if (acc != O_WRONLY)
		out[n++] = &p->rwait;
	if (acc != O_RDONLY)
		out[n++] = &p->wwait;
	return n;
}

#define FIONREAD 0x541B

/* FIONREAD: the bytes a read would find now; other requests -ENOTTY. */
static long pipe_ioctl(struct file *f, unsigned cmd, u64 arg)
{
	if (cmd != FIONREAD)
		return -ENOTTY;
	struct pipe *p = f->priv;
	mutex_lock(&p->lock);
	size_t n = 0;
	for (unsigned i = 0; i < p->used; i++)
		n += p->slot[(p->head + i) % PIPE_SLOTS].len;
	mutex_unlock(&p->lock);
	int v = (int)n;
	struct uio u = { arg, sizeof(v), true };
	return uio_to(&u, &v, sizeof(v)) == sizeof(v) ? 0 : -EFAULT;
}

static const struct file_ops pipe_fops = {
	.ioctl = pipe_ioctl,
	.read = pipe_read,
	.write = pipe_write,
	.release = pipe_release,
	.poll = pipe_poll,
	.waitqs = pipe_waitqs,
	.async_waitqs = pipe_async_waitqs,
};

/* A pipe with no end yet and its slots' pages, or NULL. */
static struct pipe *pipe_new(void)
{
	if (page_free_count() <= PIPE_SLOTS + 64)
		return NULL;
	struct pipe *p = kzalloc(sizeof(*p));
	if (!p)
		return NULL;
	for (int i = 0; i < PIPE_SLOTS; i++) {
		struct page *pg = page_alloc(0);
		if (!pg) {
			pipe_free(p);
			return NULL;
		}
		p->slot[i].page = page_address(pg);
	}
	mutex_init(&p->lock, "pipe");
	waitq_init(&p->rwait, "pipe_read");
	waitq_init(&p->wwait, "pipe_write");
	return p;
}

int pipe_create(unsigned flags, struct file **rd, struct file **wr)
{
	struct pipe *p = pipe_new();
	struct file *r = file_alloc(&pipe_fops, O_RDONLY | (flags & O_NONBLOCK));
	struct file *w = file_alloc(&pipe_fops, O_WRONLY | (flags & O_NONBLOCK));
	if (!p || !r || !w) {
		if (p)
			pipe_free(p);
		if (r)
			file_put(r);   /* no priv yet: release does nothing */
		if (w)
			file_put(w);
		return -ENOMEM;
	}
	p->readers = p->writers = 1;
	p->r_opens = p->w_opens = 1;   /* (f->pos 0: a hang-up shows) */
	r->priv = w->priv = p;
	*rd = r;
	*wr = w;
	return 0;
}

int fifo_open(struct inode *ino, struct file *f)
{
	unsigned acc = f->flags & O_ACCMODE;
	mutex_lock(&ino->lock);
	struct pipe *p = ino->fifo;
	if (!p && !(p = pipe_new())) {
		mutex_unlock(&ino->lock);
		return -ENOMEM;
	}
	mutex_lock(&p->lock);
	if (acc == O_WRONLY && (f->flags & O_NONBLOCK) && !p->readers) {
		mutex_unlock(&p->lock);
		if (!ino->fifo)
			pipe_free(p);   /* made for this open, seen by nobody */
		mutex_unlock(&ino->lock);
		return -ENXIO;
	}
	if (acc != O_WRONLY) {
		/* f->pos (a pipe has no position): the writers' opens a hang-up
		 * waits to differ from, 0 if it need not wait */
		f->pos = acc == O_RDONLY && (f->flags & O_NONBLOCK) && !p->writers ? p->w_opens : 0;
		p->readers++;
		p->r_opens++;
	}
	if (acc != O_RDONLY) {
		p->writers++;
		p->w_opens++;
	}
	p->fifo = ino;
	ino->fifo = p;
	mutex_unlock(&p->lock);
	mutex_unlock(&ino->lock);
	f->priv = p;
	f->ops = &pipe_fops;
	/* an open waiting for this side goes on */
	waitq_wake_all(&p->rwait);
	waitq_wake_all(&p->wwait);
	return 0;
}

/* Has a partner opened since the count was seen? */
static bool partner_came(struct pipe *p, bool reader, unsigned seen)
{
	return (reader ? READ_ONCE(p->w_opens) : READ_ONCE(p->r_opens)) != seen;
}

int fifo_wait(struct file *f)
{
	struct pipe *p = f->priv;
	unsigned acc = f->flags & O_ACCMODE;
	if (acc == O_RDWR || (f->flags & O_NONBLOCK))
		return 0;
	bool reader = acc == O_RDONLY;
	mutex_lock(&p->lock);
	bool there = reader ? p->writers > 0 : p->readers > 0;
	unsigned seen = reader ? p->w_opens : p->r_opens;
	mutex_unlock(&p->lock);
	if (there)
		return 0;
	struct waitq *wq = reader ? &p->rwait : &p->wwait;
	wait_event(wq, partner_came(p, reader, seen) || vfs_signalled());
	return partner_came(p, reader, seen) ? 0 : -EINTR;
}
