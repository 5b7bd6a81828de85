/*
 * fs/ext2: writing (fs/ext2/ext2_write.c, and ext3 through its journal)
 * over a file-backed fake disk (tests/host/ext2_img.h). Every operation
 * on an image made by mke2fs is followed by `e2fsck -fn` (exit 0: clean)
 * and mirrored with POSIX calls in a host directory; at the end `debugfs
 * -R rdump` copies the image's tree out and `diff -r` compares it with
 * the mirror.
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

TestSuite(ext2_write, .init = ext2t_setup, .fini = ext2t_teardown, .timeout = 240);

static char want[120];   /* the mirror */

static s64 fixed_now(void) { return 1700000000; }

static struct ext2_fs *wfs;   /* the mount being written: synced before e2fsck looks */

static void wmount(struct ext2_fs *fs, struct ext2t_disk *d)
{
	ext2t_open(d, ext2t_img, EXT2T_FILE_RW);
	char msg[200];
	cr_assert_eq(ext2t_mount(fs, d, msg, sizeof(msg)), 0, "mount: %s", msg);
	fs->flush = ext2t_flush;
	cr_assert_eq(ext2_enable_write(fs, ext2t_write, msg, sizeof(msg)), 0, "write: %s", msg);
	fs->now = fixed_now;
	wfs = fs;
}

static void fsck_clean(const char *after)
{
	if (wfs)   /* ext3: the running transaction committed, the journal clean */
		cr_assert_eq(ext2_sync(wfs), 0, "sync before e2fsck after %s", after);
	cr_assert_eq(ext2t_fsck(ext2t_img), 0, "e2fsck -fn finds the image unclean after %s", after);
}

/* The inode at path (absolute, no symbolic links followed). */
static int resolve(struct ext2_fs *fs, const char *path, struct ext2_inode *out)
{
	int r = ext2_iget(fs, EXT2_ROOT_INO, out);
	const char *p = path;
	while (r == 0) {
		while (*p == '/')
			p++;
		if (!*p)
			return 0;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		u32 ino;
		r = ext2_lookup(fs, out, s, (size_t)(p - s), &ino);
		if (r == 0)
			r = ext2_iget(fs, ino, out);
	}
	return r;
}

/* dir's path and the last name of path */
static void split(const char *path, char *dir, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (n == 0)
		strcpy(dir, "/");
	*name = slash + 1;
}

static int w_create(struct ext2_fs *fs, const char *path, u32 mode, const char *target)
{
	char dp[300];
	const char *name;
	split(path, dp, &name);
	struct ext2_inode dir, in;
	cr_assert_eq(resolve(fs, dp, &dir), 0, "%s", dp);
	return ext2_create(fs, &dir, name, strlen(name), mode, 0, target, &in);
}

static void mirror(const char *fmt, const char *a, const char *b)
{
	char cmd[1200], x[500], y[500];
	snprintf(x, sizeof(x), "%s%s", want, a);
	snprintf(y, sizeof(y), "%s%s", want, b ? b : "");
	snprintf(cmd, sizeof(cmd), fmt, x, y);
	cr_assert_eq(system(cmd), 0, "mirror: %s", cmd);
}

static void w_file(struct ext2_fs *fs, const char *path, unsigned id, u64 off, u64 len)
{
	struct ext2_inode in;
	int r = resolve(fs, path, &in);
	if (r == -ENOENT) {
		cr_assert_eq(w_create(fs, path, EXT2_S_IFREG | 0644, NULL), 0);
		cr_assert_eq(resolve(fs, path, &in), 0);
		mirror("touch '%s'", path, NULL);
	}
	char p[600];
	snprintf(p, sizeof(p), "%s%s", want, path);
	int fd = open(p, O_WRONLY);
	cr_assert(fd >= 0);
	static u8 buf[1 << 20];
	while (len) {
		size_t k = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = ext2t_pat(id, off + i);
		cr_assert_eq(ext2_write(fs, &in, off, buf, k), (long)k, "write %s", path);
		cr_assert_eq(pwrite(fd, buf, k, (off_t)off), (ssize_t)k);
		off += k;
		len -= k;
	}
	close(fd);
}

