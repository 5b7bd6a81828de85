/*
 * ext2 directories, read linearly, and symbolic links (ext2.h).
 *
 * A directory is a file of blocks, each a chain of entries that covers it
 * exactly: [inode u32][rec_len u16][name_len u8][file_type u8][name].
 * An htree (dir_index) directory looks the same to a linear reader: its
 * index blocks are single unused entries covering the block, and its root
 * block holds "." and a ".." whose rec_len covers the index. The last entry
 * of a block with metadata_csum is an unused 12-byte tail. Every entry is
 * checked before it is used; a bad one stops the read with -EUCLEAN.
 */
#include "fs/ext2/ext2_priv.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

u32 ext2_ft_mode(u8 ft)
{
	static const u32 modes[] = {
		[EXT2_FT_REG] = EXT2_S_IFREG, [EXT2_FT_DIR] = EXT2_S_IFDIR,
		[EXT2_FT_CHR] = EXT2_S_IFCHR, [EXT2_FT_BLK] = EXT2_S_IFBLK,
		[EXT2_FT_FIFO] = EXT2_S_IFIFO, [EXT2_FT_SOCK] = EXT2_S_IFSOCK,
		[EXT2_FT_LNK] = EXT2_S_IFLNK,
	};
	return ft < ARRAY_SIZE(modes) ? modes[ft] : 0;
}

/* Block lblk of the directory into fs->dirbuf. */
static int load_dir_block(struct ext2_fs *fs, const struct ext2_inode *dir, u64 lblk)
{
	u32 pb;
	int r = ext2_bmap(fs, dir, lblk, &pb);
	if (r < 0)
		return r;
	if (pb == 0)
		return ext2_complain(fs, -EUCLEAN, "directory %u: a hole at block %llu", dir->ino,
				     (unsigned long long)lblk);
	if (pb == fs->dirbuf_block)
		return 0;
	fs->dirbuf_block = 0;
	r = ext2_dev_read(fs, (u64)pb * fs->block_size, fs->dirbuf, fs->block_size);
	if (r < 0)
		return r;
	fs->dirbuf_block = pb;
	return 0;
}

/* The entry at p of the loaded block, checked: its rec_len, or an error. */
static int check_entry(struct ext2_fs *fs, const struct ext2_inode *dir, u64 lblk, u32 p)
{
	u32 bs = fs->block_size;
	const u8 *e = fs->dirbuf + p;
	if (bs - p < DE_HEADER + 4)
		return ext2_complain(fs, -EUCLEAN, "directory %u block %llu: an entry at %u leaves "
				     "no room for its header", dir->ino, (unsigned long long)lblk, p);
	u32 rec_len = le16(e + DE_REC_LEN);
	if (bs == 65536 && (rec_len == 65535 || rec_len == 0))
		rec_len = 65536;
	u32 name_len = (fs->incompat & EXT2_INCOMPAT_FILETYPE) ? e[DE_NAME_LEN] :
								 le16(e + DE_NAME_LEN);
	u32 ino = le32(e + DE_INODE);
	const char *bad = NULL;
	if (rec_len < DE_HEADER + 4 || (rec_len & 3))
		bad = "rec_len too small or unaligned";
	else if (rec_len > bs - p)
		bad = "rec_len past the block";
	else if (ino && (name_len == 0 || name_len > 255 || DE_HEADER + name_len > rec_len))
		bad = "name_len does not fit";
	else if (ino > fs->inodes_count)
		bad = "inode out of range";
	if (bad)
		return ext2_complain(fs, -EUCLEAN, "directory %u block %llu offset %u: %s (inode %u, "
				     "rec_len %u, name_len %u)", dir->ino,
				     (unsigned long long)lblk, p, bad, ino, rec_len, name_len);
	return (int)rec_len;
}

int ext2_dir_next(struct ext2_fs *fs, const struct ext2_inode *dir, u64 *off,
		  struct ext2_dirent *de)
{
	u32 bs = fs->block_size;
	while (*off < dir->size) {
		u64 lblk = *off / bs;
		u32 want = (u32)(*off % bs);
		int r = load_dir_block(fs, dir, lblk);
		if (r < 0)
			return r;
		/* walk from the block's start: *off may point inside an entry
		 * (a program's lseek), and every entry before it gets checked */
		u32 p = 0;
		int rec = 0;
		while (p < bs) {
			rec = check_entry(fs, dir, lblk, p);
			if (rec < 0)
				return rec;
			if (p >= want)
				break;
			p += (u32)rec;
		}
		if (p >= bs) {
			*off = (lblk + 1) * bs;
			continue;
		}
		*off = lblk * bs + p + (u32)rec;
		const u8 *e = fs->dirbuf + p;
		u32 ino = le32(e + DE_INODE);
		if (ino == 0)
			continue;
		bool ft = fs->incompat & EXT2_INCOMPAT_FILETYPE;
		de->ino = ino;
		de->name_len = ft ? e[DE_NAME_LEN] : le16(e + DE_NAME_LEN);
		de->type = ft ? ext2_ft_mode(e[DE_FILE_TYPE]) : 0;
		memcpy(de->name, e + DE_NAME, de->name_len);
		de->name[de->name_len] = '\0';
		for (u32 i = 0; i < de->name_len; i++)
			if (de->name[i] == '/' || de->name[i] == '\0')
				return ext2_complain(fs, -EUCLEAN, "directory %u: entry for inode %u has "
						     "a name with a %s", dir->ino, ino,
						     de->name[i] ? "slash" : "NUL");
		return 1;
	}
	return 0;
}

