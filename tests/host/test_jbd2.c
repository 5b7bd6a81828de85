/*
 * fs/ext2's JBD2 journal (jbd2.h) over a file-backed fake disk.
 *
 * Recovery: the host's debugfs writes transactions into an ext3 image's
 * journal (jw: blocks of a file, a revoke, a block whose first bytes are
 * the journal's magic so it must be escaped, and a last transaction left
 * without its commit block); ext2_replay on one copy and `e2fsck -fy` on
 * another must give the same blocks, and e2fsck -fn finds ours clean.
 * Malformed journals (a tag naming a block past the file system, a bad
 * revoke count, a log start outside the journal, checksum features) are
 * refused with the documented error and leave the image untouched;
 * random byte changes of the log give an error or a replay, never a crash.
 *
 * Writing: a fixed workload (creates, writes through indirect blocks,
 * renames, unlinks, mkdir and rmdir, fsyncs that leave several
 * transactions in the log, syncs that checkpoint them) on an ext3 image;
 * the writes reaching the disk are cut off after the k-th (a crash at
 * write k, for many k across commits and checkpoints); then both
 * ext2_replay and e2fsck -fy must leave an image e2fsck -fn finds clean,
 * and every file synced before the crash reads back whole. A block that
 * a transaction in the log holds, freed and then used again as file
 * data, keeps the data through both replays (the revoke record).
 */
#define _FILE_OFFSET_BITS 64
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/ext2/jbd2.h"
#include "tests/host/ext2_img.h"

TestSuite(jbd2, .init = ext2t_setup, .fini = ext2t_teardown, .timeout = 240);

/* ---- recovery ---- */

struct jimg {
	unsigned b0, b1, spare, spare2, jblock0;   /* /f's first two blocks, free blocks, the jsb */
};

/* An ext3 image with /f, and 4 transactions in its journal written by
 * debugfs: 1 logs b0 and b1, 2 revokes b1, 3 logs spare (its data begins
 * with the journal's magic) and spare2, 4 logs b0 again without a commit. */
static void journal_image(struct jimg *j, const char *mkfs_opts)
{
	ext2t_sh("mkdir -p '%s' && head -c 20000 /dev/urandom > '%s/f'", ext2t_src, ext2t_src);
	ext2t_mkfs(mkfs_opts, 8);
	j->b0 = ext2t_sh_num("debugfs -R 'bmap /f 0' '%s' 2>/dev/null", ext2t_img);
	j->b1 = ext2t_sh_num("debugfs -R 'bmap /f 1' '%s' 2>/dev/null", ext2t_img);
	unsigned blocks = ext2t_sh_num("dumpe2fs -h '%s' 2>/dev/null | "
				       "sed -n 's/^Block count: *//p'", ext2t_img);
	j->spare = blocks - 20;
	j->spare2 = blocks - 19;
	j->jblock0 = ext2t_sh_num("debugfs -R 'bmap <8> 0' '%s' 2>/dev/null", ext2t_img);
	cr_assert(j->b0 && j->b1 && j->jblock0);
	ext2t_sh("printf '\\300\\073\\071\\230escaped' > '%s/magic' && head -c 100000 /dev/urandom >> "
		 "'%s/magic' && head -c 100000 /dev/urandom > '%s/d1' && head -c 100000 /dev/urandom > "
		 "'%s/d4'", ext2t_tmp, ext2t_tmp, ext2t_tmp, ext2t_tmp);
	ext2t_sh("printf 'jo\\njw -b %u,%u %s/d1\\njw -r %u\\njw -b %u,%u %s/magic\\njw -b %u -c %s/d4\\n"
		 "jc\\n' > '%s/cmds' && debugfs -w -f '%s/cmds' '%s' >/dev/null 2>&1", j->b0, j->b1,
		 ext2t_tmp, j->b1, j->spare, j->spare2, ext2t_tmp, j->b0, ext2t_tmp, ext2t_tmp,
		 ext2t_tmp, ext2t_img);
	ext2t_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q needs_recovery", ext2t_img);
}

static void block_of(const char *path, unsigned b, unsigned bs, u8 *out)
{
	int fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, out, bs, (off_t)b * bs), (ssize_t)bs);
	close(fd);
}

