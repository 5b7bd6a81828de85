/*
 * The VFS: path names, open files and the name-space calls over a file
 * system's inode_ops; see vfs.h. Errors follow Linux's (fs/namei.c) order
 * of checks where a program can tell the difference.
 */
#include "fs/vfs_priv.h"
#include "fs/dcache.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

struct mutex vfs_ns_lock;
bool (*vfs_interrupted)(void);
void (*vfs_file_unwatch)(struct file *f);
void (*vfs_file_async_end)(struct file *f);
struct inode *vfs_root_ino;   /* set at boot (vfs_init, then vfs_mount_root) */
struct inode *vfs_ram_ino;    /* the RAM root: makes the VFS's template inodes */
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

bool vfs_iget_unless_dead(struct inode *ino)
{
	int r = __atomic_load_n(&ino->refs, __ATOMIC_RELAXED);
	do {
		if (r < 0)
			return false;
	} while (!__atomic_compare_exchange_n(&ino->refs, &r, r + 1, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return true;
}

/* [ns] No reference and no link: destroyed, unless a lock-free walk took a
 * reference this very moment (then its put destroys it). */
static void destroy_if_unused(struct inode *ino)
{
	int zero = 0;
	if (ino->nlink != 0 ||
	    !__atomic_compare_exchange_n(&ino->refs, &zero, VFS_INODE_DEAD, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	if (S_ISDIR(ino->mode))
		dcache_forget_dir(ino);
	ino->iops->destroy(ino);
}

void vfs_maybe_destroy(struct inode *ino)
{
	destroy_if_unused(ino);
}

bool vfs_evict_begin(struct inode *ino)
{
	int zero = 0;
	if (S_ISDIR(ino->mode) || ino->nlink == 0 || ino->mounted || ino->covers)
		return false;
	return __atomic_compare_exchange_n(&ino->refs, &zero, VFS_INODE_DEAD, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void vfs_evict_end(void)
{
	dcache_forget_dead();
}

/* Without a lock while the inode keeps a link (a lock-free walk's put
 * stays lock-free). A put that leaves no reference on an unlinked inode
 * takes a reference back (unless it is destroyed already) and drops it
 * under the namespace lock, which destroys it at most once: the unlink
 * stores nlink before it tries (destroy_if_unused), this put drops refs
 * before it reads nlink, so one of the two sees the other. */
void vfs_iput(struct inode *ino)
{
	rcu_read_lock();   /* ino's memory, should the unlink destroy it now */
	bool last = __atomic_sub_fetch(&ino->refs, 1, __ATOMIC_SEQ_CST) == 0 &&
		    __atomic_load_n(&ino->nlink, __ATOMIC_SEQ_CST) == 0 &&
		    vfs_iget_unless_dead(ino);
	rcu_read_unlock();
	if (!last)
		return;
	mutex_lock(&vfs_ns_lock);
	if (__atomic_sub_fetch(&ino->refs, 1, __ATOMIC_ACQ_REL) == 0)
		destroy_if_unused(ino);
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
	if (f->async && vfs_file_async_end)
		vfs_file_async_end(f);
	if (f->ops && f->ops->release)
		f->ops->release(f);
	if (f->inode)
		vfs_iput(f->inode);
	kfree(f);
	__atomic_sub_fetch(&files_alive, 1, __ATOMIC_RELAXED);
}

struct inode *vfs_root(void)
{
	vfs_iget(vfs_root_ino);
	return vfs_root_ino;
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

/* the lock-free walk (below) cannot go on: the locked one takes over */
#define RCU_AGAIN 1

/* One step from dir (a directory) to its entry s. rcu: the lock-free
 * walk's, from the directory cache alone (RCU_AGAIN when it cannot tell;
 * hash: the name's, computed while the walk scanned it); else under the
 * namespace lock, asking the file system what the cache does not know. */
static int step_how(struct inode *dir, const char *s, size_t n, u32 hash, bool rcu,
		    struct inode **out)
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
		struct inode *p = __atomic_load_n(&dir->parent, __ATOMIC_ACQUIRE);
		*out = p ? p : dir;
		return 0;
	}
	bool cached = dir->iops->dcache;
	int r;
	if (rcu) {
		if (!cached)
			return RCU_AGAIN;
		r = dcache_lookup_rcu(dir, s, n, hash, out);
	} else {
		r = cached ? dcache_lookup(dir, s, n, out) : 1;
		if (r == 1) {
			r = dir->iops->lookup(dir, s, n, out);
			if (cached && (r == 0 || r == -ENOENT))
				dcache_add(dir, s, n, r == 0 ? *out : NULL);
		}
	}
	for (struct inode *m; r == 0 && (m = __atomic_load_n(&(*out)->mounted, __ATOMIC_ACQUIRE));)
		*out = m;
	return r;
}

static int step(struct inode *dir, const char *s, size_t n, struct inode **out)
{
	return step_how(dir, s, n, 0, false, out);
}

/* Changes to a read-only file system are refused before anything else
 * about the name is checked (as Linux's mnt_want_write). */
static bool read_only(const struct inode *dir) { return dir->iops->read_only; }

static int walk_depth(const struct vfs_cred *c, struct inode *base, const char *path,
		      bool follow, int depth, struct inode **out);
static int walk_rcu(const struct vfs_cred *c, struct inode *base, const char *path,
		    bool follow, int depth, struct inode **out);
/* The inode a symbolic link in dir names; rcu: in the lock-free walk
 * (a target not in memory yet: RCU_AGAIN). */
static int follow_link(const struct vfs_cred *c, struct inode *dir, struct inode *link,
		       int depth, struct inode **out, bool rcu)
{
	if (depth >= VFS_LINKS_MAX)
		return -ELOOP;
	int r = vfs_may_follow(c, dir, link);
	if (r < 0)
		return r;
	const char *(*get)(struct inode *) = rcu ? link->iops->get_link_rcu : link->iops->get_link;
	const char *target = get ? get(link) : NULL;
	if (!target)
		return rcu ? RCU_AGAIN : -ENOENT;
	if (!target[0])
		return -ENOENT;
	return rcu ? walk_rcu(c, dir, target, true, depth + 1, out)
		   : walk_depth(c, dir, target, true, depth + 1, out);
}

/* Linux's may_lookup: a name is looked up in dir only if c may search it
 * (a directory already: -ENOTDIR comes first). */
static int may_lookup(const struct vfs_cred *c, struct inode *dir)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	return vfs_permission(c, dir, MAY_EXEC);
}

/* The name that starts at p (after any slashes): *s, *n bytes, and its
 * hash in dir's directory cache (computed while it is scanned); returns
 * where the name after it starts, past the slashes ("" at the end). */
static const char *next_name(const char *p, const struct inode *dir, const char **s, size_t *n,
			     u32 *hash)
{
	while (*p == '/')
		p++;
	*s = p;
	u64 h = dcache_hash_begin(dir);
	for (; *p && *p != '/'; p++)
		h = dcache_hash_step(h, *p);
	*hash = dcache_hash_end(h);
	*n = (size_t)(p - *s);
	while (*p == '/')
		p++;
	return p;
}

/* Resolve every component but the last; c must be allowed to search
 * every directory it passes, the last component's too. */
static int walk_parent_depth(const struct vfs_cred *c, struct inode *base, const char *path,
			     int depth, struct nameidata *nd)
{
	if (!path[0])
		return -ENOENT;
	struct inode *dir = path[0] == '/' ? vfs_root_ino : base;
	for (const char *p = path, *q;; p = q) {
		const char *s;
		size_t n;
		u32 hash;
		q = next_name(p, dir, &s, &n, &hash);
		int r = n ? may_lookup(c, dir) : 0;
		if (r < 0)
			return r;
		if (!*q) {
			if (!S_ISDIR(dir->mode))
				return -ENOTDIR;
			if (n > VFS_NAME_MAX)
				return -ENAMETOOLONG;
			nd->dir = dir;
			nd->last = s;
			nd->len = n;
			nd->slash = s[n] == '/';
			return 0;
		}
		struct inode *next;
		r = step(dir, s, n, &next);
		if (r == 0 && S_ISLNK(next->mode))
			r = follow_link(c, dir, next, depth, &next, false);
		if (r < 0)
			return r;
		dir = next;
	}
}

static int walk_parent(const struct vfs_cred *c, struct inode *base, const char *path,
		       struct nameidata *nd)
{
	return walk_parent_depth(c, base, path, 0, nd);
}

static int walk_depth(const struct vfs_cred *c, struct inode *base, const char *path,
		      bool follow, int depth, struct inode **out)
{
	struct nameidata nd;
	int r = walk_parent_depth(c, base, path, depth, &nd);
	if (r < 0)
		return r;
	if (nd.len == 0) {
		*out = nd.dir;
		return 0;
	}
	r = step(nd.dir, nd.last, nd.len, out);
	if (r == 0 && S_ISLNK((*out)->mode) && (follow || nd.slash))
		r = follow_link(c, nd.dir, *out, depth, out, false);
	if (r == 0 && nd.slash && !S_ISDIR((*out)->mode))
		return -ENOTDIR;
	return r;
}

/* The whole path: the inode, or an error. */
static int walk(const struct vfs_cred *c, struct inode *base, const char *path,
		struct inode **out)
{
	return walk_depth(c, base, path, true, 0, out);
}

/* ---- names without the lock (RCU walk) ----
 *
 * The same walk over the directory cache alone, inside rcu_read_lock:
 * every directory it passes and every inode it reads stays in memory for
 * the walk (entries and inodes of dcache'd file systems are freed after a
 * grace period). Anything the cache cannot answer (a name not cached, a
 * directory of a file system without the cache, a link whose target is
 * not in memory) stops it with RCU_AGAIN and the caller walks again with
 * the lock. Errors it finds (a negative entry, a search permission
 * refused, -ENOTDIR, -ELOOP) are the answer: the locked walk would find
 * the same in the same order. */

/* walk_depth's twin: the inode (no reference taken), an error, or RCU_AGAIN */
static int walk_rcu(const struct vfs_cred *c, struct inode *base, const char *path,
		    bool follow, int depth, struct inode **out)
{
	if (!path[0])
		return -ENOENT;
	struct inode *dir = path[0] == '/' ? vfs_root_ino : base;
	for (const char *p = path, *q;; p = q) {
		const char *s;
		size_t n;
		u32 hash;
		q = next_name(p, dir, &s, &n, &hash);
		if (n) {
			/* a file system without the cache may have its own access
			 * rule (own_access) that needs locks: the locked walk asks */
			if (S_ISDIR(dir->mode) && !dir->iops->dcache)
				return RCU_AGAIN;
			int r = may_lookup(c, dir);
			if (r < 0)
				return r;
		}
		if (!*q) {
			if (!S_ISDIR(dir->mode))
				return -ENOTDIR;
			if (n > VFS_NAME_MAX)
				return -ENAMETOOLONG;
			if (n == 0) {
				*out = dir;
				return 0;
			}
			bool slash = s[n] == '/';
			int r = step_how(dir, s, n, hash, true, out);
			if (r == 0 && S_ISLNK((*out)->mode) && (follow || slash))
				r = follow_link(c, dir, *out, depth, out, true);
			if (r == 0 && slash && !S_ISDIR((*out)->mode))
				return -ENOTDIR;
			return r;
		}
		struct inode *next;
		int r = step_how(dir, s, n, hash, true, &next);
		if (r == 0 && S_ISLNK(next->mode))
			r = follow_link(c, dir, next, depth, &next, true);
		if (r != 0)
			return r;
		dir = next;
	}
}

/* The lock-free walk with a reference on what it found: 0 and *out, an
 * error, or RCU_AGAIN (nothing held). */
static int lookup_rcu(const struct vfs_cred *c, struct inode *base, const char *path,
		      bool follow, struct inode **out)
{
	rcu_read_lock();
	struct inode *ino = NULL;
	int r = walk_rcu(c, base, path, follow, 0, &ino);
	if (r == 0 && !vfs_iget_unless_dead(ino))
		r = RCU_AGAIN;   /* destroyed under us: the lock sorts it out */
	rcu_read_unlock();
	if (r != RCU_AGAIN) {
		dcache_count_walk(true);
		if (r == 0)
			*out = ino;
	}
	return r;
}

int vfs_lookup_rcu_only(const struct vfs_cred *c, struct inode *base, const char *path,
			bool follow, struct inode **out)
{
	int r = lookup_rcu(c, base, path, follow, out);
	return r == RCU_AGAIN ? -EAGAIN : r;
}

int vfs_lookup_as(const struct vfs_cred *c, struct inode *base, const char *path, bool follow,
		  struct inode **out)
{
	int rr = lookup_rcu(c, base, path, follow, out);
	if (rr != RCU_AGAIN)
		return rr;
	dcache_count_walk(false);
	mutex_lock(&vfs_ns_lock);
	struct inode *ino;
	int r = walk_depth(c, base, path, follow, 0, &ino);
	if (r == 0) {
		vfs_iget(ino);
		*out = ino;
	}
	mutex_unlock(&vfs_ns_lock);
	return r;
}

int vfs_lookup_nofollow(struct inode *base, const char *path, struct inode **out)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	return vfs_lookup_as(&c, base, path, false, out);
}

long vfs_readlink(struct inode *base, const char *path, char *buf, size_t size)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	mutex_lock(&vfs_ns_lock);
	struct inode *ino;
	long r = walk_depth(&c, base, path, false, 0, &ino);
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
	struct vfs_cred c;
	vfs_cred_current(&c);
	return vfs_lookup_as(&c, base, path, true, out);
}

int vfs_open_inode(const struct vfs_cred *c, struct inode *ino, unsigned flags,
		   struct file **out)
{
	if ((flags & ~(unsigned)(O_NONBLOCK | O_NOATIME)) != O_RDONLY)
		return -EINVAL;
	if (!S_ISREG(ino->mode))
		return -EINVAL;
	int r = vfs_may_open(c, ino, flags, false);
	if (r < 0)
		return r;
	if (!ino->fops)
		return -ENXIO;
	struct file *f = file_alloc(ino->fops, flags);
	if (!f)
		return -ENOMEM;
	f->inode = ino;   /* the caller's reference */
	*out = f;
	return 0;
}

/* A new inode that did not get linked goes away again. */
static void drop_new(struct inode *ino)
{
	if (ino)
		destroy_if_unused(ino);
}

/* accepted; O_SYNC and O_DSYNC stay in the file's flags for its write
 * (ext2 makes each write durable) */
#define OPEN_IGNORED (O_NOCTTY | O_LARGEFILE | O_NOATIME | O_SYNC | O_DSYNC | O_NOFOLLOW | \
		      O_CLOEXEC)

static int open_as(const struct vfs_cred *c, struct inode *base, const char *path,
		   unsigned flags, u32 mode, bool exec, struct file **out);

int vfs_open(struct inode *base, const char *path, unsigned flags, u32 mode, struct file **out)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	return open_as(&c, base, path, flags, mode, false, out);
}

