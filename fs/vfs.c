/*
 * The VFS: path names, open files and the name-space calls over a file
 * system's inode_ops; see vfs.h. Errors follow Linux's (fs/namei.c) order
 * of checks where a program can tell the difference.
 */
#include "fs/vfs_priv.h"
#include "fs/ramfs.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

struct mutex vfs_ns_lock;
bool (*vfs_interrupted)(void);
void (*vfs_file_unwatch)(struct file *f);
static struct inode *root;
const u8 vfs_zero_page[PAGE_SIZE] __aligned(PAGE_SIZE);

static u64 files_alive, inodes_alive;   /* [atomic] */
u64 vfs_files_alive(void) { return __atomic_load_n(&files_alive, __ATOMIC_RELAXED); }
u64 vfs_inodes_alive(void) { return __atomic_load_n(&inodes_alive, __ATOMIC_RELAXED); }
KCOUNTER_VAR("vfs.files", "files", files_alive);
KCOUNTER_VAR("vfs.inodes", "inodes", inodes_alive);
void vfs_inode_born(void) { __atomic_add_fetch(&inodes_alive, 1, __ATOMIC_RELAXED); }
void vfs_inode_died(void) { __atomic_sub_fetch(&inodes_alive, 1, __ATOMIC_RELAXED); }

/* ---- moving bytes ---- */

size_t uio_to(struct uio *u, const void *src, size_t n)
{
	n = MIN(n, u->len);
	size_t done;
	if (!u->user)
		memcpy((void *)(uptr)u->addr, src, done = n);
	else if (u->addr >= USER_TOP || n > USER_TOP - u->addr)
		done = 0;
	else
		done = n - arch_copy_user((void *)(uptr)u->addr, src, n);
	u->addr += done;
	u->len -= done;
	return done;
}

size_t uio_from(struct uio *u, void *dst, size_t n)
{
	n = MIN(n, u->len);
	size_t done;
	if (!u->user)
		memcpy(dst, (const void *)(uptr)u->addr, done = n);
	else if (u->addr >= USER_TOP || n > USER_TOP - u->addr)
		done = 0;
	else
		done = n - arch_copy_user(dst, (const void *)(uptr)u->addr, n);
	u->addr += done;
	u->len -= done;
	return done;
}

/* ---- references ---- */

void vfs_iget(struct inode *ino) { __atomic_add_fetch(&ino->refs, 1, __ATOMIC_RELAXED); }

void vfs_maybe_destroy(struct inode *ino)
{
	if (__atomic_load_n(&ino->refs, __ATOMIC_ACQUIRE) == 0 && ino->nlink == 0)
		ino->iops->destroy(ino);
}

/* Under the namespace lock, so that an unlink dropping the last link and
 * a put dropping the last reference do not both destroy it. */
void vfs_iput(struct inode *ino)
{
	mutex_lock(&vfs_ns_lock);
	if (__atomic_sub_fetch(&ino->refs, 1, __ATOMIC_ACQ_REL) == 0)
		vfs_maybe_destroy(ino);
	mutex_unlock(&vfs_ns_lock);
}

struct file *file_alloc(const struct file_ops *ops, unsigned flags)
{
	struct file *f = kzalloc(sizeof(*f));
	if (!f)
		return NULL;
	f->refs = 1;
	f->flags = flags;
	f->ops = ops;
	mutex_init(&f->pos_lock, "file_pos");
	list_init(&f->ep_links);
	__atomic_add_fetch(&files_alive, 1, __ATOMIC_RELAXED);
	return f;
}

void file_put(struct file *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	/* nobody else holds f now: nothing can add an entry meanwhile */
	if (!list_empty(&f->ep_links) && vfs_file_unwatch)
		vfs_file_unwatch(f);
	if (f->ops && f->ops->release)
		f->ops->release(f);
	if (f->inode)
		vfs_iput(f->inode);
	kfree(f);
	__atomic_sub_fetch(&files_alive, 1, __ATOMIC_RELAXED);
}

struct inode *vfs_root(void)
{
	vfs_iget(root);
	return root;
}

/* ---- names (the namespace lock held) ---- */

