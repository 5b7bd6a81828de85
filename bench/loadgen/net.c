/*
 * bench/loadgen/net.c: TCP transport for the engine (see net.h).
 */
#include "bench/loadgen/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE (256 * 1024)
#define MAX_EVENTS 64

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void conn_close(struct lg_net *n, unsigned i, uint64_t retry_at)
{
	struct lg_net_conn *c = &n->c[i];

	if (c->fd >= 0) {
		epoll_ctl(n->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->connecting = false;
	c->in_flight = false;
	c->retry_at = retry_at;
}

static int watch(struct lg_net *n, unsigned i, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.u32 = i };

	return epoll_ctl(n->ep, op, n->c[i].fd, &ev);
}

/* start a non-blocking connect on closed connection I */
static void conn_open(struct lg_net *n, unsigned i, uint64_t now)
{
	struct lg_net_conn *c = &n->c[i];
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&n->addr, sizeof(n->addr)) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	c->connecting = true;
	c->in_flight = false;
	http_resp_init(&c->resp);
	if (watch(n, i, EPOLLOUT | EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD) < 0)
		goto fail;
	return;
fail:
	n->connect_failures++;
	conn_close(n, i, now + LG_NET_RETRY_NS);
}

/* connection I broke: tell the engine, reconnect at once */
static void conn_broke(struct lg_net *n, unsigned i, uint64_t now)
{
	bool connected = n->c[i].fd >= 0 && !n->c[i].connecting;

	if (n->e)
		lg_engine_conn_error(n->e, i, now);
	if (n->c[i].connecting)
		n->connect_failures++;
	conn_close(n, i, connected ? now : now + LG_NET_RETRY_NS);
	if (connected) {
		n->reconnects++;
		conn_open(n, i, now);
	}
}

