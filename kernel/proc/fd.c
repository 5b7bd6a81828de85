/*
 * Descriptor tables: a process's open files by number (see proc.h). The
 * threads of a process share it, and so do the processes clone made with
 * CLONE_FILES (users counts them; the last fdtable_put closes and frees):
 * [F] t->lock guards the entries (a file's last reference is dropped
 * outside it); the REPL counts racily.
 *
 * A table has room for FD_MAX descriptors, but only [0, used) is
 * initialised: a new table costs nothing to clear, and fork, exit and
 * execve touch the entries a process has used, not all 4,096 of them.
 */
#include "kernel/proc/proc.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

#define FILES_ORDER 3   /* FD_MAX pointers: 32 KiB */
_Static_assert((PAGE_SIZE << FILES_ORDER) == FD_MAX * sizeof(struct file *), "files array");

static struct fdtable *table_alloc(void)
{
	struct fdtable *t = kmalloc(sizeof(struct fdtable), 0);   /* entries: see extend */
	if (!t)
		return NULL;
	struct page *pg = page_alloc(FILES_ORDER);
	if (!pg) {
		kfree(t);
		return NULL;
	}
	t->files = page_address(pg);
	t->limit = FD_SOFT_MAX;
	t->used = 0;
	t->users = 1;
	spin_init(&t->lock, "fdtable");
	return t;
}

/* [F] Entries [used, n) become empty (n <= FD_MAX). */
static void extend(struct fdtable *t, u32 n)
{
	if (n <= t->used)
		return;
	memset(&t->files[t->used], 0, (n - t->used) * sizeof(t->files[0]));
	memset(&t->cloexec[t->used], 0, n - t->used);
	t->used = n;
}

/* [F] The entry for fd, NULL past the used part. */
static struct file *entry(const struct fdtable *t, u64 fd)
{
	return fd < t->used ? t->files[fd] : NULL;
}

static void table_release(struct fdtable *t)
{
	page_put(virt_to_page(t->files));
	kfree(t);
}

struct fdtable *fdtable_new(void)
{
	return table_alloc();
}

struct fdtable *fdtable_copy(const struct fdtable *t)
{
	struct fdtable *n = table_alloc();
	if (n)
		fdtable_copy_into(n, t);
	return n;
}

void fdtable_copy_into(struct fdtable *n, const struct fdtable *t)
{
	unsigned long fl = spin_lock_irqsave((spinlock_t *)&t->lock);
	u32 top = 0;   /* one past the last open descriptor */
	for (u32 i = 0; i < t->used; i++) {
		struct file *f = t->files[i];
		if (f) {
			file_get(f);
			top = i + 1;
		}
	}
	memcpy(n->files, t->files, top * sizeof(struct file *));
	memcpy(n->cloexec, t->cloexec, top);
	n->used = top;
	n->limit = t->limit;
	spin_unlock_irqrestore((spinlock_t *)&t->lock, fl);
}

void fdtable_get(struct fdtable *t)
{
	__atomic_add_fetch(&t->users, 1, __ATOMIC_RELAXED);
}

bool fdtable_shared(const struct fdtable *t)
{
	return __atomic_load_n(&t->users, __ATOMIC_ACQUIRE) > 1;
}

void fdtable_put(struct fdtable *t)
{
	int left = __atomic_sub_fetch(&t->users, 1, __ATOMIC_ACQ_REL);
	if (left < 0)
		panic("fdtable_put: more puts than users");
	if (left > 0)
		return;
	for (u32 i = 0; i < t->used; i++)
		if (t->files[i])
			file_put(t->files[i]);
	table_release(t);
}

void fdtable_set_limit(struct fdtable *t, u64 n)
{
	unsigned long fl = spin_lock_irqsave(&t->lock);
	t->limit = (u32)MIN(n, (u64)FD_MAX);
	spin_unlock_irqrestore(&t->lock, fl);
}

u32 fdtable_limit(struct fdtable *t)
{
	return READ_ONCE(t->limit);
}

/* execve: the other threads are gone by now, and a table shared with
 * another process was copied first (the table is ours alone) */
void fdtable_close_on_exec(struct fdtable *t)
{
	for (u32 i = 0; i < t->used; i++) {
		if (t->files[i] && t->cloexec[i]) {
			file_put(t->files[i]);
			t->files[i] = NULL;
			t->cloexec[i] = false;
		}
	}
}

int fd_install(struct fdtable *t, int min, struct file *f, bool cloexec)
{
	unsigned long fl = spin_lock_irqsave(&t->lock);
	for (int i = min; i < (int)t->limit; i++) {
		if (!entry(t, i)) {
			extend(t, i + 1);
			t->files[i] = f;
			t->cloexec[i] = cloexec;
			spin_unlock_irqrestore(&t->lock, fl);
			return i;
		}
	}
	spin_unlock_irqrestore(&t->lock, fl);
	return -EMFILE;
}

struct file *fd_get(struct fdtable *t, u64 fd)
{
	if (fd >= FD_MAX)
		return NULL;
	unsigned long fl = spin_lock_irqsave(&t->lock);
	struct file *f = entry(t, fd);
	if (f)
		file_get(f);
	spin_unlock_irqrestore(&t->lock, fl);
	return f;
}

bool fd_peek(struct fdtable *t, u64 fd, void (*fn)(struct file *f, void *arg), void *arg)
{
	if (fd >= FD_MAX)
		return false;
	unsigned long fl = spin_lock_irqsave(&t->lock);
	struct file *f = entry(t, fd);
	if (f && fn)
		fn(f, arg);
	spin_unlock_irqrestore(&t->lock, fl);
	return f != NULL;
}

int fd_close(struct fdtable *t, u64 fd)
{
	if (fd >= FD_MAX)
		return -EBADF;
	unsigned long fl = spin_lock_irqsave(&t->lock);
	struct file *f = entry(t, fd);
	if (f) {
		t->files[fd] = NULL;
		t->cloexec[fd] = false;
	}
	spin_unlock_irqrestore(&t->lock, fl);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

void fd_replace(struct fdtable *t, u64 newfd, struct file *f, bool cloexec)
{
	unsigned long fl = spin_lock_irqsave(&t->lock);
	extend(t, (u32)newfd + 1);
	struct file *old = t->files[newfd];
	t->files[newfd] = f;
	t->cloexec[newfd] = cloexec;
	spin_unlock_irqrestore(&t->lock, fl);
	if (old)
		file_put(old);
}

int fd_get_cloexec(struct fdtable *t, u64 fd)
{
	if (fd >= FD_MAX)
		return -EBADF;
	unsigned long fl = spin_lock_irqsave(&t->lock);
	int r = !entry(t, fd) ? -EBADF : t->cloexec[fd];
	spin_unlock_irqrestore(&t->lock, fl);
	return r;
}

int fd_set_cloexec(struct fdtable *t, u64 fd, bool on)
{
	if (fd >= FD_MAX)
		return -EBADF;
	unsigned long fl = spin_lock_irqsave(&t->lock);
	int r = -EBADF;
	if (entry(t, fd)) {
		t->cloexec[fd] = on;
		r = 0;
	}
	spin_unlock_irqrestore(&t->lock, fl);
	return r;
}

int fd_count(const struct fdtable *t)
{
	int n = 0;
	u32 used = READ_ONCE(t->used);
	for (u32 i = 0; i < used; i++)
		n += READ_ONCE(t->files[i]) != NULL;
	return n;
}
