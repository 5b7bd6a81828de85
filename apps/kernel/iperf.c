/*
 * The iperf3 service (services.h, services=iperf): the server side of
 * iperf3's protocol on TCP port 5201, so that Debian's iperf3 client can
 * measure Caboose's TCP both ways.
 *
 * The protocol (iperf3 3.x, read from its iperf_api.c and
 * iperf_server_api.c). States travel as one signed byte on the control
 * connection; JSON travels as a big-endian u32 length and the text.
 *
 *   client                                  server
 *   connect; 37-byte cookie          ->
 *                                    <-     PARAM_EXCHANGE (9)
 *   parameter JSON                   ->
 *                                    <-     CREATE_STREAMS (10)
 *   per stream: connect; same cookie ->
 *                                    <-     TEST_START (1), TEST_RUNNING (2)
 *   data: client to server, or server to client with -R ("reverse")
 *   TEST_END (4), when its time or byte count is reached
 *                                    <-     EXCHANGE_RESULTS (13)
 *   results JSON                     ->
 *                                    <-     results JSON, DISPLAY_RESULTS (14)
 *   IPERF_DONE (16); close
 *
 * A client that gives up sends CLIENT_TERMINATE (12). The server refuses
 * with ACCESS_DENIED (-1): busy with another test, or a data connection
 * with the wrong cookie; or it ends a test with SERVER_ERROR (-2) and two
 * big-endian s32s, an iperf3 error number (enum iperf_error) and an errno.
 *
 * Threads:
 *   iperf        accepts on 5201. Idle: reads the cookie of a control
 *                connection and starts iperf_ctl with it. While a test
 *                creates its streams: reads each new connection's cookie and
 *                adds it to the test if it matches. Otherwise, or on a
 *                mismatch: ACCESS_DENIED and close.
 *   iperf_ctl    runs one test from PARAM_EXCHANGE to IPERF_DONE, then
 *                closes everything and makes the service idle again.
 *   iperf_rx/tx  one per stream while the test runs: receives (and drops)
 *                or sends pages of pattern by reference (zero-copy).
 *
 * Bad input gets an answer and a log line, never a hang: every wait has a
 * deadline (the cookie, the parameters, the streams, the results, IPERF_DONE;
 * a running test with no byte moving for STALL_WAIT, or running past its
 * time by GRACE as iperf3's server timer allows), after which the test
 * ends with SERVER_ERROR and the service is free again.
 *
 * Locks: [L] iperf_lock guards test.phase, .want, .nstreams, .cookie and
 * the stream sockets the accept thread adds while phase is PH_STREAMS.
 * [C] fields belong to the control thread; the workers read them after
 * they are set and before they are cleared (the control thread joins every
 * worker first). [W] fields belong to a stream's worker until it is
 * joined; .bytes is [atomic] so the control thread can watch progress.
 */
#include "apps/kernel/services.h"
#include "netstack/net.h"
#include "kernel/lib/byteorder.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"

/* iperf3's states (iperf_api.h) */
enum {
	ST_TEST_START = 1,
	ST_TEST_RUNNING = 2,
	ST_TEST_END = 4,
	ST_PARAM_EXCHANGE = 9,
	ST_CREATE_STREAMS = 10,
	ST_CLIENT_TERMINATE = 12,
	ST_EXCHANGE_RESULTS = 13,
	ST_DISPLAY_RESULTS = 14,
	ST_IPERF_DONE = 16,
	ST_ACCESS_DENIED = -1,
	ST_SERVER_ERROR = -2,
};

#define SEC 1000000000ull
#define COOKIE_WAIT (5 * SEC)    /* a new connection's cookie */
#define CTRL_WAIT (10 * SEC)     /* parameters, results, IPERF_DONE, each write */
#define STREAMS_WAIT (10 * SEC)  /* all data connections, from CREATE_STREAMS */
#define STALL_WAIT (30 * SEC)    /* running, no byte moved on any stream */
#define GRACE (40 * SEC)         /* past time + omit (iperf3's server allows 40 s) */
#define CLOSE_WAIT (2 * SEC)     /* for the client to read our last words and close */
#define RX_BUF (64u * 1024)      /* a receiving worker's buffer */
#define TX_PAGES 16              /* pages of pattern per send */
#define SOCK_BUF (1u << 20)      /* data sockets' buffers unless -w says otherwise */

