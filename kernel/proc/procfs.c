/*
 * /proc: a small file system generated from the kernel's state when read,
 * as far as programs need it (issue 12):
 *   /proc/self          symbolic link to the caller's pid
 *   /proc/PID/          maps (Linux's format), stat, status, comm,
 *                       cmdline, environ (the strings of the initial stack,
 *                       as the process may since have changed them),
 *                       exe, cwd (symbolic links to the program's path and
 *                       the working directory), fd/N (symbolic links to
 *                       what the descriptors name), task/ (the thread
 *                       ids, ascending; task/TID/ holds the thread's
 *                       stat, status and comm)
 *   /proc/cpuinfo, meminfo, uptime, stat, mounts, diskstats (Linux's
 *                       17 fields a disk, its queues summed; the time
 *                       fields 0: not kept)
 * Read-only (-EROFS for every change). A file's text is made anew by each
 * read (from its offset), as Linux's seq files do.
 *
 * What it does not know yet, and says so in the text: open regular files
 * keep no name, so fd/N of one reads "/(unnamed file)"; per-CPU time
 * accounting is absent, so /proc/stat's user and system times are 0 and
 * its idle time is the uptime.
 *
 * Inodes: the root is static; the others live in a fixed table of slots,
 * keyed by (kind, pid, fd) (fd: the thread id for task/TID and its files),
 * that a lookup fills or reuses. A slot is never
 * freed (nlink 1), so a pointer to one is always memory of this file
 * system; a slot nobody holds a reference to is taken for a new key, the
 * least recently used first. Slots change only under the VFS's namespace
 * lock, which every lookup and readdir runs under; an open file holds a
 * reference and keeps its slot's key.
 *
 * A process's fields are read under [P]; its space under a reference
 * (vm_get) taken there, so that an exit or execve cannot free it meanwhile.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"
#include "fs/blk/blk.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

enum pkind {
	PK_ROOT, PK_SELF, PK_CPUINFO, PK_MEMINFO, PK_UPTIME, PK_STAT,
	PK_PID, PK_MAPS, PK_PSTAT, PK_STATUS, PK_COMM, PK_FDDIR, PK_FD,
	PK_CMDLINE, PK_ENVIRON, PK_EXE, PK_CWD, PK_MOUNTS,
	PK_TASKDIR, PK_TASK, PK_TSTAT, PK_TSTATUS, PK_TCOMM, PK_DISKSTATS,
};

struct pnode {
	struct inode inode;   /* first */
	enum pkind kind;
	int pid, fd;
	u64 used;             /* [ns] lookup clock when last found */
	char link[128];       /* [ns] symbolic links: the target */
};

#define PROCFS_SLOTS 64
static struct pnode root_node;
static struct pnode slots[PROCFS_SLOTS];
static u64 clock;   /* [ns] */

static const struct inode_ops procfs_iops;
static const struct file_ops procfs_file_fops;

static struct pnode *pn(struct inode *i) { return (struct pnode *)i; }

/* the top-level names besides the pids */
static const struct { const char *name; enum pkind kind; } top[] = {
	{ "self", PK_SELF }, { "cpuinfo", PK_CPUINFO }, { "meminfo", PK_MEMINFO },
	{ "uptime", PK_UPTIME }, { "stat", PK_STAT }, { "mounts", PK_MOUNTS },
	{ "diskstats", PK_DISKSTATS },
};
static const struct { const char *name; enum pkind kind; } per_pid[] = {
	{ "fd", PK_FDDIR }, { "maps", PK_MAPS }, { "stat", PK_PSTAT }, { "status", PK_STATUS },
	{ "comm", PK_COMM }, { "cmdline", PK_CMDLINE }, { "environ", PK_ENVIRON },
	{ "exe", PK_EXE }, { "cwd", PK_CWD }, { "task", PK_TASKDIR },
};
static const struct { const char *name; enum pkind kind; } per_task[] = {
	{ "stat", PK_TSTAT }, { "status", PK_TSTATUS }, { "comm", PK_TCOMM },
};

static u32 kind_mode(enum pkind k)
{
	switch (k) {
	case PK_ROOT:
	case PK_PID:
	case PK_TASKDIR:
	case PK_TASK: return S_IFDIR | 0555;
	case PK_FDDIR: return S_IFDIR | 0500;
	case PK_SELF:
	case PK_EXE:
	case PK_CWD: return S_IFLNK | 0777;
	case PK_FD: return S_IFLNK | 0700;
	case PK_ENVIRON: return S_IFREG | 0400;
	default: return S_IFREG | 0444;
	}
}

