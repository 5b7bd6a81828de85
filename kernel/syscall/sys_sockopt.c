/*
 * setsockopt and getsockopt on the sockets of sys_net.c.
 *
 * Options answered as Linux answers them: SO_REUSEADDR and SO_REUSEPORT
 * (kept by the stack, whose bind and listen follow Linux's port rules;
 * SO_REUSEPORT listeners share a port, each connection given to one by
 * its flow's hash: netstack/tcp.c), SO_KEEPALIVE, SO_RCVBUF/SO_SNDBUF
 * (Linux doubles what is set, within its limits; the stack gets the value
 * asked for), SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER (l_linger 0 aborts on
 * close; a close never waits), SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
 * SO_ACCEPTCONN, SO_ERROR,
 * TCP_NODELAY, TCP_CORK and MSG_MORE (accepted; segments are not held
 * back), TCP_INFO (Linux 6.1's struct tcp_info from sock_tcp_info: state,
 * options, RTO and RTT, MSS, windows, retransmissions, byte and segment
 * counts; the fields the stack does not keep are 0), IP_TOS (kept, not
 * put on the wire). Others: -ENOPROTOOPT (getsockopt of an IPPROTO_TCP
 * option on a UDP socket: -EOPNOTSUPP, as Linux answers).
 */
#include "kernel/syscall/sys_sock_priv.h"
#include "kernel/lib/string.h"

/* SOL_SOCKET options, Linux's numbers (those shared with net.h agree) */
#define LX_SO_REUSEADDR  2
#define LX_SO_TYPE       3
#define LX_SO_ERROR      4
#define LX_SO_SNDBUF     7
#define LX_SO_RCVBUF     8
#define LX_SO_KEEPALIVE  9
#define LX_SO_LINGER     13
#define LX_SO_REUSEPORT  15
#define LX_SO_RCVTIMEO   20
#define LX_SO_SNDTIMEO   21
#define LX_SO_ACCEPTCONN 30
#define LX_SO_PROTOCOL   38
#define LX_SO_DOMAIN     39
/* IPPROTO_TCP options */
#define LX_TCP_NODELAY 1
#define LX_TCP_CORK    3
#define LX_TCP_INFO    11

/* Linux's struct tcp_info (include/uapi/linux/tcp.h), as 6.1 has it */
struct lx_tcp_info {
	u8 state, ca_state, retransmits, probes, backoff, options, wscale, flags;
	u32 rto, ato, snd_mss, rcv_mss;
	u32 unacked, sacked, lost, retrans, fackets;
	u32 last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
	u32 pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
	u32 rcv_rtt, rcv_space, total_retrans;
	u64 pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	u32 segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	u64 delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	u32 delivered, delivered_ce;
	u64 bytes_sent, bytes_retrans;
	u32 dsack_dups, reord_seen, rcv_ooopack, snd_wnd;
};
_Static_assert(sizeof(struct lx_tcp_info) == 232, "Linux 6.1's tcp_info is 232 bytes");
_Static_assert(__builtin_offsetof(struct lx_tcp_info, total_retrans) == 100, "tcp_info layout");
_Static_assert(__builtin_offsetof(struct lx_tcp_info, snd_wnd) == 228, "tcp_info layout");
#define LX_TCPI_OPT_TIMESTAMPS 1
#define LX_TCPI_OPT_SACK       2
#define LX_TCPI_OPT_WSCALE     4
#define LX_TCP_CA_OPEN     0
#define LX_TCP_CA_RECOVERY 3
#define LX_TCP_CA_LOSS     4

