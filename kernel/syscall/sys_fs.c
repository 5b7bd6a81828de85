/*
 * Name-space calls over the VFS (fs/vfs.h): open, openat, stat and its
 * kin, getdents64, mkdir, mknod, rmdir, unlink, rename, getcwd, chdir, access,
 * umask, readlink. Paths are copied in whole first (at most VFS_PATH_MAX
 * bytes with the NUL: -ENAMETOOLONG beyond, -EFAULT for a bad pointer).
 * Permissions are the VFS's to check (fs/perm.c) with the caller's
 * effective ids; access and faccessat ask with the real ones, chdir and
 * truncate check the inode they looked up with the same helper.
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

#define AT_FDCWD            (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR        0x200
#define AT_EACCESS          0x200
#define AT_NO_AUTOMOUNT     0x800
#define AT_EMPTY_PATH       0x1000
#define AT_STATX_SYNC_TYPE  0x6000   /* statx's sync hints: nothing to sync here */

/* Copies the NUL-ended user string at upath into buf from byte *n up to
 * cap, in chunks that grow and stop at page ends (the next page may be
 * unmapped), so a short path costs a short copy: 0 when the NUL is in,
 * 1 when buf is full without it, -EFAULT. */
static int path_copy(u64 upath, char *buf, size_t cap, size_t *n)
{
	size_t chunk = 64;
	while (*n < cap) {
		size_t at = *n;
		size_t k = MIN(MIN(cap - at, chunk), PAGE_SIZE - ((upath + at) & (PAGE_SIZE - 1)));
		chunk = MIN(chunk * 2, (size_t)1024);
		size_t got = copy_from_user_partial(buf + at, upath + at, k);
		for (size_t i = at; i < at + got; i++)
			if (!buf[i])
				return 0;
		*n = at + got;
		if (got < k)
			return -EFAULT;
	}
	return 1;
}

int sys_path_in(u64 upath, struct kpath *kp)
{
	size_t n = 0;
	kp->s = kp->buf;
	int r = path_copy(upath, kp->buf, sizeof(kp->buf), &n);
	if (r <= 0)
		return r;
	/* a long one: the whole VFS_PATH_MAX */
	char *big = kmalloc(VFS_PATH_MAX, 0);
	if (!big)
		return -ENOMEM;
	memcpy(big, kp->buf, n);
	r = path_copy(upath, big, VFS_PATH_MAX, &n);
	if (r != 0) {
		kfree(big);
		return r < 0 ? r : -ENAMETOOLONG;
	}
	kp->s = big;
	return 0;
}

void sys_path_put(struct kpath *kp)
{
	if (kp->s != kp->buf)
		kfree(kp->s);
	kp->s = NULL;
}

int sys_path(u64 upath, char **out)
{
	char *buf = kmalloc(VFS_PATH_MAX, 0);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	int r = path_copy(upath, buf, VFS_PATH_MAX, &n);
	if (r != 0) {
		kfree(buf);
		return r < 0 ? r : -ENAMETOOLONG;
	}
	*out = buf;
	return 0;
}

/* Where a relative path starts: the working directory (AT_FDCWD) or a
 * directory descriptor's inode; a reference. Absolute paths ignore dirfd,
 * as on Linux: NULL (the walk starts at the root, never at base). */
static int base_of(s32 dirfd, const char *path, struct inode **out)
{
	struct proc *p = proc_current();
	if (path[0] == '/') {
		*out = NULL;
		return 0;
	}
	if (dirfd == AT_FDCWD) {
		*out = proc_fs_cwd(p->fs);
		return 0;
	}
	struct file *f = fd_get(p->fds, (u32)dirfd);
	if (!f)
		return -EBADF;
	int r = 0;
	if (!f->inode || !S_ISDIR(f->inode->mode))
		r = -ENOTDIR;
	else
		vfs_iget(*out = f->inode);
	file_put(f);
	return r;
}

/* Copy the path in and find its base: the common start of every call. */
struct at {
	char *path;
	struct inode *base;   /* NULL for an absolute path */
	struct kpath kp;
};

static int at_begin(s32 dirfd, u64 upath, struct at *at)
{
	int r = sys_path_in(upath, &at->kp);
	if (r < 0)
		return r;
	at->path = at->kp.s;
	r = base_of(dirfd, at->path, &at->base);
	if (r < 0)
		sys_path_put(&at->kp);
	return r;
}