enum phase { PH_IDLE, PH_PARAMS, PH_STREAMS, PH_RUNNING };

struct iperf_stream {
	struct socket *sock;     /* [L] while PH_STREAMS, then [C] */
	u32 id;                  /* [C] iperf3's numbering: 1, 3, 4, 5, ... */
	struct thread *worker;   /* [C] */
	u8 *buf;                 /* [C] receive buffer */
	u64 bytes;               /* [W] [atomic] moved since the test started */
	u64 omitted;             /* [W] bytes moved during -O's omit time */
	bool omitting;           /* [W] */
	int err;                 /* [W] why the worker stopped early, 0 if it did not */
	u64 retransmits;         /* [C] the connection's, when the test ended */
};

static spinlock_t iperf_lock = SPINLOCK_INIT("iperf");
static struct {
	enum phase phase;                          /* [L] */
	u8 cookie[IPERF_COOKIE_LEN];               /* [L] */
	u32 want, nstreams;                        /* [L] */
	struct iperf_stream st[IPERF_MAX_STREAMS]; /* sock [L], the rest [C]/[W] */
	struct socket *ctrl;                       /* [C] */
	char peer[24];                             /* [C] "A.B.C.D:port" */
	struct iperf_params p;                     /* [C] */
	struct waitq wq;             /* the control thread waits here (streams, control data) */
	bool stop;                   /* [atomic] workers end */
	u64 t_start, t_end, omit_end;              /* [C] */
	u64 idle_start_ns;                         /* [C] sum of CPU idle time at start */
	u8 cc;                                     /* [C] congestion control the streams used */
} test;

static struct page *pattern;   /* what reverse tests send, made once */

/* counters [atomic] */
static u64 n_tests, n_done, n_failed, n_denied, n_bad, n_streams, bytes_rx, bytes_tx;

static void count(u64 *c, u64 n) { __atomic_fetch_add(c, n, __ATOMIC_RELAXED); }

/* ---- socket helpers: every wait has a deadline ---- */

/* Wait until s polls one of mask, an error or a hang-up, or until deadline
 * (false then). */
static bool sock_wait(struct socket *s, unsigned mask, u64 deadline)
{
	u64 now = arch_clock_ns();
	if (now >= deadline)
		return false;
	mask |= POLLERR | POLLHUP;
	return wait_event_timeout(sock_waitq(s), (sock_poll(s) & mask) != 0, deadline - now);
}

/* Read exactly len bytes: 0, -ETIMEDOUT, -ECONNRESET (the peer closed
 * first) or the socket's error. */
static int read_full(struct socket *s, void *buf, u32 len, u64 deadline)
{
	u32 got = 0;
	while (got < len) {
		long n = sock_recvfrom(s, (u8 *)buf + got, len - got, MSG_DONTWAIT, NULL);
		if (n > 0) {
			got += (u32)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (n != -EAGAIN)
			return (int)n;
		if (!sock_wait(s, POLLIN, deadline))
			return -ETIMEDOUT;
	}
	return 0;
}

static int write_full(struct socket *s, const void *buf, u32 len, u64 deadline)
{
	u32 done = 0;
	while (done < len) {
		long n = sock_sendto(s, (const u8 *)buf + done, len - done, MSG_DONTWAIT, NULL);
		if (n > 0) {
			done += (u32)n;
			continue;
		}
		if (n != -EAGAIN && n != 0)
			return (int)n;
		if (!sock_wait(s, POLLOUT, deadline))
			return -ETIMEDOUT;
	}
	return 0;
}

static int send_state(struct socket *s, s8 state)
{
	u8 b = (u8)state;
	return write_full(s, &b, 1, arch_clock_ns() + CTRL_WAIT);
}

static void send_error(struct socket *s, int ie, int err)
{
	u8 m[9];
	m[0] = (u8)ST_SERVER_ERROR;
	put_be32(m + 1, (u32)ie);
	put_be32(m + 5, (u32)err);
	write_full(s, m, sizeof(m), arch_clock_ns() + SEC);
}

/* Shut our side, read (and drop) what the peer still sends until it
 * closes or wait runs out, and close: the peer reads our last bytes before
 * any reset. wait 0: only what is already here. */
static void close_gently(struct socket *s, u64 wait)
{
	u8 sink[256];
	u64 deadline = arch_clock_ns() + wait;
	sock_shutdown(s, SHUT_WR);
	for (;;) {
		long n = sock_recvfrom(s, sink, sizeof(sink), MSG_DONTWAIT, NULL);
		if (n > 0 && arch_clock_ns() < deadline)
			continue;
		if (n != -EAGAIN || !sock_wait(s, POLLIN, deadline))
			break;
	}
	sock_close(s);
}

static void peer_name(struct socket *s, char *buf, size_t n)
{
	struct sockaddr_in4 a = { 0, 0 };
	sock_getname(s, NULL, &a);
	ksnprintf(buf, n, "%u.%u.%u.%u:%u", a.addr >> 24, (a.addr >> 16) & 255,
		  (a.addr >> 8) & 255, a.addr & 255, a.port);
}

/* ---- the accept thread ---- */

static bool cookie_ok(const u8 *c)
{
	for (u32 i = 0; i < IPERF_COOKIE_LEN - 1; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '2' && c[i] <= '7')))
			return false;
	return c[IPERF_COOKIE_LEN - 1] == 0;
}

