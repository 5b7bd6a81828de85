/*
 * The directory cache: (directory, name) -> the inode a lookup found
 * there, or "no such entry" (a negative entry), so that a path walk asks
 * the file system only the first time. Used by the VFS's path walk
 * (fs/vfs.c step()) for directories whose file system says its names
 * change only through the VFS (inode_ops.dcache: the RAM file system,
 * ext2/ext3; not /proc, whose entries come and go with processes).
 *
 * Ownership: an entry holds no reference. A positive entry names an inode
 * that is linked there; every VFS call that changes a name forgets it
 * (dcache_forget after link, unlink, rename), and a directory that goes
 * away takes its entries with it (dcache_forget_dir), before its memory
 * can be reused. At most DCACHE_MAX entries: the least recently used goes.
 *
 * Locks: everything under the namespace lock (vfs_ns_lock). Lookups that
 * take no lock (RCU readers with a namespace sequence count, DESIGN
 * principle 8) are the next step: entries would then be freed after a
 * grace period, inodes too.
 */
#ifndef FS_DCACHE_H
#define FS_DCACHE_H

#include "kernel/lib/types.h"

struct inode;

#define DCACHE_MAX 16384

/* 0 and *out: a positive entry; -ENOENT: a negative one; 1: not cached */
int dcache_lookup(struct inode *dir, const char *name, size_t len, struct inode **out);
/* What the file system's lookup answered: ino, or NULL for -ENOENT */
void dcache_add(struct inode *dir, const char *name, size_t len, struct inode *ino);
void dcache_forget(struct inode *dir, const char *name, size_t len);
/* dir goes away: every entry in it */
void dcache_forget_dir(struct inode *dir);

struct dcache_stats {
	u64 entries, negative, max;
	u64 hits, negative_hits, misses;
	u64 added, forgotten, evicted;
};
void dcache_stats(struct dcache_stats *out);

#endif
