/*
 * The block layer (see blk.h): the disk registry, the checks every request
 * passes before a driver sees it, and the synchronous helpers. The `blk`
 * REPL command lives in blk_repl.c.
 */
#include "fs/blk/blk.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"

static struct blk_disk *disks[BLK_MAX_DISKS];
static int ndisks;

int blk_register(struct blk_disk *d)
{
	if (ndisks == BLK_MAX_DISKS)
		return -ENOSPC;
	disks[ndisks++] = d;
	return 0;
}

struct blk_disk *blk_get(int i) { return i >= 0 && i < ndisks ? disks[i] : NULL; }
int blk_count(void) { return ndisks; }

struct blk_disk *blk_find(const char *name)
{
	for (int i = 0; i < ndisks; i++)
		if (strcmp(disks[i]->name, name) == 0)
			return disks[i];
	return NULL;
}

static bool in_range(const struct blk_disk *d, u64 sector, u64 n)
{
	/* nsectors < 2^48 and n < 2^32: no overflow once sector is in range */
	return sector <= d->nsectors && n <= d->nsectors - sector;
}

static bool aligned(const struct blk_disk *d, u64 sector, u64 n)
{
	u64 per = d->sector_size / BLK_SECTOR;
	return sector % per == 0 && n % per == 0;
}

static int check_data(const struct blk_disk *d, const struct blk_req *r)
{
	if (r->nsegs == 0 || r->nsegs > d->max_segs || r->nsectors == 0 ||
	    r->nsectors > d->max_sectors)
		return -EINVAL;
	u64 bytes = 0;
	for (unsigned i = 0; i < r->nsegs; i++) {
		const struct blk_seg *s = &r->seg[i];
		if (!s->page || s->len == 0 || s->len > d->max_seg_len || s->off >= PAGE_SIZE ||
		    s->len > PAGE_SIZE - s->off)
			return -EINVAL;
		bytes += s->len;
	}
	return bytes == (u64)r->nsectors * BLK_SECTOR ? 0 : -EINVAL;
}

