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
 * (dcache_forget after link, unlink, rename), a directory that goes
 * away takes its entries with it (dcache_forget_dir), and an inode its
 * file system evicts takes the entries that name it (dcache_forget_dead). At most DCACHE_MAX
 * entries: CLOCK over a list, a looked-up entry gets a second chance.
 *
 * Locks: changes under the namespace lock (vfs_ns_lock). Lookups come two
 * ways: dcache_lookup under that lock, and dcache_lookup_rcu inside
 * rcu_read_lock with no lock at all (the VFS's lock-free walk, DESIGN
 * principle 8). Entries never change once published: a name change
 * removes the old entry and a later walk adds a new one. A removed entry
 * is freed after an RCU grace period, and so is every inode a dcache'd
 * file system destroys (its iops->destroy uses call_rcu), so a lock-free
 * walker only ever reads memory that is live or in its grace period; it
 * takes a reference on the inode it ends at with vfs_iget_unless_dead,
 * which fails on one already destroyed (the walk then takes the lock).
 */
#ifndef FS_DCACHE_H
#define FS_DCACHE_H

#include "kernel/lib/types.h"

struct inode;

#define DCACHE_MAX 16384

/* 0 and *out: a positive entry; -ENOENT: a negative one; 1: not cached */
int dcache_lookup(struct inode *dir, const char *name, size_t len, struct inode **out);
/* The hash of (dir, name), which the lock-free walk computes while it
 * scans the name for its end: begin with dir, one step a byte, end. */
static inline u64 dcache_hash_begin(const struct inode *dir)
{
	return 0xcbf29ce484222325ull ^ ((u64)(uptr)dir >> 4);
}
static inline u64 dcache_hash_step(u64 h, char c) { return (h ^ (u8)c) * 0x100000001b3ull; }
static inline u32 dcache_hash_end(u64 h) { return (u32)(h ^ (h >> 32)); }
/* dcache_lookup inside rcu_read_lock, no lock held, with the name's hash:
 * 0 and *out, -ENOENT, or 1 */
int dcache_lookup_rcu(struct inode *dir, const char *name, size_t len, u32 hash,
		      struct inode **out);
/* What the file system's lookup answered: ino, or NULL for -ENOENT */
void dcache_add(struct inode *dir, const char *name, size_t len, struct inode *ino);
void dcache_forget(struct inode *dir, const char *name, size_t len);
/* dir goes away: every entry in it */
void dcache_forget_dir(struct inode *dir);
/* Every positive entry whose inode is dead (evicted: vfs_evict_begin) */
void dcache_forget_dead(void);

struct dcache_stats {
	u64 entries, negative, max;
	u64 hits, negative_hits, misses;   /* hits: with or without the lock */
	u64 added, forgotten, evicted;
	/* whole path walks: finished without a lock; handed to the locked
	 * walk (a name not cached, a file system without the cache, a link
	 * whose target is not in memory, an inode destroyed meanwhile) */
	u64 rcu_walks, locked_walks;
	u64 freed_seen;   /* entries found already freed: must stay 0 */
};
void dcache_stats(struct dcache_stats *out);
/* Tests only: spins between finding an entry and reading it (0) */
extern u32 dcache_test_dwell;
/* The VFS counts each walk (per CPU, no shared line written) */
void dcache_count_walk(bool lockless);

#endif
