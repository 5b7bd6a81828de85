/*
 * The VFS and the RAM file system from inside: names, data, pipes through
 * kernel buffers, every inode, file and page returned at the end, and the
 * errors Linux gives (the user tier compares the same from programs).
 */
#include "kernel/test/ktest.h"
#include "fs/vfs_priv.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

static long kwrite(struct file *f, const void *p, size_t n)
{
	struct uio u = { (u64)(uptr)p, n, false };
	return vfs_write(f, &u, NULL);
}

static long kread(struct file *f, void *p, size_t n)
{
	struct uio u = { (u64)(uptr)p, n, false };
	return vfs_read(f, &u, NULL);
}

KTEST(vfs_names_data_and_no_leak)
{
	struct inode *root = vfs_root();
	u64 inodes = vfs_inodes_alive(), files = vfs_files_alive(), pages = page_free_count();
	KT_ASSERT(vfs_mkdir(root, "/kt", 0755) == 0);
	KT_ASSERT(vfs_mkdir(root, "/kt", 0755) == -EEXIST);
	KT_ASSERT(vfs_mkdir(root, "/kt/a/b", 0755) == -ENOENT);
	struct file *f;
	KT_ASSERT(vfs_open(root, "/kt/f", O_CREAT | O_RDWR, 0644, &f) == 0);
	static u8 big[3 * PAGE_SIZE + 100];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (u8)(i * 13);
	KT_ASSERT(kwrite(f, big, sizeof(big)) == (long)sizeof(big));
	KT_ASSERT(f->inode->size == sizeof(big));
	static u8 back[sizeof(big)];
	u64 pos = 0;
	struct uio u = { (u64)(uptr)back, sizeof(back), false };
	KT_ASSERT(vfs_read(f, &u, &pos) == (long)sizeof(back));
	KT_ASSERT(memcmp(big, back, sizeof(big)) == 0, "data read back differs");
	struct inode *ino;
	KT_ASSERT(vfs_lookup(root, "/kt/../kt/./f", &ino) == 0);
	KT_ASSERT(ino == f->inode);
	vfs_iput(ino);
	KT_ASSERT(vfs_lookup(root, "/kt/f/", &ino) == -ENOTDIR);
	KT_ASSERT(vfs_rename(root, "/kt/f", root, "/kt/g") == 0);
	KT_ASSERT(vfs_lookup(root, "/kt/f", &ino) == -ENOENT);
	KT_ASSERT(vfs_rmdir(root, "/kt") == -ENOTEMPTY);
	KT_ASSERT(vfs_unlink(root, "/kt/g") == 0);
	/* unlinked and still open: the data stays until the last put */
	KT_ASSERT(f->inode->nlink == 0);
	KT_ASSERT(vfs_inodes_alive() == inodes + 2);
	file_put(f);
	KT_ASSERT(vfs_inodes_alive() == inodes + 1);
	char path[16];
	KT_ASSERT(vfs_lookup(root, "/kt", &ino) == 0);
	KT_ASSERT(vfs_path_of(ino, path, sizeof(path)) == 4 && strcmp(path, "/kt") == 0);
	KT_ASSERT(vfs_path_of(ino, path, 3) == -ERANGE);
	KT_ASSERT(vfs_rmdir(root, "/kt") == 0);
	KT_ASSERT(vfs_path_of(ino, path, sizeof(path)) == -ENOENT);
	vfs_iput(ino);
	KT_ASSERT(vfs_inodes_alive() == inodes, "%llu inodes, %llu before",
		  (unsigned long long)vfs_inodes_alive(), (unsigned long long)inodes);
	KT_ASSERT(vfs_files_alive() == files);
	/* the file's pages went back (the per-CPU caches may hold a few) */
	KT_ASSERT(page_free_count() + 8 >= pages, "%llu free pages, %llu before",
		  (unsigned long long)page_free_count(), (unsigned long long)pages);
	vfs_iput(root);
}

/* sendfile's lent pages (file_ops.page_ref): a page lent keeps the bytes
 * it had when lent though the file is then written or truncated (the
 * file gets a copy), and outlives the file. */
