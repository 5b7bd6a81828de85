/*
 * fs/ramfs.c: the initial archive's newc cpio parser. Archives are built
 * here byte by byte (as tools/mkcpio.py and busybox cpio write them), each
 * in a heap block of exactly its size so AddressSanitizer sees any read
 * past the end; then every truncation and single-byte change of a good
 * archive must load or fail cleanly.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/ramfs.h"
#include "tests/host/host.h"

static void setup(void)
{
	host_slab_init();
	ramfs_reset();
}

static void teardown(void) { ramfs_reset(); }

TestSuite(ramfs, .init = setup, .fini = teardown, .timeout = 60);

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void pad(struct buf *b)
{
	static const char z[4];
	put(b, z, (4 - b->len % 4) % 4);
}

static void entry_at(struct buf *b, const char *name, unsigned mode, const void *data, size_t size,
		     unsigned mtime)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
		 1u, mode, 0u, 0u, 1u, mtime, size, 0u, 0u, 0u, 0u, strlen(name) + 1, 0u);
	cr_assert_eq(n, 110);
	put(b, hdr, 110);
	put(b, name, strlen(name) + 1);
	pad(b);
	put(b, data, size);
	pad(b);
}

static void entry(struct buf *b, const char *name, unsigned mode, const void *data, size_t size)
{
	entry_at(b, name, mode, data, size, 0);
}

/* An exact-size heap copy of b. */
static unsigned char *exact(const struct buf *b, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	cr_assert_not_null(p);
	memcpy(p, b->p, len);
	return p;
}

static struct buf good_archive(void)
{
	struct buf b = { 0 };
	entry(&b, ".", 040755, "", 0);
	entry(&b, "bin", 040755, "", 0);
	entry_at(&b, "bin/hello", 0100755, "HELLO", 5, 1234567890);
	entry(&b, "./etc/motd", 0100644, "hi\n", 3);
	entry(&b, "empty", 0100644, "", 0);
	entry(&b, "link", 0120777, "bin/hello", 9);
	entry(&b, "dev/null", 020666, "", 0);
	entry(&b, "TRAILER!!!", 0, "", 0);
	return b;
}

Test(ramfs, loads_regular_files)
{
	struct buf b = good_archive();
	unsigned char *a = exact(&b, b.len);
	cr_assert_eq(ramfs_load(a, b.len), 5);
	cr_assert_eq(ramfs_count(), 5);
	cr_assert_eq(ramfs_skipped(), 2);   /* ".", "dev/null" */
	const struct ramfs_file *f = ramfs_lookup("/bin/hello");
	cr_assert_not_null(f);
	cr_assert_eq(f->size, 5);
	cr_assert(memcmp(f->data, "HELLO", 5) == 0);
	cr_assert_eq(f->mode, 0100755);
	cr_assert_eq(f->mtime, 1234567890);
	cr_assert_eq(ramfs_lookup("/etc/motd")->mtime, 0);
	const struct ramfs_file *d = ramfs_lookup("/bin");   /* a directory, kept */
	cr_assert(d && d->mode == 040755 && d->size == 0);
	cr_assert_not_null(ramfs_lookup("/etc/motd"));
	cr_assert_not_null(ramfs_lookup("//etc/motd"));
	cr_assert_eq(ramfs_lookup("/empty")->size, 0);
	cr_assert_null(ramfs_lookup("bin/hello"));      /* relative */
	const struct ramfs_file *l = ramfs_lookup("/link");   /* a symbolic link */
	cr_assert_not_null(l);
	cr_assert_eq(l->mode, 0120777);
	cr_assert(l->size == 9 && memcmp(l->data, "bin/hello", 9) == 0);
	cr_assert_null(ramfs_lookup("/bin/hell"));
	cr_assert_null(ramfs_lookup("/"));
	cr_assert_null(ramfs_lookup(NULL));
	free(a);
	free(b.p);
}

Test(ramfs, later_entry_replaces_and_dotdot_is_skipped)
{
	struct buf b = { 0 };
	entry(&b, "f", 0100644, "one", 3);
	entry(&b, "../evil", 0100644, "x", 1);
	entry(&b, "a/../b", 0100644, "x", 1);
	entry(&b, "/f", 0100644, "two!", 4);
	entry(&b, "TRAILER!!!", 0, "", 0);
	unsigned char *a = exact(&b, b.len);
	cr_assert_eq(ramfs_load(a, b.len), 1);
	cr_assert_eq(ramfs_count(), 1);
	cr_assert_eq(ramfs_lookup("/f")->size, 4);
	cr_assert_null(ramfs_lookup("/../evil"));
	free(a);
	free(b.p);
}

Test(ramfs, bad_headers)
{
	struct buf b = { 0 };
	entry(&b, "f", 0100644, "data", 4);
	entry(&b, "TRAILER!!!", 0, "", 0);
	unsigned char *a = exact(&b, b.len);
	a[0] = '1';                                   /* magic */
	cr_assert_eq(ramfs_load(a, b.len), -EINVAL);
	memcpy(a, b.p, b.len);
	a[6 + 8 * 6] = 'g';                           /* filesize not hex */
	cr_assert_eq(ramfs_load(a, b.len), -EINVAL);
	memcpy(a, b.p, b.len);
	memcpy(a + 6 + 8 * 6, "7FFFFFFF", 8);         /* filesize past the end */
	cr_assert_eq(ramfs_load(a, b.len), -EINVAL);
	memcpy(a, b.p, b.len);
	memcpy(a + 6 + 8 * 11, "00000000", 8);        /* namesize 0 */
	cr_assert_eq(ramfs_load(a, b.len), -EINVAL);
	memcpy(a, b.p, b.len);
	memcpy(a + 6 + 8 * 11, "00000001", 8);        /* name without its NUL */
	cr_assert_eq(ramfs_load(a, b.len), -EINVAL);
	cr_assert_eq(ramfs_load(a, 0), -EINVAL);
	free(a);
	free(b.p);
}

/* Every prefix and every single-byte change: a result, never a bad read. */
Test(ramfs, truncations_and_byte_changes)
{
	struct buf b = good_archive();
	for (size_t len = 0; len < b.len; len++) {
		unsigned char *a = exact(&b, len);
		int r = ramfs_load(a, len);
		/* the trailer's own padding may be cut off */
		cr_assert(r == -EINVAL || (r == 5 && len >= b.len - 3), "prefix of %zu bytes gave %d",
			  len, r);
		free(a);
		ramfs_reset();
	}
	static const unsigned char vals[] = { 0, '0', '7', 'F', 'f', 0xff, '/', '.' };
	for (size_t i = 0; i < b.len; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			unsigned char *a = exact(&b, b.len);
			a[i] = vals[v];
			int r = ramfs_load(a, b.len);
			/* 7: all seven entries kept, "." and the device renamed or retyped */
			cr_assert(r == -EINVAL || (r >= 0 && r <= 7), "byte %zu = %#x gave %d", i,
				  vals[v], r);
			for (size_t k = 0; k < ramfs_count(); k++) {
				const struct ramfs_file *f = ramfs_at(k);
				cr_assert((const unsigned char *)f->data >= a &&
					  (const unsigned char *)f->data + f->size <= a + b.len);
			}
			free(a);
			ramfs_reset();
		}
	}
	free(b.p);
}