int vfs_open_exec(struct inode *base, const char *path, struct file **out)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	return open_as(&c, base, path, O_RDONLY, 0, true, out);
}

/* An open that makes, truncates and refuses nothing of the namespace, of
 * a regular file or a directory: the lock-free walk, then open_as's checks
 * for those two kinds in its order. 0 (f->inode holds the reference), an
 * error, or RCU_AGAIN. */
static int open_rcu(const struct vfs_cred *c, struct inode *base, const char *path,
		    unsigned flags, bool exec, struct file *f)
{
	struct inode *ino;
	int r = lookup_rcu(c, base, path, true, &ino);
	if (r != 0)
		return r;
	bool reg = S_ISREG(ino->mode), dir = S_ISDIR(ino->mode);
	if (!reg && !dir) {
		vfs_iput(ino);   /* FIFOs and devices open under the lock */
		return RCU_AGAIN;
	}
	if ((flags & O_DIRECTORY) && !dir)
		r = -ENOTDIR;
	else if (dir && (flags & O_ACCMODE) != O_RDONLY)
		r = -EISDIR;
	else if (reg && ino->iops->read_only && (flags & O_ACCMODE) != O_RDONLY)
		r = -EROFS;
	else if (exec && !reg)
		r = -EACCES;
	else if ((r = vfs_may_open(c, ino, flags, exec)) == 0)
		r = (f->ops = ino->fops) ? 0 : -ENXIO;
	if (r == 0)
		f->inode = ino;
	else
		vfs_iput(ino);
	return r;
}

