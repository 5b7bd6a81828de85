/*
 * ext2 writing: block and inode allocation over the bitmaps, files' block
 * trees grown and cut, inodes written back, and the name-space operations
 * over the directory code of ext2_dir.c (ext2.h says what and in which
 * order). On ext3 every ext2_dev_write is metadata and goes into the
 * journal's running transaction; file data goes through ext2_data_write
 * (jbd2.h).
 */
#include "fs/ext2/jbd2.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

s64 ext2_now(struct ext2_fs *fs) { return fs->now ? fs->now() : 0; }

/* The directory block kept in dirbuf is stale once bytes over it are
 * written from anywhere but dirbuf itself. */
static void dirbuf_written(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	u64 db = (u64)fs->dirbuf_block * fs->block_size;
	const u8 *b = buf;
	if (fs->dirbuf_block && off < db + fs->block_size && off + len > db &&
	    !(b >= fs->dirbuf && b < fs->dirbuf + fs->block_size))
		fs->dirbuf_block = 0;
}

int ext2_dev_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	if (!fs->write)
		return -EROFS;
	if (off > fs->dev_bytes || len > fs->dev_bytes - off)
		return ext2_complain(fs, -EUCLEAN, "a write of %zu bytes at byte %llu is past the "
				     "disk's end", len, (unsigned long long)off);
	dirbuf_written(fs, off, buf, len);
	if (fs->journal)
		return jbd2_meta_write(fs, off, buf, len);
	if (fs->write(fs->ctx, off, buf, len) < 0)
		return ext2_complain(fs, -EIO, "writing %zu bytes at byte %llu", len,
				     (unsigned long long)off);
	return 0;
}

/* File data: straight to the disk, not through the journal (ordered
 * mode: before the transaction that points at it commits). */
int ext2_data_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	if (!fs->write)
		return -EROFS;
	if (fs->journal && fs->journal->aborted)
		return -EROFS;
	if (off > fs->dev_bytes || len > fs->dev_bytes - off)
		return ext2_complain(fs, -EUCLEAN, "a write of %zu bytes at byte %llu is past the "
				     "disk's end", len, (unsigned long long)off);
	if (!fs->journal)
		dirbuf_written(fs, off, buf, len);
	ext2_write_fn w = fs->write_data ? fs->write_data : fs->write;
	if (w(fs->ctx, off, buf, len) < 0)
		return ext2_complain(fs, -EIO, "writing %zu bytes at byte %llu", len,
				     (unsigned long long)off);
	if (fs->journal)
		jbd2_data_written(fs, off, buf, len);
	return 0;
}

void ext2_data_written(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	if (fs->journal)
		jbd2_data_written(fs, off, buf, len);
	else
		dirbuf_written(fs, off, buf, len);
}

/* ---- enabling ---- */

/* ro_compat features whose metadata this code keeps right */
#define RO_COMPAT_WRITABLE (EXT2_RO_COMPAT_SPARSE_SUPER | EXT2_RO_COMPAT_LARGE_FILE | \
			    EXT2_RO_COMPAT_HUGE_FILE | EXT2_RO_COMPAT_DIR_NLINK | \
			    EXT2_RO_COMPAT_EXTRA_ISIZE)

static u64 gdt_off(const struct ext2_fs *fs)
{
	return (u64)(fs->first_data_block + 1) * fs->block_size;
}

/* ext3: the journal loaded and ready for transactions (fs->write set). */
static int enable_journal(struct ext2_fs *fs, char *msg, size_t msgsize)
{
	if (!fs->flush) {
		ksnprintf(msg, msgsize, "has_journal: the disk has no cache flush, which the "
			  "journal needs: read-only");
		return -EROFS;
	}
	char why[160];
	int r = jbd2_load(fs, why, sizeof(why));
	if (r == 0)
		r = jbd2_start(fs, why, sizeof(why));
	if (r == 0) {
		fs->bitmap_home = kmalloc(fs->block_size, 0);
		if (!fs->bitmap_home)
			r = -ENOMEM;
	}
	if (r < 0) {
		ksnprintf(msg, msgsize, "has_journal: %s: read-only", r == -ENOMEM ? "no memory" : why);
		return -EROFS;
	}
	return 0;
}

