/*
 * Unit tests of the HTTP responder's request targets (apps/kernel/http_path.c):
 * the file path a target names below the root, every way of spelling ".."
 * refused, bad escapes and encoded NULs refused, the length bound with room
 * for the index, and the types by extension.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "apps/kernel/services.h"

static char out[HTTP_PATH_MAX];

static int path(const char *target, const char *root)
{
	memset(out, 'X', sizeof(out));
	return http_target_path(target, root, out, sizeof(out));
}

Test(http_path, names_below_the_root)
{
	cr_assert_eq(path("/", "/srv/www"), 0);
	cr_assert_str_eq(out, "/srv/www/");
	cr_assert_eq(path("/64k", "/srv/www"), 0);
	cr_assert_str_eq(out, "/srv/www/64k");
	cr_assert_eq(path("/a/b.html?x=1&y=../..#frag", "/srv/www"), 0);
	cr_assert_str_eq(out, "/srv/www/a/b.html");
	cr_assert_eq(path("/a%20b%2Fc.txt", "/w"), 0);
	cr_assert_str_eq(out, "/w/a b/c.txt");
	cr_assert_eq(path("/x", ""), 0);   /* http.root=/ */
	cr_assert_str_eq(out, "/x");
	/* dots that are not "..": names like any other */
	cr_assert_eq(path("/.../..a/a../.x/./", "/w"), 0);
	cr_assert_str_eq(out, "/w/.../..a/a../.x/./");
}

Test(http_path, dotdot_refused_however_spelt)
{
	static const char *const bad[] = {
		"/..", "/../", "/../etc/passwd", "/a/../../etc/passwd", "/a/..", "//..//x",
		"/%2e%2e/x", "/%2E%2E/x", "/.%2e/x", "/%2e./x", "/a%2f..%2fb", "/a/%2e%2e",
		"/..?q", "/a/..#f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(path(bad[i], "/srv/www"), 403, "%s", bad[i]);
}

Test(http_path, bad_targets)
{
	cr_assert_eq(path("x", "/w"), 400);                 /* not origin form */
	cr_assert_eq(path("*", "/w"), 400);
	cr_assert_eq(path("http://h/x", "/w"), 400);
	cr_assert_eq(path("/a%00b", "/w"), 400);            /* an encoded NUL */
	cr_assert_eq(path("/a%", "/w"), 400);
	cr_assert_eq(path("/a%4", "/w"), 400);
	cr_assert_eq(path("/a%g0", "/w"), 400);
	cr_assert_eq(path("/a%0g", "/w"), 400);
}

Test(http_path, length_bound_leaves_room_for_the_index)
{
	char t[HTTP_PATH_MAX + 8];
	size_t room = HTTP_PATH_MAX - sizeof(HTTP_INDEX) - 1 - strlen("/w");
	memset(t, 'a', sizeof(t));
	t[0] = '/';
	t[room] = 0;
	cr_assert_eq(path(t, "/w"), 0);
	cr_assert_eq(strlen(out) + sizeof(HTTP_INDEX), (size_t)HTTP_PATH_MAX - 1);
	t[room] = 'a';
	t[room + 1] = 0;
	cr_assert_eq(path(t, "/w"), 414);
}

Test(http_path, escapes_count_decoded)
{
	size_t room = HTTP_PATH_MAX - sizeof(HTTP_INDEX) - 1 - strlen("/w");
	char *t = malloc(3 * room + 2);
	t[0] = '/';
	for (size_t i = 0; i + 1 < room; i++)
		memcpy(t + 1 + 3 * i, "%41", 3);
	t[1 + 3 * (room - 1)] = 0;
	cr_assert_eq(path(t, "/w"), 0);
	cr_assert_eq(strlen(out), room + 2);
	cr_assert_eq(out[3], 'A');
	free(t);
}

Test(http_path, types_by_extension)
{
	cr_assert_str_eq(http_mime_type("/srv/www/index.html"), "text/html");
	cr_assert_str_eq(http_mime_type("/srv/www/A.HTM"), "text/html");
	cr_assert_str_eq(http_mime_type("/w/notes.txt"), "text/plain");
	cr_assert_str_eq(http_mime_type("/w/x.bin"), "application/octet-stream");
	cr_assert_str_eq(http_mime_type("/w/1m"), "application/octet-stream");
	cr_assert_str_eq(http_mime_type("/w/a.html/x"), "application/octet-stream");
	cr_assert_str_eq(http_mime_type("/w/x.htmlx"), "application/octet-stream");
	cr_assert_str_eq(http_mime_type("/w/x.ht"), "application/octet-stream");
	cr_assert_str_eq(http_mime_type("/w/x."), "application/octet-stream");
	cr_assert_str_eq(http_mime_type("/w/s.css"), "text/css");
	cr_assert_str_eq(http_mime_type("/w/p.PNG"), "image/png");
}