struct nameidata {
	struct inode *dir;      /* where the last component lives */
	const char *last;       /* the last component; len 0 for "/" */
	size_t len;
	bool slash;             /* a slash followed it */
};

static bool is_dot(const char *s, size_t n) { return n == 1 && s[0] == '.'; }
static bool is_dotdot(const char *s, size_t n) { return n == 2 && s[0] == '.' && s[1] == '.'; }

/* One step from dir (a directory) to its entry s. */
static int step(struct inode *dir, const char *s, size_t n, struct inode **out)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (n > VFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (is_dot(s, n)) {
		*out = dir;
		return 0;
	}
	if (is_dotdot(s, n)) {
		*out = dir->parent ? dir->parent : dir;
		return 0;
	}
	int r = dir->iops->lookup(dir, s, n, out);
	while (r == 0 && (*out)->mounted)
		*out = (*out)->mounted;
	return r;
}

/* Changes to a read-only file system are refused before anything else
 * about the name is checked (as Linux's mnt_want_write). */
static bool read_only(const struct inode *dir) { return dir->iops->read_only; }

static int walk_depth(struct inode *base, const char *path, bool follow, int depth,
		      struct inode **out);

/* The inode a symbolic link in dir names. */
static int follow_link(struct inode *dir, struct inode *link, int depth, struct inode **out)
{
	if (depth >= VFS_LINKS_MAX)
		return -ELOOP;
	const char *target = link->iops->get_link ? link->iops->get_link(link) : NULL;
	if (!target || !target[0])
		return -ENOENT;
	return walk_depth(dir, target, true, depth + 1, out);
}

/* Resolve every component but the last. */
static int walk_parent_depth(struct inode *base, const char *path, int depth,
			     struct nameidata *nd)
{
	if (!path[0])
		return -ENOENT;
	struct inode *dir = path[0] == '/' ? root : base;
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		const char *q = p;
		while (*q == '/')
			q++;
		if (!*q) {
			if (!S_ISDIR(dir->mode))
				return -ENOTDIR;
			if (n > VFS_NAME_MAX)
				return -ENAMETOOLONG;
			nd->dir = dir;
			nd->last = s;
			nd->len = n;
			nd->slash = *p == '/';
			return 0;
		}
		struct inode *next;
		int r = step(dir, s, n, &next);
		if (r == 0 && S_ISLNK(next->mode))
			r = follow_link(dir, next, depth, &next);
		if (r < 0)
			return r;
		dir = next;
	}
}

static int walk_parent(struct inode *base, const char *path, struct nameidata *nd)
{
	return walk_parent_depth(base, path, 0, nd);
}

static int walk_depth(struct inode *base, const char *path, bool follow, int depth,
		      struct inode **out)
{
	struct nameidata nd;
	int r = walk_parent_depth(base, path, depth, &nd);
	if (r < 0)
		return r;
	if (nd.len == 0) {
		*out = nd.dir;
		return 0;
	}
	r = step(nd.dir, nd.last, nd.len, out);
	if (r == 0 && S_ISLNK((*out)->mode) && (follow || nd.slash))
		r = follow_link(nd.dir, *out, depth, out);
	if (r == 0 && nd.slash && !S_ISDIR((*out)->mode))
		return -ENOTDIR;
	return r;
}

/* The whole path: the inode, or an error. */
static int walk(struct inode *base, const char *path, struct inode **out)
{
	return walk_depth(base, path, true, 0, out);
}

int vfs_lookup_nofollow(struct inode *base, const char *path, struct inode **out)
{
	mutex_lock(&vfs_ns_lock);
	struct inode *ino;
	int r = walk_depth(base, path, false, 0, &ino);
	if (r == 0) {
		vfs_iget(ino);
		*out = ino;
	}
	mutex_unlock(&vfs_ns_lock);
	return r;
}

long vfs_readlink(struct inode *base, const char *path, char *buf, size_t size)
{
	mutex_lock(&vfs_ns_lock);
	struct inode *ino;
	long r = walk_depth(base, path, false, 0, &ino);
	if (r == 0 && !S_ISLNK(ino->mode))
		r = -EINVAL;
	if (r == 0) {
		const char *t = ino->iops->get_link(ino);
		if (!t) {
			r = -EIO;   /* unreadable on its disk (logged there) */
		} else {
			size_t n = MIN(strlen(t), size);
			memcpy(buf, t, n);
			r = (long)n;
		}
	}
	mutex_unlock(&vfs_ns_lock);
	return r;
}

