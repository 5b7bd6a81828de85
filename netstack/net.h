/*
 * The network stack below TCP: Ethernet, ARP, IPv4 (with fragment
 * reassembly and fragmentation), routes, ICMP, UDP, the DHCP client, and the
 * socket layer that TCP and the system calls share.
 *
 * Addresses are u32 in host byte order (10.0.2.15 is 0x0a00020f); ports are
 * host-order u16. Packets travel as pkbs (zerocopy/pkb.h): headers are
 * pushed and pulled in the trailer zone and payload bytes never move, except
 * where a function below says it copies (and counts it).
 *
 * Start-up (kernel): net_init() attaches the stack to every NIC that has no
 * receive hook yet (nictest=echo keeps its NIC raw), applies `ip=`
 * (dhcp, the default; ADDR/PREFIX,GW; off) and starts the timer thread that
 * drives ARP aging, reassembly time-outs and DHCP (net_tick, 10 times a
 * second).
 *
 * Sockets. sock_create gives the caller one reference; sock_close drops it
 * (and unbinds); the socket is freed when the last reference goes. Calls on
 * one socket may come from several threads. send copies the caller's bytes
 * once into fresh pages (copy.tx_write); sock_send_pkb sends a caller's pkb
 * without a copy; recv copies once out of the received pages (copy.rx_read).
 * Blocking calls sleep on the socket's wait queue; MSG_DONTWAIT makes them
 * return -EAGAIN instead. sock_poll reports readiness now; a waiter
 * sleeps on sock_waitq() and re-checks after each wakeup.
 *
 * Errors: 0 or a positive byte count, or a negative errno; never a crash
 * on bad arguments.
 */
#ifndef NETSTACK_NET_H
#define NETSTACK_NET_H

#include "zerocopy/pkb.h"

typedef u32 ip4_t;
#define IP4(a, b, c, d) ((ip4_t)(a) << 24 | (ip4_t)(b) << 16 | (ip4_t)(c) << 8 | (ip4_t)(d))
#define IP4_ANY 0u
#define IP4_BROADCAST 0xffffffffu

/* ---- interfaces ---- */
#define NET_MAX_IFS 4

struct nic;
struct netif;

/* What `ip` showed: one interface's configuration now. */
struct netif_info {
	char name[16];
	u8 mac[6];
	u16 mtu;
	bool up;
	ip4_t addr, mask, gw;   /* 0 when not configured */
	bool dhcp;              /* configured by the DHCP client */
	const char *dhcp_state; /* "off", "selecting", "requesting", "bound", ... */
	ip4_t dhcp_server;
	u64 lease_s, lease_left_s, t1_left_s, t2_left_s;
};

void net_init(void);
/* Attach the stack to a NIC (net_init does it for every NIC); the index of
 * the new interface, or a negative errno. */
int net_attach(struct nic *nic);
int net_if_count(void);
int net_if_info(int ifindex, struct netif_info *out);
/* Configure an interface by hand: prefix 0-32, gw 0 for none; addr 0
 * removes the address. Stops the DHCP client on that interface. */
int net_if_set_addr(int ifindex, ip4_t addr, unsigned prefix, ip4_t gw);
/* Start the DHCP client on an interface (drops any address first). */
int net_if_dhcp(int ifindex);
/* The `ip=` setting: "dhcp", "off", or "A.B.C.D/PREFIX[,A.B.C.D]". */
struct ip_setting {
	enum { IP_SET_DHCP, IP_SET_STATIC, IP_SET_OFF } mode;
	ip4_t addr, gw;
	unsigned prefix;
};
int net_parse_ip_setting(const char *v, struct ip_setting *out);
/* A dotted quad at *s (advanced past it): 0 or -EINVAL. */
int net_parse_ip4(const char **s, ip4_t *out);
/* The prefix length of a netmask (its leading one bits). */
static inline unsigned net_prefix_len(ip4_t mask)
{
	unsigned n = 0;
	while (n < 32 && (mask & (0x80000000u >> n)))
		n++;
	return n;
}
/* Timers: ARP retries and aging, reassembly time-outs, DHCP. */
void net_tick(u64 now_ns);
/* The clock the stack reads (arch_clock_ns unless a test replaces it). */
void net_set_clock(u64 (*clock)(void));
u64 net_now_ns(void);

