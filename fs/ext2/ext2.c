/*
 * ext2/ext3 read-only: the superblock, group descriptors, inodes and the
 * block tree of a file (ext2.h). Directories and links: ext2_dir.c.
 */
#include "fs/ext2/ext2_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

int ext2_complain(struct ext2_fs *fs, int err, const char *fmt, ...)
{
	if (fs->quiet)
		return err;   /* the caller's own read reports it, if it matters */
	if (err == -EIO)
		fs->io_errors++;
	else
		fs->corrupt++;
	if (fs->logged >= EXT2_LOG_MAX)
		return err;
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fs->logged++;
	pr_err("ext2 %s: %s (%s)%s", fs->name, line, err == -EIO ? "I/O error" : "corrupt",
	       fs->logged == EXT2_LOG_MAX ? "; further errors are counted, not logged" : "");
	return err;
}

int ext2_dev_read(struct ext2_fs *fs, u64 off, void *buf, size_t len)
{
	if (off > fs->dev_bytes || len > fs->dev_bytes - off)
		return ext2_complain(fs, -EUCLEAN, "a read of %zu bytes at byte %llu is past the "
				     "disk's end", len, (unsigned long long)off);
	if (fs->read(fs->ctx, off, buf, len) < 0)
		return ext2_complain(fs, -EIO, "reading %zu bytes at byte %llu", len,
				     (unsigned long long)off);
	if (fs->journal && fs->write)
		jbd2_overlay(fs, off, buf, len);   /* the running transaction's blocks */
	return 0;
}

/* ---- features ---- */

struct feature {
	u32 bit;
	const char *name;
};

static const struct feature compat_names[] = {
	{ EXT2_COMPAT_DIR_PREALLOC, "dir_prealloc" }, { EXT2_COMPAT_IMAGIC_INODES, "imagic_inodes" },
	{ EXT2_COMPAT_HAS_JOURNAL, "has_journal" }, { EXT2_COMPAT_EXT_ATTR, "ext_attr" },
	{ EXT2_COMPAT_RESIZE_INODE, "resize_inode" }, { EXT2_COMPAT_DIR_INDEX, "dir_index" },
	{ EXT2_COMPAT_SPARSE_SUPER2, "sparse_super2" }, { EXT2_COMPAT_FAST_COMMIT, "fast_commit" },
	{ EXT2_COMPAT_STABLE_INODES, "stable_inodes" }, { EXT2_COMPAT_ORPHAN_FILE, "orphan_file" },
};
static const struct feature incompat_names[] = {
	{ EXT2_INCOMPAT_COMPRESSION, "compression" }, { EXT2_INCOMPAT_FILETYPE, "filetype" },
	{ EXT2_INCOMPAT_RECOVER, "needs_recovery" }, { EXT2_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ EXT2_INCOMPAT_META_BG, "meta_bg" }, { EXT2_INCOMPAT_EXTENTS, "extent" },
	{ EXT2_INCOMPAT_64BIT, "64bit" }, { EXT2_INCOMPAT_MMP, "mmp" },
	{ EXT2_INCOMPAT_FLEX_BG, "flex_bg" }, { EXT2_INCOMPAT_EA_INODE, "ea_inode" },
	{ EXT2_INCOMPAT_DIRDATA, "dirdata" }, { EXT2_INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ EXT2_INCOMPAT_LARGEDIR, "large_dir" }, { EXT2_INCOMPAT_INLINE_DATA, "inline_data" },
	{ EXT2_INCOMPAT_ENCRYPT, "encrypt" }, { EXT2_INCOMPAT_CASEFOLD, "casefold" },
};
static const struct feature ro_compat_names[] = {
	{ EXT2_RO_COMPAT_SPARSE_SUPER, "sparse_super" }, { EXT2_RO_COMPAT_LARGE_FILE, "large_file" },
	{ EXT2_RO_COMPAT_BTREE_DIR, "btree_dir" }, { EXT2_RO_COMPAT_HUGE_FILE, "huge_file" },
	{ EXT2_RO_COMPAT_GDT_CSUM, "uninit_bg" }, { EXT2_RO_COMPAT_DIR_NLINK, "dir_nlink" },
	{ EXT2_RO_COMPAT_EXTRA_ISIZE, "extra_isize" }, { EXT2_RO_COMPAT_QUOTA, "quota" },
	{ EXT2_RO_COMPAT_BIGALLOC, "bigalloc" }, { EXT2_RO_COMPAT_METADATA_CSUM, "metadata_csum" },
	{ EXT2_RO_COMPAT_READONLY, "read-only" }, { EXT2_RO_COMPAT_PROJECT, "project" },
	{ EXT2_RO_COMPAT_VERITY, "verity" }, { EXT2_RO_COMPAT_ORPHAN_PRESENT, "orphan_present" },
};

