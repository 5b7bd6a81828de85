/*
 * The `blk` REPL command: disks, per-queue counters and latency, and I/O
 * for the tests.
 *
 *   blk                             disks and per-queue counters
 *   blk latency                     per queue: read and write latency (us)
 *   blk read DISK SECTOR COUNT      read COUNT sectors, print their FNV-1a hash
 *   blk write DISK SECTOR COUNT SEED [fua]
 *                                   write the pattern of SEED (below), print its hash
 *   blk flush DISK | blk discard DISK SECTOR COUNT | blk zeroes DISK SECTOR COUNT
 *   blk stress DISK FIRST COUNT REQS
 *                                   one thread per CPU, each REQS reads of 1-16
 *                                   sectors within [FIRST, FIRST+COUNT), up to 8
 *                                   in flight, each checked against the test
 *                                   image's pattern (below)
 *   blk inject hang|drop-irq DISK   the device stops hearing of requests until
 *                                   the timeout resets it / one lost interrupt
 *
 * Patterns (tests/integration/blk_test.py makes the same bytes):
 *   the test image: sector s holds s as 8 little-endian bytes, then byte j
 *   (8 <= j < 512) is (j + 7 s) mod 256;
 *   blk write: byte j of sector s is (31 s + 7 j + 13 SEED + j / 256) mod 256.
 *
 * I/O commands sleep until the disk answers (the driver bounds that with
 * its timeout), so they refuse to run while the machine is frozen: the
 * completion threads would not run.
 */
#include "fs/blk/blk.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/repl/repl.h"
#include "kernel/sched/sched.h"

#define REPL_IO_MAX 2048u      /* sectors one read or write command moves (1 MiB) */
#define STRESS_DEPTH 8
#define STRESS_MAX_SECT 16

