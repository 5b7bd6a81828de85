/*
 * The RAM root, first version: the initial archive (a "newc" cpio, as
 * `cpio -o -H newc` or tools/mkcpio.py writes it, uncompressed), parsed
 * once at boot into a read-only table of regular files.
 *
 * Layout and ownership: a file's bytes stay where the loader put the
 * archive (a Multiboot module, never freed), so loading copies nothing and
 * a struct ramfs_file points into the archive for as long as the kernel
 * runs. Names are kept as the archive spells them minus a leading "./" or
 * "/"; lookups take absolute paths ("/bin/hello"). Regular files,
 * symbolic links (whose data is the target) and directories (so that an
 * empty one, /tmp, exists; no data) are kept with their mode and mtime;
 * device nodes are skipped (and counted: Caboose makes its own /dev); a
 * later entry of the same name replaces an earlier one, as cpio -i would.
 *
 * Bad archives: ramfs_load checks every header field and length against
 * the archive's end and returns -EINVAL at the first bad entry, keeping
 * the files before it; it never reads outside [archive, archive + len).
 * Names with a ".." component are skipped.
 *
 * The VFS (fs/vfs.h) takes this table over at boot as the first
 * population of its RAM file system (fs/memfs.c), whose files borrow the
 * archive's bytes until they are written. Loading happens once, before any
 * lookup (no lock).
 */
#ifndef FS_RAMFS_H
#define FS_RAMFS_H

#include "kernel/lib/types.h"

struct ramfs_file {
	const char *name;     /* not NUL-terminated: name_len bytes */
	size_t name_len;
	const u8 *data;
	size_t size;
	u32 mode;             /* permission bits and type, as in the archive */
	u32 mtime;            /* seconds since the epoch, as in the archive */
};

/* Returns the number of files, links and directories added, or -EINVAL (bad archive: the
 * files before the bad entry stay), -ENOMEM. */
int ramfs_load(const void *archive, size_t len);
/* NULL when absent; path must be absolute. */
const struct ramfs_file *ramfs_lookup(const char *path);
size_t ramfs_count(void);
const struct ramfs_file *ramfs_at(size_t i);
/* Entries skipped while loading (devices, ".", bad names). */
size_t ramfs_skipped(void);
/* Forget everything (host tests). */
void ramfs_reset(void);
/* Does this look like a newc archive? */
bool ramfs_is_archive(const void *p, size_t len);

#endif
