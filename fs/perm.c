/*
 * Permissions: who may do what to an inode (vfs.h "permissions"). One
 * helper, vfs_permission, is Linux's generic_permission (fs/namei.c) for
 * a file system without ACLs; the VFS (fs/vfs.c) calls it at every place
 * Linux calls inode_permission, and the system-call layer only for the
 * calls that check an inode it already holds (truncate, chdir, access).
 */
#include "fs/vfs_priv.h"
#include "kernel/lib/string.h"

bool (*vfs_cred_hook)(struct vfs_cred *out);

void vfs_cred_root(struct vfs_cred *out)
{
	memset(out, 0, sizeof(*out));
	out->priv = true;
}

void vfs_cred_current(struct vfs_cred *out)
{
	if (!vfs_cred_hook || !vfs_cred_hook(out))
		vfs_cred_root(out);
}

bool vfs_in_group(const struct vfs_cred *c, u32 gid)
{
	if (gid == c->gid)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

bool vfs_owner_or_priv(const struct vfs_cred *c, const struct inode *ino)
{
	return c->priv || c->uid == ino->uid;
}

int vfs_permission(const struct vfs_cred *c, const struct inode *ino, int mask)
{
	mask &= MAY_READ | MAY_WRITE | MAY_EXEC;
	u32 mode = ino->mode;
	/* one class only: an owner denied by the owner's bits is denied even
	 * where the group's or the others' would allow */
	u32 bits = c->uid == ino->uid ? mode >> 6 : vfs_in_group(c, ino->gid) ? mode >> 3 : mode;
	if (((u32)mask & ~bits & 7) == 0)
		return 0;
	if (ino->iops && ino->iops->own_access && ino->iops->own_access(ino))
		return 0;
	if (!c->priv)
		return -EACCES;
	/* root: directories may always be read and searched (and written);
	 * anything else read and written, and executed if anyone may */
	if (S_ISDIR(mode) || !(mask & MAY_EXEC) || (mode & S_IXUGO))
		return 0;
	return -EACCES;
}

/* ---- permissions of name-space changes (Linux's fs/namei.c) ---- */

/* A new entry in dir: write and search on it. */
int vfs_may_create(const struct vfs_cred *c, struct inode *dir)
{
	return vfs_permission(c, dir, MAY_WRITE | MAY_EXEC);
}

/* Removing (or renaming away) victim's entry in dir: write and search on
 * dir, and in a sticky directory (/tmp) ownership of the file or of the
 * directory (-EPERM). */
int vfs_may_delete(const struct vfs_cred *c, struct inode *dir, struct inode *victim)
{
	int r = vfs_permission(c, dir, MAY_WRITE | MAY_EXEC);
	if (r < 0)
		return r;
	if ((dir->mode & S_ISVTX) && !c->priv && victim->uid != c->uid && dir->uid != c->uid)
		return -EPERM;
	return 0;
}

/* A new inode's owner, once its directory is known (under [ns], before
 * it is linked): c's ids, but the directory's group when that is
 * set-group-ID, where a new directory inherits the bit and a
 * group-executable set-group-ID file loses it unless c is in the group
 * (Linux's inode_init_owner and mode_strip_sgid). */
void vfs_init_owner(const struct vfs_cred *c, struct inode *dir, struct inode *fresh)
{
	fresh->uid = c->uid;
	fresh->gid = c->gid;
	if (!(dir->mode & S_ISGID))
		return;
	fresh->gid = dir->gid;
	if (S_ISDIR(fresh->mode))
		fresh->mode |= S_ISGID;
	else if ((fresh->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !c->priv &&
		 !vfs_in_group(c, dir->gid))
		fresh->mode &= ~(u32)S_ISGID;
}

/* Linux's may_open for an inode that exists: what the access mode (and
 * O_TRUNC) needs, or execute for exec. */
int vfs_may_open(const struct vfs_cred *c, struct inode *ino, unsigned flags, bool exec)
{
	int acc = MAY_EXEC;
	if (!exec) {
		unsigned am = flags & O_ACCMODE;
		acc = am == O_RDONLY ? MAY_READ : am == O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
		if (flags & O_TRUNC)
			acc |= MAY_WRITE;
	} else if (!S_ISREG(ino->mode)) {
		return -EACCES;
	}
	int r = vfs_permission(c, ino, acc);
	if (r == 0 && (flags & O_NOATIME) && !vfs_owner_or_priv(c, ino))
		r = -EPERM;
	return r;
}

/* A change of a set-user-ID (or group-executable set-group-ID) regular
 * file's bytes by other than root drops those bits, as Linux's
 * file_remove_privs: a program someone could change does not keep
 * running as its owner. No lock held. */
void vfs_kill_suid(struct inode *ino)
{
	u32 mode = READ_ONCE(ino->mode);
	u32 kill = mode & S_ISUID;
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	if (!kill || !S_ISREG(mode) || !ino->iops->setattr || ino->iops->read_only)
		return;
	struct vfs_cred c;
	vfs_cred_current(&c);
	if (!c.priv)
		ino->iops->setattr(ino, VFS_SET_MODE, mode & 07777 & ~kill, 0, 0);
}

/* Debian's kernel turns fs.protected_hardlinks on: a hard link to
 * another's file needs a plain regular file (not set-id) that c may read
 * and write (Linux's may_linkat). */
int vfs_may_hardlink(const struct vfs_cred *c, struct inode *ino)
{
	if (vfs_owner_or_priv(c, ino))
		return 0;
	u32 mode = ino->mode;
	if (!S_ISREG(mode) || (mode & S_ISUID) || (mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) ||
	    vfs_permission(c, ino, MAY_READ | MAY_WRITE) < 0)
		return -EPERM;
	return 0;
}

/* And fs.protected_symlinks: a link in a sticky, world-writable
 * directory (/tmp) is followed only by its owner or when the directory's
 * owner owns it too, root included (Linux's may_follow_link). */
int vfs_may_follow(const struct vfs_cred *c, struct inode *dir, struct inode *link)
{
	if (link->uid == c->uid || (dir->mode & (S_ISVTX | 0002)) != (S_ISVTX | 0002) ||
	    dir->uid == link->uid)
		return 0;
	return -EACCES;
}

/* Linux's setattr_prepare and notify_change for chmod and utimes. */
int vfs_may_setattr(const struct vfs_cred *c, struct inode *ino, unsigned mask, u32 *mode)
{
	if (mask & VFS_SET_MODE) {
		if (!vfs_owner_or_priv(c, ino))
			return -EPERM;
		if (!c->priv && !vfs_in_group(c, ino->gid))
			*mode &= ~(u32)S_ISGID;
	}
	if (mask & VFS_SET_TOUCH)
		return vfs_owner_or_priv(c, ino) ? 0 : vfs_permission(c, ino, MAY_WRITE);
	if ((mask & (VFS_SET_ATIME | VFS_SET_MTIME)) && !vfs_owner_or_priv(c, ino))
		return -EPERM;
	return 0;
}

/* Linux's chown_ok and chgrp_ok: root any owner and group; the owner
 * may "change" the owner to itself and the group to one of its own. */
int vfs_may_chown(const struct vfs_cred *c, struct inode *ino, u32 uid, u32 gid)
{
	if (c->priv)
		return 0;
	bool owner = c->uid == ino->uid;
	if (uid != (u32)-1 && (uid != ino->uid || !owner))
		return -EPERM;
	if (gid != (u32)-1 && (!owner || (gid != ino->gid && !vfs_in_group(c, gid))))
		return -EPERM;
	return 0;
}

