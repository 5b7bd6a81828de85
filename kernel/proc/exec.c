/*
 * execve: a new program in the calling process. Everything the new image
 * needs (the file's bytes, the new address space, its initial stack) is
 * made before the old one is touched, so a failed exec returns to the old
 * program with an error (DESIGN principle 7); then the switch: the new
 * page tables and a fresh FPU state, the old space freed, a descriptor
 * table or signal actions shared with another process (clone's
 * CLONE_FILES, CLONE_SIGHAND) replaced by the process's own copy,
 * close-on-exec descriptors closed, caught signals reset to their default
 * action, and the registers set for the entry.
 *
 * Scripts: a file starting with "#!" runs its interpreter (with the one
 * optional argument after it) on the script's path, as Linux does; an
 * interpreter that is a script again gives -ELOOP (Linux allows 4 levels).
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

#define EXEC_MAX  (8UL << 20)   /* the largest program file exec reads */
#define SHEBANG_MAX 256
#define MAX_ARGV  1024

static u8 *read_program(struct inode *cwd, const char *path, size_t *size, int *err)
{
	struct file *f;
	int r = vfs_open_exec(cwd, path, &f);   /* execute permission, not read */
	if (r < 0) {
		*err = r;
		return NULL;
	}
	struct inode *ino = f->inode;
	u8 *data = NULL;
	if (!ino || !S_ISREG(ino->mode) || !(ino->mode & 0111))
		*err = -EACCES;
	else
		data = vfs_read_all(f, EXEC_MAX, size, err);
	file_put(f);
	return data;
}

/* "#!interp [arg]\n": interp and arg point into line (NUL ended). */
static int parse_shebang(const u8 *data, size_t size, char *line, char **interp, char **arg)
{
	size_t n = 2;
	while (n < size && n < SHEBANG_MAX - 1 && data[n] != '\n')
		n++;
	memcpy(line, data + 2, n - 2);
	line[n - 2] = '\0';
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -ENOEXEC;
	*interp = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	*arg = NULL;
	if (*s) {
		*s++ = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s) {
			*arg = s;
			char *e = s + strlen(s);
			while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				*--e = '\0';
		}
	}
	return 0;
}

static void set_name(struct proc *p, const char *path)
{
	const char *b = path;
	for (const char *s = path; *s; s++)
		if (*s == '/' && s[1])
			b = s + 1;
	size_t n = strnlen(b, sizeof(p->name) - 1);
	memcpy(p->name, b, n);
	p->name[n] = '\0';
}

/* The program's absolute path for /proc/PID/exe (kmalloc'd): path, or the
 * working directory's path and path ("." and ".." left in, as given);
 * NULL when it does not fit or there is no memory: exe then reads
 * -ENOENT, which is not worth failing an exec for. */
static char *exe_path(struct inode *cwd, const char *path)
{
	char *buf = kmalloc(VFS_PATH_MAX, 0);
	if (!buf)
		return NULL;
	size_t n = 0, len = strlen(path);
	if (path[0] != '/') {
		if (vfs_path_of(cwd, buf, VFS_PATH_MAX) < 0)
			goto fail;
		n = strlen(buf);
		if (n > 1)
			buf[n++] = '/';
	}
	if (n + len + 1 > VFS_PATH_MAX)
		goto fail;
	memcpy(buf + n, path, len + 1);
	return buf;
fail:
	kfree(buf);
	return NULL;
}

int exec_prepare(struct inode *cwd, const char *path, const char *const *argv,
		 const char *const *envp, struct vm **out, struct exec_image *img)
{
	size_t size;
	int r;
	u8 *data = read_program(cwd, path, &size, &r);
	if (!data)
		return r;
	const char **nargv = NULL;
	char *line = NULL;
	u8 *idata = NULL;
	size_t isize = 0;
	if (size >= 2 && data[0] == '#' && data[1] == '!') {
		char *interp = NULL, *arg = NULL;
		line = kmalloc(SHEBANG_MAX, 0);
		int argc = 0;
		while (argv && argv[argc] && argc < MAX_ARGV)
			argc++;
		nargv = kmalloc(sizeof(char *) * (size_t)(argc + 4), 0);
		r = !line || !nargv ? -ENOMEM : parse_shebang(data, size, line, &interp, &arg);
		kfree(data);
		data = NULL;
		if (r < 0)
			goto out;
		int k = 0;
		nargv[k++] = interp;
		if (arg)
			nargv[k++] = arg;
		nargv[k++] = path;
		for (int i = 1; i < argc; i++)
			nargv[k++] = argv[i];
		nargv[k] = NULL;
		argv = nargv;
		data = read_program(cwd, interp, &size, &r);
		if (!data)
			goto out;
		if (size >= 2 && data[0] == '#' && data[1] == '!') {
			r = -ELOOP;
			goto out;
		}
	}
	const char *ipath;
	r = elf_interp(data, size, &ipath);
	if (r < 0)
		goto out;
	if (r == 1) {   /* a missing interpreter is -ENOENT, as on Linux */
		idata = read_program(cwd, ipath, &isize, &r);
		if (!idata)
			goto out;
	}
	struct vm *vm = vm_create();
	r = vm ? elf_load(vm, data, size, idata, isize, argv, envp, img) : -ENOMEM;
	if (r < 0) {
		if (vm)
			vm_destroy(vm);
		goto out;
	}
	vm->exe = exe_path(cwd, nargv ? nargv[0] : path);
	*out = vm;
out:
	kfree(data);
	kfree(idata);
	kfree(line);
	kfree(nargv);
	return r;
}

