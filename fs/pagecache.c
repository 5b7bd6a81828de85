/*
 * The page cache (fs/pagecache.h): a hash of (map, page index) to entries,
 * each map's entries on a list (truncate and removal walk only the file's
 * own pages), and one clock list of every entry for eviction.
 *
 * Entries are never freed once made: an entry let go of goes to a spare
 * list that pcache_add takes from first. So the reclaimer, which the page
 * allocator calls from whatever context ran out (the object allocator
 * growing a cache among them), frees pages only and never calls kfree.
 */
#include "fs/pagecache.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/param.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/sync/spinlock.h"

#define PC_HASH_BITS 12

struct pc_entry {
	struct pcache_map *map;      /* NULL: spare */
	u64 idx;
	struct page *pg;
	struct pc_entry *hnext;      /* its hash chain */
	struct list_node in_map;     /* the map's list, or the spare list */
	struct list_node clock;
	struct list_node dirty_link; /* the map's dirty list, while dirty */
	bool used;                   /* found since the hand last passed */
	u8 dirty;                    /* the file system's units to write (0: clean) */
};

static spinlock_t pcache_lock = SPINLOCK_INIT("pcache");
static struct pc_entry *hash[1u << PC_HASH_BITS];   /* [pcache_lock] */
static struct list_node clock_list = LIST_INIT(clock_list);   /* [pcache_lock] */
static struct list_node spare = LIST_INIT(spare);   /* [pcache_lock] */
static u64 npages, limit;                            /* [pcache_lock] */
static u64 st_hits, st_misses, st_added, st_evicted, st_dropped, st_in_place, st_reclaims;
static u64 ndirty, nwriteback, st_written, st_copied;   /* [pcache_lock] */
static bool reclaim_set;

KCOUNTER_VAR("pagecache.pages", "pages", npages);
KCOUNTER_VAR("pagecache.hits", "pages", st_hits);
KCOUNTER_VAR("pagecache.misses", "pages", st_misses);
KCOUNTER_VAR("pagecache.evicted", "pages", st_evicted);
KCOUNTER_VAR("pagecache.dirty", "pages", ndirty);
KCOUNTER_VAR("pagecache.writeback", "pages", nwriteback);
KCOUNTER_VAR("pagecache.written_back", "pages", st_written);
KCOUNTER_VAR("pagecache.write_copies", "pages", st_copied);

static int set_limit(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, false, &n) < 0 || n < 16)
		return -EINVAL;
	limit = n;
	return 0;
}
KPARAM("pcache.limit", set_limit, "pages the page cache keeps at most (at least 16; default: "
       "a quarter of the memory free when it is first used)");

static unsigned hash_of(const struct pcache_map *m, u64 idx)
{
	u64 k = ((u64)(uptr)m >> 4) ^ (idx * 0x9e3779b97f4a7c15ull);
	return (unsigned)((k * 0x9e3779b97f4a7c15ull) >> (64 - PC_HASH_BITS));
}

static struct pc_entry **slot_of(struct pcache_map *m, u64 idx)
{
	struct pc_entry **s = &hash[hash_of(m, idx)];
	while (*s && ((*s)->map != m || (*s)->idx != idx))
		s = &(*s)->hnext;
	return s;
}

/* Take e out of everything and make it spare; returns its page, whose
 * cache reference the caller puts ([pcache_lock] held). */
static struct page *unlink_entry(struct pc_entry *e)
{
	struct pc_entry **s = slot_of(e->map, e->idx);
	*s = e->hnext;
	list_remove(&e->in_map);
	list_remove(&e->clock);
	if (e->dirty) {   /* its bytes go with it (a truncate, a file removed) */
		list_remove(&e->dirty_link);
		e->map->ndirty--;
		ndirty--;
		e->dirty = 0;
	}
	e->map->npages--;
	npages--;
	e->map = NULL;
	struct page *pg = e->pg;
	e->pg = NULL;
	list_push_back(&spare, &e->in_map);
	return pg;
}