static void at_end(struct at *at)
{
	if (at->base)
		vfs_iput(at->base);
	sys_path_put(&at->kp);
}

static long do_open(s32 dirfd, u64 upath, u64 flags, u64 mode)
{
	struct proc *p = proc_current();
	struct at at;
	int r = at_begin(dirfd, upath, &at);
	if (r < 0)
		return r;
	struct file *f;
	r = vfs_open(at.base, at.path, (unsigned)flags | O_LARGEFILE,
		     (u32)mode & 07777 & ~proc_umask(p), &f);
	at_end(&at);
	if (r < 0)
		return r;
	r = fd_install(p->fds, 0, f, flags & O_CLOEXEC);
	if (r < 0)
		file_put(f);
	return r;
}

long sys_open(const u64 a[6]) { return do_open(AT_FDCWD, a[0], a[1], a[2]); }
long sys_openat(const u64 a[6]) { return do_open((s32)a[0], a[1], a[2], a[3]); }
long sys_creat(const u64 a[6])
{
	return do_open(AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1]);
}

/* struct stat of Linux x86-64 */
struct kstat {
	u64 dev, ino, nlink;
	u32 mode, uid, gid, pad0;
	u64 rdev;
	s64 size, blksize, blocks;
	s64 atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
	s64 unused[3];
};

#define DEV_ROOT MKDEV(0, 1)   /* the RAM file system's device number */

static void fill_stat(struct inode *ino, struct kstat *st)
{
	memset(st, 0, sizeof(*st));
	st->blksize = PAGE_SIZE;
	if (!ino) {   /* a pipe */
		st->mode = S_IFIFO | 0600;
		st->nlink = 1;
		st->dev = MKDEV(0, 2);
		return;
	}
	mutex_lock(&ino->lock);
	st->dev = ino->dev ? ino->dev : DEV_ROOT;
	st->ino = ino->ino;
	st->nlink = ino->nlink;
	st->mode = ino->mode;
	st->uid = ino->uid;
	st->gid = ino->gid;
	st->rdev = ino->rdev;
	st->size = S_ISREG(ino->mode) || S_ISLNK(ino->mode) || (ino->dev && S_ISDIR(ino->mode)) ?
		   (s64)ino->size : 0;
	/* the RAM file system holds whole pages, as Linux's ramfs and tmpfs
	 * count them (ls's "total" and du see the same on both) */
	st->blocks = ino->dev ? (s64)ino->blocks : (s64)(ALIGN_UP((u64)st->size, PAGE_SIZE) / 512);
	/* the RAM file system's atime: its mtime, unless utimes set one */
	u64 atime = ino->dev || ino->atime_ns ? ino->atime_ns : ino->mtime_ns;
	st->mtime = (s64)(ino->mtime_ns / 1000000000);
	st->mtime_ns = (s64)(ino->mtime_ns % 1000000000);
	st->atime = (s64)(atime / 1000000000);
	st->atime_ns = (s64)(atime % 1000000000);
	st->ctime = (s64)(ino->ctime_ns / 1000000000);
	st->ctime_ns = (s64)(ino->ctime_ns % 1000000000);
	mutex_unlock(&ino->lock);
}

long sys_fstat(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	struct kstat st;
	fill_stat(f->inode, &st);
	if (!f->inode && f->ops->stat_mode) {   /* a socket */
		st.mode = f->ops->stat_mode;
		st.dev = MKDEV(0, 8);
	}
	file_put(f);
	return copy_to_user(a[1], &st, sizeof(st));
}

/* newfstatat's and statx's lookup: the kstat of what (dirfd, path, flags)
 * name. */
static long stat_at(s32 dirfd, u64 upath, u64 flags, struct kstat *st)
{
	struct kpath kp;
	int r = sys_path_in(upath, &kp);
	if (r < 0)
		return r;
	const char *path = kp.s;
	if (!path[0] && (flags & AT_EMPTY_PATH)) {
		sys_path_put(&kp);
		if (dirfd == AT_FDCWD) {
			struct inode *cwd = proc_cwd();
			fill_stat(cwd, st);
			vfs_iput(cwd);
			return 0;
		}
		struct file *f = sys_file((u64)(u32)dirfd);
		if (!f)
			return -EBADF;
		fill_stat(f->inode, st);
		if (!f->inode && f->ops->stat_mode) {   /* a socket */
			st->mode = f->ops->stat_mode;
			st->dev = MKDEV(0, 8);
		}
		file_put(f);
		return 0;
	}
	struct inode *base, *ino;
	r = base_of(dirfd, path, &base);
	if (r == 0) {
		r = (flags & AT_SYMLINK_NOFOLLOW) ? vfs_lookup_nofollow(base, path, &ino)
						  : vfs_lookup(base, path, &ino);
		if (base)
			vfs_iput(base);
	}
	sys_path_put(&kp);
	if (r < 0)
		return r;
	fill_stat(ino, st);
	vfs_iput(ino);
	return 0;
}

