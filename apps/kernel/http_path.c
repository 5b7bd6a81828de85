/*
 * The HTTP responder's request targets (services.h): what file a target
 * names below the document root, and the type its name says. Portable:
 * no lock, no allocation, no VFS; host-tested (tests/host/test_http_path.c).
 *
 * A target is taken in origin form only ("/a/b?q"); the query and a
 * fragment are dropped; %XX escapes are decoded once (a bad escape or an
 * encoded NUL: 400); after decoding, a ".." component is refused (403),
 * wherever it is, so no name leaves the root however it is spelt ("..",
 * "%2e%2e", "%2E.", "a/../../x"). Symbolic links below the root are
 * followed by the VFS, as nginx does by default (disable_symlinks off):
 * a link is the administrator's choice, a name in a request is not.
 */
#include "apps/kernel/services.h"
#include "kernel/lib/string.h"

/* A ".." component in p[0, n)? */
static bool has_dotdot(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && p[i] == '/')
			i++;
		size_t s = i;
		while (i < n && p[i] != '/')
			i++;
		if (i - s == 2 && p[s] == '.' && p[s + 1] == '.')
			return true;
	}
	return false;
}

int http_target_path(const char *target, const char *root, char *out, size_t size)
{
	if (target[0] != '/')
		return 400;
	size_t rl = strlen(root);
	/* root, the decoded target, room for "/index.html" and the NUL */
	if (rl + sizeof(HTTP_INDEX) + 1 > size)
		return 414;
	memcpy(out, root, rl);
	size_t n = rl, cap = size - sizeof(HTTP_INDEX) - 1;
	for (const char *t = target; *t && *t != '?' && *t != '#'; t++) {
		char c = *t;
		if (c == '%') {
			int hi = hex_digit(t[1]), lo = hi < 0 ? -1 : hex_digit(t[2]);
			if (lo < 0)
				return 400;
			c = (char)(hi << 4 | lo);
			if (!c)
				return 400;
			t += 2;
		}
		if (n == cap)
			return 414;
		out[n++] = c;
	}
	out[n] = 0;
	if (has_dotdot(out + rl, n - rl))
		return 403;
	return 0;
}

struct mime { const char *ext, *type; };
static const struct mime mimes[] = {
	{ "html", "text/html" }, { "htm", "text/html" }, { "txt", "text/plain" },
	{ "css", "text/css" }, { "js", "application/javascript" },
	{ "json", "application/json" }, { "xml", "application/xml" },
	{ "svg", "image/svg+xml" }, { "png", "image/png" }, { "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" }, { "gif", "image/gif" }, { "ico", "image/x-icon" },
	{ "pdf", "application/pdf" }, { "bin", "application/octet-stream" },
};

const char *http_mime_type(const char *path)
{
	const char *dot = NULL;
	for (const char *p = path; *p; p++) {
		if (*p == '/')
			dot = NULL;
		else if (*p == '.')
			dot = p;
	}
	if (dot) {
		for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++) {
			const char *e = mimes[i].ext, *s = dot + 1;
			while (*e && *s && (*s | 0x20) == *e) {
				e++;
				s++;
			}
			if (!*e && !*s)
				return mimes[i].type;
		}
	}
	return "application/octet-stream";
}