/* Turn the clock hand until n pages are let go of or every page was seen
 * twice; the pages go into out[] for the caller to put after the lock
 * ([pcache_lock] held). Returns how many. */
static unsigned evict_locked(struct page **out, unsigned n)
{
	unsigned got = 0;
	u64 look = 2 * npages;
	while (got < n && look-- && !list_empty(&clock_list)) {
		struct pc_entry *e = list_entry(clock_list.next, struct pc_entry, clock);
		list_remove(&e->clock);
		list_push_back(&clock_list, &e->clock);
		if (e->used) {
			e->used = false;
			continue;
		}
		if (page_refcount(e->pg) != 1 || e->dirty)
			continue;   /* lent or being read: not ours alone; dirty: not on the disk */
		out[got++] = unlink_entry(e);
		st_evicted++;
	}
	return got;
}

static u64 reclaim(u64 want)
{
	struct page *pages[32];
	u64 done = 0;
	__atomic_fetch_add(&st_reclaims, 1, __ATOMIC_RELAXED);
	while (done < want) {
		unsigned long f = irq_save();
		if (!spin_trylock(&pcache_lock)) {
			irq_restore(f);
			break;
		}
		unsigned k = evict_locked(pages, (unsigned)MIN(want - done, (u64)ARRAY_SIZE(pages)));
		spin_unlock(&pcache_lock);
		irq_restore(f);
		for (unsigned i = 0; i < k; i++)
			page_put(pages[i]);
		done += k;
		if (!k)
			break;
	}
	return done;
}

void pcache_map_init(struct pcache_map *m)
{
	list_init(&m->pages);
	list_init(&m->dirty);
	m->npages = 0;
	m->ndirty = 0;
}

struct page *pcache_find(struct pcache_map *m, u64 idx)
{
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	struct pc_entry *e = *slot_of(m, idx);
	struct page *pg = NULL;
	if (e) {
		e->used = true;
		pg = e->pg;
		page_get(pg);
		st_hits++;
	} else {
		st_misses++;
	}
	spin_unlock_irqrestore(&pcache_lock, f);
	return pg;
}

bool pcache_has(struct pcache_map *m, u64 idx)
{
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	bool r = *slot_of(m, idx) != NULL;
	spin_unlock_irqrestore(&pcache_lock, f);
	return r;
}

bool pcache_mark_fmapped(struct pcache_map *m, u64 idx, struct page *held)
{
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	struct pc_entry *e = *slot_of(m, idx);
	bool r = e && e->pg == held;
	if (r)
		page_set_fmapped(held);
	spin_unlock_irqrestore(&pcache_lock, f);
	return r;
}

/* e's units become dirty ([pcache_lock] held) */
static void dirty_locked(struct pcache_map *m, struct pc_entry *e, u8 units)
{
	if (!e->dirty) {
		list_push_back(&m->dirty, &e->dirty_link);
		m->ndirty++;
		ndirty++;
	}
	e->dirty |= units;
}

unsigned pcache_dirty_fmapped(struct pcache_map *m, u64 size, u32 unit)
{
	unsigned n = 0;
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	struct list_node *it;
	list_for_each(it, &m->pages) {
		struct pc_entry *e = list_entry(it, struct pc_entry, in_map);
		if (!page_fmapped(e->pg))
			continue;
		u8 units = 0;
		for (u32 u = 0; u < PAGE_SIZE / unit && e->idx * PAGE_SIZE + (u64)u * unit < size; u++)
			units |= (u8)(1u << u);
		if (units) {
			dirty_locked(m, e, units);
			n++;
		}
	}
	spin_unlock_irqrestore(&pcache_lock, f);
	return n;
}

