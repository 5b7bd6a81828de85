/*
 * bench/loadgen/loadgen.c: an open-loop, constant-rate HTTP/1.1 load
 * generator.  Requests go out on a fixed schedule (rate, arrival process,
 * seed) over a fixed set of keep-alive connections; latency is measured from
 * each request's scheduled time, so a stalled server is charged for every
 * request it held up (no coordinated omission).  A warm-up is run and not
 * counted.
 *
 *   loadgen --url http://10.213.9.2:80/ --rate 500 [options]
 *   loadgen --url http://10.213.9.2:80/ --sweep 100,200,400,800 [options]
 *
 * stdout: one JSON document (settings, then the result, or one result per
 * sweep step and the knee); stderr: progress and errors.  Exit status 0 if
 * the run was made (whatever the server did), 1 on a setup failure (bad
 * options, no connection), 2 on usage errors.
 *
 * Only numeric IPv4 addresses: the tool never asks a resolver, so its
 * traffic goes where it is told and nowhere else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/loadgen/engine.h"
#include "bench/loadgen/net.h"
#include "bench/loadgen/sweep.h"

#define MAX_STEPS 64
#define CONNECT_TIMEOUT_NS 5000000000ull

struct options {
	const char *url;
	char host[256];
	char path[512];
	struct sockaddr_in addr;
	double rates[MAX_STEPS];
	size_t nrates;
	bool sweep;
	bool stop_at_saturation;
	double duration_s, warmup_s, timeout_s, drain_s, pause_s;
	unsigned conns;
	uint64_t seed;
	enum pace_arrivals arrivals;
	const char *label;
};

struct step_result {
	struct lg_config cfg;
	struct lg_counts all, measured;
	struct hist latency, service;
	uint64_t max_queue;
	double scheduled_rps, achieved_rps, mb_per_s;
	uint64_t connect_failures, reconnects, protocol_errors;
	bool ran;
	char error[128];
	/* a sweep step that fell short is run once more (see main) */
	unsigned attempts;
	bool other_ran;
	double other_achieved_rps;
	uint64_t other_p50_ns, other_failed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen --url http://A.B.C.D[:PORT]/PATH (--rate R | --sweep R1,R2,...)\n"
		"  --duration S     measured seconds per run or step (10)\n"
		"  --warmup S       seconds run first and not counted (2)\n"
		"  --connections N  keep-alive connections (16)\n"
		"  --arrivals A     fixed (evenly spaced) or poisson (fixed)\n"
		"  --seed N         seed of the poisson schedule (1)\n"
		"  --timeout S      per request, from its send (2)\n"
		"  --drain S        wait for answers after the last due time (the timeout)\n"
		"  --pause S        between sweep steps (0.5)\n"
		"  --no-stop        sweep on past the first saturated step\n"
		"  --label TEXT     copied into the JSON\n");
}

static int parse_url(struct options *o)
{
	const char *p = o->url, *slash, *colon;
	char ip[64];
	size_t len;
	unsigned long port = 80;

	if (strncmp(p, "http://", 7))
		return -EINVAL;
	p += 7;
	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (!len || len >= sizeof(o->host))
		return -EINVAL;
	memcpy(o->host, p, len);
	o->host[len] = '\0';
	snprintf(o->path, sizeof(o->path), "%s", slash ? slash : "/");
	colon = strchr(o->host, ':');
	len = colon ? (size_t)(colon - o->host) : strlen(o->host);
	if (len >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, o->host, len);
	ip[len] = '\0';
	if (colon) {
		char *end;

		port = strtoul(colon + 1, &end, 10);
		if (*end || !port || port > 65535)
			return -EINVAL;
	}
	memset(&o->addr, 0, sizeof(o->addr));
	o->addr.sin_family = AF_INET;
	o->addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &o->addr.sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static int parse_rates(struct options *o, const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	o->nrates = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		double r = strtod(tok, &end);

		if (*end || !(r > 0) || !isfinite(r) || o->nrates == MAX_STEPS) {
			err = -EINVAL;
			break;
		}
		o->rates[o->nrates++] = r;
	}
	free(copy);
	return err ? err : (o->nrates ? 0 : -EINVAL);
}

