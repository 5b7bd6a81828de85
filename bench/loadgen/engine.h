/*
 * bench/loadgen/engine.h: an open-loop load over a fixed set of
 * connections, free of sockets and of the clock, so that tests can drive it
 * with a fake clock and a simulated server.
 *
 * The schedule (pace.h) decides when each request is due.  A due request
 * goes to an idle connection at once; when every connection is busy (HTTP/1.1
 * without pipelining has one request in flight per connection) it waits in a
 * FIFO.  Its latency is measured from the time it was DUE, not from the time
 * it was sent, so a server that stalls is charged for every request the stall
 * delayed, not just the one in flight (no coordinated omission).  The
 * service time (from send to response) is kept in a second histogram.
 *
 * Time: nanoseconds of the caller's monotonic clock, passed into every call.
 * Phases, from lg_engine_start(now = t0):
 *   [t0, t0+warmup)                   requests run but are not counted
 *   [t0+warmup, t0+warmup+duration)   measured requests
 *   then no new requests; outstanding ones get up to `drain` more; what is
 *   still unanswered then counts as a timeout (never sent: `unsent`).
 * For the measured requests: scheduled = completed + errors + timeouts.
 * Throughput is counted apart: responses that arrived inside the measured
 * window (window_completed), since a server that cannot keep up still
 * completes many measured requests late, during the drain.
 *
 * The caller (the transport) owns connections: it calls lg_engine_conn_up
 * when one is connected, lg_engine_response when a response has arrived
 * whole, lg_engine_conn_error when one broke; the engine calls the
 * transport's send to put a request on an idle connection and its reset to
 * abandon a connection whose request timed out (the transport reconnects it
 * and calls lg_engine_conn_up again).  Callbacks may come from inside
 * engine calls (a response frees a connection; the engine sends on it at
 * once).  Single-threaded.
 */
#ifndef LOADGEN_ENGINE_H
#define LOADGEN_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "bench/loadgen/hist.h"
#include "bench/loadgen/pace.h"

struct lg_config {
	double rate;                    /* requests per second */
	enum pace_arrivals arrivals;
	uint64_t seed;
	unsigned conns;
	uint64_t warmup_ns;
	uint64_t duration_ns;
	uint64_t timeout_ns;            /* per request, from its send */
	uint64_t drain_ns;              /* after the last due time */
};

struct lg_transport {
	/* put one request on CONN (up and idle) at NOW; 0 or -errno */
	int (*send)(void *ctx, unsigned conn, uint64_t now);
	/* abandon CONN (its request timed out); reconnect it later */
	void (*reset)(void *ctx, unsigned conn, uint64_t now);
};

enum lg_conn_state {
	LG_DOWN,        /* not connected (yet, or since an error) */
	LG_IDLE,
	LG_BUSY,        /* one request in flight */
};

struct lg_conn {
	enum lg_conn_state state;
	uint64_t due;           /* the request in flight: when it was due */
	uint64_t sent;          /* ... and when it was sent */
	bool measured;
};

struct lg_counts {
	uint64_t scheduled;
	uint64_t sent;
	uint64_t completed;     /* responses with a 2xx status */
	uint64_t errors;        /* broken connections, bad responses, non-2xx */
	uint64_t timeouts;      /* no response within the timeout or the drain */
	uint64_t unsent;        /* of the timeouts: never sent (no connection free) */
	uint64_t bytes;         /* response bytes, headers included */
};

struct lg_engine {
	struct lg_config cfg;
	const struct lg_transport *tr;
	void *ctx;
	struct pace pace;
	uint64_t t0;
	bool started, finished;
	bool scheduling;        /* still taking requests from the pace */
	uint64_t next_due;      /* absolute due time of the pace's next request */
	struct lg_conn *conns;
	/* FIFO of due times of requests waiting for a connection */
	uint64_t *q;
	uint64_t qcap, qhead, qlen;
	unsigned rr;            /* where the search for an idle connection starts */
	struct lg_counts all;       /* every request, warm-up included */
	struct lg_counts measured;  /* requests due in the measured window */
	struct hist latency;        /* ns, due -> response, measured only; a request
				     * with no answer counts at the time-out */
	struct hist service;        /* ns, sent -> response, measured only */
	uint64_t max_queue;         /* the FIFO's high-water mark */
	/* 2xx responses that arrived inside the measured window, whenever
	 * their requests were due: the throughput the server delivered */
	uint64_t window_completed;
	uint64_t window_bytes;
};

int lg_engine_init(struct lg_engine *e, const struct lg_config *cfg,
		   const struct lg_transport *tr, void *ctx);
void lg_engine_free(struct lg_engine *e);
void lg_engine_start(struct lg_engine *e, uint64_t now);
void lg_engine_tick(struct lg_engine *e, uint64_t now);
void lg_engine_conn_up(struct lg_engine *e, unsigned conn, uint64_t now);
/* OK: the response was whole and had a 2xx status; KEEP: the connection
 * stays open (false after Connection: close; the transport reconnects and
 * calls lg_engine_conn_up) */
void lg_engine_response(struct lg_engine *e, unsigned conn, uint64_t now, bool ok,
			uint64_t bytes, bool keep);
void lg_engine_conn_error(struct lg_engine *e, unsigned conn, uint64_t now);
/* the next time lg_engine_tick must run (UINT64_MAX: nothing pending) */
uint64_t lg_engine_deadline(const struct lg_engine *e);
/* true once everything is answered or the drain is over; the counts are
 * final after the first true */
bool lg_engine_done(struct lg_engine *e, uint64_t now);
/* the end of the measured window and of the drain, absolute */
uint64_t lg_engine_window_end(const struct lg_engine *e);

#endif