long sys_newfstatat(const u64 a[6])
{
	u64 flags = a[3];
	if (flags & ~(u64)(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	struct kstat st;
	long r = stat_at((s32)a[0], a[1], flags, &st);
	return r < 0 ? r : copy_to_user(a[2], &st, sizeof(st));
}

/* struct statx of Linux (include/uapi/linux/stat.h) */
struct statx_ts {
	s64 sec;
	u32 nsec;
	s32 reserved;
};
struct kstatx {
	u32 mask, blksize;
	u64 attributes;
	u32 nlink, uid, gid;
	u16 mode, spare0;
	u64 ino, size, blocks, attributes_mask;
	struct statx_ts atime, btime, ctime, mtime;
	u32 rdev_major, rdev_minor, dev_major, dev_minor;
	u64 mnt_id;
	u32 dio_mem_align, dio_offset_align;
	u64 spare3[12];
};
_Static_assert(sizeof(struct kstatx) == 256, "struct statx");
/* type, mode, nlink, uid, gid, the times but btime, ino, size, blocks */
#define STATX_BASIC_STATS 0x7ffu
#define STATX_RESERVED    0x80000000u

/* statx(dirfd, path, flags, mask, buf): what stat knows, in statx's form
 * (no birth time: stx_mask says so, as Linux does for file systems
 * without one) */
long sys_statx(const u64 a[6])
{
	u64 flags = a[2];
	if (flags & ~(u64)(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || ((u32)a[3] & STATX_RESERVED))
		return -EINVAL;
	struct kstat st;
	long r = stat_at((s32)a[0], a[1], flags, &st);
	if (r < 0)
		return r;
	struct kstatx x;
	memset(&x, 0, sizeof(x));
	x.mask = STATX_BASIC_STATS;
	x.blksize = (u32)st.blksize;
	x.nlink = (u32)st.nlink;
	x.uid = st.uid;
	x.gid = st.gid;
	x.mode = (u16)st.mode;
	x.ino = st.ino;
	x.size = (u64)st.size;
	x.blocks = (u64)st.blocks;
	x.atime = (struct statx_ts){ .sec = st.atime, .nsec = (u32)st.atime_ns };
	x.mtime = (struct statx_ts){ .sec = st.mtime, .nsec = (u32)st.mtime_ns };
	x.ctime = (struct statx_ts){ .sec = st.ctime, .nsec = (u32)st.ctime_ns };
	x.rdev_major = MAJOR((u32)st.rdev);
	x.rdev_minor = MINOR((u32)st.rdev);
	x.dev_major = MAJOR((u32)st.dev);
	x.dev_minor = MINOR((u32)st.dev);
	return copy_to_user(a[4], &x, sizeof(x));
}

/* struct statfs of Linux x86-64 */
struct kstatfs {
	s64 type, bsize;
	u64 blocks, bfree, bavail, files, ffree;
	s32 fsid[2];
	s64 namelen, frsize, flags, spare[4];
};
_Static_assert(sizeof(struct kstatfs) == 120, "struct statfs");
#define RAMFS_MAGIC       0x858458f6
#define EXT2_SUPER_MAGIC  0xef53
#define ST_RDONLY         0x0001
#define ST_VALID          0x0020

/* A disk file system's own numbers (inode_ops.statfs); of a RAM file
 * system what Linux's simple_statfs tells: its type, block size and name
 * length, no counts. */
static long put_statfs(struct inode *ino, u64 ubuf)
{
	struct kstatfs sf;
	memset(&sf, 0, sizeof(sf));
	sf.type = ino && ino->dev ? EXT2_SUPER_MAGIC : RAMFS_MAGIC;
	sf.bsize = sf.frsize = PAGE_SIZE;
	sf.namelen = VFS_NAME_MAX;
	struct vfs_statfs v;
	if (ino && ino->iops && ino->iops->statfs && ino->iops->statfs(ino, &v) == 0) {
		sf.type = v.magic;
		sf.bsize = sf.frsize = v.bsize;
		sf.blocks = v.blocks;
		sf.bfree = v.bfree;
		sf.bavail = v.bavail;
		sf.files = v.files;
		sf.ffree = v.ffree;
		sf.fsid[0] = (s32)v.fsid[0];
		sf.fsid[1] = (s32)v.fsid[1];
	}
	sf.flags = ST_VALID | (ino && ino->iops && ino->iops->read_only ? ST_RDONLY : 0);
	return copy_to_user(ubuf, &sf, sizeof(sf));
}

long sys_statfs(const u64 a[6])
{
	struct at at;
	int r = at_begin(AT_FDCWD, a[0], &at);
	if (r < 0)
		return r;
	struct inode *ino;
	r = vfs_lookup(at.base, at.path, &ino);
	at_end(&at);
	if (r < 0)
		return r;
	long k = put_statfs(ino, a[1]);
	vfs_iput(ino);
	return k;
}

long sys_fstatfs(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	long r = put_statfs(f->inode, a[1]);
	file_put(f);
	return r;
}

/* Extended attributes: no file system here keeps any. The get calls find
 * the file and answer -ENODATA (no such attribute), the list calls 0 (an
 * empty list), the set and remove calls -EOPNOTSUPP: what Linux answers
 * for a file without attributes on a file system without xattr support. */
static long xattr_path(u64 upath, bool follow)
{
	struct at at;
	int r = at_begin(AT_FDCWD, upath, &at);
	if (r < 0)
		return r;
	struct inode *ino;
	r = follow ? vfs_lookup(at.base, at.path, &ino) : vfs_lookup_nofollow(at.base, at.path, &ino);
	at_end(&at);
	if (r == 0)
		vfs_iput(ino);
	return r;
}

static long xattr_fd(u64 fd)
{
	struct file *f = sys_file(fd);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

static long xattr_get(long r) { return r < 0 ? r : -ENODATA; }
static long xattr_set(long r) { return r < 0 ? r : -EOPNOTSUPP; }
long sys_getxattr(const u64 a[6]) { return xattr_get(xattr_path(a[0], true)); }
long sys_lgetxattr(const u64 a[6]) { return xattr_get(xattr_path(a[0], false)); }
long sys_fgetxattr(const u64 a[6]) { return xattr_get(xattr_fd(a[0])); }
long sys_listxattr(const u64 a[6]) { return xattr_path(a[0], true); }
long sys_llistxattr(const u64 a[6]) { return xattr_path(a[0], false); }
long sys_flistxattr(const u64 a[6]) { return xattr_fd(a[0]); }
long sys_setxattr(const u64 a[6]) { return xattr_set(xattr_path(a[0], true)); }
long sys_lsetxattr(const u64 a[6]) { return xattr_set(xattr_path(a[0], false)); }
long sys_fsetxattr(const u64 a[6]) { return xattr_set(xattr_fd(a[0])); }

/* fadvise64(fd, offset, len, advice): a hint this kernel has no use for,
 * checked as Linux checks it (a pipe or socket: -ESPIPE) */
#define POSIX_FADV_NOREUSE 5
long sys_fadvise64(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	long r = 0;
	if (!f->inode)
		r = -ESPIPE;
	else if (a[3] > POSIX_FADV_NOREUSE || (s64)a[2] < 0)
		r = -EINVAL;
	file_put(f);
	return r;
}

long sys_stat(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1], 0 };
	return sys_newfstatat(b);
}

long sys_lstat(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW };
	return sys_newfstatat(b);
}

/* struct linux_dirent64: d_ino, d_off, d_reclen, d_type, d_name (NUL
 * ended), the record padded to 8 bytes */
#define DIRENT_HDR 19
enum { DT_UNKNOWN = 0, DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_REG = 8, DT_LNK = 10 };

struct dents {
	u64 ubuf;
	size_t left, done;
	u64 next;      /* the cursor after this entry (d_off) */
	int err;
};

static u8 dtype(u32 mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return DT_DIR;
	case S_IFREG: return DT_REG;
	case S_IFCHR: return DT_CHR;
	case S_IFIFO: return DT_FIFO;
	case S_IFLNK: return DT_LNK;
	default: return DT_UNKNOWN;
	}
}