static void compare_tree(void)
{
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/got' && mkdir '%s/got' && debugfs -R "
		 "'rdump / %s/got' '%s' >/dev/null 2>&1 && diff -r --no-dereference '%s/got' '%s'",
		 ext2t_tmp, ext2t_tmp, ext2t_tmp, ext2t_img, ext2t_tmp, want);
	cr_assert_eq(system(cmd), 0, "the image's tree differs from the mirror");
}

static void write_ops(const char *opts)
{
	ext2t_make_tree(false);
	ext2t_mkfs(opts, 64);
	snprintf(want, sizeof(want), "%s/want", ext2t_tmp);
	char cmd[1000];
	snprintf(cmd, sizeof(cmd), "mkdir '%s' && debugfs -R 'rdump / %s' '%s' >/dev/null 2>&1",
		 want, want, ext2t_img);
	cr_assert_eq(system(cmd), 0);
	struct ext2_fs fs;
	struct ext2t_disk d;
	wmount(&fs, &d);
	u32 free0 = fs.free_blocks, ifree0 = fs.free_inodes;

	/* files: small, then through the indirect and double-indirect blocks */
	w_file(&fs, "/new.txt", 10, 0, 100);
	fsck_clean("a small file");
	w_file(&fs, "/grow.bin", 11, 0, 6u << 20);
	fsck_clean("a 6 MiB file");
	w_file(&fs, "/grow.bin", 12, 12345, 70000);          /* overwrite in the middle */
	w_file(&fs, "/medium.bin", 13, 49000, 30000);         /* extend a file mke2fs made */
	mirror("cp '%s' '%s'", "/medium.bin", "/medium.hard");   /* its hard link: the same bytes */
	w_file(&fs, "/hole.bin", 14, 5u << 20, 1000);         /* a sparse file */
	fsck_clean("overwrites, appends and a hole");
	cr_assert_lt(fs.free_blocks, free0);

	/* truncate: shrinking gives the blocks back */
	struct ext2_inode in;
	cr_assert_eq(resolve(&fs, "/grow.bin", &in), 0);
	u32 before = fs.free_blocks;
	cr_assert_eq(ext2_truncate(&fs, &in, 10000), 0);
	mirror("truncate -s 10000 '%s'", "/grow.bin", NULL);
	cr_assert_gt(fs.free_blocks, before + (5u << 20) / fs.block_size);
	cr_assert_eq(in.size, 10000);
	cr_assert_eq(ext2_truncate(&fs, &in, 30000), 0);   /* grows with zeros */
	mirror("truncate -s 30000 '%s'", "/grow.bin", NULL);
	fsck_clean("truncate");

	/* directories, renames, links */
	cr_assert_eq(w_create(&fs, "/d1", EXT2_S_IFDIR | 0755, NULL), 0);
	cr_assert_eq(w_create(&fs, "/d1/d2", EXT2_S_IFDIR | 0700, NULL), 0);
	mirror("mkdir -p '%s' && chmod 700 '%s'", "/d1/d2", "/d1/d2");
	w_file(&fs, "/d1/d2/f", 15, 0, 5000);
	w_file(&fs, "/d1/g", 16, 0, 77);
	cr_assert_eq(w_create(&fs, "/d1", EXT2_S_IFDIR | 0755, NULL), -EEXIST);
	fsck_clean("mkdir");
	char longname[300];
	memset(longname, 'x', 256);
	longname[0] = '/';
	longname[257] = '\0';
	memset(longname + 1, 'n', 256);
	cr_assert_eq(w_create(&fs, longname, EXT2_S_IFREG | 0644, NULL), -ENAMETOOLONG);

	struct ext2_inode root, d1, d2, src_in, dst_in;
	cr_assert_eq(resolve(&fs, "/", &root), 0);
	cr_assert_eq(resolve(&fs, "/d1", &d1), 0);
	cr_assert_eq(resolve(&fs, "/d1/d2", &d2), 0);
	/* rename within a directory, then across, then a directory across */
	cr_assert_eq(resolve(&fs, "/d1/g", &src_in), 0);
	cr_assert_eq(ext2_rename(&fs, &d1, "g", 1, &src_in, &d1, "g2", 2, NULL), 0);
	mirror("mv '%s' '%s'", "/d1/g", "/d1/g2");
	cr_assert_eq(ext2_rename(&fs, &d1, "g2", 2, &src_in, &root, "g3", 2, NULL), 0);
	mirror("mv '%s' '%s'", "/d1/g2", "/g3");
	fsck_clean("renames of a file");
	cr_assert_eq(ext2_rename(&fs, &d1, "d2", 2, &d2, &root, "d3", 2, NULL), 0);
	mirror("mv '%s' '%s'", "/d1/d2", "/d3");
	fsck_clean("a rename of a directory to another parent");
	/* rename over an existing file: the old one loses its link */
	cr_assert_eq(resolve(&fs, "/g3", &src_in), 0);
	cr_assert_eq(resolve(&fs, "/new.txt", &dst_in), 0);
	cr_assert_eq(ext2_rename(&fs, &root, "g3", 2, &src_in, &root, "new.txt", 7, &dst_in), 0);
	cr_assert_eq(dst_in.links, 0);
	cr_assert_eq(ext2_evict(&fs, &dst_in), 0);
	mirror("mv '%s' '%s'", "/g3", "/new.txt");
	fsck_clean("a rename over a file");

	/* links: fast and slow symbolic links, a hard link */
	cr_assert_eq(w_create(&fs, "/fast", EXT2_S_IFLNK | 0777, "d3/f"), 0);
	mirror("ln -s d3/f '%s'", "/fast", NULL);
	char target[300];
	memset(target, 't', 200);
	target[200] = '\0';
	cr_assert_eq(w_create(&fs, "/slow", EXT2_S_IFLNK | 0777, target), 0);
	snprintf(cmd, sizeof(cmd), "ln -s %s '%s/slow'", target, want);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(resolve(&fs, "/d3/f", &src_in), 0);
	cr_assert_eq(resolve(&fs, "/", &root), 0);
	cr_assert_eq(ext2_link(&fs, &root, "hard", 4, &src_in), 0);
	cr_assert_eq(src_in.links, 2);
	mirror("ln '%s' '%s'", "/d3/f", "/hard");
	fsck_clean("symbolic and hard links");

	/* unlink and rmdir */
	cr_assert_eq(resolve(&fs, "/d3", &d2), 0);
	cr_assert_eq(resolve(&fs, "/d3/f", &src_in), 0);
	cr_assert_eq(ext2_unlink(&fs, &root, "d3", 2, &d2), -ENOTEMPTY);
	cr_assert_eq(ext2_unlink(&fs, &d2, "f", 1, &src_in), 0);
	cr_assert_eq(src_in.links, 1);   /* "hard" still names it */
	cr_assert_eq(ext2_unlink(&fs, &root, "d3", 2, &d2), 0);
	cr_assert_eq(ext2_evict(&fs, &d2), 0);
	mirror("rm -r '%s'", "/d3", NULL);
	cr_assert_eq(resolve(&fs, "/hard", &src_in), 0);
	cr_assert_eq(ext2_unlink(&fs, &root, "hard", 4, &src_in), 0);
	cr_assert_eq(ext2_evict(&fs, &src_in), 0);
	mirror("rm '%s'", "/hard", NULL);
	fsck_clean("unlink and rmdir");

	/* a directory of many entries: it grows, then loses every other one
	 * (entries merge into the one before) */
	cr_assert_eq(w_create(&fs, "/lots", EXT2_S_IFDIR | 0755, NULL), 0);
	mirror("mkdir '%s'", "/lots", NULL);
	struct ext2_inode many;
	cr_assert_eq(resolve(&fs, "/lots", &many), 0);
	for (int i = 0; i < 400; i++) {
		char p[100];
		snprintf(p, sizeof(p), "/lots/entry-with-a-longish-name-%03d", i);
		w_file(&fs, p, (unsigned)i, 0, (u64)(i % 3) * 700);
	}
	cr_assert_eq(resolve(&fs, "/lots", &many), 0);
	cr_assert_gt(many.size, fs.block_size);
	fsck_clean("400 entries");
	for (int i = 0; i < 400; i += 2) {
		char p[100];
		snprintf(p, sizeof(p), "entry-with-a-longish-name-%03d", i);
		cr_assert_eq(resolve(&fs, "/lots", &many), 0);
		struct ext2_inode c;
		u32 ino;
		cr_assert_eq(ext2_lookup(&fs, &many, p, strlen(p), &ino), 0);
		cr_assert_eq(ext2_iget(&fs, ino, &c), 0);
		cr_assert_eq(ext2_unlink(&fs, &many, p, strlen(p), &c), 0);
		cr_assert_eq(ext2_evict(&fs, &c), 0);
		snprintf(cmd, sizeof(cmd), "rm '%s/lots/%s'", want, p);
		cr_assert_eq(system(cmd), 0);
	}
	fsck_clean("200 unlinks");

	/* deleting everything made gives the counts back */
	cr_assert_eq(ext2_sync(&fs), 0);
	wfs = NULL;
	ext2_unmount(&fs);
	ext2t_close(&d);
	compare_tree();
	(void)ifree0;
}

