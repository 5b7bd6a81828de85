/* The RAM root from the initial archive; see ramfs.h. */
#include "fs/ramfs.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"

/* newc: "070701" (or "070702", with checksums we do not check), then 13
 * fields of 8 hex digits, then the name (namesize bytes with its NUL),
 * padded so the data starts 4-byte aligned; the data, padded likewise. */
#define NEWC_HDR     110
#define NEWC_FIELDS  13
enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_DEVMAJOR, F_DEVMINOR,
       F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE, F_CHECK };
#define S_IFMT  0170000
#define S_IFREG 0100000
#define S_IFLNK 0120000
#define S_IFDIR 0040000
#define TRAILER "TRAILER!!!"

static struct ramfs_file *files;
static size_t nfiles, cap, skipped;

bool ramfs_is_archive(const void *p, size_t len)
{
	return len >= NEWC_HDR && (memcmp(p, "070701", 6) == 0 || memcmp(p, "070702", 6) == 0);
}

static bool parse_hex8(const char *s, u32 *out)
{
	u32 v = 0;
	for (int i = 0; i < 8; i++) {
		char c = s[i];
		u32 d;
		if (c >= '0' && c <= '9')
			d = (u32)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (u32)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (u32)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* Strip "./" and "/" prefixes; refuse empty names and ".." components. */
static bool clean_name(const char **name, size_t *len)
{
	const char *n = *name;
	size_t l = *len;
	for (;;) {
		if (l >= 2 && n[0] == '.' && n[1] == '/') {
			n += 2;
			l -= 2;
		} else if (l >= 1 && n[0] == '/') {
			n++;
			l--;
		} else {
			break;
		}
	}
	if (l == 0 || (l == 1 && n[0] == '.'))
		return false;
	for (size_t i = 0; i < l;) {
		size_t j = i;
		while (j < l && n[j] != '/')
			j++;
		if (j - i == 2 && n[i] == '.' && n[i + 1] == '.')
			return false;
		i = j + 1;
	}
	*name = n;
	*len = l;
	return true;
}

static int add(const char *name, size_t len, const u8 *data, size_t size, u32 mode, u32 mtime)
{
	for (size_t i = 0; i < nfiles; i++) {
		if (files[i].name_len == len && memcmp(files[i].name, name, len) == 0) {
			files[i] = (struct ramfs_file){ name, len, data, size, mode, mtime };
			return 0;
		}
	}
	if (nfiles == cap) {
		size_t ncap = cap ? cap * 2 : 32;
		struct ramfs_file *n = kmalloc(ncap * sizeof(*n), 0);
		if (!n)
			return -ENOMEM;
		if (files) {
			memcpy(n, files, nfiles * sizeof(*n));
			kfree(files);
		}
		files = n;
		cap = ncap;
	}
	files[nfiles++] = (struct ramfs_file){ name, len, data, size, mode, mtime };
	return 1;
}

int ramfs_load(const void *archive, size_t len)
{
	const char *base = archive;
	size_t off = 0;
	int added = 0;
	for (;;) {
		if (len - off < NEWC_HDR || !ramfs_is_archive(base + off, len - off))
			return -EINVAL;
		u32 f[NEWC_FIELDS];
		for (int i = 0; i < NEWC_FIELDS; i++)
			if (!parse_hex8(base + off + 6 + 8 * i, &f[i]))
				return -EINVAL;
		size_t name_off = off + NEWC_HDR;
		size_t namesize = f[F_NAMESIZE];
		if (namesize == 0 || namesize > len - name_off)
			return -EINVAL;
		const char *name = base + name_off;
		if (name[namesize - 1] != '\0')
			return -EINVAL;
		size_t nlen = namesize - 1;
		if (nlen == sizeof(TRAILER) - 1 && memcmp(name, TRAILER, nlen) == 0)
			return added;
		size_t data_off = pad4(name_off + namesize);
		size_t size = f[F_FILESIZE];
		if (data_off > len || size > len - data_off)
			return -EINVAL;
		u32 type = f[F_MODE] & S_IFMT;
		if ((type == S_IFREG || type == S_IFLNK || type == S_IFDIR) &&
		    clean_name(&name, &nlen)) {
			int r = add(name, nlen, (const u8 *)base + data_off, type == S_IFDIR ? 0 : size,
				    f[F_MODE], f[F_MTIME]);
			if (r < 0)
				return r;
			added += r;
		} else {
			skipped++;
		}
		off = pad4(data_off + size);
		if (off > len)
			return -EINVAL;
	}
}

const struct ramfs_file *ramfs_lookup(const char *path)
{
	if (!path || path[0] != '/')
		return NULL;
	const char *n = path;
	size_t l = strlen(path);
	if (!clean_name(&n, &l))
		return NULL;
	for (size_t i = 0; i < nfiles; i++)
		if (files[i].name_len == l && memcmp(files[i].name, n, l) == 0)
			return &files[i];
	return NULL;
}

size_t ramfs_count(void) { return nfiles; }
size_t ramfs_skipped(void) { return skipped; }
const struct ramfs_file *ramfs_at(size_t i) { return i < nfiles ? &files[i] : NULL; }

void ramfs_reset(void)
{
	kfree(files);
	files = NULL;
	nfiles = cap = skipped = 0;
}
