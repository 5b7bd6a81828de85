/*
 * ext2/ext3 behind the VFS: a disk of the block layer with an ext2 or ext3
 * file system is mounted at boot at /mnt/<disk>, or as / when the command
 * line says root=/dev/<disk> (ext2_boot, vfs_mount_root), read-write
 * unless the disk is read-only or the image has a feature the writer does
 * not keep (the mount's log line and `mount` say why). An ext3 image that
 * needs recovery is replayed first (ext2_replay); it is then written
 * through its journal (fs/ext2/jbd2.h): each VFS call below is one
 * operation, ended by ext2_op_end; fsync and sync(2) commit
 * (ext2_sync), and a thread per journaled mount commits a transaction
 * older than JBD2_COMMIT_AGE seconds even when no operation comes.
 *
 * Objects:
 *   struct e2_mount  one mounted disk: the on-disk reader's state (ext2.h),
 *                    a small block cache and the inodes met so far.
 *   struct e2_node   a VFS inode of it (the inode first), with the checked
 *                    on-disk inode. Nodes are made on first lookup. A
 *                    mount keeps at most ext2.nodes_max (8192) of them:
 *                    past it CPU 0's flusher evicts unused ones (shrink:
 *                    no reference, links kept, no dirty page, not a
 *                    directory, whose children name it as their parent);
 *                    the directory cache's entries naming them go first,
 *                    their memory after a grace period, as a destroyed
 *                    node's. Directories stay for as long as the kernel
 *                    runs (about 300 bytes each).
 *
 * The block cache: E2_CACHE_PAGES pages of the disk (4 KiB-aligned), least
 * recently used evicted, filled by blk_read straight into the page: the
 * metadata (inodes, bitmaps, indirect blocks, directories) is read through
 * it.
 *
 * File data goes through the page cache (fs/pagecache.h) instead: a read
 * that misses reads the file's blocks straight into fresh pages
 * (scatter/gather, one request per run of adjacent blocks, all of a
 * window submitted together), up to E2_RA_PAGES pages ahead when the
 * reads of the file go forward, and caches them. Going forward, the next
 * window is read asynchronously (struct e2_ra) while the reader copies
 * this one, and enters the cache when the reader gets to it; a write or
 * truncate lets a window in flight go. A read copies out of the cached
 * page (one copy), and
 * sendfile and the HTTP responder lend it to the packets (page_ref: no
 * copy). File data never sits in the block cache or the journal, and a
 * page not on the disk yet is dirty, which the cache never evicts, so the
 * disk is what a fill must read.
 *
 * Metadata writes: write-through. Every change the on-disk code makes
 * (ext3: a transaction's home writes) goes into the block cache's page and
 * out to the disk with blk_write at once (the sectors it touched);
 * e2_disk_write_data writes whole sectors straight from the caller's
 * buffer (a run of adjacent blocks in one request, the block cache's
 * copies updated, no read first); fsync adds a cache flush of the device
 * (blk_flush).
 *
 * File data: write-back. A write maps the blocks it needs
 * (ext2_write_alloc: an operation like any other) and copies the bytes
 * into the file's cached pages (pcache_write_page: in place, or into a
 * copy when the page is lent), which become dirty; the node goes on its
 * mount's dirty list of the CPU it was written on. The pages go to the
 * disk straight from the cache (write_pages: a request per run of
 * adjacent blocks, all submitted together):
 *   - by that CPU's flusher (e2_flusher), once the file has been dirty
 *     E2_DIRTY_AGE_NS, or at once when an eighth of the cache is dirty;
 *   - before a journal commit, for every file whose new blocks or new
 *     size the transaction records (ext2_fs data_out: ordered data, so a
 *     crash never shows a file longer than its data or a block's old
 *     bytes);
 *   - on fsync (the file's) and sync (all), before the flush or commit;
 *   - by a writer that finds a quarter of the cache dirty (its file).
 * A truncate lets go of the pages past the new end (their bytes with
 * them) after writing the dirty page of the new end; removing a file
 * lets go of its pages. A write-back's error goes to the file's next
 * fsync (the pages stay as written, clean: Linux does the same); in an
 * ext3 commit it stops the journal, so no transaction maps data that did
 * not reach the disk.
 *
 * A read-only mount's VFS table says read_only, so the VFS refuses changes
 * with -EROFS before calling in; its ops return -EROFS too.
 * New inodes: the VFS makes a RAM inode as a template (vfs_open, mkdir,
 * symlink); link() of a template creates the ext2 inode of its mode (its
 * link target, its device number) and the template goes away unlinked.
 *
 * Directories get their parent and name (the VFS's ".." and getcwd) when
 * first looked up; a directory that shows up under a second parent, or
 * under itself, is corruption (-EUCLEAN), so the parent links stay a tree.
 *
 * Locks: vfs_ns_lock (held by the VFS around lookup and readdir) before
 * m->lock, which guards everything of a mount [m]: every call into the
 * reader, the block cache, the node table, the dirty lists, every write
 * and write-back of a file's pages. File reads take m->lock only on a
 * miss, and copy to the caller after dropping it.
 */
#include "fs/ext2/ext2_priv.h"
#include "fs/ext2/jbd2.h"   /* its counters only */
#include "fs/blk/blk.h"
#include "fs/pagecache.h"
#include "fs/vfs_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/param.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

#define E2_CACHE_PAGES 128       /* 512 KiB of the disk per mount */
#define E2_HASH 256
#define E2_READ_CHUNK (64u << 10) /* a file write's bounce buffer */
#define E2_RA_PAGES 32           /* read-ahead: pages a forward read's miss fills */
#define E2_SECTORS_PER_PAGE (PAGE_SIZE / BLK_SECTOR)
/* a window's pieces: a block is 1 KiB at least */
#define E2_PLAN_SEGS (E2_RA_PAGES * (PAGE_SIZE / 1024))
#define E2_WRITE_PAGES (E2_READ_CHUNK / PAGE_SIZE + 1)   /* a chunk's pages */
#define E2_WB_BATCH 32           /* dirty pages taken at a time */
#define E2_DIRTY_AGE_NS 2000000000ull   /* a flusher writes a file dirty this long */
#define E2_FLUSH_TICK_NS 500000000ull   /* how often the flushers look */
#define E2_NODES_MAX 8192        /* nodes a mount keeps (ext2.nodes_max=) */

/* The reads that fill a window of a file's pages: runs of adjacent blocks,
 * each one request over the pages' pieces (wr[i].seg points into seg). */
struct e2_plan {
	u32 nwr, nseg;
	struct blk_wr wr[E2_PLAN_SEGS];
	struct blk_seg seg[E2_PLAN_SEGS];
};

/* A read-ahead window in flight: its pages enter the page cache when the
 * reader gets to them (ra_end), so no reader sees one half read. */
struct e2_ra {
	struct blk_many *io;         /* NULL: none in flight */
	u64 idx;                     /* its first page */
	u32 np;
	struct page *pg[E2_RA_PAGES];
};

struct e2_cached {
	u64 index;                   /* disk offset / PAGE_SIZE, or ~0 when empty */
	u64 used;                    /* the tick of its last use */
	struct page *page;
};

struct e2_mount {
	struct mutex lock;
	struct ext2_fs fs;           /* [m] */
	struct blk_disk *disk;
	u32 dev;                     /* st_dev of its files */
	struct e2_cached cache[E2_CACHE_PAGES];   /* [m] */
	u64 tick, hits, misses;      /* [m] */
	u64 writes;                  /* [m] blk_writes of write-through */
	u64 commit_errors;           /* [m] commits that failed (the journal aborted) */
	bool rw;                     /* writes enabled (an ext2 without journal) */
	struct e2_node *nodes[E2_HASH];           /* [m] */
	u64 nnodes;                  /* [m] */
	u32 hand;                    /* [m] the bucket eviction looks at next */
	struct ext2_dirent de;       /* [m] readdir's (too big for a kernel stack) */
	struct e2_plan plan;         /* [m] a fill's reads, a write-back's writes (the same) */
	struct pcache_dirty wb[E2_WB_BATCH];   /* [m] the pages a write-back took */
	/* [m] nodes with dirty pages, by the CPU that first dirtied them:
	 * that CPU's flusher writes them (struct e2_node dirty_link) */
	struct list_node dirty[MAX_CPUS];
};

/* Read-ahead windows read while the reader copied the one before, used
 * by a reader, let go unread (a write, a truncate, an error). */
static u64 ra_async, ra_used, ra_dropped;
KCOUNTER_VAR("ext2.readahead_async", "windows", ra_async);
KCOUNTER_VAR("ext2.readahead_used", "windows", ra_used);
KCOUNTER_VAR("ext2.readahead_dropped", "windows", ra_dropped);

struct e2_node {
	struct inode inode;          /* first: the VFS's inode is the node */
	struct ext2_inode di;        /* as read and checked */
	struct e2_mount *m;
	struct e2_node *next;        /* [m] in its hash chain */
	char *link;                  /* [m] a symbolic link's target, once read */
	struct pcache_map pc;        /* its cached data pages (fills and writes: [m]) */
	u64 ra_next;                 /* the page after the last one read (read-ahead) */
	struct e2_ra *ra;            /* [m] its window in flight, once it had one */
	/* write-back: on m->dirty[cpu] while dirtied != 0 (ns, the first
	 * write since it was clean) */
	struct list_node dirty_link; /* [m] */
	u64 dirtied;                 /* [m] */
	bool ordered;                /* [m] it wrote into blocks it allocated: before a commit */
	int wb_err;                  /* [m] a write-back's error, for the next fsync */
	/* [atomic; its fall to 0 under m] writable shared mappings of the
	 * file: while there are any, every write-back of it writes its mapped
	 * pages too (their stores are not seen one by one), and it stays on
	 * its dirty list */
	int wmaps;
};

static struct e2_node *node_of(struct inode *i) { return (struct e2_node *)i; }

/* ---- the block cache ---- */

