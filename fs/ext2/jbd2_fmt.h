/*
 * JBD2's on-disk format (the journal of ext3 and ext4, kept in an inode):
 * the fields Caboose reads and writes, as byte offsets into their block,
 * all big-endian and read through be32() from unaligned bytes.
 * Reference: the kernel's Documentation/filesystems/ext4/journal.rst and
 * e2fsprogs' lib/ext2fs/kernel-jbd.h (read, not copied).
 *
 * The journal is a ring of blocks [s_first, s_maxlen) after its own
 * superblock (journal block 0). A transaction is one or more descriptor
 * blocks, each followed by the copies of the blocks its tags name, maybe
 * revoke blocks, then a commit block; every block of the log starts with
 * the header (magic, type, the transaction's sequence number).
 */
#ifndef FS_EXT2_JBD2_FMT_H
#define FS_EXT2_JBD2_FMT_H

#include "kernel/lib/byteorder.h"   /* the journal is big-endian */

/* ---- the header of every journal block ---- */
#define JBD2_MAGIC       0xC03B3998u
#define JH_MAGIC         0x0    /* u32 */
#define JH_TYPE          0x4    /* u32 one of JBD2_T_* */
#define JH_SEQUENCE      0x8    /* u32 the transaction */
#define JH_SIZE          12

#define JBD2_T_DESCRIPTOR 1
#define JBD2_T_COMMIT     2
#define JBD2_T_SB_V1      3
#define JBD2_T_SB_V2      4
#define JBD2_T_REVOKE     5

/* ---- the journal superblock: journal block 0 ---- */
#define JSB_BLOCKSIZE    0x0C   /* u32 must be the file system's */
#define JSB_MAXLEN       0x10   /* u32 blocks in the journal */
#define JSB_FIRST        0x14   /* u32 the first block of the log */
#define JSB_SEQUENCE     0x18   /* u32 the first transaction expected in the log */
#define JSB_START        0x1C   /* u32 the log's first block; 0: the journal is empty */
#define JSB_ERRNO        0x20   /* s32 */
/* v2 only */
#define JSB_COMPAT       0x24
#define JSB_INCOMPAT     0x28
#define JSB_RO_COMPAT    0x2C
#define JSB_UUID         0x30   /* 16 bytes */
#define JSB_NR_USERS     0x40   /* u32 */

#define JBD2_COMPAT_CHECKSUM      0x1   /* a crc32 of the transaction in the commit block */
#define JBD2_INCOMPAT_REVOKE      0x1   /* revoke blocks may be in the log */
#define JBD2_INCOMPAT_64BIT       0x2   /* tags and revoke records carry 64-bit block numbers */
#define JBD2_INCOMPAT_ASYNC_COMMIT 0x4  /* a commit block may precede its transaction's blocks */
#define JBD2_INCOMPAT_CSUM_V2     0x8
#define JBD2_INCOMPAT_CSUM_V3     0x10
#define JBD2_INCOMPAT_FAST_COMMIT 0x20

/* ---- a descriptor block: the header, then tags ---- */
#define JT_BLOCKNR       0x0    /* u32 the block's home on the file system */
#define JT_CHECKSUM      0x4    /* u16 (csum v2 only) */
#define JT_FLAGS         0x6    /* u16 JBD2_FLAG_* (jbd1's u32 flags at 0x4: the same bits) */
#define JT_BLOCKNR_HIGH  0x8    /* u32 with JBD2_INCOMPAT_64BIT only */
#define JT_SIZE          8      /* without 64bit; 12 with */
#define JT_UUID_SIZE     16     /* follows a tag without SAME_UUID */

#define JBD2_FLAG_ESCAPE    0x1   /* the copy's first 4 bytes were the magic: zeroed */
#define JBD2_FLAG_SAME_UUID 0x2   /* no UUID follows this tag */
#define JBD2_FLAG_DELETED   0x4
#define JBD2_FLAG_LAST_TAG  0x8

/* ---- a revoke block: the header, bytes used, then block numbers ---- */
#define JR_COUNT         0x0C   /* u32 bytes used, the header's 16 included */
#define JR_RECORDS       0x10   /* u32 each (u64 with 64bit) */

/* ---- a commit block ---- */
#define JC_COMMIT_SEC    0x30   /* u64 */
#define JC_COMMIT_NSEC   0x38   /* u32 */

#endif
