/*
 * TCP: the connection table, initial sequence numbers (RFC 6528), state
 * changes, and the socket operations (listen, accept, connect, send, recv,
 * shutdown, close, poll, options). Segment processing is in tcp_input.c,
 * building segments in tcp_output.c, timers in tcp_timer.c, congestion
 * control in tcp_cc.c. Locks: see tcp_priv.h.
 *
 * References: the table holds one on every hashed connection; the owner of
 * the socket holds one (accept hands the queue's over). tcp_done unhashes;
 * the socket is freed when the last goes, its memory a grace period later.
 *
 * Lookups take no lock (RCU): a segment's connection is found by walking
 * its bucket inside rcu_read_lock and taking a reference unless the count
 * already reached zero. Writers (hash, unhash) hold [T]; the walk sees a
 * connection either in the bucket or not, and a removed one stays readable
 * until the grace period ends.
 */
#include "kernel/sync/rcu.h"
#include "netstack/tcp_priv.h"
#include "kernel/lib/string.h"

#define TCP_HASH 1024
#define EPHEMERAL_LO 49152
#define EPHEMERAL_HI 65535

struct tcp_stats_all tcp_stats;

static struct list_node conns[TCP_HASH];   /* [T] */
static struct list_node listeners;          /* [T] */
static bool table_ready;                    /* [T] */
static u32 nconns;                          /* [T] */
static spinlock_t table_lock = SPINLOCK_INIT("tcp_table");
static spinlock_t accept_lock = SPINLOCK_INIT("tcp_accept"); /* [Q] accept queues */
static u16 next_port = EPHEMERAL_LO;        /* [T] */

static const char *const state_names[] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

const char *tcp_state_name(enum tcp_state s)
{
	return (unsigned)s <= TCP_TIME_WAIT ? state_names[s] : "?";
}

/* ---- the table ---- */

static void table_init_locked(void)
{
	if (table_ready)
		return;
	for (int i = 0; i < TCP_HASH; i++)
		list_init(&conns[i]);
	list_init(&listeners);
	__atomic_store_n(&table_ready, true, __ATOMIC_RELEASE);
}

static u32 bucket(ip4_t la, u16 lp, ip4_t ra, u16 rp)
{
	u32 h = la * 0x9e3779b1u ^ ra * 0x85ebca77u ^ ((u32)lp << 16 | rp) * 0xc2b2ae3du;
	return (h ^ (h >> 15)) % TCP_HASH;
}

struct tcb *tcp_lookup(ip4_t la, u16 lp, ip4_t ra, u16 rp)
{
	struct tcb *found = NULL;
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return NULL;
	rcu_read_lock();
	struct list_node *it;
	list_for_each_rcu(it, &conns[bucket(la, lp, ra, rp)]) {
		struct tcb *t = list_entry(it, struct tcb, hlink);
		if (t->lport == lp && t->rport == rp && t->laddr == la && t->raddr == ra) {
			if (sock_tryget(&t->sk))
				found = t;
			break; /* (one being freed: as if already gone) */
		}
	}
	rcu_read_unlock();
	return found;
}

struct tcb *tcp_lookup_listener(ip4_t la, u16 lp)
{
	struct tcb *found = NULL;
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return NULL;
	rcu_read_lock();
	struct list_node *it;
	list_for_each_rcu(it, &listeners) {
		struct tcb *t = list_entry(it, struct tcb, hlink);
		if (t->lport == lp && (t->laddr == la || t->laddr == 0) &&
		    (!found || t->laddr == la))
			found = t;
	}
	if (found && !sock_tryget(&found->sk))
		found = NULL;
	rcu_read_unlock();
	return found;
}

/* Is (la, lp) taken by a listener or a bound-but-unhashed socket? [T] */
static bool port_in_use(ip4_t la, u16 lp)
{
	struct list_node *it;
	list_for_each(it, &listeners) {
		struct tcb *t = list_entry(it, struct tcb, hlink);
		if (t->lport == lp && (t->laddr == la || !t->laddr || !la))
			return true;
	}
	for (int i = 0; i < TCP_HASH; i++) {
		list_for_each(it, &conns[i]) {
			struct tcb *t = list_entry(it, struct tcb, hlink);
			if (t->lport == lp && (t->laddr == la || !la) && t->state != TCP_TIME_WAIT)
				return true;
		}
	}
	return false;
}