/* ---- sockets ---- */
#define SOCK_STREAM 1
#define SOCK_DGRAM 2

#define MSG_PEEK     0x02       /* stream sockets: the bytes stay queued */
#define MSG_DONTWAIT 0x40

#define POLLIN  0x001
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLRDHUP 0x2000        /* the peer shut down its sending side */

/* socket options (sock_setopt) */
#define SO_RCVBUF 8
#define SO_SNDBUF 7
#define SO_KEEPALIVE 9
#define SO_ERROR 4              /* sock_getopt only: the pending error (positive), cleared */
#define SO_NONBLOCK 0x800       /* value 1: every call as with MSG_DONTWAIT */
#define SO_RCVTIMEO 20          /* value: ms a receive waits at most, then -EAGAIN; 0: no limit */
#define SO_SNDTIMEO 21          /* value: ms a send waits for room at most, then -EAGAIN */
#define SO_LINGER 13            /* value 0 only: close aborts (RST), dropping unsent data */
#define SO_REUSEADDR 2          /* value 0/1: share a bound port (Linux's rules: tcp.c, udp.c) */
#define SO_REUSEPORT 15         /* value 0/1: listeners (datagram sockets) share a port, each
				 * connection (datagram) given to one by its flow's hash */
#define TCP_NODELAY 0x101
#define TCP_CONGESTION 0x10d    /* value: TCP_CC_NEWRENO or TCP_CC_CUBIC */
#define TCP_CC_NEWRENO 1
#define TCP_CC_CUBIC 2

struct socket;
struct waitq;

struct sockaddr_in4 {
	ip4_t addr;
	u16 port;
};

struct sock_stats {
	u64 rx_packets, rx_bytes, rx_drops;   /* rx_drops: receive buffer full */
	u64 tx_packets, tx_bytes, tx_errors;
};

int sock_create(int type, struct socket **out);
int sock_bind(struct socket *s, const struct sockaddr_in4 *local);
/* Datagram sockets: set the default destination and accept datagrams from
 * that peer only. */
int sock_connect(struct socket *s, const struct sockaddr_in4 *peer);
/* Send len bytes (one datagram) to `to`, or to the connected peer when to
 * is NULL. Returns len or a negative errno. */
long sock_sendto(struct socket *s, const void *buf, u32 len, int flags,
		 const struct sockaddr_in4 *to);
/* Zero-copy send: b's payload is the datagram; the socket takes b in every
 * case (sent, or freed on error). */
long sock_send_pkb(struct socket *s, struct pkb *b, int flags, const struct sockaddr_in4 *to);
/* Receive one datagram: copies up to len bytes (the rest of the datagram is
 * discarded, as with UDP on Linux); from gets the sender. */
long sock_recvfrom(struct socket *s, void *buf, u32 len, int flags, struct sockaddr_in4 *from);
/* Zero-copy receive: the next datagram as a pkb (payload only) for the
 * caller to own; *from gets the sender. -EAGAIN with MSG_DONTWAIT. */
int sock_recv_pkb(struct socket *s, struct pkb **out, int flags, struct sockaddr_in4 *from);
/* Stream sockets: listen for connections (backlog: accept queue length),
 * take the next one (blocking unless MSG_DONTWAIT), shut down one or both
 * directions. */
int sock_listen(struct socket *s, int backlog);
int sock_accept(struct socket *s, struct socket **out, int flags);
#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2
int sock_shutdown(struct socket *s, int how);
unsigned sock_poll(struct socket *s);
/* FIONREAD: the bytes a receive would find queued now (stream sockets);
 * -ENOTTY where the protocol does not say (datagrams, for now). */
long sock_inq(struct socket *s);
struct waitq *sock_waitq(struct socket *s);
int sock_setopt(struct socket *s, int opt, u32 value);
/* Read an option: SO_ERROR, SO_RCVBUF, SO_SNDBUF; TCP also TCP_NODELAY,
 * SO_KEEPALIVE. -ENOPROTOOPT for others. */
