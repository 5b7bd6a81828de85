/*
 * One worker: an event loop over its own epoll instance, its listener and
 * the connections it accepted (httpd.h). Connections are edge-triggered
 * (EPOLLIN | EPOLLOUT | EPOLLET), so conn_run always goes on until a call
 * says EAGAIN; a connection that used up its step budget goes on the ready
 * list and runs again after the next epoll_wait(0), so one pipelining
 * client cannot starve the others.
 *
 * A connection's life: ST_READ (the head arrives; L_HEAD timer from its
 * first byte, or L_IDLE between requests) -> ST_SEND (the head from c->out
 * with MSG_MORE, then the body by sendfile; L_IO, restarted on progress) ->
 * ST_DISCARD if a request body is to be dropped (L_IO) -> ST_READ again for
 * the next request, already buffered when the client pipelines. An answer
 * that ends the connection goes to ST_LINGER: shutdown(SHUT_WR), then read
 * and drop until the client closes (L_LINGER), so that unread request bytes
 * do not make the kernel reset the connection before the answer arrives.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STEP_BUDGET 64   /* state-machine steps per conn_run */
#define ACCEPT_BUDGET 64 /* accepts per listener event */
#define FREE_CONNS 64    /* connection structs kept for reuse */
#define SENDFILE_CHUNK (1u << 20)

enum { AGAIN, DONE, FAIL };

static char listen_tag, stop_tag;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void update_clock(struct worker *w)
{
	time_t t = time(NULL);
	struct tm tm;
	w->now = mono_ms();
	if (t == w->date_sec)
		return;
	w->date_sec = t;
	http_fmt_date(w->date, t);
	localtime_r(&t, &tm);
	strftime(w->logtime, sizeof(w->logtime), "%d/%b/%Y:%H:%M:%S %z", &tm);
}

/* ---- timer lists ---- */

static void timer_del(struct worker *w, struct conn *c)
{
	if (c->list == L_NONE)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->timers[c->list] = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		w->timers_tail[c->list] = c->prev;
	c->prev = c->next = NULL;
	c->list = L_NONE;
}

static void timer_set(struct worker *w, struct conn *c, int list)
{
	timer_del(w, c);
	c->list = list;
	c->deadline = w->now + w->cfg->timeout_ms[list];
	c->prev = w->timers_tail[list];
	if (c->prev)
		c->prev->next = c;
	else
		w->timers[list] = c;
	w->timers_tail[list] = c;
}

static int next_timeout(struct worker *w)
{
	int64_t first = w->now + 1000;
	int i;
	if (w->ready)
		return 0;
	for (i = 0; i < L_COUNT; i++)
		if (w->timers[i] && w->timers[i]->deadline < first)
			first = w->timers[i]->deadline;
	if (w->cfg->quiet == false && w->log_len && w->log_flushed + 1000 < first)
		first = w->log_flushed + 1000;
	return first <= w->now ? 0 : (int)(first - w->now);
}

/* ---- connections ---- */

static struct conn *conn_new(struct worker *w, int fd)
{
	struct conn *c = w->free_conns;
	if (c) {
		w->free_conns = c->next;
		w->nfree--;
	} else {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
	}
	/* everything but the buffers */
	memset(c, 0, offsetof(struct conn, in));
	c->list = L_NONE;
	c->fd = fd;
	c->state = ST_READ;
	c->file_fd = -1;
	c->in_len = 0;
	c->eof = false;
	c->out_len = c->out_off = c->out_head = 0;
	c->status = 0;
	c->close_after = false;
	c->file_off = c->file_left = c->body_sent = c->discard = c->lingered = 0;
	c->fallback = false;
	http_req_init(&c->req);
	c->parsed = HTTP_MORE;
	w->nconns++;
	return c;
}

static void conn_close(struct worker *w, struct conn *c)
{
	struct conn **pp;
	timer_del(w, c);
	if (c->ready)
		for (pp = &w->ready; *pp; pp = &(*pp)->ready_next)
			if (*pp == c) {
				*pp = c->ready_next;
				break;
			}
	if (c->file_fd >= 0)
		close(c->file_fd);
	close(c->fd); /* also leaves the epoll set */
	w->nconns--;
	if (w->nfree < FREE_CONNS) {
		c->next = w->free_conns;
		w->free_conns = c;
		w->nfree++;
	} else {
		free(c);
	}
}

