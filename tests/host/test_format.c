/*
 * kernel/lib/format.c: ksnprintf against the host C library's snprintf.
 * Every CHECK line formats the same arguments both ways and wants the same
 * text and the same return value. Then truncation, and a seeded random
 * differential test over conversions, flags, widths and precisions.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "kernel/lib/format.h"

static void check_same(const char *what, const char *kbuf, int kn, const char *lbuf, int ln,
		       int line)
{
	cr_expect_str_eq(kbuf, lbuf, "line %d: ksnprintf(%s) gave \"%s\", libc \"%s\"", line,
			 what, kbuf, lbuf);
	cr_expect_eq(kn, ln, "line %d: ksnprintf(%s) returned %d, libc %d", line, what, kn, ln);
}

#define CHECK(...)                                                             \
	do {                                                                   \
		char kb_[256], lb_[256];                                       \
		int kn_ = ksnprintf(kb_, sizeof(kb_), __VA_ARGS__);            \
		int ln_ = snprintf(lb_, sizeof(lb_), __VA_ARGS__);             \
		check_same(#__VA_ARGS__, kb_, kn_, lb_, ln_, __LINE__);        \
	} while (0)

/* For combinations C defines but GCC flags as redundant ("'0' flag ignored
 * with precision"): exactly the rules under test. */
#define CHECK_QUIET(...)                                                       \
	do {                                                                   \
		_Pragma("GCC diagnostic push")                                 \
		_Pragma("GCC diagnostic ignored \"-Wformat\"")                 \
		CHECK(__VA_ARGS__);                                            \
		_Pragma("GCC diagnostic pop")                                  \
	} while (0)

Test(format, plain_text_and_percent)
{
	CHECK("hello");
	CHECK("%s", "");
	CHECK("100%%");
	CHECK("%%%d%%", 5);
	CHECK("a%cb", 'x');
}

Test(format, signed_decimal)
{
	static const int vals[] = { 0, 1, -1, 7, -42, 12345, INT_MAX, INT_MIN };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		int v = vals[i];
		CHECK("%d", v);
		CHECK("%i", v);
		CHECK("%5d", v);
		CHECK("%-5d|", v);
		CHECK("%05d", v);
		CHECK("%+d", v);
		CHECK("% d", v);
		CHECK("%+05d", v);
		CHECK("% 07d", v);
		CHECK("%-+8d|", v);
		CHECK("%.3d", v);
		CHECK("%8.3d", v);
		CHECK("%-8.3d|", v);
		CHECK_QUIET("%08.3d", v);   /* precision given: '0' is ignored */
		CHECK("%.0d", v);     /* zero with precision 0 prints nothing */
		CHECK("%5.0d|", v);
		CHECK("%+.0d", v);
		CHECK("%*d", 6, v);
		CHECK("%-*d|", 6, v);
		CHECK("%*d|", -6, v);  /* negative width: left-justify */
		CHECK("%.*d", 4, v);
		CHECK("%.*d", -1, v);  /* negative precision: as if omitted */
		CHECK("%*.*d", 9, 4, v);
		CHECK("%0*d", 7, v);
		CHECK_QUIET("%+ d", v);      /* '+' wins over ' ' */
		CHECK_QUIET("%-05d|", v);    /* '-' wins over '0' */
	}
}

Test(format, unsigned_hex_octal)
{
	static const unsigned vals[] = { 1, 7, 8, 9, 10, 15, 16, 255, 256, 4096, 0xdeadbeef,
					 UINT_MAX };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		unsigned v = vals[i];
		CHECK("%u", v);
		CHECK("%x", v);
		CHECK("%X", v);
		CHECK("%o", v);
		CHECK("%#x", v);
		CHECK("%#X", v);
		CHECK("%#o", v);
		CHECK("%10x|", v);
		CHECK("%-10X|", v);
		CHECK("%010x", v);
		CHECK("%#010x", v);
		CHECK("%#-10x|", v);
		CHECK("%.6x", v);
		CHECK("%#.6x", v);
		CHECK("%12.6o|", v);
		CHECK("%012u", v);
		CHECK("%*u|", -12, v);
		CHECK("%.*X", 10, v);
	}
	/* zero without the '#' flag */
	CHECK("%u %x %X %o", 0u, 0u, 0u, 0u);
	CHECK("%5u|%-5x|%05o|%.0x|%.0o|%3.0u|", 0u, 0u, 0u, 0u, 0u, 0u);
}

