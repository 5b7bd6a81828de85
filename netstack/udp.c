/*
 * UDP (RFC 768) and its sockets: the port table, input with length and
 * checksum checks, delivery to the socket bound to the port (an exact
 * local address wins over the wildcard; a connected socket takes only its
 * peer's datagrams), ICMP port-unreachable when there is none, and output
 * with checksum offload (ip_output finishes the sum in software when the
 * NIC cannot).
 */
#include "netstack/net_priv.h"
#include "kernel/lib/string.h"

#define UDP_HASH 64
#define EPHEMERAL_LO 49152
#define EPHEMERAL_HI 65535
#define UDP_MAX_PAYLOAD (IP_MAX_LEN - IP_HLEN - UDP_HLEN)

static struct list_node table[UDP_HASH];   /* [U] */
static spinlock_t udp_lock = SPINLOCK_INIT("udp");
static u16 next_ephemeral = EPHEMERAL_LO;  /* [U] */
static bool table_ready;                   /* [U] */

static struct list_node *bucket(u16 port) { return &table[port % UDP_HASH]; }

static void table_init_locked(void)
{
	if (table_ready)
		return;
	for (int i = 0; i < UDP_HASH; i++)
		list_init(&table[i]);
	table_ready = true;
}

/* Is (addr, port) taken for s (NULL: by anyone, for an ephemeral port)?
 * Linux's rules (udp_lib_lport_inuse): another socket on the port whose
 * address overlaps takes it unless both asked for SO_REUSEADDR or both
 * for SO_REUSEPORT. [U] */
static bool port_taken(const struct socket *s, u16 port, ip4_t addr)
{
	struct list_node *it;
	list_for_each(it, bucket(port)) {
		struct socket *o = list_entry(it, struct socket, link);
		if (o->local.port != port || (o->local.addr != addr && o->local.addr && addr))
			continue;
		if (!s)
			return true;
		if (READ_ONCE(s->reuseaddr) && READ_ONCE(o->reuseaddr))
			continue;
		if (READ_ONCE(s->reuseport) && READ_ONCE(o->reuseport))
			continue;
		return true;
	}
	return false;
}

/* Bind under [U]: port 0 picks a free ephemeral port. */
static int bind_locked(struct socket *s, ip4_t addr, u16 port)
{
	table_init_locked();
	if (port == 0) {
		for (u32 n = 0; n <= EPHEMERAL_HI - EPHEMERAL_LO; n++) {
			u16 p = next_ephemeral;
			next_ephemeral = p == EPHEMERAL_HI ? EPHEMERAL_LO : (u16)(p + 1);
			if (!port_taken(NULL, p, addr)) {
				port = p;
				break;
			}
		}
		if (port == 0)
			return -EADDRINUSE;
	} else if (port_taken(s, port, addr)) {
		return -EADDRINUSE;
	}
	s->local.addr = addr;
	s->local.port = port;
	s->bound = true;
	list_push_back(bucket(port), &s->link);
	return 0;
}

int udp_bind(struct socket *s, const struct sockaddr_in4 *local)
{
	if (local->addr && !net_is_local(local->addr) && local->addr != IP4_BROADCAST)
		return -EADDRNOTAVAIL;
	spin_lock(&udp_lock);
	int err = s->bound ? -EINVAL : bind_locked(s, local->addr, local->port);
	spin_unlock(&udp_lock);
	return err;
}

static int udp_connect(struct socket *s, const struct sockaddr_in4 *peer)
{
	if (peer->port == 0 || peer->addr == 0)
		return -EINVAL;
	spin_lock(&udp_lock);
	int err = s->bound ? 0 : bind_locked(s, 0, 0);
	if (!err) {
		s->peer = *peer;
		s->connected = true;
	}
	spin_unlock(&udp_lock);
	return err;
}

void udp_unhash(struct socket *s)
{
	spin_lock(&udp_lock);
	if (s->bound) {
		list_remove(&s->link);
		list_init(&s->link);
		s->bound = false;
	}
	spin_unlock(&udp_lock);
}

static void udp_close(struct socket *s) { udp_unhash(s); }

