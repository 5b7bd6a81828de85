/*
 * Server-side latency histograms of the HTTP responder and the metrics
 * documents (metrics.h): Prometheus text, JSON, and the REPL's `latency`.
 *
 * Locks: none. The histograms are per CPU (hist_pcpu: each CPU writes its
 * own part with preemption off; readers merge). The counters are [atomic].
 * A struct metrics_conn is shared by its connection's thread and the ACK
 * watches it set: refs counts them [atomic]; a request slot belongs to the
 * thread while `busy` is false and to its watch while true [atomic, set by
 * the thread before tcp_ack_watch, cleared by the watch last].
 */
#include "apps/kernel/metrics.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/hist.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/repl/repl.h"

static const char *const stage_names[METRICS_NSTAGES] = {
	[METRICS_QUEUE] = "queue",
	[METRICS_ACK] = "ack",
	[METRICS_TOTAL] = "total",
};
static const char *const stage_help[METRICS_NSTAGES] = {
	[METRICS_QUEUE] = "first byte read to response queued",
	[METRICS_ACK] = "response queued to its last byte acknowledged",
	[METRICS_TOTAL] = "first byte read to last byte acknowledged",
};

static const char *const tail_names[METRICS_TAIL_NSTAGES] = {
	[METRICS_TAIL_SOCKET] = "socket",
	[METRICS_TAIL_SCHED] = "sched",
	[METRICS_TAIL_APP] = "app",
	[METRICS_TAIL_OUTPUT] = "tcp_output",
	[METRICS_TAIL_ACK] = "ack",
	[METRICS_TAIL_RETRANS] = "retrans",
	[METRICS_TAIL_TOTAL] = "total",
};
static const char *const tail_help[METRICS_TAIL_NSTAGES] = {
	[METRICS_TAIL_SOCKET] = "bytes waiting in the socket while the thread was busy",
	[METRICS_TAIL_SCHED] = "the thread, woken by the bytes, waiting to run",
	[METRICS_TAIL_APP] = "parsing and the head, outside the send calls",
	[METRICS_TAIL_OUTPUT] = "inside the send calls (TCP output, the driver)",
	[METRICS_TAIL_ACK] = "waiting for the last byte's ACK, nothing retransmitted",
	[METRICS_TAIL_RETRANS] = "waiting for the last byte's ACK, with retransmissions",
	[METRICS_TAIL_TOTAL] = "first byte arrived to last byte acknowledged",
};

static struct hist_pcpu stages[METRICS_NSTAGES];   /* [once] parts set by metrics_init */
static struct hist_pcpu tail[METRICS_TAIL_NSTAGES]; /* [once] the same */
static bool ready;                                 /* [once] */
static u64 unwatched, unacked, reset_ns;           /* [atomic] */
static u64 tail_threshold;   /* [atomic] ns, the p99 of totals; 0: not yet known */
static u64 responses;        /* [atomic] since the last reset */
static u8 thr_busy;          /* [atomic] someone is updating tail_threshold */
static struct hist thr_scratch;  /* [thr_busy] */

static int init_set(struct hist_pcpu *set, int count, unsigned n)
{
	for (int i = 0; i < count; i++) {
		struct hist_cpu *mem = kzalloc(n * sizeof(*mem));
		if (!mem)
			return -ENOMEM;   /* the parts already made stay */
		hist_pcpu_init(&set[i], mem, n);
	}
	return 0;
}

int metrics_init(void)
{
	if (ready)
		return 0;
	unsigned n = ncpus ? ncpus : 1;
	if (init_set(stages, METRICS_NSTAGES, n) < 0 ||
	    init_set(tail, METRICS_TAIL_NSTAGES, n) < 0)
		return -ENOMEM;
	reset_ns = net_now_ns();
	__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
	return 0;
}

static void record(enum metrics_stage st, u64 ns)
{
	if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		hist_pcpu_record(&stages[st], ns);
}

