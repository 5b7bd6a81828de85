/*
 * libFuzzer targets for the network stack's input path, built on the host
 * from the real netstack/ and zerocopy/ code over the fake NIC of
 * tests/host/host_net.c. One file, three targets (FUZZ_TARGET):
 *
 *   frames  the input is a sequence of Ethernet frames, each as
 *           [u8 flags][u8 split][u16 length][bytes]: split is where the
 *           "driver" cut headers from payload; flags bit 0 moves the clock a
 *           second after the frame (ARP and fragment timers), bit 1 runs the
 *           DHCP client (once per input, before the frame).
 *   ipv4    the same records, but each is an IPv4 packet the harness puts in
 *           an Ethernet frame to us, with its header checksum fixed when flag
 *           bit 2 is set, so fragments, options and the protocols behind get
 *           reached.
 *   dhcp    the same records, each a DHCP message body sent from the server
 *           to the client in valid Ethernet/IPv4/UDP, its xid patched to the
 *           client's when flag bit 2 is set; the client is in the state
 *           flags>>4 picks (selecting, requesting, bound).
 *
 * After every input the harness drains the UDP socket, lets go of
 * everything the stack holds and checks that no packet buffer leaked: a
 * leak, a panic, or a sanitizer report is a crash.
 */
#include "tests/host/host.h"
#include "tests/host/host_net.h"
#include "netstack/net_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

#include <stdio.h>
#include <stdlib.h>

#define US IP4(10, 0, 0, 2)
#define PEER IP4(10, 0, 0, 7)
#define FRAME_MAX 9000

static struct socket *sock7;
static u8 frame[FRAME_MAX + 64];

static void init_once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	log_level = 0; /* quiet */
	host_net_setup(NIC_F_RX_CSUM);
	if (sock_create(SOCK_DGRAM, &sock7) != 0)
		abort();
	struct sockaddr_in4 a = { 0, 7 };
	if (sock_bind(sock7, &a) != 0)
		abort();
}

static void reset(void)
{
	u8 buf[256];
	while (sock_recvfrom(sock7, buf, sizeof(buf), MSG_DONTWAIT, NULL) >= 0)
		;
	net_if_set_addr(0, US, 24, IP4(10, 0, 0, 1)); /* also stops DHCP */
	ip_frag_flush();
	arp_flush_if(net_ifs[0]);
	host_net_tx_drop_all();
	if (pkb_live() != 0) {
		fprintf(stderr, "fuzz: %llu packet buffers leaked\n", (unsigned long long)pkb_live());
		abort();
	}
}

static u32 ip_hdr(u8 *p, ip4_t src, ip4_t dst, u8 proto, u32 datalen)
{
	memset(p, 0, IP_HLEN);
	p[0] = 0x45;
	put_be16(p + 2, (u16)(IP_HLEN + datalen));
	p[8] = 64;
	p[9] = proto;
	put_be32(p + 12, src);
	put_be32(p + 16, dst);
	put_be16(p + 10, host_csum(p, IP_HLEN, 0));
	return IP_HLEN;
}

static void eth_hdr(u8 *p)
{
	memcpy(p, host_nic_mac, 6);
	static const u8 src[6] = { 0x02, 0, 0, 0, 0, 0x07 };
	memcpy(p + 6, src, 6);
	put_be16(p + 12, ETH_P_IP);
}

static void dhcp_state(int which)
{
	struct netif *ifp = net_ifs[0];
	net_if_dhcp(0);
	spin_lock(&ifp->lock);
	if (which == 1) {
		ifp->dhcp.state = DHCP_REQUESTING;
		ifp->dhcp.offered = US;
		ifp->dhcp.server = IP4(10, 0, 0, 1);
	} else if (which == 2) {
		netif_set_addr_locked(ifp, US, 0xffffff00u, 0);
		ifp->dhcp.state = DHCP_BOUND;
		ifp->dhcp.lease_s = 100;
		ifp->dhcp.t1_s = 50;
		ifp->dhcp.t2_s = 87;
		ifp->dhcp.bound_at_ns = net_now_ns();
	}
	spin_unlock(&ifp->lock);
	host_net_tx_drop_all();
}

static void one(u8 flags, u32 split, const u8 *d, u32 n)
{
	u32 len = n;
	switch (FUZZ_TARGET) {
	case 0: /* frames */
		memcpy(frame, d, n);
		break;
	case 1: /* ipv4 */
		eth_hdr(frame);
		memcpy(frame + ETH_HLEN, d, n);
		if ((flags & 4) && n >= IP_HLEN) {
			u32 hl = MIN((u32)(d[0] & 0xf) * 4u, n);
			put_be16(frame + ETH_HLEN + 10, 0);
			put_be16(frame + ETH_HLEN + 10, host_csum(frame + ETH_HLEN, hl, 0));
		}
		len = ETH_HLEN + n;
		break;
	case 2: /* dhcp */
		eth_hdr(frame);
		ip_hdr(frame + ETH_HLEN, IP4(10, 0, 0, 1), US, IPPROTO_UDP, UDP_HLEN + n);
		u8 *u = frame + ETH_HLEN + IP_HLEN;
		put_be16(u, DHCP_SERVER_PORT);
		put_be16(u + 2, DHCP_CLIENT_PORT);
		put_be16(u + 4, (u16)(UDP_HLEN + n));
		put_be16(u + 6, 0);
		memcpy(u + 8, d, n);
		if ((flags & 4) && n >= 8)
			put_be32(u + 8 + 4, net_ifs[0]->dhcp.xid);
		len = ETH_HLEN + IP_HLEN + UDP_HLEN + n;
		break;
	}
	if (len == 0)
		return;
	host_net_rx(frame, len, split);
	host_net_tx_drop_all();
	if (flags & 1)
		host_net_advance(1000000000ULL);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	init_once();
	bool dhcp_started = false;
	for (size_t at = 0; at + 4 <= size;) {
		u8 flags = data[at], split = data[at + 1];
		u32 n = (u32)(data[at + 2] | data[at + 3] << 8);
		at += 4;
		n = (u32)MIN((size_t)n, size - at);
		n = MIN(n, (u32)FRAME_MAX);
		if (!dhcp_started && (FUZZ_TARGET == 2 || (flags & 2))) {
			dhcp_state(FUZZ_TARGET == 2 ? (flags >> 4) % 3 : 0);
			dhcp_started = true;
		}
		one(flags, split, data + at, n);
		at += n;
	}
	reset();
	return 0;
}
