/*
 * Unit tests of the DHCP client (netstack/dhcp.c) through the fake NIC: a
 * scripted server answers the client's broadcasts; the clock moves only
 * when a test says so (lease times T1, T2, the end). Fixture and frame
 * builders: net_frames.h.
 */
#include "tests/host/net_frames.h"

/* ---- DHCP ---- */

#define SERVER IP4(10, 0, 0, 1)
static const u8 server_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

struct dhcp_seen {
	u8 type;
	u32 xid;
	ip4_t src, dst, ciaddr, req, server;
	bool eth_broadcast;
};

/* The next frame sent must be a DHCP request from the client: parse it. */
static struct dhcp_seen next_dhcp(void)
{
	struct dhcp_seen d = { 0 };
	int len;
	for (;;) {
		len = host_net_tx_bytes(out, sizeof(out), NULL);
		cr_assert_geq(len, 0, "expected a DHCP message");
		if (be16(out + 12) != ETH_P_ARP)
			break;
		/* the server answers ARP for itself; gratuitous ARPs are skipped */
		const struct arp_pkt *a = (const struct arp_pkt *)(out + ETH_HLEN);
		if (be16(a->op) == ARP_OP_REQUEST && be32(a->tpa) == SERVER) {
			u8 rep[64];
			u32 n = arp_frame(rep, ARP_OP_REPLY, server_mac, SERVER, be32(a->spa));
			host_net_rx(rep, n, 14);
		}
	}
	cr_assert_eq(be16(out + 12), ETH_P_IP);
	cr_assert_eq(out[23], IPPROTO_UDP);
	cr_assert_eq(host_csum(out + 14, 20, 0), 0);
	d.eth_broadcast = memcmp(out, eth_broadcast, 6) == 0;
	d.src = be32(out + 26);
	d.dst = be32(out + 30);
	cr_assert_eq(be16(out + 34), 68);
	cr_assert_eq(be16(out + 36), 67);
	u32 ulen = be16(out + 38);
	cr_assert_eq(host_csum(out + 34, ulen, pseudo(d.src, d.dst, IPPROTO_UDP, ulen)), 0,
		     "UDP checksum");
	const struct dhcp_msg *m = (const struct dhcp_msg *)(out + 42);
	cr_assert_eq(m->op, BOOTREQUEST);
	cr_assert_eq(memcmp(m->chaddr, host_nic_mac, 6), 0);
	cr_assert_eq(be32(m->magic), DHCP_MAGIC);
	d.xid = be32(m->xid);
	d.ciaddr = be32(m->ciaddr);
	const u8 *p = out + 42 + sizeof(*m), *end = out + 42 + (ulen - 8);
	while (p < end && *p != DHO_END) {
		if (*p == DHO_PAD) {
			p++;
			continue;
		}
		if (p[0] == DHO_MSG_TYPE)
			d.type = p[2];
		if (p[0] == DHO_REQUESTED_ADDR)
			d.req = be32(p + 2);
		if (p[0] == DHO_SERVER_ID)
			d.server = be32(p + 2);
		p += 2 + p[1];
	}
	cr_assert(p < end, "options end with END");
	return d;
}

/* A reply from the server; extra options appended raw. */
static void dhcp_reply(u8 type, u32 xid, ip4_t yiaddr, u32 lease, const u8 *extra, u32 nextra)
{
	static u8 msg[600];
	memset(msg, 0, sizeof(msg));
	struct dhcp_msg *m = (struct dhcp_msg *)msg;
	m->op = BOOTREPLY;
	m->htype = 1;
	m->hlen = 6;
	put_be32(m->xid, xid);
	put_be32(m->yiaddr, yiaddr);
	memcpy(m->chaddr, host_nic_mac, 6);
	put_be32(m->magic, DHCP_MAGIC);
	u8 *p = msg + sizeof(*m);
	*p++ = DHO_MSG_TYPE; *p++ = 1; *p++ = type;
	*p++ = DHO_SERVER_ID; *p++ = 4; put_be32(p, SERVER); p += 4;
	*p++ = DHO_SUBNET_MASK; *p++ = 4; put_be32(p, 0xffffff00u); p += 4;
	*p++ = DHO_ROUTER; *p++ = 4; put_be32(p, GW); p += 4;
	*p++ = DHO_LEASE_TIME; *p++ = 4; put_be32(p, lease); p += 4;
	if (nextra)
		memcpy(p, extra, nextra);
	p += nextra;
	*p++ = DHO_END;
	u32 n = (u32)(p - msg);
	n = MAX(n, 300u);
	u32 len = udp_frame(frame, SERVER, yiaddr ? yiaddr : IP4_BROADCAST, 67, 68, msg, n);
	memcpy(frame + 6, server_mac, 6);
	host_net_rx(frame, len, 42);
}

