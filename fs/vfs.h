/*
 * The VFS: inodes with an operations table, open files, path names.
 *
 * Objects and ownership:
 *   struct inode  a file, directory or device node of some file system.
 *                 Counted references (vfs_iget/vfs_iput); a directory entry
 *                 does not count as one but as a link (nlink): the file
 *                 system frees an inode when both reach zero. Its
 *                 operations table (struct inode_ops) is what another file
 *                 system (the storage issue's, #14) implements; the RAM file
 *                 system (fs/memfs.c) is the first.
 *   struct file   an open file: an inode or a pipe end (later a socket)
 *                 with its position, flags and its own operations table
 *                 (struct file_ops). Counted references (file_get/file_put);
 *                 the descriptor tables of processes hold them, and the last
 *                 put calls ops->release.
 *
 * Names: absolute or relative to a directory inode the caller holds (the
 * process's working directory, or a descriptor's for the *at calls). "."
 * and ".." are understood; symbolic links are followed (up to
 * VFS_LINKS_MAX in one lookup: -ELOOP), but not as the last component of
 * unlink, rmdir, rename, lstat and readlink; a name component is at most VFS_NAME_MAX bytes (-ENAMETOOLONG),
 * a path at most VFS_PATH_MAX with its NUL.
 *
 * Data moves through a struct uio: one buffer in user memory (copied
 * through arch_copy_user, so a bad pointer gives a short count or -EFAULT,
 * never a fault) or in the kernel (exec reading a program, tests).
 *
 * Locks, in order: vfs_ns_lock (a mutex: the whole namespace, every
 * directory's entries, nlink, the cwd names) before an inode's lock (its
 * data and size). Every change of a name holds the namespace lock; a
 * lookup first walks the directory cache (fs/dcache.h) with no lock at all
 * (RCU, DESIGN principle 8) and takes the lock only for what is not cached
 * there (then it asks the file system). A walk without the lock sees each
 * name as it was at some moment during the walk, as Linux's does; one
 * with the lock sees the whole path at one moment.
 *
 * No failure in the middle (DESIGN principle 7): each call that creates
 * something allocates it before it takes the namespace lock and changes
 * nothing when that fails; a file write allocates the bigger buffer before
 * it moves a byte.
 */
#ifndef FS_VFS_H
#define FS_VFS_H

#include "kernel/sync/rcu.h"
#include "kernel/sync/sync.h"

#define VFS_NAME_MAX 255
#define VFS_PATH_MAX 4096

/* mode bits, as Linux (and POSIX) encode them */
#define S_IFMT   0170000
#define S_IFDIR  0040000
#define S_IFCHR  0020000
#define S_IFREG  0100000
#define S_IFIFO  0010000
#define S_IFBLK  0060000
#define S_IFLNK  0120000
#define S_ISUID  0004000
#define S_ISGID  0002000
#define S_ISVTX  0001000
#define S_IXGRP  0000010
#define S_IXUGO  0000111
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISCHR(m) (((m) & S_IFMT) == S_IFCHR)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
#define S_ISFIFO(m) (((m) & S_IFMT) == S_IFIFO)
#define S_ISBLK(m) (((m) & S_IFMT) == S_IFBLK)
#define VFS_LINKS_MAX 40   /* symbolic links followed in one lookup (-ELOOP) */

/* open flags (Linux x86-64 values) */
#define O_ACCMODE   0003
#define O_RDONLY    00
#define O_WRONLY    01
#define O_RDWR      02
#define O_CREAT     0100
#define O_EXCL      0200
#define O_NOCTTY    0400
#define O_TRUNC     01000
#define O_APPEND    02000
#define O_NONBLOCK  04000
#define O_DSYNC     010000
#define O_DIRECT    040000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW  0400000
#define O_NOATIME   01000000
#define O_ASYNC     020000   /* taken and reported; SIGIO is not sent (logged) */
#define O_CLOEXEC   02000000
#define O_SYNC      04010000
#define O_PATH      010000000
#define O_TMPFILE   020200000