Test(ext2_write, write_ops_4k_blocks_fsck_clean_and_tree_matches)
{
	write_ops("-t ext2 -b 4096 -I 256");
}

Test(ext2_write, write_ops_1k_blocks_128_byte_inodes)
{
	write_ops("-t ext2 -b 1024 -I 128");
}

/* ext3: the same operations through the journal (fs/ext2/jbd2.h) */
Test(ext2_write, write_ops_ext3_1k_blocks)
{
	write_ops("-t ext3 -b 1024 -I 128");
}

Test(ext2_write, write_ops_ext3_4k_blocks)
{
	write_ops("-t ext3 -b 4096 -I 256");
}

Test(ext2_write, write_disk_full_enospc_leaves_image_clean)
{
	ext2t_mkdir("", 0755);
	ext2t_mkfs("-t ext2 -b 1024 -N 32", 1);
	struct ext2_fs fs;
	struct ext2t_disk d;
	wmount(&fs, &d);
	u32 free0 = fs.free_blocks, ifree0 = fs.free_inodes;
	/* blocks: a 2 MiB write onto a 1 MiB disk stops short */
	cr_assert_eq(w_create(&fs, "/fill", EXT2_S_IFREG | 0644, NULL), 0);
	struct ext2_inode in;
	cr_assert_eq(resolve(&fs, "/fill", &in), 0);
	static u8 buf[2 << 20];
	memset(buf, 0xab, sizeof(buf));
	long n = ext2_write(&fs, &in, 0, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_lt(n, (long)sizeof(buf));
	cr_assert_eq(in.size, (u64)n);
	cr_assert_eq(fs.free_blocks, 0);
	cr_assert_eq(ext2_write(&fs, &in, (u64)n, buf, 4096), -ENOSPC);
	cr_assert_eq(in.size, (u64)n, "a failed write changed the size");
	/* a directory needs a block: refused whole, its inode given back */
	u32 fi = fs.free_inodes;
	cr_assert_eq(w_create(&fs, "/dir", EXT2_S_IFDIR | 0755, NULL), -ENOSPC);
	cr_assert_eq(fs.free_inodes, fi, "a failed mkdir kept its inode");
	fsck_clean("a full disk");
	/* what was written reads back (through a fresh look at the inode) */
	static u8 back[2 << 20];
	cr_assert_eq(resolve(&fs, "/fill", &in), 0);
	cr_assert_eq(ext2_read(&fs, &in, 0, back, sizeof(back)), n);
	cr_assert(memcmp(back, buf, (size_t)n) == 0, "the written bytes do not read back");
	/* truncating to nothing gives every block back */
	cr_assert_eq(ext2_truncate(&fs, &in, 0), 0);
	cr_assert_eq(fs.free_blocks, free0);
	fsck_clean("truncate of the full file");
	/* inodes: create until none is left */
	int made = 0, r = 0;
	for (int i = 0; i < 100 && r == 0; i++) {
		char p[40];
		snprintf(p, sizeof(p), "/f%d", i);
		r = w_create(&fs, p, EXT2_S_IFREG | 0600, NULL);
		made += r == 0;
	}
	cr_assert_eq(r, -ENOSPC);
	cr_assert_eq(made, (int)ifree0 - 1);   /* all but /fill's */
	cr_assert_eq(fs.free_inodes, 0);
	fsck_clean("no inodes left");
	ext2_unmount(&fs);
	ext2t_close(&d);
}

/* write_data (also the journal's own block writes): counted, and made to
 * fail on demand for writes of more than a block (the file's data runs) */
static int data_calls, data_fail;
static int counting_write(void *ctx, u64 off, const void *buf, size_t len)
{
	data_calls++;
	return data_fail && len > 4096 ? -EIO : ext2t_write(ctx, off, buf, len);
}

/* File data goes out in runs of adjacent blocks (one write_data call for
 * many blocks), new blocks a write fills are not zeroed first, and a data
 * write that fails leaves no block past the file's end (they could hold
 * another file's old bytes) and the image clean. */
Test(ext2_write, write_data_in_runs_and_a_failed_write_keeps_no_block_past_the_end)
{
	ext2t_mkdir("", 0755);
	ext2t_mkfs("-t ext3 -b 4096", 16);
	struct ext2_fs fs;
	struct ext2t_disk d;
	wmount(&fs, &d);
	fs.write_data = counting_write;
	cr_assert_eq(w_create(&fs, "/runs", EXT2_S_IFREG | 0644, NULL), 0);
	struct ext2_inode in;
	cr_assert_eq(resolve(&fs, "/runs", &in), 0);
	static u8 buf[64 << 10], back[64 << 10];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)(i * 13 + 1);
	data_calls = 0;
	cr_assert_eq(ext2_write(&fs, &in, 0, buf, sizeof(buf)), (long)sizeof(buf));
	cr_assert_leq(data_calls, 3, "16 new blocks of one write took %d writes (one a block, "
		      "or a zeroing write before each, would be 16 or 32)", data_calls);
	cr_assert_eq(ext2_read(&fs, &in, 0, back, sizeof(back)), (long)sizeof(back));
	cr_assert(memcmp(back, buf, sizeof(buf)) == 0, "the run's bytes do not read back");
	/* a partial block past the end is zeroed first: what the write left
	 * of it reads as zeros once the file grows over it */
	cr_assert_eq(ext2_write(&fs, &in, sizeof(buf), buf, 100), 100);
	cr_assert_eq(ext2_truncate(&fs, &in, sizeof(buf) + 4096), 0);
	cr_assert_eq(ext2_read(&fs, &in, sizeof(buf), back, 4096), 4096);
	for (int i = 100; i < 4096; i++)
		cr_assert_eq(back[i], 0, "byte %d of the partly written block is not zero", i);
	cr_assert_eq(ext2_truncate(&fs, &in, sizeof(buf)), 0);
	fsck_clean("runs");
	/* the disk refuses the data: nothing written, no block kept */
	u32 free0 = fs.free_blocks;
	u32 blocks0 = in.blocks;
	data_fail = 1;
	long n = ext2_write(&fs, &in, sizeof(buf), buf, sizeof(buf));
	data_fail = 0;
	cr_assert_eq(n, -EIO);
	cr_assert_eq(in.size, (u64)sizeof(buf), "a failed write changed the size");
	cr_assert_eq(in.blocks, blocks0, "blocks past the end kept: %u sectors, %u before",
		     in.blocks, blocks0);
	cr_assert_eq(fs.free_blocks, free0, "free blocks %u, %u before", fs.free_blocks, free0);
	fs.write_data = NULL;
	fsck_clean("a failed data write");
	ext2_unmount(&fs);
	ext2t_close(&d);
}

