/*
 * JBD2: the running transaction, its commit and its checkpoint (jbd2.h
 * says what is logged, when, and what a crash leaves).
 *
 * Layout of a commit, from s_first on: for each group of tags that fits
 * a descriptor block, the descriptor then the copies it names (a copy
 * whose first 4 bytes are the journal's magic is logged with them zeroed
 * and the ESCAPE flag), then one commit block. The journal superblock
 * says s_start = s_first and s_sequence = this transaction before the
 * first flush, so the commit block, written after that flush and flushed
 * itself, is what makes the transaction count; after the checkpoint's
 * flush, s_start = 0 says the journal is empty again.
 */
#include "fs/ext2/jbd2.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

static u32 hash_of(u32 b) { return (b * 2654435761u) >> 22; }   /* JBD2_HASH = 1 << 10 */

static s32 find(const struct jbd2 *j, u32 b)
{
	for (s32 i = j->hash[hash_of(b)]; i >= 0; i = j->txn[i].next)
		if (j->txn[i].block == b)
			return i;
	return -1;
}

static void drop_txn(struct jbd2 *j)
{
	for (u32 i = 0; i < j->ntxn; i++) {
		kfree(j->txn[i].data);
		j->txn[i].data = NULL;
	}
	j->ntxn = 0;
	for (u32 i = 0; i < JBD2_HASH; i++)
		j->hash[i] = -1;
}

/* The journal stops: the running transaction is dropped (the disk keeps
 * the last committed state, which replay or e2fsck completes) and writes
 * get -EROFS from now on. */
static int jabort(struct ext2_fs *fs, int err, const char *why)
{
	struct jbd2 *j = fs->journal;
	if (!j->aborted) {
		j->aborted = true;
		j->aborts++;
		pr_err("ext2 %s: journal aborted: %s (error %d); transaction %u dropped, the file "
		       "system is read-only from now on", fs->name, why, err, j->seq);
	}
	drop_txn(j);
	return -EROFS;
}

int jbd2_start(struct ext2_fs *fs, char *msg, size_t msgsize)
{
	struct jbd2 *j = fs->journal;
	if (be32(j->jsb + JSB_START) != 0) {
		ksnprintf(msg, msgsize, "the journal is not empty (s_start %u) but needs_recovery "
			  "is clear: read-only (e2fsck -fy)", be32(j->jsb + JSB_START));
		return -EROFS;
	}
	/* n blocks take n + ceil(n / per) + 1 journal blocks (descriptors, commit) */
	u32 per = (j->bs - JH_SIZE - JT_UUID_SIZE) / j->tag_size;
	u32 usable = j->maxlen - j->first;
	u32 cap = (u32)((u64)(usable - 2) * per / (per + 1));
	j->cap = MIN(cap, 4096u);
	j->soft = MIN((u32)JBD2_TXN_SOFT, j->cap / 4);
	if (j->soft == 0) {
		ksnprintf(msg, msgsize, "the journal (%u blocks) is too small to write through",
			  j->maxlen);
		return -EROFS;
	}
	j->txn = kzalloc(j->cap * sizeof(*j->txn));
	j->hash = kmalloc(JBD2_HASH * sizeof(s32), 0);
	if (!j->txn || !j->hash) {
		ksnprintf(msg, msgsize, "no memory for the journal's transactions");
		return -ENOMEM;
	}
	for (u32 i = 0; i < JBD2_HASH; i++)
		j->hash[i] = -1;
	/* the log's runs: without it (no memory) each block is written alone */
	if (!j->stage)
		j->stage = kmalloc((size_t)JBD2_STAGE_BLOCKS * j->bs, 0);
	j->recover_on_disk = fs->incompat & EXT2_INCOMPAT_RECOVER;
	return 0;
}

/* The copy of block b in the transaction, added (read from the disk) if
 * it is not there yet. */