int ext2_lookup(struct ext2_fs *fs, const struct ext2_inode *dir, const char *name, size_t len,
		u32 *ino)
{
	if (!EXT2_S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (len == 0 || len > 255)
		return -ENOENT;
	struct ext2_dirent de;
	u64 off = 0;
	int r;
	while ((r = ext2_dir_next(fs, dir, &off, &de)) > 0) {
		if (de.name_len == len && memcmp(de.name, name, len) == 0) {
			*ino = de.ino;
			return 0;
		}
	}
	return r < 0 ? r : -ENOENT;
}

static size_t strnlen_nul(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i])
		i++;
	return i;
}

long ext2_readlink(struct ext2_fs *fs, const struct ext2_inode *in, char *buf, size_t size)
{
	if (!EXT2_S_ISLNK(in->mode))
		return -EINVAL;
	if (in->size >= size)
		return -ENAMETOOLONG;
	size_t n = (size_t)in->size;
	u64 ea = in->file_acl ? fs->block_size / 512 : 0;
	if (in->blocks < ea)
		return ext2_complain(fs, -EUCLEAN, "symbolic link %u: %llu blocks with an attribute "
				     "block", in->ino, (unsigned long long)in->blocks);
	if (in->blocks == ea) {
		/* fast: the target is in i_block itself */
		if (n >= EXT2_FAST_LINK_MAX)
			return ext2_complain(fs, -EUCLEAN, "symbolic link %u: %zu bytes and no block",
					     in->ino, n);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(in->block[i / 4] >> (8 * (i % 4)));
	} else {
		long r = ext2_read(fs, in, 0, buf, n);
		if (r < 0)
			return r;
		if ((size_t)r != n)
			return ext2_complain(fs, -EUCLEAN, "symbolic link %u: short read", in->ino);
	}
	if (strnlen_nul(buf, n) != n)
		return ext2_complain(fs, -EUCLEAN, "symbolic link %u: a NUL in the target", in->ino);
	buf[n] = '\0';
	return (long)n;
}

/* ---- changing directories (ext2_write.c's callers) ---- */

static u8 ft_of(u32 mode)
{
	switch (mode & EXT2_S_IFMT) {
	case EXT2_S_IFREG: return EXT2_FT_REG;
	case EXT2_S_IFDIR: return EXT2_FT_DIR;
	case EXT2_S_IFCHR: return EXT2_FT_CHR;
	case EXT2_S_IFBLK: return EXT2_FT_BLK;
	case EXT2_S_IFIFO: return EXT2_FT_FIFO;
	case EXT2_S_IFSOCK: return EXT2_FT_SOCK;
	case EXT2_S_IFLNK: return EXT2_FT_LNK;
	default: return EXT2_FT_UNKNOWN;
	}
}

/* The room an entry of a name of n bytes takes. */
static u32 rec_need(u32 n) { return (DE_HEADER + n + 3) & ~3u; }

static void put_rec_len(struct ext2_fs *fs, u8 *e, u32 rec)
{
	put16(e + DE_REC_LEN, fs->block_size == 65536 && rec == 65536 ? 65535 : rec);
}

static u32 entry_name_len(const struct ext2_fs *fs, const u8 *e)
{
	return (fs->incompat & EXT2_INCOMPAT_FILETYPE) ? e[DE_NAME_LEN] : le16(e + DE_NAME_LEN);
}

static void fill_entry(struct ext2_fs *fs, u8 *e, u32 ino, const char *name, size_t len,
		       u32 mode)
{
	put32(e + DE_INODE, ino);
	if (fs->incompat & EXT2_INCOMPAT_FILETYPE) {
		e[DE_NAME_LEN] = (u8)len;
		e[DE_FILE_TYPE] = ft_of(mode);
	} else {
		put16(e + DE_NAME_LEN, (u32)len);
	}
	memcpy(e + DE_NAME, name, len);
}

