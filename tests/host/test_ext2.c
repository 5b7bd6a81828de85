/*
 * fs/ext2: the read path over a file-backed fake disk (tests/host/ext2_img.h).
 *
 * Each test writes a directory tree (small, empty, medium and large files,
 * a sparse file, a sparse file past 4 GiB, a deep directory, long names, a
 * directory of many entries, fast, slow and dangling symbolic links, a
 * hard link, a FIFO, a device node, odd modes and owners), makes an image
 * of it with the host's `mke2fs -d` (ext2 and ext3, 1, 2, 4 and 64 KiB
 * blocks, 128 and 256-byte inodes, revision 0 and 1), and compares every
 * file's bytes and metadata read through fs/ext2 with the source tree.
 * Hostile images: test_ext2_hostile.c; writing: test_ext2_write.c.
 */
#define _FILE_OFFSET_BITS 64
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/host/ext2_img.h"

TestSuite(ext2, .init = ext2t_setup, .fini = ext2t_teardown, .timeout = 240);

/* ---- comparing with the source tree ---- */

struct walk {
	struct ext2_fs *fs;
	unsigned files, dirs, links, bytes_mib;
	bool ns;   /* 256-byte inodes: nanoseconds */
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void compare_data(struct walk *w, const struct ext2_inode *in, const char *path,
			 const struct stat *st)
{
	int fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	static u8 a[1 << 20], b[1 << 20];
	/* the data extents of the source (and the holes between, sampled) */
	off_t pos = 0;
	u64 size = (u64)st->st_size;
	while ((u64)pos < size) {
		off_t data = lseek(fd, pos, SEEK_DATA);
		if (data < 0)
			data = (off_t)size;
		if (data > pos) {
			/* a hole: zeros at its start, middle and end */
			u64 hl = (u64)(data - pos);
			u64 at[3] = { (u64)pos, (u64)pos + hl / 2, (u64)data - MIN(hl, 4096) };
			for (int i = 0; i < 3; i++) {
				size_t k = (size_t)MIN(hl, 4096);
				memset(b, 0xaa, k);
				cr_assert_eq(ext2_read(w->fs, in, at[i], b, k), (long)k, "%s: hole at %llu",
					     path, (unsigned long long)at[i]);
				for (size_t j = 0; j < k; j++)
					cr_assert_eq(b[j], 0, "%s: byte %llu of a hole is %#x", path,
						     (unsigned long long)(at[i] + j), b[j]);
			}
		}
		if ((u64)data >= size)
			break;
		off_t end = lseek(fd, data, SEEK_HOLE);
		cr_assert(end > data);
		/* odd chunk sizes, so reads start and end inside blocks */
		for (u64 o = (u64)data; o < (u64)end;) {
			size_t k = (size_t)MIN((u64)end - o, (u64)(65536 + 4097));
			cr_assert_eq(pread(fd, a, k, (off_t)o), (ssize_t)k);
			long r = ext2_read(w->fs, in, o, b, k);
			cr_assert_eq(r, (long)k, "%s: read at %llu: %ld", path, (unsigned long long)o, r);
			cr_assert(memcmp(a, b, k) == 0, "%s: bytes differ at %llu..%llu", path,
				  (unsigned long long)o, (unsigned long long)(o + k));
			o += k;
		}
		pos = end;
	}
	/* at and past the end */
	cr_assert_eq(ext2_read(w->fs, in, size, b, 10), 0);
	if (size)
		cr_assert_eq(ext2_read(w->fs, in, size - 1, b, 10), 1);
	close(fd);
}

static void compare_dir(struct walk *w, const struct ext2_inode *dir, const char *path, int depth);

static void compare_one(struct walk *w, const struct ext2_inode *dir, const char *dpath,
			const char *name, int depth)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dpath, name);
	struct stat st;
	cr_assert(lstat(path, &st) == 0);
	u32 ino;
	int r = ext2_lookup(w->fs, dir, name, strlen(name), &ino);
	cr_assert_eq(r, 0, "lookup %s: %d", path, r);
	struct ext2_inode in;
	cr_assert_eq(ext2_iget(w->fs, ino, &in), 0, "%s", path);
	cr_assert_eq(in.mode, st.st_mode, "%s: mode %o, source %o", path, in.mode, st.st_mode);
	cr_assert_eq(in.uid, st.st_uid, "%s: uid", path);
	cr_assert_eq(in.gid, st.st_gid, "%s: gid", path);
	cr_assert_eq(in.links, st.st_nlink, "%s: %u links, source %lu", path, in.links,
		     (unsigned long)st.st_nlink);
	cr_assert_eq(in.mtime, st.st_mtim.tv_sec, "%s: mtime", path);
	/* mke2fs -d (1.47) stores whole seconds; the nanoseconds are checked
	 * with a written extra field in corrupt_inodes_and_pointers */
	if (w->ns)
		cr_assert(in.mtime_ns == 0 || in.mtime_ns == (u32)st.st_mtim.tv_nsec, "%s: mtime ns",
			  path);
	else
		cr_assert_eq(in.mtime_ns, 0);
	if (S_ISREG(st.st_mode)) {
		cr_assert_eq(in.size, (u64)st.st_size, "%s: size", path);
		compare_data(w, &in, path, &st);
		w->files++;
	} else if (S_ISLNK(st.st_mode)) {
		char a[4096], b[4096];
		ssize_t n = readlink(path, a, sizeof(a));
		cr_assert(n > 0);
		cr_assert_eq(in.size, (u64)n);
		cr_assert_eq(ext2_readlink(w->fs, &in, b, sizeof(b)), n, "%s", path);
		cr_assert(memcmp(a, b, (size_t)n) == 0 && b[n] == '\0', "%s: target", path);
		cr_assert_eq(ext2_readlink(w->fs, &in, b, (size_t)n), -ENAMETOOLONG);
		w->links++;
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		u32 ma = (in.rdev >> 8) & 0xfff, mi = (in.rdev & 0xff) | ((in.rdev >> 12) & 0xfff00);
		cr_assert_eq(ma, major(st.st_rdev), "%s: major", path);
		cr_assert_eq(mi, minor(st.st_rdev), "%s: minor", path);
	} else if (S_ISDIR(st.st_mode)) {
		compare_dir(w, &in, path, depth + 1);
	}
}