int tcp_hash(struct tcb *t)
{
	spin_lock(&table_lock);
	table_init_locked();
	int err = 0;
	if (t->hashed) {
		err = -EINVAL;
	} else if (t->state == TCP_LISTEN) {
		list_push_back_rcu(&listeners, &t->hlink);
	} else {
		list_push_back_rcu(&conns[bucket(t->laddr, t->lport, t->raddr, t->rport)], &t->hlink);
		nconns++;
	}
	if (!err) {
		t->hashed = true;
		sock_get(&t->sk);
	}
	spin_unlock(&table_lock);
	return err;
}

void tcp_unhash(struct tcb *t)
{
	bool was;
	spin_lock(&table_lock);
	was = t->hashed;
	if (was) {
		list_remove_rcu(&t->hlink);
		if (t->state != TCP_LISTEN)
			nconns--;
		t->hashed = false;
	}
	spin_unlock(&table_lock);
	if (was)
		sock_put(&t->sk);
}

/* Every hashed connection and listener with a reference, for the timers
 * and the REPL: fn(t, arg) runs without the table lock. */
void tcp_for_each(void (*fn)(struct tcb *t, void *arg), void *arg, bool (*want)(struct tcb *t, void *arg))
{
	enum { BATCH = 64 };
	struct tcb *batch[BATCH];
	int n = 0;
	u32 b = 0;
	bool did_listeners = false;
	for (;;) {
		n = 0;
		spin_lock(&table_lock);
		if (!table_ready) {
			spin_unlock(&table_lock);
			return;
		}
		struct list_node *it;
		if (!did_listeners) {
			list_for_each(it, &listeners) {
				struct tcb *t = list_entry(it, struct tcb, hlink);
				if (n < BATCH && (!want || want(t, arg))) {
					sock_get(&t->sk);
					batch[n++] = t;
				}
			}
			did_listeners = true;
		}
		for (; b < TCP_HASH && n < BATCH - 16; b++) {
			list_for_each(it, &conns[b]) {
				struct tcb *t = list_entry(it, struct tcb, hlink);
				if (n < BATCH && (!want || want(t, arg))) {
					sock_get(&t->sk);
					batch[n++] = t;
				}
			}
		}
		spin_unlock(&table_lock);
		for (int i = 0; i < n; i++) {
			fn(batch[i], arg);
			sock_put(&batch[i]->sk);
		}
		if (b >= TCP_HASH)
			return;
	}
}

/* ---- initial sequence numbers: RFC 6528, ISN = M + F(4-tuple, secret)
 * with F a SipHash-2-4 and M a 4 us clock ---- */

static u64 secret[2];

static u64 rotl(u64 x, int b) { return (x << b) | (x >> (64 - b)); }