static void deny(struct socket *c, const char *why)
{
	char peer[24];
	u8 b = (u8)ST_ACCESS_DENIED;
	peer_name(c, peer, sizeof(peer));
	sock_sendto(c, &b, 1, MSG_DONTWAIT, NULL);
	count(&n_denied, 1);
	pr_info("iperf: %s: access denied (%s)", peer, why);
	close_gently(c, 0);
}

static void ctl_main(void *arg);

/* Idle: c may be a new test's control connection. */
static void take_control(struct socket *c)
{
	u8 ck[IPERF_COOKIE_LEN];
	int err = read_full(c, ck, sizeof(ck), arch_clock_ns() + COOKIE_WAIT);
	if (err || !cookie_ok(ck)) {
		char peer[24];
		peer_name(c, peer, sizeof(peer));
		count(&n_bad, 1);
		pr_warn("iperf: %s: %s", peer, err == -ETIMEDOUT ? "no cookie within 5 s"
					       : err ? "closed before its cookie"
						     : "malformed cookie (not iperf3's)");
		if (!err)
			send_error(c, IPERF_IE_RECVCOOKIE, EINVAL);
		close_gently(c, 0);
		return;
	}
	spin_lock(&iperf_lock);
	test.phase = PH_PARAMS;
	memcpy(test.cookie, ck, sizeof(ck));
	test.want = test.nstreams = 0;
	spin_unlock(&iperf_lock);
	test.ctrl = c;
	struct thread *t = thread_create("iperf_ctl", ctl_main, NULL, -1, 0);
	if (!t) {
		pr_err("iperf: no thread for a test");
		send_error(c, IPERF_IE_INITTEST, ENOMEM);
		close_gently(c, 0);
		spin_lock(&iperf_lock);
		test.phase = PH_IDLE;
		spin_unlock(&iperf_lock);
		return;
	}
	thread_put(t);
}

/* A test is creating its streams: c may be one of them. */
static void take_stream(struct socket *c)
{
	u8 ck[IPERF_COOKIE_LEN];
	int err = read_full(c, ck, sizeof(ck), arch_clock_ns() + COOKIE_WAIT);
	spin_lock(&iperf_lock);
	bool ok = !err && test.phase == PH_STREAMS && test.nstreams < test.want &&
		  memcmp(ck, test.cookie, sizeof(ck)) == 0;
	if (ok)
		test.st[test.nstreams++].sock = c;
	spin_unlock(&iperf_lock);
	if (ok)
		waitq_wake_all(&test.wq);
	else
		deny(c, err ? "no cookie" : "busy, and not a stream of the running test");
}

static void accept_main(void *arg)
{
	struct socket *lis = arg;
	for (;;) {
		struct socket *c;
		if (sock_accept(lis, &c, 0) != 0) {
			thread_sleep_ns(10000000);
			continue;
		}
		spin_lock(&iperf_lock);
		enum phase ph = test.phase;
		spin_unlock(&iperf_lock);
		if (ph == PH_IDLE)
			take_control(c);
		else if (ph == PH_STREAMS)
			take_stream(c);
		else
			deny(c, "busy running a test");
	}
}