static int shadow(struct ext2_fs *fs, u32 b, struct jbd2_shadow **out)
{
	struct jbd2 *j = fs->journal;
	s32 i = find(j, b);
	if (i >= 0) {
		j->txn[i].dead = false;
		*out = &j->txn[i];
		return 0;
	}
	if (j->ntxn == 0) {
		/* before any copy is taken, so that every copy of the
		 * superblock's block carries the flag too */
		if (!j->recover_on_disk) {
			int r = jbd2_set_recover(fs, true);
			if (r < 0)
				return jabort(fs, r, "setting needs_recovery");
		}
		j->started = ext2_now(fs);
	}
	if (j->ntxn >= j->cap)
		return jabort(fs, -ENOSPC, "one operation changes more blocks than the journal holds");
	u8 *d = kmalloc(j->bs, 0);
	if (!d)
		return jabort(fs, -ENOMEM, "no memory for a block's copy");
	int r = ext2_dev_read(fs, (u64)b * j->bs, d, j->bs);
	if (r < 0) {
		kfree(d);
		return jabort(fs, r, "reading a block to change it");
	}
	struct jbd2_shadow *s = &j->txn[j->ntxn];
	s->block = b;
	s->dead = false;
	s->data = d;
	s->next = j->hash[hash_of(b)];
	j->hash[hash_of(b)] = (s32)j->ntxn++;
	*out = s;
	return 0;
}

int jbd2_meta_write(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	struct jbd2 *j = fs->journal;
	if (j->aborted)
		return -EROFS;
	const u8 *in = buf;
	while (len) {
		u32 b = (u32)(off / j->bs), at = (u32)(off % j->bs);
		size_t k = MIN(len, (size_t)(j->bs - at));
		struct jbd2_shadow *s;
		int r = shadow(fs, b, &s);
		if (r < 0)
			return r;
		memcpy(s->data + at, in, k);
		in += k;
		off += k;
		len -= k;
	}
	return 0;
}

/* Copy the parts of live copies inside [off, off + len) between the
 * transaction and buf (to_buf: a read sees the copy). */
static void overlap(struct jbd2 *j, u64 off, u8 *buf, size_t len, bool to_buf)
{
	if (!j->ntxn || !len)
		return;
	u64 end = off + len;
	for (u64 b = off / j->bs; b * j->bs < end && b <= 0xffffffffu; b++) {
		s32 i = find(j, (u32)b);
		if (i < 0 || j->txn[i].dead)
			continue;
		u64 lo = MAX(off, b * j->bs), hi = MIN(end, (b + 1) * j->bs);
		u8 *copy = j->txn[i].data + (lo - b * j->bs);
		if (to_buf)
			memcpy(buf + (lo - off), copy, hi - lo);
		else
			memcpy(copy, buf + (lo - off), hi - lo);
	}
}

void jbd2_overlay(struct ext2_fs *fs, u64 off, void *buf, size_t len)
{
	overlap(fs->journal, off, buf, len, true);
}

void jbd2_data_written(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	overlap(fs->journal, off, (u8 *)buf, len, false);
}

void jbd2_forget(struct ext2_fs *fs, u32 b)
{
	struct jbd2 *j = fs->journal;
	s32 i = find(j, b);
	if (i >= 0)
		j->txn[i].dead = true;
}

/* ---- commit ---- */

static int log_write(struct ext2_fs *fs, u32 pos, const u8 *buf)
{
	struct jbd2 *j = fs->journal;
	return jbd2_raw_write(fs, (u64)j->map[pos] * j->bs, buf, j->bs);
}

/* A copy into the log at pos, escaped when it starts with the magic. */
static int log_copy(struct ext2_fs *fs, u32 pos, struct jbd2_shadow *s, bool escape)
{
	u8 keep[4];
	memcpy(keep, s->data, 4);
	if (escape)
		memset(s->data, 0, 4);
	int r = log_write(fs, pos, s->data);
	memcpy(s->data, keep, 4);
	return r;
}

/* Log blocks gathered into j->stage while they are adjacent on the disk,
 * written as one (a run of up to JBD2_STAGE_BLOCKS blocks); without a
 * stage, each block at once. */
struct log_run {
	u32 start, n;              /* journal block of the first, blocks staged */
};

