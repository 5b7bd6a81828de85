/*
 * TCP initial sequence numbers (RFC 6528) and SYN cookies (RFC 4987 §3.6),
 * both SipHash-2-4 under one boot-time secret.
 */
#include "netstack/tcp_priv.h"

/* ---- initial sequence numbers: RFC 6528, ISN = M + F(4-tuple, secret)
 * with F a SipHash-2-4 and M a 4 us clock ---- */

static u64 secret[2];

static u64 rotl(u64 x, int b) { return (x << b) | (x >> (64 - b)); }

static void sipround(u64 v[4])
{
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

/* SipHash-2-4 of two 64-bit words. */
static u64 siphash2(u64 m0, u64 m1)
{
	u64 v[4] = { secret[0] ^ 0x736f6d6570736575ULL, secret[1] ^ 0x646f72616e646f6dULL,
		     secret[0] ^ 0x6c7967656e657261ULL, secret[1] ^ 0x7465646279746573ULL };
	u64 m[3] = { m0, m1, 16ULL << 56 };
	for (int i = 0; i < 3; i++) {
		v[3] ^= m[i];
		sipround(v);
		sipround(v);
		v[0] ^= m[i];
	}
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

u32 tcp_isn(ip4_t la, u16 lp, ip4_t ra, u16 rp)
{
	if (!secret[0] && !secret[1]) {
		/* no hardware entropy source yet: the boot clock and the TSC
		 * (arch_cycles) differ from boot to boot */
		u64 s0 = net_now_ns() ^ arch_cycles() * 0x9e3779b97f4a7c15ULL;
		secret[0] = s0 | 1;
		secret[1] = rotl(s0, 29) ^ 0x2545f4914f6cdd1dULL;
	}
	u64 f = siphash2((u64)la << 32 | ra, (u64)lp << 16 | rp);
	return (u32)(net_now_ns() / 4000) + (u32)f;
}

/* ---- SYN cookies: when the SYN queue is full, the SYN-ACK's sequence
 * number carries the connection's state (RFC 4987 §3.6):
 *   bits 31..27  a 64-second counter, mod 32
 *   bits 26..24  the peer's MSS, as an index in cookie_mss
 *   bits 23..0   SipHash of the four-tuple, the counter and the peer's ISN
 * A cookie is good for two counter steps (64 to 128 s). Window scaling,
 * timestamps and SACK are not kept: such connections go without them. ---- */

static const u16 cookie_mss[8] = { 536, 1024, 1220, 1380, 1440, 1460, 4312, 8960 };

static u32 cookie_hash(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 count, u32 peer_isn)
{
	if (!secret[0] && !secret[1])
		(void)tcp_isn(la, lp, ra, rp); /* sets the secret */
	u64 h = siphash2((u64)la << 32 | ra, (u64)lp << 48 | (u64)rp << 32 | peer_isn) ^ count;
	h = siphash2(h, count);
	return (u32)h & 0xffffff;
}

static u32 cookie_count(void) { return (u32)(net_now_ns() / 1000000000ULL / 64); }

u32 tcp_cookie_make(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 peer_isn, u16 peer_mss, u16 *mss)
{
	u32 idx = 0;
	for (u32 i = 0; i < 8; i++)
		if (cookie_mss[i] <= peer_mss)
			idx = i;
	*mss = cookie_mss[idx];
	u32 c = cookie_count();
	return (c & 31) << 27 | idx << 24 | cookie_hash(la, lp, ra, rp, c, peer_isn);
}

u16 tcp_cookie_check(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 peer_isn, u32 cookie)
{
	u32 now = cookie_count();
	for (u32 age = 0; age < 2; age++) {
		u32 c = now - age;
		if ((cookie >> 27) == (c & 31) &&
		    (cookie & 0xffffff) == cookie_hash(la, lp, ra, rp, c, peer_isn))
			return cookie_mss[(cookie >> 24) & 7];
	}
	return 0;
}
