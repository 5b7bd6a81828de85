/*
 * Server-side latency of the HTTP responder, and the metrics the `metrics`
 * service (services.c, TCP port 9100) and the REPL (`latency`) export, so
 * that server and client tails can be compared.
 *
 * The stages of one request:
 *   t0  its first byte taken from the socket by the responder's thread
 *       (the time sock_recvfrom returned it: there is no receive timestamp
 *       on packets yet, so time spent in the socket's queue is not counted)
 *   t1  the response queued: the last send call for it returned
 *   t2  the peer acknowledged the response's last byte (tcp_ack_watch)
 * and the histograms (kernel/lib/hist.h, per CPU, nanoseconds):
 *   queue = t1 - t0,  ack = t2 - t1,  total = t2 - t0.
 * A response whose ACK cannot be watched (TCP_ACK_WATCH_MAX waiting, no
 * memory) counts as `unwatched`, one whose connection ends before the ACK
 * as `unacked`: both have a queue figure only, never a wrong ack or total.
 *
 * Use: metrics_init() once, before the services start (it allocates the
 * per-CPU histograms; until then nothing is recorded). Per connection of
 * the responder: c = metrics_conn_new() (NULL is allowed everywhere: no
 * memory, so its responses go unwatched), metrics_response(c, s, t0, t1)
 * after each response is queued on s, metrics_conn_put(c) when the thread
 * is done (watches still waiting keep c alive until they fire).
 */
#ifndef NETSTACK_METRICS_H
#define NETSTACK_METRICS_H

#include "netstack/net.h"

enum metrics_stage { METRICS_QUEUE, METRICS_ACK, METRICS_TOTAL, METRICS_NSTAGES };

int metrics_init(void);

struct metrics_conn;
struct metrics_conn *metrics_conn_new(void);
void metrics_response(struct metrics_conn *c, struct socket *s, u64 t0, u64 t1);
void metrics_conn_put(struct metrics_conn *c);

/* Forget everything recorded so far (the REPL's `latency reset`). */
void metrics_reset(void);

enum metrics_format {
	METRICS_PROMETHEUS,   /* text exposition format 0.0.4 */
	METRICS_JSON,
};
/* The whole document in a kmalloc'd buffer that the caller kfrees:
 * 0, or -ENOMEM (nothing to free). */
int metrics_render(enum metrics_format f, char **out, u32 *len);

#endif