#define POLLIN   0x001
#define POLLPRI  0x002
#define POLLOUT  0x004
#define POLLERR  0x008
#define POLLHUP  0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLWRNORM 0x100

#define MKDEV(ma, mi) (((u32)(ma) << 8) | (u32)(mi))
#define MAJOR(d) ((d) >> 8)
#define MINOR(d) ((d) & 0xff)

struct inode;
struct file;

/* Where bytes go to or come from. */
struct uio {
	u64 addr;      /* a user address, or a kernel pointer when !user */
	size_t len;
	bool user;
};
/* Move up to n bytes between the uio's buffer (advanced) and kernel memory.
 * Returns the bytes moved; fewer than asked only on a bad user pointer. */
size_t uio_to(struct uio *u, const void *src, size_t n);     /* a read's result */
size_t uio_from(struct uio *u, void *dst, size_t n);         /* a write's data */

/* readdir's callback: one entry; returns false to stop (no room). */
typedef bool (*vfs_filldir_t)(void *arg, const char *name, size_t len, u64 ino, u32 mode);

/* statfs(2)'s numbers of a mounted file system (inode_ops.statfs) */
struct vfs_statfs {
	u32 magic;                   /* Linux's f_type: EXT2_SUPER_MAGIC, ... */
	u32 bsize;                   /* block size in bytes */
	u64 blocks, bfree, bavail;   /* blocks in all, free, free for users */
	u64 files, ffree;            /* inodes in all, free */
	u32 fsid[2];
};

struct inode_ops {
	/* directories; the namespace lock is held for all of them. lookup
	 * returns the child without a reference (valid while the lock is held) */
	int (*lookup)(struct inode *dir, const char *name, size_t len, struct inode **out);
	/* link a new inode made by the RAM file system (the VFS's template: a
	 * disk file system makes its own inode of the template's mode, link
	 * target and rdev, and leaves the template unlinked), or, for a hard
	 * link, an inode of this file system */
	int (*link)(struct inode *dir, const char *name, size_t len, struct inode *child);
	int (*unlink)(struct inode *dir, const char *name, size_t len);
	/* move an entry; the VFS checked types, emptiness and loops */
	int (*rename)(struct inode *odir, const char *oname, size_t olen,
		      struct inode *ndir, const char *nname, size_t nlen);
	/* entries from *pos on ("." and ".." first), advancing *pos */
	int (*readdir)(struct inode *dir, u64 *pos, vfs_filldir_t fill, void *arg);
	/* a new inode of this file system (not yet linked), or NULL */
	struct inode *(*alloc)(struct inode *dir, u32 mode, u32 rdev);
	/* regular files: set the size (under the inode's lock); memory for a
	 * bigger size is taken before anything changes */
	int (*truncate)(struct inode *ino, u64 size);
	/* symbolic links: the target (NUL ended, valid while [ns] is held) */
	const char *(*get_link)(struct inode *ino);
	/* the target if it is in memory already, inside rcu_read_lock with no
	 * lock held (valid until rcu_read_unlock), else NULL; NULL op: never */
	const char *(*get_link_rcu)(struct inode *ino);
	/* last reference and last link gone ([ns] held); a file system with
	 * .dcache frees the inode's memory (and its link target) only after
	 * an RCU grace period (call_rcu on inode.rcu): lock-free walks may
	 * still be reading it */
	void (*destroy)(struct inode *ino);
	/* chmod and utimes: the permission bits (a VFS_SET_* mask says which
	 * of mode, atime, mtime are given) reach the file system's inode and
	 * the struct inode; ctime becomes now. NULL: -EPERM */
	int (*setattr)(struct inode *ino, unsigned mask, u32 mode, u64 atime_ns, u64 mtime_ns);
	/* own_access: may the caller do what its ids were refused anyway?
	 * (/proc's fd directory of the caller's own process, as Linux's
	 * proc_fd_permission.) NULL: no */
	bool (*own_access)(const struct inode *ino);
	/* chown: the owner, the group and the mode (the VFS cleared the
	 * set-id bits chown clears) reach the inode; ctime becomes now.
	 * NULL: -EPERM */
	int (*chown)(struct inode *ino, u32 uid, u32 gid, u32 mode);
	/* a mounted file system's root: everything written so far made
	 * durable (sync(2), and before QEMU exits); NULL: nothing to do */
	int (*sync)(struct inode *fsroot);
	/* fsync(2) of a file whose file_ops have none (a directory): its
	 * changes so far (names made, removed, renamed in it) made durable;
	 * NULL: nothing to do (the RAM file system) */
	int (*fsync)(struct inode *ino);
	/* any inode of a mounted file system: its counts for statfs(2) and
	 * the REPL's df; NULL: the RAM file system's (no counts) */
	int (*statfs)(struct inode *ino, struct vfs_statfs *out);
	/* a read-only file system: the VFS refuses every change with -EROFS
	 * before it calls link, unlink, rename or truncate */
	bool read_only;
	/* names change only through link, unlink and rename above, and a
	 * lookup's answer stays right until then: the VFS keeps its answers
	 * in the directory cache (fs/dcache.h). false: asked every time
	 * (/proc) */
	bool dcache;
};

