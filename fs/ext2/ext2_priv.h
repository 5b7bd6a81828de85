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
/* Read from the disk, checked against its size: 0, -EIO or -EUCLEAN. */
int ext2_dev_read(struct ext2_fs *fs, u64 off, void *buf, size_t len);

#endif
