/*
 * DHCP client (RFC 2131, options RFC 2132), one per interface, driven by
 * dhcp_tick (10 times a second) and dhcp_input; its state is [I].
 *
 *   INIT -> SELECTING (DISCOVER, resent after 4, 8, 16, 32, 64 s)
 *        -> REQUESTING (REQUEST for the first OFFER; 4 tries, then INIT)
 *        -> BOUND (address set, gratuitous ARP) at the ACK
 *        -> RENEWING at T1 (unicast REQUEST to the server)
 *        -> REBINDING at T2 (broadcast REQUEST)
 *        -> INIT when the lease ends (the address is removed)
 *   A NAK in REQUESTING, RENEWING or REBINDING goes back to INIT.
 * Lease times count from when the REQUEST went out (RFC 2131 §4.4.1).
 * Replies are checked (BOOTREPLY, our xid and MAC, the magic cookie,
 * options inside the message, a sane address and lease): anything else is
 * dropped and counted (dhcp_bad).
 */
#include "netstack/net_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

#define NS 1000000000ULL
#define DHCP_MSG_LEN DHCP_MIN_LEN    /* what we send: BOOTP's 300 bytes */
#define REQUEST_TRIES 4
#define LEASE_MIN_S 10

static const char *const state_names[] = {
	[DHCP_OFF] = "off", [DHCP_INIT] = "init", [DHCP_SELECTING] = "selecting",
	[DHCP_REQUESTING] = "requesting", [DHCP_BOUND] = "bound",
	[DHCP_RENEWING] = "renewing", [DHCP_REBINDING] = "rebinding",
};

const char *dhcp_state_name(enum dhcp_state s)
{
	return (unsigned)s <= DHCP_REBINDING ? state_names[s] : "?";
}

static u32 xid_seed;

static u32 new_xid(struct netif *ifp)
{
	xid_seed = xid_seed * 1103515245u + 12345u + (u32)net_now_ns();
	return xid_seed ^ (u32)(ifp->mac[5] << 24 | ifp->mac[4] << 16 | ifp->mac[3] << 8);
}

/* Backoff for try n (1-based): 4, 8, 16, 32, 64 s, then 64 s. */
static u64 backoff_ns(u32 n)
{
	return (4ULL << MIN(n - 1, 4u)) * NS;
}

/* ---- building and sending ---- */

struct opt_writer {
	u8 *p, *end;
};

static void opt(struct opt_writer *w, u8 code, const void *data, u8 len)
{
	if (w->p + 2 + len + 1 > w->end)
		return; /* our own messages fit: this cannot happen */
	*w->p++ = code;
	*w->p++ = len;
	memcpy(w->p, data, len);
	w->p += len;
}

/* A DHCP message of type `type` in a fresh page (built in place: no copy),
 * or NULL. [I] held. */
static struct pkb *build(struct netif *ifp, u8 type, ip4_t ciaddr, ip4_t req, ip4_t server)
{
	struct pkb *b = pkb_alloc_payload(DHCP_MSG_LEN);
	if (!b)
		return NULL;
	u8 *base = page_address(b->frags[0].page);
	memset(base, 0, DHCP_MSG_LEN);
	struct dhcp_msg *m = (struct dhcp_msg *)base;
	m->op = BOOTREQUEST;
	m->htype = 1;
	m->hlen = 6;
	put_be32(m->xid, ifp->dhcp.xid);
	u64 secs = (net_now_ns() - ifp->dhcp.request_sent_ns) / NS;
	put_be16(m->secs, (u16)MIN(secs, 0xffffULL));
	put_be32(m->ciaddr, ciaddr);
	memcpy(m->chaddr, ifp->mac, 6);
	put_be32(m->magic, DHCP_MAGIC);
	struct opt_writer w = { base + sizeof(*m), base + DHCP_MSG_LEN };
	opt(&w, DHO_MSG_TYPE, &type, 1);
	u8 cid[7] = { 1 };
	memcpy(cid + 1, ifp->mac, 6);
	opt(&w, DHO_CLIENT_ID, cid, 7);
	u8 a[4];
	if (req) {
		put_be32(a, req);
		opt(&w, DHO_REQUESTED_ADDR, a, 4);
	}
	if (server) {
		put_be32(a, server);
		opt(&w, DHO_SERVER_ID, a, 4);
	}
	static const u8 params[] = { DHO_SUBNET_MASK, DHO_ROUTER, DHO_DNS, DHO_LEASE_TIME,
				     DHO_RENEWAL_TIME, DHO_REBINDING_TIME };
	opt(&w, DHO_PARAM_LIST, params, sizeof(params));
	*w.p = DHO_END;
	return b;
}