/* Incompatible features a read-only reader of the block-map format handles:
 * the type byte of directory entries, metadata placed anywhere (flex_bg:
 * only the group descriptors' block numbers say where), and a checksum
 * seed (checksums are not verified). */
#define INCOMPAT_READABLE (EXT2_INCOMPAT_FILETYPE | EXT2_INCOMPAT_FLEX_BG | \
			   EXT2_INCOMPAT_CSUM_SEED | EXT2_INCOMPAT_RECOVER)

static size_t put_names(char *buf, size_t size, size_t at, u32 bits, const struct feature *t,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(bits & t[i].bit))
			continue;
		bits &= ~t[i].bit;
		int w = ksnprintf(buf + at, at < size ? size - at : 0, "%s%s", at ? " " : "",
				  t[i].name);
		at += (size_t)w;
	}
	for (unsigned b = 0; b < 32; b++)
		if (bits & (1u << b))
			at += (size_t)ksnprintf(buf + at, at < size ? size - at : 0, "%sbit%u",
						at ? " " : "", b);
	return at;
}

void ext2_feature_names(const struct ext2_fs *fs, char *buf, size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	size_t at = put_names(buf, size, 0, fs->compat, compat_names, ARRAY_SIZE(compat_names));
	at = put_names(buf, size, at, fs->incompat, incompat_names, ARRAY_SIZE(incompat_names));
	put_names(buf, size, at, fs->ro_compat, ro_compat_names, ARRAY_SIZE(ro_compat_names));
}

static const char *incompat_name(u32 bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(incompat_names); i++)
		if (incompat_names[i].bit == bit)
			return incompat_names[i].name;
	return "unknown";
}

const char *ext2_journal_state(const struct ext2_fs *fs)
{
	if (!(fs->compat & EXT2_COMPAT_HAS_JOURNAL))
		return "none (ext2)";
	if (fs->incompat & EXT2_INCOMPAT_RECOVER && !fs->journal)
		return "needs recovery";
	if (fs->journal && fs->write)
		return "active, ordered data (JBD2)";
	return "clean, not loaded (read-only)";
}

/* ---- mount ---- */

int ext2_refuse(struct ext2_fs *fs, int err, char *msg, size_t msgsize, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, msgsize, fmt, ap);
	va_end(ap);
	if (err == -EUCLEAN)
		fs->corrupt++;
	return err;
}