Test(format, length_modifiers)
{
	CHECK("%hhd %hhd %hhd", 127, 128, -129);               /* converted to signed char */
	CHECK("%hhu %hhx %hho", 300, 0x1ff, 511);              /* to unsigned char */
	CHECK("%hd %hd %hd", 32767, 32768, -32769);            /* to short */
	CHECK("%hu %hx", 70000, 0x12345);
	CHECK("%ld %ld %ld", 0L, LONG_MAX, LONG_MIN);
	CHECK("%lu %lx %lo", ULONG_MAX, ULONG_MAX, ULONG_MAX);
	CHECK("%lld %lld %lld", 0LL, LLONG_MAX, LLONG_MIN);
	CHECK("%llu %llx %llX %llo", ULLONG_MAX, ULLONG_MAX, 0xabcdefULL, 01234567ULL);
	CHECK("%zu %zx %zd", (size_t)-1, (size_t)0x1234, (ssize_t)-5);
	CHECK("%20lld|%-20llx|%020llu", LLONG_MIN, 0x123456789abcdefULL, 42ULL);
	CHECK("%+lld % lld %.20lld", 1LL, 2LL, -3LL);
	CHECK("%jd %ju %td", (intmax_t)-9, (uintmax_t)9, (ptrdiff_t)-77);
}

Test(format, chars_and_strings)
{
	CHECK("%c", 'A');
	CHECK("[%5c]", 'z');
	CHECK("[%-5c]", 'z');
	CHECK("[%*c]", 3, 'q');
	CHECK("[%*c]", -3, 'q');
	CHECK("%c%c%c", 'a', 0x7f, ' ');
	CHECK("%s", "hello");
	CHECK("[%10s]", "hello");
	CHECK("[%-10s]", "hello");
	CHECK("[%.3s]", "hello");
	CHECK("[%.0s]", "hello");
	CHECK("[%.10s]", "hello");
	CHECK("[%8.3s]", "hello");
	CHECK("[%-8.3s]", "hello");
	CHECK("[%*.*s]", 7, 2, "hello");
	CHECK("[%.*s]", -1, "hello");
	CHECK("[%3s]", "longer than width");
	CHECK("%s=%s;%s", "key", "value", "");
	/* precision bounds the read: the string need not be NUL-terminated */
	char notnul[4] = { 'a', 'b', 'c', 'd' };
	CHECK("[%.4s]", notnul);
	CHECK("[%.2s]", notnul);
	const char *volatile null_str = NULL;   /* glibc and the kernel both print "(null)" */
	CHECK("(null)=[%s]", null_str);
}

Test(format, pointers)
{
	int x;
	static char g;
	void *ptrs[] = { &x, &g, (void *)0x1, (void *)0xffff800000001000UL, (void *)UINTPTR_MAX };
	for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		CHECK("%p", ptrs[i]);
		CHECK("[%24p]", ptrs[i]);
		CHECK("[%-24p]", ptrs[i]);
	}
}

Test(format, unknown_conversion_and_lone_percent)
{
	char buf[32];
	/* not C: the kernel prints what it does not understand, and stops at a
	 * lone '%' at the end of the format */
	const char *unknown = "a%qb";
	int n = ksnprintf(buf, sizeof(buf), unknown, 0);
	cr_expect_str_eq(buf, "a%qb");
	cr_expect_eq(n, 4);
	const char *lone = "xy%";
	n = ksnprintf(buf, sizeof(buf), lone, 0);
	cr_expect_str_eq(buf, "xy");
	cr_expect_eq(n, 2);
}

