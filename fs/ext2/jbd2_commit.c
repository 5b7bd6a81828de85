/*
 * JBD2: the running transaction, its commit and its checkpoint (jbd2.h
 * says what is logged, when, and what a crash leaves).
 *
 * Layout of a commit, from the log's head on: for each group of tags that
 * fits a descriptor block, the descriptor then the copies it names (a
 * copy whose first 4 bytes are the journal's magic is logged with them
 * zeroed and the ESCAPE flag), then its revoke blocks, then one commit
 * block. The log never runs around the ring: a transaction that would
 * not fit before its end checkpoints first and starts at s_first. When
 * the log was empty, the journal superblock says s_start = s_first and
 * s_sequence = this transaction before the first flush; the commit block,
 * written after that flush and flushed itself, is what makes the
 * transaction count. A replay walks from s_start through consecutive
 * sequence numbers, so the blocks of older, checkpointed transactions
 * past the head end the walk. A checkpoint writes the waiting copies
 * home (pend_out), flushes, writes s_start = 0 and flushes, so no later
 * write into the log can come before it.
 */
#include "fs/ext2/jbd2.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

static u32 hash_of(u32 b) { return (b * 2654435761u) >> 22; }   /* JBD2_HASH = 1 << 10 */

/* Block b's copy among shadows sh hashed by hash: its index or -1. */
static s32 find_in(const struct jbd2_shadow *sh, const s32 *hash, u32 b)
{
	for (s32 i = hash[hash_of(b)]; i >= 0; i = sh[i].next)
		if (sh[i].block == b)
			return i;
	return -1;
}

static s32 find(const struct jbd2 *j, u32 b) { return find_in(j->txn, j->hash, b); }

static void pend_clear(struct jbd2 *j)
{
	for (u32 i = 0; i < j->npend; i++) {
		kfree(j->pend[i].data);
		j->pend[i].data = NULL;
	}
	j->npend = 0;
	for (u32 i = 0; i < JBD2_HASH; i++)
		j->phash[i] = -1;
}

static void drop_txn(struct jbd2 *j)
{
	for (u32 i = 0; i < j->ntxn; i++) {
		kfree(j->txn[i].data);
		j->txn[i].data = NULL;
	}
	j->ntxn = 0;
	j->nrevoke = 0;
	for (u32 i = 0; i < JBD2_HASH; i++)
		j->hash[i] = -1;
}

/* ---- the set of home blocks the log holds ---- */

#define SLOT_FREE 0xffffffffu
#define SLOT_GONE 0xfffffffeu      /* removed: a probe goes on past it */

static u32 *logged_slot(struct jbd2 *j, u32 b)
{
	u32 h = (b * 2654435761u) & (JBD2_LOGGED_SLOTS - 1);
	while (j->logged[h] != SLOT_FREE && j->logged[h] != b)
		h = (h + 1) & (JBD2_LOGGED_SLOTS - 1);
	return &j->logged[h];
}

/* Add b; false when the set is full (the caller checkpoints). */
static bool logged_add(struct jbd2 *j, u32 b)
{
	u32 *s = logged_slot(j, b);
	if (*s == b)
		return true;
	if (j->logged_used >= JBD2_LOGGED_MAX)
		return false;
	*s = b;
	j->logged_used++;
	return true;
}

static bool logged_remove(struct jbd2 *j, u32 b)
{
	u32 *s = logged_slot(j, b);
	if (*s != b)
		return false;
	*s = SLOT_GONE;
	return true;
}

