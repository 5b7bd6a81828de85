/*
 * REPL commands over the VFS:
 *
 *   mount        what is mounted where: source, type, options and the file
 *                system's state (an ext3 disk's journal)
 *   ls PATH      a directory's entries with type, inode, size and mode (or
 *                one file's line)
 *   stat PATH    an inode (not following a last symbolic link): type, mode,
 *                links, owner, size, blocks, device, times, a link's target
 *   cat PATH     the first KiB of a file, bytes outside printable ASCII as \xNN
 *   dcache       the directory cache: entries (negative ones), hits,
 *                negative hits, misses, added, forgotten, evicted, path
 *                walks without a lock and with it
 *   pagecache    the page cache's pages, limit, hits and misses, what it
 *                added, evicted and let go of, pages lent out now
 *
 * Paths are absolute (from the root). ls, stat and cat take the namespace
 * lock and may read a disk, so they refuse to run while the machine is
 * frozen (a frozen thread may hold the lock; the disk's completion threads
 * would not run).
 */
#include "fs/dcache.h"
#include "fs/pagecache.h"
#include "fs/vfs.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/repl/repl.h"
#include "kernel/sched/sched.h"

REPL_CMD("mount", cmd_mount, "", "mounted file systems: source, where, type, options, state");
static int cmd_mount(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "mounts", "source path type options state:s");
	const struct vfs_mount_info *mi;
	for (int i = 0; (mi = vfs_mount_at(i)); i++) {
		const char *cells[] = { mi->source, mi->path, mi->type, mi->options,
					mi->state[0] ? mi->state : "-" };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

static int usable(struct repl_out *o, int argc, char **argv)
{
	if (argc != 2)
		return repl_error(o, -EINVAL, "usage: %s PATH", argv[0]);
	if (argv[1][0] != '/')
		return repl_error(o, -EINVAL, "%s: the path must be absolute", argv[1]);
	if (sched_frozen())
		return repl_error(o, -EBUSY, "the machine is frozen: thaw first (the namespace lock "
				  "and disk I/O need other threads)");
	return 0;
}

static char type_char(u32 mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case 0060000: return 'b';
	case S_IFIFO: return 'p';
	case 0140000: return 's';
	default: return '-';
	}
}

static const char *type_name(u32 mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symbolic link";
	case S_IFCHR: return "character device";
	case 0060000: return "block device";
	case S_IFIFO: return "fifo";
	case 0140000: return "socket";
	case S_IFREG: return "regular file";
	default: return "unknown";
	}
}

#define LS_BATCH 32

struct ls_batch {
	int n;
	struct { char name[VFS_NAME_MAX + 1]; u64 ino; u32 mode; } e[LS_BATCH];
};

static bool ls_fill(void *arg, const char *name, size_t len, u64 ino, u32 mode)
{
	struct ls_batch *b = arg;
	if (b->n == LS_BATCH)
		return false;
	len = MIN(len, (size_t)VFS_NAME_MAX);
	memcpy(b->e[b->n].name, name, len);
	b->e[b->n].name[len] = '\0';
	b->e[b->n].ino = ino;
	b->e[b->n].mode = mode;
	b->n++;
	return true;
}

static void ls_row(struct repl_out *o, const char *name, u64 ino, u32 mode, u64 size)
{
	char t[2] = { type_char(mode), 0 }, in[24], sz[24], md[12];
	ksnprintf(in, sizeof(in), "%llu", (unsigned long long)ino);
	ksnprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	ksnprintf(md, sizeof(md), "%04o", mode & 07777);
	const char *cells[] = { t, md, in, sz, name };
	repl_row(o, cells);
}

REPL_CMD("df", cmd_df, "",
	 "mounted file systems' space: block size, blocks, free, available, inodes, free inodes "
	 "(zeros: a RAM file system, which keeps no counts)");
static int cmd_df(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (sched_frozen())
		return repl_error(o, -EBUSY, "the machine is frozen: thaw first (the namespace lock "
				  "needs other threads)");
	struct inode *root = vfs_root();
	repl_table_begin(o, "df", "path type bsize:n:6 blocks:n:10 free:n:10 avail:n:10 "
			 "inodes:n:9 ifree:n:9");
	const struct vfs_mount_info *mi;
	for (int i = 0; (mi = vfs_mount_at(i)); i++) {
		struct vfs_statfs v = { 0 };
		struct inode *ino;
		if (vfs_lookup(root, mi->path, &ino) == 0) {
			if (ino->iops && ino->iops->statfs)
				ino->iops->statfs(ino, &v);
			vfs_iput(ino);
		}
		u64 nums[6] = { v.bsize, v.blocks, v.bfree, v.bavail, v.files, v.ffree };
		char cell[6][24];
		const char *cells[8] = { mi->path, mi->type };
		for (int k = 0; k < 6; k++) {
			ksnprintf(cell[k], sizeof(cell[k]), "%llu", (unsigned long long)nums[k]);
			cells[k + 2] = cell[k];
		}
		repl_row(o, cells);
	}
	repl_table_end(o);
	vfs_iput(root);
	return 0;
}

