/*
 * Descriptor tables: a process's open files by number (see proc.h). The
 * table belongs to its one thread [owner]; the REPL counts racily.
 */
#include "kernel/proc/proc.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

struct fdtable *fdtable_new(void)
{
	return kzalloc(sizeof(struct fdtable));
}

struct fdtable *fdtable_copy(const struct fdtable *t)
{
	struct fdtable *n = kmalloc(sizeof(*n), 0);
	if (!n)
		return NULL;
	memcpy(n, t, sizeof(*n));
	for (int i = 0; i < FD_MAX; i++)
		if (n->files[i])
			file_get(n->files[i]);
	return n;
}

void fdtable_free(struct fdtable *t)
{
	for (int i = 0; i < FD_MAX; i++)
		if (t->files[i])
			file_put(t->files[i]);
	kfree(t);
}

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
	for (int i = min; i < FD_MAX; i++) {
		if (!t->files[i]) {
			t->files[i] = f;
			t->cloexec[i] = cloexec;
			return i;
		}
	}
	return -EMFILE;
}

struct file *fd_get(struct fdtable *t, u64 fd)
{
	if (fd >= FD_MAX || !t->files[fd])
		return NULL;
	file_get(t->files[fd]);
	return t->files[fd];
}

int fd_close(struct fdtable *t, u64 fd)
{
	if (fd >= FD_MAX || !t->files[fd])
		return -EBADF;
	struct file *f = t->files[fd];
	t->files[fd] = NULL;
	t->cloexec[fd] = false;
	file_put(f);
	return 0;
}

int fd_count(const struct fdtable *t)
{
	int n = 0;
	for (int i = 0; i < FD_MAX; i++)
		n += READ_ONCE(t->files[i]) != NULL;
	return n;
}
