/*
 * Response heads of apps/httpd: pure functions that format into a caller's
 * buffer (no I/O, no allocation), so the host tests check them byte for
 * byte. Every builder returns the bytes written, or 0 when the result would
 * not fit in cap (the buffer's contents are then unspecified).
 *
 * A head is built whole into one buffer so that it leaves with the start of
 * the body in one segment (send with MSG_MORE, then sendfile).
 */
#ifndef HTTPD_RESP_H
#define HTTPD_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_ETAG_MAX 40
#define HTTP_SERVER   "caboose-httpd"

struct resp {
	int status;
	bool keep_alive;
	const char *date;          /* IMF-fixdate of now (the caller caches it) */
	const char *type;          /* Content-Type, or NULL */
	uint64_t length;           /* Content-Length */
	const char *last_modified; /* IMF-fixdate, or NULL */
	const char *etag;          /* with its quotes, or NULL */
	uint64_t off, size;        /* 206: Content-Range off-(off+length-1)/size;
				      416: Content-Range * /size */
	const char *location;      /* 301: Location, or NULL */
	size_t location_len;
};

/* The reason phrase of a status this server sends, or NULL. */
const char *http_reason(int status);

/* t (seconds since the epoch, UTC) as an IMF-fixdate, NUL-terminated. */
void http_fmt_date(char out[HTTP_DATE_LEN + 1], int64_t t);

/* The strong ETag of a file: "mtime-size" in hex, as nginx makes it. */
size_t http_fmt_etag(char *out, size_t cap, int64_t mtime, uint64_t size);

/* The Content-Type for a path, by its extension (case-insensitive). */
const char *http_mime(const char *path);

/* The head of r: status line, fields, empty line. */
size_t resp_head(char *buf, size_t cap, const struct resp *r);

/* An error (or 301) answer: the head with a small HTML body after it
 * (Content-Length and Content-Type set here; r->length ignored); with_body
 * false (HEAD) leaves the body out but keeps its length. */
size_t resp_error(char *buf, size_t cap, const struct resp *r, bool with_body);

#endif