int vfs_lookup(struct inode *base, const char *path, struct inode **out)
{
	mutex_lock(&vfs_ns_lock);
	struct inode *ino;
	int r = walk(base, path, &ino);
	if (r == 0) {
		vfs_iget(ino);
		*out = ino;
	}
	mutex_unlock(&vfs_ns_lock);
	return r;
}

/* A new inode that did not get linked goes away again. */
static void drop_new(struct inode *ino)
{
	if (ino && ino->nlink == 0 && ino->refs == 0)
		ino->iops->destroy(ino);
}

#define OPEN_IGNORED (O_NOCTTY | O_LARGEFILE | O_NOATIME | O_SYNC | O_DSYNC | O_NOFOLLOW | \
		      O_CLOEXEC)

int vfs_open(struct inode *base, const char *path, unsigned flags, u32 mode, struct file **out)
{
	unsigned known = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NONBLOCK |
			 O_DIRECTORY | OPEN_IGNORED;
	/* O_PATH, O_TMPFILE, O_DIRECT and unknown bits: not supported, said so */
	if (flags & ~known)
		return -EINVAL;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	struct file *f = file_alloc(NULL, flags & ~(unsigned)(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC));
	if (!f)
		return -ENOMEM;
	struct inode *fresh = NULL;
	if (flags & O_CREAT) {
		fresh = root->iops->alloc(root, S_IFREG | (mode & 07777), 0);
		if (!fresh) {
			file_put(f);
			return -ENOMEM;
		}
	}
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino = NULL;
	int r = walk_parent(base, path, &nd);
	if (r < 0)
		goto out;
	if (nd.len == 0) {
		ino = nd.dir;
	} else {
		r = step(nd.dir, nd.last, nd.len, &ino);
		if (r == 0 && S_ISLNK(ino->mode)) {
			if ((flags & O_NOFOLLOW) ||
			    (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
				r = (flags & O_NOFOLLOW) ? -ELOOP : -EEXIST;
				goto out;
			}
			/* a dangling link is not created through (Linux would) */
			r = follow_link(nd.dir, ino, 0, &ino);
			if (r < 0)
				goto out;
		}
		if (r == -ENOENT && (flags & O_CREAT)) {
			if (nd.slash) {
				r = -EISDIR;
				goto out;
			}
			r = nd.dir->iops->link(nd.dir, nd.last, nd.len, fresh);
			if (r < 0)
				goto out;
			/* a disk file system made its own inode like fresh (which
			 * stays unlinked and goes): the one the name now gives */
			if (fresh->nlink) {
				ino = fresh;
				fresh = NULL;
			} else if ((r = step(nd.dir, nd.last, nd.len, &ino)) < 0) {
				goto out;
			}
		} else if (r < 0) {
			goto out;
		} else if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
			r = -EEXIST;
			goto out;
		}
	}
	if (S_ISDIR(ino->mode) && (flags & O_CREAT)) {
		r = -EISDIR;
	} else if ((flags & O_DIRECTORY) && !S_ISDIR(ino->mode)) {
		r = -ENOTDIR;
	} else if (nd.slash && !S_ISDIR(ino->mode)) {
		r = -ENOTDIR;
	} else if (S_ISDIR(ino->mode) && (flags & O_ACCMODE) != O_RDONLY) {
		r = -EISDIR;
	} else if (S_ISREG(ino->mode) && ino->iops->read_only &&
		   ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))) {
		r = -EROFS;
	} else if (S_ISCHR(ino->mode)) {
		f->ops = dev_fops(ino->rdev);
		r = f->ops ? 0 : -ENXIO;
	} else {
		f->ops = ino->fops;
		r = f->ops ? 0 : -ENXIO;
	}
	if (r == 0 && (flags & O_TRUNC) && S_ISREG(ino->mode) && ino->size) {
		mutex_lock(&ino->lock);
		r = ino->iops->truncate(ino, 0);
		mutex_unlock(&ino->lock);
	}
	if (r == 0) {
		vfs_iget(ino);
		f->inode = ino;
	}
