/*
 * Boot: the RAM root file system filled from the initial archive
 * (fs/ramfs.h), and the device nodes programs expect (vfs.h vfs_init).
 */
#include "fs/vfs_priv.h"
#include "fs/ramfs.h"
#include "kernel/console/console.h"
#include "kernel/lib/param.h"
#include "kernel/lib/string.h"


/* ---- boot: the archive's files, the device nodes ---- */

/* mkdir -p of path's parent directories (path: an archive name, no
 * leading slash, n bytes). */
static void make_parents(const char *name, size_t n)
{
	static char path[VFS_PATH_MAX];   /* boot: one thread */
	for (size_t i = 0; i < n && i + 2 < sizeof(path); i++) {
		if (name[i] != '/')
			continue;
		path[0] = '/';
		memcpy(path + 1, name, i);
		path[i + 1] = '\0';
		int r = vfs_mkdir(vfs_root_ino, path, 0755);
		if (r < 0 && r != -EEXIST)
			pr_err("vfs: mkdir %s: error %d", path, r);
	}
}

/* "/" + an archive entry's name, in a static buffer (boot: one thread);
 * NULL when too long. */
static const char *archive_path(const struct ramfs_file *rf)
{
	static char path[VFS_PATH_MAX];
	if (rf->name_len + 2 > sizeof(path))
		return NULL;
	path[0] = '/';
	memcpy(path + 1, rf->name, rf->name_len);
	path[rf->name_len + 1] = '\0';
	return path;
}

static void add_file(const struct ramfs_file *rf)
{
	const char *path = archive_path(rf);
	if (!path)
		return;
	make_parents(rf->name, rf->name_len);
	if ((rf->mode & S_IFMT) == S_IFDIR) {
		int r = vfs_mkdir(vfs_root_ino, path, rf->mode & 07777);
		if (r < 0 && r != -EEXIST)
			pr_err("vfs: mkdir %s: error %d", path, r);
		return;
	}
	if ((rf->mode & S_IFMT) == S_IFLNK) {
		static char target[VFS_PATH_MAX];
		size_t n = MIN(rf->size, sizeof(target) - 1);
		memcpy(target, rf->data, n);
		target[n] = '\0';
		int r = vfs_symlink(vfs_root_ino, path, target);
		if (r < 0)
			pr_err("vfs: symlink %s: error %d", path, r);
		return;
	}
	struct file *f;
	int r = vfs_open(vfs_root_ino, path, O_CREAT | O_EXCL | O_WRONLY, rf->mode & 07777, &f);
	if (r < 0) {
		pr_err("vfs: %s: error %d", path, r);
		return;
	}
	memfs_borrow(f->inode, rf->data, rf->size);
	file_put(f);
}

/* The archive's modification time on its entry (after every entry is in:
 * adding a name changes its directory's times), as cpio -i and Linux's
 * initramfs keep them (the RAM file system's atime is its mtime; ctime
 * stays the time of the unpacking). */
static void set_times(const struct ramfs_file *rf)
{
	const char *path = archive_path(rf);
	struct inode *ino;
	if (!path || vfs_lookup_nofollow(vfs_root_ino, path, &ino) < 0)
		return;
	mutex_lock(&ino->lock);
	ino->mtime_ns = (u64)rf->mtime * 1000000000ULL;   /* atime: the same; ctime: now */
	mutex_unlock(&ino->lock);
	vfs_iput(ino);
}

/* root=/dev/vdX: the disk the ext2 driver mounts as "/" (vfs_mount_root) */
static char root_disk[8];
static int set_root(const char *v)
{
	size_t n = strlen(v);
	if (n < 8 || n > 9 || memcmp(v, "/dev/vd", 7) != 0 || v[7] < 'a' || v[7] > 'z' ||
	    (n == 9 && (v[8] < 'a' || v[8] > 'z')))
		return -EINVAL;
	memcpy(root_disk, v + 5, n - 5 + 1);
	return 0;
}
KPARAM("root", set_root, "/dev/vdX: mount that virtio disk's ext2/ext3 file system as / "
       "(the initial archive's /dev over its /dev); without it the RAM root is /");

const char *vfs_root_disk(void) { return root_disk[0] ? root_disk : NULL; }

void vfs_init(void)
{
	mutex_init(&vfs_ns_lock, "vfs_ns");
	vfs_root_ino = vfs_ram_ino = memfs_new_root();
	if (!vfs_root_ino)
		panic("vfs_init: no memory for the root");
	vfs_iget(vfs_root_ino);   /* the root never goes */
	for (size_t i = 0; i < ramfs_count(); i++)
		add_file(ramfs_at(i));
	for (size_t i = 0; i < ramfs_count(); i++)
		set_times(ramfs_at(i));
	/* what Linux's built-in initramfs holds (/dev/console, /root), and the
	 * devices programs expect */
	static const struct { const char *path; u32 rdev, mode; } devs[] = {
		{ "/dev/console", DEV_CONSOLE, 0600 }, { "/dev/null", DEV_NULL, 0666 },
		{ "/dev/zero", DEV_ZERO, 0666 }, { "/dev/urandom", DEV_URANDOM, 0666 },
		{ "/dev/ttyS0", DEV_TTYS0, 0660 }, { "/dev/tty", DEV_TTY, 0666 },
	};
	int r = vfs_mkdir(vfs_root_ino, "/dev", 0755);
	if (r < 0 && r != -EEXIST)
		pr_err("vfs: mkdir /dev: error %d", r);
	r = vfs_mkdir(vfs_root_ino, "/root", 0700);
	if (r < 0 && r != -EEXIST)
		pr_err("vfs: mkdir /root: error %d", r);
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
		r = vfs_mknod(vfs_root_ino, devs[i].path, S_IFCHR | devs[i].mode, devs[i].rdev);
		if (r < 0 && r != -EEXIST)
			pr_err("vfs: mknod %s: error %d", devs[i].path, r);
	}
	pr_info("vfs: RAM root with %zu files from the initial archive, %llu inodes",
		ramfs_count(), (unsigned long long)vfs_inodes_alive());
}