static bool put_dirent(void *arg, const char *name, size_t len, u64 ino, u32 mode)
{
	struct dents *d = arg;
	size_t reclen = ALIGN_UP(DIRENT_HDR + len + 1, 8);
	if (reclen > d->left) {
		if (!d->done)
			d->err = -EINVAL;   /* the buffer holds not even one */
		return false;
	}
	u8 rec[DIRENT_HDR + VFS_NAME_MAX + 1 + 8];
	memset(rec, 0, reclen);
	s64 off = (s64)++d->next;
	u16 rl = (u16)reclen;
	memcpy(rec, &ino, 8);
	memcpy(rec + 8, &off, 8);
	memcpy(rec + 16, &rl, 2);
	rec[18] = dtype(mode);
	memcpy(rec + DIRENT_HDR, name, len);
	if (copy_to_user(d->ubuf + d->done, rec, reclen) < 0) {
		d->err = -EFAULT;
		return false;
	}
	d->done += reclen;
	d->left -= reclen;
	return true;
}

long sys_getdents64(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	struct dents d = { a[1], MIN(a[2], 0x7fffffffUL), 0, READ_ONCE(f->pos), 0 };
	long r = vfs_readdir(f, put_dirent, &d);
	file_put(f);
	if (r < 0)
		return r;
	if (d.err && !d.done)
		return d.err;
	return (long)d.done;
}