static int positive(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || !(v >= 0) || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "rate", required_argument, NULL, 'r' },
		{ "sweep", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "connections", required_argument, NULL, 'c' },
		{ "arrivals", required_argument, NULL, 'a' },
		{ "seed", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "drain", required_argument, NULL, 'D' },
		{ "pause", required_argument, NULL, 'p' },
		{ "no-stop", no_argument, NULL, 'n' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch, bad = 0;
	bool have_rate = false;

	*o = (struct options){ .duration_s = 10, .warmup_s = 2, .timeout_s = 2, .drain_s = -1,
			       .pause_s = 0.5, .conns = 16, .seed = 1, .arrivals = PACE_FIXED,
			       .stop_at_saturation = true, .label = "" };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *end;

		switch (ch) {
		case 'u': o->url = optarg; break;
		case 'r':
		case 's':
			if (have_rate || parse_rates(o, optarg) < 0 || (ch == 'r' && o->nrates != 1))
				bad = 1;
			have_rate = true;
			o->sweep = ch == 's';
			break;
		case 'd': bad |= positive(optarg, &o->duration_s) < 0 || o->duration_s <= 0; break;
		case 'w': bad |= positive(optarg, &o->warmup_s) < 0; break;
		case 't': bad |= positive(optarg, &o->timeout_s) < 0 || o->timeout_s <= 0; break;
		case 'D': bad |= positive(optarg, &o->drain_s) < 0; break;
		case 'p': bad |= positive(optarg, &o->pause_s) < 0; break;
		case 'c':
			o->conns = (unsigned)strtoul(optarg, &end, 10);
			bad |= *end || !o->conns || o->conns > 10000;
			break;
		case 'S':
			o->seed = strtoull(optarg, &end, 0);
			bad |= *end != '\0';
			break;
		case 'a':
			if (!strcmp(optarg, "fixed"))
				o->arrivals = PACE_FIXED;
			else if (!strcmp(optarg, "poisson"))
				o->arrivals = PACE_POISSON;
			else
				bad = 1;
			break;
		case 'n': o->stop_at_saturation = false; break;
		case 'l': o->label = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: bad = 1;
		}
	}
	if (bad || optind != argc || !o->url || !have_rate)
		return -EINVAL;
	if (o->drain_s < 0)
		o->drain_s = o->timeout_s;
	return parse_url(o);
}

static uint64_t ns_of(double s)
{
	return (uint64_t)llround(s * 1e9);
}

static int run_step(const struct options *o, double rate, struct step_result *r)
{
	struct lg_engine e;
	struct lg_net n;
	uint64_t now;
	int err;

	memset(r, 0, sizeof(*r));
	r->cfg = (struct lg_config){
		.rate = rate, .arrivals = o->arrivals, .seed = o->seed, .conns = o->conns,
		.warmup_ns = ns_of(o->warmup_s), .duration_ns = ns_of(o->duration_s),
		.timeout_ns = ns_of(o->timeout_s), .drain_ns = ns_of(o->drain_s),
	};
	err = lg_net_init(&n, &o->addr, o->host, o->path, o->conns);
	if (err) {
		snprintf(r->error, sizeof(r->error), "setup: %s", strerror(-err));
		return err;
	}
	err = lg_engine_init(&e, &r->cfg, &lg_net_transport, &n);
	if (err) {
		snprintf(r->error, sizeof(r->error), "engine: %s", strerror(-err));
		lg_net_close(&n);
		return err;
	}
	lg_net_attach(&n, &e);
	err = lg_net_connect_all(&n, CONNECT_TIMEOUT_NS);
	if (err) {
		snprintf(r->error, sizeof(r->error), "could not open %u connections to %.80s",
			 o->conns, o->host);
		goto out;
	}
	now = lg_now_ns();
	lg_engine_start(&e, now);
	while (!lg_engine_done(&e, now)) {
		uint64_t d;

		lg_engine_tick(&e, now);
		d = lg_engine_deadline(&e);
		if (d > now + 100000000ull)
			d = now + 100000000ull;
		lg_net_poll(&n, d);
		now = lg_now_ns();
	}
	r->ran = true;
	r->all = e.all;
	r->measured = e.measured;
	r->max_queue = e.max_queue;
	r->scheduled_rps = (double)e.measured.scheduled / o->duration_s;
	r->achieved_rps = (double)e.window_completed / o->duration_s;
	r->mb_per_s = (double)e.window_bytes / o->duration_s / 1e6;
	r->connect_failures = n.connect_failures;
	r->reconnects = n.reconnects;
	r->protocol_errors = n.protocol_errors;
	/* the histograms move into the result */
	r->latency = e.latency;
	r->service = e.service;
	e.latency.counts = NULL;
	e.service.counts = NULL;
out:
	lg_engine_free(&e);
	lg_net_close(&n);
	return err;
}

