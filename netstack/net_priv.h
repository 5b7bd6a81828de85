/*
 * Inside the network stack (never included from outside netstack/).
 *
 * Receive: the NIC's poll thread calls net_rx (the NIC receive hook), which
 * runs the packet up through eth_input -> arp_input | ip_input ->
 * icmp_input | udp_input (| the TCP handler registered with
 * ip_set_proto_handler) on that thread, on that CPU. A received pkb holds
 * in its header zone the headers the driver split off; each layer
 * pkb_pullup()s the bytes it needs (headers the driver did not predict),
 * reads its header, and pkb_pull()s it. Every function that takes a pkb
 * owns it: it passes it on or frees it, counting a drop (net_drop).
 *
 * Transmit: a protocol pushes its header, then ip_output (route, source
 * address, fragmentation) -> arp_output (resolve or queue) -> eth_output ->
 * nic_xmit. No lock is held across these calls; a packet to one of our
 * own addresses loops back into ip_input on the sending thread.
 *
 * Locks (legend for the [X] tags):
 *   [I] netif.lock: address, DHCP client
 *   [A] the ARP table lock (arp.c)
 *   [R] the route table lock (route.c)
 *   [F] the reassembly lock (ip_frag.c)
 *   [U] the UDP port table lock (udp.c)
 *   [S] socket.lock
 *   Order: [I] before [R]; no other two are held together. No lock is held
 *   while calling down to ip_output or up to a socket's upcall.
 */
#ifndef NETSTACK_NET_PRIV_H
#define NETSTACK_NET_PRIV_H

#include "netstack/net.h"
#include "netstack/wire.h"
#include "kernel/lib/list.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sched/sched.h"

struct nic;

/* ---- DHCP client state, one per interface ([I]) ---- */
enum dhcp_state {
	DHCP_OFF, DHCP_INIT, DHCP_SELECTING, DHCP_REQUESTING, DHCP_BOUND, DHCP_RENEWING,
	DHCP_REBINDING,
};
struct dhcp_client {
	enum dhcp_state state;
	u32 xid;
	ip4_t offered, server, mask, router;
	u32 lease_s, t1_s, t2_s;
	u64 bound_at_ns;            /* when the lease began (the REQUEST went out) */
	u64 request_sent_ns;
	u64 next_send_ns;           /* retransmission */
	u32 tries;
	u64 acks, naks, offers;
};

struct netif {
	int index;
	struct nic *nic;
	char name[16];
	u8 mac[6];
	u16 mtu;
	spinlock_t lock;
	ip4_t addr, mask, gw;       /* [I] written; read without it (word-sized) */
	struct dhcp_client dhcp;    /* [I] */
	u16 ip_id;                  /* [atomic] next IPv4 identification */
};

extern struct netif *net_ifs[NET_MAX_IFS];
extern int net_nifs;
struct netif *netif_of_nic(struct nic *nic);
/* Is addr one of our addresses (on any interface)? */
bool net_is_local(ip4_t addr);
/* Is addr a broadcast address for ifp (limited or its subnet's)? */
bool net_is_broadcast(const struct netif *ifp, ip4_t addr);
/* Set an interface's address (lock held by the caller): routes, gratuitous
 * ARP after the lock is dropped (returns true when one should be sent). */
bool netif_set_addr_locked(struct netif *ifp, ip4_t addr, ip4_t mask, ip4_t gw);

/* ---- counters ---- */
void net_drop(struct pkb *b, enum net_drop why);   /* frees b (NULL allowed) */
void net_count_drop(enum net_drop why);            /* counts only */

/* ---- checksums (RFC 1071) ---- */
u32 csum_add(u32 sum, const void *data, u32 len);  /* len may be odd only last */
u16 csum_fold(u32 sum);                            /* folded, not inverted */
/* Sum of payload bytes [0, b->len), read in place, as if they followed
 * `offset` bytes of header (odd offsets swap the byte lanes). */
u32 csum_pkb_payload(const struct pkb *b, u32 offset, u32 sum);
u32 csum_pseudo(ip4_t src, ip4_t dst, u8 proto, u32 len);

/* ---- Ethernet ---- */
void eth_input(struct netif *ifp, struct pkb *b);
/* Push an Ethernet header and transmit (consumes b). */
int eth_output(struct netif *ifp, struct pkb *b, const u8 dst[6], u16 type);
extern const u8 eth_broadcast[6];

