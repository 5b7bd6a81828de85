/*
 * epoll: epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
 * epoll_pwait2. An epoll instance is a file (ops below) holding entries,
 * one per watched (file, descriptor) pair as on Linux.
 *
 * Ready lists: an entry stands on the wait queues its file names
 * (file_ops.waitqs: a socket's, a pipe's two) as a watch (waitq_watch);
 * every wakeup there puts the entry on its instance's ready list and wakes
 * that instance's waiters. A wait looks only at the entries on the ready
 * list, asking each file's poll op what is ready: a level-triggered entry
 * that reports goes back to the list's end (looked at again next time, as
 * on Linux; a small maxevents serves all in turn), an edge-triggered one
 * (EPOLLET) leaves it until the next wakeup, so each arrival is reported
 * once; EPOLLONESHOT disables an entry after one report until
 * EPOLL_CTL_MOD. ADD and MOD put the entry on the list (Linux looks at
 * once). Files with a poll op but no wait queues (the console) are looked
 * at by every wait, and again every EP_RECHECK_NS while one is watched;
 * their edges are rising ready bits. Files without a poll op (regular
 * files, /dev/null) cannot be watched: -EPERM, as Linux answers.
 * EPOLLEXCLUSIVE (with ADD only) makes the entry's watches exclusive: a
 * wakeup of the file goes to the exclusive entries in the order they were
 * added until one whose instance has a thread waiting takes it (Linux's
 * rule). The entries before it were queued on their instances' ready
 * lists (seen at their next wait), the ones after it miss this wakeup: N
 * processes asleep on one listener each with its own instance wake one,
 * not N. EPOLLWAKEUP is ignored.
 *
 * Closing: an entry holds no reference on its file. When the file's last
 * reference goes (every descriptor for it closed), file_put calls
 * ep_unwatch, which drops the file's entries, as Linux does; an entry
 * whose descriptor was closed while a dup kept the file open stays and
 * reports under the old number (Linux's behaviour too). Closing the epoll
 * descriptor drops its entries.
 *
 * Locks, in this order:
 *   [F] a file's stripe (ep_stripes, a mutex chosen by the file's
 *       address): the file's ep_links;
 *   [M] ep->mtx: the instance's entries (items, polled, n) and its scans;
 *       an entry is freed only under [F] and [M], so a scan holding [M]
 *       may use its entries and their files;
 *   [W] a watched file's wait queue lock (the watch's callback runs
 *       under it);
 *   [R] ep->lock (a spinlock, interrupts off): the ready list and each
 *       entry's events, data, armed, on_ready.
 * Poll ops are called under [M] (they take their own locks, never these).
 * Never call file_put while holding them. An epoll descriptor cannot be
 * watched by an epoll instance (-EINVAL; Linux allows nesting).
 *
 * Bounds: EP_MAX_ITEMS entries an instance (-ENOSPC, as Linux's
 * max_user_watches gives); a wait reports at most maxevents.
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

#define EPOLLIN        0x001u
#define EPOLLERR       0x008u
#define EPOLLHUP       0x010u
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP    (1u << 29)
#define EPOLLONESHOT   (1u << 30)
#define EPOLLET        (1u << 31)
#define EP_FLAGS       (EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET)

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLL_CLOEXEC O_CLOEXEC

#define EP_MAX_ITEMS   65536
#define EP_MAX_EVENTS  (0x7fffffff / 12)
#define EP_RECHECK_NS  10000000ull
#define EP_STRIPES     64

struct lx_epoll_event {
	u32 events;
	u64 data;
} __attribute__((packed));

struct epoll;
struct epitem;

/* An entry's watch on one of its file's wait queues. */
struct ep_hook {
	struct waiter w;             /* a standing watch (waitq_watch) */
	struct waitq *wq;
	struct epitem *it;
};

