/*
 * epoll: epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
 * epoll_pwait2. An epoll instance is a file (ops below) holding entries,
 * one per watched (file, descriptor) pair as on Linux.
 *
 * Readiness is asked of the watched file's poll op at each look (files
 * without one, regular files and /dev/null, cannot be watched: -EPERM, as
 * Linux answers). Level-triggered entries report while ready. Edge-
 * triggered ones (EPOLLET) report when the file's events count (its
 * wakeups: data came, room freed, a connection, a close; file_ops.events)
 * moved since the last report, or a ready bit rose, so each arrival is
 * seen once, as on Linux. EPOLLONESHOT disables an entry after one report
 * until EPOLL_CTL_MOD. EPOLLEXCLUSIVE is accepted (with ADD only) and
 * changes nothing: every waiter is woken. EPOLLWAKEUP is ignored.
 *
 * Closing: an entry holds no reference on its file. When the file's last
 * reference goes (every descriptor for it closed), file_put calls
 * ep_unwatch, which drops the file's entries, as Linux does; an entry
 * whose descriptor was closed while a dup kept the file open stays and
 * reports under the old number (Linux's behaviour too). Closing the epoll
 * descriptor drops its entries.
 *
 * Waiting: epoll_wait sleeps on one wait queue that every socket wakeup
 * (netstack's wake hook) and every pipe wakeup (vfs_ready) wakes, looking
 * again at least every EP_RECHECK_NS for files with no wakeup hook (the
 * console). A signal ends the wait with -EINTR.
 *
 * Locks: ep_lock (a mutex) guards every instance's entries and every
 * file's ep_links; poll ops are called under it (they take their own
 * locks, never ep_lock). Never call file_put while holding it. An epoll
 * descriptor cannot be watched by an epoll instance (-EINVAL; Linux
 * allows nesting).
 *
 * Bounds: EP_MAX_ITEMS entries an instance (-ENOSPC, as Linux's
 * max_user_watches gives); a wait reports at most maxevents.
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "netstack/net.h"

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

struct lx_epoll_event {
	u32 events;
	u64 data;
} __attribute__((packed));

struct epoll;

struct epitem {
	struct list_node link;       /* [ep_lock] in ep->items */
	struct list_node flink;      /* [ep_lock] in file->ep_links */
	struct epoll *ep;
	struct file *file;           /* no reference (see the top) */
	int fd;
	u32 events;                  /* [ep_lock] asked, with the EP_FLAGS */
	u64 data;                    /* [ep_lock] */
	u64 seen_events;             /* [ep_lock] EPOLLET: the file's count at the last report */
	unsigned seen_ready;         /* [ep_lock] EPOLLET: ready bits at the last look */
	bool armed;                  /* [ep_lock] false: a EPOLLONESHOT report was made */
};

struct epoll {
	struct list_node items;      /* [ep_lock] */
	u32 n;                       /* [ep_lock] */
};

static struct mutex ep_lock;
static struct waitq ep_wq;

static const struct file_ops epoll_fops;

static void ep_wake(void) { waitq_wake_all(&ep_wq); }
static void ep_sock_wake(struct socket *s)
{
	(void)s;
	ep_wake();
}

static void item_free(struct epitem *it)
{
	list_remove(&it->link);
	list_remove(&it->flink);
	it->ep->n--;
	kfree(it);
}

/* file_put's hook: f's last reference went; drop its entries. */
static void ep_unwatch(struct file *f)
{
	mutex_lock(&ep_lock);
	while (!list_empty(&f->ep_links))
		item_free(list_entry(f->ep_links.next, struct epitem, flink));
	mutex_unlock(&ep_lock);
}

void epoll_init(void)
{
	mutex_init(&ep_lock, "epoll");
	waitq_init(&ep_wq, "epoll_wait");
	vfs_file_unwatch = ep_unwatch;
	vfs_ready = ep_wake;
	sock_set_wake_hook(ep_sock_wake);
}

static unsigned file_ready(struct file *f) { return f->ops->poll(f); }

/* Up to max events of ep into out. [ep_lock] held. Entries that report
 * go to the end of the list, so that a small max serves all in turn. */
