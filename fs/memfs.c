/*
 * The RAM file system: the first file system behind the VFS (vfs.h).
 *
 * Directories keep a list of entries (name, inode) in creation order;
 * readdir gives ".", ".." and then the list. A regular file's bytes live in
 * an array of pages (a NULL page reads as zeros), or, for a file of the
 * initial archive never written, in the archive itself (borrowed: the
 * module is never freed); the first change copies it into pages. Device
 * nodes hold their rdev only (fs/dev.c gives their ops).
 *
 * Locks: entries, nlink, parent and name under vfs_ns_lock [ns]; a file's
 * pages and size under its inode's lock [lock].
 */
#include "fs/vfs_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

struct memfs_dirent {
	struct list_node link;       /* [ns] */
	struct inode *child;
	size_t len;
	char name[];
};

struct memfs_node {
	struct inode inode;          /* first: the inode is the node */
	struct list_node entries;    /* [ns] directories */
	struct page **pages;         /* [lock] regular files */
	size_t npages;               /* [lock] slots in pages */
	const u8 *borrowed;          /* [lock] archive bytes until the first change */
	char *link;                  /* symbolic links: the target, NUL ended */
};

static struct memfs_node *node_of(struct inode *i) { return (struct memfs_node *)i; }

static u64 next_ino = 2;   /* [atomic] the root is 1 */

static struct memfs_dirent *find(struct inode *dir, const char *name, size_t len)
{
	struct list_node *n;
	list_for_each(n, &node_of(dir)->entries) {
		struct memfs_dirent *d = list_entry(n, struct memfs_dirent, link);
		if (d->len == len && memcmp(d->name, name, len) == 0)
			return d;
	}
	return NULL;
}

static int memfs_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	struct memfs_dirent *d = find(dir, name, len);
	if (!d)
		return -ENOENT;
	*out = d->child;
	return 0;
}

static int memfs_link(struct inode *dir, const char *name, size_t len, struct inode *child)
{
	struct memfs_dirent *d = kmalloc(sizeof(*d) + len + 1, 0);
	char *dname = S_ISDIR(child->mode) ? kmalloc(len + 1, 0) : NULL;
	if (!d || (S_ISDIR(child->mode) && !dname)) {
		kfree(d);
		kfree(dname);
		return -ENOMEM;
	}
	d->child = child;
	d->len = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	list_push_back(&node_of(dir)->entries, &d->link);
	child->nlink++;
	if (S_ISDIR(child->mode)) {
		memcpy(dname, name, len);
		dname[len] = '\0';
		child->name = dname;
		child->parent = dir;
		child->nlink++;   /* its own "." */
		dir->nlink++;     /* its ".." */
	}
	dir->mtime_ns = dir->ctime_ns = arch_realtime_ns();
	return 0;
}

/* Drop the entry d of dir (the VFS checked it may go). */
static void drop_entry(struct inode *dir, struct memfs_dirent *d)
{
	struct inode *c = d->child;
	list_remove(&d->link);
	kfree(d);
	if (S_ISDIR(c->mode)) {
		c->nlink = 0;
		dir->nlink--;
		kfree(c->name);
		c->name = NULL;
		c->parent = NULL;
	} else {
		c->nlink--;
	}
	c->ctime_ns = dir->mtime_ns = dir->ctime_ns = arch_realtime_ns();
	vfs_maybe_destroy(c);
}

static int memfs_unlink(struct inode *dir, const char *name, size_t len)
{
	struct memfs_dirent *d = find(dir, name, len);
	if (!d)
		return -ENOENT;
	drop_entry(dir, d);
	return 0;
}

static int memfs_rename(struct inode *odir, const char *oname, size_t olen,
			struct inode *ndir, const char *nname, size_t nlen)
{
	struct memfs_dirent *od = find(odir, oname, olen);
	if (!od)
		return -ENOENT;
	struct memfs_dirent *nd = find(ndir, nname, nlen);
	if (nd == od)
		return 0;
	struct inode *c = od->child;
	/* the new entry and name first: nothing changes when memory is short */
	struct memfs_dirent *e = kmalloc(sizeof(*e) + nlen + 1, 0);
	char *dname = S_ISDIR(c->mode) ? kmalloc(nlen + 1, 0) : NULL;
	if (!e || (S_ISDIR(c->mode) && !dname)) {
		kfree(e);
		kfree(dname);
		return -ENOMEM;
	}
	if (nd)
		drop_entry(ndir, nd);
	e->child = c;
	e->len = nlen;
	memcpy(e->name, nname, nlen);
	e->name[nlen] = '\0';
	list_remove(&od->link);
	kfree(od);
	list_push_back(&node_of(ndir)->entries, &e->link);
	if (S_ISDIR(c->mode)) {
		memcpy(dname, nname, nlen);
		dname[nlen] = '\0';
		kfree(c->name);
		c->name = dname;
		c->parent = ndir;
		odir->nlink--;
		ndir->nlink++;
	}
	u64 now = arch_realtime_ns();
	odir->mtime_ns = odir->ctime_ns = ndir->mtime_ns = ndir->ctime_ns = c->ctime_ns = now;
	return 0;
}

