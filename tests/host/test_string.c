/*
 * kernel/lib/string.c: kstrtou64 and strnlen (the rest of the file is the
 * kernel's memcpy & co., which the host takes from its C library).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel/lib/string.h"

struct num_case {
	const char *in;
	bool suffix;
	int ret;
	u64 val;          /* when ret == 0 */
};

static const struct num_case whole_cases[] = {
	{ "0", false, 0, 0 },
	{ "7", false, 0, 7 },
	{ "42", false, 0, 42 },
	{ "000123", false, 0, 123 },
	{ "0x0", false, 0, 0 },
	{ "0x1f", false, 0, 31 },
	{ "0X1F", false, 0, 31 },
	{ "0xDeadBeef", false, 0, 0xdeadbeef },
	{ "18446744073709551615", false, 0, UINT64_MAX },
	{ "18446744073709551610", false, 0, UINT64_MAX - 5 },
	{ "0xffffffffffffffff", false, 0, UINT64_MAX },
	{ "0x00000000000000000000001", false, 0, 1 },      /* leading zeros never overflow */
	{ "18446744073709551616", false, -ERANGE, 0 },
	{ "99999999999999999999", false, -ERANGE, 0 },
	{ "0x10000000000000000", false, -ERANGE, 0 },
	{ "4K", true, 0, 4096 },
	{ "4k", true, 0, 4096 },
	{ "2M", true, 0, 2ULL << 20 },
	{ "2m", true, 0, 2ULL << 20 },
	{ "3G", true, 0, 3ULL << 30 },
	{ "3g", true, 0, 3ULL << 30 },
	{ "0x10K", true, 0, 16ULL << 10 },
	{ "0K", true, 0, 0 },
	{ "17179869183G", true, 0, 17179869183ULL << 30 },  /* the largest G value */
	{ "17179869184G", true, -ERANGE, 0 },                /* 2^34 G = 2^64 */
	{ "18014398509481983K", true, 0, 18014398509481983ULL << 10 },
	{ "18014398509481984K", true, -ERANGE, 0 },
	{ "5", true, 0, 5 },                                 /* suffix is optional */
	{ "4K", false, -EINVAL, 0 },                         /* suffix not allowed */
	{ "4KB", true, -EINVAL, 0 },
	{ "4T", true, -EINVAL, 0 },
	{ "", false, -EINVAL, 0 },
	{ "x", false, -EINVAL, 0 },
	{ "0x", false, -EINVAL, 0 },
	{ "0xg", false, -EINVAL, 0 },
	{ "-1", false, -EINVAL, 0 },
	{ "+1", false, -EINVAL, 0 },
	{ " 1", false, -EINVAL, 0 },
	{ "1 ", false, -EINVAL, 0 },
	{ "12abc", false, -EINVAL, 0 },                     /* hex digits in a decimal */
	{ "K", true, -EINVAL, 0 },
};

Test(kstrtou64, whole_string_table)
{
	for (size_t i = 0; i < sizeof(whole_cases) / sizeof(whole_cases[0]); i++) {
		const struct num_case *c = &whole_cases[i];
		u64 v = 0xabababababababab;
		int r = kstrtou64(c->in, NULL, c->suffix, &v);
		cr_expect_eq(r, c->ret, "kstrtou64(\"%s\", suffix=%d) returned %d, want %d", c->in,
			     c->suffix, r, c->ret);
		if (r == 0 && c->ret == 0)
			cr_expect_eq(v, c->val, "kstrtou64(\"%s\") = %llu, want %llu", c->in,
				     (unsigned long long)v, (unsigned long long)c->val);
	}
}

Test(kstrtou64, matches_strtoull_on_random_numbers)
{
	unsigned seed = 77;
	for (int i = 0; i < 5000; i++) {
		u64 want = 0;
		for (int j = 0; j < 4; j++)
			want = (want << 16) | (u64)(rand_r(&seed) & 0xffff);
		want >>= rand_r(&seed) % 64;
		char buf[40];
		bool hex = rand_r(&seed) % 2;
		snprintf(buf, sizeof(buf), hex ? "0x%llx" : "%llu", (unsigned long long)want);
		u64 got;
		cr_assert_eq(kstrtou64(buf, NULL, false, &got), 0, "\"%s\"", buf);
		cr_assert_eq(got, strtoull(buf, NULL, 0), "\"%s\"", buf);
		cr_assert_eq(got, want);
	}
}

Test(kstrtou64, end_pointer)
{
	const char *s = "1234,rest";
	const char *end = NULL;
	u64 v;
	cr_assert_eq(kstrtou64(s, &end, false, &v), 0);
	cr_assert_eq(v, 1234);
	cr_assert_eq(end, s + 4, "end at offset %td, want 4", end - s);

	/* with an end pointer, trailing text is the caller's business */
	s = "12abc";
	cr_assert_eq(kstrtou64(s, &end, false, &v), 0);
	cr_assert_eq(v, 12);
	cr_assert_eq(end, s + 2);

	s = "0x1fzz";
	cr_assert_eq(kstrtou64(s, &end, false, &v), 0);
	cr_assert_eq(v, 31);
	cr_assert_eq(end, s + 4);

	/* a suffix is consumed only when allowed */
	s = "64M@0x100";
	cr_assert_eq(kstrtou64(s, &end, true, &v), 0);
	cr_assert_eq(v, 64ULL << 20);
	cr_assert_eq(end, s + 3);
	cr_assert_eq(kstrtou64(s, &end, false, &v), 0);
	cr_assert_eq(v, 64);
	cr_assert_eq(end, s + 2);

	s = "77";
	cr_assert_eq(kstrtou64(s, &end, true, &v), 0);
	cr_assert_eq(end, s + 2);
	cr_assert_eq(*end, '\0');

	/* no digits: still -EINVAL with an end pointer */
	cr_assert_eq(kstrtou64(",5", &end, false, &v), -EINVAL);
	cr_assert_eq(kstrtou64("", &end, true, &v), -EINVAL);
	/* overflow: still -ERANGE with an end pointer */
	cr_assert_eq(kstrtou64("99999999999999999999,", &end, false, &v), -ERANGE);
	cr_assert_eq(kstrtou64("20000000000G,", &end, true, &v), -ERANGE);
}

Test(strnlen, bounds)
{
	cr_assert_eq(strnlen("abc", 10), 3);
	cr_assert_eq(strnlen("abc", 3), 3);
	cr_assert_eq(strnlen("abc", 2), 2);
	cr_assert_eq(strnlen("abc", 0), 0);
	cr_assert_eq(strnlen("", 5), 0);
	cr_assert_eq(strnlen("a\0bc", 4), 1);

	/* never reads past max: a heap block without a NUL, checked by ASan */
	for (size_t n = 1; n <= 64; n++) {
		char *buf = malloc(n);
		cr_assert_not_null(buf);
		memset(buf, 'x', n);
		cr_assert_eq(strnlen(buf, n), n);
		cr_assert_eq(strnlen(buf, n - 1), n - 1);
		buf[n / 2] = '\0';
		cr_assert_eq(strnlen(buf, n), n / 2);
		free(buf);
	}
	/* a zero-length read of any pointer reads nothing */
	cr_assert_eq(strnlen((const char *)1, 0), 0);
}