static void node_init(struct pnode *n, enum pkind k, int pid, int fd, struct inode *parent)
{
	struct inode *i = &n->inode;
	n->kind = k;
	n->pid = pid;
	n->fd = fd;
	i->ino = ((u64)pid << 20) | ((u64)k << 14) | (u64)(fd & 0x3fff);
	i->ino += 0x100000000ULL;   /* apart from the RAM file system's numbers */
	i->mode = kind_mode(k);
	i->nlink = 1;   /* never destroyed */
	i->iops = &procfs_iops;
	i->fops = S_ISDIR(i->mode) ? &vfs_dir_fops : S_ISREG(i->mode) ? &procfs_file_fops : NULL;
	i->mtime_ns = i->ctime_ns = i->atime_ns = arch_realtime_ns();
	i->parent = parent;
	i->dev = 0x16;   /* "proc" on no device */
	i->size = 0;     /* as Linux: the text's length is known only when read */
	n->link[0] = '\0';
}

/* The slot for a key ([ns]): the one that has it, else the least recently
 * used one that nobody holds; NULL when every slot is held. */
static struct pnode *slot_for(enum pkind k, int pid, int fd, struct inode *parent)
{
	struct pnode *free = NULL;
	for (int i = 0; i < PROCFS_SLOTS; i++) {
		struct pnode *n = &slots[i];
		if (n->inode.iops && n->kind == k && n->pid == pid && n->fd == fd) {
			n->used = ++clock;
			n->inode.parent = parent;
			return n;
		}
		if (__atomic_load_n(&n->inode.refs, __ATOMIC_ACQUIRE) == 0 &&
		    (!free || n->used < free->used))
			free = n;
	}
	if (!free)
		return NULL;
	node_init(free, k, pid, fd, parent);
	free->used = ++clock;
	return free;
}

/* The process with that pid, [P] held by the caller. */
static struct proc *find_proc(int pid)
{
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->pid == pid)
			return p;
	}
	return NULL;
}

/* Thread tid of process p, or NULL. [P] */
static struct uthread *find_thread(struct proc *p, int tid)
{
	struct list_node *n;
	list_for_each(n, &p->threads) {
		struct uthread *ut = list_entry(n, struct uthread, link);
		if (ut->tid == tid)
			return ut;
	}
	return NULL;
}

/* Is tid a live thread of process pid? */
static bool thread_alive(int pid, int tid)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct proc *p = find_proc(pid);
	bool alive = p && p->state == PROC_RUNNING && find_thread(p, tid);
	spin_unlock_irqrestore(&procs_lock, fl);
	return alive;
}

/* The smallest thread id of process pid at or above from, or -1. */
static int next_thread(int pid, int from)
{
	int next = -1;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct proc *p = find_proc(pid);
	if (p && p->state == PROC_RUNNING) {
		struct list_node *n;
		list_for_each(n, &p->threads) {
			struct uthread *ut = list_entry(n, struct uthread, link);
			if (ut->tid >= from && (next < 0 || ut->tid < next))
				next = ut->tid;
		}
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	return next;
}

static bool proc_alive(int pid)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct proc *p = find_proc(pid);
	bool alive = p && p->state == PROC_RUNNING;
	spin_unlock_irqrestore(&procs_lock, fl);
	return alive;
}

static bool parse_num(const char *s, size_t len, int *out)
{
	if (!len || len > 9)
		return false;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (len > 1 && s[0] == '0')
		return false;
	*out = v;
	return true;
}

/* A directory's path from its parents' names, across mount points, into
 * buf (cut to fit: no sleeping here, so no allocation; the names under
 * [ns], which our callers hold). */
static void dir_path(struct inode *dir, char *buf, size_t size)
{
	char tmp[128];
	size_t at = sizeof(tmp) - 1;
	tmp[at] = '\0';
	for (int depth = 0; dir && depth < 64; depth++) {
		if (!dir->parent && dir->covers) {
			dir = dir->covers;
			continue;
		}
		if (!dir->parent || !dir->name)
			break;
		size_t n = strlen(dir->name);
		if (at < n + 1)
			break;
		at -= n;
		memcpy(tmp + at, dir->name, n);
		tmp[--at] = '/';
		dir = dir->parent;
	}
	ksnprintf(buf, size, "%s", tmp[at] ? tmp + at : "/");
}

struct fd_desc {
	char *buf;
	size_t size;
};

/* A file's name as Linux's fd links read it ([F] and [P] held: no sleeping;
 * the directory names under [ns], which our caller holds). */
static void describe_file(struct file *f, void *arg)
{
	struct fd_desc *d = arg;
	char *buf = d->buf;
	size_t size = d->size;
	struct inode *ino = f->inode;
	if (ino && S_ISCHR(ino->mode)) {
		const char *dev = ino->rdev == DEV_CONSOLE ? "console" : ino->rdev == DEV_NULL ? "null" :
				  ino->rdev == DEV_ZERO ? "zero" : ino->rdev == DEV_URANDOM ? "urandom" :
				  NULL;
		if (dev)
			ksnprintf(buf, size, "/dev/%s", dev);
		else
			ksnprintf(buf, size, "/dev/char/%u:%u", MAJOR(ino->rdev), MINOR(ino->rdev));
	} else if (ino && S_ISDIR(ino->mode)) {
		dir_path(ino, buf, size);
	} else if (ino) {
		ksnprintf(buf, size, "/(unnamed file)");   /* see the top */
	} else if (f->ops->stat_mode == S_IFSOCK) {
		ksnprintf(buf, size, "socket:[%llu]", (unsigned long long)(((uptr)f >> 4) & 0xffffff));
	} else if (!f->ops->stat_mode || f->ops->stat_mode == S_IFIFO) {
		ksnprintf(buf, size, "pipe:[%llu]", (unsigned long long)(((uptr)f->priv >> 4) & 0xffffff));
	} else {
		ksnprintf(buf, size, "anon_inode:[caboose]");
	}
}