out:
	drop_new(fresh);
	mutex_unlock(&vfs_ns_lock);
	if (r < 0) {
		file_put(f);
		return r;
	}
	*out = f;
	return 0;
}

/* Link fresh (a new inode) at path, or drop it. */
/* Link `fresh` (a new template, dropped here) or, if hard, an existing
 * inode of the directory's file system at path. */
static int link_at(struct inode *base, const char *path, struct inode *fresh, bool hard)
{
	u32 mode = fresh->mode;
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino;
	int r = walk_parent(base, path, &nd);
	if (r < 0)
		goto out;
	if (nd.len == 0 || is_dot(nd.last, nd.len) || is_dotdot(nd.last, nd.len)) {
		r = -EEXIST;
		goto out;
	}
	r = step(nd.dir, nd.last, nd.len, &ino);
	if (r == 0) {
		r = -EEXIST;
		goto out;
	}
	if (r != -ENOENT)
		goto out;
	if (nd.slash && !S_ISDIR(mode)) {
		r = -ENOENT;
		goto out;
	}
	/* a read-only file system's link op says why (ext3: -EROFS; /proc:
	 * -ENOENT, as Linux's) */
	if (hard && fresh->dev != nd.dir->dev)
		r = -EXDEV;
	else
		r = nd.dir->iops->link(nd.dir, nd.last, nd.len, fresh);
out:
	if (!hard)
		drop_new(fresh);
	mutex_unlock(&vfs_ns_lock);
	return r;
}

static int make_node_with(struct inode *base, const char *path, struct inode *fresh)
{
	return link_at(base, path, fresh, false);
}

int vfs_link(struct inode *obase, const char *opath, struct inode *nbase, const char *npath,
	     bool follow)
{
	struct inode *ino;
	int r = follow ? vfs_lookup(obase, opath, &ino) : vfs_lookup_nofollow(obase, opath, &ino);
	if (r < 0)
		return r;
	r = S_ISDIR(ino->mode) ? -EPERM : link_at(nbase, npath, ino, true);
	vfs_iput(ino);
	return r;
}

int vfs_setattr(struct inode *ino, unsigned mask, u32 mode, u64 atime_ns, u64 mtime_ns)
{
	if (!ino->iops->setattr)
		return -EPERM;
	if (ino->iops->read_only)
		return -EROFS;
	return ino->iops->setattr(ino, mask, mode & 07777, atime_ns, mtime_ns);
}

int vfs_chown(struct inode *ino, u32 uid, u32 gid)
{
	if (!ino->iops->chown)
		return -EPERM;
	if (ino->iops->read_only)
		return -EROFS;
	u32 mode = ino->mode;
	if (!S_ISDIR(mode)) {
		if (mode & S_IXGRP)
			mode &= ~(u32)S_ISGID;
		mode &= ~(u32)S_ISUID;
	}
	return ino->iops->chown(ino, uid == (u32)-1 ? ino->uid : uid,
				gid == (u32)-1 ? ino->gid : gid, mode);
}

static int make_node(struct inode *base, const char *path, u32 mode, u32 rdev)
{
	struct inode *fresh = root->iops->alloc(root, mode, rdev);
	if (!fresh)
		return -ENOMEM;
	return make_node_with(base, path, fresh);
}

int vfs_symlink(struct inode *base, const char *path, const char *target)
{
	if (!target[0])
		return -ENOENT;
	struct inode *fresh = root->iops->alloc(root, S_IFLNK | 0777, 0);
	if (!fresh)
		return -ENOMEM;
	if (memfs_set_link(fresh, target, strlen(target)) < 0) {
		drop_new(fresh);
		return -ENOMEM;
	}
	return make_node_with(base, path, fresh);
}

int vfs_mkdir(struct inode *base, const char *path, u32 mode)
{
	return make_node(base, path, S_IFDIR | (mode & 07777), 0);
}

int vfs_mknod(struct inode *base, const char *path, u32 mode, u32 rdev)
{
	return make_node(base, path, mode, rdev);
}