/* ---- stream workers ---- */

static void account(struct iperf_stream *sp, u64 n)
{
	if (unlikely(sp->omitting) && arch_clock_ns() >= test.omit_end) {
		sp->omitting = false;
		sp->omitted = sp->bytes;
	}
	__atomic_store_n(&sp->bytes, sp->bytes + n, __ATOMIC_RELAXED);
}

static bool stopping(void) { return __atomic_load_n(&test.stop, __ATOMIC_ACQUIRE); }

/* Wait (a second at most) for s to poll one of mask, or for the stop. */
static void stream_wait(struct socket *s, unsigned mask)
{
	mask |= POLLERR | POLLHUP;
	wait_event_timeout(sock_waitq(s), (sock_poll(s) & mask) || stopping(), SEC);
}

static void rx_main(void *arg)
{
	struct iperf_stream *sp = arg;
	while (!stopping()) {
		long n = sock_recvfrom(sp->sock, sp->buf, RX_BUF, MSG_DONTWAIT, NULL);
		if (n > 0) {
			account(sp, (u64)n);
			count(&bytes_rx, (u64)n);
		} else if (n == -EAGAIN) {
			stream_wait(sp->sock, POLLIN);
		} else {
			sp->err = n ? (int)n : -ECONNRESET;
			break;
		}
	}
}

/* TX_PAGES references to the pattern page: a send without a copy. */
static struct pkb *pattern_pkb(void)
{
	struct pkb *b = pkb_alloc();
	for (int i = 0; b && i < TX_PAGES; i++) {
		if (pkb_add_frag(b, pattern, 0, PAGE_SIZE) != 0) {
			pkb_free(b);
			b = NULL;
		}
	}
	return b;
}

/* -b: has this stream sent its share by now? (rate per stream, as iperf3) */
static bool over_rate(const struct iperf_stream *sp)
{
	if (!test.p.rate_bps)
		return false;
	u64 per_ms = MAX(test.p.rate_bps / 8000, 1);
	u64 ms = (arch_clock_ns() - test.t_start) / 1000000 + 1;
	return sp->bytes >= per_ms * ms;
}

static void tx_main(void *arg)
{
	struct iperf_stream *sp = arg;
	while (!stopping()) {
		unsigned m = sock_poll(sp->sock);
		if (!(m & POLLOUT)) {
			if (m & (POLLERR | POLLHUP)) {   /* reset or closed: no room will come */
				sp->err = -EPIPE;
				break;
			}
			stream_wait(sp->sock, POLLOUT);
			continue;
		}
		if (over_rate(sp)) {
			thread_sleep_ns(1000000);
			continue;
		}
		struct pkb *b = pattern_pkb();
		if (!b) {
			thread_sleep_ns(1000000);
			continue;
		}
		long n = sock_send_pkb(sp->sock, b, MSG_DONTWAIT, NULL);
		if (n > 0) {
			account(sp, (u64)n);
			count(&bytes_tx, (u64)n);
		} else if (n != -EAGAIN) {
			sp->err = (int)n;
			break;
		}
	}
}

/* ---- the control thread ---- */

struct fail {
	int ie, err;      /* sent after SERVER_ERROR; ie 0: send nothing */
	const char *why;  /* for the log */
};

static int failed(struct fail *f, int ie, int err, const char *why)
{
	f->ie = ie;
	f->err = err;
	f->why = why;
	return -1;
}

static void ctrl_upcall(struct socket *s, void *arg)
{
	(void)s;
	(void)arg;
	waitq_wake_all(&test.wq);
}

static bool ctrl_ready(void) { return (sock_poll(test.ctrl) & (POLLIN | POLLERR | POLLHUP)) != 0; }

