/*
 * Unit tests of the iperf3 parameter parser (apps/kernel/iperf_json.c): what
 * Debian's iperf3 3.12 really sends (captured from it), every option this
 * server honours, and hostile input: every prefix of a good message, every
 * single-byte change of it, nesting bombs, long numbers and strings, bad
 * escapes, duplicate keys, embedded NULs, and random bytes. Bad input must
 * give an error number, never a crash (AddressSanitizer watches each read;
 * the buffers are heap copies of exactly their length, so a read one past
 * the end is reported).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apps/kernel/services.h"
#include "netstack/net.h"

/* iperf3 3.12's messages, as captured from `iperf3 -c` */
static const char plain[] = "{\"tcp\":true,\"omit\":0,\"time\":2,\"num\":0,\"blockcount\":0,"
			    "\"parallel\":1,\"len\":131072,\"pacing_timer\":1000,"
			    "\"client_version\":\"3.12\"}";
static const char reverse4[] = "{\"tcp\":true,\"omit\":0,\"time\":2,\"num\":0,\"blockcount\":0,"
			       "\"parallel\":4,\"reverse\":true,\"window\":1048576,\"len\":131072,"
			       "\"bandwidth\":100000000,\"pacing_timer\":1000,\"congestion\":\"cubic\","
			       "\"client_version\":\"3.12\"}";
static const char bytes10g[] = "{\"tcp\":true,\"omit\":1,\"time\":0,\"num\":10737418240,"
			       "\"blockcount\":0,\"parallel\":1,\"len\":65536,\"pacing_timer\":1000,"
			       "\"title\":\"x\\\"y\",\"zerocopy\":1,\"client_version\":\"3.12\"}";
static const char udp[] = "{\"udp\":true,\"omit\":0,\"time\":10,\"num\":0,\"blockcount\":0,"
			  "\"parallel\":1,\"len\":32768,\"bandwidth\":1048576,\"pacing_timer\":1000,"
			  "\"client_version\":\"3.12\"}";
static const char bidir[] = "{\"tcp\":true,\"omit\":0,\"time\":10,\"num\":0,\"blockcount\":0,"
			    "\"parallel\":1,\"bidirectional\":true,\"len\":131072,"
			    "\"pacing_timer\":1000,\"client_version\":\"3.12\"}";

/* Parse a heap copy of exactly n bytes (so ASan sees any over-read). */
static int parse_n(const char *s, size_t n, struct iperf_params *p, const char **why)
{
	char *copy = malloc(n ? n : 1);
	cr_assert_not_null(copy);
	memcpy(copy, s, n);
	int r = iperf_params_parse(copy, (u32)n, p, why);
	free(copy);
	return r;
}

static int parse(const char *s, struct iperf_params *p)
{
	const char *why;
	int r = parse_n(s, strlen(s), p, &why);
	cr_assert_not_null(why);
	cr_assert(r == 0 ? why[0] == 0 : why[0] != 0, "an error has a reason, success none: %d '%s'",
		  r, why);
	return r;
}

static int check_n(const char *s, size_t n)
{
	char *copy = malloc(n ? n : 1);
	cr_assert_not_null(copy);
	memcpy(copy, s, n);
	int r = iperf_json_check_object(copy, (u32)n);
	free(copy);
	return r;
}

Test(iperf_params, plain_test_from_iperf3_3_12)
{
	struct iperf_params p;
	cr_assert_eq(parse(plain, &p), 0);
	cr_assert(p.tcp && !p.udp && !p.reverse && !p.bidir && !p.nodelay);
	cr_assert_eq(p.time_s, 2);
	cr_assert_eq(p.parallel, 1);
	cr_assert_eq(p.blksize, 131072);
	cr_assert_eq(p.bytes, 0);
	cr_assert_eq(p.rate_bps, 0);
	cr_assert_eq(p.cc, 0);
	cr_assert_str_eq(p.client_version, "3.12");
}