/* Is descriptor fd of process pid open? Its link's target into buf
 * (unless NULL). */
static bool fd_target(int pid, int fd, char *buf, size_t size)
{
	struct fd_desc d = { buf, size };
	bool open = false;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct proc *p = find_proc(pid);
	if (p && p->fds)
		open = fd_peek(p->fds, (u64)fd, buf ? describe_file : NULL, &d);
	spin_unlock_irqrestore(&procs_lock, fl);
	return open;
}

/* The target of /proc/PID/exe or cwd into buf: 0, -ENOENT (no program
 * path: a kernel-made image, or the process is gone), -ENAMETOOLONG. */
static int proc_link_target(int pid, enum pkind k, char *buf, size_t size)
{
	int r = -ENOENT;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct proc *p = find_proc(pid);
	if (p && k == PK_CWD && p->fs) {
		unsigned long sfl = spin_lock_irqsave(&p->fs->lock);   /* [S] under [P] */
		if (p->fs->cwd) {
			dir_path(p->fs->cwd, buf, size);
			r = 0;
		}
		spin_unlock_irqrestore(&p->fs->lock, sfl);
	} else if (p && k == PK_EXE && p->vm && p->vm->exe) {
		r = strlen(p->vm->exe) < size ? 0 : -ENAMETOOLONG;
		if (!r)
			memcpy(buf, p->vm->exe, strlen(p->vm->exe) + 1);
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	return r;
}

/* A process's files belong to its effective ids while it is dumpable,
 * else to root (Linux's task_dump_owner); the rest of /proc to root. */
static void set_owner(struct pnode *n)
{
	u32 uid = 0, gid = 0;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct proc *p = n->pid ? find_proc(n->pid) : NULL;
	if (p && __atomic_load_n(&p->dumpable, __ATOMIC_RELAXED)) {
		uid = p->cred.euid;
		gid = p->cred.egid;
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	n->inode.uid = uid;
	n->inode.gid = gid;
}

static int procfs_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	struct pnode *d = pn(dir), *n = NULL;
	int num;
	if (d->kind == PK_ROOT) {
		for (size_t i = 0; i < ARRAY_SIZE(top); i++) {
			if (strlen(top[i].name) == len && !memcmp(top[i].name, name, len)) {
				n = slot_for(top[i].kind, 0, 0, dir);
				break;
			}
		}
		if (!n && parse_num(name, len, &num)) {
			if (!proc_alive(num))
				return -ENOENT;
			n = slot_for(PK_PID, num, 0, dir);
		} else if (!n) {
			return -ENOENT;
		}
		if (n && n->kind == PK_SELF) {
			struct proc *me = proc_current();
			if (!me)
				return -ENOENT;   /* a kernel thread has no self */
			ksnprintf(n->link, sizeof(n->link), "%d", me->pid);
		}
	} else if (d->kind == PK_PID) {
		if (!proc_alive(d->pid))
			return -ENOENT;
		for (size_t i = 0; i < ARRAY_SIZE(per_pid); i++) {
			if (strlen(per_pid[i].name) == len && !memcmp(per_pid[i].name, name, len)) {
				enum pkind k = per_pid[i].kind;
				char target[sizeof(n->link)];
				if (k == PK_EXE || k == PK_CWD) {
					int r = proc_link_target(d->pid, k, target, sizeof(target));
					if (r < 0)
						return r;
				}
				n = slot_for(k, d->pid, 0, dir);
				if (!n)
					return -ENOMEM;
				if (k == PK_EXE || k == PK_CWD)
					memcpy(n->link, target, sizeof(n->link));
				break;
			}
		}
		if (!n)
			return -ENOENT;
	} else if (d->kind == PK_TASKDIR) {
		if (!parse_num(name, len, &num) || !thread_alive(d->pid, num))
			return -ENOENT;
		n = slot_for(PK_TASK, d->pid, num, dir);
	} else if (d->kind == PK_TASK) {
		if (!thread_alive(d->pid, d->fd))
			return -ENOENT;
		for (size_t i = 0; i < ARRAY_SIZE(per_task); i++) {
			if (strlen(per_task[i].name) == len && !memcmp(per_task[i].name, name, len)) {
				n = slot_for(per_task[i].kind, d->pid, d->fd, dir);
				if (!n)
					return -ENOMEM;
				break;
			}
		}
		if (!n)
			return -ENOENT;
	} else if (d->kind == PK_FDDIR) {
		char target[96];
		if (!parse_num(name, len, &num) || !fd_target(d->pid, num, target, sizeof(target)))
			return -ENOENT;
		n = slot_for(PK_FD, d->pid, num, dir);
		if (n)
			memcpy(n->link, target, sizeof(n->link));
	} else {
		return -ENOTDIR;
	}
	if (!n)
		return -ENOMEM;   /* every slot is held open */
	set_owner(n);
	*out = &n->inode;
	return 0;
}

static int procfs_readdir(struct inode *dir, u64 *pos, vfs_filldir_t fill, void *arg)
{
	struct pnode *d = pn(dir);
	if (!vfs_fill_dots(dir, pos, fill, arg))
		return 0;
	char name[16];
	if (d->kind == PK_ROOT) {
		for (; *pos - 2 < ARRAY_SIZE(top); (*pos)++) {
			const char *nm = top[*pos - 2].name;
			if (!fill(arg, nm, strlen(nm), dir->ino + 1 + *pos, kind_mode(top[*pos - 2].kind)))
				return 0;
		}
		/* the pids, ascending: position 2 + ARRAY_SIZE(top) + pid */
		u64 base = 2 + ARRAY_SIZE(top);
		for (;;) {
			int want = (int)(*pos - base), next = -1;
			unsigned long fl = spin_lock_irqsave(&procs_lock);
			struct list_node *ln;
			list_for_each(ln, &procs) {
				struct proc *p = list_entry(ln, struct proc, link);
				if (p->pid >= want && p->state == PROC_RUNNING && (next < 0 || p->pid < next))
					next = p->pid;
			}
			spin_unlock_irqrestore(&procs_lock, fl);
			if (next < 0)
				return 0;
			*pos = base + (u64)next;
			ksnprintf(name, sizeof(name), "%d", next);
			if (!fill(arg, name, strlen(name), ((u64)next << 20) + 0x100000000ULL,
				  S_IFDIR | 0555))
				return 0;
			(*pos)++;
		}
	}
	if (d->kind == PK_PID) {
		for (; *pos - 2 < ARRAY_SIZE(per_pid); (*pos)++) {
			const char *nm = per_pid[*pos - 2].name;
			if (!fill(arg, nm, strlen(nm), dir->ino + 1 + *pos,
				  kind_mode(per_pid[*pos - 2].kind)))
				return 0;
		}
		return 0;
	}
	if (d->kind == PK_TASKDIR) {
		/* the thread ids, ascending: position 2 + tid */
		for (;;) {
			int tid = next_thread(d->pid, (int)(*pos - 2));
			if (tid < 0)
				return 0;
			*pos = 2 + (u64)tid;
			ksnprintf(name, sizeof(name), "%d", tid);
			if (!fill(arg, name, strlen(name), dir->ino + 1 + (u64)tid, S_IFDIR | 0555))
				return 0;
			(*pos)++;
		}
	}
	if (d->kind == PK_TASK) {
		for (; *pos - 2 < ARRAY_SIZE(per_task); (*pos)++) {
			const char *nm = per_task[*pos - 2].name;
			if (!fill(arg, nm, strlen(nm), dir->ino + 1 + *pos,
				  kind_mode(per_task[*pos - 2].kind)))
				return 0;
		}
		return 0;
	}
	if (d->kind == PK_FDDIR) {
		for (; *pos - 2 < FD_MAX; (*pos)++) {
			int fd = (int)(*pos - 2);
			bool open = fd_target(d->pid, fd, NULL, 0);
			if (!open)
				continue;
			ksnprintf(name, sizeof(name), "%d", fd);
			if (!fill(arg, name, strlen(name), dir->ino + 1 + (u64)fd, S_IFLNK | 0700))
				return 0;
		}
		return 0;
	}
	return -ENOTDIR;
}

static const char *procfs_get_link(struct inode *ino)
{
	return pn(ino)->link;
}

static void procfs_destroy(struct inode *ino)
{
	(void)ino;   /* slots live for good (nlink never drops) */
}

/* mkdir, mknod, symlink and creat reach link (the VFS checks read_only
 * only before the other changes): a new name in /proc is not found, as
 * Linux answers (its lookup fails first) */
static int procfs_link(struct inode *dir, const char *name, size_t len, struct inode *child)
{
	(void)dir;
	(void)name;
	(void)len;
	(void)child;
	return -ENOENT;
}

static int procfs_unlink(struct inode *dir, const char *name, size_t len)
{
	(void)dir;
	(void)name;
	(void)len;
	return -EROFS;
}

static int procfs_rename(struct inode *odir, const char *oname, size_t olen, struct inode *ndir,
			 const char *nname, size_t nlen)
{
	(void)odir;
	(void)oname;
	(void)olen;
	(void)ndir;
	(void)nname;
	(void)nlen;
	return -EROFS;
}

static int procfs_truncate(struct inode *ino, u64 size)
{
	(void)ino;
	(void)size;
	return -EROFS;
}

/* A process may always read and search its own fd directory (Linux's
 * proc_fd_permission), whatever its ids since it became not dumpable. */
static bool procfs_own_access(const struct inode *ino)
{
	const struct pnode *n = (const struct pnode *)ino;
	struct proc *me = proc_current();
	return n->kind == PK_FDDIR && me && me->pid == n->pid;
}

static const struct inode_ops procfs_iops = {
	.own_access = procfs_own_access,
	.lookup = procfs_lookup,
	.link = procfs_link,
	.unlink = procfs_unlink,
	.rename = procfs_rename,
	.truncate = procfs_truncate,
	.readdir = procfs_readdir,
	.get_link = procfs_get_link,
	.destroy = procfs_destroy,
	.read_only = true,
};

/* ---- the texts ---- */

struct text {
	char *buf;
	size_t len, cap;
};

static void __printf(2, 3) tprintf(struct text *t, const char *fmt, ...)
{
	if (t->len + 1 >= t->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = MIN(t->len + (size_t)n, t->cap - 1);
}

static void cpuid(u32 leaf, u32 sub, u32 r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static void gen_cpuinfo(struct text *t)
{
	u32 r[4], max_ext;
	char vendor[13], model[49];
	cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	cpuid(0x80000000, 0, r);
	max_ext = r[0];
	model[0] = '\0';
	if (max_ext >= 0x80000004) {
		for (u32 i = 0; i < 3; i++) {
			cpuid(0x80000002 + i, 0, r);
			memcpy(model + 16 * i, r, 16);
		}
		model[48] = '\0';
	}
	const char *m = model;
	while (*m == ' ')
		m++;
	cpuid(1, 0, r);
	u32 eax1 = r[0], ecx1 = r[2], edx1 = r[3];
	u32 ext_edx = 0;
	if (max_ext >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		ext_edx = r[3];
	}
	u32 family = (eax1 >> 8) & 0xf, model_n = (eax1 >> 4) & 0xf;
	if (family == 0xf)
		family += (eax1 >> 20) & 0xff;
	if (family >= 6)
		model_n |= ((eax1 >> 16) & 0xf) << 4;
	static const struct { u8 reg, bit; const char *name; } flags[] = {
		{ 0, 0, "fpu" }, { 0, 4, "tsc" }, { 0, 5, "msr" }, { 0, 6, "pae" },
		{ 0, 8, "cx8" }, { 0, 9, "apic" }, { 2, 11, "syscall" }, { 0, 15, "cmov" },
		{ 0, 16, "pat" }, { 0, 19, "clflush" }, { 0, 23, "mmx" }, { 0, 24, "fxsr" },
		{ 0, 25, "sse" }, { 0, 26, "sse2" }, { 2, 20, "nx" }, { 2, 29, "lm" },
		{ 1, 0, "pni" }, { 1, 9, "ssse3" }, { 1, 13, "cx16" }, { 1, 19, "sse4_1" },
		{ 1, 20, "sse4_2" }, { 1, 23, "popcnt" }, { 1, 25, "aes" }, { 1, 26, "xsave" },
		{ 1, 28, "avx" }, { 1, 30, "rdrand" },
	};
	for (unsigned c = 0; c < ncpus; c++) {
		tprintf(t, "processor\t: %u\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n"
			"model name\t: %s\nstepping\t: %u\ncpu cores\t: %u\nflags\t\t:", c, vendor,
			family, model_n, m, eax1 & 0xf, ncpus);
		for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
			u32 reg = flags[i].reg == 0 ? edx1 : flags[i].reg == 1 ? ecx1 : ext_edx;
			if (reg & (1u << flags[i].bit))
				tprintf(t, " %s", flags[i].name);
		}
		tprintf(t, "\n\n");
	}
}

static void kb_line(struct text *t, const char *name, u64 kb)
{
	char label[24];
	ksnprintf(label, sizeof(label), "%s:", name);
	tprintf(t, "%-16s%8llu kB\n", label, (unsigned long long)kb);
}

static void gen_meminfo(struct text *t)
{
	struct page_stats st;
	page_stats(&st);
	u64 kb = PAGE_SIZE / 1024;
	kb_line(t, "MemTotal", st.total * kb);
	kb_line(t, "MemFree", st.free * kb);
	kb_line(t, "MemAvailable", st.free * kb);
	kb_line(t, "Buffers", 0);
	kb_line(t, "Cached", 0);
	kb_line(t, "SwapCached", 0);
	kb_line(t, "SwapTotal", 0);
	kb_line(t, "SwapFree", 0);
}

static void gen_uptime(struct text *t)
{
	u64 cs = arch_clock_ns() / 10000000;   /* hundredths */
	u64 idle = cs * ncpus;   /* no idle accounting yet: see the top */
	tprintf(t, "%llu.%02llu %llu.%02llu\n", (unsigned long long)(cs / 100),
		(unsigned long long)(cs % 100), (unsigned long long)(idle / 100),
		(unsigned long long)(idle % 100));
}

static void gen_stat(struct text *t)
{
	u64 ticks = arch_clock_ns() / 10000000;   /* USER_HZ 100 */
	int nprocs = 0, running = 0;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *ln;
	list_for_each(ln, &procs) {
		struct proc *p = list_entry(ln, struct proc, link);
		nprocs++;
		running += p->state == PROC_RUNNING;
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	tprintf(t, "cpu  0 0 0 %llu 0 0 0 0 0 0\n", (unsigned long long)(ticks * ncpus));
	for (unsigned c = 0; c < ncpus; c++)
		tprintf(t, "cpu%u 0 0 0 %llu 0 0 0 0 0 0\n", c, (unsigned long long)ticks);
	tprintf(t, "intr 0\nctxt 0\nbtime %llu\nprocesses %d\nprocs_running %d\nprocs_blocked 0\n",
		(unsigned long long)(arch_realtime_offset_ns() / 1000000000ULL),
		nprocs, running);
}

/* A snapshot of a process's fields ([P] taken here) and a reference to its
 * space; false: no such process. */
struct psnap {
	char name[32];
	int pid, tid, ppid, pgid, threads, fds;   /* tid: pid for the process's files */
	char state;
	u32 umask;
	struct proc_cred cred;
	u64 sigmask, pending, tpending, ignored, caught;   /* tpending: the thread's own */
	struct vm *vm;   /* a reference, or NULL (exited) */
};

/* tid > 0: the view of that thread (task/TID): its id, state, mask and
 * pending signals; false also when it is not a thread of pid. */
static bool snapshot(int pid, int tid, struct psnap *s)
{
	struct proc *me = proc_current();
	struct uthread *ut = uthread_current();
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct proc *p = find_proc(pid);
	struct uthread *t = p && tid > 0 ? find_thread(p, tid) : NULL;
	if (!p || (tid > 0 && !t)) {
		spin_unlock_irqrestore(&procs_lock, fl);
		return false;
	}
	/* Linux's comm: the program file's name (not its path), 15 bytes */
	const char *b = p->name;
	for (const char *c = p->name; *c && c < p->name + sizeof(p->name); c++)
		if (*c == '/' && c[1])
			b = c + 1;
	size_t bn = strnlen(b, 15);
	memcpy(s->name, b, bn);
	s->name[bn] = '\0';
	s->pid = p->pid;
	s->tid = t ? t->tid : p->pid;
	s->ppid = p->parent ? p->parent->pid : 0;
	s->pgid = p->pgid;
	s->threads = p->nthreads;
	s->fds = p->fds ? (int)fdtable_limit(p->fds) : 0;
	s->state = p->state == PROC_ZOMBIE ? 'Z' : p->stopped ? 'T' : p == me ? 'R' : 'S';
	s->umask = p->fs ? __atomic_load_n(&p->fs->umask, __ATOMIC_RELAXED) : 0;
	s->cred = p->cred;   /* [P], held */
	s->sigmask = p == me && ut ? ut->sigmask : 0;
	s->pending = __atomic_load_n(&p->pending, __ATOMIC_RELAXED);
	s->tpending = 0;
	if (t) {   /* [own] fields of another thread: read racily, for show */
		s->sigmask = READ_ONCE(t->sigmask);
		s->tpending = __atomic_load_n(&t->pending, __ATOMIC_RELAXED);
		if (s->state == 'R' || s->state == 'S')
			s->state = t == ut ? 'R' : 'S';
	}
	s->ignored = s->caught = 0;
	for (int i = 0; i < PROC_NSIG; i++) {
		u64 h = p->sighand->act[i].handler;
		if (h == SIG_IGN)
			s->ignored |= 1ULL << i;
		else if (h != SIG_DFL)
			s->caught |= 1ULL << i;
	}
	s->vm = p->vm;
	if (s->vm)
		vm_get(s->vm);
	spin_unlock_irqrestore(&procs_lock, fl);
	return true;
}

static void snap_done(struct psnap *s)
{
	if (s->vm)
		vm_destroy(s->vm);   /* our reference */
}

static u64 vm_size(struct vm *vm)
{
	u64 sz = 0;
	if (!vm)
		return 0;
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = list_entry(n, struct vma, link);
		if (v->kind != VMA_GUARD)
			sz += v->end - v->start;
	}
	spin_unlock_irqrestore(&vm->lock, fl);
	return sz;
}

static void gen_maps(struct text *t, struct psnap *s)
{
	struct vm *vm = s->vm;
	if (!vm)
		return;
	u64 brk_lo = READ_ONCE(vm->brk_start);   /* [M]: read racily */
	u64 brk_hi = (READ_ONCE(vm->brk) + PAGE_SIZE - 1) & ~(u64)(PAGE_SIZE - 1);
	unsigned long fl = spin_lock_irqsave(&vm->lock);
	struct list_node *n;
	list_for_each(n, &vm->vmas) {
		struct vma *v = list_entry(n, struct vma, link);
		if (v->kind == VMA_GUARD)
			continue;   /* a gap, not a mapping, as on Linux */
		bool none = v->kind == VMA_RESERVED || (v->kind == VMA_SHARED && !v->prot) ||
			    v->noaccess;
		/* as Linux: whatever lies between the heap's start and the break */
		bool heap = v->kind == VMA_HEAP ||
			    (v->start >= brk_lo && v->end <= brk_hi && brk_hi > brk_lo);
		const char *what = heap ? "[heap]" : v->kind == VMA_STACK ? "[stack]" :
				   v->kind == VMA_VVAR ? "[vvar]" : v->kind == VMA_ELF ? s->name : "";
		tprintf(t, "%08llx-%08llx %c%c%c%c %08llx 00:00 0", (unsigned long long)v->start,
			(unsigned long long)v->end, none ? '-' : 'r',
			!none && (v->prot & UMAP_W) ? 'w' : '-', !none && (v->prot & UMAP_X) ? 'x' : '-',
			v->kind == VMA_SHARED || v->kind == VMA_FSHARED ? 's' : 'p',
			(unsigned long long)v->off);
		if (*what)
			tprintf(t, "%*s%s%s", 25, "", v->kind == VMA_ELF ? "/" : "", what);
		tprintf(t, "\n");
	}
	spin_unlock_irqrestore(&vm->lock, fl);
}

static void gen_pstat(struct text *t, struct psnap *s)
{
	u64 vsize = vm_size(s->vm), rss = s->vm ? READ_ONCE(s->vm->pages) : 0;
	tprintf(t, "%d (%s) %c %d %d %d 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 %d 0 0 %llu %llu "
		"18446744073709551615 0 0 0 0 0 %llu %llu 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 %d\n",
		s->tid, s->name, s->state, s->ppid, s->pgid, s->pgid, s->threads,
		(unsigned long long)vsize, (unsigned long long)rss,
		(unsigned long long)(s->pending & ~s->sigmask), (unsigned long long)s->sigmask, 0);
}

static void gen_status(struct text *t, struct psnap *s)
{
	static const char *const states[] = { "R (running)", "S (sleeping)", "Z (zombie)",
					      "T (stopped)" };
	const char *st = s->state == 'R' ? states[0] : s->state == 'Z' ? states[2] :
			 s->state == 'T' ? states[3] : states[1];
	u64 rss = s->vm ? READ_ONCE(s->vm->pages) : 0;
	tprintf(t, "Name:\t%s\nUmask:\t%04o\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n"
		"TracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t%d\n",
		s->name, s->umask, st, s->pid, s->tid, s->ppid, s->cred.uid, s->cred.euid,
		s->cred.suid, s->cred.fsuid, s->cred.gid, s->cred.egid, s->cred.sgid, s->cred.fsgid,
		s->fds);
	if (s->vm)
		tprintf(t, "VmSize:\t%8llu kB\nVmRSS:\t%8llu kB\n",
			(unsigned long long)(vm_size(s->vm) / 1024),
			(unsigned long long)(rss * (PAGE_SIZE / 1024)));
	tprintf(t, "Threads:\t%d\nSigPnd:\t%016llx\nShdPnd:\t%016llx\nSigBlk:\t%016llx\n"
		"SigIgn:\t%016llx\nSigCgt:\t%016llx\n", s->threads,
		(unsigned long long)s->tpending,
		(unsigned long long)s->pending, (unsigned long long)s->sigmask,
		(unsigned long long)s->ignored, (unsigned long long)s->caught);
}

/* cmdline or environ: the initial stack's strings, NULs and all, as many
 * as fit. The space's mutex keeps munmap away while we read its pages;
 * a page not mapped (the process unmapped its stack) ends the text. */
static void gen_strings(struct text *t, struct vm *vm, bool args)
{
	if (!vm)
		return;
	vm_lock(vm);
	u64 va = args ? vm->arg_start : vm->env_start, end = args ? vm->arg_end : vm->env_end;
	while (va < end && t->len < t->cap) {
		u8 *page = vm_page_kaddr(vm, va);
		if (!page)
			break;
		size_t off = va & (PAGE_SIZE - 1);
		size_t n = MIN(MIN(PAGE_SIZE - off, end - va), t->cap - t->len);
		memcpy(t->buf + t->len, page + off, n);
		t->len += n;
		va += n;
	}
	vm_unlock(vm);
}

/* Linux's /proc/mounts: "source where type options 0 0" a line */
static void gen_mounts(struct text *t)
{
	const struct vfs_mount_info *m;
	for (int i = 0; (m = vfs_mount_at(i)); i++)
		tprintf(t, "%s %s %s %s 0 0\n", m->source, m->path, m->type, m->options);
}

/* Linux's format (Documentation/admin-guide/iostats.rst): major, minor,
 * name, then reads, reads merged, sectors read, ms reading, writes,
 * writes merged, sectors written, ms writing, in flight, ms doing I/O,
 * weighted ms, discards, discards merged, sectors discarded, ms
 * discarding, flushes, ms flushing. Nothing is merged and no time is
 * kept: those are 0. The device numbers are those stat gives the disk's
 * files (ext2_vfs.c: 254, 16 a disk). */
static void gen_diskstats(struct text *t)
{
	for (int i = 0; i < blk_count(); i++) {
		struct blk_disk *d = blk_get(i);
		if (!d)
			continue;
		struct blk_queue_stats sum, st;
		memset(&sum, 0, sizeof(sum));
		for (unsigned q = 0; q < d->nqueues; q++) {
			d->ops->stats(d, q, &st);
			sum.reads += st.reads;
			sum.writes += st.writes;
			sum.sectors_read += st.sectors_read;
			sum.sectors_written += st.sectors_written;
			sum.inflight += st.inflight;
			sum.discards += st.discards;
			sum.flushes += st.flushes;
		}
		tprintf(t, "%4u %7u %s %llu 0 %llu 0 %llu 0 %llu 0 %llu 0 0 %llu 0 0 0 %llu 0\n",
			254u, (unsigned)i * 16, d->name, (unsigned long long)sum.reads,
			(unsigned long long)sum.sectors_read, (unsigned long long)sum.writes,
			(unsigned long long)sum.sectors_written, (unsigned long long)sum.inflight,
			(unsigned long long)sum.discards, (unsigned long long)sum.flushes);
	}
}

#define PROCFS_TEXT_MAX (64 * 1024)

static long procfs_read(struct file *f, struct uio *u, u64 *pos)
{
	struct pnode *n = pn(f->inode);
	struct text t = { kmalloc(PROCFS_TEXT_MAX, 0), 0, PROCFS_TEXT_MAX };
	if (!t.buf)
		return -ENOMEM;
	t.buf[0] = '\0';
	long r = 0;
	struct psnap s;
	switch (n->kind) {
	case PK_CPUINFO: gen_cpuinfo(&t); break;
	case PK_MEMINFO: gen_meminfo(&t); break;
	case PK_UPTIME: gen_uptime(&t); break;
	case PK_STAT: gen_stat(&t); break;
	case PK_MOUNTS: gen_mounts(&t); break;
	case PK_DISKSTATS: gen_diskstats(&t); break;
	case PK_CMDLINE:
	case PK_ENVIRON:
	case PK_MAPS:
	case PK_PSTAT:
	case PK_STATUS:
	case PK_COMM:
	case PK_TSTAT:
	case PK_TSTATUS:
	case PK_TCOMM:
		if (!snapshot(n->pid, n->kind >= PK_TSTAT ? n->fd : 0, &s)) {
			r = -ESRCH;   /* as Linux for a process gone */
			break;
		}
		if (n->kind == PK_CMDLINE || n->kind == PK_ENVIRON)
			gen_strings(&t, s.vm, n->kind == PK_CMDLINE);
		else if (n->kind == PK_MAPS)
			gen_maps(&t, &s);
		else if (n->kind == PK_PSTAT || n->kind == PK_TSTAT)
			gen_pstat(&t, &s);
		else if (n->kind == PK_STATUS || n->kind == PK_TSTATUS)
			gen_status(&t, &s);
		else
			tprintf(&t, "%s\n", s.name);
		snap_done(&s);
		break;
	default:
		r = -EINVAL;
	}
	if (r == 0 && *pos < t.len) {
		size_t want = MIN(u->len, t.len - (size_t)*pos);
		size_t got = uio_to(u, t.buf + *pos, want);
		if (!got && want)
			r = -EFAULT;
		else
			r = (long)got;
		*pos += got;
	}
	kfree(t.buf);
	return r;
}

static const struct file_ops procfs_file_fops = {
	.read = procfs_read,
	.seekable = true,
};

void procfs_init(void)
{
	node_init(&root_node, PK_ROOT, 0, 0, NULL);
	root_node.inode.ino = 1 + 0x100000000ULL;
	root_node.inode.refs = 1;   /* the mount's */
	for (int i = 0; i < PROCFS_SLOTS; i++)
		mutex_init(&slots[i].inode.lock, "procfs");
	mutex_init(&root_node.inode.lock, "procfs");
}

void procfs_mount(void)
{
	struct vfs_mount_info info;
	memset(&info, 0, sizeof(info));
	memcpy(info.path, "/proc", 6);
	memcpy(info.source, "proc", 5);
	memcpy(info.type, "proc", 5);
	memcpy(info.options, "ro", 3);
	int r = vfs_mount(&root_node.inode, &info);
	if (r < 0)
		pr_info("procfs: cannot mount at /proc: error %d", r);
}
