/*
 * ext2 and ext3: the on-disk format's logic, over functions that read and
 * write bytes of the disk (a file on the host in the unit tests and the
 * fuzzer, the block layer through a small cache in the kernel:
 * fs/ext2/ext2_vfs.c). This file knows nothing of the VFS. Reading is
 * ext2.c and ext2_dir.c; writing (ext2 without a journal only) is
 * ext2_write.c, described at its functions below.
 *
 * What is read: the superblock and group descriptors (checked at mount),
 * inodes of 128 bytes and more, files through direct, indirect, double and
 * triple indirect blocks (holes read as zeros, sizes past 4 GiB),
 * directories linearly (an htree directory is read linearly too), fast and
 * slow symbolic links, device, FIFO and socket inodes (reported, no data).
 * ext3's journal is replayed by ext2_replay (before ext2_mount, which
 * refuses an image that still needs recovery) and written through by the
 * writer (fs/ext2/jbd2.h).
 * Incompatible features other than filetype and flex_bg are refused at
 * mount with a message naming them. Nothing is written unless
 * ext2_enable_write accepted the image.
 *
 * Corruption: every value read from the disk is checked before it is used
 * (counts against each other and the device's size, block numbers against
 * the file system, directory entries against their block). A bad value
 * gives -EUCLEAN (the file system's structure is wrong) and one log line
 * naming the inode or block, at most EXT2_LOG_MAX lines per mount; a read
 * error of the disk gives -EIO. Lookups and reads are bounded by the sizes
 * checked (a file's block tree has at most 3 levels, a directory is read
 * up to its size), so a loop of block pointers gives wrong bytes at worst,
 * never an endless walk; an indirect block naming itself or the
 * superblock's area is refused.
 *
 * Concurrency: none here. A struct ext2_fs is used by one thread at a time
 * (the kernel's mount holds its lock around every call).
 */
#ifndef FS_EXT2_H
#define FS_EXT2_H

#include "kernel/lib/types.h"

#ifndef EUCLEAN
#define EUCLEAN 117   /* Linux's "Structure needs cleaning" */
#endif

#define EXT2_LOG_MAX 20           /* corruption messages per mount, then a count */
#define EXT2_MAX_GROUPS (1u << 20)

/* Read len bytes at byte off of the disk into buf: 0 or -EIO. The caller
 * of ext2 guarantees off + len <= the device size it gave at mount. */
typedef int (*ext2_read_fn)(void *ctx, u64 off, void *buf, size_t len);
/* Write len bytes at byte off: 0 or -EIO (ext2_enable_write). */
typedef int (*ext2_write_fn)(void *ctx, u64 off, const void *buf, size_t len);
/* several writes at once */
struct ext2_wvec {
	u64 off;
	const void *buf;
	size_t len;
};
typedef int (*ext2_writev_fn)(void *ctx, const struct ext2_wvec *v, unsigned n);