int ext2_enable_write(struct ext2_fs *fs, ext2_write_fn write, char *msg, size_t msgsize)
{
	if (msgsize)
		msg[0] = '\0';
	u32 bad = fs->ro_compat & ~(u32)RO_COMPAT_WRITABLE;
	if (bad) {
		char names[200];
		struct ext2_fs only = { 0 };
		only.ro_compat = bad;
		ext2_feature_names(&only, names, sizeof(names));
		ksnprintf(msg, msgsize, "read-only feature(s) %s not kept by the writer: read-only",
			  names);
		return -EROFS;
	}
	if (fs->state & EXT2_STATE_ERROR) {
		ksnprintf(msg, msgsize, "the superblock records errors (run e2fsck): read-only");
		return -EROFS;
	}
	size_t gsize = (size_t)fs->groups * GD_SIZE;
	u8 sb[32];
	fs->gdt = kmalloc(gsize, 0);
	fs->bitmap = kmalloc(fs->block_size, 0);
	fs->zero = kzalloc(fs->block_size);
	int r = 0;
	if (!fs->gdt || !fs->bitmap || !fs->zero) {
		ksnprintf(msg, msgsize, "no memory");
		r = -ENOMEM;
	} else if ((r = ext2_dev_read(fs, gdt_off(fs), fs->gdt, gsize)) < 0 ||
		   (r = ext2_dev_read(fs, EXT2_SB_OFFSET, sb, sizeof(sb))) < 0) {
		ksnprintf(msg, msgsize, "reading the group descriptors (error %d)", r);
	}
	if (r < 0) {
		kfree(fs->gdt);
		kfree(fs->bitmap);
		kfree(fs->zero);
		fs->gdt = fs->bitmap = fs->zero = NULL;
		return r;
	}
	fs->free_blocks = le32(sb + SB_FREE_BLOCKS);
	fs->free_inodes = le32(sb + SB_FREE_INODES);
	fs->write = write;
	if (fs->compat & EXT2_COMPAT_HAS_JOURNAL)
		r = enable_journal(fs, msg, msgsize);
	if (r == 0 && fs->journal)
		r = ext2_orphan_cleanup(fs, msg, msgsize);
	if (r < 0) {
		jbd2_free(fs);
		fs->write = NULL;
	}
	return r;
}

/* ---- counts ---- */

static u8 *gd(struct ext2_fs *fs, u32 g) { return fs->gdt + (size_t)g * GD_SIZE; }

static int put_gd(struct ext2_fs *fs, u32 g)
{
	return ext2_dev_write(fs, gdt_off(fs) + (u64)g * GD_SIZE + GD_FREE_BLOCKS, gd(fs, g) +
			      GD_FREE_BLOCKS, 6);
}

static int put_sb_counts(struct ext2_fs *fs)
{
	u8 v[8];
	put32(v, fs->free_blocks);
	put32(v + 4, fs->free_inodes);
	return ext2_dev_write(fs, EXT2_SB_OFFSET + SB_FREE_BLOCKS, v, 8);
}

/* Add d to a u16 count of group g's descriptor and the superblock's *sbc. */
static int count(struct ext2_fs *fs, u32 g, u32 field, u32 *sbc, int d)
{
	u32 v = le16(gd(fs, g) + field);
	if ((d < 0 && v == 0) || (d > 0 && v == 0xffff))
		return ext2_complain(fs, -EUCLEAN, "group %u: a count at %#x of %u disagrees with "
				     "its bitmap", g, field, v);
	put16(gd(fs, g) + field, v + (u32)d);
	int r = put_gd(fs, g);
	if (r == 0 && sbc) {
		*sbc += (u32)d;
		r = put_sb_counts(fs);
	}
	return r;
}

/* ---- bitmaps ---- */

static u32 group_blocks(const struct ext2_fs *fs, u32 g)
{
	u32 left = fs->blocks_count - fs->first_data_block - g * fs->blocks_per_group;
	return MIN(left, fs->blocks_per_group);
}

/* Find a clear bit of the bitmap at block bmb among n bits, from start on
 * (wrapping), set it and write it: the bit, or -ENOSPC, or an error. */
static long take_bit(struct ext2_fs *fs, u32 bmb, u32 n, u32 start, u32 lowest, bool blocks)
{
	int r = ext2_dev_read(fs, (u64)bmb * fs->block_size, fs->bitmap, fs->block_size);
	if (r < 0)
		return r;
	/* ext3: a block freed by the running transaction stays taken until
	 * it commits (the committed bitmap is the one on the disk, with the
	 * last commit's copies that wait to go home over it): new data
	 * written there before the commit would land in a block the
	 * committed state still uses */
	const u8 *home = NULL;
	if (blocks && fs->journal && fs->journal->ntxn) {
		if (fs->read(fs->ctx, (u64)bmb * fs->block_size, fs->bitmap_home, fs->block_size) < 0)
			return ext2_complain(fs, -EIO, "reading block bitmap %u", bmb);
		jbd2_overlay_committed(fs, (u64)bmb * fs->block_size, fs->bitmap_home, fs->block_size);
		home = fs->bitmap_home;
	}
	for (u32 i = 0; i < n; i++) {
		u32 b = (start + i) % n;
		if (b < lowest || (fs->bitmap[b / 8] & (1u << (b % 8))))
			continue;
		if (home && (home[b / 8] & (1u << (b % 8))))
			continue;
		fs->bitmap[b / 8] |= (u8)(1u << (b % 8));
		r = ext2_dev_write(fs, (u64)bmb * fs->block_size + b / 8, &fs->bitmap[b / 8], 1);
		return r < 0 ? r : (long)b;
	}
	return -ENOSPC;
}

static int clear_bit(struct ext2_fs *fs, u32 bmb, u32 b, const char *what, u32 num)
{
	u8 v;
	u64 off = (u64)bmb * fs->block_size + b / 8;
	int r = ext2_dev_read(fs, off, &v, 1);
	if (r < 0)
		return r;
	if (!(v & (1u << (b % 8))))
		return ext2_complain(fs, -EUCLEAN, "freeing %s %u, which its bitmap says is free",
				     what, num);
	v &= (u8)~(1u << (b % 8));
	return ext2_dev_write(fs, off, &v, 1);
}

