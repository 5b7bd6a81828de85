/*
 * The block layer: what the file system sees of any disk.
 *
 * Disks. A driver (virtio-blk first) fills a struct blk_disk and registers
 * it (blk_register); users find it by name ("vda") or index. Addresses are
 * in 512-byte sectors (BLK_SECTOR) whatever the device's logical block
 * size; an I/O must start and end on a multiple of disk->sector_size.
 * Capacity is disk->nsectors (0 is a legal, useless disk: every I/O is
 * refused with -EINVAL).
 *
 * Requests. A struct blk_req names an operation, a sector range and, for
 * reads and writes, the data as a list of page segments: the device reads
 * or writes those pages directly (scatter/gather, no bounce copy, no copy
 * counted). blk_submit hands it to the disk and returns at once (0), or
 * refuses it (a negative errno, end_io not called):
 *   -EINVAL      a range outside the disk or unaligned, segments that do not
 *                add up to the range, more segments or sectors than the
 *                disk takes in one request (disk->max_segs, max_sectors)
 *   -EROFS       a write, discard or write-zeroes to a read-only disk
 *   -EOPNOTSUPP  discard or write-zeroes on a disk that does not offer it
 * An accepted request completes exactly once: end_io(r) runs in thread
 * context (the disk's completion thread; it must not sleep for long and
 * must not submit and wait), with r->error 0, -EIO (the device reported
 * an error, or stopped answering and was reset: never a hang) or
 * -EOPNOTSUPP (the device refused the operation). A flush on a disk
 * without a volatile cache has nothing to do: its end_io runs in
 * blk_submit, before it returns 0. blk_submit
 * may sleep while the disk's queue is full (a bounded queue depth): call
 * it from a thread, never from interrupt context.
 *
 * Ownership: the caller keeps its page references; until end_io the pages
 * and the request belong to the disk and must not be touched or freed.
 *
 * The synchronous helpers (blk_read, blk_write, blk_flush, blk_discard,
 * blk_write_zeroes) build a request, submit it and sleep until it
 * completes; they return 0 or the errno above. blk_write with BLK_FUA
 * returns once the data is on stable storage (the write is followed by a
 * flush when the disk has a volatile cache: virtio-blk has no FUA bit).
 *
 * Locks: the registry is written at boot only (before other CPUs use it);
 * each driver documents its own.
 */
#ifndef BLK_BLK_H
#define BLK_BLK_H

#include "kernel/mm/mm.h"
#include "kernel/lib/hist.h"

#define BLK_SECTOR 512u
#define BLK_MAX_SEGS 48          /* page segments in one request */
#define BLK_MAX_DISKS 8
#define BLK_MAX_QUEUES 16
/* 2^48 sectors (128 PiB): a device claiming more is refused as absurd, and
 * sector arithmetic below it cannot overflow */
#define BLK_MAX_CAPACITY (1ULL << 48)

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_WRITE_ZEROES, BLK_NOPS };

#define BLK_FUA (1u << 0)        /* blk_write: durable on return */

struct blk_seg {
	struct page *page;       /* an order-0 page (or a block's page) the caller holds */
	u32 off, len;            /* within the page: off + len <= PAGE_SIZE */
};

struct blk_req {
	enum blk_op op;
	u64 sector;              /* first 512-byte sector */
	u32 nsectors;            /* read, write: the segments' bytes / 512;
				    discard, write zeroes: the range; flush: 0 */
	u16 nsegs;
	struct blk_seg seg[BLK_MAX_SEGS];
	void (*end_io)(struct blk_req *r);
	void *priv;              /* the submitter's */
	int error;               /* set before end_io: 0, -EIO or -EOPNOTSUPP */
	/* the disk's, while it holds the request */
	u64 start_ns;
	struct blk_req *next;
};

