/*
 * Processes: spawning a program from the initial archive on a thread of
 * its own, its end (exit or a fatal fault), waiting for it; the process
 * table and the REPL's ps. See proc.h.
 *
 * Locks: [P] procs_lock guards procs and each process's state and link.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/uaccess.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/repl/repl.h"

static spinlock_t procs_lock = SPINLOCK_INIT("procs");
static struct list_node procs = LIST_INIT(procs);   /* [P] */
static int next_pid = 1;                             /* [atomic] */

struct proc *proc_current(void)
{
	struct thread *t = thread_current();
	if (!t || !t->user)
		return NULL;
	return (struct proc *)t->user;   /* user is the first member */
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
	struct proc *p = arg;
	irq_disable();
	struct thread *t = thread_current();
	p->thread = t;
	t->user = &p->user;
	arch_user_switch_in(&p->user, t->stack.hi);
	arch_user_enter(p->entry_pc, p->entry_sp);
}

#define EXEC_MAX (4UL << 20)   /* the largest program file exec reads */

int proc_spawn(const char *path, const char *const *argv, const char *const *envp,
	       struct proc **out)
{
	struct inode *root = vfs_root();
	struct file *f;
	int r = vfs_open(root, path, O_RDONLY, 0, &f);
	vfs_iput(root);
	if (r < 0)
		return r;
	size_t size;
	u8 *data = vfs_read_all(f, EXEC_MAX, &size, &r);
	file_put(f);
	if (!data)
		return r;
	r = proc_spawn_image(path, data, size, argv, envp, out);
	kfree(data);
	return r;
}

/* What a first program gets (as Linux gives init): /dev/console as 0, 1
 * and 2 (one open file), the root as its working directory. A missing
 * console leaves the descriptors closed, as on Linux. */
static int proc_files_init(struct proc *p)
{
	p->fds = fdtable_new();
	if (!p->fds)
		return -ENOMEM;
	p->cwd = vfs_root();
	p->umask = 022;
	struct file *con;
	if (vfs_open(p->cwd, "/dev/console", O_RDWR, 0, &con) < 0)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (i)
			file_get(con);
		fd_install(p->fds, i, con, false);
	}
	return 0;
}

static void proc_files_free(struct proc *p)
{
	if (p->fds)
		fdtable_free(p->fds);
	if (p->cwd)
		vfs_iput(p->cwd);
	p->fds = NULL;
	p->cwd = NULL;
}

