/* Inside fs/: what the VFS, the RAM file system, devices and pipes share. */
#ifndef FS_VFS_PRIV_H
#define FS_VFS_PRIV_H

#include "fs/vfs.h"

/* The namespace lock (vfs.h "Locks"). */
extern struct mutex vfs_ns_lock;
/* Free an inode whose references and links are both gone ([ns] held or
 * the inode unreachable). */
void vfs_maybe_destroy(struct inode *ino);
void vfs_inode_born(void);
void vfs_inode_died(void);
static inline bool vfs_signalled(void) { return vfs_interrupted && vfs_interrupted(); }
/* A page of zeros (holes of files, /dev/zero). */
extern const u8 vfs_zero_page[PAGE_SIZE];

/* memfs.c: the RAM file system */
#define MEMFS_FILE_MAX (256UL << 20)   /* a file's size: 256 MiB */
extern const struct file_ops memfs_file_fops;
struct inode *memfs_new_root(void);
/* Let a new regular file read size bytes from data (never freed). */
void memfs_borrow(struct inode *ino, const u8 *data, size_t size);
/* Give a new symbolic link its target (copied): 0 or -ENOMEM. */
int memfs_set_link(struct inode *ino, const char *target, size_t len);

#endif
