/*
 * Descriptor I/O: read, write, pread64, pwrite64, readv, writev, lseek,
 * close, dup, dup2, dup3, fcntl, ioctl, pipe2, ftruncate, fsync. The bytes
 * move through the VFS's file ops (fs/vfs.h), in one copy between user
 * memory and the file's own storage. A write to a pipe nobody reads raises
 * SIGPIPE (kernel/proc/signal.c) and returns -EPIPE.
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/console/console.h"
#include "kernel/mm/mm.h"
#include "kernel/lib/counter.h"

#define MAX_RW_COUNT 0x7ffff000UL   /* Linux's cap on one transfer */
#define IOV_MAX      1024

/* Descriptor numbers are unsigned int in Linux's calls: the upper half
 * of the register is ignored. */
struct file *sys_file(u64 fd) { return fd_get(proc_current()->fds, (u32)fd); }

static long finish_write(long r)
{
	if (r == -EPIPE)
		proc_raise_sigpipe();
	return r;
}

long sys_read(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	struct uio u = { a[1], MIN(a[2], MAX_RW_COUNT), true };
	long r = vfs_read(f, &u, NULL);
	file_put(f);
	return r;
}

long sys_write(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	struct uio u = { a[1], MIN(a[2], MAX_RW_COUNT), true };
	long r = vfs_write(f, &u, NULL);
	file_put(f);
	return finish_write(r);
}

/* pread64/pwrite64: at an offset, the file's position untouched. */
static long rw_at(const u64 a[6], bool write)
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	s64 off = (s64)a[3];
	long r;
	if (off < 0) {
		r = -EINVAL;
	} else if (!f->ops->seekable) {
		r = -ESPIPE;
	} else {
		struct uio u = { a[1], MIN(a[2], MAX_RW_COUNT), true };
		u64 pos = (u64)off;
		r = write ? vfs_write(f, &u, &pos) : vfs_read(f, &u, &pos);
	}
	file_put(f);
	return write ? finish_write(r) : r;
}

long sys_pread64(const u64 a[6]) { return rw_at(a, false); }
long sys_pwrite64(const u64 a[6]) { return rw_at(a, true); }

int sys_iovecs_get(u64 uiov, u64 n, struct sys_iovec **out, u64 *total)
{
	struct sys_iovec *iov = kmalloc(sizeof(*iov) * (n ? n : 1), 0);
	if (!iov)
		return -ENOMEM;
	if (n && copy_from_user(iov, uiov, sizeof(*iov) * n) < 0) {
		kfree(iov);
		return -EFAULT;
	}
	u64 t = 0;
	for (u64 i = 0; i < n; i++) {
		if ((s64)iov[i].len < 0 || iov[i].len > (u64)INT64_MAX - t) {
			kfree(iov);
			return -EINVAL;
		}
		t += iov[i].len;
	}
	*out = iov;
	*total = MIN(t, MAX_RW_COUNT);
	return 0;
}

long sys_file_rw_iovecs(struct file *f, const struct sys_iovec *iov, u64 n, u64 total, bool write)
{
	long r = 0;
	u64 done = 0;
	for (u64 i = 0; i < n && done < total; i++) {
		size_t want = MIN(iov[i].len, total - done);
		if (!want)
			continue;
		struct uio u = { iov[i].base, want, true };
		long k = write ? vfs_write(f, &u, NULL) : vfs_read(f, &u, NULL);
		if (k < 0) {
			if (!done)
				r = k;
			break;
		}
		done += (u64)k;
		if ((size_t)k < want)
			break;
	}
	return done ? (long)done : r;
}

/* readv/writev: every length checked before a byte moves (as Linux); a
 * short transfer ends the call. */
static long rw_vec(const u64 a[6], bool write)
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	s64 cnt = (s32)a[2];
	struct sys_iovec *iov = NULL;
	u64 total;
	long r;
	if (cnt < 0 || cnt > IOV_MAX)
		r = -EINVAL;
	else if ((f->flags & O_ACCMODE) == (write ? O_RDONLY : O_WRONLY))
		r = -EBADF;
	else
		r = sys_iovecs_get(a[1], (u64)cnt, &iov, &total);
	if (r == 0)
		r = sys_file_rw_iovecs(f, iov, (u64)cnt, total, write);
	kfree(iov);
	file_put(f);
	return write ? finish_write(r) : r;
}

long sys_readv(const u64 a[6]) { return rw_vec(a, false); }
long sys_writev(const u64 a[6]) { return rw_vec(a, true); }

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

