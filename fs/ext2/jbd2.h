/*
 * ext3's JBD2 journal, inside fs/ext2/ (never included from outside it).
 *
 * Recovery (jbd2_recover.c): ext2_replay (ext2.h) loads the journal of an
 * image marked needs_recovery and replays it in three passes over the log
 * as Linux and e2fsck do: SCAN finds the last committed transaction,
 * REVOKE collects revoked blocks with the newest transaction revoking
 * each, REPLAY writes every logged block of a committed transaction home
 * unless a transaction at or after it revoked the block. Then the journal
 * is marked empty (s_start 0) and needs_recovery is cleared. Every value
 * read from the journal is checked first (block numbers against the
 * journal and the file system, tags and revoke counts against their
 * block): a malformed journal is refused (-EUCLEAN) before anything is
 * written home, and the walk of the log visits each journal block at most
 * once, so no journal loops. Journal features Caboose does not verify
 * (checksums v1/v2/v3, async commit, fast commits) are refused by name
 * (-EOPNOTSUPP); revoke and 64bit are supported.
 *
 * Writing (jbd2_commit.c): metadata writes (ext2_dev_write) go into the
 * running transaction, a copy of each block changed held in memory;
 * reads (ext2_dev_read) see those copies over the disk. File data goes to
 * the disk at once (ext2_data_write), before the transaction that points
 * at it commits: ordered data. A commit appends to the log after the
 * transactions already there: descriptor blocks and the copies, revoke
 * blocks, then (after a flush) the commit block, flushed too. The journal
 * superblock is written only when the log was empty (s_start = s_first,
 * s_sequence = this transaction). After the commit the copies are written
 * home without a flush; a small transaction's copies wait in memory
 * (j->pend: the newest committed copy of up to JBD2_PEND_MAX blocks) and
 * go home at a checkpoint, or in one batch with a later commit's log
 * writes when that commit's copies would not fit beside them; so a block
 * that every fsync changes (a bitmap, the directory, the inode table's)
 * goes home once per checkpoint, not once per commit, as with Linux's
 * checkpoints. Reads see them over the disk
 * (jbd2_overlay), and the allocator's committed bitmap too
 * (jbd2_overlay_committed, below). The log keeps them until a
 * checkpoint. A checkpoint (flush, s_start = 0, flush) empties the log:
 * when the next commit would not fit before its end, when the log holds
 * JBD2_LOGGED_MAX blocks, when a transaction revokes more than its revoke
 * blocks hold, and at sync (ext2_sync) and unmount. So an fsync costs two
 * flushes, as Linux's commit does, and the journal superblock is not
 * written on every one.
 *
 * Revoke records: a block that a transaction still in the log holds
 * (j->logged) and that is freed gets a revoke record in the running
 * transaction, so that a replay does not write the old copy over what
 * the block holds after it is used again (as file data, which bypasses
 * the journal).
 *
 * Commits happen on fsync and sync, when an operation ends and the
 * transaction is old (JBD2_COMMIT_AGE seconds) or large (its soft
 * limit), and at unmount. A block freed by the running transaction is
 * not allocated again before it commits (the block bitmap's committed
 * copy on the disk must agree), so a crash cannot leave new file data
 * over a block the committed state still uses. needs_recovery is set on
 * the disk before a transaction's first block is copied and cleared by
 * ext2_sync once the journal is empty. An operation too big for the
 * journal, or an I/O error in a commit, aborts the journal: the running
 * transaction is dropped (the disk keeps the last committed state) and
 * writes get -EROFS.
 *
 * Concurrency: none here; the caller serialises (ext2.h).
 */
#ifndef FS_EXT2_JBD2_H
#define FS_EXT2_JBD2_H

#include "fs/ext2/ext2_priv.h"
#include "fs/ext2/jbd2_fmt.h"

#define JBD2_COMMIT_AGE 5          /* seconds, Linux's default commit interval */
#define JBD2_TXN_SOFT 256          /* blocks: commit after an operation past this */
#define JBD2_REVOKE_MAX (1u << 20) /* revoke records recovery keeps */

