/*
 * apps/httpd: a static web server, nginx-like, for Linux and Caboose (a
 * static musl binary using the Linux system-call ABI only).
 *
 * main: the flags, the root directory, the listeners, one worker thread
 * per CPU (worker.c), then it waits for SIGINT, SIGTERM or SIGHUP, stops
 * the workers, and prints what they did on stderr (each worker's
 * connections and answers when there are several, then the totals).
 * Human messages go to stderr; stdout carries only the access log
 * (log.c).
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_WORKERS 256

atomic_bool httpd_stop;

static const char usage[] =
	"usage: httpd [-h] [-q] [-L] [-r DIR] [-a ADDR] [-p PORT] [-w N] [-c N]\n"
	"             [-k SECONDS] [-t SECONDS]\n"
	"Serve the files under DIR over HTTP/1.1 (GET and HEAD): index.html for a\n"
	"directory, Range, If-None-Match and If-Modified-Since, keep-alive and\n"
	"pipelining; bodies by sendfile.\n"
	"\n"
	"  -h          this help, then exit 0\n"
	"  -r DIR      the document root (default /var/www/html)\n"
	"  -a ADDR     the IPv4 or IPv6 address to listen on (default 0.0.0.0)\n"
	"  -p PORT     the TCP port (default 80; 0 picks a free one, named on stderr)\n"
	"  -w N        worker threads, one event loop and listener each (default:\n"
	"              the number of CPUs online); with 1 the event loop runs in\n"
	"              the main thread and no thread is made\n"
	"  -c N        connections per worker at most; more are closed at once\n"
	"              (default 10000, and never above the descriptor limit)\n"
	"  -k SECONDS  keep-alive: close a connection idle this long between\n"
	"              requests (default 75; fractions allowed)\n"
	"  -t SECONDS  a request's head must arrive within this (else 408), and a\n"
	"              send or a request body must make progress within it\n"
	"              (default 60; fractions allowed)\n"
	"  -q          no access log\n"
	"  -L          follow symbolic links, also out of DIR (default: refused, 403)\n"
	"\n"
	"Output: the access log on stdout, nginx's combined format, buffered (at\n"
	"most a second late); messages on stderr. SIGINT, SIGTERM or SIGHUP stop\n"
	"the server, which then prints its counters on stderr.\n"
	"Limits: request line 4096 bytes (414), head 8192 bytes or 100 fields\n"
	"(431), request body 1 MiB (413; bodies are read and dropped).\n";

/* -w 1: the stop signals' handler (see main) */
static int stop_wr = -1;
static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	int e = errno;
	stop_sig = sig;
	atomic_store(&httpd_stop, true);
	if (write(stop_wr, "x", 1) < 0) {
		/* the flag alone ends the loop at its next wake-up */
	}
	errno = e;
}

static int bad_flag(const char *what, const char *arg)
{
	fprintf(stderr, "httpd: bad %s '%s' (httpd -h explains the flags)\n", what, arg);
	return 2;
}