static void replay_matches_e2fsck(const char *opts)
{
	struct jimg j;
	journal_image(&j, opts);
	char orig[120], theirs[120], ours[120];
	snprintf(orig, sizeof(orig), "%s/orig", ext2t_tmp);
	snprintf(theirs, sizeof(theirs), "%s/theirs", ext2t_tmp);
	snprintf(ours, sizeof(ours), "%s/ours", ext2t_tmp);
	ext2t_sh("cp '%s' '%s' && cp '%s' '%s' && e2fsck -fy '%s' >/dev/null 2>&1; true", ext2t_img,
		 orig, ext2t_img, theirs, theirs);
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_MEM);
	char msg[200];
	u32 replayed = 99;
	int r = ext2_replay(ext2t_read, ext2t_write, ext2t_flush, &d, d.size, "test", msg, sizeof(msg),
			    &replayed);
	cr_assert_eq(r, 0, "replay: %s", msg);
	cr_assert_eq(replayed, 3, "%u transactions replayed (the 4th has no commit)", replayed);
	ext2t_save(&d, ours);
	free(d.mem);
	cr_assert_eq(ext2t_fsck(ours), 0, "e2fsck -fn after our replay");
	unsigned bs = ext2t_sh_num("dumpe2fs -h '%s' 2>/dev/null | sed -n 's/^Block size: *//p'",
				   ext2t_img);
	static u8 a[65536], b[65536], o[65536];
	unsigned blocks[] = { j.b0, j.b1, j.spare, j.spare2 };
	for (int i = 0; i < 4; i++) {
		block_of(ours, blocks[i], bs, a);
		block_of(theirs, blocks[i], bs, b);
		cr_assert(memcmp(a, b, bs) == 0, "block %u differs from e2fsck's replay", blocks[i]);
	}
	block_of(ours, j.b1, bs, a);
	block_of(orig, j.b1, bs, o);
	cr_assert(memcmp(a, o, bs) == 0, "the revoked block was replayed");
	block_of(ours, j.spare, bs, a);
	cr_assert(a[0] == 0xc0 && a[1] == 0x3b && !memcmp(a + 4, "escaped", 7),
		  "the escaped block lost its magic");
	block_of(ours, j.b0, bs, a);
	block_of(orig, j.b0, bs, o);
	cr_assert(memcmp(a, o, bs) != 0, "transaction 1 was not replayed");
	/* and the file system reads: /f's bytes as e2fsck's replay has them */
	ext2t_sh("debugfs -R 'cat /f' '%s' > '%s/f.ours' 2>/dev/null && debugfs -R 'cat /f' '%s' > "
		 "'%s/f.theirs' 2>/dev/null && cmp '%s/f.ours' '%s/f.theirs'", ours, ext2t_tmp, theirs,
		 ext2t_tmp, ext2t_tmp, ext2t_tmp);
	ext2t_sh("dumpe2fs -h '%s' 2>/dev/null | grep -v -q needs_recovery && ! dumpe2fs -h '%s' "
		 "2>/dev/null | grep -q needs_recovery", ours, ours);
}

Test(jbd2, replay_1k_blocks_matches_e2fsck)
{
	replay_matches_e2fsck("-t ext3 -b 1024");
}

Test(jbd2, replay_4k_blocks_matches_e2fsck)
{
	replay_matches_e2fsck("-t ext3 -b 4096");
}

