/*
 * Processes: spawning a program from the initial archive on a thread of
 * its own, its end (exit or a fatal fault), waiting for it; the process
 * table and the REPL's ps. See proc.h.
 *
 * Locks: [P] procs_lock guards procs and each process's state, link,
 * parent, children and sibling, and the clearing of its fds pointer.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"
#include "kernel/proc/uaccess.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/repl/repl.h"

spinlock_t procs_lock = SPINLOCK_INIT("procs");
struct list_node procs = LIST_INIT(procs);          /* [P] */
static int next_pid = 1;                             /* [atomic] */
/* every wait for a child sleeps here; a process's end wakes them all (a
 * queue that outlives every process: no waker touches freed memory) */
static struct waitq child_wq;
static u64 child_events;                             /* [atomic] */

/* A thread of p (not yet on its list), or NULL. */
static struct uthread *uthread_new(struct proc *p)
{
	struct uthread *ut = kzalloc(sizeof(*ut));
	if (!ut)
		return NULL;
	if ((uptr)ut->user.fpu & 15)
		panic("uthread_new: FPU area misaligned");
	ut->proc = p;
	ut->tid = __atomic_fetch_add(&next_pid, 1, __ATOMIC_RELAXED);
	return ut;
}

/* A new process's first fields (its one thread ut not yet started). */
static void proc_setup(struct proc *p, struct uthread *ut)
{
	p->pid = ut->tid;
	list_init(&p->children);
	list_init(&p->threads);
	list_push_back(&p->threads, &ut->link);
	p->nthreads = 1;
	p->kthreads = 1;
	waitq_init(&p->thread_wq, "proc_threads");
	timer_init(&p->it_real);
	p->state = PROC_RUNNING;
}

const char *signal_name(int sig)
{
	switch (sig) {
	case SIGILL: return "SIGILL";
	case SIGTRAP: return "SIGTRAP";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGSEGV: return "SIGSEGV";
	case SIGPIPE: return "SIGPIPE";
	default: return "signal";
	}
}

/* ---- life ---- */

static void proc_thread(void *arg)
{
	struct uthread *ut = arg;
	irq_disable();
	struct thread *t = thread_current();
	ut->thread = t;
	t->user = &ut->user;
	arch_user_switch_in(&ut->user, t->stack.hi);
	arch_user_enter(ut->proc->entry_pc, ut->proc->entry_sp);
}

static int spawn(const char *name, struct vm *vm, const struct exec_image *img,
		 struct proc **out);

int proc_spawn(const char *path, const char *const *argv, const char *const *envp,
	       struct proc **out)
{
	struct inode *root = vfs_root();
	struct vm *vm;
	struct exec_image img;
	int r = exec_prepare(root, path, argv, envp, &vm, &img);
	vfs_iput(root);
	if (r < 0)
		return r;
	r = spawn(path, vm, &img, out);
	if (r < 0)
		vm_destroy(vm);
	return r;
}

/* What a first program gets (as Linux gives init): /dev/console as 0, 1
 * and 2 (one open file), the root as its working directory. A missing
 * console leaves the descriptors closed, as on Linux. */
static int proc_files_init(struct proc *p)
{
	p->fds = fdtable_new();
	p->sighand = sighand_new();
	if (!p->fds || !p->sighand)
		return -ENOMEM;
	struct inode *root = vfs_root();
	p->fs = proc_fs_new(root, 022);
	if (!p->fs) {
		vfs_iput(root);
		return -ENOMEM;
	}
	struct file *con;
	if (vfs_open(root, "/dev/console", O_RDWR, 0, &con) < 0)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (i)
			file_get(con);
		fd_install(p->fds, i, con, false);
	}
	return 0;
}

/* The table and the fs info leave the process under [P] first: the
 * REPL's ps and /proc read them under that lock. (The signal actions stay
 * until proc_free.) */
static void proc_files_free(struct proc *p)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct fdtable *fds = p->fds;
	struct proc_fs *fs = p->fs;
	p->fds = NULL;
	p->fs = NULL;
	spin_unlock_irqrestore(&procs_lock, fl);
	if (fds)
		fdtable_put(fds);
	if (fs)
		proc_fs_put(fs);
}

