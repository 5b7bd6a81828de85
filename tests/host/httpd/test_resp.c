/*
 * Unit tests of apps/httpd's response heads (apps/httpd/resp.c): every
 * status the server sends has its reason phrase; dates round-trip through
 * the parser; heads and error answers byte for byte; a buffer too small
 * gives 0, never a cut head.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "apps/httpd/parse.h"
#include "apps/httpd/resp.h"

static const char *D = "Sun, 06 Nov 1994 08:49:37 GMT";

Test(httpd_resp, reasons)
{
	int codes[] = { 200, 206, 301, 304, 400, 403, 404, 405, 408, 413,
			414, 416, 431, 500, 501, 505 };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		cr_assert_not_null(http_reason(codes[i]), "%d", codes[i]);
	cr_assert_str_eq(http_reason(414), "URI Too Long");
	cr_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	cr_assert_null(http_reason(299));
}

Test(httpd_resp, dates_round_trip)
{
	char out[HTTP_DATE_LEN + 1];
	int64_t ts[] = { 0, 784111777, 951825600, 1700000000, 4102444800, 253402300799 };
	http_fmt_date(out, 784111777);
	cr_assert_str_eq(out, D);
	http_fmt_date(out, 0);
	cr_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		http_fmt_date(out, ts[i]);
		cr_assert_eq(strlen(out), HTTP_DATE_LEN);
		cr_assert_eq(http_date_parse(out, HTTP_DATE_LEN), ts[i], "%s", out);
	}
	for (int64_t t = 0; t < 4102444800; t += 86400 * 37 + 3607) {
		http_fmt_date(out, t);
		cr_assert_eq(http_date_parse(out, HTTP_DATE_LEN), t, "%s", out);
	}
	http_fmt_date(out, -5);
	cr_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
}

Test(httpd_resp, etag)
{
	char e[HTTP_ETAG_MAX];
	cr_assert_eq(http_fmt_etag(e, sizeof(e), 0x5f000000, 612), 14);
	cr_assert_str_eq(e, "\"5f000000-264\"");
	cr_assert_gt(http_fmt_etag(e, sizeof(e), INT64_MAX, UINT64_MAX), 0);
	cr_assert_eq(http_fmt_etag(e, 5, 1, 1), 0);
}

Test(httpd_resp, mime)
{
	cr_assert_str_eq(http_mime("/index.html"), "text/html");
	cr_assert_str_eq(http_mime("/A.HTML"), "text/html");
	cr_assert_str_eq(http_mime("/x.css"), "text/css");
	cr_assert_str_eq(http_mime("/x.png"), "image/png");
	cr_assert_str_eq(http_mime("/x.tar.gz"), "application/gzip");
	cr_assert_str_eq(http_mime("/noext"), "application/octet-stream");
	cr_assert_str_eq(http_mime("/dir.html/file"), "application/octet-stream");
	cr_assert_str_eq(http_mime("/x."), "application/octet-stream");
}

Test(httpd_resp, head_200)
{
	char buf[1024];
	struct resp r = { .status = 200, .keep_alive = true, .date = D, .type = "text/html",
			  .length = 612, .last_modified = D, .etag = "\"1-264\"" };
	size_t n = resp_head(buf, sizeof(buf), &r);
	const char *want = "HTTP/1.1 200 OK\r\nServer: caboose-httpd\r\n"
			   "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/html\r\n"
			   "Content-Length: 612\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			   "ETag: \"1-264\"\r\nAccept-Ranges: bytes\r\nConnection: keep-alive\r\n\r\n";
	cr_assert_eq(n, strlen(want));
	cr_assert_str_eq(buf, want);
	/* every smaller buffer: 0 */
	for (size_t cap = 0; cap <= n; cap++)
		cr_assert_eq(resp_head(buf, cap, &r), 0, "cap %zu", cap);
}

Test(httpd_resp, head_206_304)
{
	char buf[1024];
	struct resp r = { .status = 206, .keep_alive = false, .date = D, .type = "text/plain",
			  .length = 10, .off = 5, .size = 100 };
	cr_assert_gt(resp_head(buf, sizeof(buf), &r), 0);
	cr_assert_not_null(strstr(buf, "\r\nContent-Range: bytes 5-14/100\r\n"));
	cr_assert_not_null(strstr(buf, "\r\nContent-Length: 10\r\n"));
	cr_assert_not_null(strstr(buf, "\r\nConnection: close\r\n\r\n"));
	r = (struct resp){ .status = 304, .keep_alive = true, .date = D, .etag = "\"e\"" };
	cr_assert_gt(resp_head(buf, sizeof(buf), &r), 0);
	cr_assert_null(strstr(buf, "Content-Length"));
	cr_assert_not_null(strstr(buf, "HTTP/1.1 304 Not Modified\r\n"));
	cr_assert_not_null(strstr(buf, "ETag: \"e\"\r\n"));
}

Test(httpd_resp, every_error)
{
	int codes[] = { 301, 400, 403, 404, 405, 408, 413, 414, 416, 431, 500, 501, 505 };
	char buf[2048], line[64];
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct resp r = { .status = codes[i], .date = D, .size = 77,
				  .location = codes[i] == 301 ? "/d/" : NULL, .location_len = 3 };
		size_t n = resp_error(buf, sizeof(buf), &r, true), h;
		const char *end = strstr(buf, "\r\n\r\n");
		unsigned long clen;
		cr_assert_gt(n, 0);
		cr_assert_not_null(end);
		h = (size_t)(end + 4 - buf);
		snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", codes[i], http_reason(codes[i]));
		cr_assert_eq(strncmp(buf, line, strlen(line)), 0, "%s", buf);
		cr_assert_eq(sscanf(strstr(buf, "Content-Length: "), "Content-Length: %lu", &clen), 1);
		cr_assert_eq(clen, n - h, "%d", codes[i]);
		cr_assert_not_null(strstr(buf, "Connection: close\r\n"));
		cr_assert_eq(strstr(buf, "Allow: GET, HEAD\r\n") != NULL, codes[i] == 405);
		cr_assert_eq(strstr(buf, "Content-Range: bytes */77\r\n") != NULL, codes[i] == 416);
		cr_assert_eq(strstr(buf, "Location: /d/\r\n") != NULL, codes[i] == 301);
		/* HEAD: the same head, no body */
		cr_assert_eq(resp_error(buf, sizeof(buf), &r, false), h);
	}
}
