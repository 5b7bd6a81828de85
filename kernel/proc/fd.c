/*
 * Descriptor tables: a process's open files by number (see proc.h). The
 * threads of a process share it: [F] t->lock guards the entries (a file's
 * last reference is dropped outside it); the REPL counts racily.
 */
#include "kernel/proc/proc.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

struct fdtable *fdtable_new(void)
{
	struct fdtable *t = kzalloc(sizeof(struct fdtable));
	if (t)
		spin_init(&t->lock, "fdtable");
	return t;
}

struct fdtable *fdtable_copy(const struct fdtable *t)
{
	struct fdtable *n = kmalloc(sizeof(*n), 0);
	if (!n)
		return NULL;
	unsigned long fl = spin_lock_irqsave((spinlock_t *)&t->lock);
	memcpy(n->files, t->files, sizeof(n->files));
	memcpy(n->cloexec, t->cloexec, sizeof(n->cloexec));
	for (int i = 0; i < FD_MAX; i++)
		if (n->files[i])
			file_get(n->files[i]);
	spin_unlock_irqrestore((spinlock_t *)&t->lock, fl);
	spin_init(&n->lock, "fdtable");
	return n;
}

void fdtable_free(struct fdtable *t)
{
	for (int i = 0; i < FD_MAX; i++)
		if (t->files[i])
			file_put(t->files[i]);
	kfree(t);
}

/* execve: the other threads are gone by now (the table is ours alone) */
void fdtable_close_on_exec(struct fdtable *t)
{
	for (int i = 0; i < FD_MAX; i++) {
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
	for (int i = min; i < FD_MAX; i++) {
		if (!t->files[i]) {
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
	struct file *f = t->files[fd];
	if (f)
		file_get(f);
	spin_unlock_irqrestore(&t->lock, fl);
	return f;
}

int fd_close(struct fdtable *t, u64 fd)
{
	if (fd >= FD_MAX)
		return -EBADF;
	unsigned long fl = spin_lock_irqsave(&t->lock);
	struct file *f = t->files[fd];
	t->files[fd] = NULL;
	t->cloexec[fd] = false;
	spin_unlock_irqrestore(&t->lock, fl);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

void fd_replace(struct fdtable *t, u64 newfd, struct file *f, bool cloexec)
{
	unsigned long fl = spin_lock_irqsave(&t->lock);
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
	int r = !t->files[fd] ? -EBADF : t->cloexec[fd];
	spin_unlock_irqrestore(&t->lock, fl);
	return r;
}

int fd_set_cloexec(struct fdtable *t, u64 fd, bool on)
{
	if (fd >= FD_MAX)
		return -EBADF;
	unsigned long fl = spin_lock_irqsave(&t->lock);
	int r = -EBADF;
	if (t->files[fd]) {
		t->cloexec[fd] = on;
		r = 0;
	}
	spin_unlock_irqrestore(&t->lock, fl);
	return r;
}

int fd_count(const struct fdtable *t)
{
	int n = 0;
	for (int i = 0; i < FD_MAX; i++)
		n += READ_ONCE(t->files[i]) != NULL;
	return n;
}