Test(format, truncation_and_return_value)
{
	char buf[16];
	const char *full = "hello, world 12345";   /* 18 characters */

	for (size_t size = 1; size <= sizeof(buf); size++) {
		memset(buf, '#', sizeof(buf));
		int n = ksnprintf(buf, size, "hello, %s %d", "world", 12345);
		cr_assert_eq(n, 18, "size %zu: returned %d, want the untruncated length 18", size, n);
		cr_assert_eq(strlen(buf), size - 1, "size %zu: strlen %zu", size, strlen(buf));
		cr_assert_eq(memcmp(buf, full, size - 1), 0, "size %zu: got \"%s\"", size, buf);
		for (size_t i = size; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], '#', "size %zu: byte %zu past the buffer written", size,
				     i);
	}
	/* exact fit, and one short of it */
	char exact[19];
	cr_assert_eq(ksnprintf(exact, sizeof(exact), "%s", full), 18);
	cr_assert_str_eq(exact, full);
	cr_assert_eq(ksnprintf(exact, 18, "%s", full), 18);
	cr_assert_eq(strlen(exact), 17);
	/* truncation in the middle of padding and of a number */
	cr_assert_eq(ksnprintf(buf, 4, "%10d", 5), 10);
	cr_assert_str_eq(buf, "   ");
	cr_assert_eq(ksnprintf(buf, 4, "%-10d", 123456), 10);
	cr_assert_str_eq(buf, "123");
}

Test(format, size_zero_writes_nothing)
{
	char buf[4] = { 'x', 'y', 'z', 'w' };
	cr_assert_eq(ksnprintf(buf, 0, "%s-%d", "abc", 42), 6);
	cr_assert_eq(memcmp(buf, "xyzw", 4), 0, "size 0 must not touch the buffer");
	cr_assert_eq(ksnprintf(NULL, 0, "%08x", 1u), 8);
	const char *empty = "";
	cr_assert_eq(ksnprintf(NULL, 0, empty, 0), 0);
}

Test(format, kvsnprintf_leaves_the_va_list_usable)
{
	/* kvsnprintf works on a copy: a caller may format twice (e.g. measure,
	 * then print) from its own va_list */
	char a[32], b[32];
	int n1 = ksnprintf(a, sizeof(a), "%d-%s-%x", -3, "mid", 0xbeefu);
	int n2 = snprintf(b, sizeof(b), "%d-%s-%x", -3, "mid", 0xbeefu);
	cr_assert_eq(n1, n2);
	cr_assert_str_eq(a, b);
}

/* ---- random differential test ---- */

enum conv { CV_D, CV_U, CV_X, CV_BIGX, CV_O, CV_S, CV_C, CV_P, CV_N };

static u64 rnd64(unsigned *seed)
{
	u64 v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 16) ^ (u64)(rand_r(seed) & 0xffff);
	/* favour small magnitudes and edge values */
	switch (rand_r(seed) % 6) {
	case 0: return v & 0xff;
	case 1: return v & 0xffff;
	case 2: return v >> (rand_r(seed) % 64);
	case 3: return (u64)(rand_r(seed) % 3) - 1;   /* 0, 1 or all ones */
	default: return v;
	}
}

/* Build one "%[flags][width][.prec][len]conv" with only combinations C
 * defines (no '#' on d/u/c/s/p, no '0' or precision on c/s/p, no length on
 * c/s/p), format it with random arguments both ways. */