/* A block, zeroed: through the journal for metadata (meta), as file data
 * otherwise (unless !zero: the caller writes all of it next). */
static int balloc(struct ext2_fs *fs, u32 goal, u32 *out, bool meta, bool zero)
{
	if (fs->free_blocks == 0)
		return -ENOSPC;
	if (goal <= fs->first_data_block || goal >= fs->blocks_count)
		goal = fs->goal > fs->first_data_block && fs->goal < fs->blocks_count ? fs->goal
										      : fs->first_data_block;
	u32 g0 = (goal - fs->first_data_block) / fs->blocks_per_group;
	for (u32 i = 0; i < fs->groups; i++) {
		u32 g = (g0 + i) % fs->groups;
		if (le16(gd(fs, g) + GD_FREE_BLOCKS) == 0)
			continue;
		u32 start = i == 0 ? (goal - fs->first_data_block) % fs->blocks_per_group : 0;
		long bit = take_bit(fs, le32(gd(fs, g) + GD_BLOCK_BITMAP), group_blocks(fs, g), start,
				    0, true);
		if (bit == -ENOSPC)
			continue;   /* the count was wrong; the next group */
		if (bit < 0)
			return (int)bit;
		u32 b = fs->first_data_block + g * fs->blocks_per_group + (u32)bit;
		int r = count(fs, g, GD_FREE_BLOCKS, &fs->free_blocks, -1);
		if (r == 0 && (meta || zero))
			r = (meta ? ext2_dev_write : ext2_data_write)(fs, (u64)b * fs->block_size,
								      fs->zero, fs->block_size);
		if (r < 0)
			return r;
		fs->goal = b + 1;
		*out = b;
		return 0;
	}
	return -ENOSPC;
}

static int bfree(struct ext2_fs *fs, u32 b)
{
	if (b <= fs->first_data_block || b >= fs->blocks_count)
		return ext2_complain(fs, -EUCLEAN, "freeing block %u out of range", b);
	u32 g = (b - fs->first_data_block) / fs->blocks_per_group;
	int r = clear_bit(fs, le32(gd(fs, g) + GD_BLOCK_BITMAP),
			  (b - fs->first_data_block) % fs->blocks_per_group, "block", b);
	if (r == 0)
		r = count(fs, g, GD_FREE_BLOCKS, &fs->free_blocks, 1);
	if (r == 0 && fs->journal)
		r = jbd2_forget(fs, b);   /* no use for its copy now; revoked if logged */
	return r;
}

static int ialloc(struct ext2_fs *fs, u32 near, bool dir, u32 *out)
{
	if (fs->free_inodes == 0)
		return -ENOSPC;
	u32 g0 = near ? (near - 1) / fs->inodes_per_group : 0;
	for (u32 i = 0; i < fs->groups; i++) {
		u32 g = (g0 + i) % fs->groups;
		if (le16(gd(fs, g) + GD_FREE_INODES) == 0)
			continue;
		u32 lowest = g == 0 ? fs->first_ino - 1 : 0;
		u32 n = MIN(fs->inodes_per_group, fs->inodes_count - g * fs->inodes_per_group);
		long bit = take_bit(fs, le32(gd(fs, g) + GD_INODE_BITMAP), n, 0, lowest, false);
		if (bit == -ENOSPC)
			continue;
		if (bit < 0)
			return (int)bit;
		int r = count(fs, g, GD_FREE_INODES, &fs->free_inodes, -1);
		if (r == 0 && dir)
			r = count(fs, g, GD_USED_DIRS, NULL, 1);
		if (r < 0)
			return r;
		*out = g * fs->inodes_per_group + (u32)bit + 1;
		return 0;
	}
	return -ENOSPC;
}

static int ifree(struct ext2_fs *fs, u32 ino, bool dir)
{
	u32 g = (ino - 1) / fs->inodes_per_group;
	int r = clear_bit(fs, le32(gd(fs, g) + GD_INODE_BITMAP), (ino - 1) % fs->inodes_per_group,
			  "inode", ino);
	if (r == 0)
		r = count(fs, g, GD_FREE_INODES, &fs->free_inodes, 1);
	if (r == 0 && dir)
		r = count(fs, g, GD_USED_DIRS, NULL, -1);
	return r;
}

/* ---- inodes ---- */

u64 ext2_inode_off(const struct ext2_fs *fs, u32 ino)
{
	u32 g = (ino - 1) / fs->inodes_per_group, idx = (ino - 1) % fs->inodes_per_group;
	return (u64)fs->inode_table[g] * fs->block_size + (u64)idx * fs->inode_size;
}

static void put_time(u8 *raw, u32 base, u32 extra, u32 end, s64 sec, u32 ns)
{
	put32(raw + base, (u32)sec);
	if (extra + 4 <= end)
		put32(raw + extra, (u32)((sec - (s64)(s32)sec) >> 32 & 3) | ns << 2);
}