static void compare_dir(struct walk *w, const struct ext2_inode *dir, const char *path, int depth)
{
	cr_assert(depth < 64);
	w->dirs++;
	DIR *d = opendir(path);
	cr_assert_not_null(d);
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	/* the image's entries: the same names (plus "." and ".."), right types */
	char **got = NULL;
	size_t m = 0;
	struct ext2_dirent de;
	u64 off = 0;
	int r;
	bool dot = false, dotdot = false, lost_found = depth > 0;
	while ((r = ext2_dir_next(w->fs, dir, &off, &de)) > 0) {
		if (!strcmp(de.name, ".")) {
			dot = de.ino == dir->ino;
			continue;
		}
		if (!strcmp(de.name, "..")) {
			dotdot = true;
			continue;
		}
		if (depth == 0 && !strcmp(de.name, "lost+found")) {
			lost_found = true;   /* mke2fs makes it */
			continue;
		}
		got = realloc(got, (m + 1) * sizeof(*got));
		got[m++] = strdup(de.name);
		if (w->fs->incompat & EXT2_INCOMPAT_FILETYPE) {
			struct ext2_inode c;
			cr_assert_eq(ext2_iget(w->fs, de.ino, &c), 0);
			cr_assert_eq(de.type, c.mode & EXT2_S_IFMT, "%s/%s: entry type", path,
				     de.name);
		} else {
			cr_assert_eq(de.type, 0);
		}
	}
	cr_assert_eq(r, 0, "%s: readdir error %d", path, r);
	cr_assert(dot && dotdot && lost_found, "%s: no ., .. or lost+found", path);
	if (m)
		qsort(got, m, sizeof(*got), cmp_name);
	cr_assert_eq(m, n, "%s: %zu entries in the image, %zu in the source", path, m, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(got[i], names[i]);
	for (size_t i = 0; i < n; i++) {
		compare_one(w, dir, path, names[i], depth);
		free(names[i]);
		free(got[i]);
	}
	free(names);
	free(got);
	u32 ino;
	cr_assert_eq(ext2_lookup(w->fs, dir, "no-such-name", 12, &ino), -ENOENT);
}

/* htree: e2fsck -D indexes every directory of more than one block */
static void index_dirs(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "e2fsck -fyD '%s' >'%s/e2fsck.log' 2>&1", ext2t_img, ext2t_tmp);
	int r = system(cmd);
	cr_assert(WIFEXITED(r) && WEXITSTATUS(r) <= 1, "e2fsck -fyD: %d", r);
}

