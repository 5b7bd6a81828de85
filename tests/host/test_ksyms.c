/*
 * kernel/console/ksyms.c: lookups in a symbol table laid out as
 * tools/mksyms.sh lays it out (struct ksym_table, then the strings).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/console/ksyms.h"

struct sym {
	u64 addr;
	u32 size;
	const char *name;
};

/* One heap block of exactly the table's size, so ASan checks every read. */
static struct ksym_table *build_table(const struct sym *syms, size_t n)
{
	size_t strings = 0;
	for (size_t i = 0; i < n; i++)
		strings += strlen(syms[i].name) + 1;
	size_t head = sizeof(struct ksym_table) + n * sizeof(struct ksym_entry);
	struct ksym_table *t = malloc(head + strings);
	cr_assert_not_null(t);
	t->count = n;
	t->strings_offset = head;
	char *s = (char *)t + head;
	u32 off = 0;
	for (size_t i = 0; i < n; i++) {
		t->entries[i] = (struct ksym_entry){ syms[i].addr, off, syms[i].size };
		size_t len = strlen(syms[i].name) + 1;
		memcpy(s + off, syms[i].name, len);
		off += (u32)len;
	}
	return t;
}

static const struct sym small[] = {
	{ 0x1000, 0x10, "alpha" },   /* sized, followed by a gap */
	{ 0x1100, 0, "beta" },       /* unsized: extends to gamma */
	{ 0x1200, 0x80, "gamma" },
	{ 0x1280, 0x80, "delta" },   /* adjacent to gamma */
	{ 0x2000, 0, "omega" },      /* last, unsized: its extent is unknown */
};

#define EXPECT_SYM(t, addr, name, off)                                               \
	do {                                                                         \
		u64 o_ = 0xdead;                                                     \
		const char *n_ = ksym_table_lookup((t), (addr), &o_);               \
		cr_expect_not_null(n_, "%#llx: no symbol, want %s+%#llx",             \
				   (unsigned long long)(addr), (name),               \
				   (unsigned long long)(off));                       \
		if (n_) {                                                            \
			cr_expect_str_eq(n_, (name), "%#llx", (unsigned long long)(addr)); \
			cr_expect_eq(o_, (u64)(off), "%#llx: offset %#llx",            \
				     (unsigned long long)(addr), (unsigned long long)o_); \
		}                                                                    \
	} while (0)

#define EXPECT_NONE(t, addr)                                                        \
	do {                                                                        \
		u64 o_ = 0xdead;                                                    \
		const char *n_ = ksym_table_lookup((t), (addr), &o_);              \
		cr_expect_null(n_, "%#llx: got %s", (unsigned long long)(addr),      \
			       n_ ? n_ : "");                                        \
		cr_expect_eq(o_, 0xdead, "offset written on a miss");               \
	} while (0)

Test(ksyms, lookup_cases)
{
	struct ksym_table *t = build_table(small, sizeof(small) / sizeof(small[0]));
	EXPECT_NONE(t, 0);
	EXPECT_NONE(t, 0xfff);                    /* before the first symbol */
	EXPECT_SYM(t, 0x1000, "alpha", 0);        /* exact */
	EXPECT_SYM(t, 0x1001, "alpha", 1);        /* inside */
	EXPECT_SYM(t, 0x100f, "alpha", 0xf);      /* last byte */
	EXPECT_NONE(t, 0x1010);                   /* just past a sized symbol */
	EXPECT_NONE(t, 0x10ff);                   /* in the gap */
	EXPECT_SYM(t, 0x1100, "beta", 0);
	EXPECT_SYM(t, 0x11ff, "beta", 0xff);      /* unsized: up to the next one */
	EXPECT_SYM(t, 0x1200, "gamma", 0);
	EXPECT_SYM(t, 0x127f, "gamma", 0x7f);
	EXPECT_SYM(t, 0x1280, "delta", 0);        /* the next one starts at once */
	EXPECT_SYM(t, 0x12ff, "delta", 0x7f);
	EXPECT_NONE(t, 0x1300);
	EXPECT_NONE(t, 0x1fff);
	EXPECT_NONE(t, 0x2001);                   /* past the last, unsized symbol */
	EXPECT_NONE(t, 0x123456);
	EXPECT_NONE(t, UINT64_MAX);

	/* the offset pointer is optional */
	cr_expect_str_eq(ksym_table_lookup(t, 0x1204, NULL), "gamma");
	free(t);
}

