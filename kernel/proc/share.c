/*
 * What clone shares between processes besides the space and the
 * descriptor table (see proc.h): the fs info (working directory and umask,
 * CLONE_FS) and the signal actions (CLONE_SIGHAND); and unshare(2).
 *
 * Ownership: each process holds one user of its fs info and of its
 * actions; fork takes a copy or, with the flag, one more user; the last
 * put frees. A process's fs info goes when its last thread ends
 * (proc_end); its actions when the process itself is freed (proc_free),
 * because a child's end reads its parent's SIGCHLD action under [P] for as
 * long as the parent is in the table.
 *
 * Locks: [S] fs->lock (a spinlock, a leaf: taken under [P] by /proc)
 * guards cwd, so that a chdir in one process never drops the directory a
 * lookup in another is taking a reference to; [P] procs_lock serialises
 * changes of the actions (proc_sigaction) and the replacing of a
 * process's pointers.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

struct proc_fs *proc_fs_new(struct inode *cwd, u32 umask)
{
	struct proc_fs *fs = kzalloc(sizeof(*fs));
	if (!fs)
		return NULL;
	fs->users = 1;
	spin_init(&fs->lock, "proc_fs");
	fs->cwd = cwd;
	fs->umask = umask;
	return fs;
}

struct proc_fs *proc_fs_copy(struct proc_fs *fs)
{
	struct proc_fs *n = proc_fs_new(NULL, __atomic_load_n(&fs->umask, __ATOMIC_RELAXED));
	if (n)
		n->cwd = proc_fs_cwd(fs);
	return n;
}

void proc_fs_get(struct proc_fs *fs)
{
	__atomic_add_fetch(&fs->users, 1, __ATOMIC_RELAXED);
}

void proc_fs_put(struct proc_fs *fs)
{
	int left = __atomic_sub_fetch(&fs->users, 1, __ATOMIC_ACQ_REL);
	if (left < 0)
		panic("proc_fs_put: more puts than users");
	if (left > 0)
		return;
	if (fs->cwd)
		vfs_iput(fs->cwd);
	kfree(fs);
}

struct inode *proc_fs_cwd(struct proc_fs *fs)
{
	unsigned long fl = spin_lock_irqsave(&fs->lock);
	struct inode *ino = fs->cwd;
	if (ino)
		vfs_iget(ino);
	spin_unlock_irqrestore(&fs->lock, fl);
	return ino;
}

void proc_fs_set_cwd(struct proc_fs *fs, struct inode *ino)
{
	unsigned long fl = spin_lock_irqsave(&fs->lock);
	struct inode *old = fs->cwd;
	fs->cwd = ino;
	spin_unlock_irqrestore(&fs->lock, fl);
	if (old)
		vfs_iput(old);
}

struct inode *proc_cwd(void)
{
	return proc_fs_cwd(proc_current()->fs);
}

u32 proc_umask(struct proc *p)
{
	return __atomic_load_n(&p->fs->umask, __ATOMIC_RELAXED);
}

struct proc_sighand *sighand_new(void)
{
	struct proc_sighand *sh = kzalloc(sizeof(*sh));
	if (sh)
		sh->users = 1;
	return sh;
}

struct proc_sighand *sighand_copy(struct proc_sighand *sh)
{
	struct proc_sighand *n = sighand_new();
	if (!n)
		return NULL;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	memcpy(n->act, sh->act, sizeof(n->act));
	spin_unlock_irqrestore(&procs_lock, fl);
	return n;
}

void sighand_get(struct proc_sighand *sh)
{
	__atomic_add_fetch(&sh->users, 1, __ATOMIC_RELAXED);
}

void sighand_put(struct proc_sighand *sh)
{
	int left = __atomic_sub_fetch(&sh->users, 1, __ATOMIC_ACQ_REL);
	if (left < 0)
		panic("sighand_put: more puts than users");
	if (left == 0)
		kfree(sh);
}

void sighand_flush(struct proc_sighand *sh)
{
	for (int i = 0; i < PROC_NSIG; i++) {
		struct k_sigaction *a = &sh->act[i];
		*a = (struct k_sigaction){ .handler = a->handler == SIG_IGN ? SIG_IGN : SIG_DFL };
	}
}

/* ---- unshare ---- */

static void say_per_thread(struct proc *p)
{
	static bool said;
	if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
		pr_info("unshare: pid %d (%s): a thread's own files or fs (the process has "
			"several threads) is not supported: -EINVAL", p->pid, p->name);
}

int proc_unshare(u64 flags)
{
	struct proc *p = proc_current();
	int nthreads = READ_ONCE(p->nthreads);
	/* Linux's check_unshare_flags: what it does not implement succeeds
	 * only when there is nothing to unshare */
	if ((flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)) && nthreads > 1)
		return -EINVAL;
	if ((flags & (CLONE_SIGHAND | CLONE_VM)) &&
	    __atomic_load_n(&p->sighand->users, __ATOMIC_ACQUIRE) > 1)
		return -EINVAL;
	if ((flags & CLONE_VM) && __atomic_load_n(&p->vm->refs, __ATOMIC_ACQUIRE) > 1)
		return -EINVAL;
	/* with threads, Linux counts them as users of the table and the fs
	 * info too and gives the calling thread its own copy */
	bool files = (flags & CLONE_FILES) && (fdtable_shared(p->fds) || nthreads > 1);
	bool fs = (flags & CLONE_FS) &&
		  (__atomic_load_n(&p->fs->users, __ATOMIC_ACQUIRE) > 1 || nthreads > 1);
	if ((files || fs) && nthreads > 1) {
		say_per_thread(p);
		return -EINVAL;
	}
	struct fdtable *nfds = files ? fdtable_copy(p->fds) : NULL;
	struct proc_fs *nfs = fs ? proc_fs_copy(p->fs) : NULL;
	if ((files && !nfds) || (fs && !nfs)) {
		if (nfds)
			fdtable_put(nfds);
		if (nfs)
			proc_fs_put(nfs);
		return -ENOMEM;
	}
	struct fdtable *ofds = p->fds;
	struct proc_fs *ofs = p->fs;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (nfds)
		p->fds = nfds;
	if (nfs)
		p->fs = nfs;
	spin_unlock_irqrestore(&procs_lock, fl);
	if (nfds)
		fdtable_put(ofds);
	if (nfs)
		proc_fs_put(ofs);
	return 0;
}