/* The cached page of disk page index idx ([m] held). */
static int cache_page(struct e2_mount *m, u64 idx, struct page **out)
{
	struct e2_cached *victim = &m->cache[0];
	for (int i = 0; i < E2_CACHE_PAGES; i++) {
		struct e2_cached *c = &m->cache[i];
		if (c->index == idx) {
			c->used = ++m->tick;
			m->hits++;
			*out = c->page;
			return 0;
		}
		if (c->used < victim->used)
			victim = c;
	}
	m->misses++;
	struct blk_disk *d = m->disk;
	u64 first = idx * E2_SECTORS_PER_PAGE;
	u32 n = (u32)MIN((u64)E2_SECTORS_PER_PAGE, d->nsectors - first);
	u32 ss = d->sector_size / BLK_SECTOR;   /* I/O in whole logical blocks */
	n = n / ss * ss;
	victim->index = ~0ULL;
	if (n == 0)
		return -EIO;
	struct blk_seg seg = { victim->page, 0, n * BLK_SECTOR };
	int r = blk_read(d, first, &seg, 1);
	if (r < 0)
		return r;
	if (n < E2_SECTORS_PER_PAGE)
		memset((u8 *)page_address(victim->page) + n * BLK_SECTOR, 0,
		       PAGE_SIZE - n * BLK_SECTOR);
	victim->index = idx;
	victim->used = ++m->tick;
	*out = victim->page;
	return 0;
}

static int e2_disk_flush(void *ctx)
{
	struct e2_mount *m = ctx;
	return blk_flush(m->disk);
}

/* ext2_write_fn over the cache: into the cached page, then the sectors
 * touched out to the disk ([m] held). */
static int e2_disk_write(void *ctx, u64 off, const void *buf, size_t len)
{
	struct e2_mount *m = ctx;
	struct blk_disk *d = m->disk;
	const u8 *in = buf;
	u32 ss = d->sector_size;
	while (len) {
		struct page *pg;
		int r = cache_page(m, off / PAGE_SIZE, &pg);
		if (r < 0)
			return r;
		size_t at = off % PAGE_SIZE, k = MIN(len, PAGE_SIZE - at);
		memcpy((u8 *)page_address(pg) + at, in, k);
		u32 first = (u32)(at / ss * ss), end = (u32)((at + k + ss - 1) / ss * ss);
		struct blk_seg seg = { pg, first, end - first };
		r = blk_write(d, off / PAGE_SIZE * E2_SECTORS_PER_PAGE + first / BLK_SECTOR, &seg, 1, 0);
		if (r < 0)
			return r;
		m->writes++;
		in += k;
		off += k;
		len -= k;
	}
	return 0;
}

/* The block cache's copies of [off, off + len) get the bytes written. */
static void cache_update(struct e2_mount *m, u64 off, const void *buf, size_t len)
{
	for (int i = 0; i < E2_CACHE_PAGES; i++) {
		struct e2_cached *c = &m->cache[i];
		u64 lo = c->index * PAGE_SIZE, hi = lo + PAGE_SIZE;
		if (c->index == ~0ULL || hi <= off || lo >= off + len)
			continue;
		u64 a = MAX(lo, off), b = MIN(hi, off + len);
		memcpy((u8 *)page_address(c->page) + (a - lo), (const u8 *)buf + (a - off), b - a);
	}
}

/* Segments for up to len bytes of the buffer at in (as many as one
 * request of the disk takes): *n of them, the bytes they cover. */
static size_t segs_of(const struct blk_disk *d, const u8 *in, size_t len, struct blk_seg *segs,
		      unsigned *n)
{
	u32 seg_max = MIN(d->max_seg_len ? d->max_seg_len : PAGE_SIZE, (u32)PAGE_SIZE);
	size_t bytes = 0;
	*n = 0;
	while (bytes < len && *n < d->max_segs && *n < BLK_MAX_SEGS) {
		const u8 *p = in + bytes;
		size_t at = (uptr)p % PAGE_SIZE;
		size_t k = MIN(MIN(len - bytes, (size_t)(PAGE_SIZE - at)), (size_t)seg_max);
		segs[(*n)++] = (struct blk_seg){ virt_to_page(p), (u32)at, (u32)k };
		bytes += k;
	}
	return bytes;
}

/* File data (ext2_data_write): sector-aligned writes go to the disk
 * straight from the caller's buffer, as many of its pages in one request
 * as the disk takes (no block-cache page read first, no copy; counted in
 * blk's counters); cached pages of the range get the bytes too, so the
 * block cache never disagrees with the disk. Anything else: e2_disk_write. */
static int e2_disk_write_data(void *ctx, u64 off, const void *buf, size_t len)
{
	struct e2_mount *m = ctx;
	struct blk_disk *d = m->disk;
	u32 ss = d->sector_size;
	if (!len || off % ss || len % ss)
		return e2_disk_write(ctx, off, buf, len);
	cache_update(m, off, buf, len);
	const u8 *in = buf;
	size_t most = (size_t)MAX(d->max_sectors, ss / BLK_SECTOR) * BLK_SECTOR;
	while (len) {
		struct blk_seg segs[BLK_MAX_SEGS];
		unsigned n;
		size_t bytes = segs_of(d, in, MIN(len, most), segs, &n);
		/* a request of whole sectors: the tail that is not waits */
		while (bytes % ss) {
			size_t cut = MIN(bytes % ss, (size_t)segs[n - 1].len);
			segs[n - 1].len -= (u32)cut;
			bytes -= cut;
			if (!segs[n - 1].len)
				n--;
		}
		if (!bytes)   /* the disk takes too few segments for a sector */
			return e2_disk_write(ctx, off, in, len);
		int r = blk_write(d, off / BLK_SECTOR, segs, n, 0);
		if (r < 0)
			return r;
		m->writes++;
		in += bytes;
		off += bytes;
		len -= bytes;
	}
	return 0;
}

/* The journal's home writes (whole blocks): one request each, all
 * submitted before any is waited for; any that one request cannot take
 * (unaligned, too big) makes them go one by one. */
static int e2_disk_write_many(void *ctx, const struct ext2_wvec *v, unsigned n)
{
	struct e2_mount *m = ctx;
	struct blk_disk *d = m->disk;
	u32 ss = d->sector_size;
	struct blk_wr *w = kmalloc(n * sizeof(*w), 0);
	struct blk_seg *segs = kmalloc((size_t)n * BLK_MAX_SEGS * sizeof(*segs), 0);
	bool ok = w && segs;
	for (unsigned i = 0; ok && i < n; i++) {
		unsigned ns;
		ok = v[i].len && !(v[i].off % ss) && !(v[i].len % ss) &&
		     v[i].len <= (size_t)d->max_sectors * BLK_SECTOR &&
		     segs_of(d, v[i].buf, v[i].len, segs + (size_t)i * BLK_MAX_SEGS, &ns) == v[i].len;
		if (ok)
			w[i] = (struct blk_wr){ v[i].off / BLK_SECTOR, segs + (size_t)i * BLK_MAX_SEGS,
						ns };
	}
	int r = 0;
	if (ok) {
		for (unsigned i = 0; i < n; i++)
			cache_update(m, v[i].off, v[i].buf, v[i].len);
		r = blk_write_many(d, w, n);
		m->writes += n;
	} else {
		for (unsigned i = 0; r == 0 && i < n; i++)
			r = e2_disk_write_data(ctx, v[i].off, v[i].buf, v[i].len);
	}
	kfree(w);
	kfree(segs);
	return r;
}

static s64 e2_now(void) { return (s64)(arch_realtime_ns() / 1000000000ull); }

/* ext2_read_fn over the cache ([m] held by every caller of the reader). */
static int e2_disk_read(void *ctx, u64 off, void *buf, size_t len)
{
	struct e2_mount *m = ctx;
	u8 *out = buf;
	while (len) {
		struct page *pg;
		int r = cache_page(m, off / PAGE_SIZE, &pg);
		if (r < 0)
			return r;
		size_t in = off % PAGE_SIZE, k = MIN(len, PAGE_SIZE - in);
		memcpy(out, (u8 *)page_address(pg) + in, k);
		out += k;
		off += k;
		len -= k;
	}
	return 0;
}

/* ---- nodes ---- */

static const struct inode_ops e2_iops, e2_iops_rw;

/* After one operation ([m] held): the journal commits when due; its
 * error (a commit failed: the journal aborted) goes to *r if that was 0. */
static void op_end(struct e2_mount *m, int *r)
{
	int e = ext2_op_end(&m->fs);
	if (e < 0) {
		m->commit_errors++;
		if (*r == 0)
			*r = e;
	}
}
static const struct file_ops e2_file_fops;
static int e2_sync(struct inode *root);
static int e2_fsync_inode(struct inode *ino);
static int ra_end(struct e2_node *n, bool keep);
static int writeback_node(struct e2_node *n);
static int mapped_grow(struct e2_node *n, u64 old);

static u64 to_ns(s64 sec, u32 ns)
{
	return sec < 0 ? 0 : (u64)sec * 1000000000ull + ns;   /* before 1970: shown as 1970 */
}

/* The node of inode ino, made on first use ([m] held). */
static int e2_iget(struct e2_mount *m, u32 ino, struct e2_node **out)
{
	struct e2_node **head = &m->nodes[ino % E2_HASH];
	for (struct e2_node *n = *head; n; n = n->next) {
		if (n->di.ino == ino) {
			*out = n;
			return 0;
		}
	}
	struct ext2_inode di;
	int r = ext2_iget(&m->fs, ino, &di);
	if (r < 0)
		return r;
	struct e2_node *n = kzalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->di = di;
	n->m = m;
	pcache_map_init(&n->pc);
	struct inode *i = &n->inode;
	i->ino = ino;
	i->mode = di.mode;
	i->nlink = di.links;   /* never 0: ext2_iget refuses free inodes */
	i->rdev = di.rdev;
	i->size = di.size;
	i->uid = di.uid;
	i->gid = di.gid;
	i->dev = m->dev;
	i->blocks = di.blocks;
	i->mtime_ns = to_ns(di.mtime, di.mtime_ns);
	i->ctime_ns = to_ns(di.ctime, di.ctime_ns);
	i->atime_ns = to_ns(di.atime, di.atime_ns);
	i->iops = m->rw ? &e2_iops_rw : &e2_iops;
	i->fops = S_ISREG(di.mode) ? &e2_file_fops : S_ISDIR(di.mode) ? &vfs_dir_fops : NULL;
	mutex_init(&i->lock, "inode");
	n->next = *head;
	*head = n;
	m->nnodes++;
	vfs_inode_born();
	*out = n;
	return 0;
}

