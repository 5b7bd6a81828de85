/*
 * fs/perm.c: Linux's permission rules on bare inodes (no file system):
 * the one class that applies (owner, group, others), supplementary
 * groups, root's override (and its need of an x bit to execute), the
 * sticky-bit rule, who may chmod, chown and set times, hard links, the
 * owner of new inodes under set-group-ID directories.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fs/vfs_priv.h"

static struct inode ino(u32 mode, u32 uid, u32 gid)
{
	struct inode i;
	memset(&i, 0, sizeof(i));
	i.mode = mode;
	i.uid = uid;
	i.gid = gid;
	return i;
}

static struct vfs_cred user(u32 uid, u32 gid)
{
	struct vfs_cred c;
	memset(&c, 0, sizeof(c));
	c.uid = uid;
	c.gid = gid;
	return c;
}

Test(perm, classes)
{
	struct vfs_cred u = user(1000, 1000);
	struct inode f = ino(S_IFREG | 0640, 0, 1000);
	cr_assert_eq(vfs_permission(&u, &f, MAY_READ), 0);                /* group */
	cr_assert_eq(vfs_permission(&u, &f, MAY_WRITE), -EACCES);
	cr_assert_eq(vfs_permission(&u, &f, MAY_READ | MAY_WRITE), -EACCES);
	struct inode own = ino(S_IFREG | 0077, 1000, 1000);
	cr_assert_eq(vfs_permission(&u, &own, MAY_READ), -EACCES);        /* owner's bits only */
	struct inode other = ino(S_IFREG | 0604, 0, 5);
	cr_assert_eq(vfs_permission(&u, &other, MAY_READ), 0);
	cr_assert_eq(vfs_permission(&u, &other, MAY_EXEC), -EACCES);
	cr_assert_eq(vfs_permission(&u, &other, 0), 0);                   /* F_OK */
}

Test(perm, supplementary_groups)
{
	struct vfs_cred u = user(1000, 1000);
	struct inode f = ino(S_IFREG | 0060, 0, 2000);
	cr_assert_eq(vfs_permission(&u, &f, MAY_READ), -EACCES);
	u.ngroups = 2;
	u.groups[0] = 3000;
	u.groups[1] = 2000;
	cr_assert(vfs_in_group(&u, 2000));
	cr_assert_eq(vfs_permission(&u, &f, MAY_READ | MAY_WRITE), 0);
}

Test(perm, root)
{
	struct vfs_cred r;
	vfs_cred_root(&r);
	struct inode f = ino(S_IFREG | 0000, 1000, 1000);
	cr_assert_eq(vfs_permission(&r, &f, MAY_READ | MAY_WRITE), 0);
	cr_assert_eq(vfs_permission(&r, &f, MAY_EXEC), -EACCES);         /* no x bit at all */
	f.mode = S_IFREG | 0001;
	cr_assert_eq(vfs_permission(&r, &f, MAY_EXEC), 0);
	struct inode d = ino(S_IFDIR | 0000, 1000, 1000);
	cr_assert_eq(vfs_permission(&r, &d, MAY_EXEC | MAY_WRITE | MAY_READ), 0);
}

Test(perm, sticky)
{
	struct vfs_cred u = user(1000, 1000), o = user(1001, 1001);
	struct inode tmp = ino(S_IFDIR | 01777, 0, 0);
	struct inode mine = ino(S_IFREG | 0666, 1000, 1000);
	cr_assert_eq(vfs_may_delete(&u, &tmp, &mine), 0);
	cr_assert_eq(vfs_may_delete(&o, &tmp, &mine), -EPERM);
	tmp.mode = S_IFDIR | 0777;
	cr_assert_eq(vfs_may_delete(&o, &tmp, &mine), 0);
	tmp.mode = S_IFDIR | 0755;
	cr_assert_eq(vfs_may_delete(&o, &tmp, &mine), -EACCES);
	cr_assert_eq(vfs_may_create(&o, &tmp), -EACCES);
}

