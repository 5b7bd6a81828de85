/*
 * ext3's orphan list, as Linux's ext3/ext4 keep it on the disk
 * (Documentation/filesystems/ext4: the superblock's s_last_orphan, 0xE8,
 * names the newest orphan; an orphan's i_dtime names the one before it;
 * 0 ends the list). An orphan is an inode whose last link went while it
 * was still open: it goes on the list in the transaction of the unlink or
 * rename that took the link, and comes off in the transaction that frees
 * it (ext2_evict), so a crash in between leaves it listed, and the next
 * read-write mount (or e2fsck) frees it instead of leaking it. A listed
 * inode that still has links (Linux's truncate in progress) is cut to its
 * size at mount; Caboose's own truncates are one transaction each and
 * never listed.
 *
 * In memory, fs->orphans holds the list oldest first (the last entry is
 * the superblock's head), so taking an inode off finds its neighbour
 * without reading the chain from the disk. Only journaled images keep the
 * list (as Linux: without a journal there is no transaction to tie it
 * to); on ext2 every function here does nothing.
 */
#include "fs/ext2/jbd2.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

/* The longest list the mount's cleanup walks (the check for a loop is
 * quadratic); a longer one leaves the image read-only for e2fsck. */
#define EXT2_ORPHAN_MAX 16384

int ext2_orphan_room(struct ext2_fs *fs)
{
	if (!fs->journal || fs->norphans < fs->orphans_cap)
		return 0;
	u32 cap = fs->orphans_cap ? fs->orphans_cap * 2 : 16;
	u32 *a = kmalloc((size_t)cap * sizeof(u32), 0);
	if (!a)
		return -ENOMEM;
	if (fs->norphans)
		memcpy(a, fs->orphans, (size_t)fs->norphans * sizeof(u32));
	kfree(fs->orphans);
	fs->orphans = a;
	fs->orphans_cap = cap;
	return 0;
}

static long find(const struct ext2_fs *fs, u32 ino)
{
	for (u32 i = fs->norphans; i-- > 0;)
		if (fs->orphans[i] == ino)
			return (long)i;
	return -1;
}

static int put_head(struct ext2_fs *fs, u32 ino)
{
	u8 v[4];
	put32(v, ino);
	return ext2_dev_write(fs, EXT2_SB_OFFSET + SB_LAST_ORPHAN, v, 4);
}

int ext2_orphan_add(struct ext2_fs *fs, u32 ino)
{
	if (!fs->journal || find(fs, ino) >= 0)
		return 0;
	int r = ext2_orphan_room(fs);
	if (r == 0)
		r = put_head(fs, ino);
	if (r == 0)
		fs->orphans[fs->norphans++] = ino;
	return r;
}

bool ext2_orphan_next(const struct ext2_fs *fs, u32 ino, u32 *next)
{
	long i = find(fs, ino);
	if (i < 0)
		return false;
	*next = i > 0 ? fs->orphans[i - 1] : 0;
	return true;
}

int ext2_orphan_del(struct ext2_fs *fs, u32 ino)
{
	long i = find(fs, ino);
	if (i < 0)
		return 0;
	u32 next = i > 0 ? fs->orphans[i - 1] : 0;
	int r;
	if ((u32)i == fs->norphans - 1) {
		r = put_head(fs, next);
	} else {
		/* the newer neighbour's link skips ino */
		u8 v[4];
		put32(v, next);
		r = ext2_dev_write(fs, ext2_inode_off(fs, fs->orphans[i + 1]) + IN_DTIME, v, 4);
	}
	if (r < 0)
		return r;
	memmove(&fs->orphans[i], &fs->orphans[i + 1],
		(size_t)(fs->norphans - (u32)i - 1) * sizeof(u32));
	fs->norphans--;
	return 0;
}

/* Is inode ino marked in use in its group's bitmap? 1, 0 or an error. */
static int in_use(struct ext2_fs *fs, u32 ino)
{
	u32 g = (ino - 1) / fs->inodes_per_group, bit = (ino - 1) % fs->inodes_per_group;
	u8 v;
	int r = ext2_dev_read(fs, (u64)le32(fs->gdt + (size_t)g * GD_SIZE + GD_INODE_BITMAP) *
				      fs->block_size + bit / 8, &v, 1);
	return r < 0 ? r : !!(v & (1u << (bit % 8)));
}