static int check_superblock(struct ext2_fs *fs, const u8 *sb, char *msg, size_t msgsize)
{
	u32 log = le32(sb + SB_LOG_BSIZE);
	if (log > 6)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "block size 1024 << %u is not 1 to 64 KiB",
				   log);
	fs->block_size = 1024u << log;
	u32 bs = fs->block_size;
	fs->rev = le32(sb + SB_REV_LEVEL);
	if (fs->rev > 1)
		return ext2_refuse(fs, -EOPNOTSUPP, msg, msgsize, "revision %u is not supported (0 and 1 are)",
				   fs->rev);
	fs->compat = le32(sb + SB_FEATURE_COMPAT);
	fs->incompat = le32(sb + SB_FEATURE_INCOMPAT);
	fs->ro_compat = le32(sb + SB_FEATURE_RO_COMPAT);
	u32 bad = fs->incompat & ~(u32)INCOMPAT_READABLE;
	if (bad) {
		u32 bit = bad & -bad;
		return ext2_refuse(fs, -EOPNOTSUPP, msg, msgsize, "incompatible feature %s (%#x) is not "
				   "supported: refused", incompat_name(bit), bit);
	}
	if ((fs->incompat & EXT2_INCOMPAT_RECOVER) && !fs->recovering)
		return ext2_refuse(fs, -EOPNOTSUPP, msg, msgsize, "the journal needs recovery "
				   "(needs_recovery: not cleanly unmounted) and was not replayed (a "
				   "read-only disk cannot be): refused (e2fsck -fy replays it)");
	fs->inodes_count = le32(sb + SB_INODES_COUNT);
	fs->blocks_count = le32(sb + SB_BLOCKS_COUNT);
	/* for statfs; checked by e2fsck, not here: a count above the total
	 * is taken as the total */
	fs->free_blocks = MIN(le32(sb + SB_FREE_BLOCKS), fs->blocks_count);
	fs->free_inodes = MIN(le32(sb + SB_FREE_INODES), fs->inodes_count);
	fs->r_blocks = MIN(le32(sb + SB_R_BLOCKS), fs->blocks_count);
	fs->first_data_block = le32(sb + SB_FIRST_DATA);
	fs->blocks_per_group = le32(sb + SB_BLOCKS_PER_GROUP);
	fs->inodes_per_group = le32(sb + SB_INODES_PER_GROUP);
	fs->state = le16(sb + SB_STATE);
	if (fs->first_data_block != (bs == 1024 ? 1u : 0u))
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "first data block %u with %u-byte blocks",
				   fs->first_data_block, bs);
	if (fs->blocks_per_group < 8 || fs->blocks_per_group > 8 * bs)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "%u blocks per group", fs->blocks_per_group);
	if (fs->blocks_count <= fs->first_data_block + 1)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "%u blocks", fs->blocks_count);
	if ((u64)fs->blocks_count * bs > fs->dev_bytes)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "the file system (%u blocks of %u bytes) is "
				   "larger than the disk (%llu bytes)", fs->blocks_count, bs,
				   (unsigned long long)fs->dev_bytes);
	u64 groups = (fs->blocks_count - fs->first_data_block + (u64)fs->blocks_per_group - 1) /
		     fs->blocks_per_group;
	if (groups > EXT2_MAX_GROUPS)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "%llu groups", (unsigned long long)groups);
	fs->groups = (u32)groups;
	if (fs->rev == 0) {
		fs->inode_size = EXT2_GOOD_OLD_INODE_SIZE;
		fs->first_ino = EXT2_GOOD_OLD_FIRST_INO;
	} else {
		fs->inode_size = le16(sb + SB_INODE_SIZE);
		fs->first_ino = le32(sb + SB_FIRST_INO);
	}
	u32 isz = fs->inode_size;
	if (isz < EXT2_GOOD_OLD_INODE_SIZE || isz > bs || (isz & (isz - 1)))
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "inode size %u", isz);
	if (fs->inodes_per_group == 0 || fs->inodes_per_group > 8 * bs ||
	    (u64)fs->inodes_per_group * isz > (u64)fs->blocks_per_group * bs)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "%u inodes per group",
				   fs->inodes_per_group);
	if (fs->inodes_count < fs->first_ino || fs->first_ino < EXT2_GOOD_OLD_FIRST_INO ||
	    fs->inodes_count > (u64)groups * fs->inodes_per_group)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "%u inodes (first %u) in %u groups of %u",
				   fs->inodes_count, fs->first_ino, fs->groups, fs->inodes_per_group);
	if (fs->compat & EXT2_COMPAT_HAS_JOURNAL) {
		fs->journal_inum = le32(sb + SB_JOURNAL_INUM);
		if (fs->journal_inum == 0)
			return ext2_refuse(fs, -EOPNOTSUPP, msg, msgsize, "the journal is on another device: "
					   "not supported");
		if (fs->journal_inum > fs->inodes_count)
			return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "journal inode %u", fs->journal_inum);
	}
	memcpy(fs->label, sb + SB_VOLUME_NAME, 16);
	fs->label[16] = '\0';
	for (int i = 0; i < 16; i++)
		if (fs->label[i] && (fs->label[i] < ' ' || fs->label[i] > '~'))
			fs->label[i] = '?';
	memcpy(fs->uuid, sb + SB_UUID, 16);
	fs->ptrs_per_block = bs / 4;
	u64 p = fs->ptrs_per_block;
	fs->max_file_size = (EXT2_NDIR_BLOCKS + p + p * p + p * p * p) * bs;
	return 0;
}