static int write_request(struct lg_net *n, unsigned i)
{
	struct lg_net_conn *c = &n->c[i];

	while (c->req_off < n->req_len) {
		ssize_t w = send(c->fd, n->req + c->req_off, n->req_len - c->req_off,
				 MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN)
				return watch(n, i, EPOLLIN | EPOLLOUT | EPOLLRDHUP, EPOLL_CTL_MOD);
			return -errno;
		}
		c->req_off += (size_t)w;
	}
	return watch(n, i, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

static int net_send(void *ctx, unsigned i, uint64_t now)
{
	struct lg_net *n = ctx;
	struct lg_net_conn *c = &n->c[i];

	(void)now;
	if (c->fd < 0 || c->connecting || c->in_flight)
		return -ENOTCONN;
	c->in_flight = true;
	c->req_off = 0;
	http_resp_init(&c->resp);
	return write_request(n, i);
}

static void net_reset(void *ctx, unsigned i, uint64_t now)
{
	struct lg_net *n = ctx;

	n->reconnects++;
	conn_close(n, i, now);
	conn_open(n, i, now);
}

const struct lg_transport lg_net_transport = {
	.send = net_send,
	.reset = net_reset,
};

static void connected(struct lg_net *n, unsigned i, uint64_t now)
{
	struct lg_net_conn *c = &n->c[i];
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		n->connect_failures++;
		conn_close(n, i, now + LG_NET_RETRY_NS);
		return;
	}
	c->connecting = false;
	watch(n, i, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
	if (n->e)
		lg_engine_conn_up(n->e, i, now);
}

static void readable(struct lg_net *n, unsigned i, uint64_t now)
{
	struct lg_net_conn *c = &n->c[i];

	for (;;) {
		ssize_t got = recv(c->fd, n->rbuf, n->rbuf_size, 0);
		size_t off = 0;

		if (got < 0 && errno == EAGAIN)
			return;
		if (got <= 0) {
			conn_broke(n, i, now);
			return;
		}
		while (off < (size_t)got) {
			bool done;
			ssize_t used;

			if (!c->in_flight) {
				/* bytes nobody asked for */
				n->protocol_errors++;
				conn_broke(n, i, now);
				return;
			}
			used = http_resp_feed(&c->resp, n->rbuf + off, (size_t)got - off, &done);
			if (used < 0) {
				n->protocol_errors++;
				conn_broke(n, i, now);
				return;
			}
			off += (size_t)used;
			if (done) {
				bool ok = c->resp.status >= 200 && c->resp.status < 300;
				bool close_after = c->resp.close;

				c->in_flight = false;
				if (close_after) {
					lg_engine_response(n->e, i, now, ok, c->resp.bytes, false);
					n->reconnects++;
					conn_close(n, i, now);
					conn_open(n, i, now);
					return;
				}
				/* may send the next request on this connection */
				lg_engine_response(n->e, i, now, ok, c->resp.bytes, true);
			}
		}
	}
}

void lg_net_poll(struct lg_net *n, uint64_t until)
{
	struct epoll_event ev[MAX_EVENTS];
	uint64_t now = lg_now_ns(), wake = until;
	struct timespec ts;
	int k;

	for (unsigned i = 0; i < n->nconns; i++) {
		if (n->c[i].fd < 0 && n->c[i].retry_at <= now)
			conn_open(n, i, now);
		if (n->c[i].fd < 0 && n->c[i].retry_at < wake)
			wake = n->c[i].retry_at;
	}
	if (wake < now)
		wake = now;
	ts.tv_sec = (time_t)((wake - now) / 1000000000ull);
	ts.tv_nsec = (long)((wake - now) % 1000000000ull);
	k = epoll_pwait2(n->ep, ev, MAX_EVENTS, &ts, NULL);
	now = lg_now_ns();
	for (int j = 0; j < k; j++) {
		unsigned i = ev[j].data.u32;
		struct lg_net_conn *c = &n->c[i];

		if (c->fd < 0)
			continue;       /* closed by an earlier event of this batch */
		if (c->connecting) {
			if (ev[j].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				connected(n, i, now);
			continue;
		}
		if (ev[j].events & EPOLLIN)
			readable(n, i, now);
		if (c->fd < 0)
			continue;
		if ((ev[j].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) && !(ev[j].events & EPOLLIN)) {
			conn_broke(n, i, now);
			continue;
		}
		if ((ev[j].events & EPOLLOUT) && c->in_flight && c->req_off < n->req_len &&
		    write_request(n, i) < 0)
			conn_broke(n, i, now);
	}
}

int lg_net_init(struct lg_net *n, const struct sockaddr_in *addr, const char *host,
		const char *path, unsigned conns)
{
	int len;

	memset(n, 0, sizeof(*n));
	n->addr = *addr;
	len = http_request(n->req, sizeof(n->req), host, path);
	if (len < 0)
		return len;
	n->req_len = (size_t)len;
	n->nconns = conns;
	n->rbuf_size = RBUF_SIZE;
	n->c = calloc(conns, sizeof(*n->c));
	n->rbuf = malloc(n->rbuf_size);
	n->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!n->c || !n->rbuf || n->ep < 0) {
		int err = n->ep < 0 ? -errno : -ENOMEM;

		free(n->c);
		free(n->rbuf);
		if (n->ep >= 0)
			close(n->ep);
		return err;
	}
	for (unsigned i = 0; i < conns; i++)
		n->c[i].fd = -1;
	return 0;
}

void lg_net_attach(struct lg_net *n, struct lg_engine *e)
{
	n->e = e;
}

int lg_net_connect_all(struct lg_net *n, uint64_t timeout_ns)
{
	uint64_t t0 = lg_now_ns(), now = t0;

	for (unsigned i = 0; i < n->nconns; i++)
		conn_open(n, i, now);
	while (now - t0 < timeout_ns) {
		unsigned up = 0;

		for (unsigned i = 0; i < n->nconns; i++)
			up += n->c[i].fd >= 0 && !n->c[i].connecting;
		if (up == n->nconns)
			return 0;
		lg_net_poll(n, now + 10000000ull);
		now = lg_now_ns();
	}
	return -ETIMEDOUT;
}

void lg_net_close(struct lg_net *n)
{
	for (unsigned i = 0; i < n->nconns; i++)
		conn_close(n, i, 0);
	close(n->ep);
	free(n->c);
	free(n->rbuf);
}