int proc_spawn_image(const char *name, const u8 *data, size_t size, const char *const *argv,
		     const char *const *envp, struct proc **out)
{
	struct exec_image img;
	const char *interp;
	int r = elf_interp(data, size, &interp);
	if (r != 0)   /* an image from memory has no file system for its ld.so */
		return r < 0 ? r : -ENOEXEC;
	struct vm *vm = vm_create();
	if (!vm)
		return -ENOMEM;
	r = elf_load(vm, data, size, NULL, 0, argv, envp, &img);
	if (r == 0)
		r = spawn(name, vm, &img, out);
	if (r < 0)
		vm_destroy(vm);
	return r;
}

/* A process of the kernel's (no parent) running the loaded vm; the vm is
 * the process's on success, still the caller's on failure. */
static int spawn(const char *name, struct vm *vm, const struct exec_image *img,
		 struct proc **out)
{
	struct proc *p = kzalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	struct uthread *ut = uthread_new(p);
	int r = ut ? proc_files_init(p) : -ENOMEM;
	if (r < 0)
		goto fail;
	p->vm = vm;
	arch_user_init(&ut->user, p->vm->root);
	proc_setup(p, ut);
	vm->threads = 1;
	size_t n = strnlen(name, sizeof(p->name) - 1);
	memcpy(p->name, name, n);
	p->kernel_waits = true;
	p->dumpable = true;
	p->pgid = p->pid;
	p->sid = 0;   /* Linux's init is in session 0, no session leader */
	p->entry_pc = img->entry;
	p->entry_sp = img->sp;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	list_push_back(&procs, &p->link);
	spin_unlock_irqrestore(&procs_lock, fl);
	char tname[24];
	ksnprintf(tname, sizeof(tname), "pid%d", p->pid);
	struct thread *t = thread_create(tname, proc_thread, ut, -1, 0);
	if (!t) {
		fl = spin_lock_irqsave(&procs_lock);
		list_remove(&p->link);
		spin_unlock_irqrestore(&procs_lock, fl);
		r = -ENOMEM;
		goto fail;
	}
	thread_put(t);   /* the process holds no reference: it ends with its thread */
	*out = p;
	return 0;
fail:
	p->vm = NULL;   /* the caller's again */
	proc_files_free(p);
	if (p->sighand)
		sighand_put(p->sighand);
	kfree(ut);
	kfree(p);
	return r;
}

static void describe_status(int status, char *buf, size_t n)
{
	if ((status & 0x7f) == 0)
		ksnprintf(buf, n, "exited with status %d", (status >> 8) & 0xff);
	else
		ksnprintf(buf, n, "killed by %s", signal_name(status & 0x7f));
}

/* Free a zombie ([P] held, or p unreachable). */
static void proc_free(struct proc *p)
{
	list_remove(&p->link);
	sighand_put(p->sighand);
	kfree(p);
}

/* The robust futex list (set_robust_list) of a thread that ends: each
 * lock it still holds gets FUTEX_OWNER_DIED and one waiter is woken, as on
 * Linux. struct robust_list_head: next, futex_offset, list_op_pending. */
#define FUTEX_WAITERS    0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK   0x3fffffffu
#define ROBUST_LIST_LIMIT 2048

static void robust_one(struct uthread *ut, u64 uaddr)
{
	u32 v;
	if ((uaddr & 3) || copy_from_user(&v, uaddr, 4) < 0 || (v & FUTEX_TID_MASK) != (u32)ut->tid)
		return;
	u32 n = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
	if (copy_to_user(uaddr, &n, 4) < 0)
		return;
	if (v & FUTEX_WAITERS)
		futex_wake_vm(ut->proc->vm, uaddr, 1);
}

static void robust_exit(struct uthread *ut)
{
	u64 head[3];
	if (!ut->robust_list || copy_from_user(head, ut->robust_list, sizeof(head)) < 0)
		return;
	s64 off = (s64)head[1];
	u64 entry = head[0] & ~1ULL, pending = head[2] & ~1ULL;
	for (int i = 0; entry != ut->robust_list && i < ROBUST_LIST_LIMIT; i++) {
		u64 next;
		if (copy_from_user(&next, entry, 8) < 0)
			break;
		if (entry != pending)
			robust_one(ut, entry + (u64)off);
		entry = next & ~1ULL;
	}
	if (pending)
		robust_one(ut, pending + (u64)off);
}