REPL_CMD("ls", cmd_ls, "PATH", "a directory's entries: type, mode, inode, size, name");
static int cmd_ls(struct repl_out *o, int argc, char **argv)
{
	int r = usable(o, argc, argv);
	if (r)
		return r;
	struct inode *root = vfs_root();
	struct file *f;
	r = vfs_open(root, argv[1], O_RDONLY, 0, &f);
	if (r < 0) {
		vfs_iput(root);
		return repl_error(o, r, "%s: error %d", argv[1], r);
	}
	struct ls_batch *b = kmalloc(sizeof(*b), 0);
	if (!b) {
		file_put(f);
		vfs_iput(root);
		return repl_error(o, -ENOMEM, "no memory");
	}
	repl_table_begin(o, "ls", "type mode ino:n size:n name:s");
	if (!S_ISDIR(f->inode->mode)) {
		ls_row(o, argv[1], f->inode->ino, f->inode->mode, f->inode->size);
	} else {
		for (;;) {
			b->n = 0;
			r = vfs_readdir(f, ls_fill, b);
			if (r < 0 || b->n == 0)
				break;
			for (int i = 0; i < b->n; i++) {
				/* size and mode: look the entry up (outside
				 * readdir's lock); the entry's type if that fails */
				struct inode *c;
				u64 size = 0;
				u32 mode = b->e[i].mode;
				if (vfs_lookup_nofollow(f->inode, b->e[i].name, &c) == 0) {
					size = c->size;
					mode = c->mode;
					vfs_iput(c);
				}
				ls_row(o, b->e[i].name, b->e[i].ino, mode, size);
			}
		}
	}
	repl_table_end(o);
	kfree(b);
	file_put(f);
	vfs_iput(root);
	if (r < 0)
		return repl_error(o, r, "%s: reading the directory: error %d", argv[1], r);
	return 0;
}

static void kv_time(struct repl_out *o, const char *key, u64 ns)
{
	char t[32];
	ksnprintf(t, sizeof(t), "%llu.%09llu", (unsigned long long)(ns / 1000000000),
		  (unsigned long long)(ns % 1000000000));
	repl_kv_str(o, key, t);
}

REPL_CMD("stat", cmd_stat, "PATH", "an inode: type, mode, links, owner, size, blocks, times");
static int cmd_stat(struct repl_out *o, int argc, char **argv)
{
	int r = usable(o, argc, argv);
	if (r)
		return r;
	struct inode *root = vfs_root();
	struct inode *ino;
	r = vfs_lookup_nofollow(root, argv[1], &ino);
	if (r < 0) {
		vfs_iput(root);
		return repl_error(o, r, "%s: error %d", argv[1], r);
	}
	char mode[12], target[256];
	ksnprintf(mode, sizeof(mode), "%04o", ino->mode & 07777);
	long tl = S_ISLNK(ino->mode) ? vfs_readlink(root, argv[1], target, sizeof(target) - 1) : 0;
	repl_obj_begin(o, "stat");
	repl_kv_str(o, "path", argv[1]);
	repl_kv_str(o, "type", type_name(ino->mode));
	repl_kv_str(o, "mode", mode);
	repl_kv_u64(o, "ino", ino->ino);
	repl_kv_u64(o, "links", ino->nlink);
	repl_kv_u64(o, "uid", ino->uid);
	repl_kv_u64(o, "gid", ino->gid);
	repl_kv_u64(o, "size", ino->size);
	repl_kv_u64(o, "blocks", ino->dev ? ino->blocks : (ino->size + 511) / 512);
	repl_kv_u64(o, "dev", ino->dev);
	if (S_ISCHR(ino->mode) || (ino->mode & S_IFMT) == 0060000) {
		repl_kv_u64(o, "rdev_major", (ino->rdev >> 8) & 0xfff);
		repl_kv_u64(o, "rdev_minor", (ino->rdev & 0xff) | ((ino->rdev >> 12) & 0xfff00));
	}
	kv_time(o, "mtime", ino->mtime_ns);
	kv_time(o, "ctime", ino->ctime_ns);
	kv_time(o, "atime", ino->dev ? ino->atime_ns : ino->mtime_ns);
	if (S_ISLNK(ino->mode)) {
		if (tl >= 0) {
			target[tl] = '\0';
			repl_kv_str(o, "target", target);
		} else {
			repl_kv_str(o, "target", "(unreadable)");
		}
	}
	repl_obj_end(o);
	vfs_iput(ino);
	vfs_iput(root);
	return 0;
}

