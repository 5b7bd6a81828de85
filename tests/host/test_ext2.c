/*
 * fs/ext2: the read-only ext2/ext3 code over a file-backed fake disk.
 *
 * Each test writes a directory tree (small, empty, medium and large files,
 * a sparse file, a sparse file past 4 GiB, a deep directory, long names, a
 * directory of many entries, fast, slow and dangling symbolic links, a
 * hard link, a FIFO, a device node, odd modes and owners), makes an image
 * of it with the host's `mke2fs -d` (ext2 and ext3, 1, 2, 4 and 64 KiB
 * blocks, 128 and 256-byte inodes, revision 0 and 1), and compares every
 * file's bytes and metadata read through fs/ext2 with the source tree.
 * Then targeted corruptions of a good image (superblock fields, feature
 * bits, group descriptors, inodes, block pointers, an indirect loop,
 * directory entries) must give the documented error, and random byte
 * changes of the metadata must give errors or data, never a crash (the
 * sanitizers watch) or a hang (the suite's timeout).
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

#include "fs/ext2/ext2_priv.h"
#include "kernel/console/console.h"
#include "tests/host/host.h"

#define HUGE_SIZE 4700000000ULL

static char tmp[64], src[100], img[100];

static void setup(void)
{
	host_slab_init();
	log_level = 1;   /* corruption messages are LOG_ERR: shown, one a case */
	snprintf(tmp, sizeof(tmp), "/tmp/caboose-ext2-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(src, sizeof(src), "%s/src", tmp);
	snprintf(img, sizeof(img), "%s/img", tmp);
}

static void teardown(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "test_ext2: could not remove %s\n", tmp);
}

TestSuite(ext2, .init = setup, .fini = teardown, .timeout = 240);

/* ---- the source tree ---- */

static u8 pat(unsigned id, u64 off)
{
	return (u8)((off * 131 + id * 7 + (off >> 9)) ^ (off >> 17));
}

static void put(const char *rel, unsigned id, u64 off, u64 len)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", src, rel);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	cr_assert(fd >= 0, "open %s failed", p);
	u8 buf[65536];
	while (len) {
		size_t k = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = pat(id, off + i);
		cr_assert_eq(pwrite(fd, buf, k, (off_t)off), (ssize_t)k);
		off += k;
		len -= k;
	}
	close(fd);
}

static void mk(const char *rel, mode_t mode)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", src, rel);
	cr_assert(mkdir(p, mode) == 0, "mkdir %s failed", p);
}

static void sized(const char *rel, u64 size)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", src, rel);
	cr_assert(truncate(p, (off_t)size) == 0);
}

static void lnk(const char *target, const char *rel)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", src, rel);
	cr_assert(symlink(target, p) == 0);
}

/* full: the 4 GiB+ sparse file too (it needs the large_file feature) */
static void make_tree(bool full)
{
	mk("", 0755);
	put("small.txt", 0, 0, 0);
	{
		char p[600];
		snprintf(p, sizeof(p), "%s/small.txt", src);
		FILE *f = fopen(p, "w");
		cr_assert_not_null(f);
		fputs("hello, ext2\n", f);
		fclose(f);
	}
	put("empty", 1, 0, 0);
	put("medium.bin", 2, 0, 50000);
	put("big.bin", 3, 0, (3u << 20) + 123);
	put("sparse.bin", 4, 0, 5000);
	put("sparse.bin", 4, 300000, 3000);
	sized("sparse.bin", 2000000);
	if (full) {
		put("huge.bin", 5, 0, 64);
		put("huge.bin", 5, (1ULL << 32) - 10, 100);
		put("huge.bin", 5, HUGE_SIZE - 50, 50);
	}
	char deep[600] = "deep";
	mk(deep, 0755);
	for (int i = 1; i <= 24; i++) {
		size_t n = strlen(deep);
		snprintf(deep + n, sizeof(deep) - n, "/d%d", i);
		mk(deep, 0755);
	}
	strcat(deep, "/leaf.txt");
	put(deep, 6, 0, 777);
	mk("names", 0755);
	char longname[300] = "names/";
	for (int i = 0; i < 255; i++)
		longname[6 + i] = (char)('a' + i % 26);
	longname[6 + 255] = '\0';
	put(longname, 7, 0, 10);
	put("names/with space", 8, 0, 11);
	put("names/\xc3\xa9t\xc3\xa9", 9, 0, 12);
	mk("many", 0755);
	for (int i = 0; i < 600; i++) {
		char p[64];
		snprintf(p, sizeof(p), "many/file-with-a-longish-name-%03d", i);
		put(p, 10 + (unsigned)i, 0, (u64)i);
	}
	lnk("small.txt", "fast-link");
	char slow[300];
	memset(slow, 'x', 200);
	strcpy(slow + 200, "/target");
	lnk(slow, "slow-link");
	lnk("nowhere", "dangling");
	lnk("/etc/passwd", "absolute");
	char p[600], q[600];
	snprintf(p, sizeof(p), "%s/medium.bin", src);
	snprintf(q, sizeof(q), "%s/medium.hard", src);
	cr_assert(link(p, q) == 0);
	snprintf(p, sizeof(p), "%s/fifo", src);
	cr_assert(mkfifo(p, 0640) == 0);
	if (getuid() == 0) {
		snprintf(p, sizeof(p), "%s/null", src);
		cr_assert(mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0);
		snprintf(p, sizeof(p), "%s/disk", src);
		cr_assert(mknod(p, S_IFBLK | 0660, makedev(259, 300)) == 0);
		snprintf(p, sizeof(p), "%s/medium.bin", src);
		cr_assert(chown(p, 1234, 5678) == 0);
	}
	put("secret", 11, 0, 5);
	snprintf(p, sizeof(p), "%s/secret", src);
	cr_assert(chmod(p, 0600) == 0);
	put("setuid", 12, 0, 5);
	snprintf(p, sizeof(p), "%s/setuid", src);
	cr_assert(chmod(p, 04755) == 0);
	mk("private", 0700);
}

