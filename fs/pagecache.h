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
 * Pages are never dirty: the file systems write through to their disk and
 * call pcache_write after, so a page is always what the disk holds.
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
	u64 npages;                  /* [pcache_lock] */
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

/* Set the limit (pages, at least 16; 0: the default), evicting down to
 * it now; returns the limit it had (tests). */
u64 pcache_set_limit(u64 pages);

struct pcache_stats {
	u64 pages, limit;
	u64 hits, misses;            /* pcache_find */
	u64 added, evicted, dropped; /* pcache_add; clock or reclaim; pcache_write/drop */
	u64 written_in_place;        /* pages pcache_write changed */
	u64 lent;                    /* cached pages someone else holds now */
	u64 reclaims;                /* calls from the page allocator */
};
void pcache_stats(struct pcache_stats *out);

#endif
