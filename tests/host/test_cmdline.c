/*
 * kernel/lib/cmdline.c: splitting the loader's command line into key=value
 * words. The struct cmdline lives in its own heap block in each test, so
 * AddressSanitizer sees any write past its end.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/cmdline.h"

static struct cmdline *current;

/* One per test, freed by the suite's fini even when an assertion fails. */
static struct cmdline *new_cmdline(void)
{
	current = malloc(sizeof(*current));
	cr_assert_not_null(current);
	memset(current, 0x5a, sizeof(*current));   /* parsing must not rely on a clean struct */
	return current;
}

static void free_cmdline(void)
{
	free(current);
	current = NULL;
}

TestSuite(cmdline, .fini = free_cmdline);

/* Every key and value points into c->buf and ends inside it. */
static void assert_inside(const struct cmdline *c)
{
	for (int i = 0; i < c->nargs; i++) {
		const char *kv[2] = { c->arg[i].key, c->arg[i].val };
		for (int j = 0; j < 2; j++) {
			if (j == 1 && kv[j][0] == '\0' && !(kv[j] >= c->buf &&
							    kv[j] < c->buf + CMDLINE_MAX))
				continue;   /* the "" of a bare key may be a literal */
			cr_assert(kv[j] >= c->buf && kv[j] < c->buf + CMDLINE_MAX,
				  "arg %d %s outside buf", i, j ? "value" : "key");
			size_t room = (size_t)(c->buf + CMDLINE_MAX - kv[j]);
			cr_assert_lt(strnlen(kv[j], room), room, "arg %d %s not terminated in buf", i,
				     j ? "value" : "key");
		}
	}
	cr_assert_lt(strnlen(c->image, sizeof(c->image)), sizeof(c->image));
}

#define ASSERT_ARG(c, i, k, v)                                                         \
	do {                                                                           \
		cr_assert_gt((c)->nargs, (i));                                         \
		cr_assert_str_eq((c)->arg[i].key, (k), "arg %d key", (i));             \
		cr_assert_str_eq((c)->arg[i].val, (v), "arg %d value of %s", (i), (k)); \
	} while (0)

Test(cmdline, image_name_skipped)
{
	struct cmdline *c = new_cmdline();
	cr_assert_eq(cmdline_parse(c, "/boot/caboose.elf console=ttyS0 smp=2 quiet", true), 0);
	cr_assert_str_eq(c->image, "/boot/caboose.elf");
	cr_assert_eq(c->nargs, 3);
	cr_assert_not(c->truncated);
	ASSERT_ARG(c, 0, "console", "ttyS0");
	ASSERT_ARG(c, 1, "smp", "2");
	ASSERT_ARG(c, 2, "quiet", "");
	assert_inside(c);

	/* an iPXE URI as the image name, leading blanks */
	cr_assert_eq(cmdline_parse(c, "  \thttp://10.0.2.2/caboose.elf ip=dhcp", true), 0);
	cr_assert_str_eq(c->image, "http://10.0.2.2/caboose.elf");
	cr_assert_eq(c->nargs, 1);
	ASSERT_ARG(c, 0, "ip", "dhcp");

	/* only an image */
	cr_assert_eq(cmdline_parse(c, "kernel", true), 0);
	cr_assert_str_eq(c->image, "kernel");
	cr_assert_eq(c->nargs, 0);
}

Test(cmdline, without_image)
{
	struct cmdline *c = new_cmdline();
	cr_assert_eq(cmdline_parse(c, "a=1 b", false), 0);
	cr_assert_str_eq(c->image, "");
	cr_assert_eq(c->nargs, 2);
	ASSERT_ARG(c, 0, "a", "1");
	ASSERT_ARG(c, 1, "b", "");
}

Test(cmdline, empty_and_blank)
{
	struct cmdline *c = new_cmdline();
	const char *inputs[] = { "", " ", " \t\r\n ", };
	for (size_t i = 0; i < 3; i++) {
		for (int skip = 0; skip < 2; skip++) {
			cr_assert_eq(cmdline_parse(c, inputs[i], skip), 0);
			cr_assert_eq(c->nargs, 0);
			cr_assert_str_eq(c->image, "");
			cr_assert_not(c->truncated);
		}
	}
}