void metrics_reset(void)
{
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		return;
	for (int i = 0; i < METRICS_NSTAGES; i++)
		hist_pcpu_reset(&stages[i]);
	for (int i = 0; i < METRICS_TAIL_NSTAGES; i++)
		hist_pcpu_reset(&tail[i]);
	__atomic_store_n(&tail_threshold, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&responses, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&unwatched, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&unacked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&reset_ns, net_now_ns(), __ATOMIC_RELAXED);
}

/* ---- per connection: the ACK watches ---- */

struct metrics_conn {
	u32 refs;                         /* [atomic] the thread, and each busy slot */
	struct metrics_req {
		struct metrics_conn *conn;
		struct metrics_times tm;
		bool busy;                /* [atomic] */
	} req[TCP_ACK_WATCH_MAX];
};

struct metrics_conn *metrics_conn_new(void)
{
	struct metrics_conn *c = kzalloc(sizeof(*c));
	if (!c)
		return NULL;
	c->refs = 1;
	for (int i = 0; i < TCP_ACK_WATCH_MAX; i++)
		c->req[i].conn = c;
	return c;
}

void metrics_conn_put(struct metrics_conn *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		kfree(c);
}

/* The watch: in TCP's receive path with the socket's lock held, or in
 * metrics_response when nothing was outstanding. */
/* A request slower than the p99: where its time went (metrics.h). */
static void record_tail(const struct metrics_times *tm, u64 t2, u32 rexmits)
{
	u64 waited = tm->start - tm->t0, sched = MIN(tm->sched_ns, waited);
	u64 took = tm->t1 - tm->start, send = MIN(tm->send_ns, took);
	hist_pcpu_record(&tail[METRICS_TAIL_SOCKET], waited - sched);
	hist_pcpu_record(&tail[METRICS_TAIL_SCHED], sched);
	hist_pcpu_record(&tail[METRICS_TAIL_APP], took - send);
	hist_pcpu_record(&tail[METRICS_TAIL_OUTPUT], send);
	hist_pcpu_record(&tail[rexmits ? METRICS_TAIL_RETRANS : METRICS_TAIL_ACK], t2 - tm->t1);
	hist_pcpu_record(&tail[METRICS_TAIL_TOTAL], t2 - tm->t0);
}

static void acked(void *arg, u64 now, u32 rexmits)
{
	struct metrics_req *r = arg;
	struct metrics_conn *c = r->conn;
	if (now == 0) {
		__atomic_fetch_add(&unacked, 1, __ATOMIC_RELAXED);
	} else if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		u64 t2 = MAX(now, r->tm.t1);   /* another CPU's clock may lag a little */
		record(METRICS_ACK, t2 - r->tm.t1);
		record(METRICS_TOTAL, t2 - r->tm.t0);
		u64 thr = __atomic_load_n(&tail_threshold, __ATOMIC_RELAXED);
		if (thr && t2 - r->tm.t0 > thr)
			record_tail(&r->tm, t2, rexmits);
	}
	__atomic_store_n(&r->busy, false, __ATOMIC_RELEASE);
	metrics_conn_put(c);
}

/* The p99 of totals, for the tail's threshold: updated by one thread at a
 * time (the others go on with the old value), in thread context. */
static void update_threshold(void)
{
	if (__atomic_exchange_n(&thr_busy, 1, __ATOMIC_ACQUIRE))
		return;
	hist_pcpu_read(&stages[METRICS_TOTAL], &thr_scratch);
	if (thr_scratch.count >= METRICS_TAIL_MIN)
		__atomic_store_n(&tail_threshold, hist_percentile(&thr_scratch, 990000),
				 __ATOMIC_RELAXED);
	__atomic_store_n(&thr_busy, 0, __ATOMIC_RELEASE);
}