KTEST(vfs_lent_page_keeps_its_bytes)
{
	struct inode *root = vfs_root();
	u64 inodes = vfs_inodes_alive();
	struct file *f;
	KT_ASSERT(vfs_open(root, "/ktlend", O_CREAT | O_RDWR, 0644, &f) == 0);
	static u8 a[2 * PAGE_SIZE], b[2 * PAGE_SIZE];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	KT_ASSERT(kwrite(f, a, sizeof(a)) == (long)sizeof(a));
	struct page *pg;
	u32 off, len;
	KT_ASSERT(f->ops->page_ref && f->ops->page_ref(f, 100, &pg, &off, &len) == 0);
	KT_ASSERT(off == 100 && len == PAGE_SIZE - 100, "off %u len %u", off, len);
	u32 refs = page_refcount(pg);
	KT_ASSERT(refs == 2, "a lent page has 2 references (the file's, ours): %u", refs);
	KT_ASSERT(f->ops->page_ref(f, sizeof(a), &pg, &off, &len) == 0 && len == 0,
		  "at the end: no page (len %u)", len);
	struct page *p0;
	KT_ASSERT(f->ops->page_ref(f, 0, &p0, &off, &len) == 0 && p0 == pg);
	page_put(p0);
	/* overwrite the whole file: the lent page still holds 'a' */
	u64 pos = 0;
	struct uio u = { (u64)(uptr)b, sizeof(b), false };
	KT_ASSERT(vfs_write(f, &u, &pos) == (long)sizeof(b));
	KT_ASSERT(page_refcount(pg) == 1, "the file let go of the lent page: %u",
		  page_refcount(pg));
	const u8 *q = page_address(pg);
	KT_ASSERT(q[0] == 'a' && q[PAGE_SIZE - 1] == 'a', "the lent page changed");
	static u8 back[2 * PAGE_SIZE];
	pos = 0;
	struct uio r = { (u64)(uptr)back, sizeof(back), false };
	KT_ASSERT(vfs_read(f, &r, &pos) == (long)sizeof(back) && memcmp(back, b, sizeof(b)) == 0,
		  "the file reads its new bytes");
	/* truncate into a lent page: its tail is not zeroed under the lender */
	struct page *p1;
	KT_ASSERT(f->ops->page_ref(f, PAGE_SIZE, &p1, &off, &len) == 0);
	KT_ASSERT(vfs_truncate(f->inode, PAGE_SIZE + 10) == 0);
	q = page_address(p1);
	KT_ASSERT(q[10] == 'b' && q[PAGE_SIZE - 1] == 'b', "truncate zeroed a lent page");
	file_put(f);
	KT_ASSERT(vfs_unlink(root, "/ktlend") == 0);
	KT_ASSERT(page_refcount(pg) == 1 && page_refcount(p1) == 1);
	page_put(pg);
	page_put(p1);
	KT_ASSERT(vfs_inodes_alive() == inodes);
	vfs_iput(root);
}

KTEST(vfs_pipe_eof_epipe_and_capacity)
{
	u64 files = vfs_files_alive(), pages = page_free_count();
	struct file *r, *w;
	KT_ASSERT(pipe_create(O_NONBLOCK, &r, &w) == 0);
	char buf[1000];
	memset(buf, 'p', sizeof(buf));
	long total = 0, n;
	while ((n = kwrite(w, buf, sizeof(buf))) > 0)
		total += n;
	KT_ASSERT(n == -EAGAIN);
	KT_ASSERT(total == 64000, "capacity %ld (Linux: 64000 in writes of 1000)", total);
	KT_ASSERT(kread(w, buf, 1) == -EBADF);
	KT_ASSERT(kread(r, buf, sizeof(buf)) == 1000);
	file_put(w);
	total = 0;
	while ((n = kread(r, buf, sizeof(buf))) > 0)
		total += n;
	KT_ASSERT(n == 0, "end of file after the writer went: %ld", n);
	KT_ASSERT(total == 63000);
	file_put(r);
	KT_ASSERT(pipe_create(0, &r, &w) == 0);
	file_put(r);
	KT_ASSERT(kwrite(w, "x", 1) == -EPIPE);
	file_put(w);
	KT_ASSERT(vfs_files_alive() == files);
	KT_ASSERT(page_free_count() + 8 >= pages);
}

/* A mount: a second RAM file system's root covers a directory; lookups
 * cross it both ways, getcwd's names run through it, and the covered
 * directory cannot be removed or renamed (-EBUSY), nor mounted on twice. */