static void logged_clear(struct jbd2 *j)
{
	for (u32 i = 0; i < JBD2_LOGGED_SLOTS; i++)
		j->logged[i] = SLOT_FREE;
	j->logged_used = 0;
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
	/* n blocks take n + ceil(n / per) + JBD2_REVOKE_BLOCKS + 1 journal
	 * blocks at most (descriptors, revokes, commit) */
	u32 per = (j->bs - JH_SIZE - JT_UUID_SIZE) / j->tag_size;
	u32 usable = j->maxlen - j->first;
	u32 cap = usable > 2 + JBD2_REVOKE_BLOCKS ?
		  (u32)((u64)(usable - 2 - JBD2_REVOKE_BLOCKS) * per / (per + 1)) : 0;
	j->cap = MIN(cap, 4096u);
	j->soft = MIN((u32)JBD2_TXN_SOFT, j->cap / 4);
	if (j->soft == 0) {
		ksnprintf(msg, msgsize, "the journal (%u blocks) is too small to write through",
			  j->maxlen);
		return -EROFS;
	}
	/* revoke records need a v2 journal superblock to say so (the feature) */
	if (be32(j->jsb + JH_TYPE) == JBD2_T_SB_V2) {
		j->incompat |= JBD2_INCOMPAT_REVOKE;
		put_be32(j->jsb + JSB_INCOMPAT, j->incompat);   /* written with the first commit */
		u32 rsize = j->tag_size > JT_SIZE ? 8 : 4;
		j->revoke_cap = JBD2_REVOKE_BLOCKS * ((j->bs - JR_RECORDS) / rsize);
	}
	j->txn = kzalloc(j->cap * sizeof(*j->txn));
	j->hash = kmalloc(JBD2_HASH * sizeof(s32), 0);
	j->logged = kmalloc(JBD2_LOGGED_SLOTS * sizeof(u32), 0);
	j->revoke = j->revoke_cap ? kmalloc(j->revoke_cap * sizeof(u32), 0) : NULL;
	j->pend = kzalloc(JBD2_PEND_MAX * sizeof(*j->pend));
	j->phash = kmalloc(JBD2_HASH * sizeof(s32), 0);
	if (!j->txn || !j->hash || !j->logged || (j->revoke_cap && !j->revoke) || !j->pend ||
	    !j->phash) {
		ksnprintf(msg, msgsize, "no memory for the journal's transactions");
		return -ENOMEM;
	}
	for (u32 i = 0; i < JBD2_HASH; i++)
		j->hash[i] = j->phash[i] = -1;
	logged_clear(j);
	j->head = j->first;
	j->in_log = 0;
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

/* Copy the parts of the live copies among sh (n of them, hashed by
 * hash) inside [off, off + len) between them and buf (to_buf: a read
 * sees the copy). */
static void overlap(const struct jbd2 *j, struct jbd2_shadow *sh, const s32 *hash, u32 n, u64 off,
		    u8 *buf, size_t len, bool to_buf)
{
	if (!n || !len)
		return;
	u64 end = off + len;
	for (u64 b = off / j->bs; b * j->bs < end && b <= 0xffffffffu; b++) {
		s32 i = find_in(sh, hash, (u32)b);
		if (i < 0 || sh[i].dead)
			continue;
		u64 lo = MAX(off, b * j->bs), hi = MIN(end, (b + 1) * j->bs);
		u8 *copy = sh[i].data + (lo - b * j->bs);
		if (to_buf)
			memcpy(buf + (lo - off), copy, hi - lo);
		else
			memcpy(copy, buf + (lo - off), hi - lo);
	}
}

void jbd2_overlay(struct ext2_fs *fs, u64 off, void *buf, size_t len)
{
	struct jbd2 *j = fs->journal;
	overlap(j, j->pend, j->phash, j->npend, off, buf, len, true);   /* older first */
	overlap(j, j->txn, j->hash, j->ntxn, off, buf, len, true);
}

void jbd2_overlay_committed(struct ext2_fs *fs, u64 off, void *buf, size_t len)
{
	struct jbd2 *j = fs->journal;
	overlap(j, j->pend, j->phash, j->npend, off, buf, len, true);
}

void jbd2_data_written(struct ext2_fs *fs, u64 off, const void *buf, size_t len)
{
	struct jbd2 *j = fs->journal;
	overlap(j, j->pend, j->phash, j->npend, off, (u8 *)buf, len, false);
	overlap(j, j->txn, j->hash, j->ntxn, off, (u8 *)buf, len, false);
}

int jbd2_forget(struct ext2_fs *fs, u32 b)
{
	struct jbd2 *j = fs->journal;
	s32 i = find(j, b);
	if (i >= 0)
		j->txn[i].dead = true;
	/* its committed copy need not go home: the block is free once this
	 * transaction commits, and may not be used again before */
	if ((i = find_in(j->pend, j->phash, b)) >= 0)
		j->pend[i].dead = true;
	if (!logged_remove(j, b))
		return 0;
	if (j->nrevoke < j->revoke_cap) {
		j->revoke[j->nrevoke++] = b;
		return 0;
	}
	/* no room for the record: with the log empty, none is needed */
	return jbd2_checkpoint(fs);
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

/* The running transaction's revoke records into revoke blocks at *p on. */
static int write_revokes(struct ext2_fs *fs, struct log_run *rn, u32 *p)
{
	struct jbd2 *j = fs->journal;
	u32 rsize = j->tag_size > JT_SIZE ? 8 : 4;
	for (u32 i = 0; i < j->nrevoke;) {
		u8 *d = j->buf;
		memset(d, 0, j->bs);
		put_be32(d + JH_MAGIC, JBD2_MAGIC);
		put_be32(d + JH_TYPE, JBD2_T_REVOKE);
		put_be32(d + JH_SEQUENCE, j->seq);
		u32 off = JR_RECORDS;
		for (; i < j->nrevoke && off + rsize <= j->bs; i++, off += rsize)
			put_be32(d + off + rsize - 4, j->revoke[i]);   /* 64bit: the high half 0 */
		put_be32(d + JR_COUNT, off);
		int r = run_put(fs, rn, (*p)++, d, false);
		if (r < 0)
			return r;
	}
	j->revokes += j->nrevoke;
	return 0;
}

/* The journal blocks a transaction of n copies and nrev revoke records
 * takes at most. */
static u32 log_need(const struct jbd2 *j, u32 n, u32 nrev)
{
	u32 per = (j->bs - JH_SIZE - JT_UUID_SIZE) / j->tag_size;
	u32 rper = (j->bs - JR_RECORDS) / (j->tag_size > JT_SIZE ? 8 : 4);
	return n + (n + per - 1) / per + (nrev + rper - 1) / rper + 1;
}

/* Descriptors, copies and revoke blocks from the log's head on; the next
 * free journal block into *pos. The last run is left staged in *last
 * (the caller writes it with the waiting copies: pend_out). */
static int write_log(struct ext2_fs *fs, u32 *pos, struct log_run *last)
{
	struct jbd2 *j = fs->journal;
	u32 i = 0, p = j->head;
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
				j->logged_blocks++;
			}
		}
		if (r < 0)
			return r;
	}
	int r = write_revokes(fs, &rn, &p);
	if (r < 0)
		return r;
	*last = rn;
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