/* Is [b, b + n) inside group g (or anywhere past the superblock with flex_bg)? */
static bool meta_ok(const struct ext2_fs *fs, u32 g, u64 b, u64 n)
{
	if (b <= fs->first_data_block || b + n > fs->blocks_count)
		return false;
	if (fs->incompat & EXT2_INCOMPAT_FLEX_BG)
		return true;
	u64 start = fs->first_data_block + (u64)g * fs->blocks_per_group;
	return b >= start && b + n <= start + fs->blocks_per_group;
}

static int read_groups(struct ext2_fs *fs, char *msg, size_t msgsize)
{
	u32 bs = fs->block_size;
	u64 gdt = fs->first_data_block + 1;
	u64 gdt_blocks = ((u64)fs->groups * GD_SIZE + bs - 1) / bs;
	if (gdt + gdt_blocks > fs->blocks_count)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "%u group descriptors do not fit",
				   fs->groups);
	u64 itb = ((u64)fs->inodes_per_group * fs->inode_size + bs - 1) / bs;
	fs->inode_table = kmalloc((size_t)fs->groups * sizeof(u32), 0);
	if (!fs->inode_table)
		return ext2_refuse(fs, -ENOMEM, msg, msgsize, "no memory for %u groups", fs->groups);
	u8 gd[GD_SIZE];
	for (u32 g = 0; g < fs->groups; g++) {
		int r = ext2_dev_read(fs, gdt * bs + (u64)g * GD_SIZE, gd, GD_SIZE);
		if (r < 0)
			return ext2_refuse(fs, r, msg, msgsize, "reading group descriptor %u", g);
		u32 bb = le32(gd + GD_BLOCK_BITMAP), ib = le32(gd + GD_INODE_BITMAP);
		u32 it = le32(gd + GD_INODE_TABLE);
		if (!meta_ok(fs, g, bb, 1) || !meta_ok(fs, g, ib, 1) || !meta_ok(fs, g, it, itb) ||
		    (it < gdt + gdt_blocks && it + itb > gdt))
			return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "group %u: block bitmap %u, inode "
					   "bitmap %u, inode table %u (%llu blocks) out of place", g, bb,
					   ib, it, (unsigned long long)itb);
		fs->inode_table[g] = it;
	}
	return 0;
}

int ext2_mount(struct ext2_fs *fs, ext2_read_fn read, void *ctx, u64 dev_bytes,
	       const char *name, char *msg, size_t msgsize)
{
	return ext2_mount_any(fs, read, ctx, dev_bytes, name, msg, msgsize, false);
}

int ext2_mount_any(struct ext2_fs *fs, ext2_read_fn read, void *ctx, u64 dev_bytes,
		   const char *name, char *msg, size_t msgsize, bool recovering)
{
	memset(fs, 0, sizeof(*fs));
	fs->recovering = recovering;
	fs->read = read;
	fs->ctx = ctx;
	fs->dev_bytes = dev_bytes;
	size_t n = MIN(strlen(name), sizeof(fs->name) - 1);
	memcpy(fs->name, name, n);
	fs->name[n] = '\0';
	if (msgsize)
		msg[0] = '\0';
	if (dev_bytes < EXT2_SB_OFFSET + EXT2_SB_SIZE)
		return ext2_refuse(fs, -EINVAL, msg, msgsize, "the disk (%llu bytes) is too small for ext2",
				   (unsigned long long)dev_bytes);
	u8 *sb = kmalloc(EXT2_SB_SIZE, 0);
	if (!sb)
		return ext2_refuse(fs, -ENOMEM, msg, msgsize, "no memory");
	int r = fs->read(ctx, EXT2_SB_OFFSET, sb, EXT2_SB_SIZE);
	if (r < 0) {
		fs->io_errors++;
		r = ext2_refuse(fs, -EIO, msg, msgsize, "I/O error reading the superblock");
	} else if (le16(sb + SB_MAGIC) != EXT2_MAGIC) {
		r = ext2_refuse(fs, -EINVAL, msg, msgsize, "no ext2 superblock (magic %#x)",
				le16(sb + SB_MAGIC));
	} else {
		r = check_superblock(fs, sb, msg, msgsize);
	}
	kfree(sb);
	if (r == 0)
		r = read_groups(fs, msg, msgsize);
	if (r == 0) {
		fs->dirbuf = kmalloc(fs->block_size, 0);
		if (!fs->dirbuf)
			r = ext2_refuse(fs, -ENOMEM, msg, msgsize, "no memory");
	}
	struct ext2_inode root;
	if (r == 0) {
		r = ext2_iget(fs, EXT2_ROOT_INO, &root);
		if (r < 0)
			r = ext2_refuse(fs, r, msg, msgsize, "the root inode is unreadable (error %d)", r);
		else if (!EXT2_S_ISDIR(root.mode))
			r = ext2_refuse(fs, -EUCLEAN, msg, msgsize, "the root inode is not a directory "
					"(mode %#o)", root.mode);
	}
	if (r < 0) {
		ext2_unmount(fs);
		return r;
	}
	if (fs->state & EXT2_STATE_ERROR)
		pr_warn("ext2 %s: the superblock records errors (run e2fsck); reading anyway",
			fs->name);
	return 0;
}