struct page *pcache_add(struct pcache_map *m, u64 idx, struct page *pg)
{
	if (!reclaim_set) {   /* first use: the default limit, the reclaimer */
		unsigned long f = spin_lock_irqsave(&pcache_lock);
		if (!reclaim_set) {
			if (!limit)
				limit = MAX(page_free_count() / 4, 16ull);
			reclaim_set = true;
			page_set_reclaim(reclaim);
		}
		spin_unlock_irqrestore(&pcache_lock, f);
	}
	struct pc_entry *fresh = NULL;
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	bool have_spare = !list_empty(&spare);
	spin_unlock_irqrestore(&pcache_lock, f);
	if (!have_spare && !(fresh = kzalloc(sizeof(*fresh))))
		return pg;   /* uncached, still the caller's */
	struct page *out[8];
	unsigned nout = 0;
	f = spin_lock_irqsave(&pcache_lock);
	struct pc_entry **s = slot_of(m, idx);
	struct page *res;
	if (*s) {   /* another filler was first */
		res = (*s)->pg;
		page_get(res);
		(*s)->used = true;
		out[nout++] = pg;
	} else {
		struct pc_entry *e = fresh;
		if (e) {
			fresh = NULL;
		} else if (!list_empty(&spare)) {
			e = list_entry(spare.next, struct pc_entry, in_map);
			list_remove(&e->in_map);
		}
		if (!e) {   /* the spare went to another adder meanwhile */
			spin_unlock_irqrestore(&pcache_lock, f);
			return pg;
		}
		if (npages >= limit)
			nout += evict_locked(out + nout, (unsigned)MIN(npages + 1 - limit, 7ull));
		e->map = m;
		e->idx = idx;
		e->pg = pg;
		e->used = true;
		e->hnext = NULL;
		*s = e;
		list_push_back(&m->pages, &e->in_map);
		list_push_back(&clock_list, &e->clock);
		m->npages++;
		npages++;
		st_added++;
		page_get(pg);   /* the cache's; the caller keeps its own */
		res = pg;
	}
	if (fresh) {   /* not needed after all: keep it for the next add */
		list_push_back(&spare, &fresh->in_map);
	}
	spin_unlock_irqrestore(&pcache_lock, f);
	for (unsigned i = 0; i < nout; i++)
		page_put(out[i]);
	return res;
}

void pcache_write(struct pcache_map *m, u64 off, const void *buf, size_t len)
{
	const u8 *in = buf;
	while (len) {
		u64 idx = off / PAGE_SIZE;
		size_t at = (size_t)(off % PAGE_SIZE), k = MIN(len, (size_t)PAGE_SIZE - at);
		struct page *gone = NULL;
		unsigned long f = spin_lock_irqsave(&pcache_lock);
		struct pc_entry *e = *slot_of(m, idx);
		if (e && page_refcount(e->pg) == 1) {
			memcpy((u8 *)page_address(e->pg) + at, in, k);
			st_in_place++;
		} else if (e) {
			gone = unlink_entry(e);
			st_dropped++;
		}
		spin_unlock_irqrestore(&pcache_lock, f);
		if (gone)
			page_put(gone);
		in += k;
		off += k;
		len -= k;
	}
}

void pcache_drop(struct pcache_map *m, u64 idx)
{
	for (;;) {
		struct page *out[16];
		unsigned n = 0;
		unsigned long f = spin_lock_irqsave(&pcache_lock);
		struct list_node *it, *tmp;
		list_for_each_safe(it, tmp, &m->pages) {
			struct pc_entry *e = list_entry(it, struct pc_entry, in_map);
			if (e->idx < idx)
				continue;
			out[n++] = unlink_entry(e);
			st_dropped++;
			if (n == ARRAY_SIZE(out))
				break;
		}
		spin_unlock_irqrestore(&pcache_lock, f);
		for (unsigned i = 0; i < n; i++)
			page_put(out[i]);
		if (n < ARRAY_SIZE(out))
			return;
	}
}