long sys_mkdirat(const u64 a[6])
{
	struct at at;
	int r = at_begin((s32)a[0], a[1], &at);
	if (r < 0)
		return r;
	r = vfs_mkdir(at.base, at.path, (u32)a[2] & 07777 & ~proc_umask(proc_current()));
	at_end(&at);
	return r;
}

/* mknodat(dirfd, path, mode, dev): Linux's types (0: regular); device
 * numbers in Linux's encoding, minors below 256 (Caboose's MKDEV) */
long sys_mknodat(const u64 a[6])
{
	u32 mode = (u32)a[2], type = mode & S_IFMT, dev = (u32)a[3];
	u32 major = (dev >> 8) & 0xfff, minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
	if (type == S_IFDIR)
		return -EPERM;
	if (type != 0 && type != S_IFREG && type != S_IFCHR && type != S_IFBLK &&
	    type != S_IFIFO && type != S_IFSOCK)
		return -EINVAL;
	if ((type == S_IFCHR || type == S_IFBLK) && minor > 0xff)
		return -EINVAL;
	struct at at;
	int r = at_begin((s32)a[0], a[1], &at);
	if (r < 0)
		return r;
	u32 perm = mode & 07777 & ~proc_umask(proc_current());
	r = vfs_mknod(at.base, at.path, (type ? type : S_IFREG) | perm,
		      type == S_IFCHR || type == S_IFBLK ? MKDEV(major, minor) : 0);
	at_end(&at);
	return r;
}

long sys_mknod(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1], a[2] };
	return sys_mknodat(b);
}

long sys_mkdir(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1] };
	return sys_mkdirat(b);
}

long sys_unlinkat(const u64 a[6])
{
	if (a[2] & ~(u64)AT_REMOVEDIR)
		return -EINVAL;
	struct at at;
	int r = at_begin((s32)a[0], a[1], &at);
	if (r < 0)
		return r;
	r = (a[2] & AT_REMOVEDIR) ? vfs_rmdir(at.base, at.path) : vfs_unlink(at.base, at.path);
	at_end(&at);
	return r;
}

long sys_unlink(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], 0 };
	return sys_unlinkat(b);
}

long sys_rmdir(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], AT_REMOVEDIR };
	return sys_unlinkat(b);
}

long sys_renameat2(const u64 a[6])
{
	if (a[4])
		return -EINVAL;   /* RENAME_NOREPLACE, _EXCHANGE, _WHITEOUT: not supported */
	struct at o, n;
	int r = at_begin((s32)a[0], a[1], &o);
	if (r < 0)
		return r;
	r = at_begin((s32)a[2], a[3], &n);
	if (r < 0) {
		at_end(&o);
		return r;
	}
	r = vfs_rename(o.base, o.path, n.base, n.path);
	at_end(&n);
	at_end(&o);
	return r;
}

long sys_renameat(const u64 a[6])
{
	const u64 b[6] = { a[0], a[1], a[2], a[3], 0 };
	return sys_renameat2(b);
}

long sys_rename(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], (u64)(s64)AT_FDCWD, a[1], 0 };
	return sys_renameat2(b);
}