static int run_flush(struct ext2_fs *fs, struct log_run *rn)
{
	struct jbd2 *j = fs->journal;
	if (!rn->n)
		return 0;
	int r = jbd2_raw_write(fs, (u64)j->map[rn->start] * j->bs, j->stage, (size_t)rn->n * j->bs);
	rn->n = 0;
	return r;
}

/* The log's block at journal block pos: data, with its first 4 bytes
 * zeroed if escape. */
static int run_put(struct ext2_fs *fs, struct log_run *rn, u32 pos, u8 *data, bool escape)
{
	struct jbd2 *j = fs->journal;
	if (!j->stage) {
		if (!escape)
			return log_write(fs, pos, data);
		struct jbd2_shadow s = { .data = data };
		return log_copy(fs, pos, &s, true);
	}
	if (rn->n && (rn->n == JBD2_STAGE_BLOCKS || j->map[pos] != j->map[rn->start] + rn->n)) {
		int r = run_flush(fs, rn);
		if (r < 0)
			return r;
	}
	if (!rn->n)
		rn->start = pos;
	u8 *dst = j->stage + (size_t)rn->n * j->bs;
	memcpy(dst, data, j->bs);
	if (escape)
		memset(dst, 0, 4);
	rn->n++;
	return 0;
}

/* Descriptors and copies from journal block s_first on; the next free
 * journal block into *pos. */
static int write_log(struct ext2_fs *fs, u32 *pos)
{
	struct jbd2 *j = fs->journal;
	u32 i = 0, p = j->first;
	struct log_run rn = { 0, 0 };
	while (i < j->ntxn) {
		u8 *d = j->buf;
		memset(d, 0, j->bs);
		put_be32(d + JH_MAGIC, JBD2_MAGIC);
		put_be32(d + JH_TYPE, JBD2_T_DESCRIPTOR);
		put_be32(d + JH_SEQUENCE, j->seq);
		u32 off = JH_SIZE, first_idx = i, last_tag = 0;
		for (; i < j->ntxn; i++) {
			struct jbd2_shadow *s = &j->txn[i];
			if (s->dead)
				continue;
			u32 need = j->tag_size + (off == JH_SIZE ? JT_UUID_SIZE : 0);
			if (off + need > j->bs)
				break;
			u8 *t = d + off;
			u32 flags = off == JH_SIZE ? 0 : JBD2_FLAG_SAME_UUID;
			if (be32(s->data) == JBD2_MAGIC)
				flags |= JBD2_FLAG_ESCAPE;
			put_be32(t + JT_BLOCKNR, s->block);
			put_be16(t + JT_FLAGS, flags);
			if (off == JH_SIZE)
				memcpy(t + j->tag_size, j->jsb + JSB_UUID, JT_UUID_SIZE);
			last_tag = off;
			off += need;
		}
		if (off == JH_SIZE)
			break;   /* only dead copies were left */
		put_be16(d + last_tag + JT_FLAGS, be16(d + last_tag + JT_FLAGS) | JBD2_FLAG_LAST_TAG);
		int r = run_put(fs, &rn, p++, d, false);
		for (u32 k = first_idx; r == 0 && k < i; k++) {
			struct jbd2_shadow *s = &j->txn[k];
			if (!s->dead) {
				r = run_put(fs, &rn, p++, s->data, be32(s->data) == JBD2_MAGIC);
				j->logged++;
			}
		}
		if (r < 0)
			return r;
	}
	int r = run_flush(fs, &rn);
	if (r < 0)
		return r;
	*pos = p;
	return 0;
}

static int write_commit(struct ext2_fs *fs, u32 pos)
{
	struct jbd2 *j = fs->journal;
	u8 *c = j->buf;
	memset(c, 0, j->bs);
	put_be32(c + JH_MAGIC, JBD2_MAGIC);
	put_be32(c + JH_TYPE, JBD2_T_COMMIT);
	put_be32(c + JH_SEQUENCE, j->seq);
	u64 now = (u64)ext2_now(fs);
	put_be32(c + JC_COMMIT_SEC, (u32)(now >> 32));
	put_be32(c + JC_COMMIT_SEC + 4, (u32)now);
	return log_write(fs, pos, c);
}