/* Send b from port 68 to port 67 of dst (broadcast when dst is 0). */
static void send_msg(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst)
{
	if (!b) {
		net_count_drop(NET_DROP_nomem);
		return;
	}
	ip4_t to = dst ? dst : IP4_BROADCAST;
	struct udp_hdr *u = (struct udp_hdr *)pkb_push(b, UDP_HLEN);
	put_be16(u->sport, DHCP_CLIENT_PORT);
	put_be16(u->dport, DHCP_SERVER_PORT);
	put_be16(u->len, (u16)(UDP_HLEN + b->len));
	put_be16(u->csum, csum_fold(csum_pseudo(src, to, IPPROTO_UDP, UDP_HLEN + b->len)));
	b->flags = PKB_CSUM_PARTIAL;
	b->csum_start = 0;
	b->csum_offset = 6;
	if (dst)
		ip_output(b, src, dst, IPPROTO_UDP, false);
	else
		ip_output_if(ifp, b, src, IP4_BROADCAST, IPPROTO_UDP, false, IP4_BROADCAST);
}

/* ---- state changes ([I] held) ---- */

static struct pkb *discover(struct netif *ifp, u64 now)
{
	struct dhcp_client *d = &ifp->dhcp;
	if (d->state != DHCP_SELECTING) {
		d->state = DHCP_SELECTING;
		d->xid = new_xid(ifp);
		d->tries = 0;
		d->request_sent_ns = now;
	}
	d->tries++;
	d->next_send_ns = now + backoff_ns(d->tries);
	return build(ifp, DHCPDISCOVER, 0, 0, 0);
}

static void lose_address(struct netif *ifp)
{
	if (ifp->addr)
		netif_set_addr_locked(ifp, 0, 0, 0);
}

void dhcp_start(struct netif *ifp)
{
	u64 now = net_now_ns();
	spin_lock(&ifp->lock);
	lose_address(ifp);
	ifp->dhcp.state = DHCP_INIT;
	ifp->dhcp.next_send_ns = now;
	spin_unlock(&ifp->lock);
	arp_flush_if(ifp);
	dhcp_tick(ifp, now);
}

void dhcp_stop(struct netif *ifp)
{
	ifp->dhcp.state = DHCP_OFF;
}

