/*
 * In-kernel services for tests and benchmarks, chosen with
 * services=discard,echo,http,metrics,iperf (any subset; none by default):
 *   echo     port 7, UDP (every datagram goes back to its sender, zero-copy:
 *            the received pages are sent again) and TCP
 *   discard  port 9, UDP and TCP: counted and dropped
 *   http     TCP port 80: an HTTP/1.1 responder for GET and HEAD of the
 *            files below http.root (default HTTP_ROOT_DEFAULT), looked up
 *            in the VFS at every request; keep-alive; bodies sent by
 *            reference from the file's own pages (zero-copy); each request
 *            is timed by stage (metrics.h). At start it makes what is
 *            missing of index.html (612 bytes, served as /), 64k and 1m
 *            in the root, the bodies the tests and benchmarks fetch
 *   metrics  TCP port 9100: GET /metrics (Prometheus text) and
 *            /metrics.json: the HTTP latency histograms and counters
 *   iperf    TCP port 5201: an iperf3 server (apps/kernel/iperf.c) for
 *            Debian's iperf3 client: TCP, 1 to IPERF_MAX_STREAMS streams,
 *            normal and reverse (-R, sent zero-copy from one page of
 *            pattern), time- or byte-limited; one test at a time
 */
#ifndef APPS_KERNEL_SERVICES_H
#define APPS_KERNEL_SERVICES_H

#include "kernel/lib/types.h"

void services_start(void);

/* ---- http: request targets (http_path.c, portable: host-tested) ---- */
#define HTTP_ROOT_DEFAULT "/srv/www"
#define HTTP_ROOT_MAX 128          /* http.root's length, its NUL included */
#define HTTP_INDEX "/index.html"   /* what a directory serves */
#define HTTP_PATH_MAX 1024         /* a file's whole path, root included (else 414) */

/* The file path target (a request target, NUL ended) names below root
 * (absolute, no trailing slash; "" is the VFS root), into out[0, size):
 * root, then the target's path decoded (%XX), without its query or
 * fragment, with room left after it for HTTP_INDEX. Returns 0, or the
 * status to answer: 400 (not origin form, a bad escape, an encoded NUL),
 * 403 (a ".." component after decoding: out of the root), 414 (longer
 * than size allows). */
int http_target_path(const char *target, const char *root, char *out, size_t size);
/* The Content-Type a file's name gives (by its extension, any case):
 * html, txt, css, js, json, svg, png, jpg, ..., else
 * application/octet-stream. A constant string. */
const char *http_mime_type(const char *path);

/* ---- iperf: the service (iperf.c) ---- */
#define IPERF_PORT 5201
#define IPERF_MAX_STREAMS 8
#define IPERF_COOKIE_LEN 37        /* 36 characters of [a-z2-7] and a NUL */
#define IPERF_PARAMS_MAX 8192      /* longest parameter JSON taken (iperf3's own limit) */
#define IPERF_RESULTS_MAX 65536    /* longest results JSON taken */

/* Start the listener on IPERF_PORT (services=iperf): 0 or a negative errno. */
int iperf_start(void);

/* ---- iperf: the parameter parser (iperf_json.c, portable: host-tested) ----
 *
 * iperf3's client sends its test parameters as one JSON object, e.g.
 *   {"tcp":true,"omit":0,"time":2,"num":0,"blockcount":0,"parallel":1,
 *    "len":131072,"pacing_timer":1000,"client_version":"3.12"}
 * The parser is bounded: it reads only json[0, len), nests at most
 * IPERF_JSON_MAX_DEPTH deep, keeps no more than a short prefix of any
 * string, and rejects numbers longer than IPERF_JSON_MAX_DIGITS digits; it
 * allocates nothing and recurses only as deep as the nesting limit. */
#define IPERF_JSON_MAX_DEPTH 8
#define IPERF_JSON_MAX_DIGITS 40

/* iperf3's error numbers that this server sends after SERVER_ERROR when
 * it refuses a test (UDP, SCTP, --bidir, out-of-range values: a deliberate
 * refusal, logged and counted in services.iperf_bad_input). The client
 * prints its own text for each number; for 13 (IPERF_IE_UNIMP) that text
 * is iperf3's wording for an unsupported option. */
enum iperf_error {
	IPERF_IE_DURATION = 5,
	IPERF_IE_NUMSTREAMS = 6,
	IPERF_IE_BLOCKSIZE = 7,
	IPERF_IE_BUFSIZE = 8,
	IPERF_IE_MSS = 10,
	IPERF_IE_OMIT = 12,
	IPERF_IE_UNIMP = 13,
	IPERF_IE_BURST = 15,
	IPERF_IE_BADTOS = 21,
	IPERF_IE_INITTEST = 101,
	IPERF_IE_RECVCOOKIE = 106,
	IPERF_IE_CTRLCLOSE = 109,
	IPERF_IE_MESSAGE = 110,
	IPERF_IE_RECVPARAMS = 114,
	IPERF_IE_SENDRESULTS = 116,
	IPERF_IE_RECVRESULTS = 117,
	IPERF_IE_NOMSG = 144,
	IPERF_IE_STREAMACCEPT = 204,
};

/* What a test asks for. Absent keys keep the defaults iperf_params_parse
 * sets (TCP, 1 stream, 10 s, 128 KiB blocks); unknown keys are skipped. */
struct iperf_params {
	bool udp, sctp, reverse, bidir, nodelay, tcp;
	u64 time_s, omit_s, parallel, blksize, window, mss, tos, burst;
	u64 bytes, blocks;          /* -n, -k: the client ends the test */
	u64 rate_bps;               /* -b: 0 = unlimited */
	u8 cc;                      /* TCP_CC_* from "congestion", 0 = default */
	char cc_name[16];           /* "congestion" as given (cut), "" if none */
	char client_version[16];    /* "client_version" (cut), "" if none */
};

/* Parse and check the parameter JSON json[0, len) (no NUL needed) into p.
 * Returns 0, or an iperf3 error number (enum iperf_error) with *why set to
 * a constant text for the log: malformed JSON, a duplicate key, a value of
 * the wrong type or out of range, or a test this server does not run (UDP,
 * SCTP, bidirectional, more than IPERF_MAX_STREAMS streams). */
int iperf_params_parse(const char *json, u32 len, struct iperf_params *p, const char **why);

/* 0 if json[0, len) is exactly one well-formed JSON object (with the limits
 * above), else -EINVAL. */
int iperf_json_check_object(const char *json, u32 len);

#endif