Test(jbd2, clean_image_needs_nothing)
{
	ext2t_mkdir("", 0755);
	ext2t_mkfs("-t ext3", 8);
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_MEM);
	char msg[200];
	u32 n = 5;
	cr_assert_eq(ext2_replay(ext2t_read, ext2t_write, ext2t_flush, &d, d.size, "t", msg,
				 sizeof(msg), &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(d.writes, 0, "a clean image was written");
	free(d.mem);
}

/* Replay of a copy changed by poke: err expected (0: any), and an image
 * left as it was when it is refused. */
static void refused(struct ext2t_disk *d, int err, const char *words)
{
	u8 *before = malloc(d->size);
	memcpy(before, d->mem, d->size);
	char msg[200] = "";
	u32 n;
	int r = ext2_replay(ext2t_read, ext2t_write, ext2t_flush, d, d->size, "t", msg,
				    sizeof(msg), &n);
	cr_assert_eq(r, err, "replay gave %d (%s), not %d", r, msg, err);
	cr_assert(strstr(msg, words), "message '%s' lacks '%s'", msg, words);
	cr_assert(memcmp(before, d->mem, d->size) == 0, "a refused replay wrote to the disk");
	free(before);
}

Test(jbd2, malformed_journals_refused_untouched)
{
	struct jimg j;
	journal_image(&j, "-t ext3 -b 1024");
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_MEM);
	u8 *jsb = d.mem + (u64)j.jblock0 * 1024;
	u32 first_log = be32(jsb + JSB_START);
	u8 *desc = d.mem + (u64)ext2t_sh_num("debugfs -R 'bmap <8> %u' '%s' 2>/dev/null", first_log,
					     ext2t_img) * 1024;
	cr_assert_eq(be32(desc + JH_TYPE), JBD2_T_DESCRIPTOR);
	u8 save_tag[4], save_start[4];
	/* a committed tag naming a block past the file system */
	memcpy(save_tag, desc + JH_SIZE, 4);
	put_be32(desc + JH_SIZE, 0x7fffffff);
	refused(&d, -EUCLEAN, "past the file system");
	memcpy(desc + JH_SIZE, save_tag, 4);
	/* the log's start outside the journal */
	memcpy(save_start, jsb + JSB_START, 4);
	put_be32(jsb + JSB_START, 0x10000000);
	refused(&d, -EUCLEAN, "start");
	memcpy(jsb + JSB_START, save_start, 4);
	/* checksum features Caboose does not verify */
	put_be32(jsb + JSB_INCOMPAT, JBD2_INCOMPAT_CSUM_V3);
	refused(&d, -EOPNOTSUPP, "journal_checksum_v3");
	put_be32(jsb + JSB_INCOMPAT, JBD2_INCOMPAT_ASYNC_COMMIT);
	refused(&d, -EOPNOTSUPP, "journal_async_commit");
	put_be32(jsb + JSB_INCOMPAT, 0);
	put_be32(jsb + JSB_COMPAT, JBD2_COMPAT_CHECKSUM);
	refused(&d, -EOPNOTSUPP, "journal_checksum");
	put_be32(jsb + JSB_COMPAT, 0);
	/* a block size that is not the file system's */
	put_be32(jsb + JSB_BLOCKSIZE, 4096);
	refused(&d, -EUCLEAN, "block size");
	put_be32(jsb + JSB_BLOCKSIZE, 1024);
	/* a revoke block of a committed transaction with a bad count */
	u8 *rv = d.mem + (u64)ext2t_sh_num("debugfs -R 'bmap <8> %u' '%s' 2>/dev/null", first_log + 4,
					   ext2t_img) * 1024;
	cr_assert_eq(be32(rv + JH_TYPE), JBD2_T_REVOKE, "the log's layout changed");
	put_be32(rv + JR_COUNT, 5000);
	refused(&d, -EUCLEAN, "revoke block");
	put_be32(rv + JR_COUNT, JR_RECORDS + 4);
	/* repaired: it replays */
	char msg[200];
	u32 n;
	cr_assert_eq(ext2_replay(ext2t_read, ext2t_write, ext2t_flush, &d, d.size, "t", msg,
				 sizeof(msg), &n), 0, "%s", msg);
	cr_assert_eq(n, 3);
	free(d.mem);
}

/* Random bytes of the journal's first blocks changed: an error or a
 * replay, never a crash, a write past the disk or a hang. */
Test(jbd2, random_journal_damage_never_crashes)
{
	struct jimg j;
	journal_image(&j, "-t ext3 -b 1024");
	struct ext2t_disk orig;
	ext2t_open(&orig, ext2t_img, EXT2T_MEM);
	u64 jb[14];
	for (unsigned i = 0; i < 14; i++)
		jb[i] = ext2t_sh_num("debugfs -R 'bmap <8> %u' '%s' 2>/dev/null", i, ext2t_img);
	unsigned seed = 14, ok = 0, refusals = 0;
	for (int round = 0; round < 400; round++) {
		struct ext2t_disk d = orig;
		d.mem = malloc(d.size);
		memcpy(d.mem, orig.mem, d.size);
		int nchanges = 1 + round % 4;
		for (int c = 0; c < nchanges; c++) {
			seed = seed * 1103515245u + 12345u;
			unsigned blk = (seed >> 8) % 14;
			seed = seed * 1103515245u + 12345u;
			unsigned at = (seed >> 8) % 64;   /* headers, tags, counts */
			seed = seed * 1103515245u + 12345u;
			d.mem[jb[blk] * 1024 + at] = (u8)(seed >> 16);
		}
		char msg[200] = "";
		u32 n;
		int r = ext2_replay(ext2t_read, ext2t_write, ext2t_flush, &d, d.size, "t", msg,
					    sizeof(msg), &n);
		if (r == 0)
			ok++;
		else
			refusals++;
		cr_assert(r == 0 || msg[0], "a refusal without a message (%d)", r);
		free(d.mem);
	}
	cr_assert_gt(ok, 0);
	cr_assert_gt(refusals, 0);
	free(orig.mem);
}

/* ---- writing through the journal, and crashes ---- */

static s64 fixed_now(void) { return 1700000000; }