long sys_lseek(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	s64 off = (s64)a[1];
	long r;
	if (!f->ops->seekable) {
		r = -ESPIPE;
		goto out;
	}
	if (f->ops->seek_noop) {
		r = 0;
		goto out;
	}
	bool dir = f->inode && S_ISDIR(f->inode->mode);
	mutex_lock(&f->pos_lock);
	s64 base;
	switch (a[2]) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = (s64)f->pos; break;
	case SEEK_END:
		/* a directory's cursor counts entries: it has no end */
		base = dir || !f->inode ? -1 : (s64)READ_ONCE(f->inode->size);
		break;
	default: base = -1; break;   /* SEEK_DATA, SEEK_HOLE: not supported */
	}
	if (base < 0 || (off > 0 && base > INT64_MAX - off) || base + off < 0) {
		r = -EINVAL;
	} else {
		f->pos = (u64)(base + off);
		r = (long)f->pos;
	}
	mutex_unlock(&f->pos_lock);
out:
	file_put(f);
	return r;
}

long sys_close(const u64 a[6])
{
	return fd_close(proc_current()->fds, (u32)a[0]);
}

long sys_dup(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	int r = fd_install(proc_current()->fds, 0, f, false);
	if (r < 0)
		file_put(f);
	return r;
}

/* newfd takes oldfd's file (closing what it had); flags: O_CLOEXEC */
static long dup_to(u64 oldfd, u64 newfd, bool cloexec)
{
	struct fdtable *t = proc_current()->fds;
	if (newfd >= fdtable_limit(t))
		return -EBADF;
	struct file *f = fd_get(t, oldfd);
	if (!f)
		return -EBADF;
	fd_replace(t, newfd, f, cloexec);
	return (long)newfd;
}

long sys_dup2(const u64 a[6])
{
	u64 oldfd = (u32)a[0], newfd = (u32)a[1];
	if (oldfd == newfd) {
		struct file *f = sys_file(oldfd);
		if (!f)
			return -EBADF;
		file_put(f);
		return (long)newfd;
	}
	return dup_to(oldfd, newfd, false);
}

long sys_dup3(const u64 a[6])
{
	u64 oldfd = (u32)a[0], newfd = (u32)a[1];
	if (a[2] & ~(u64)O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	return dup_to(oldfd, newfd, a[2] & O_CLOEXEC);
}

#define F_DUPFD         0
#define F_GETFD         1
#define F_SETFD         2
#define F_GETFL         3
#define F_SETFL         4
#define F_SETOWN        8
#define F_GETOWN        9
#define F_SETSIG        10
#define F_GETSIG        11
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC      1
/* the status flags F_SETFL may change (O_DIRECT: not supported) */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_NOATIME | O_ASYNC)

/* F_SETOWN: the process (pid > 0) or group (pid < 0) that O_ASYNC's
 * signals go to (sys_async.c); -ESRCH for none, as Linux; INT_MIN has no
 * group to name: -EINVAL. */
static long set_owner(struct file *f, s32 pid)
{
	if (pid == INT32_MIN)
		return -EINVAL;
	/* group 1 exists while process 1 does (kill(-1) means every process) */
	if (pid && proc_kill(pid == -1 ? 1 : pid, 0) == -ESRCH)
		return -ESRCH;
	__atomic_store_n(&f->owner, pid, __ATOMIC_RELAXED);
	return 0;
}

/* F_SETSIG: the signal O_ASYNC sends (0: SIGIO). Its siginfo is a plain
 * kill's, not Linux's si_fd and si_band: said once. */
static long set_sigio(struct file *f, u64 sig)
{
	static bool said;
	if (sig > PROC_NSIG)
		return -EINVAL;
	if (sig && !__atomic_exchange_n(&said, true, __ATOMIC_RELAXED)) {
		struct proc *p = proc_current();
		pr_warn("fcntl: pid %d (%s) F_SETSIG %llu: the signal is sent, but its siginfo "
			"lacks si_fd and si_band: not supported yet", p->pid, p->name,
			(unsigned long long)sig);
	}
	__atomic_store_n(&f->sigio, (int)sig, __ATOMIC_RELAXED);
	return 0;
}