long sys_getcwd(const u64 a[6])
{
	char *buf = kmalloc(VFS_PATH_MAX, 0);
	if (!buf)
		return -ENOMEM;
	struct inode *cwd = proc_cwd();
	long n = vfs_path_of(cwd, buf, VFS_PATH_MAX);
	vfs_iput(cwd);
	if (n > 0 && (u64)n > a[1])
		n = -ERANGE;
	if (n > 0 && copy_to_user(a[0], buf, (size_t)n) < 0)
		n = -EFAULT;
	kfree(buf);
	return n;
}

static long set_cwd(struct inode *ino)
{
	struct vfs_cred c;
	vfs_cred_current(&c);
	int r = !S_ISDIR(ino->mode) ? -ENOTDIR : vfs_permission(&c, ino, MAY_EXEC);
	if (r < 0) {
		vfs_iput(ino);
		return r;
	}
	proc_fs_set_cwd(proc_current()->fs, ino);
	return 0;
}

long sys_chdir(const u64 a[6])
{
	struct at at;
	int r = at_begin(AT_FDCWD, a[0], &at);
	if (r < 0)
		return r;
	struct inode *ino;
	r = vfs_lookup(at.base, at.path, &ino);
	at_end(&at);
	return r < 0 ? r : set_cwd(ino);
}

long sys_fchdir(const u64 a[6])
{
	struct file *f = sys_file(a[0]);
	if (!f)
		return -EBADF;
	struct inode *ino = f->inode;
	long r = -ENOTDIR;
	if (ino) {
		vfs_iget(ino);
		r = set_cwd(ino);
	}
	file_put(f);
	return r;
}

#define R_OK 4
#define W_OK 2
#define X_OK 1

long sys_faccessat2(const u64 a[6])
{
	if (a[2] & ~(u64)(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (a[3] & ~(u64)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct at at;
	int r = at_begin((s32)a[0], a[1], &at);
	if (r < 0)
		return r;
	/* the real ids unless AT_EACCESS, for the walk too (Linux's
	 * access_override_creds) */
	struct proc_cred pc;
	struct vfs_cred c;
	proc_cred_get(proc_current(), &pc);
	proc_vfs_cred(&pc, !(a[3] & AT_EACCESS), &c);
	struct inode *ino;
	r = vfs_lookup_as(&c, at.base, at.path, !(a[3] & AT_SYMLINK_NOFOLLOW), &ino);
	at_end(&at);
	if (r < 0)
		return r;
	if ((a[2] & W_OK) && ino->iops->read_only &&
	    (S_ISREG(ino->mode) || S_ISDIR(ino->mode) || S_ISLNK(ino->mode)))
		r = -EROFS;
	else if (a[2])
		r = vfs_permission(&c, ino, (int)a[2]);   /* R_OK, W_OK, X_OK are MAY_* */
	vfs_iput(ino);
	return r;
}

long sys_faccessat(const u64 a[6])
{
	const u64 b[6] = { a[0], a[1], a[2], 0 };
	return sys_faccessat2(b);
}

long sys_access(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1], 0 };
	return sys_faccessat2(b);
}

long sys_umask(const u64 a[6])
{
	/* one exchange: processes sharing it (CLONE_FS) may race */
	return __atomic_exchange_n(&proc_current()->fs->umask, (u32)a[0] & 0777, __ATOMIC_RELAXED);
}

long sys_readlinkat(const u64 a[6])
{
	if ((s64)a[3] <= 0)
		return -EINVAL;
	struct at at;
	int r = at_begin((s32)a[0], a[1], &at);
	if (r < 0)
		return r;
	char *buf = kmalloc(VFS_PATH_MAX, 0);
	long n = buf ? vfs_readlink(at.base, at.path, buf, MIN(a[3], VFS_PATH_MAX)) : -ENOMEM;
	at_end(&at);
	if (n > 0 && copy_to_user(a[2], buf, (size_t)n) < 0)
		n = -EFAULT;
	kfree(buf);
	return n;
}

long sys_symlinkat(const u64 a[6])
{
	char *target;
	int r = sys_path(a[0], &target);
	if (r < 0)
		return r;
	struct at at;
	r = at_begin((s32)a[1], a[2], &at);
	if (r == 0) {
		r = vfs_symlink(at.base, at.path, target);
		at_end(&at);
	}
	kfree(target);
	return r;
}

long sys_symlink(const u64 a[6])
{
	const u64 b[6] = { a[0], (u64)(s64)AT_FDCWD, a[1] };
	return sys_symlinkat(b);
}

long sys_readlink(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1], a[2] };
	return sys_readlinkat(b);
}