/* The waiting copies home, with the log's staged run (if any) in the
 * same batch of writes; then none wait. */
static int pend_out(struct ext2_fs *fs, struct log_run *rn)
{
	struct jbd2 *j = fs->journal;
	struct ext2_wvec v[1 + JBD2_PEND_MAX];
	unsigned nv = 0;
	if (rn && rn->n) {
		u64 at = (u64)j->map[rn->start] * j->bs;
		if (at > fs->dev_bytes || (size_t)rn->n * j->bs > fs->dev_bytes - at)
			return ext2_complain(fs, -EUCLEAN, "journal: the log runs past the disk's end");
		v[nv++] = (struct ext2_wvec){ at, j->stage, (size_t)rn->n * j->bs };
		rn->n = 0;
	}
	u32 home = 0;
	for (u32 i = 0; i < j->npend; i++)
		if (!j->pend[i].dead)
			v[nv++] = (struct ext2_wvec){ (u64)j->pend[i].block * j->bs, j->pend[i].data, j->bs },
			home++;
	int r = nv ? home_writes(fs, v, nv) : 0;
	if (r == 0) {
		j->checkpointed += home;
		pend_clear(j);
	}
	return r;
}

static u32 live_blocks(const struct jbd2 *j)
{
	u32 n = 0;
	for (u32 i = 0; i < j->ntxn; i++)
		n += !j->txn[i].dead;
	return n;
}

int jbd2_checkpoint(struct ext2_fs *fs)
{
	struct jbd2 *j = fs->journal;
	if (j->aborted)
		return -EROFS;
	j->nrevoke = 0;   /* with the log empty, the running transaction revokes nothing */
	if (j->in_log) {
		/* the homes first, then the superblock that lets the log go */
		put_be32(j->jsb + JSB_START, 0);
		put_be32(j->jsb + JSB_SEQUENCE, j->seq);
		int r;
		if ((r = pend_out(fs, NULL)) < 0 || (r = jbd2_flush(fs)) < 0 ||
		    (r = jbd2_write_jsb(fs)) < 0 || (r = jbd2_flush(fs)) < 0)
			return jabort(fs, r, "checkpointing");
		j->checkpoints++;
	}
	j->head = j->first;
	j->in_log = 0;
	logged_clear(j);
	return 0;
}