static int score(const struct socket *s, ip4_t src, u16 sport, ip4_t dst, u16 dport)
{
	if (s->local.port != dport || (s->local.addr && s->local.addr != dst))
		return -1;
	if (s->connected && (s->peer.addr != src || s->peer.port != sport))
		return -1;
	return (s->local.addr ? 2 : 0) + (s->connected ? 1 : 0);
}

/* The socket for a datagram, with a reference, or NULL: the best match
 * (an exact address, then a connected socket); among the best of a
 * SO_REUSEPORT group (same address, unconnected), one by the flow's hash,
 * so that a flow's datagrams go to one socket. */
static struct socket *lookup(ip4_t src, u16 sport, ip4_t dst, u16 dport)
{
	struct socket *best = NULL;
	int best_score = -1;
	u32 group = 0;
	spin_lock(&udp_lock);
	if (table_ready) {
		struct list_node *it;
		list_for_each(it, bucket(dport)) {
			struct socket *s = list_entry(it, struct socket, link);
			int sc = score(s, src, sport, dst, dport);
			if (sc > best_score) {
				best = s;
				best_score = sc;
				group = 1;
			} else if (sc == best_score && sc >= 0 && s->reuseport && best->reuseport &&
				   !s->connected && s->local.addr == best->local.addr) {
				group++;
			}
		}
		if (group > 1) {
			u32 h = src * 0x9e3779b1u ^ ((u32)sport << 16 | dport) * 0xc2b2ae3du;
			u32 k = (h ^ (h >> 15)) % group;
			struct socket *first = best;
			list_for_each(it, bucket(dport)) {
				struct socket *s = list_entry(it, struct socket, link);
				if (score(s, src, sport, dst, dport) == best_score && s->reuseport &&
				    !s->connected && s->local.addr == first->local.addr && k-- == 0) {
					best = s;
					break;
				}
			}
		}
	}
	if (best)
		sock_get(best);
	spin_unlock(&udp_lock);
	return best;
}

bool udp_wants_unaddressed(struct netif *ifp, const struct pkb *b)
{
	enum dhcp_state st = READ_ONCE(ifp->dhcp.state);
	if (st == DHCP_OFF || st == DHCP_BOUND)
		return false;
	const struct ip_hdr *ip = (const struct ip_hdr *)(b->hdr + b->hdr_start);
	u32 hl = ip_hlen(ip);
	if (pkb_hdr_len(b) < hl + UDP_HLEN)
		return false; /* the driver splits UDP headers off; a miss is not DHCP */
	const struct udp_hdr *u = (const struct udp_hdr *)((const u8 *)ip + hl);
	return be16(u->dport) == DHCP_CLIENT_PORT && be16(u->sport) == DHCP_SERVER_PORT;
}

void udp_input(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst)
{
	struct udp_hdr *u = (struct udp_hdr *)pkb_pullup(b, UDP_HLEN);
	if (!u) {
		net_drop(b, NET_DROP_udp_short);
		return;
	}
	u32 ulen = be16(u->len), zone = pkb_hdr_len(b);
	if (ulen < UDP_HLEN || ulen > zone + b->len || zone > ulen) {
		net_drop(b, NET_DROP_udp_len);
		return;
	}
	pkb_trim(b, ulen - zone);
	if (be16(u->csum) && !(b->flags & PKB_CSUM_VALID)) {
		u32 s = csum_pseudo(src, dst, IPPROTO_UDP, ulen);
		s = csum_pkb_payload(b, zone, csum_add(s, u, zone));
		if (csum_fold(s) != 0xffff) {
			net_drop(b, NET_DROP_udp_csum);
			return;
		}
	}
	u16 sport = be16(u->sport), dport = be16(u->dport);
	enum dhcp_state st = READ_ONCE(ifp->dhcp.state);
	if (dport == DHCP_CLIENT_PORT && sport == DHCP_SERVER_PORT && st != DHCP_OFF) {
		pkb_pull(b, UDP_HLEN);
		dhcp_input(ifp, b);
		return;
	}
	if (!net_is_local(dst) && !net_is_broadcast(ifp, dst)) {
		net_drop(b, NET_DROP_ip_not_ours); /* let in for DHCP only */
		return;
	}
	struct socket *s = lookup(src, sport, dst, dport);
	u32 nh = b->nh_len;
	pkb_push(b, nh); /* back to the IPv4 header: the sender's address rides along */
	if (!s) {
		if (!net_is_broadcast(ifp, dst))
			icmp_send_error(b, ICMP_DEST_UNREACH, ICMP_UNREACH_PORT);
		net_drop(b, NET_DROP_udp_no_socket);
		return;
	}
	if (!sock_queue_rcv(s, b, ulen - UDP_HLEN))
		net_count_drop(NET_DROP_udp_rcvbuf);
	sock_put(s);
}