static void tcp_info_linux(const struct sock_tcp_info *i, struct lx_tcp_info *o)
{
	memset(o, 0, sizeof(*o));
	/* a connection in TIME_WAIT is CLOSE to its socket's owner: Linux hands
	 * TIME_WAIT to a mini-socket and closes the socket the program holds */
	o->state = i->state == 6 ? 7 : i->state;
	o->ca_state = i->backoff ? LX_TCP_CA_LOSS : i->in_recovery ? LX_TCP_CA_RECOVERY
								     : LX_TCP_CA_OPEN;
	o->retransmits = i->backoff;   /* Linux: time-outs not yet recovered from */
	o->backoff = i->backoff;
	o->options = (u8)((i->ts ? LX_TCPI_OPT_TIMESTAMPS : 0) | (i->sack ? LX_TCPI_OPT_SACK : 0) |
			  (i->wscale ? LX_TCPI_OPT_WSCALE : 0));
	o->wscale = (u8)((i->snd_wscale & 15) | (i->rcv_wscale & 15) << 4);
	o->rto = i->rto_us;
	o->snd_mss = i->snd_mss;
	o->rcv_mss = i->adv_mss;
	o->unacked = i->unacked_segs;
	o->sacked = i->sacked_segs;
	o->pmtu = i->adv_mss + 40;     /* the interface's MTU the MSS came from */
	o->rcv_ssthresh = i->rcv_wnd;
	o->rtt = i->rtt_us;
	o->rttvar = i->rttvar_us;
	o->snd_ssthresh = i->ssthresh_segs;
	o->snd_cwnd = i->cwnd_segs;
	o->advmss = i->adv_mss;
	o->reordering = 3;             /* the duplicate-ACK threshold */
	o->rcv_rtt = i->rcv_rtt_us;
	o->rcv_space = i->rcv_wnd;
	o->total_retrans = (u32)i->total_retrans;
	o->max_pacing_rate = ~0ull;    /* no pacing */
	o->bytes_acked = i->bytes_acked;
	o->bytes_received = i->bytes_received;
	o->segs_out = (u32)i->segs_out;
	o->segs_in = (u32)i->segs_in;
	o->notsent_bytes = i->notsent_bytes;
	o->snd_wnd = i->snd_wnd;
}
/* IPPROTO_IP options */
#define LX_IP_TOS 1

static u64 timeval_ns(const s64 tv[2]) { return (u64)tv[0] * 1000000000ull + (u64)tv[1] * 1000; }