int jbd2_commit(struct ext2_fs *fs)
{
	struct jbd2 *j = fs->journal;
	if (j->aborted)
		return -EROFS;
	u32 n = live_blocks(j);
	if (!n && !j->nrevoke) {
		drop_txn(j);
		return 0;
	}
	int r;
	/* ordered: the file data it maps reaches the disk before it (data
	 * that did not may not be exposed: the journal stops) */
	if (fs->data_out && (r = fs->data_out(fs->ctx)) < 0)
		return jabort(fs, r, "writing the file data a transaction maps");
	if (j->head + log_need(j, n, j->nrevoke) > j->maxlen) {
		if ((r = jbd2_checkpoint(fs)) < 0)
			return r;
		if (!n) {   /* it only revoked, and the log is empty now */
			drop_txn(j);
			return 0;
		}
	}
	u32 pos;
	/* the waiting copies go home now (with the log's last run) only when
	 * this transaction's might not fit beside them */
	struct log_run last;
	bool out = j->npend + n > JBD2_PEND_MAX;
	if ((r = write_log(fs, &pos, &last)) < 0 ||
	    (r = out ? pend_out(fs, &last) : run_flush(fs, &last)) < 0)
		return jabort(fs, r, "writing the log");
	if (!j->in_log) {
		put_be32(j->jsb + JSB_START, j->head);
		put_be32(j->jsb + JSB_SEQUENCE, j->seq);
		if ((r = jbd2_write_jsb(fs)) < 0)
			return jabort(fs, r, "committing");
	}
	if ((r = jbd2_flush(fs)) < 0 || (r = write_commit(fs, pos)) < 0 || (r = jbd2_flush(fs)) < 0)
		return jabort(fs, r, "committing");
	/* committed: a crash from here on replays it. The copies stay in the
	 * log until a checkpoint flushes them home. Up to JBD2_PEND_MAX wait
	 * in memory (the newest copy of each block: a block that every commit
	 * changes goes home once), to go home at a checkpoint or with a later
	 * commit's log; a bigger transaction's go now (pend is empty then),
	 * JBD2_HOME_BATCH at a time, together when the disk can */
	j->head = pos + 1;
	j->in_log++;
	bool full = false, wait = n <= JBD2_PEND_MAX;
	struct ext2_wvec v[JBD2_HOME_BATCH];
	unsigned nv = 0;
	for (u32 i = 0; i <= j->ntxn; i++) {
		struct jbd2_shadow *s = i < j->ntxn ? &j->txn[i] : NULL;
		if (s && !s->dead) {
			full |= !logged_add(j, s->block);
			if (wait) {   /* the copy moves to pend, over an older one */
				s32 k = find_in(j->pend, j->phash, s->block);
				if (k >= 0) {
					kfree(j->pend[k].data);
					j->pend[k].data = s->data;
					j->pend[k].dead = false;
				} else {
					u32 h = hash_of(s->block);
					j->pend[j->npend] = (struct jbd2_shadow){ s->block, false,
										  j->phash[h], s->data };
					j->phash[h] = (s32)j->npend++;
				}
				s->data = NULL;
				continue;
			}
			v[nv++] = (struct ext2_wvec){ (u64)s->block * j->bs, s->data, j->bs };
		}
		if (nv && (nv == JBD2_HOME_BATCH || !s)) {
			r = home_writes(fs, v, nv);
			if (r < 0)
				return jabort(fs, r, "writing the log's blocks home");
			j->checkpointed += nv;
			nv = 0;
		}
	}
	drop_txn(j);
	j->seq++;
	j->commits++;
	return full ? jbd2_checkpoint(fs) : 0;
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
	struct jbd2 *j = fs->journal;
	if (!j || (!j->aborted && !live_blocks(j) && !j->nrevoke))
		return jbd2_flush(fs);   /* file data written in place, no metadata */
	return jbd2_commit(fs);      /* its commit block flushed after the data */
}

int ext2_sync(struct ext2_fs *fs)
{
	if (!fs->write)
		return 0;
	if (!fs->journal)
		return jbd2_flush(fs);
	int r = jbd2_commit(fs);
	if (r == 0)
		r = jbd2_checkpoint(fs);
	if (r == 0 && fs->journal->recover_on_disk)
		r = jbd2_set_recover(fs, false);
	if (r == 0)
		r = jbd2_flush(fs);
	return r;
}