static int wmount(struct ext2_fs *fs, struct ext2t_disk *d)
{
	char msg[200];
	u32 n;
	int r = ext2_replay(ext2t_read, ext2t_write, ext2t_flush, d, d->size, "t", msg,
				    sizeof(msg), &n);
	if (r == 0)
		r = ext2_mount(fs, ext2t_read, d, d->size, "t", msg, sizeof(msg));
	cr_assert_eq(r, 0, "mount: %s", msg);
	fs->flush = ext2t_flush;
	r = ext2_enable_write(fs, ext2t_write, msg, sizeof(msg));
	cr_assert_eq(r, 0, "enable write: %s", msg);
	fs->now = fixed_now;
	return 0;
}

static u8 fill(unsigned id, u64 i) { return (u8)(i * 7 + id * 13 + (i >> 10)); }

/* One step of the workload; errors after a crash are expected. */
static void step(struct ext2_fs *fs, int i, unsigned *synced)
{
	struct ext2_inode root, in, dir;
	if (ext2_iget(fs, EXT2_ROOT_INO, &root) < 0)
		return;
	char name[40];
	snprintf(name, sizeof(name), "file-%d", i);
	static u8 buf[300000];
	size_t len = 1000 + (size_t)i * 9000;
	for (size_t k = 0; k < len; k++)
		buf[k] = fill((unsigned)i, k);
	if (ext2_create(fs, &root, name, strlen(name), EXT2_S_IFREG | 0644, 0, NULL, &in) < 0)
		return;
	if (ext2_write(fs, &in, 0, buf, len) != (long)len)
		return;
	ext2_op_end(fs);
	if (i % 3 == 1) {
		/* a file renamed over the last one's "renamed" (which goes) */
		char old[40];
		snprintf(old, sizeof(old), "tmp-%d", i);
		struct ext2_inode t, dst;
		if (ext2_create(fs, &root, old, strlen(old), EXT2_S_IFREG | 0600, 0, NULL, &t) < 0)
			return;
		ext2_write(fs, &t, 0, buf, 5000);
		u32 ino;
		bool over = ext2_lookup(fs, &root, "renamed", 7, &ino) == 0 &&
			    ext2_iget(fs, ino, &dst) == 0;
		if (ext2_rename(fs, &root, old, strlen(old), &t, &root, "renamed", 7,
				over ? &dst : NULL) == 0 && over && dst.links == 0)
			ext2_evict(fs, &dst);
	}
	if (i % 4 == 2 && ext2_create(fs, &root, "sub", 3, EXT2_S_IFDIR | 0755, 0, NULL, &dir) == 0)
		(void)ext2_unlink(fs, &root, "sub", 3, &dir), (void)ext2_evict(fs, &dir);
	/* a directory made in one transaction and removed in a later one,
	 * while the first is still in the log: its block is revoked */
	snprintf(name, sizeof(name), "dir-%d", i);
	(void)ext2_create(fs, &root, name, strlen(name), EXT2_S_IFDIR | 0755, 0, NULL, &dir);
	if (i >= 2) {
		u32 ino;
		snprintf(name, sizeof(name), "dir-%d", i - 2);
		if (ext2_lookup(fs, &root, name, strlen(name), &ino) == 0 &&
		    ext2_iget(fs, ino, &dir) == 0 &&
		    ext2_unlink(fs, &root, name, strlen(name), &dir) == 0)
			(void)ext2_evict(fs, &dir);
	}
	ext2_op_end(fs);
	/* fsync commits only (the log grows); every third a sync checkpoints */
	if (i % 2 == 0 && (i % 6 == 4 ? ext2_sync(fs) : ext2_fsync(fs)) == 0)
		*synced = (unsigned)i + 1;   /* file-0 .. file-i are durable */
}

/* The workload with the disk's writes cut after budget of them (-1: all):
 * the number of files synced before the cut. */
static unsigned workload(struct ext2t_disk *d, long budget)
{
	struct ext2_fs fs;
	wmount(&fs, d);
	d->budget = budget;
	unsigned synced = 0;
	for (int i = 0; i < 12; i++)
		step(&fs, i, &synced);
	(void)ext2_sync(&fs);
	ext2_unmount(&fs);
	return synced;
}