struct ext2_fs {
	ext2_read_fn read;
	void *ctx;
	u64 dev_bytes;
	char name[16];            /* for messages: "vda", "test" */
	/* from the superblock, checked */
	u32 block_size;
	u32 blocks_count, inodes_count, first_data_block;
	u32 blocks_per_group, inodes_per_group, groups;
	u32 inode_size, first_ino, rev;
	u32 compat, incompat, ro_compat;
	u16 state;
	u32 journal_inum;
	char label[17];
	u8 uuid[16];
	u32 *inode_table;         /* per group: its inode table's first block */
	u32 ptrs_per_block;       /* block_size / 4 */
	u64 max_file_size;        /* what the block tree addresses */
	u8 *dirbuf;               /* the directory block last read (block_size bytes) */
	u32 dirbuf_block;         /* its disk block, 0 for none */
	bool quiet;               /* a look-ahead: its errors are not counted or logged */
	/* writing (ext2_enable_write; NULL: read-only) */
	ext2_write_fn write;
	/* file data (ext2_data_write), if the caller has a faster way for it
	 * than write (straight from the caller's buffer to the disk); NULL:
	 * write */
	ext2_write_fn write_data;
	/* whole blocks to several places at once (the journal's home writes,
	 * which the disk may then do together); NULL: one by one */
	ext2_writev_fn write_many;
	s64 (*now)(void);         /* seconds since 1970 for timestamps, or NULL (0) */
	u32 free_blocks, free_inodes;   /* the superblock's counts (kept up to date when writing) */
	u32 r_blocks;             /* blocks only root may take (statfs: not available) */
	u8 *gdt;                  /* the group descriptors (groups * GD_SIZE bytes) */
	u8 *bitmap;               /* a bitmap block being changed (block_size bytes) */
	u8 *zero;                 /* block_size zero bytes (new blocks are zeroed) */
	u32 goal;                 /* where the next block search starts */
	u8 *bitmap_home;          /* ext3: a block bitmap as committed (block_size bytes) */
	/* ext3 (fs/ext2/jbd2.h): the journal, loaded by ext2_enable_write or
	 * ext2_replay; flush makes the disk's writes durable (set by the
	 * caller before ext2_enable_write; required for ext3) */
	int (*flush)(void *ctx);
	/* ordered data: the caller's file data that a transaction maps but
	 * the disk does not have yet goes there now (a commit calls it
	 * first; a caller that writes data at once leaves it NULL) */
	int (*data_out)(void *ctx);
	struct jbd2 *journal;
	bool recovering;          /* ext2_replay's own mount of an image needing recovery */
	/* ext3's orphan list (fs/ext2/ext2_orphan.c): inodes whose last link
	 * went while they were open, oldest first (the superblock's
	 * s_last_orphan names the newest, each inode's i_dtime the one before) */
	u32 *orphans;
	u32 norphans, orphans_cap;
	u32 orphans_freed, orphans_truncated;   /* by the cleanup at mount */
	/* counters */
	u64 corrupt;              /* -EUCLEAN returned */
	u64 io_errors;            /* -EIO from the disk */
	u64 logged;               /* messages printed */
};

/* Journal states for messages and the `mount` REPL command. */
const char *ext2_journal_state(const struct ext2_fs *fs);

/* An inode, as read and checked. Times are seconds since 1970 and
 * nanoseconds (0 for 128-byte inodes). */
struct ext2_inode {
	u32 ino;
	u32 mode;                 /* S_IF* | permissions */
	u32 uid, gid;
	u32 links;
	u32 flags;
	u64 size;
	u64 blocks;               /* 512-byte units */
	s64 atime, mtime, ctime;
	u32 atime_ns, mtime_ns, ctime_ns;
	u32 rdev;                 /* device inodes: major << 8 | minor (as fs/vfs.h's MKDEV) */
	u32 block[15];
	u32 file_acl;
};

/* Read and check the superblock and group descriptors. On a refusal, msg
 * (msgsize bytes) says why in one line: a feature Caboose does not
 * support (named), a journal needing recovery, or a corrupt field. Returns
 * 0, -EINVAL (not ext2: no magic), -EOPNOTSUPP (a feature refused),
 * -EUCLEAN (corrupt), -EIO, -ENOMEM. */
int ext2_mount(struct ext2_fs *fs, ext2_read_fn read, void *ctx, u64 dev_bytes,
	       const char *name, char *msg, size_t msgsize);
void ext2_unmount(struct ext2_fs *fs);

/* The names of the features set in the superblock, space-separated, into
 * buf (cut at size): "has_journal ext_attr resize_inode dir_index filetype
 * sparse_super large_file". */
void ext2_feature_names(const struct ext2_fs *fs, char *buf, size_t size);

/* Inode ino, checked: 0, -EUCLEAN (out of range, not in use, a mode or
 * size that cannot be, extents or inline data), -EIO. */
int ext2_iget(struct ext2_fs *fs, u32 ino, struct ext2_inode *out);

/* The disk block holding block lblk of the file, or 0 for a hole. */
int ext2_bmap(struct ext2_fs *fs, const struct ext2_inode *in, u64 lblk, u32 *pblk);

/* Up to len bytes of a regular file (or a slow link, a directory) from
 * off into buf: the count (short only at the end of the file), or an
 * error. */