static int open_as(const struct vfs_cred *c, struct inode *base, const char *path,
		   unsigned flags, u32 mode, bool exec, struct file **out)
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
	if (!(flags & (O_CREAT | O_TRUNC | O_NOFOLLOW))) {
		int rr = open_rcu(c, base, path, flags, exec, f);
		if (rr != RCU_AGAIN) {
			if (rr < 0) {
				file_put(f);
				return rr;
			}
			*out = f;
			return 0;
		}
		dcache_count_walk(false);
	}
	struct inode *fresh = NULL;
	if (flags & O_CREAT) {
		fresh = vfs_ram_ino->iops->alloc(vfs_ram_ino, S_IFREG | (mode & 07777), 0);
		if (!fresh) {
			file_put(f);
			return -ENOMEM;
		}
	}
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino = NULL;
	bool created = false;
	int r = walk_parent(c, base, path, &nd);
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
			r = follow_link(c, nd.dir, ino, 0, &ino, false);
			if (r < 0)
				goto out;
		}
		if (r == -ENOENT && (flags & O_CREAT)) {
			if (nd.slash) {
				r = -EISDIR;
				goto out;
			}
			/* a read-only file system's link says -EROFS, first */
			if (!read_only(nd.dir) && (r = vfs_may_create(c, nd.dir)) < 0)
				goto out;
			vfs_init_owner(c, nd.dir, fresh);
			r = nd.dir->iops->link(nd.dir, nd.last, nd.len, fresh);
			dcache_forget(nd.dir, nd.last, nd.len);
			if (r < 0)
				goto out;
			created = true;
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
	} else if (exec && !S_ISREG(ino->mode)) {
		r = -EACCES;   /* Linux's may_open: only a regular file is executed */
	} else if (!created && (r = vfs_may_open(c, ino, flags, exec)) < 0) {
		/* (a file this open made is the caller's whatever its mode) */
	} else if (S_ISFIFO(ino->mode)) {
		r = fifo_open(ino, f);
	} else if (S_ISBLK(ino->mode)) {
		static bool said;
		if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
			pr_info("vfs: opening a block device node is not supported yet: -ENXIO");
		r = -ENXIO;
	} else if (S_ISCHR(ino->mode)) {
		f->ops = dev_fops(ino->rdev);
		r = !f->ops ? -ENXIO : f->ops->open ? f->ops->open(f) : 0;
	} else {
		f->ops = ino->fops;
		r = f->ops ? 0 : -ENXIO;
	}
	if (r == 0 && (flags & O_TRUNC) && S_ISREG(ino->mode) && ino->size) {
		if (!c->priv)
			vfs_kill_suid(ino);
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
	if (r == 0 && f->inode && S_ISFIFO(f->inode->mode))
		r = fifo_wait(f);   /* for the other side, no lock held */
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
static int link_at(const struct vfs_cred *c, struct inode *base, const char *path,
		   struct inode *fresh, bool hard)
{
	u32 mode = fresh->mode;
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino;
	int r = walk_parent(c, base, path, &nd);
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
	if (hard && (r = vfs_may_hardlink(c, fresh)) < 0)
		goto out;
	if (!read_only(nd.dir) && (r = vfs_may_create(c, nd.dir)) < 0)
		goto out;
	if (!hard && (S_ISCHR(mode) || S_ISBLK(mode)) && !c->priv) {
		r = -EPERM;   /* CAP_MKNOD: device nodes are root's to make */
		goto out;
	}
	if (!hard)
		vfs_init_owner(c, nd.dir, fresh);
	if (hard && fresh->dev != nd.dir->dev)
		r = -EXDEV;
	else
		r = nd.dir->iops->link(nd.dir, nd.last, nd.len, fresh);
	dcache_forget(nd.dir, nd.last, nd.len);
out:
	if (!hard)
		drop_new(fresh);
	mutex_unlock(&vfs_ns_lock);
	return r;
}

static int make_node_with(struct inode *base, const char *path, struct inode *fresh)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	return link_at(&c, base, path, fresh, false);
}