static void make_image(const char *opts, unsigned mib)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "rm -f '%s' && truncate -s %uM '%s' && "
		 "mke2fs -q -F %s -d '%s' '%s' >'%s/mke2fs.log' 2>&1", img, mib, img, opts, src,
		 img, tmp);
	int r = system(cmd);
	if (r != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/mke2fs.log' >&2", tmp);
		(void)!system(cmd);
	}
	cr_assert_eq(r, 0, "mke2fs %s failed", opts);
}

/* ---- the fake disk ---- */

struct disk {
	u8 *mem;       /* the image in memory (corruption tests) or NULL */
	int fd;
	u64 size;
	u64 reads;
};

static int disk_read(void *ctx, u64 off, void *buf, size_t len)
{
	struct disk *d = ctx;
	cr_assert(off + len <= d->size, "ext2 read past the disk: %llu + %zu",
		  (unsigned long long)off, len);
	d->reads++;
	if (d->mem) {
		memcpy(buf, d->mem + off, len);
		return 0;
	}
	return pread(d->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static void disk_open(struct disk *d, bool in_memory)
{
	memset(d, 0, sizeof(*d));
	d->fd = open(img, O_RDONLY);
	cr_assert(d->fd >= 0);
	struct stat st;
	cr_assert(fstat(d->fd, &st) == 0);
	d->size = (u64)st.st_size;
	if (in_memory) {
		d->mem = malloc(d->size);
		cr_assert_not_null(d->mem);
		cr_assert_eq(pread(d->fd, d->mem, d->size, 0), (ssize_t)d->size);
	}
}

static void disk_close(struct disk *d)
{
	free(d->mem);
	close(d->fd);
}

static int mount_disk(struct ext2_fs *fs, struct disk *d, char *msg, size_t n)
{
	return ext2_mount(fs, disk_read, d, d->size, "test", msg, n);
}

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
	snprintf(cmd, sizeof(cmd), "e2fsck -fyD '%s' >'%s/e2fsck.log' 2>&1", img, tmp);
	int r = system(cmd);
	cr_assert(WIFEXITED(r) && WEXITSTATUS(r) <= 1, "e2fsck -fyD: %d", r);
}

static void check_image_with(const char *opts, unsigned mib, bool full, u32 want_bs,
			     u32 want_isz, bool htree)
{
	make_tree(full);
	make_image(opts, mib);
	if (htree)
		index_dirs();
	struct disk d;
	disk_open(&d, false);
	struct ext2_fs fs;
	char msg[200];
	int r = mount_disk(&fs, &d, msg, sizeof(msg));
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
	compare_dir(&w, &root, src, 0);
	cr_assert_geq(w.files, 600 + 12);
	cr_assert_eq(w.links, 4);
	cr_assert_eq(w.dirs, 1 + 25 + 3);
	cr_assert_eq(fs.corrupt, 0);
	cr_assert_eq(fs.io_errors, 0);
	ext2_unmount(&fs);
	disk_close(&d);
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
	make_tree(false);
	make_image("-t ext3", 32);
	struct disk d;
	disk_open(&d, false);
	struct ext2_fs fs;
	char msg[200], names[300];
	cr_assert_eq(mount_disk(&fs, &d, msg, sizeof(msg)), 0, "%s", msg);
	ext2_feature_names(&fs, names, sizeof(names));
	cr_assert(strstr(names, "has_journal") && strstr(names, "filetype") &&
		  strstr(names, "dir_index"), "%s", names);
	cr_assert(strstr(ext2_journal_state(&fs), "clean"));
	cr_assert_neq(fs.journal_inum, 0);
	ext2_unmount(&fs);
	disk_close(&d);
}

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
	struct disk d;
	u8 *good;
	struct ext2_fs fs;   /* mounted on the good image, to find things */
};