void metrics_response(struct metrics_conn *c, struct socket *s, const struct metrics_times *in)
{
	/* the stages must nest: t0 <= start <= t1 */
	struct metrics_times tm = *in;
	tm.start = MAX(tm.start, tm.t0);
	tm.t1 = MAX(tm.t1, tm.start);
	record(METRICS_QUEUE, tm.t1 - tm.t0);
	if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) &&
	    __atomic_add_fetch(&responses, 1, __ATOMIC_RELAXED) % METRICS_TAIL_EVERY == 0)
		update_threshold();
	struct metrics_req *r = NULL;
	for (int i = 0; c && i < TCP_ACK_WATCH_MAX && !r; i++)
		if (!__atomic_load_n(&c->req[i].busy, __ATOMIC_ACQUIRE))
			r = &c->req[i];
	if (!r) {
		__atomic_fetch_add(&unwatched, 1, __ATOMIC_RELAXED);
		return;
	}
	r->tm = tm;
	__atomic_store_n(&r->busy, true, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->refs, 1, __ATOMIC_RELAXED);
	if (tcp_ack_watch(s, acked, r) != 0) {
		__atomic_store_n(&r->busy, false, __ATOMIC_RELAXED);
		__atomic_fetch_sub(&c->refs, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&unwatched, 1, __ATOMIC_RELAXED);
	}
}

/* ---- reading ---- */

static const u32 pct_ppm[5] = { 500000, 900000, 990000, 999000, HIST_PPM };
static const char *const pct_names[5] = { "p50", "p90", "p99", "p99_9", "max" };

/* Prometheus bucket bounds: 10 us to 10 s, 1-2.5-5 steps */
static const u64 prom_le_ns[] = {
	10000ULL, 25000ULL, 50000ULL, 100000ULL, 250000ULL, 500000ULL, 1000000ULL, 2500000ULL,
	5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, 250000000ULL,
	500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL,
};

/* A growing output buffer; after a failed allocation it stays failed. */
#define MB_MAX (4u << 20)
struct mbuf {
	char *p;
	u32 len, cap;
	bool oom;
};

static void mb_printf(struct mbuf *b, const char *fmt, ...) __printf(2, 3);
static void mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->oom)
		return;
	va_start(ap, fmt);
	int n = kvsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((u32)n >= b->cap - b->len) {
		u32 cap = MAX(b->cap * 2, b->len + (u32)n + 1);
		char *p = cap <= MB_MAX ? kmalloc(cap, 0) : NULL;
		if (!p) {
			b->oom = true;
			return;
		}
		memcpy(p, b->p, b->len);
		kfree(b->p);
		b->p = p;
		b->cap = cap;
		va_start(ap, fmt);
		kvsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (u32)n;
}

/* ns as decimal seconds, shortest form: 2500000 -> "0.0025" */
static void fmt_seconds(char *buf, size_t n, u64 ns)
{
	char frac[16];
	ksnprintf(frac, sizeof(frac), "%09llu", (unsigned long long)(ns % 1000000000ULL));
	int k = 9;
	while (k > 0 && frac[k - 1] == '0')
		k--;
	frac[k] = 0;
	ksnprintf(buf, n, "%llu%s%s", (unsigned long long)(ns / 1000000000ULL), k ? "." : "", frac);
}

/* "net.tcp.segs_in" -> "caboose_net_tcp_segs_in_total" */
static void prom_name(char *buf, size_t n, const char *dotted)
{
	size_t o = (size_t)ksnprintf(buf, n, "caboose_");
	for (const char *s = dotted; *s && o + 7 < n; s++) {
		char ch = *s;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_';
		buf[o++] = ok ? ch : '_';
	}
	ksnprintf(buf + o, n - o, "_total");
}

static const char *const prom_prefixes[] = { "net.tcp.", "services.", "copy." };

static bool exported_counter(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(prom_prefixes); i++)
		if (strncmp(name, prom_prefixes[i], strlen(prom_prefixes[i])) == 0)
			return true;
	return false;
}

