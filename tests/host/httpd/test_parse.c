/*
 * Unit tests of apps/httpd's request parser (apps/httpd/parse.c): request
 * lines, header fields, pipelining boundaries (every split of a request
 * gives HTTP_MORE until its last byte), every status the parser answers
 * (400, 405, 413, 414, 431, 501, 505) and its limits, percent-decoding and
 * traversal, Range (suffix, open, multiple, overflow), dates, ETags and the
 * conditionals. Each input is a heap copy of exactly its length, so
 * AddressSanitizer reports a read one byte past the end.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/httpd/parse.h"

static struct http_req R;
static char *copy;

static int parse_n(const char *s, size_t n)
{
	free(copy);
	copy = malloc(n ? n : 1);
	cr_assert_not_null(copy);
	memcpy(copy, s, n);
	http_req_init(&R);
	return http_parse(&R, copy, n);
}

static int parse(const char *s) { return parse_n(s, strlen(s)); }

static void fini(void)
{
	free(copy);
	copy = NULL;
}

TestSuite(httpd_parse, .fini = fini);

static bool str_is(struct http_str s, const char *want)
{
	return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

/* ---- request lines ---- */

Test(httpd_parse, simple_get)
{
	const char *req = "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
	cr_assert_eq(parse(req), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert_eq(R.head_len, strlen(req));
	cr_assert_eq(R.mcode, HTTP_GET);
	cr_assert_eq(R.version, 11);
	cr_assert(R.keep_alive);
	cr_assert_str_eq(R.path, "/index.html");
	cr_assert(str_is(R.line, "GET /index.html HTTP/1.1"));
	cr_assert(str_is(R.method, "GET"));
	cr_assert(str_is(R.target, "/index.html"));
	cr_assert(str_is(R.host, "a"));
	cr_assert_eq(R.content_length, 0);
	cr_assert_eq(R.range.kind, RANGE_NONE);
	cr_assert_eq(R.if_modified_since, -1);
	cr_assert_null(R.if_none_match.p);
}

Test(httpd_parse, head_and_http10)
{
	cr_assert_eq(parse("HEAD / HTTP/1.0\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.mcode, HTTP_HEAD);
	cr_assert_eq(R.version, 10);
	cr_assert_not(R.keep_alive);
	cr_assert_str_eq(R.path, "/");
	cr_assert_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), HTTP_DONE);
	cr_assert(R.keep_alive);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n"),
		     HTTP_DONE);
	cr_assert_not(R.keep_alive);
}