static __noreturn void proc_end(struct proc *p, int status);
static void proc_thread_reaped(void *arg);

/* The calling thread leaves its process: its exit-time duties in user
 * memory, off the list, back to the kernel's tables. group: the whole
 * process ends with status (exit_group, a fatal signal). The last thread
 * out ends the process. */
static __noreturn void thread_end(int status, bool group)
{
	struct uthread *ut = uthread_current();
	if (!ut)
		panic("thread_end: not a user thread");
	struct proc *p = ut->proc;
	robust_exit(ut);
	if (ut->clear_child_tid) {
		u32 zero = 0;
		if (copy_to_user(ut->clear_child_tid, &zero, sizeof(zero)) == 0)
			futex_wake_vm(p->vm, ut->clear_child_tid, 1);
	}
	/* back to the kernel's tables before anyone may free the space */
	irq_disable();
	struct thread *t = thread_current();
	arch_user_switch_out(&ut->user);
	t->user = NULL;
	irq_enable();
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (group && !p->exiting) {
		p->exiting = true;
		p->exit_status = status;
	}
	list_remove(&ut->link);
	p->nthreads--;
	p->vm->threads--;
	bool last = p->nthreads == 0;
	if (p->exiting)
		status = p->exit_status;
	struct list_node *n;
	list_for_each(n, &p->threads) {   /* the others see exiting on their way out */
		struct uthread *o = list_entry(n, struct uthread, link);
		if (p->exiting && o->thread)
			sched_wake(o->thread);
	}
	waitq_wake_all(&p->thread_wq);   /* an execve waiting for the others to go */
	spin_unlock_irqrestore(&procs_lock, fl);
	kfree(ut);
	if (!last)
		thread_exit_notify(proc_thread_reaped, p);   /* p lives until then */
	proc_end(p, status);
}

__noreturn void proc_exit(int status) { thread_end(status, true); }

__noreturn void proc_thread_exit(int status) { thread_end(status, false); }

/* The process's last thread is gone: its space, files, and the news to
 * its parent. */
static __noreturn void proc_end(struct proc *p, int status)
{
	/* under [P]: /proc takes its own reference to the space there */
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct vm *vm = p->vm;
	p->vm = NULL;
	p->it_real_ns = 0;   /* a running SIGALRM timer does not re-arm */
	spin_unlock_irqrestore(&procs_lock, fl);
	timer_cancel(&p->it_real);   /* no lock held: it waits for a running fn */
	vm_destroy(vm);
	vfork_release(p);   /* a parent in vfork goes on */
	proc_files_free(p);
	char what[48];
	describe_status(status, what, sizeof(what));
	pr_info("proc: pid %d (%s) %s", p->pid, p->name, what);
	fl = spin_lock_irqsave(&procs_lock);
	/* orphans: nobody will wait for them; the ended ones go now */
	while (!list_empty(&p->children)) {
		struct proc *c = list_entry(p->children.next, struct proc, sibling);
		list_remove(&c->sibling);
		c->parent = NULL;
		if (c->state == PROC_ZOMBIE)
			proc_free(c);
	}
	p->status = status;
	spin_unlock_irqrestore(&procs_lock, fl);
	/* the news goes out once this thread's stack, and every other
	 * thread's, is freed (proc_thread_reaped) */
	thread_exit_notify(proc_thread_reaped, p);
}

/* The reaper freed one of p's kernel threads; after the last, p ends for
 * its parent: a zombie (or freed at once), SIGCHLD, waiters woken. */