static void check_image_with(const char *opts, unsigned mib, bool full, u32 want_bs,
			     u32 want_isz, bool htree)
{
	ext2t_make_tree(full);
	ext2t_mkfs(opts, mib);
	if (htree)
		index_dirs();
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_FILE_RO);
	struct ext2_fs fs;
	char msg[200];
	int r = ext2t_mount(&fs, &d, msg, sizeof(msg));
	cr_assert_eq(r, 0, "mount: %d %s", r, msg);
	cr_assert_eq(fs.block_size, want_bs);
	cr_assert_eq(fs.inode_size, want_isz);
	struct ext2_inode root;
	cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
	struct walk w = { .fs = &fs, .ns = want_isz >= 256 };
	if (htree) {
		u32 ino;
		struct ext2_inode many;
		cr_assert_eq(ext2_lookup(&fs, &root, "many", 4, &ino), 0);
		cr_assert_eq(ext2_iget(&fs, ino, &many), 0);
		cr_assert(many.flags & EXT2_FL_INDEX, "e2fsck -D did not index 'many' (%#x)",
			  many.flags);
	}
	compare_dir(&w, &root, ext2t_src, 0);
	cr_assert_geq(w.files, 600 + 12);
	cr_assert_eq(w.links, 4);
	cr_assert_eq(w.dirs, 1 + 25 + 3);
	cr_assert_eq(fs.corrupt, 0);
	cr_assert_eq(fs.io_errors, 0);
	ext2_unmount(&fs);
	ext2t_close(&d);
}

static void check_image(const char *opts, unsigned mib, bool full, u32 want_bs, u32 want_isz)
{
	check_image_with(opts, mib, full, want_bs, want_isz, false);
}

Test(ext2, dir_index_directories_read_linearly)
{
	check_image_with("-t ext3 -b 1024", 64, false, 1024, 256, true);
}

Test(ext2, ext3_4k_blocks_256_byte_inodes)
{
	check_image("-t ext3 -b 4096 -I 256", 64, true, 4096, 256);
}

Test(ext2, ext2_1k_blocks_128_byte_inodes)
{
	check_image("-t ext2 -b 1024 -I 128", 64, true, 1024, 128);
}

Test(ext2, ext3_2k_blocks)
{
	check_image("-t ext3 -b 2048", 64, true, 2048, 256);
}

Test(ext2, ext2_64k_blocks)
{
	check_image("-t ext2 -b 65536", 96, false, 65536, 256);
}

Test(ext2, revision_0_no_filetype)
{
	check_image("-t ext2 -r 0 -b 4096", 64, true, 4096, 128);
}

Test(ext2, journal_and_features_reported)
{
	ext2t_make_tree(false);
	ext2t_mkfs("-t ext3", 32);
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_FILE_RO);
	struct ext2_fs fs;
	char msg[200], names[300];
	cr_assert_eq(ext2t_mount(&fs, &d, msg, sizeof(msg)), 0, "%s", msg);
	ext2_feature_names(&fs, names, sizeof(names));
	cr_assert(strstr(names, "has_journal") && strstr(names, "filetype") &&
		  strstr(names, "dir_index"), "%s", names);
	cr_assert(strstr(ext2_journal_state(&fs), "clean"));
	cr_assert_neq(fs.journal_inum, 0);
	ext2_unmount(&fs);
	ext2t_close(&d);
}