void dhcp_tick(struct netif *ifp, u64 now)
{
	struct pkb *out = NULL;
	ip4_t src = 0, dst = 0;
	spin_lock(&ifp->lock);
	struct dhcp_client *d = &ifp->dhcp;
	u64 el = (now - d->bound_at_ns) / NS;
	switch (d->state) {
	case DHCP_OFF:
		break;
	case DHCP_INIT:
		if (now >= d->next_send_ns)
			out = discover(ifp, now);
		break;
	case DHCP_SELECTING:
		if (now >= d->next_send_ns)
			out = discover(ifp, now);
		break;
	case DHCP_REQUESTING:
		if (now < d->next_send_ns)
			break;
		if (d->tries >= REQUEST_TRIES) {
			d->state = DHCP_INIT;
			d->next_send_ns = now;
			break;
		}
		d->tries++;
		d->next_send_ns = now + backoff_ns(d->tries);
		out = build(ifp, DHCPREQUEST, 0, d->offered, d->server);
		break;
	case DHCP_BOUND:
	case DHCP_RENEWING:
	case DHCP_REBINDING:
		if (el >= d->lease_s) {
			printk(LOG_WARN, "%s: DHCP lease ended; address removed", ifp->name);
			lose_address(ifp);
			d->state = DHCP_INIT;
			d->next_send_ns = now;
			break;
		}
		if (d->state == DHCP_BOUND && el >= d->t1_s) {
			d->state = DHCP_RENEWING;
			d->next_send_ns = now;
		}
		if (d->state == DHCP_RENEWING && el >= d->t2_s) {
			d->state = DHCP_REBINDING;
			d->next_send_ns = now;
		}
		if (d->state == DHCP_BOUND || now < d->next_send_ns)
			break;
		/* RFC 2131 §4.4.5: retry at half the time left, at least 60 s
		 * (ours: at least a tenth of the lease, for short test leases) */
		u64 until = d->state == DHCP_RENEWING ? d->t2_s : d->lease_s;
		u64 wait = MAX((until - el) / 2, MIN(60ULL, MAX(1ULL, d->lease_s / 10)));
		d->next_send_ns = now + wait * NS;
		d->xid = new_xid(ifp);
		d->request_sent_ns = now;
		out = build(ifp, DHCPREQUEST, ifp->addr, 0, 0);
		src = ifp->addr;
		dst = d->state == DHCP_RENEWING ? d->server : 0;
		break;
	}
	spin_unlock(&ifp->lock);
	if (out)
		send_msg(ifp, out, src, dst);
}

/* ---- receiving ---- */

struct dhcp_reply {
	u8 type;
	ip4_t yiaddr, server, mask, router;
	u32 lease, t1, t2;
	bool has_mask, has_router, has_lease;
};

/* Parse the options of a len-byte message; false if malformed. */
static bool parse_options(const u8 *p, u32 len, struct dhcp_reply *r)
{
	u32 i = sizeof(struct dhcp_msg);
	while (i < len) {
		u8 code = p[i];
		if (code == DHO_END)
			return true;
		if (code == DHO_PAD) {
			i++;
			continue;
		}
		if (i + 1 >= len || i + 2 + p[i + 1] > len)
			return false;
		u8 l = p[i + 1];
		const u8 *v = p + i + 2;
		switch (code) {
		case DHO_MSG_TYPE:
			if (l == 1)
				r->type = v[0];
			break;
		case DHO_SERVER_ID:
			if (l == 4)
				r->server = be32(v);
			break;
		case DHO_SUBNET_MASK:
			if (l == 4) {
				r->mask = be32(v);
				r->has_mask = true;
			}
			break;
		case DHO_ROUTER:
			if (l >= 4) {
				r->router = be32(v);
				r->has_router = true;
			}
			break;
		case DHO_LEASE_TIME:
			if (l == 4) {
				r->lease = be32(v);
				r->has_lease = true;
			}
			break;
		case DHO_RENEWAL_TIME:
			if (l == 4)
				r->t1 = be32(v);
			break;
		case DHO_REBINDING_TIME:
			if (l == 4)
				r->t2 = be32(v);
			break;
		}
		i += 2u + l;
	}
	return true; /* no END: RFC 2131 wants one; be liberal */
}

static bool mask_ok(ip4_t m)
{
	return m != 0 && ((~m + 1) & ~m) == 0; /* contiguous ones, then zeros */
}

static bool addr_ok(ip4_t a)
{
	return a && a != IP4_BROADCAST && (a >> 28) < 14 && (a >> 24) != 127 && (a >> 24) != 0;
}