static size_t head_len_of(const char *out)
{
	const char *e = strstr(out, "\r\n\r\n");
	return e ? (size_t)(e + 4 - out) : strlen(out);
}

/* Build an answer with no file body: errors, 301; size is for a 416's
 * Content-Range. Errors that leave the framing in doubt end the
 * connection. */
static void answer_error(struct worker *w, struct conn *c, int status, uint64_t size)
{
	struct resp r = { .status = status, .date = w->date, .size = size };
	char loc[HTTP_LINE_MAX + 2];
	size_t n;

	c->status = status;
	if (status >= 400 && status != 403 && status != 404 && status != 405 && status != 416)
		c->close_after = true;
	r.keep_alive = !c->close_after;
	if (status == 301) {
		/* the target's path as sent, plus the slash */
		const char *t = c->req.target.p, *q = memchr(t, '?', c->req.target.n);
		size_t tn = q ? (size_t)(q - t) : c->req.target.n;
		if (tn < HTTP_LINE_MAX && t[0] == '/') {
			memcpy(loc, t, tn);
			loc[tn] = '/';
			r.location = loc;
			r.location_len = tn + 1;
		}
	}
	n = resp_error(c->out, sizeof(c->out), &r, c->req.mcode != HTTP_HEAD);
	if (n == 0) {
		/* cannot happen with HTTPD_OUT_SIZE; answer without a body */
		r.location = NULL;
		n = resp_error(c->out, sizeof(c->out), &r, false);
	}
	c->out_len = n;
	c->out_head = head_len_of(c->out);
	c->out_off = 0;
	c->state = ST_SEND;
}

static void answer_file(struct worker *w, struct conn *c)
{
	struct stat st;
	struct resp r = { .date = w->date };
	char etag[HTTP_ETAG_MAX], lm[HTTP_DATE_LEN + 1];
	uint64_t off, len;
	int fd = -1, status;

	status = file_open(w->cfg, c->req.path, &fd, &st);
	if (status) {
		answer_error(w, c, status, 0);
		return;
	}
	http_fmt_etag(etag, sizeof(etag), st.st_mtime, (uint64_t)st.st_size);
	http_fmt_date(lm, st.st_mtime);
	status = http_decide(&c->req, etag, st.st_mtime, (uint64_t)st.st_size, &off, &len);
	if (status == 416) {
		close(fd);
		answer_error(w, c, 416, (uint64_t)st.st_size);
		return;
	}
	r.status = status;
	r.keep_alive = !c->close_after;
	r.type = NULL;
	if (status != 304) {
		size_t pn = strlen(c->req.path);
		r.type = http_mime(c->req.path[pn - 1] == '/' ? "index.html" : c->req.path);
	}
	r.length = len;
	r.last_modified = lm;
	r.etag = etag;
	r.off = off;
	r.size = (uint64_t)st.st_size;
	c->status = status;
	c->out_len = c->out_head = resp_head(c->out, sizeof(c->out), &r);
	c->out_off = 0;
	if (c->out_len == 0) {
		close(fd);
		answer_error(w, c, 500, 0);
		return;
	}
	if (c->req.mcode == HTTP_GET && status != 304 && len > 0) {
		c->file_fd = fd;
		c->file_off = off;
		c->file_left = len;
	} else {
		close(fd);
	}
	c->state = ST_SEND;
}

/* A complete head was parsed (or found broken): start the answer. */
static void answer(struct worker *w, struct conn *c)
{
	c->close_after = !c->req.keep_alive || atomic_load(&httpd_stop);
	c->body_sent = 0;
	c->fallback = false;
	timer_set(w, c, L_IO);
	if (c->parsed == HTTP_ERROR || c->req.status)
		answer_error(w, c, c->req.status, 0);
	else
		answer_file(w, c);
}

static int send_file_fallback(struct worker *w, struct conn *c)
{
	size_t want = c->file_left < HTTPD_SCRATCH ? (size_t)c->file_left : HTTPD_SCRATCH;
	ssize_t n = pread(c->file_fd, w->scratch, want, (off_t)c->file_off), m;
	if (n <= 0)
		return FAIL; /* the file shrank: the Content-Length cannot be kept */
	m = send(c->fd, w->scratch, (size_t)n, MSG_NOSIGNAL);
	if (m < 0)
		return errno == EAGAIN || errno == EINTR ? AGAIN : FAIL;
	c->file_off += (uint64_t)m;
	c->file_left -= (uint64_t)m;
	c->body_sent += (uint64_t)m;
	w->st.fallback_bytes += (uint64_t)m;
	return DONE;
}

