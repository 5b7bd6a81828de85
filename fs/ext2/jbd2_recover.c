/*
 * JBD2: loading the journal and replaying it at mount (jbd2.h). The three
 * passes walk the same log with one function; SCAN and REVOKE check every
 * value REPLAY will use, so a malformed journal is refused before a block
 * is written home.
 */
#include "fs/ext2/jbd2.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

int jbd2_raw_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	if (off > fs->dev_bytes || len > fs->dev_bytes - off)
		return ext2_complain(fs, -EUCLEAN, "journal: a write of %zu bytes at byte %llu is past "
				     "the disk's end", len, (unsigned long long)off);
	/* whole journal or home blocks: the direct way when there is one (no
	 * read of the block first) */
	ext2_write_fn w = fs->write_data ? fs->write_data : fs->write;
	if (w(fs->ctx, off, buf, len) < 0)
		return ext2_complain(fs, -EIO, "journal: writing %zu bytes at byte %llu", len,
				     (unsigned long long)off);
	return 0;
}

int jbd2_flush(struct ext2_fs *fs)
{
	if (fs->flush && fs->flush(fs->ctx) < 0)
		return ext2_complain(fs, -EIO, "journal: flushing the disk's cache");
	return 0;
}

/* Journal block i of the log (i < maxlen, checked by the caller). */
static int jread(struct ext2_fs *fs, u32 i, u8 *buf)
{
	struct jbd2 *j = fs->journal;
	return ext2_dev_read(fs, (u64)j->map[i] * j->bs, buf, j->bs);
}

int jbd2_write_jsb(struct ext2_fs *fs)
{
	struct jbd2 *j = fs->journal;
	return jbd2_raw_write(fs, (u64)j->map[0] * j->bs, j->jsb, j->bs);
}

int jbd2_set_recover(struct ext2_fs *fs, bool on)
{
	u8 v[4];
	int r = fs->read(fs->ctx, EXT2_SB_OFFSET + SB_FEATURE_INCOMPAT, v, 4);
	if (r < 0)
		return ext2_complain(fs, -EIO, "journal: reading the superblock's features");
	u32 inc = le32(v);
	inc = on ? inc | EXT2_INCOMPAT_RECOVER : inc & ~(u32)EXT2_INCOMPAT_RECOVER;
	put32(v, inc);
	r = jbd2_raw_write(fs, EXT2_SB_OFFSET + SB_FEATURE_INCOMPAT, v, 4);
	if (r == 0) {
		fs->incompat = inc;
		if (fs->journal)
			fs->journal->recover_on_disk = on;
		if (fs->journal)   /* the copies of the superblock's block, running or waiting */
			jbd2_data_written(fs, EXT2_SB_OFFSET + SB_FEATURE_INCOMPAT, v, 4);
	}
	return r;
}

void jbd2_free(struct ext2_fs *fs)
{
	struct jbd2 *j = fs->journal;
	if (!j)
		return;
	for (u32 i = 0; i < j->ntxn; i++)
		kfree(j->txn[i].data);
	kfree(j->txn);
	kfree(j->hash);
	for (u32 i = 0; i < j->npend; i++)
		kfree(j->pend[i].data);
	kfree(j->pend);
	kfree(j->phash);
	kfree(j->logged);
	kfree(j->revoke);
	kfree(j->map);
	kfree(j->jsb);
	kfree(j->buf);
	kfree(j->stage);
	kfree(j);
	fs->journal = NULL;
}

static int check_jsb(struct ext2_fs *fs, struct jbd2 *j, u64 iblocks, char *msg, size_t msgsize)
{
	const u8 *s = j->jsb;
	u32 type = be32(s + JH_TYPE);
	if (be32(s + JH_MAGIC) != JBD2_MAGIC || (type != JBD2_T_SB_V1 && type != JBD2_T_SB_V2))
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "journal: no journal superblock (magic "
				   "%#x, type %u)", be32(s + JH_MAGIC), type);
	if (be32(s + JSB_BLOCKSIZE) != fs->block_size)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "journal: block size %u, the file "
				   "system's is %u", be32(s + JSB_BLOCKSIZE), fs->block_size);
	j->maxlen = be32(s + JSB_MAXLEN);
	j->first = be32(s + JSB_FIRST);
	u32 start = be32(s + JSB_START);
	if (j->maxlen > iblocks || j->first == 0 || j->first + 2 >= j->maxlen ||
	    (start && (start < j->first || start >= j->maxlen)))
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "journal: %u blocks (the inode has %llu), "
				   "log from %u, start %u", j->maxlen, (unsigned long long)iblocks,
				   j->first, start);
	if (type == JBD2_T_SB_V1)
		return 0;
	u32 compat = be32(s + JSB_COMPAT), ro = be32(s + JSB_RO_COMPAT);
	j->incompat = be32(s + JSB_INCOMPAT);
	if (compat & JBD2_COMPAT_CHECKSUM)
		return ext2_refuse(fs, -EOPNOTSUPP, msg, msgsize, "journal feature journal_checksum "
				   "(v1 commit checksums) is not supported: refused");
	u32 bad = j->incompat & ~(u32)(JBD2_INCOMPAT_REVOKE | JBD2_INCOMPAT_64BIT);
	if (bad || ro) {
		const char *name = bad & JBD2_INCOMPAT_CSUM_V3 ? "journal_checksum_v3" :
				   bad & JBD2_INCOMPAT_CSUM_V2 ? "journal_checksum_v2" :
				   bad & JBD2_INCOMPAT_ASYNC_COMMIT ? "journal_async_commit" :
				   bad & JBD2_INCOMPAT_FAST_COMMIT ? "fast_commit" : "unknown";
		return ext2_refuse(fs, -EOPNOTSUPP, msg, msgsize, "journal feature %s (incompat %#x, "
				   "ro_compat %#x) is not supported: refused", name, bad, ro);
	}
	return 0;
}