/* Write bytes [p, p + n) of the loaded directory block back. */
static int write_back(struct ext2_fs *fs, u32 p, u32 n)
{
	return ext2_dev_write(fs, (u64)fs->dirbuf_block * fs->block_size + p, fs->dirbuf + p, n);
}

/* Find name: its block (loaded), offset and the offset of the entry before
 * it in the block (~0 for the first). */
static int find_entry(struct ext2_fs *fs, const struct ext2_inode *dir, const char *name,
		      size_t len, u32 *at, u32 *prev)
{
	u32 bs = fs->block_size;
	for (u64 lblk = 0; lblk < dir->size / bs; lblk++) {
		int r = load_dir_block(fs, dir, lblk);
		if (r < 0)
			return r;
		u32 p = 0, before = ~0u;
		while (p < bs) {
			int rec = check_entry(fs, dir, lblk, p);
			if (rec < 0)
				return rec;
			const u8 *e = fs->dirbuf + p;
			if (le32(e + DE_INODE) && entry_name_len(fs, e) == len &&
			    memcmp(e + DE_NAME, name, len) == 0) {
				*at = p;
				*prev = before;
				return 0;
			}
			before = p;
			p += (u32)rec;
		}
	}
	return -ENOENT;
}

int ext2_dir_add(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		 u32 ino, u32 mode)
{
	u32 bs = fs->block_size, need = rec_need((u32)len);
	u64 nblocks = dir->size / bs;
	for (u64 lblk = 0; lblk < nblocks; lblk++) {
		int r = load_dir_block(fs, dir, lblk);
		if (r < 0)
			return r;
		u32 p = 0;
		while (p < bs) {
			int rec = check_entry(fs, dir, lblk, p);
			if (rec < 0)
				return rec;
			u8 *e = fs->dirbuf + p;
			u32 used = le32(e + DE_INODE) ? rec_need(entry_name_len(fs, e)) : 0;
			if ((u32)rec - used >= need) {
				u8 *ne = e + used;
				if (used) {
					put_rec_len(fs, e, used);
					put_rec_len(fs, ne, (u32)rec - used);
				}
				fill_entry(fs, ne, ino, name, len, mode);
				return write_back(fs, p, (u32)rec);
			}
			p += (u32)rec;
		}
	}
	/* no room: a new block at the end */
	if (dir->size + bs > (u64)0xffffffff)
		return -ENOSPC;
	u32 pb;
	int r = ext2_map_alloc(fs, dir, nblocks, &pb);
	if (r < 0)
		return r;
	memset(fs->dirbuf, 0, bs);
	fs->dirbuf_block = pb;
	put_rec_len(fs, fs->dirbuf, bs);
	fill_entry(fs, fs->dirbuf, ino, name, len, mode);
	dir->size += bs;
	return write_back(fs, 0, bs);
}

int ext2_dir_remove(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len)
{
	u32 at, prev;
	int r = find_entry(fs, dir, name, len, &at, &prev);
	if (r < 0)
		return r;
	u8 *e = fs->dirbuf + at;
	if (prev != ~0u) {
		/* the entry before takes its room (as Linux's ext2_delete_entry) */
		u8 *pe = fs->dirbuf + prev;
		u32 prec = le16(pe + DE_REC_LEN), rec = le16(e + DE_REC_LEN);
		if (fs->block_size == 65536 && (rec == 0 || rec == 65535))
			rec = 65536;
		put_rec_len(fs, pe, prec + rec);
		put32(e + DE_INODE, 0);
		return write_back(fs, prev, at + DE_HEADER - prev);
	}
	put32(e + DE_INODE, 0);
	return write_back(fs, at, DE_HEADER);
}

int ext2_dir_set(struct ext2_fs *fs, struct ext2_inode *dir, const char *name, size_t len,
		 u32 ino, u32 mode)
{
	u32 at, prev;
	int r = find_entry(fs, dir, name, len, &at, &prev);
	if (r < 0)
		return r;
	u8 *e = fs->dirbuf + at;
	put32(e + DE_INODE, ino);
	if (fs->incompat & EXT2_INCOMPAT_FILETYPE)
		e[DE_FILE_TYPE] = ft_of(mode);
	return write_back(fs, at, DE_HEADER);
}

int ext2_dir_is_empty(struct ext2_fs *fs, const struct ext2_inode *dir)
{
	struct ext2_dirent *de = kmalloc(sizeof(*de), 0);
	if (!de)
		return -ENOMEM;
	u64 off = 0;
	int r;
	while ((r = ext2_dir_next(fs, dir, &off, de)) > 0) {
		if (!(de->name_len == 1 && de->name[0] == '.') &&
		    !(de->name_len == 2 && de->name[0] == '.' && de->name[1] == '.'))
			break;
	}
	kfree(de);
	return r < 0 ? r : r == 0;
}
