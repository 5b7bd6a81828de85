/* Fast non-cryptographic random bytes; see random.h. */
#include "kernel/lib/random.h"
#include "kernel/lib/string.h"
#include "kernel/arch/arch.h"

static u64 rnd_state; /* [atomic] */

static u64 splitmix64(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void random_bytes(void *buf, size_t n)
{
	u8 *p = buf;
	while (n) {
		u64 s = __atomic_add_fetch(&rnd_state, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
		u64 v = splitmix64(s ^ arch_cycles());
		size_t k = MIN(n, sizeof(v));
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}