/* The ACK's configuration, applied ([I] held); false if it is unusable. */
static bool apply_ack(struct netif *ifp, const struct dhcp_reply *r)
{
	struct dhcp_client *d = &ifp->dhcp;
	ip4_t mask = r->has_mask && mask_ok(r->mask) ? r->mask : 0xffffff00u;
	if (!addr_ok(r->yiaddr) || (r->yiaddr & ~mask) == ~mask || !r->has_lease ||
	    r->lease < LEASE_MIN_S)
		return false;
	ip4_t gw = r->has_router && (r->router & mask) == (r->yiaddr & mask) && r->router != r->yiaddr
			   ? r->router : 0;
	d->lease_s = r->lease;
	d->t1_s = r->t1 && r->t1 < r->lease ? r->t1 : r->lease / 2;
	d->t2_s = r->t2 && r->t2 < r->lease && r->t2 > d->t1_s ? r->t2 : r->lease / 8 * 7;
	if (d->t2_s <= d->t1_s)
		d->t2_s = d->t1_s + 1;
	if (r->server)
		d->server = r->server;
	d->bound_at_ns = d->request_sent_ns;
	d->state = DHCP_BOUND;
	d->acks++;
	return netif_set_addr_locked(ifp, r->yiaddr, mask, gw);
}

void dhcp_input(struct netif *ifp, struct pkb *b)
{
	u32 len = b->len;
	const u8 *p = pkb_hdr_len(b) ? NULL : pkb_payload_ptr(b, 0, len);
	struct dhcp_reply r = { 0 };
	const struct dhcp_msg *m = (const struct dhcp_msg *)p;
	if (!p || len < sizeof(*m) || m->op != BOOTREPLY || m->htype != 1 || m->hlen != 6 ||
	    be32(m->magic) != DHCP_MAGIC || memcmp(m->chaddr, ifp->mac, 6) != 0 ||
	    !parse_options(p, len, &r)) {
		net_drop(b, NET_DROP_dhcp_bad);
		return;
	}
	r.yiaddr = be32(m->yiaddr);
	u32 xid = be32(m->xid);
	u64 now = net_now_ns();
	bool announce = false, bound = false;
	struct pkb *out = NULL;
	enum net_drop bad = NET_DROP_COUNT;
	spin_lock(&ifp->lock);
	struct dhcp_client *d = &ifp->dhcp;
	if (xid != d->xid) {
		bad = NET_DROP_dhcp_bad;
	} else if (r.type == DHCPOFFER && d->state == DHCP_SELECTING) {
		if (!addr_ok(r.yiaddr) || !r.server) {
			bad = NET_DROP_dhcp_bad;
		} else {
			d->offers++;
			d->offered = r.yiaddr;
			d->server = r.server;
			d->state = DHCP_REQUESTING;
			d->tries = 1;
			d->next_send_ns = now + backoff_ns(1);
			out = build(ifp, DHCPREQUEST, 0, d->offered, d->server);
		}
	} else if (r.type == DHCPACK && (d->state == DHCP_REQUESTING || d->state == DHCP_RENEWING ||
					 d->state == DHCP_REBINDING)) {
		if (d->state == DHCP_REQUESTING && r.yiaddr != d->offered) {
			bad = NET_DROP_dhcp_bad;
		} else if (!apply_ack(ifp, &r)) {
			bad = NET_DROP_dhcp_bad;
		} else {
			announce = true; /* also on renewal: cheap, and refreshes peers */
			bound = true;
		}
	} else if (r.type == DHCPNAK && (d->state == DHCP_REQUESTING || d->state == DHCP_RENEWING ||
					 d->state == DHCP_REBINDING)) {
		d->naks++;
		printk(LOG_WARN, "%s: DHCP NAK; starting over", ifp->name);
		lose_address(ifp);
		d->state = DHCP_INIT;
		d->next_send_ns = now;
	} else {
		bad = NET_DROP_dhcp_bad; /* a message out of turn */
	}
	u32 lease = d->lease_s;
	ip4_t a = ifp->addr;
	spin_unlock(&ifp->lock);
	if (bad != NET_DROP_COUNT)
		net_drop(b, bad);
	else
		pkb_free(b);
	if (out)
		send_msg(ifp, out, 0, 0);
	if (bound)
		printk(LOG_INFO, "%s: DHCP lease of %u.%u.%u.%u for %u s", ifp->name, a >> 24,
		       (a >> 16) & 255, (a >> 8) & 255, a & 255, lease);
	if (announce)
		arp_announce(ifp);
}
