/*
 * TCP: the connection table (lookups, hashing, ports) and a connection's
 * life (allocation, state changes, children of a listener, the end of a
 * connection and of its socket). The socket operations (bind, listen,
 * accept, connect, send, recv, shutdown, close, poll, options) are in
 * tcp_sock.c, initial sequence numbers and SYN cookies in tcp_isn.c,
 * segment processing in tcp_input.c, building segments in tcp_output.c,
 * timers in tcp_timer.c, congestion control in tcp_cc.c. Locks: see
 * tcp_priv.h.
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
static struct list_node bound;              /* [T] bound, not hashed (tcb.blink) */
static bool table_ready;                    /* [T] */
static u32 nconns;                          /* [T] */
static spinlock_t table_lock = SPINLOCK_INIT("tcp_table");
spinlock_t tcp_accept_lock = SPINLOCK_INIT("tcp_accept"); /* [Q] accept queues */
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
	list_init(&bound);
	__atomic_store_n(&table_ready, true, __ATOMIC_RELEASE);
}

/* The flow's hash: its bucket, and a SO_REUSEPORT group's choice. */
static u32 flow_hash(ip4_t la, u16 lp, ip4_t ra, u16 rp)
{
	u32 h = la * 0x9e3779b1u ^ ra * 0x85ebca77u ^ ((u32)lp << 16 | rp) * 0xc2b2ae3du;
	return h ^ (h >> 15);
}

static u32 bucket(ip4_t la, u16 lp, ip4_t ra, u16 rp) { return flow_hash(la, lp, ra, rp) % TCP_HASH; }

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

static bool same_group(const struct tcb *a, const struct tcb *b)
{
	return a->lport == b->lport && a->laddr == b->laddr && READ_ONCE(b->sk.reuseport);
}

/* One listener of first's SO_REUSEPORT group (the listeners of its
 * address and port that asked for SO_REUSEPORT) for a flow of hash h: one
 * that last accepted on this CPU if there is one (its accept queue is
 * this CPU's: per-CPU by default), else any; by h among them, so a flow
 * keeps its listener while the group stays the same. Inside
 * rcu_read_lock; a listener leaving meanwhile leaves first. */
static struct tcb *reuseport_pick(struct tcb *first, u32 h)
{
	u16 me = (u16)this_cpu()->id;
	u32 n = 0, mine = 0;
	struct list_node *it;
	list_for_each_rcu(it, &listeners) {
		struct tcb *t = list_entry(it, struct tcb, hlink);
		if (same_group(first, t)) {
			n++;
			mine += READ_ONCE(t->accept_cpu) == me;
		}
	}
	if (n <= 1)
		return first;
	u32 k = mine ? h % mine : h % n;
	list_for_each_rcu(it, &listeners) {
		struct tcb *t = list_entry(it, struct tcb, hlink);
		if (same_group(first, t) && (!mine || READ_ONCE(t->accept_cpu) == me) && k-- == 0)
			return t;
	}
	return first;
}

struct tcb *tcp_lookup_listener(ip4_t la, u16 lp, ip4_t ra, u16 rp)
{
	struct tcb *found = NULL;
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		return NULL;
	rcu_read_lock();
	struct list_node *it;
	list_for_each_rcu(it, &listeners) {
		struct tcb *t = list_entry(it, struct tcb, hlink);
		if (t->lport == lp && (t->laddr == la || t->laddr == 0) &&
		    (!found || (t->laddr == la && found->laddr != la)))
			found = t;
	}
	if (found && READ_ONCE(found->sk.reuseport))
		found = reuseport_pick(found, flow_hash(la, lp, ra, rp));
	if (found && !sock_tryget(&found->sk))
		found = NULL;
	rcu_read_unlock();
	return found;
}

/*
 * The port rules (Linux's inet_csk_bind_conflict, as bind and listen
 * apply them): t may have (la, its port) unless another socket o on the
 * port whose address overlaps (equal, or either the wildcard) forbids it.
 * o forbids it unless both asked for SO_REUSEADDR and o is not listening,
 * or both asked for SO_REUSEPORT (all programs run as one user). A
 * listen checks again, now as a listener: two SO_REUSEADDR sockets may
 * both be bound to a port, but only one may listen on it. A connection
 * in TIME_WAIT is a socket that is not listening, with its options: it
 * forbids the port to a socket unless both asked for SO_REUSEADDR (or
 * both SO_REUSEPORT), as on Linux; a port picked for connect is not kept
 * from TIME_WAIT ones (the 4-tuple is checked when it is hashed).
 * Children of a listener carry its options, so they hold its port as on
 * Linux. [T]
 */
static bool conflicts(const struct tcb *t, ip4_t la, const struct tcb *o)
{
	if (o == t || (o->laddr != la && o->laddr && la))
		return false;
	if (!t)   /* an ephemeral port: any socket on it takes it, but TIME_WAIT */
		return o->state != TCP_TIME_WAIT;
	if (READ_ONCE(t->sk.reuseaddr) && READ_ONCE(o->sk.reuseaddr) && o->state != TCP_LISTEN)
		return false;
	return !(READ_ONCE(t->sk.reuseport) && READ_ONCE(o->sk.reuseport));
}

static bool list_conflicts(const struct tcb *t, ip4_t la, u16 lp, struct list_node *head,
			   bool bound_list)
{
	struct list_node *it;
	list_for_each(it, head) {
		struct tcb *o = bound_list ? list_entry(it, struct tcb, blink)
					   : list_entry(it, struct tcb, hlink);
		if (o->lport == lp && conflicts(t, la, o))
			return true;
	}
	return false;
}