long sys_setsockopt(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sys_sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	int level = (int)a[1], opt = (int)a[2];
	u64 uval = a[3];
	s32 len = (s32)a[4];
	s32 v = 0;
	s64 tv[2] = { 0, 0 };
	bool is_tv = level == SOL_SOCKET && (opt == LX_SO_RCVTIMEO || opt == LX_SO_SNDTIMEO);
	bool is_linger = level == SOL_SOCKET && opt == LX_SO_LINGER;
	if (len < 0) {
		r = -EINVAL;
		goto out;
	}
	if (is_tv || is_linger) {
		size_t need = is_tv ? sizeof(tv) : 2 * sizeof(s32);
		if ((size_t)len < need) {
			r = -EINVAL;
			goto out;
		}
		if (copy_from_user(tv, uval, need) < 0) {
			r = -EFAULT;
			goto out;
		}
	} else if (level == SOL_SOCKET || level == IPPROTO_TCP || level == IPPROTO_IP) {
		if ((size_t)len < sizeof(s32)) {
			r = -EINVAL;
			goto out;
		}
		if (copy_from_user(&v, uval, sizeof(v)) < 0) {
			r = -EFAULT;
			goto out;
		}
	}
	r = 0;
	if (level == SOL_SOCKET) {
		switch (opt) {
		case LX_SO_REUSEADDR: r = sock_setopt(sf->s, SO_REUSEADDR, v != 0); break;
		case LX_SO_REUSEPORT: r = sock_setopt(sf->s, SO_REUSEPORT, v != 0); break;
		case LX_SO_KEEPALIVE:
			if (sf->type == LX_SOCK_STREAM)
				r = sock_setopt(sf->s, SO_KEEPALIVE, v != 0);
			if (r == 0)
				sf->keepalive = v != 0;
			break;
		case LX_SO_RCVBUF:
		case LX_SO_SNDBUF: {
			bool rcv = opt == LX_SO_RCVBUF;
			u32 want = MIN((u32)MAX(v, 0), rcv ? RMEM_MAX : WMEM_MAX);
			r = sock_setopt(sf->s, rcv ? SO_RCVBUF : SO_SNDBUF, want);
			if (r == 0)
				*(rcv ? &sf->rcvbuf : &sf->sndbuf) = MAX(want * 2, rcv ? MIN_RCVBUF : MIN_SNDBUF);
			break;
		}
		case LX_SO_RCVTIMEO:
		case LX_SO_SNDTIMEO:
			if (tv[1] < 0 || tv[1] >= 1000000) {
				r = -EDOM;
				break;
			}
			*(opt == LX_SO_RCVTIMEO ? &sf->rcvtimeo_ns : &sf->sndtimeo_ns) =
				tv[0] < 0 ? 0 : timeval_ns(tv);
			break;
		case LX_SO_LINGER: {
			s32 l[2];
			memcpy(l, tv, sizeof(l));
			if (l[0] && l[1] == 0 && sf->type == LX_SOCK_STREAM)
				r = sock_setopt(sf->s, SO_LINGER, 0);
			if (r == 0) {
				sf->linger = l[0] != 0;
				sf->linger_s = l[1];
			}
			break;
		}
		default:
			r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_TCP && sf->type == LX_SOCK_STREAM) {
		switch (opt) {
		case LX_TCP_NODELAY:
			r = sock_setopt(sf->s, TCP_NODELAY, v != 0);
			if (r == 0)
				sf->nodelay = v != 0;
			break;
		case LX_TCP_CORK: sf->cork = v != 0; break;   /* see the top */
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IP && opt == LX_IP_TOS) {
		sf->tos = v & 0xfc;
	} else {
		r = -ENOPROTOOPT;
	}
out:
	file_put(f);
	return r;
}

long sys_getsockopt(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sys_sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	int level = (int)a[1], opt = (int)a[2];
	u64 uval = a[3], ulen = a[4];
	s32 len;
	s64 big[2] = { 0, 0 };
	struct lx_tcp_info ti;
	const void *src = big;
	size_t size = sizeof(s32);
	s32 v = 0;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0) {
		r = -EFAULT;
		goto out;
	}
	if (len < 0) {
		r = -EINVAL;
		goto out;
	}
	r = 0;
	if (level == SOL_SOCKET) {
		switch (opt) {
		case LX_SO_REUSEADDR:
		case LX_SO_REUSEPORT: {
			u32 on = 0;
			sock_getopt(sf->s, opt == LX_SO_REUSEADDR ? SO_REUSEADDR : SO_REUSEPORT, &on);
			v = (s32)on;
			break;
		}
		case LX_SO_KEEPALIVE: v = sf->keepalive; break;
		case LX_SO_TYPE: v = sf->type; break;
		case LX_SO_DOMAIN: v = AF_INET; break;
		case LX_SO_PROTOCOL: v = sf->type == LX_SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP; break;
		case LX_SO_ACCEPTCONN: v = __atomic_load_n(&sf->listening, __ATOMIC_RELAXED); break;
		case LX_SO_RCVBUF: v = (s32)sf->rcvbuf; break;
		case LX_SO_SNDBUF: v = (s32)sf->sndbuf; break;
		case LX_SO_ERROR: {
			u32 e = 0;
			sock_getopt(sf->s, SO_ERROR, &e);
			v = (s32)e;
			break;
		}
		case LX_SO_RCVTIMEO:
		case LX_SO_SNDTIMEO: {
			u64 ns = opt == LX_SO_RCVTIMEO ? sf->rcvtimeo_ns : sf->sndtimeo_ns;
			big[0] = (s64)(ns / 1000000000);
			big[1] = (s64)(ns % 1000000000 / 1000);
			size = sizeof(big);
			break;
		}
		case LX_SO_LINGER: {
			s32 l[2] = { sf->linger, sf->linger_s };
			memcpy(big, l, sizeof(l));
			size = sizeof(l);
			break;
		}
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_TCP && sf->type == LX_SOCK_STREAM) {
		switch (opt) {
		case LX_TCP_NODELAY: v = sf->nodelay; break;
		case LX_TCP_CORK: v = sf->cork; break;
		case LX_TCP_INFO: {
			struct sock_tcp_info i;
			r = sock_tcp_info(sf->s, &i);
			if (r < 0)
				break;
			tcp_info_linux(&i, &ti);
			src = &ti;
			size = sizeof(ti);
			break;
		}
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IP && opt == LX_IP_TOS) {
		v = sf->tos;
	} else if (level == IPPROTO_TCP) {
		r = -EOPNOTSUPP;   /* a UDP socket: Linux's ip_getsockopt answers so */
	} else {
		r = -ENOPROTOOPT;
	}
	if (r < 0)
		goto out;
	if (size == sizeof(s32))
		memcpy(big, &v, sizeof(v));
	else if ((size_t)len < size && src == big && size == sizeof(big)) {
		r = -EINVAL;   /* Linux: a timeval needs its whole room */
		goto out;
	}
	size = MIN(size, (size_t)len);
	if (copy_to_user(uval, src, size) < 0 || copy_to_user(ulen, &(s32){ (s32)size }, sizeof(s32)) < 0)
		r = -EFAULT;
out:
	file_put(f);
	return r;
}
