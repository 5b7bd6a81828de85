/*
 * The access log: one line per answer in nginx's "combined" format
 *   $remote_addr - $remote_user [$time_local] "$request" $status
 *   $body_bytes_sent "$http_referer" "$http_user_agent"
 * on stdout, buffered per worker (HTTPD_LOG_SIZE) and written whole lines
 * at a time under log_lock, when the buffer is nearly full, at least once a
 * second, and at exit. Bytes from the client are escaped as nginx does
 * (\xHH for '"', '\\', controls and bytes over 0x7e) and cut to a bound,
 * so a line can never exceed LOG_LINE_MAX. If stdout fails, logging stops
 * with one message on stderr.
 */
#include "httpd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_REQ_MAX 2048 /* raw bytes of the request line logged */
#define LOG_HDR_MAX 512  /* of the Referer and User-Agent */
#define LOG_LINE_MAX (4 * (LOG_REQ_MAX + 2 * LOG_HDR_MAX) + 256)

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool log_broken;

static size_t escape(char *o, const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, k = 0;
	if (!s || n == 0) {
		o[0] = '-';
		return 1;
	}
	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			o[k++] = '\\';
			o[k++] = 'x';
			o[k++] = hex[c >> 4];
			o[k++] = hex[c & 15];
		} else {
			o[k++] = (char)c;
		}
	}
	return k;
}

/* The request line as logged: the parsed one, else the first line of what
 * arrived (a broken or timed-out request). */
static void request_line(const struct conn *c, const char **p, size_t *n)
{
	const char *nl;
	if (c->req.line.p) {
		*p = c->req.line.p;
		*n = c->req.line.n;
		return;
	}
	*p = c->in + c->req.skip;
	*n = c->in_len > c->req.skip ? c->in_len - c->req.skip : 0;
	nl = memchr(*p, '\n', *n);
	if (nl)
		*n = (size_t)(nl - *p);
	if (*n && (*p)[*n - 1] == '\r')
		(*n)--;
}

void log_access(struct worker *w, const struct conn *c)
{
	char *o;
	const char *rl;
	size_t rn;
	if (w->cfg->quiet || atomic_load(&log_broken))
		return;
	if (HTTPD_LOG_SIZE - w->log_len < LOG_LINE_MAX)
		log_flush(w);
	o = w->log + w->log_len;
	o += sprintf(o, "%s - - [%s] \"", c->addr, w->logtime);
	request_line(c, &rl, &rn);
	o += escape(o, rl, rn, LOG_REQ_MAX);
	o += sprintf(o, "\" %d %" PRIu64 " \"", c->status, c->body_sent);
	o += escape(o, c->req.referer.p, c->req.referer.n, LOG_HDR_MAX);
	o += sprintf(o, "\" \"");
	o += escape(o, c->req.user_agent.p, c->req.user_agent.n, LOG_HDR_MAX);
	o += sprintf(o, "\"\n");
	w->log_len = (size_t)(o - w->log);
}

void log_flush(struct worker *w)
{
	size_t off = 0;
	ssize_t n;
	w->log_flushed = w->now;
	if (w->log_len == 0)
		return;
	pthread_mutex_lock(&log_lock);
	while (off < w->log_len && !atomic_load(&log_broken)) {
		n = write(1, w->log + off, w->log_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "httpd: access log: write to stdout: %s; logging stops\n",
				n < 0 ? strerror(errno) : "no progress");
			atomic_store(&log_broken, true);
			break;
		}
		off += (size_t)n;
	}
	pthread_mutex_unlock(&log_lock);
	w->log_len = 0;
}