KTEST(vfs_mount_covers_a_directory)
{
	struct inode *root = vfs_root();
	struct inode *fsroot = memfs_new_root();
	KT_ASSERT(fsroot);
	struct vfs_mount_info info = { "/ktmnt/here", "kt", "ramfs", "rw", "ktest" };
	KT_ASSERT(vfs_mount(fsroot, &info) == 0);
	KT_ASSERT(vfs_mount(fsroot, &info) == -EBUSY);
	struct vfs_mount_info top = { "/", "kt", "ramfs", "rw", "" };
	KT_ASSERT(vfs_mount(fsroot, &top) == -EBUSY);
	KT_ASSERT(vfs_mkdir(root, "/ktmnt/here/inner", 0755) == 0);
	struct inode *ino, *mnt;
	KT_ASSERT(vfs_lookup(root, "/ktmnt/here", &ino) == 0);
	KT_ASSERT(ino == fsroot, "the lookup did not cross into the mounted root");
	vfs_iput(ino);
	KT_ASSERT(vfs_lookup(root, "/ktmnt", &mnt) == 0);
	KT_ASSERT(vfs_lookup(root, "/ktmnt/here/inner/../..", &ino) == 0);
	KT_ASSERT(ino == mnt, "\"..\" of the mounted root does not lead back");
	vfs_iput(ino);
	KT_ASSERT(vfs_lookup(root, "/ktmnt/here/inner", &ino) == 0);
	char path[32];
	KT_ASSERT(vfs_path_of(ino, path, sizeof(path)) == 18 &&
		  strcmp(path, "/ktmnt/here/inner") == 0, "getcwd's name: %s", path);
	vfs_iput(ino);
	KT_ASSERT(vfs_rmdir(root, "/ktmnt/here") == -EBUSY);
	KT_ASSERT(vfs_rename(root, "/ktmnt/here", root, "/ktmnt/there") == -EBUSY);
	KT_ASSERT(vfs_mkdir(root, "/ktmnt/other", 0755) == 0);
	KT_ASSERT(vfs_rename(root, "/ktmnt/other", root, "/ktmnt/here") == -EBUSY);
	bool listed = false;
	const struct vfs_mount_info *mi;
	for (int i = 0; (mi = vfs_mount_at(i)); i++)
		listed |= strcmp(mi->path, "/ktmnt/here") == 0 && strcmp(mi->type, "ramfs") == 0;
	KT_ASSERT(listed, "the mount is not in the table");
	KT_ASSERT(vfs_rmdir(root, "/ktmnt/here/inner") == 0);
	KT_ASSERT(vfs_rmdir(root, "/ktmnt/other") == 0);
	vfs_iput(mnt);
	vfs_iput(root);
}

/* vfs_open_inode (the HTTP responder's open): a regular file only, read
 * only, as the credentials given may; the open file takes the caller's
 * reference, a refusal leaves it with the caller. */
KTEST(vfs_open_inode_checks_and_takes_the_reference)
{
	struct inode *root = vfs_root();
	u64 inodes = vfs_inodes_alive(), files = vfs_files_alive();
	struct vfs_cred nobody = { .uid = 65534, .gid = 65534 };
	KT_ASSERT(vfs_mkdir(root, "/kt_oi", 0755) == 0);
	struct file *w, *f;
	KT_ASSERT(vfs_open(root, "/kt_oi/open", O_CREAT | O_WRONLY, 0644, &w) == 0);
	KT_ASSERT(kwrite(w, "served", 6) == 6);
	file_put(w);
	KT_ASSERT(vfs_open(root, "/kt_oi/closed", O_CREAT | O_WRONLY, 0600, &w) == 0);
	file_put(w);
	KT_ASSERT(vfs_mknod(root, "/kt_oi/fifo", S_IFIFO | 0644, 0) == 0);
	struct inode *ino;
	KT_ASSERT(vfs_lookup_as(&nobody, root, "/kt_oi/open", true, &ino) == 0);
	KT_ASSERT(vfs_open_inode(&nobody, ino, O_RDWR, &f) == -EINVAL);
	KT_ASSERT(vfs_open_inode(&nobody, ino, O_RDONLY, &f) == 0);
	KT_ASSERT(f->inode == ino && f->ops->page_ref);
	char buf[8];
	KT_ASSERT(kread(f, buf, sizeof(buf)) == 6 && memcmp(buf, "served", 6) == 0);
	file_put(f);   /* drops the lookup's reference */
	KT_ASSERT(vfs_lookup_as(&nobody, root, "/kt_oi/closed", true, &ino) == 0);
	KT_ASSERT(vfs_open_inode(&nobody, ino, O_RDONLY, &f) == -EACCES);
	vfs_iput(ino);
	KT_ASSERT(vfs_lookup_as(&nobody, root, "/kt_oi/fifo", true, &ino) == 0);
	KT_ASSERT(vfs_open_inode(&nobody, ino, O_RDONLY, &f) == -EINVAL);   /* no wait */
	vfs_iput(ino);
	KT_ASSERT(vfs_lookup_as(&nobody, root, "/kt_oi", true, &ino) == 0);
	KT_ASSERT(vfs_open_inode(&nobody, ino, O_RDONLY, &f) == -EINVAL);
	vfs_iput(ino);
	KT_ASSERT(vfs_unlink(root, "/kt_oi/open") == 0 && vfs_unlink(root, "/kt_oi/closed") == 0 &&
		  vfs_unlink(root, "/kt_oi/fifo") == 0 && vfs_rmdir(root, "/kt_oi") == 0);
	KT_ASSERT(vfs_inodes_alive() == inodes && vfs_files_alive() == files,
		  "%llu inodes (%llu before), %llu files (%llu before)",
		  (unsigned long long)vfs_inodes_alive(), (unsigned long long)inodes,
		  (unsigned long long)vfs_files_alive(), (unsigned long long)files);
	vfs_iput(root);
}