/* Read the list from the disk into fs->orphans (oldest first), checking
 * each inode: 0, -ENOMEM, -EIO, or -EUCLEAN with msg. Nothing written. */
static int walk(struct ext2_fs *fs, u32 head, char *msg, size_t msgsize)
{
	fs->norphans = 0;
	for (u32 ino = head; ino;) {
		const char *why = NULL;
		struct ext2_inode in;
		int r = 0;
		if (ino < fs->first_ino || ino > fs->inodes_count)
			why = "out of range";
		else if (find(fs, ino) >= 0 || fs->norphans >= EXT2_ORPHAN_MAX)
			why = "met twice (a loop) or past the longest list walked";
		else if ((r = ext2_iget_orphan(fs, ino, &in)) < 0)
			why = r == -EIO ? NULL : "unreadable";
		else if ((r = in_use(fs, ino)) == 0)
			why = "free in its bitmap";
		if (r < 0 && !why) {
			if (r != -EUCLEAN)
				return r;
			why = "unreadable";
		}
		if (why) {
			ksnprintf(msg, msgsize, "the orphan list is corrupt at inode %u (%s): "
				  "read-only (run e2fsck)", ino, why);
			ext2_complain(fs, -EUCLEAN, "orphan list: inode %u %s", ino, why);
			fs->norphans = 0;
			return -EUCLEAN;
		}
		if ((r = ext2_orphan_room(fs)) < 0)
			return r;
		fs->orphans[fs->norphans++] = ino;
		u8 v[4];
		if ((r = ext2_dev_read(fs, ext2_inode_off(fs, ino) + IN_DTIME, v, 4)) < 0)
			return r;
		ino = le32(v);
	}
	for (u32 i = 0; i < fs->norphans / 2; i++) {
		u32 t = fs->orphans[i];
		fs->orphans[i] = fs->orphans[fs->norphans - 1 - i];
		fs->orphans[fs->norphans - 1 - i] = t;
	}
	return 0;
}

/* The head of the list: freed (no links) or cut to its size. */
static int release(struct ext2_fs *fs, u32 ino)
{
	struct ext2_inode in;
	int r = ext2_iget_orphan(fs, ino, &in);
	if (r < 0)
		return r;
	if (in.links == 0) {
		if ((r = ext2_evict(fs, &in)) == 0)
			fs->orphans_freed++;
		return r;
	}
	if (EXT2_S_ISREG(in.mode))
		r = ext2_free_blocks_from(fs, &in, (in.size + fs->block_size - 1) / fs->block_size);
	if (r == 0)
		r = ext2_orphan_del(fs, ino);
	if (r == 0)
		r = ext2_iput_disk(fs, &in);
	if (r == 0)
		fs->orphans_truncated++;
	return r;
}

int ext2_orphan_cleanup(struct ext2_fs *fs, char *msg, size_t msgsize)
{
	if (!fs->journal)
		return 0;
	u8 v[4];
	int r = ext2_dev_read(fs, EXT2_SB_OFFSET + SB_LAST_ORPHAN, v, 4);
	if (r < 0 || le32(v) == 0) {
		if (r < 0)
			ksnprintf(msg, msgsize, "reading the orphan list's head (error %d)", r);
		return r;
	}
	if ((r = walk(fs, le32(v), msg, msgsize)) < 0) {
		if (r == -EUCLEAN)
			return -EROFS;
		ksnprintf(msg, msgsize, "reading the orphan list (error %d)", r);
		return r;
	}
	u32 n = fs->norphans;
	/* newest first, as Linux; each one is a transaction's worth at most,
	 * so a long list of big files commits in pieces, each consistent */
	while (r == 0 && fs->norphans) {
		r = release(fs, fs->orphans[fs->norphans - 1]);
		if (r == 0)
			r = ext2_op_end(fs);
	}
	if (r == 0)
		r = ext2_sync(fs);
	if (r < 0) {
		ksnprintf(msg, msgsize, "processing the orphan list failed (error %d)", r);
		return r;
	}
	pr_info("ext2 %s: orphan list: %u inode(s): %u freed, %u truncated to their size",
		fs->name, n, fs->orphans_freed, fs->orphans_truncated);
	return 0;
}