static void check_files(const char *path, unsigned synced)
{
	struct ext2t_disk d;
	ext2t_open(&d, path, EXT2T_MEM);
	struct ext2_fs fs;
	char msg[200];
	cr_assert_eq(ext2_mount(&fs, ext2t_read, &d, d.size, "t", msg, sizeof(msg)), 0, "%s", msg);
	struct ext2_inode root, in;
	cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
	static u8 buf[300000];
	for (unsigned i = 0; i < synced; i++) {
		char name[40];
		u32 ino;
		snprintf(name, sizeof(name), "file-%u", i);
		cr_assert_eq(ext2_lookup(&fs, &root, name, strlen(name), &ino), 0, "%s lost", name);
		cr_assert_eq(ext2_iget(&fs, ino, &in), 0);
		size_t len = 1000 + (size_t)i * 9000;
		cr_assert_eq(in.size, len, "%s: size %llu", name, (unsigned long long)in.size);
		cr_assert_eq(ext2_read(&fs, &in, 0, buf, len), (long)len);
		for (size_t k = 0; k < len; k++)
			cr_assert_eq(buf[k], fill(i, k), "%s: byte %zu", name, k);
	}
	ext2_unmount(&fs);
	free(d.mem);
}

static void crashes(const char *opts)
{
	ext2t_mkdir("", 0755);
	ext2t_mkfs(opts, 16);
	struct ext2t_disk clean;
	ext2t_open(&clean, ext2t_img, EXT2T_MEM);
	/* the whole workload: clean, every file there */
	struct ext2t_disk d = clean;
	d.mem = malloc(d.size);
	memcpy(d.mem, clean.mem, d.size);
	unsigned all = workload(&d, -1);
	cr_assert_eq(all, 11);
	u64 total = d.writes;
	char path[120], theirs[120];
	snprintf(path, sizeof(path), "%s/run", ext2t_tmp);
	snprintf(theirs, sizeof(theirs), "%s/theirs", ext2t_tmp);
	ext2t_save(&d, path);
	free(d.mem);
	cr_assert_eq(ext2t_fsck(path), 0, "the finished workload's image");
	ext2t_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q -v needs_recovery && ! dumpe2fs -h '%s' "
		 "2>/dev/null | grep -q needs_recovery", path, path);
	check_files(path, 12);
	/* crashes at 24 points spread over every write */
	for (int c = 1; c <= 24; c++) {
		long k = (long)(total * (u64)c / 25) + c % 3;
		d = clean;
		d.mem = malloc(d.size);
		memcpy(d.mem, clean.mem, d.size);
		unsigned synced = workload(&d, k);
		ext2t_save(&d, path);
		ext2t_sh("cp '%s' '%s' && e2fsck -fy '%s' >/dev/null 2>&1; true", path, theirs, theirs);
		cr_assert_eq(ext2t_fsck(theirs), 0, "crash at write %ld of %llu: e2fsck -fy then -fn",
			     k, (unsigned long long)total);
		check_files(theirs, synced);
		/* our own replay */
		struct ext2t_disk o;
		ext2t_open(&o, path, EXT2T_MEM);
		struct ext2_fs fs;
		wmount(&fs, &o);
		ext2_unmount(&fs);
		ext2t_save(&o, path);
		free(o.mem);
		cr_assert_eq(ext2t_fsck(path), 0, "crash at write %ld of %llu: our replay then e2fsck -fn",
			     k, (unsigned long long)total);
		check_files(path, synced);
		free(d.mem);
	}
	free(clean.mem);
}

/* A directory's block, logged by a committed transaction, freed by the
 * next and then written as a file's data: a crash while both are still in
 * the log must not bring the directory back over the data. */
static u32 lookup_root(struct ext2_fs *fs, const char *name, struct ext2_inode *out);

