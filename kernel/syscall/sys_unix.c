/*
 * socketpair: AF_UNIX streams as two pipes joined crosswise (fs/pipe.c).
 * Its ends are files of their own; send, sendto, sendmsg, recv, recvfrom
 * and recvmsg reach them through sys_net.c (sys_sock_priv.h).
 *
 * Descriptors in flight (SCM_RIGHTS). Each direction of a pair is a
 * struct unixdir: the bytes sent into it and taken out of it so far, and
 * the batches of files sent with sendmsg, each marked with the stream
 * offset of the first byte sent with it. A receive that takes that byte
 * takes the batch: recvmsg installs its files as new descriptors (a
 * control buffer too small: MSG_CTRUNC, the rest closed); read, recv and
 * recvfrom close them, as Linux does. A batch sent with no byte is not
 * sent (-EINVAL is not Linux's answer there: it sends nothing, counted as
 * a byte of 0 length; no program here does that).
 *
 * An end's release drops what was queued into it (nobody can receive it
 * any more), as Linux purges a closed socket's receive queue.
 *
 * Garbage: ends sent over themselves or each other and then closed hold
 * each other's last references from inside their queues, and nothing
 * else would ever free them. unix_gc finds them as Linux's unix_gc does:
 * a candidate is an end whose every reference sits in a queue; the ends
 * that are not candidates (a descriptor, a call in progress holds them)
 * are roots, and what sits in a root's incoming queue, or in the
 * incoming queue of an end found so, can still be received; the
 * candidates not found are garbage, and their incoming queues are
 * dropped, which frees them. It runs when an end is released and when
 * ends are sent, while ends are in flight, so garbage stays bounded by
 * what was made since the last release or send. Files are put through
 * rights_defer, which never recurses (a chain of ends, each in the next
 * one's queue, would otherwise be a chain of releases on the stack).
 *
 * Locks: [S] send (a mutex) serialises the sends into a direction, so a
 * batch's offset is the place of its bytes; [R] recv the receives; [G]
 * gc_lock (a spinlock, global) every batch list and the list of ends,
 * so that the collector sees no file move while it looks; [F] free_lock
 * the deferred puts.
 */
#include "kernel/syscall/sys_sock_priv.h"
#include "kernel/mm/mm.h"
#include "kernel/lib/counter.h"

#define SCM_RIGHTS  1
#define SCM_MAX_FD  253   /* Linux's most files in one message */

struct rights {
	struct rights *next;   /* [Q] */
	u64 at;                /* the offset of its first byte in the stream */
	int n;
	struct file *f[];      /* references */
};

struct unixdir {
	int refs;              /* [atomic] the two ends */
	struct mutex send, recv;
	u64 sent;              /* [S] */
	u64 taken;             /* [R] */
	struct rights *head, *tail;   /* [G] */
};

struct unixpair {
	struct file *rd, *wr;   /* references */
	struct unixdir *in, *out;   /* a reference each */
	struct file *self;      /* the end's own file (no reference) */
	struct list_node link;  /* [G] on ends */
	u32 inflight;           /* [G] unix_gc: its references in queues */
	bool cand, mark;        /* [G] unix_gc: all of them are; still receivable */
	struct unixpair *scan;  /* [G] unix_gc: the next end to look into */
};

static spinlock_t gc_lock = SPINLOCK_INIT("unix.gc");
static struct list_node ends = { &ends, &ends };   /* [G] every end not released */
static u64 queued_ends;   /* [G] ends in batches on queues */
static bool gc_running;   /* [atomic] */
static u64 live_ends, gc_runs, gc_freed;
KCOUNTER_VAR("unix.ends", "sockets", live_ends);
KCOUNTER_VAR("unix.gc_runs", "runs", gc_runs);
KCOUNTER_VAR("unix.gc_freed", "sockets", gc_freed);   /* garbage ends whose queues it dropped */

static const struct file_ops unix_fops;

/* The end f is, or NULL. */
static struct unixpair *end_of(struct file *f)
{
	return f && f->ops == &unix_fops ? f->priv : NULL;
}

static u32 ends_in(const struct rights *r)
{
	u32 n = 0;
	for (int i = 0; i < r->n; i++)
		n += end_of(r->f[i]) != NULL;
	return n;
}

static void rights_free(struct rights *r)
{
	for (int i = 0; i < r->n; i++)
		if (r->f[i])
			file_put(r->f[i]);
	kfree(r);
}

static spinlock_t free_lock = SPINLOCK_INIT("unix.free");
static struct rights *free_head;   /* [F] batches whose files are to be put */
static bool freeing;               /* [F] a caller is putting them */