static void proc_thread_reaped(void *arg)
{
	struct proc *p = arg;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (--p->kthreads > 0) {
		spin_unlock_irqrestore(&procs_lock, fl);
		return;
	}
	struct proc *parent = p->parent;
	bool reap_self = !parent && !p->kernel_waits;
	if (parent) {
		u64 h = parent->sighand->act[SIGCHLD - 1].handler;
		if (h == SIG_IGN) {   /* as Linux: the child is reaped at once */
			list_remove(&p->sibling);
			reap_self = true;
		} else if (h != SIG_DFL) {
			signal_send(parent, SIGCHLD);
		}
	}
	if (reap_self)
		proc_free(p);
	else
		__atomic_store_n(&p->state, PROC_ZOMBIE, __ATOMIC_RELEASE);
	__atomic_add_fetch(&child_events, 1, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&procs_lock, fl);
	/* p may be freed from here on */
	waitq_wake_all(&child_wq);
}

int proc_wait(struct proc *p)
{
	wait_event(&child_wq, __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == PROC_ZOMBIE);
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	int status = p->status;
	proc_free(p);
	spin_unlock_irqrestore(&procs_lock, fl);
	return status;
}

static bool child_matches(const struct proc *c, int pid, int pgid)
{
	if (pid > 0)
		return c->pid == pid;
	if (pid == -1)
		return true;
	return c->pgid == (pid == 0 ? pgid : -pid);
}

/* A stop or continue of p for its parent's waits: SIGCHLD (unless
 * SA_NOCLDSTOP or ignored), waiters woken. [P] */
void proc_report_stop(struct proc *p, u8 what)
{
	p->report = what;
	struct proc *parent = p->parent;
	if (parent) {
		struct k_sigaction *a = &parent->sighand->act[SIGCHLD - 1];
		if (a->handler != SIG_IGN && a->handler != SIG_DFL && !(a->flags & SA_NOCLDSTOP))
			signal_send(parent, SIGCHLD);
	}
	__atomic_add_fetch(&child_events, 1, __ATOMIC_RELEASE);
	waitq_wake_all(&child_wq);
}

/* A stop or continue of c the wait takes; 0 if none. [P] */
static int take_report(struct proc *c, int opts)
{
	if (c->report == PROC_REPORT_STOPPED && (opts & PROC_WUNTRACED) && c->stopped) {
		c->report = 0;
		return (c->stop_sig << 8) | 0x7f;
	}
	if (c->report == PROC_REPORT_CONTINUED && (opts & PROC_WCONTINUED)) {
		c->report = 0;
		return 0xffff;
	}
	return 0;
}

int proc_wait_child(int pid, int opts, int *status)
{
	bool nohang = opts & PROC_WNOHANG;
	struct proc *p = proc_current();
	for (;;) {
		u64 seen = __atomic_load_n(&child_events, __ATOMIC_ACQUIRE);
		unsigned long fl = spin_lock_irqsave(&procs_lock);
		bool any = false;
		struct list_node *n;
		list_for_each(n, &p->children) {
			struct proc *c = list_entry(n, struct proc, sibling);
			if (!child_matches(c, pid, p->pgid))
				continue;
			any = true;
			int st = c->state != PROC_ZOMBIE ? take_report(c, opts) : 0;
			if (st) {
				*status = st;
				spin_unlock_irqrestore(&procs_lock, fl);
				return c->pid;
			}
			if (c->state != PROC_ZOMBIE || (opts & PROC_WAIT_NOEXIT))
				continue;
			int got = c->pid;
			*status = c->status;
			list_remove(&c->sibling);
			proc_free(c);
			spin_unlock_irqrestore(&procs_lock, fl);
			return got;
		}
		spin_unlock_irqrestore(&procs_lock, fl);
		if (!any)
			return -ECHILD;
		if (nohang)
			return 0;
		/* an ended child first, as Linux does: the SIGCHLD that came
		 * with it does not make the wait fail */
		if (proc_signal_pending())
			return -EINTR;
		wait_event(&child_wq, __atomic_load_n(&child_events, __ATOMIC_ACQUIRE) != seen ||
					      proc_signal_pending());
	}
}

/* ---- fork ---- */

/* A parent sleeping in vfork (clone with CLONE_VFORK) until its child
 * execs or ends. It lives on the parent's stack: the child's pointer to
 * it is cleared under [P] by whoever goes first. */
struct vfork_done {
	struct waitq wq;
	bool done;
};