long sys_fcntl(const u64 a[6])
{
	struct fdtable *t = proc_current()->fds;
	u64 fd = (u32)a[0];
	struct file *f = fd_get(t, fd);
	if (!f)
		return -EBADF;
	long r;
	unsigned fl;
	switch ((u32)a[1]) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (a[2] >= fdtable_limit(t)) {
			r = -EINVAL;
			break;
		}
		file_get(f);
		r = fd_install(t, (int)a[2], f, (u32)a[1] == F_DUPFD_CLOEXEC);
		if (r < 0)
			file_put(f);
		break;
	case F_GETFD:
		r = fd_get_cloexec(t, fd);
		r = r < 0 ? r : r ? FD_CLOEXEC : 0;
		break;
	case F_SETFD:
		r = fd_set_cloexec(t, fd, a[2] & FD_CLOEXEC);
		break;
	case F_GETFL:
		r = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
		break;
	case F_SETFL:
		fl = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
		r = 0;
		if ((a[2] & O_ASYNC) != (fl & O_ASYNC))
			r = sys_async_set(f, a[2] & O_ASYNC);
		if (r < 0)
			break;
		fl = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);   /* O_ASYNC as just set */
		fl = (fl & ~(unsigned)(SETFL_MASK & ~O_ASYNC)) | ((unsigned)a[2] & SETFL_MASK & ~O_ASYNC);
		__atomic_store_n(&f->flags, fl, __ATOMIC_RELAXED);
		break;
	case F_SETOWN:
		r = set_owner(f, (s32)a[2]);
		break;
	case F_GETOWN:
		r = __atomic_load_n(&f->owner, __ATOMIC_RELAXED);
		break;
	case F_SETSIG:
		r = set_sigio(f, a[2]);
		break;
	case F_GETSIG:
		r = __atomic_load_n(&f->sigio, __ATOMIC_RELAXED);
		break;
	default:
		r = -EINVAL;   /* locks, leases, seals, signal choice: not supported */
		break;
	}
	file_put(f);
	return r;
}

#define FIONBIO 0x5421
#define FIOASYNC 0x5452
#define FIONREAD 0x541B

/* FIONBIO and FIOASYNC work on every file; the rest is the file's (the
 * console tty's termios requests, kernel/proc/tty.c), FIONREAD of a
 * socket, -ENOTTY elsewhere. */
long sys_ioctl(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	long r = -ENOTTY;
	if ((u32)a[1] == FIONBIO) {
		int on;
		r = copy_from_user(&on, a[2], sizeof(on));
		if (r == 0) {
			if (on)
				__atomic_or_fetch(&f->flags, O_NONBLOCK, __ATOMIC_RELAXED);
			else
				__atomic_and_fetch(&f->flags, ~(unsigned)O_NONBLOCK, __ATOMIC_RELAXED);
		}
	} else if ((u32)a[1] == FIOASYNC) {
		int on;
		r = copy_from_user(&on, a[2], sizeof(on));
		if (r == 0)
			r = sys_async_set(f, on != 0);
	} else if (f->ops->ioctl) {
		r = f->ops->ioctl(f, (u32)a[1], a[2]);
	} else if ((u32)a[1] == FIONREAD) {
		r = sys_sock_inq(f);
		if (r >= 0) {
			int n = (int)MIN(r, 0x7fffffffL);
			r = copy_to_user(a[2], &n, sizeof(n)) < 0 ? -EFAULT : 0;
		}
	}
	file_put(f);
	return r;
}

#define EFD_SEMAPHORE 1

/* eventfd2(initval, flags): EFD_SEMAPHORE, EFD_NONBLOCK (O_NONBLOCK),
 * EFD_CLOEXEC (O_CLOEXEC); others -EINVAL */
