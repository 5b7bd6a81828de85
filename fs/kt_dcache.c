/*
 * The directory cache (fs/dcache.h) under the VFS's calls: a second
 * lookup is answered from it, a missing name is remembered as missing,
 * and every change of a name (create, rename, unlink, link, rmdir) is
 * seen by the next lookup; a directory removed takes its entries along.
 * And on every CPU at once: cached paths are walked without the namespace
 * lock (the lock's acquisitions counted), while another thread renames,
 * makes and removes names beside them; no walk sees a wrong inode, a dead
 * one or a freed entry (readers linger on each entry they find, so a free
 * before the grace period ends would be seen).
 */
#include "kernel/test/ktest.h"
#include "fs/dcache.h"
#include "fs/vfs_priv.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"

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

/* ---- lookups without the lock, on every CPU, while names change ---- */

#define RC_STABLE 16
#define RC_CHURN 8

static struct inode *rc_stable[RC_STABLE];   /* /ktrc/a/b/c/sN */
static struct inode *rc_moved[RC_CHURN / 2]; /* /ktrc/ch/xK or yK, renamed back and forth */
static volatile bool rc_stop, rc_churn;
static u64 rc_reads, rc_stable_wrong, rc_stable_locked, rc_moved_wrong, rc_churn_found,
	rc_churn_locked;   /* [atomic] */

/* buf = prefix followed by k in two digits */
static void path_of(char *buf, const char *prefix, int k)
{
	size_t n = strlen(prefix);
	memcpy(buf, prefix, n);
	buf[n] = (char)('0' + k / 10);
	buf[n + 1] = (char)('0' + k % 10);
	buf[n + 2] = 0;
}

/* A changing name: without the lock if the cache has it, else with it
 * (counted in *locked). */
static int churn_look(const struct vfs_cred *c, const char *path, struct inode **i, u64 *locked)
{
	int r = vfs_lookup_rcu_only(c, NULL, path, true, i);
	if (r == -EAGAIN) {
		(*locked)++;
		r = vfs_lookup_as(c, NULL, path, true, i);
	}
	return r;
}

/* Found (r 0): the inode it should be (ok) and alive, its reference
 * dropped; else only "no such name" is a right answer. */
static void churn_judge(int r, struct inode *i, bool ok, u64 *found, u64 *wrong)
{
	if (r == 0) {
		(*found)++;
		if (!ok || __atomic_load_n(&i->refs, __ATOMIC_RELAXED) <= 0)
			(*wrong)++;
		vfs_iput(i);
	} else if (r != -ENOENT) {
		(*wrong)++;
	}
}

static void rc_reader(int idx, void *arg)
{
	(void)arg;
	struct vfs_cred c;
	vfs_cred_root(&c);
	u64 rng = 0x9e3779b97f4a7c15ull * (u64)(idx + 1);
	u64 reads = 0, sw = 0, sl = 0, mw = 0, found = 0, cl = 0;
	char path[64];
	while (!rc_stop) {
		u64 x = kt_rand(&rng);
		int k = (int)(x % RC_STABLE);
		path_of(path, "/ktrc/a/b/c/s", k);
		struct inode *i = NULL;
		int r = vfs_lookup_rcu_only(&c, NULL, path, true, &i);
		if (r == -EAGAIN)
			sl++;
		else if (r != 0 || i != rc_stable[k])
			sw++;
		if (r == 0)
			vfs_iput(i);
		reads++;
		if (!rc_churn)
			continue;
		/* a moved file: its name is xK or yK at any moment; whichever
		 * is found is K's own inode, alive */
		int m = (int)((x >> 20) % (RC_CHURN / 2));
		path_of(path, (x >> 40) & 1 ? "/ktrc/ch/x" : "/ktrc/ch/y", m);
		r = churn_look(&c, path, &i, &cl);
		churn_judge(r, i, r == 0 && i == rc_moved[m], &found, &mw);
		/* a file made and removed again and again: a regular file or
		 * nothing, never a freed one */
		path_of(path, "/ktrc/ch/z", (int)((x >> 28) % (RC_CHURN / 2)));
		r = churn_look(&c, path, &i, &cl);
		churn_judge(r, i, r == 0 && S_ISREG(i->mode), &found, &mw);
	}
	__atomic_fetch_add(&rc_reads, reads, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rc_stable_wrong, sw, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rc_stable_locked, sl, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rc_moved_wrong, mw, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rc_churn_found, found, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rc_churn_locked, cl, __ATOMIC_RELAXED);
}

