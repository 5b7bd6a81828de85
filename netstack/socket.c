/*
 * The socket layer shared by UDP, TCP and (later) the system calls: life
 * cycle and reference counts, the receive queue of datagrams with its
 * buffer limit, blocking and non-blocking receive with the one receive-side
 * copy, readiness for poll, options, counters, and the list of all sockets
 * for the REPL. Protocols supply a const struct sock_ops.
 *
 * A queued datagram is a pkb whose header zone still starts at its IPv4
 * header (then the UDP header), so the sender's address rides with it.
 */
#include "netstack/net_priv.h"
#include "kernel/lib/string.h"

#define RCVBUF_DEFAULT (208u * 1024)
#define RCVBUF_MAX (8u << 20)
#define DGRAM_OVERHEAD SOCK_DGRAM_OVERHEAD

static struct list_node all_sockets = LIST_INIT(all_sockets);
static spinlock_t all_lock = SPINLOCK_INIT("sockets");

int sock_create(int type, struct socket **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (type == SOCK_STREAM)
		return tcp_sock_create(out);
	if (type != SOCK_DGRAM)
		return -EINVAL;
	struct socket *s = kzalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	sock_init_common(s, &udp_sock_ops, type);
	*out = s;
	return 0;
}

void sock_init_common(struct socket *s, const struct sock_ops *ops, int type)
{
	s->ops = ops;
	s->type = type;
	s->refs = 1;
	s->rcvbuf = RCVBUF_DEFAULT;
	s->sndbuf = RCVBUF_DEFAULT;
	spin_init(&s->lock, "socket");
	waitq_init(&s->wq, "socket");
	list_init(&s->link);
	spin_lock(&all_lock);
	list_push_back(&all_sockets, &s->all);
	spin_unlock(&all_lock);
}

void sock_get(struct socket *s) { __atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED); }

void sock_wake(struct socket *s)
{
	waitq_wake_all(&s->wq);
}


u64 sock_read_stamp(struct socket *s)
{
	return s && s->ops->read_stamp ? s->ops->read_stamp(s) : 0;
}

int sock_owner_cpu(struct socket *s)
{
	return s && s->ops->owner_cpu ? s->ops->owner_cpu(s) : -1;
}

