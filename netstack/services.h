/*
 * In-kernel services for tests and benchmarks, chosen with
 * services=discard,echo,http,metrics (any subset; none by default):
 *   echo     port 7, UDP (every datagram goes back to its sender, zero-copy:
 *            the received pages are sent again) and TCP
 *   discard  port 9, UDP and TCP: counted and dropped
 *   http     TCP port 80: an HTTP/1.1 responder for GET and HEAD of / (612
 *            bytes), /64k and /1m, keep-alive, bodies sent from pages made
 *            once at start (zero-copy); each request is timed by stage
 *            (metrics.h)
 *   metrics  TCP port 9100: GET /metrics (Prometheus text) and
 *            /metrics.json: the HTTP latency histograms and counters
 */
#ifndef NETSTACK_SERVICES_H
#define NETSTACK_SERVICES_H

void services_start(void);

#endif