static int check(const struct blk_disk *d, const struct blk_req *r)
{
	switch (r->op) {
	case BLK_READ:
	case BLK_WRITE:
		if (r->op == BLK_WRITE && (d->features & BLK_F_RO))
			return -EROFS;
		if (!in_range(d, r->sector, r->nsectors) || !aligned(d, r->sector, r->nsectors))
			return -EINVAL;
		return check_data(d, r);
	case BLK_FLUSH:
		return r->nsectors == 0 && r->nsegs == 0 ? 0 : -EINVAL;
	case BLK_DISCARD:
	case BLK_WRITE_ZEROES:
		if (d->features & BLK_F_RO)
			return -EROFS;
		if (!(d->features & (r->op == BLK_DISCARD ? BLK_F_DISCARD : BLK_F_WRITE_ZEROES)))
			return -EOPNOTSUPP;
		if (r->nsegs || r->nsectors == 0 || r->nsectors > d->max_discard_sectors ||
		    !in_range(d, r->sector, r->nsectors) || !aligned(d, r->sector, r->nsectors))
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

int blk_submit(struct blk_disk *d, struct blk_req *r)
{
	int err = check(d, r);
	if (err)
		return err;
	r->error = 0;
	r->next = NULL;
	if (r->op == BLK_FLUSH && !(d->features & BLK_F_FLUSH)) {
		r->end_io(r); /* no volatile cache: nothing to flush */
		return 0;
	}
	return d->ops->submit(d, r);
}

/* ---- synchronous helpers ---- */

struct blk_sync {
	struct waitq wq;
	volatile bool done;
};

/* (the waiter may return, and its stack go, as soon as done is seen:
 * waitq_complete touches nothing of s after it lets go of the lock) */
static void sync_end_io(struct blk_req *r)
{
	struct blk_sync *s = r->priv;
	waitq_complete(&s->wq, &s->done);
}

/* Submit and sleep until end_io. No timeout here: the driver completes
 * every request it accepted (with -EIO after resetting a device that
 * stopped answering), and the request lives on this stack until then. */
static int run_sync(struct blk_disk *d, struct blk_req *r)
{
	struct blk_sync s;
	waitq_init(&s.wq, "blk_sync");
	s.done = false;
	r->end_io = sync_end_io;
	r->priv = &s;
	int err = blk_submit(d, r);
	if (err)
		return err;
	wait_event(&s.wq, __atomic_load_n(&s.done, __ATOMIC_ACQUIRE));
	return r->error;
}

/* A read or write of the segments at sector into r: false when they are
 * too many or do not add up to whole sectors. */
static bool fill_rw(struct blk_req *r, enum blk_op op, u64 sector, const struct blk_seg *seg,
		    unsigned nsegs)
{
	if (nsegs > BLK_MAX_SEGS)
		return false;
	u64 bytes = 0;
	for (unsigned i = 0; i < nsegs; i++)
		bytes += seg[i].len;
	if (!bytes || bytes % BLK_SECTOR || bytes / BLK_SECTOR > 0xffffffffu)
		return false;
	r->op = op;
	r->sector = sector;
	r->nsectors = (u32)(bytes / BLK_SECTOR);
	r->nsegs = (u16)nsegs;
	memcpy(r->seg, seg, nsegs * sizeof(*seg));
	return true;
}

static int rw(struct blk_disk *d, enum blk_op op, u64 sector, const struct blk_seg *seg,
	      unsigned nsegs)
{
	if (nsegs > BLK_MAX_SEGS)
		return -EINVAL;
	struct blk_req *r = kzalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	int err = fill_rw(r, op, sector, seg, nsegs) ? run_sync(d, r) : -EINVAL;
	kfree(r);
	return err;
}

/* One allocation for a blk_write_many: freed by whoever drops the last
 * reference (the waiter's and one per request), so that no end_io touches
 * it after the waiter has returned. */
struct blk_many {
	struct waitq wq;
	u32 pending;               /* [atomic] requests not completed */
	u32 refs;                  /* [atomic] */
	int error;                 /* [atomic] the first */
	struct blk_req rs[];
};

static void many_put(struct blk_many *m)
{
	if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		kfree(m);
}

static void many_end_io(struct blk_req *r)
{
	struct blk_many *m = r->priv;
	int zero = 0;
	if (r->error)
		__atomic_compare_exchange_n(&m->error, &zero, r->error, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	if (__atomic_sub_fetch(&m->pending, 1, __ATOMIC_ACQ_REL) == 0)
		waitq_wake_all(&m->wq);
	many_put(m);
}

struct blk_many *blk_many_start(struct blk_disk *d, enum blk_op op, const struct blk_wr *w,
				unsigned n)
{
	struct blk_many *m = kzalloc(sizeof(*m) + sizeof(struct blk_req) * n);
	if (!m)
		return NULL;
	waitq_init(&m->wq, "blk_many");
	m->pending = n;
	m->refs = n + 1;
	for (unsigned i = 0; i < n; i++) {
		struct blk_req *r = &m->rs[i];
		bool ok = fill_rw(r, op, w[i].sector, w[i].seg, w[i].nsegs);
		r->end_io = many_end_io;
		r->priv = m;
		int err = ok ? blk_submit(d, r) : -EINVAL;
		if (err) {   /* refused: end_io will not run for it */
			r->error = err;
			many_end_io(r);
		}
	}
	return m;
}

bool blk_many_done(struct blk_many *m)
{
	return __atomic_load_n(&m->pending, __ATOMIC_ACQUIRE) == 0;
}

int blk_many_wait(struct blk_many *m)
{
	wait_event(&m->wq, blk_many_done(m));
	int err = __atomic_load_n(&m->error, __ATOMIC_RELAXED);
	many_put(m);
	return err;
}

int blk_rw_many(struct blk_disk *d, enum blk_op op, const struct blk_wr *w, unsigned n)
{
	if (!n)
		return 0;
	struct blk_many *m = blk_many_start(d, op, w, n);
	if (m)
		return blk_many_wait(m);
	for (unsigned i = 0; i < n; i++) {   /* no memory: one by one, then */
		int r = rw(d, op, w[i].sector, w[i].seg, w[i].nsegs);
		if (r < 0)
			return r;
	}
	return 0;
}

int blk_write_many(struct blk_disk *d, const struct blk_wr *w, unsigned n)
{
	return blk_rw_many(d, BLK_WRITE, w, n);
}

int blk_read(struct blk_disk *d, u64 sector, const struct blk_seg *seg, unsigned nsegs)
{
	return rw(d, BLK_READ, sector, seg, nsegs);
}

int blk_write(struct blk_disk *d, u64 sector, const struct blk_seg *seg, unsigned nsegs,
	      unsigned flags)
{
	int err = rw(d, BLK_WRITE, sector, seg, nsegs);
	if (!err && (flags & BLK_FUA))
		err = blk_flush(d);
	return err;
}

static int range_op(struct blk_disk *d, enum blk_op op, u64 sector, u32 nsectors)
{
	struct blk_req r;
	memset(&r, 0, sizeof(r));
	r.op = op;
	r.sector = sector;
	r.nsectors = nsectors;
	return run_sync(d, &r);
}

int blk_flush(struct blk_disk *d) { return range_op(d, BLK_FLUSH, 0, 0); }

int blk_discard(struct blk_disk *d, u64 sector, u32 nsectors)
{
	return range_op(d, BLK_DISCARD, sector, nsectors);
}

int blk_write_zeroes(struct blk_disk *d, u64 sector, u32 nsectors)
{
	return range_op(d, BLK_WRITE_ZEROES, sector, nsectors);
}

void blk_init(void)
{
	if (virtio_blk_probe() == 0)
		pr_info("blk: no disk found");
}