static bool dir_empty(struct inode *dir)
{
	return dir->nlink <= 2;   /* "." and its entry: no subdirectory; files? */
}

/* Is the directory free of every entry? (readdir past "." and "..") */
static bool no_entries_fill(void *arg, const char *name, size_t len, u64 ino, u32 mode)
{
	(void)name;
	(void)len;
	(void)ino;
	(void)mode;
	*(bool *)arg = false;
	return false;
}

static bool is_empty(struct inode *dir)
{
	if (!dir_empty(dir))
		return false;
	bool empty = true;
	u64 pos = 2;
	dir->iops->readdir(dir, &pos, no_entries_fill, &empty);
	return empty;
}

int vfs_unlink(struct inode *base, const char *path)
{
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino;
	int r = walk_parent(base, path, &nd);
	if (r < 0)
		goto out;
	if (nd.len == 0 || is_dot(nd.last, nd.len) || is_dotdot(nd.last, nd.len)) {
		r = -EISDIR;
		goto out;
	}
	if (read_only(nd.dir)) {
		r = -EROFS;
		goto out;
	}
	r = step(nd.dir, nd.last, nd.len, &ino);
	if (r < 0)
		goto out;
	if (S_ISDIR(ino->mode))
		r = -EISDIR;
	else if (nd.slash)
		r = -ENOTDIR;
	else
		r = nd.dir->iops->unlink(nd.dir, nd.last, nd.len);
out:
	mutex_unlock(&vfs_ns_lock);
	return r;
}

int vfs_rmdir(struct inode *base, const char *path)
{
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino;
	int r = walk_parent(base, path, &nd);
	if (r < 0)
		goto out;
	if (nd.len == 0) {
		r = -EBUSY;
	} else if (is_dot(nd.last, nd.len)) {
		r = -EINVAL;
	} else if (is_dotdot(nd.last, nd.len)) {
		r = -ENOTEMPTY;
	} else if (read_only(nd.dir)) {
		r = -EROFS;
	} else if ((r = step(nd.dir, nd.last, nd.len, &ino)) == 0) {
		if (!S_ISDIR(ino->mode))
			r = -ENOTDIR;
		else if (ino == root || ino->covers)
			r = -EBUSY;
		else if (!is_empty(ino))
			r = -ENOTEMPTY;
		else
			r = nd.dir->iops->unlink(nd.dir, nd.last, nd.len);
	}
out:
	mutex_unlock(&vfs_ns_lock);
	return r;
}

/* Is a an ancestor of d (or d itself)? */
static bool is_ancestor(struct inode *a, struct inode *d)
{
	for (; d; d = d->parent)
		if (d == a)
			return true;
	return false;
}

int vfs_rename(struct inode *obase, const char *opath, struct inode *nbase, const char *npath)
{
	mutex_lock(&vfs_ns_lock);
	struct nameidata o, n;
	struct inode *src, *dst = NULL;
	int r = walk_parent(obase, opath, &o);
	if (r == 0)
		r = walk_parent(nbase, npath, &n);
	if (r < 0)
		goto out;
	if (o.len == 0 || is_dot(o.last, o.len) || is_dotdot(o.last, o.len) ||
	    n.len == 0 || is_dot(n.last, n.len) || is_dotdot(n.last, n.len)) {
		r = -EBUSY;
		goto out;
	}
	if (o.dir->iops != n.dir->iops) {
		r = -EXDEV;   /* (one RAM file system: other iops are other mounts) */
		goto out;
	}
	if (read_only(o.dir)) {
		r = -EROFS;
		goto out;
	}
	r = step(o.dir, o.last, o.len, &src);
	if (r < 0)
		goto out;
	r = step(n.dir, n.last, n.len, &dst);
	if (r == -ENOENT)
		dst = NULL;
	else if (r < 0)
		goto out;
	r = 0;
	if (src->covers || (dst && dst->covers)) {
		r = -EBUSY;   /* a mount point */
	} else if (!S_ISDIR(src->mode) && (o.slash || n.slash)) {
		r = -ENOTDIR;
	} else if (dst == src) {
		r = 0;   /* the same file: nothing to do */
	} else if (S_ISDIR(src->mode)) {
		if (is_ancestor(src, n.dir))
			r = -EINVAL;   /* into itself */
		else if (dst && !S_ISDIR(dst->mode))
			r = -ENOTDIR;
		else if (dst && (is_ancestor(dst, o.dir) || !is_empty(dst)))
			r = -ENOTEMPTY;
		else
			r = o.dir->iops->rename(o.dir, o.last, o.len, n.dir, n.last, n.len);
	} else if (dst && S_ISDIR(dst->mode)) {
		r = -EISDIR;
	} else {
		r = o.dir->iops->rename(o.dir, o.last, o.len, n.dir, n.last, n.len);
	}
out:
	mutex_unlock(&vfs_ns_lock);
	return r;
}