/* One histogram of a labelled family, Prometheus' way. */
static void prom_hist(struct mbuf *b, const char *family, const char *stage, const struct hist *h)
{
	char le[32], sum[32];
	for (size_t i = 0; i < ARRAY_SIZE(prom_le_ns); i++) {
		fmt_seconds(le, sizeof(le), prom_le_ns[i]);
		mb_printf(b, "%s_bucket{stage=\"%s\",le=\"%s\"} %llu\n", family, stage, le,
			  (unsigned long long)hist_count_le(h, prom_le_ns[i]));
	}
	mb_printf(b, "%s_bucket{stage=\"%s\",le=\"+Inf\"} %llu\n", family, stage,
		  (unsigned long long)h->count);
	fmt_seconds(sum, sizeof(sum), h->sum);
	mb_printf(b, "%s_sum{stage=\"%s\"} %s\n%s_count{stage=\"%s\"} %llu\n", family, stage, sum,
		  family, stage, (unsigned long long)h->count);
}

static void render_prom(struct mbuf *b, struct hist *h)
{
	char nm[80], thr[32];
	mb_printf(b, "# HELP caboose_http_request_stage_seconds Server-side latency of HTTP "
		  "requests by stage: queue (first byte read to response queued), ack (response "
		  "queued to last byte acknowledged), total (first byte read to last byte "
		  "acknowledged). Buckets count the values known to be <= le (0.8%% resolution).\n"
		  "# TYPE caboose_http_request_stage_seconds histogram\n");
	for (int st = 0; st < METRICS_NSTAGES; st++) {
		hist_pcpu_read(&stages[st], h);
		prom_hist(b, "caboose_http_request_stage_seconds", stage_names[st], h);
	}
	mb_printf(b, "# HELP caboose_http_tail_stage_seconds Where the time of HTTP requests "
		  "slower than the p99 went: socket (waiting to be read), sched (the woken thread "
		  "waiting to run), app, tcp_output (in the send calls), ack (waiting for the ACK), "
		  "retrans (waiting for the ACK, with retransmissions), total.\n"
		  "# TYPE caboose_http_tail_stage_seconds histogram\n");
	for (int st = 0; st < METRICS_TAIL_NSTAGES; st++) {
		hist_pcpu_read(&tail[st], h);
		prom_hist(b, "caboose_http_tail_stage_seconds", tail_names[st], h);
	}
	fmt_seconds(thr, sizeof(thr), __atomic_load_n(&tail_threshold, __ATOMIC_RELAXED));
	mb_printf(b, "# HELP caboose_http_tail_threshold_seconds The p99 of totals above which "
		  "a request counts as tail (0 until %d requests were timed).\n"
		  "# TYPE caboose_http_tail_threshold_seconds gauge\n"
		  "caboose_http_tail_threshold_seconds %s\n", METRICS_TAIL_MIN, thr);
	mb_printf(b, "# HELP caboose_http_latency_unwatched_total Responses whose acknowledgment "
		  "could not be watched (queue figure only).\n"
		  "# TYPE caboose_http_latency_unwatched_total counter\n"
		  "caboose_http_latency_unwatched_total %llu\n"
		  "# HELP caboose_http_latency_unacked_total Responses whose connection ended "
		  "before their acknowledgment (queue figure only).\n"
		  "# TYPE caboose_http_latency_unacked_total counter\n"
		  "caboose_http_latency_unacked_total %llu\n",
		  (unsigned long long)__atomic_load_n(&unwatched, __ATOMIC_RELAXED),
		  (unsigned long long)__atomic_load_n(&unacked, __ATOMIC_RELAXED));
	mb_printf(b, "# HELP caboose_net_drops_total Packets the network stack dropped, by reason.\n"
		  "# TYPE caboose_net_drops_total counter\n");
	for (int r = 0; r < NET_DROP_COUNT; r++)
		mb_printf(b, "caboose_net_drops_total{reason=\"%s\"} %llu\n",
			  net_drop_name((enum net_drop)r),
			  (unsigned long long)net_drop_count((enum net_drop)r));
	size_t n;
	const struct kcounter *const *all = kcounters(&n);
	for (size_t i = 0; i < n; i++) {
		if (!exported_counter(all[i]->name))
			continue;
		prom_name(nm, sizeof(nm), all[i]->name);
		mb_printf(b, "# HELP %s Kernel counter %s (%s).\n# TYPE %s counter\n%s %llu\n", nm,
			  all[i]->name, all[i]->unit, nm, nm, (unsigned long long)kcounter_read(all[i]));
	}
}