/* The node cache: a mount keeps at most nodes_max nodes; CPU 0's flusher
 * lets go of unused ones (no reference, links kept, not a directory, no
 * dirty page) past it, a clock over the hash's buckets choosing them. */
static u64 nodes_max = E2_NODES_MAX, nodes_evicted;
static int set_nodes_max(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, false, &n) < 0 || n < 16)
		return -EINVAL;
	nodes_max = n;
	return 0;
}
KPARAM("ext2.nodes_max", set_nodes_max, "inodes an ext2/ext3 mount keeps in memory at most "
       "(at least 16; default 8192): unused ones past it are evicted, their cached pages too");
KCOUNTER_VAR("ext2.nodes_evicted", "inodes", nodes_evicted);

static void e2_free_rcu(struct rcu_head *h);

/* Evict unused nodes until m keeps at most keep, or a whole turn of the
 * clock found no more ([ns] and [m] held: no VFS call is half way through
 * with a node it holds no reference to). */
static void shrink(struct e2_mount *m, u64 keep)
{
	struct e2_node *victims = NULL;
	for (u32 looked = 0; m->nnodes > keep && looked < E2_HASH; looked++) {
		struct e2_node **pp = &m->nodes[m->hand++ % E2_HASH];
		while (*pp && m->nnodes > keep) {
			struct e2_node *n = *pp;
			if (n->dirtied || (n->ra && n->ra->io) || !vfs_evict_begin(&n->inode)) {
				pp = &n->next;
				continue;
			}
			*pp = n->next;   /* a lookup from now on reads the inode again */
			n->next = victims;
			victims = n;
			m->nnodes--;
		}
	}
	if (!victims)
		return;
	vfs_evict_end();   /* no directory cache entry names them now */
	while (victims) {
		struct e2_node *n = victims;
		victims = n->next;
		kfree(n->ra);
		n->ra = NULL;
		pcache_drop(&n->pc, 0);   /* clean: nothing is lost */
		vfs_inode_died();
		nodes_evicted++;
		call_rcu(&n->inode.rcu, e2_free_rcu);   /* lock-free walks may still read it */
	}
}

static int e2_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	struct e2_node *d = node_of(dir);
	struct e2_mount *m = d->m;
	mutex_lock(&m->lock);
	u32 ino;
	struct e2_node *c = NULL;
	int r = ext2_lookup(&m->fs, &d->di, name, len, &ino);
	if (r == 0)
		r = e2_iget(m, ino, &c);
	if (r == 0 && S_ISDIR(c->inode.mode)) {
		if (c == d || (c->inode.parent && c->inode.parent != dir)) {
			r = ext2_complain(&m->fs, -EUCLEAN, "directory %u holds directory %u, which "
					  "is already in directory %llu", d->di.ino, ino,
					  c->inode.parent ? (unsigned long long)c->inode.parent->ino
							  : (unsigned long long)ino);
		} else if (!c->inode.parent) {
			char *nm = kmalloc(len + 1, 0);
			if (!nm) {
				r = -ENOMEM;
			} else {
				memcpy(nm, name, len);
				nm[len] = '\0';
				c->inode.name = nm;
				c->inode.parent = dir;
			}
		}
	}
	mutex_unlock(&m->lock);
	if (r == 0)
		*out = &c->inode;
	return r;
}

static int e2_readdir(struct inode *dir, u64 *pos, vfs_filldir_t fill, void *arg)
{
	struct e2_node *d = node_of(dir);
	struct e2_mount *m = d->m;
	if (!vfs_fill_dots(dir, pos, fill, arg))
		return 0;
	/* then the disk's entries but "." and "..": *pos is 2 + their byte offset */
	struct ext2_dirent *de = &m->de;
	int r = 0;
	mutex_lock(&m->lock);
	for (;;) {
		u64 off = *pos - 2;
		r = ext2_dir_next(&m->fs, &d->di, &off, de);
		if (r <= 0)
			break;
		if ((de->name_len == 1 && de->name[0] == '.') ||
		    (de->name_len == 2 && de->name[0] == '.' && de->name[1] == '.')) {
			*pos = off + 2;
			continue;
		}
		u32 mode = de->type;
		if (!mode) {   /* no filetype feature: the inode says */
			struct e2_node *c;
			r = e2_iget(m, de->ino, &c);
			if (r < 0)
				break;
			mode = c->inode.mode;
		}
		if (!fill(arg, de->name, de->name_len, de->ino, mode))
			break;
		*pos = off + 2;
	}
	mutex_unlock(&m->lock);
	return r < 0 ? r : 0;
}

static const char *e2_get_link(struct inode *ino)
{
	struct e2_node *n = node_of(ino);
	struct e2_mount *m = n->m;
	mutex_lock(&m->lock);
	if (!n->link) {
		char *t = kmalloc((size_t)n->di.size + 1, 0);
		if (t && ext2_readlink(&m->fs, &n->di, t, (size_t)n->di.size + 1) < 0) {
			kfree(t);
			t = NULL;
		}
		__atomic_store_n(&n->link, t, __ATOMIC_RELEASE);
	}
	mutex_unlock(&m->lock);
	return n->link;
}

/* The target once get_link has read it (the lock-free walk): published
 * with a release store, freed only after a grace period. */
static const char *e2_get_link_rcu(struct inode *ino)
{
	return __atomic_load_n(&node_of(ino)->link, __ATOMIC_ACQUIRE);
}

/* The VFS inode's copy of what the on-disk inode says. */
static void sync_node(struct e2_node *n)
{
	struct inode *i = &n->inode;
	i->nlink = n->di.links;
	i->size = n->di.size;
	i->blocks = n->di.blocks;
	i->mode = n->di.mode;
	i->mtime_ns = to_ns(n->di.mtime, n->di.mtime_ns);
	i->ctime_ns = to_ns(n->di.ctime, n->di.ctime_ns);
	i->atime_ns = to_ns(n->di.atime, n->di.atime_ns);
}

static bool ours(struct inode *i) { return i->iops == &e2_iops_rw || i->iops == &e2_iops; }

static int set_parent(struct inode *c, struct inode *dir, const char *name, size_t len)
{
	char *nm = kmalloc(len + 1, 0);
	if (!nm)
		return -ENOMEM;
	memcpy(nm, name, len);
	nm[len] = '\0';
	kfree(c->name);
	c->name = nm;
	c->parent = dir;
	return 0;
}

static int e2_link(struct inode *dir, const char *name, size_t len, struct inode *child)
{
	struct e2_node *d = node_of(dir);
	struct e2_mount *m = d->m;
	if (!m->rw)
		return -EROFS;
	mutex_lock(&m->lock);
	int r;
	if (ours(child)) {
		struct e2_node *c = node_of(child);
		r = c->m != m ? -EXDEV : ext2_link(&m->fs, &d->di, name, len, &c->di);
		if (r == 0)
			sync_node(c);
	} else {
		/* a template the VFS made: an ext2 inode like it */
		const char *target = S_ISLNK(child->mode) && child->iops->get_link ?
					     child->iops->get_link(child) : NULL;
		struct ext2_inode di;
		r = ext2_create(&m->fs, &d->di, name, len, child->mode, child->rdev, target, &di);
		/* the owner the VFS gave the template (root's: as made) */
		if (r == 0 && (child->uid || child->gid))
			r = ext2_chown(&m->fs, &di, child->uid, child->gid, di.mode);
		struct e2_node *c = NULL;
		if (r == 0)
			r = e2_iget(m, di.ino, &c);
		if (r == 0 && S_ISDIR(c->inode.mode))
			r = set_parent(&c->inode, dir, name, len);
	}
	sync_node(d);
	op_end(m, &r);
	mutex_unlock(&m->lock);
	return r;
}

static int e2_unlink(struct inode *dir, const char *name, size_t len)
{
	struct e2_node *d = node_of(dir);
	struct e2_mount *m = d->m;
	if (!m->rw)
		return -EROFS;
	mutex_lock(&m->lock);
	u32 ino;
	struct e2_node *c = NULL;
	int r = ext2_lookup(&m->fs, &d->di, name, len, &ino);
	if (r == 0)
		r = e2_iget(m, ino, &c);
	if (r == 0)
		r = ext2_unlink(&m->fs, &d->di, name, len, &c->di);
	if (r == 0) {
		sync_node(c);
		if (S_ISDIR(c->inode.mode)) {
			kfree(c->inode.name);
			c->inode.name = NULL;
			c->inode.parent = NULL;
		}
	}
	sync_node(d);
	op_end(m, &r);
	mutex_unlock(&m->lock);
	if (r == 0)
		vfs_maybe_destroy(&c->inode);   /* [ns] held by the VFS */
	return r;
}

