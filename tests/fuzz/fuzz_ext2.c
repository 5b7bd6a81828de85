/*
 * libFuzzer target for the read-only ext2/ext3 code (fs/ext2/), built on
 * the host from the real code: the input is a disk image (tests/fuzz/run.py
 * seeds it with small images made by mke2fs -d, ext2 and ext3). The harness
 * mounts it and, when that succeeds, walks every directory (bounded: a
 * corrupt image can make a directory its own child), reads every file,
 * link and directory entry, and reads directories from odd offsets.
 * A panic, a sanitizer report, a read outside the image, an inconsistent
 * result (a read longer than asked, an entry with a bad name) or a hang
 * (libFuzzer's -timeout) is a crash, and so is a kmalloc object left
 * behind after the unmount (a leak). Then, on a copy of the image, a few
 * writes (create, write, truncate, link, mkdir, rename, unlink, a slow
 * symbolic link, unlinking the image's own first entries): errors are
 * fine, a write outside the image or a crash is not. Before the mount,
 * ext2_replay replays the journal of an image marked needs_recovery
 * (fs/ext2/jbd2.h): a malformed journal must be refused with a message,
 * never followed outside the image or around in circles.
 */
#include "fs/ext2/ext2.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "tests/host/host.h"

#include <stdlib.h>

struct image {
	u8 *p;
	size_t n;
};

static int image_read(void *ctx, u64 off, void *buf, size_t len)
{
	const struct image *im = ctx;
	if (off > im->n || len > im->n - off)
		__builtin_trap();   /* ext2 promised to stay inside the disk */
	memcpy(buf, im->p + off, len);
	return 0;
}

static int image_write(void *ctx, u64 off, const void *buf, size_t len)
{
	struct image *im = ctx;
	if (off > im->n || len > im->n - off)
		__builtin_trap();   /* ext2 promised to stay inside the disk */
	memcpy(im->p + off, buf, len);
	return 0;
}

static int image_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

/* A few changes through the writer (ext2_write.c): errors are fine. */
static void write_some(struct ext2_fs *fs)
{
	char msg[200];
	fs->flush = image_flush;
	if (ext2_enable_write(fs, image_write, msg, sizeof(msg)) < 0) {
		if (!msg[0])
			__builtin_trap();   /* a refusal says why */
		return;
	}
	static u8 buf[20000];
	memset(buf, 0x5a, sizeof(buf));
	struct ext2_inode root, f, d, g;
	if (ext2_iget(fs, 2, &root) < 0)
		return;
	if (ext2_create(fs, &root, "fz", 2, 0100644, 0, NULL, &f) == 0) {
		long n = ext2_write(fs, &f, 3000, buf, sizeof(buf));
		if (n > (long)sizeof(buf))
			__builtin_trap();
		(void)ext2_truncate(fs, &f, 100);
		(void)ext2_link(fs, &root, "fz2", 3, &f);
	}
	if (ext2_create(fs, &root, "fd", 2, 040755, 0, NULL, &d) == 0 &&
	    ext2_iget(fs, f.ino, &f) == 0 && ext2_rename(fs, &root, "fz", 2, &f, &d, "m", 1, NULL) == 0)
		(void)ext2_unlink(fs, &d, "m", 1, &f);
	(void)ext2_create(fs, &root, "fl", 2, 0120777, 0, "a/target/that/is/longer/than/sixty/bytes/"
			  "so/it/takes/a/block", &g);
	/* the image's own first entries: unlink and evict what can be */
	struct ext2_dirent de;
	u64 off = 0;
	for (int i = 0; i < 4 && ext2_dir_next(fs, &root, &off, &de) > 0; i++) {
		struct ext2_inode c;
		if (de.name[0] == '.' || ext2_iget(fs, de.ino, &c) < 0)
			continue;
		if (ext2_unlink(fs, &root, de.name, de.name_len, &c) == 0 && c.links == 0)
			(void)ext2_evict(fs, &c);
		if (ext2_iget(fs, 2, &root) < 0)
			return;
		off = 0;
	}
}

static unsigned budget;

static void walk(struct ext2_fs *fs, const struct ext2_inode *dir, int depth)
{
	static u8 buf[8192];
	struct ext2_dirent de;
	u64 off = 0;
	while (budget && ext2_dir_next(fs, dir, &off, &de) > 0) {
		budget--;
		if (de.name_len == 0 || de.name_len > 255 || strlen(de.name) != de.name_len)
			__builtin_trap();
		if (!strcmp(de.name, ".") || !strcmp(de.name, ".."))
			continue;
		u32 ino;
		if (ext2_lookup(fs, dir, de.name, de.name_len, &ino) == 0 && ino == 0)
			__builtin_trap();
		struct ext2_inode in;
		if (ext2_iget(fs, de.ino, &in) < 0)
			continue;
		if ((in.mode & 0170000) == 0040000) {
			if (depth < 6)
				walk(fs, &in, depth + 1);
			u64 o = 5;
			(void)ext2_dir_next(fs, &in, &o, &de);
		} else if ((in.mode & 0170000) == 0120000) {
			char t[4096];
			long r = ext2_readlink(fs, &in, t, sizeof(t));
			if (r >= 0 && ((u64)r != in.size || t[r]))
				__builtin_trap();
		} else {
			for (u64 o = 0; o < in.size && o < 65536; o += sizeof(buf)) {
				long r = ext2_read(fs, &in, o, buf, sizeof(buf));
				if (r > (long)sizeof(buf))
					__builtin_trap();
				if (r <= 0)
					break;
			}
			if (in.size > 65536)
				(void)ext2_read(fs, &in, in.size - 10, buf, 100);
		}
	}
}

/* kmalloc objects in use, over every cache */
static u64 objects_in_use(void)
{
	struct kmem_cache_stats st[64];
	int n = kmem_cache_stats(st, 64);
	u64 sum = 0;
	for (int i = 0; i < n && i < 64; i++)
		sum += st[i].allocs - st[i].frees;
	return sum;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static bool init;
	if (!init) {
		init = true;
		log_level = 0;
		host_slab_init();
	}
	u64 before = objects_in_use();
	u8 *copy = malloc(size ? size : 1);
	if (!copy)
		__builtin_trap();
	memcpy(copy, data, size);
	struct image im = { copy, size };
	struct ext2_fs fs;
	char msg[200];
	u32 replayed;
	if (ext2_replay(image_read, image_write, image_flush, &im, size, "fuzz", msg, sizeof(msg),
			&replayed) < 0 && !msg[0])
		__builtin_trap();   /* a refusal says why */
	if (objects_in_use() != before)
		__builtin_trap();
	if (ext2_mount(&fs, image_read, &im, size, "fuzz", msg, sizeof(msg)) < 0) {
		if (!msg[0] || objects_in_use() != before)
			__builtin_trap();   /* a refusal always says why, and frees all */
		free(copy);
		return 0;
	}
	char names[400];
	ext2_feature_names(&fs, names, sizeof(names));
	(void)ext2_journal_state(&fs);
	struct ext2_inode root;
	if (ext2_iget(&fs, 2, &root) == 0) {
		budget = 2000;
		walk(&fs, &root, 0);
	}
	for (u32 i = 1; i <= 16 && i <= fs.inodes_count; i++) {
		struct ext2_inode in;
		(void)ext2_iget(&fs, i, &in);
	}
	write_some(&fs);
	(void)ext2_sync(&fs);   /* ext3: the transaction committed and checkpointed */
	ext2_unmount(&fs);
	free(copy);
	if (objects_in_use() != before)
		__builtin_trap();
	return 0;
}