/* Write-back's half (ext2_write_alloc): blocks mapped, no data written
 * but the zeroing of a hole inside the file; the caller writes the data
 * itself; ext2_write_undo frees what lies past the old end and past what
 * was written */
Test(ext2_write, write_alloc_maps_without_data_and_undo_frees_past_the_end)
{
	ext2t_mkdir("", 0755);
	ext2t_mkfs("-t ext3 -b 1024", 16);
	struct ext2_fs fs;
	struct ext2t_disk d;
	wmount(&fs, &d);
	fs.write_data = counting_write;
	cr_assert_eq(w_create(&fs, "/wa", EXT2_S_IFREG | 0644, NULL), 0);
	struct ext2_inode in;
	cr_assert_eq(resolve(&fs, "/wa", &in), 0);
	static u8 buf[10000], back[10000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)(i * 7 + 3);
	data_calls = 0;
	cr_assert_eq(ext2_write_alloc(&fs, &in, 0, sizeof(buf), false), (long)sizeof(buf));
	cr_assert_eq(data_calls, 0, "new blocks past the end were written (%d)", data_calls);
	cr_assert_eq(in.size, (u64)sizeof(buf));
	for (u64 b = 0; b < 10; b++) {   /* the caller's own data writes */
		u32 pb;
		cr_assert_eq(ext2_bmap(&fs, &in, b, &pb), 0);
		cr_assert_neq(pb, 0, "block %llu not mapped", (unsigned long long)b);
		size_t k = b == 9 ? sizeof(buf) - 9 * 1024 : 1024;
		static u8 blk[1024];
		memset(blk, 0, sizeof(blk));
		memcpy(blk, buf + b * 1024, k);
		cr_assert_eq(ext2_data_write(&fs, (u64)pb * 1024, blk, 1024), 0);
	}
	cr_assert_eq(ext2_read(&fs, &in, 0, back, sizeof(back)), (long)sizeof(back));
	cr_assert(memcmp(back, buf, sizeof(buf)) == 0, "the caller's bytes do not read back");
	/* a hole inside the file is zeroed when mapped */
	cr_assert_eq(ext2_truncate(&fs, &in, 20000), 0);
	data_calls = 0;
	cr_assert_eq(ext2_write_alloc(&fs, &in, 12000, 100, false), 100);
	cr_assert_geq(data_calls, 1, "a hole inside the file was mapped without zeroing it");
	cr_assert_eq(ext2_read(&fs, &in, 11264, back, 1024), 1024);
	for (int i = 0; i < 1024; i++)
		cr_assert_eq(back[i], 0, "byte %d of the hole's new block", i);
	/* undo: a write that got to byte 21000 of 20000 + 8192 */
	u32 free0 = fs.free_blocks;
	cr_assert_eq(ext2_write_alloc(&fs, &in, 20000, 8192, false), 8192);
	cr_assert_eq(in.size, 28192u);
	cr_assert_eq(ext2_write_undo(&fs, &in, 20000, 21000), 0);
	cr_assert_eq(in.size, 21000u, "size %llu", (unsigned long long)in.size);
	u32 pb;
	cr_assert_eq(ext2_bmap(&fs, &in, 20, &pb), 0);
	cr_assert_neq(pb, 0, "a block the write reached was freed");
	for (u64 b = 21; b < 28; b++) {
		cr_assert_eq(ext2_bmap(&fs, &in, b, &pb), 0);
		cr_assert_eq(pb, 0, "block %llu past what was written kept", (unsigned long long)b);
	}
	cr_assert_eq(fs.free_blocks, free0 - 3, "free %u, %u before (blocks 19, 20 and the "
		     "indirect block over them kept)",
		     fs.free_blocks, free0);
	fs.write_data = NULL;
	fsck_clean("write_alloc and undo");
	ext2_unmount(&fs);
	ext2t_close(&d);
}

