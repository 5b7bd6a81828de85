/*
 * bench/loadgen/net.h: the engine's transport over TCP sockets (epoll,
 * non-blocking, TCP_NODELAY, one HTTP/1.1 keep-alive request in flight per
 * connection).
 *
 * Use: lg_net_init (no sockets yet), lg_net_attach the engine, then
 * lg_net_connect_all before lg_engine_start, then alternate lg_engine_tick
 * and lg_net_poll until lg_engine_done; lg_net_close at the end.  A
 * connection that breaks, times out or is closed by the server is opened
 * again (after LG_NET_RETRY_NS when connecting fails).  Single-threaded.
 */
#ifndef LOADGEN_NET_H
#define LOADGEN_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/loadgen/engine.h"
#include "bench/loadgen/http.h"

#define LG_NET_RETRY_NS 20000000ull     /* 20 ms between failed connects */
#define LG_NET_REQ_MAX 1024

struct lg_net_conn {
	int fd;                 /* -1: closed */
	bool connecting;
	size_t req_off;         /* bytes of the request written; < req_len: more */
	bool in_flight;
	uint64_t retry_at;      /* when closed: when to connect again */
	struct http_resp resp;
};

struct lg_net {
	int ep;
	struct sockaddr_in addr;
	char req[LG_NET_REQ_MAX];
	size_t req_len;
	unsigned nconns;
	struct lg_net_conn *c;
	struct lg_engine *e;
	char *rbuf;
	size_t rbuf_size;
	uint64_t connect_failures;
	uint64_t reconnects;
	uint64_t protocol_errors;
};

extern const struct lg_transport lg_net_transport;

uint64_t lg_now_ns(void);
/* 0 or -errno */
int lg_net_init(struct lg_net *n, const struct sockaddr_in *addr, const char *host,
		const char *path, unsigned conns);
void lg_net_attach(struct lg_net *n, struct lg_engine *e);
/* open every connection; 0, or -ETIMEDOUT if not all were up in TIMEOUT_NS */
int lg_net_connect_all(struct lg_net *n, uint64_t timeout_ns);
/* wait for socket events until UNTIL (absolute ns) at the latest and
 * handle them; reconnects closed connections that are due */
void lg_net_poll(struct lg_net *n, uint64_t until);
void lg_net_close(struct lg_net *n);

#endif