struct epitem {
	struct list_node link;       /* [M] in ep->items */
	struct list_node flink;      /* [F] in file->ep_links */
	struct list_node rlink;      /* [R] in ep->ready; for a polled entry [M] in ep->polled */
	struct epoll *ep;
	struct file *file;           /* no reference (see the top) */
	int fd;
	u32 events;                  /* [R] asked, with the EP_FLAGS */
	u64 data;                    /* [R] */
	bool armed;                  /* [R] false: a EPOLLONESHOT report was made */
	bool on_ready;               /* [R] in ep->ready */
	bool polled;                 /* no wait queue: on ep->polled (fixed) */
	unsigned seen_ready;         /* [M] polled, EPOLLET: ready bits at the last look */
	int nhooks;
	struct ep_hook hooks[FILE_WAITQS_MAX];
};

struct epoll {
	struct mutex mtx;            /* [M] */
	spinlock_t lock;             /* [R] */
	struct list_node items;      /* [M] */
	struct list_node polled;     /* [M] entries of files without wait queues */
	struct list_node ready;      /* [R] */
	u32 n;                       /* [M] */
	struct waitq wq;             /* epoll_wait sleeps here */
};

static struct mutex ep_stripes[EP_STRIPES];

static const struct file_ops epoll_fops;

static struct mutex *stripe(const struct file *f)
{
	uptr a = (uptr)f;
	return &ep_stripes[(a >> 6 ^ a >> 12) % EP_STRIPES];
}

/* Put it on its ready list unless there or disarmed. [R] held. */
static bool queue_locked(struct epitem *it)
{
	if (it->polled || it->on_ready || !it->armed)
		return false;
	list_push_back(&it->ep->ready, &it->rlink);
	it->on_ready = true;
	return true;
}

/* A wakeup on one of the entry's wait queues ([W] held, interrupts off). */
static bool ep_callback(struct waiter *w)
{
	struct epitem *it = container_of(w, struct ep_hook, w)->it;
	struct epoll *ep = it->ep;
	unsigned long fl = spin_lock_irqsave(&ep->lock);
	bool queued = queue_locked(it);
	bool listed = it->on_ready; /* queued now or before: a waiter will look */
	spin_unlock_irqrestore(&ep->lock, fl);
	/* an exclusive entry takes the wakeup only if a thread of its
	 * instance wakes for it; else the next exclusive entry is asked */
	if (queued || (w->exclusive && listed))
		return waitq_wake_all(&ep->wq) > 0;
	return false;
}

/* Drop an entry: off its wait queues (no callback runs after), its lists,
 * freed. [F] and [M] held. */
static void item_free(struct epitem *it)
{
	struct epoll *ep = it->ep;
	for (int i = 0; i < it->nhooks; i++)
		wait_finish(it->hooks[i].wq, &it->hooks[i].w);
	unsigned long fl = spin_lock_irqsave(&ep->lock);
	if (it->on_ready)
		list_remove(&it->rlink);
	spin_unlock_irqrestore(&ep->lock, fl);
	if (it->polled)
		list_remove(&it->rlink);
	list_remove(&it->link);
	list_remove(&it->flink);
	ep->n--;
	kfree(it);
}

/* file_put's hook: f's last reference went; drop its entries. An entry in
 * f->ep_links under [F] has a live instance: epoll_release frees its
 * entries under their files' [F]. */
static void ep_unwatch(struct file *f)
{
	struct mutex *m = stripe(f);
	mutex_lock(m);
	while (!list_empty(&f->ep_links)) {
		struct epitem *it = list_entry(f->ep_links.next, struct epitem, flink);
		struct epoll *ep = it->ep;
		mutex_lock(&ep->mtx);
		item_free(it);
		mutex_unlock(&ep->mtx);
	}
	mutex_unlock(m);
}

void epoll_init(void)
{
	for (int i = 0; i < EP_STRIPES; i++)
		mutex_init(&ep_stripes[i], "epoll_file");
	vfs_file_unwatch = ep_unwatch;
}

static unsigned file_ready(struct file *f) { return f->ops->poll(f); }

static unsigned item_ready(struct epitem *it, u32 events)
{
	return file_ready(it->file) & (events | EPOLLERR | EPOLLHUP) & ~EP_FLAGS;
}

/* Up to max events into out: the polled entries, then the ready list
 * (each entry on it when the scan began at most once). [M] held. */