/* "name":{...} for each histogram of a set, comma-separated */
static void json_stages(struct mbuf *b, struct hist *h, struct hist_pcpu *set,
			const char *const *names, const char *const *help, int n)
{
	for (int st = 0; st < n; st++) {
		hist_pcpu_read(&set[st], h);
		mb_printf(b, "%s\"%s\":{\"what\":\"%s\",\"count\":%llu,\"sum_ns\":%llu,\"min_ns\":%llu,"
			  "\"mean_ns\":%llu", st ? "," : "", names[st], help[st],
			  (unsigned long long)h->count, (unsigned long long)h->sum,
			  (unsigned long long)(h->count ? h->min : 0),
			  (unsigned long long)(h->count ? h->sum / h->count : 0));
		for (int p = 0; p < 5; p++)
			mb_printf(b, ",\"%s_ns\":%llu", pct_names[p],
				  (unsigned long long)hist_percentile(h, pct_ppm[p]));
		mb_printf(b, ",\"saturated\":%llu,\"buckets\":[", (unsigned long long)h->saturated);
		bool first = true;
		for (u32 i = 0; i < HIST_NBUCKETS; i++) {
			if (!h->buckets[i])
				continue;
			mb_printf(b, "%s[%llu,%llu,%llu]", first ? "" : ",",
				  (unsigned long long)hist_bucket_lo(i),
				  (unsigned long long)hist_bucket_hi(i),
				  (unsigned long long)h->buckets[i]);
			first = false;
		}
		mb_printf(b, "]}");
	}
}

static void render_json(struct mbuf *b, struct hist *h)
{
	u64 now = net_now_ns(), since = __atomic_load_n(&reset_ns, __ATOMIC_RELAXED);
	mb_printf(b, "{\"latency\":{\"unit\":\"ns\",\"buckets\":{\"scheme\":\"log-linear\","
		  "\"sub_bits\":%u,\"max_bits\":%u},\"since_reset_ms\":%llu,\"unwatched\":%llu,"
		  "\"unacked\":%llu,\"stages\":{", HIST_SUB_BITS, HIST_MAX_BITS,
		  (unsigned long long)(now > since ? (now - since) / 1000000 : 0),
		  (unsigned long long)__atomic_load_n(&unwatched, __ATOMIC_RELAXED),
		  (unsigned long long)__atomic_load_n(&unacked, __ATOMIC_RELAXED));
	json_stages(b, h, stages, stage_names, stage_help, METRICS_NSTAGES);
	mb_printf(b, "},\"tail\":{\"threshold_ns\":%llu,\"stages\":{",
		  (unsigned long long)__atomic_load_n(&tail_threshold, __ATOMIC_RELAXED));
	json_stages(b, h, tail, tail_names, tail_help, METRICS_TAIL_NSTAGES);
	mb_printf(b, "}}},\"drops\":{");
	for (int r = 0; r < NET_DROP_COUNT; r++)
		mb_printf(b, "%s\"%s\":%llu", r ? "," : "", net_drop_name((enum net_drop)r),
			  (unsigned long long)net_drop_count((enum net_drop)r));
	mb_printf(b, "},\"counters\":{");
	size_t n;
	const struct kcounter *const *all = kcounters(&n);
	for (size_t i = 0; i < n; i++)
		mb_printf(b, "%s\"%s\":%llu", i ? "," : "", all[i]->name,
			  (unsigned long long)kcounter_read(all[i]));
	mb_printf(b, "}}\n");
}

