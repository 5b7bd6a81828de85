/*
 * What the ext2 and JBD2 host tests share (test_ext2.c, test_ext2_hostile.c,
 * test_ext2_write.c, test_jbd2.c): a scratch folder per test, a source tree
 * and images made from it by the host's mke2fs, a fake disk over an image
 * (read and written through the file, or in memory with an optional "power
 * cut" after so many writes), and e2fsck's verdict. A failed step fails the
 * test (Criterion's asserts).
 */
#ifndef TESTS_HOST_EXT2_IMG_H
#define TESTS_HOST_EXT2_IMG_H

#include "fs/ext2/ext2_priv.h"

/* The scratch folder of the running test, its source tree (tmp/src) and
 * its image (tmp/img). */
extern char ext2t_tmp[64], ext2t_src[100], ext2t_img[100];

/* A suite's .init and .fini: the scratch folder made and removed (and the
 * host's slab set up, errors logged). */
void ext2t_setup(void);
void ext2t_teardown(void);

/* A shell command that must succeed; one whose first output line is a
 * number, that number. */
void ext2t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned ext2t_sh_num(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the source tree ---- */

/* The byte at off of file number id's pattern. */
u8 ext2t_pat(unsigned id, u64 off);
/* Write bytes [off, off + len) of pattern id into the file rel of the
 * source tree (made if missing). */
void ext2t_put(const char *rel, unsigned id, u64 off, u64 len);
/* A folder rel of the source tree ("": the tree's top). */
void ext2t_mkdir(const char *rel, mode_t mode);
/* The sparse file past 4 GiB of the full tree: its size. */
#define EXT2T_HUGE_SIZE 4700000000ULL
/* The test tree: small, empty, medium and large files, a sparse file, a
 * deep directory, long names, a directory of 600 entries, fast, slow and
 * dangling symbolic links, a hard link, a FIFO, device nodes and an owner
 * (as root), odd modes. full: the 4 GiB+ sparse file too (it needs the
 * large_file feature). */
void ext2t_make_tree(bool full);
/* The image (mib MiB) of the source tree by `mke2fs opts -d`. */
void ext2t_mkfs(const char *opts, unsigned mib);
/* `e2fsck -fn path`'s exit status (0: clean); its output on stderr when
 * not clean. */
int ext2t_fsck(const char *path);

/* ---- the fake disk ---- */

struct ext2t_disk {
	u8 *mem;       /* the image in memory, or NULL: read and written through fd */
	int fd;        /* -1 for an image in memory */
	u64 size;
	long budget;   /* writes left before the "crash"; < 0: no crash */
	u64 reads, writes;
};

enum ext2t_how { EXT2T_FILE_RO, EXT2T_FILE_RW, EXT2T_MEM };
/* The disk of the image at path: through the file (read-only or
 * read-write), or a copy in memory. No crash set. */
void ext2t_open(struct ext2t_disk *d, const char *path, enum ext2t_how how);
void ext2t_close(struct ext2t_disk *d);
/* An image in memory written out to path. */
void ext2t_save(const struct ext2t_disk *d, const char *path);
/* fs/ext2's disk calls over a struct ext2t_disk: past the disk fails the
 * test; after the crash writes and flushes give -EIO. */
int ext2t_read(void *ctx, u64 off, void *buf, size_t len);
int ext2t_write(void *ctx, u64 off, const void *buf, size_t len);
int ext2t_flush(void *ctx);
/* ext2_mount on d (read-only): its result, msg its words. */
int ext2t_mount(struct ext2_fs *fs, struct ext2t_disk *d, char *msg, size_t n);

#endif
