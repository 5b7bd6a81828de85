/*
 * O_ASYNC (fcntl F_SETFL, ioctl FIOASYNC): the file's owner (F_SETOWN: a
 * process, or a process group when negative) gets SIGIO, or F_SETSIG's
 * signal, whenever the file may have become readable or writable, as
 * Linux's kill_fasync. Files with wait queues (pipes and FIFOs, sockets,
 * the console tty) have them watched (waitq_watch) from the moment O_ASYNC
 * is set until it is cleared or the file's last reference goes
 * (vfs_file_async_end); each wakeup of a watched queue sends the signal
 * (to nobody while no owner is set). Which queues: file_ops.async_waitqs
 * (a pipe's read end only its readers' queue, and so on), else waitqs.
 * A file without queues (a regular file) keeps the flag and sends
 * nothing, as on Linux.
 *
 * What Linux does and Caboose does not yet: the siginfo of an F_SETSIG
 * signal (si_fd, si_band, POLL_IN/POLL_OUT in si_code) reads as a plain
 * kill's; F_SETOWN_EX (a thread as the owner); the owner's permission
 * check (sigio_perm).
 *
 * Locks: async_mutex serialises setting up and tearing down the watches
 * (rare calls); the watch's callback runs under the watched queue's lock
 * with interrupts off and takes [P] (proc_sigio), so no one may wake a
 * file's queue while holding [P]. wait_finish takes the queue's lock, so
 * once the watches are finished no callback is running on them.
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/mm/mm.h"

struct async_watch {
	struct waiter w;          /* first */
	struct waitq *wq;
	struct file *f;           /* no reference: the watches end before the file */
};

struct file_async {
	int n;
	struct async_watch watch[FILE_WAITQS_MAX];
};

static struct mutex async_mutex;

static bool async_wakeup(struct waiter *w)
{
	struct file *f = ((struct async_watch *)w)->f;
	int sig = __atomic_load_n(&f->sigio, __ATOMIC_RELAXED);
	proc_sigio(__atomic_load_n(&f->owner, __ATOMIC_RELAXED), sig ? sig : SIGIO);
	return false;   /* no thread of ours woken: the queue's own waiters go on */
}

/* Watches on f's queues. 0 or -ENOMEM (nothing changed). */
static int async_start(struct file *f)
{
	struct file_async *a = kzalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	struct waitq *wqs[FILE_WAITQS_MAX];
	int n = f->ops->async_waitqs ? f->ops->async_waitqs(f, wqs) :
		f->ops->waitqs ? f->ops->waitqs(f, wqs) : 0;
	mutex_lock(&async_mutex);
	if (f->async) {   /* set already */
		mutex_unlock(&async_mutex);
		kfree(a);
		return 0;
	}
	a->n = n;
	for (int i = 0; i < n; i++) {
		struct async_watch *aw = &a->watch[i];
		aw->w = (struct waiter)WAITER_INIT;
		aw->wq = wqs[i];
		aw->f = f;
		waitq_watch(wqs[i], &aw->w, async_wakeup, false);
	}
	f->async = a;
	mutex_unlock(&async_mutex);
	return 0;
}

static void async_stop(struct file *f)
{
	mutex_lock(&async_mutex);
	struct file_async *a = f->async;
	f->async = NULL;
	mutex_unlock(&async_mutex);
	if (!a)
		return;
	for (int i = 0; i < a->n; i++)
		wait_finish(a->watch[i].wq, &a->watch[i].w);
	kfree(a);
}

int sys_async_set(struct file *f, bool on)
{
	if (on) {
		int r = async_start(f);
		if (r < 0)
			return r;
		__atomic_or_fetch(&f->flags, O_ASYNC, __ATOMIC_RELAXED);
	} else {
		__atomic_and_fetch(&f->flags, ~(unsigned)O_ASYNC, __ATOMIC_RELAXED);
		async_stop(f);
	}
	return 0;
}

void async_init(void)
{
	mutex_init(&async_mutex, "file_async");
	vfs_file_async_end = async_stop;
}