void vfork_release(struct proc *c)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct vfork_done *vd = c->vfork;
	c->vfork = NULL;
	if (vd) {
		vd->done = true;
		waitq_wake_all(&vd->wq);   /* under [P]: the parent cannot leave first */
	}
	spin_unlock_irqrestore(&procs_lock, fl);
}

static void vfork_wait(struct proc *parent, struct vfork_done *vd)
{
	wait_event(&vd->wq, READ_ONCE(vd->done) || READ_ONCE(parent->exiting));
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (!vd->done) {   /* exit_group: the child keeps running without us */
		struct list_node *n;
		list_for_each(n, &parent->children) {
			struct proc *c = list_entry(n, struct proc, sibling);
			if (c->vfork == vd)
				c->vfork = NULL;
		}
	}
	spin_unlock_irqrestore(&procs_lock, fl);
}

/* The descriptor table, fs info and signal actions of a new process c:
 * its parent's own (one more user each) with CLONE_FILES, CLONE_FS,
 * CLONE_SIGHAND, else copies (the handlers reset with CLONE_CLEAR_SIGHAND).
 * -ENOMEM leaves what it got in c for the caller to put. */
static int fork_share(struct proc *c, struct proc *parent, u64 fl)
{
	if (fl & CLONE_FILES) {
		fdtable_get(parent->fds);
		c->fds = parent->fds;
	} else {
		c->fds = fdtable_copy(parent->fds);
	}
	if (fl & CLONE_FS) {
		proc_fs_get(parent->fs);
		c->fs = parent->fs;
	} else {
		c->fs = proc_fs_copy(parent->fs);
	}
	if (fl & CLONE_SIGHAND) {
		sighand_get(parent->sighand);
		c->sighand = parent->sighand;
	} else {
		c->sighand = sighand_copy(parent->sighand);
		if (c->sighand && (fl & CLONE_CLEAR_SIGHAND))
			sighand_flush(c->sighand);
	}
	return c->fds && c->fs && c->sighand ? 0 : -ENOMEM;
}

static void fork_thread(void *arg)
{
	struct uthread *ut = arg;
	irq_disable();
	struct thread *t = thread_current();
	ut->thread = t;
	t->user = &ut->user;
	arch_user_switch_in(&ut->user, t->stack.hi);
	struct user_regs regs = ut->start_regs;
	arch_user_resume(&regs);
}