static bool parse_seconds(const char *s, int64_t *ms)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return false;
	*ms = (int64_t)(v * 1000);
	if (*ms < 1)
		*ms = 1;
	return true;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int parse_addr(struct config *cfg, const char *a, long port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&cfg->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&cfg->addr;
	memset(&cfg->addr, 0, sizeof(cfg->addr));
	if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		cfg->addrlen = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		cfg->addrlen = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int port_of(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static void set_port(struct sockaddr_storage *sa, int port)
{
	if (sa->ss_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

/* A listening socket; reuseport asks for SO_REUSEPORT. -errno on failure,
 * -ENOPROTOOPT when the kernel refuses SO_REUSEPORT. */
static int listener(struct config *cfg, bool reuseport)
{
	int fd, one = 1, e;
	fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		close(fd);
		return -ENOPROTOOPT;
	}
	if (bind(fd, (struct sockaddr *)&cfg->addr, cfg->addrlen) < 0 || listen(fd, 4096) < 0)
		goto fail;
	if (port_of(&cfg->addr) == 0) {
		/* port 0: the rest of the listeners take the port this one got */
		struct sockaddr_storage got;
		socklen_t len = sizeof(got);
		if (getsockname(fd, (struct sockaddr *)&got, &len) < 0)
			goto fail;
		set_port(&cfg->addr, port_of(&got));
	}
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

static void raise_fd_limit(struct config *cfg)
{
	struct rlimit rl;
	long per;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* each connection may hold a socket and a file; keep 64 for the rest */
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	per = ((long)rl.rlim_cur - 64) / 2 / cfg->workers;
	if (per < 1)
		per = 1;
	if (cfg->max_conns > per)
		cfg->max_conns = (int)per;
}

int main(int argc, char **argv)
{
	static struct config cfg = {
		.root = "/var/www/html",
		.max_conns = 10000,
		.timeout_ms = { [L_HEAD] = 60000, [L_IDLE] = 75000, [L_IO] = 60000,
				[L_LINGER] = HTTPD_LINGER_MS },
	};
	static struct worker workers[MAX_WORKERS];
	const char *addr = "0.0.0.0";
	long port = 80, v;
	int opt, i, stop_pipe[2], shared_fd = -1, sig;
	bool reuseport = true;
	pthread_attr_t attr;
	sigset_t sigs;
	struct stats tot = { 0 };

	cfg.workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((opt = getopt(argc, argv, "hqLr:a:p:w:c:k:t:")) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'q':
			cfg.quiet = true;
			break;
		case 'L':
			cfg.follow_links = true;
			break;
		case 'r':
			cfg.root = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'p':
			if (!parse_int(optarg, 0, 65535, &port))
				return bad_flag("port", optarg);
			break;
		case 'w':
			if (!parse_int(optarg, 1, MAX_WORKERS, &v))
				return bad_flag("worker count (1-256)", optarg);
			cfg.workers = (int)v;
			break;
		case 'c':
			if (!parse_int(optarg, 1, 1000000, &v))
				return bad_flag("connection limit", optarg);
			cfg.max_conns = (int)v;
			break;
		case 'k':
			if (!parse_seconds(optarg, &cfg.timeout_ms[L_IDLE]))
				return bad_flag("keep-alive timeout", optarg);
			break;
		case 't':
			if (!parse_seconds(optarg, &cfg.timeout_ms[L_HEAD]))
				return bad_flag("timeout", optarg);
			cfg.timeout_ms[L_IO] = cfg.timeout_ms[L_HEAD];
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc)
		return bad_flag("argument", argv[optind]);
	if (cfg.workers < 1)
		cfg.workers = 1;
	if (cfg.workers > MAX_WORKERS)
		cfg.workers = MAX_WORKERS;
	if (cfg.timeout_ms[L_LINGER] > cfg.timeout_ms[L_IO])
		cfg.timeout_ms[L_LINGER] = cfg.timeout_ms[L_IO];
	if (parse_addr(&cfg, addr, port) < 0)
		return bad_flag("address", addr);
	cfg.rootfd = open(cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfg.rootfd < 0) {
		fprintf(stderr, "httpd: root %s: %s\n", cfg.root, strerror(errno));
		return 1;
	}
	raise_fd_limit(&cfg);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* the workers inherit the mask */
	if (pipe2(stop_pipe, O_CLOEXEC) < 0) {
		perror("httpd: pipe");
		return 1;
	}

	for (i = 0; i < cfg.workers; i++) {
		struct worker *w = &workers[i];
		w->id = i;
		w->cfg = &cfg;
		w->stop_fd = stop_pipe[0];
		w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->scratch = malloc(HTTPD_SCRATCH);
		w->log = malloc(HTTPD_LOG_SIZE);
		if (w->ep < 0 || !w->scratch || !w->log) {
			fprintf(stderr, "httpd: worker %d: %s\n", i, strerror(errno));
			return 1;
		}
		w->listen_fd = reuseport ? listener(&cfg, true) : shared_fd;
		if (w->listen_fd == -ENOPROTOOPT && i == 0) {
			/* no SO_REUSEPORT: one listener, shared */
			reuseport = false;
			w->listen_fd = shared_fd = listener(&cfg, false);
		}
		if (w->listen_fd < 0) {
			fprintf(stderr, "httpd: listen on %s port %d: %s\n", addr,
				port_of(&cfg.addr), strerror(-w->listen_fd));
			return 1;
		}
		w->own_listener = reuseport;
	}
	fprintf(stderr, "httpd: serving %s on %s port %d, %d workers (%s)\n", cfg.root, addr,
		port_of(&cfg.addr), cfg.workers,
		reuseport ? "a SO_REUSEPORT listener each" : "one shared listener");

	if (cfg.workers == 1) {
		/* one worker runs in this thread (no threads at all); a stop
		 * signal's handler ends its loop through the stop pipe */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;
		stop_wr = stop_pipe[1];
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigprocmask(SIG_UNBLOCK, &sigs, NULL);
		worker_main(&workers[0]);
		sig = stop_sig;
	} else {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 1 << 20);
		for (i = 0; i < cfg.workers; i++) {
			int e = pthread_create(&workers[i].thread, &attr, worker_main, &workers[i]);
			if (e) {
				fprintf(stderr, "httpd: worker %d: %s\n", i, strerror(e));
				return 1;
			}
		}
		while (sigwait(&sigs, &sig) != 0)
			;
		atomic_store(&httpd_stop, true);
		if (write(stop_pipe[1], "x", 1) < 0)
			perror("httpd: stop pipe");
	}
	for (i = 0; i < cfg.workers; i++) {
		struct stats *s = &workers[i].st;
		if (cfg.workers > 1)
			pthread_join(workers[i].thread, NULL);
		if (cfg.workers > 1)
			fprintf(stderr, "httpd: worker %d: %" PRIu64 " connections, %" PRIu64
				" answers\n", i, s->accepted, s->requests);
		tot.accepted += s->accepted;
		tot.refused += s->refused;
		tot.requests += s->requests;
		tot.timeouts += s->timeouts;
		tot.sendfile_bytes += s->sendfile_bytes;
		tot.fallbacks += s->fallbacks;
		tot.fallback_bytes += s->fallback_bytes;
	}
	fprintf(stderr,
		"httpd: stopped by signal %d: %" PRIu64 " connections (%" PRIu64
		" refused), %" PRIu64 " answers, %" PRIu64 " timeouts, %" PRIu64
		" body bytes by sendfile, %" PRIu64 " sendfile fallbacks (%" PRIu64
		" bytes by read and send)\n",
		sig, tot.accepted, tot.refused, tot.requests, tot.timeouts, tot.sendfile_bytes,
		tot.fallbacks, tot.fallback_bytes);
	return 0;
}