/* The other threads of the process end (Linux's de_thread); false when
 * the process is ending anyway (or another thread execs first). */
static bool end_other_threads(struct uthread *ut)
{
	struct proc *p = ut->proc;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (p->exiting || p->execing) {
		spin_unlock_irqrestore(&procs_lock, fl);
		return false;
	}
	if (p->nthreads == 1) {
		spin_unlock_irqrestore(&procs_lock, fl);
		return true;
	}
	p->execing = ut;
	struct list_node *n;
	list_for_each(n, &p->threads) {
		struct uthread *o = list_entry(n, struct uthread, link);
		if (o != ut && o->thread)
			sched_wake(o->thread);
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	wait_event(&p->thread_wq, READ_ONCE(p->nthreads) == 1 || READ_ONCE(p->exiting));
	fl = spin_lock_irqsave(&procs_lock);
	p->execing = NULL;
	bool ok = !p->exiting;
	spin_unlock_irqrestore(&procs_lock, fl);
	return ok;
}

/* Past the point of no return, this thread alone in its process: the
 * reserved nfds and nsh (either may be NULL) become the process's copies
 * of a table and actions another process still shares, else go back. */
static void unshare_for_exec(struct proc *p, struct fdtable *nfds, struct proc_sighand *nsh)
{
	struct fdtable *ofds = NULL;
	struct proc_sighand *osh = NULL;
	if (nfds && !fdtable_shared(p->fds)) {
		fdtable_put(nfds);   /* not needed after all */
		nfds = NULL;
	}
	if (nfds)
		fdtable_copy_into(nfds, p->fds);
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (nsh && __atomic_load_n(&p->sighand->users, __ATOMIC_ACQUIRE) == 1) {
		osh = nsh;   /* not needed after all: put below, outside [P] */
		nsh = NULL;
	}
	if (nsh)   /* under [P]: no sigaction changes them meanwhile */
		memcpy(nsh->act, p->sighand->act, sizeof(nsh->act));
	if (nfds) {
		ofds = p->fds;
		p->fds = nfds;
	}
	if (nsh) {
		osh = p->sighand;
		p->sighand = nsh;
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	if (ofds)
		fdtable_put(ofds);
	if (osh)
		sighand_put(osh);
}

int proc_execve(const char *path, const char *const *argv, const char *const *envp)
{
	struct uthread *ut = uthread_current();
	struct proc *p = ut->proc;
	struct vm *vm;
	struct exec_image img;
	struct inode *cwd = proc_cwd();
	int r = exec_prepare(cwd, path, argv, envp, &vm, &img);
	vfs_iput(cwd);
	if (r < 0)
		return r;
	/* The new program's descriptor table and signal actions are its own
	 * (Linux's unshare_files and unshare_sighand): a table or actions
	 * another process shares (CLONE_FILES, CLONE_SIGHAND) are copied.
	 * Their memory is taken now, while failing is still allowed; another
	 * thread may still clone with CLONE_FILES until end_other_threads. */
	bool threads = READ_ONCE(p->nthreads) > 1;
	struct fdtable *nfds = NULL;
	struct proc_sighand *nsh = NULL;
	if (threads || fdtable_shared(p->fds))
		nfds = fdtable_new();
	if (threads || __atomic_load_n(&p->sighand->users, __ATOMIC_ACQUIRE) > 1)
		nsh = sighand_new();
	if (((threads || fdtable_shared(p->fds)) && !nfds) ||
	    ((threads || __atomic_load_n(&p->sighand->users, __ATOMIC_ACQUIRE) > 1) && !nsh)) {
		r = -ENOMEM;
		goto fail;
	}
	if (!end_other_threads(ut)) {
		r = -EINTR;   /* never seen: this thread ends on its way out */
		goto fail;
	}
	/* past here nothing fails: the old program is gone; the thread
	 * left takes the process's id, as on Linux */
	ut->tid = p->pid;
	vm->threads = 1;
	irq_disable();
	struct vm *old = p->vm;
	p->vm = vm;
	arch_user_exec(&ut->user, vm->root);
	irq_enable();
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	old->threads--;   /* a vfork child's old space is its parent's */
	spin_unlock_irqrestore(&procs_lock, fl);
	vm_destroy(old);
	vfork_release(p);
	unshare_for_exec(p, nfds, nsh);
	fdtable_close_on_exec(p->fds);
	sighand_flush(p->sighand);
	ut->clear_child_tid = 0;
	ut->robust_list = 0;
	ut->ss_sp = 0;
	ut->ss_size = 0;
	set_name(p, path);
	/* Linux's begin_new_exec: dumpable again unless its ids disagree */
	struct proc_cred c;
	fl = spin_lock_irqsave(&procs_lock);
	p->execed = true;
	spin_unlock_irqrestore(&procs_lock, fl);
	proc_cred_get(p, &c);
	__atomic_store_n(&p->dumpable, c.uid == c.euid && c.gid == c.egid, __ATOMIC_RELAXED);
	struct user_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = img.entry;
	regs.rsp = img.sp;
	regs.rflags = 0x202;
	arch_user_set_regs(&regs);
	return 0;
fail:
	vm_destroy(vm);
	if (nfds)
		fdtable_put(nfds);
	if (nsh)
		sighand_put(nsh);
	return r;
}
