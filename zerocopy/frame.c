/*
 * The frame header parser (frame.h): Ethernet, one VLAN tag, IPv4, TCP or
 * UDP, found without validating more than their lengths.
 */
#include "zerocopy/frame.h"

static u16 byte16(frame_byte_fn byte, const void *ctx, u32 i)
{
	return (u16)(byte(ctx, i) << 8 | byte(ctx, i + 1));
}

static u32 ip_transport(frame_byte_fn byte, const void *ctx, u32 len, struct frame_hdrs *f)
{
	u32 h = f->l3;
	u8 vihl = (u8)byte(ctx, h + IP_OFF_VIHL);
	u32 ihl = (vihl & 0xfu) * 4u;
	if (vihl >> 4 != 4 || ihl < IP_HLEN || len < h + ihl)
		return h;
	h += ihl;
	if (byte16(byte, ctx, f->l3 + IP_OFF_FRAG) & IP_OFFMASK)
		return h; /* later fragments carry no transport header */
	u8 proto = (u8)byte(ctx, f->l3 + IP_OFF_PROTO);
	u32 l4len = 0;
	if (proto == IPPROTO_TCP && len >= h + TCP_HLEN)
		l4len = (byte(ctx, h + TCP_OFF_DOFF) >> 4) * 4u;
	else if (proto == IPPROTO_UDP)
		l4len = UDP_HLEN;
	if ((proto == IPPROTO_TCP && l4len < TCP_HLEN) || !l4len || len < h + l4len)
		return h;
	f->proto = proto;
	f->l4 = h;
	return h + l4len;
}

u32 frame_parse(frame_byte_fn byte, const void *ctx, u32 len, struct frame_hdrs *f)
{
	*f = (struct frame_hdrs){ 0 };
	if (len < ETH_HLEN)
		return f->len = len;
	f->l3 = ETH_HLEN;
	f->ethertype = byte16(byte, ctx, ETH_OFF_TYPE);
	if (f->ethertype == ETH_P_VLAN && len >= ETH_HLEN + ETH_VLAN_HLEN) {
		f->ethertype = byte16(byte, ctx, ETH_OFF_TYPE + ETH_VLAN_HLEN);
		f->l3 = ETH_HLEN + ETH_VLAN_HLEN;
	}
	f->len = f->l3;
	if (f->ethertype == ETH_P_IP && len >= f->l3 + IP_HLEN)
		f->len = ip_transport(byte, ctx, len, f);
	return f->len;
}

static u32 flat_byte(const void *ctx, u32 i) { return ((const u8 *)ctx)[i]; }

u32 frame_parse_flat(const u8 *p, u32 len, struct frame_hdrs *f)
{
	return frame_parse(flat_byte, p, len, f);
}