int sock_getopt(struct socket *s, int opt, u32 *value);
int sock_getname(struct socket *s, struct sockaddr_in4 *local, struct sockaddr_in4 *peer);
/* The CPU that owns the socket's flow (a TCP connection's: where its
 * segments arrive and its timers run), or -1. A program that works the
 * socket from that CPU keeps the flow on one queue pair: the host steers a
 * flow's receive queue after the queue it was last sent on. */
int sock_owner_cpu(struct socket *s);
/* When the first byte the last receive returned arrived from the network
 * (net_now_ns), or 0 when the protocol keeps no such time (stream sockets
 * do). */
u64 sock_read_stamp(struct socket *s);
void sock_stats(struct socket *s, struct sock_stats *out);
/* A TCP connection as it stands (getsockopt TCP_INFO; in-kernel services
 * that report on their connections). state uses Linux's numbers (1
 * ESTABLISHED, 2 SYN_SENT, 3 SYN_RECV, 4 FIN_WAIT1, 5 FIN_WAIT2, 6
 * TIME_WAIT, 7 CLOSE, 8 CLOSE_WAIT, 9 LAST_ACK, 10 LISTEN, 11 CLOSING);
 * windows in segments where Linux gives segments. */
struct sock_tcp_info {
	u8 state;
	u8 backoff;                        /* consecutive time-outs */
	bool ts, sack, wscale;             /* options in use */
	bool in_recovery;                  /* fast recovery (SACK or NewReno) */
	u8 snd_wscale, rcv_wscale;
	u32 rto_us, rtt_us, rttvar_us;     /* rtt: the smoothed estimate */
	u32 rcv_rtt_us;                    /* the receiver's estimate (timestamps) */
	u32 snd_mss, adv_mss;              /* what we send, what we announced */
	u32 cwnd_segs, ssthresh_segs;      /* ssthresh 0x7fffffff: not set yet */
	u32 unacked_segs, sacked_segs;     /* in flight, SACKed above snd_una */
	u32 snd_wnd, rcv_wnd;              /* bytes: the peer's, ours now */
	u32 notsent_bytes;                 /* queued, not sent yet */
	u64 total_retrans, segs_out, segs_in, bytes_acked, bytes_received;
};
/* 0, or -EOPNOTSUPP for a socket that is not TCP. */
int sock_tcp_info(struct socket *s, struct sock_tcp_info *out);
/* In-kernel users: fn(s, arg) runs (in the receiving thread, no lock held)
 * whenever data arrives; it must not sleep. */
void sock_set_upcall(struct socket *s, void (*fn)(struct socket *s, void *arg), void *arg);
/* Stream sockets, for in-kernel services that time their responses: call
 * fn(arg, now_ns, rexmits) once the peer has acknowledged every byte queued
 * on s so far. fn runs exactly once for each call that returned 0: with the
 * time of the acknowledgment (net_now_ns, never 0; from within this call
 * when nothing is outstanding), or with now_ns = 0 if the connection ends
 * first (reset, time-out, abort); rexmits is the number of segments the
 * connection retransmitted between the call and then. It runs in TCP's
 * receive path with the socket's lock held: it must not sleep, nor call
 * into this socket. Watches on one socket fire in the order they were set;
 * TCP_ACK_WATCH_MAX may wait at a time. Returns 0, -EBUSY (that many wait
 * already), -ENOTCONN (not connected, or closed), -EOPNOTSUPP (not TCP). */
#define TCP_ACK_WATCH_MAX 4
int tcp_ack_watch(struct socket *s, void (*fn)(void *arg, u64 now_ns, u32 rexmits), void *arg);
void sock_close(struct socket *s);

