/*
 * The directory cache (fs/dcache.h) under the VFS's calls: a second
 * lookup is answered from it, a missing name is remembered as missing,
 * and every change of a name (create, rename, unlink, link, rmdir) is
 * seen by the next lookup; a directory removed takes its entries along.
 */
#include "kernel/test/ktest.h"
#include "fs/dcache.h"
#include "fs/vfs_priv.h"

/* 0 and the inode (reference dropped: the test holds the names) or the
 * lookup's error */
static int look(struct inode *root, const char *path, struct inode **ino)
{
	struct inode *i = NULL;
	int r = vfs_lookup(root, path, &i);
	if (r == 0)
		vfs_iput(i);
	if (ino)
		*ino = i;
	return r;
}

KTEST(dcache_follows_every_name_change)
{
	struct inode *root = vfs_root();
	struct dcache_stats s0, s1;
	dcache_stats(&s0);
	KT_ASSERT(vfs_mkdir(root, "/ktdc", 0755) == 0);
	struct file *f;
	KT_ASSERT(vfs_open(root, "/ktdc/a", O_CREAT | O_RDWR, 0644, &f) == 0);
	struct inode *a = f->inode;
	file_put(f);
	struct inode *i;
	KT_ASSERT(look(root, "/ktdc/a", &i) == 0 && i == a);
	dcache_stats(&s1);
	u64 hits = s1.hits;
	KT_ASSERT(look(root, "/ktdc/a", &i) == 0 && i == a);
	dcache_stats(&s1);
	KT_ASSERT(s1.hits >= hits + 2, "a second walk of /ktdc/a is answered from the cache "
		  "(hits %llu -> %llu)", (unsigned long long)hits, (unsigned long long)s1.hits);
	/* a missing name, remembered, then made */
	u64 neg = s1.negative_hits;
	KT_ASSERT(look(root, "/ktdc/n", NULL) == -ENOENT);
	KT_ASSERT(look(root, "/ktdc/n", NULL) == -ENOENT);
	dcache_stats(&s1);
	KT_ASSERT(s1.negative_hits > neg, "a missing name is a negative entry");
	KT_ASSERT(vfs_mkdir(root, "/ktdc/n", 0755) == 0);
	KT_ASSERT(look(root, "/ktdc/n", &i) == 0 && S_ISDIR(i->mode), "the made name is found");
	/* rename: the old name is gone, the new one is the same inode */
	KT_ASSERT(vfs_rename(root, "/ktdc/a", root, "/ktdc/b") == 0);
	KT_ASSERT(look(root, "/ktdc/a", NULL) == -ENOENT, "the old name after a rename");
	KT_ASSERT(look(root, "/ktdc/b", &i) == 0 && i == a);
	/* a rename over a name the cache holds */
	KT_ASSERT(vfs_open(root, "/ktdc/c", O_CREAT | O_RDWR, 0644, &f) == 0);
	struct inode *c = f->inode;
	file_put(f);
	KT_ASSERT(look(root, "/ktdc/c", &i) == 0 && i == c);
	KT_ASSERT(vfs_rename(root, "/ktdc/b", root, "/ktdc/c") == 0);
	KT_ASSERT(look(root, "/ktdc/c", &i) == 0 && i == a, "the name renamed over");
	/* a hard link outlives the name it was made from */
	KT_ASSERT(vfs_link(root, "/ktdc/c", root, "/ktdc/d", false) == 0);
	KT_ASSERT(vfs_unlink(root, "/ktdc/c") == 0);
	KT_ASSERT(look(root, "/ktdc/c", NULL) == -ENOENT, "the unlinked name");
	KT_ASSERT(look(root, "/ktdc/d", &i) == 0 && i == a, "the other link");
	KT_ASSERT(vfs_unlink(root, "/ktdc/d") == 0);
	KT_ASSERT(look(root, "/ktdc/d", NULL) == -ENOENT);
	/* removing the directories takes their entries with them */
	KT_ASSERT(look(root, "/ktdc/n/x", NULL) == -ENOENT);
	KT_ASSERT(vfs_rmdir(root, "/ktdc/n") == 0);
	KT_ASSERT(vfs_rmdir(root, "/ktdc") == 0);
	KT_ASSERT(look(root, "/ktdc", NULL) == -ENOENT);
	dcache_stats(&s1);
	KT_ASSERT(s1.entries <= s0.entries + 1, "entries %llu after, %llu before (+1: the "
		  "negative /ktdc)", (unsigned long long)s1.entries, (unsigned long long)s0.entries);
	vfs_iput(root);
}