/* Put the files of a chain of batches and free them. A put may release an
 * end, whose queue joins the list here; the outermost caller (on any
 * CPU) goes on until the list is empty, so the stack never grows with a
 * chain of ends. */
static void rights_defer(struct rights *r)
{
	if (!r)
		return;
	struct rights *last = r;
	while (last->next)
		last = last->next;
	unsigned long fl = spin_lock_irqsave(&free_lock);
	last->next = free_head;
	free_head = r;
	if (freeing) {
		spin_unlock_irqrestore(&free_lock, fl);
		return;
	}
	freeing = true;
	while (free_head) {
		struct rights *b = free_head;
		free_head = b->next;
		spin_unlock_irqrestore(&free_lock, fl);
		rights_free(b);
		fl = spin_lock_irqsave(&free_lock);
	}
	freeing = false;
	spin_unlock_irqrestore(&free_lock, fl);
}

/* The whole queue of d, unlinked (its ends no longer counted). [G] */
static struct rights *queue_detach(struct unixdir *d)
{
	struct rights *r = d->head;
	for (struct rights *b = r; b; b = b->next)
		queued_ends -= ends_in(b);
	d->head = d->tail = NULL;
	return r;
}

static void unixdir_put(struct unixdir *d)
{
	if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL))
		return;
	unsigned long fl = spin_lock_irqsave(&gc_lock);
	struct rights *r = queue_detach(d);
	spin_unlock_irqrestore(&gc_lock, fl);
	rights_defer(r);
	kfree(d);
}

/* The candidates in up's incoming queue not yet found, found and put on
 * the work list. [G] */
static void scan_in(struct unixpair *up, struct unixpair **work)
{
	for (struct rights *b = up->in->head; b; b = b->next)
		for (int i = 0; i < b->n; i++) {
			struct unixpair *x = end_of(b->f[i]);
			if (x && x->cand && !x->mark) {
				x->mark = true;
				x->scan = *work;
				*work = x;
			}
		}
}

/* Free the ends that only queues of such ends hold (above). One collection
 * at a time; one that finds another running leaves the work to it. */
static void unix_gc(void)
{
	if (__atomic_exchange_n(&gc_running, true, __ATOMIC_ACQUIRE))
		return;
	struct rights *dead = NULL;
	unsigned long fl = spin_lock_irqsave(&gc_lock);
	if (queued_ends) {
		__atomic_add_fetch(&gc_runs, 1, __ATOMIC_RELAXED);
		struct list_node *n;
		list_for_each(n, &ends) {
			struct unixpair *up = list_entry(n, struct unixpair, link);
			up->inflight = 0;
			up->mark = false;
		}
		list_for_each(n, &ends) {
			struct unixpair *up = list_entry(n, struct unixpair, link);
			for (struct rights *b = up->in->head; b; b = b->next)
				for (int i = 0; i < b->n; i++) {
					struct unixpair *x = end_of(b->f[i]);
					if (x)
						x->inflight++;
				}
		}
		/* a reference taken meanwhile (a dup, a call starting) only
		 * makes a root: the queues cannot change under [G] */
		list_for_each(n, &ends) {
			struct unixpair *up = list_entry(n, struct unixpair, link);
			up->cand = up->inflight &&
				   up->inflight == (u32)__atomic_load_n(&up->self->refs, __ATOMIC_ACQUIRE);
		}
		struct unixpair *work = NULL;
		list_for_each(n, &ends) {
			struct unixpair *up = list_entry(n, struct unixpair, link);
			if (!up->cand)
				scan_in(up, &work);
		}
		while (work) {
			struct unixpair *x = work;
			work = x->scan;
			scan_in(x, &work);
		}
		list_for_each(n, &ends) {
			struct unixpair *up = list_entry(n, struct unixpair, link);
			if (!up->cand || up->mark)
				continue;
			__atomic_add_fetch(&gc_freed, 1, __ATOMIC_RELAXED);
			struct rights *r = queue_detach(up->in);
			if (r) {
				struct rights *last = r;
				while (last->next)
					last = last->next;
				last->next = dead;
				dead = r;
			}
		}
	}
	spin_unlock_irqrestore(&gc_lock, fl);
	rights_defer(dead);   /* the garbage's last references: their releases */
	__atomic_store_n(&gc_running, false, __ATOMIC_RELEASE);
}

/* After a receive of n bytes ([R] held): the batches sent with them, in
 * order, unlinked from the queue. */
