/*
 * The request parser (parse.h): finds the end of the head incrementally,
 * then parses the request line and the header fields of the complete head
 * in one pass. Every read is bounded by the length the caller gave; nothing
 * here writes outside struct http_req.
 */
#include "parse.h"

#include <string.h>

static bool is_tchar(unsigned char c)
{
	/* RFC 9110 5.6.2: token characters */
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_vchar(unsigned char c) { return c > 0x20 && c < 0x7f; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static bool ieq(const char *a, size_t n, const char *lit)
{
	size_t i;
	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower(a[i]) != lit[i])
			return false;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void http_req_init(struct http_req *r)
{
	memset(r, 0, sizeof(*r));
	r->if_modified_since = -1;
}

static int fail(struct http_req *r, int status)
{
	r->status = status;
	r->keep_alive = false;
	return HTTP_ERROR;
}

/* The end of the head: the byte after an empty line, or 0. r->scan moves
 * past every byte that cannot start the final line end. */
static size_t head_end(struct http_req *r, const char *b, size_t len)
{
	size_t i = r->scan;
	while (i < len) {
		const char *nl = memchr(b + i, '\n', len - i);
		if (!nl) {
			i = len;
			break;
		}
		i = (size_t)(nl - b);
		if (i + 1 >= len)
			break;
		if (b[i + 1] == '\n')
			return i + 2;
		if (b[i + 1] == '\r') {
			if (i + 2 >= len)
				break;
			if (b[i + 2] == '\n')
				return i + 3;
		}
		i++;
	}
	r->scan = i;
	return 0;
}

/* One line of the head starting at *pos: its bytes without the line end.
 * A CR anywhere but before the LF is an error. */
static int next_line(const char *b, size_t end, size_t *pos, struct http_str *line)
{
	const char *nl = memchr(b + *pos, '\n', end - *pos);
	size_t n;
	if (!nl)
		return -1;
	n = (size_t)(nl - (b + *pos));
	line->p = b + *pos;
	line->n = n && line->p[n - 1] == '\r' ? n - 1 : n;
	if (memchr(line->p, '\r', line->n))
		return -1;
	*pos += n + 1;
	return 0;
}

static int parse_version(struct http_req *r, const char *v, size_t n)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	r->version = v[7] == '0' ? 10 : 11;
	return 0;
}

static int parse_request_line(struct http_req *r, struct http_str l)
{
	const char *sp1, *sp2;
	size_t i;
	int st;

	sp1 = memchr(l.p, ' ', l.n);
	if (!sp1 || sp1 == l.p)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', l.n - (size_t)(sp1 + 1 - l.p));
	if (!sp2 || sp2 == sp1 + 1)
		return 400;
	r->method.p = l.p;
	r->method.n = (size_t)(sp1 - l.p);
	r->target.p = sp1 + 1;
	r->target.n = (size_t)(sp2 - r->target.p);
	for (i = 0; i < r->method.n; i++)
		if (!is_tchar((unsigned char)r->method.p[i]))
			return 400;
	for (i = 0; i < r->target.n; i++)
		if (!is_vchar((unsigned char)r->target.p[i]))
			return 400;
	st = parse_version(r, sp2 + 1, l.n - (size_t)(sp2 + 1 - l.p));
	if (st)
		return st;
	if (r->method.n == 3 && memcmp(r->method.p, "GET", 3) == 0)
		r->mcode = HTTP_GET;
	else if (r->method.n == 4 && memcmp(r->method.p, "HEAD", 4) == 0)
		r->mcode = HTTP_HEAD;
	else
		r->mcode = HTTP_OTHER;
	return 0;
}

/* Content-Length: 1*DIGIT, saturating; a list of equal values ("5, 5") is
 * what a proxy may send and is taken (RFC 9110 8.6). -1: invalid. */
static int64_t parse_length(const char *v, size_t n)
{
	int64_t val = -1, cur;
	size_t i = 0;
	while (i < n) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		cur = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			cur = cur > (INT64_MAX - 9) / 10 ? INT64_MAX : cur * 10 + (v[i] - '0');
			i++;
		}
		if (val >= 0 && cur != val)
			return -1;
		val = cur;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < n && v[i++] != ',')
			return -1;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
	}
	return val;
}

/* Connection: a list of tokens, of which "close" and "keep-alive" count. */
static void parse_connection(const char *v, size_t n, bool *close, bool *ka)
{
	size_t i = 0, s;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (ieq(v + s, i - s, "close"))
			*close = true;
		else if (ieq(v + s, i - s, "keep-alive"))
			*ka = true;
	}
}

