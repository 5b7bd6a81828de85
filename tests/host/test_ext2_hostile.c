/*
 * fs/ext2 on hostile images (tests/host/ext2_img.h): targeted corruptions
 * of a good image (superblock fields, feature bits, group descriptors,
 * inodes, block pointers, an indirect loop, directory entries) must give
 * the documented error, and random byte changes of the metadata must give
 * errors or data, never a crash (the sanitizers watch) or a hang (the
 * suite's timeout).
 */
#define _FILE_OFFSET_BITS 64
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/host/ext2_img.h"

TestSuite(ext2_hostile, .init = ext2t_setup, .fini = ext2t_teardown, .timeout = 240);

/* ---- corruption ---- */

/* Walk everything under dir; errors are fine, crashes and hangs are not.
 * Bounded: a corrupt image can make a directory its own child. */
static unsigned walk_all(struct ext2_fs *fs, const struct ext2_inode *dir, int depth,
			 unsigned *budget, unsigned *errors)
{
	unsigned seen = 0;
	struct ext2_dirent de;
	u64 off = 0;
	int r = 0;
	static u8 buf[70000];
	while (*budget && (r = ext2_dir_next(fs, dir, &off, &de)) > 0) {
		(*budget)--;
		seen++;
		if (!strcmp(de.name, ".") || !strcmp(de.name, ".."))
			continue;
		struct ext2_inode in;
		if (ext2_iget(fs, de.ino, &in) < 0) {
			(*errors)++;
			continue;
		}
		if (EXT2_S_ISDIR(in.mode) && depth < 8) {
			seen += walk_all(fs, &in, depth + 1, budget, errors);
		} else if (EXT2_S_ISREG(in.mode)) {
			for (u64 o = 0; o < in.size && o < (8u << 20); o += sizeof(buf))
				if (ext2_read(fs, &in, o, buf, sizeof(buf)) < 0) {
					(*errors)++;
					break;
				}
			if (in.size > (8u << 20) && ext2_read(fs, &in, in.size - 100, buf, 100) < 0)
				(*errors)++;
		} else if (EXT2_S_ISLNK(in.mode)) {
			char t[4096];
			if (ext2_readlink(fs, &in, t, sizeof(t)) < 0)
				(*errors)++;
		}
	}
	if (r < 0)
		(*errors)++;
	return seen;
}

struct corrupt_img {
	struct ext2t_disk d;
	u8 *good;
	struct ext2_fs fs;   /* mounted on the good image, to find things */
};

static void corrupt_setup(struct corrupt_img *c)
{
	ext2t_make_tree(false);
	ext2t_mkfs("-t ext3 -b 1024", 16);
	ext2t_open(&c->d, ext2t_img, EXT2T_MEM);
	c->good = malloc(c->d.size);
	memcpy(c->good, c->d.mem, c->d.size);
	char msg[200];
	cr_assert_eq(ext2t_mount(&c->fs, &c->d, msg, sizeof(msg)), 0, "%s", msg);
}

static void restore(struct corrupt_img *c) { memcpy(c->d.mem, c->good, c->d.size); }

static void corrupt_done(struct corrupt_img *c)
{
	ext2_unmount(&c->fs);
	free(c->good);
	ext2t_close(&c->d);
}

/* Mount the (changed) image and walk it: the mount's result. */
static int try_image(struct corrupt_img *c, char *msg, size_t n, unsigned *errors)
{
	struct ext2_fs fs;
	int r = ext2t_mount(&fs, &c->d, msg, n);
	if (r < 0)
		return r;
	struct ext2_inode root;
	cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
	unsigned budget = 5000;
	walk_all(&fs, &root, 0, &budget, errors);
	ext2_unmount(&fs);
	return 0;
}