/* Does (la, lp) conflict for t (NULL: is anyone on it)? [T] */
static bool port_in_use(const struct tcb *t, ip4_t la, u16 lp)
{
	if (list_conflicts(t, la, lp, &listeners, false) || list_conflicts(t, la, lp, &bound, true))
		return true;
	for (int i = 0; i < TCP_HASH; i++) {
		if (list_conflicts(t, la, lp, &conns[i], false))
			return true;
	}
	return false;
}

/* Bind t to (addr, *port): *port itself if the port rules allow it, or the
 * next free ephemeral port when *port is 0. The port is t's from now on
 * (the bound list holds it until t is hashed or unbound). 0 or
 * -EADDRINUSE. */
int tcp_port_pick(struct tcb *t, ip4_t addr, u16 *port)
{
	int err = 0;
	spin_lock(&table_lock);
	table_init_locked();
	if (*port == 0) {
		for (u32 n = 0; n <= EPHEMERAL_HI - EPHEMERAL_LO && !*port; n++) {
			u16 p = next_port;
			next_port = p == EPHEMERAL_HI ? EPHEMERAL_LO : (u16)(p + 1);
			if (!port_in_use(NULL, addr, p))
				*port = p;
		}
		if (!*port)
			err = -EADDRINUSE;
	} else if (port_in_use(t, addr, *port)) {
		err = -EADDRINUSE;
	}
	if (!err) {
		t->laddr = addr;
		t->lport = *port;
		if (!t->on_bound && !t->hashed) {
			list_push_back(&bound, &t->blink);
			t->on_bound = true;
		}
	}
	spin_unlock(&table_lock);
	return err;
}

static void unbind_locked(struct tcb *t)
{
	if (t->on_bound) {
		list_remove(&t->blink);
		list_init(&t->blink);
		t->on_bound = false;
	}
}

void tcp_unbind(struct tcb *t)
{
	spin_lock(&table_lock);
	unbind_locked(t);
	spin_unlock(&table_lock);
}

int tcp_hash(struct tcb *t)
{
	spin_lock(&table_lock);
	table_init_locked();
	int err = 0;
	if (t->hashed) {
		err = -EINVAL;
	} else if (t->state == TCP_LISTEN) {
		/* the port rules again, as a listener (see conflicts) */
		if (port_in_use(t, t->laddr, t->lport))
			err = -EADDRINUSE;
		else
			list_push_back_rcu(&listeners, &t->hlink);
	} else {
		list_push_back_rcu(&conns[bucket(t->laddr, t->lport, t->raddr, t->rport)], &t->hlink);
		nconns++;
	}
	if (!err) {
		unbind_locked(t);   /* the table holds its port now */
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

/* ---- connections ---- */

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
	list_init(&t->blink);
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
	sock_wake(&t->sk);
	void (*up)(struct socket *, void *) = t->sk.upcall;
	if (up)
		up(&t->sk, t->sk.upcall_arg);
}

void tcp_free_list(struct pkb *b)
{
	while (b) {
		struct pkb *n = b->next;
		pkb_free(b);
		b = n;
	}
}

void tcp_done(struct tcb *t)
{
	tcp_set_state(t, TCP_CLOSED);
	tcp_ack_watch_cancel(t);
	tcp_timers_stop(t);
	tcp_free_list(t->snd_q_head);
	t->snd_q_head = t->snd_q_tail = NULL;
	t->snd_q_bytes = 0;
	tcp_free_list(t->ooo_q);
	t->ooo_q = NULL;
	t->ooo_bytes = 0;
	/* a child never accepted leaves its listener's queue */
	spin_lock(&tcp_accept_lock);
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
	spin_unlock(&tcp_accept_lock);
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
	c->sk.reuseaddr = lis->sk.reuseaddr;   /* it holds the port as its listener does */
	c->sk.reuseport = lis->sk.reuseport;
	c->nodelay = lis->nodelay;
	c->keepalive = lis->keepalive;
	c->cc = lis->cc;
	c->sk.local = (struct sockaddr_in4){ la, lp };
	c->sk.peer = (struct sockaddr_in4){ ra, rp };
	c->sk.bound = c->sk.connected = true;
	spin_lock(&tcp_accept_lock);
	c->parent = lis;
	lis->n_synq++;
	spin_unlock(&tcp_accept_lock);
	sock_get(&lis->sk);   /* the child's reference on its listener */
	/* the listener's reference on the child is the allocation's */
	return c;
}

void tcp_child_established(struct tcb *c)
{
	struct tcb *p;
	spin_lock(&tcp_accept_lock);
	p = c->parent;
	if (p && !c->in_accept_q) {
		p->n_synq--;
		p->n_accept++;
		list_push_back(&p->accept_q, &c->child_link);
		c->in_accept_q = true;
	}
	spin_unlock(&tcp_accept_lock);
	if (p)
		tcp_wake(p);
}

/* ---- the end of a connection and of its socket ---- */

void tcp_abort_child(struct tcb *c)
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

static void tcp_free_rcu(struct rcu_head *h)
{
	kfree(container_of(h, struct tcb, rcu));
}

void tcp_destroy(struct socket *s)
{
	struct tcb *t = sk_tcb(s);
	tcp_unbind(t);
	tcp_wheel_remove(t);
	tcp_ack_watch_cancel(t);  /* none left after tcp_done; a socket never connected has none */
	tcp_free_list(t->snd_q_head);
	tcp_free_list(t->rcv_q_head);
	tcp_free_list(t->ooo_q);
	/* a lookup may still be reading it: free after a grace period */
	call_rcu(&t->rcu, tcp_free_rcu);
}
