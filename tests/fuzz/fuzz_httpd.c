/*
 * libFuzzer target for apps/httpd's request parser (apps/httpd/parse.c).
 *
 * The input is a byte stream as a client would send it. The target parses
 * it the way the server does: requests one after another (pipelining), each
 * fed in growing pieces whose sizes come from the input's first byte, and
 * checks the invariants the server relies on:
 *   - the incremental result equals the one-shot result on the same bytes;
 *   - a complete head is no longer than what was given, and a served path
 *     starts with '/', has no NUL before its end, no "." or ".." segment;
 *   - an error is a 4xx or 5xx the parser documents;
 *   - Range resolution stays inside the file; the conditionals answer one
 *     of 200, 206, 304, 416.
 * Every read past the given length is AddressSanitizer's to report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/httpd/parse.h"

static void check_path(const char *p)
{
	size_t n = strlen(p), i, seg;
	if (p[0] != '/' || n > HTTP_PATH_MAX)
		abort();
	for (i = 1; i <= n; i = seg + 1) {
		seg = i;
		while (seg < n && p[seg] != '/')
			seg++;
		if ((seg - i == 1 && p[i] == '.') || (seg - i == 2 && p[i] == '.' && p[i + 1] == '.'))
			abort();
		if (seg - i == 0 && seg < n)
			abort(); /* "//" */
	}
}

static void check_done(const struct http_req *r, size_t len)
{
	uint64_t off, rlen;
	int st;
	if (r->head_len == 0 || r->head_len > len || r->head_len > HTTP_HEAD_MAX)
		abort();
	if (r->status == 0) {
		check_path(r->path);
		st = http_decide(r, "\"1-2\"", 1, 1000, &off, &rlen);
		if (st != 200 && st != 206 && st != 304 && st != 416)
			abort();
		if ((st == 200 || st == 206) && (off > 1000 || rlen > 1000 - off))
			abort();
		if (st == 206 && rlen == 0)
			abort();
	} else if (r->status != 400 && r->status != 405 && r->status != 413 &&
		   r->status != 501) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf;
	size_t step, pos = 0, len, k;
	struct http_req inc, one;
	int ri, r1;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	buf = (const char *)data + 1;
	size--;

	while (pos < size) {
		len = size - pos;
		http_req_init(&one);
		r1 = http_parse(&one, buf + pos, len);

		/* the same bytes in pieces, through one request object */
		http_req_init(&inc);
		ri = HTTP_MORE;
		for (k = step < len ? step : len; ri == HTTP_MORE; k += step) {
			if (k > len)
				k = len;
			ri = http_parse(&inc, buf + pos, k);
			if (k == len)
				break;
		}
		if (ri != r1 || inc.status != one.status)
			abort();
		if (r1 == HTTP_MORE)
			break;
		if (r1 == HTTP_ERROR) {
			if (one.status != 400 && one.status != 413 && one.status != 414 &&
			    one.status != 431 && one.status != 501 && one.status != 505)
				abort();
			break;
		}
		check_done(&one, len);
		if (one.head_len != inc.head_len || strcmp(one.path, inc.path) != 0)
			abort();
		if (!one.keep_alive)
			break;
		pos += one.head_len;
		pos += one.content_length < size - pos ? one.content_length : size - pos;
	}
	return 0;
}