static void md5_of(char *out, size_t n)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "md5sum < '%s'", ext2t_img);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(out, (int)n, p));
	pclose(p);
}

/* ext3 with a journal feature the writer does not keep (checksums v3):
 * read-only, the feature named, nothing written */
Test(ext2_write, write_ext3_journal_checksums_refused_erofs)
{
	ext2t_make_tree(false);
	ext2t_mkfs("-t ext3", 16);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "debugfs -R 'bmap <8> 0' '%s' 2>/dev/null", ext2t_img);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	unsigned jb = 0;
	cr_assert_eq(fscanf(p, "%u", &jb), 1);
	pclose(p);
	unsigned bs = 1024;   /* mke2fs's choice for 16 MiB */
	int fd = open(ext2t_img, O_RDWR);
	cr_assert(fd >= 0);
	u8 v[4] = { 0, 0, 0, 0x10 };   /* big-endian JBD2_INCOMPAT_CSUM_V3 */
	cr_assert_eq(pwrite(fd, v, 4, (off_t)jb * bs + 0x28), 4);
	close(fd);
	char before[100], after[100], msg[200];
	md5_of(before, sizeof(before));
	struct ext2_fs fs;
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_FILE_RW);
	cr_assert_eq(ext2t_mount(&fs, &d, msg, sizeof(msg)), 0);
	fs.flush = ext2t_flush;
	cr_assert_eq(ext2_enable_write(&fs, ext2t_write, msg, sizeof(msg)), -EROFS);
	cr_assert(strstr(msg, "has_journal") && strstr(msg, "journal_checksum_v3"), "message: %s",
		  msg);
	/* every change refuses, and the image stays as it was, still readable */
	struct ext2_inode root, in;
	cr_assert_eq(resolve(&fs, "/", &root), 0);
	cr_assert_eq(resolve(&fs, "/small.txt", &in), 0);
	cr_assert_eq(ext2_write(&fs, &in, 0, "x", 1), -EROFS);
	cr_assert_eq(ext2_truncate(&fs, &in, 0), -EROFS);
	cr_assert_eq(ext2_create(&fs, &root, "n", 1, EXT2_S_IFREG | 0644, 0, NULL, &in), -EROFS);
	cr_assert_eq(resolve(&fs, "/small.txt", &in), 0);
	cr_assert_eq(ext2_unlink(&fs, &root, "small.txt", 9, &in), -EROFS);
	char text[40] = { 0 };
	cr_assert_eq(ext2_read(&fs, &in, 0, text, sizeof(text) - 1), 12);
	cr_assert_str_eq(text, "hello, ext2\n");
	ext2_unmount(&fs);
	ext2t_close(&d);
	md5_of(after, sizeof(after));
	cr_assert_str_eq(before, after, "the ext3 image changed");
}