static int home_writes(struct ext2_fs *fs, const struct ext2_wvec *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i].off > fs->dev_bytes || v[i].len > fs->dev_bytes - v[i].off)
			return ext2_complain(fs, -EUCLEAN, "journal: a write of %zu bytes at byte "
					     "%llu is past the disk's end", v[i].len,
					     (unsigned long long)v[i].off);
	if (!fs->write_many) {
		for (unsigned i = 0; i < n; i++) {
			int r = jbd2_raw_write(fs, v[i].off, v[i].buf, v[i].len);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (fs->write_many(fs->ctx, v, n) < 0)
		return ext2_complain(fs, -EIO, "journal: writing %u blocks home", n);
	return 0;
}

static bool any_live(const struct jbd2 *j)
{
	for (u32 i = 0; i < j->ntxn; i++)
		if (!j->txn[i].dead)
			return true;
	return false;
}

int jbd2_commit(struct ext2_fs *fs)
{
	struct jbd2 *j = fs->journal;
	if (j->aborted)
		return -EROFS;
	if (!any_live(j)) {
		drop_txn(j);
		return 0;
	}
	u32 pos;
	int r = write_log(fs, &pos);
	if (r < 0)
		return jabort(fs, r, "writing the log");
	put_be32(j->jsb + JSB_START, j->first);
	put_be32(j->jsb + JSB_SEQUENCE, j->seq);
	if ((r = jbd2_write_jsb(fs)) < 0 || (r = jbd2_flush(fs)) < 0 ||
	    (r = write_commit(fs, pos)) < 0 || (r = jbd2_flush(fs)) < 0)
		return jabort(fs, r, "committing");
	/* committed: a crash from here on replays it. The blocks go home
	 * JBD2_HOME_BATCH at a time, together when the disk can */
	struct ext2_wvec v[JBD2_HOME_BATCH];
	unsigned nv = 0;
	for (u32 i = 0; i <= j->ntxn; i++) {
		struct jbd2_shadow *s = i < j->ntxn ? &j->txn[i] : NULL;
		if (s && !s->dead)
			v[nv++] = (struct ext2_wvec){ (u64)s->block * j->bs, s->data, j->bs };
		if (nv && (nv == JBD2_HOME_BATCH || !s)) {
			r = home_writes(fs, v, nv);
			if (r < 0)
				return jabort(fs, r, "checkpointing");
			j->checkpointed += nv;
			nv = 0;
		}
	}
	if ((r = jbd2_flush(fs)) < 0)
		return jabort(fs, r, "checkpointing");
	put_be32(j->jsb + JSB_START, 0);
	put_be32(j->jsb + JSB_SEQUENCE, j->seq + 1);
	if ((r = jbd2_write_jsb(fs)) < 0)
		return jabort(fs, r, "emptying the journal");
	drop_txn(j);
	j->seq++;
	j->commits++;
	return 0;
}

int jbd2_op_end(struct ext2_fs *fs)
{
	struct jbd2 *j = fs->journal;
	if (!j->ntxn)
		return 0;
	if (j->ntxn >= j->soft || ext2_now(fs) - j->started >= JBD2_COMMIT_AGE)
		return jbd2_commit(fs);
	return 0;
}

/* ---- what ext2.h offers ---- */

int ext2_op_end(struct ext2_fs *fs)
{
	return fs->journal && fs->write ? jbd2_op_end(fs) : 0;
}

int ext2_fsync(struct ext2_fs *fs)
{
	if (!fs->write)
		return 0;
	if (!fs->journal)
		return jbd2_flush(fs);
	return jbd2_commit(fs);   /* flushed after its home writes */
}

int ext2_sync(struct ext2_fs *fs)
{
	if (!fs->write)
		return 0;
	if (!fs->journal)
		return jbd2_flush(fs);
	int r = jbd2_commit(fs);
	if (r == 0 && fs->journal->recover_on_disk)
		r = jbd2_set_recover(fs, false);
	if (r == 0)
		r = jbd2_flush(fs);
	return r;
}