static int e2_rename(struct inode *odir, const char *oname, size_t olen,
		     struct inode *ndir, const char *nname, size_t nlen)
{
	struct e2_node *od = node_of(odir), *nd = node_of(ndir);
	struct e2_mount *m = od->m;
	if (nd->m != m)
		return -EXDEV;   /* another ext2 disk */
	if (!m->rw)
		return -EROFS;
	mutex_lock(&m->lock);
	u32 ino;
	struct e2_node *src = NULL, *dst = NULL;
	int r = ext2_lookup(&m->fs, &od->di, oname, olen, &ino);
	if (r == 0)
		r = e2_iget(m, ino, &src);
	if (r == 0) {
		r = ext2_lookup(&m->fs, &nd->di, nname, nlen, &ino);
		if (r == 0)
			r = e2_iget(m, ino, &dst);
		else if (r == -ENOENT)
			r = 0;
	}
	if (r == 0)
		r = ext2_rename(&m->fs, &od->di, oname, olen, &src->di, &nd->di, nname, nlen,
				dst ? &dst->di : NULL);
	if (r == 0 && S_ISDIR(src->inode.mode))
		r = set_parent(&src->inode, ndir, nname, nlen);   /* (renamed on disk already) */
	if (src)
		sync_node(src);
	if (dst) {
		sync_node(dst);
		if (S_ISDIR(dst->inode.mode) && !dst->inode.nlink) {
			kfree(dst->inode.name);
			dst->inode.name = NULL;
			dst->inode.parent = NULL;
		}
	}
	sync_node(od);
	sync_node(nd);
	op_end(m, &r);
	mutex_unlock(&m->lock);
	if (r == 0 && dst)
		vfs_maybe_destroy(&dst->inode);
	return r;
}

/* Never called: the VFS makes new inodes on its RAM root (templates). */
static struct inode *e2_alloc(struct inode *dir, u32 mode, u32 rdev)
{
	(void)dir, (void)mode, (void)rdev;
	return NULL;
}

static int e2_truncate(struct inode *ino, u64 size)
{
	struct e2_node *n = node_of(ino);
	struct e2_mount *m = n->m;
	if (!m->rw)
		return -EROFS;
	mutex_lock(&m->lock);
	(void)ra_end(n, false);   /* its pages would be read from before the change */
	/* the pages past the new end go with their bytes; the page of the
	 * new end, dirty, goes to the disk first (it is let go below: its
	 * tail must read as zeros) */
	pcache_drop(&n->pc, (size + PAGE_SIZE - 1) / PAGE_SIZE);
	int r = 0;
	u64 old = n->di.size;
	if (n->dirtied && size < n->di.size)
		r = writeback_node(n);
	if (r == 0)
		r = ext2_truncate(&m->fs, &n->di, size);
	if (r == 0 && size > old)
		r = mapped_grow(n, old);
	sync_node(n);
	op_end(m, &r);
	pcache_drop(&n->pc, size / PAGE_SIZE);   /* the page of the new end too: its tail */
	mutex_unlock(&m->lock);
	return r;
}

/* chmod/utimes: what the mask does not give stays (ext2 keeps whole
 * seconds in 128-byte inodes; ext2_setattr writes the inode at once) */
static int e2_setattr(struct inode *ino, unsigned mask, u32 mode, u64 atime_ns, u64 mtime_ns)
{
	struct e2_node *n = node_of(ino);
	struct e2_mount *m = n->m;
	if (!m->rw)
		return -EROFS;
	mutex_lock(&m->lock);
	int r = ext2_setattr(&m->fs, &n->di, (mask & VFS_SET_MODE) ? mode : n->di.mode,
			     (mask & VFS_SET_ATIME) ? (s64)(atime_ns / 1000000000ull) : n->di.atime,
			     (mask & VFS_SET_MTIME) ? (s64)(mtime_ns / 1000000000ull) : n->di.mtime);
	sync_node(n);
	op_end(m, &r);
	mutex_unlock(&m->lock);
	return r;
}

static int e2_chown(struct inode *ino, u32 uid, u32 gid, u32 mode)
{
	struct e2_node *n = node_of(ino);
	struct e2_mount *m = n->m;
	if (!m->rw)
		return -EROFS;
	mutex_lock(&m->lock);
	int r = ext2_chown(&m->fs, &n->di, uid, gid, mode);
	sync_node(n);
	ino->uid = n->di.uid;
	ino->gid = n->di.gid;
	mutex_unlock(&m->lock);
	return r;
}

static void e2_free_rcu(struct rcu_head *h)
{
	struct e2_node *n = node_of(container_of(h, struct inode, rcu));
	kfree(n->link);
	kfree(n);
}

/* The last reference and the last link gone ([ns] held): the inode's
 * blocks and the inode go back to the bitmaps. */
static void e2_destroy(struct inode *ino)
{
	struct e2_node *n = node_of(ino);
	struct e2_mount *m = n->m;
	mutex_lock(&m->lock);
	(void)ra_end(n, false);
	kfree(n->ra);
	n->ra = NULL;
	pcache_drop(&n->pc, 0);   /* dirty pages too: their blocks are freed now */
	if (n->dirtied) {
		list_remove(&n->dirty_link);
		n->dirtied = 0;
	}
	int r = ext2_evict(&m->fs, &n->di);
	if (r < 0)
		pr_err("ext2 %s: freeing inode %u failed (error %d): its blocks stay used (e2fsck "
		       "reclaims them)", m->fs.name, n->di.ino, r);
	op_end(m, &r);
	struct e2_node **pp = &m->nodes[n->di.ino % E2_HASH];
	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (*pp)
		*pp = n->next;
	m->nnodes--;
	mutex_unlock(&m->lock);
	kfree(ino->name);
	ino->name = NULL;
	vfs_inode_died();
	call_rcu(&ino->rcu, e2_free_rcu);   /* lock-free walks may still read it */
}

/* statfs: the superblock's counts as the writer keeps them. Every block
 * counts in f_blocks (Linux's ext2 without minixdf subtracts the
 * metadata's); f_fsid is the uuid's halves xor'd, as Linux's. */
static int e2_statfs(struct inode *ino, struct vfs_statfs *out)
{
	struct e2_mount *m = node_of(ino)->m;
	mutex_lock(&m->lock);
	const struct ext2_fs *fs = &m->fs;
	out->magic = EXT2_MAGIC;
	out->bsize = fs->block_size;
	out->blocks = fs->blocks_count;
	out->bfree = fs->free_blocks;
	out->bavail = fs->free_blocks > fs->r_blocks ? fs->free_blocks - fs->r_blocks : 0;
	out->files = fs->inodes_count;
	out->ffree = fs->free_inodes;
	u64 lo = 0, hi = 0;
	for (int i = 7; i >= 0; i--) {
		lo = lo << 8 | fs->uuid[i];
		hi = hi << 8 | fs->uuid[8 + i];
	}
	out->fsid[0] = (u32)(lo ^ hi);
	out->fsid[1] = (u32)((lo ^ hi) >> 32);
	mutex_unlock(&m->lock);
	return 0;
}

static const struct inode_ops e2_iops_rw = {
	.dcache = true,
	.lookup = e2_lookup,
	.link = e2_link,
	.unlink = e2_unlink,
	.rename = e2_rename,
	.readdir = e2_readdir,
	.alloc = e2_alloc,
	.truncate = e2_truncate,
	.get_link = e2_get_link,
	.get_link_rcu = e2_get_link_rcu,
	.destroy = e2_destroy,
	.setattr = e2_setattr,
	.chown = e2_chown,
	.sync = e2_sync,
	.fsync = e2_fsync_inode,
	.statfs = e2_statfs,
};

static const struct inode_ops e2_iops = {
	.dcache = true,
	.lookup = e2_lookup,
	.link = e2_link,
	.unlink = e2_unlink,
	.rename = e2_rename,
	.readdir = e2_readdir,
	.alloc = e2_alloc,
	.truncate = e2_truncate,
	.get_link = e2_get_link,
	.get_link_rcu = e2_get_link_rcu,
	.destroy = e2_destroy,
	.setattr = e2_setattr,
	.chown = e2_chown,
	.statfs = e2_statfs,
	.read_only = true,
};

/* ---- files ---- */

/* Fresh pages for [idx, idx + count) of n's file into pg, stopping at the
 * end of the file and at the first page already cached (but idx): how
 * many. */
static u32 window_alloc(struct e2_node *n, u64 idx, u32 count, struct page **pg)
{
	u64 pages = (n->di.size + PAGE_SIZE - 1) / PAGE_SIZE;
	u32 np = 0;
	if (idx >= pages)
		return 0;
	count = (u32)MIN((u64)MIN(count, (u32)E2_RA_PAGES), pages - idx);
	for (; np < count; np++) {
		if (np && pcache_has(&n->pc, idx + np))
			break;
		if (!(pg[np] = page_alloc(0)))
			break;
	}
	return np;
}

/* The disk reads a file's blocks straight into its pages: its sectors are
 * no bigger than a block's piece of a page. */
static bool direct_io(const struct e2_mount *m)
{
	return m->disk->sector_size <= MIN(m->fs.block_size, (u32)PAGE_SIZE);
}

static void window_put(struct page **pg, u32 from, u32 np)
{
	for (u32 p = from; p < np; p++)
		page_put(pg[p]);
}

/* One piece of a page (unit bytes at at) for the disk's sector into pl:
 * it joins the last request when it follows it on the disk and the disk
 * takes it (*run_end, *run_bytes: that request's next sector, its size). */
static void plan_piece(struct e2_plan *pl, const struct blk_disk *d, struct page *pg, u32 at,
		       u32 unit, u64 sector, u64 *run_end, u64 *run_bytes)
{
	struct blk_wr *w = pl->nwr ? &pl->wr[pl->nwr - 1] : NULL;
	struct blk_seg *last = w ? &pl->seg[pl->nseg - 1] : NULL;
	bool follows = w && sector == *run_end && (*run_bytes + unit) / BLK_SECTOR <= d->max_sectors;
	if (follows && last->page == pg && last->off + last->len == at &&
	    last->len + unit <= d->max_seg_len) {
		last->len += unit;
	} else if (follows && w->nsegs < d->max_segs) {
		pl->seg[pl->nseg++] = (struct blk_seg){ pg, at, unit };
		w->nsegs++;
	} else {
		pl->seg[pl->nseg] = (struct blk_seg){ pg, at, unit };
		pl->wr[pl->nwr++] = (struct blk_wr){ sector, &pl->seg[pl->nseg], 1 };
		pl->nseg++;
		*run_bytes = 0;
	}
	*run_bytes += unit;
	*run_end = sector + unit / BLK_SECTOR;
}