static int ep_scan(struct epoll *ep, struct lx_epoll_event *out, int max, bool level_only)
{
	int k = 0;
	u32 left = ep->n;
	struct list_node moved = LIST_INIT(moved);
	struct list_node *n = ep->items.next;
	while (left-- && n != &ep->items && k < max) {
		struct epitem *it = list_entry(n, struct epitem, link);
		n = n->next;
		if (!it->armed)
			continue;
		unsigned ready = file_ready(it->file) & (it->events | EPOLLERR | EPOLLHUP) & ~EP_FLAGS;
		bool report = ready != 0;
		if (report && (it->events & EPOLLET) && !level_only) {
			u64 ev = it->file->ops->events ? it->file->ops->events(it->file) : 0;
			report = ev != it->seen_events || (ready & ~it->seen_ready);
			if (report)
				it->seen_events = ev;
		}
		if (!level_only)
			it->seen_ready = ready;
		if (!report)
			continue;
		if (out) {
			out[k].events = ready;
			out[k].data = it->data;
		}
		k++;
		if (level_only)
			continue;
		if (it->events & EPOLLONESHOT)
			it->armed = false;
		list_remove(&it->link);
		list_push_back(&moved, &it->link);
	}
	while (!list_empty(&moved)) {
		struct list_node *m = moved.next;
		list_remove(m);
		list_push_back(&ep->items, m);
	}
	return k;
}

static unsigned epoll_poll(struct file *f)
{
	mutex_lock(&ep_lock);
	int k = ep_scan(f->priv, NULL, 1, true);
	mutex_unlock(&ep_lock);
	return k ? POLLIN | POLLRDNORM : 0;
}

static void epoll_release(struct file *f)
{
	struct epoll *ep = f->priv;
	if (!ep)
		return;
	mutex_lock(&ep_lock);
	while (!list_empty(&ep->items))
		item_free(list_entry(ep->items.next, struct epitem, link));
	mutex_unlock(&ep_lock);
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
	list_init(&ep->items);
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

static struct epitem *ep_find(struct epoll *ep, struct file *f, int fd)
{
	struct list_node *n;
	list_for_each(n, &ep->items) {
		struct epitem *it = list_entry(n, struct epitem, link);
		if (it->file == f && it->fd == fd)
			return it;
	}
	return NULL;
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
	mutex_lock(&ep_lock);
	struct epitem *it = ep_find(ep, f, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it) {
			r = -EEXIST;
		} else if (ep->n >= EP_MAX_ITEMS) {
			r = -ENOSPC;
		} else {
			fresh->ep = ep;
			fresh->file = f;
			fresh->fd = fd;
			fresh->events = ev.events;
			fresh->data = ev.data;
			fresh->armed = true;
			fresh->seen_events = f->ops->events ? f->ops->events(f) : 0;
			fresh->seen_ready = 0;
			list_push_back(&ep->items, &fresh->link);
			list_push_back(&f->ep_links, &fresh->flink);
			ep->n++;
			fresh = NULL;
		}
		break;
	case EPOLL_CTL_MOD:
		if (!it) {
			r = -ENOENT;
		} else if (it->events & EPOLLEXCLUSIVE) {
			r = -EINVAL;
		} else {
			it->events = ev.events;
			it->data = ev.data;
			it->armed = true;
			it->seen_ready = 0;   /* Linux looks again at once */
		}
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
	mutex_unlock(&ep_lock);
	if (r == 0 && op != EPOLL_CTL_DEL)
		ep_wake();   /* a waiter looks at the new entry */
out:
	kfree(fresh);
	if (f)
		file_put(f);
	file_put(epf);
	return r;
}

#define UNBLOCKABLE ((1ull << (9 - 1)) | (1ull << (19 - 1)))   /* SIGKILL, SIGSTOP */

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
	struct uthread *p = uthread_current();   /* the mask is per thread */
	u64 old_mask = p->sigmask;
	if (umask)
		p->sigmask = mask & ~UNBLOCKABLE;
	u64 deadline = timeout_ns < 0 ? UINT64_MAX : arch_clock_ns() + (u64)timeout_ns;
	struct waiter w = WAITER_INIT;
	long r;
	for (;;) {
		wait_prepare(&ep_wq, &w);
		mutex_lock(&ep_lock);
		r = ep_scan(f->priv, out, max, false);
		mutex_unlock(&ep_lock);
		if (r)
			break;
		if (proc_signal_pending()) {
			r = -EINTR;
			break;
		}
		u64 now = arch_clock_ns();
		if (now >= deadline)
			break;
		wait_block_until(&ep_wq, MIN(deadline, now + EP_RECHECK_NS));
	}
	wait_finish(&ep_wq, &w);
	if (umask) {
		if (r == -EINTR) {   /* the handler runs under the wait's mask */
			p->saved_mask = old_mask;
			p->mask_saved = true;
		} else {
			p->sigmask = old_mask;
		}
	}
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
	s64 timeout = -1;
	if (a[3]) {
		s64 ts[2];
		if (copy_from_user(ts, a[3], sizeof(ts)) < 0)
			return -EFAULT;
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EINVAL;
		timeout = ts[0] * 1000000000 + ts[1];
	}
	return ep_wait(a[0], a[1], (s32)a[2], timeout, a[4], a[5]);
}