/* Source address for dst: a bound address, the destination itself when
 * it is ours, else the route's. */
static int pick_source(struct socket *s, ip4_t dst, ip4_t *src)
{
	if (s->local.addr && s->local.addr != IP4_BROADCAST) {
		*src = s->local.addr;
		return 0;
	}
	if (net_is_local(dst)) {
		*src = dst;
		return 0;
	}
	struct netif *ifp;
	ip4_t nh;
	if (route_lookup(dst, &ifp, &nh, src) != 0)
		return -ENETUNREACH;
	return *src ? 0 : -EADDRNOTAVAIL;
}

static long udp_send_pkb(struct socket *s, struct pkb *b, int flags, const struct sockaddr_in4 *to)
{
	(void)flags;
	struct sockaddr_in4 dst;
	u32 len = b->len;
	long err = 0;
	spin_lock(&udp_lock);
	if (!to && !s->connected)
		err = -EDESTADDRREQ;
	else if (!s->bound)
		err = bind_locked(s, 0, 0);
	dst = to ? *to : s->peer;
	u16 sport = s->local.port;
	spin_unlock(&udp_lock);
	ip4_t src = 0;
	if (!err && (dst.port == 0 || dst.addr == 0 || dst.addr == IP4_BROADCAST))
		err = -EINVAL;
	if (!err && (len > UDP_MAX_PAYLOAD || pkb_hdr_len(b)))
		err = -EMSGSIZE;
	if (!err)
		err = pick_source(s, dst.addr, &src);
	if (err) {
		pkb_free(b);
		spin_lock(&s->lock);
		s->st.tx_errors++;
		spin_unlock(&s->lock);
		return err;
	}
	struct udp_hdr *u = (struct udp_hdr *)pkb_push(b, UDP_HLEN);
	put_be16(u->sport, sport);
	put_be16(u->dport, dst.port);
	put_be16(u->len, (u16)(UDP_HLEN + len));
	/* the pseudo-header sum; the NIC or ip_output adds the rest */
	put_be16(u->csum, csum_fold(csum_pseudo(src, dst.addr, IPPROTO_UDP, UDP_HLEN + len)));
	b->flags = PKB_CSUM_PARTIAL;
	b->csum_start = 0;
	b->csum_offset = 6;
	int r = ip_output(b, src, dst.addr, IPPROTO_UDP, false);
	spin_lock(&s->lock);
	if (r == 0 || r == -EAGAIN) {
		s->st.tx_packets++;
		s->st.tx_bytes += len;
	} else {
		s->st.tx_errors++;
	}
	spin_unlock(&s->lock);
	return r == 0 || r == -EAGAIN ? (long)len : r;
}

/* FIONREAD: the next datagram's payload size (0 when none), as Linux's
 * UDP answers: what one recv would take, not the whole queue. */
static long udp_inq(struct socket *s)
{
	spin_lock(&s->lock);
	long n = s->rq_head ? (long)(s->rq_head->hash - SOCK_DGRAM_OVERHEAD) : 0;
	spin_unlock(&s->lock);
	return n;
}

const struct sock_ops udp_sock_ops = {
	.inq = udp_inq,
	.bind = udp_bind,
	.connect = udp_connect,
	.send_pkb = udp_send_pkb,
	.close = udp_close,
	.name = "udp",
};