long vfs_path_of(struct inode *dir, char *buf, size_t size)
{
	mutex_lock(&vfs_ns_lock);
	long r;
	if (dir != root && dir->nlink == 0) {
		r = -ENOENT;
		goto out;
	}
	/* build from the end of buf backwards, then move to the front */
	size_t at = size;
	if (at < 1) {
		r = -ERANGE;
		goto out;
	}
	buf[--at] = '\0';
	for (struct inode *d = dir; d != root; d = d->parent) {
		size_t n = strlen(d->name);
		if (at < n + 1) {
			r = -ERANGE;
			goto out;
		}
		at -= n;
		memcpy(buf + at, d->name, n);
		buf[--at] = '/';
	}
	if (dir == root) {
		if (at < 1) {
			r = -ERANGE;
			goto out;
		}
		buf[--at] = '/';
	}
	r = (long)(size - at);
	memmove(buf, buf + at, (size_t)r);
out:
	mutex_unlock(&vfs_ns_lock);
	return r;
}

/* ---- open files ---- */

long vfs_read(struct file *f, struct uio *u, u64 *pos)
{
	if ((f->flags & O_ACCMODE) == O_WRONLY || !f->ops->read)
		return -EBADF;
	if (u->user && (u->addr >= USER_TOP || u->len > USER_TOP - u->addr))
		return -EFAULT;   /* Linux's access_ok, before anything moves */
	if (!f->ops->seekable)
		return f->ops->read(f, u, NULL);
	if (pos)
		return f->ops->read(f, u, pos);
	mutex_lock(&f->pos_lock);
	long r = f->ops->read(f, u, &f->pos);
	mutex_unlock(&f->pos_lock);
	return r;
}

long vfs_write(struct file *f, struct uio *u, u64 *pos)
{
	if ((f->flags & O_ACCMODE) == O_RDONLY || !f->ops->write)
		return -EBADF;
	if (u->user && (u->addr >= USER_TOP || u->len > USER_TOP - u->addr))
		return -EFAULT;
	if (!f->ops->seekable)
		return f->ops->write(f, u, NULL);
	if (pos)
		return f->ops->write(f, u, pos);
	mutex_lock(&f->pos_lock);
	long r = f->ops->write(f, u, &f->pos);
	mutex_unlock(&f->pos_lock);
	return r;
}

int vfs_readdir(struct file *f, vfs_filldir_t fill, void *arg)
{
	struct inode *ino = f->inode;
	if (!ino || !S_ISDIR(ino->mode))
		return -ENOTDIR;
	mutex_lock(&f->pos_lock);
	mutex_lock(&vfs_ns_lock);
	int r = ino->nlink ? ino->iops->readdir(ino, &f->pos, fill, arg) : 0;
	mutex_unlock(&vfs_ns_lock);
	mutex_unlock(&f->pos_lock);
	return r;
}

bool vfs_fill_dots(struct inode *dir, u64 *pos, vfs_filldir_t fill, void *arg)
{
	if (*pos == 0) {
		if (!fill(arg, ".", 1, dir->ino, dir->mode))
			return false;
		(*pos)++;
	}
	if (*pos == 1) {
		struct inode *up = dir->parent ? dir->parent : dir;
		if (!fill(arg, "..", 2, up->ino, up->mode))
			return false;
		(*pos)++;
	}
	return true;
}