static void corrupt_setup(struct corrupt_img *c)
{
	make_tree(false);
	make_image("-t ext3 -b 1024", 16);
	disk_open(&c->d, true);
	c->good = malloc(c->d.size);
	memcpy(c->good, c->d.mem, c->d.size);
	char msg[200];
	cr_assert_eq(mount_disk(&c->fs, &c->d, msg, sizeof(msg)), 0, "%s", msg);
}

static void restore(struct corrupt_img *c) { memcpy(c->d.mem, c->good, c->d.size); }

static void corrupt_done(struct corrupt_img *c)
{
	ext2_unmount(&c->fs);
	free(c->good);
	disk_close(&c->d);
}

/* Mount the (changed) image and walk it: the mount's result. */
static int try_image(struct corrupt_img *c, char *msg, size_t n, unsigned *errors)
{
	struct ext2_fs fs;
	int r = mount_disk(&fs, &c->d, msg, n);
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

Test(ext2, corrupt_superblock_refused)
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

Test(ext2, unsupported_features_named)
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

Test(ext2, corrupt_group_descriptor_refused)
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

Test(ext2, corrupt_inodes_and_pointers)
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
	cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
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
	cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
	cr_assert_eq(ext2_iget(&fs, in.ino, &in), 0);
	cr_assert_eq(ext2_read(&fs, &in, 20 * 1024, buf, 100), -EUCLEAN);
	ext2_unmount(&fs);
	restore(&c);
	/* a loop: the double indirect block's first entry names itself */
	off = inode_off(&c, "big.bin", &in);
	u32 dind = in.block[EXT2_DIND_BLOCK];
	cr_assert_neq(dind, 0);
	put32(c.d.mem + (u64)dind * 1024, dind);
	cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
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
		cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
		struct ext2_inode x;
		cr_assert_eq(ext2_iget(&fs, in.ino, &x), -EUCLEAN, "case %zu", i);
		cr_assert_eq(fs.corrupt, 1);
		ext2_unmount(&fs);
		restore(&c);
	}
	/* the extra time fields: nanoseconds, and epoch bits past 2038 */
	off = inode_off(&c, "small.txt", &in);
	put32(c.d.mem + off + IN_MTIME_EXTRA, 123456789u << 2 | 1);
	cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
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
	cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
	cr_assert_eq(ext2_iget(&fs, in.ino, &in), 0);
	cr_assert_eq(ext2_readlink(&fs, &in, (char *)buf, sizeof(buf)), -EUCLEAN);
	ext2_unmount(&fs);
	restore(&c);
	/* an inode number past the count */
	cr_assert_eq(ext2_iget(&c.fs, c.fs.inodes_count + 1, &in), -EUCLEAN);
	cr_assert_eq(ext2_iget(&c.fs, 0, &in), -EUCLEAN);
	corrupt_done(&c);
}

Test(ext2, corrupt_directory_entries)
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
		cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
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
	cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
	u32 ino;
	cr_assert_eq(ext2_lookup(&fs, &dir, "with space", 10, &ino), -EUCLEAN);
	ext2_unmount(&fs);
	restore(&c);
	/* a hole in a directory */
	u64 off = inode_off(&c, "many", &dir);
	put32(c.d.mem + off + IN_BLOCK + 4, 0);
	cr_assert_eq(mount_disk(&fs, &c.d, msg, sizeof(msg)), 0);
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

Test(ext2, random_metadata_damage_never_crashes)
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

/* ---- writing (fs/ext2/ext2_write.c) ----
 * Every operation on an image made by mke2fs is followed by `e2fsck -fn`
 * (exit 0: clean) and mirrored with POSIX calls in a host directory; at
 * the end `debugfs -R rdump` copies the image's tree out and `diff -r`
 * compares it with the mirror. */

static char want[120];   /* the mirror */