static void random_case(unsigned *seed, char *fmt, size_t fsize, char *kb, char *lb,
			int *kn, int *ln)
{
	static const char *const lens[] = { "", "hh", "h", "l", "ll", "z" };
	static const char convch[] = "duxXoscp";
	enum conv cv = (enum conv)(rand_r(seed) % CV_N);
	bool numeric = cv <= CV_O;
	char *f = fmt;
	*f++ = '%';
	if (rand_r(seed) % 3 == 0) *f++ = '-';
	if (numeric && rand_r(seed) % 3 == 0) *f++ = '0';
	if (cv == CV_D && rand_r(seed) % 4 == 0) *f++ = '+';
	if (cv == CV_D && rand_r(seed) % 4 == 0) *f++ = ' ';
	bool alt = (cv == CV_X || cv == CV_BIGX || cv == CV_O) && rand_r(seed) % 3 == 0;
	if (alt) *f++ = '#';
	int width = -1, prec = -1;
	bool star_w = false, star_p = false;
	if (rand_r(seed) % 2) {
		if (rand_r(seed) % 4 == 0) {
			star_w = true;
			*f++ = '*';
			width = rand_r(seed) % 41 - 20;
		} else {
			f += sprintf(f, "%d", rand_r(seed) % 30);
		}
	}
	const char *len = numeric ? lens[rand_r(seed) % 6] : "";
	if ((numeric || cv == CV_S) && rand_r(seed) % 2) {
		*f++ = '.';
		if (rand_r(seed) % 4 == 0) {
			star_p = true;
			*f++ = '*';
			prec = rand_r(seed) % 30 - 3;
		} else {
			f += sprintf(f, "%d", rand_r(seed) % 25);
		}
	}
	f += sprintf(f, "%s%c", len, convch[cv]);
	*f = '\0';
	cr_assert_lt((size_t)(f - fmt), fsize);

	u64 v = rnd64(seed);
	u64 mask = !strcmp(len, "hh") ? 0xff : !strcmp(len, "h") ? 0xffff
		 : !len[0] ? 0xffffffffULL : UINT64_MAX;
	if (rand_r(seed) % 8 == 0)
		v &= ~mask;   /* zero, where '#' and precision 0 have special rules */
	static const char *const strs[] = { "", "a", "hello", "a longer string, with spaces" };
	const char *s = strs[rand_r(seed) % 4];
	int c = 'A' + rand_r(seed) % 26;
	void *p = (void *)(uptr)(v | 1);

	/* The format is built at run time, so pass arguments of the type the
	 * conversion reads; star arguments come first. */
#define BOTH(...)                                                              \
	do {                                                                   \
		*kn = ksnprintf(kb, 128, fmt, __VA_ARGS__);                    \
		*ln = snprintf(lb, 128, fmt, __VA_ARGS__);                     \
	} while (0)
#define WITH_STARS(arg)                                                        \
	do {                                                                   \
		if (star_w && star_p) BOTH(width, prec, arg);                  \
		else if (star_w) BOTH(width, arg);                             \
		else if (star_p) BOTH(prec, arg);                              \
		else BOTH(arg, 0);                                             \
	} while (0)
	bool is_signed = cv == CV_D;
	if (cv == CV_S) WITH_STARS(s);
	else if (cv == CV_C) WITH_STARS(c);
	else if (cv == CV_P) WITH_STARS(p);
	else if (!strcmp(len, "ll")) {
		if (is_signed) WITH_STARS((long long)v); else WITH_STARS((unsigned long long)v);
	} else if (!strcmp(len, "l") || !strcmp(len, "z")) {
		if (is_signed) WITH_STARS((long)v); else WITH_STARS((unsigned long)v);
	} else {
		if (is_signed) WITH_STARS((int)v); else WITH_STARS((unsigned)v);
	}
#undef WITH_STARS
#undef BOTH
}

Test(format, random_differential_against_libc)
{
	unsigned seed = 20240611;
	char fmt[64], kb[128], lb[128];
	int kn, ln;
	int mismatches = 0;
	for (int i = 0; i < 20000; i++) {
		random_case(&seed, fmt, sizeof(fmt), kb, lb, &kn, &ln);
		if (strcmp(kb, lb) != 0 || kn != ln) {
			if (++mismatches <= 10)
				cr_log_error("case %d: format \"%s\": kernel \"%s\" (%d), libc \"%s\" (%d)",
					     i, fmt, kb, kn, lb, ln);
		}
	}
	cr_assert_eq(mismatches, 0, "%d of 20000 random formats differ from libc", mismatches);
}

/*
 * C says the '#' flag adds "0x" only to a nonzero value, and makes octal
 * output start with one 0 by raising the precision, not by adding a prefix:
 * "%#x" of 0 is "0", "%#o" of 0 is "0", "%#.3o" of 8 is "010".
 */
Test(format, alt_flag_rules)
{
	CHECK("%#x", 0u);
	CHECK("%#X", 0u);
	CHECK("%#o", 0u);
	CHECK("%#5x|", 0u);
	CHECK("%#08x", 0u);
	CHECK("%#.3o", 8u);
	CHECK("%#.0o", 0u);
	CHECK("%#hhx", 256u);
}