static void revoked_block_reused(const char *opts)
{
	ext2t_mkdir("", 0755);
	ext2t_mkfs(opts, 16);
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_MEM);
	struct ext2_fs fs;
	wmount(&fs, &d);
	struct ext2_inode root, dir, f;
	cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
	cr_assert_eq(ext2_create(&fs, &root, "d", 1, EXT2_S_IFDIR | 0755, 0, NULL, &dir), 0);
	u32 b;
	cr_assert_eq(ext2_bmap(&fs, &dir, 0, &b), 0);
	cr_assert_neq(b, 0);
	cr_assert_eq(ext2_fsync(&fs), 0);
	cr_assert_gt(fs.journal->npend, 0, "a small commit's copies wait to go home");
	u64 checkpoints = fs.journal->checkpoints;
	cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
	cr_assert_eq(ext2_unlink(&fs, &root, "d", 1, &dir), 0);
	cr_assert_eq(ext2_evict(&fs, &dir), 0);
	cr_assert_eq(ext2_fsync(&fs), 0);
	cr_assert_eq(fs.journal->revokes, 1, "the directory's block revoked");
	cr_assert_eq(fs.journal->in_log, 2, "both transactions still in the log");
	/* its block again, as file data */
	static u8 data[4096];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (u8)(i * 31 + 7);
	fs.goal = b;
	cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
	cr_assert_eq(ext2_create(&fs, &root, "f", 1, EXT2_S_IFREG | 0644, 0, NULL, &f), 0);
	cr_assert_eq(ext2_write(&fs, &f, 0, data, fs.block_size), (long)fs.block_size);
	u32 fb;
	cr_assert_eq(ext2_bmap(&fs, &f, 0, &fb), 0);
	cr_assert_eq(fb, b, "the file's block is the directory's old one");
	cr_assert_eq(ext2_fsync(&fs), 0);
	cr_assert_eq(fs.journal->checkpoints, checkpoints, "no checkpoint since the mkdir");
	cr_assert_eq(fs.journal->in_log, 3);
	/* the crash: the image as it is now, the log not checkpointed */
	char path[120], theirs[120];
	snprintf(path, sizeof(path), "%s/run", ext2t_tmp);
	snprintf(theirs, sizeof(theirs), "%s/theirs", ext2t_tmp);
	ext2t_save(&d, path);
	ext2_unmount(&fs);
	free(d.mem);
	ext2t_sh("dumpe2fs -h '%s' 2>/dev/null | grep -q 'Journal features:.*journal_incompat_revoke'",
		 path);
	ext2t_sh("cp '%s' '%s' && e2fsck -fy '%s' >/dev/null 2>&1; true", path, theirs, theirs);
	cr_assert_eq(ext2t_fsck(theirs), 0, "e2fsck's replay, then e2fsck -fn");
	struct ext2t_disk o;
	ext2t_open(&o, path, EXT2T_MEM);
	wmount(&fs, &o);   /* our replay */
	ext2_unmount(&fs);
	ext2t_save(&o, path);
	free(o.mem);
	cr_assert_eq(ext2t_fsck(path), 0, "our replay, then e2fsck -fn");
	const char *imgs[2] = { theirs, path };
	for (int k = 0; k < 2; k++) {
		ext2t_open(&o, imgs[k], EXT2T_MEM);
		char msg[200];
		cr_assert_eq(ext2_mount(&fs, ext2t_read, &o, o.size, "t", msg, sizeof(msg)), 0, "%s", msg);
		lookup_root(&fs, "f", &f);
		static u8 back[4096];
		cr_assert_eq(ext2_read(&fs, &f, 0, back, fs.block_size), (long)fs.block_size);
		cr_assert_eq(memcmp(back, data, fs.block_size), 0, "%s: the file's data after the replay",
			     k ? "ours" : "e2fsck's");
		ext2_unmount(&fs);
		free(o.mem);
	}
}

Test(jbd2, revoked_block_used_again_as_data_survives_replay_1k)
{
	revoked_block_reused("-t ext3 -b 1024 -I 128");
}

Test(jbd2, revoked_block_used_again_as_data_survives_replay_4k)
{
	revoked_block_reused("-t ext3 -b 4096 -I 256");
}

Test(jbd2, crash_at_any_write_1k_blocks)
{
	crashes("-t ext3 -b 1024 -I 128");
}

Test(jbd2, crash_at_any_write_4k_blocks)
{
	crashes("-t ext3 -b 4096 -I 256");
}

/* ---- the orphan list (fs/ext2/ext2_orphan.c) ---- */

static unsigned sb_field(const char *path, const char *field)
{
	return ext2t_sh_num("{ dumpe2fs -h '%s' 2>/dev/null | sed -n 's/^%s: *//p'; echo 0; } | head -1",
		      path, field);
}

static u32 lookup_root(struct ext2_fs *fs, const char *name, struct ext2_inode *out)
{
	struct ext2_inode root;
	u32 ino;
	cr_assert_eq(ext2_iget(fs, EXT2_ROOT_INO, &root), 0);
	cr_assert_eq(ext2_lookup(fs, &root, name, strlen(name), &ino), 0, "%s", name);
	cr_assert_eq(ext2_iget(fs, ino, out), 0);
	return ino;
}

/* Files unlinked while "open" (not evicted) and a crash after the sync:
 * the list on the disk is Linux's (head in the superblock, links through
 * i_dtime, a middle one taken off), e2fsck -fn flags the image, e2fsck -fy
 * accepts the list, and our next mount frees them as e2fsck does. */