int pcache_write_page(struct pcache_map *m, u64 idx, struct page *held, struct page **spare,
		      u32 at, const void *buf, u32 len, u8 units)
{
	if (at > PAGE_SIZE || len > PAGE_SIZE - at || !units)
		return -EINVAL;
	struct page *gone = NULL;
	int r = 0;
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	struct pc_entry *e = *slot_of(m, idx);
	if (!e || e->pg != held) {
		r = -ENOENT;
	} else if (page_refcount(held) == 2 || page_fmapped(held)) {
		/* the cache's and the caller's, or a shared mapping's: it must
		 * see the bytes */
		memcpy((u8 *)page_address(held) + at, buf, len);
		st_in_place++;
	} else if (!spare || !*spare) {
		r = -EAGAIN;
	} else {   /* lent: it keeps its bytes, the cache takes a copy */
		struct page *c = *spare;
		*spare = NULL;
		memcpy(page_address(c), page_address(held), PAGE_SIZE);
		memcpy((u8 *)page_address(c) + at, buf, len);
		e->pg = c;
		gone = held;   /* the cache's reference to it */
		st_copied++;
	}
	if (r == 0) {
		dirty_locked(m, e, units);
		e->used = true;
	}
	spin_unlock_irqrestore(&pcache_lock, f);
	if (gone)
		page_put(gone);
	return r;
}

unsigned pcache_take_dirty(struct pcache_map *m, struct pcache_dirty *out, unsigned max)
{
	unsigned n = 0;
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	while (n < max && !list_empty(&m->dirty)) {
		struct pc_entry *e = list_entry(m->dirty.next, struct pc_entry, dirty_link);
		list_remove(&e->dirty_link);
		m->ndirty--;
		ndirty--;
		nwriteback++;
		page_get(e->pg);
		out[n++] = (struct pcache_dirty){ e->idx, e->pg, e->dirty };
		e->dirty = 0;
	}
	spin_unlock_irqrestore(&pcache_lock, f);
	return n;
}

void pcache_written(struct pcache_dirty *d, unsigned n, bool ok)
{
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	nwriteback -= n;
	if (ok)
		st_written += n;
	spin_unlock_irqrestore(&pcache_lock, f);
	for (unsigned i = 0; i < n; i++)
		page_put(d[i].pg);
}

u64 pcache_limit(void)
{
	return __atomic_load_n(&limit, __ATOMIC_RELAXED);
}

u64 pcache_dirty_count(void)
{
	return __atomic_load_n(&ndirty, __ATOMIC_RELAXED);
}

u64 pcache_set_limit(u64 pages)
{
	struct page *out[32];
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	u64 old = limit;
	limit = pages ? MAX(pages, 16ull) : MAX(page_free_count() / 4, 16ull);
	for (;;) {
		unsigned n = npages > limit ? evict_locked(out, (unsigned)MIN(npages - limit, 32ull)) : 0;
		spin_unlock_irqrestore(&pcache_lock, f);
		for (unsigned i = 0; i < n; i++)
			page_put(out[i]);
		if (!n)
			return old;
		f = spin_lock_irqsave(&pcache_lock);
	}
}

void pcache_stats(struct pcache_stats *s)
{
	memset(s, 0, sizeof(*s));
	unsigned long f = spin_lock_irqsave(&pcache_lock);
	s->pages = npages;
	s->limit = limit;
	struct list_node *it;
	list_for_each(it, &clock_list) {
		struct pc_entry *e = list_entry(it, struct pc_entry, clock);
		if (page_refcount(e->pg) > 1)
			s->lent++;
	}
	spin_unlock_irqrestore(&pcache_lock, f);
	s->hits = st_hits;
	s->misses = st_misses;
	s->added = st_added;
	s->evicted = st_evicted;
	s->dropped = st_dropped;
	s->written_in_place = st_in_place;
	s->dirty = ndirty;
	s->writeback = nwriteback;
	s->written_back = st_written;
	s->write_copies = st_copied;
	s->reclaims = st_reclaims;
}