Test(cmdline, whitespace_and_equals)
{
	struct cmdline *c = new_cmdline();
	cr_assert_eq(cmdline_parse(c, "img \t a=1\n\nb=x=y  c=  =v d\r\n", true), 0);
	cr_assert_eq(c->nargs, 5);
	ASSERT_ARG(c, 0, "a", "1");
	ASSERT_ARG(c, 1, "b", "x=y");     /* the first '=' splits */
	ASSERT_ARG(c, 2, "c", "");
	ASSERT_ARG(c, 3, "", "v");
	ASSERT_ARG(c, 4, "d", "");
	assert_inside(c);
}

Test(cmdline, quoted_values)
{
	struct cmdline *c = new_cmdline();
	cr_assert_eq(cmdline_parse(c, "img msg=\"hello  world\" x=1 path=\"/a b/c\"d e=\"\"", true),
		     0);
	cr_assert_eq(c->nargs, 4);
	ASSERT_ARG(c, 0, "msg", "hello  world");
	ASSERT_ARG(c, 1, "x", "1");
	ASSERT_ARG(c, 2, "path", "/a b/cd");
	ASSERT_ARG(c, 3, "e", "");
	/* '=' inside quotes belongs to the key; an unterminated quote runs to
	 * the end */
	cr_assert_eq(cmdline_parse(c, "\"k=v w\"=z t=\"open ended", false), 0);
	cr_assert_eq(c->nargs, 2);
	ASSERT_ARG(c, 0, "k=v w", "z");
	ASSERT_ARG(c, 1, "t", "open ended");
	assert_inside(c);
}

Test(cmdline, get_last_occurrence_wins)
{
	struct cmdline *c = new_cmdline();
	cr_assert_eq(cmdline_parse(c, "img loglevel=3 smp=4 loglevel=7 quiet smp", true), 0);
	cr_assert_str_eq(cmdline_get(c, "loglevel"), "7");
	cr_assert_str_eq(cmdline_get(c, "smp"), "");          /* the bare key came last */
	cr_assert_str_eq(cmdline_get(c, "quiet"), "");
	cr_assert_null(cmdline_get(c, "absent"));
	cr_assert_null(cmdline_get(c, "log"));                /* no prefix matches */
	cr_assert_null(cmdline_get(c, "loglevel=7"));
	cr_assert_null(cmdline_get(c, "img"));                /* the image is not an arg */
}

Test(cmdline, copies_the_input)
{
	struct cmdline *c = new_cmdline();
	char raw[] = "img console=ttyS0 mode=fast";
	cr_assert_eq(cmdline_parse(c, raw, true), 0);
	memset(raw, 'Z', sizeof(raw) - 1);   /* the loader reuses its memory */
	cr_assert_str_eq(c->image, "img");
	cr_assert_str_eq(cmdline_get(c, "console"), "ttyS0");
	cr_assert_str_eq(cmdline_get(c, "mode"), "fast");
}

Test(cmdline, long_image_name_is_cut_safely)
{
	struct cmdline *c = new_cmdline();
	char raw[400];
	memset(raw, 'i', 300);
	strcpy(raw + 300, " a=1");
	cr_assert_eq(cmdline_parse(c, raw, true), 0);
	cr_assert_eq(strlen(c->image), sizeof(c->image) - 1);
	cr_assert_eq(c->nargs, 1);
	ASSERT_ARG(c, 0, "a", "1");
}