bool sock_tryget(struct socket *s)
{
	u32 r = __atomic_load_n(&s->refs, __ATOMIC_RELAXED);
	while (r && !__atomic_compare_exchange_n(&s->refs, &r, r + 1, false, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
		;
	return r != 0;
}

static void drain(struct socket *s)
{
	struct pkb *b = s->rq_head;
	s->rq_head = s->rq_tail = NULL;
	s->rq_bytes = 0;
	while (b) {
		struct pkb *n = b->next;
		pkb_free(b);
		b = n;
	}
}

void sock_put(struct socket *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	spin_lock(&all_lock);
	list_remove(&s->all);
	spin_unlock(&all_lock);
	drain(s);
	if (s->ops->destroy)
		s->ops->destroy(s);
	else
		kfree(s);
}

void sock_close(struct socket *s)
{
	if (!s)
		return;
	spin_lock(&s->lock);
	bool was = s->closed;
	s->closed = true;
	spin_unlock(&s->lock);
	if (was)
		return;
	s->ops->close(s);
	spin_lock(&s->lock);
	drain(s);
	spin_unlock(&s->lock);
	sock_wake(s);
	sock_put(s);
}

int sock_bind(struct socket *s, const struct sockaddr_in4 *local)
{
	if (!s || !local)
		return -EINVAL;
	return s->ops->bind(s, local);
}

int sock_connect(struct socket *s, const struct sockaddr_in4 *peer)
{
	if (!s || !peer)
		return -EINVAL;
	return s->ops->connect(s, peer);
}

long sock_send_pkb(struct socket *s, struct pkb *b, int flags, const struct sockaddr_in4 *to)
{
	if (!s || !b) {
		pkb_free(b);
		return -EINVAL;
	}
	return s->ops->send_pkb(s, b, flags, to);
}

/* Streams take any length, in pieces of at most STREAM_CHUNK. */
#define STREAM_CHUNK (16u * PAGE_SIZE)

long sock_sendto(struct socket *s, const void *buf, u32 len, int flags,
		 const struct sockaddr_in4 *to)
{
	if (!s || (!buf && len))
		return -EINVAL;
	if (s->type == SOCK_STREAM) {
		u32 done = 0;
		do {
			u32 n = MIN(len - done, STREAM_CHUNK);
			struct pkb *b = pkb_alloc();
			if (!b || (n && pkb_copy_in(b, (const u8 *)buf + done, n) != 0)) {
				pkb_free(b);
				return done ? (long)done : -ENOMEM;
			}
			long r = s->ops->send_pkb(s, b, flags, NULL);
			if (r < 0)
				return done ? (long)done : r;
			done += (u32)r;
			if ((u32)r < n)
				break;
		} while (done < len);
		return done;
	}
	if (len > IP_MAX_LEN)
		return -EMSGSIZE;
	struct pkb *b = pkb_alloc();
	if (!b)
		return -ENOMEM;
	if (len && pkb_copy_in(b, buf, len) != 0) { /* the one copy on send */
		pkb_free(b);
		return -ENOMEM;
	}
	return s->ops->send_pkb(s, b, flags, to);
}

bool sock_queue_rcv(struct socket *s, struct pkb *b, u32 payload_len)
{
	u32 cost = payload_len + DGRAM_OVERHEAD;
	spin_lock(&s->lock);
	if (s->closed || s->rq_bytes + cost > s->rcvbuf) {
		s->st.rx_drops++;
		spin_unlock(&s->lock);
		pkb_free(b);
		return false;
	}
	b->next = NULL;
	b->hash = cost;  /* remembered for the dequeue */
	if (s->rq_tail)
		s->rq_tail->next = b;
	else
		s->rq_head = b;
	s->rq_tail = b;
	s->rq_bytes += cost;
	s->st.rx_packets++;
	s->st.rx_bytes += payload_len;
	void (*up)(struct socket *, void *) = s->upcall;
	void *arg = s->upcall_arg;
	spin_unlock(&s->lock);
	sock_wake(s);
	if (up)
		up(s, arg);
	return true;
}

/* Take the next datagram, sleeping unless MSG_DONTWAIT. */
static int dequeue(struct socket *s, int flags, struct pkb **out)
{
	for (;;) {
		spin_lock(&s->lock);
		struct pkb *b = s->rq_head;
		if (b) {
			s->rq_head = b->next;
			if (!s->rq_head)
				s->rq_tail = NULL;
			s->rq_bytes -= b->hash;
			b->next = NULL;
			spin_unlock(&s->lock);
			*out = b;
			return 0;
		}
		int err = s->error;
		s->error = 0;
		bool closed = s->closed;
		spin_unlock(&s->lock);
		if (err)
			return err;
		if (closed)
			return -EBADF;
		if ((flags & MSG_DONTWAIT) || s->nonblock)
			return -EAGAIN;
		if (s->rcvtimeo_ms) {
			if (!wait_event_timeout(&s->wq, READ_ONCE(s->rq_head) || READ_ONCE(s->closed) ||
						READ_ONCE(s->error), s->rcvtimeo_ms * 1000000ULL))
				return -EAGAIN;
			continue;
		}
		wait_event(&s->wq, READ_ONCE(s->rq_head) || READ_ONCE(s->closed) ||
					   READ_ONCE(s->error));
	}
}

/* The sender and where the data starts in a queued datagram's zone. */
static u32 dgram_parse(struct pkb *b, struct sockaddr_in4 *from)
{
	const struct ip_hdr *ip = (const struct ip_hdr *)pkb_hdr(b);
	u32 hl = ip_hlen(ip);
	const struct udp_hdr *u = (const struct udp_hdr *)((const u8 *)ip + hl);
	if (from) {
		from->addr = be32(ip->src);
		from->port = be16(u->sport);
	}
	return hl + UDP_HLEN;
}

long sock_recvfrom(struct socket *s, void *buf, u32 len, int flags, struct sockaddr_in4 *from)
{
	if (!s || (!buf && len))
		return -EINVAL;
	if (s->ops->recv) {
		if (from)
			sock_getname(s, NULL, from);
		return s->ops->recv(s, buf, len, flags);
	}
	struct pkb *b;
	int err = dequeue(s, flags, &b);
	if (err)
		return err;
	u32 start = dgram_parse(b, from);
	u32 zone = pkb_hdr_len(b) - start;
	u32 n = MIN(len, zone);
	memcpy(buf, pkb_hdr(b) + start, n);   /* data the NIC left in the zone */
	if (n)
		pkb_count_copy(PKB_COPY_RX_READ, n);
	n += pkb_copy_out(b, 0, (u8 *)buf + n, len - n); /* the one copy on receive */
	pkb_free(b);
	return n;
}

int sock_recv_pkb(struct socket *s, struct pkb **out, int flags, struct sockaddr_in4 *from)
{
	if (!s || !out)
		return -EINVAL;
	if (s->ops->recv)
		return -EOPNOTSUPP; /* streams: sock_recvfrom */
	struct pkb *b;
	int err = dequeue(s, flags, &b);
	if (err)
		return err;
	u32 start = dgram_parse(b, from);
	u32 zone = pkb_hdr_len(b) - start;
	if (zone) {
		/* data in the zone goes into a page of its own, ahead of the rest */
		struct pkb *h = pkb_alloc();
		if (!h || pkb_copy_in(h, pkb_hdr(b) + start, zone) != 0 ||
		    (pkb_hdr_reset(b), pkb_join(h, b)) != 0) {
			pkb_free(h);
			pkb_free(b);
			return -ENOMEM;
		}
		b = h;
	}
	pkb_hdr_reset(b);
	b->flags = 0;
	b->gso_size = b->gso_type = 0;
	*out = b;
	return 0;
}

unsigned sock_poll(struct socket *s)
{
	if (!s)
		return POLLERR;
	if (s->ops->poll)
		return s->ops->poll(s);
	unsigned m = 0;
	spin_lock(&s->lock);
	if (s->rq_head)
		m |= POLLIN;
	if (s->error)
		m |= POLLERR;
	if (s->closed)
		m |= POLLHUP;
	else
		m |= POLLOUT;   /* datagrams go out at once or fail */
	spin_unlock(&s->lock);
	return m;
}

long sock_inq(struct socket *s)
{
	return s && s->ops->inq ? s->ops->inq(s) : -ENOTTY;
}

struct waitq *sock_waitq(struct socket *s) { return &s->wq; }

int sock_setopt(struct socket *s, int opt, u32 value)
{
	if (!s)
		return -EINVAL;
	switch (opt) {
	case SO_RCVBUF:
		spin_lock(&s->lock);
		s->rcvbuf = MIN(MAX(value, 2 * DGRAM_OVERHEAD), RCVBUF_MAX);
		s->rcvbuf_set = true;
		spin_unlock(&s->lock);
		return 0;
	case SO_RCVTIMEO:
	case SO_SNDTIMEO:
		spin_lock(&s->lock);
		*(opt == SO_RCVTIMEO ? &s->rcvtimeo_ms : &s->sndtimeo_ms) = value;
		spin_unlock(&s->lock);
		return 0;
	case SO_NONBLOCK:
		spin_lock(&s->lock);
		s->nonblock = value != 0;
		spin_unlock(&s->lock);
		return 0;
	case SO_SNDBUF:
		spin_lock(&s->lock);
		s->sndbuf = MIN(MAX(value, 2 * DGRAM_OVERHEAD), RCVBUF_MAX);
		spin_unlock(&s->lock);
		return 0;
	case SO_REUSEADDR:
	case SO_REUSEPORT:
		spin_lock(&s->lock);
		WRITE_ONCE(*(opt == SO_REUSEADDR ? &s->reuseaddr : &s->reuseport), value != 0);
		spin_unlock(&s->lock);
		return 0;
	default:
		return s->ops->setopt ? s->ops->setopt(s, opt, value) : -ENOPROTOOPT;
	}
}

int sock_getopt(struct socket *s, int opt, u32 *value)
{
	if (!s || !value)
		return -EINVAL;
	switch (opt) {
	case SO_RCVBUF:
	case SO_SNDBUF:
		spin_lock(&s->lock);
		*value = opt == SO_RCVBUF ? s->rcvbuf : s->sndbuf;
		spin_unlock(&s->lock);
		return 0;
	case SO_REUSEADDR:
		*value = READ_ONCE(s->reuseaddr);
		return 0;
	case SO_REUSEPORT:
		*value = READ_ONCE(s->reuseport);
		return 0;
	case SO_ERROR:
		if (s->ops->getopt)
			return s->ops->getopt(s, opt, value);
		spin_lock(&s->lock);
		*value = (u32)-s->error;
		s->error = 0;
		spin_unlock(&s->lock);
		return 0;
	default:
		return s->ops->getopt ? s->ops->getopt(s, opt, value) : -ENOPROTOOPT;
	}
}

int sock_getname(struct socket *s, struct sockaddr_in4 *local, struct sockaddr_in4 *peer)
{
	if (!s)
		return -EINVAL;
	spin_lock(&s->lock);
	if (local)
		*local = s->local;
	if (peer)
		*peer = s->peer;
	bool conn = s->connected;
	spin_unlock(&s->lock);
	return peer && !conn ? -ENOTCONN : 0;
}

void sock_stats(struct socket *s, struct sock_stats *out)
{
	spin_lock(&s->lock);
	*out = s->st;
	spin_unlock(&s->lock);
}

int sock_tcp_info(struct socket *s, struct sock_tcp_info *out)
{
	memset(out, 0, sizeof(*out));
	return s && s->ops->tcp_info ? s->ops->tcp_info(s, out) : -EOPNOTSUPP;
}

void sock_set_upcall(struct socket *s, void (*fn)(struct socket *, void *), void *arg)
{
	spin_lock(&s->lock);
	s->upcall = fn;
	s->upcall_arg = arg;
	spin_unlock(&s->lock);
}

void sock_for_each(void (*fn)(struct socket *s, void *arg), void *arg)
{
	struct list_node *it;
	spin_lock(&all_lock);
	list_for_each(it, &all_sockets)
		fn(list_entry(it, struct socket, all), arg);
	spin_unlock(&all_lock);
}

int sock_listen(struct socket *s, int backlog)
{
	if (!s)
		return -EINVAL;
	return s->ops->listen ? s->ops->listen(s, backlog) : -EOPNOTSUPP;
}

int sock_accept(struct socket *s, struct socket **out, int flags)
{
	if (!s || !out)
		return -EINVAL;
	return s->ops->accept ? s->ops->accept(s, out, flags) : -EOPNOTSUPP;
}

int sock_shutdown(struct socket *s, int how)
{
	if (!s || how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	return s->ops->shutdown ? s->ops->shutdown(s, how) : -EOPNOTSUPP;
}