int jbd2_load(struct ext2_fs *fs, char *msg, size_t msgsize)
{
	struct ext2_inode in;
	int r = ext2_iget(fs, fs->journal_inum, &in);
	if (r < 0)
		return ext2_refuse(fs, r, msg, msgsize, "journal inode %u is unreadable (error %d)",
				   fs->journal_inum, r);
	u32 bs = fs->block_size;
	u64 iblocks = in.size / bs;
	if (!EXT2_S_ISREG(in.mode) || iblocks < 4 || iblocks > fs->blocks_count)
		return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "journal inode %u: mode %#o, %llu bytes",
				   fs->journal_inum, in.mode, (unsigned long long)in.size);
	struct jbd2 *j = kzalloc(sizeof(*j));
	if (!j)
		return ext2_refuse(fs, -ENOMEM, msg, msgsize, "journal: no memory");
	fs->journal = j;
	j->bs = bs;
	j->jsb = kmalloc(bs, 0);
	j->buf = kmalloc(bs, 0);
	if (!j->jsb || !j->buf) {
		r = ext2_refuse(fs, -ENOMEM, msg, msgsize, "journal: no memory");
		goto fail;
	}
	u32 b0;
	if ((r = ext2_bmap(fs, &in, 0, &b0)) < 0 || b0 == 0 ||
	    (r = ext2_dev_read(fs, (u64)b0 * bs, j->jsb, bs)) < 0) {
		r = ext2_refuse(fs, r < 0 ? r : -EUCLEAN, msg, msgsize, "journal: its superblock is "
				"unreadable (block %u)", b0);
		goto fail;
	}
	if ((r = check_jsb(fs, j, iblocks, msg, msgsize)) < 0)
		goto fail;
	j->map = kmalloc((size_t)j->maxlen * sizeof(u32), 0);
	if (!j->map) {
		r = ext2_refuse(fs, -ENOMEM, msg, msgsize, "journal: no memory for %u blocks", j->maxlen);
		goto fail;
	}
	for (u32 i = 0; i < j->maxlen; i++) {
		if ((r = ext2_bmap(fs, &in, i, &j->map[i])) < 0 || j->map[i] == 0) {
			r = ext2_refuse(fs, r < 0 ? r : -EUCLEAN, msg, msgsize, "journal: block %u of "
					"the journal inode is %s", i, r < 0 ? "unreadable" : "a hole");
			goto fail;
		}
	}
	j->tag_size = (j->incompat & JBD2_INCOMPAT_64BIT) ? JT_SIZE + 4 : JT_SIZE;
	j->seq = be32(j->jsb + JSB_SEQUENCE);
	return 0;
fail:
	jbd2_free(fs);
	return r;
}

/* ---- recovery ---- */

enum { PASS_SCAN, PASS_REVOKE, PASS_REPLAY };

struct revoke_rec {
	u32 block, seq;
	bool used;
};

struct recovery {
	int pass;
	u32 end;                   /* the first transaction not committed (after SCAN) */
	u64 nrecords;              /* revoke records seen by SCAN */
	struct revoke_rec *tab;
	u32 tabsize;               /* a power of two */
	u8 *data;                  /* a logged block being replayed */
};

static bool before(u32 a, u32 b) { return (s32)(a - b) < 0; }

static struct revoke_rec *revoke_slot(struct recovery *rc, u32 block)
{
	u32 h = (block * 2654435761u) & (rc->tabsize - 1);
	while (rc->tab[h].used && rc->tab[h].block != block)
		h = (h + 1) & (rc->tabsize - 1);
	return &rc->tab[h];
}