struct inode {
	int refs;                    /* [atomic]; VFS_INODE_DEAD once destroyed */
	u64 ino;
	u32 mode;                    /* type and permissions */
	u32 nlink;                   /* [ns] */
	u32 rdev;                    /* device nodes: MKDEV(major, minor) */
	u64 size;                    /* [lock] */
	u64 mtime_ns, ctime_ns;      /* [lock] */
	struct mutex lock;
	const struct inode_ops *iops;
	const struct file_ops *fops; /* how an open of it reads and writes */
	struct inode *parent;        /* [ns] directories: the one that holds it */
	char *name;                  /* [ns] directories: its name there (getcwd) */
	void *priv;                  /* the file system's */
	/* what stat reports besides; a disk file system sets dev (0: the RAM
	 * file system, whose blocks stat computes from the size and whose
	 * atime is its mtime) */
	u32 uid, gid;
	u32 dev;                     /* st_dev */
	u64 blocks;                  /* 512-byte units, when dev != 0 */
	u64 atime_ns;                /* when dev != 0 */
	/* mounts ([ns]): a directory covered by a file system's root names
	 * that root; the root names the directory it covers */
	struct inode *mounted;
	struct inode *covers;
	struct pipe *fifo;           /* [lock] a FIFO's pipe while it is open (fs/pipe.c) */
	struct rcu_head rcu;         /* the file system's deferred free */
};

/* refs of an inode destroyed: vfs_iget_unless_dead refuses it */
#define VFS_INODE_DEAD (-0x40000000)

#define FILE_WAITQS_MAX 4
struct waitq;
struct page;
struct pipe;