static int send_some(struct worker *w, struct conn *c)
{
	bool progress = false;
	ssize_t n;
	int r;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | (c->file_left ? MSG_MORE : 0));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return FAIL;
			goto again;
		}
		if (c->out_off + (size_t)n > c->out_head)
			c->body_sent += c->out_off + (size_t)n -
					(c->out_off > c->out_head ? c->out_off : c->out_head);
		c->out_off += (size_t)n;
		progress = true;
	}
	while (c->file_left) {
		if (c->fallback) {
			r = send_file_fallback(w, c);
			if (r == FAIL)
				return FAIL;
			if (r == AGAIN)
				goto again;
			progress = true;
			continue;
		}
		off_t off = (off_t)c->file_off;
		n = sendfile(c->fd, c->file_fd, &off,
			     c->file_left < SENDFILE_CHUNK ? (size_t)c->file_left : SENDFILE_CHUNK);
		if (n > 0) {
			c->file_off += (uint64_t)n;
			c->file_left -= (uint64_t)n;
			c->body_sent += (uint64_t)n;
			w->st.sendfile_bytes += (uint64_t)n;
			progress = true;
		} else if (n == 0) {
			return FAIL; /* the file shrank under us */
		} else if (errno == EAGAIN) {
			goto again;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
			c->fallback = true; /* this file or kernel cannot: read and write */
			w->st.fallbacks++;
		} else {
			return FAIL;
		}
	}
	return DONE;
again:
	if (progress)
		timer_set(w, c, L_IO);
	return AGAIN;
}

/* The answer is out: log it, then the next request, a body to drop, or
 * the end of the connection. */
static void answered(struct worker *w, struct conn *c)
{
	size_t used;
	w->st.requests++;
	log_access(w, c);
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	if (c->close_after) {
		shutdown(c->fd, SHUT_WR);
		c->state = ST_LINGER;
		timer_set(w, c, L_LINGER);
		return;
	}
	/* drop the head, and whatever of the body is already here */
	c->discard = c->req.content_length;
	used = c->req.head_len;
	if (c->discard) {
		size_t have = c->in_len - used;
		size_t take = c->discard < have ? (size_t)c->discard : have;
		used += take;
		c->discard -= take;
	}
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	http_req_init(&c->req);
	c->parsed = HTTP_MORE;
	c->out_len = c->out_off = 0;
	if (c->discard) {
		c->state = ST_DISCARD;
		timer_set(w, c, L_IO);
	} else {
		c->state = ST_READ;
		timer_set(w, c, c->in_len ? L_HEAD : L_IDLE);
	}
}

/* Read into c->in. DONE: bytes arrived; AGAIN; FAIL: closed or error. */
static int fill(struct conn *c)
{
	ssize_t n;
	for (;;) {
		n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			return DONE;
		}
		if (n == 0) {
			c->eof = true;
			return FAIL;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? AGAIN : FAIL;
	}
}