long ext2_read(struct ext2_fs *fs, const struct ext2_inode *in, u64 off, void *buf, size_t len);

/* A symbolic link's target, NUL-terminated, into buf of size bytes (at
 * least the link's size + 1): its length, or an error. */
long ext2_readlink(struct ext2_fs *fs, const struct ext2_inode *in, char *buf, size_t size);

/* One directory entry. */
struct ext2_dirent {
	u32 ino;
	u32 type;                 /* S_IF* of the entry's type, or 0 if the disk does not say */
	u32 name_len;
	char name[256];           /* NUL-terminated */
};

/* The entry at or after byte *off of directory dir (skipping unused
 * entries), advancing *off past it: 1 (an entry), 0 (the end), or an
 * error (a corrupt entry: -EUCLEAN). "." and ".." are returned as on disk. */
int ext2_dir_next(struct ext2_fs *fs, const struct ext2_inode *dir, u64 *off,
		  struct ext2_dirent *de);

/* The inode number of name (len bytes) in dir: 0, -ENOENT, or an error. */
int ext2_lookup(struct ext2_fs *fs, const struct ext2_inode *dir, const char *name, size_t len,
		u32 *ino);

/* S_IF* of a directory entry's file type byte, or 0. */
u32 ext2_ft_mode(u8 ft);

/* If the image is marked needs_recovery, replay its journal (fs/ext2/
 * jbd2.h) through write, flush, and clear the mark: 0 (nothing to do, or
 * replayed: *replayed transactions), or an error with msg (-EUCLEAN for a
 * malformed journal, -EOPNOTSUPP for a journal feature not supported; in
 * both cases nothing was written). Call it before ext2_mount. */
int ext2_replay(ext2_read_fn read, ext2_write_fn write, int (*flush)(void *ctx), void *ctx,
		u64 dev_bytes, const char *name, char *msg, size_t msgsize, u32 *replayed);

/* ---- writing (fs/ext2/ext2_write.c) ----
 * ext2 images are written through at once; ext3 images (has_journal)
 * through their journal in ordered-data mode (fs/ext2/jbd2.h: metadata in
 * transactions, file data first); ext2_enable_write processes an ext3 image's orphan list (left by a crash
 * of Caboose or Linux: inodes without links are freed, inodes with links
 * cut to their size) and commits that before it returns; a corrupt list
 * (an inode out of range or free, a loop) leaves the image read-only
 * (-EROFS, msg: run e2fsck). It refuses an image with
 * a journal feature it does not support, with checksummed metadata
 * (uninit_bg, metadata_csum) or other ro_compat features it does not keep
 * right (-EROFS), naming the reason in msg. Without a journal, every
 * change is written through the write function at once, in an order that
 * leaves the bitmaps claiming at least what the inodes use (a crash in the
 * middle leaks blocks at worst; e2fsck reclaims them). The group descriptors'
 * and the superblock's free counts are kept right. Directories are
 * changed as Linux's ext2 does: a new entry takes the room at the end of
 * an entry (or an unused one), else a new block; a removed entry is
 * merged into the one before it (rec_len), or zeroed first in its block.
 * A directory with an htree index loses its index flag when changed (it
 * stays readable linearly, as e2fsck and Linux accept).
 * Errors: -ENOSPC (no block or inode; nothing is left half-made: what was
 * allocated for the call is freed again), -ENAMETOOLONG, -EEXIST,
 * -ENOENT, -ENOTEMPTY, -EFBIG, -EROFS, -EUCLEAN, -EIO. Inode structs
 * given are updated in place and on disk. */
int ext2_enable_write(struct ext2_fs *fs, ext2_write_fn write, char *msg, size_t msgsize);
/* Write len bytes at off of a regular file (extending it, holes left
 * where nothing was written): the count, short only when the disk filled
 * (then -ENOSPC if nothing was written). */