static void setup_dhcp(void)
{
	host_net_setup(0);
	cr_assert_eq(net_if_dhcp(0), 0);
}

static const char *state(void)
{
	struct netif_info f;
	net_if_info(0, &f);
	return f.dhcp_state;
}

static struct dhcp_seen bind_lease(u32 lease)
{
	struct dhcp_seen d = next_dhcp();
	cr_assert_eq(d.type, DHCPDISCOVER);
	cr_assert(d.eth_broadcast);
	cr_assert_eq(d.src, 0);
	cr_assert_eq(d.dst, IP4_BROADCAST);
	cr_assert_str_eq(state(), "selecting");
	dhcp_reply(DHCPOFFER, d.xid, US, lease, NULL, 0);
	struct dhcp_seen r = next_dhcp();
	cr_assert_eq(r.type, DHCPREQUEST);
	cr_assert_eq(r.xid, d.xid);
	cr_assert_eq(r.req, US);
	cr_assert_eq(r.server, SERVER);
	cr_assert_eq(r.ciaddr, 0);
	cr_assert_str_eq(state(), "requesting");
	dhcp_reply(DHCPACK, r.xid, US, lease, NULL, 0);
	return r;
}

TestSuite(net_dhcp, .init = setup_dhcp);

Test(net_dhcp, discover_offer_request_ack_binds_the_address)
{
	bind_lease(3600);
	struct netif_info f;
	net_if_info(0, &f);
	cr_assert_str_eq(f.dhcp_state, "bound");
	cr_assert_eq(f.addr, US);
	cr_assert_eq(f.mask, 0xffffff00u);
	cr_assert_eq(f.gw, GW);
	cr_assert_eq(f.dhcp_server, SERVER);
	cr_assert_eq(f.lease_s, 3600);
	cr_assert_eq(f.t1_left_s, 1800);
	cr_assert_eq(f.t2_left_s, 3150);
	/* the gratuitous ARP announces it */
	cr_assert_eq(host_net_tx_bytes(out, sizeof(out), NULL), ETH_HLEN + ARP_LEN);
	cr_assert_eq(be32(((struct arp_pkt *)(out + ETH_HLEN))->spa), US);
	cr_assert_eq(pkb_live(), 0);
}

Test(net_dhcp, renews_at_t1_rebinds_at_t2_and_lets_go_at_the_end)
{
	bind_lease(100);
	host_net_tx_drop_all();
	host_net_advance(49ULL * 1000000000ULL);
	cr_assert_eq(host_net_tx_count(), 0, "nothing before T1");
	host_net_advance(1ULL * 1000000000ULL);
	struct dhcp_seen r = next_dhcp();
	cr_assert_eq(r.type, DHCPREQUEST);
	cr_assert_eq(r.ciaddr, US, "renewing: ciaddr set");
	cr_assert_eq(r.req, 0);
	cr_assert_eq(r.src, US);
	cr_assert_eq(r.dst, SERVER, "renewing: unicast to the server");
	cr_assert_str_eq(state(), "renewing");
	/* no answer: at T2 (87.5 s) it broadcasts */
	host_net_advance(38ULL * 1000000000ULL);
	cr_assert_str_eq(state(), "rebinding");
	do /* renewal retries to the server, then the broadcast */
		r = next_dhcp();
	while (r.dst == SERVER);
	host_net_tx_drop_all();
	cr_assert_eq(r.type, DHCPREQUEST);
	cr_assert_eq(r.dst, IP4_BROADCAST);
	cr_assert_eq(r.ciaddr, US);
	/* an ACK in rebinding extends the lease */
	dhcp_reply(DHCPACK, r.xid, US, 100, NULL, 0);
	cr_assert_str_eq(state(), "bound");
	struct netif_info f;
	net_if_info(0, &f);
	cr_assert_geq(f.lease_left_s, 99);
	/* now let it run out */
	for (int i = 0; i < 110; i++)
		host_net_advance(1000000000ULL);
	net_if_info(0, &f);
	cr_assert_eq(f.addr, 0, "the address is gone with the lease");
	cr_assert(strcmp(f.dhcp_state, "selecting") == 0 || strcmp(f.dhcp_state, "init") == 0);
	settle();
	cr_assert_eq(pkb_live(), 0);
}

