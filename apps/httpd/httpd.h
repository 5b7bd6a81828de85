/*
 * apps/httpd's private header: the configuration, the workers and their
 * connections. parse.h and resp.h are the pure parts; this is the I/O side.
 *
 * Threads: main.c starts cfg.workers worker threads, each with its own
 * epoll instance, its own listener (SO_REUSEPORT; one listener shared with
 * EPOLLEXCLUSIVE where the kernel refuses it) and its own connections. A
 * connection belongs to the worker that accepted it and is touched by no
 * other thread, so struct conn needs no lock. Shared between threads: the
 * read-only struct config, the stop flag (an atomic), and stdout, which
 * log_flush writes under log_lock.
 */
#ifndef HTTPD_HTTPD_H
#define HTTPD_HTTPD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parse.h"
#include "resp.h"

#define HTTPD_IN_SIZE   (HTTP_HEAD_MAX + 4096) /* over the head limit: 431 comes first */
#define HTTPD_OUT_SIZE  (HTTP_LINE_MAX + 1024) /* a head, or an error with its body */
#define HTTPD_LOG_SIZE  (64 * 1024)
#define HTTPD_LINGER_MS 2000     /* reading what a closed client still sends */
#define HTTPD_LINGER_MAX (1 << 20)

struct config {
	const char *root;
	int rootfd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int workers;
	int max_conns; /* per worker */
	bool quiet;
	bool follow_links;
	int64_t timeout_ms[4]; /* per timer list, below */
};

/* Timer lists: a connection waits in at most one, each list's timeout is
 * fixed, so appending at the tail keeps every list sorted by deadline. */
enum { L_HEAD, L_IDLE, L_IO, L_LINGER, L_COUNT, L_NONE = -1 };

enum { ST_READ, ST_SEND, ST_DISCARD, ST_LINGER };

struct stats {
	uint64_t accepted, refused, requests, timeouts;
	uint64_t sendfile_bytes;
	uint64_t fallbacks, fallback_bytes; /* sendfile refused: pread and send */
};

struct conn {
	struct conn *prev, *next; /* in w->timers[list] */
	int list;
	int64_t deadline;
	struct conn *ready_next;
	bool ready;

	int fd;
	int state;
	char addr[INET6_ADDRSTRLEN];

	/* the request being read or answered */
	struct http_req req;
	int parsed;         /* http_parse's last result */
	char in[HTTPD_IN_SIZE];
	size_t in_len;
	bool eof;

	/* the answer */
	int status;
	bool close_after;
	char out[HTTPD_OUT_SIZE];
	size_t out_len, out_off, out_head;
	int file_fd;
	uint64_t file_off, file_left;
	uint64_t body_sent;
	bool fallback;
	uint64_t discard; /* body bytes still to drop */
	uint64_t lingered;
};

struct worker {
	int id;
	const struct config *cfg;
	int ep;
	int listen_fd;
	bool own_listener;
	int stop_fd; /* the read end of main's stop pipe */
	int spare_fd; /* closed to accept and drop a connection at EMFILE */
	int64_t now;  /* ms, CLOCK_MONOTONIC */
	int64_t date_sec;
	char date[HTTP_DATE_LEN + 1]; /* IMF-fixdate for Date: */
	char logtime[32];             /* "10/Oct/2000:13:55:36 -0700" */
	struct conn *timers[L_COUNT], *timers_tail[L_COUNT];
	struct conn *ready;
	struct conn *free_conns;
	int nfree, nconns;
	char *scratch; /* HTTPD_SCRATCH bytes for the read/write fallback */
	char *log;
	size_t log_len;
	int64_t log_flushed;
	struct stats st;
	pthread_t thread;
};

#define HTTPD_SCRATCH (64 * 1024)

extern atomic_bool httpd_stop;

/* worker.c */
void *worker_main(void *arg);

/* file.c: open path (from http_path) under the root. 0 with *fd and *st
 * set, 301 for a directory named without its slash, or 403, 404, 414, 500. */
struct stat;
int file_open(const struct config *cfg, const char *path, int *fd, struct stat *st);

/* log.c: the access log, nginx's combined format, buffered per worker */
void log_access(struct worker *w, const struct conn *c);
void log_flush(struct worker *w);

#endif
