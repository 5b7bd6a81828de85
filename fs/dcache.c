/*
 * The directory cache (fs/dcache.h): a hash of (directory, name) to
 * entries, and one list that CLOCK walks to find an entry to let go.
 * Hash chains are read without a lock (dcache_lookup_rcu): an entry is
 * published whole with a release store, unlinked with one store, and freed
 * after a grace period with its magic cleared first.
 */
#include "fs/dcache.h"
#include "fs/vfs_priv.h"
#include "kernel/arch/arch.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/list.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/sync/rcu.h"

#define DCACHE_BITS 12
#define DENTRY_LIVE 0xd3c4ed1eu

struct dentry {
	struct dentry *hnext;        /* its hash chain [rcu] */
	struct list_node lru;        /* [ns] */
	struct inode *dir;
	struct inode *ino;           /* NULL: no such entry */
	u32 hash;
	u32 magic;                   /* DENTRY_LIVE until its grace period ends */
	u8 referenced;               /* looked up since CLOCK last passed */
	u16 len;
	struct rcu_head rcu;
	char name[];
};

/* chains: written [ns], read [rcu]; the rest [ns] */
static struct dentry *table[1u << DCACHE_BITS];
static struct list_node lru = LIST_INIT(lru);
static u64 nentries, nnegative;
static u64 st_hits, st_neg_hits, st_misses, st_added, st_forgotten, st_evicted;

/* what lock-free readers count, each CPU its own line */
struct dcache_pcpu {
	u64 hits, neg_hits, rcu_walks, locked_walks, freed_seen;
} __aligned(64);
static struct dcache_pcpu pcpu[MAX_CPUS];
u32 dcache_test_dwell;

KCOUNTER_VAR("dcache.entries", "entries", nentries);
KCOUNTER_VAR("dcache.locked_hits", "lookups", st_hits);
KCOUNTER_VAR("dcache.locked_negative_hits", "lookups", st_neg_hits);
KCOUNTER_VAR("dcache.misses", "lookups", st_misses);
KCOUNTER_PCPU("dcache.rcu_hits", "lookups", pcpu, hits);
KCOUNTER_PCPU("dcache.rcu_negative_hits", "lookups", pcpu, neg_hits);
KCOUNTER_PCPU("dcache.rcu_walks", "walks", pcpu, rcu_walks);
KCOUNTER_PCPU("dcache.locked_walks", "walks", pcpu, locked_walks);
KCOUNTER_PCPU("dcache.freed_seen", "entries", pcpu, freed_seen);

static u32 hash_of(const struct inode *dir, const char *s, size_t n)
{
	u64 h = dcache_hash_begin(dir);
	for (size_t i = 0; i < n; i++)
		h = dcache_hash_step(h, s[i]);
	return dcache_hash_end(h);
}

static bool matches(const struct dentry *d, const struct inode *dir, const char *s, size_t n,
		    u32 h)
{
	if (d->hash != h || d->dir != dir || d->len != n)
		return false;
	for (size_t i = 0; i < n; i++)   /* names are short: no call */
		if (d->name[i] != s[i])
			return false;
	return true;
}

static struct dentry **slot_of(const struct inode *dir, const char *s, size_t n, u32 h)
{
	struct dentry **p = &table[h & ((1u << DCACHE_BITS) - 1)];
	while (*p && !matches(*p, dir, s, n, h))
		p = &(*p)->hnext;
	return p;
}

static void free_rcu(struct rcu_head *h)
{
	struct dentry *d = container_of(h, struct dentry, rcu);
	d->magic = 0;
	kfree(d);
}

static void drop(struct dentry **p)
{
	struct dentry *d = *p;
	__atomic_store_n(p, d->hnext, __ATOMIC_RELEASE);   /* d->hnext stays for readers on d */
	list_remove(&d->lru);
	nentries--;
	if (!d->ino)
		nnegative--;
	call_rcu(&d->rcu, free_rcu);
}

