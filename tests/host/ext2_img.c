/*
 * The ext2 and JBD2 host tests' scratch folder, source tree, images and
 * fake disk (ext2_img.h).
 */
#define _FILE_OFFSET_BITS 64
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kernel/console/console.h"
#include "tests/host/ext2_img.h"
#include "tests/host/host.h"

char ext2t_tmp[64], ext2t_src[100], ext2t_img[100];

void ext2t_setup(void)
{
	host_slab_init();
	log_level = 1;   /* corruption messages are LOG_ERR: shown, one a case */
	snprintf(ext2t_tmp, sizeof(ext2t_tmp), "/tmp/caboose-ext2-XXXXXX");
	cr_assert_not_null(mkdtemp(ext2t_tmp));
	snprintf(ext2t_src, sizeof(ext2t_src), "%s/src", ext2t_tmp);
	snprintf(ext2t_img, sizeof(ext2t_img), "%s/img", ext2t_tmp);
}

void ext2t_teardown(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ext2t_tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "ext2 tests: could not remove %s\n", ext2t_tmp);
}

void ext2t_sh(const char *fmt, ...)
{
	char cmd[2000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
}

unsigned ext2t_sh_num(const char *fmt, ...)
{
	char cmd[2000], line[200] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(line, sizeof(line), p), "no output: %s", cmd);
	pclose(p);
	return (unsigned)strtoul(line, NULL, 10);
}

/* ---- the source tree ---- */

u8 ext2t_pat(unsigned id, u64 off)
{
	return (u8)((off * 131 + id * 7 + (off >> 9)) ^ (off >> 17));
}

void ext2t_put(const char *rel, unsigned id, u64 off, u64 len)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", ext2t_src, rel);
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	cr_assert(fd >= 0, "open %s failed", p);
	u8 buf[65536];
	while (len) {
		size_t k = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = ext2t_pat(id, off + i);
		cr_assert_eq(pwrite(fd, buf, k, (off_t)off), (ssize_t)k);
		off += k;
		len -= k;
	}
	close(fd);
}

void ext2t_mkdir(const char *rel, mode_t mode)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", ext2t_src, rel);
	cr_assert(mkdir(p, mode) == 0, "mkdir %s failed", p);
}

static void sized(const char *rel, u64 size)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", ext2t_src, rel);
	cr_assert(truncate(p, (off_t)size) == 0);
}

static void lnk(const char *target, const char *rel)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", ext2t_src, rel);
	cr_assert(symlink(target, p) == 0);
}

void ext2t_make_tree(bool full)
{
	ext2t_mkdir("", 0755);
	ext2t_put("small.txt", 0, 0, 0);
	{
		char p[600];
		snprintf(p, sizeof(p), "%s/small.txt", ext2t_src);
		FILE *f = fopen(p, "w");
		cr_assert_not_null(f);
		fputs("hello, ext2\n", f);
		fclose(f);
	}
	ext2t_put("empty", 1, 0, 0);
	ext2t_put("medium.bin", 2, 0, 50000);
	ext2t_put("big.bin", 3, 0, (3u << 20) + 123);
	ext2t_put("sparse.bin", 4, 0, 5000);
	ext2t_put("sparse.bin", 4, 300000, 3000);
	sized("sparse.bin", 2000000);
	if (full) {
		ext2t_put("huge.bin", 5, 0, 64);
		ext2t_put("huge.bin", 5, (1ULL << 32) - 10, 100);
		ext2t_put("huge.bin", 5, EXT2T_HUGE_SIZE - 50, 50);
	}
	char deep[600] = "deep";
	ext2t_mkdir(deep, 0755);
	for (int i = 1; i <= 24; i++) {
		size_t n = strlen(deep);
		snprintf(deep + n, sizeof(deep) - n, "/d%d", i);
		ext2t_mkdir(deep, 0755);
	}
	strcat(deep, "/leaf.txt");
	ext2t_put(deep, 6, 0, 777);
	ext2t_mkdir("names", 0755);
	char longname[300] = "names/";
	for (int i = 0; i < 255; i++)
		longname[6 + i] = (char)('a' + i % 26);
	longname[6 + 255] = '\0';
	ext2t_put(longname, 7, 0, 10);
	ext2t_put("names/with space", 8, 0, 11);
	ext2t_put("names/\xc3\xa9t\xc3\xa9", 9, 0, 12);
	ext2t_mkdir("many", 0755);
	for (int i = 0; i < 600; i++) {
		char p[64];
		snprintf(p, sizeof(p), "many/file-with-a-longish-name-%03d", i);
		ext2t_put(p, 10 + (unsigned)i, 0, (u64)i);
	}
	lnk("small.txt", "fast-link");
	char slow[300];
	memset(slow, 'x', 200);
	strcpy(slow + 200, "/target");
	lnk(slow, "slow-link");
	lnk("nowhere", "dangling");
	lnk("/etc/passwd", "absolute");
	char p[600], q[600];
	snprintf(p, sizeof(p), "%s/medium.bin", ext2t_src);
	snprintf(q, sizeof(q), "%s/medium.hard", ext2t_src);
	cr_assert(link(p, q) == 0);
	snprintf(p, sizeof(p), "%s/fifo", ext2t_src);
	cr_assert(mkfifo(p, 0640) == 0);
	if (getuid() == 0) {
		snprintf(p, sizeof(p), "%s/null", ext2t_src);
		cr_assert(mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0);
		snprintf(p, sizeof(p), "%s/disk", ext2t_src);
		cr_assert(mknod(p, S_IFBLK | 0660, makedev(259, 300)) == 0);
		snprintf(p, sizeof(p), "%s/medium.bin", ext2t_src);
		cr_assert(chown(p, 1234, 5678) == 0);
	}
	ext2t_put("secret", 11, 0, 5);
	snprintf(p, sizeof(p), "%s/secret", ext2t_src);
	cr_assert(chmod(p, 0600) == 0);
	ext2t_put("setuid", 12, 0, 5);
	snprintf(p, sizeof(p), "%s/setuid", ext2t_src);
	cr_assert(chmod(p, 04755) == 0);
	ext2t_mkdir("private", 0700);
}