static int ep_collect(struct epoll *ep, struct lx_epoll_event *out, int max)
{
	int k = 0;
	struct list_node *n;
	list_for_each(n, &ep->polled) {
		struct epitem *it = list_entry(n, struct epitem, rlink);
		if (k >= max)
			break;
		unsigned long fl = spin_lock_irqsave(&ep->lock);
		u32 events = it->armed ? it->events : 0;
		u64 data = it->data;
		spin_unlock_irqrestore(&ep->lock, fl);
		if (!events)
			continue;
		unsigned ready = item_ready(it, events), rose = ready & ~it->seen_ready;
		it->seen_ready = ready;
		if (!ready || ((events & EPOLLET) && !rose))
			continue;
		out[k].events = ready;
		out[k].data = data;
		k++;
		if (events & EPOLLONESHOT) {
			fl = spin_lock_irqsave(&ep->lock);
			it->armed = false;
			spin_unlock_irqrestore(&ep->lock, fl);
		}
	}
	u32 todo = 0;
	unsigned long fl = spin_lock_irqsave(&ep->lock);
	list_for_each(n, &ep->ready)
		todo++;
	spin_unlock_irqrestore(&ep->lock, fl);
	while (k < max && todo--) {
		fl = spin_lock_irqsave(&ep->lock);
		n = list_pop_front(&ep->ready);
		struct epitem *it = n ? list_entry(n, struct epitem, rlink) : NULL;
		u32 events = 0;
		u64 data = 0;
		if (it) {
			it->on_ready = false;   /* a wakeup from now on queues it again */
			events = it->armed ? it->events : 0;
			data = it->data;
		}
		spin_unlock_irqrestore(&ep->lock, fl);
		if (!it)
			break;
		if (!events)
			continue;
		unsigned ready = item_ready(it, events);
		if (!ready)
			continue;   /* the next wakeup queues it again */
		out[k].events = ready;
		out[k].data = data;
		k++;
		fl = spin_lock_irqsave(&ep->lock);
		if (events & EPOLLONESHOT)
			it->armed = false;
		else if (!(events & EPOLLET))
			queue_locked(it);   /* level: looked at again next time */
		spin_unlock_irqrestore(&ep->lock, fl);
	}
	return k;
}

/* poll() on an epoll descriptor: is any entry ready? (looks at them all:
 * a rare use) */
static unsigned epoll_poll(struct file *f)
{
	struct epoll *ep = f->priv;
	bool any = false;
	mutex_lock(&ep->mtx);
	struct list_node *n;
	list_for_each(n, &ep->items) {
		struct epitem *it = list_entry(n, struct epitem, link);
		unsigned long fl = spin_lock_irqsave(&ep->lock);
		u32 events = it->armed ? it->events : 0;
		spin_unlock_irqrestore(&ep->lock, fl);
		if (events && item_ready(it, events)) {
			any = true;
			break;
		}
	}
	mutex_unlock(&ep->mtx);
	return any ? POLLIN | POLLRDNORM : 0;
}

/* The last reference to the instance: its entries go, each under its
 * file's [F], taken before [M] (so [M] is let go in between; nothing adds
 * entries to an instance no descriptor names). */
static void epoll_release(struct file *f)
{
	struct epoll *ep = f->priv;
	if (!ep)
		return;
	for (;;) {
		mutex_lock(&ep->mtx);
		if (list_empty(&ep->items)) {
			mutex_unlock(&ep->mtx);
			break;
		}
		struct epitem *it = list_entry(ep->items.next, struct epitem, link);
		struct mutex *m = stripe(it->file);   /* the address only: it may be going */
		mutex_unlock(&ep->mtx);
		mutex_lock(m);
		mutex_lock(&ep->mtx);
		/* still first: not freed meanwhile by its file's last close */
		if (!list_empty(&ep->items) && ep->items.next == &it->link)
			item_free(it);
		mutex_unlock(&ep->mtx);
		mutex_unlock(m);
	}
	kfree(ep);
}

static const struct file_ops epoll_fops = {
	.release = epoll_release,
	.poll = epoll_poll,
	.stat_mode = 0600,   /* an anonymous inode: no type bits, as Linux shows */
};