/* ---- JSON ---- */

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void json_hist(const char *name, const struct hist *h, bool cdf, const char *indent)
{
	printf("%s\"%s\": {\"count\": %llu, \"min\": %.1f, \"mean\": %.1f, \"p50\": %.1f, "
	       "\"p90\": %.1f, \"p99\": %.1f, \"p99_9\": %.1f, \"max\": %.1f",
	       indent, name, (unsigned long long)h->total, us(h->total ? h->min : 0),
	       hist_mean(h) / 1000.0, us(hist_value_at(h, 50)), us(hist_value_at(h, 90)),
	       us(hist_value_at(h, 99)), us(hist_value_at(h, 99.9)), us(h->max));
	if (cdf) {
		/* percentiles spaced evenly in "nines": 0, 20.6, 36.9 ... 99.99 */
		printf(",\n%s  \"cdf\": [", indent);
		for (int i = 0; i <= 40; i++) {
			double p = 100.0 * (1.0 - pow(10.0, -i / 10.0));

			printf("%s[%.4f, %.1f]", i ? ", " : "", p, us(hist_value_at(h, p)));
		}
		printf(", [100, %.1f]]", us(h->max));
	}
	printf("}");
}

static void json_counts(const char *name, const struct lg_counts *c, const char *indent)
{
	printf("%s\"%s\": {\"scheduled\": %llu, \"sent\": %llu, \"completed\": %llu, "
	       "\"errors\": %llu, \"timeouts\": %llu, \"unsent\": %llu, \"bytes\": %llu}",
	       indent, name, (unsigned long long)c->scheduled, (unsigned long long)c->sent,
	       (unsigned long long)c->completed, (unsigned long long)c->errors,
	       (unsigned long long)c->timeouts, (unsigned long long)c->unsent,
	       (unsigned long long)c->bytes);
}