static u64 inode_off(struct corrupt_img *c, const char *path, struct ext2_inode *out)
{
	struct ext2_inode dir;
	cr_assert_eq(ext2_iget(&c->fs, EXT2_ROOT_INO, &dir), 0);
	char buf[512];
	strcpy(buf, path);
	u32 ino = EXT2_ROOT_INO;
	for (char *s = strtok(buf, "/"); s; s = strtok(NULL, "/")) {
		cr_assert_eq(ext2_lookup(&c->fs, &dir, s, strlen(s), &ino), 0, "%s", s);
		cr_assert_eq(ext2_iget(&c->fs, ino, &dir), 0);
	}
	*out = dir;
	u32 g = (ino - 1) / c->fs.inodes_per_group, i = (ino - 1) % c->fs.inodes_per_group;
	return (u64)c->fs.inode_table[g] * c->fs.block_size + (u64)i * c->fs.inode_size;
}

static void expect_mount(struct corrupt_img *c, int want, const char *words)
{
	char msg[200];
	unsigned errors = 0;
	int r = try_image(c, msg, sizeof(msg), &errors);
	cr_assert_eq(r, want, "mount gave %d (%s), expected %d", r, msg, want);
	if (words)
		cr_assert(strstr(msg, words), "message '%s' lacks '%s'", msg, words);
	restore(c);
}

Test(ext2_hostile, corrupt_superblock_refused)
{
	struct corrupt_img c;
	corrupt_setup(&c);
	u8 *sb = c.d.mem + EXT2_SB_OFFSET;
	sb[SB_MAGIC] ^= 1;
	expect_mount(&c, -EINVAL, "no ext2 superblock");
	put32(sb + SB_LOG_BSIZE, 7);
	expect_mount(&c, -EUCLEAN, "block size");
	put32(sb + SB_BLOCKS_COUNT, 0xfffffff0);
	expect_mount(&c, -EUCLEAN, "larger than the disk");
	put32(sb + SB_BLOCKS_PER_GROUP, 0);
	expect_mount(&c, -EUCLEAN, "blocks per group");
	put32(sb + SB_INODES_PER_GROUP, 0x7fffffff);
	expect_mount(&c, -EUCLEAN, "inodes per group");
	put32(sb + SB_INODES_COUNT, 0xffffffff);
	expect_mount(&c, -EUCLEAN, "inodes");
	sb[SB_INODE_SIZE] = 100;
	expect_mount(&c, -EUCLEAN, "inode size");
	put32(sb + SB_REV_LEVEL, 2);
	expect_mount(&c, -EOPNOTSUPP, "revision 2");
	put32(sb + SB_FIRST_DATA, 0);
	expect_mount(&c, -EUCLEAN, "first data block");
	put32(sb + SB_JOURNAL_INUM, 0);
	expect_mount(&c, -EOPNOTSUPP, "another device");
	/* a good image after all that */
	expect_mount(&c, 0, NULL);
	corrupt_done(&c);
}