static long ep_create(unsigned flags)
{
	struct epoll *ep = kzalloc(sizeof(*ep));
	struct file *f = ep ? file_alloc(&epoll_fops, O_RDWR) : NULL;
	if (!f) {
		kfree(ep);
		return -ENOMEM;
	}
	mutex_init(&ep->mtx, "epoll");
	spin_init(&ep->lock, "epoll_ready");
	list_init(&ep->items);
	list_init(&ep->polled);
	list_init(&ep->ready);
	waitq_init(&ep->wq, "epoll_wait");
	f->priv = ep;
	long fd = fd_install(proc_current()->fds, 0, f, flags & EPOLL_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}

long sys_epoll_create(const u64 a[6])
{
	if ((s32)a[0] <= 0)
		return -EINVAL;
	return ep_create(0);
}

long sys_epoll_create1(const u64 a[6])
{
	if (a[0] & ~(u64)EPOLL_CLOEXEC)
		return -EINVAL;
	return ep_create((unsigned)a[0]);
}

/* f's entry of ep for fd. [F] held. */
static struct epitem *ep_find(struct epoll *ep, struct file *f, int fd)
{
	struct list_node *n;
	list_for_each(n, &f->ep_links) {
		struct epitem *it = list_entry(n, struct epitem, flink);
		if (it->ep == ep && it->fd == fd)
			return it;
	}
	return NULL;
}

/* A new entry of ep: on f's wait queues, or on the polled list. [F], [M]. */
static void item_add(struct epoll *ep, struct epitem *it, struct file *f, int fd,
		     const struct lx_epoll_event *ev)
{
	it->ep = ep;
	it->file = f;
	it->fd = fd;
	it->events = ev->events;
	it->data = ev->data;
	it->armed = true;
	list_push_back(&ep->items, &it->link);
	list_push_back(&f->ep_links, &it->flink);
	ep->n++;
	struct waitq *wqs[FILE_WAITQS_MAX];
	int nq = f->ops->waitqs ? f->ops->waitqs(f, wqs) : 0;
	if (!nq) {
		it->polled = true;
		list_push_back(&ep->polled, &it->rlink);
		return;
	}
	for (int i = 0; i < nq; i++) {
		it->hooks[i] = (struct ep_hook){ WAITER_INIT, wqs[i], it };
		waitq_watch(wqs[i], &it->hooks[i].w, ep_callback,
			    (ev->events & EPOLLEXCLUSIVE) != 0);
	}
	it->nhooks = nq;
	unsigned long fl = spin_lock_irqsave(&ep->lock);
	queue_locked(it);   /* Linux looks at once */
	spin_unlock_irqrestore(&ep->lock, fl);
}

long sys_epoll_ctl(const u64 a[6])
{
	int op = (int)a[1], fd = (int)a[2];
	struct lx_epoll_event ev = { 0, 0 };
	if (op != EPOLL_CTL_DEL && copy_from_user(&ev, a[3], sizeof(ev)) < 0)
		return -EFAULT;
	struct file *epf = sys_file(a[0]);
	if (!epf)
		return -EBADF;
	struct file *f = sys_file((u64)(u32)fd);
	long r = 0;
	struct epitem *fresh = NULL;
	if (!f) {
		r = -EBADF;
		goto out;
	}
	if (!f->ops->poll) {
		r = -EPERM;
		goto out;
	}
	if (epf->ops != &epoll_fops || f == epf || f->ops == &epoll_fops) {
		r = -EINVAL;
		goto out;
	}
	if ((ev.events & EPOLLEXCLUSIVE) && op != EPOLL_CTL_DEL &&
	    (op == EPOLL_CTL_MOD || (ev.events & (EPOLLONESHOT | EPOLLWAKEUP)))) {
		r = -EINVAL;
		goto out;
	}
	if (op == EPOLL_CTL_ADD) {
		fresh = kzalloc(sizeof(*fresh));
		if (!fresh) {
			r = -ENOMEM;
			goto out;
		}
	}
	struct epoll *ep = epf->priv;
	struct mutex *m = stripe(f);
	mutex_lock(m);
	mutex_lock(&ep->mtx);
	struct epitem *it = ep_find(ep, f, fd);
	unsigned long fl;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it) {
			r = -EEXIST;
		} else if (ep->n >= EP_MAX_ITEMS) {
			r = -ENOSPC;
		} else {
			item_add(ep, fresh, f, fd, &ev);
			fresh = NULL;
		}
		break;
	case EPOLL_CTL_MOD:
		if (!it) {
			r = -ENOENT;
			break;
		}
		fl = spin_lock_irqsave(&ep->lock);
		if (it->events & EPOLLEXCLUSIVE) {
			r = -EINVAL;
		} else {
			it->events = ev.events;
			it->data = ev.data;
			it->armed = true;
			it->seen_ready = 0;   /* Linux looks again at once */
			queue_locked(it);
		}
		spin_unlock_irqrestore(&ep->lock, fl);
		break;
	case EPOLL_CTL_DEL:
		if (!it)
			r = -ENOENT;
		else
			item_free(it);
		break;
	default:
		r = -EINVAL;
	}
	mutex_unlock(&ep->mtx);
	mutex_unlock(m);
	if (r == 0 && op != EPOLL_CTL_DEL)
		waitq_wake_all(&ep->wq);   /* a waiter looks at the new entry */