int vfs_link(struct inode *obase, const char *opath, struct inode *nbase, const char *npath,
	     bool follow)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	struct inode *ino = NULL;
	int r = vfs_lookup_as(&c, obase, opath, follow, &ino);
	if (r < 0)
		return r;
	r = S_ISDIR(ino->mode) ? -EPERM : link_at(&c, nbase, npath, ino, true);
	vfs_iput(ino);
	return r;
}

int vfs_setattr(struct inode *ino, unsigned mask, u32 mode, u64 atime_ns, u64 mtime_ns)
{
	if (!ino->iops->setattr)
		return -EPERM;
	if (ino->iops->read_only)
		return -EROFS;
	struct vfs_cred c;
	vfs_cred_current(&c);
	mode &= 07777;
	int r = vfs_may_setattr(&c, ino, mask, &mode);
	if (r < 0)
		return r;
	return ino->iops->setattr(ino, mask, mode, atime_ns, mtime_ns);
}

int vfs_chown(struct inode *ino, u32 uid, u32 gid)
{
	if (!ino->iops->chown)
		return -EPERM;
	if (ino->iops->read_only)
		return -EROFS;
	struct vfs_cred c;
	vfs_cred_current(&c);
	int r = vfs_may_chown(&c, ino, uid, gid);
	if (r < 0)
		return r;
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
	struct inode *fresh = vfs_ram_ino->iops->alloc(vfs_ram_ino, mode, rdev);
	if (!fresh)
		return -ENOMEM;
	return make_node_with(base, path, fresh);
}