#define BLK_F_RO           (1u << 0)
#define BLK_F_FLUSH        (1u << 1)   /* a volatile write cache: flushes mean something */
#define BLK_F_DISCARD      (1u << 2)
#define BLK_F_WRITE_ZEROES (1u << 3)

struct blk_queue_stats {
	u64 requests, reads, writes, flushes, discards, write_zeroes;
	u64 sectors_read, sectors_written;
	u64 errors;              /* completed with -EIO (device status or reset) */
	u64 timeouts;            /* requests the device did not answer in time */
	u64 inflight;            /* now */
	u64 merges;              /* adjacent requests merged (none yet: see virtio_blk.c) */
	u64 slot_waits;          /* submitters that waited for the queue depth */
	u64 irqs, kicks;
};

struct blk_disk;
struct blk_ops {
	int (*submit)(struct blk_disk *d, struct blk_req *r);
	void (*stats)(struct blk_disk *d, unsigned q, struct blk_queue_stats *out);
	/* latency (ns, submit to completion) of reads (write false) or writes
	 * and flushes, added into *out */
	void (*latency)(struct blk_disk *d, unsigned q, bool write, struct hist *out);
	/* Fault injection for tests; -ENOTSUP if unknown. */
	int (*inject)(struct blk_disk *d, const char *what);
};

struct blk_disk {
	char name[8];
	const char *driver;
	u64 nsectors;            /* capacity in 512-byte sectors, < BLK_MAX_CAPACITY */
	u32 sector_size;         /* logical block size: a power of two, 512..65536 */
	u32 max_sectors;         /* in one request */
	u32 max_seg_len;         /* bytes in one segment (<= PAGE_SIZE) */
	u16 max_segs;            /* segments in one request, 1..BLK_MAX_SEGS */
	u16 nqueues;
	u32 features;            /* BLK_F_* */
	u32 max_discard_sectors; /* discard and write zeroes, in one request */
	u64 resets;              /* device resets recovered from */
	char feature_names[96];  /* the device features taken, for the REPL */
	const struct blk_ops *ops;
	void *priv;
};

int blk_register(struct blk_disk *d);
struct blk_disk *blk_get(int i);
struct blk_disk *blk_find(const char *name);
int blk_count(void);

int blk_submit(struct blk_disk *d, struct blk_req *r);

int blk_read(struct blk_disk *d, u64 sector, const struct blk_seg *seg, unsigned nsegs);
int blk_write(struct blk_disk *d, u64 sector, const struct blk_seg *seg, unsigned nsegs,
	      unsigned flags);
int blk_flush(struct blk_disk *d);
/* Several writes at once: every one is submitted before any is waited for
 * (the disk works on them together), then all are waited for: 0 or the
 * first error. */
struct blk_wr {
	u64 sector;
	const struct blk_seg *seg;
	unsigned nsegs;
};
int blk_write_many(struct blk_disk *d, const struct blk_wr *w, unsigned n);
/* The same for reads (op BLK_READ) or writes. */
int blk_rw_many(struct blk_disk *d, enum blk_op op, const struct blk_wr *w, unsigned n);
/* Asynchronously: blk_many_start submits them all and returns (NULL: no
 * memory, nothing submitted); blk_many_done says whether every one has
 * completed; blk_many_wait sleeps until they have, frees the handle and
 * gives 0 or the first error. Every started handle must be waited for
 * exactly once (the pages belong to the disk until then). */
struct blk_many;
struct blk_many *blk_many_start(struct blk_disk *d, enum blk_op op, const struct blk_wr *w,
				unsigned n);
bool blk_many_done(struct blk_many *m);
int blk_many_wait(struct blk_many *m);
int blk_discard(struct blk_disk *d, u64 sector, u32 nsectors);
int blk_write_zeroes(struct blk_disk *d, u64 sector, u32 nsectors);

/* Probe every driver's devices (boot, after the NICs). */
void blk_init(void);

/* drivers */
int virtio_blk_probe(void);

#endif