static struct rights *rights_take(struct unixdir *d, u64 n)
{
	struct rights *got = NULL, **end = &got;
	/* no batch yet: one queued from now on lies past these bytes (it is
	 * queued before its bytes are written) */
	if (__atomic_load_n(&d->head, __ATOMIC_ACQUIRE)) {
		unsigned long fl = spin_lock_irqsave(&gc_lock);
		while (d->head && d->head->at < d->taken + n) {
			struct rights *r = d->head;
			d->head = r->next;
			if (!d->head)
				d->tail = NULL;
			queued_ends -= ends_in(r);
			r->next = NULL;
			*end = r;
			end = &r->next;
		}
		spin_unlock_irqrestore(&gc_lock, fl);
	}
	d->taken += n;
	return got;
}

static void rights_drop(struct rights *r)
{
	rights_defer(r);
}

static void pipe_nonblock(struct file *pipe, bool nb)
{
	unsigned fl = __atomic_load_n(&pipe->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&pipe->flags, (fl & ~(unsigned)O_NONBLOCK) | (nb ? O_NONBLOCK : 0),
			 __ATOMIC_RELAXED);
}

static long unix_read(struct file *f, struct uio *u, u64 *pos)
{
	struct unixpair *up = f->priv;
	mutex_lock(&up->in->recv);
	pipe_nonblock(up->rd, f->flags & O_NONBLOCK);
	long r = vfs_read(up->rd, u, pos);
	struct rights *got = r > 0 ? rights_take(up->in, (u64)r) : NULL;
	mutex_unlock(&up->in->recv);
	rights_drop(got);   /* a plain read closes the files that came with it */
	return r;
}

static long unix_write(struct file *f, struct uio *u, u64 *pos)
{
	struct unixpair *up = f->priv;
	mutex_lock(&up->out->send);
	pipe_nonblock(up->wr, f->flags & O_NONBLOCK);
	long r = vfs_write(up->wr, u, pos);
	if (r > 0)
		up->out->sent += (u64)r;
	mutex_unlock(&up->out->send);
	return r;
}

/* The files an SCM_RIGHTS control buffer names, with references, in a
 * new batch (*out; NULL: the buffer names none). -EINVAL for another
 * kind of message or too many files, -EBADF, -EFAULT, -ENOMEM. */
long sys_unix_rights_get(u64 uctl, u64 len, struct rights **out)
{
	*out = NULL;
	if (len == 0)
		return 0;
	if (len < 16 || len > 16 + 4 * SCM_MAX_FD + 8)
		return -EINVAL;
	struct { u64 len; s32 level, type; s32 fds[SCM_MAX_FD + 2]; } c;
	if (copy_from_user(&c, uctl, len) < 0)
		return -EFAULT;
	if (c.level != SOL_SOCKET || c.type != SCM_RIGHTS || c.len < 16 || c.len > len ||
	    ((c.len - 16) & 3))
		return -EINVAL;
	int n = (int)((c.len - 16) / 4);
	struct rights *r = kzalloc(sizeof(*r) + (size_t)n * sizeof(struct file *));
	if (!r)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		r->f[i] = c.fds[i] >= 0 ? sys_file((u64)c.fds[i]) : NULL;
		if (!r->f[i]) {
			rights_free(r);
			return -EBADF;
		}
		r->n = i + 1;
	}
	*out = r;
	return 0;
}

/* sendmsg on a socketpair's end with files: the batch joins the queue at
 * the offset of the bytes, which then go as a write does. */
long sys_unix_send_rights(struct file *f, const struct vec *v, int flags, struct rights *rt)
{
	struct unixpair *up = f->priv;
	struct unixdir *d = up->out;
	u32 nends = ends_in(rt);
	if (nends)
		unix_gc();   /* garbage stays bounded by what one send adds */
	mutex_lock(&d->send);
	rt->at = d->sent;
	unsigned long fl = spin_lock_irqsave(&gc_lock);
	if (d->tail)
		d->tail->next = rt;
	else
		__atomic_store_n(&d->head, rt, __ATOMIC_RELEASE);
	d->tail = rt;
	queued_ends += nends;
	spin_unlock_irqrestore(&gc_lock, fl);
	pipe_nonblock(up->wr, (flags & LX_MSG_DONTWAIT) || (f->flags & O_NONBLOCK));
	long r = v->total ? sys_file_rw_iovecs(up->wr, v->iov, v->n, v->total, true) : 0;
	if (r > 0) {
		d->sent += (u64)r;
	} else {
		/* nothing sent: no receiver can have taken it (it is the
		 * tail and no byte lies past it), but the receiver's release
		 * may have dropped it already (then it is not ours to free) */
		fl = spin_lock_irqsave(&gc_lock);
		struct rights **pp = &d->head, *prev = NULL;
		while (*pp && *pp != rt) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		bool ours = *pp == rt;
		if (ours) {
			*pp = NULL;
			d->tail = prev;
			queued_ends -= nends;
		}
		spin_unlock_irqrestore(&gc_lock, fl);
		if (ours)
			rights_free(rt);
		if (r == 0)
			r = -EINVAL;
	}
	mutex_unlock(&d->send);
	if (r == -EPIPE && !(flags & LX_MSG_NOSIGNAL))
		proc_raise_sigpipe();
	return r;
}