int proc_spawn_image(const char *name, const u8 *data, size_t size, const char *const *argv,
		     const char *const *envp, struct proc **out)
{
	struct proc *p = kzalloc(sizeof(*p));
	struct exec_image img;
	int r = -ENOMEM;
	if (!p)
		goto fail;
	if ((uptr)p->user.fpu & 15)
		panic("proc_spawn: FPU area misaligned");
	p->vm = vm_create();
	if (!p->vm)
		goto fail;
	r = elf_load(p->vm, data, size, argv, envp, &img);
	if (r < 0)
		goto fail_vm;
	r = proc_files_init(p);
	if (r < 0)
		goto fail_vm;
	arch_user_init(&p->user, p->vm->root);
	p->pid = __atomic_fetch_add(&next_pid, 1, __ATOMIC_RELAXED);
	size_t n = strnlen(name, sizeof(p->name) - 1);
	memcpy(p->name, name, n);
	waitq_init(&p->exit_wq, "proc_exit");
	p->state = PROC_RUNNING;
	p->entry_pc = img.entry;
	p->entry_sp = img.sp;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	list_push_back(&procs, &p->link);
	spin_unlock_irqrestore(&procs_lock, fl);
	char tname[24];
	ksnprintf(tname, sizeof(tname), "pid%d", p->pid);
	struct thread *t = thread_create(tname, proc_thread, p, -1, 0);
	if (!t) {
		fl = spin_lock_irqsave(&procs_lock);
		list_remove(&p->link);
		spin_unlock_irqrestore(&procs_lock, fl);
		r = -ENOMEM;
		goto fail_vm;
	}
	thread_put(t);   /* the process holds no reference: it ends with its thread */
	*out = p;
	return 0;
fail_vm:
	proc_files_free(p);
	vm_destroy(p->vm);
fail:
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

__noreturn void proc_exit(int status)
{
	struct proc *p = proc_current();
	if (!p)
		panic("proc_exit: not a process");
	if (p->clear_child_tid) {
		u32 zero = 0;
		(void)copy_to_user(p->clear_child_tid, &zero, sizeof(zero));
	}
	/* back to the kernel's tables before the space goes */
	irq_disable();
	struct thread *t = thread_current();
	arch_user_switch_out(&p->user);
	t->user = NULL;
	irq_enable();
	struct vm *vm = p->vm;
	p->vm = NULL;
	vm_destroy(vm);
	proc_files_free(p);
	char what[48];
	describe_status(status, what, sizeof(what));
	pr_info("proc: pid %d (%s) %s", p->pid, p->name, what);
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	p->state = PROC_EXITED;
	p->status = status;
	spin_unlock_irqrestore(&procs_lock, fl);
	fl = spin_lock_irqsave(&p->exit_wq.lock);
	__atomic_store_n(&p->exited, true, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&p->exit_wq.lock, fl);
	waitq_wake_all(&p->exit_wq);
	thread_exit();
}

int proc_wait(struct proc *p)
{
	wait_event(&p->exit_wq, __atomic_load_n(&p->exited, __ATOMIC_ACQUIRE));
	/* the waker may still be inside waitq_wake_all: take the lock once
	 * more so it has let go before p is freed */
	unsigned long fl = spin_lock_irqsave(&p->exit_wq.lock);
	spin_unlock_irqrestore(&p->exit_wq.lock, fl);
	fl = spin_lock_irqsave(&procs_lock);
	list_remove(&p->link);
	spin_unlock_irqrestore(&procs_lock, fl);
	int status = p->status;
	kfree(p);
	return status;
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
	struct proc *p = proc_current();
	if (!p)
		panic("user_fault: user mode without a process");
	int sig = fault_signal(f->kind);
	if (f->kind == UFAULT_PAGE) {
		const struct vma *v = vm_find(p->vm, f->addr);
		const char *where = f->addr >= USER_TOP ? "kernel address" :
				    !v ? "unmapped address" :
				    v->kind == VMA_GUARD ? "the stack guard gap" :
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

#define SIG_DFL 0
#define SIG_IGN 1

void proc_raise_sigpipe(void)
{
	struct proc *p = proc_current();
	u64 h = p->sigact[SIGPIPE - 1].handler;
	if (h == SIG_IGN || (p->sigmask & (1ULL << (SIGPIPE - 1))))
		return;
	if (h != SIG_DFL) {
		static bool told;
		if (!told) {
			told = true;
			pr_info("proc: pid %d (%s): SIGPIPE handler not run (no signal delivery "
				"yet): the write fails with EPIPE", p->pid, p->name);
		}
		return;
	}
	proc_exit(SIGPIPE);
}

void proc_init(void)
{
	arch_set_user_fault_handler(user_fault);
}

/* ---- REPL ---- */

struct ps_row {
	int pid;
	char name[32];
	const char *state;
	u64 pages, syscalls;
};

REPL_CMD("ps", cmd_ps, "", "processes: pid, state, name, user pages mapped, system calls");
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
		memcpy(rows[n].name, p->name, sizeof(rows[n].name));
		rows[n].state = p->state == PROC_RUNNING ? "running" : "exited";
		rows[n].pages = vm ? READ_ONCE(vm->pages) : 0;
		rows[n].syscalls = p->syscalls;
		n++;
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	repl_table_begin(o, "processes", "pid:n:5 state::8 name::24 pages:n:6 syscalls:n:8");
	for (int i = 0; i < n; i++) {
		char pid[16], pages[24], calls[24];
		ksnprintf(pid, sizeof(pid), "%d", rows[i].pid);
		ksnprintf(pages, sizeof(pages), "%llu", (unsigned long long)rows[i].pages);
		ksnprintf(calls, sizeof(calls), "%llu", (unsigned long long)rows[i].syscalls);
		const char *cells[] = { pid, rows[i].state, rows[i].name, pages, calls };
		repl_row(o, cells);
	}
	repl_table_end(o);
	if (more)
		repl_printf(o, "(%d more not shown)\n", more);
	return 0;
}