Test(ksyms, empty_and_missing_tables)
{
	u64 off = 7;
	cr_expect_null(ksym_table_lookup(NULL, 0x1000, &off));
	cr_expect_eq(ksym_table_address(NULL, "alpha"), 0);
	struct ksym_table *t = build_table(NULL, 0);
	cr_expect_null(ksym_table_lookup(t, 0, &off));
	cr_expect_null(ksym_table_lookup(t, 0x1000, &off));
	cr_expect_eq(ksym_table_address(t, "alpha"), 0);
	cr_expect_eq(off, 7);
	free(t);

	static const struct sym one[] = { { 0x5000, 0x20, "only" } };
	t = build_table(one, 1);
	EXPECT_NONE(t, 0x4fff);
	EXPECT_SYM(t, 0x5000, "only", 0);
	EXPECT_SYM(t, 0x501f, "only", 0x1f);
	EXPECT_NONE(t, 0x5020);
	free(t);
}

Test(ksyms, address_by_name)
{
	struct ksym_table *t = build_table(small, sizeof(small) / sizeof(small[0]));
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		cr_expect_eq(ksym_table_address(t, small[i].name), small[i].addr, "%s",
			     small[i].name);
	cr_expect_eq(ksym_table_address(t, "nope"), 0);
	cr_expect_eq(ksym_table_address(t, "gam"), 0);      /* no prefix match */
	cr_expect_eq(ksym_table_address(t, "gammas"), 0);
	cr_expect_eq(ksym_table_address(t, ""), 0);
	free(t);
}

/* The binary search against a linear reference on a big random table. */
static const struct sym *model_lookup(const struct sym *s, size_t n, u64 addr, u64 *off)
{
	const struct sym *best = NULL;
	size_t bi = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i].addr <= addr) {
			best = &s[i];
			bi = i;
		}
	if (!best)
		return NULL;
	u64 o = addr - best->addr;
	if (best->size ? o >= best->size : bi + 1 == n)
		return NULL;
	*off = o;
	return best;
}

Test(ksyms, random_table_matches_linear_model)
{
	enum { N = 1000 };
	static struct sym syms[N];
	static char names[N][16];
	unsigned seed = 99;
	u64 addr = 0xffffffff80100000ULL;
	for (int i = 0; i < N; i++) {
		addr += 1 + (u64)(rand_r(&seed) % 512);
		syms[i].addr = addr;
		/* sized, unsized, or sized beyond the next symbol's start */
		int kind = rand_r(&seed) % 4;
		syms[i].size = kind == 0 ? 0 : (u32)(1 + rand_r(&seed) % 600);
		snprintf(names[i], sizeof(names[i]), "sym%d", i);
		syms[i].name = names[i];
	}
	struct ksym_table *t = build_table(syms, N);
	u64 lo = syms[0].addr - 100, hi = syms[N - 1].addr + 700;
	for (int k = 0; k < 100000; k++) {
		u64 a = lo + (u64)rand_r(&seed) % (hi - lo);
		if (k % 10 == 0)
			a = syms[rand_r(&seed) % N].addr - (u64)(k % 3);  /* edges */
		u64 want_off = 0, got_off = 0;
		const struct sym *want = model_lookup(syms, N, a, &want_off);
		const char *got = ksym_table_lookup(t, a, &got_off);
		if (!want) {
			cr_assert_null(got, "%#llx: got %s, want none", (unsigned long long)a, got);
			continue;
		}
		cr_assert_not_null(got, "%#llx: want %s", (unsigned long long)a, want->name);
		cr_assert_str_eq(got, want->name, "%#llx", (unsigned long long)a);
		cr_assert_eq(got_off, want_off);
	}
	for (int i = 0; i < N; i += 37)
		cr_assert_eq(ksym_table_address(t, syms[i].name), syms[i].addr);
	free(t);
}