/* recvmsg on a socketpair's end: the bytes, and the files sent with them
 * as new descriptors in an SCM_RIGHTS message of the control buffer
 * (*ctl_used bytes of it; *ctrunc when it could not hold them all). */
long sys_unix_recvmsg(struct file *f, const struct vec *v, int flags, u64 uctl, u64 ctl_len,
		      u64 *ctl_used, bool *ctrunc)
{
	struct unixpair *up = f->priv;
	*ctl_used = 0;
	*ctrunc = false;
	mutex_lock(&up->in->recv);
	pipe_nonblock(up->rd, (flags & LX_MSG_DONTWAIT) || (f->flags & O_NONBLOCK));
	long r = sys_file_rw_iovecs(up->rd, v->iov, v->n, v->total, false);
	struct rights *got = r > 0 ? rights_take(up->in, (u64)r) : NULL;
	mutex_unlock(&up->in->recv);
	struct { u64 len; s32 level, type; s32 fds[SCM_MAX_FD + 1]; } c = { 0, SOL_SOCKET,
									     SCM_RIGHTS, { 0 } };
	int n = 0;
	u64 room = ctl_len >= 16 ? (ctl_len - 16) / 4 : 0;
	struct fdtable *t = proc_current()->fds;
	for (struct rights *b = got; b; b = b->next)
		for (int i = 0; i < b->n; i++) {
			int fd = (u64)n < room && n <= SCM_MAX_FD ?
				 fd_install(t, 0, b->f[i], flags & LX_MSG_CMSG_CLOEXEC) : -1;
			if (fd < 0) {
				*ctrunc = true;
				continue;
			}
			b->f[i] = NULL;   /* the descriptor holds its reference */
			c.fds[n++] = fd;
		}
	while (got) {   /* what was not installed is closed */
		struct rights *next = got->next;
		for (int i = 0; i < got->n; i++)
			if (got->f[i])
				file_put(got->f[i]);
		kfree(got);
		got = next;
	}
	if (n) {
		c.len = 16 + 4 * (u64)n;
		*ctl_used = MIN(ALIGN_UP(c.len, 8), ctl_len);
		if (copy_to_user(uctl, &c, c.len) < 0)
			return -EFAULT;
	}
	return r;
}

static unsigned unix_poll(struct file *f)
{
	struct unixpair *up = f->priv;
	unsigned r = up->rd->ops->poll(up->rd), w = up->wr->ops->poll(up->wr);
	unsigned m = (r & (POLLIN | POLLRDNORM)) | (w & (POLLOUT | POLLWRNORM));
	if (r & POLLHUP)   /* the other end closed */
		m |= POLLIN | POLLRDNORM | POLLHUP | POLLRDHUP;
	return m;
}

static int unix_waitqs(struct file *f, struct waitq **out)
{
	struct unixpair *up = f->priv;
	int n = up->rd->ops->waitqs(up->rd, out);
	return n + up->wr->ops->waitqs(up->wr, out + n);
}

/* O_ASYNC: data arriving (the receive pipe's readers' queue) and room to
 * send (the send pipe's writers' queue) */
static int unix_async_waitqs(struct file *f, struct waitq **out)
{
	struct unixpair *up = f->priv;
	int n = up->rd->ops->async_waitqs(up->rd, out);
	return n + up->wr->ops->async_waitqs(up->wr, out + n);
}

static void unix_release(struct file *f)
{
	struct unixpair *up = f->priv;
	if (!up)
		return;
	unsigned long fl = spin_lock_irqsave(&gc_lock);
	list_remove(&up->link);
	struct rights *purged = queue_detach(up->in);   /* nobody can receive it now */
	bool collect = queued_ends != 0;
	spin_unlock_irqrestore(&gc_lock, fl);
	__atomic_sub_fetch(&live_ends, 1, __ATOMIC_RELAXED);
	file_put(up->rd);
	file_put(up->wr);
	unixdir_put(up->in);
	unixdir_put(up->out);
	kfree(up);
	rights_defer(purged);
	if (collect)
		unix_gc();
}