struct jbd2_shadow {
	u32 block;                 /* its home on the file system */
	bool dead;                 /* freed in this transaction: neither logged nor written */
	s32 next;                  /* its hash chain, -1 ends */
	u8 *data;                  /* block_size bytes */
};

struct jbd2 {
	u32 bs;
	u32 maxlen, first;         /* the journal superblock's */
	u32 *map;                  /* journal block -> disk block (maxlen entries) */
	u8 *jsb;                   /* the journal superblock as on disk */
	u32 incompat;
	u32 tag_size;              /* 8, or 12 with 64bit */
	u32 seq;                   /* the next transaction's sequence number */
	u8 *buf;                   /* a block for descriptors, escapes and recovery */
	u8 *stage;                 /* JBD2_STAGE_BLOCKS blocks: the log written in runs (or NULL) */
	/* the running transaction */
	struct jbd2_shadow *txn;
	u32 ntxn, cap, soft;       /* entries; hard and soft limits */
	s32 *hash;                 /* heads of chains, JBD2_HASH entries */
	s64 started;               /* seconds: when its first block came */
	u32 *revoke;               /* its revoke records (home blocks) */
	u32 nrevoke, revoke_cap;
	bool aborted;
	bool recover_on_disk;      /* needs_recovery is set on the disk */
	/* committed copies (the newest of each block, few) waiting to go home
	 * at a checkpoint or with a later commit's log */
	struct jbd2_shadow *pend;
	u32 npend;
	s32 *phash;
	/* the log: committed transactions not checkpointed yet */
	u32 head;                  /* the next free journal block (s_first: empty) */
	u32 in_log;                /* transactions in it */
	u32 *logged;               /* the home blocks they hold: a set, open addressing */
	u32 logged_used;           /* slots taken (removed ones too) */
	/* counters */
	u64 commits, logged_blocks, checkpointed, checkpoints, revokes, aborts;
	u32 replayed_txns, replayed_blocks, revoked;
};
#define JBD2_HASH 1024
#define JBD2_STAGE_BLOCKS 32
#define JBD2_HOME_BATCH 16
#define JBD2_REVOKE_BLOCKS 2       /* per transaction; more revokes: a checkpoint */
#define JBD2_PEND_MAX 64           /* a commit's copies that may wait to go home */
#define JBD2_LOGGED_SLOTS 16384    /* the set's slots (a power of two) */
#define JBD2_LOGGED_MAX (JBD2_LOGGED_SLOTS / 2)   /* slots taken: a checkpoint */

/* Read the journal inode and the journal superblock, check them and map
 * the journal's blocks: fs->journal, or an error with msg. */
int jbd2_load(struct ext2_fs *fs, char *msg, size_t msgsize);
void jbd2_free(struct ext2_fs *fs);
/* Replay a loaded journal (fs->write and fs->flush set): 0 or an error
 * with msg (nothing written home when the log is malformed). */
int jbd2_recover(struct ext2_fs *fs, char *msg, size_t msgsize);
/* Write the journal superblock (its buffer) to the disk. */
int jbd2_write_jsb(struct ext2_fs *fs);
/* Set or clear needs_recovery in the superblock on the disk. */
int jbd2_set_recover(struct ext2_fs *fs, bool on);

/* Writing: ready the loaded journal for transactions. */
int jbd2_start(struct ext2_fs *fs, char *msg, size_t msgsize);
/* A metadata write into the running transaction. */
int jbd2_meta_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
/* Lay the running transaction's copies over what was read from the disk. */
void jbd2_overlay(struct ext2_fs *fs, u64 off, void *buf, size_t len);
/* A data write that hits a block of the transaction changes the copy too. */
void jbd2_data_written(struct ext2_fs *fs, u64 off, const void *buf, size_t len);
/* Block b was freed: not logged nor written home by this transaction,
 * and revoked if the log holds it (which may checkpoint: 0 or an error). */
int jbd2_forget(struct ext2_fs *fs, u32 b);
/* Commit the running transaction (nothing: 0; see *committed). */
int jbd2_commit(struct ext2_fs *fs);
/* Empty the log: what it holds is home and flushed. */
int jbd2_checkpoint(struct ext2_fs *fs);
/* An operation ended: commit when the transaction is old or large. */
int jbd2_op_end(struct ext2_fs *fs);

#endif