Test(perm, attrs)
{
	struct vfs_cred u = user(1000, 1000);
	struct inode f = ino(S_IFREG | 0666, 0, 0);
	u32 mode = 0644;
	cr_assert_eq(vfs_may_setattr(&u, &f, VFS_SET_MODE, &mode), -EPERM);
	cr_assert_eq(vfs_may_setattr(&u, &f, VFS_SET_TOUCH | VFS_SET_ATIME | VFS_SET_MTIME, &mode), 0);
	cr_assert_eq(vfs_may_setattr(&u, &f, VFS_SET_MTIME, &mode), -EPERM);
	f.mode = S_IFREG | 0644;
	cr_assert_eq(vfs_may_setattr(&u, &f, VFS_SET_TOUCH | VFS_SET_MTIME, &mode), -EACCES);
	struct inode mine = ino(S_IFREG | 0644, 1000, 2000);
	mode = 02755;
	cr_assert_eq(vfs_may_setattr(&u, &mine, VFS_SET_MODE, &mode), 0);
	cr_assert_eq(mode, 0755);   /* not in the file's group: S_ISGID dropped */
	cr_assert_eq(vfs_may_chown(&u, &mine, 1001, (u32)-1), -EPERM);
	cr_assert_eq(vfs_may_chown(&u, &mine, 1000, 1000), 0);
	cr_assert_eq(vfs_may_chown(&u, &mine, (u32)-1, 3000), -EPERM);
	cr_assert_eq(vfs_may_chown(&u, &f, (u32)-1, (u32)-1), 0);
	cr_assert_eq(vfs_may_chown(&u, &f, (u32)-1, 0), -EPERM);
}

Test(perm, open_and_links)
{
	struct vfs_cred u = user(1000, 1000);
	struct inode f = ino(S_IFREG | 0644, 0, 0);
	cr_assert_eq(vfs_may_open(&u, &f, O_RDONLY, false), 0);
	cr_assert_eq(vfs_may_open(&u, &f, O_RDONLY | O_TRUNC, false), -EACCES);
	cr_assert_eq(vfs_may_open(&u, &f, O_RDWR, false), -EACCES);
	cr_assert_eq(vfs_may_open(&u, &f, O_RDONLY | O_NOATIME, false), -EPERM);
	cr_assert_eq(vfs_may_open(&u, &f, O_RDONLY, true), -EACCES);
	f.mode = S_IFREG | 0711;
	cr_assert_eq(vfs_may_open(&u, &f, O_RDONLY, true), 0);   /* exec without read */
	struct inode d = ino(S_IFDIR | 0777, 0, 0);
	cr_assert_eq(vfs_may_open(&u, &d, O_RDONLY, true), -EACCES);
	struct inode rw = ino(S_IFREG | 0666, 0, 0);
	cr_assert_eq(vfs_may_hardlink(&u, &rw), 0);
	rw.mode = S_IFREG | 04666;
	cr_assert_eq(vfs_may_hardlink(&u, &rw), -EPERM);
	cr_assert_eq(vfs_may_hardlink(&u, &f), -EPERM);
	struct inode tmp = ino(S_IFDIR | 01777, 0, 0), link = ino(S_IFLNK | 0777, 1001, 1001);
	cr_assert_eq(vfs_may_follow(&u, &tmp, &link), -EACCES);
	link.uid = 0;
	cr_assert_eq(vfs_may_follow(&u, &tmp, &link), 0);
}

Test(perm, new_owner)
{
	struct vfs_cred u = user(1000, 1000);
	struct inode dir = ino(S_IFDIR | 0777, 0, 0);
	struct inode f = ino(S_IFREG | 02755, 0, 0);
	vfs_init_owner(&u, &dir, &f);
	cr_assert(f.uid == 1000 && f.gid == 1000 && f.mode == (S_IFREG | 02755));
	dir.mode = S_IFDIR | 02777;
	dir.gid = 2000;
	struct inode g = ino(S_IFREG | 02755, 0, 0), sub = ino(S_IFDIR | 0755, 0, 0);
	vfs_init_owner(&u, &dir, &g);
	cr_assert(g.gid == 2000 && g.mode == (S_IFREG | 0755));   /* not in 2000 */
	vfs_init_owner(&u, &dir, &sub);
	cr_assert(sub.gid == 2000 && sub.mode == (S_IFDIR | 02755));
}