int ext2_iput_disk(struct ext2_fs *fs, const struct ext2_inode *in)
{
	if (in->ino < 1 || in->ino > fs->inodes_count)
		return ext2_complain(fs, -EUCLEAN, "writing inode %u out of range", in->ino);
	u8 raw[256];
	u32 n = MIN(fs->inode_size, (u32)sizeof(raw));
	u64 off = ext2_inode_off(fs, in->ino);
	int r = ext2_dev_read(fs, off, raw, n);
	if (r < 0)
		return r;
	put16(raw + IN_MODE, in->mode);
	put16(raw + IN_UID, in->uid & 0xffff);
	put16(raw + IN_UID_HIGH, in->uid >> 16);
	put16(raw + IN_GID, in->gid & 0xffff);
	put16(raw + IN_GID_HIGH, in->gid >> 16);
	put16(raw + IN_LINKS, in->links);
	put32(raw + IN_SIZE, (u32)in->size);
	if (EXT2_S_ISREG(in->mode))
		put32(raw + IN_SIZE_HIGH, (u32)(in->size >> 32));
	u32 flags = in->flags & ~(u32)EXT2_FL_HUGE_FILE;
	put32(raw + IN_FLAGS, flags);
	put32(raw + IN_BLOCKS, (u32)in->blocks);
	if (fs->ro_compat & EXT2_RO_COMPAT_HUGE_FILE)
		put16(raw + IN_BLOCKS_HIGH, (u32)(in->blocks >> 32));
	for (int i = 0; i < EXT2_N_BLOCKS; i++)
		put32(raw + IN_BLOCK + 4 * i, in->block[i]);
	put32(raw + IN_FILE_ACL, in->file_acl);
	u32 end = 0;
	if (n > EXT2_GOOD_OLD_INODE_SIZE)
		end = MIN(EXT2_GOOD_OLD_INODE_SIZE + (u32)le16(raw + IN_EXTRA_ISIZE), n);
	put_time(raw, IN_ATIME, IN_ATIME_EXTRA, end, in->atime, in->atime_ns);
	put_time(raw, IN_MTIME, IN_MTIME_EXTRA, end, in->mtime, in->mtime_ns);
	put_time(raw, IN_CTIME, IN_CTIME_EXTRA, end, in->ctime, in->ctime_ns);
	/* the deletion time; ext3's orphan list keeps inode numbers in this
	 * field (an orphan's is the next one's), so e2fsck reads a value
	 * below s_inodes_count as a list link: a clock near 1970 (Caboose's
	 * realtime counts from boot) is moved past it */
	u32 dtime = (u32)ext2_now(fs);
	if (dtime <= fs->inodes_count)
		dtime = fs->inodes_count + 1;
	u32 next;
	if (!in->links && ext2_orphan_next(fs, in->ino, &next))
		dtime = next;
	put32(raw + IN_DTIME, in->links ? 0 : dtime);
	return ext2_dev_write(fs, off, raw, n);
}

static void touch(struct ext2_fs *fs, struct ext2_inode *in, bool m)
{
	in->ctime = ext2_now(fs);
	in->ctime_ns = 0;
	if (m) {
		in->mtime = in->ctime;
		in->mtime_ns = 0;
	}
}

/* ---- the block tree ---- */

static int check_ptr(struct ext2_fs *fs, u32 ino, u32 b)
{
	if (b <= fs->first_data_block || b >= fs->blocks_count)
		return ext2_complain(fs, -EUCLEAN, "inode %u: block %u out of range", ino, b);
	return 0;
}

/* The path to block lblk: depth and the indexes at each level. */
static int tree_path(struct ext2_fs *fs, u64 lblk, u32 *root, u32 idx[3])
{
	u64 p = fs->ptrs_per_block;
	if (lblk < EXT2_NDIR_BLOCKS) {
		*root = (u32)lblk;
		return 0;
	}
	lblk -= EXT2_NDIR_BLOCKS;
	if (lblk < p) {
		*root = EXT2_IND_BLOCK;
		idx[0] = (u32)lblk;
		return 1;
	}
	lblk -= p;
	if (lblk < p * p) {
		*root = EXT2_DIND_BLOCK;
		idx[0] = (u32)(lblk / p);
		idx[1] = (u32)(lblk % p);
		return 2;
	}
	lblk -= p * p;
	if (lblk < p * p * p) {
		*root = EXT2_TIND_BLOCK;
		idx[0] = (u32)(lblk / (p * p));
		idx[1] = (u32)(lblk / p % p);
		idx[2] = (u32)(lblk % p);
		return 3;
	}
	return -EFBIG;
}

/* ext2_map_alloc; a new data block is zeroed unless !zero (its caller
 * writes the whole block before anything can read it) */
static int map_alloc(struct ext2_fs *fs, struct ext2_inode *in, u64 lblk, u32 *pblk, bool zero)
{
	u32 root, idx[3];
	int depth = tree_path(fs, lblk, &root, idx);
	if (depth < 0)
		return depth;
	u32 sectors = fs->block_size / 512;
	u32 goal = fs->inode_table[(in->ino - 1) / fs->inodes_per_group];
	u32 b = in->block[root];
	int r;
	bool meta = !EXT2_S_ISREG(in->mode);   /* a directory's or a link's blocks */
	if (b == 0) {
		if ((r = balloc(fs, goal, &b, depth > 0 || meta, zero)) < 0)
			return r;
		in->block[root] = b;
		in->blocks += sectors;
	} else if ((r = check_ptr(fs, in->ino, b)) < 0) {
		return r;
	}
	for (int i = 0; i < depth; i++) {
		u64 at = (u64)b * fs->block_size + 4ull * idx[i];
		u8 v[4];
		if ((r = ext2_dev_read(fs, at, v, 4)) < 0)
			return r;
		u32 next = le32(v);
		if (next == 0) {
			if ((r = balloc(fs, b + 1, &next, i + 1 < depth || meta, zero)) < 0)
				return r;
			in->blocks += sectors;
			put32(v, next);
			if ((r = ext2_dev_write(fs, at, v, 4)) < 0)
				return r;
		} else if ((r = check_ptr(fs, in->ino, next)) < 0) {
			return r;
		}
		b = next;
	}
	*pblk = b;
	return 0;
}

