/*
 * Inside TCP (netstack/tcp_*.c only).
 *
 * A connection is a struct tcb, which begins with its struct socket. Its
 * state is guarded by tcb->sk.lock [S]; the connection table and the
 * timer wheel have their own locks ([T] in tcp.c, [W] in tcp_timer.c),
 * never held while taking [S]... except that the table lock may be taken
 * under [S] to unhash. Order: [S] -> [T] -> [W].
 *
 * Segments are never sent with [S] held (a packet to ourselves comes
 * straight back into tcp_input, which takes [S]): code under the lock adds
 * them to a struct tcp_xmit list and tcp_xmit_flush sends the list after
 * the unlock.
 *
 * Sequence space: snd_una <= snd_nxt <= snd_max; the send queue holds the
 * bytes from snd_una on (snd_q, payload-only pkbs sharing the pages the
 * sender gave: zero-copy), then a FIN when fin_queued. Receive: in-order
 * bytes wait in rcv_q for the reader; out-of-order segments wait in ooo_q,
 * sorted by sequence number (b->hash), trimmed so none overlap.
 */
#ifndef NETSTACK_TCP_PRIV_H
#define NETSTACK_TCP_PRIV_H

#include "netstack/net_priv.h"
#include "netstack/tcp_wire.h"
#include "kernel/sync/rcu.h"

enum tcp_state {
	TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK,
	TCP_TIME_WAIT,
};
const char *tcp_state_name(enum tcp_state s);