void ext2_unmount(struct ext2_fs *fs)
{
	jbd2_free(fs);
	kfree(fs->orphans);
	fs->orphans = NULL;
	fs->norphans = fs->orphans_cap = 0;
	kfree(fs->bitmap_home);
	fs->bitmap_home = NULL;
	kfree(fs->inode_table);
	kfree(fs->dirbuf);
	kfree(fs->gdt);
	kfree(fs->bitmap);
	kfree(fs->zero);
	fs->inode_table = NULL;
	fs->dirbuf = NULL;
	fs->gdt = fs->bitmap = fs->zero = NULL;
	fs->write = NULL;
}

/* ---- inodes ---- */

static bool valid_type(u32 mode)
{
	switch (mode & EXT2_S_IFMT) {
	case EXT2_S_IFREG: case EXT2_S_IFDIR: case EXT2_S_IFLNK: case EXT2_S_IFCHR:
	case EXT2_S_IFBLK: case EXT2_S_IFIFO: case EXT2_S_IFSOCK:
		return true;
	default:
		return false;
	}
}

/* A time of the base part and its extra word (when the inode has it). */
static int inode_time(struct ext2_fs *fs, u32 ino, const u8 *raw, u32 base, u32 extra_off,
		      u32 extra_end, s64 *sec, u32 *nsec)
{
	*sec = (s32)le32(raw + base);
	*nsec = 0;
	if (extra_off + 4 > extra_end)
		return 0;
	u32 x = le32(raw + extra_off);
	*sec += (s64)(x & 3) << 32;
	*nsec = x >> 2;
	if (*nsec >= 1000000000u)
		return ext2_complain(fs, -EUCLEAN, "inode %u: a time with %u nanoseconds", ino, *nsec);
	return 0;
}

/* Linux's encoding of a device number (new_encode_dev), from the inode's
 * old (block[0]) or new (block[1]) form. */
static u32 inode_rdev(const struct ext2_inode *in)
{
	if (in->block[0])
		return in->block[0] & 0xffff;   /* major << 8 | minor, both 8 bits */
	return in->block[1];                    /* already Linux's encoding */
}