int metrics_render(enum metrics_format f, char **out, u32 *len)
{
	struct mbuf b = { kmalloc(16384, 0), 0, 16384, false };
	struct hist *h = kmalloc(sizeof(*h), 0);
	if (!b.p || !h || !__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		kfree(b.p);
		kfree(h);
		return -ENOMEM;
	}
	if (f == METRICS_PROMETHEUS)
		render_prom(&b, h);
	else
		render_json(&b, h);
	kfree(h);
	if (b.oom) {
		kfree(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- the REPL ---- */

static void fmt_us(char *buf, size_t n, u64 ns)
{
	ksnprintf(buf, n, "%llu.%03llu", (unsigned long long)(ns / 1000),
		  (unsigned long long)(ns % 1000));
}

/* The tail's stages: what share of the tail requests' time each took. */
static void tail_table(struct repl_out *o, struct hist *h)
{
	hist_pcpu_read(&tail[METRICS_TAIL_TOTAL], h);
	u64 all = h->sum;
	repl_table_begin(o, "tail", "stage::10 count:n:9 share_pct:n:9 mean_us:n:11 p50_us:n:11 "
			 "p99_us:n:11 max_us:n:11");
	for (int st = 0; st < METRICS_TAIL_NSTAGES; st++) {
		char v[6][24];
		hist_pcpu_read(&tail[st], h);
		u64 share = all ? (h->sum * 10000 + all / 2) / all : 0;
		ksnprintf(v[0], 24, "%llu", (unsigned long long)h->count);
		ksnprintf(v[1], 24, "%llu.%02llu", (unsigned long long)(share / 100),
			  (unsigned long long)(share % 100));
		fmt_us(v[2], 24, h->count ? h->sum / h->count : 0);
		fmt_us(v[3], 24, hist_percentile(h, 500000));
		fmt_us(v[4], 24, hist_percentile(h, 990000));
		fmt_us(v[5], 24, hist_percentile(h, HIST_PPM));
		const char *cells[7] = { tail_names[st], v[0], v[1], v[2], v[3], v[4], v[5] };
		repl_row(o, cells);
	}
	repl_table_end(o);
}

REPL_CMD("latency", cmd_latency, "[reset]",
	 "server-side HTTP latency by stage (queue, ack, total) and, for requests over the "
	 "p99, where their time went (tail), in us; reset forgets it");
static int cmd_latency(struct repl_out *o, int argc, char **argv)
{
	static struct hist h;   /* the REPL thread is the only user */
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "reset") != 0))
		return repl_error(o, -EINVAL, "usage: latency [reset]");
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		return repl_error(o, -ENODEV, "no latency figures: services=http or metrics is off");
	if (argc == 2) {
		metrics_reset();
		repl_obj_begin(o, "latency_reset");
		repl_kv_str(o, "reset", "yes");
		repl_obj_end(o);
		return 0;
	}
	repl_table_begin(o, "latency", "stage::6 count:n:9 mean_us:n:11 p50_us:n:11 p90_us:n:11 "
			 "p99_us:n:11 p99_9_us:n:11 max_us:n:11");
	for (int st = 0; st < METRICS_NSTAGES; st++) {
		char v[7][24];
		hist_pcpu_read(&stages[st], &h);
		ksnprintf(v[0], 24, "%llu", (unsigned long long)h.count);
		fmt_us(v[1], 24, h.count ? h.sum / h.count : 0);
		for (int p = 0; p < 5; p++)
			fmt_us(v[2 + p], 24, hist_percentile(&h, pct_ppm[p]));
		const char *cells[8] = { stage_names[st], v[0], v[1], v[2], v[3], v[4], v[5], v[6] };
		repl_row(o, cells);
	}
	repl_table_end(o);
	tail_table(o, &h);
	u64 now = net_now_ns(), since = __atomic_load_n(&reset_ns, __ATOMIC_RELAXED);
	repl_obj_begin(o, "latency_totals");
	repl_kv_u64(o, "tail_threshold_ns", __atomic_load_n(&tail_threshold, __ATOMIC_RELAXED));
	repl_kv_u64(o, "unwatched", __atomic_load_n(&unwatched, __ATOMIC_RELAXED));
	repl_kv_u64(o, "unacked", __atomic_load_n(&unacked, __ATOMIC_RELAXED));
	repl_kv_u64(o, "since_reset_ms", now > since ? (now - since) / 1000000 : 0);
	repl_obj_end(o);
	return 0;
}