struct file_ops {
	/* pos: the file's position, or pread's; NULL for a stream */
	long (*read)(struct file *f, struct uio *u, u64 *pos);
	long (*write)(struct file *f, struct uio *u, u64 *pos);
	void (*release)(struct file *f);
	/* poll: the POLL* events ready now; NULL: always readable and writable */
	unsigned (*poll)(struct file *f);
	/* waitqs: the wait queues woken whenever readiness may have changed,
	 * into out[0..FILE_WAITQS_MAX); how many. NULL: none (epoll then
	 * looks at the file at every wait and every few milliseconds) */
	int (*waitqs)(struct file *f, struct waitq **out);
	/* async_waitqs: the queues whose wakeups are the file's O_ASYNC
	 * events (Linux's kill_fasync: data to read, room to write, a
	 * hang-up), in the same form; NULL: waitqs */
	int (*async_waitqs)(struct file *f, struct waitq **out);
	/* fsync/fdatasync: what was written reaches stable storage; NULL:
	 * nothing to do (RAM files) */
	int (*fsync)(struct file *f);
	/* ioctl: a device's requests (FIONBIO is the VFS's); NULL: every
	 * request is -ENOTTY */
	long (*ioctl)(struct file *f, unsigned cmd, u64 arg);
	/* page_ref: zero-copy sendfile's source. The page holding byte off,
	 * with a reference taken for the caller, *pg_off where that byte is
	 * in it and *len how many of the file's bytes follow it in the page
	 * (0: off is at or past the end). -EOPNOTSUPP where no page holds
	 * them (a hole): the caller copies. NULL: the caller always copies */
	int (*page_ref)(struct file *f, u64 off, struct page **pg, u32 *pg_off, u32 *len);
	/* map_page: a shared mapping's page (mmap MAP_SHARED): the file's
	 * own page holding bytes [idx * PAGE_SIZE, +PAGE_SIZE), a reference
	 * taken for the caller and PG_FMAPPED set on it under the lock that
	 * orders the file's writes, so that every later write changes this
	 * page in place and the mapping sees it. May sleep (a disk read).
	 * -ENXIO: the page starts at or past the end (SIGBUS); -EOPNOTSUPP:
	 * no page holds them (only when !write: the caller maps zeros).
	 * write: the mapping may write it: a file system with blocks
	 * allocates them now. NULL: MAP_SHARED of the file is -ENODEV */
	int (*map_page)(struct file *f, u64 idx, bool write, struct page **pg);
	/* map_writers: a shared mapping that may write the file's pages came
	 * (+1; no lock taken: called under the address space's spinlock) or
	 * went (-1; its pages are unmapped already; may sleep). A file
	 * system with write-back keeps the file's mapped pages dirty while
	 * any such mapping exists. NULL: nothing to do (RAM files) */
	void (*map_writers)(struct file *f, int delta);
	/* open: a device's check when a node of it is opened (called with
	 * the namespace lock held: no sleeping); an error fails the open.
	 * NULL: none */
	int (*open)(struct file *f);
	u32 stat_mode;               /* files with no inode: fstat's type (S_IFIFO if 0) */
	bool seekable;               /* lseek and pread/pwrite make sense */
	bool seek_noop;              /* lseek succeeds and leaves the position at 0 */
};

struct file {
	int refs;                    /* [atomic] */
	unsigned flags;              /* [atomic] O_ACCMODE, O_APPEND, O_NONBLOCK, ... */
	u64 pos;                     /* [pos_lock] bytes, or a directory's cursor (a FIFO reader's: fs/pipe.c) */
	struct mutex pos_lock;
	struct inode *inode;         /* a reference, or NULL (pipes) */
	const struct file_ops *ops;
	void *priv;                  /* the ops' (a pipe, a socket) */
	int owner;                   /* [atomic] F_SETOWN's pid (negative: a group) */
	int sigio;                   /* [atomic] F_SETSIG's signal (0: SIGIO) */
	void *async;                 /* [the system-call layer's] O_ASYNC's watches, or NULL */
	struct list_node ep_links;   /* [the epoll layer's lock] epoll entries watching it */
};

void vfs_iget(struct inode *ino);
/* A reference on an inode found without the namespace lock (a lock-free
 * walk, inside rcu_read_lock): false if it was destroyed meanwhile. */
bool vfs_iget_unless_dead(struct inode *ino);
void vfs_iput(struct inode *ino);
/* A new open file of ops (reference count 1), or NULL. */
struct file *file_alloc(const struct file_ops *ops, unsigned flags);
static inline void file_get(struct file *f) { __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED); }
void file_put(struct file *f);

/* Boot: the root of the RAM file system, populated from the initial
 * archive (fs/ramfs.h), with /dev/{console,null,zero,urandom}. */
void vfs_init(void);
/* The root directory (a reference). */
struct inode *vfs_root(void);

/* Name-space calls; base is the directory relative names start from.
 * Errors as Linux gives them (-ENOENT, -ENOTDIR, -EEXIST, -EISDIR,
 * -ENOTEMPTY, -EINVAL, -ENAMETOOLONG, -ENOMEM, -EBUSY). */