long sys_truncate(const u64 a[6])
{
	struct at at;
	if ((s64)a[1] < 0)
		return -EINVAL;
	int r = at_begin(AT_FDCWD, a[0], &at);
	if (r < 0)
		return r;
	struct inode *ino;
	r = vfs_lookup(at.base, at.path, &ino);
	at_end(&at);
	if (r < 0)
		return r;
	/* Linux's order: the type, a read-only file system, then permission */
	struct vfs_cred c;
	vfs_cred_current(&c);
	if (S_ISDIR(ino->mode))
		r = -EISDIR;
	else if (!S_ISREG(ino->mode))
		r = -EINVAL;
	else if (ino->iops->read_only)
		r = -EROFS;
	else
		r = vfs_permission(&c, ino, MAY_WRITE);
	if (r == 0)
		r = vfs_truncate(ino, a[1]);
	vfs_iput(ino);
	return r;
}

/* ---- link, chmod, utimes ---- */

#define AT_SYMLINK_FOLLOW_ 0x400   /* linkat: follow oldpath if a link */

long sys_linkat(const u64 a[6])
{
	if (a[4] & ~(u64)(AT_SYMLINK_FOLLOW_ | AT_EMPTY_PATH))
		return -EINVAL;
	if (a[4] & AT_EMPTY_PATH)
		return -ENOENT;   /* linking an open file: not supported (root may on Linux) */
	struct at old, new;
	int r = at_begin((s32)a[0], a[1], &old);
	if (r < 0)
		return r;
	r = at_begin((s32)a[2], a[3], &new);
	if (r == 0) {
		r = vfs_link(old.base, old.path, new.base, new.path, a[4] & AT_SYMLINK_FOLLOW_);
		at_end(&new);
	}
	at_end(&old);
	return r;
}

long sys_link(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], (u64)(s64)AT_FDCWD, a[1], 0 };
	return sys_linkat(b);
}

/* The inode a path names (followed unless nofollow); a reference. */
static int inode_at(s32 dirfd, u64 upath, bool nofollow, struct inode **out)
{
	struct at at;
	int r = at_begin(dirfd, upath, &at);
	if (r < 0)
		return r;
	r = nofollow ? vfs_lookup_nofollow(at.base, at.path, out) : vfs_lookup(at.base, at.path, out);
	at_end(&at);
	return r;
}

/* An open descriptor's inode; a reference. */
static int inode_of_fd(s32 fd, struct inode **out)
{
	struct file *f = fd >= 0 ? sys_file((u64)fd) : NULL;
	if (!f)
		return -EBADF;
	int r = f->inode ? 0 : -EPERM;   /* sockets and pipes keep no mode here */
	if (r == 0)
		vfs_iget(*out = f->inode);
	file_put(f);
	return r;
}

static long chmod_inode(struct inode *ino, u64 mode)
{
	long r = vfs_setattr(ino, VFS_SET_MODE, (u32)mode, 0, 0);
	vfs_iput(ino);
	return r;
}

long sys_fchmodat(const u64 a[6])
{
	struct inode *ino;
	int r = inode_at((s32)a[0], a[1], false, &ino);
	return r < 0 ? r : chmod_inode(ino, a[2]);
}

long sys_chmod(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1] };
	return sys_fchmodat(b);
}

long sys_fchmod(const u64 a[6])
{
	struct inode *ino;
	int r = inode_of_fd((s32)a[0], &ino);
	return r < 0 ? r : chmod_inode(ino, a[1]);
}

/* (who may: the VFS's rules, Linux's) */
static long chown_inode(struct inode *ino, u32 uid, u32 gid)
{
	long r = vfs_chown(ino, uid, gid);
	vfs_iput(ino);
	return r;
}