int ext2_map_alloc(struct ext2_fs *fs, struct ext2_inode *in, u64 lblk, u32 *pblk)
{
	return map_alloc(fs, in, lblk, pblk, true);
}

/* Free the blocks of the subtree at *ptr (depth levels of indirection,
 * its first file block start) from file block keep on. */
static int free_tree(struct ext2_fs *fs, struct ext2_inode *in, u32 *ptr, int depth, u64 start,
		     u64 keep)
{
	u32 b = *ptr;
	if (b == 0)
		return 0;
	u64 span = 1;
	for (int i = 0; i < depth; i++)
		span *= fs->ptrs_per_block;
	if (start + span <= keep)
		return 0;
	int r = check_ptr(fs, in->ino, b);
	if (r < 0)
		return r;
	if (depth > 0) {
		u32 bs = fs->block_size;
		u8 *blk = kmalloc(bs, 0);
		if (!blk)
			return -ENOMEM;
		r = ext2_dev_read(fs, (u64)b * bs, blk, bs);
		u64 sub = span / fs->ptrs_per_block;
		for (u32 i = 0; r == 0 && i < fs->ptrs_per_block; i++) {
			u64 cs = start + i * sub;
			if (cs + sub <= keep)
				continue;
			u32 c = le32(blk + 4 * i);
			if (!c)
				continue;
			r = free_tree(fs, in, &c, depth - 1, cs, keep);
			if (r == 0 && start < keep) {
				u8 v[4];
				put32(v, c);
				put32(blk + 4 * i, c);
				r = ext2_dev_write(fs, (u64)b * bs + 4 * i, v, 4);
			}
		}
		kfree(blk);
		if (r < 0)
			return r;
	}
	if (start >= keep) {
		if ((r = bfree(fs, b)) < 0)
			return r;
		*ptr = 0;
		u32 sectors = fs->block_size / 512;
		in->blocks = in->blocks >= sectors ? in->blocks - sectors : 0;
	}
	return 0;
}

int ext2_free_blocks_from(struct ext2_fs *fs, struct ext2_inode *in, u64 keep)
{
	u64 p = fs->ptrs_per_block;
	int r = 0;
	for (int i = 0; r == 0 && i < EXT2_NDIR_BLOCKS; i++)
		r = free_tree(fs, in, &in->block[i], 0, (u64)i, keep);
	if (r == 0)
		r = free_tree(fs, in, &in->block[EXT2_IND_BLOCK], 1, EXT2_NDIR_BLOCKS, keep);
	if (r == 0)
		r = free_tree(fs, in, &in->block[EXT2_DIND_BLOCK], 2, EXT2_NDIR_BLOCKS + p, keep);
	if (r == 0)
		r = free_tree(fs, in, &in->block[EXT2_TIND_BLOCK], 3, EXT2_NDIR_BLOCKS + p + p * p,
			      keep);
	return r;
}

/* Does the inode's block map hold blocks (not a device number, not a
 * fast link's target)? */
static bool has_tree(const struct ext2_fs *fs, const struct ext2_inode *in)
{
	if (EXT2_S_ISREG(in->mode) || EXT2_S_ISDIR(in->mode))
		return true;
	if (EXT2_S_ISLNK(in->mode))
		return in->blocks > (in->file_acl ? fs->block_size / 512 : 0);
	return false;
}

static int large_file(struct ext2_fs *fs, u64 size)
{
	if (size <= 0x7fffffff || (fs->ro_compat & EXT2_RO_COMPAT_LARGE_FILE))
		return 0;
	fs->ro_compat |= EXT2_RO_COMPAT_LARGE_FILE;
	u8 v[4];
	put32(v, fs->ro_compat);
	return ext2_dev_write(fs, EXT2_SB_OFFSET + SB_FEATURE_RO_COMPAT, v, 4);
}

/* ---- files ---- */

/* A write of [off, off + len) may start: 0, or why not */
static int write_start(struct ext2_fs *fs, const struct ext2_inode *in, u64 off, size_t len)
{
	if (!fs->write)
		return -EROFS;
	if (!EXT2_S_ISREG(in->mode))
		return -EINVAL;
	if (off >= fs->max_file_size || len > fs->max_file_size - off)
		return -EFBIG;
	return large_file(fs, off + len);
}

/* A write got done bytes from off (r: its error, if any): the size and
 * the times, the inode written; what the write returns */
static long write_end(struct ext2_fs *fs, struct ext2_inode *in, u64 off, size_t done, int r)
{
	if (done && off + done > in->size)
		in->size = off + done;
	if (done)
		touch(fs, in, true);
	int w = ext2_iput_disk(fs, in);   /* the block map may have grown even with nothing done */
	if (done)
		return w < 0 ? w : (long)done;
	return r < 0 ? r : w;
}