int vfs_open(struct inode *base, const char *path, unsigned flags, u32 mode, struct file **out);
/* The inode a path names (a reference). */
int vfs_lookup(struct inode *base, const char *path, struct inode **out);
/* The same without following a symbolic link as the last component. */
int vfs_lookup_nofollow(struct inode *base, const char *path, struct inode **out);
/* A symbolic link at path to target. */
int vfs_symlink(struct inode *base, const char *path, const char *target);
/* A link's target into buf (not NUL ended, cut at size): its length, or
 * -EINVAL (not a link), or a lookup error. */
long vfs_readlink(struct inode *base, const char *path, char *buf, size_t size);
int vfs_mkdir(struct inode *base, const char *path, u32 mode);
/* A node of mode's type (regular, character or block device, FIFO,
 * socket); device nodes are root's to make (-EPERM). Opening a block
 * device is not supported yet (-ENXIO, logged). */
int vfs_mknod(struct inode *base, const char *path, u32 mode, u32 rdev);
int vfs_unlink(struct inode *base, const char *path);
int vfs_rmdir(struct inode *base, const char *path);
int vfs_rename(struct inode *obase, const char *opath, struct inode *nbase, const char *npath);
/* The absolute path of a directory into buf; its length with the NUL, or
 * -ERANGE (too small), -ENOENT (removed). */
long vfs_path_of(struct inode *dir, char *buf, size_t size);

/* Open files */
long vfs_read(struct file *f, struct uio *u, u64 *pos);
long vfs_write(struct file *f, struct uio *u, u64 *pos);
/* Entries of an open directory from its cursor on. */
int vfs_readdir(struct file *f, vfs_filldir_t fill, void *arg);
/* For a file system's readdir: "." (position 0) and ".." (position 1, the
 * directory itself at a root) from *pos on; false when `fill` had no room.
 * The file system's own entries then start at position 2. */
bool vfs_fill_dots(struct inode *dir, u64 *pos, vfs_filldir_t fill, void *arg);
int vfs_truncate(struct inode *ino, u64 size);
#define VFS_SET_MODE  1u
#define VFS_SET_ATIME 2u
#define VFS_SET_MTIME 4u
#define VFS_SET_TOUCH 8u   /* utimes to "now" (NULL times): owner or writer may */
/* chmod/utimes of ino: -EROFS on a read-only file system, -EPERM where
 * the file system keeps no such attributes (procfs). The caller's
 * credentials: chmod and explicit times need its owner (or root: -EPERM);
 * VFS_SET_TOUCH the owner or write permission (-EACCES); chmod by other
 * than root drops S_ISGID when the file's group is not one of the
 * caller's. */
int vfs_setattr(struct inode *ino, unsigned mask, u32 mode, u64 atime_ns, u64 mtime_ns);
/* A new owner and group ((u32)-1: keep), with Linux's clearing of the
 * set-user-ID bit (and of set-group-ID on group-executable files) for
 * anything but a directory. Linux's rules for who may: root anything;
 * the owner only the group, to one of its groups; nobody else anything
 * (-EPERM). 0, -EPERM (not allowed, or the file system cannot), -EROFS,
 * -EIO. */
int vfs_chown(struct inode *ino, u32 uid, u32 gid);
/* link(2): a new name npath for what opath names (followed if follow),
 * on the same file system (-EXDEV), not a directory (-EPERM) */
int vfs_link(struct inode *obase, const char *opath, struct inode *nbase, const char *npath,
	     bool follow);

/* ---- permissions (fs/perm.c) ----
 *
 * Who is asking: the file-system ids of the caller (Linux's fsuid and
 * fsgid, which follow the effective ids: Caboose has no setfsuid), its
 * supplementary groups, and whether it is privileged (effective uid 0:
 * Linux's CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID
 * and CAP_CHOWN, as for root there). Each name-space call takes the
 * caller's credentials once at entry (vfs_cred_current) and checks them
 * at every step as Linux's fs/namei.c does: search (x) on every directory
 * a path walks through, write and search on a directory that gains or
 * loses an entry (with the sticky-bit rule), read/write on what open
 * opens, execute on what exec runs, ownership for chmod, chown and
 * utimes. Kernel threads (no process) act as root. */
