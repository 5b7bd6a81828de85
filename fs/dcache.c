/*
 * The directory cache (fs/dcache.h): a hash of (directory, name) to
 * entries, and one list from most to least recently used.
 */
#include "fs/dcache.h"
#include "fs/vfs_priv.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/list.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

#define DCACHE_BITS 12

struct dentry {
	struct dentry *hnext;        /* its hash chain */
	struct list_node lru;
	struct inode *dir;
	struct inode *ino;           /* NULL: no such entry */
	u32 hash;
	u16 len;
	char name[];
};

/* all [ns] */
static struct dentry *table[1u << DCACHE_BITS];
static struct list_node lru = LIST_INIT(lru);
static u64 nentries, nnegative;
static u64 st_hits, st_neg_hits, st_misses, st_added, st_forgotten, st_evicted;

KCOUNTER_VAR("dcache.entries", "entries", nentries);
KCOUNTER_VAR("dcache.hits", "lookups", st_hits);
KCOUNTER_VAR("dcache.negative_hits", "lookups", st_neg_hits);
KCOUNTER_VAR("dcache.misses", "lookups", st_misses);

static u32 hash_of(const struct inode *dir, const char *s, size_t n)
{
	u64 h = 0xcbf29ce484222325ull ^ ((u64)(uptr)dir >> 4);
	for (size_t i = 0; i < n; i++)
		h = (h ^ (u8)s[i]) * 0x100000001b3ull;
	return (u32)(h ^ (h >> 32));
}

static struct dentry **slot_of(const struct inode *dir, const char *s, size_t n, u32 h)
{
	struct dentry **p = &table[h & ((1u << DCACHE_BITS) - 1)];
	while (*p && ((*p)->hash != h || (*p)->dir != dir || (*p)->len != n ||
		      memcmp((*p)->name, s, n) != 0))
		p = &(*p)->hnext;
	return p;
}

static void drop(struct dentry **p)
{
	struct dentry *d = *p;
	*p = d->hnext;
	list_remove(&d->lru);
	nentries--;
	if (!d->ino)
		nnegative--;
	kfree(d);
}

int dcache_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	struct dentry *d = *slot_of(dir, name, len, hash_of(dir, name, len));
	if (!d) {
		st_misses++;
		return 1;
	}
	list_remove(&d->lru);
	list_push_front(&lru, &d->lru);
	if (!d->ino) {
		st_neg_hits++;
		return -ENOENT;
	}
	st_hits++;
	*out = d->ino;
	return 0;
}

void dcache_add(struct inode *dir, const char *name, size_t len, struct inode *ino)
{
	u32 h = hash_of(dir, name, len);
	struct dentry **p = slot_of(dir, name, len, h);
	if (*p)
		drop(p);   /* not expected: the walk adds what it did not find */
	if (nentries >= DCACHE_MAX) {
		struct dentry *old = list_entry(lru.prev, struct dentry, lru);
		drop(slot_of(old->dir, old->name, old->len, old->hash));
		st_evicted++;
	}
	struct dentry *d = kmalloc(sizeof(*d) + len, 0);
	if (!d)
		return;   /* only slower: the next walk asks the file system again */
	d->dir = dir;
	d->ino = ino;
	d->hash = h;
	d->len = (u16)len;
	memcpy(d->name, name, len);
	p = slot_of(dir, name, len, h);   /* the eviction may have changed the chain */
	d->hnext = *p;
	*p = d;
	list_push_front(&lru, &d->lru);
	nentries++;
	if (!ino)
		nnegative++;
	st_added++;
}

void dcache_forget(struct inode *dir, const char *name, size_t len)
{
	struct dentry **p = slot_of(dir, name, len, hash_of(dir, name, len));
	if (*p) {
		drop(p);
		st_forgotten++;
	}
}

void dcache_forget_dir(struct inode *dir)
{
	if (!nentries)
		return;
	for (u32 b = 0; b < ARRAY_SIZE(table); b++)
		for (struct dentry **p = &table[b]; *p;) {
			if ((*p)->dir == dir || (*p)->ino == dir) {
				drop(p);
				st_forgotten++;
			} else {
				p = &(*p)->hnext;
			}
		}
}

void dcache_stats(struct dcache_stats *s)
{
	s->entries = nentries;
	s->negative = nnegative;
	s->max = DCACHE_MAX;
	s->hits = st_hits;
	s->negative_hits = st_neg_hits;
	s->misses = st_misses;
	s->added = st_added;
	s->forgotten = st_forgotten;
	s->evicted = st_evicted;
}