/* Read and drop (bodies, lingering). DONE when *left reaches 0. */
static int drain(struct worker *w, struct conn *c, uint64_t *left, bool *eof)
{
	ssize_t n;
	while (*left) {
		size_t want = *left < HTTPD_SCRATCH ? (size_t)*left : HTTPD_SCRATCH;
		n = read(c->fd, w->scratch, want);
		if (n > 0) {
			*left -= (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return AGAIN;
		*eof = true;
		return FAIL;
	}
	return DONE;
}

static void conn_run(struct worker *w, struct conn *c)
{
	int budget, r;
	uint64_t left;
	bool eof = false;

	for (budget = STEP_BUDGET; budget > 0; budget--) {
		switch (c->state) {
		case ST_SEND:
			r = send_some(w, c);
			if (r == AGAIN)
				return;
			if (r == FAIL) {
				log_access(w, c);
				conn_close(w, c);
				return;
			}
			answered(w, c);
			break;
		case ST_DISCARD:
			r = drain(w, c, &c->discard, &eof);
			if (r == AGAIN) {
				timer_set(w, c, L_IO);
				return;
			}
			if (r == FAIL) {
				conn_close(w, c);
				return;
			}
			c->state = ST_READ;
			timer_set(w, c, L_IDLE);
			break;
		case ST_LINGER:
			left = HTTPD_LINGER_MAX - c->lingered;
			r = drain(w, c, &left, &eof);
			c->lingered = HTTPD_LINGER_MAX - left;
			if (r == AGAIN)
				return;
			conn_close(w, c);
			return;
		case ST_READ:
			c->parsed = http_parse(&c->req, c->in, c->in_len);
			if (c->parsed != HTTP_MORE) {
				answer(w, c);
				break;
			}
			if (c->eof) {
				conn_close(w, c);
				return;
			}
			r = fill(c);
			if (r == AGAIN)
				return;
			if (r == FAIL) {
				conn_close(w, c);
				return;
			}
			if (c->list == L_IDLE)
				timer_set(w, c, L_HEAD);
			break;
		}
	}
	if (!c->ready) {
		c->ready = true;
		c->ready_next = w->ready;
		w->ready = c;
	}
}

static void run_ready(struct worker *w)
{
	struct conn *list = w->ready, *c;
	w->ready = NULL;
	while (list) {
		c = list;
		list = c->ready_next;
		c->ready = false;
		conn_run(w, c);
	}
}

static void expire(struct worker *w)
{
	struct conn *c;
	int i;
	for (i = 0; i < L_COUNT; i++) {
		while ((c = w->timers[i]) && c->deadline <= w->now) {
			w->st.timeouts++;
			if (i == L_HEAD && c->in_len > c->req.skip) {
				/* part of a request came: say 408, once, without waiting */
				c->close_after = true;
				answer_error(w, c, 408, 0);
				if (send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
					c->body_sent = c->out_len - c->out_head;
				log_access(w, c);
			} else if (i == L_IO && c->state == ST_SEND) {
				log_access(w, c);
			}
			conn_close(w, c);
		}
	}
}

static void accept_some(struct worker *w)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	struct epoll_event ev;
	struct conn *c;
	int i, fd, one = 1;

	for (i = 0; i < ACCEPT_BUDGET; i++) {
		salen = sizeof(sa);
		fd = accept4(w->listen_fd, (struct sockaddr *)&sa, &salen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* out of descriptors: take one back, refuse a client */
				if (w->spare_fd >= 0) {
					close(w->spare_fd);
					fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
					if (fd >= 0)
						close(fd);
					w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
					w->st.refused++;
					continue;
				}
			}
			return; /* EAGAIN (another worker took it), or try later */
		}
		if (w->nconns >= w->cfg->max_conns) {
			close(fd);
			w->st.refused++;
			continue;
		}
		c = conn_new(w, fd);
		if (!c) {
			close(fd);
			w->st.refused++;
			continue;
		}
		w->st.accepted++;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (sa.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, c->addr,
				  sizeof(c->addr));
		else if (sa.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, c->addr,
				  sizeof(c->addr));
		else
			strcpy(c->addr, "-");
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conn_close(w, c);
			continue;
		}
		timer_set(w, c, L_HEAD);
		conn_run(w, c); /* the request is often here already */
	}
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256], ev;
	int i, n;
	struct conn *c;

	update_clock(w);
	w->log_flushed = w->now;
	ev.events = EPOLLIN | (w->own_listener ? 0 : EPOLLEXCLUSIVE);
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->listen_fd, &ev) < 0 && !w->own_listener) {
		ev.events = EPOLLIN; /* a kernel without EPOLLEXCLUSIVE */
		epoll_ctl(w->ep, EPOLL_CTL_ADD, w->listen_fd, &ev);
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &stop_tag;
	epoll_ctl(w->ep, EPOLL_CTL_ADD, w->stop_fd, &ev);

	while (!atomic_load(&httpd_stop)) {
		n = epoll_wait(w->ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), next_timeout(w));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "httpd: worker %d: epoll_wait: %s\n", w->id, strerror(errno));
			break;
		}
		update_clock(w);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listen_tag)
				accept_some(w);
			else if (evs[i].data.ptr != &stop_tag)
				conn_run(w, evs[i].data.ptr);
		}
		run_ready(w);
		expire(w);
		if (w->now - w->log_flushed >= 1000)
			log_flush(w);
	}
	/* stopping: close what is open (a graceful drain is future work) */
	for (i = 0; i < L_COUNT; i++)
		while ((c = w->timers[i]))
			conn_close(w, c);
	log_flush(w);
	return NULL;
}