Test(cmdline, too_many_words)
{
	struct cmdline *c = new_cmdline();
	char raw[CMDLINE_MAX];
	/* exactly CMDLINE_MAX_ARGS words: fine */
	int n = sprintf(raw, "img");
	for (int i = 0; i < CMDLINE_MAX_ARGS; i++)
		n += sprintf(raw + n, " k%d=%d", i, i);
	cr_assert_lt(n, CMDLINE_MAX);
	cr_assert_eq(cmdline_parse(c, raw, true), 0);
	cr_assert_eq(c->nargs, CMDLINE_MAX_ARGS);
	cr_assert_not(c->truncated);

	/* one more: -E2BIG, the first CMDLINE_MAX_ARGS are kept */
	n += sprintf(raw + n, " extra=1 more");
	cr_assert_lt(n, CMDLINE_MAX);
	cr_assert_eq(cmdline_parse(c, raw, true), -E2BIG);
	cr_assert(c->truncated);
	cr_assert_eq(c->nargs, CMDLINE_MAX_ARGS);
	for (int i = 0; i < CMDLINE_MAX_ARGS; i++) {
		char k[16], v[16];
		sprintf(k, "k%d", i);
		sprintf(v, "%d", i);
		ASSERT_ARG(c, i, k, v);
	}
	cr_assert_null(cmdline_get(c, "extra"));
	assert_inside(c);

	/* trailing blanks after exactly CMDLINE_MAX_ARGS words are not a word */
	raw[0] = '\0';
	n = 0;
	for (int i = 0; i < CMDLINE_MAX_ARGS; i++)
		n += sprintf(raw + n, "w%d ", i);
	n += sprintf(raw + n, "   ");
	cr_assert_eq(cmdline_parse(c, raw, false), 0);
	cr_assert_eq(c->nargs, CMDLINE_MAX_ARGS);
}

/* A heap copy of s, exactly strlen(s) + 1 bytes: ASan checks the reads. */
static char *heap_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	cr_assert_not_null(p);
	memcpy(p, s, n);
	return p;
}

Test(cmdline, too_long_input)
{
	struct cmdline *c = new_cmdline();
	/* 4000 bytes of short words: longer than CMDLINE_MAX */
	char *big = malloc(4001);
	cr_assert_not_null(big);
	int n = sprintf(big, "img");
	for (int i = 0; n < 3990; i++)
		n += sprintf(big + n, " x%d", i % 10);
	cr_assert_eq(cmdline_parse(c, big, true), -E2BIG);
	cr_assert(c->truncated);
	cr_assert_eq(c->nargs, CMDLINE_MAX_ARGS);   /* the word limit is hit first */
	assert_inside(c);

	/* one enormous word: cut, no overflow */
	memset(big, 'a', 4000);
	big[4000] = '\0';
	cr_assert_eq(cmdline_parse(c, big, false), -E2BIG);
	cr_assert(c->truncated);
	assert_inside(c);

	/* a quoted value that never ends */
	big[0] = 'k';
	big[1] = '=';
	big[2] = '"';
	for (int i = 3; i < 4000; i++)
		big[i] = i % 7 ? 'q' : ' ';
	cr_assert_eq(cmdline_parse(c, big, false), -E2BIG);
	cr_assert(c->truncated);
	assert_inside(c);

	/* a few long words past CMDLINE_MAX: whatever fits, inside buf */
	memset(big, 'b', 4000);
	for (int i = 100; i < 4000; i += 100)
		big[i] = ' ';
	cr_assert_eq(cmdline_parse(c, big, true), -E2BIG);
	cr_assert(c->truncated);
	cr_assert_gt(c->nargs, 5);
	assert_inside(c);
	free(big);
}

Test(cmdline, input_not_terminated_within_max_is_not_overread)
{
	/* the loader's string may be longer than CMDLINE_MAX: only the first
	 * CMDLINE_MAX bytes are read (the heap block ends right after them) */
	struct cmdline *c = new_cmdline();
	char *raw = malloc(CMDLINE_MAX);
	cr_assert_not_null(raw);
	for (int i = 0; i < CMDLINE_MAX; i++)
		raw[i] = i % 10 == 9 ? ' ' : 'a' + i % 10;
	cr_assert_eq(cmdline_parse(c, raw, true), -E2BIG);
	cr_assert(c->truncated);
	assert_inside(c);
	free(raw);
}

