/*
 * bench/loadgen http.c (response parser) and sweep.c (the knee).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench/loadgen/http.h"
#include "bench/loadgen/sweep.h"

static const char resp200[] =
	"HTTP/1.1 200 OK\r\nServer: x\r\ncontent-length: 10\r\nConnection: keep-alive\r\n\r\n"
	"0123456789";

/* feed TEXT in pieces of STEP bytes; the bytes consumed when it ended */
static ssize_t feed_in_steps(struct http_resp *r, const char *text, size_t len, size_t step,
			     bool *done)
{
	size_t off = 0;

	http_resp_init(r);
	*done = false;
	while (off < len && !*done) {
		size_t n = len - off < step ? len - off : step;
		ssize_t used = http_resp_feed(r, text + off, n, done);

		if (used < 0)
			return used;
		off += (size_t)used;
	}
	return (ssize_t)off;
}

Test(http, any_split_parses_the_same)
{
	size_t len = strlen(resp200);

	for (size_t step = 1; step <= len; step++) {
		struct http_resp r;
		bool done;

		cr_assert_eq(feed_in_steps(&r, resp200, len, step, &done), (ssize_t)len,
			     "step %zu", step);
		cr_assert(done, "step %zu: not done", step);
		cr_assert_eq(r.status, 200);
		cr_assert_eq(r.bytes, len);
		cr_assert(!r.close);
	}
}

Test(http, stops_at_the_end_of_a_response)
{
	char two[512];
	struct http_resp r;
	bool done;
	ssize_t used;

	snprintf(two, sizeof(two), "%s%s", resp200, resp200);
	http_resp_init(&r);
	used = http_resp_feed(&r, two, strlen(two), &done);
	cr_assert(done);
	cr_assert_eq(used, (ssize_t)strlen(resp200), "consumed %zd", used);
}

Test(http, interim_close_and_errors)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char nolen[] = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
	static const char junk[] = "SSH-2.0-OpenSSH\r\n";
	struct http_resp r;
	bool done;
	char big[HTTP_LINE_MAX + 64];

	cr_assert_eq(feed_in_steps(&r, cont, strlen(cont), 7, &done), (ssize_t)strlen(cont));
	cr_assert(done);
	cr_assert_eq(r.status, 404);
	cr_assert(r.close);
	cr_assert_eq(feed_in_steps(&r, chunked, strlen(chunked), 100, &done), -EPROTO);
	cr_assert_eq(feed_in_steps(&r, nolen, strlen(nolen), 100, &done), -EPROTO);
	cr_assert_eq(feed_in_steps(&r, junk, strlen(junk), 100, &done), -EPROTO);
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	cr_assert_eq(feed_in_steps(&r, big, sizeof(big), 1000, &done), -EPROTO);
}

Test(http, request_text)
{
	char buf[128];

	cr_assert_eq(http_request(buf, sizeof(buf), "10.0.0.2", "/64k"),
		     (int)strlen("GET /64k HTTP/1.1\r\nHost: 10.0.0.2\r\n"
				 "User-Agent: caboose-loadgen\r\n\r\n"));
	cr_assert_str_eq(buf, "GET /64k HTTP/1.1\r\nHost: 10.0.0.2\r\n"
		     "User-Agent: caboose-loadgen\r\n\r\n");
	cr_assert_eq(http_request(buf, 16, "10.0.0.2", "/64k"), -ENOSPC);
}

static struct lg_step step(double offered, double achieved, double p50_ms, uint64_t failed)
{
	return (struct lg_step){ .offered = offered, .scheduled = offered, .achieved = achieved,
				 .p50_ns = (uint64_t)(p50_ms * 1e6), .requests = 10000,
				 .failed = failed };
}

Test(sweep, knee_is_the_last_step_that_keeps_up)
{
	struct lg_step s[] = {
		step(100, 100, 2, 0), step(200, 199, 2.2, 0), step(400, 398, 3, 0),
		step(800, 790, 7.9, 0),         /* p50 3.95x the first: still in */
		step(1600, 1100, 250, 0),       /* throughput and tail give way */
		step(3200, 1150, 900, 0),
	};

	cr_assert_eq(lg_knee(s, 6), 3);
	cr_assert(!lg_step_saturated(&s[3]));
	cr_assert(lg_step_saturated(&s[4]));
}

Test(sweep, knee_rules)
{
	struct lg_step tail[] = { step(100, 100, 2, 0), step(200, 200, 8.1, 0) };
	struct lg_step fail[] = { step(100, 100, 2, 0), step(200, 200, 2, 1) };
	struct lg_step slow[] = { step(100, 100, 2, 0), step(200, 189, 2, 0) };
	struct lg_step none[] = { step(100, 50, 2, 0) };
	/* a step past a failing one does not count even if it looks fine */
	struct lg_step gap[] = { step(100, 100, 2, 0), step(200, 100, 2, 0),
				 step(300, 300, 2, 0) };

	cr_assert_eq(lg_knee(tail, 2), 0, "p50 over 4x the first");
	cr_assert_eq(lg_knee(fail, 2), 0, "a failed request");
	cr_assert_eq(lg_knee(slow, 2), 0, "under 95%% of the offered rate");
	cr_assert_eq(lg_knee(none, 1), -1);
	cr_assert_eq(lg_knee(gap, 3), 0);
	cr_assert(lg_step_saturated(&none[0]));
	/* a Poisson schedule that drew fewer requests than nominal is judged
	 * by what it drew */
	struct lg_step drawn = { .offered = 200, .scheduled = 180, .achieved = 175, .p50_ns = 1,
				 .requests = 1080 };

	cr_assert(lg_step_keeps_up(&drawn, 1));
	drawn.achieved = 170;
	cr_assert(!lg_step_keeps_up(&drawn, 1));
	cr_assert(!lg_step_saturated(&slow[1]), "94.5%% is below the knee rule but not saturated");
}

/* a step that fell short is run once more: the second attempt counts if it
 * keeps up, or if it is not saturated where the first was */
Test(sweep, second_attempt_rules)
{
	uint64_t base = 2000000;        /* the first step's p50: 2 ms */
	struct lg_step transient = step(800, 400, 30, 0);      /* saturated */
	struct lg_step fine = step(800, 795, 2.5, 0);
	struct lg_step short_ = step(800, 750, 2.5, 0);         /* 94%: not a keep-up */
	struct lg_step worse = step(800, 300, 60, 50);
	struct lg_step tail = step(800, 800, 9, 0);             /* p50 4.5x: not a keep-up */

	cr_assert(lg_second_better(&transient, &fine, base), "a transient bad step");
	cr_assert(lg_second_better(&transient, &short_, base), "no longer saturated");
	cr_assert(!lg_second_better(&transient, &worse, base), "still saturated");
	cr_assert(!lg_second_better(&tail, &short_, base), "neither keeps up: the first stays");
	cr_assert(lg_second_better(&tail, &fine, base));
	cr_assert(!lg_second_better(&short_, &tail, base));
}