/* ---- ARP ---- */
void arp_input(struct netif *ifp, struct pkb *b);
/* Send an IPv4 packet (headers pushed) to next hop nh on ifp: now if the
 * address is resolved, else queued until the reply (bounded). Consumes b. */
int arp_output(struct netif *ifp, struct pkb *b, ip4_t nh);
void arp_announce(struct netif *ifp);              /* gratuitous ARP */
void arp_tick(u64 now);
void arp_flush_if(struct netif *ifp);
struct arp_info {
	ip4_t ip;
	u8 mac[6];
	const char *state;
	u64 age_ms;
	u32 queued;
	int ifindex;
};
int arp_list(struct arp_info *out, int max);
/* arp_output's looks without the lock: MAC found, or not (then it locks) */
void arp_fast_stats(u64 *hits, u64 *misses);
int arp_lookup(ip4_t ip, u8 mac[6]);                /* tests: 0 if resolved */

/* ---- routes ---- */
struct route_info {
	ip4_t dst, mask, gw;
	int ifindex;
};
int route_add(ip4_t dst, ip4_t mask, ip4_t gw, struct netif *ifp);
void route_del_if(struct netif *ifp);
/* The interface, next hop and source address for dst, or -ENETUNREACH. */
int route_lookup(ip4_t dst, struct netif **ifp, ip4_t *nexthop, ip4_t *src);
int route_list(struct route_info *out, int max);

/* ---- IPv4 ---- */
#define IP_TTL_DEFAULT 64
void ip_input(struct netif *ifp, struct pkb *b);
/* b holds the transport header and payload; push the IPv4 header and send
 * (fragmenting when it is larger than the MTU and df is false). src 0 takes
 * the route's source. Consumes b. 0, or -ENETUNREACH, -EMSGSIZE, ... */
int ip_output(struct pkb *b, ip4_t src, ip4_t dst, u8 proto, bool df);
/* The same on a given interface, without a route (DHCP before an address:
 * src 0, dst broadcast). */
int ip_output_if(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst, u8 proto, bool df,
		 ip4_t nexthop);
typedef void (*ip_proto_handler_t)(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst);
void ip_set_proto_handler(u8 proto, ip_proto_handler_t fn);

/* fragments (ip_frag.c) */
/* Take one fragment (its IPv4 header in the zone, not yet pulled): the
 * reassembled datagram (IPv4 header in the zone, its length fields
 * rewritten) when this completed one, else NULL (b kept or dropped). */
struct pkb *ip_reass(struct pkb *b);
void ip_frag_tick(u64 now);
/* Send b (transport header in the zone + payload) as fragments that fit
 * mtu; each gets a copy of hdr (IPv4 header, no options). Consumes b. */
int ip_fragment(struct netif *ifp, struct pkb *b, const struct ip_hdr *hdr, ip4_t nexthop);
struct frag_stats {
	u32 datagrams;             /* in reassembly now */
	u64 bytes;                 /* held by them */
	u64 reassembled;
	u64 fragments_sent;
};
void ip_frag_stats(struct frag_stats *out);
void ip_frag_flush(void);                          /* tests: drop all */

/* ---- ICMP ---- */
void icmp_input(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst);
/* An error about packet `orig` (its IPv4 header at the zone's start and
 * its data following), rate-limited. orig stays the caller's. */
void icmp_send_error(struct pkb *orig, u8 type, u8 code);
struct icmp_stats {
	u64 echo_requests, echo_replies_sent, errors_sent, errors_received;
};
void icmp_stats(struct icmp_stats *out);

/* ---- UDP and sockets ---- */
void udp_input(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst);