static void sipround(u64 v[4])
{
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

/* SipHash-2-4 of two 64-bit words. */
static u64 siphash2(u64 m0, u64 m1)
{
	u64 v[4] = { secret[0] ^ 0x736f6d6570736575ULL, secret[1] ^ 0x646f72616e646f6dULL,
		     secret[0] ^ 0x6c7967656e657261ULL, secret[1] ^ 0x7465646279746573ULL };
	u64 m[3] = { m0, m1, 16ULL << 56 };
	for (int i = 0; i < 3; i++) {
		v[3] ^= m[i];
		sipround(v);
		sipround(v);
		v[0] ^= m[i];
	}
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

u32 tcp_isn(ip4_t la, u16 lp, ip4_t ra, u16 rp)
{
	if (!secret[0] && !secret[1]) {
		/* no hardware entropy source yet: the boot clock and the TSC
		 * (arch_cycles) differ from boot to boot */
		u64 s0 = net_now_ns() ^ arch_cycles() * 0x9e3779b97f4a7c15ULL;
		secret[0] = s0 | 1;
		secret[1] = rotl(s0, 29) ^ 0x2545f4914f6cdd1dULL;
	}
	u64 f = siphash2((u64)la << 32 | ra, (u64)lp << 16 | rp);
	return (u32)(net_now_ns() / 4000) + (u32)f;
}

/* ---- connections ---- */

static const struct sock_ops tcp_sock_ops;

struct tcb *tcp_alloc(void)
{
	struct tcb *t = kzalloc(sizeof(*t));
	if (!t)
		return NULL;
	sock_init_common(&t->sk, &tcp_sock_ops, SOCK_STREAM);
	t->sk.rcvbuf = TCP_RCVBUF_DEFAULT;
	t->sk.sndbuf = TCP_SNDBUF_DEFAULT;
	t->state = TCP_CLOSED;
	t->mss = TCP_MSS_DEFAULT;
	t->peer_mss = TCP_MSS_DEFAULT;
	t->rto_ns = TCP_RTO_INIT_NS;
	t->cc = TCP_CC_CUBIC;
	/* owned by the CPU it is born on: a passive open's SYN arrived on the
	 * receive queue steered to it; an active open's caller runs there */
	t->cpu = (u16)this_cpu()->id;
	list_init(&t->hlink);
	list_init(&t->accept_q);
	list_init(&t->child_link);
	return t;
}

int tcp_sock_create(struct socket **out)
{
	struct tcb *t = tcp_alloc();
	if (!t)
		return -ENOMEM;
	*out = &t->sk;
	return 0;
}

void tcp_set_state(struct tcb *t, enum tcp_state st)
{
	if (st == TCP_ESTABLISHED && t->state != TCP_ESTABLISHED)
		TCP_STAT(established);
	t->state = st;
}

void tcp_wake(struct tcb *t)
{
	waitq_wake_all(&t->sk.wq);
	void (*up)(struct socket *, void *) = t->sk.upcall;
	if (up)
		up(&t->sk, t->sk.upcall_arg);
}

static void free_list(struct pkb *b)
{
	while (b) {
		struct pkb *n = b->next;
		pkb_free(b);
		b = n;
	}
}

static void abort_child(struct tcb *c);
static void ack_watch_cancel(struct tcb *t);

void tcp_done(struct tcb *t)
{
	tcp_set_state(t, TCP_CLOSED);
	ack_watch_cancel(t);
	tcp_timers_stop(t);
	free_list(t->snd_q_head);
	t->snd_q_head = t->snd_q_tail = NULL;
	t->snd_q_bytes = 0;
	free_list(t->ooo_q);
	t->ooo_q = NULL;
	t->ooo_bytes = 0;
	/* a child never accepted leaves its listener's queue */
	spin_lock(&accept_lock);
	struct tcb *p = t->parent;
	if (p) {
		if (t->in_accept_q) {
			list_remove(&t->child_link);
			t->in_accept_q = false;
			p->n_accept--;
		} else {
			p->n_synq--;
		}
		t->parent = NULL;
	}
	spin_unlock(&accept_lock);
	if (p) {
		sock_put(&t->sk);   /* the listener's reference */
		sock_put(&p->sk);   /* the child's reference on the listener */
	}
	tcp_unhash(t);
	tcp_wake(t);
}

u32 tcp_rcv_window(const struct tcb *t)
{
	u32 used = t->rcv_q_bytes + t->ooo_bytes;
	return used >= t->sk.rcvbuf ? 0 : t->sk.rcvbuf - used;
}

struct tcb *tcp_child(struct tcb *lis, ip4_t la, u16 lp, ip4_t ra, u16 rp)
{
	struct tcb *c = tcp_alloc();
	if (!c)
		return NULL;
	c->laddr = la;
	c->lport = lp;
	c->raddr = ra;
	c->rport = rp;
	c->sk.rcvbuf = lis->sk.rcvbuf;
	c->sk.rcvbuf_set = lis->sk.rcvbuf_set;
	c->sk.sndbuf = lis->sk.sndbuf;
	c->nodelay = lis->nodelay;
	c->keepalive = lis->keepalive;
	c->cc = lis->cc;
	c->sk.local = (struct sockaddr_in4){ la, lp };
	c->sk.peer = (struct sockaddr_in4){ ra, rp };
	c->sk.bound = c->sk.connected = true;
	spin_lock(&accept_lock);
	c->parent = lis;
	lis->n_synq++;
	spin_unlock(&accept_lock);
	sock_get(&lis->sk);   /* the child's reference on its listener */
	/* the listener's reference on the child is the allocation's */
	return c;
}

void tcp_child_established(struct tcb *c)
{
	struct tcb *p;
	spin_lock(&accept_lock);
	p = c->parent;
	if (p && !c->in_accept_q) {
		p->n_synq--;
		p->n_accept++;
		list_push_back(&p->accept_q, &c->child_link);
		c->in_accept_q = true;
	}
	spin_unlock(&accept_lock);
	if (p)
		tcp_wake(p);
}

/* ---- socket operations ---- */

static int tcp_bind(struct socket *s, const struct sockaddr_in4 *local)
{
	struct tcb *t = sk_tcb(s);
	if (local->addr && !net_is_local(local->addr))
		return -EADDRNOTAVAIL;
	spin_lock(&s->lock);
	int err = 0;
	if (s->bound || t->state != TCP_CLOSED)
		err = -EINVAL;
	spin_unlock(&s->lock);
	if (err)
		return err;
	u16 port = local->port;
	spin_lock(&table_lock);
	table_init_locked();
	if (port == 0) {
		for (u32 n = 0; n <= EPHEMERAL_HI - EPHEMERAL_LO && !port; n++) {
			u16 p = next_port;
			next_port = p == EPHEMERAL_HI ? EPHEMERAL_LO : (u16)(p + 1);
			if (!port_in_use(local->addr, p))
				port = p;
		}
		if (!port)
			err = -EADDRINUSE;
	} else if (port_in_use(local->addr, port)) {
		err = -EADDRINUSE;
	}
	spin_unlock(&table_lock);
	if (err)
		return err;
	spin_lock(&s->lock);
	t->laddr = local->addr;
	t->lport = port;
	s->local = (struct sockaddr_in4){ local->addr, port };
	s->bound = true;
	spin_unlock(&s->lock);
	return 0;
}

static int tcp_listen(struct socket *s, int backlog)
{
	struct tcb *t = sk_tcb(s);
	if (!s->bound) {
		struct sockaddr_in4 any = { 0, 0 };
		int err = tcp_bind(s, &any);
		if (err)
			return err;
	}
	spin_lock(&s->lock);
	int err = 0;
	if (t->state == TCP_LISTEN) {
		t->backlog = (u32)MAX(1, MIN(backlog, 4096));
	} else if (t->state != TCP_CLOSED) {
		err = -EINVAL;
	} else {
		t->backlog = (u32)MAX(1, MIN(backlog, 4096));
		tcp_set_state(t, TCP_LISTEN);
	}
	spin_unlock(&s->lock);
	if (!err && !t->hashed) {
		/* a second listener on the port would have failed at bind */
		err = tcp_hash(t);
	}
	return err;
}

static int tcp_accept(struct socket *s, struct socket **out, int flags)
{
	struct tcb *t = sk_tcb(s);
	for (;;) {
		struct tcb *c = NULL;
		spin_lock(&accept_lock);
		if (!list_empty(&t->accept_q)) {
			c = list_entry(t->accept_q.next, struct tcb, child_link);
			list_remove(&c->child_link);
			c->in_accept_q = false;
			c->parent = NULL;
			t->n_accept--;
		}
		spin_unlock(&accept_lock);
		if (c) {
			sock_put(&t->sk); /* the child's reference on the listener */
			*out = &c->sk;    /* the listener's reference goes to the caller */
			return 0;
		}
		if (t->state != TCP_LISTEN)
			return -EINVAL;
		if (flags & MSG_DONTWAIT)
			return -EAGAIN;
		wait_event(&s->wq, !list_empty(&t->accept_q) || READ_ONCE(t->state) != TCP_LISTEN);
	}
}

static int tcp_connect(struct socket *s, const struct sockaddr_in4 *peer)
{
	struct tcb *t = sk_tcb(s);
	if (!peer->addr || !peer->port || peer->addr == IP4_BROADCAST)
		return -EINVAL;
	ip4_t src = t->laddr;
	if (!src) {
		struct netif *ifp;
		ip4_t nh;
		if (net_is_local(peer->addr))
			src = peer->addr;
		else if (route_lookup(peer->addr, &ifp, &nh, &src) != 0 || !src)
			return -ENETUNREACH;
	}
	if (!s->bound) {
		struct sockaddr_in4 l = { 0, 0 };
		int err = tcp_bind(s, &l);
		if (err)
			return err;
	}
	struct tcp_xmit x = { 0 };
	spin_lock(&s->lock);
	if (t->state != TCP_CLOSED) {
		int st = t->state;
		spin_unlock(&s->lock);
		return st == TCP_SYN_SENT ? -EALREADY : -EISCONN;
	}
	t->laddr = src;
	t->raddr = peer->addr;
	t->rport = peer->port;
	s->local.addr = src;
	s->peer = *peer;
	s->connected = true;
	t->iss = tcp_isn(t->laddr, t->lport, t->raddr, t->rport);
	t->snd_una = t->snd_nxt = t->snd_max = t->iss;
	tcp_set_state(t, TCP_SYN_SENT);
	int err = tcp_hash(t);
	if (err) {
		tcp_set_state(t, TCP_CLOSED);
		spin_unlock(&s->lock);
		return err;
	}
	TCP_STAT(active_opens);
	tcp_send_syn(t, &x);
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	if (s->nonblock && READ_ONCE(t->state) == TCP_SYN_SENT)
		return -EINPROGRESS;
	wait_event(&s->wq, READ_ONCE(t->state) != TCP_SYN_SENT);
	spin_lock(&s->lock);
	err = t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT ? 0
	      : t->soft_error ? t->soft_error : -ECONNREFUSED;
	spin_unlock(&s->lock);
	return err;
}

/* Append b's payload to the send queue (b is consumed). */
static void snd_q_append(struct tcb *t, struct pkb *b)
{
	pkb_hdr_reset(b);
	b->flags = 0;
	b->gso_size = b->gso_type = 0;
	b->next = NULL;
	t->snd_q_bytes += b->len;
	if (t->snd_q_tail)
		t->snd_q_tail->next = b;
	else
		t->snd_q_head = b;
	t->snd_q_tail = b;
}

static bool can_send(const struct tcb *t)
{
	return t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT;
}

static long tcp_send_pkb(struct socket *s, struct pkb *b, int flags, const struct sockaddr_in4 *to)
{
	(void)to;
	struct tcb *t = sk_tcb(s);
	u32 len = b->len;
	bool nb = (flags & MSG_DONTWAIT) || s->nonblock;
	for (;;) {
		spin_lock(&s->lock);
		int err = 0;
		if (t->soft_error)
			err = t->soft_error;
		else if (t->wr_shut || (!can_send(t) && t->state != TCP_SYN_SENT &&
					t->state != TCP_SYN_RECEIVED))
			err = t->state == TCP_CLOSED && !s->connected ? -ENOTCONN : -EPIPE;
		if (err) {
			spin_unlock(&s->lock);
			pkb_free(b);
			return err;
		}
		if (can_send(t) && t->snd_q_bytes < s->sndbuf) {
			struct tcp_xmit x = { 0 };
			snd_q_append(t, b);
			s->st.tx_packets++;
			s->st.tx_bytes += len;
			tcp_output(t, &x);
			spin_unlock(&s->lock);
			tcp_xmit_flush(&x);
			return len;
		}
		spin_unlock(&s->lock);
		if (nb) {
			pkb_free(b);
			return -EAGAIN;
		}
#define SEND_READY ((can_send(t) && READ_ONCE(t->snd_q_bytes) < s->sndbuf) ||                \
		    READ_ONCE(t->soft_error) || READ_ONCE(t->wr_shut) ||                        \
		    (!can_send(t) && READ_ONCE(t->state) != TCP_SYN_SENT &&                     \
		     READ_ONCE(t->state) != TCP_SYN_RECEIVED))
		if (s->sndtimeo_ms) {
			if (!wait_event_timeout(&s->wq, SEND_READY, s->sndtimeo_ms * 1000000ULL)) {
				pkb_free(b);
				return -EAGAIN; /* the peer took nothing for that long */
			}
			continue;
		}
		wait_event(&s->wq, SEND_READY);
#undef SEND_READY
	}
}

/* After the reader took bytes: announce the window if it opened enough
 * (RFC 9293 §3.8.6.2.2: by an MSS or half the buffer). [S] held. */
static void window_update(struct tcb *t, struct tcp_xmit *x)
{
	if (t->state < TCP_ESTABLISHED || t->state == TCP_TIME_WAIT)
		return;
	u32 wnd = tcp_rcv_window(t), announced = t->rcv_adv - t->rcv_nxt;
	if (wnd > announced && wnd - announced >= MIN((u32)t->mss * 2, t->sk.rcvbuf / 2))
		tcp_send_ack(t, x);
}

/* Receive-buffer auto-tuning (the idea of Dynamic Right-Sizing): once an
 * RTT, compare what the reader took in that RTT with the buffer; a sender
 * limited by our window can double its rate each RTT in slow start, so
 * the buffer grows to four times the reader's take, up to
 * TCP_RCVBUF_MAX. A buffer set with SO_RCVBUF stays as set; without an RTT
 * estimate (no timestamps, nothing sent) nothing changes. [S] held. */
static void rcv_autotune(struct tcb *t, u32 took)
{
	if (t->sk.rcvbuf_set || t->sk.rcvbuf >= TCP_RCVBUF_MAX)
		return;
	u64 rtt = t->rcv_rtt_ns ? t->rcv_rtt_ns : t->srtt_ns;
	u64 now = net_now_ns();
	if (!t->rcv_space_ns || !rtt) {
		t->rcv_space_ns = now;
		t->rcv_space_bytes = 0;
		return;
	}
	t->rcv_space_bytes += took;
	u64 elapsed = now - t->rcv_space_ns;
	if (elapsed < rtt)
		return;
	u64 per_rtt = (u64)t->rcv_space_bytes * rtt / elapsed;
	u64 want = MIN(4 * per_rtt, (u64)TCP_RCVBUF_MAX);
	if (want > t->sk.rcvbuf) {
		t->sk.rcvbuf = (u32)want;
		t->rcvbuf_grown++;
	}
	t->rcv_space_ns = now;
	t->rcv_space_bytes = 0;
}

u8 tcp_rcv_wscale(const struct tcb *t)
{
	u32 most = t->sk.rcvbuf_set ? t->sk.rcvbuf : MAX(t->sk.rcvbuf, TCP_RCVBUF_MAX);
	u8 ws = 0;
	while (ws < TCP_MAX_WSCALE && (most >> ws) > 0xffff)
		ws++;
	return ws;
}

static long tcp_recv(struct socket *s, void *buf, u32 len, int flags)
{
	struct tcb *t = sk_tcb(s);
	bool nb = (flags & MSG_DONTWAIT) || s->nonblock;
	for (;;) {
		spin_lock(&s->lock);
		if (t->rcv_q_head) {
			u32 done = 0;
			/* (bytes left unread keep the older stamp: an early one) */
			t->read_stamp_ns = t->rcv_stamp_ns;
			while (done < len && t->rcv_q_head) {
				struct pkb *b = t->rcv_q_head;
				u32 n = pkb_copy_out(b, 0, (u8 *)buf + done, len - done);
				done += n;
				if (n == b->len) {
					t->rcv_q_head = b->next;
					if (!t->rcv_q_head)
						t->rcv_q_tail = NULL;
					pkb_free(b);
				} else {
					pkb_advance(b, n);
				}
				t->rcv_q_bytes -= n;
			}
			s->st.rx_bytes += done;
			struct tcp_xmit x = { 0 };
			rcv_autotune(t, done);
			window_update(t, &x);
			spin_unlock(&s->lock);
			tcp_xmit_flush(&x);
			return done;
		}
		int err = t->soft_error;
		bool eof = t->fin_received || t->rd_shut || t->state == TCP_CLOSED;
		spin_unlock(&s->lock);
		if (err)
			return err;
		if (eof)
			return t->state == TCP_CLOSED && !s->connected ? -ENOTCONN : 0;
		if (len == 0)
			return 0;
		if (nb)
			return -EAGAIN;
		if (s->rcvtimeo_ms) {
			if (!wait_event_timeout(&s->wq, READ_ONCE(t->rcv_q_head) ||
						READ_ONCE(t->fin_received) || READ_ONCE(t->soft_error) ||
						READ_ONCE(t->state) == TCP_CLOSED,
						s->rcvtimeo_ms * 1000000ULL))
				return -EAGAIN;
			continue;
		}
		wait_event(&s->wq, READ_ONCE(t->rcv_q_head) || READ_ONCE(t->fin_received) ||
					   READ_ONCE(t->soft_error) || READ_ONCE(t->state) == TCP_CLOSED);
	}
}

static unsigned tcp_poll(struct socket *s)
{
	struct tcb *t = sk_tcb(s);
	unsigned m = 0;
	spin_lock(&s->lock);
	if (t->state == TCP_LISTEN) {
		if (!list_empty(&t->accept_q))
			m |= POLLIN;
	} else {
		if (t->rcv_q_head || t->fin_received || t->rd_shut)
			m |= POLLIN;
		if (can_send(t) && !t->wr_shut && t->snd_q_bytes < s->sndbuf)
			m |= POLLOUT;
		if (t->soft_error)
			m |= POLLERR;
		if (t->state == TCP_CLOSED && s->connected)
			m |= POLLHUP;
		if (t->fin_received && t->wr_shut)
			m |= POLLHUP;
	}
	spin_unlock(&s->lock);
	return m;
}

/* Queue our FIN (RFC 9293 §3.10.4). [S] held. */
static void send_fin(struct tcb *t, struct tcp_xmit *x)
{
	if (t->fin_queued)
		return;
	switch (t->state) {
	case TCP_ESTABLISHED:
		tcp_set_state(t, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		tcp_set_state(t, TCP_LAST_ACK);
		break;
	default:
		return;
	}
	t->fin_queued = true;
	tcp_output(t, x);
}

static int tcp_shutdown(struct socket *s, int how)
{
	struct tcb *t = sk_tcb(s);
	struct tcp_xmit x = { 0 };
	spin_lock(&s->lock);
	int err = t->state == TCP_CLOSED || t->state == TCP_LISTEN ? -ENOTCONN : 0;
	if (!err && (how == SHUT_RD || how == SHUT_RDWR))
		t->rd_shut = true;
	if (!err && (how == SHUT_WR || how == SHUT_RDWR)) {
		t->wr_shut = true;
		send_fin(t, &x);
	}
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	tcp_wake(t);
	return err;
}

static void abort_child(struct tcb *c)
{
	struct tcp_xmit x = { 0 };
	spin_lock(&c->sk.lock);
	if (c->state != TCP_CLOSED) {
		tcp_send_rst(c, &x);
		tcp_done(c);
	}
	spin_unlock(&c->sk.lock);
	tcp_xmit_flush(&x);
}

static void tcp_close(struct socket *s)
{
	struct tcb *t = sk_tcb(s);
	struct tcp_xmit x = { 0 };
	if (t->state == TCP_LISTEN) {
		spin_lock(&s->lock);
		tcp_set_state(t, TCP_CLOSED);
		spin_unlock(&s->lock);
		tcp_unhash(t);
		/* children waiting to be accepted are reset */
		for (;;) {
			struct tcb *c = NULL;
			spin_lock(&accept_lock);
			if (!list_empty(&t->accept_q)) {
				c = list_entry(t->accept_q.next, struct tcb, child_link);
				sock_get(&c->sk);
			}
			spin_unlock(&accept_lock);
			if (!c)
				break;
			abort_child(c);
			sock_put(&c->sk);
		}
		tcp_wake(t);
		return;
	}
	spin_lock(&s->lock);
	t->user_closed = true;
	t->rd_shut = t->wr_shut = true;
	switch (t->state) {
	case TCP_CLOSED:
		break;
	case TCP_SYN_SENT:
		tcp_done(t);
		break;
	default:
		if (t->rcv_q_bytes || t->linger0) {
			/* unread data: abort (RFC 2525 §2.17); or asked to */
			tcp_send_rst(t, &x);
			tcp_done(t);
			break;
		}
		send_fin(t, &x);
		if (t->state == TCP_FIN_WAIT_2)
			tcp_timer_arm(t, TT_2MSL, net_now_ns() + 2 * TCP_MSL_NS);
	}
	free_list(t->rcv_q_head);
	t->rcv_q_head = t->rcv_q_tail = NULL;
	t->rcv_q_bytes = 0;
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	tcp_wake(t);
}

static void tcp_free_rcu(struct rcu_head *h)
{
	kfree(container_of(h, struct tcb, rcu));
}

static void tcp_destroy(struct socket *s)
{
	struct tcb *t = sk_tcb(s);
	tcp_wheel_remove(t);
	ack_watch_cancel(t);  /* none left after tcp_done; a socket never connected has none */
	free_list(t->snd_q_head);
	free_list(t->rcv_q_head);
	free_list(t->ooo_q);
	/* a lookup may still be reading it: free after a grace period */
	call_rcu(&t->rcu, tcp_free_rcu);
}

static int tcp_setopt(struct socket *s, int opt, u32 v)
{
	struct tcb *t = sk_tcb(s);
	int err = 0;
	struct tcp_xmit x = { 0 };
	spin_lock(&s->lock);
	switch (opt) {
	case TCP_NODELAY:
		t->nodelay = v != 0;
		if (t->nodelay)
			tcp_output(t, &x);
		break;
	case SO_KEEPALIVE:
		t->keepalive = v != 0;
		break;
	case SO_LINGER:
		if (v != 0)
			err = -EINVAL; /* a close that waits is not offered */
		else
			t->linger0 = true;
		break;
	case TCP_CONGESTION:
		if (v != TCP_CC_NEWRENO && v != TCP_CC_CUBIC)
			err = -EINVAL;
		else
			t->cc = (u8)v;
		break;
	default:
		err = -ENOPROTOOPT;
	}
	spin_unlock(&s->lock);
	tcp_xmit_flush(&x);
	return err;
}

static int tcp_owner_cpu(struct socket *s) { return sk_tcb(s)->cpu; }
static u64 tcp_read_stamp(struct socket *s) { return READ_ONCE(sk_tcb(s)->read_stamp_ns); }

static const struct sock_ops tcp_sock_ops = {
	.owner_cpu = tcp_owner_cpu,
	.read_stamp = tcp_read_stamp,
	.bind = tcp_bind,
	.connect = tcp_connect,
	.send_pkb = tcp_send_pkb,
	.close = tcp_close,
	.listen = tcp_listen,
	.accept = tcp_accept,
	.recv = tcp_recv,
	.poll = tcp_poll,
	.shutdown = tcp_shutdown,
	.destroy = tcp_destroy,
	.setopt = tcp_setopt,
	.name = "tcp",
};

/* ---- acknowledgment watches (tcp_ack_watch in net.h): how the in-kernel
 * services learn when the last byte of a response was acknowledged. A
 * watch's sequence number is the end of the data queued when it was set;
 * new_ack (tcp_input.c) fires the watches snd_una has reached. ---- */

int tcp_ack_watch(struct socket *s, void (*fn)(void *arg, u64 now_ns, u32 rexmits), void *arg)
{
	if (!s || !fn)
		return -EINVAL;
	if (s->ops != &tcp_sock_ops)
		return -EOPNOTSUPP;
	struct tcb *t = sk_tcb(s);
	int err = 0;
	bool now = false;
	spin_lock(&s->lock);
	if (t->state < TCP_ESTABLISHED) {
		err = -ENOTCONN;
	} else if (t->snd_q_bytes == 0) {
		now = true;               /* everything queued is acknowledged */
	} else if (t->n_watch == TCP_ACK_WATCH_MAX) {
		err = -EBUSY;
	} else {
		u32 data_start = t->snd_una + (t->snd_una == t->iss ? 1 : 0);  /* past our SYN */
		struct tcp_ack_watch *w = &t->watch[(t->watch_head + t->n_watch) % TCP_ACK_WATCH_MAX];
		*w = (struct tcp_ack_watch){ data_start + t->snd_q_bytes, fn, arg, t->retransmits };
		t->n_watch++;
	}
	spin_unlock(&s->lock);
	if (now) {
		u64 ns = net_now_ns();
		fn(arg, ns ? ns : 1, 0);
	}
	return err;
}

void tcp_ack_watch_fire(struct tcb *t, u64 now)
{
	while (t->n_watch && seq_ge(t->snd_una, t->watch[t->watch_head].seq)) {
		struct tcp_ack_watch w = t->watch[t->watch_head];
		t->watch_head = (u8)((t->watch_head + 1) % TCP_ACK_WATCH_MAX);
		t->n_watch--;
		w.fn(w.arg, now ? now : 1, (u32)(t->retransmits - w.rexmit0));
	}
}

/* The connection is over: every watch left fires with 0. [S] held (or the
 * last reference). */
static void ack_watch_cancel(struct tcb *t)
{
	while (t->n_watch) {
		struct tcp_ack_watch w = t->watch[t->watch_head];
		t->watch_head = (u8)((t->watch_head + 1) % TCP_ACK_WATCH_MAX);
		t->n_watch--;
		w.fn(w.arg, 0, (u32)(t->retransmits - w.rexmit0));
	}
}

/* ---- SYN cookies: when the SYN queue is full, the SYN-ACK's sequence
 * number carries the connection's state (RFC 4987 §3.6):
 *   bits 31..27  a 64-second counter, mod 32
 *   bits 26..24  the peer's MSS, as an index in cookie_mss
 *   bits 23..0   SipHash of the four-tuple, the counter and the peer's ISN
 * A cookie is good for two counter steps (64 to 128 s). Window scaling,
 * timestamps and SACK are not kept: such connections go without them. ---- */

static const u16 cookie_mss[8] = { 536, 1024, 1220, 1380, 1440, 1460, 4312, 8960 };

static u32 cookie_hash(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 count, u32 peer_isn)
{
	if (!secret[0] && !secret[1])
		(void)tcp_isn(la, lp, ra, rp); /* sets the secret */
	u64 h = siphash2((u64)la << 32 | ra, (u64)lp << 48 | (u64)rp << 32 | peer_isn) ^ count;
	h = siphash2(h, count);
	return (u32)h & 0xffffff;
}

static u32 cookie_count(void) { return (u32)(net_now_ns() / 1000000000ULL / 64); }

u32 tcp_cookie_make(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 peer_isn, u16 peer_mss, u16 *mss)
{
	u32 idx = 0;
	for (u32 i = 0; i < 8; i++)
		if (cookie_mss[i] <= peer_mss)
			idx = i;
	*mss = cookie_mss[idx];
	u32 c = cookie_count();
	return (c & 31) << 27 | idx << 24 | cookie_hash(la, lp, ra, rp, c, peer_isn);
}

u16 tcp_cookie_check(ip4_t la, u16 lp, ip4_t ra, u16 rp, u32 peer_isn, u32 cookie)
{
	u32 now = cookie_count();
	for (u32 age = 0; age < 2; age++) {
		u32 c = now - age;
		if ((cookie >> 27) == (c & 31) &&
		    (cookie & 0xffffff) == cookie_hash(la, lp, ra, rp, c, peer_isn))
			return cookie_mss[(cookie >> 24) & 7];
	}
	return 0;
}
