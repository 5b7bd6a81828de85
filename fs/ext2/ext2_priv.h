/* Inside fs/ext2/: what the superblock, inode and directory code share. */
#ifndef FS_EXT2_PRIV_H
#define FS_EXT2_PRIV_H

#include "fs/ext2/ext2.h"
#include "fs/ext2/ext2_fmt.h"

#include <stdarg.h>

#define EXT2_LINK_MAX 4096   /* a link's target with its NUL (the VFS's VFS_PATH_MAX) */

/* Count an error of the disk (-EIO) or its structure (-EUCLEAN), log it
 * (up to EXT2_LOG_MAX lines a mount) and return err. */
int ext2_complain(struct ext2_fs *fs, int err, const char *fmt, ...) __printf(3, 4);
/* A refusal of a mount or a journal: the message into msg, -EUCLEAN
 * counted as corruption (-EIO is counted where it happened:
 * ext2_complain), and err back. */
int ext2_refuse(struct ext2_fs *fs, int err, char *msg, size_t msgsize, const char *fmt, ...)
	__printf(5, 6);
/* Read from the disk, checked against its size: 0, -EIO or -EUCLEAN. */
int ext2_dev_read(struct ext2_fs *fs, u64 off, void *buf, size_t len);

/* Write to the disk, checked against its size: 0, -EIO or -EUCLEAN.
 * A write over the directory block in fs->dirbuf (from elsewhere than
 * dirbuf itself) drops it from there. */
int ext2_dev_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
/* The disk block of file block lblk, allocated (zeroed, with the indirect
 * blocks on its way) when missing; the inode's block map and count change
 * in *in only (the caller writes the inode). */
int ext2_map_alloc(struct ext2_fs *fs, struct ext2_inode *in, u64 lblk, u32 *pblk);
s64 ext2_now(struct ext2_fs *fs);
/* A write of file data: to the disk at once, around the journal (ordered
 * data: it lands before the transaction that points at it commits). */
int ext2_data_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
/* ext2_mount, or with recovering ext2_replay's mount of an image that
 * needs recovery (nothing but the journal may be trusted before replay). */
int ext2_mount_any(struct ext2_fs *fs, ext2_read_fn read, void *ctx, u64 dev_bytes,
		   const char *name, char *msg, size_t msgsize, bool recovering);
/* Raw disk writes and the cache flush for the journal (jbd2_recover.c). */
int jbd2_raw_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
int jbd2_flush(struct ext2_fs *fs);
void jbd2_free(struct ext2_fs *fs);
void jbd2_overlay(struct ext2_fs *fs, u64 off, void *buf, size_t len);
/* The committed state only: the copies of the last commit not home yet. */
void jbd2_overlay_committed(struct ext2_fs *fs, u64 off, void *buf, size_t len);
int jbd2_meta_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
void jbd2_data_written(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
int jbd2_forget(struct ext2_fs *fs, u32 b);
int jbd2_load(struct ext2_fs *fs, char *msg, size_t msgsize);
int jbd2_start(struct ext2_fs *fs, char *msg, size_t msgsize);
/* ext2_iget of an inode that may have no links (on the orphan list) */
int ext2_iget_orphan(struct ext2_fs *fs, u32 ino, struct ext2_inode *out);
/* Where inode ino is on the disk. */
u64 ext2_inode_off(const struct ext2_fs *fs, u32 ino);
/* Free the file blocks of in from file block keep on (in's map and count
 * change in *in only). */
int ext2_free_blocks_from(struct ext2_fs *fs, struct ext2_inode *in, u64 keep);
/* The orphan list (ext2_orphan.c; ext3 only, no-ops without a journal).
 * ext2_orphan_room before a call that may add one (no change on -ENOMEM);
 * ext2_orphan_add puts ino at the head (the superblock); the inode's own
 * i_dtime is written by ext2_iput_disk, which asks ext2_orphan_next for
 * it; ext2_orphan_del takes ino off (its neighbour's i_dtime or the
 * superblock), nothing if it is not on the list. */
int ext2_orphan_room(struct ext2_fs *fs);
int ext2_orphan_add(struct ext2_fs *fs, u32 ino);
bool ext2_orphan_next(const struct ext2_fs *fs, u32 ino, u32 *next);
int ext2_orphan_del(struct ext2_fs *fs, u32 ino);
/* At mount (ext2_enable_write): process the list on the disk, commit. */
int ext2_orphan_cleanup(struct ext2_fs *fs, char *msg, size_t msgsize);
/* Directory entries (ext2_dir.c) */
int ext2_dir_add(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		 u32 ino, u32 mode);
int ext2_dir_remove(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len);
int ext2_dir_set(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		 u32 ino, u32 mode);
/* 1 if the directory holds nothing but "." and "..", 0, or an error */
int ext2_dir_is_empty(struct ext2_fs *fs, const struct ext2_inode *dir);

#endif