long ext2_write(struct ext2_fs *fs, struct ext2_inode *in, u64 off, const void *buf, size_t len);
/* Write-back's half of ext2_write (the kernel's page cache holds the
 * bytes and writes them later, with ext2_data_write or its own requests,
 * before the transaction that maps them commits): map [off, off + len) of
 * a regular file, allocating the blocks missing, and grow the size to
 * cover it. A new block past the old end is not zeroed on the disk unless
 * zero (the caller writes whole blocks only when a block is no bigger
 * than its page); a hole inside the file is. The count mapped from off,
 * short only when the disk filled (then -ENOSPC if nothing was). */
long ext2_write_alloc(struct ext2_fs *fs, struct ext2_inode *in, u64 off, size_t len, bool zero);
/* A write after ext2_write_alloc that got only to byte end: the blocks
 * past the old end and past end are freed (nobody wrote them: they hold
 * the disk's old bytes) and the size goes back to what was written. */
int ext2_write_undo(struct ext2_fs *fs, struct ext2_inode *in, u64 old_size, u64 end);
/* Bytes of file data written to the disk by the caller itself at off:
 * the journal's and the reader's copies of those blocks get them too. */
void ext2_data_written(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
/* Set a regular file's size: shrinking frees the blocks past it. */
int ext2_truncate(struct ext2_fs *fs, struct ext2_inode *in, u64 size);
/* A new inode of mode (S_IF* | permissions; a directory gets "." and "..",
 * a link its target) linked as name in dir: into *out. */
int ext2_create(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		u32 mode, u32 rdev, const char *link_target, struct ext2_inode *out);
/* A hard link to in (not a directory) as name in dir. */
int ext2_link(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
	      struct ext2_inode *in);
/* Remove name (inode child, looked up by the caller) from dir: a file
 * loses a link, an empty directory all of them (-ENOTEMPTY otherwise).
 * The inode's blocks stay until ext2_evict (an open file keeps them); on
 * ext3 an inode left without links goes on the orphan list in the same
 * transaction, so a crash before ext2_evict leaves it for the cleanup at
 * the next mount (ext2_enable_write) or e2fsck to free. */
int ext2_unlink(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		struct ext2_inode *child);
/* Free the blocks and the inode of an inode without links (ext3: and take
 * it off the orphan list, in the same transaction). */
int ext2_evict(struct ext2_fs *fs, struct ext2_inode *in);
/* Move oname of odir (inode src) to nname of ndir, replacing dst (the
 * inode nname names, or NULL; a directory must be empty). The caller
 * checked types and loops (the VFS does). A replaced inode that lost its
 * last link is left for ext2_evict. */
int ext2_rename(struct ext2_fs *fs, struct ext2_inode *odir, const char *oname, size_t olen,
		struct ext2_inode *src, struct ext2_inode *ndir, const char *nname, size_t nlen,
		struct ext2_inode *dst);
/* Each call above is one operation; after it, the caller calls
 * ext2_op_end, which commits the journal's transaction when it is due
 * (old or large; nothing for ext2). ext2_sync commits it and marks the
 * journal clean (sync, unmount; ext2: a flush); ext2_fsync only makes
 * everything so far durable (fsync: the commit, whose log, commit block
 * and home writes are each flushed; needs_recovery stays set, as Linux
 * leaves it while mounted; ext2: a flush). */
int ext2_op_end(struct ext2_fs *fs);
int ext2_sync(struct ext2_fs *fs);
int ext2_fsync(struct ext2_fs *fs);
/* Set the mode's permission bits, or the times (seconds), and write the inode. */
int ext2_setattr(struct ext2_fs *fs, struct ext2_inode *in, u32 mode, s64 atime, s64 mtime);
/* Set the owner, the group and the mode (whole), and write the inode. */
int ext2_chown(struct ext2_fs *fs, struct ext2_inode *in, u32 uid, u32 gid, u32 mode);
/* Write the inode's fields (mode, ids, links, size, blocks, times, block map). */
int ext2_iput_disk(struct ext2_fs *fs, const struct ext2_inode *in);

/* The kernel (fs/ext2/ext2_vfs.c): mount every disk of the block layer
 * that holds ext2 or ext3, read-only, at /mnt/<disk> (boot, after the
 * disks are probed and the VFS is up). A disk without ext2 is left alone;
 * one that is refused is logged with the reason. */
void ext2_boot(void);

#endif