static const struct file_ops unix_fops = {
	.read = unix_read,
	.write = unix_write,
	.release = unix_release,
	.poll = unix_poll,
	.waitqs = unix_waitqs,
	.async_waitqs = unix_async_waitqs,
	.stat_mode = S_IFSOCK | 0777,
};

bool sys_unix_end(struct file *f)
{
	return f->ops == &unix_fops;
}

long sys_unix_io(struct file *f, const struct vec *v, bool write, int flags)
{
	unsigned saved = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
	if (flags & LX_MSG_DONTWAIT)
		__atomic_or_fetch(&f->flags, O_NONBLOCK, __ATOMIC_RELAXED);
	long r = sys_file_rw_iovecs(f, v->iov, v->n, v->total, write);
	if (flags & LX_MSG_DONTWAIT)
		__atomic_store_n(&f->flags, saved, __ATOMIC_RELAXED);
	if (r == -EPIPE && write && !(flags & LX_MSG_NOSIGNAL))
		proc_raise_sigpipe();
	return r;
}

long sys_socketpair(const u64 a[6])
{
	int domain = (int)a[0], type = (int)a[1] & SOCK_TYPE_MASK, proto = (int)a[2];
	unsigned flags = (unsigned)a[1] & ~(unsigned)SOCK_TYPE_MASK;
	if (flags & ~(unsigned)(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (domain == AF_INET)
		return -EOPNOTSUPP;
	if (domain != AF_UNIX)
		return -EAFNOSUPPORT;
	if (type != LX_SOCK_STREAM)
		return type == LX_SOCK_DGRAM || type == LX_SOCK_SEQPACKET ? -EOPNOTSUPP : -ESOCKTNOSUPPORT;
	if (proto != 0)
		return -EPROTONOSUPPORT;
	struct file *r1, *w1, *r2, *w2;
	int r = pipe_create(0, &r1, &w1);
	if (r < 0)
		return r;
	r = pipe_create(0, &r2, &w2);
	if (r < 0) {
		file_put(r1);
		file_put(w1);
		return r;
	}
	struct unixpair *p0 = kzalloc(sizeof(*p0)), *p1 = kzalloc(sizeof(*p1));
	struct unixdir *d0 = kzalloc(sizeof(*d0)), *d1 = kzalloc(sizeof(*d1));
	struct file *f0 = file_alloc(&unix_fops, O_RDWR | (flags & SOCK_NONBLOCK));
	struct file *f1 = file_alloc(&unix_fops, O_RDWR | (flags & SOCK_NONBLOCK));
	if (!p0 || !p1 || !d0 || !d1 || !f0 || !f1) {
		kfree(p0);
		kfree(p1);
		kfree(d0);
		kfree(d1);
		if (f0)
			file_put(f0);
		if (f1)
			file_put(f1);
		file_put(r1);
		file_put(w1);
		file_put(r2);
		file_put(w2);
		return -ENOMEM;
	}
	struct unixdir *dirs[2] = { d0, d1 };   /* d0: into end 0 (r1), d1: into end 1 */
	for (int i = 0; i < 2; i++) {
		dirs[i]->refs = 2;
		mutex_init(&dirs[i]->send, "unix.send");
		mutex_init(&dirs[i]->recv, "unix.recv");
	}
	p0->rd = r1, p0->wr = w2, p0->in = d0, p0->out = d1, p0->self = f0;
	p1->rd = r2, p1->wr = w1, p1->in = d1, p1->out = d0, p1->self = f1;
	unsigned long fl = spin_lock_irqsave(&gc_lock);
	list_push_back(&ends, &p0->link);
	list_push_back(&ends, &p1->link);
	spin_unlock_irqrestore(&gc_lock, fl);
	__atomic_add_fetch(&live_ends, 2, __ATOMIC_RELAXED);
	f0->priv = p0;
	f1->priv = p1;
	struct fdtable *t = proc_current()->fds;
	bool cloexec = flags & SOCK_CLOEXEC;
	int fds[2];
	fds[0] = fd_install(t, 0, f0, cloexec);
	if (fds[0] < 0) {
		file_put(f0);
		file_put(f1);
		return fds[0];
	}
	fds[1] = fd_install(t, 0, f1, cloexec);
	if (fds[1] < 0) {
		fd_close(t, (u64)fds[0]);
		file_put(f1);
		return fds[1];
	}
	if (copy_to_user(a[3], fds, sizeof(fds)) < 0) {
		fd_close(t, (u64)fds[0]);
		fd_close(t, (u64)fds[1]);
		return -EFAULT;
	}
	return 0;
}