int proc_fork(const struct user_regs *regs, u64 clone_flags, u64 parent_tid, u64 child_tid,
	      u64 tls)
{
	struct uthread *self = uthread_current();
	struct proc *parent = self->proc;
	struct proc *c = kzalloc(sizeof(*c));
	struct uthread *ut = c ? uthread_new(c) : NULL;
	if (!ut) {
		kfree(c);
		return -ENOMEM;
	}
	if (clone_flags & CLONE_VM) {   /* one space, as posix_spawn's child */
		vm_get(parent->vm);
		c->vm = parent->vm;
	} else {
		c->vm = vm_clone(parent->vm);
	}
	if (fork_share(c, parent, clone_flags) < 0 || !c->vm) {
		if (c->vm)
			vm_destroy(c->vm);
		proc_files_free(c);
		if (c->sighand)
			sighand_put(c->sighand);
		kfree(ut);
		kfree(c);
		return -ENOMEM;
	}
	/* the calling thread alone goes on in the child */
	arch_user_fork(&ut->user, &self->user, c->vm->root);
	if (clone_flags & CLONE_SETTLS)
		ut->user.fs_base = tls;
	proc_setup(c, ut);
	struct vfork_done vd;
	if (clone_flags & CLONE_VFORK) {
		waitq_init(&vd.wq, "vfork");
		vd.done = false;
		c->vfork = &vd;
	}
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	c->vm->threads++;   /* 0 before for its own copy */
	c->pgid = parent->pgid;
	c->cred = parent->cred;
	c->dumpable = parent->dumpable;
	c->sid = parent->sid;
	c->ctty = parent->ctty;
	spin_unlock_irqrestore(&procs_lock, fl);
	/* resource limits are inherited (the descriptor table's limit came
	 * with its copy); without this a child's getrlimit said the default */
	memcpy(c->rlim, parent->rlim, sizeof(c->rlim));
	memcpy(c->rlim_set, parent->rlim_set, sizeof(c->rlim_set));
	memcpy(c->name, parent->name, sizeof(c->name));
	ut->sigmask = self->sigmask;
	ut->ss_sp = self->ss_sp;
	ut->ss_size = self->ss_size;
	ut->start_regs = *regs;
	ut->start_regs.rax = 0;   /* the child's fork returns 0 */
	/* glibc's fork: the child's tid in its own copy of the thread block */
	u32 tid = (u32)c->pid;
	if ((clone_flags & CLONE_CHILD_SETTID) && (clone_flags & CLONE_VM))
		(void)copy_to_user(child_tid, &tid, sizeof(tid));   /* one space: as a thread's */
	else if ((clone_flags & CLONE_CHILD_SETTID) && vm_poke(c->vm, child_tid, &tid, sizeof(tid)) < 0)
		pr_info("proc: pid %d: clone's child tid pointer is bad: not written", parent->pid);
	if (clone_flags & CLONE_CHILD_CLEARTID)
		ut->clear_child_tid = child_tid;
	if ((clone_flags & CLONE_PARENT_SETTID) && copy_to_user(parent_tid, &tid, sizeof(tid)) < 0)
		pr_info("proc: pid %d: clone's parent tid pointer is bad: not written", parent->pid);
	fl = spin_lock_irqsave(&procs_lock);
	c->parent = parent;
	list_push_back(&parent->children, &c->sibling);
	list_push_back(&procs, &c->link);
	spin_unlock_irqrestore(&procs_lock, fl);
	char tname[24];
	ksnprintf(tname, sizeof(tname), "pid%d", c->pid);
	int pid = c->pid;   /* c may be gone once its thread runs (SIGCHLD ignored) */
	struct thread *t = thread_create(tname, fork_thread, ut, -1, 0);
	if (!t) {
		fl = spin_lock_irqsave(&procs_lock);
		list_remove(&c->sibling);
		list_remove(&c->link);
		c->vm->threads--;
		spin_unlock_irqrestore(&procs_lock, fl);
		vm_destroy(c->vm);
		proc_files_free(c);
		sighand_put(c->sighand);
		kfree(ut);
		kfree(c);
		return -ENOMEM;
	}
	thread_put(t);
	if (clone_flags & CLONE_VFORK)
		vfork_wait(parent, &vd);
	return pid;
}

int proc_clone_thread(const struct user_regs *regs, u64 clone_flags, u64 parent_tid,
		      u64 child_tid, u64 tls)
{
	struct uthread *self = uthread_current();
	struct proc *p = self->proc;
	struct uthread *ut = uthread_new(p);
	if (!ut)
		return -ENOMEM;
	arch_user_fork(&ut->user, &self->user, p->vm->root);
	if (clone_flags & CLONE_SETTLS)
		ut->user.fs_base = tls;   /* loaded when it first runs (not the caller's MSR) */
	ut->sigmask = self->sigmask;   /* no alternate stack: Linux clears it for CLONE_VM */
	ut->start_regs = *regs;
	ut->start_regs.rax = 0;
	u32 tid = (u32)ut->tid;
	/* one address space: both pointers are written now, as Linux does
	 * before either thread runs on (a bad one is skipped, as there) */
	if (clone_flags & CLONE_CHILD_SETTID)
		(void)copy_to_user(child_tid, &tid, sizeof(tid));
	if (clone_flags & CLONE_PARENT_SETTID)
		(void)copy_to_user(parent_tid, &tid, sizeof(tid));
	if (clone_flags & CLONE_CHILD_CLEARTID)
		ut->clear_child_tid = child_tid;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (p->exiting || p->execing) {
		spin_unlock_irqrestore(&procs_lock, fl);
		kfree(ut);
		return -EAGAIN;
	}
	list_push_back(&p->threads, &ut->link);
	p->nthreads++;
	p->kthreads++;
	p->vm->threads++;
	spin_unlock_irqrestore(&procs_lock, fl);
	char tname[24];
	ksnprintf(tname, sizeof(tname), "pid%d.%d", p->pid, ut->tid);
	/* tid (above) is returned: ut may be gone once its thread runs */
	struct thread *t = thread_create(tname, fork_thread, ut, -1, 0);
	if (!t) {
		fl = spin_lock_irqsave(&procs_lock);
		list_remove(&ut->link);
		p->nthreads--;
		p->kthreads--;
		p->vm->threads--;
		spin_unlock_irqrestore(&procs_lock, fl);
		kfree(ut);
		return -ENOMEM;
	}
	thread_put(t);
	return (int)tid;
}