int vfs_truncate(struct inode *ino, u64 size)
{
	if (S_ISDIR(ino->mode))
		return -EISDIR;
	if (!S_ISREG(ino->mode))
		return -EINVAL;
	mutex_lock(&ino->lock);
	int r = ino->iops->truncate(ino, size);
	mutex_unlock(&ino->lock);
	return r;
}

static long dir_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)f;
	(void)u;
	(void)pos;
	return -EISDIR;
}

const struct file_ops vfs_dir_fops = {
	.read = dir_read,
	.seekable = true,
};

u8 *vfs_read_all(struct file *f, size_t max, size_t *size, int *err)
{
	struct inode *ino = f->inode;
	if (!ino || !S_ISREG(ino->mode)) {
		*err = -EACCES;
		return NULL;
	}
	size_t n = (size_t)READ_ONCE(ino->size);
	if (n > max) {
		*err = -ENOMEM;
		return NULL;
	}
	u8 *buf = kmalloc(n ? n : 1, 0);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	u64 pos = 0;
	struct uio u = { (u64)(uptr)buf, n, false };
	long r = f->ops->read(f, &u, &pos);
	if (r < 0) {
		kfree(buf);
		*err = (int)r;
		return NULL;
	}
	*size = (size_t)r;
	return buf;
}

/* ---- mounts ---- */

static struct inode *mount_roots[VFS_MOUNTS_MAX];   /* [ns] written, then never changed */
static struct vfs_mount_info mounts[VFS_MOUNTS_MAX] = {
	{ "/", "initrd", "ramfs", "rw", "" },
};
static int nmounts = 1;   /* [ns] written; read without the lock (entries never change) */

const struct vfs_mount_info *vfs_mount_at(int i)
{
	return i >= 0 && i < __atomic_load_n(&nmounts, __ATOMIC_ACQUIRE) ? &mounts[i] : NULL;
}