#define VFS_NGROUPS 32
struct vfs_cred {
	u32 uid, gid;                /* fsuid, fsgid */
	bool priv;                   /* root's capabilities */
	int ngroups;
	u32 groups[VFS_NGROUPS];
};
#define MAY_EXEC  1
#define MAY_WRITE 2
#define MAY_READ  4
/* Set by the process layer at boot: the calling thread's credentials
 * into *out; false when it is no process's (a kernel thread: root). */
extern bool (*vfs_cred_hook)(struct vfs_cred *out);
/* The calling thread's credentials (root's for a kernel thread). */
void vfs_cred_current(struct vfs_cred *out);
/* Root's credentials (uid 0, gid 0, privileged). */
void vfs_cred_root(struct vfs_cred *out);
/* Linux's generic_permission: may c do mask (MAY_*) to ino? The owner's
 * bits if c owns it, else the group's if c is in its group, else the
 * others'; a privileged caller may read and write anything and search
 * any directory, and execute a file with at least one x bit. 0 or
 * -EACCES. (-EROFS for a write to a read-only file system is the
 * callers': it comes first.) */
int vfs_permission(const struct vfs_cred *c, const struct inode *ino, int mask);
/* Is gid c's fsgid or one of its supplementary groups? */
bool vfs_in_group(const struct vfs_cred *c, u32 gid);
/* Does c own ino, or may act as if it did (CAP_FOWNER)? */
bool vfs_owner_or_priv(const struct vfs_cred *c, const struct inode *ino);
/* The lookup of vfs_lookup (follow) or vfs_lookup_nofollow as c (access(2)
 * asks with the real ids). */
int vfs_lookup_as(const struct vfs_cred *c, struct inode *base, const char *path, bool follow,
		  struct inode **out);
/* The lock-free walk alone (tests): -EAGAIN where vfs_lookup_as would have
 * taken the namespace lock. */
int vfs_lookup_rcu_only(const struct vfs_cred *c, struct inode *base, const char *path,
			bool follow, struct inode **out);
/* Open for reading a regular file already looked up (Linux's
 * dentry_open): no second walk, and nothing but a regular file is ever
 * opened, so no FIFO waits and no device is touched. c must be allowed to
 * read it (-EACCES); not a regular file: -EINVAL. On success the open file
 * takes over the caller's reference to ino (file_put drops it); on
 * failure the caller keeps it. 0, -EACCES, -EINVAL, -ENXIO, -ENOMEM. */
int vfs_open_inode(const struct vfs_cred *c, struct inode *ino, unsigned flags,
		   struct file **out);
/* exec's open: what path names, for reading its bytes, if c may execute
 * it (a directory or a file without permission: -EACCES; not readable is
 * no reason to refuse, as on Linux). */
int vfs_open_exec(struct inode *base, const char *path, struct file **out);

/* Whole file into a kernel buffer (exec): the bytes, or NULL; *size. The
 * caller kfree()s it. -ENOEXEC style errors through *err. */
u8 *vfs_read_all(struct file *f, size_t max, size_t *size, int *err);

/* Directories opened for getdents (any file system's, /proc's too). */
extern const struct file_ops vfs_dir_fops;

/* Devices behind character nodes (fs/dev.c): the file ops of a node's
 * rdev, or NULL (-ENXIO on open). */
const struct file_ops *dev_fops(u32 rdev);
/* The ops for later opens of /dev/console and /dev/ttyS0 (the tty, once
 * it is up; before, the raw device and -ENXIO). */
void dev_set_console_ops(const struct file_ops *console, const struct file_ops *ttys0,
			 const struct file_ops *tty);