Test(ext2_hostile, unsupported_features_named)
{
	struct corrupt_img c;
	corrupt_setup(&c);
	u8 *sb = c.d.mem + EXT2_SB_OFFSET;
	static const struct { u32 bit; const char *name; } t[] = {
		{ EXT2_INCOMPAT_EXTENTS, "extent" }, { EXT2_INCOMPAT_64BIT, "64bit" },
		{ EXT2_INCOMPAT_META_BG, "meta_bg" }, { EXT2_INCOMPAT_INLINE_DATA, "inline_data" },
		{ EXT2_INCOMPAT_ENCRYPT, "encrypt" }, { EXT2_INCOMPAT_COMPRESSION, "compression" },
		{ EXT2_INCOMPAT_JOURNAL_DEV, "journal_dev" }, { EXT2_INCOMPAT_MMP, "mmp" },
		{ EXT2_INCOMPAT_CASEFOLD, "casefold" }, { 1u << 30, "unknown" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		put32(sb + SB_FEATURE_INCOMPAT, le32(sb + SB_FEATURE_INCOMPAT) | t[i].bit);
		expect_mount(&c, -EOPNOTSUPP, t[i].name);
	}
	put32(sb + SB_FEATURE_INCOMPAT, le32(sb + SB_FEATURE_INCOMPAT) | EXT2_INCOMPAT_RECOVER);
	expect_mount(&c, -EOPNOTSUPP, "needs recovery");   /* ext2_replay comes first */
	/* flex_bg and read-only-compatible features are fine to read */
	put32(sb + SB_FEATURE_INCOMPAT, le32(sb + SB_FEATURE_INCOMPAT) | EXT2_INCOMPAT_FLEX_BG);
	put32(sb + SB_FEATURE_RO_COMPAT, le32(sb + SB_FEATURE_RO_COMPAT) | 0x00400000);
	expect_mount(&c, 0, NULL);
	corrupt_done(&c);
}

Test(ext2_hostile, corrupt_group_descriptor_refused)
{
	struct corrupt_img c;
	corrupt_setup(&c);
	u8 *gd = c.d.mem + (u64)(c.fs.first_data_block + 1) * c.fs.block_size;
	put32(gd + GD_INODE_TABLE, 0);
	expect_mount(&c, -EUCLEAN, "group 0");
	put32(gd + GD_SIZE + GD_INODE_TABLE, c.fs.blocks_count - 1);
	expect_mount(&c, -EUCLEAN, "group 1");
	put32(gd + GD_BLOCK_BITMAP, 0xffffffff);
	expect_mount(&c, -EUCLEAN, "block bitmap");
	corrupt_done(&c);
}

Test(ext2_hostile, corrupt_inodes_and_pointers)
{
	struct corrupt_img c;
	corrupt_setup(&c);
	struct ext2_inode in;
	u8 buf[4096];
	struct ext2_fs fs;
	char msg[200];
	/* a data pointer past the end */
	u64 off = inode_off(&c, "medium.bin", &in);
	put32(c.d.mem + off + IN_BLOCK + 4 * 3, c.fs.blocks_count + 5);
	cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
	cr_assert_eq(ext2_iget(&fs, in.ino, &in), 0);
	cr_assert_eq(ext2_read(&fs, &in, 0, buf, 3 * 1024), 3 * 1024);   /* before it: fine */
	cr_assert_eq(ext2_read(&fs, &in, 3 * 1024, buf, 100), -EUCLEAN);
	cr_assert_eq(fs.corrupt, 1);
	/* a read across it: the bytes before it, and one complaint, not two */
	cr_assert_eq(ext2_read(&fs, &in, 1000, buf, 4096), 3 * 1024 - 1000);
	cr_assert_eq(fs.corrupt, 2);
	cr_assert_eq(fs.logged, 2);
	ext2_unmount(&fs);
	restore(&c);
	/* an indirect pointer into the superblock */
	put32(c.d.mem + off + IN_BLOCK + 4 * EXT2_IND_BLOCK, 1);
	cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
	cr_assert_eq(ext2_iget(&fs, in.ino, &in), 0);
	cr_assert_eq(ext2_read(&fs, &in, 20 * 1024, buf, 100), -EUCLEAN);
	ext2_unmount(&fs);
	restore(&c);
	/* a loop: the double indirect block's first entry names itself */
	off = inode_off(&c, "big.bin", &in);
	u32 dind = in.block[EXT2_DIND_BLOCK];
	cr_assert_neq(dind, 0);
	put32(c.d.mem + (u64)dind * 1024, dind);
	cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
	cr_assert_eq(ext2_iget(&fs, in.ino, &in), 0);
	cr_assert_eq(ext2_read(&fs, &in, (12 + 256) * 1024, buf, 100), -EUCLEAN);
	ext2_unmount(&fs);
	restore(&c);
	/* inode fields: mode 0, links 0, no type, a size past the tree, a
	 * directory size not a block multiple, extents flag, a link too long */
	static const struct { const char *path; u32 field, size, value; } t[] = {
		{ "small.txt", IN_MODE, 2, 0 }, { "small.txt", IN_LINKS, 2, 0 },
		{ "small.txt", IN_MODE, 2, 0xf1a4 }, { "small.txt", IN_SIZE_HIGH, 4, 0xffffffff },
		{ "deep", IN_SIZE, 4, 1000 }, { "small.txt", IN_FLAGS, 4, EXT2_FL_EXTENTS },
		{ "fast-link", IN_SIZE, 4, 5000 }, { "fast-link", IN_SIZE, 4, 0 },
		{ "small.txt", IN_EXTRA_ISIZE, 2, 200 }, { "small.txt", IN_MTIME_EXTRA, 4, 0xffffffff },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		off = inode_off(&c, t[i].path, &in);
		u8 *f = c.d.mem + off + t[i].field;
		if (t[i].size == 2) {
			f[0] = (u8)t[i].value;
			f[1] = (u8)(t[i].value >> 8);
		} else {
			put32(f, t[i].value);
		}
		cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
		struct ext2_inode x;
		cr_assert_eq(ext2_iget(&fs, in.ino, &x), -EUCLEAN, "case %zu", i);
		cr_assert_eq(fs.corrupt, 1);
		ext2_unmount(&fs);
		restore(&c);
	}
	/* the extra time fields: nanoseconds, and epoch bits past 2038 */
	off = inode_off(&c, "small.txt", &in);
	put32(c.d.mem + off + IN_MTIME_EXTRA, 123456789u << 2 | 1);
	cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
	struct ext2_inode t2;
	cr_assert_eq(ext2_iget(&fs, in.ino, &t2), 0);
	cr_assert_eq(t2.mtime_ns, 123456789);
	cr_assert_eq(t2.mtime, in.mtime + (1LL << 32));
	cr_assert_eq(t2.atime, in.atime);
	ext2_unmount(&fs);
	restore(&c);
	/* a fast link that claims a block-sized target */
	off = inode_off(&c, "fast-link", &in);
	put32(c.d.mem + off + IN_SIZE, 100);
	cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
	cr_assert_eq(ext2_iget(&fs, in.ino, &in), 0);
	cr_assert_eq(ext2_readlink(&fs, &in, (char *)buf, sizeof(buf)), -EUCLEAN);
	ext2_unmount(&fs);
	restore(&c);
	/* an inode number past the count */
	cr_assert_eq(ext2_iget(&c.fs, c.fs.inodes_count + 1, &in), -EUCLEAN);
	cr_assert_eq(ext2_iget(&c.fs, 0, &in), -EUCLEAN);
	corrupt_done(&c);
}

Test(ext2_hostile, corrupt_directory_entries)
{
	struct corrupt_img c;
	corrupt_setup(&c);
	struct ext2_inode dir;
	inode_off(&c, "names", &dir);
	u64 blk = (u64)dir.block[0] * c.fs.block_size;
	/* the first entry is "."; the third is the first file */
	static const struct { u32 at, size, value; } t[] = {
		{ DE_REC_LEN, 2, 3 },        /* too small */
		{ DE_REC_LEN, 2, 14 },       /* unaligned */
		{ DE_REC_LEN, 2, 4000 },     /* past the block */
		{ DE_NAME_LEN, 1, 200 },     /* longer than its record */
		{ DE_INODE, 4, 0x7fffffff }, /* inode out of range */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		u8 *e = c.d.mem + blk;
		u8 *f = e + t[i].at;
		if (t[i].size == 1)
			f[0] = (u8)t[i].value;
		else if (t[i].size == 2) {
			f[0] = (u8)t[i].value;
			f[1] = (u8)(t[i].value >> 8);
		} else
			put32(f, t[i].value);
		struct ext2_fs fs;
		char msg[200];
		cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
		u32 ino;
		cr_assert_eq(ext2_lookup(&fs, &dir, "with space", 10, &ino), -EUCLEAN, "case %zu", i);
		struct ext2_dirent de;
		u64 off = 0;
		cr_assert_eq(ext2_dir_next(&fs, &dir, &off, &de), -EUCLEAN, "case %zu", i);
		ext2_unmount(&fs);
		restore(&c);
	}
	/* a slash in a name */
	u8 *e = c.d.mem + blk;
	u32 rec = le16(e + DE_REC_LEN);
	rec += le16(e + rec + DE_REC_LEN);   /* past "." and ".." */
	cr_assert_eq(le32(e + rec + DE_INODE) != 0, true);
	e[rec + DE_NAME] = '/';
	struct ext2_fs fs;
	char msg[200];
	cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
	u32 ino;
	cr_assert_eq(ext2_lookup(&fs, &dir, "with space", 10, &ino), -EUCLEAN);
	ext2_unmount(&fs);
	restore(&c);
	/* a hole in a directory */
	u64 off = inode_off(&c, "many", &dir);
	put32(c.d.mem + off + IN_BLOCK + 4, 0);
	cr_assert_eq(ext2t_mount(&fs, &c.d, msg, sizeof(msg)), 0);
	cr_assert_eq(ext2_iget(&fs, dir.ino, &dir), 0);
	cr_assert_eq(ext2_lookup(&fs, &dir, "not-there", 9, &ino), -EUCLEAN);
	ext2_unmount(&fs);
	/* reads at any offset of a good directory (a program's lseek) */
	restore(&c);
	inode_off(&c, "many", &dir);
	for (u64 o = 0; o < dir.size; o += 37) {
		struct ext2_dirent de;
		u64 p = o;
		int r = ext2_dir_next(&c.fs, &dir, &p, &de);
		cr_assert(r >= 0 && p > o, "offset %llu: %d", (unsigned long long)o, r);
	}
	cr_assert_eq(c.fs.corrupt, 0);
	corrupt_done(&c);
}

Test(ext2_hostile, random_metadata_damage_never_crashes)
{
	struct corrupt_img c;
	corrupt_setup(&c);
	/* where the structure is: the superblock, the group descriptors, the
	 * inodes in use (the first of group 0's table) and the blocks of the
	 * root and "names" directories */
	struct ext2_inode root, names;
	cr_assert_eq(ext2_iget(&c.fs, EXT2_ROOT_INO, &root), 0);
	inode_off(&c, "names", &names);
	u64 bs = c.fs.block_size;
	struct { u64 at, len; } region[] = {
		{ EXT2_SB_OFFSET, EXT2_SB_SIZE },
		{ (c.fs.first_data_block + 1) * bs, (u64)c.fs.groups * GD_SIZE },
		{ (u64)c.fs.inode_table[0] * bs, 40ull * c.fs.inode_size },
		{ root.block[0] * bs, bs },
		{ names.block[0] * bs, bs },
	};
	unsigned seed = 12345, mounted = 0, refused = 0, errors = 0;
	for (int round = 0; round < 400; round++) {
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245 + 12345;
			unsigned r = (seed >> 8) % (sizeof(region) / sizeof(region[0]));
			seed = seed * 1103515245 + 12345;
			u64 at = region[r].at + (seed >> 4) % region[r].len;
			seed = seed * 1103515245 + 12345;
			c.d.mem[at] ^= (u8)(1u << ((seed >> 16) % 8));
		}
		char msg[200];
		int r = try_image(&c, msg, sizeof(msg), &errors);
		if (r == 0)
			mounted++;
		else
			refused++;
		restore(&c);
	}
	cr_log_info("ext2 damage: %u mounted, %u refused, %u errors while reading", mounted, refused,
		    errors);
	cr_assert_gt(mounted, 0);
	cr_assert_gt(refused, 0);
	cr_assert_gt(errors, 0);
	corrupt_done(&c);
}