void ext2t_mkfs(const char *opts, unsigned mib)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "rm -f '%s' && truncate -s %uM '%s' && "
		 "mke2fs -q -F %s -d '%s' '%s' >'%s/mke2fs.log' 2>&1", ext2t_img, mib, ext2t_img,
		 opts, ext2t_src, ext2t_img, ext2t_tmp);
	int r = system(cmd);
	if (r != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/mke2fs.log' >&2", ext2t_tmp);
		(void)!system(cmd);
	}
	cr_assert_eq(r, 0, "mke2fs %s failed", opts);
}

int ext2t_fsck(const char *path)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "e2fsck -fn '%s' >'%s/fsck.log' 2>&1", path, ext2t_tmp);
	int r = system(cmd);
	if (r != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/fsck.log' >&2", ext2t_tmp);
		(void)!system(cmd);
	}
	return r;
}

/* ---- the fake disk ---- */

void ext2t_open(struct ext2t_disk *d, const char *path, enum ext2t_how how)
{
	memset(d, 0, sizeof(*d));
	d->budget = -1;
	d->fd = open(path, how == EXT2T_FILE_RW ? O_RDWR : O_RDONLY);
	cr_assert(d->fd >= 0, "open %s", path);
	struct stat st;
	cr_assert(fstat(d->fd, &st) == 0);
	d->size = (u64)st.st_size;
	if (how == EXT2T_MEM) {
		d->mem = malloc(d->size);
		cr_assert_not_null(d->mem);
		cr_assert_eq(pread(d->fd, d->mem, d->size, 0), (ssize_t)d->size);
		close(d->fd);
		d->fd = -1;
	}
}

void ext2t_close(struct ext2t_disk *d)
{
	free(d->mem);
	d->mem = NULL;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

void ext2t_save(const struct ext2t_disk *d, const char *path)
{
	cr_assert_not_null(d->mem);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, d->mem, d->size, 0), (ssize_t)d->size);
	close(fd);
}

int ext2t_read(void *ctx, u64 off, void *buf, size_t len)
{
	struct ext2t_disk *d = ctx;
	cr_assert(off + len <= d->size, "read past the disk: %llu + %zu",
		  (unsigned long long)off, len);
	d->reads++;
	if (d->mem) {
		memcpy(buf, d->mem + off, len);
		return 0;
	}
	return pread(d->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

int ext2t_write(void *ctx, u64 off, const void *buf, size_t len)
{
	struct ext2t_disk *d = ctx;
	cr_assert(off + len <= d->size, "write past the disk: %llu + %zu",
		  (unsigned long long)off, len);
	if (d->budget == 0)
		return -EIO;   /* the power is off: nothing more reaches the disk */
	if (d->budget > 0)
		d->budget--;
	d->writes++;
	if (d->mem) {
		memcpy(d->mem + off, buf, len);
		return 0;
	}
	return pwrite(d->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

int ext2t_flush(void *ctx)
{
	struct ext2t_disk *d = ctx;
	if (d->budget == 0)
		return -EIO;
	if (d->mem)
		return 0;
	return fsync(d->fd) == 0 ? 0 : -EIO;
}

int ext2t_mount(struct ext2_fs *fs, struct ext2t_disk *d, char *msg, size_t n)
{
	return ext2_mount(fs, ext2t_read, d, d->size, "test", msg, n);
}