/* unlinked: an inode of the orphan list may have no links left */
static int iget(struct ext2_fs *fs, u32 ino, struct ext2_inode *out, bool unlinked)
{
	if (ino < 1 || ino > fs->inodes_count)
		return ext2_complain(fs, -EUCLEAN, "inode %u out of range (1 to %u)", ino,
				     fs->inodes_count);
	u32 g = (ino - 1) / fs->inodes_per_group, idx = (ino - 1) % fs->inodes_per_group;
	u64 off = (u64)fs->inode_table[g] * fs->block_size + (u64)idx * fs->inode_size;
	u8 raw[256];
	u32 n = MIN(fs->inode_size, (u32)sizeof(raw));
	int r = ext2_dev_read(fs, off, raw, n);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->mode = le16(raw + IN_MODE);
	out->links = le16(raw + IN_LINKS);
	if (out->mode == 0 || (out->links == 0 && !unlinked))
		return ext2_complain(fs, -EUCLEAN, "inode %u is not in use (mode %#o, %u links)", ino,
				     out->mode, out->links);
	if (!valid_type(out->mode))
		return ext2_complain(fs, -EUCLEAN, "inode %u: no valid type in mode %#o", ino,
				     out->mode);
	out->flags = le32(raw + IN_FLAGS);
	if (out->flags & (EXT2_FL_EXTENTS | EXT2_FL_INLINE_DATA | EXT2_FL_EA_INODE))
		return ext2_complain(fs, -EUCLEAN, "inode %u: flags %#x name extents, inline data "
				     "or an EA inode, which the file system's features exclude", ino,
				     out->flags);
	out->uid = le16(raw + IN_UID) | (u32)le16(raw + IN_UID_HIGH) << 16;
	out->gid = le16(raw + IN_GID) | (u32)le16(raw + IN_GID_HIGH) << 16;
	out->size = le32(raw + IN_SIZE);
	if (EXT2_S_ISREG(out->mode))
		out->size |= (u64)le32(raw + IN_SIZE_HIGH) << 32;
	out->blocks = le32(raw + IN_BLOCKS);
	if (fs->ro_compat & EXT2_RO_COMPAT_HUGE_FILE) {
		out->blocks |= (u64)le16(raw + IN_BLOCKS_HIGH) << 32;
		if (out->flags & EXT2_FL_HUGE_FILE)
			out->blocks *= fs->block_size / 512;
	}
	out->file_acl = le32(raw + IN_FILE_ACL);
	for (int i = 0; i < EXT2_N_BLOCKS; i++)
		out->block[i] = le32(raw + IN_BLOCK + 4 * i);
	u32 extra_end = 0;
	if (fs->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		u32 extra = le16(raw + IN_EXTRA_ISIZE);
		if (extra > fs->inode_size - EXT2_GOOD_OLD_INODE_SIZE || (extra & 3))
			return ext2_complain(fs, -EUCLEAN, "inode %u: extra size %u of %u", ino, extra,
					     fs->inode_size);
		extra_end = MIN(EXT2_GOOD_OLD_INODE_SIZE + extra, n);
	}
	if ((r = inode_time(fs, ino, raw, IN_ATIME, IN_ATIME_EXTRA, extra_end, &out->atime,
			    &out->atime_ns)) < 0 ||
	    (r = inode_time(fs, ino, raw, IN_MTIME, IN_MTIME_EXTRA, extra_end, &out->mtime,
			    &out->mtime_ns)) < 0 ||
	    (r = inode_time(fs, ino, raw, IN_CTIME, IN_CTIME_EXTRA, extra_end, &out->ctime,
			    &out->ctime_ns)) < 0)
		return r;
	u32 bs = fs->block_size;
	/* an orphan without links is only freed: Linux's rmdir leaves a
	 * directory's size 0 there, so only a file's size is checked */
	u32 type = out->mode & EXT2_S_IFMT;
	if (!out->links && type != EXT2_S_IFREG)
		type = 0;
	switch (type) {
	case EXT2_S_IFREG:
		if (out->size > fs->max_file_size)
			return ext2_complain(fs, -EUCLEAN, "inode %u: size %llu past the largest "
					     "file (%llu)", ino, (unsigned long long)out->size,
					     (unsigned long long)fs->max_file_size);
		break;
	case EXT2_S_IFDIR:
		if (out->size == 0 || out->size % bs || out->size > (u64)0xffffffff)
			return ext2_complain(fs, -EUCLEAN, "directory %u: size %llu is not a "
					     "multiple of the block size", ino,
					     (unsigned long long)out->size);
		break;
	case EXT2_S_IFLNK:
		if (out->size == 0 || out->size >= bs || out->size >= EXT2_LINK_MAX)
			return ext2_complain(fs, -EUCLEAN, "symbolic link %u: size %llu", ino,
					     (unsigned long long)out->size);
		break;
	case EXT2_S_IFCHR:
	case EXT2_S_IFBLK:
		out->rdev = inode_rdev(out);
		break;
	}
	return 0;
}