int vfs_symlink(struct inode *base, const char *path, const char *target)
{
	if (!target[0])
		return -ENOENT;
	struct inode *fresh = vfs_ram_ino->iops->alloc(vfs_ram_ino, S_IFLNK | 0777, 0);
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
	struct vfs_cred c;
	vfs_cred_current(&c);
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino;
	int r = walk_parent(&c, base, path, &nd);
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
	if (nd.slash)
		r = S_ISDIR(ino->mode) ? -EISDIR : -ENOTDIR;
	else if ((r = vfs_may_delete(&c, nd.dir, ino)) < 0)
		;
	else if (S_ISDIR(ino->mode))
		r = -EISDIR;
	else
		r = nd.dir->iops->unlink(nd.dir, nd.last, nd.len);
	dcache_forget(nd.dir, nd.last, nd.len);
out:
	mutex_unlock(&vfs_ns_lock);
	return r;
}

int vfs_rmdir(struct inode *base, const char *path)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	mutex_lock(&vfs_ns_lock);
	struct nameidata nd;
	struct inode *ino;
	int r = walk_parent(&c, base, path, &nd);
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
		if ((r = vfs_may_delete(&c, nd.dir, ino)) < 0)
			;
		else if (!S_ISDIR(ino->mode))
			r = -ENOTDIR;
		else if (ino == vfs_root_ino || ino->covers)
			r = -EBUSY;
		else if (!is_empty(ino))
			r = -ENOTEMPTY;
		else
			r = nd.dir->iops->unlink(nd.dir, nd.last, nd.len);
		dcache_forget(nd.dir, nd.last, nd.len);
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