Test(iperf_params, reverse_four_streams_window_rate_congestion)
{
	struct iperf_params p;
	cr_assert_eq(parse(reverse4, &p), 0);
	cr_assert(p.reverse);
	cr_assert_eq(p.parallel, 4);
	cr_assert_eq(p.window, 1048576);
	cr_assert_eq(p.rate_bps, 100000000);
	cr_assert_str_eq(p.cc_name, "cubic");
	cr_assert_eq(p.cc, TCP_CC_CUBIC);
}

Test(iperf_params, byte_limit_beyond_32_bits_omit_and_escaped_title)
{
	struct iperf_params p;
	cr_assert_eq(parse(bytes10g, &p), 0);
	cr_assert_eq(p.bytes, 10737418240ull);
	cr_assert_eq(p.time_s, 0);
	cr_assert_eq(p.omit_s, 1);
	cr_assert_eq(p.blksize, 65536);
}

Test(iperf_params, defaults_when_keys_are_absent)
{
	struct iperf_params p;
	cr_assert_eq(parse("{}", &p), 0);
	cr_assert(p.tcp);
	cr_assert_eq(p.time_s, 10);
	cr_assert_eq(p.parallel, 1);
	cr_assert_eq(p.blksize, 128 * 1024);
	cr_assert_eq(parse(" \t\r\n{ \"nodelay\" : true , \"congestion\":\"reno\" } \n", &p), 0);
	cr_assert(p.nodelay);
	cr_assert_eq(p.cc, TCP_CC_NEWRENO);
	cr_assert_eq(parse("{\"congestion\":\"bbr\"}", &p), 0);
	cr_assert_eq(p.cc, 0, "an unknown algorithm is left to the default, as iperf3 does");
}

Test(iperf_params, unknown_keys_of_any_kind_are_skipped)
{
	struct iperf_params p;
	cr_assert_eq(parse("{\"future\":{\"a\":[1,-2.5e-3,\"x\",null,false,{}],\"b\":[]},"
			   "\"x\":\"\\u00e9\\n\",\"time\":3,\"extra_data\":\"\",\"authtoken\":\"abc\"}", &p), 0);
	cr_assert_eq(p.time_s, 3);
}

Test(iperf_params, escaped_keys_are_keys)
{
	struct iperf_params p;
	cr_assert_eq(parse("{\"\\u0074ime\":7,\"rev\\u0065rse\":true}", &p), 0);
	cr_assert_eq(p.time_s, 7);
	cr_assert(p.reverse);
	/* \u0000 does not end a key early: "time\u0000x" is not "time" */
	cr_assert_eq(parse("{\"time\\u0000x\":7}", &p), 0);
	cr_assert_eq(p.time_s, 10);
}

Test(iperf_params, numbers_in_other_spellings)
{
	struct iperf_params p;
	cr_assert_eq(parse("{\"time\":2.0,\"num\":1e+3,\"len\":1.5e3,\"omit\":-0}", &p), 0);
	cr_assert_eq(p.time_s, 2);
	cr_assert_eq(p.bytes, 1000);
	cr_assert_eq(p.blksize, 1500);
	cr_assert_eq(p.omit_s, 0);
	cr_assert_eq(parse("{\"num\":18446744073709551615}", &p), 0);
	cr_assert_eq(p.bytes, UINT64_MAX);
	/* the digits themselves must fit in 64 bits, whatever the exponent */
	cr_assert_eq(parse("{\"num\":1844674407370955161500e-2}", &p), IPERF_IE_RECVPARAMS);
}

Test(iperf_params, tests_this_server_does_not_run)
{
	struct iperf_params p;
	cr_assert_eq(parse(udp, &p), IPERF_IE_UNIMP);
	cr_assert_eq(parse(bidir, &p), IPERF_IE_UNIMP);
	cr_assert_eq(parse("{\"sctp\":true}", &p), IPERF_IE_UNIMP);
	cr_assert_eq(parse("{\"parallel\":9}", &p), IPERF_IE_NUMSTREAMS);
	cr_assert_eq(parse("{\"parallel\":8}", &p), 0);
	cr_assert_eq(parse("{\"parallel\":0}", &p), IPERF_IE_NUMSTREAMS);
	cr_assert_eq(parse("{\"parallel\":129}", &p), IPERF_IE_NUMSTREAMS);
}