Test(jbd2, unlinked_open_files_are_freed_at_the_next_mount)
{
	ext2t_sh("mkdir -p '%s/src' && for n in a b c keep; do head -c 20000 /dev/urandom > "
	   "'%s/src/'$n; done && mke2fs -q -F -t ext3 -b 1024 -d '%s/src' '%s' 8M >/dev/null 2>&1",
	   ext2t_tmp, ext2t_tmp, ext2t_tmp, ext2t_img);
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_MEM);
	struct ext2_fs fs;
	wmount(&fs, &d);
	struct ext2_inode root, in[3];
	const char *names[3] = { "a", "b", "c" };
	u32 ino[3];
	for (int i = 0; i < 3; i++) {
		ino[i] = lookup_root(&fs, names[i], &in[i]);
		cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
		cr_assert_eq(ext2_unlink(&fs, &root, names[i], 1, &in[i]), 0);
		cr_assert_eq(ext2_op_end(&fs), 0);
	}
	cr_assert_eq(fs.norphans, 3);
	cr_assert_eq(ext2_iget(&fs, EXT2_ROOT_INO, &root), 0);
	cr_assert_eq(ext2_link(&fs, &root, "back", 4, &in[0]), -ENOENT, "an orphan linked again");
	cr_assert_eq(ext2_evict(&fs, &in[1]), 0, "b closed: freed, off the list's middle");
	cr_assert_eq(fs.norphans, 2);
	cr_assert_eq(ext2_sync(&fs), 0);
	u64 off_a = ext2_inode_off(&fs, ino[0]), off_c = ext2_inode_off(&fs, ino[2]);
	ext2_unmount(&fs);   /* the crash: a and c never closed */
	cr_assert_eq(le32(d.mem + off_c + IN_DTIME), ino[0], "c's link names a");
	cr_assert_eq(le32(d.mem + off_a + IN_DTIME), 0, "a ends the list");
	char path[120], theirs[120];
	snprintf(path, sizeof(path), "%s/run", ext2t_tmp);
	snprintf(theirs, sizeof(theirs), "%s/theirs", ext2t_tmp);
	ext2t_save(&d, path);
	free(d.mem);
	cr_assert_eq(sb_field(path, "First orphan inode"), ino[2]);
	cr_assert_neq(ext2t_fsck(path), 0, "e2fsck -fn does not flag a live orphan list");
	ext2t_sh("cp '%s' '%s' && e2fsck -fy '%s' >/dev/null 2>&1; true", path, theirs, theirs);
	cr_assert_eq(ext2t_fsck(theirs), 0, "e2fsck -fy did not take our orphan list");
	/* our mount's cleanup */
	ext2t_open(&d, path, EXT2T_MEM);
	wmount(&fs, &d);
	cr_assert_eq(fs.orphans_freed, 2);
	cr_assert_eq(fs.orphans_truncated, 0);
	cr_assert_eq(fs.norphans, 0);
	ext2_unmount(&fs);
	ext2t_save(&d, path);
	free(d.mem);
	cr_assert_eq(ext2t_fsck(path), 0, "our orphan cleanup then e2fsck -fn");
	cr_assert_eq(sb_field(path, "First orphan inode"), 0);
	cr_assert_eq(sb_field(path, "Free blocks"), sb_field(theirs, "Free blocks"));
	cr_assert_eq(sb_field(path, "Free inodes"), sb_field(theirs, "Free inodes"));
	ext2t_sh("debugfs -R 'cat /keep' '%s' 2>/dev/null | cmp - '%s/src/keep'", path, ext2t_tmp);
	/* and a mount with nothing listed changes nothing */
	ext2t_open(&d, path, EXT2T_MEM);
	u8 *before = malloc(d.size);
	memcpy(before, d.mem, d.size);
	wmount(&fs, &d);
	cr_assert_eq(fs.orphans_freed + fs.orphans_truncated, 0);
	ext2_unmount(&fs);
	cr_assert(memcmp(before, d.mem, d.size) == 0, "an empty orphan list was written");
	free(before);
	free(d.mem);
}

/* A crafted image as Linux leaves one: /f unlinked while open (no links,
 * on the list) and /t in a truncate to 1000 bytes (links, on the list,
 * its blocks past 1000 still mapped). Our mount frees /f and cuts /t, as
 * e2fsck -fy does. */
