/*
 * Server-side latency of the HTTP responder, and the metrics the `metrics`
 * service (services.c, TCP port 9100) and the REPL (`latency`) export, so
 * that server and client tails can be compared.
 *
 * The stages of one request:
 *   t0  its first byte reached the socket (sock_read_stamp; the time the
 *       read returned when the socket keeps no stamp)
 *   t1  the response queued: the last send call for it returned
 *   t2  the peer acknowledged the response's last byte (tcp_ack_watch)
 * and the histograms (kernel/lib/hist.h, per CPU, nanoseconds):
 *   queue = t1 - t0,  ack = t2 - t1,  total = t2 - t0.
 *
 * Tail attribution: a request whose total is above the current p99 of
 * totals (recomputed every METRICS_TAIL_EVERY responses, once
 * METRICS_TAIL_MIN totals are in) has its total split into stages, each
 * recorded in a histogram of its own:
 *   socket      t0 until the responder took it up, less `sched`: its bytes
 *               waiting in the socket while the thread was busy elsewhere
 *   sched       the thread, blocked in its read when the bytes came, being
 *               woken and waiting to run
 *   app         taken up to t1, less `tcp_output`: parsing, the head
 *   tcp_output  inside the send calls (TCP's output path, the driver)
 *   ack         t1 - t2 when nothing was retransmitted meanwhile
 *   retrans     t2 - t1 when the connection retransmitted meanwhile
 *   total       t2 - t0 (the tail requests' own totals)
 * so that socket + sched + app + tcp_output + (ack or retrans) = total.
 * A response whose ACK cannot be watched (TCP_ACK_WATCH_MAX waiting, no
 * memory) counts as `unwatched`, one whose connection ends before the ACK
 * as `unacked`: both have a queue figure only, never a wrong ack or total.
 *
 * Use: metrics_init() once, before the services start (it allocates the
 * per-CPU histograms; until then nothing is recorded). Per connection of
 * the responder: c = metrics_conn_new() (NULL is allowed everywhere: no
 * memory, so its responses go unwatched), metrics_response(c, s, &times)
 * after each response is queued on s, metrics_conn_put(c) when the thread
 * is done (watches still waiting keep c alive until they fire).
 */
#ifndef APPS_KERNEL_METRICS_H
#define APPS_KERNEL_METRICS_H

#include "netstack/net.h"

enum metrics_stage { METRICS_QUEUE, METRICS_ACK, METRICS_TOTAL, METRICS_NSTAGES };
enum metrics_tail_stage {
	METRICS_TAIL_SOCKET, METRICS_TAIL_SCHED, METRICS_TAIL_APP, METRICS_TAIL_OUTPUT,
	METRICS_TAIL_ACK, METRICS_TAIL_RETRANS, METRICS_TAIL_TOTAL, METRICS_TAIL_NSTAGES
};
#define METRICS_TAIL_MIN 100     /* totals needed before a p99 means anything */
#define METRICS_TAIL_EVERY 128   /* responses between two p99 updates */

/* What the responder knows of one request once its response is queued
 * (times are net_now_ns; see the stages above). */
struct metrics_times {
	u64 t0;          /* its first byte arrived */
	u64 start;       /* the responder took it up */
	u64 sched_ns;    /* of t0..start: the woken thread waiting to run */
	u64 send_ns;     /* of start..t1: inside the send calls */
	u64 t1;          /* the response queued */
};

int metrics_init(void);

struct metrics_conn;
struct metrics_conn *metrics_conn_new(void);
void metrics_response(struct metrics_conn *c, struct socket *s, const struct metrics_times *tm);
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