/* Linux's vfs_rename checks, after the ones of the names: the source's
 * entry may go, the target's may be made or replaced, the types agree, a
 * directory that changes parent may be written (its ".." changes). */
static int may_rename(const struct vfs_cred *c, struct nameidata *o, struct inode *src,
		      struct nameidata *n, struct inode *dst)
{
	int r = vfs_may_delete(c, o->dir, src);
	if (r == 0)
		r = dst ? vfs_may_delete(c, n->dir, dst) : vfs_may_create(c, n->dir);
	if (r < 0)
		return r;
	if (dst && S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
		return -ENOTDIR;
	if (dst && !S_ISDIR(src->mode) && S_ISDIR(dst->mode))
		return -EISDIR;
	if (S_ISDIR(src->mode) && o->dir != n->dir)
		return vfs_permission(c, src, MAY_WRITE);
	return 0;
}

int vfs_rename(struct inode *obase, const char *opath, struct inode *nbase, const char *npath)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	mutex_lock(&vfs_ns_lock);
	struct nameidata o, n;
	struct inode *src, *dst = NULL;
	int r = walk_parent(&c, obase, opath, &o);
	if (r == 0)
		r = walk_parent(&c, nbase, npath, &n);
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
	} else if (S_ISDIR(src->mode) && is_ancestor(src, n.dir)) {
		r = -EINVAL;   /* into itself */
	} else if (dst && S_ISDIR(dst->mode) && is_ancestor(dst, o.dir)) {
		r = -ENOTEMPTY;   /* over an ancestor of the source */
	} else if ((r = may_rename(&c, &o, src, &n, dst)) < 0) {
		/* refused */
	} else if (dst && S_ISDIR(dst->mode) && !is_empty(dst)) {
		r = -ENOTEMPTY;
	} else {
		r = o.dir->iops->rename(o.dir, o.last, o.len, n.dir, n.last, n.len);
		dcache_forget(o.dir, o.last, o.len);
		dcache_forget(n.dir, n.last, n.len);
	}
out:
	mutex_unlock(&vfs_ns_lock);
	return r;
}