/* ---- drop reasons (counters net.drop.<name>) ---- */
#define NET_DROPS(X)                                                            \
	X(eth_short, "frame shorter than an Ethernet header")                  \
	X(eth_not_ours, "frame for another MAC address")                        \
	X(eth_too_long, "frame longer than the MTU allows (not a coalesced one)") \
	X(eth_vlan, "802.1Q-tagged frame (VLANs are not supported)")            \
	X(eth_proto, "EtherType the stack does not speak")                      \
	X(no_if, "frame from a NIC with no interface")                          \
	X(arp_bad, "malformed ARP packet")                                      \
	X(arp_not_for_us, "ARP request for another address")                    \
	X(arp_unresolved, "packet waited for an ARP reply that never came")     \
	X(arp_queue_full, "too many packets waiting for ARP")                   \
	X(arp_table_full, "ARP table full of unresolved entries")               \
	X(ip_short, "IPv4 packet shorter than its header")                      \
	X(ip_version, "not IPv4 or header length below 20")                     \
	X(ip_csum, "bad IPv4 header checksum")                                  \
	X(ip_len, "IPv4 total length beyond the frame or below the header")     \
	X(ip_options, "malformed IPv4 options")                                 \
	X(ip_not_ours, "IPv4 packet for another address (no forwarding)")       \
	X(ip_src, "IPv4 source address is broadcast or multicast")              \
	X(ip_proto, "IPv4 protocol with no handler")                            \
	X(no_route, "no route to the destination")                              \
	X(no_addr, "sending needs an address the interface does not have")      \
	X(frag_too_big, "fragments beyond 65535 bytes")                         \
	X(frag_overlap, "overlapping fragments (the datagram is dropped)")      \
	X(frag_dup, "duplicate fragment")                                       \
	X(frag_too_many, "too many fragments for one datagram")                 \
	X(frag_bad, "malformed fragment")                                       \
	X(frag_mem, "reassembly memory or datagram limit reached")              \
	X(frag_timeout, "datagram not completed in time (fragments dropped)")   \
	X(frag_df, "too big to send and DF set")                                \
	X(icmp_short, "ICMP message shorter than its header")                   \
	X(icmp_csum, "bad ICMP checksum")                                       \
	X(icmp_type, "ICMP type not handled")                                   \
	X(icmp_rate, "ICMP error not sent: rate limit")                         \
	X(udp_short, "UDP datagram shorter than its header")                    \
	X(udp_len, "UDP length field disagrees with the packet")                \
	X(udp_csum, "bad UDP checksum")                                         \
	X(udp_no_socket, "UDP datagram for a port with no socket")              \
	X(udp_rcvbuf, "UDP datagram dropped: receive buffer full")              \
	X(dhcp_bad, "malformed or unexpected DHCP message")                     \
	X(tcp_short, "TCP segment shorter than its header")                     \
	X(tcp_csum, "bad TCP checksum")                                         \
	X(tcp_no_conn, "TCP segment for no connection (answered with RST)")     \
	X(tcp_window, "TCP segment outside the receive window")                 \
	X(tcp_paws, "TCP segment with an old timestamp (PAWS)")                 \
	X(tcp_rst_ignored, "TCP RST not exactly at the expected sequence")      \
	X(tcp_syn_ignored, "TCP SYN on a synchronized connection")              \
	X(tcp_bad_ack, "TCP segment acknowledging data never sent")             \
	X(tcp_old_ack, "TCP segment acknowledging below SND.UNA - MAX.SND.WND (RFC 5961)") \
	X(tcp_backlog, "TCP SYN dropped: the listen queue is full")             \
	X(tcp_accept_full, "TCP cookie ACK dropped: the accept queue is full (the peer resends)") \
	X(tcp_rcvbuf, "TCP data beyond the receive buffer")                     \
	X(nomem, "no memory for a packet")                                      \
	X(tx_error, "the NIC refused a packet")

enum net_drop {
#define NET_DROP_ENUM(name, text) NET_DROP_##name,
	NET_DROPS(NET_DROP_ENUM)
#undef NET_DROP_ENUM
	NET_DROP_COUNT
};
const char *net_drop_name(enum net_drop r);
const char *net_drop_text(enum net_drop r);
u64 net_drop_count(enum net_drop r);    /* sum over CPUs */

#endif