/* sequence comparisons, modulo 2^32 */
static inline bool seq_lt(u32 a, u32 b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(u32 a, u32 b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(u32 a, u32 b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(u32 a, u32 b) { return (int32_t)(a - b) >= 0; }
static inline u32 seq_max(u32 a, u32 b) { return seq_gt(a, b) ? a : b; }
static inline u32 seq_min(u32 a, u32 b) { return seq_lt(a, b) ? a : b; }

#define TCP_MSS_DEFAULT 536      /* RFC 9293 §3.7.1, without an MSS option */
#define TCP_INIT_CWND 10         /* segments (RFC 6928) */
#define TCP_RTO_MIN_NS (200ULL * 1000000)
#define TCP_RTO_MAX_NS (60ULL * 1000000000ULL)
#define TCP_RTO_INIT_NS (1000ULL * 1000000)
#define TCP_DELACK_NS (40ULL * 1000000)
#define TCP_MSL_NS (30ULL * 1000000000ULL)
#define TCP_SYN_RETRIES 6
#define TCP_RETRIES 15
#define TCP_RCVBUF_DEFAULT (256u * 1024)
#define TCP_RCVBUF_MAX (4u << 20)        /* auto-tuning's ceiling */
#define TCP_SNDBUF_DEFAULT (512u * 1024)

enum tcp_timer {
	TT_REXMIT,    /* retransmission, and SYN retries; also the persist probe */
	TT_DELACK,
	TT_KEEPALIVE,
	TT_2MSL,      /* TIME_WAIT, and FIN_WAIT_2 after close */
	TT_COUNT
};

#define TCP_SACK_RANGES 16        /* the sender's scoreboard */
#define TCP_SACK_RECENT 4         /* the receiver's recent out-of-order arrivals */
struct sack_range { u32 start, end; };

struct tcp_xmit {
	struct pkb *head, *tail;
	struct netif *ifp;
};

struct tcb {
	struct socket sk;                 /* first: a tcb is a socket */
	enum tcp_state state;             /* [S] */
	/* the four-tuple (fixed once hashed) */
	ip4_t laddr, raddr;
	u16 lport, rport;
	bool hashed;                      /* [T] in the connection table */
	bool on_bound;                    /* [T] bound, not hashed: in the bound list */
	struct list_node blink;           /* [T] in the bound list */
	struct list_node hlink;           /* [T] to change, RCU to walk */
	struct rcu_head rcu;              /* freeing after a grace period */

	/* send: [S] */
	u32 iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	u32 max_snd_wnd;                  /* the largest window the peer offered (RFC 5961 §5.2) */
	u64 challenge_sec;                /* challenge ACKs sent this second (RFC 5961 §7) */
	u32 challenge_n;
	u32 snd_up;                       /* unused: no urgent data */
	struct pkb *snd_q_head, *snd_q_tail;
	u32 snd_q_bytes;                  /* bytes from snd_una on */
	bool fin_queued;                  /* a FIN follows the queue */
	u16 mss;                          /* most payload a segment carries to the peer */
	u16 adv_mss;                      /* the MSS we announced */
	bool tso;                         /* the route's NIC segments for us (tcp_route_caps) */
	u16 peer_mss;                     /* what the peer announced */
	u8 snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;
	bool nodelay, keepalive;
	bool linger0;                     /* SO_LINGER 0: close aborts */
	u32 ts_recent;                    /* last timestamp from the peer (PAWS) */
	u64 ts_recent_ns;
	/* congestion: [S] */
	u8 cc;                            /* TCP_CC_* */
	u32 cwnd, ssthresh, recover, dupacks;
	bool in_recovery;
	u32 cubic_wmax, cubic_k_ms;       /* CUBIC */
	u64 cubic_epoch_ns;
	/* RTT and retransmission: [S] */
	u64 srtt_ns, rttvar_ns, rto_ns;
	u32 rtt_seq;                      /* Karn: the segment being timed */
	u64 rtt_start_ns;
	bool rtt_timing;
	u32 backoff;                      /* consecutive time-outs */
	u64 retransmits, segs_out, segs_in, bytes_acked, bytes_received;
	u32 cubic_west;                   /* CUBIC's Reno-friendly window, bytes */
	u32 probes;                       /* unanswered persist or keepalive probes */
	/* SACK (tcp_sack.c): [S] */
	struct sack_range sacked[TCP_SACK_RANGES]; /* SACKed above snd_una, sorted */
	u8 n_sacked;
	u32 sacked_bytes;
	u32 high_rxt;                     /* RFC 6675 HighRxt: retransmitted below this */
	u64 sack_recoveries, nr_recoveries; /* recoveries entered, by kind */

	/* receive: [S] */
	u32 irs, rcv_nxt, rcv_adv;        /* rcv_adv: right edge we announced */
	struct pkb *rcv_q_head, *rcv_q_tail, *ooo_q;
	u32 rcv_q_bytes, ooo_bytes;
	u32 segs_since_ack;
	bool fin_received;                /* the peer's FIN is in sequence */
	u32 sack_recent[TCP_SACK_RECENT]; /* starts of recent out-of-order arrivals */
	u64 rcv_rtt_ns;                   /* the receiver's RTT estimate (timestamps) */
	u64 rcv_stamp_ns;                 /* when the oldest unread byte arrived */
	u64 read_stamp_ns;                /* ... of the first byte the last read returned */
	u64 rcv_space_ns;                 /* auto-tuning: this measurement began */
	u32 rcv_space_bytes;              /* auto-tuning: bytes the reader took since */
	u32 rcvbuf_grown;                 /* times auto-tuning grew the buffer */
	u8 n_sack_recent;
	bool ack_now;

	u16 cpu;                          /* the owner: whose timer wheel, fixed at birth */
	/* timers: [S] deadlines (0 = off); the wheel node is [W] */
	u64 timer[TT_COUNT];
	u64 wheel_at;                     /* [W] the deadline it is filed under */
	struct list_node wlink;           /* [W] */
	bool on_wheel;                    /* [W] */

	/* listening sockets: [S] */
	struct tcb *parent;               /* a child not yet accepted */
	struct list_node accept_q;        /* on the parent: children ready */
	struct list_node child_link;      /* on a child: in the parent's queue */
	u32 backlog, n_accept, n_synq;
	bool in_accept_q;
	u16 accept_cpu;                   /* [atomic] the CPU its owner last listened or
					   * accepted on (SO_REUSEPORT prefers it) */

	int soft_error;                   /* [S] for the reader/writer: ECONNRESET, ... */
	bool user_closed;                 /* [S] the socket's owner closed it */
	bool rd_shut, wr_shut;            /* [S] */

	/* acknowledgment watches (tcp_ack_watch, net.h): [S]; a ring in the
	 * order of their sequence numbers, fired by tcp_ack_watch_fire */
	struct tcp_ack_watch {
		u32 seq;                  /* fires when snd_una reaches it */
		void (*fn)(void *arg, u64 now_ns, u32 rexmits);
		void *arg;
		u64 rexmit0;              /* t->retransmits when it was set */
	} watch[TCP_ACK_WATCH_MAX];
	u8 watch_head, n_watch;
};

static inline struct tcb *sk_tcb(struct socket *s) { return (struct tcb *)s; }

/* tcp.c: the table and a connection's life; tcp_isn.c: ISNs and SYN cookies;
 * tcp_sock.c: the socket operations */
struct tcb *tcp_lookup(ip4_t laddr, u16 lport, ip4_t raddr, u16 rport);  /* with a ref */
/* The listener for a SYN of (raddr, rport) to (laddr, lport), with a ref:
 * one of a SO_REUSEPORT group by the flow's hash. */
struct tcb *tcp_lookup_listener(ip4_t laddr, u16 lport, ip4_t raddr, u16 rport);
int tcp_hash(struct tcb *t);
void tcp_unhash(struct tcb *t);
struct tcb *tcp_alloc(void);
u32 tcp_isn(ip4_t laddr, u16 lport, ip4_t raddr, u16 rport);
void tcp_set_state(struct tcb *t, enum tcp_state st);
/* The connection is over: unhash, stop timers, wake everyone; [S] held. */
void tcp_done(struct tcb *t);
/* A new connection from a listener's SYN ([S] of the listener held). */
struct tcb *tcp_child(struct tcb *lis, ip4_t laddr, u16 lport, ip4_t raddr, u16 rport);
void tcp_child_established(struct tcb *child);   /* [S] of the child held */
/* Fire the watches snd_una has reached; now: the ACK's time. [S] held. */
void tcp_ack_watch_fire(struct tcb *t, u64 now);
u32 tcp_rcv_window(const struct tcb *t);         /* bytes we can take now */
u8 tcp_rcv_wscale(const struct tcb *t);          /* the scale the largest buffer needs */
void tcp_wake(struct tcb *t);
/* Bind t to a local port by the port rules (*port, or an ephemeral one
 * when 0), held in the table's bound list until t is hashed: 0 or
 * -EADDRINUSE. tcp_unbind lets go of a port never hashed. */
int tcp_port_pick(struct tcb *t, ip4_t addr, u16 *port);
void tcp_unbind(struct tcb *t);
/* [Q]: every listener's accept queue and its children's links to it. */
extern spinlock_t tcp_accept_lock;
extern const struct sock_ops tcp_sock_ops;
void tcp_free_list(struct pkb *b);                /* a list of pkbs (b->next) */
/* Reset a child that was never accepted and end it (its listener closed). */
void tcp_abort_child(struct tcb *c);
/* The socket's last reference is gone: free what the connection still
 * holds, the tcb a grace period later (sock_ops.destroy). */
void tcp_destroy(struct socket *s);
/* The connection is over: every watch left fires with 0. [S] held (or the
 * last reference). */
void tcp_ack_watch_cancel(struct tcb *t);
u32 tcp_cookie_make(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 peer_isn, u16 peer_mss, u16 *mss);
/* The MSS a good cookie carries, or 0. */
u16 tcp_cookie_check(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 peer_isn, u32 cookie);
/* Every hashed connection and listener for which want(t, arg) holds (all
 * when want is NULL), each with a reference: fn(t, arg) runs without the
 * table lock (the timers, the REPL). */
void tcp_for_each(void (*fn)(struct tcb *t, void *arg), void *arg,
		  bool (*want)(struct tcb *t, void *arg));

/* tcp_input.c (tcp_input itself is in net_priv.h) */
/* TIME-WAIT is over (its 2MSL timer fired): the connection is done. [S] held. */
void tcp_time_wait_end(struct tcb *t);

/* tcp_output.c */
void tcp_output(struct tcb *t, struct tcp_xmit *x);          /* send what may go now */
void tcp_send_ack(struct tcb *t, struct tcp_xmit *x);
void tcp_send_syn(struct tcb *t, struct tcp_xmit *x);        /* SYN or SYN-ACK */
void tcp_retransmit(struct tcb *t, struct tcp_xmit *x, u32 seq, u32 len);
void tcp_send_probe(struct tcb *t, struct tcp_xmit *x);      /* zero-window probe */
/* A RST answering segment `in` (its header at the zone's start) that
 * belongs to no connection (RFC 9293 §3.10.7.1). */
void tcp_send_reset_for(struct netif *ifp, const struct tcp_hdr *th, u32 seglen, ip4_t src,
			ip4_t dst, struct tcp_xmit *x);
void tcp_send_rst(struct tcb *t, struct tcp_xmit *x);
/* A SYN-ACK carrying a cookie, for a SYN no state is kept for. */
void tcp_send_cookie_synack(const struct tcp_hdr *syn, u32 peer_isn, ip4_t src, ip4_t dst,
			    u32 cookie, u16 mss, struct tcp_xmit *x);
void tcp_xmit_flush(struct tcp_xmit *x);
/* Note what the route to the peer offers (our MSS, TSO), once per connection. */
void tcp_route_caps(struct tcb *t);
u32 tcp_flight(const struct tcb *t);
u32 tcp_now_ts(void);                                       /* our timestamp clock, 1 ms */

/* tcp_timer.c */
void tcp_timer_arm(struct tcb *t, enum tcp_timer which, u64 at);  /* [S] held */
void tcp_timer_stop(struct tcb *t, enum tcp_timer which);        /* [S] held */
void tcp_timers_stop(struct tcb *t);                             /* [S] held */
void tcp_rtt_sample(struct tcb *t, u64 rtt_ns);
void tcp_rearm_rexmit(struct tcb *t);                            /* [S] held */
void tcp_wheel_remove(struct tcb *t);                            /* before freeing t */
void tcp_wheel_stats(unsigned cpu, u64 *filed, u64 *fired, u64 *visits);

/* tcp_sack.c */
bool tcp_sack_enabled(void);
void tcp_sack_note_ooo(struct tcb *t, u32 seq);          /* receiver: data landed out of order */
unsigned tcp_sack_blocks(const struct tcb *t, struct sack_range *out, unsigned max);
u32 tcp_sack_update(struct tcb *t, const struct sack_range *blk, unsigned n); /* newly SACKed */
void tcp_sack_cumack(struct tcb *t);                     /* snd_una moved */
void tcp_sack_clear(struct tcb *t);
u32 tcp_sack_high(const struct tcb *t);                  /* the highest SACKed byte + 1 */
bool tcp_sack_is_lost(const struct tcb *t, u32 seq);
u32 tcp_sack_pipe(const struct tcb *t);
u32 tcp_sack_retransmit(struct tcb *t, struct tcp_xmit *x, u32 maxseg, bool rule3);

/* tcp_cc.c */
void tcp_cc_init(struct tcb *t);
void tcp_cc_ack(struct tcb *t, u32 acked);        /* new data acked, not in recovery */
void tcp_cc_loss(struct tcb *t);                  /* fast retransmit: enter recovery */
void tcp_cc_timeout(struct tcb *t);

/* counters */
struct tcp_stats_all {
	u64 active_opens, passive_opens, established, resets_sent, resets_received;
	u64 retransmits, timeouts, segs_in, segs_out, bad_segments, challenge_acks;
	u64 time_wait_reused, syn_dropped_backlog;
	u64 syncookies_sent, syncookies_ok, syncookies_failed;
	u64 sack_recoveries, nr_recoveries, sack_blocks_bad, sack_rexmits;
};
extern struct tcp_stats_all tcp_stats;            /* [atomic] fields */
#define TCP_STAT(f) __atomic_fetch_add(&tcp_stats.f, 1, __ATOMIC_RELAXED)

#endif