long vfs_path_of(struct inode *dir, char *buf, size_t size)
{
	mutex_lock(&vfs_ns_lock);
	long r;
	if (dir != vfs_root_ino && dir->nlink == 0) {
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
	for (struct inode *d = dir; d != vfs_root_ino; d = d->parent) {
		size_t n = strlen(d->name);
		if (at < n + 1) {
			r = -ERANGE;
			goto out;
		}
		at -= n;
		memcpy(buf + at, d->name, n);
		buf[--at] = '/';
	}
	if (dir == vfs_root_ino) {
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
	if (f->inode && (READ_ONCE(f->inode->mode) & (S_ISUID | S_ISGID)) && u->len)
		vfs_kill_suid(f->inode);
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
	if (ino->mode & (S_ISUID | S_ISGID))
		vfs_kill_suid(ino);
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
static int nmounts = 1;   /* [ns] written; read without the lock (entries never change,
			     but entry 0 once at boot: vfs_mount_root) */

const struct vfs_mount_info *vfs_mount_at(int i)
{
	return i >= 0 && i < __atomic_load_n(&nmounts, __ATOMIC_ACQUIRE) ? &mounts[i] : NULL;
}

int vfs_mount(struct inode *fsroot, const struct vfs_mount_info *info)
{
	char path[sizeof(info->path)];
	memcpy(path, info->path, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	/* mkdir -p, on the RAM root only (never on a disk that root= made "/") */
	for (size_t i = 1; vfs_root_ino == vfs_ram_ino && path[i - 1]; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		int r = vfs_mkdir(vfs_root_ino, path, 0755);
		path[i] = c;
		if (r < 0 && r != -EEXIST)
			return r;
	}
	struct vfs_cred c;
	vfs_cred_root(&c);
	mutex_lock(&vfs_ns_lock);
	struct inode *mp;
	int r = walk(&c, vfs_root_ino, path, &mp);
	char *name = NULL;
	if (r == 0 && !S_ISDIR(mp->mode))
		r = -ENOTDIR;
	else if (r == 0 && (mp == vfs_root_ino || mp->covers || !mp->name))
		r = -EBUSY;   /* the root, or already a mount's root */
	else if (r == 0 && nmounts >= VFS_MOUNTS_MAX)
		r = -ENOSPC;
	else if (r == 0 && !(name = kmalloc(strlen(mp->name) + 1, 0)))
		r = -ENOMEM;
	if (r == 0) {
		memcpy(name, mp->name, strlen(mp->name) + 1);
		vfs_iget(mp);
		vfs_iget(fsroot);
		fsroot->covers = mp;
		fsroot->parent = mp->parent;
		fsroot->name = name;
		__atomic_store_n(&mp->mounted, fsroot, __ATOMIC_RELEASE);   /* lock-free walks */
		mounts[nmounts] = *info;
		mount_roots[nmounts] = fsroot;
		__atomic_store_n(&nmounts, nmounts + 1, __ATOMIC_RELEASE);
	}
	mutex_unlock(&vfs_ns_lock);
	return r;
}

int vfs_mount_root(struct inode *fsroot, const struct vfs_mount_info *info)
{
	mutex_lock(&vfs_ns_lock);
	if (vfs_root_ino != vfs_ram_ino || nmounts != 1 || !S_ISDIR(fsroot->mode)) {
		mutex_unlock(&vfs_ns_lock);
		return -EBUSY;   /* a root was mounted, or a mount stands on the RAM root */
	}
	vfs_iget(fsroot);
	fsroot->parent = NULL;
	mounts[0] = *info;
	memcpy(mounts[0].path, "/", 2);
	mount_roots[0] = fsroot;
	__atomic_store_n(&vfs_root_ino, fsroot, __ATOMIC_RELEASE);
	mutex_unlock(&vfs_ns_lock);
	/* the device nodes: the RAM root's /dev over the disk's */
	struct vfs_cred c;
	vfs_cred_root(&c);
	struct inode *dev, *mp;
	mutex_lock(&vfs_ns_lock);
	int r = walk(&c, fsroot, "dev", &mp);   /* the disk's own: never made here */
	if (r == 0)
		r = walk(&c, vfs_ram_ino, "dev", &dev);
	if (r == 0)
		vfs_iget(dev);
	mutex_unlock(&vfs_ns_lock);
	if (r == 0) {
		struct vfs_mount_info di = { "/dev", "initrd", "ramfs", "rw", "the RAM root's /dev" };
		r = vfs_mount(dev, &di);
		vfs_iput(dev);
	}
	if (r < 0)
		pr_warn("vfs: no /dev on the new root (error %d): programs find no device nodes "
			"(make the directory /dev on the disk)", r);
	return 0;
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
