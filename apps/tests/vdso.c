/* The vDSO (AT_SYSINFO_EHDR): an ELF image whose dynamic symbols include
 * __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time and
 * __vdso_getcpu (version LINUX_2.6, which glibc and musl ask for); each
 * clock it gives agrees with the system call within a second and does not
 * go backwards; a bad clock id gets the system call's EINVAL. The wall
 * clock: CLOCK_REALTIME is a date after 2020 (the RTC's, not time since
 * boot), and absolute waits on it (clock_nanosleep, FUTEX_CLOCK_REALTIME)
 * end when it says, not never or at once. Prints
 * yes/no lines only: the output is the same on Linux (tests/run.py
 * compares them). */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h>'s values (musl-gcc has no kernel headers) */
#define FUTEX_WAIT_BITSET 9
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffff

static const Elf64_Sym *syms;
static const char *strs;
static const Elf64_Word *hash;
static const Elf64_Versym *versym;
static const Elf64_Verdef *verdef;
static unsigned long base;

/* the version name of symbol i ("" when unversioned) */
static const char *version_of(unsigned i)
{
	if (!versym || !verdef)
		return "";
	unsigned want = versym[i] & 0x7fff;
	for (const Elf64_Verdef *d = verdef;; d = (const void *)((const char *)d + d->vd_next)) {
		if (d->vd_ndx == want) {
			const Elf64_Verdaux *a = (const void *)((const char *)d + d->vd_aux);
			return strs + a->vda_name;
		}
		if (!d->vd_next)
			return "";
	}
}

static void *lookup(const char *name, const char **ver)
{
	for (unsigned i = 0; i < hash[1]; i++) {
		if (syms[i].st_shndx != SHN_UNDEF && !strcmp(strs + syms[i].st_name, name)) {
			*ver = version_of(i);
			return (void *)(base + syms[i].st_value);
		}
	}
	return NULL;
}

static int parse(void)
{
	const Elf64_Ehdr *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_type != ET_DYN)
		return 0;
	const Elf64_Phdr *ph = (const void *)((const char *)eh + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	base = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			base = (unsigned long)eh - ph[i].p_vaddr;
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const void *)ph[i].p_vaddr;
	}
	if (!dyn)
		return 0;
	dyn = (const void *)(base + (unsigned long)dyn);
	for (; dyn->d_tag != DT_NULL; dyn++) {
		const void *p = (const void *)(base + dyn->d_un.d_ptr);
		switch (dyn->d_tag) {
		case DT_SYMTAB: syms = p; break;
		case DT_STRTAB: strs = p; break;
		case DT_HASH: hash = p; break;
		case DT_VERSYM: versym = p; break;
		case DT_VERDEF: verdef = p; break;
		}
	}
	return syms && strs && hash;
}

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }
static const char *yes(int b) { return b ? "yes" : "no"; }

static long long ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (ns(&b) - ns(a)) / 1000000;
}

/* the wall clock's time 100 ms from now, for absolute waits */
static struct timespec wall_in_100ms(void)
{
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_nsec += 100000000;
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	return at;
}

static void wall_clock(void)
{
	struct timespec rt, mono, at, start;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	printf("wall clock: CLOCK_REALTIME after 2020-01-01: %s; ahead of CLOCK_MONOTONIC by over a "
	       "year: %s\n", yes(rt.tv_sec > 1577836800), yes(rt.tv_sec - mono.tv_sec > 31536000));
	at = wall_in_100ms();
	clock_gettime(CLOCK_MONOTONIC, &start);
	int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL);
	long long ms = ms_since(&start);
	printf("clock_nanosleep(REALTIME, ABSTIME, now + 100 ms): %d, slept 50 ms to 2 s: %s\n", r,
	       yes(ms >= 50 && ms < 2000));
	unsigned word = 0;
	at = wall_in_100ms();
	clock_gettime(CLOCK_MONOTONIC, &start);
	errno = 0;
	long f = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 0, &at, NULL,
			 FUTEX_BITSET_MATCH_ANY);
	ms = ms_since(&start);
	printf("futex(WAIT_BITSET|CLOCK_REALTIME, now + 100 ms): %ld %s, waited 50 ms to 2 s: %s\n",
	       f, f < 0 && errno == ETIMEDOUT ? "ETIMEDOUT" : "other", yes(ms >= 50 && ms < 2000));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int ok = parse();
	printf("AT_SYSINFO_EHDR: an ELF shared object with a symbol table: %s\n", yes(ok));
	if (!ok)
		return 1;
	static const char *const names[] = { "__vdso_clock_gettime", "__vdso_gettimeofday",
					     "__vdso_time", "__vdso_getcpu" };
	const char *ver;
	for (unsigned i = 0; i < 4; i++) {
		void *f = lookup(names[i], &ver);
		printf("%s: %s, version %s\n", names[i], yes(f != NULL), f ? ver : "-");
	}
	int (*cg)(clockid_t, struct timespec *) = lookup("__vdso_clock_gettime", &ver);
	int (*gtod)(struct timeval *, void *) = lookup("__vdso_gettimeofday", &ver);
	time_t (*tm)(time_t *) = lookup("__vdso_time", &ver);
	if (!cg || !gtod || !tm)
		return 1;
	static const struct { clockid_t id; const char *name; } clocks[] = {
		{ CLOCK_MONOTONIC, "MONOTONIC" }, { CLOCK_REALTIME, "REALTIME" },
		{ CLOCK_BOOTTIME, "BOOTTIME" }, { CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE" },
	};
	for (unsigned i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		struct timespec a, b, c;
		int r1 = cg(clocks[i].id, &a);
		int r2 = (int)syscall(SYS_clock_gettime, clocks[i].id, &b);
		int r3 = cg(clocks[i].id, &c);
		long long d = ns(&b) - ns(&a);
		printf("%s: vdso 0, syscall 0: %s; within 1 s of the system call: %s; "
		       "not backwards: %s\n", clocks[i].name, yes(!r1 && !r2 && !r3),
		       yes(d > -1000000000LL && d < 1000000000LL), yes(ns(&c) >= ns(&a)));
	}
	struct timespec t;
	errno = 0;
	int r = cg(-5, &t);
	printf("clock_gettime(-5): %d %s\n", r, r ? (r == -EINVAL ? "-EINVAL" : "other") : "0");
	struct timeval tv;
	struct timespec rt;
	r = gtod(&tv, NULL);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &rt);
	printf("gettimeofday: %d, within 1 s of CLOCK_REALTIME: %s\n", r,
	       yes(tv.tv_sec >= rt.tv_sec - 1 && tv.tv_sec <= rt.tv_sec + 1));
	time_t t1 = 0, t0 = tm(&t1);
	printf("time: agrees with its argument: %s, within 1 s of CLOCK_REALTIME: %s\n",
	       yes(t0 == t1), yes(t0 >= rt.tv_sec - 1 && t0 <= rt.tv_sec + 1));
	struct timespec g1, g2;
	clock_gettime(CLOCK_MONOTONIC, &g1);
	clock_gettime(CLOCK_MONOTONIC, &g2);
	printf("the C library's clock_gettime goes forward: %s\n", yes(ns(&g2) >= ns(&g1)));
	wall_clock();
	printf("vdso: done\n");
	return 0;
}