Test(iperf_params, values_out_of_range)
{
	struct iperf_params p;
	cr_assert_eq(parse("{\"time\":86401}", &p), IPERF_IE_DURATION);
	cr_assert_eq(parse("{\"time\":86400}", &p), 0);
	cr_assert_eq(parse("{\"time\":-1}", &p), IPERF_IE_DURATION);
	cr_assert_eq(parse("{\"time\":2.5}", &p), IPERF_IE_DURATION);
	cr_assert_eq(parse("{\"time\":1e-1}", &p), IPERF_IE_DURATION);
	cr_assert_eq(parse("{\"time\":1e9999999}", &p), IPERF_IE_RECVPARAMS, "exponent too long");
	cr_assert_eq(parse("{\"time\":1e999999}", &p), IPERF_IE_DURATION);
	cr_assert_eq(parse("{\"time\":1e-999999}", &p), IPERF_IE_DURATION);
	cr_assert_eq(parse("{\"omit\":601}", &p), IPERF_IE_OMIT);
	cr_assert_eq(parse("{\"len\":0}", &p), IPERF_IE_BLOCKSIZE);
	cr_assert_eq(parse("{\"len\":1048577}", &p), IPERF_IE_BLOCKSIZE);
	cr_assert_eq(parse("{\"window\":536870913}", &p), IPERF_IE_BUFSIZE);
	cr_assert_eq(parse("{\"MSS\":32768}", &p), IPERF_IE_MSS);
	cr_assert_eq(parse("{\"TOS\":256}", &p), IPERF_IE_BADTOS);
	cr_assert_eq(parse("{\"burst\":0}", &p), IPERF_IE_BURST);
	cr_assert_eq(parse("{\"num\":18446744073709551616}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"num\":-5}", &p), IPERF_IE_RECVPARAMS);
}

Test(iperf_params, wrong_types_for_known_keys)
{
	struct iperf_params p;
	cr_assert_eq(parse("{\"reverse\":1}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"reverse\":\"true\"}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"reverse\":null}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"reverse\":tru}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"time\":\"2\"}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"time\":true}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"parallel\":{\"x\":1}}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"congestion\":5}", &p), IPERF_IE_RECVPARAMS);
}