Test(jbd2, linux_orphans_freed_and_truncated_at_mount)
{
	ext2t_sh("mkdir -p '%s/src' && head -c 20000 /dev/urandom > '%s/src/f' && head -c 30000 "
	   "/dev/urandom > '%s/src/t' && mke2fs -q -F -t ext3 -b 1024 -d '%s/src' '%s' 8M "
	   ">/dev/null 2>&1", ext2t_tmp, ext2t_tmp, ext2t_tmp, ext2t_tmp, ext2t_img);
	unsigned f = ext2t_sh_num("debugfs -R 'stat /f' '%s' 2>/dev/null | sed -n 's/^Inode: *\\([0-9]*\\).*/\\1/p'", ext2t_img);
	unsigned t = ext2t_sh_num("debugfs -R 'stat /t' '%s' 2>/dev/null | sed -n 's/^Inode: *\\([0-9]*\\).*/\\1/p'", ext2t_img);
	ext2t_sh("printf 'sif /f links_count 0\\nunlink /f\\nsif /t size 1000\\nssv last_orphan %u\\n"
	   "sif <%u> dtime %u\\nsif /t dtime 0\\n' > '%s/cmds' && debugfs -w -f '%s/cmds' '%s' "
	   ">/dev/null 2>&1", f, f, t, ext2t_tmp, ext2t_tmp, ext2t_img);
	cr_assert_neq(ext2t_fsck(ext2t_img), 0, "the crafted image is not flagged");
	char theirs[120];
	snprintf(theirs, sizeof(theirs), "%s/theirs", ext2t_tmp);
	ext2t_sh("cp '%s' '%s' && e2fsck -fy '%s' >/dev/null 2>&1; true", ext2t_img, theirs, theirs);
	struct ext2t_disk d;
	ext2t_open(&d, ext2t_img, EXT2T_MEM);
	struct ext2_fs fs;
	wmount(&fs, &d);
	cr_assert_eq(fs.orphans_freed, 1);
	cr_assert_eq(fs.orphans_truncated, 1);
	struct ext2_inode tin;
	lookup_root(&fs, "t", &tin);
	cr_assert_eq(tin.size, 1000);
	cr_assert_eq(tin.blocks, 2, "/t keeps one 1 KiB block, not %llu sectors",
		     (unsigned long long)tin.blocks);
	ext2_unmount(&fs);
	ext2t_save(&d, ext2t_img);
	free(d.mem);
	cr_assert_eq(ext2t_fsck(ext2t_img), 0, "our orphan cleanup then e2fsck -fn");
	cr_assert_eq(sb_field(ext2t_img, "Free blocks"), sb_field(theirs, "Free blocks"));
	cr_assert_eq(sb_field(ext2t_img, "Free inodes"), sb_field(theirs, "Free inodes"));
	ext2t_sh("debugfs -R 'cat /t' '%s' 2>/dev/null | cmp - '%s/src/t' 2>&1 | grep -q EOF", ext2t_img, ext2t_tmp);
}

/* A list naming an inode out of range, a free inode, or looping: the
 * image stays read-only (-EROFS naming the orphan list), untouched. */
Test(jbd2, corrupt_orphan_lists_leave_the_image_read_only)
{
	ext2t_sh("mkdir -p '%s/src' && head -c 5000 /dev/urandom > '%s/src/f' && head -c 5000 "
	   "/dev/urandom > '%s/src/g' && mke2fs -q -F -t ext3 -b 1024 -d '%s/src' '%s' 8M "
	   ">/dev/null 2>&1", ext2t_tmp, ext2t_tmp, ext2t_tmp, ext2t_tmp, ext2t_img);
	const char *bad[] = {
		"ssv last_orphan 99999",                              /* out of range */
		"ssv last_orphan 40",                                 /* a free inode */
		"ssv last_orphan 12\\nsif <12> dtime 13\\nsif <13> dtime 12", /* a loop */
		"ssv last_orphan 3",                                  /* a reserved inode */
	};
	char copy[120];
	snprintf(copy, sizeof(copy), "%s/copy", ext2t_tmp);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ext2t_sh("cp '%s' '%s' && printf '%s\\n' > '%s/cmds' && debugfs -w -f '%s/cmds' '%s' "
		   ">/dev/null 2>&1", ext2t_img, copy, bad[i], ext2t_tmp, ext2t_tmp, copy);
		struct ext2t_disk d;
		ext2t_open(&d, copy, EXT2T_MEM);
		u8 *before = malloc(d.size);
		memcpy(before, d.mem, d.size);
		struct ext2_fs fs;
		char msg[200] = "";
		cr_assert_eq(ext2_mount(&fs, ext2t_read, &d, d.size, "t", msg, sizeof(msg)), 0, "%s", msg);
		fs.flush = ext2t_flush;
		int r = ext2_enable_write(&fs, ext2t_write, msg, sizeof(msg));
		cr_assert_eq(r, -EROFS, "case %zu: %d (%s)", i, r, msg);
		cr_assert(strstr(msg, "orphan list"), "case %zu: '%s'", i, msg);
		cr_assert(memcmp(before, d.mem, d.size) == 0, "case %zu: written", i);
		ext2_unmount(&fs);
		free(before);
		free(d.mem);
	}
}