Test(ext2_write, write_name_errors)
{
	ext2t_mkdir("", 0755);
	ext2t_mkfs("-t ext2", 4);
	struct ext2_fs fs;
	struct ext2t_disk d;
	wmount(&fs, &d);
	char name[300];
	memset(name, 'a', sizeof(name));
	struct ext2_inode root, in, dir;
	cr_assert_eq(resolve(&fs, "/", &root), 0);
	cr_assert_eq(ext2_create(&fs, &root, name, 256, EXT2_S_IFREG | 0644, 0, NULL, &in),
		     -ENAMETOOLONG);
	cr_assert_eq(ext2_create(&fs, &root, name, 255, EXT2_S_IFREG | 0644, 0, NULL, &in), 0);
	cr_assert_eq(ext2_create(&fs, &root, name, 255, EXT2_S_IFREG | 0644, 0, NULL, &in),
		     -EEXIST);
	cr_assert_eq(ext2_create(&fs, &root, "d", 1, EXT2_S_IFDIR | 0755, 0, NULL, &dir), 0);
	cr_assert_eq(ext2_rename(&fs, &root, name, 255, &in, &dir, name, 256, NULL),
		     -ENAMETOOLONG);
	cr_assert_eq(ext2_rename(&fs, &root, name, 255, &in, &dir, name, 255, NULL), 0);
	cr_assert_eq(ext2_unlink(&fs, &root, "d", 1, &dir), -ENOTEMPTY);
	cr_assert_eq(ext2_link(&fs, &root, "dl", 2, &dir), -EPERM);
	fsck_clean("name errors");
	ext2_unmount(&fs);
	ext2t_close(&d);
}