long ext2_write(struct ext2_fs *fs, struct ext2_inode *in, u64 off, const void *buf, size_t len)
{
	int r = write_start(fs, in, off, len);
	if (r < 0)
		return r;
	u32 bs = fs->block_size;
	const u8 *src = buf;
	size_t done = 0;
	/* blocks mapped but not yet written, adjacent on the disk: one write
	 * for the run (run_off: where on the disk, run_len bytes from
	 * src + done) */
	u64 run_off = 0, old_size = in->size;
	size_t run_len = 0;
	bool wfail = false;
	while (done + run_len < len) {
		u64 pos = off + done + run_len;
		u32 in_blk = (u32)(pos % bs);
		size_t k = MIN((size_t)(bs - in_blk), len - done - run_len);
		u32 pb;
		/* a new block past the old end that this write fills whole is
		 * not zeroed first (one write of it, not two) */
		bool whole = in_blk == 0 && k == bs && pos >= old_size;
		r = map_alloc(fs, in, pos / bs, &pb, !whole);
		if (r < 0)
			break;
		u64 at = (u64)pb * bs + in_blk;
		if (run_len && at != run_off + run_len) {
			r = ext2_data_write(fs, run_off, src + done, run_len);
			if (r < 0) {
				run_len = 0;
				wfail = true;
				break;
			}
			done += run_len;
			run_len = 0;
		}
		if (!run_len)
			run_off = at;
		run_len += k;
	}
	if (run_len) {   /* also after a failed allocation: what was mapped */
		int w = ext2_data_write(fs, run_off, src + done, run_len);
		if (w < 0) {
			r = w;
			wfail = true;
		} else {
			done += run_len;
		}
	}
	if (wfail) {
		/* blocks mapped past the old end and past what was written may
		 * hold another file's old bytes: they go (the file ends at
		 * off + done) */
		u64 keep = MAX((old_size + bs - 1) / bs, (off + done + bs - 1) / bs);
		ext2_free_blocks_from(fs, in, keep);
	}
	return write_end(fs, in, off, done, r);
}

long ext2_write_alloc(struct ext2_fs *fs, struct ext2_inode *in, u64 off, size_t len, bool zero)
{
	int r = write_start(fs, in, off, len);
	if (r < 0 || !len)
		return r;
	u32 bs = fs->block_size;
	u64 old_size = in->size, lblk = off / bs, end = (off + len - 1) / bs;
	for (; lblk <= end; lblk++) {
		u32 pb;
		/* a hole inside the file is zeroed now: a failed write frees
		 * only what lies past the old end (ext2_write_undo) */
		if ((r = map_alloc(fs, in, lblk, &pb, zero || lblk * bs < old_size)) < 0)
			break;
	}
	return write_end(fs, in, off, (size_t)MIN((u64)len, lblk * bs - off), r);
}

int ext2_write_undo(struct ext2_fs *fs, struct ext2_inode *in, u64 old_size, u64 end)
{
	u32 bs = fs->block_size;
	u64 keep = MAX((old_size + bs - 1) / bs, (end + bs - 1) / bs);
	int r = ext2_free_blocks_from(fs, in, keep);
	in->size = MAX(old_size, MIN(in->size, end));
	int w = ext2_iput_disk(fs, in);
	return r < 0 ? r : w;
}

int ext2_truncate(struct ext2_fs *fs, struct ext2_inode *in, u64 size)
{
	if (!fs->write)
		return -EROFS;
	if (!EXT2_S_ISREG(in->mode))
		return -EINVAL;
	if (size > fs->max_file_size)
		return -EFBIG;
	int r = large_file(fs, size);
	if (r < 0)
		return r;
	u32 bs = fs->block_size;
	if (size < in->size) {
		u64 keep = (size + bs - 1) / bs;
		r = ext2_free_blocks_from(fs, in, keep);
		if (r == 0 && size % bs) {
			/* the rest of the last block reads as zeros when the file grows */
			u32 pb;
			r = ext2_bmap(fs, in, size / bs, &pb);
			if (r == 0 && pb)
				r = ext2_data_write(fs, (u64)pb * bs + size % bs, fs->zero,
						    bs - size % bs);
		}
	}
	in->size = size;
	touch(fs, in, true);
	int w = ext2_iput_disk(fs, in);
	return r < 0 ? r : w;
}

int ext2_setattr(struct ext2_fs *fs, struct ext2_inode *in, u32 mode, s64 atime, s64 mtime)
{
	if (!fs->write)
		return -EROFS;
	in->mode = (in->mode & EXT2_S_IFMT) | (mode & 07777);
	in->atime = atime;
	in->mtime = mtime;
	in->atime_ns = in->mtime_ns = 0;
	touch(fs, in, false);
	return ext2_iput_disk(fs, in);
}

int ext2_chown(struct ext2_fs *fs, struct ext2_inode *in, u32 uid, u32 gid, u32 mode)
{
	if (!fs->write)
		return -EROFS;
	in->uid = uid;
	in->gid = gid;
	in->mode = (in->mode & EXT2_S_IFMT) | (mode & 07777);
	touch(fs, in, false);
	return ext2_iput_disk(fs, in);
}