static void rc_spawner(void *arg)
{
	(void)arg;
	kt_run_on_all_cpus(rc_reader, NULL, 1);
}

static int mkfile(struct inode *root, const char *path, struct inode **ino)
{
	struct file *f;
	int r = vfs_open(root, path, O_CREAT | O_RDWR, 0644, &f);
	if (r == 0) {
		if (ino)
			*ino = f->inode;
		file_put(f);
	}
	return r;
}

KTEST(dcache_lookups_take_no_lock_while_names_change)
{
	struct inode *root = vfs_root();
	struct dcache_stats s0, s1;
	char path[64], path2[64];
	KT_ASSERT(vfs_mkdir(root, "/ktrc", 0755) == 0);
	KT_ASSERT(vfs_mkdir(root, "/ktrc/a", 0755) == 0);
	KT_ASSERT(vfs_mkdir(root, "/ktrc/a/b", 0755) == 0);
	KT_ASSERT(vfs_mkdir(root, "/ktrc/a/b/c", 0755) == 0);
	KT_ASSERT(vfs_mkdir(root, "/ktrc/ch", 0755) == 0);
	for (int k = 0; k < RC_STABLE; k++) {
		path_of(path, "/ktrc/a/b/c/s", k);
		KT_ASSERT(mkfile(root, path, &rc_stable[k]) == 0);
		KT_ASSERT(look(root, path, NULL) == 0);   /* the walk fills the cache */
	}
	for (int k = 0; k < RC_CHURN / 2; k++) {
		path_of(path, "/ktrc/ch/x", k);
		KT_ASSERT(mkfile(root, path, &rc_moved[k]) == 0);
	}
	struct vfs_cred c;
	vfs_cred_root(&c);
	struct inode *i;
	KT_ASSERT(vfs_lookup_rcu_only(&c, NULL, "/ktrc/a/b/c/s03", true, &i) == 0 &&
		  i == rc_stable[3], "a cached 5-component path is found without the lock");
	vfs_iput(i);
	KT_ASSERT(vfs_lookup_rcu_only(&c, NULL, "/ktrc/a/b/c/nothing", true, &i) == -EAGAIN,
		  "a name never looked up needs the lock");
	KT_ASSERT(look(root, "/ktrc/a/b/c/nothing", NULL) == -ENOENT);
	KT_ASSERT(vfs_lookup_rcu_only(&c, NULL, "/ktrc/a/b/c/nothing", true, &i) == -ENOENT,
		  "then its negative entry answers without the lock");

	/* 1: readers alone: the namespace lock is not taken at all */
	rc_stop = rc_churn = false;
	rc_reads = rc_stable_wrong = rc_stable_locked = rc_moved_wrong = 0;
	rc_churn_found = rc_churn_locked = 0;
	dcache_stats(&s0);
	u64 acq0 = __atomic_load_n(&vfs_ns_lock.acquired, __ATOMIC_RELAXED);
	struct thread *rs = thread_create("rc_readers", rc_spawner, NULL, -1, 0);
	KT_ASSERT(rs != NULL);
	thread_sleep_ns(150000000ULL);
	rc_stop = true;
	thread_join(rs);
	u64 acq1 = __atomic_load_n(&vfs_ns_lock.acquired, __ATOMIC_RELAXED);
	dcache_stats(&s1);
	ktest_metric("readers_alone_lookups", rc_reads, "lookups");
	KT_ASSERT(rc_reads > 0, "the readers never ran");
	KT_ASSERT(acq1 == acq0, "the namespace lock was taken %llu times while %llu cached lookups "
		  "and puts ran on %u CPUs", (unsigned long long)(acq1 - acq0),
		  (unsigned long long)rc_reads, ncpus);
	KT_ASSERT(rc_stable_locked == 0 && rc_stable_wrong == 0,
		  "cached paths: %llu needed the lock, %llu gave a wrong inode",
		  (unsigned long long)rc_stable_locked, (unsigned long long)rc_stable_wrong);
	KT_ASSERT(s1.rcu_walks - s0.rcu_walks >= rc_reads, "lock-free walks counted %llu of %llu",
		  (unsigned long long)(s1.rcu_walks - s0.rcu_walks), (unsigned long long)rc_reads);

	/* 2: the same readers, and names in /ktrc/ch renamed, made and
	 * removed from this thread meanwhile */
	rc_stop = false;
	rc_churn = true;
	rc_reads = 0;
	dcache_test_dwell = 1000;   /* a reader lingers on each entry it finds */
	dcache_stats(&s0);
	rs = thread_create("rc_readers", rc_spawner, NULL, -1, 0);
	KT_ASSERT(rs != NULL);
	u64 renames = 0, made = 0, removed = 0;
	int werr = 0;
	bool at_y[RC_CHURN / 2] = { false };
	bool zthere[RC_CHURN / 2] = { false };
	u64 end = arch_clock_ns() + 300000000ULL;
	for (u64 n = 0; arch_clock_ns() < end; n++) {
		int k = (int)(n % (RC_CHURN / 2));
		path_of(path, at_y[k] ? "/ktrc/ch/y" : "/ktrc/ch/x", k);
		path_of(path2, at_y[k] ? "/ktrc/ch/x" : "/ktrc/ch/y", k);
		if ((werr = vfs_rename(root, path, root, path2)) != 0)
			break;
		at_y[k] = !at_y[k];
		renames++;
		path_of(path, "/ktrc/ch/z", k);
		if (zthere[k]) {
			if ((werr = vfs_unlink(root, path)) != 0)
				break;
			removed++;
		} else {
			if ((werr = mkfile(root, path, NULL)) != 0)
				break;
			made++;
		}
		zthere[k] = !zthere[k];
	}
	rc_stop = true;
	thread_join(rs);
	dcache_test_dwell = 0;
	dcache_stats(&s1);
	ktest_metric("churn_lookups", rc_reads, "lookups");
	ktest_metric("churn_renames", renames, "renames");
	ktest_metric("churn_made_removed", made + removed, "files");
	ktest_metric("churn_names_found", rc_churn_found, "lookups");
	ktest_metric("churn_names_that_took_the_lock", rc_churn_locked, "lookups");
	KT_ASSERT(werr == 0, "a rename, create or unlink of the churn failed: %d", werr);
	KT_ASSERT(renames > 0 && rc_reads > 0);
	KT_ASSERT(rc_stable_locked == 0 && rc_stable_wrong == 0,
		  "cached paths while others change: %llu needed the lock, %llu gave a wrong inode",
		  (unsigned long long)rc_stable_locked, (unsigned long long)rc_stable_wrong);
	KT_ASSERT(rc_moved_wrong == 0, "%llu lookups of changing names gave a wrong or dead inode",
		  (unsigned long long)rc_moved_wrong);
	KT_ASSERT(s1.freed_seen == 0, "%llu freed entries were read", (unsigned long long)s1.freed_seen);

	/* clean up */
	for (int k = 0; k < RC_STABLE; k++) {
		path_of(path, "/ktrc/a/b/c/s", k);
		KT_ASSERT(vfs_unlink(root, path) == 0);
	}
	for (int k = 0; k < RC_CHURN / 2; k++) {
		path_of(path, at_y[k] ? "/ktrc/ch/y" : "/ktrc/ch/x", k);
		KT_ASSERT(vfs_unlink(root, path) == 0);
		path_of(path, "/ktrc/ch/z", k);
		if (zthere[k])
			KT_ASSERT(vfs_unlink(root, path) == 0);
	}
	KT_ASSERT(vfs_rmdir(root, "/ktrc/ch") == 0);
	KT_ASSERT(vfs_rmdir(root, "/ktrc/a/b/c") == 0);
	KT_ASSERT(vfs_rmdir(root, "/ktrc/a/b") == 0);
	KT_ASSERT(vfs_rmdir(root, "/ktrc/a") == 0);
	KT_ASSERT(vfs_rmdir(root, "/ktrc") == 0);
	vfs_iput(root);
}