struct seen {
	unsigned host, length, te, range, inm, ims, ifr;
	bool close, ka;
	int64_t length_val;
};

static void set_once(struct http_str *dst, unsigned *count, const char *v, size_t n)
{
	if (++*count == 1) {
		dst->p = v;
		dst->n = n;
	} else {
		dst->p = NULL;
		dst->n = 0;
	}
}

static int parse_field(struct http_req *r, struct seen *s, struct http_str l)
{
	const char *colon = memchr(l.p, ':', l.n);
	const char *v, *name = l.p;
	size_t nn, vn, i;
	int64_t len;

	if (!colon || colon == l.p)
		return 400;
	nn = (size_t)(colon - l.p);
	for (i = 0; i < nn; i++)
		if (!is_tchar((unsigned char)name[i]))
			return 400; /* also space before the colon (RFC 9112 5.1) */
	v = colon + 1;
	vn = l.n - nn - 1;
	while (vn && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	for (i = 0; i < vn; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 400;
	}

	if (ieq(name, nn, "host")) {
		s->host++;
		r->host.p = v;
		r->host.n = vn;
	} else if (ieq(name, nn, "connection")) {
		parse_connection(v, vn, &s->close, &s->ka);
	} else if (ieq(name, nn, "content-length")) {
		len = parse_length(v, vn);
		if (len < 0 || (s->length && len != s->length_val))
			return 400;
		s->length++;
		s->length_val = len;
	} else if (ieq(name, nn, "transfer-encoding")) {
		s->te++;
	} else if (ieq(name, nn, "range")) {
		struct http_str raw = { 0 };
		set_once(&raw, &s->range, v, vn);
		if (raw.p)
			http_range_parse(raw.p, raw.n, &r->range);
		else
			r->range.kind = RANGE_NONE;
	} else if (ieq(name, nn, "if-none-match")) {
		set_once(&r->if_none_match, &s->inm, v, vn);
	} else if (ieq(name, nn, "if-modified-since")) {
		r->if_modified_since = ++s->ims == 1 ? http_date_parse(v, vn) : -1;
	} else if (ieq(name, nn, "if-range")) {
		set_once(&r->if_range, &s->ifr, v, vn);
	} else if (ieq(name, nn, "referer")) {
		r->referer.p = v;
		r->referer.n = vn;
	} else if (ieq(name, nn, "user-agent")) {
		r->user_agent.p = v;
		r->user_agent.n = vn;
	}
	return 0;
}

/* The target's path: origin form, or absolute form whose authority goes. */
static int target_path(struct http_req *r)
{
	const char *t = r->target.p, *q;
	size_t n = r->target.n, skip = 0;

	if (n >= 7 && ieq(t, 7, "http://"))
		skip = 7;
	else if (n >= 8 && ieq(t, 8, "https://"))
		skip = 8;
	if (skip) {
		const char *slash = memchr(t + skip, '/', n - skip);
		if (!slash) {
			r->path[0] = '/';
			r->path[1] = 0;
			return 0;
		}
		n -= (size_t)(slash - t);
		t = slash;
	}
	if (n == 0 || t[0] != '/')
		return 400;
	q = memchr(t, '?', n);
	if (q)
		n = (size_t)(q - t);
	return http_path(t, n, r->path, sizeof(r->path));
}

/* The complete head, b[r->skip .. end). */
static int parse_head(struct http_req *r, const char *b, size_t end)
{
	struct seen s = { 0 };
	struct http_str l;
	size_t pos = r->skip;
	int st;

	if (next_line(b, end, &pos, &r->line))
		return fail(r, 400);
	if (r->line.n > HTTP_LINE_MAX)
		return fail(r, 414);
	st = parse_request_line(r, r->line);
	if (st)
		return fail(r, st);
	for (;;) {
		if (next_line(b, end, &pos, &l))
			return fail(r, 400);
		if (l.n == 0)
			break;
		if (++r->nfields > HTTP_FIELDS_MAX)
			return fail(r, 431);
		if (l.p[0] == ' ' || l.p[0] == '\t')
			return fail(r, 400); /* obsolete line folding (RFC 9112 5.2) */
		st = parse_field(r, &s, l);
		if (st)
			return fail(r, st);
	}
	r->head_len = end;

	if (s.te && s.length)
		return fail(r, 400); /* request smuggling (RFC 9112 6.3) */
	if (s.te)
		return fail(r, 501);
	if (r->version == 11 && s.host != 1)
		return fail(r, 400);
	if (s.host > 1)
		return fail(r, 400);
	r->keep_alive = r->version == 11 ? !s.close : (s.ka && !s.close);
	if (s.length && (uint64_t)s.length_val > HTTP_BODY_MAX)
		return fail(r, 413);
	r->content_length = s.length ? (uint64_t)s.length_val : 0;
	if (r->mcode == HTTP_OTHER) {
		r->status = 405;
		return HTTP_DONE;
	}
	st = target_path(r);
	if (st) {
		r->status = st;
		r->keep_alive = false;
	}
	return HTTP_DONE;
}

int http_parse(struct http_req *r, const char *b, size_t len)
{
	size_t end, line_end;
	const char *nl;

	while (r->skip < len) {
		if (b[r->skip] == '\n')
			r->skip++;
		else if (b[r->skip] == '\r' && r->skip + 1 < len && b[r->skip + 1] == '\n')
			r->skip += 2;
		else
			break;
	}
	if (r->skip > HTTP_HEAD_MAX)
		return fail(r, 400);
	if (r->scan < r->skip)
		r->scan = r->skip;
	end = head_end(r, b, len);
	if (end == 0) {
		/* incomplete: is it already over a limit? */
		nl = memchr(b + r->skip, '\n', len - r->skip);
		line_end = nl ? (size_t)(nl - b) : len;
		if (line_end - r->skip > HTTP_LINE_MAX + 1)
			return fail(r, 414);
		if (len > HTTP_HEAD_MAX)
			return fail(r, 431);
		return HTTP_MORE;
	}
	if (end > HTTP_HEAD_MAX) {
		nl = memchr(b + r->skip, '\n', end - r->skip);
		if (nl && (size_t)(nl - b) - r->skip > HTTP_LINE_MAX + 1)
			return fail(r, 414);
		return fail(r, 431);
	}
	return parse_head(r, b, end);
}

int http_path(const char *t, size_t n, char *out, size_t cap)
{
	size_t i, o = 0, seg;
	int hi, lo;
	char c;

	if (n == 0 || t[0] != '/' || cap < 2)
		return 400;
	/* decode into out: bounded by n < cap */
	if (n >= cap)
		return 400;
	for (i = 0; i < n; i++) {
		c = t[i];
		if (c == '%') {
			if (i + 2 >= n)
				return 400;
			hi = hexval(t[i + 1]);
			lo = hexval(t[i + 2]);
			if (hi < 0 || lo < 0)
				return 400;
			c = (char)(hi << 4 | lo);
			i += 2;
			if (c == 0)
				return 400;
		} else if (c == '#' || !is_vchar((unsigned char)c)) {
			return 400;
		}
		out[o++] = c;
	}
	out[o] = 0;

	/* resolve segments in place: the write cursor never passes the read one */
	n = o;
	o = 0;
	i = 0;
	while (i < n) {
		while (i < n && out[i] == '/')
			i++;
		seg = i;
		while (i < n && out[i] != '/')
			i++;
		if (i - seg == 1 && out[seg] == '.') {
			if (i == n)
				out[o++] = '/';
			continue;
		}
		if (i - seg == 2 && out[seg] == '.' && out[seg + 1] == '.') {
			if (o == 0)
				return 400; /* above the root */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the slash before the popped segment */
			if (i == n)
				out[o++] = '/';
			continue;
		}
		if (i == seg) {
			/* trailing slashes */
			out[o++] = '/';
			continue;
		}
		out[o++] = '/';
		memmove(out + o, out + seg, i - seg);
		o += i - seg;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* Digits at v[*i], saturating at UINT64_MAX; false if there are none. */
static bool number(const char *v, size_t n, size_t *i, uint64_t *out)
{
	uint64_t x = 0;
	size_t s = *i;
	while (*i < n && v[*i] >= '0' && v[*i] <= '9') {
		unsigned d = (unsigned)(v[*i] - '0');
		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
		(*i)++;
	}
	*out = x;
	return *i > s;
}

static bool range_spec(const char *v, size_t n, struct http_range *rg)
{
	size_t i = 0;
	if (n == 0)
		return false;
	if (v[0] == '-') {
		i = 1;
		if (!number(v, n, &i, &rg->last) || i != n)
			return false;
		rg->kind = RANGE_SUFFIX;
		rg->first = 0;
		return true;
	}
	if (!number(v, n, &i, &rg->first) || i >= n || v[i] != '-')
		return false;
	i++;
	if (i == n) {
		rg->last = UINT64_MAX;
	} else if (!number(v, n, &i, &rg->last) || i != n || rg->last < rg->first) {
		return false; /* RFC 9110 14.1.1: last < first is invalid */
	}
	rg->kind = RANGE_ONE;
	return true;
}

void http_range_parse(const char *v, size_t n, struct http_range *rg)
{
	size_t i = 6, s, e, specs = 0;
	struct http_range one = { 0 };

	rg->kind = RANGE_NONE;
	if (n < 6 || !ieq(v, 6, "bytes="))
		return;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (i < n)
			i++; /* the comma */
		if (e == s)
			continue; /* empty list elements are allowed (RFC 9110 5.6.1) */
		if (!range_spec(v + s, e - s, &one))
			return;
		specs++;
	}
	if (specs == 1)
		*rg = one;
	else if (specs > 1)
		rg->kind = RANGE_MULTI;
}

int http_range_resolve(const struct http_range *rg, uint64_t size, uint64_t *off,
		       uint64_t *len)
{
	uint64_t last;
	switch (rg->kind) {
	case RANGE_ONE:
		if (rg->first >= size)
			return 416;
		last = rg->last >= size ? size - 1 : rg->last;
		*off = rg->first;
		*len = last - rg->first + 1;
		return 206;
	case RANGE_SUFFIX:
		if (rg->last == 0 || size == 0)
			return 416;
		*len = rg->last > size ? size : rg->last;
		*off = size - *len;
		return 206;
	default:
		return 200;
	}
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* the proleptic Gregorian calendar, from 1970-01-01 */
	int64_t era;
	unsigned yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
	int i, x = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*out = x;
	return true;
}

int64_t http_date_parse(const char *s, size_t n)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int d, y, hh, mm, ss, mon, wd;

	/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes */
	if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    memcmp(s + 26, "GMT", 3) != 0)
		return -1;
	for (wd = 0; wd < 7; wd++)
		if (memcmp(s, days + 3 * wd, 3) == 0)
			break;
	for (mon = 0; mon < 12; mon++)
		if (memcmp(s + 8, months + 3 * mon, 3) == 0)
			break;
	if (wd == 7 || mon == 12 || !digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) ||
	    !digits(s + 17, 2, &hh) || !digits(s + 20, 2, &mm) || !digits(s + 23, 2, &ss))
		return -1;
	if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	return days_from_civil(y, (unsigned)mon + 1, (unsigned)d) * 86400 + hh * 3600 + mm * 60 +
	       ss;
}