Test(iperf_params, a_key_given_twice_is_refused)
{
	struct iperf_params p;
	cr_assert_eq(parse("{\"time\":2,\"time\":3}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"reverse\":false,\"reverse\":true}", &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(parse("{\"x\":1,\"x\":2}", &p), 0, "unknown keys are not tracked");
}

Test(iperf_params, malformed_json)
{
	static const char *bad[] = {
		"", " ", "null", "[]", "\"x\"", "1", "{", "}", "{\"time\"}", "{\"time\":}",
		"{\"time\":2,}", "{,}", "{\"time\":2 \"omit\":1}", "{time:2}", "{'time':2}",
		"{\"time\":02}", "{\"time\":2.}", "{\"time\":.5}", "{\"time\":2e}", "{\"time\":+2}",
		"{\"time\":0x10}", "{\"time\":2}x", "{\"time\":2}{}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12\"}", "{\"a\":\"\\u12G4\"}", "{\"a\":\"tab\there\"}", "{\"a\":\"open}",
		"{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":{\"b\"}}", "{\"a\":nul}", "{\"a\":True}",
		"{\"a\":-}", "{\"a\":--1}", "{\"time\":2",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct iperf_params p;
		cr_assert_eq(parse(bad[i], &p), IPERF_IE_RECVPARAMS, "accepted: %s", bad[i]);
		cr_assert_eq(check_n(bad[i], strlen(bad[i])), -EINVAL, "check_object on %s", bad[i]);
	}
}

Test(iperf_params, embedded_nul_bytes)
{
	struct iperf_params p;
	const char *why;
	static const char s[] = "{\"time\":2}\0{\"time\":3}";
	cr_assert_eq(parse_n(s, sizeof(s) - 1, &p, &why), IPERF_IE_RECVPARAMS);
	static const char k[] = "{\"ti\0me\":2}";
	cr_assert_eq(parse_n(k, sizeof(k) - 1, &p, &why), IPERF_IE_RECVPARAMS);
}

Test(iperf_params, nesting_is_limited)
{
	char buf[4096];
	struct iperf_params p;
	/* within the limit: {"x": [[[...1...]]] } with depth IPERF_JSON_MAX_DEPTH */
	for (int depth = 1; depth <= 3000; depth = depth < 16 ? depth + 1 : depth * 3) {
		size_t n = 0;
		n += (size_t)sprintf(buf + n, "{\"x\":");
		for (int i = 0; i < depth && n < sizeof(buf) - 64; i++)
			buf[n++] = '[';
		buf[n++] = '1';
		for (int i = 0; i < depth && n < sizeof(buf) - 8; i++)
			buf[n++] = ']';
		buf[n++] = '}';
		buf[n] = 0;
		int r = parse(buf, &p);
		/* the object is level 0, the value of "x" opens level 1 */
		cr_assert_eq(r != 0, depth > IPERF_JSON_MAX_DEPTH - 1, "depth %d gave %d", depth, r);
	}
	/* an unclosed bomb */
	memset(buf, '[', sizeof(buf));
	memcpy(buf, "{\"x\":", 5);
	const char *why;
	cr_assert_eq(parse_n(buf, sizeof(buf), &p, &why), IPERF_IE_RECVPARAMS);
	cr_assert_eq(check_n(buf, sizeof(buf)), -EINVAL);
}

Test(iperf_params, long_numbers_and_strings)
{
	char buf[8300];
	struct iperf_params p;
	/* 40 digits: taken (not exact, so out of range); 41: malformed */
	strcpy(buf, "{\"num\":");
	memset(buf + 7, '1', IPERF_JSON_MAX_DIGITS);
	strcpy(buf + 7 + IPERF_JSON_MAX_DIGITS, "}");
	cr_assert_eq(parse(buf, &p), IPERF_IE_RECVPARAMS);
	cr_assert_eq(check_n(buf, strlen(buf)), 0);
	memset(buf + 7, '0', 1);
	cr_assert_eq(check_n(buf, strlen(buf)), -EINVAL, "a leading zero then digits");
	memset(buf + 7, '1', IPERF_JSON_MAX_DIGITS + 1);
	strcpy(buf + 8 + IPERF_JSON_MAX_DIGITS, "}");
	cr_assert_eq(check_n(buf, strlen(buf)), -EINVAL);
	/* a client_version of 8 KiB is cut to 15 characters */
	strcpy(buf, "{\"client_version\":\"");
	size_t n = strlen(buf);
	memset(buf + n, 'v', 8192);
	strcpy(buf + n + 8192, "\"}");
	cr_assert_eq(parse(buf, &p), 0);
	cr_assert_eq(strlen(p.client_version), sizeof(p.client_version) - 1);
	/* so is a congestion name, which then matches nothing */
	strcpy(buf, "{\"congestion\":\"cubiccubiccubiccubic\"}");
	cr_assert_eq(parse(buf, &p), 0);
	cr_assert_eq(p.cc, 0);
	/* a long key matches no key */
	cr_assert_eq(parse("{\"timetimetimetimetimetimetimetime\":true}", &p), 0);
}

/* Every prefix of a good message is refused; the whole message is not. */
Test(iperf_params, every_prefix_of_a_good_message)
{
	const char *msgs[] = { plain, reverse4, bytes10g };
	for (size_t m = 0; m < ARRAY_SIZE(msgs); m++) {
		size_t len = strlen(msgs[m]);
		for (size_t n = 0; n < len; n++) {
			struct iperf_params p;
			const char *why;
			cr_assert_neq(parse_n(msgs[m], n, &p, &why), 0, "prefix %zu of %zu", n, len);
			cr_assert_eq(check_n(msgs[m], n), -EINVAL);
		}
		cr_assert_eq(check_n(msgs[m], len), 0);
	}
}

/* Every single-byte change of a good message: no crash, and a result that
 * is either an error or a parse whose values stay in their ranges. */
Test(iperf_params, every_byte_changed)
{
	size_t len = strlen(reverse4);
	char *buf = malloc(len);
	static const char subst[] = { 0, '"', '{', '}', '[', ']', ':', ',', '\\', '-', '9', 'e',
				      'x', ' ', (char)0xff };
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(subst); k++) {
			memcpy(buf, reverse4, len);
			buf[i] = subst[k];
			struct iperf_params p;
			const char *why;
			int r = iperf_params_parse(buf, (u32)len, &p, &why);
			if (r == 0) {
				cr_assert(p.parallel >= 1 && p.parallel <= IPERF_MAX_STREAMS);
				cr_assert(p.time_s <= 86400 && p.blksize >= 1 && p.blksize <= 1u << 20);
				cr_assert(!p.udp && !p.bidir && !p.sctp);
			}
			(void)iperf_json_check_object(buf, (u32)len);
		}
	}
	free(buf);
}

/* Random bytes, and random JSON-ish token soup, with a fixed seed. */
Test(iperf_params, random_input)
{
	static const char *tok[] = { "{", "}", "[", "]", ":", ",", "\"time\"", "\"parallel\"",
				     "\"reverse\"", "true", "false", "null", "1", "-1", "1e9",
				     "0.5", "\"s\"", "\"\\u0041\"", "\\", " ", "\"", "99999999999" };
	unsigned seed = 12345;
	char buf[512];
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		seed = seed * 1103515245u + 12345u;
		bool soup = seed & 0x10000;
		if (soup) {
			buf[n++] = '{';
			while (n < sizeof(buf) - 16) {
				seed = seed * 1103515245u + 12345u;
				if ((seed >> 16) % 40 == 0)
					break;
				const char *t = tok[(seed >> 16) % ARRAY_SIZE(tok)];
				size_t tl = strlen(t);
				memcpy(buf + n, t, tl);
				n += tl;
			}
		} else {
			seed = seed * 1103515245u + 12345u;
			n = (seed >> 16) % sizeof(buf);
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				buf[i] = (char)(seed >> 16);
			}
		}
		struct iperf_params p;
		const char *why;
		int r = parse_n(buf, n, &p, &why);
		cr_assert(r == 0 || r > 0);
		(void)check_n(buf, n);
	}
}

Test(iperf_json, results_objects)
{
	static const char results[] =
		"{\"cpu_util_total\":2.3386735534667969,\"cpu_util_user\":0.1,"
		"\"cpu_util_system\":2.2e-05,\"sender_has_retransmits\":1,"
		"\"congestion_used\":\"cubic\",\"streams\":[{\"id\":1,\"bytes\":52953088,"
		"\"retransmits\":0,\"jitter\":0,\"errors\":0,\"omitted_errors\":0,\"packets\":0,"
		"\"omitted_packets\":0,\"start_time\":0,\"end_time\":2.000213}]}";
	cr_assert_eq(check_n(results, strlen(results)), 0);
	cr_assert_eq(check_n("{}", 2), 0);
	cr_assert_eq(check_n("[]", 2), -EINVAL);
	cr_assert_eq(check_n("{} {}", 5), -EINVAL);
	cr_assert_eq(iperf_json_check_object(NULL, 0), -EINVAL);
}