/* Plan the reads of pg[0..np), pages idx on of n's file, into pl (holes
 * and whatever lies past the end zeroed now): 0 or an error; *planned is
 * how many pages the plan covers (fewer than np when it is full). [m] */
static int plan_window(struct e2_node *n, u64 idx, struct page **pg, u32 np,
		       struct e2_plan *pl, u32 *planned)
{
	struct blk_disk *d = n->m->disk;
	u32 bs = n->m->fs.block_size, unit = MIN(bs, (u32)PAGE_SIZE);
	u64 size = n->di.size, run_end = 0, run_bytes = 0;
	pl->nwr = pl->nseg = 0;
	u32 p = 0;
	for (; p < np; p++) {
		if (pl->nseg + PAGE_SIZE / unit > E2_PLAN_SEGS)
			break;
		u8 *va = page_address(pg[p]);
		u64 base = (idx + p) * PAGE_SIZE;
		for (u32 at = 0; at < PAGE_SIZE; at += unit) {
			u64 off = base + at;
			if (off >= size) {
				memset(va + at, 0, PAGE_SIZE - at);
				break;
			}
			u32 pb;
			int r = ext2_bmap(&n->m->fs, &n->di, off / bs, &pb);
			if (r < 0)
				return r;
			if (!pb) {   /* a hole */
				memset(va + at, 0, unit);
				continue;
			}
			plan_piece(pl, d, pg[p], at, unit, ((u64)pb * bs + off % bs) / BLK_SECTOR,
				   &run_end, &run_bytes);
		}
	}
	*planned = p;
	return 0;
}

/* Read pages are done: the last block's bytes past the end zeroed, each
 * into the page cache; page idx comes back in *out with a reference
 * (out NULL: none kept). [m] */
static void window_cache(struct e2_node *n, u64 idx, struct page **pg, u32 np, struct page **out)
{
	u64 size = n->di.size;
	for (u32 p = 0; p < np; p++) {
		u64 base = (idx + p) * PAGE_SIZE;
		if (base + PAGE_SIZE > size)
			memset((u8 *)page_address(pg[p]) + (size - base), 0,
			       PAGE_SIZE - (size_t)(size - base));
		struct page *c = pcache_add(&n->pc, idx + p, pg[p]);
		if (p == 0 && out)
			*out = c;
		else
			page_put(c);
	}
}

/* Pages [idx, idx + count) of n's file (idx inside it) from the disk into
 * fresh pages, which go into the page cache: page idx comes back in *out
 * with a reference. Stops at the end of the file and at the first page
 * already cached. All the window's requests are submitted together. [m] */
static int fill(struct e2_node *n, u64 idx, u32 count, struct page **out)
{
	struct e2_mount *m = n->m;
	struct page *pg[E2_RA_PAGES];
	u32 np = window_alloc(n, idx, count, pg);
	if (!np)
		return -ENOMEM;
	int r = 0;
	if (!direct_io(m)) {
		/* a disk whose sectors are bigger than a block: through the reader */
		for (u32 p = 0; p < np && r == 0; p++) {
			u8 *va = page_address(pg[p]);
			long k = ext2_read(&m->fs, &n->di, (idx + p) * PAGE_SIZE, va, PAGE_SIZE);
			if (k < 0)
				r = (int)k;
			else
				memset(va + k, 0, PAGE_SIZE - (size_t)k);
		}
	} else {
		u32 planned;
		r = plan_window(n, idx, pg, np, &m->plan, &planned);
		if (r == 0) {
			window_put(pg, planned, np);
			np = planned;
			r = blk_rw_many(m->disk, BLK_READ, m->plan.wr, m->plan.nwr);
		}
	}
	if (r < 0) {
		window_put(pg, 0, np);
		return r;
	}
	window_cache(n, idx, pg, np, out);
	return 0;
}

/* Read-ahead: the window from page idx on is read while the reader copies
 * the one before it. At most one window per file is in flight. [m] */
static void ra_start(struct e2_node *n, u64 idx)
{
	struct e2_mount *m = n->m;
	if (!direct_io(m) || (n->ra && n->ra->io) || pcache_has(&n->pc, idx))
		return;
	if (!n->ra && !(n->ra = kzalloc(sizeof(*n->ra))))
		return;   /* no memory: reads fill as they come */
	struct e2_ra *ra = n->ra;
	u32 np = window_alloc(n, idx, E2_RA_PAGES, ra->pg), planned = 0;
	if (!np)
		return;
	if (plan_window(n, idx, ra->pg, np, &m->plan, &planned) < 0) {
		window_put(ra->pg, 0, np);
		return;   /* a bad block ahead fails the read that gets to it, not this one */
	}
	window_put(ra->pg, planned, np);
	np = planned;
	if (!m->plan.nwr) {   /* holes only: ready now */
		window_cache(n, idx, ra->pg, np, NULL);
		return;
	}
	if (!(ra->io = blk_many_start(m->disk, BLK_READ, m->plan.wr, m->plan.nwr))) {
		window_put(ra->pg, 0, np);
		return;
	}
	ra->idx = idx;
	ra->np = np;
	__atomic_fetch_add(&ra_async, 1, __ATOMIC_RELAXED);
}

/* Wait for n's window in flight, and cache its pages (keep) or let them
 * go (a write or truncate is about to change the file): 0 or the read's
 * error (its pages let go). [m] */
static int ra_end(struct e2_node *n, bool keep)
{
	struct e2_ra *ra = n->ra;
	if (!ra || !ra->io)
		return 0;
	int r = blk_many_wait(ra->io);
	ra->io = NULL;
	if (r < 0 || !keep) {
		window_put(ra->pg, 0, ra->np);
		__atomic_fetch_add(&ra_dropped, 1, __ATOMIC_RELAXED);
		return r;
	}
	window_cache(n, ra->idx, ra->pg, ra->np, NULL);
	__atomic_fetch_add(&ra_used, 1, __ATOMIC_RELAXED);
	return 0;
}

/* The page of n's file at index idx with a reference: the cached one, or
 * read from the disk (with read-ahead when the file is read forward).
 * *out is NULL when idx is at or past the end. */
static int e2_page(struct e2_node *n, u64 idx, struct page **out)
{
	struct page *pg = pcache_find(&n->pc, idx);
	*out = NULL;
	if (pg) {
		n->ra_next = idx + 1;
		*out = pg;
		return 0;
	}
	struct e2_mount *m = n->m;
	int r = 0;
	mutex_lock(&m->lock);
	u64 pages = (n->di.size + PAGE_SIZE - 1) / PAGE_SIZE;
	if (idx >= pages)
		goto out;
	struct e2_ra *ra = n->ra;
	if (ra && ra->io && idx >= ra->idx && idx < ra->idx + ra->np)
		(void)ra_end(n, true);   /* an error: the fill below reads the page itself */
	if (pcache_has(&n->pc, idx) && (pg = pcache_find(&n->pc, idx))) {
		*out = pg;   /* read ahead, or a filler that held the lock before us */
	} else {
		bool forward = idx == n->ra_next || idx == 0;
		r = fill(n, idx, forward ? E2_RA_PAGES : 1, out);
		if (r < 0 && forward)   /* a bad block ahead must not fail this page */
			r = fill(n, idx, 1, out);
	}
	if (*out && (idx == n->ra_next || idx == 0)) {
		/* going forward: the next window after what is cached */
		u64 next = idx + 1;
		while (next < pages && next < idx + 2 * E2_RA_PAGES && pcache_has(&n->pc, next))
			next++;
		if (next < pages)
			ra_start(n, next);
	}
out:
	if (*out)
		n->ra_next = idx + 1;
	mutex_unlock(&m->lock);
	return r;
}

static long e2_read(struct file *f, struct uio *u, u64 *pos)
{
	struct e2_node *n = node_of(f->inode);
	u64 done = 0;
	long r = 0;
	while (u->len) {
		u64 size = n->di.size;
		if (*pos >= size)
			break;
		struct page *pg;
		if ((r = e2_page(n, *pos / PAGE_SIZE, &pg)) < 0 || !pg)
			break;
		size_t at = (size_t)(*pos % PAGE_SIZE);
		size_t k = (size_t)MIN((u64)MIN(u->len, (size_t)PAGE_SIZE - at), size - *pos);
		size_t got = uio_to(u, (u8 *)page_address(pg) + at, k);
		page_put(pg);
		done += got;
		*pos += got;
		if (got < k) {
			r = done ? 0 : -EFAULT;
			break;
		}
	}
	return done ? (long)done : r;
}

/* sendfile's and the HTTP responder's source: the cached page itself */
static int e2_page_ref(struct file *f, u64 off, struct page **pg, u32 *pg_off, u32 *len)
{
	struct e2_node *n = node_of(f->inode);
	*len = 0;
	u64 size = n->di.size;
	if (off >= size)
		return 0;
	struct page *p;
	int r = e2_page(n, off / PAGE_SIZE, &p);
	if (r < 0 || !p)
		return r;
	*pg = p;
	*pg_off = (u32)(off % PAGE_SIZE);
	*len = (u32)MIN((u64)(PAGE_SIZE - *pg_off), size - off);
	return 0;
}

/* ---- shared mappings (mmap MAP_SHARED) ----
 *
 * A mapping maps the cached page itself, marked PG_FMAPPED while it is
 * still the cached one, so that every later write() changes it in place
 * and the mapping sees it. A writable mapping's stores are not seen one
 * by one (no dirty bits are read, there is no reverse map to write-protect
 * the pages again): while a file has writable mappings (wmaps), every
 * write-back of it (the flusher's, every 2 s while it stays on its dirty
 * list; a commit's, fsync's, sync's) writes all its mapped pages, and when
 * the last one goes they are made dirty once more. A writable mapping's
 * page has its blocks allocated when it is mapped (a hole's too), so a
 * store always has a place on the disk. */

/* n on its dirty list, if it was clean ([m]) */
static void node_dirty(struct e2_node *n)
{
	if (!n->dirtied) {
		n->dirtied = arch_clock_ns() | 1;
		list_push_back(&n->m->dirty[cpu_id()], &n->dirty_link);
	}
}