#define DEV_CONSOLE MKDEV(5, 1)
#define DEV_NULL    MKDEV(1, 3)
#define DEV_ZERO    MKDEV(1, 5)
#define DEV_URANDOM MKDEV(1, 9)
#define DEV_TTYS0   MKDEV(4, 64)
#define DEV_TTY     MKDEV(5, 0)   /* the opener's controlling terminal */

/* Pipes (fs/pipe.c): the two ends, each with one reference. A write with
 * no reader left returns -EPIPE (the caller raises SIGPIPE). */
int pipe_create(unsigned flags, struct file **rd, struct file **wr);
/* An open of the FIFO ino: f (its access mode and O_NONBLOCK set) joins
 * the inode's pipe: 0, -ENXIO (O_WRONLY|O_NONBLOCK with no reader) or
 * -ENOMEM. Then, with no lock held, fifo_wait waits for the other side as
 * Linux's open does: 0 or -EINTR (the caller puts f). */
int fifo_open(struct inode *ino, struct file *f);
int fifo_wait(struct file *f);
/* An eventfd (fs/eventfd.c) counting from initval; O_NONBLOCK of flags
 * taken. 0 and *out (one reference), or -ENOMEM. */
int eventfd_create(u64 initval, bool semaphore, unsigned flags, struct file **out);

/* Set by the process layer at boot: does the calling thread have a signal
 * to take, so that a blocking read or write should give up (-EINTR)? */
extern bool (*vfs_interrupted)(void);
/* Set by the system-call layer at boot (epoll): called from file_put
 * when the last reference goes and epoll entries still watch the file
 * (ep_links not empty), before ops->release; it must drop them. */
extern void (*vfs_file_unwatch)(struct file *f);
/* Set by the system-call layer at boot (O_ASYNC): called from file_put
 * when the last reference goes and the file has async watches, before
 * ops->release; it must drop them. */
extern void (*vfs_file_async_end)(struct file *f);
#define S_IFSOCK 0140000

/* Mounts. The root of a file system (fsroot, with its own inode_ops)
 * covers the directory at path (made, with its parents, when missing and
 * "/" is the RAM root; on a disk root it must exist: -ENOENT): a
 * lookup that reaches that directory continues at fsroot, and ".." of
 * fsroot leads to the directory's parent. The mount holds a reference to
 * both for good (no unmount yet). Returns 0, -EBUSY (already covered, or
 * the root), -ENOTDIR, -ENOSPC (VFS_MOUNTS_MAX), -ENOMEM, or a lookup
 * error. info strings are copied (cut at their fields' sizes). */
#define VFS_MOUNTS_MAX 8
struct vfs_mount_info {
	char path[64];               /* where */
	char source[16];             /* "vda" */
	char type[8];                /* "ext3" */
	char options[24];            /* "ro" */
	char state[128];             /* the file system's own words (its journal) */
};
/* root=/dev/vdX: fsroot becomes "/" (info->path is ignored), before any
 * other mount and before any program runs (boot). The RAM root stays
 * behind it, reachable only through its /dev, which is mounted over the
 * new root's /dev (a disk without a /dev directory gets none: logged;
 * nothing is made on the disk).
 * Returns 0 or -EBUSY (a root was mounted already, a mount stands on the
 * RAM root, fsroot is no directory). */
int vfs_mount_root(struct inode *fsroot, const struct vfs_mount_info *info);
/* The disk the command line's root= names ("vda"), or NULL: the RAM root
 * stays "/". */
const char *vfs_root_disk(void);
int vfs_mount(struct inode *fsroot, const struct vfs_mount_info *info);
/* The i-th mount (0 is the RAM root), or NULL past the last. Mounts are
 * never removed: the pointer stays valid. */
const struct vfs_mount_info *vfs_mount_at(int i);
/* sync(2): every mount's sync op in turn (no VFS lock held): 0 or the
 * first error. */
int vfs_sync_all(void);

/* Counters the REPL shows: open files and inodes alive. */
u64 vfs_files_alive(void);
u64 vfs_inodes_alive(void);

#endif
