/*
 * bench/loadgen/http.c: request text and an incremental response parser
 * (see http.h).
 */
#include "bench/loadgen/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int http_request(char *buf, size_t n, const char *host, const char *path)
{
	int len = snprintf(buf, n, "GET %s HTTP/1.1\r\nHost: %s\r\n"
			   "User-Agent: caboose-loadgen\r\n\r\n", path, host);

	return len < 0 || (size_t)len >= n ? -ENOSPC : len;
}

void http_resp_init(struct http_resp *r)
{
	r->state = HTTP_STATUS_LINE;
	r->status = 0;
	r->have_length = false;
	r->close = false;
	r->body_left = 0;
	r->bytes = 0;
	r->line_len = 0;
}

static int status_line(struct http_resp *r, const char *s)
{
	if (strncmp(s, "HTTP/1.", 7) || !isdigit((unsigned char)s[7]) || s[8] != ' ')
		return -EPROTO;
	if (!isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
	    !isdigit((unsigned char)s[11]))
		return -EPROTO;
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return 0;
}

/* VALUE of header line S if its name is NAME, else NULL */
static const char *header_value(const char *s, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(s, name, n) || s[n] != ':')
		return NULL;
	s += n + 1;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int header_line(struct http_resp *r, const char *s)
{
	const char *v;

	if ((v = header_value(s, "Content-Length"))) {
		char *end;
		unsigned long long len;

		if (!isdigit((unsigned char)*v))
			return -EPROTO;
		errno = 0;
		len = strtoull(v, &end, 10);
		if (errno || (*end && *end != ' ' && *end != '\t'))
			return -EPROTO;
		r->have_length = true;
		r->body_left = len;
	} else if ((v = header_value(s, "Transfer-Encoding"))) {
		return -EPROTO;         /* chunked: not needed for static files */
	} else if ((v = header_value(s, "Connection"))) {
		if (!strncasecmp(v, "close", 5))
			r->close = true;
	}
	return 0;
}

/* a whole line (without its end) in r->line */
static int end_of_line(struct http_resp *r, bool *done)
{
	int err = 0;

	if (r->line_len && r->line[r->line_len - 1] == '\r')
		r->line_len--;
	r->line[r->line_len] = '\0';
	if (r->state == HTTP_STATUS_LINE) {
		err = status_line(r, r->line);
		r->state = HTTP_HEADERS;
	} else if (r->line_len) {
		err = header_line(r, r->line);
	} else if (r->status >= 100 && r->status < 200) {
		r->state = HTTP_STATUS_LINE;    /* an interim response: skip it */
	} else if (!r->have_length) {
		err = -EPROTO;
	} else {
		r->state = HTTP_BODY;
		*done = r->body_left == 0;
	}
	r->line_len = 0;
	return err;
}

ssize_t http_resp_feed(struct http_resp *r, const char *buf, size_t n, bool *done)
{
	size_t i = 0;

	*done = false;
	while (i < n && !*done) {
		if (r->state == HTTP_BODY) {
			uint64_t take = n - i < r->body_left ? n - i : r->body_left;

			r->body_left -= take;
			r->bytes += take;
			i += take;
			*done = r->body_left == 0;
			continue;
		}
		char c = buf[i++];

		r->bytes++;
		if (c != '\n') {
			if (r->line_len >= HTTP_LINE_MAX - 1)
				return -EPROTO;
			r->line[r->line_len++] = c;
			continue;
		}
		if (end_of_line(r, done) < 0)
			return -EPROTO;
	}
	return (ssize_t)i;
}
