/* brk and mmap: growth, touching every page, unmapping, bad arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fails;

static void check(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	fails += !ok;
}

static void touch(unsigned char *p, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i += 4096)
		p[i] = (unsigned char)(seed + i / 4096);
}

static int verify(const unsigned char *p, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i += 4096)
		if (p[i] != (unsigned char)(seed + i / 4096))
			return 0;
	return 1;
}

int main(void)
{
	/* brk: the raw call, as musl's malloc makes it */
	unsigned long b0 = syscall(SYS_brk, 0);
	unsigned long b1 = syscall(SYS_brk, b0 + (1 << 20));
	check("brk grows by 1 MiB", b1 == b0 + (1 << 20));
	touch((unsigned char *)b0, 1 << 20, 1);
	check("brk memory holds data", verify((unsigned char *)b0, 1 << 20, 1));
	unsigned long b2 = syscall(SYS_brk, b0 + 4096);
	check("brk shrinks", b2 == b0 + 4096);
	unsigned long b3 = syscall(SYS_brk, 1);
	check("brk below the start is refused", b3 == b2);

	size_t len = 4 << 20;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check("mmap 4 MiB", m != MAP_FAILED);
	int zero = 1;
	for (size_t i = 0; i < len; i += 4096)
		zero &= m[i] == 0;
	check("mmap memory starts zeroed", zero);
	touch(m, len, 7);
	check("mmap memory holds data", verify(m, len, 7));
	check("munmap the middle", munmap(m + (1 << 20), 1 << 20) == 0);
	check("the rest survives", verify(m, 1 << 20, 7) && verify(m + (2 << 20), 2 << 20, (unsigned char)(7 + 512)));
	unsigned char *f = mmap(m + (1 << 20), 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check("MAP_FIXED into the hole", f == m + (1 << 20) && f[0] == 0);
	check("munmap all", munmap(m, len) == 0);

	errno = 0;
	check("mmap length 0: EINVAL", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
					       MAP_FAILED && errno == EINVAL);
	errno = 0;
	check("mmap without a type: EINVAL",
	      mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
	errno = 0;
	check("munmap unaligned: EINVAL", munmap((void *)4097, 4096) == -1 && errno == EINVAL);

	/* malloc over both */
	char *small = malloc(100), *big = malloc(8 << 20);
	check("malloc", small && big);
	memset(big, 0x5a, 8 << 20);
	check("malloc'd memory holds data", big[0] == 0x5a && big[(8 << 20) - 1] == 0x5a);
	free(big);
	free(small);
	printf("mem: %s\n", fails ? "FAILED" : "all ok");
	return fails != 0;
}
