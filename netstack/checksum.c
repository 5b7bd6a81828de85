/*
 * The Internet checksum (RFC 1071): 16-bit one's-complement sums, folded
 * and inverted by the caller. Sums over payload pages read them in place.
 */
#include "netstack/net_priv.h"

u32 csum_add(u32 sum, const void *data, u32 len)
{
	const u8 *p = data;
	u64 s = sum;
	while (len >= 2) {
		s += (u32)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (u32)(p[0] << 8);
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	/* keep the running sum small enough to add to */
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (u32)s;
}

u16 csum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (u16)sum;
}

static u32 swap16(u32 s)
{
	u16 f = csum_fold(s);
	return (u32)(u16)(f << 8 | f >> 8);
}

u32 csum_pkb_payload(const struct pkb *b, u32 offset, u32 sum)
{
	bool odd = offset & 1;
	for (unsigned i = 0; i < b->nfrags; i++) {
		const struct pkb_frag *f = &b->frags[i];
		u32 s = csum_add(0, (const u8 *)page_address(f->page) + f->off, f->len);
		/* a fragment that starts at an odd position sums in swapped lanes */
		sum += odd ? swap16(s) : s;
		sum = (sum & 0xffff) + (sum >> 16);
		if (f->len & 1)
			odd = !odd;
	}
	return sum;
}

u32 csum_pseudo(ip4_t src, ip4_t dst, u8 proto, u32 len)
{
	u32 s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
	return (s & 0xffff) + (s >> 16);
}