/* ---- the name space ---- */

static int check_name(struct ext2_fs *fs, const struct ext2_inode *dir, const char *name,
		      size_t len)
{
	if (!fs->write)
		return -EROFS;
	if (!EXT2_S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (len > 255)
		return -ENAMETOOLONG;
	if (len == 0)
		return -ENOENT;
	u32 ino;
	int r = ext2_lookup(fs, dir, name, len, &ino);
	if (r == 0)
		return -EEXIST;
	return r == -ENOENT ? 0 : r;
}

#define EXT2_LINKS_MAX 65000

int ext2_evict(struct ext2_fs *fs, struct ext2_inode *in)
{
	if (!fs->write)
		return -EROFS;
	if (in->links)
		return -EBUSY;
	int r = ext2_orphan_del(fs, in->ino);
	if (r == 0 && has_tree(fs, in))
		r = ext2_free_blocks_from(fs, in, 0);
	if (r == 0 && in->file_acl) {
		/* the extended-attribute block: one reference less */
		u8 v[4];
		u64 at = (u64)in->file_acl * fs->block_size + 4;
		if ((r = check_ptr(fs, in->ino, in->file_acl)) == 0 &&
		    (r = ext2_dev_read(fs, at, v, 4)) == 0) {
			u32 refs = le32(v);
			if (refs > 1) {
				put32(v, refs - 1);
				r = ext2_dev_write(fs, at, v, 4);
			} else {
				r = bfree(fs, in->file_acl);
			}
			in->file_acl = 0;
		}
	}
	if (r < 0)
		return r;
	in->size = 0;
	in->blocks = 0;
	if ((r = ext2_iput_disk(fs, in)) < 0)
		return r;
	return ifree(fs, in->ino, EXT2_S_ISDIR(in->mode));
}

int ext2_create(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		u32 mode, u32 rdev, const char *link_target, struct ext2_inode *out)
{
	int r = check_name(fs, dir, name, len);
	if (r < 0)
		return r;
	size_t tlen = 0;
	if (EXT2_S_ISLNK(mode)) {
		tlen = link_target ? strlen(link_target) : 0;
		if (tlen == 0)
			return -ENOENT;
		if (tlen >= fs->block_size || tlen >= EXT2_LINK_MAX)
			return -ENAMETOOLONG;
	}
	bool isdir = EXT2_S_ISDIR(mode);
	if (isdir && dir->links >= EXT2_LINKS_MAX)
		return -EMLINK;
	u32 ino = 0;
	if ((r = ialloc(fs, dir->ino, isdir, &ino)) < 0)
		return r;
	/* a clean inode: zeros, then the extra part's size as mke2fs gives it */
	u8 raw[256];
	u32 n = MIN(fs->inode_size, (u32)sizeof(raw));
	memset(raw, 0, n);
	if (n >= EXT2_GOOD_OLD_INODE_SIZE + 32)
		put16(raw + IN_EXTRA_ISIZE, 32);
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->mode = mode;
	out->links = isdir ? 2 : 1;
	out->atime = out->mtime = out->ctime = ext2_now(fs);
	if ((r = ext2_dev_write(fs, ext2_inode_off(fs, ino), raw, n)) < 0) {
		ifree(fs, ino, isdir);
		return r;
	}
	u32 bs = fs->block_size;
	if ((mode & EXT2_S_IFMT) == EXT2_S_IFCHR || (mode & EXT2_S_IFMT) == EXT2_S_IFBLK) {
		if (rdev <= 0xffff)
			out->block[0] = rdev;
		else
			out->block[1] = rdev;
		out->rdev = rdev;
	}
	u32 pb;
	if (isdir) {
		r = ext2_map_alloc(fs, out, 0, &pb);
		if (r == 0) {
			u8 *blk = kzalloc(bs);
			if (!blk) {
				r = -ENOMEM;
			} else {
				put32(blk, ino);
				put16(blk + DE_REC_LEN, 12);
				put32(blk + 12, dir->ino);
				put16(blk + 12 + DE_REC_LEN, bs == 65536 ? 65535 : bs - 12);
				if (fs->incompat & EXT2_INCOMPAT_FILETYPE) {
					blk[DE_NAME_LEN] = 1;
					blk[DE_FILE_TYPE] = EXT2_FT_DIR;
					blk[12 + DE_NAME_LEN] = 2;
					blk[12 + DE_FILE_TYPE] = EXT2_FT_DIR;
				} else {
					put16(blk + DE_NAME_LEN, 1);
					put16(blk + 12 + DE_NAME_LEN, 2);
				}
				blk[DE_NAME] = '.';
				blk[12 + DE_NAME] = blk[12 + DE_NAME + 1] = '.';
				r = ext2_dev_write(fs, (u64)pb * bs, blk, bs);
				kfree(blk);
				out->size = bs;
			}
		}
	} else if (EXT2_S_ISLNK(mode)) {
		out->size = tlen;
		if (tlen < EXT2_FAST_LINK_MAX) {
			for (size_t i = 0; i < tlen; i++)
				out->block[i / 4] |= (u32)(u8)link_target[i] << (8 * (i % 4));
		} else {
			r = ext2_map_alloc(fs, out, 0, &pb);
			if (r == 0)
				r = ext2_dev_write(fs, (u64)pb * bs, link_target, tlen);
		}
	}
	if (r == 0)
		r = ext2_iput_disk(fs, out);
	if (r == 0)
		r = ext2_dir_add(fs, dir, name, len, ino, mode);
	if (r < 0) {
		/* give back what was taken: nothing names the inode */
		out->links = 0;
		ext2_evict(fs, out);
		ext2_iput_disk(fs, dir);   /* its block map may have grown */
		return r;
	}
	if (isdir)
		dir->links++;
	dir->flags &= ~(u32)EXT2_FL_INDEX;
	touch(fs, dir, true);
	return ext2_iput_disk(fs, dir);
}

int ext2_link(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
	      struct ext2_inode *in)
{
	int r = check_name(fs, dir, name, len);
	if (r < 0)
		return r;
	if (EXT2_S_ISDIR(in->mode))
		return -EPERM;
	if (in->links == 0)
		return -ENOENT;   /* unlinked, on the orphan list (as Linux: no way back) */
	if (in->links >= EXT2_LINKS_MAX)
		return -EMLINK;
	r = ext2_dir_add(fs, dir, name, len, in->ino, in->mode);
	if (r < 0) {
		ext2_iput_disk(fs, dir);
		return r;
	}
	in->links++;
	touch(fs, in, false);
	dir->flags &= ~(u32)EXT2_FL_INDEX;
	touch(fs, dir, true);
	if ((r = ext2_iput_disk(fs, in)) < 0)
		return r;
	return ext2_iput_disk(fs, dir);
}

int ext2_unlink(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		struct ext2_inode *child)
{
	if (!fs->write)
		return -EROFS;
	if (len > 255)
		return -ENAMETOOLONG;
	int r;
	bool isdir = EXT2_S_ISDIR(child->mode);
	if (isdir && (r = ext2_dir_is_empty(fs, child)) <= 0)
		return r < 0 ? r : -ENOTEMPTY;
	if ((r = ext2_orphan_room(fs)) < 0 || (r = ext2_dir_remove(fs, dir, name, len)) < 0)
		return r;
	u32 had = child->links;
	if (isdir) {
		child->links = 0;
		if (dir->links > 1)
			dir->links--;
	} else if (child->links) {
		child->links--;
	}
	if (had && !child->links && (r = ext2_orphan_add(fs, child->ino)) < 0)
		return r;
	touch(fs, child, false);
	dir->flags &= ~(u32)EXT2_FL_INDEX;
	touch(fs, dir, true);
	if ((r = ext2_iput_disk(fs, child)) < 0)
		return r;
	return ext2_iput_disk(fs, dir);
}

int ext2_rename(struct ext2_fs *fs, struct ext2_inode *odir, const char *oname, size_t olen,
		struct ext2_inode *src, struct ext2_inode *ndir, const char *nname, size_t nlen,
		struct ext2_inode *dst)
{
	if (!fs->write)
		return -EROFS;
	if (nlen > 255 || olen > 255)
		return -ENAMETOOLONG;
	if (nlen == 0)
		return -ENOENT;
	bool isdir = EXT2_S_ISDIR(src->mode);
	int r;
	if (dst) {
		if (EXT2_S_ISDIR(dst->mode) && (r = ext2_dir_is_empty(fs, dst)) <= 0)
			return r < 0 ? r : -ENOTEMPTY;
		if ((r = ext2_orphan_room(fs)) < 0 ||
		    (r = ext2_dir_set(fs, ndir, nname, nlen, src->ino, src->mode)) < 0)
			return r;
		u32 had = dst->links;
		if (EXT2_S_ISDIR(dst->mode)) {
			dst->links = 0;
			if (ndir->links > 1)
				ndir->links--;
		} else if (dst->links) {
			dst->links--;
		}
		if (had && !dst->links && (r = ext2_orphan_add(fs, dst->ino)) < 0)
			return r;
		touch(fs, dst, false);
		if ((r = ext2_iput_disk(fs, dst)) < 0)
			return r;
	} else {
		if (isdir && odir != ndir && ndir->links >= EXT2_LINKS_MAX)
			return -EMLINK;
		if ((r = ext2_dir_add(fs, ndir, nname, nlen, src->ino, src->mode)) < 0) {
			ext2_iput_disk(fs, ndir);
			return r;
		}
	}
	if ((r = ext2_dir_remove(fs, odir, oname, olen)) < 0)
		return r;
	if (isdir && odir != ndir) {
		if ((r = ext2_dir_set(fs, src, "..", 2, ndir->ino, EXT2_S_IFDIR)) < 0)
			return r;
		if (odir->links > 1)
			odir->links--;
		ndir->links++;
	}
	touch(fs, src, false);
	odir->flags &= ~(u32)EXT2_FL_INDEX;
	ndir->flags &= ~(u32)EXT2_FL_INDEX;
	touch(fs, odir, true);
	touch(fs, ndir, true);
	if ((r = ext2_iput_disk(fs, src)) < 0 || (r = ext2_iput_disk(fs, odir)) < 0)
		return r;
	return odir == ndir ? 0 : ext2_iput_disk(fs, ndir);
}