static u64 fnv1a(u64 h, const u8 *p, u32 n)
{
	for (u32 i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static u8 write_pattern(u64 s, u32 j, u64 seed)
{
	return (u8)(31 * s + 7 * j + 13 * seed + j / 256);
}

static u8 image_pattern(u64 s, u32 j)
{
	return j < 8 ? (u8)(s >> (8 * j)) : (u8)(j + 7 * s);
}

struct io_buf {
	struct page *pg[REPL_IO_MAX * BLK_SECTOR / PAGE_SIZE];
	unsigned npages;
};

static void buf_free(struct io_buf *b)
{
	for (unsigned i = 0; i < b->npages; i++)
		page_put(b->pg[i]);
	b->npages = 0;
}

static int buf_alloc(struct io_buf *b, u64 count)
{
	b->npages = 0;
	unsigned n = (unsigned)((count * BLK_SECTOR + PAGE_SIZE - 1) / PAGE_SIZE);
	for (unsigned i = 0; i < n; i++) {
		b->pg[i] = page_alloc(0);
		if (!b->pg[i]) {
			buf_free(b);
			return -ENOMEM;
		}
		b->npages++;
	}
	return 0;
}

static u8 *sector_ptr(struct io_buf *b, u64 i)
{
	u64 off = i * BLK_SECTOR;
	return (u8 *)page_address(b->pg[off / PAGE_SIZE]) + off % PAGE_SIZE;
}

/* Read or write count sectors from the buffer in requests of at most the
 * disk's limits, each a list of whole pages (the last one partial). */
static int do_io(struct blk_disk *d, bool write, u64 sector, u64 count, struct io_buf *b,
		 unsigned flags)
{
	u32 per = d->max_sectors;
	u32 page_sect = PAGE_SIZE / BLK_SECTOR;
	if (d->max_seg_len == PAGE_SIZE && per >= page_sect)
		per -= per % page_sect; /* requests start on a page */
	else
		return -EINVAL; /* odd limits: not worth a REPL path */
	for (u64 done = 0; done < count;) {
		u32 n = (u32)MIN((u64)per, count - done);
		struct blk_seg seg[BLK_MAX_SEGS];
		unsigned ns = 0;
		for (u32 k = 0; k < n; k += page_sect) {
			u64 at = (done + k) * BLK_SECTOR;
			seg[ns++] = (struct blk_seg){ b->pg[at / PAGE_SIZE], 0,
						      MIN(page_sect, n - k) * BLK_SECTOR };
		}
		int err = write ? blk_write(d, sector + done, seg, ns, flags)
				: blk_read(d, sector + done, seg, ns);
		if (err)
			return err;
		done += n;
	}
	return 0;
}

static u64 hash_of(struct io_buf *b, u64 count)
{
	u64 h = FNV_INIT;
	for (u64 i = 0; i < count; i++)
		h = fnv1a(h, sector_ptr(b, i), BLK_SECTOR);
	return h;
}

static int parse_range(struct repl_out *o, char **argv, u64 *sector, u64 *count, u64 max)
{
	if (repl_parse_u64(argv[0], sector) || repl_parse_u64(argv[1], count) || *count == 0)
		return repl_error(o, -EINVAL, "bad SECTOR or COUNT");
	if (*count > max)
		return repl_error(o, -EINVAL, "at most %llu sectors", (unsigned long long)max);
	return 0;
}

static const char *errname(int err)
{
	switch (err) {
	case -EIO: return "EIO";
	case -EROFS: return "EROFS";
	case -EINVAL: return "EINVAL";
	case -EOPNOTSUPP: return "EOPNOTSUPP";
	case -ENOMEM: return "ENOMEM";
	default: return "error";
	}
}

static int io_result(struct repl_out *o, const char *what, struct blk_disk *d, int err)
{
	if (err)
		return repl_error(o, err, "%s %s: %s (%d)", d->name, what, errname(err), err);
	return 0;
}

static int cmd_rw(struct repl_out *o, struct blk_disk *d, bool write, int argc, char **argv)
{
	u64 sector, count, seed = 0;
	if (argc < (write ? 6 : 5))
		return repl_error(o, -EINVAL, "usage: blk %s DISK SECTOR COUNT%s",
				  write ? "write" : "read", write ? " SEED [fua]" : "");
	int err = parse_range(o, argv + 3, &sector, &count, REPL_IO_MAX);
	if (err)
		return err;
	if (write && repl_parse_u64(argv[5], &seed))
		return repl_error(o, -EINVAL, "bad SEED");
	unsigned flags = write && argc >= 7 && strcmp(argv[6], "fua") == 0 ? BLK_FUA : 0;
	struct io_buf *b = kzalloc(sizeof(*b));
	if (!b || buf_alloc(b, count)) {
		kfree(b);
		return repl_error(o, -ENOMEM, "no memory for the buffer");
	}
	if (write)
		for (u64 i = 0; i < count; i++)
			for (u32 j = 0; j < BLK_SECTOR; j++)
				sector_ptr(b, i)[j] = write_pattern(sector + i, j, seed);
	u64 t0 = arch_clock_ns();
	err = do_io(d, write, sector, count, b, flags);
	u64 us = (arch_clock_ns() - t0) / 1000;
	u64 h = hash_of(b, count);
	buf_free(b);
	kfree(b);
	if (err)
		return io_result(o, write ? "write" : "read", d, err);
	char hs[20];
	ksnprintf(hs, sizeof(hs), "%016llx", (unsigned long long)h);
	repl_obj_begin(o, write ? "write" : "read");
	repl_kv_str(o, "disk", d->name);
	repl_kv_u64(o, "sector", sector);
	repl_kv_u64(o, "count", count);
	repl_kv_str(o, "fnv1a", hs);
	repl_kv_u64(o, "us", us);
	repl_obj_end(o);
	return 0;
}

static int cmd_range(struct repl_out *o, struct blk_disk *d, const char *what, int argc,
		     char **argv)
{
	u64 sector = 0, count = 0;
	int err;
	if (strcmp(what, "flush") == 0) {
		err = blk_flush(d);
	} else {
		if (argc < 5)
			return repl_error(o, -EINVAL, "usage: blk %s DISK SECTOR COUNT", what);
		err = parse_range(o, argv + 3, &sector, &count, 0xffffffffu);
		if (err)
			return err;
		err = strcmp(what, "discard") == 0 ? blk_discard(d, sector, (u32)count)
						   : blk_write_zeroes(d, sector, (u32)count);
	}
	if (err)
		return io_result(o, what, d, err);
	repl_obj_begin(o, what);
	repl_kv_str(o, "disk", d->name);
	repl_kv_u64(o, "sector", sector);
	repl_kv_u64(o, "count", count);
	repl_obj_end(o);
	return 0;
}

/* ---- stress: concurrent checked reads from every CPU ---- */

struct stress {
	struct blk_disk *d;
	u64 first, count, reqs;
	u64 done, errors, bad_sectors;   /* [atomic] */
};

struct stress_slot {
	struct blk_req r;
	struct page *pg[2];
	volatile bool busy, finished;
	struct waitq *wq;
};

static void stress_end_io(struct blk_req *r)
{
	struct stress_slot *s = r->priv;
	__atomic_store_n(&s->finished, true, __ATOMIC_RELEASE);
	waitq_wake_all(s->wq);
}

static void stress_check(struct stress *st, struct stress_slot *s)
{
	if (s->r.error) {
		__atomic_fetch_add(&st->errors, 1, __ATOMIC_RELAXED);
		return;
	}
	for (u32 i = 0; i < s->r.nsectors; i++) {
		const u8 *p = (const u8 *)page_address(s->pg[i / 8]) + (i % 8) * BLK_SECTOR;
		for (u32 j = 0; j < BLK_SECTOR; j++) {
			if (p[j] != image_pattern(s->r.sector + i, j)) {
				__atomic_fetch_add(&st->bad_sectors, 1, __ATOMIC_RELAXED);
				break;
			}
		}
	}
	__atomic_fetch_add(&st->done, 1, __ATOMIC_RELAXED);
}

static bool any_finished(struct stress_slot *s)
{
	for (int i = 0; i < STRESS_DEPTH; i++)
		if (__atomic_load_n(&s[i].finished, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

static void stress_main(void *arg)
{
	struct stress *st = arg;
	struct waitq wq;
	waitq_init(&wq, "blk_stress");
	struct stress_slot *s = kzalloc(sizeof(*s) * STRESS_DEPTH);
	u64 rng = 0x9e3779b97f4a7c15ULL * (cpu_id() + 1);
	for (int i = 0; s && i < STRESS_DEPTH; i++) {
		s[i].wq = &wq;
		s[i].pg[0] = page_alloc(0);
		s[i].pg[1] = page_alloc(0);
	}
	u64 submitted = 0, inflight = 0;
	while (s && (submitted < st->reqs || inflight)) {
		bool progress = false;
		for (int i = 0; i < STRESS_DEPTH; i++) {
			struct stress_slot *x = &s[i];
			if (x->busy && __atomic_load_n(&x->finished, __ATOMIC_ACQUIRE)) {
				stress_check(st, x);
				x->busy = x->finished = false;
				inflight--;
				progress = true;
			}
			if (x->busy || submitted >= st->reqs || !x->pg[0] || !x->pg[1])
				continue;
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			u32 n = (u32)MIN((u64)(1 + rng % STRESS_MAX_SECT), st->count);
			memset(&x->r, 0, sizeof(x->r));
			x->r.op = BLK_READ;
			x->r.sector = st->first + (rng >> 8) % (st->count - n + 1);
			x->r.nsectors = n;
			x->r.seg[0] = (struct blk_seg){ x->pg[0], 0, MIN(n, 8u) * BLK_SECTOR };
			x->r.nsegs = 1;
			if (n > 8)
				x->r.seg[x->r.nsegs++] = (struct blk_seg){ x->pg[1], 0, (n - 8) * BLK_SECTOR };
			x->r.end_io = stress_end_io;
			x->r.priv = x;
			submitted++;
			if (blk_submit(st->d, &x->r) != 0) {
				__atomic_fetch_add(&st->errors, 1, __ATOMIC_RELAXED);
				continue;
			}
			x->busy = true;
			inflight++;
			progress = true;
		}
		if (!progress)
			wait_event(&wq, any_finished(s));
	}
	for (int i = 0; s && i < STRESS_DEPTH; i++) {
		if (s[i].pg[0])
			page_put(s[i].pg[0]);
		if (s[i].pg[1])
			page_put(s[i].pg[1]);
	}
	kfree(s);
}

static int cmd_stress(struct repl_out *o, struct blk_disk *d, int argc, char **argv)
{
	struct stress st = { .d = d };
	if (argc < 6 || repl_parse_u64(argv[3], &st.first) || repl_parse_u64(argv[4], &st.count) ||
	    repl_parse_u64(argv[5], &st.reqs) || st.count == 0 || st.reqs > 1000000)
		return repl_error(o, -EINVAL, "usage: blk stress DISK FIRST COUNT REQS");
	if (d->sector_size != BLK_SECTOR || st.first > d->nsectors ||
	    st.count > d->nsectors - st.first)
		return repl_error(o, -EINVAL, "range outside %s (or blocks over 512 bytes)", d->name);
	struct thread *t[MAX_CPUS];
	u64 t0 = arch_clock_ns();
	for (unsigned c = 0; c < ncpus; c++)
		t[c] = thread_create("blk_stress", stress_main, &st, (int)c, THREAD_PINNED);
	for (unsigned c = 0; c < ncpus; c++)
		if (t[c])
			thread_join(t[c]);
	repl_obj_begin(o, "stress");
	repl_kv_str(o, "disk", d->name);
	repl_kv_u64(o, "threads", ncpus);
	repl_kv_u64(o, "requests", st.done);
	repl_kv_u64(o, "errors", st.errors);
	repl_kv_u64(o, "bad_sectors", st.bad_sectors);
	repl_kv_u64(o, "ms", (arch_clock_ns() - t0) / 1000000);
	repl_obj_end(o);
	return 0;
}

/* ---- tables ---- */

static void u64s(char (*b)[24], const char **cells, const u64 *v, int n)
{
	for (int k = 0; k < n; k++) {
		ksnprintf(b[k], 24, "%llu", (unsigned long long)v[k]);
		cells[k] = b[k];
	}
}

static int cmd_show(struct repl_out *o)
{
	repl_table_begin(o, "disks", "name::5 driver::10 sectors:n:12 sector_size:n:11 "
			 "max_sectors:n:11 queues:n:6 resets:n:6 features::40");
	for (int i = 0; i < blk_count(); i++) {
		struct blk_disk *d = blk_get(i);
		char b[5][24];
		const char *cells[8] = { d->name, d->driver };
		u64 v[5] = { d->nsectors, d->sector_size, d->max_sectors, d->nqueues, d->resets };
		u64s(b, cells + 2, v, 5);
		cells[7] = d->feature_names;
		repl_row(o, cells);
	}
	repl_table_end(o);
	repl_table_begin(o, "queues", "disk::5 queue:n:5 requests:n:9 reads:n:8 writes:n:8 "
			 "flushes:n:7 discards:n:8 zeroes:n:6 sectors_read:n:12 "
			 "sectors_written:n:15 errors:n:6 timeouts:n:8 inflight:n:8 merges:n:6 "
			 "slot_waits:n:10 irqs:n:8 kicks:n:8");
	for (int i = 0; i < blk_count(); i++) {
		struct blk_disk *d = blk_get(i);
		for (unsigned q = 0; q < d->nqueues; q++) {
			struct blk_queue_stats st;
			d->ops->stats(d, q, &st);
			u64 v[16] = { q, st.requests, st.reads, st.writes, st.flushes, st.discards,
				      st.write_zeroes, st.sectors_read, st.sectors_written, st.errors,
				      st.timeouts, st.inflight, st.merges, st.slot_waits, st.irqs,
				      st.kicks };
			char b[16][24];
			const char *cells[17] = { d->name };
			u64s(b, cells + 1, v, 16);
			repl_row(o, cells);
		}
	}
	repl_table_end(o);
	return 0;
}

static int cmd_latency(struct repl_out *o)
{
	struct hist *h = kmalloc(sizeof(*h), 0);
	if (!h)
		return repl_error(o, -ENOMEM, "no memory");
	repl_table_begin(o, "latency", "disk::5 queue:n:5 dir::5 count:n:8 mean_us:n:8 "
			 "p50_us:n:8 p99_us:n:8 p999_us:n:8 max_us:n:8");
	for (int i = 0; i < blk_count(); i++) {
		struct blk_disk *d = blk_get(i);
		for (unsigned q = 0; q < d->nqueues; q++) {
			for (int w = 0; w < 2; w++) {
				hist_clear(h);
				d->ops->latency(d, q, w, h);
				u64 v[7] = { q, h->count, h->count ? h->sum / h->count / 1000 : 0,
					     hist_percentile(h, 500000) / 1000,
					     hist_percentile(h, 990000) / 1000,
					     hist_percentile(h, 999000) / 1000,
					     hist_percentile(h, HIST_PPM) / 1000 };
				char b[7][24];
				const char *cells[9] = { d->name };
				u64s(b, cells + 1, v, 1);
				cells[2] = w ? "write" : "read";
				u64s(b + 1, cells + 3, v + 1, 6);
				repl_row(o, cells);
			}
		}
	}
	repl_table_end(o);
	kfree(h);
	return 0;
}

static int cmd_inject(struct repl_out *o, int argc, char **argv)
{
	if (argc < 4)
		return repl_error(o, -EINVAL, "usage: blk inject hang|drop-irq DISK");
	struct blk_disk *d = blk_find(argv[3]);
	if (!d)
		return repl_error(o, -ENODEV, "no disk named %s", argv[3]);
	int err = d->ops->inject ? d->ops->inject(d, argv[2]) : -ENOTSUP;
	if (err)
		return repl_error(o, err, "%s: %s", argv[2],
				  err == -ENOTSUP ? "unknown fault" : "injection failed");
	printk(LOG_INFO, "%s: injected %s", d->name, argv[2]);
	repl_obj_begin(o, "inject");
	repl_kv_str(o, "disk", d->name);
	repl_kv_str(o, "fault", argv[2]);
	repl_obj_end(o);
	return 0;
}

REPL_CMD("blk", cmd_blk, "[latency|read|write|flush|discard|zeroes|stress|inject ...]",
	 "disks (capacity, features, queues) and per-queue counters; latency: per-queue "
	 "histograms; read DISK SECTOR COUNT (prints an FNV-1a hash), write DISK SECTOR COUNT "
	 "SEED [fua], flush DISK, discard|zeroes DISK SECTOR COUNT, stress DISK FIRST COUNT REQS, "
	 "inject hang|drop-irq DISK (tests)");
static int cmd_blk(struct repl_out *o, int argc, char **argv)
{
	if (argc == 1)
		return cmd_show(o);
	const char *sub = argv[1];
	if (strcmp(sub, "latency") == 0)
		return cmd_latency(o);
	if (strcmp(sub, "inject") == 0)
		return cmd_inject(o, argc, argv);
	if (argc < 3)
		return repl_error(o, -EINVAL, "usage: blk %s DISK ...", sub);
	struct blk_disk *d = blk_find(argv[2]);
	if (!d)
		return repl_error(o, -ENODEV, "no disk named %s", argv[2]);
	if (sched_frozen())
		return repl_error(o, -EBUSY, "the machine is frozen: thaw first (I/O needs the "
				  "disk's completion threads)");
	if (strcmp(sub, "read") == 0 || strcmp(sub, "write") == 0)
		return cmd_rw(o, d, sub[0] == 'w', argc, argv);
	if (!strcmp(sub, "flush") || !strcmp(sub, "discard") || !strcmp(sub, "zeroes"))
		return cmd_range(o, d, sub, argc, argv);
	if (strcmp(sub, "stress") == 0)
		return cmd_stress(o, d, argc, argv);
	return repl_error(o, -EINVAL, "unknown subcommand %s", sub);
}