bool http_etag_match(const char *v, size_t n, const char *etag)
{
	size_t i = 0, s, elen = strlen(etag);
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		if (i == n)
			break;
		if (v[i] == '*')
			return true;
		if (n - i >= 2 && v[i] == 'W' && v[i + 1] == '/')
			i += 2;
		if (i == n || v[i] != '"')
			return false; /* malformed: stop, nothing matched */
		s = i++;
		while (i < n && v[i] != '"')
			i++;
		if (i == n)
			return false;
		i++;
		if (i - s == elen && memcmp(v + s, etag, elen) == 0)
			return true;
	}
	return false;
}

int http_decide(const struct http_req *r, const char *etag, int64_t mtime, uint64_t size,
		uint64_t *off, uint64_t *len)
{
	bool use_range = r->mcode == HTTP_GET;

	/* RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only without it */
	if (r->if_none_match.p) {
		if (http_etag_match(r->if_none_match.p, r->if_none_match.n, etag))
			return 304;
	} else if (r->if_modified_since >= 0 && mtime <= r->if_modified_since) {
		return 304;
	}
	if (use_range && r->range.kind != RANGE_NONE && r->if_range.p) {
		/* RFC 9110 13.1.5: a strong etag equal to ours, or our exact date */
		const struct http_str *ir = &r->if_range;
		if (ir->p[0] == '"')
			use_range = ir->n == strlen(etag) && memcmp(ir->p, etag, ir->n) == 0;
		else
			use_range = http_date_parse(ir->p, ir->n) == mtime;
	}
	*off = 0;
	*len = size;
	if (!use_range)
		return 200;
	return http_range_resolve(&r->range, size, off, len);
}