struct sock_ops;
struct socket {
	const struct sock_ops *ops;
	int type;
	u32 refs;                       /* [atomic] */
	spinlock_t lock;
	struct waitq wq;                /* readers and writers wait here */
	struct sockaddr_in4 local, peer; /* [S] (and [U] for UDP's local) */
	bool bound, connected, closed;  /* [S] */
	bool nonblock;                  /* [S] every call as with MSG_DONTWAIT */
	bool reuseaddr, reuseport;      /* [S] SO_REUSEADDR, SO_REUSEPORT: the port rules of
					 * bind and listen read them without [S] */
	struct pkb *rq_head, *rq_tail;  /* [S] received datagrams, IPv4+UDP headers kept */
	u32 rq_bytes, rcvbuf, sndbuf;   /* [S] */
	bool rcvbuf_set;                /* [S] SO_RCVBUF given: no auto-tuning */
	u32 rcvtimeo_ms;                /* [S] SO_RCVTIMEO: 0, or how long a receive waits */
	u32 sndtimeo_ms;                /* [S] SO_SNDTIMEO: 0, or how long a send waits */
	int error;                      /* [S] pending error (e.g. ICMP unreachable) */
	void (*upcall)(struct socket *, void *);
	void *upcall_arg;
	struct sock_stats st;           /* [S] */
	struct list_node link;          /* [U] port table */
	struct list_node all;           /* the list of all sockets (REPL) */
};

struct sock_ops {
	int (*bind)(struct socket *s, const struct sockaddr_in4 *local);
	int (*connect)(struct socket *s, const struct sockaddr_in4 *peer);
	long (*send_pkb)(struct socket *s, struct pkb *b, int flags, const struct sockaddr_in4 *to);
	void (*close)(struct socket *s);
	/* stream sockets (NULL for datagrams: the generic code does it) */
	int (*listen)(struct socket *s, int backlog);
	int (*accept)(struct socket *s, struct socket **out, int flags);
	long (*recv)(struct socket *s, void *buf, u32 len, int flags);
	unsigned (*poll)(struct socket *s);
	long (*inq)(struct socket *s);         /* FIONREAD; NULL: -ENOTTY */
	int (*shutdown)(struct socket *s, int how);
	void (*destroy)(struct socket *s);     /* last reference gone */
	int (*setopt)(struct socket *s, int opt, u32 value); /* protocol options */
	int (*getopt)(struct socket *s, int opt, u32 *value); /* NULL: -ENOPROTOOPT */
	int (*tcp_info)(struct socket *s, struct sock_tcp_info *out); /* NULL: not TCP */
	int (*owner_cpu)(struct socket *s);    /* NULL: any CPU */
	u64 (*read_stamp)(struct socket *s);   /* NULL: no arrival times kept */
	const char *name;
};
extern const struct sock_ops udp_sock_ops;
/* Set up the generic part of a socket a protocol allocated (refs 1, on the
 * list of all sockets). */
void sock_init_common(struct socket *s, const struct sock_ops *ops, int type);

void sock_get(struct socket *s);
/* Wake everyone waiting on s (and epoll's watches of s->wq). */
void sock_wake(struct socket *s);
/* A reference unless the count already reached zero (an RCU reader's find). */
bool sock_tryget(struct socket *s);
void sock_put(struct socket *s);
/* Queue a received datagram (zone starting at its IPv4 header); wakes
 * readers and the upcall. Consumes b; false if dropped (buffer full). */
bool sock_queue_rcv(struct socket *s, struct pkb *b, u32 payload_len);
/* What a queued datagram costs beyond its bytes (against rcvbuf); a
 * queued pkb's hash holds its payload length plus this. */
#define SOCK_DGRAM_OVERHEAD 512u
/* Walk all sockets (the REPL); fn runs under the socket list lock. */
void sock_for_each(void (*fn)(struct socket *s, void *arg), void *arg);

int tcp_sock_create(struct socket **out);
void tcp_input(struct netif *ifp, struct pkb *b, ip4_t src, ip4_t dst);
void tcp_tick(u64 now);                  /* every CPU's timer wheel (tests) */
void tcp_tick_cpu(unsigned cpu, u64 now); /* one CPU's, every 10 ms */
void tcp_sack_set_enabled(bool on);        /* tcp.sack= (tcp_sack.c) */

int udp_bind(struct socket *s, const struct sockaddr_in4 *local);
void udp_unhash(struct socket *s);
/* Datagrams to DHCP_CLIENT_PORT arrive before an address: accept those for
 * any destination while the client runs on that interface. */
bool udp_wants_unaddressed(struct netif *ifp, const struct pkb *b);

/* ---- DHCP client ---- */
void dhcp_start(struct netif *ifp);
void dhcp_stop(struct netif *ifp);                   /* [I] held */
void dhcp_input(struct netif *ifp, struct pkb *b);   /* payload: the DHCP message */
void dhcp_tick(struct netif *ifp, u64 now);
const char *dhcp_state_name(enum dhcp_state s);

#endif