long sys_fchownat(const u64 a[6])
{
	s32 dirfd = (s32)a[0];
	u64 flags = a[4];
	if (flags & ~(u64)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct inode *ino;
	int r;
	if (flags & AT_EMPTY_PATH) {
		char *path;
		r = sys_path(a[1], &path);
		if (r < 0)
			return r;
		bool empty = !path[0];
		kfree(path);
		if (empty) {
			if (dirfd == AT_FDCWD) {
				ino = proc_cwd();
				return chown_inode(ino, (u32)a[2], (u32)a[3]);
			}
			r = inode_of_fd(dirfd, &ino);
			return r < 0 ? r : chown_inode(ino, (u32)a[2], (u32)a[3]);
		}
	}
	r = inode_at(dirfd, a[1], flags & AT_SYMLINK_NOFOLLOW, &ino);
	return r < 0 ? r : chown_inode(ino, (u32)a[2], (u32)a[3]);
}

long sys_chown(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1], a[2], 0 };
	return sys_fchownat(b);
}

long sys_lchown(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW };
	return sys_fchownat(b);
}

long sys_fchown(const u64 a[6])
{
	struct inode *ino;
	int r = inode_of_fd((s32)a[0], &ino);
	return r < 0 ? r : chown_inode(ino, (u32)a[1], (u32)a[2]);
}

#define UTIME_NOW  ((1ll << 30) - 1)
#define UTIME_OMIT ((1ll << 30) - 2)

struct utime_ts {
	s64 sec, nsec;
};

/* times[2] (atime, mtime) as timespecs: which to set and their values in
 * ns; NULL times: both now. */
static int utime_args(const struct utime_ts *ts, unsigned *mask, u64 *at, u64 *mt)
{
	u64 now = arch_realtime_ns();
	u64 v[2];
	*mask = 0;
	/* NULL, or both "now": the owner or anyone who may write (Linux's
	 * ATTR_TOUCH); any other time needs the owner */
	if (!ts || (ts[0].nsec == UTIME_NOW && ts[1].nsec == UTIME_NOW))
		*mask |= VFS_SET_TOUCH;
	for (int i = 0; i < 2; i++) {
		if (!ts) {
			v[i] = now;
		} else if (ts[i].nsec == UTIME_OMIT) {
			v[i] = 0;
			continue;
		} else if (ts[i].nsec == UTIME_NOW) {
			v[i] = now;
		} else if (ts[i].nsec < 0 || ts[i].nsec >= 1000000000 || ts[i].sec < 0) {
			return -EINVAL;   /* times before 1970: not kept (u64 ns) */
		} else {
			v[i] = (u64)ts[i].sec * 1000000000ULL + (u64)ts[i].nsec;
		}
		*mask |= i == 0 ? VFS_SET_ATIME : VFS_SET_MTIME;
	}
	*at = v[0];
	*mt = v[1];
	return 0;
}

static long utimes_common(s32 dirfd, u64 upath, const struct utime_ts *ts, u64 flags)
{
	unsigned mask;
	u64 at, mt;
	int r = utime_args(ts, &mask, &at, &mt);
	if (r < 0)
		return r;
	struct inode *ino;
	r = upath ? inode_at(dirfd, upath, flags & AT_SYMLINK_NOFOLLOW, &ino)
		  : inode_of_fd(dirfd, &ino);   /* futimens: utimensat(fd, NULL, ...) */
	if (r < 0)
		return r == -EPERM && !upath ? -EBADF : r;
	r = mask ? vfs_setattr(ino, mask, 0, at, mt) : 0;
	vfs_iput(ino);
	return r;
}

long sys_utimensat(const u64 a[6])
{
	if (a[3] & ~(u64)AT_SYMLINK_NOFOLLOW)
		return -EINVAL;
	struct utime_ts ts[2];
	if (a[2] && copy_from_user(ts, a[2], sizeof(ts)) < 0)
		return -EFAULT;
	return utimes_common((s32)a[0], a[1], a[2] ? ts : NULL, a[3]);
}

/* futimesat and utimes: struct timeval pairs */
long sys_futimesat(const u64 a[6])
{
	struct utime_ts ts[2];
	if (a[2]) {
		s64 tv[4];
		if (copy_from_user(tv, a[2], sizeof(tv)) < 0)
			return -EFAULT;
		for (int i = 0; i < 2; i++) {
			if (tv[2 * i + 1] < 0 || tv[2 * i + 1] >= 1000000)
				return -EINVAL;
			ts[i] = (struct utime_ts){ tv[2 * i], tv[2 * i + 1] * 1000 };
		}
	}
	if (!a[1])
		return -EFAULT;
	return utimes_common((s32)a[0], a[1], a[2] ? ts : NULL, 0);
}

long sys_utimes(const u64 a[6])
{
	const u64 b[6] = { (u64)(s64)AT_FDCWD, a[0], a[1] };
	return sys_futimesat(b);
}