Test(cmdline, random_words_roundtrip)
{
	/* random well-formed lines under the limits parse back to their words */
	struct cmdline *c = new_cmdline();
	unsigned seed = 4242;
	for (int iter = 0; iter < 2000; iter++) {
		char raw[CMDLINE_MAX], keys[CMDLINE_MAX_ARGS][16], vals[CMDLINE_MAX_ARGS][24];
		int nw = rand_r(&seed) % (CMDLINE_MAX_ARGS + 1);
		int n = sprintf(raw, "%simage.elf", rand_r(&seed) % 2 ? " " : "");
		for (int i = 0; i < nw; i++) {
			sprintf(keys[i], "k%d_%d", i, rand_r(&seed) % 1000);
			int kind = rand_r(&seed) % 3;
			if (kind == 0)
				vals[i][0] = '\0';
			else
				sprintf(vals[i], "%s%d", kind == 2 ? "v w " : "v", rand_r(&seed));
			const char *sep = rand_r(&seed) % 4 ? " " : " \t ";
			if (kind == 0)
				n += sprintf(raw + n, "%s%s", sep, keys[i]);
			else if (kind == 1)
				n += sprintf(raw + n, "%s%s=%s", sep, keys[i], vals[i]);
			else
				n += sprintf(raw + n, "%s%s=\"%s\"", sep, keys[i], vals[i]);
		}
		cr_assert_lt(n, CMDLINE_MAX);
		char *heap = heap_str(raw);
		cr_assert_eq(cmdline_parse(c, heap, true), 0, "\"%s\"", raw);
		free(heap);
		cr_assert_str_eq(c->image, "image.elf");
		cr_assert_eq(c->nargs, nw, "\"%s\"", raw);
		for (int i = 0; i < nw; i++)
			ASSERT_ARG(c, i, keys[i], vals[i]);
		assert_inside(c);
	}
}

/*
 * 1. A word cut by the CMDLINE_MAX limit must be dropped, not kept: "smp=16"
 *    cut after "smp=1" would silently set smp=1.
 * 2. A line that fits exactly (its words need all CMDLINE_MAX bytes of buf,
 *    NULs included) is not truncated.
 */
Test(cmdline, cut_word_is_dropped)
{
	struct cmdline *c = new_cmdline();
	char raw[CMDLINE_MAX + 64];
	int n = sprintf(raw, "img");
	while (n < CMDLINE_MAX - 40)   /* 30 words: under the word limit */
		n += sprintf(raw + n, " %s", "padding_padding_padding_pad");
	/* "smp=16" straddles the CMDLINE_MAX boundary */
	int at = CMDLINE_MAX - 6 - n;   /* the "1" of "16" is the last byte read */
	while (at-- > 0)
		raw[n++] = ' ';
	n += sprintf(raw + n, " smp=16 tail");
	cr_assert_gt(n, CMDLINE_MAX);
	cr_assert_eq(cmdline_parse(c, raw, true), -E2BIG);
	const char *smp = cmdline_get(c, "smp");
	cr_assert(smp == NULL || strcmp(smp, "16") == 0, "a cut word was parsed: smp=%s", smp);
}

Test(cmdline, exact_fit_is_not_truncated)
{
	struct cmdline *c = new_cmdline();
	char raw[CMDLINE_MAX];
	/* CMDLINE_MAX - 1 characters of words separated by single spaces: the
	 * words and their NULs take exactly CMDLINE_MAX bytes (34 words, under
	 * the CMDLINE_MAX_ARGS limit) */
	memset(raw, 'w', CMDLINE_MAX - 1);
	for (int i = 29; i < CMDLINE_MAX - 1; i += 30)
		raw[i] = ' ';
	raw[CMDLINE_MAX - 1] = '\0';
	cr_assert_eq(cmdline_parse(c, raw, false), 0);
	cr_assert_not(c->truncated);
	cr_assert_eq(c->nargs, 35);
	cr_assert_eq(strlen(c->arg[34].key), (size_t)(CMDLINE_MAX - 1 - 34 * 30));
}