static void json_result(const struct step_result *r, const char *indent)
{
	char in2[32];

	snprintf(in2, sizeof(in2), "%s  ", indent);
	printf("{\n%s\"offered_rps\": %.1f,\n", in2, r->cfg.rate);
	if (!r->ran) {
		printf("%s\"ran\": false,\n%s\"error\": ", in2, in2);
		json_string(r->error);
		printf("\n%s}", indent);
		return;
	}
	printf("%s\"attempts\": %u,\n", in2, r->attempts ? r->attempts : 1);
	if (r->attempts > 1)
		printf("%s\"other_attempt\": {\"ran\": %s, \"achieved_rps\": %.1f, "
		       "\"p50_us\": %.1f, \"failed\": %llu},\n", in2,
		       r->other_ran ? "true" : "false", r->other_achieved_rps, us(r->other_p50_ns),
		       (unsigned long long)r->other_failed);
	printf("%s\"ran\": true,\n%s\"scheduled_rps\": %.1f,\n%s\"achieved_rps\": %.1f,\n"
	       "%s\"mb_per_s\": %.3f,\n", in2, in2, r->scheduled_rps, in2, r->achieved_rps, in2,
	       r->mb_per_s);
	printf("%s\"errors\": %llu,\n%s\"timeouts\": %llu,\n", in2,
	       (unsigned long long)r->measured.errors, in2,
	       (unsigned long long)r->measured.timeouts);
	json_hist("latency_us", &r->latency, true, in2);
	printf(",\n");
	json_hist("service_us", &r->service, false, in2);
	printf(",\n");
	json_counts("measured", &r->measured, in2);
	printf(",\n");
	json_counts("all", &r->all, in2);
	printf(",\n%s\"max_queued\": %llu,\n%s\"connect_failures\": %llu,\n"
	       "%s\"reconnects\": %llu,\n%s\"protocol_errors\": %llu,\n%s\"saturated_samples\": %llu\n%s}",
	       in2, (unsigned long long)r->max_queue, in2,
	       (unsigned long long)r->connect_failures, in2, (unsigned long long)r->reconnects,
	       in2, (unsigned long long)r->protocol_errors, in2,
	       (unsigned long long)r->latency.saturated, indent);
}

static void json_settings(const struct options *o)
{
	printf("  \"settings\": {\n    \"url\": ");
	json_string(o->url);
	printf(",\n    \"label\": ");
	json_string(o->label);
	printf(",\n    \"connections\": %u,\n    \"duration_s\": %g,\n    \"warmup_s\": %g,\n"
	       "    \"timeout_s\": %g,\n    \"drain_s\": %g,\n    \"arrivals\": \"%s\",\n"
	       "    \"seed\": %llu,\n", o->conns, o->duration_s, o->warmup_s, o->timeout_s,
	       o->drain_s, pace_arrivals_name(o->arrivals), (unsigned long long)o->seed);
	if (o->sweep)
		printf("    \"pause_s\": %g,\n    \"stop_at_saturation\": %s,\n", o->pause_s,
		       o->stop_at_saturation ? "true" : "false");
	printf("    \"rates\": [");
	for (size_t i = 0; i < o->nrates; i++)
		printf("%s%g", i ? ", " : "", o->rates[i]);
	printf("],\n    \"latency_from\": \"scheduled send time\",\n"
	       "    \"histogram\": \"log-linear, 1 ns to 2^40 ns, 0.79%% resolution; "
	       "percentiles are bucket upper bounds\",\n"
	       "    \"http\": \"HTTP/1.1 GET, keep-alive, one request in flight per connection\"\n"
	       "  }");
}

static void progress(const struct step_result *r)
{
	if (!r->ran) {
		fprintf(stderr, "loadgen: %.0f/s: not run: %s\n", r->cfg.rate, r->error);
		return;
	}
	fprintf(stderr, "loadgen: %.0f/s offered (%.0f/s scheduled): %.0f/s achieved, p50 %.2f ms, "
		"p99 %.2f ms, max %.2f ms, %llu errors, %llu timeouts\n", r->cfg.rate,
		r->scheduled_rps, r->achieved_rps,
		us(hist_value_at(&r->latency, 50)) / 1000, us(hist_value_at(&r->latency, 99)) / 1000,
		us(r->latency.max) / 1000, (unsigned long long)r->measured.errors,
		(unsigned long long)r->measured.timeouts);
}

static struct lg_step step_summary(const struct step_result *r)
{
	return (struct lg_step){
		.offered = r->cfg.rate, .scheduled = r->scheduled_rps, .achieved = r->achieved_rps,
		.p50_ns = hist_value_at(&r->latency, 50), .requests = r->measured.scheduled,
		.failed = r->measured.errors + r->measured.timeouts,
	};
}

