/*
 * The page cache: a file's data pages, kept in memory after a read and
 * shared by reference with whoever asks for them (a read copies out of
 * them once; sendfile and the HTTP responder put them into packets
 * without a copy: file_ops.page_ref).
 *
 * Objects and ownership:
 *   struct pcache_map  one file's cached pages (embedded in the file
 *                      system's inode). The file system fills pages (from
 *                      its disk, into a page of its own) and hands them
 *                      over with pcache_add; it keeps the map coherent with
 *                      what it writes (pcache_write) and cuts (pcache_drop).
 *   a cached page      the cache holds one reference. pcache_find and
 *                      pcache_add return the page with another, the
 *                      caller's: a page lent to a packet stays valid (and
 *                      unchanged: see pcache_write) until the NIC drops it,
 *                      even if the cache lets it go meanwhile.
 *
 * Writes (pcache_write): a cached page nobody else holds is changed in
 * place; a page someone holds (a packet under transmission, a read copying
 * out of it) is never changed: it leaves the cache, and the next read
 * fills a new one. So a lent page keeps the bytes it had when it was lent.
 * A file system that writes through to its disk calls pcache_write after,
 * so a page is what the disk holds; one that writes back (ext2) writes
 * into the cached page with pcache_write_page and the page is dirty until
 * the file system takes it to write (below).
 *
 * Eviction: a CLOCK over every cached page of every file; a page found
 * used since the hand last passed gets a second chance, a page held by
 * someone else is passed over. The cache keeps at most a quarter of the
 * memory free at its first use (pcache.limit, settable on the command
 * line), and gives pages back when the page allocator runs out
 * (page_set_reclaim).
 *
 * Locks: one spinlock (pcache_lock) over the hash, every map's list and
 * the clock; nothing sleeps under it and no other lock is taken under it
 * but the page allocator's. The file system serialises fills and writes of
 * one map (ext2: its mount's lock), so a page it adds is never older than
 * a write it made.
 */
#ifndef FS_PAGECACHE_H
#define FS_PAGECACHE_H

#include "kernel/lib/list.h"
#include "kernel/lib/types.h"

struct page;

struct pcache_map {
	struct list_node pages;      /* [pcache_lock] its entries */
	struct list_node dirty;      /* [pcache_lock] its dirty entries, oldest first */
	u64 npages, ndirty;          /* [pcache_lock] */
};

void pcache_map_init(struct pcache_map *m);
/* The cached page of page index idx, with a reference for the caller, or
 * NULL. Marks it used for the clock. */
struct page *pcache_find(struct pcache_map *m, u64 idx);
/* Cache pg as page idx. The caller's reference to pg becomes the
 * caller's reference to the result: pg, now cached (the cache took one
 * of its own), or the page another filler cached there first (pg is then
 * put). With no memory for the entry, pg comes back uncached: the read
 * that filled it still works. */
struct page *pcache_add(struct pcache_map *m, u64 idx, struct page *pg);
/* Bytes [off, off + len) of the file were written as buf holds them:
 * cached pages in the range are changed in place or let go (above). */
void pcache_write(struct pcache_map *m, u64 off, const void *buf, size_t len);
/* Let go of every cached page from index idx on (a truncate, a file
 * removed: idx 0). */
void pcache_drop(struct pcache_map *m, u64 idx);
/* Whether page idx is cached (no reference, no clock use: read-ahead's
 * question). */
bool pcache_has(struct pcache_map *m, u64 idx);
/* A shared mapping takes held (a reference from pcache_find/pcache_add):
 * if it is still the cached page idx, it becomes PG_FMAPPED under the
 * cache's lock, so pcache_write_page changes it in place from now on
 * (the mapping sees every write), and true; false: it left the cache or
 * was replaced meanwhile (look it up again). */
bool pcache_mark_fmapped(struct pcache_map *m, u64 idx, struct page *held);
/* A writable shared mapping may have stored into any of m's PG_FMAPPED
 * pages (nothing tells which: no dirty bits are read): each becomes dirty
 * in its units (of unit bytes, a bit each) that hold bytes of the file
 * (below size). How many pages were marked. */
unsigned pcache_dirty_fmapped(struct pcache_map *m, u64 size, u32 unit);

/*
 * Write-back (a file system that keeps written data in the cache and
 * writes it to its disk later: ext2). A dirty page holds bytes its disk
 * does not have yet; the file system says which of the page's units (its
 * blocks' pieces, a bit each) to write. Dirty pages are never evicted;
 * pcache_drop lets them go with their bytes (a truncate, a file removed).
 *
 * pcache_write_page: len bytes of buf go at byte at of cached page idx,
 * which the caller holds (held: from pcache_find or pcache_add), and the
 * units are marked dirty. A page only the cache and the caller hold, or
 * one a shared mapping maps (PG_FMAPPED), is changed in place; one held
 * by anyone else too (a packet, a reader, a
 * write-back in flight) keeps its bytes: the cache takes *spare instead,
 * a copy of it with the bytes written, and *spare becomes NULL. Returns 0;
 * -EAGAIN when that needs a spare and *spare is NULL (allocate one, call
 * again); -ENOENT when held is not the cached page idx. The caller still
 * puts its reference to held.
 */
int pcache_write_page(struct pcache_map *m, u64 idx, struct page *held, struct page **spare,
		      u32 at, const void *buf, u32 len, u8 units);
struct pcache_dirty {
	u64 idx;
	struct page *pg;             /* a reference for the writer */
	u8 units;
};
/* Up to max of m's dirty pages, oldest first, each with a reference: they
 * are clean from now on (a write meanwhile dirties them again, on a copy
 * if the writer's reference is still out) and count as under write-back
 * until pcache_written, which puts the references. ok: the disk has them. */
unsigned pcache_take_dirty(struct pcache_map *m, struct pcache_dirty *out, unsigned max);
void pcache_written(struct pcache_dirty *d, unsigned n, bool ok);
/* The limit now, and the pages dirty now (every map's) */
u64 pcache_limit(void);
u64 pcache_dirty_count(void);

/* Set the limit (pages, at least 16; 0: the default), evicting down to
 * it now; returns the limit it had (tests). */
u64 pcache_set_limit(u64 pages);

struct pcache_stats {
	u64 pages, limit;
	u64 hits, misses;            /* pcache_find */
	u64 added, evicted, dropped; /* pcache_add; clock or reclaim; pcache_write/drop */
	u64 written_in_place;        /* pages pcache_write changed */
	u64 lent;                    /* cached pages someone else holds now */
	u64 dirty, writeback;        /* now: not on the disk yet; being written */
	u64 written_back;            /* pages pcache_take_dirty gave that reached the disk */
	u64 write_copies;            /* pcache_write_page: lent pages copied */
	u64 reclaims;                /* calls from the page allocator */
};
void pcache_stats(struct pcache_stats *out);

#endif
