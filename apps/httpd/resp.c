/*
 * Response heads (resp.h). Each builder appends through struct out, which
 * stops at the first append that would not fit and makes the result 0.
 */
#include "resp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;
	if (o->full)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->cap - o->n)
		o->full = true;
	else
		o->n += (size_t)k;
}

static void put_bytes(struct out *o, const char *s, size_t n)
{
	if (o->full || n >= o->cap - o->n) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = 0;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return NULL;
	}
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void two(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10 % 10);
	o[1] = (char)('0' + v % 10);
}

void http_fmt_date(char out[HTTP_DATE_LEN + 1], int64_t t)
{
	static const char days[] = "ThuFriSatSunMonTueWed"; /* 1970-01-01 was a Thursday */
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int64_t day, y;
	unsigned m, d, sec;
	if (t < 0)
		t = 0;
	if (t > 253402300799) /* 9999-12-31T23:59:59: four-digit years only */
		t = 253402300799;
	day = t / 86400;
	sec = (unsigned)(t % 86400);
	civil_from_days(day, &y, &m, &d);
	/* by hand: every field has a fixed width, so the length is always 29 */
	memcpy(out, days + 3 * (day % 7), 3);
	memcpy(out + 3, ", ", 2);
	two(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, months + 3 * (m - 1), 3);
	out[11] = ' ';
	two(out + 12, (unsigned)(y / 100));
	two(out + 14, (unsigned)(y % 100));
	out[16] = ' ';
	two(out + 17, sec / 3600);
	out[19] = ':';
	two(out + 20, sec / 60 % 60);
	out[22] = ':';
	two(out + 23, sec % 60);
	memcpy(out + 25, " GMT", 5);
}

size_t http_fmt_etag(char *out, size_t cap, int64_t mtime, uint64_t size)
{
	int k = snprintf(out, cap, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)mtime, size);
	return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}

static const struct {
	const char *ext, *type;
} mime[] = {
	{ "html", "text/html" },
	{ "htm", "text/html" },
	{ "css", "text/css" },
	{ "js", "text/javascript" },
	{ "mjs", "text/javascript" },
	{ "json", "application/json" },
	{ "txt", "text/plain" },
	{ "xml", "text/xml" },
	{ "csv", "text/csv" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "webm", "video/webm" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" },
};

const char *http_mime(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	size_t i;
	if (!dot || (slash && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < sizeof(mime) / sizeof(mime[0]); i++)
		if (strcasecmp(dot + 1, mime[i].ext) == 0)
			return mime[i].type;
	return "application/octet-stream";
}

static void common(struct out *o, const struct resp *r)
{
	const char *reason = http_reason(r->status);
	put(o, "HTTP/1.1 %d %s\r\nServer: " HTTP_SERVER "\r\nDate: %s\r\n", r->status,
	    reason ? reason : "Unknown", r->date);
}

size_t resp_head(char *buf, size_t cap, const struct resp *r)
{
	struct out o = { buf, 0, cap, cap == 0 };
	common(&o, r);
	if (r->type)
		put(&o, "Content-Type: %s\r\n", r->type);
	if (r->status != 304)
		put(&o, "Content-Length: %" PRIu64 "\r\n", r->length);
	if (r->last_modified)
		put(&o, "Last-Modified: %s\r\n", r->last_modified);
	if (r->etag)
		put(&o, "ETag: %s\r\n", r->etag);
	if (r->status == 206)
		put(&o, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n", r->off,
		    r->off + r->length - 1, r->size);
	if (r->status == 416)
		put(&o, "Content-Range: bytes */%" PRIu64 "\r\n", r->size);
	if (r->status == 200 || r->status == 206)
		put(&o, "Accept-Ranges: bytes\r\n");
	put(&o, "Connection: %s\r\n\r\n", r->keep_alive ? "keep-alive" : "close");
	return o.full ? 0 : o.n;
}

size_t resp_error(char *buf, size_t cap, const struct resp *r, bool with_body)
{
	struct out o = { buf, 0, cap, cap == 0 };
	const char *reason = http_reason(r->status);
	char body[256];
	int blen;

	blen = snprintf(body, sizeof(body),
			"<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
			"<h1>%d %s</h1>\r\n<hr>" HTTP_SERVER "\r\n</body>\r\n</html>\r\n",
			r->status, reason ? reason : "Unknown", r->status,
			reason ? reason : "Unknown");
	if (blen < 0 || (size_t)blen >= sizeof(body))
		return 0;
	common(&o, r);
	put(&o, "Content-Type: text/html\r\nContent-Length: %d\r\n", blen);
	if (r->status == 416)
		put(&o, "Content-Range: bytes */%" PRIu64 "\r\n", r->size);
	if (r->status == 405)
		put(&o, "Allow: GET, HEAD\r\n");
	if (r->location) {
		put(&o, "Location: ");
		put_bytes(&o, r->location, r->location_len);
		put(&o, "\r\n");
	}
	put(&o, "Connection: %s\r\n\r\n", r->keep_alive ? "keep-alive" : "close");
	if (with_body)
		put_bytes(&o, body, (size_t)blen);
	return o.full ? 0 : o.n;
}