/* ---- faults: the signal's default action (no handlers yet) ---- */

static int fault_signal(enum user_fault_kind k)
{
	switch (k) {
	case UFAULT_DIVIDE:
	case UFAULT_FP: return SIGFPE;
	case UFAULT_INVALID_OP: return SIGILL;
	case UFAULT_BREAKPOINT: return SIGTRAP;
	case UFAULT_BUS: return SIGBUS;
	case UFAULT_PAGE:
	case UFAULT_PROTECTION: return SIGSEGV;
	}
	return SIGSEGV;
}

static void user_fault(const struct user_fault *f)
{
	struct uthread *ut = uthread_current();
	if (!ut)
		panic("user_fault: user mode without a process");
	struct proc *p = ut->proc;
	int sig = fault_signal(f->kind);
	/* past the last page of a mapped file: SIGBUS (BUS_ADRERR), as Linux */
	if (f->kind == UFAULT_PAGE && f->addr < USER_TOP &&
	    vm_fault_sigbus(p->vm, f->addr, f->write, f->exec))
		sig = SIGBUS;
	/* a handler the program set runs (on the way back to user mode); an
	 * ignored or blocked fault signal ends the process, as on Linux */
	u64 h = p->sighand->act[sig - 1].handler;
	if (h != SIG_DFL && h != SIG_IGN && !(ut->sigmask & (1ULL << (sig - 1)))) {
		ut->fault_addr = f->addr;
		ut->fault_code = f->kind == UFAULT_PAGE ? (vm_kind_at(p->vm, f->addr) >= 0 ? 2 : 1) : 0;
		uthread_signal(ut, sig);
		return;
	}
	if (f->kind == UFAULT_PAGE) {
		int kind = vm_kind_at(p->vm, f->addr);
		const char *where = f->addr >= USER_TOP ? "kernel address" :
				    kind < 0 ? "unmapped address" :
				    kind == VMA_GUARD ? "the stack guard gap" :
				    kind == VMA_FILE_EOF ? "a file mapping past the file's end" :
				    (kind == VMA_FSHARED || kind == VMA_FPRIVATE) && sig == SIGBUS ?
				    "a file mapping past the file's end, or a page not read" :
				    "a mapping that forbids it";
		pr_info("proc: pid %d (%s): %s: %s of %s %#llx at pc %#llx", p->pid, p->name,
			signal_name(sig), f->exec ? "instruction fetch" : f->write ? "write" : "read",
			where, (unsigned long long)f->addr, (unsigned long long)f->pc);
	} else {
		pr_info("proc: pid %d (%s): %s: %s at pc %#llx", p->pid, p->name, signal_name(sig),
			f->what, (unsigned long long)f->pc);
	}
	irq_enable();
	proc_exit(sig);
}

void proc_raise_sigpipe(void)
{
	uthread_signal(uthread_current(), SIGPIPE);   /* to the thread, as Linux */
}

static u64 file_fault_in_copy;   /* [atomic] */
KCOUNTER_VAR("vm.file_map_copy_faults", "faults", file_fault_in_copy);

static bool resolve_fault(u64 addr, bool write, bool exec, bool user)
{
	struct uthread *ut = uthread_current();
	if (!ut || !ut->proc->vm)
		return false;
	int r = vm_fault(ut->proc->vm, addr, write, exec);
	if (r == VM_FAULT_FLUSH)   /* done before this thread goes back to user mode */
		ut->flush_pending = true;
	if (r == VM_FAULT_FILE) {
		/* the file's page may need the disk: only the program's own
		 * touch waits for it. A system call's copy (which may hold
		 * locks, the file's among them) finds the pages the mmap
		 * mapped, and -EFAULT for one the file gained since, until
		 * the program touches it (counted) */
		if (!user) {
			__atomic_add_fetch(&file_fault_in_copy, 1, __ATOMIC_RELAXED);
			return false;
		}
		irq_enable();
		r = vm_fault_file(ut->proc->vm, addr, write);
		irq_disable();
	}
	return r >= 0;
}