static int memfs_readdir(struct inode *dir, u64 *pos, vfs_filldir_t fill, void *arg)
{
	u64 i = 0;
	if (!vfs_fill_dots(dir, pos, fill, arg))
		return 0;
	struct list_node *n;
	list_for_each(n, &node_of(dir)->entries) {
		if (i++ < *pos - 2)
			continue;
		struct memfs_dirent *d = list_entry(n, struct memfs_dirent, link);
		if (!fill(arg, d->name, d->len, d->child->ino, d->child->mode))
			return 0;
		(*pos)++;
	}
	return 0;
}

static const struct inode_ops memfs_iops;

static struct inode *memfs_alloc(struct inode *dir, u32 mode, u32 rdev)
{
	(void)dir;
	struct memfs_node *m = kzalloc(sizeof(*m));
	if (!m)
		return NULL;
	struct inode *i = &m->inode;
	i->refs = 0;
	i->ino = __atomic_fetch_add(&next_ino, 1, __ATOMIC_RELAXED);
	i->mode = mode;
	i->rdev = rdev;
	i->iops = &memfs_iops;
	i->fops = S_ISREG(mode) ? &memfs_file_fops : S_ISDIR(mode) ? &vfs_dir_fops : NULL;
	i->mtime_ns = i->ctime_ns = arch_realtime_ns();
	mutex_init(&i->lock, "inode");
	list_init(&m->entries);
	vfs_inode_born();
	return i;
}

static void free_pages(struct memfs_node *m, size_t from)
{
	for (size_t k = from; k < m->npages; k++) {
		if (m->pages[k])
			page_put(m->pages[k]);
		m->pages[k] = NULL;
	}
}

static void memfs_free_rcu(struct rcu_head *h)
{
	struct memfs_node *m = node_of(container_of(h, struct inode, rcu));
	kfree(m->link);
	kfree(m);
}

static void memfs_destroy(struct inode *i)
{
	struct memfs_node *m = node_of(i);
	if (!list_empty(&m->entries))
		panic("memfs_destroy: directory %llu not empty", (unsigned long long)i->ino);
	free_pages(m, 0);
	kfree(m->pages);
	kfree(i->name);
	i->name = NULL;
	vfs_inode_died();
	call_rcu(&i->rcu, memfs_free_rcu);   /* lock-free walks may still read it */
}

/* ---- regular files ---- */

/* Make page k the file's alone before it is changed: a page that sendfile
 * handed to the network (a packet in a send queue holds a reference) is
 * replaced by a copy, so a retransmission sends the bytes that were sent
 * the first time (counted: fs.memfs_cow). A page that a shared mapping
 * maps (PG_FMAPPED) is changed in place: the mapping must see the file's
 * writes (a packet holding it may then send the new bytes, as on Linux). */
static u64 cow_pages;   /* [atomic] */
KCOUNTER_VAR("fs.memfs_cow", "pages", cow_pages);

