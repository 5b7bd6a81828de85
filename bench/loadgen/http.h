/*
 * bench/loadgen/http.h: the HTTP/1.1 the load generator speaks.
 *
 * Requests: `GET PATH HTTP/1.1` with Host and nothing else (keep-alive is
 * HTTP/1.1's default).  Responses are parsed incrementally: feed whatever
 * the socket gave; http_resp_feed says how much it consumed and whether a
 * response ended.  The body length must come from Content-Length (a static
 * file server always sends it); chunked or close-delimited bodies are
 * refused with -EPROTO, as is a header line over HTTP_LINE_MAX bytes.
 */
#ifndef LOADGEN_HTTP_H
#define LOADGEN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_LINE_MAX 4096

enum http_state {
	HTTP_STATUS_LINE,
	HTTP_HEADERS,
	HTTP_BODY,
};

struct http_resp {
	enum http_state state;
	int status;             /* e.g. 200 */
	bool have_length;
	bool close;             /* the server said Connection: close */
	uint64_t body_left;
	uint64_t bytes;         /* of this response, headers included */
	size_t line_len;
	char line[HTTP_LINE_MAX];
};

/* the request text into BUF (size N); its length, or -ENOSPC */
int http_request(char *buf, size_t n, const char *host, const char *path);

void http_resp_init(struct http_resp *r);
/* consume from BUF[0..N): bytes consumed (<= N) or -EPROTO; *DONE is set
 * when a whole response has been read (R then holds it until the next
 * http_resp_init) */
ssize_t http_resp_feed(struct http_resp *r, const char *buf, size_t n, bool *done);

#endif