/* Every mapped page of n's file dirty ([m]); how many */
static unsigned mapped_dirty(struct e2_node *n)
{
	return pcache_dirty_fmapped(&n->pc, n->di.size, MIN(n->m->fs.block_size, (u32)PAGE_SIZE));
}

/* The file grew from old while it has writable mappings ([m]): the
 * blocks under the rest of old's page, which a mapping may hold writable
 * already and store into without a fault (the pages after it fault
 * first: map_for_write). A hole of a mapped page is skipped at write-back
 * (write_pages): only a store into one would be lost, and this prevents
 * that. */
static int mapped_grow(struct e2_node *n, u64 old)
{
	if (!__atomic_load_n(&n->wmaps, __ATOMIC_ACQUIRE) || !(old % PAGE_SIZE) || n->di.size <= old)
		return 0;
	u64 end = MIN(ALIGN_UP(old, (u64)PAGE_SIZE), n->di.size);
	long r = ext2_write_alloc(&n->m->fs, &n->di, old, (size_t)(end - old), false);
	if (r >= 0 && (u64)r < end - old)
		r = -ENOSPC;
	if (n->di.blocks != n->inode.blocks)
		n->ordered = true;
	return r < 0 ? (int)r : 0;
}

/* A writable mapping's page idx: the blocks under its bytes of the file
 * allocated (a hole's are zeroed on the disk), and n on its dirty list. */
static int map_for_write(struct e2_node *n, u64 idx)
{
	struct e2_mount *m = n->m;
	struct ext2_fs *fs = &m->fs;
	if (!m->rw)
		return -EROFS;
	mutex_lock(&n->inode.lock);
	mutex_lock(&m->lock);
	u64 base = idx * PAGE_SIZE, size = n->di.size;
	long r = 0;
	if (base < size) {
		size_t len = (size_t)MIN((u64)PAGE_SIZE, size - base);
		r = ext2_write_alloc(fs, &n->di, base, len, false);
		if (r >= 0 && (size_t)r < len)
			r = -ENOSPC;
		if (n->di.blocks != n->inode.blocks)
			n->ordered = true;   /* its data before the commit that maps them */
		node_dirty(n);
		sync_node(n);
		int e = 0;
		op_end(m, &e);
		if (e < 0 && r >= 0)
			r = e;
	}
	mutex_unlock(&m->lock);
	mutex_unlock(&n->inode.lock);
	return r < 0 ? (int)r : 0;
}

static int e2_map_page(struct file *f, u64 idx, bool write, struct page **pg)
{
	struct e2_node *n = node_of(f->inode);
	/* a write that copied the page, or a truncate, may replace it
	 * between the lookup and the mark: look again */
	for (int tries = 0; tries < 8; tries++) {
		struct page *p;
		int r = e2_page(n, idx, &p);
		if (r < 0)
			return r;
		if (!p)
			return -ENXIO;
		if (!pcache_mark_fmapped(&n->pc, idx, p)) {
			page_put(p);
			continue;
		}
		if (write && (r = map_for_write(n, idx)) < 0) {
			page_put(p);
			return r;
		}
		*pg = p;
		return 0;
	}
	return -ENOMEM;   /* the cache had no room for it */
}

static void e2_map_writers(struct file *f, int delta)
{
	struct e2_node *n = node_of(f->inode);
	if (delta > 0) {
		__atomic_add_fetch(&n->wmaps, delta, __ATOMIC_RELAXED);
		return;
	}
	struct e2_mount *m = n->m;
	mutex_lock(&m->lock);
	/* the last one gone: its final stores go with the next write-back */
	if (__atomic_sub_fetch(&n->wmaps, 1, __ATOMIC_ACQ_REL) == 0 && mapped_dirty(n))
		node_dirty(n);
	mutex_unlock(&m->lock);
}

/* ---- write-back ---- */

/* Write-back counts: files written by a flusher, by a commit (ordered
 * data), by fsync/sync, by a writer over the dirty limit; write-backs
 * that failed (the error goes to the file's next fsync). */
static u64 wb_flusher, wb_ordered, wb_sync, wb_throttled, wb_errors;
KCOUNTER_VAR("ext2.writeback_flusher", "files", wb_flusher);
KCOUNTER_VAR("ext2.writeback_ordered", "files", wb_ordered);
KCOUNTER_VAR("ext2.writeback_sync", "files", wb_sync);
KCOUNTER_VAR("ext2.writeback_throttled", "files", wb_throttled);
KCOUNTER_VAR("ext2.writeback_errors", "files", wb_errors);
/* A write's copies (DESIGN principle 2): the user's bytes into a bounce
 * buffer (the user's memory is not touched under [m]: a fault on a page
 * mapped from this disk would take [m] again), then into the cache */
static u64 copied_bounce, copied_cache;
KCOUNTER_VAR("copy.file_write_bounce", "bytes", copied_bounce);
KCOUNTER_VAR("copy.file_write", "bytes", copied_cache);

/* The planned writes to the disk, all submitted together; the block
 * cache's and the journal's copies of those blocks get the bytes. [m] */
static int plan_write(struct e2_mount *m)
{
	struct e2_plan *pl = &m->plan;
	int r = blk_rw_many(m->disk, BLK_WRITE, pl->wr, pl->nwr);
	if (r < 0) {
		r = ext2_complain(&m->fs, -EIO, "writing file data back (%u requests): error %d",
				  pl->nwr, r);
	} else {
		for (u32 i = 0; i < pl->nwr; i++) {
			u64 off = pl->wr[i].sector * BLK_SECTOR;
			for (unsigned k = 0; k < pl->wr[i].nsegs; k++) {
				const struct blk_seg *sg = &pl->wr[i].seg[k];
				const u8 *va = (const u8 *)page_address(sg->page) + sg->off;
				cache_update(m, off, va, sg->len);
				ext2_data_written(&m->fs, off, va, sg->len);
				off += sg->len;
			}
		}
	}
	m->writes += pl->nwr;
	pl->nwr = pl->nseg = 0;
	return r;
}

/* The dirty units of the pages taken (d[0..k), in index order) to the
 * disk, straight from the pages: one request per run of adjacent blocks,
 * a plan's requests submitted together. [m] */
static int write_pages(struct e2_node *n, const struct pcache_dirty *d, unsigned k)
{
	struct e2_mount *m = n->m;
	struct ext2_fs *fs = &m->fs;
	if (fs->journal && fs->journal->aborted)
		return -EROFS;
	u32 bs = fs->block_size, unit = MIN(bs, (u32)PAGE_SIZE);
	u64 size = n->di.size, run_end = 0, run_bytes = 0;
	struct e2_plan *pl = &m->plan;
	bool direct = direct_io(m);
	int r = 0;
	pl->nwr = pl->nseg = 0;
	for (unsigned i = 0; i < k && r == 0; i++) {
		if (direct && pl->nseg + PAGE_SIZE / unit > E2_PLAN_SEGS && (r = plan_write(m)) < 0)
			break;
		u8 *va = page_address(d[i].pg);
		for (u32 u = 0; u < PAGE_SIZE / unit && r == 0; u++) {
			u64 off = d[i].idx * PAGE_SIZE + (u64)u * unit;
			if (!(d[i].units & (1u << u)))
				continue;
			if (off >= size)
				break;   /* past the end: nothing of the file */
			u32 pb;
			if ((r = ext2_bmap(fs, &n->di, off / bs, &pb)) < 0)
				break;
			if (!pb && page_fmapped(d[i].pg))
				continue;   /* a hole of a mapped page: zeros (a writable
					     * mapping's pages have their blocks) */
			if (!pb) {
				r = ext2_complain(fs, -EIO, "inode %u: dirty data at byte %llu has no "
						  "block", n->di.ino, (unsigned long long)off);
				break;
			}
			u64 at = (u64)pb * bs + off % bs;
			if (direct)
				plan_piece(pl, m->disk, d[i].pg, u * unit, unit, at / BLK_SECTOR,
					   &run_end, &run_bytes);
			else   /* sectors bigger than a block: through the block cache */
				r = ext2_data_write(fs, at, va + u * unit, unit);
		}
	}
	if (r == 0 && pl->nwr)
		r = plan_write(m);
	pl->nwr = pl->nseg = 0;
	return r;
}

/* Every dirty page of n's file to the disk: 0, or the first error (the
 * pages that failed are clean all the same, as Linux leaves them: the
 * file's next fsync reports it). n leaves its dirty list. [m] */
static int writeback_node(struct e2_node *n)
{
	struct e2_mount *m = n->m;
	int err = 0;
	unsigned k;
	bool mapped = __atomic_load_n(&n->wmaps, __ATOMIC_ACQUIRE) > 0;
	if (mapped)
		(void)mapped_dirty(n);
	while ((k = pcache_take_dirty(&n->pc, m->wb, E2_WB_BATCH))) {
		for (unsigned i = 1; i < k; i++) {   /* index order: adjacent blocks merge */
			struct pcache_dirty t = m->wb[i];
			unsigned j = i;
			for (; j && m->wb[j - 1].idx > t.idx; j--)
				m->wb[j] = m->wb[j - 1];
			m->wb[j] = t;
		}
		int r = write_pages(n, m->wb, k);
		pcache_written(m->wb, k, r == 0);
		if (r < 0 && !err)
			err = r;
	}
	if (err) {
		n->wb_err = err;
		wb_errors++;
	}
	if (n->dirtied) {   /* nobody dirties without [m]: clean now */
		list_remove(&n->dirty_link);
		n->dirtied = 0;
	}
	if (mapped)   /* a writable mapping may store again at once */
		node_dirty(n);
	n->ordered = false;
	return err;
}

/* Every dirty file of m (ordered_only: those that wrote into blocks they
 * allocated) to the disk: 0 or the first error. [m] */