Test(httpd_parse, bare_lf_and_leading_empty_lines)
{
	cr_assert_eq(parse("\r\n\nGET /a HTTP/1.1\nHost: x\n\n"), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert_str_eq(R.path, "/a");
	cr_assert(str_is(R.line, "GET /a HTTP/1.1"));
	cr_assert_eq(R.head_len, strlen("\r\n\nGET /a HTTP/1.1\nHost: x\n\n"));
}

Test(httpd_parse, later_minor_version_is_11)
{
	cr_assert_eq(parse("GET / HTTP/1.7\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.version, 11);
}

Test(httpd_parse, version_errors)
{
	cr_assert_eq(parse("GET / HTTP/2.0\r\n\r\n"), HTTP_ERROR);
	cr_assert_eq(R.status, 505);
	cr_assert_eq(parse("GET / HTTP/0.9\r\n\r\n"), HTTP_ERROR);
	cr_assert_eq(R.status, 505);
	cr_assert_eq(parse("GET / HTTP/3.0\r\n\r\n"), HTTP_ERROR);
	cr_assert_eq(R.status, 505);
	cr_assert_not(R.keep_alive);
	const char *bad[] = { "GET / HTTP/1.10\r\n\r\n", "GET / http/1.1\r\n\r\n",
			      "GET / HTTP/11\r\n\r\n", "GET / HTTP/1.x\r\n\r\n",
			      "GET / HTTP/1.1 \r\n\r\n", "GET /\r\n\r\n", "GET / \r\n\r\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i]), HTTP_ERROR, "%s", bad[i]);
		cr_assert_eq(R.status, 400, "%s", bad[i]);
	}
}

Test(httpd_parse, bad_request_lines)
{
	const char *bad[] = {
		" GET / HTTP/1.1\r\n\r\n",     "GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\rX\r\n\r\n",   "G(T / HTTP/1.1\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",   "GET /\x01 HTTP/1.1\r\n\r\n",
		"GET /\x80 HTTP/1.1\r\n\r\n",  "GET\t/ HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i]);
		cr_assert(r == HTTP_ERROR || (r == HTTP_DONE && R.status == 400), "%s", bad[i]);
		cr_assert_eq(R.status, 400, "%s: %d", bad[i], R.status);
		cr_assert_not(R.keep_alive);
	}
}

Test(httpd_parse, other_methods_405_keep_alive)
{
	const char *m[] = { "POST", "PUT", "DELETE", "OPTIONS", "get", "PATCH", "BREW" };
	char buf[128];
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\nHost: x\r\n\r\n", m[i]);
		cr_assert_eq(parse(buf), HTTP_DONE, "%s", m[i]);
		cr_assert_eq(R.status, 405, "%s", m[i]);
		cr_assert_eq(R.mcode, HTTP_OTHER);
		cr_assert(R.keep_alive);
	}
	/* with a body the server drops: its length is known */
	cr_assert_eq(parse("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
		     HTTP_DONE);
	cr_assert_eq(R.status, 405);
	cr_assert_eq(R.content_length, 5);
	cr_assert_eq(R.head_len, strlen("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"));
	/* OPTIONS * is 405 too; GET * is a bad target */
	cr_assert_eq(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 405);
	parse("GET * HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(R.status, 400);
}

Test(httpd_parse, absolute_form)
{
	cr_assert_eq(parse("GET http://example.com/a/b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert_str_eq(R.path, "/a/b");
	cr_assert_eq(parse("GET HTTP://example.com HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_str_eq(R.path, "/");
	cr_assert_eq(parse("GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 400);
}

Test(httpd_parse, query_dropped)
{
	cr_assert_eq(parse("GET /a.html?b=../../etc HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert_str_eq(R.path, "/a.html");
}

/* ---- header fields ---- */

Test(httpd_parse, fields)
{
	const char *req = "GET / HTTP/1.1\r\nhOsT:   example.org  \r\nUser-Agent: curl/7.88\r\n"
			  "Referer: http://r/\r\nIf-None-Match: \"abc\"\r\n"
			  "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			  "Range: bytes=0-99\r\nX-Other: \t\r\nAccept: */*\r\n\r\n";
	cr_assert_eq(parse(req), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert(str_is(R.host, "example.org"));
	cr_assert(str_is(R.user_agent, "curl/7.88"));
	cr_assert(str_is(R.referer, "http://r/"));
	cr_assert(str_is(R.if_none_match, "\"abc\""));
	cr_assert_eq(R.if_modified_since, 784111777);
	cr_assert_eq(R.range.kind, RANGE_ONE);
	cr_assert_eq(R.range.first, 0);
	cr_assert_eq(R.range.last, 99);
	cr_assert_eq(R.nfields, 8);
}

Test(httpd_parse, field_errors)
{
	const char *bad[] = {
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",             /* space before colon */
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",   /* obs-fold */
		"GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n",  /* obs-fold */
		"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n",  /* control */
		"GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n",   /* bare CR */
		"GET / HTTP/1.1\r\n\r\n",                         /* no Host in 1.1 */
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",   /* two Hosts */
		"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i]), HTTP_ERROR, "%s", bad[i]);
		cr_assert_eq(R.status, 400, "%s: %d", bad[i], R.status);
		cr_assert_not(R.keep_alive);
	}
}

Test(httpd_parse, header_value_obs_text_allowed)
{
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: caf\xc3\xa9\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert(str_is(R.user_agent, "caf\xc3\xa9"));
}

Test(httpd_parse, content_length)
{
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 7, 7\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.content_length, 7);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.content_length, 0);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.content_length, HTTP_BODY_MAX);
}

Test(httpd_parse, body_too_large_413)
{
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n"),
		     HTTP_ERROR);
	cr_assert_eq(R.status, 413);
	cr_assert_not(R.keep_alive);
	/* overflow saturates: still 413, not a small number */
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: "
			   "99999999999999999999999999999\r\n\r\n"),
		     HTTP_ERROR);
	cr_assert_eq(R.status, 413);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551617\r\n\r\n"),
		     HTTP_ERROR);
	cr_assert_eq(R.status, 413);
}

Test(httpd_parse, transfer_encoding_501)
{
	cr_assert_eq(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
		     HTTP_ERROR);
	cr_assert_eq(R.status, 501);
	cr_assert_not(R.keep_alive);
}

Test(httpd_parse, repeated_conditionals_ignored)
{
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n"
			   "If-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n"
			   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"),
		     HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert_eq(R.range.kind, RANGE_NONE);
	cr_assert_null(R.if_none_match.p);
	cr_assert_eq(R.if_modified_since, -1);
}

/* ---- limits ---- */

static char *repeat(const char *pre, char c, size_t n, const char *post)
{
	size_t a = strlen(pre), b = strlen(post);
	char *s = malloc(a + n + b + 1);
	memcpy(s, pre, a);
	memset(s + a, c, n);
	memcpy(s + a + n, post, b + 1);
	return s;
}

Test(httpd_parse, request_line_limit_414)
{
	/* "GET /" + n + " HTTP/1.1": 14 bytes besides the n */
	char *ok = repeat("GET /", 'a', HTTP_LINE_MAX - 14, " HTTP/1.1\r\nHost: x\r\n\r\n");
	char *over = repeat("GET /", 'a', HTTP_LINE_MAX - 13, " HTTP/1.1\r\nHost: x\r\n\r\n");
	char *partial = repeat("GET /", 'a', HTTP_LINE_MAX, "");
	cr_assert_eq(parse(ok), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	cr_assert_eq(parse(over), HTTP_ERROR);
	cr_assert_eq(R.status, 414);
	/* known before the line ends */
	cr_assert_eq(parse(partial), HTTP_ERROR);
	cr_assert_eq(R.status, 414);
	cr_assert_eq(parse_n(partial, HTTP_LINE_MAX - 100), HTTP_MORE);
	free(ok);
	free(over);
	free(partial);
}

Test(httpd_parse, head_limit_431)
{
	char *big = repeat("GET / HTTP/1.1\r\nHost: x\r\nX: ", 'v', HTTP_HEAD_MAX, "\r\n\r\n");
	char *partial = repeat("GET / HTTP/1.1\r\nHost: x\r\nX: ", 'v', HTTP_HEAD_MAX, "");
	char *fits = repeat("GET / HTTP/1.1\r\nHost: x\r\nX: ", 'v', HTTP_HEAD_MAX - 60, "\r\n\r\n");
	cr_assert_eq(parse(big), HTTP_ERROR);
	cr_assert_eq(R.status, 431);
	cr_assert_eq(parse(partial), HTTP_ERROR);
	cr_assert_eq(R.status, 431);
	cr_assert_eq(parse(fits), HTTP_DONE);
	cr_assert_eq(R.status, 0);
	free(big);
	free(partial);
	free(fits);
}

Test(httpd_parse, field_count_limit_431)
{
	char buf[4096];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 1; i < HTTP_FIELDS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "A: b\r\n");
	strcpy(buf + n, "\r\n");
	cr_assert_eq(parse(buf), HTTP_DONE);
	cr_assert_eq(R.nfields, HTTP_FIELDS_MAX);
	strcpy(buf + n, "A: b\r\n\r\n");
	cr_assert_eq(parse(buf), HTTP_ERROR);
	cr_assert_eq(R.status, 431);
}

Test(httpd_parse, many_empty_lines_bounded)
{
	char *s = repeat("", '\n', HTTP_HEAD_MAX + 10, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(parse(s), HTTP_ERROR);
	cr_assert_eq(R.status, 400);
	free(s);
}

/* ---- pipelining and incremental input ---- */

Test(httpd_parse, every_split_is_more_until_the_end)
{
	const char *req = "GET /p HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2\r\n\r\n";
	size_t n = strlen(req);
	char *buf = malloc(n);
	memcpy(buf, req, n);
	for (size_t cut = 0; cut < n; cut++) {
		/* one request object fed one byte more each time, as the server does */
		struct http_req r;
		http_req_init(&r);
		for (size_t k = 0; k <= cut; k++)
			cr_assert_eq(http_parse(&r, buf, k), HTTP_MORE, "cut %zu k %zu", cut, k);
	}
	struct http_req r;
	http_req_init(&r);
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(http_parse(&r, buf, k), HTTP_MORE);
	cr_assert_eq(http_parse(&r, buf, n), HTTP_DONE);
	cr_assert_eq(r.head_len, n);
	cr_assert_str_eq(r.path, "/p");
	cr_assert_eq(r.range.first, 1);
	free(buf);
}

Test(httpd_parse, pipelined_three)
{
	const char *a = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *b = "HEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *c = "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char all[256];
	size_t off = 0, n;
	snprintf(all, sizeof(all), "%s%s%s", a, b, c);
	n = strlen(all);
	const char *paths[] = { "/1", "/2", "/3" };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(parse_n(all + off, n - off), HTTP_DONE);
		cr_assert_str_eq(R.path, paths[i]);
		cr_assert_eq(R.keep_alive, i < 2);
		off += R.head_len;
	}
	cr_assert_eq(off, n);
	/* the boundary: a head ending exactly where the next begins, with the
	 * next one partial */
	cr_assert_eq(parse_n(all, strlen(a) + 5), HTTP_DONE);
	cr_assert_eq(R.head_len, strlen(a));
}

Test(httpd_parse, lf_cr_lf_boundary)
{
	/* the end is "\n\r\n"; bytes arriving as "\n", "\r", "\n" */
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET";
	size_t end = strlen(req) - 3;
	struct http_req r;
	http_req_init(&r);
	cr_assert_eq(http_parse(&r, req, end - 2), HTTP_MORE);
	cr_assert_eq(http_parse(&r, req, end - 1), HTTP_MORE);
	cr_assert_eq(http_parse(&r, req, end), HTTP_DONE);
	cr_assert_eq(r.head_len, end);
}

/* ---- paths: decoding and traversal ---- */

static int path(const char *t, char *out)
{
	return http_path(t, strlen(t), out, HTTP_PATH_MAX + 1);
}

Test(httpd_parse, percent_decoding)
{
	char out[HTTP_PATH_MAX + 1];
	cr_assert_eq(path("/a%20b", out), 0);
	cr_assert_str_eq(out, "/a b");
	cr_assert_eq(path("/%41%62%63", out), 0);
	cr_assert_str_eq(out, "/Abc");
	cr_assert_eq(path("/%e2%82%ac", out), 0);
	cr_assert_str_eq(out, "/\xe2\x82\xac");
	cr_assert_eq(path("/a%2Fb", out), 0);
	cr_assert_str_eq(out, "/a/b");
	const char *bad[] = { "/%", "/%4", "/%G0", "/%0g", "/a%00b", "/%00", "/a%", "/a#b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(path(bad[i], out), 400, "%s", bad[i]);
}

Test(httpd_parse, normalisation)
{
	static const char *cases[][2] = {
		{ "/", "/" },           { "//", "/" },          { "/a//b", "/a/b" },
		{ "/a/", "/a/" },       { "/a/./b", "/a/b" },   { "/a/.", "/a/" },
		{ "/./", "/" },         { "/.", "/" },          { "/a/../b", "/b" },
		{ "/a/b/..", "/a/" },   { "/a/b/../", "/a/" },  { "/a/..", "/" },
		{ "/a/%2e%2e/b", "/b" }, { "/..a/b", "/..a/b" }, { "/a../b", "/a../b" },
		{ "/.../x", "/.../x" }, { "/.hidden", "/.hidden" },
	};
	char out[HTTP_PATH_MAX + 1];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(path(cases[i][0], out), 0, "%s", cases[i][0]);
		cr_assert_str_eq(out, cases[i][1], "%s", cases[i][0]);
	}
}

Test(httpd_parse, traversal_refused)
{
	const char *bad[] = {
		"/..",          "/../",          "/../etc/passwd", "/a/../../etc/passwd",
		"/%2e%2e/etc",  "/%2E%2E/etc",   "/.%2e/etc",      "/%2e./etc",
		"/a%2f..%2f..%2fetc", "/a/%2e%2e%2f%2e%2e/x", "//../x", "/./../x",
	};
	char out[HTTP_PATH_MAX + 1];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(path(bad[i], out), 400, "%s", bad[i]);
	/* and through the whole parser */
	cr_assert_eq(parse("GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 400);
	cr_assert_not(R.keep_alive);
	cr_assert_eq(parse("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 400);
	cr_assert_eq(parse("GET /a%00.html HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
	cr_assert_eq(R.status, 400);
	cr_assert_eq(parse_n("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 31), HTTP_ERROR);
	cr_assert_eq(R.status, 400);
}

Test(httpd_parse, path_never_too_long_for_out)
{
	char *t = repeat("/", 'x', HTTP_PATH_MAX, "");
	char out[HTTP_PATH_MAX + 1];
	cr_assert_eq(http_path(t, strlen(t), out, sizeof(out)), 400);
	cr_assert_eq(http_path(t, HTTP_PATH_MAX, out, sizeof(out)), 0);
	cr_assert_eq(strlen(out), HTTP_PATH_MAX);
	free(t);
}

/* ---- Range ---- */

static struct http_range rng(const char *v)
{
	struct http_range r;
	char *c = strdup(v);
	http_range_parse(c, strlen(c), &r);
	free(c);
	return r;
}

Test(httpd_parse, range_forms)
{
	struct http_range r = rng("bytes=0-499");
	cr_assert_eq(r.kind, RANGE_ONE);
	cr_assert_eq(r.first, 0);
	cr_assert_eq(r.last, 499);
	r = rng("bytes=500-");
	cr_assert_eq(r.kind, RANGE_ONE);
	cr_assert_eq(r.first, 500);
	cr_assert_eq(r.last, UINT64_MAX);
	r = rng("bytes=-200");
	cr_assert_eq(r.kind, RANGE_SUFFIX);
	cr_assert_eq(r.last, 200);
	r = rng("BYTES= 5-5 ,");
	cr_assert_eq(r.kind, RANGE_ONE);
	cr_assert_eq(r.first, 5);
	cr_assert_eq(r.last, 5);
	r = rng("bytes=0-1,5-6");
	cr_assert_eq(r.kind, RANGE_MULTI);
	r = rng("bytes=0-1, -5");
	cr_assert_eq(r.kind, RANGE_MULTI);
}

Test(httpd_parse, range_ignored_when_bad)
{
	const char *bad[] = { "bytes=",    "bytes=-",   "bytes=a-b", "bytes=5-4",  "bytes=1-2-3",
			      "items=0-1", "bytes 0-1", "bytes=0-1,x", "bytes=--1", "bytes=1",
			      "bytes=0x1-2", "", "bytes=-1-" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(rng(bad[i]).kind, RANGE_NONE, "%s", bad[i]);
}

Test(httpd_parse, range_overflow_saturates)
{
	struct http_range r = rng("bytes=99999999999999999999999-");
	cr_assert_eq(r.kind, RANGE_ONE);
	cr_assert_eq(r.first, UINT64_MAX);
	uint64_t off, len;
	cr_assert_eq(http_range_resolve(&r, 1000, &off, &len), 416);
	r = rng("bytes=10-99999999999999999999999");
	cr_assert_eq(r.last, UINT64_MAX);
	cr_assert_eq(http_range_resolve(&r, 1000, &off, &len), 206);
	cr_assert_eq(off, 10);
	cr_assert_eq(len, 990);
	r = rng("bytes=-99999999999999999999999");
	cr_assert_eq(http_range_resolve(&r, 1000, &off, &len), 206);
	cr_assert_eq(off, 0);
	cr_assert_eq(len, 1000);
	r = rng("bytes=18446744073709551615-18446744073709551615");
	cr_assert_eq(http_range_resolve(&r, UINT64_MAX, &off, &len), 416);
}

Test(httpd_parse, range_resolve)
{
	uint64_t off = 7, len = 7;
	struct http_range r = rng("bytes=0-0");
	cr_assert_eq(http_range_resolve(&r, 10, &off, &len), 206);
	cr_assert_eq(off, 0);
	cr_assert_eq(len, 1);
	r = rng("bytes=9-20");
	cr_assert_eq(http_range_resolve(&r, 10, &off, &len), 206);
	cr_assert_eq(off, 9);
	cr_assert_eq(len, 1);
	r = rng("bytes=10-");
	cr_assert_eq(http_range_resolve(&r, 10, &off, &len), 416);
	r = rng("bytes=-3");
	cr_assert_eq(http_range_resolve(&r, 10, &off, &len), 206);
	cr_assert_eq(off, 7);
	cr_assert_eq(len, 3);
	r = rng("bytes=-0");
	cr_assert_eq(http_range_resolve(&r, 10, &off, &len), 416);
	r = rng("bytes=-5");
	cr_assert_eq(http_range_resolve(&r, 0, &off, &len), 416);
	r = rng("bytes=0-");
	cr_assert_eq(http_range_resolve(&r, 0, &off, &len), 416);
	r = rng("bytes=0-1,3-4");
	cr_assert_eq(http_range_resolve(&r, 10, &off, &len), 200);
}

/* ---- dates, ETags, conditionals ---- */

Test(httpd_parse, dates)
{
	cr_assert_eq(http_date_parse("Thu, 01 Jan 1970 00:00:00 GMT", 29), 0);
	cr_assert_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29), 784111777);
	cr_assert_eq(http_date_parse("Tue, 29 Feb 2000 12:00:00 GMT", 29), 951825600);
	cr_assert_eq(http_date_parse("Fri, 31 Dec 9999 23:59:59 GMT", 29), 253402300799);
	const char *bad[] = { "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
			      "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
			      "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
			      "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT",
			      "Sun, 06 Nov 1994 08:49:3x GMT", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(http_date_parse(bad[i], strlen(bad[i])), -1, "%s", bad[i]);
}

Test(httpd_parse, etag_match)
{
	const char *e = "\"5f-264\"";
	cr_assert(http_etag_match("\"5f-264\"", 8, e));
	cr_assert(http_etag_match("W/\"5f-264\"", 10, e));
	cr_assert(http_etag_match("*", 1, e));
	const char *l = "\"a\", W/\"b\" ,\"5f-264\"";
	cr_assert(http_etag_match(l, strlen(l), e));
	cr_assert_not(http_etag_match("\"5f-265\"", 8, e));
	cr_assert_not(http_etag_match("\"5f-264", 7, e));
	cr_assert_not(http_etag_match("5f-264", 6, e));
	cr_assert_not(http_etag_match("", 0, e));
	cr_assert_not(http_etag_match("bad, \"5f-264\"", 13, e));
}

Test(httpd_parse, decide)
{
	const char *etag = "\"10-64\"";
	int64_t mtime = 784111777;
	uint64_t off, len;

	parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 200);
	cr_assert_eq(len, 100);
	parse("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"10-64\"\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 304);
	parse("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n"
	      "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
	/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2) */
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 200);
	parse("GET / HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 304);
	cr_assert_eq(http_decide(&R, etag, mtime + 1, 100, &off, &len), 200);
	parse("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 206);
	cr_assert_eq(off, 10);
	cr_assert_eq(len, 10);
	cr_assert_eq(http_decide(&R, etag, mtime, 5, &off, &len), 416);
	/* HEAD ignores Range */
	parse("HEAD / HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 200);
	/* If-Range: same strong etag or exact date keeps the range */
	parse("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nIf-Range: \"10-64\"\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 206);
	parse("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nIf-Range: \"old\"\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 200);
	cr_assert_eq(len, 100);
	parse("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nIf-Range: W/\"10-64\"\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 200);
	parse("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n"
	      "If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 206);
	cr_assert_eq(http_decide(&R, etag, mtime + 1, 100, &off, &len), 200);
	/* a 304 comes before a 416 */
	parse("GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=500-\r\nIf-None-Match: *\r\n\r\n");
	cr_assert_eq(http_decide(&R, etag, mtime, 100, &off, &len), 304);
}

/* ---- hostile bytes: never a crash, always a definite answer ---- */

Test(httpd_parse, every_byte_change_of_a_request)
{
	const char *req = "GET /a/b.html?q HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2\r\n"
			  "If-None-Match: \"x\"\r\nContent-Length: 0\r\n\r\n";
	size_t n = strlen(req);
	char *buf = malloc(n);
	for (size_t i = 0; i < n; i++) {
		for (int v = 0; v < 256; v += 7) {
			memcpy(buf, req, n);
			buf[i] = (char)v;
			struct http_req r;
			http_req_init(&r);
			int res = http_parse(&r, buf, n);
			cr_assert(res == HTTP_MORE || res == HTTP_DONE || res == HTTP_ERROR);
			if (res == HTTP_DONE) {
				cr_assert(r.head_len <= n);
				cr_assert(r.status || r.path[0] == '/');
			}
			if (res == HTTP_ERROR)
				cr_assert(r.status >= 400 && r.status < 600);
		}
	}
	free(buf);
}