out:
	kfree(fresh);
	if (f)
		file_put(f);
	file_put(epf);
	return r;
}

/* timeout_ns < 0: no limit. umask: a signal mask for the wait, or 0. */
static long ep_wait(u64 epfd, u64 uevents, s64 maxevents, s64 timeout_ns, u64 umask, u64 sigsetsize)
{
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	if (!user_range_ok(uevents, (u64)maxevents * sizeof(struct lx_epoll_event)))
		return -EFAULT;
	u64 mask = 0;
	if (umask) {
		if (sigsetsize != 8)
			return -EINVAL;
		if (copy_from_user(&mask, umask, sizeof(mask)) < 0)
			return -EFAULT;
	}
	struct file *f = sys_file(epfd);
	if (!f)
		return -EBADF;
	if (f->ops != &epoll_fops) {
		file_put(f);
		return -EINVAL;
	}
	int max = (int)MIN(maxevents, 256);
	struct lx_epoll_event *out = kmalloc(sizeof(*out) * (size_t)max, 0);
	if (!out) {
		file_put(f);
		return -ENOMEM;
	}
	u64 old_mask = umask ? proc_wait_mask(mask) : 0;   /* the thread's */
	u64 deadline = timeout_ns < 0 ? UINT64_MAX : arch_clock_ns() + (u64)timeout_ns;
	struct waiter w = WAITER_INIT;
	long r;
	struct epoll *ep = f->priv;
	for (;;) {
		wait_prepare(&ep->wq, &w);
		mutex_lock(&ep->mtx);
		r = ep_collect(ep, out, max);
		bool polled = !list_empty(&ep->polled);
		mutex_unlock(&ep->mtx);
		if (r)
			break;
		if (proc_signal_pending()) {
			r = -EINTR;
			break;
		}
		u64 now = arch_clock_ns();
		if (now >= deadline)
			break;
		if (polled)
			wait_block_until(&ep->wq, MIN(deadline, now + EP_RECHECK_NS));
		else if (deadline == UINT64_MAX)
			wait_block(&ep->wq);   /* a signal's sender wakes the thread too */
		else
			wait_block_until(&ep->wq, deadline);
	}
	wait_finish(&ep->wq, &w);
	if (umask)
		proc_wait_unmask(old_mask, r == -EINTR);
	if (r > 0 && copy_to_user(uevents, out, sizeof(*out) * (size_t)r) < 0)
		r = -EFAULT;
	kfree(out);
	file_put(f);
	return r;
}

static s64 ms_ns(u64 ms) { return (s32)ms < 0 ? -1 : (s64)(s32)ms * 1000000; }

long sys_epoll_wait(const u64 a[6]) { return ep_wait(a[0], a[1], (s32)a[2], ms_ns(a[3]), 0, 0); }

long sys_epoll_pwait(const u64 a[6])
{
	return ep_wait(a[0], a[1], (s32)a[2], ms_ns(a[3]), a[4], a[5]);
}

long sys_epoll_pwait2(const u64 a[6])
{
	s64 timeout;
	int e = sys_timeout(a[3], &timeout);
	if (e < 0)
		return e;
	return ep_wait(a[0], a[1], (s32)a[2], timeout, a[4], a[5]);
}