static int writeback_mount(struct e2_mount *m, bool ordered_only, u64 *count)
{
	int err = 0;
	u64 start = arch_clock_ns();
	for (unsigned c = 0; c < ncpus; c++) {
		struct list_node *it, *tmp;
		list_for_each_safe(it, tmp, &m->dirty[c]) {
			struct e2_node *n = list_entry(it, struct e2_node, dirty_link);
			if ((ordered_only && !n->ordered) || n->dirtied > start)
				continue;   /* > start: back on the list after its write-back
					     * (a writable mapping) */
			int r = writeback_node(n);
			(*count)++;
			if (r < 0 && !err)
				err = r;
		}
	}
	return err;
}

/* ext2_fs data_out: before a commit ([m] held by whoever commits) */
static int e2_data_out(void *ctx)
{
	return writeback_mount(ctx, true, &wb_ordered);
}

/* The writable mounts, for the flushers, and all of them, for the node
 * cache (written at boot only) */
static struct e2_mount *wmounts[BLK_MAX_DISKS], *mounts[BLK_MAX_DISKS];
static int nwmounts, nmounts;

static u64 nodes_now(void)
{
	u64 sum = 0;
	for (int i = 0; i < nmounts; i++)
		sum += __atomic_load_n(&mounts[i]->nnodes, __ATOMIC_RELAXED);
	return sum;
}
KCOUNTER("ext2.nodes", "inodes", nodes_now);

/* The flusher of one CPU: every E2_FLUSH_TICK_NS, the files first dirtied
 * on this CPU that have been dirty for E2_DIRTY_AGE_NS (all of them when
 * the cache holds more than an eighth of its limit dirty) go to the disk,
 * from this CPU (its queue of the disk). Runs for as long as the kernel. */
static void e2_flusher(void *arg)
{
	unsigned c = (unsigned)(uptr)arg;
	for (;;) {
		thread_sleep_ns(E2_FLUSH_TICK_NS);
		for (int i = 0; i < nwmounts; i++) {
			struct e2_mount *m = wmounts[i];
			mutex_lock(&m->lock);
			bool all = pcache_dirty_count() > pcache_limit() / 8;
			u64 now = arch_clock_ns();
			struct list_node *it, *tmp;
			list_for_each_safe(it, tmp, &m->dirty[c]) {
				struct e2_node *n = list_entry(it, struct e2_node, dirty_link);
				if (n->dirtied > now)
					break;   /* back after this pass wrote it (a writable
						  * mapping), as is what follows it */
				if (!all && now - n->dirtied < E2_DIRTY_AGE_NS)
					break;   /* oldest first: the rest are younger */
				(void)writeback_node(n);   /* its error waits for fsync */
				wb_flusher++;
			}
			mutex_unlock(&m->lock);
		}
		for (int i = 0; c == 0 && i < nmounts; i++) {
			struct e2_mount *m = mounts[i];
			if (__atomic_load_n(&m->nnodes, __ATOMIC_RELAXED) <= nodes_max)
				continue;
			mutex_lock(&vfs_ns_lock);
			mutex_lock(&m->lock);
			shrink(m, nodes_max - nodes_max / 8);   /* room for a while */
			mutex_unlock(&m->lock);
			mutex_unlock(&vfs_ns_lock);
		}
	}
}

/* One chunk of a write ([m] held, len > 0, at most E2_READ_CHUNK): its
 * pages found or made (a page the write covers only in part, inside the
 * file, is read first), its blocks mapped, the bytes copied into the
 * pages, which become dirty. The count written, short when the disk or
 * the memory ran out (then the error if nothing was). */
static long write_chunk(struct e2_node *n, u64 off, const u8 *buf, size_t len)
{
	struct e2_mount *m = n->m;
	struct ext2_fs *fs = &m->fs;
	u64 old_size = n->di.size, first = off / PAGE_SIZE;
	u32 np = (u32)((off + len - 1) / PAGE_SIZE - first + 1);
	u32 unit = MIN(fs->block_size, (u32)PAGE_SIZE);
	struct page *pg[E2_WRITE_PAGES], *spare[E2_WRITE_PAGES];
	long r = 0;
	u32 have = 0;
	for (; have < np; have++) {
		u64 idx = first + have, base = idx * PAGE_SIZE;
		spare[have] = NULL;
		if ((pg[have] = pcache_find(&n->pc, idx)))
			continue;
		bool whole = off <= base && off + len >= base + PAGE_SIZE;
		if (!whole && base < old_size) {   /* its other bytes are the file's */
			if ((r = fill(n, idx, 1, &pg[have])) < 0)
				break;
			continue;
		}
		struct page *p = page_alloc(0);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		memset(page_address(p), 0, PAGE_SIZE);
		pg[have] = pcache_add(&n->pc, idx, p);
	}
	/* a page someone holds (a packet, a reader) keeps its bytes: a spare
	 * for the copy now, while nothing is changed yet */
	for (u32 p = 0; p < have && r == 0; p++)
		if (page_refcount(pg[p]) > 2 && !page_fmapped(pg[p]) && !(spare[p] = page_alloc(0)))
			r = -ENOMEM;
	size_t want = have == np ? len : (have ? (size_t)((first + have) * PAGE_SIZE - off) : 0);
	if (r < 0)
		want = 0;
	long mapped = want ? ext2_write_alloc(fs, &n->di, off, want,
					       fs->block_size > PAGE_SIZE) : r;
	/* new blocks or a new size: the transaction that records them commits
	 * after these bytes are on the disk (ordered data), so a crash never
	 * shows a file longer than its data or a block's old bytes */
	if (mapped > 0 && (n->di.blocks != n->inode.blocks || n->di.size != old_size))
		n->ordered = true;
	/* past the end: a writable mapping's page of the old end gets its
	 * blocks (ENOSPC there: a store into that page's tail is not kept) */
	if (mapped > 0 && n->di.size > old_size)
		(void)mapped_grow(n, old_size);
	size_t done = 0;
	while (mapped > 0 && done < (size_t)mapped) {
		u32 p = (u32)((off + done) / PAGE_SIZE - first);
		u32 at = (u32)((off + done) % PAGE_SIZE);
		u32 k = (u32)MIN((size_t)(PAGE_SIZE - at), (size_t)mapped - done);
		u8 units = 0;
		for (u32 u = at / unit; u <= (at + k - 1) / unit; u++)
			units |= (u8)(1u << u);
		int w = pcache_write_page(&n->pc, first + p, pg[p], &spare[p], at, buf + done, k,
					  units);
		if (w == -EAGAIN && (spare[p] = page_alloc(0)))   /* lent since we looked */
			w = pcache_write_page(&n->pc, first + p, pg[p], &spare[p], at, buf + done,
					      k, units);
		if (w < 0) {   /* -ENOENT: the cache had no room for the page */
			r = w == -EAGAIN || w == -ENOENT ? -ENOMEM : w;
			break;
		}
		done += k;
	}
	if (mapped > 0 && done < (size_t)mapped) {
		int u = ext2_write_undo(fs, &n->di, old_size, off + done);
		if (u < 0 && r == 0)
			r = u;
	}
	if (done)
		node_dirty(n);
	for (u32 p = 0; p < have; p++) {
		page_put(pg[p]);
		if (spare[p])
			page_put(spare[p]);
	}
	if (done)
		return (long)done;
	return mapped < 0 ? mapped : r < 0 ? r : -ENOSPC;
}

/* A write: into the page cache (write_chunk), to the disk later (a
 * flusher, the commit that maps new blocks, fsync, sync; a writer that
 * finds more than a quarter of the cache's limit dirty writes its own
 * file out first; a file opened O_SYNC or O_DSYNC is written and committed
 * before the call returns). Two copies: into a bounce buffer, then into
 * the cache (copy.file_write_bounce, copy.file_write); none to the disk. */
static long e2_write(struct file *f, struct uio *u, u64 *pos)
{
	struct e2_node *n = node_of(f->inode);
	struct e2_mount *m = n->m;
	if (!m->rw)
		return -EROFS;
	if (!u->len)
		return 0;
	u8 *buf = kmalloc(MIN((size_t)E2_READ_CHUNK, u->len), 0);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&f->inode->lock);
	u64 off = (f->flags & O_APPEND) ? n->di.size : *pos;
	u64 done = 0;
	long r = 0;
	while (u->len) {
		size_t want = MIN(u->len, (size_t)E2_READ_CHUNK);
		size_t got = uio_from(u, buf, want);
		if (!got) {
			r = -EFAULT;
			break;
		}
		__atomic_fetch_add(&copied_bounce, got, __ATOMIC_RELAXED);
		mutex_lock(&m->lock);
		(void)ra_end(n, false);   /* its pages would be read from before the write */
		r = write_chunk(n, off, buf, got);
		if (r > 0)
			__atomic_fetch_add(&copied_cache, (u64)r, __ATOMIC_RELAXED);
		sync_node(n);
		int e = 0;
		op_end(m, &e);
		if (e < 0 && r >= 0)
			r = e;   /* the journal aborted: what was written is lost */
		if (r > 0 && pcache_dirty_count() > pcache_limit() / 4) {
			(void)writeback_node(n);   /* its error waits for fsync */
			wb_throttled++;
		}
		mutex_unlock(&m->lock);
		if (r <= 0)
			break;
		done += (u64)r;
		off += (u64)r;
		if ((size_t)r < got || got < want)
			break;
	}
	if (done && (f->flags & O_DSYNC)) {   /* O_SYNC and O_DSYNC: durable on return */
		mutex_lock(&m->lock);
		int e = writeback_node(n);
		wb_sync++;
		if (e == 0 && (e = n->wb_err) == 0)
			e = ext2_fsync(&m->fs);   /* its blocks and size, committed */
		n->wb_err = 0;
		mutex_unlock(&m->lock);
		if (e < 0) {   /* as Linux's generic_write_sync: the error, not the count */
			done = 0;
			r = e;
		}
	}
	*pos = off;
	mutex_unlock(&f->inode->lock);
	kfree(buf);
	return done ? (long)done : r;
}

/* ext2: a flush; ext3: the running transaction committed (this file's
 * data went to the disk before it: ordered), durable */