int main(int argc, char **argv)
{
	static struct step_result res[MAX_STEPS];
	struct lg_step steps[MAX_STEPS];
	struct options o;
	size_t done = 0;
	int status = 0;

	if (parse_options(&o, argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < o.nrates; i++) {
		struct timespec pause = { (time_t)o.pause_s,
					  (long)((o.pause_s - floor(o.pause_s)) * 1e9) };

		if (i)
			nanosleep(&pause, NULL);
		fprintf(stderr, "loadgen: %s at %.0f/s for %g s (+%g s warm-up), %u connections\n",
			o.url, o.rates[i], o.duration_s, o.warmup_s, o.conns);
		if (run_step(&o, o.rates[i], &res[i]) < 0 && i == 0)
			status = 1;
		progress(&res[i]);
		steps[i] = step_summary(&res[i]);
		done = i + 1;
		if (!res[i].ran)
			break;
		/* one bad step (the host descheduled a vCPU, say) must not end the
		 * knee's run or the sweep: a step that does not keep up (the
		 * first one too: it can fall short of its rate) is run once
		 * more, and the better attempt counts (the other attempt's
		 * figures stay in the JSON) */
		if (o.sweep && !lg_step_keeps_up(&steps[i], steps[0].p50_ns)) {
			static struct step_result again;
			struct step_result *keep = &res[i], *drop = &again;
			struct lg_step s2;

			fprintf(stderr, "loadgen: %.0f/s fell short: once more\n", o.rates[i]);
			nanosleep(&pause, NULL);
			run_step(&o, o.rates[i], &again);
			progress(&again);
			s2 = step_summary(&again);
			if (again.ran && lg_second_better(&steps[i], &s2, steps[0].p50_ns)) {
				keep = &again;
				drop = &res[i];
			}
			keep->attempts = 2;
			keep->other_ran = drop->ran;
			keep->other_achieved_rps = drop->achieved_rps;
			keep->other_p50_ns = drop->ran ? hist_value_at(&drop->latency, 50) : 0;
			keep->other_failed = drop->measured.errors + drop->measured.timeouts;
			if (drop->ran) {
				hist_free(&drop->latency);
				hist_free(&drop->service);
			}
			if (keep == &again)
				res[i] = again;
			steps[i] = step_summary(&res[i]);
		}
		if (o.sweep && o.stop_at_saturation && lg_step_saturated(&steps[i])) {
			if (i + 1 < o.nrates)
				fprintf(stderr, "loadgen: saturated; heavier steps skipped\n");
			break;
		}
	}
	printf("{\n  \"tool\": \"loadgen\",\n  \"mode\": \"%s\",\n", o.sweep ? "sweep" : "single");
	json_settings(&o);
	if (!o.sweep) {
		printf(",\n  \"result\": ");
		json_result(&res[0], "  ");
	} else {
		int knee = lg_knee(steps, done);

		printf(",\n  \"steps\": [");
		for (size_t i = 0; i < done; i++) {
			printf("%s\n    ", i ? "," : "");
			json_result(&res[i], "    ");
		}
		printf("\n  ],\n  \"knee\": {\n    \"rule\": \"highest step from the first on that "
		       "achieves >= %g of its scheduled rate with no errors or timeouts and p50 <= "
		       "%g x the first step's p50\",\n", LG_KEEP_UP, LG_KNEE_P50_FACTOR);
		if (knee >= 0)
			printf("    \"step\": %d,\n    \"offered_rps\": %.1f,\n    \"achieved_rps\": %.1f,\n"
			       "    \"p50_us\": %.1f,\n    \"p99_us\": %.1f\n  }", knee,
			       steps[knee].offered, steps[knee].achieved, us(steps[knee].p50_ns),
			       us(hist_value_at(&res[knee].latency, 99)));
		else
			printf("    \"step\": null\n  }");
	}
	printf("\n}\n");
	for (size_t i = 0; i < done; i++) {
		hist_free(&res[i].latency);
		hist_free(&res[i].service);
	}
	return status;
}