#define CAT_MAX 1024

REPL_CMD("cat", cmd_cat, "PATH", "the first KiB of a file (other bytes than printable ASCII "
	 "as \\xNN)");
static int cmd_cat(struct repl_out *o, int argc, char **argv)
{
	int r = usable(o, argc, argv);
	if (r)
		return r;
	struct inode *root = vfs_root();
	struct file *f;
	r = vfs_open(root, argv[1], O_RDONLY, 0, &f);
	vfs_iput(root);
	if (r < 0)
		return repl_error(o, r, "%s: error %d", argv[1], r);
	u8 *buf = kmalloc(CAT_MAX, 0);
	char *text = kmalloc(CAT_MAX * 4 + 1, 0);
	long n = -ENOMEM;
	if (buf && text) {
		u64 pos = 0;
		struct uio u = { (u64)(uptr)buf, CAT_MAX, false };
		n = vfs_read(f, &u, &pos);
	}
	if (n >= 0) {
		size_t at = 0;
		for (long i = 0; i < n; i++) {
			u8 c = buf[i];
			if ((c >= ' ' && c <= '~' && c != '\\') || c == '\n' || c == '\t')
				text[at++] = (char)c;
			else
				at += (size_t)ksnprintf(text + at, 5, "\\x%02x", c);
		}
		text[at] = '\0';
		repl_obj_begin(o, "cat");
		repl_kv_str(o, "path", argv[1]);
		repl_kv_u64(o, "bytes", (u64)n);
		repl_kv_u64(o, "size", f->inode ? f->inode->size : 0);
		repl_kv_str(o, "text", text);
		repl_obj_end(o);
	}
	kfree(buf);
	kfree(text);
	file_put(f);
	if (n < 0)
		return repl_error(o, (int)n, "%s: reading: error %ld", argv[1], n);
	return 0;
}

REPL_CMD("pagecache", cmd_pagecache, "",
	 "the page cache: pages, limit, hits, misses, added, evicted (clock or memory pressure), "
	 "dropped (by writes and truncates), changed in place by writes, lent (held by packets "
	 "or readers now), dirty (written, not on the disk yet), under write-back now, written "
	 "back since boot, lent pages a write copied instead of changing, reclaim calls");
static int cmd_pagecache(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (sched_frozen())
		return repl_error(o, -EBUSY, "the machine is frozen: thaw first (a frozen CPU may "
				  "hold the page cache's lock)");
	struct pcache_stats st;
	pcache_stats(&st);
	repl_obj_begin(o, "pagecache");
	repl_kv_u64(o, "pages", st.pages);
	repl_kv_u64(o, "limit", st.limit);
	repl_kv_u64(o, "hits", st.hits);
	repl_kv_u64(o, "misses", st.misses);
	repl_kv_u64(o, "added", st.added);
	repl_kv_u64(o, "evicted", st.evicted);
	repl_kv_u64(o, "dropped", st.dropped);
	repl_kv_u64(o, "written_in_place", st.written_in_place);
	repl_kv_u64(o, "lent", st.lent);
	repl_kv_u64(o, "dirty", st.dirty);
	repl_kv_u64(o, "writeback", st.writeback);
	repl_kv_u64(o, "written_back", st.written_back);
	repl_kv_u64(o, "write_copies", st.write_copies);
	repl_kv_u64(o, "reclaims", st.reclaims);
	repl_obj_end(o);
	return 0;
}

REPL_CMD("dcache", cmd_dcache, "",
	 "the directory cache: entries, negative entries, most kept, hits, negative hits, misses, "
	 "added, forgotten (names changed, directories removed), evicted (CLOCK), path walks "
	 "done without a lock and those that took the namespace lock, freed entries seen (0)");
static int cmd_dcache(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct dcache_stats st;
	dcache_stats(&st);   /* counters read without the lock: a moment's view */
	repl_obj_begin(o, "dcache");
	repl_kv_u64(o, "entries", st.entries);
	repl_kv_u64(o, "negative", st.negative);
	repl_kv_u64(o, "max", st.max);
	repl_kv_u64(o, "hits", st.hits);
	repl_kv_u64(o, "negative_hits", st.negative_hits);
	repl_kv_u64(o, "misses", st.misses);
	repl_kv_u64(o, "added", st.added);
	repl_kv_u64(o, "forgotten", st.forgotten);
	repl_kv_u64(o, "evicted", st.evicted);
	repl_kv_u64(o, "lock_free_walks", st.rcu_walks);
	repl_kv_u64(o, "locked_walks", st.locked_walks);
	repl_kv_u64(o, "freed_seen", st.freed_seen);
	repl_obj_end(o);
	return 0;
}
