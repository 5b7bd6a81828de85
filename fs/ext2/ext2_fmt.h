/*
 * ext2's on-disk format (ext3 is ext2 with a JBD2 journal in an inode):
 * the fields Caboose reads, as byte offsets into their structure, all
 * little-endian and read through le16()/le32() from unaligned bytes.
 * Reference: the ext4 on-disk layout (kernel.org "ext4 Data Structures and
 * Algorithms": Super Block, Block Group Descriptors, Index Nodes, Directory
 * Entries), and e2fsprogs' lib/ext2fs/ext2_fs.h for the feature bits.
 */
#ifndef FS_EXT2_FMT_H
#define FS_EXT2_FMT_H

#include "kernel/lib/types.h"

static inline u16 le16(const void *p)
{
	const u8 *b = p;
	return (u16)(b[0] | b[1] << 8);
}
static inline void put16(void *p, u32 v)
{
	u8 *b = p;
	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
}
static inline void put32(void *p, u32 v)
{
	u8 *b = p;
	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
	b[2] = (u8)(v >> 16);
	b[3] = (u8)(v >> 24);
}
static inline u32 le32(const void *p)
{
	const u8 *b = p;
	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

/* ---- the superblock: 1024 bytes at byte 1024 of the disk ---- */
#define EXT2_SB_OFFSET   1024
#define EXT2_SB_SIZE     1024
#define SB_INODES_COUNT  0x00   /* u32 */
#define SB_BLOCKS_COUNT  0x04   /* u32 (lo; the hi half only with 64bit) */
#define SB_R_BLOCKS      0x08   /* u32 blocks reserved for root */
#define SB_FREE_BLOCKS   0x0C   /* u32 */
#define SB_FREE_INODES   0x10   /* u32 */
#define SB_FIRST_DATA    0x14   /* u32 the block holding the superblock: 1 for 1 KiB blocks */
#define SB_LOG_BSIZE     0x18   /* u32 block size = 1024 << this */
#define SB_BLOCKS_PER_GROUP 0x20 /* u32 */
#define SB_INODES_PER_GROUP 0x28 /* u32 */
#define SB_MTIME         0x2C   /* u32 last mount */
#define SB_MAGIC         0x38   /* u16 */
#define SB_STATE         0x3A   /* u16 bit 0 cleanly unmounted, bit 1 errors found */
#define SB_REV_LEVEL     0x4C   /* u32 0: fixed inode size 128, first inode 11; 1: dynamic */
#define SB_FIRST_INO     0x54   /* u32 (rev 1) first non-reserved inode */
#define SB_INODE_SIZE    0x58   /* u16 (rev 1) */
#define SB_FEATURE_COMPAT    0x5C
#define SB_FEATURE_INCOMPAT  0x60
#define SB_FEATURE_RO_COMPAT 0x64
#define SB_UUID          0x68   /* 16 bytes */
#define SB_VOLUME_NAME   0x78   /* 16 bytes, NUL padded */
#define SB_JOURNAL_INUM  0xE0   /* u32 */
#define SB_LAST_ORPHAN   0xE8   /* u32 the orphan list's head (inodes linked through i_dtime) */
#define SB_DESC_SIZE     0xFE   /* u16 (64bit only) */

#define EXT2_MAGIC 0xEF53
#define EXT2_STATE_VALID  0x0001
#define EXT2_STATE_ERROR  0x0002

/* compat: a reader may ignore them */
#define EXT2_COMPAT_DIR_PREALLOC  0x0001
#define EXT2_COMPAT_IMAGIC_INODES 0x0002
#define EXT2_COMPAT_HAS_JOURNAL   0x0004
#define EXT2_COMPAT_EXT_ATTR      0x0008
#define EXT2_COMPAT_RESIZE_INODE  0x0010
#define EXT2_COMPAT_DIR_INDEX     0x0020
#define EXT2_COMPAT_SPARSE_SUPER2 0x0200
#define EXT2_COMPAT_FAST_COMMIT   0x0400
#define EXT2_COMPAT_STABLE_INODES 0x0800
#define EXT2_COMPAT_ORPHAN_FILE   0x1000

/* incompat: a reader that does not know one must not mount */
#define EXT2_INCOMPAT_COMPRESSION 0x0001
#define EXT2_INCOMPAT_FILETYPE    0x0002
#define EXT2_INCOMPAT_RECOVER     0x0004   /* needs_recovery: the journal holds transactions */
#define EXT2_INCOMPAT_JOURNAL_DEV 0x0008
#define EXT2_INCOMPAT_META_BG     0x0010
#define EXT2_INCOMPAT_EXTENTS     0x0040
#define EXT2_INCOMPAT_64BIT       0x0080
#define EXT2_INCOMPAT_MMP         0x0100
#define EXT2_INCOMPAT_FLEX_BG     0x0200
#define EXT2_INCOMPAT_EA_INODE    0x0400
#define EXT2_INCOMPAT_DIRDATA     0x1000
#define EXT2_INCOMPAT_CSUM_SEED   0x2000
#define EXT2_INCOMPAT_LARGEDIR    0x4000
#define EXT2_INCOMPAT_INLINE_DATA 0x8000
#define EXT2_INCOMPAT_ENCRYPT     0x10000
#define EXT2_INCOMPAT_CASEFOLD    0x20000

/* ro_compat: a reader may mount read-only whatever it knows of them */
#define EXT2_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT2_RO_COMPAT_LARGE_FILE   0x0002
#define EXT2_RO_COMPAT_BTREE_DIR    0x0004
#define EXT2_RO_COMPAT_HUGE_FILE    0x0008
#define EXT2_RO_COMPAT_GDT_CSUM     0x0010
#define EXT2_RO_COMPAT_DIR_NLINK    0x0020
#define EXT2_RO_COMPAT_EXTRA_ISIZE  0x0040
#define EXT2_RO_COMPAT_QUOTA        0x0100
#define EXT2_RO_COMPAT_BIGALLOC     0x0200
#define EXT2_RO_COMPAT_METADATA_CSUM 0x0400
#define EXT2_RO_COMPAT_READONLY     0x1000
#define EXT2_RO_COMPAT_PROJECT      0x2000
#define EXT2_RO_COMPAT_VERITY       0x8000
#define EXT2_RO_COMPAT_ORPHAN_PRESENT 0x10000

/* ---- a group descriptor: 32 bytes each, in the block after the superblock's ---- */
#define GD_SIZE          32
#define GD_BLOCK_BITMAP  0x00   /* u32 */
#define GD_INODE_BITMAP  0x04   /* u32 */
#define GD_INODE_TABLE   0x08   /* u32 */
#define GD_FREE_BLOCKS   0x0C   /* u16 */
#define GD_FREE_INODES   0x0E   /* u16 */
#define GD_USED_DIRS     0x10   /* u16 */

/* ---- an inode: 128 bytes, or s_inode_size with an extra part ---- */
#define EXT2_GOOD_OLD_INODE_SIZE 128
#define EXT2_GOOD_OLD_FIRST_INO  11
#define EXT2_ROOT_INO 2
#define IN_MODE          0x00   /* u16 */
#define IN_UID           0x02   /* u16 (lo) */
#define IN_SIZE          0x04   /* u32 (lo) */
#define IN_ATIME         0x08   /* u32 seconds (signed, plus the epoch bits of the extra part) */
#define IN_CTIME         0x0C
#define IN_MTIME         0x10
#define IN_DTIME         0x14
#define IN_GID           0x18   /* u16 (lo) */
#define IN_LINKS         0x1A   /* u16 */
#define IN_BLOCKS        0x1C   /* u32 512-byte units (lo) */
#define IN_FLAGS         0x20   /* u32 */
#define IN_BLOCK         0x28   /* 15 x u32: 12 direct, indirect, double, triple */
#define IN_FILE_ACL      0x68   /* u32 extended-attribute block */
#define IN_SIZE_HIGH     0x6C   /* u32 regular files (i_dir_acl of revision 0 directories) */
#define IN_BLOCKS_HIGH   0x74   /* u16 (huge_file) */
#define IN_UID_HIGH      0x78   /* u16 */
#define IN_GID_HIGH      0x7A   /* u16 */
#define IN_EXTRA_ISIZE   0x80   /* u16 bytes of the extra part in use */
#define IN_CTIME_EXTRA   0x84   /* u32 bits 0-1 epoch, 2-31 nanoseconds */
#define IN_MTIME_EXTRA   0x88
#define IN_ATIME_EXTRA   0x8C

#define EXT2_N_BLOCKS 15
#define EXT2_NDIR_BLOCKS 12
#define EXT2_IND_BLOCK 12
#define EXT2_DIND_BLOCK 13
#define EXT2_TIND_BLOCK 14
#define EXT2_FAST_LINK_MAX 60   /* a target shorter than i_block lives in it */

#define EXT2_FL_INDEX       0x00001000   /* htree directory (linear reads still work) */
#define EXT2_FL_HUGE_FILE   0x00040000   /* i_blocks counts fs blocks, not 512 bytes */
#define EXT2_FL_EXTENTS     0x00080000
#define EXT2_FL_EA_INODE    0x00200000
#define EXT2_FL_INLINE_DATA 0x10000000

/* i_mode: the type bits (as Linux's S_IF*) */
#define EXT2_S_IFMT   0170000
#define EXT2_S_IFSOCK 0140000
#define EXT2_S_IFLNK  0120000
#define EXT2_S_IFREG  0100000
#define EXT2_S_IFBLK  0060000
#define EXT2_S_IFDIR  0040000
#define EXT2_S_IFCHR  0020000
#define EXT2_S_IFIFO  0010000
#define EXT2_S_ISREG(m) (((m) & EXT2_S_IFMT) == EXT2_S_IFREG)
#define EXT2_S_ISDIR(m) (((m) & EXT2_S_IFMT) == EXT2_S_IFDIR)
#define EXT2_S_ISLNK(m) (((m) & EXT2_S_IFMT) == EXT2_S_IFLNK)

/* ---- a directory entry ---- */
#define DE_INODE    0x0    /* u32; 0: an unused entry */
#define DE_REC_LEN  0x4    /* u16 to the next entry (65536-byte blocks: 0 or 65535 mean 65536) */
#define DE_NAME_LEN 0x6    /* u8 (u16 without the filetype feature) */
#define DE_FILE_TYPE 0x7   /* u8 with the filetype feature */
#define DE_NAME     0x8
#define DE_HEADER   8

/* file types in directory entries */
#define EXT2_FT_UNKNOWN 0
#define EXT2_FT_REG 1
#define EXT2_FT_DIR 2
#define EXT2_FT_CHR 3
#define EXT2_FT_BLK 4
#define EXT2_FT_FIFO 5
#define EXT2_FT_SOCK 6
#define EXT2_FT_LNK 7

#endif