/* A length-prefixed JSON text of at most max bytes, in a kmalloc'd buffer. */
static int read_json(char **out, u32 *len, u32 max)
{
	u8 hdr[4];
	*out = NULL;
	int err = read_full(test.ctrl, hdr, 4, arch_clock_ns() + CTRL_WAIT);
	if (err)
		return err;
	u32 n = be32(hdr);
	if (n == 0 || n > max)
		return -EMSGSIZE;
	char *buf = kmalloc(n, 0);
	if (!buf)
		return -ENOMEM;
	err = read_full(test.ctrl, buf, n, arch_clock_ns() + CTRL_WAIT);
	if (err) {
		kfree(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

static const char *read_error(int err)
{
	switch (err) {
	case -ETIMEDOUT: return "the client sent nothing in time";
	case -ECONNRESET: return "the client closed the control connection";
	case -EMSGSIZE: return "a JSON length of 0 or beyond the limit";
	case -ENOMEM: return "no memory for the JSON";
	default: return "the control connection failed";
	}
}

static int get_params(struct fail *f)
{
	char *json;
	u32 len;
	if (send_state(test.ctrl, ST_PARAM_EXCHANGE) != 0)
		return failed(f, 0, 0, "cannot write to the control connection");
	int err = read_json(&json, &len, IPERF_PARAMS_MAX);
	if (err)
		return failed(f, IPERF_IE_RECVPARAMS, -err, read_error(err));
	const char *why;
	int ie = iperf_params_parse(json, len, &test.p, &why);
	kfree(json);
	if (ie)
		return failed(f, ie, ie == IPERF_IE_RECVPARAMS ? EINVAL : 0, why);
	struct iperf_params *p = &test.p;
	char limit[48];
	if (p->bytes)
		ksnprintf(limit, sizeof(limit), "%llu bytes", (unsigned long long)p->bytes);
	else if (p->blocks)
		ksnprintf(limit, sizeof(limit), "%llu blocks", (unsigned long long)p->blocks);
	else
		ksnprintf(limit, sizeof(limit), "%llu s", (unsigned long long)p->time_s);
	pr_info("iperf: test from %s: %llu stream(s), %s, %s, client %s", test.peer,
		(unsigned long long)p->parallel,
		p->reverse ? "reverse (Caboose sends)" : "normal (Caboose receives)", limit,
		p->client_version[0] ? p->client_version : "?");
	return 0;
}

/* CREATE_STREAMS, then wait for the data connections. */
static int get_streams(struct fail *f)
{
	spin_lock(&iperf_lock);
	test.want = (u32)test.p.parallel;
	test.nstreams = 0;
	test.phase = PH_STREAMS;
	spin_unlock(&iperf_lock);
	int ret = 0;
	if (send_state(test.ctrl, ST_CREATE_STREAMS) != 0) {
		ret = failed(f, 0, 0, "cannot write to the control connection");
	} else {
		bool all = wait_event_timeout(&test.wq, READ_ONCE(test.nstreams) == test.want ||
								ctrl_ready(), STREAMS_WAIT);
		if (!all)
			ret = failed(f, IPERF_IE_STREAMACCEPT, ETIMEDOUT,
				     "not all data connections came within 10 s");
		else if (READ_ONCE(test.nstreams) != test.want)
			ret = failed(f, IPERF_IE_MESSAGE, 0,
				     "the client spoke or closed before its streams connected");
	}
	spin_lock(&iperf_lock);
	test.phase = PH_RUNNING;   /* no more streams join */
	spin_unlock(&iperf_lock);
	return ret;
}

static void setup_stream(struct iperf_stream *sp, u32 i)
{
	const struct iperf_params *p = &test.p;
	u32 buf = p->window ? (u32)p->window : SOCK_BUF;
	sp->id = i == 0 ? 1 : i + 2;
	sp->bytes = sp->omitted = 0;
	sp->omitting = p->omit_s != 0;
	sp->err = 0;
	sp->worker = NULL;
	sock_setopt(sp->sock, SO_RCVBUF, buf);
	sock_setopt(sp->sock, SO_SNDBUF, buf);
	if (p->nodelay)
		sock_setopt(sp->sock, TCP_NODELAY, 1);
	if (p->cc)
		sock_setopt(sp->sock, TCP_CONGESTION, p->cc);
}

static u64 idle_ns_now(void)
{
	u64 sum = 0;
	for (unsigned c = 0; c < ncpus; c++) {
		struct sched_cpu_stats st;
		sched_stats(c, &st);
		sum += st.idle_ns;
	}
	return sum;
}

/* TEST_START, TEST_RUNNING, and a worker per stream. */
static int start_test(struct fail *f)
{
	u32 n = test.nstreams;
	for (u32 i = 0; i < n; i++) {
		struct iperf_stream *sp = &test.st[i];
		setup_stream(sp, i);
		if (!test.p.reverse && !(sp->buf = kmalloc(RX_BUF, 0)))
			return failed(f, IPERF_IE_INITTEST, ENOMEM, "no memory for receive buffers");
	}
	if (send_state(test.ctrl, ST_TEST_START) != 0 || send_state(test.ctrl, ST_TEST_RUNNING) != 0)
		return failed(f, 0, 0, "cannot write to the control connection");
	test.t_start = arch_clock_ns();
	test.omit_end = test.t_start + test.p.omit_s * SEC;
	test.idle_start_ns = idle_ns_now();
	__atomic_store_n(&test.stop, false, __ATOMIC_RELEASE);
	count(&n_streams, n);
	for (u32 i = 0; i < n; i++) {
		struct iperf_stream *sp = &test.st[i];
		/* on the connection's owner CPU: its segments leave by that
		 * CPU's queue and the host keeps the flow there (net.h) */
		int cpu = sock_owner_cpu(sp->sock);
		sp->worker = thread_create(test.p.reverse ? "iperf_tx" : "iperf_rx",
					   test.p.reverse ? tx_main : rx_main, sp, cpu,
					   cpu >= 0 ? THREAD_PINNED : 0);
		if (!sp->worker)
			return failed(f, IPERF_IE_INITTEST, ENOMEM, "no thread for a stream");
	}
	return 0;
}

static u64 total_bytes(void)
{
	u64 sum = 0;
	for (u32 i = 0; i < test.nstreams; i++)
		sum += __atomic_load_n(&test.st[i].bytes, __ATOMIC_RELAXED);
	return sum;
}

/* Running: wait for TEST_END. 1 = TEST_END came, 0 = the test ended
 * otherwise (f says how), -1 = failure. */
static int run_test(struct fail *f)
{
	u64 last = 0, moved = arch_clock_ns();
	u64 limit = test.p.time_s ? test.t_start + (test.p.time_s + test.p.omit_s) * SEC + GRACE : 0;
	for (;;) {
		u8 m;
		long n = sock_recvfrom(test.ctrl, &m, 1, MSG_DONTWAIT, NULL);
		if (n == 1) {
			switch ((s8)m) {
			case ST_TEST_START:
				continue;
			case ST_TEST_END:
				return 1;
			case ST_CLIENT_TERMINATE:
				failed(f, 0, 0, "the client terminated the test");
				return 0;
			case ST_IPERF_DONE:
				failed(f, 0, 0, "the client said IPERF_DONE before TEST_END");
				return 0;
			default:
				return failed(f, IPERF_IE_MESSAGE, 0, "an unknown control message");
			}
		}
		if (n == 0)
			return failed(f, 0, 0, "the client closed the control connection");
		if (n != -EAGAIN)
			return failed(f, 0, 0, "the control connection failed");
		u64 now = arch_clock_ns(), b = total_bytes();
		if (b != last) {
			last = b;
			moved = now;
		}
		if (now - moved > STALL_WAIT)
			return failed(f, IPERF_IE_NOMSG, 0, "no data moved for 30 s");
		if (limit && now > limit)
			return failed(f, IPERF_IE_NOMSG, 0, "the test ran 40 s past its time");
		wait_event_timeout(&test.wq, ctrl_ready(), SEC);
	}
}

/* Stop and join the workers; note what the results need from the
 * connections; close them (unread data resets them, as on Linux). */
static void end_streams(void)
{
	__atomic_store_n(&test.stop, true, __ATOMIC_RELEASE);
	for (u32 i = 0; i < test.nstreams; i++)
		waitq_wake_all(sock_waitq(test.st[i].sock));
	for (u32 i = 0; i < test.nstreams; i++) {
		struct iperf_stream *sp = &test.st[i];
		if (sp->worker) {
			thread_join(sp->worker);
			sp->worker = NULL;
		}
		if (sp->omitting) {      /* ended within the omit time: nothing counts */
			sp->omitting = false;
			sp->omitted = sp->bytes;
		}
	}
	if (test.t_start && !test.t_end)
		test.t_end = arch_clock_ns();
	for (u32 i = 0; i < test.nstreams; i++) {
		struct iperf_stream *sp = &test.st[i];
		struct sock_tcp_info ti;
		u32 cc = 0;
		if (sock_tcp_info(sp->sock, &ti) == 0)
			sp->retransmits = ti.total_retrans;
		if (i == 0 && sock_getopt(sp->sock, TCP_CONGESTION, &cc) == 0)
			test.cc = (u8)cc;
		sock_close(sp->sock);
		sp->sock = NULL;
		kfree(sp->buf);
		sp->buf = NULL;
	}
}

/* ---- results ---- */

struct jbuf {
	char *p;
	u32 len, cap;
};

static void __printf(2, 3) jb_add(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	u32 room = b->cap - b->len;
	int n = kvsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	b->len = n < 0 || (u32)n >= room ? b->cap : b->len + (u32)n;
}

/* Our results, as iperf3's send_results writes them: per stream what this
 * side moved over the time it ran (less -O's omit time); CPU use is the
 * kernel's busy share of all CPUs over the test. */
static void make_results(struct jbuf *b)
{
	u64 dt = test.t_end - test.t_start, omit = test.p.omit_s * SEC;
	u64 span = dt > omit ? dt - omit : 0;
	u64 idle = idle_ns_now() - test.idle_start_ns;
	u64 all = (u64)ncpus * dt, busy = all > idle ? all - idle : 0;
	u64 d = all / 1000000, ppm = d ? MIN(busy / d, 1000000ull) : 0;
	unsigned long long pct = ppm / 10000, frac = ppm % 10000;
	bool rev = test.p.reverse;
	jb_add(b, "{\"cpu_util_total\":%llu.%04llu,\"cpu_util_user\":0,\"cpu_util_system\":%llu.%04llu,"
	       "\"sender_has_retransmits\":%d,\"congestion_used\":\"%s\",\"streams\":[",
	       pct, frac, pct, frac, rev ? 1 : -1, test.cc == TCP_CC_NEWRENO ? "newreno" : "cubic");
	for (u32 i = 0; i < test.nstreams; i++) {
		const struct iperf_stream *sp = &test.st[i];
		long long rex = rev ? (long long)sp->retransmits : -1;
		jb_add(b, "%s{\"id\":%u,\"bytes\":%llu,\"retransmits\":%lld,\"jitter\":0,\"errors\":0,"
		       "\"omitted_errors\":0,\"packets\":0,\"omitted_packets\":0,\"start_time\":0,"
		       "\"end_time\":%llu.%06llu}",
		       i ? "," : "", sp->id, (unsigned long long)(sp->bytes - sp->omitted), rex,
		       (unsigned long long)(span / SEC), (unsigned long long)(span % SEC / 1000));
	}
	jb_add(b, "]}");
}

static int exchange_results(struct fail *f)
{
	char *json;
	u32 len;
	if (send_state(test.ctrl, ST_EXCHANGE_RESULTS) != 0)
		return failed(f, 0, 0, "cannot write to the control connection");
	int err = read_json(&json, &len, IPERF_RESULTS_MAX);
	if (err)
		return failed(f, IPERF_IE_RECVRESULTS, -err, read_error(err));
	err = iperf_json_check_object(json, len);
	kfree(json);
	if (err)
		return failed(f, IPERF_IE_RECVRESULTS, EINVAL, "the client's results are not a JSON object");
	struct jbuf b = { kmalloc(4096, 0), 0, 4096 };
	if (!b.p)
		return failed(f, IPERF_IE_SENDRESULTS, ENOMEM, "no memory for the results");
	make_results(&b);
	u8 hdr[4];
	put_be32(hdr, b.len);
	u64 deadline = arch_clock_ns() + CTRL_WAIT;
	err = b.len == b.cap ? -ENOSPC : write_full(test.ctrl, hdr, 4, deadline);
	if (!err)
		err = write_full(test.ctrl, b.p, b.len, deadline);
	kfree(b.p);
	if (err)
		return failed(f, err == -ENOSPC ? IPERF_IE_SENDRESULTS : 0, 0, "cannot send the results");
	if (send_state(test.ctrl, ST_DISPLAY_RESULTS) != 0)
		return failed(f, 0, 0, "cannot write to the control connection");
	/* the client answers IPERF_DONE and closes; either will do */
	u8 m;
	read_full(test.ctrl, &m, 1, arch_clock_ns() + CTRL_WAIT);
	return 0;
}

static void log_done(void)
{
	u64 dt = test.t_end - test.t_start, sum = 0;
	for (u32 i = 0; i < test.nstreams; i++)
		sum += test.st[i].bytes;
	u64 us = dt / 1000 ? dt / 1000 : 1;
	pr_info("iperf: test from %s done: %s %llu bytes in %llu ms on %u stream(s), %llu Mbit/s",
		test.peer, test.p.reverse ? "sent" : "received", (unsigned long long)sum,
		(unsigned long long)(dt / 1000000), test.nstreams, (unsigned long long)(sum * 8 / us));
}

static void ctl_main(void *arg)
{
	(void)arg;
	struct socket *s = test.ctrl;
	struct fail f = { 0, 0, NULL };
	peer_name(s, test.peer, sizeof(test.peer));
	test.t_start = test.t_end = 0;
	sock_setopt(s, TCP_NODELAY, 1);
	sock_set_upcall(s, ctrl_upcall, NULL);
	int r = get_params(&f);
	if (r == 0) {
		count(&n_tests, 1);
		r = get_streams(&f);
	}
	if (r == 0)
		r = start_test(&f);
	if (r == 0)
		r = run_test(&f);
	end_streams();
	if (r == 1)
		r = exchange_results(&f);
	if (r == 0 && !f.why) {
		count(&n_done, 1);
		log_done();
	} else {
		count(&n_failed, 1);
		if (f.ie == IPERF_IE_RECVPARAMS || f.ie == IPERF_IE_RECVRESULTS || f.ie == IPERF_IE_MESSAGE)
			count(&n_bad, 1);
		pr_warn("iperf: test from %s ended: %s%s", test.peer, f.why ? f.why : "?",
			f.ie ? " (SERVER_ERROR sent)" : "");
		if (f.ie)
			send_error(s, f.ie, f.err);
	}
	/* free for the next client now: a client that runs tests back to back
	 * connects again as soon as it has closed, maybe before we saw it */
	sock_set_upcall(s, NULL, NULL);
	test.ctrl = NULL;
	spin_lock(&iperf_lock);
	test.phase = PH_IDLE;
	test.want = test.nstreams = 0;
	spin_unlock(&iperf_lock);
	close_gently(s, CLOSE_WAIT);
}

/* ---- start-up and counters ---- */

int iperf_start(void)
{
	struct socket *l;
	struct sockaddr_in4 a = { IP4_ANY, IPERF_PORT };
	waitq_init(&test.wq, "iperf");
	pattern = page_alloc(0);
	if (!pattern)
		return -ENOMEM;
	u8 *p = page_address(pattern);
	for (u32 i = 0; i < PAGE_SIZE; i++)
		p[i] = (u8)('0' + i % 10);
	int err = sock_create(SOCK_STREAM, &l);
	if (err)
		goto fail_pattern;
	/* children take the listener's buffer size, and with it the window
	 * scale they announce: make it the data sockets' */
	sock_setopt(l, SO_RCVBUF, SOCK_BUF);
	if ((err = sock_bind(l, &a)) != 0 || (err = sock_listen(l, 64)) != 0)
		goto fail_close;
	struct thread *t = thread_create("iperf", accept_main, l, -1, 0);
	if (!t) {
		err = -ENOMEM;
		goto fail_close;
	}
	thread_put(t);
	return 0;
fail_close:
	sock_close(l);
fail_pattern:
	page_put(pattern);
	pattern = NULL;
	return err;
}

KCOUNTER_VAR("services.iperf_tests", "tests", n_tests);
KCOUNTER_VAR("services.iperf_tests_done", "tests", n_done);
KCOUNTER_VAR("services.iperf_tests_failed", "tests", n_failed);
KCOUNTER_VAR("services.iperf_access_denied", "connections", n_denied);
KCOUNTER_VAR("services.iperf_bad_input", "connections", n_bad);
KCOUNTER_VAR("services.iperf_streams", "streams", n_streams);
KCOUNTER_VAR("services.iperf_bytes_received", "bytes", bytes_rx);
KCOUNTER_VAR("services.iperf_bytes_sent", "bytes", bytes_tx);