static u32 wrap(const struct jbd2 *j, u32 i) { return i >= j->maxlen ? j->first + (i - j->maxlen) : i; }

/* One logged block named by a tag, at journal block at, of transaction seq. */
static int replay_one(struct ext2_fs *fs, struct recovery *rc, u32 at, u32 home, u32 flags,
		      u32 seq)
{
	struct jbd2 *j = fs->journal;
	struct revoke_rec *rv = revoke_slot(rc, home);
	if (rv->used && !before(rv->seq, seq)) {
		j->revoked++;
		return 0;
	}
	int r = jread(fs, at, rc->data);
	if (r < 0)
		return r;
	if (flags & JBD2_FLAG_ESCAPE)
		put_be32(rc->data, JBD2_MAGIC);
	r = jbd2_raw_write(fs, (u64)home * j->bs, rc->data, j->bs);
	if (r == 0)
		j->replayed_blocks++;
	return r;
}

/* A descriptor block (in j->buf) of transaction seq, its blocks from
 * journal block *next on: checked, replayed (PASS_REPLAY), skipped. */
static int descriptor(struct ext2_fs *fs, struct recovery *rc, u32 seq, u32 *next, u32 *visited,
		      char *msg, size_t msgsize)
{
	struct jbd2 *j = fs->journal;
	u32 off = JH_SIZE, budget = j->maxlen - j->first;
	bool committed = rc->pass != PASS_SCAN && before(seq, rc->end);
	while (off + j->tag_size <= j->bs) {
		const u8 *t = j->buf + off;
		u32 home = be32(t + JT_BLOCKNR), flags = be16(t + JT_FLAGS);
		u32 high = j->tag_size > JT_SIZE ? be32(t + JT_BLOCKNR_HIGH) : 0;
		off += j->tag_size + ((flags & JBD2_FLAG_SAME_UUID) ? 0 : JT_UUID_SIZE);
		if (committed && (high || home >= fs->blocks_count))
			return ext2_refuse(fs, -EUCLEAN, msg, msgsize, "journal: transaction %u logs "
					   "block %llu, past the file system's %u", seq,
					   (unsigned long long)high << 32 | home, fs->blocks_count);
		if (++*visited > budget)
			return 1;   /* the log runs around the ring onto itself: it ends */
		if (rc->pass == PASS_REPLAY && committed) {
			int r = replay_one(fs, rc, *next, home, flags, seq);
			if (r < 0)
				return ext2_refuse(fs, r, msg, msgsize, "journal: replaying block %u of "
						   "transaction %u failed (error %d)", home, seq, r);
		}
		*next = wrap(j, *next + 1);
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return 0;
}

/* A revoke block (in j->buf) of transaction seq. */
static int revoke_block(struct ext2_fs *fs, struct recovery *rc, u32 seq, char *msg,
			size_t msgsize)
{
	struct jbd2 *j = fs->journal;
	u32 count = be32(j->buf + JR_COUNT), rsize = j->tag_size > JT_SIZE ? 8 : 4;
	if (count < JR_RECORDS || count > j->bs || (count - JR_RECORDS) % rsize)
		return rc->pass == PASS_SCAN || !before(seq, rc->end) ? 0 :
		       ext2_refuse(fs, -EUCLEAN, msg, msgsize, "journal: a revoke block of transaction "
				   "%u counts %u bytes", seq, count);
	u32 n = (count - JR_RECORDS) / rsize;
	if (rc->pass == PASS_SCAN) {
		rc->nrecords += n;
		return 0;
	}
	if (rc->pass != PASS_REVOKE || !before(seq, rc->end))
		return 0;
	for (u32 i = 0; i < n; i++) {
		const u8 *p = j->buf + JR_RECORDS + i * rsize;
		if (rsize == 8 && be32(p))
			continue;   /* a block past 2^32 is none of this file system's */
		u32 b = be32(p + rsize - 4);
		struct revoke_rec *rv = revoke_slot(rc, b);
		if (!rv->used || before(rv->seq, seq)) {
			rv->used = true;
			rv->block = b;
			rv->seq = seq;
		}
	}
	return 0;
}

/* One pass over the log from s_start: 0, or an error with msg. SCAN sets
 * rc->end to the first transaction without a commit block. */
static int one_pass(struct ext2_fs *fs, struct recovery *rc, char *msg, size_t msgsize)
{
	struct jbd2 *j = fs->journal;
	u32 next = be32(j->jsb + JSB_START), seq = be32(j->jsb + JSB_SEQUENCE);
	u32 visited = 0, budget = j->maxlen - j->first;
	while (visited < budget) {
		if (rc->pass != PASS_SCAN && !before(seq, rc->end))
			break;
		int r = jread(fs, next, j->buf);
		if (r < 0)
			return ext2_refuse(fs, r, msg, msgsize, "journal: reading block %u (error %d)",
					   next, r);
		visited++;
		if (be32(j->buf + JH_MAGIC) != JBD2_MAGIC || be32(j->buf + JH_SEQUENCE) != seq)
			break;
		next = wrap(j, next + 1);
		u32 type = be32(j->buf + JH_TYPE);
		if (type == JBD2_T_DESCRIPTOR) {
			r = descriptor(fs, rc, seq, &next, &visited, msg, msgsize);
			if (r < 0)
				return r;
			if (r > 0)
				break;
		} else if (type == JBD2_T_COMMIT) {
			seq++;
		} else if (type == JBD2_T_REVOKE) {
			if ((r = revoke_block(fs, rc, seq, msg, msgsize)) < 0)
				return r;
		} else {
			break;   /* not a log block: the log ends here */
		}
	}
	if (rc->pass == PASS_SCAN)
		rc->end = seq;
	return 0;
}

int jbd2_recover(struct ext2_fs *fs, char *msg, size_t msgsize)
{
	struct jbd2 *j = fs->journal;
	struct recovery rc = { 0 };
	int r = 0;
	u32 start = be32(j->jsb + JSB_START), first_seq = be32(j->jsb + JSB_SEQUENCE);
	rc.end = first_seq;
	if (start) {
		rc.pass = PASS_SCAN;
		if ((r = one_pass(fs, &rc, msg, msgsize)) < 0)
			return r;
		if (rc.nrecords > JBD2_REVOKE_MAX)
			return ext2_refuse(fs, -EOPNOTSUPP, msg, msgsize, "journal: %llu revoke records, "
					   "more than the %u recovery keeps: refused",
					   (unsigned long long)rc.nrecords, JBD2_REVOKE_MAX);
		rc.tabsize = 16;
		while (rc.tabsize < 2 * rc.nrecords)
			rc.tabsize *= 2;
		rc.tab = kzalloc(rc.tabsize * sizeof(*rc.tab));
		rc.data = kmalloc(j->bs, 0);
		if (!rc.tab || !rc.data) {
			r = ext2_refuse(fs, -ENOMEM, msg, msgsize, "journal: no memory for recovery");
			goto out;
		}
		rc.pass = PASS_REVOKE;
		if ((r = one_pass(fs, &rc, msg, msgsize)) < 0)
			goto out;
		rc.pass = PASS_REPLAY;
		if ((r = one_pass(fs, &rc, msg, msgsize)) < 0)
			goto out;
		j->replayed_txns = rc.end - first_seq;
	}
	/* the homes on the disk first, then the journal empty, then the flag */
	if ((r = jbd2_flush(fs)) < 0)
		goto out;
	put_be32(j->jsb + JSB_START, 0);
	put_be32(j->jsb + JSB_SEQUENCE, rc.end);
	j->seq = rc.end;
	if ((r = jbd2_write_jsb(fs)) < 0 || (r = jbd2_flush(fs)) < 0 ||
	    (r = jbd2_set_recover(fs, false)) < 0 || (r = jbd2_flush(fs)) < 0)
		r = ext2_refuse(fs, r, msg, msgsize, "journal: marking it empty failed (error %d)", r);
out:
	kfree(rc.tab);
	kfree(rc.data);
	return r;
}

int ext2_replay(ext2_read_fn read, ext2_write_fn write, int (*flush)(void *ctx), void *ctx,
		u64 dev_bytes, const char *name, char *msg, size_t msgsize, u32 *replayed)
{
	*replayed = 0;
	struct ext2_fs *fs = kzalloc(sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	int r = ext2_mount_any(fs, read, ctx, dev_bytes, name, msg, msgsize, true);
	if (r < 0) {
		kfree(fs);
		return r;
	}
	if (fs->incompat & EXT2_INCOMPAT_RECOVER) {
		fs->write = write;
		fs->flush = flush;
		if (!(fs->compat & EXT2_COMPAT_HAS_JOURNAL))
			r = ext2_refuse(fs, -EUCLEAN, msg, msgsize, "needs_recovery is set but there is "
					"no journal");
		else if ((r = jbd2_load(fs, msg, msgsize)) == 0)
			r = jbd2_recover(fs, msg, msgsize);
		if (r == 0)
			*replayed = fs->journal->replayed_txns;
		if (fs->journal && (fs->journal->replayed_blocks || fs->journal->revoked))
			pr_info("ext2 %s: journal replayed: %u transactions, %u blocks, %u revoked",
				fs->name, fs->journal->replayed_txns, fs->journal->replayed_blocks,
				fs->journal->revoked);
		jbd2_free(fs);
	}
	fs->write = NULL;
	ext2_unmount(fs);
	kfree(fs);
	return r;
}