int dcache_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	struct dentry *d = *slot_of(dir, name, len, hash_of(dir, name, len));
	if (!d) {
		st_misses++;
		return 1;
	}
	d->referenced = 1;
	if (!d->ino) {
		st_neg_hits++;
		return -ENOENT;
	}
	st_hits++;
	*out = d->ino;
	return 0;
}

int dcache_lookup_rcu(struct inode *dir, const char *name, size_t len, u32 h,
		      struct inode **out)
{
	struct dcache_pcpu *c = &pcpu[cpu_id()];   /* preemption is off */
	struct dentry *d = rcu_dereference(table[h & ((1u << DCACHE_BITS) - 1)]);
	while (d && !matches(d, dir, name, len, h))
		d = rcu_dereference(d->hnext);
	if (!d)
		return 1;   /* counted as a miss by the locked walk that follows */
	for (volatile u32 k = dcache_test_dwell; k; k--)
		;   /* a test widens the window a free would hit */
	if (__atomic_load_n(&d->magic, __ATOMIC_RELAXED) != DENTRY_LIVE) {
		c->freed_seen++;   /* a grace period ended under a reader: a bug */
		return 1;
	}
	if (!__atomic_load_n(&d->referenced, __ATOMIC_RELAXED))
		__atomic_store_n(&d->referenced, 1, __ATOMIC_RELAXED);
	struct inode *ino = d->ino;
	if (!ino) {
		c->neg_hits++;
		return -ENOENT;
	}
	c->hits++;
	*out = ino;
	return 0;
}

void dcache_count_walk(bool lockless)
{
	preempt_disable();
	struct dcache_pcpu *c = &pcpu[cpu_id()];
	if (lockless)
		c->rcu_walks++;
	else
		c->locked_walks++;
	preempt_enable();
}

/* CLOCK: from the list's tail, an entry looked up since the hand last
 * passed goes to the front with its mark cleared; the first one not
 * looked up goes. */
static void evict_one(void)
{
	for (u64 k = 0; k <= nentries; k++) {
		struct dentry *old = list_entry(lru.prev, struct dentry, lru);
		if (old->referenced && k < nentries) {
			old->referenced = 0;
			list_remove(&old->lru);
			list_push_front(&lru, &old->lru);
			continue;
		}
		drop(slot_of(old->dir, old->name, old->len, old->hash));
		st_evicted++;
		return;
	}
}

void dcache_add(struct inode *dir, const char *name, size_t len, struct inode *ino)
{
	u32 h = hash_of(dir, name, len);
	struct dentry **p = slot_of(dir, name, len, h);
	if (*p)
		drop(p);   /* not expected: the walk adds what it did not find */
	if (nentries >= DCACHE_MAX)
		evict_one();
	struct dentry *d = kmalloc(sizeof(*d) + len, 0);
	if (!d)
		return;   /* only slower: the next walk asks the file system again */
	d->dir = dir;
	d->ino = ino;
	d->hash = h;
	d->magic = DENTRY_LIVE;
	d->referenced = 0;
	d->len = (u16)len;
	memcpy(d->name, name, len);
	p = slot_of(dir, name, len, h);   /* the eviction may have changed the chain */
	d->hnext = *p;
	rcu_assign_pointer(*p, d);
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

void dcache_forget_dead(void)
{
	if (!nentries)
		return;
	for (u32 b = 0; b < ARRAY_SIZE(table); b++)
		for (struct dentry **p = &table[b]; *p;) {
			struct inode *ino = (*p)->ino;
			if (ino && __atomic_load_n(&ino->refs, __ATOMIC_ACQUIRE) == VFS_INODE_DEAD) {
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
	s->rcu_walks = s->locked_walks = s->freed_seen = 0;
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		const struct dcache_pcpu *c = &pcpu[i];
		s->hits += __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
		s->negative_hits += __atomic_load_n(&c->neg_hits, __ATOMIC_RELAXED);
		s->rcu_walks += __atomic_load_n(&c->rcu_walks, __ATOMIC_RELAXED);
		s->locked_walks += __atomic_load_n(&c->locked_walks, __ATOMIC_RELAXED);
		s->freed_seen += __atomic_load_n(&c->freed_seen, __ATOMIC_RELAXED);
	}
}
