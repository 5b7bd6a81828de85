/*
 * The request parser of apps/httpd: bytes in, a parsed request or an HTTP
 * status out. No I/O, no allocation, no global state: the host unit tests
 * (tests/host/httpd/) and the fuzzer (tests/fuzz/fuzz_httpd.c) run exactly
 * the code the server runs.
 *
 * Use: http_req_init(&r) before each request, then http_parse(&r, buf, len)
 * every time the buffer has grown (same buf, len never shrinks; the parser
 * remembers how far it has searched, so a client sending one byte at a time
 * costs linear time). It returns
 *   HTTP_MORE   the head (request line and header fields) is not complete;
 *   HTTP_DONE   the head is r.head_len bytes; r.status is 0 (serve the file
 *               at r.path) or the error to answer (400, 405, 413, 501); the
 *               pointers in r point into buf and live as long as those bytes;
 *   HTTP_ERROR  the head is broken or over a limit (400, 414, 431, 505):
 *               answer r.status, then close (r.head_len is meaningless).
 * Whenever r.status is set, r.keep_alive says whether the connection may
 * carry another request after the answer (only 405 keeps it: the framing
 * is known and a body of r.content_length bytes follows the head).
 *
 * Limits (each answered with its status, never a cut):
 *   request line  HTTP_LINE_MAX bytes            414
 *   head          HTTP_HEAD_MAX bytes in all      431
 *                 HTTP_FIELDS_MAX header fields   431
 *   body          HTTP_BODY_MAX bytes             413 (bodies are read and
 *                 dropped by the server; Transfer-Encoding gets 501)
 *
 * What is accepted (RFC 9112 and 9110): CRLF or bare LF line ends; empty
 * lines before the request line are skipped; methods are case-sensitive
 * tokens; targets in origin form or absolute form (http://host/path, whose
 * host is ignored); HTTP/1.0 and HTTP/1.x (x >= 1 is taken as 1.1), other
 * majors 505. Refused with 400: obsolete line folding, space before a
 * field's colon, control characters, a missing or repeated Host in 1.1,
 * conflicting Content-Length, Content-Length with Transfer-Encoding.
 * Repeated Range, If-None-Match, If-Modified-Since or If-Range fields are
 * ignored (the answer is then a full 200, which is always correct).
 *
 * Paths: percent-decoded first (%2F is a slash, %2E a dot), then "." and
 * ".." segments and repeated slashes are resolved; a ".." above the root,
 * a bad escape, a decoded NUL, '#' or a byte outside printable ASCII in the
 * target is 400. The query is dropped. r.path starts with '/' and ends with
 * '/' when the target named a directory.
 */
#ifndef HTTPD_PARSE_H
#define HTTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_LINE_MAX   4096
#define HTTP_HEAD_MAX   8192
#define HTTP_FIELDS_MAX 100
#define HTTP_BODY_MAX   (1u << 20)
#define HTTP_PATH_MAX   HTTP_LINE_MAX

enum { HTTP_MORE = 0, HTTP_DONE = 1, HTTP_ERROR = -1 };
enum { HTTP_GET = 1, HTTP_HEAD, HTTP_OTHER };

/* A Range field as sent, before the file's size is known. */
enum {
	RANGE_NONE,   /* none, or one to ignore (bad syntax, other unit, repeated) */
	RANGE_ONE,    /* bytes=first-last; last is UINT64_MAX for bytes=first- */
	RANGE_SUFFIX, /* bytes=-last: the last `last` bytes */
	RANGE_MULTI,  /* two or more ranges: ignored, the answer is 200 */
};
struct http_range {
	int kind;
	uint64_t first, last; /* numbers saturate at UINT64_MAX */
};

/* A slice of the request buffer. */
struct http_str {
	const char *p;
	size_t n;
};

struct http_req {
	/* parser state (http_req_init clears it) */
	size_t skip; /* empty lines before the request line */
	size_t scan; /* bytes searched for the end of the head */

	int status;      /* 0 or the error to answer */
	size_t head_len; /* HTTP_DONE: bytes of the head, with its empty line */
	bool keep_alive;

	struct http_str line;   /* request line without its line end (log) */
	struct http_str method; /* as sent */
	struct http_str target; /* as sent */
	int mcode;              /* HTTP_GET, HTTP_HEAD, HTTP_OTHER */
	int version;            /* 10 or 11 */
	char path[HTTP_PATH_MAX + 1];

	uint64_t content_length; /* 0 when absent */
	struct http_str host, referer, user_agent;
	struct http_str if_none_match, if_range; /* .p NULL when absent */
	int64_t if_modified_since;               /* -1 when absent or unparsable */
	struct http_range range;
	unsigned nfields;
};

void http_req_init(struct http_req *r);
int http_parse(struct http_req *r, const char *buf, size_t len);

/* Decode and normalise the path part of a target (t[0] == '/', n bytes,
 * query already cut off) into out (cap bytes, NUL-terminated). 0 or 400. */
int http_path(const char *t, size_t n, char *out, size_t cap);

/* Parse a Range field's value. */
void http_range_parse(const char *v, size_t n, struct http_range *rg);

/* A range against a file of `size` bytes: 200 (serve it all: no range or
 * one to ignore), 206 (*off, *len set) or 416 (unsatisfiable). */
int http_range_resolve(const struct http_range *rg, uint64_t size, uint64_t *off,
		       uint64_t *len);

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") as seconds since the
 * epoch, or -1. The obsolete RFC 850 and asctime forms give -1 (so a
 * conditional in them is ignored and the answer is a full 200). */
int64_t http_date_parse(const char *s, size_t n);

/* Does the If-None-Match list (n bytes) match etag (with its quotes)? Weak
 * comparison (RFC 9110 8.8.3.2): W/"x" matches "x"; "*" matches any. */
bool http_etag_match(const char *list, size_t n, const char *etag);

/* What a GET or HEAD of a file with this etag, mtime and size answers
 * after the conditionals (If-None-Match, else If-Modified-Since; If-Range)
 * and the Range: 200, 206 (*off, *len), 304 or 416. */
int http_decide(const struct http_req *r, const char *etag, int64_t mtime, uint64_t size,
		uint64_t *off, uint64_t *len);

#endif