int ext2_iget(struct ext2_fs *fs, u32 ino, struct ext2_inode *out)
{
	return iget(fs, ino, out, false);
}

int ext2_iget_orphan(struct ext2_fs *fs, u32 ino, struct ext2_inode *out)
{
	return iget(fs, ino, out, true);
}

/* ---- the block tree ---- */

static int check_block(struct ext2_fs *fs, u32 ino, u32 b, const char *what)
{
	if (b <= fs->first_data_block || b >= fs->blocks_count)
		return ext2_complain(fs, -EUCLEAN, "inode %u: %s block %u out of range (%u to %u)",
				     ino, what, b, fs->first_data_block + 1, fs->blocks_count - 1);
	return 0;
}

int ext2_bmap(struct ext2_fs *fs, const struct ext2_inode *in, u64 lblk, u32 *pblk)
{
	u64 p = fs->ptrs_per_block;
	u32 idx[3], b;
	int depth;
	if (lblk < EXT2_NDIR_BLOCKS) {
		b = in->block[lblk];
		depth = 0;
	} else if ((lblk -= EXT2_NDIR_BLOCKS) < p) {
		b = in->block[EXT2_IND_BLOCK];
		depth = 1;
		idx[0] = (u32)lblk;
	} else if ((lblk -= p) < p * p) {
		b = in->block[EXT2_DIND_BLOCK];
		depth = 2;
		idx[0] = (u32)(lblk / p);
		idx[1] = (u32)(lblk % p);
	} else if ((lblk -= p * p) < p * p * p) {
		b = in->block[EXT2_TIND_BLOCK];
		depth = 3;
		idx[0] = (u32)(lblk / (p * p));
		idx[1] = (u32)(lblk / p % p);
		idx[2] = (u32)(lblk % p);
	} else {
		return ext2_complain(fs, -EUCLEAN, "inode %u: a block past the triple indirect "
				     "tree", in->ino);
	}
	u32 seen[3];
	for (int i = 0; i < depth; i++) {
		if (b == 0)
			break;
		int r = check_block(fs, in->ino, b, "indirect");
		if (r < 0)
			return r;
		for (int j = 0; j < i; j++)
			if (seen[j] == b)
				return ext2_complain(fs, -EUCLEAN, "inode %u: indirect block %u "
						     "names itself (a loop)", in->ino, b);
		seen[i] = b;
		u8 v[4];
		r = ext2_dev_read(fs, (u64)b * fs->block_size + 4ull * idx[i], v, 4);
		if (r < 0)
			return r;
		b = le32(v);
	}
	if (b) {
		int r = check_block(fs, in->ino, b, "data");
		if (r < 0)
			return r;
	}
	*pblk = b;
	return 0;
}

#define READ_RUN_MAX (1u << 20)   /* bytes of contiguous blocks read in one go */

long ext2_read(struct ext2_fs *fs, const struct ext2_inode *in, u64 off, void *buf, size_t len)
{
	if (off >= in->size)
		return 0;
	len = (size_t)MIN((u64)len, in->size - off);
	u32 bs = fs->block_size;
	u8 *out = buf;
	size_t done = 0;
	while (done < len) {
		u64 pos = off + done, lblk = pos / bs;
		u32 in_blk = (u32)(pos % bs);
		size_t k = MIN((size_t)(bs - in_blk), len - done);
		u32 pb;
		int r = ext2_bmap(fs, in, lblk, &pb);
		if (r < 0)
			return done ? (long)done : r;
		if (pb == 0) {
			memset(out + done, 0, k);
			done += k;
			continue;
		}
		/* the blocks after it that follow it on the disk: one read (a
		 * bad pointer ends the run quietly; the next turn reports it) */
		fs->quiet = true;
		for (u32 next = pb + 1; done + k < len && k < READ_RUN_MAX; next++) {
			u32 nb;
			if (ext2_bmap(fs, in, ++lblk, &nb) < 0 || nb != next)
				break;
			k += MIN((size_t)bs, len - done - k);
		}
		fs->quiet = false;
		r = ext2_dev_read(fs, (u64)pb * bs + in_blk, out + done, k);
		if (r < 0)
			return done ? (long)done : r;
		done += k;
	}
	return (long)done;
}