static int wdisk_write(void *ctx, u64 off, const void *buf, size_t len)
{
	struct disk *d = ctx;
	cr_assert(off + len <= d->size, "ext2 write past the disk: %llu + %zu",
		  (unsigned long long)off, len);
	return pwrite(d->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static s64 fixed_now(void) { return 1700000000; }

static int wdisk_flush(void *ctx)
{
	struct disk *d = ctx;
	return fsync(d->fd) == 0 ? 0 : -EIO;
}

static struct ext2_fs *wfs;   /* the mount being written: synced before e2fsck looks */

static void wmount(struct ext2_fs *fs, struct disk *d)
{
	memset(d, 0, sizeof(*d));
	d->fd = open(img, O_RDWR);
	cr_assert(d->fd >= 0);
	struct stat st;
	cr_assert(fstat(d->fd, &st) == 0);
	d->size = (u64)st.st_size;
	char msg[200];
	cr_assert_eq(mount_disk(fs, d, msg, sizeof(msg)), 0, "mount: %s", msg);
	fs->flush = wdisk_flush;
	cr_assert_eq(ext2_enable_write(fs, wdisk_write, msg, sizeof(msg)), 0, "write: %s", msg);
	fs->now = fixed_now;
	wfs = fs;
}

static void fsck_clean(const char *after)
{
	if (wfs)   /* ext3: the running transaction committed, the journal clean */
		cr_assert_eq(ext2_sync(wfs), 0, "sync before e2fsck after %s", after);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "e2fsck -fn '%s' >'%s/fsck.log' 2>&1", img, tmp);
	int r = system(cmd);
	if (r != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/fsck.log' >&2", tmp);
		(void)!system(cmd);
	}
	cr_assert_eq(r, 0, "e2fsck -fn finds the image unclean after %s", after);
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
			buf[i] = pat(id, off + i);
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
		 tmp, tmp, tmp, img, tmp, want);
	cr_assert_eq(system(cmd), 0, "the image's tree differs from the mirror");
}

static void write_ops(const char *opts)
{
	make_tree(false);
	make_image(opts, 64);
	snprintf(want, sizeof(want), "%s/want", tmp);
	char cmd[1000];
	snprintf(cmd, sizeof(cmd), "mkdir '%s' && debugfs -R 'rdump / %s' '%s' >/dev/null 2>&1",
		 want, want, img);
	cr_assert_eq(system(cmd), 0);
	struct ext2_fs fs;
	struct disk d;
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
	close(d.fd);
	compare_tree();
	(void)ifree0;
}

Test(ext2, write_ops_4k_blocks_fsck_clean_and_tree_matches)
{
	write_ops("-t ext2 -b 4096 -I 256");
}

Test(ext2, write_ops_1k_blocks_128_byte_inodes)
{
	write_ops("-t ext2 -b 1024 -I 128");
}

/* ext3: the same operations through the journal (fs/ext2/jbd2.h) */
Test(ext2, write_ops_ext3_1k_blocks)
{
	write_ops("-t ext3 -b 1024 -I 128");
}

Test(ext2, write_ops_ext3_4k_blocks)
{
	write_ops("-t ext3 -b 4096 -I 256");
}

Test(ext2, write_disk_full_enospc_leaves_image_clean)
{
	mk("", 0755);
	make_image("-t ext2 -b 1024 -N 32", 1);
	struct ext2_fs fs;
	struct disk d;
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
	close(d.fd);
}

static void md5_of(char *out, size_t n)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "md5sum < '%s'", img);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(out, (int)n, p));
	pclose(p);
}

/* ext3 with a journal feature the writer does not keep (checksums v3):
 * read-only, the feature named, nothing written */
Test(ext2, write_ext3_journal_checksums_refused_erofs)
{
	make_tree(false);
	make_image("-t ext3", 16);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "debugfs -R 'bmap <8> 0' '%s' 2>/dev/null", img);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	unsigned jb = 0;
	cr_assert_eq(fscanf(p, "%u", &jb), 1);
	pclose(p);
	unsigned bs = 1024;   /* mke2fs's choice for 16 MiB */
	int fd = open(img, O_RDWR);
	cr_assert(fd >= 0);
	u8 v[4] = { 0, 0, 0, 0x10 };   /* big-endian JBD2_INCOMPAT_CSUM_V3 */
	cr_assert_eq(pwrite(fd, v, 4, (off_t)jb * bs + 0x28), 4);
	close(fd);
	char before[100], after[100], msg[200];
	md5_of(before, sizeof(before));
	struct ext2_fs fs;
	struct disk d;
	memset(&d, 0, sizeof(d));
	d.fd = open(img, O_RDWR);
	cr_assert(d.fd >= 0);
	struct stat st;
	cr_assert(fstat(d.fd, &st) == 0);
	d.size = (u64)st.st_size;
	cr_assert_eq(mount_disk(&fs, &d, msg, sizeof(msg)), 0);
	fs.flush = wdisk_flush;
	cr_assert_eq(ext2_enable_write(&fs, wdisk_write, msg, sizeof(msg)), -EROFS);
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
	close(d.fd);
	md5_of(after, sizeof(after));
	cr_assert_str_eq(before, after, "the ext3 image changed");
}

Test(ext2, write_name_errors)
{
	mk("", 0755);
	make_image("-t ext2", 4);
	struct ext2_fs fs;
	struct disk d;
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
	close(d.fd);
}
