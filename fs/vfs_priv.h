/* Inside fs/: what the VFS, the RAM file system, devices and pipes share. */
#ifndef FS_VFS_PRIV_H
#define FS_VFS_PRIV_H

#include "fs/vfs.h"

/* The namespace lock (vfs.h "Locks"). */
extern struct mutex vfs_ns_lock;
/* The root directory of the RAM file system (set once by vfs_init). */
extern struct inode *vfs_root_ino;
extern struct inode *vfs_ram_ino;
/* Free an inode whose references and links are both gone ([ns] held or
 * the inode unreachable). */
void vfs_maybe_destroy(struct inode *ino);
/* Eviction of an unused inode that keeps its links (a file system's
 * inode cache over its limit; [ns] held throughout): vfs_evict_begin
 * makes it dead if nothing holds a reference (from then on lock-free
 * walks refuse it and fall back to the locked walk, which waits for
 * [ns]): true, or false (leave it). Once for a batch, vfs_evict_end
 * forgets the directory cache's entries that name a dead inode; the file
 * system then unlinks each from its own tables and frees it after a grace
 * period (call_rcu), as destroy does. Never a directory: its children
 * name it as their parent. */
bool vfs_evict_begin(struct inode *ino);
void vfs_evict_end(void);
void vfs_inode_born(void);
void vfs_inode_died(void);
static inline bool vfs_signalled(void) { return vfs_interrupted && vfs_interrupted(); }
/* A page of zeros (holes of files, /dev/zero). */
extern const u8 vfs_zero_page[PAGE_SIZE];

/* perm.c: the checks of the name-space calls (Linux's fs/namei.c and
 * fs/attr.c), each 0 or a negative errno. */
/* A new entry in dir: write and search on it (-EACCES). */
int vfs_may_create(const struct vfs_cred *c, struct inode *dir);
/* victim's entry in dir may go: write and search on dir; in a sticky
 * directory also own the file or the directory (-EPERM). */
int vfs_may_delete(const struct vfs_cred *c, struct inode *dir, struct inode *victim);
/* A new inode's owner and group ([ns] held, before it is linked in dir). */
void vfs_init_owner(const struct vfs_cred *c, struct inode *dir, struct inode *fresh);
/* open of an inode that exists: the access flags' rights, or exec's. */
int vfs_may_open(const struct vfs_cred *c, struct inode *ino, unsigned flags, bool exec);
/* A write or truncate by other than root drops set-id bits (no lock held). */
void vfs_kill_suid(struct inode *ino);
/* chmod and utimes (mask VFS_SET_*); chmod's mode may lose S_ISGID. */
int vfs_may_setattr(const struct vfs_cred *c, struct inode *ino, unsigned mask, u32 *mode);
/* link(2) of ino by c (-EPERM; fs.protected_hardlinks). */
int vfs_may_hardlink(const struct vfs_cred *c, struct inode *ino);
/* Following the symbolic link `link` in dir (-EACCES; fs.protected_symlinks). */
int vfs_may_follow(const struct vfs_cred *c, struct inode *dir, struct inode *link);
/* chown's owner and group ((u32)-1: kept). */
int vfs_may_chown(const struct vfs_cred *c, struct inode *ino, u32 uid, u32 gid);

/* memfs.c: the RAM file system */
#define MEMFS_FILE_MAX (256UL << 20)   /* a file's size: 256 MiB */
extern const struct file_ops memfs_file_fops;
struct inode *memfs_new_root(void);
/* Let a new regular file read size bytes from data (never freed). */
void memfs_borrow(struct inode *ino, const u8 *data, size_t size);
/* Give a new symbolic link its target (copied): 0 or -ENOMEM. */
int memfs_set_link(struct inode *ino, const char *target, size_t len);

#endif