void proc_init(void)
{
	waitq_init(&child_wq, "proc_child");
	futex_init();
	proc_clock_init();
	procfs_init();
	arch_set_user_pf_resolver(resolve_fault);
	arch_set_user_return_hook(signal_on_user_return);
	vfs_interrupted = proc_signal_pending;
	vfs_cred_hook = proc_vfs_cred_hook;
	arch_set_user_fault_handler(user_fault);
}

/* ---- REPL ---- */

struct ps_row {
	int pid, ppid, fds, threads;
	char name[32];
	const char *state;
	u64 pages, syscalls;
};

REPL_CMD("ps", cmd_ps, "",
	 "processes: pid, parent, state, name, threads, user pages mapped, open descriptors, "
	 "system calls");
static int cmd_ps(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct ps_row rows[32];
	int n = 0, more = 0;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *ln;
	list_for_each(ln, &procs) {
		struct proc *p = list_entry(ln, struct proc, link);
		if (n == 32) {
			more++;
			continue;
		}
		struct vm *vm = READ_ONCE(p->vm);
		rows[n].pid = p->pid;
		rows[n].ppid = p->parent ? p->parent->pid : 0;
		rows[n].fds = p->fds ? fd_count(p->fds) : 0;   /* freed only after [P] */
		rows[n].threads = p->nthreads;
		memcpy(rows[n].name, p->name, sizeof(rows[n].name));
		rows[n].state = p->state == PROC_RUNNING ? "running" : "zombie";
		rows[n].pages = vm ? READ_ONCE(vm->pages) : 0;
		rows[n].syscalls = p->syscalls;
		n++;
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	repl_table_begin(o, "processes",
			 "pid:n:5 ppid:n:5 state::8 name::24 threads:n:7 pages:n:6 fds:n:4 "
			 "syscalls:n:8");
	for (int i = 0; i < n; i++) {
		char pid[16], ppid[16], fds[16], thr[16], pages[24], calls[24];
		ksnprintf(thr, sizeof(thr), "%d", rows[i].threads);
		ksnprintf(pid, sizeof(pid), "%d", rows[i].pid);
		ksnprintf(ppid, sizeof(ppid), "%d", rows[i].ppid);
		ksnprintf(fds, sizeof(fds), "%d", rows[i].fds);
		ksnprintf(pages, sizeof(pages), "%llu", (unsigned long long)rows[i].pages);
		ksnprintf(calls, sizeof(calls), "%llu", (unsigned long long)rows[i].syscalls);
		const char *cells[] = { pid, ppid, rows[i].state, rows[i].name, thr, pages, fds, calls };
		repl_row(o, cells);
	}
	repl_table_end(o);
	if (more)
		repl_printf(o, "(%d more not shown)\n", more);
	return 0;
}

REPL_CMD("kill", cmd_kill, "PID [SIGNAL]",
	 "send a process a signal by number (default 15, SIGTERM), as kill(2) with PID > 0");
static int cmd_kill(struct repl_out *o, int argc, char **argv)
{
	u64 pid, sig = 15;
	if (argc < 2 || argc > 3 || repl_parse_u64(argv[1], &pid) < 0 || pid == 0 || pid > INT32_MAX ||
	    (argc == 3 && (repl_parse_u64(argv[2], &sig) < 0 || sig > PROC_NSIG)))
		return repl_error(o, -EINVAL, "usage: kill PID [SIGNAL]");
	int r = proc_kill((int)pid, (int)sig);
	if (r < 0)
		return repl_error(o, r, "kill %llu: no such process", (unsigned long long)pid);
	repl_printf(o, "sent signal %llu to %llu\n", (unsigned long long)sig, (unsigned long long)pid);
	return 0;
}