static int e2_fsync(struct file *f)
{
	struct e2_node *n = node_of(f->inode);
	struct e2_mount *m = n->m;
	mutex_lock(&m->lock);
	int r = 0;
	if (m->rw) {
		if (n->dirtied) {
			(void)writeback_node(n);
			wb_sync++;
		}
		r = n->wb_err;   /* this write-back's, or an earlier one's */
		n->wb_err = 0;
		int e = ext2_fsync(&m->fs);
		if (r == 0)
			r = e;
	}
	mutex_unlock(&m->lock);
	return r;
}

/* fsync of a directory (or anything without file ops of ours): ext3, the
 * running transaction committed (the names changed in it with it); ext2,
 * a flush (its metadata is written through) */
static int e2_fsync_inode(struct inode *ino)
{
	struct e2_mount *m = node_of(ino)->m;
	mutex_lock(&m->lock);
	int r = m->rw ? ext2_fsync(&m->fs) : 0;
	mutex_unlock(&m->lock);
	return r;
}

static int e2_sync(struct inode *root)
{
	struct e2_mount *m = node_of(root)->m;
	mutex_lock(&m->lock);
	int r = 0;
	if (m->rw) {
		r = writeback_mount(m, false, &wb_sync);
		int e = ext2_sync(&m->fs);
		if (r == 0)
			r = e;
	}
	mutex_unlock(&m->lock);
	if (r < 0)
		pr_err("ext2 %s: sync failed (error %d)", m->fs.name, r);
	return r;
}

/* The journaled mounts (written at boot only), for the counters: each
 * summed over them, read without their locks. */
static struct e2_mount *journals[BLK_MAX_DISKS];
static int njournals;

static u64 journal_sum(size_t field)
{
	u64 sum = 0;
	for (int i = 0; i < njournals; i++) {
		struct jbd2 *j = journals[i]->fs.journal;
		if (j)
			sum += __atomic_load_n((u64 *)((char *)j + field), __ATOMIC_RELAXED);
	}
	return sum;
}
static u64 j_commits(void) { return journal_sum(offsetof(struct jbd2, commits)); }
static u64 j_checkpoints(void) { return journal_sum(offsetof(struct jbd2, checkpoints)); }
static u64 j_revokes(void) { return journal_sum(offsetof(struct jbd2, revokes)); }
static u64 j_logged(void) { return journal_sum(offsetof(struct jbd2, logged_blocks)); }
KCOUNTER("ext2.journal_commits", "transactions", j_commits);
KCOUNTER("ext2.journal_checkpoints", "checkpoints", j_checkpoints);
KCOUNTER("ext2.journal_revokes", "records", j_revokes);
KCOUNTER("ext2.journal_logged", "blocks", j_logged);

/* Blocks in the running transactions now: 0 once everything written so
 * far is committed (tests wait for it) */
static u64 j_running(void)
{
	u64 sum = 0;
	for (int i = 0; i < njournals; i++) {
		struct jbd2 *j = journals[i]->fs.journal;
		if (j)
			sum += __atomic_load_n(&j->ntxn, __ATOMIC_RELAXED);
	}
	return sum;
}
KCOUNTER("ext2.journal_running", "blocks", j_running);

/* The journal's timer: a transaction older than JBD2_COMMIT_AGE seconds
 * commits even when no operation ends it. Runs for as long as the kernel. */
static void e2_commit_thread(void *arg)
{
	struct e2_mount *m = arg;
	for (;;) {
		thread_sleep_ns(1000000000ull);
		mutex_lock(&m->lock);
		int r = 0;
		op_end(m, &r);
		mutex_unlock(&m->lock);
	}
}

static const struct file_ops e2_file_fops = {
	.read = e2_read,
	.write = e2_write,
	.fsync = e2_fsync,
	.page_ref = e2_page_ref,
	.map_page = e2_map_page,
	.map_writers = e2_map_writers,
	.seekable = true,
};

/* ---- mounting at boot ---- */

#define E2_DEV_MAJOR 254   /* Linux's virtio-blk major, vda = minor 0, vdb = 16 */

static int mount_disk(struct blk_disk *d, int index)
{
	struct e2_mount *m = kzalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	mutex_init(&m->lock, "ext2");
	for (unsigned c = 0; c < MAX_CPUS; c++)
		list_init(&m->dirty[c]);
	m->disk = d;
	m->dev = MKDEV(E2_DEV_MAJOR, index * 16);
	int r = 0;
	for (int i = 0; i < E2_CACHE_PAGES; i++) {
		m->cache[i].index = ~0ULL;
		m->cache[i].page = page_alloc(0);
		if (!m->cache[i].page)
			r = -ENOMEM;
	}
	char msg[160] = "no memory for the cache";
	mutex_lock(&m->lock);
	u32 replayed = 0;
	if (r == 0 && !(d->features & BLK_F_RO))
		r = ext2_replay(e2_disk_read, e2_disk_write, e2_disk_flush, m,
				d->nsectors * BLK_SECTOR, d->name, msg, sizeof(msg), &replayed);
	if (r == 0)
		r = ext2_mount(&m->fs, e2_disk_read, m, d->nsectors * BLK_SECTOR, d->name, msg,
			       sizeof(msg));
	char romsg[200] = "";
	if (r == 0) {
		int w = -EROFS;
		if (d->features & BLK_F_RO)
			ksnprintf(romsg, sizeof(romsg), "the device is read-only");
		else {
			m->fs.flush = e2_disk_flush;
			w = ext2_enable_write(&m->fs, e2_disk_write, romsg, sizeof(romsg));
			m->fs.write_data = e2_disk_write_data;
			m->fs.write_many = e2_disk_write_many;
			m->fs.data_out = e2_data_out;
		}
		m->rw = w == 0;
		m->fs.now = e2_now;
	}
	struct e2_node *rootn = NULL;
	if (r == 0)
		r = e2_iget(m, EXT2_ROOT_INO, &rootn);
	mutex_unlock(&m->lock);
	if (r == -EINVAL) {
		pr_info("ext2 %s: not mounted: %s", d->name, msg);
	} else if (r < 0) {
		pr_err("ext2 %s: not mounted: %s (error %d)", d->name, msg, r);
	} else {
		struct vfs_mount_info info = { 0 };
		bool ext3 = m->fs.compat & EXT2_COMPAT_HAS_JOURNAL;
		const char *rd = vfs_root_disk();
		bool as_root = rd && strcmp(rd, d->name) == 0;
		ksnprintf(info.path, sizeof(info.path), as_root ? "/" : "/mnt/%s", d->name);
		ksnprintf(info.source, sizeof(info.source), "%s", d->name);
		ksnprintf(info.type, sizeof(info.type), "%s", ext3 ? "ext3" : "ext2");
		ksnprintf(info.options, sizeof(info.options), !m->rw ? "ro" : ext3 ? "rw,data=ordered" :
			  "rw");
		ksnprintf(info.state, sizeof(info.state), "journal: %s (%u transactions replayed at "
			  "mount); %u-byte blocks, %u inodes", ext2_journal_state(&m->fs), replayed,
			  m->fs.block_size, m->fs.inodes_count);
		r = as_root ? vfs_mount_root(&rootn->inode, &info) : vfs_mount(&rootn->inode, &info);
		if (r < 0) {
			pr_err("ext2 %s: mounting at %s failed (error %d)", d->name, info.path, r);
		} else {
			char feat[200];
			ext2_feature_names(&m->fs, feat, sizeof(feat));
			pr_info("ext2 %s: %s mounted %s at %s ('%s', %u blocks of %u bytes; "
				"features: %s; journal: %s)", d->name, info.type,
				!m->rw ? "read-only" : ext3 ? "read-write (journaled, ordered data)" :
				"read-write", info.path,
				m->fs.label, m->fs.blocks_count, m->fs.block_size, feat,
				ext2_journal_state(&m->fs));
			if (!m->rw)
				pr_warn("ext2 %s: writes refused (EROFS): %s", d->name, romsg);
			if (m->rw && nwmounts < BLK_MAX_DISKS)
				wmounts[nwmounts++] = m;   /* before a flusher starts */
			if (nmounts < BLK_MAX_DISKS)
				mounts[nmounts++] = m;
			if (m->rw && ext3) {
				if (njournals < BLK_MAX_DISKS)
					journals[njournals++] = m;   /* before any thread reads it */
				struct thread *t = thread_create("jbd2", e2_commit_thread, m, -1, 0);
				if (t)
					thread_put(t);
				else
					pr_warn("ext2 %s: no commit thread: transactions commit when "
						"operations end and on fsync only", d->name);
			}
			return 0;
		}
	}
	/* not mounted: give everything back (no node was handed out) */
	for (int i = 0; i < E2_HASH; i++)
		for (struct e2_node *n = m->nodes[i], *next; n; n = next) {
			next = n->next;
			kfree(n);
			vfs_inode_died();
		}
	ext2_unmount(&m->fs);
	for (int i = 0; i < E2_CACHE_PAGES; i++)
		if (m->cache[i].page)
			page_put(m->cache[i].page);
	kfree(m);
	return r;
}

void ext2_boot(void)
{
	const char *rd = vfs_root_disk();
	bool root_done = false;
	for (int i = 0; i < blk_count(); i++) {
		struct blk_disk *d = blk_get(i);
		if (d && mount_disk(d, i) == 0 && rd && strcmp(rd, d->name) == 0)
			root_done = true;
	}
	if (rd && !root_done)
		pr_err("ext2: root=/dev/%s: %s; the RAM root stays /", rd,
		       blk_find(rd) ? "not mounted (its log line above says why)" : "no such disk");
	for (unsigned c = 0; nmounts && c < ncpus; c++) {   /* a flusher per CPU */
		struct thread *t = thread_create("e2flush", e2_flusher, (void *)(uptr)c, (int)c,
						 THREAD_PINNED);
		if (t)
			thread_put(t);
		else
			pr_warn("ext2: no flusher on CPU %u: its files' dirty pages go to the disk at "
				"commits, fsync and sync only%s", c,
				c == 0 ? ", and no inode is evicted" : "");
	}
}