Test(net_dhcp, a_nak_starts_over)
{
	struct dhcp_seen d = next_dhcp();
	dhcp_reply(DHCPOFFER, d.xid, US, 600, NULL, 0);
	struct dhcp_seen r = next_dhcp();
	dhcp_reply(DHCPNAK, r.xid, 0, 0, NULL, 0);
	cr_assert_str_eq(state(), "init");
	host_net_advance(100000000ULL);
	cr_assert_eq(next_dhcp().type, DHCPDISCOVER);
	struct netif_info f;
	net_if_info(0, &f);
	cr_assert_eq(f.addr, 0);
}

Test(net_dhcp, discover_backs_off)
{
	struct dhcp_seen d = next_dhcp();
	(void)d;
	u64 waits[4] = { 4, 8, 16, 32 };
	for (int i = 0; i < 4; i++) {
		host_net_advance((waits[i] - 1) * 1000000000ULL);
		cr_assert_eq(host_net_tx_count(), 0, "not before %llu s", (unsigned long long)waits[i]);
		host_net_advance(1000000000ULL);
		cr_assert_eq(next_dhcp().type, DHCPDISCOVER);
	}
}

Test(net_dhcp, strange_replies_are_dropped)
{
	struct dhcp_seen d = next_dhcp();
	dhcp_reply(DHCPOFFER, d.xid + 1, US, 600, NULL, 0);          /* another xid */
	dhcp_reply(DHCPACK, d.xid, US, 600, NULL, 0);                /* ACK while selecting */
	dhcp_reply(DHCPOFFER, d.xid, IP4(224, 0, 0, 9), 600, NULL, 0); /* multicast address */
	static const u8 runaway[] = { 12, 200, 'x' };                /* option past the end */
	dhcp_reply(DHCPOFFER, d.xid, US, 600, runaway, sizeof(runaway));
	cr_assert_eq(drops(NET_DROP_dhcp_bad), 4);
	cr_assert_str_eq(state(), "selecting");
	/* a good offer, then an ACK with a tiny lease */
	dhcp_reply(DHCPOFFER, d.xid, US, 600, NULL, 0);
	struct dhcp_seen r = next_dhcp();
	dhcp_reply(DHCPACK, r.xid, US, 2, NULL, 0);
	cr_assert_str_eq(state(), "requesting", "a 2 s lease is refused");
	/* truncated message */
	u8 tiny[40] = { BOOTREPLY };
	u32 len = udp_frame(frame, SERVER, IP4_BROADCAST, 67, 68, tiny, sizeof(tiny));
	host_net_rx(frame, len, 42);
	cr_assert_eq(drops(NET_DROP_dhcp_bad), 6);
	settle();
	cr_assert_eq(pkb_live(), 0);
}

Test(net_dhcp, a_static_address_stops_the_client)
{
	host_net_tx_drop_all();
	cr_assert_eq(net_if_set_addr(0, IP4(10, 0, 0, 9), 24, 0), 0);
	cr_assert_str_eq(state(), "off");
	host_net_tx_drop_all();
	host_net_advance(70ULL * 1000000000ULL);
	cr_assert_eq(host_net_tx_count(), 0, "no more DISCOVERs");
}