long sys_eventfd2(const u64 a[6])
{
	if (a[1] & ~(u64)(EFD_SEMAPHORE | O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	struct file *f;
	int r = eventfd_create((u32)a[0], a[1] & EFD_SEMAPHORE, (unsigned)a[1], &f);
	if (r < 0)
		return r;
	r = fd_install(proc_current()->fds, 0, f, a[1] & O_CLOEXEC);
	if (r < 0)
		file_put(f);
	return r;
}

long sys_eventfd(const u64 a[6])
{
	const u64 b[6] = { a[0], 0 };
	return sys_eventfd2(b);
}

#define PIPE2_FLAGS (O_CLOEXEC | O_NONBLOCK)

long sys_pipe2(const u64 a[6])
{
	struct proc *p = proc_current();
	if (a[1] & ~(u64)PIPE2_FLAGS)
		return -EINVAL;   /* O_DIRECT (packet mode): not supported */
	struct file *rd, *wr;
	int r = pipe_create((unsigned)a[1], &rd, &wr);
	if (r < 0)
		return r;
	bool cloexec = a[1] & O_CLOEXEC;
	int fds[2];
	fds[0] = fd_install(p->fds, 0, rd, cloexec);
	if (fds[0] < 0) {
		file_put(rd);
		file_put(wr);
		return fds[0];
	}
	fds[1] = fd_install(p->fds, 0, wr, cloexec);
	if (fds[1] < 0) {
		fd_close(p->fds, (u64)fds[0]);
		file_put(wr);
		return fds[1];
	}
	if (copy_to_user(a[0], fds, sizeof(fds)) < 0) {
		fd_close(p->fds, (u64)fds[0]);
		fd_close(p->fds, (u64)fds[1]);
		return -EFAULT;
	}
	return 0;
}

long sys_pipe(const u64 a[6])
{
	const u64 b[6] = { a[0], 0 };
	return sys_pipe2(b);
}

long sys_ftruncate(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	long r;
	if ((s64)a[1] < 0)
		r = -EINVAL;
	else if (!f->inode || !S_ISREG(f->inode->mode) || (f->flags & O_ACCMODE) == O_RDONLY)
		r = -EINVAL;
	else
		r = vfs_truncate(f->inode, a[1]);
	file_put(f);
	return r;
}

/* RAM files: nothing to write back; disk files flush the disk's cache
 * (their writes went through already); pipes and devices cannot sync */
long sys_fsync(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	long r = f->inode && !S_ISCHR(f->inode->mode) ? 0 : -EINVAL;
	if (r == 0 && f->ops && f->ops->fsync)
		r = f->ops->fsync(f);
	else if (r == 0 && f->inode->iops && f->inode->iops->fsync)
		r = f->inode->iops->fsync(f->inode);   /* a directory: its names */
	file_put(f);
	return r;
}

/* sync and syncfs: every mounted file system's sync (Linux's syncfs syncs
 * the one file system of fd; syncing them all is a superset). sync(2)
 * returns nothing; syncfs reports an error. */
long sys_sync(const u64 a[6])
{
	(void)a;
	vfs_sync_all();
	return 0;
}

long sys_syncfs(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	file_put(f);
	return vfs_sync_all();
}

/* poll and ppoll. Files say what is ready through their poll op (pipes);
 * others are always ready (regular files, devices; the console too, whose
 * read then waits for a byte: it cannot be asked without taking one). A
 * wait looks again every 2 ms until an event, the timeout or a signal.
 * ppoll's signal mask holds while it waits, and for the handler of the
 * signal that interrupted it (proc_wait_mask). */
struct pollfd {
	s32 fd;
	s16 events, revents;
};

static long do_poll(u64 ufds, u64 nfds, s64 timeout_ns)
{
	if (nfds > fdtable_limit(proc_current()->fds))   /* Linux: RLIMIT_NOFILE */
		return -EINVAL;
	struct pollfd *fds = kmalloc(sizeof(*fds) * (nfds ? nfds : 1), 0);
	if (!fds)
		return -ENOMEM;
	long r = 0;
	if (copy_from_user(fds, ufds, sizeof(*fds) * nfds) < 0) {
		r = -EFAULT;
		goto out;
	}
	u64 deadline = timeout_ns < 0 ? UINT64_MAX : arch_clock_ns() + (u64)timeout_ns;
	for (;;) {
		long ready = 0;
		for (u64 i = 0; i < nfds; i++) {
			fds[i].revents = 0;
			if (fds[i].fd < 0)
				continue;
			struct file *f = sys_file((u64)fds[i].fd);
			unsigned ev;
			if (!f) {
				ev = POLLNVAL;
			} else {
				ev = f->ops->poll ? f->ops->poll(f) : POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
				file_put(f);
				ev &= (unsigned)(u16)fds[i].events | POLLERR | POLLHUP | POLLNVAL;
			}
			fds[i].revents = (s16)ev;
			if (ev)
				ready++;
		}
		if (ready || arch_clock_ns() >= deadline) {
			r = ready;
			break;
		}
		if (proc_signal_pending()) {
			r = -EINTR;
			break;
		}
		thread_sleep_ns(2000000);
	}
	if (r >= 0 && copy_to_user(ufds, fds, sizeof(*fds) * nfds) < 0)
		r = -EFAULT;
out:
	kfree(fds);
	return r;
}

long sys_poll(const u64 a[6])
{
	s32 ms = (s32)a[2];
	return do_poll(a[0], a[1], ms < 0 ? -1 : (s64)ms * 1000000);
}

int sys_timeout(u64 uts, s64 *ns)
{
	*ns = -1;
	if (!uts)
		return 0;
	s64 ts[2];
	if (copy_from_user(ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
		return -EINVAL;
	/* seconds past 292 years: no limit */
	*ns = ts[0] >= INT64_MAX / 1000000000 - 1 ? -1 : ts[0] * 1000000000 + ts[1];
	return 0;
}

long sys_ppoll(const u64 a[6])
{
	s64 timeout;
	int e = sys_timeout(a[2], &timeout);
	if (e < 0)
		return e;
	if (!a[3])
		return do_poll(a[0], a[1], timeout);
	u64 mask;
	if (a[4] != sizeof(mask))
		return -EINVAL;
	if (copy_from_user(&mask, a[3], sizeof(mask)) < 0)
		return -EFAULT;
	u64 old = proc_wait_mask(mask);
	long r = do_poll(a[0], a[1], timeout);
	proc_wait_unmask(old, r == -EINTR);
	return r;
}

/* sendfile from a regular file: to a stream socket, the file's pages lent
 * to the packets where the file system can lend them (sys_sock_sendfile:
 * no copy); to anything else (a pipe, the console, another file, or from
 * a file system without page_ref), through one kernel page, two copies a
 * byte, counted (copy.sendfile_file). */
static u64 sendfile_bytes;   /* [atomic] */
KCOUNTER_VAR("copy.sendfile_file", "bytes", sendfile_bytes);

long sys_sendfile(const u64 a[6])
{
	struct file *out = sys_file(a[0]), *in = sys_file(a[1]);
	u64 uoff = a[2];
	size_t count = MIN(a[3], MAX_RW_COUNT);
	long r = 0;
	u8 *buf = NULL;
	if (!out || !in) {
		r = -EBADF;
		goto done;
	}
	if ((in->flags & O_ACCMODE) == O_WRONLY || (out->flags & O_ACCMODE) == O_RDONLY) {
		r = -EBADF;
		goto done;
	}
	if (!in->inode || !S_ISREG(in->inode->mode) || (out->flags & O_APPEND)) {
		r = -EINVAL;
		goto done;
	}
	u64 off = 0;
	if (uoff) {
		s64 o;
		if (copy_from_user(&o, uoff, sizeof(o)) < 0) {
			r = -EFAULT;
			goto done;
		}
		if (o < 0) {
			r = -EINVAL;
			goto done;
		}
		off = (u64)o;
	}
	if (!uoff) {
		mutex_lock(&in->pos_lock);
		off = in->pos;
	}
	r = sys_sock_sendfile(out, in, &off, count);
	if (!uoff) {
		in->pos = off;
		mutex_unlock(&in->pos_lock);
	}
	if (r != -EOPNOTSUPP) {
		if (r < 0)
			r = finish_write(r);
		goto out_off;
	}
	r = 0;
	buf = kmalloc(PAGE_SIZE, 0);
	if (!buf) {
		r = -ENOMEM;
		goto done;
	}
	size_t moved = 0;
	while (moved < count) {
		struct uio ru = { (u64)(uptr)buf, MIN(count - moved, PAGE_SIZE), false };
		long got = vfs_read(in, &ru, uoff ? &off : NULL);
		if (got <= 0) {
			if (got < 0 && !moved)
				r = got;
			break;
		}
		struct uio wu = { (u64)(uptr)buf, (size_t)got, false };
		long put = vfs_write(out, &wu, NULL);
		if (put < 0) {
			if (!moved)
				r = finish_write(put);
			break;
		}
		moved += (size_t)put;
		__atomic_add_fetch(&sendfile_bytes, (u64)put, __ATOMIC_RELAXED);
		if (put < got) {
			if (!uoff) {   /* the unsent rest goes back to the file */
				mutex_lock(&in->pos_lock);
				in->pos -= (u64)(got - put);
				mutex_unlock(&in->pos_lock);
			} else {
				off -= (u64)(got - put);
			}
			break;
		}
	}
	if (r == 0)
		r = (long)moved;
out_off:
	if (r >= 0 && uoff) {
		s64 o = (s64)off;
		if (copy_to_user(uoff, &o, sizeof(o)) < 0)
			r = -EFAULT;
	}
done:
	kfree(buf);
	if (out)
		file_put(out);
	if (in)
		file_put(in);
	return r;
}