static int own_page(struct memfs_node *m, size_t k)
{
	struct page *pg = m->pages[k];
	if (!pg || page_refcount(pg) == 1 || page_fmapped(pg))
		return 0;
	struct page *c = page_alloc(0);
	if (!c)
		return -ENOMEM;
	memcpy(page_address(c), page_address(pg), PAGE_SIZE);
	m->pages[k] = c;
	page_put(pg);
	__atomic_add_fetch(&cow_pages, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Make the page array hold npages slots, and the pages for [lo, hi) (page
 * indexes) exist and the file's alone; copies borrowed archive bytes in
 * first. Nothing changes
 * on -ENOMEM (the pages taken so far stay as zeros: harmless). */
static int reserve(struct memfs_node *m, size_t npages, size_t lo, size_t hi)
{
	if (m->borrowed)
		npages = MAX(npages, ALIGN_UP(m->inode.size, PAGE_SIZE) >> PAGE_SHIFT);
	if (npages > m->npages) {
		size_t cap = MAX(npages, m->npages * 2);
		struct page **p = kzalloc(cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (m->pages)
			memcpy(p, m->pages, m->npages * sizeof(*p));
		kfree(m->pages);
		m->pages = p;
		m->npages = cap;
	}
	if (m->borrowed) {
		lo = 0;
		hi = MAX(hi, ALIGN_UP(m->inode.size, PAGE_SIZE) >> PAGE_SHIFT);
	}
	if ((hi - lo) + 64 > page_free_count())
		return -ENOMEM;
	for (size_t k = lo; k < hi; k++) {
		if (m->pages[k]) {
			if (own_page(m, k) < 0)
				return -ENOMEM;
			continue;
		}
		m->pages[k] = page_alloc_zeroed(0);
		if (!m->pages[k])
			return -ENOMEM;
	}
	if (m->borrowed) {
		for (u64 off = 0; off < m->inode.size; off += PAGE_SIZE)
			memcpy(page_address(m->pages[off >> PAGE_SHIFT]), m->borrowed + off,
			       MIN(PAGE_SIZE, m->inode.size - off));
		m->borrowed = NULL;
	}
	return 0;
}

static int memfs_truncate(struct inode *i, u64 size)
{
	struct memfs_node *m = node_of(i);
	if (size > MEMFS_FILE_MAX)
		return -EFBIG;
	size_t np = ALIGN_UP(size, PAGE_SIZE) >> PAGE_SHIFT;
	int r = reserve(m, np, 0, 0);
	if (r < 0)
		return r;
	if (size < i->size) {
		free_pages(m, np);
		/* zero the tail of the last page: a later growth reads zeros */
		if ((size & (PAGE_SIZE - 1)) && m->pages[np - 1] && own_page(m, np - 1) == 0)
			memset((u8 *)page_address(m->pages[np - 1]) + (size & (PAGE_SIZE - 1)), 0,
			       PAGE_SIZE - (size & (PAGE_SIZE - 1)));
	}
	i->size = size;
	i->mtime_ns = i->ctime_ns = arch_realtime_ns();
	return 0;
}

static long memfs_read(struct file *f, struct uio *u, u64 *pos)
{
	struct inode *i = f->inode;
	struct memfs_node *m = node_of(i);
	mutex_lock(&i->lock);
	u64 done = 0, off = *pos;
	size_t want = u->len;   /* u->len counts down as bytes move */
	while (u->len && off < i->size) {
		size_t in = off & (PAGE_SIZE - 1);
		size_t k = (size_t)MIN(MIN(u->len, PAGE_SIZE - in), i->size - off);
		size_t got;
		if (m->borrowed) {
			got = uio_to(u, m->borrowed + off, k);
		} else {
			struct page *pg = m->pages[off >> PAGE_SHIFT];
			got = pg ? uio_to(u, (u8 *)page_address(pg) + in, k) : uio_to(u, vfs_zero_page, k);
		}
		done += got;
		off += got;
		if (got < k)
			break;
	}
	mutex_unlock(&i->lock);
	*pos = off;
	return done || !want || off >= i->size ? (long)done : -EFAULT;
}

static long memfs_write(struct file *f, struct uio *u, u64 *pos)
{
	struct inode *i = f->inode;
	struct memfs_node *m = node_of(i);
	mutex_lock(&i->lock);
	u64 off = (f->flags & O_APPEND) ? i->size : *pos;
	if (off >= MEMFS_FILE_MAX || u->len > MEMFS_FILE_MAX - off) {
		mutex_unlock(&i->lock);
		return -EFBIG;
	}
	u64 end = off + u->len;
	size_t np = ALIGN_UP(MAX(end, i->size), PAGE_SIZE) >> PAGE_SHIFT;
	int r = u->len ? reserve(m, np, off >> PAGE_SHIFT, ALIGN_UP(end, PAGE_SIZE) >> PAGE_SHIFT)
		       : 0;
	if (r < 0) {
		mutex_unlock(&i->lock);
		return r;
	}
	u64 done = 0;
	size_t want = u->len;
	while (u->len) {
		size_t in = off & (PAGE_SIZE - 1);
		size_t k = (size_t)MIN(u->len, PAGE_SIZE - in);
		size_t got = uio_from(u, (u8 *)page_address(m->pages[off >> PAGE_SHIFT]) + in, k);
		done += got;
		off += got;
		if (got < k)
			break;
	}
	if (off > i->size)
		i->size = off;
	if (done)
		i->mtime_ns = i->ctime_ns = arch_realtime_ns();
	mutex_unlock(&i->lock);
	*pos = off;
	return done || !want ? (long)done : -EFAULT;
}

/* sendfile's source by reference: the page under byte off (the archive's
 * own page for a file never written), a reference taken. -EOPNOTSUPP for
 * a hole (the caller copies zeros), 0 bytes at or past the end. */
static int memfs_page_ref(struct file *f, u64 off, struct page **pg, u32 *pg_off, u32 *len)
{
	struct inode *i = f->inode;
	struct memfs_node *m = node_of(i);
	int r = 0;
	*len = 0;
	mutex_lock(&i->lock);
	if (off >= i->size)
		goto out;
	if (m->borrowed) {
		const u8 *p = m->borrowed + off;
		struct page *ap = virt_to_page(p);
		if (!ap || page_refcount(ap) == 0) {   /* not pinned at boot */
			r = -EOPNOTSUPP;
			goto out;
		}
		*pg = ap;
		*pg_off = (u32)((uptr)p & (PAGE_SIZE - 1));
	} else {
		size_t k = (size_t)(off >> PAGE_SHIFT);
		if (k >= m->npages || !m->pages[k]) {
			r = -EOPNOTSUPP;
			goto out;
		}
		*pg = m->pages[k];
		*pg_off = (u32)(off & (PAGE_SIZE - 1));
	}
	*len = (u32)MIN((u64)(PAGE_SIZE - *pg_off), i->size - off);
	page_get(*pg);
out:
	mutex_unlock(&i->lock);
	return r;
}

/* A shared mapping's page: made the file's own (the archive's bytes
 * copied in first; a hole gets a zeroed page) and marked PG_FMAPPED under
 * the inode's lock, so every later write changes it in place. The
 * mapping's writes are the file's at once: a RAM file has nothing to
 * write back (no map_writers). */
static int memfs_map_page(struct file *f, u64 idx, bool write, struct page **pg)
{
	(void)write;
	struct inode *i = f->inode;
	struct memfs_node *m = node_of(i);
	mutex_lock(&i->lock);
	size_t np = ALIGN_UP(i->size, PAGE_SIZE) >> PAGE_SHIFT;
	int r = idx < np ? reserve(m, np, (size_t)idx, (size_t)idx + 1) : -ENXIO;
	if (r == 0) {
		*pg = m->pages[idx];
		page_set_fmapped(*pg);
		page_get(*pg);
	}
	mutex_unlock(&i->lock);
	return r;
}

const struct file_ops memfs_file_fops = {
	.read = memfs_read,
	.write = memfs_write,
	.page_ref = memfs_page_ref,
	.map_page = memfs_map_page,
	.seekable = true,
};

/* Also without a lock (get_link_rcu): set before the link is linked,
 * freed after a grace period. */
static const char *memfs_get_link(struct inode *i) { return node_of(i)->link; }

int memfs_set_link(struct inode *i, const char *target, size_t len)
{
	char *t = kmalloc(len + 1, 0);
	if (!t)
		return -ENOMEM;
	memcpy(t, target, len);
	t[len] = '\0';
	node_of(i)->link = t;
	i->size = len;
	return 0;
}

/* The RAM file system keeps no access times of its own (stat reports the
 * mtime) until one is set here; from then on stat reports that one. */
static int memfs_setattr(struct inode *i, unsigned mask, u32 mode, u64 atime_ns, u64 mtime_ns)
{
	mutex_lock(&i->lock);
	if (mask & VFS_SET_ATIME)
		i->atime_ns = atime_ns ? atime_ns : 1;   /* 0 means "not set" */
	if (mask & VFS_SET_MODE)
		i->mode = (i->mode & S_IFMT) | mode;
	if (mask & VFS_SET_MTIME)
		i->mtime_ns = mtime_ns;
	i->ctime_ns = arch_realtime_ns();
	mutex_unlock(&i->lock);
	return 0;
}

static int memfs_chown(struct inode *i, u32 uid, u32 gid, u32 mode)
{
	mutex_lock(&i->lock);
	i->uid = uid;
	i->gid = gid;
	i->mode = mode;
	i->ctime_ns = arch_realtime_ns();
	mutex_unlock(&i->lock);
	return 0;
}

static const struct inode_ops memfs_iops = {
	.dcache = true,
	.lookup = memfs_lookup,
	.link = memfs_link,
	.unlink = memfs_unlink,
	.rename = memfs_rename,
	.readdir = memfs_readdir,
	.alloc = memfs_alloc,
	.truncate = memfs_truncate,
	.get_link = memfs_get_link,
	.get_link_rcu = memfs_get_link,
	.destroy = memfs_destroy,
	.setattr = memfs_setattr,
	.chown = memfs_chown,
};

struct inode *memfs_new_root(void)
{
	struct inode *r = memfs_alloc(NULL, S_IFDIR | 0755, 0);
	if (!r)
		return NULL;
	r->ino = 1;
	r->nlink = 2;
	return r;
}

void memfs_borrow(struct inode *i, const u8 *data, size_t size)
{
	node_of(i)->borrowed = data;
	i->size = size;
}