int vfs_mount(struct inode *fsroot, const struct vfs_mount_info *info)
{
	char path[sizeof(info->path)];
	memcpy(path, info->path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	/* mkdir -p */
	for (size_t i = 1; path[i - 1]; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		int r = vfs_mkdir(root, path, 0755);
		path[i] = c;
		if (r < 0 && r != -EEXIST)
			return r;
	}
	mutex_lock(&vfs_ns_lock);
	struct inode *mp;
	int r = walk(root, path, &mp);
	char *name = NULL;
	if (r == 0 && !S_ISDIR(mp->mode))
		r = -ENOTDIR;
	else if (r == 0 && (mp == root || mp->covers || !mp->name))
		r = -EBUSY;   /* the root, or already a mount's root */
	else if (r == 0 && nmounts >= VFS_MOUNTS_MAX)
		r = -ENOSPC;
	else if (r == 0 && !(name = kmalloc(strlen(mp->name) + 1, 0)))
		r = -ENOMEM;
	if (r == 0) {
		memcpy(name, mp->name, strlen(mp->name) + 1);
		vfs_iget(mp);
		vfs_iget(fsroot);
		mp->mounted = fsroot;
		fsroot->covers = mp;
		fsroot->parent = mp->parent;
		fsroot->name = name;
		mounts[nmounts] = *info;
		mount_roots[nmounts] = fsroot;
		__atomic_store_n(&nmounts, nmounts + 1, __ATOMIC_RELEASE);
	}
	mutex_unlock(&vfs_ns_lock);
	return r;
}

int vfs_sync_all(void)
{
	int n = __atomic_load_n(&nmounts, __ATOMIC_ACQUIRE), err = 0;
	for (int i = 0; i < n; i++) {
		struct inode *r = mount_roots[i];
		int e = r && r->iops && r->iops->sync ? r->iops->sync(r) : 0;
		if (e < 0 && err == 0)
			err = e;
	}
	return err;
}

/* ---- boot: the archive's files, the device nodes ---- */

/* mkdir -p of path's parent directories (path: an archive name, no
 * leading slash, n bytes). */
static void make_parents(const char *name, size_t n)
{
	static char path[VFS_PATH_MAX];   /* boot: one thread */
	for (size_t i = 0; i < n && i + 2 < sizeof(path); i++) {
		if (name[i] != '/')
			continue;
		path[0] = '/';
		memcpy(path + 1, name, i);
		path[i + 1] = '\0';
		int r = vfs_mkdir(root, path, 0755);
		if (r < 0 && r != -EEXIST)
			pr_err("vfs: mkdir %s: error %d", path, r);
	}
}

/* "/" + an archive entry's name, in a static buffer (boot: one thread);
 * NULL when too long. */
static const char *archive_path(const struct ramfs_file *rf)
{
	static char path[VFS_PATH_MAX];
	if (rf->name_len + 2 > sizeof(path))
		return NULL;
	path[0] = '/';
	memcpy(path + 1, rf->name, rf->name_len);
	path[rf->name_len + 1] = '\0';
	return path;
}

static void add_file(const struct ramfs_file *rf)
{
	const char *path = archive_path(rf);
	if (!path)
		return;
	make_parents(rf->name, rf->name_len);
	if ((rf->mode & S_IFMT) == S_IFDIR) {
		int r = vfs_mkdir(root, path, rf->mode & 07777);
		if (r < 0 && r != -EEXIST)
			pr_err("vfs: mkdir %s: error %d", path, r);
		return;
	}
	if ((rf->mode & S_IFMT) == S_IFLNK) {
		static char target[VFS_PATH_MAX];
		size_t n = MIN(rf->size, sizeof(target) - 1);
		memcpy(target, rf->data, n);
		target[n] = '\0';
		int r = vfs_symlink(root, path, target);
		if (r < 0)
			pr_err("vfs: symlink %s: error %d", path, r);
		return;
	}
	struct file *f;
	int r = vfs_open(root, path, O_CREAT | O_EXCL | O_WRONLY, rf->mode & 07777, &f);
	if (r < 0) {
		pr_err("vfs: %s: error %d", path, r);
		return;
	}
	memfs_borrow(f->inode, rf->data, rf->size);
	file_put(f);
}

/* The archive's modification time on its entry (after every entry is in:
 * adding a name changes its directory's times), as cpio -i and Linux's
 * initramfs keep them (the RAM file system's atime is its mtime; ctime
 * stays the time of the unpacking). */
static void set_times(const struct ramfs_file *rf)
{
	const char *path = archive_path(rf);
	struct inode *ino;
	if (!path || vfs_lookup_nofollow(root, path, &ino) < 0)
		return;
	mutex_lock(&ino->lock);
	ino->mtime_ns = (u64)rf->mtime * 1000000000ULL;   /* atime: the same; ctime: now */
	mutex_unlock(&ino->lock);
	vfs_iput(ino);
}

void vfs_init(void)
{
	mutex_init(&vfs_ns_lock, "vfs_ns");
	root = memfs_new_root();
	if (!root)
		panic("vfs_init: no memory for the root");
	vfs_iget(root);   /* the root never goes */
	for (size_t i = 0; i < ramfs_count(); i++)
		add_file(ramfs_at(i));
	for (size_t i = 0; i < ramfs_count(); i++)
		set_times(ramfs_at(i));
	/* what Linux's built-in initramfs holds (/dev/console, /root), and the
	 * devices programs expect */
	static const struct { const char *path; u32 rdev, mode; } devs[] = {
		{ "/dev/console", DEV_CONSOLE, 0600 }, { "/dev/null", DEV_NULL, 0666 },
		{ "/dev/zero", DEV_ZERO, 0666 }, { "/dev/urandom", DEV_URANDOM, 0666 },
		{ "/dev/ttyS0", DEV_TTYS0, 0660 },
	};
	int r = vfs_mkdir(root, "/dev", 0755);
	if (r < 0 && r != -EEXIST)
		pr_err("vfs: mkdir /dev: error %d", r);
	r = vfs_mkdir(root, "/root", 0700);
	if (r < 0 && r != -EEXIST)
		pr_err("vfs: mkdir /root: error %d", r);
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
		r = vfs_mknod(root, devs[i].path, S_IFCHR | devs[i].mode, devs[i].rdev);
		if (r < 0 && r != -EEXIST)
			pr_err("vfs: mknod %s: error %d", devs[i].path, r);
	}
	pr_info("vfs: RAM root with %zu files from the initial archive, %llu inodes",
		ramfs_count(), (unsigned long long)vfs_inodes_alive());
}
