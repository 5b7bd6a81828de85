/*
 * TCP unit tests: connections over the loopback, both ends ours.
 */
#include <criterion/criterion.h>
#include "tests/host/tcp_peer.h"
#include "kernel/lib/string.h"

static void pair(u16 port, struct socket **l, struct socket **c, struct socket **srv)
{
	*l = listener(port);
	cr_assert_eq(sock_create(SOCK_STREAM, c), 0);
	struct sockaddr_in4 to = { US, port };
	cr_assert_eq(sock_connect(*c, &to), 0, "loopback connect completes at once");
	cr_assert_eq(sock_accept(*l, srv, MSG_DONTWAIT), 0);
	cr_assert_str_eq(tcp_state_name(sk_tcb(*srv)->state), "ESTABLISHED");
	cr_assert_str_eq(tcp_state_name(sk_tcb(*c)->state), "ESTABLISHED");
}

TestSuite(tcp_loop, .init = setup);

Test(tcp_loop, connect_send_receive_close)
{
	struct socket *l, *c, *s;
	pair(80, &l, &c, &s);
	struct sockaddr_in4 a, p;
	cr_assert_eq(sock_getname(s, &a, &p), 0);
	cr_assert_eq(a.port, 80);
	cr_assert_eq(p.addr, US);
	static u8 data[300000], buf[300000];
	fill(data, sizeof(data), 1);
	u32 sent = 0, got = 0;
	cr_assert_eq(sock_setopt(c, SO_NONBLOCK, 1), 0);
	while (got < sizeof(data)) {
		if (sent < sizeof(data)) {
			long n = sock_sendto(c, data + sent, sizeof(data) - sent, 0, NULL);
			cr_assert(n > 0 || n == -EAGAIN, "send: %ld", n);
			if (n > 0)
				sent += (u32)n;
		}
		long r = sock_recvfrom(s, buf + got, sizeof(buf) - got, MSG_DONTWAIT, NULL);
		cr_assert(r > 0 || r == -EAGAIN, "recv: %ld", r);
		if (r > 0)
			got += (u32)r;
		if (r == -EAGAIN && sent == sizeof(data))
			host_net_advance(10000000ULL); /* delayed ACKs, if any */
	}
	cr_assert_eq(memcmp(buf, data, sizeof(data)), 0);
	/* half-close: the server reads EOF, still sends */
	cr_assert_eq(sock_shutdown(c, SHUT_WR), 0);
	cr_assert_eq(sock_recvfrom(s, buf, 10, MSG_DONTWAIT, NULL), 0, "EOF");
	cr_assert_str_eq(tcp_state_name(sk_tcb(s)->state), "CLOSE_WAIT");
	cr_assert_eq(sock_sendto(s, "bye", 3, 0, NULL), 3);
	cr_assert_eq(sock_recvfrom(c, buf, 10, MSG_DONTWAIT, NULL), 3);
	cr_assert_eq(memcmp(buf, "bye", 3), 0);
	sock_close(s);
	cr_assert_eq(sock_recvfrom(c, buf, 10, MSG_DONTWAIT, NULL), 0, "EOF the other way");
	cr_assert_str_eq(tcp_state_name(sk_tcb(c)->state), "TIME_WAIT");
	sock_close(c);
	sock_close(l);
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(host_net_tx_count(), 0, "nothing went to the wire");
	cr_assert_eq(pkb_live(), 0, "every buffer came back");
	struct pkb_copy_stats cs;
	pkb_copy_stats(&cs);
	cr_assert_eq(cs.bytes[PKB_COPY_TX_WRITE], sizeof(data) + 3, "one copy in");
	cr_assert_eq(cs.bytes[PKB_COPY_RX_READ], sizeof(data) + 3, "one copy out");
}

Test(tcp_loop, refused_and_port_rules)
{
	struct socket *c;
	cr_assert_eq(sock_create(SOCK_STREAM, &c), 0);
	struct sockaddr_in4 to = { US, 81 };
	cr_assert_eq(sock_connect(c, &to), -ECONNREFUSED);
	sock_close(c);
	struct socket *l = listener(90), *l2;
	cr_assert_eq(sock_create(SOCK_STREAM, &l2), 0);
	struct sockaddr_in4 a = { 0, 90 };
	cr_assert_eq(sock_bind(l2, &a), -EADDRINUSE);
	sock_close(l2);
	sock_close(l);
	host_net_advance(1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_loop, close_with_unread_data_resets_the_peer)
{
	struct socket *l, *c, *s;
	pair(82, &l, &c, &s);
	cr_assert_eq(sock_sendto(c, "hello", 5, 0, NULL), 5);
	sock_close(s); /* unread: RST */
	u8 buf[8];
	cr_assert_eq(sock_recvfrom(c, buf, 8, MSG_DONTWAIT, NULL), -ECONNRESET);
	sock_close(c);
	sock_close(l);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_loop, backlog_limits_pending_connections)
{
	struct socket *l;
	cr_assert_eq(sock_create(SOCK_STREAM, &l), 0);
	struct sockaddr_in4 a = { 0, 83 };
	cr_assert_eq(sock_bind(l, &a), 0);
	cr_assert_eq(sock_listen(l, 2), 0);
	struct socket *c[3];
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(sock_create(SOCK_STREAM, &c[i]), 0);
		sock_setopt(c[i], SO_NONBLOCK, 1);
		struct sockaddr_in4 to = { US, 83 };
		int r = sock_connect(c[i], &to);
		cr_assert(i < 2 ? r == 0 : r == -EINPROGRESS, "connect %d: %d", i, r);
	}
	cr_assert_eq(net_drop_count(NET_DROP_tcp_backlog), 1);
	struct socket *s;
	cr_assert_eq(sock_accept(l, &s, MSG_DONTWAIT), 0);
	sock_close(s);
	/* the third one's SYN is retried after a second and gets in */
	host_net_advance(1100000000ULL);
	cr_assert_str_eq(tcp_state_name(sk_tcb(c[2])->state), "ESTABLISHED");
	for (int i = 0; i < 3; i++)
		sock_close(c[i]);
	sock_close(l); /* resets what was never accepted */
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

/* ---- the port rules and SO_REUSEPORT (Linux's, see tcp.c) ---- */

#define RA SO_REUSEADDR
#define RP SO_REUSEPORT

static struct socket *bound_to(u16 port, int opt1, int opt2, int *err)
{
	struct socket *s;
	cr_assert_eq(sock_create(SOCK_STREAM, &s), 0);
	if (opt1)
		cr_assert_eq(sock_setopt(s, opt1, 1), 0);
	if (opt2)
		cr_assert_eq(sock_setopt(s, opt2, 1), 0);
	struct sockaddr_in4 a = { 0, port };
	*err = sock_bind(s, &a);
	return s;
}

Test(tcp_loop, port_rules_as_linux_gives_them)
{
	struct socket *a, *b, *c;
	int e;
	/* bound, not listening: the port is taken at bind */
	a = bound_to(100, 0, 0, &e);
	cr_assert_eq(e, 0);
	b = bound_to(100, 0, 0, &e);
	cr_assert_eq(e, -EADDRINUSE, "a bound port is taken: %d", e);
	sock_close(b);
	b = bound_to(100, RA, 0, &e);
	cr_assert_eq(e, -EADDRINUSE, "SO_REUSEADDR on one side only: %d", e);
	sock_close(b);
	sock_close(a);   /* never listened: the port is free at once */
	b = bound_to(100, 0, 0, &e);
	cr_assert_eq(e, 0, "closing a bound socket frees its port: %d", e);
	sock_close(b);

	/* SO_REUSEADDR on both: both bound, one listens, the other cannot */
	a = bound_to(101, RA, 0, &e);
	cr_assert_eq(e, 0);
	b = bound_to(101, RA, 0, &e);
	cr_assert_eq(e, 0, "SO_REUSEADDR on both, none listening: %d", e);
	cr_assert_eq(sock_listen(a, 4), 0);
	cr_assert_eq(sock_listen(b, 4), -EADDRINUSE);
	c = bound_to(101, RA, 0, &e);
	cr_assert_eq(e, -EADDRINUSE, "SO_REUSEADDR cannot join a listener: %d", e);
	sock_close(c);
	sock_close(b);
	sock_close(a);

	/* SO_REUSEPORT on both: listening or not */
	a = bound_to(102, RP, 0, &e);
	cr_assert_eq(e, 0);
	cr_assert_eq(sock_listen(a, 4), 0);
	b = bound_to(102, RP, 0, &e);
	cr_assert_eq(e, 0, "SO_REUSEPORT joins a listener: %d", e);
	cr_assert_eq(sock_listen(b, 4), 0);
	c = bound_to(102, RA, 0, &e);
	cr_assert_eq(e, -EADDRINUSE, "without SO_REUSEPORT: %d", e);
	sock_close(c);
	c = bound_to(102, 0, 0, &e);
	cr_assert_eq(e, -EADDRINUSE);
	sock_close(c);
	u32 v = 7;
	cr_assert_eq(sock_getopt(b, SO_REUSEPORT, &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(sock_getopt(b, SO_REUSEADDR, &v), 0);
	cr_assert_eq(v, 0);
	sock_close(b);
	sock_close(a);
	host_net_advance(1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

/* n loopback connections to port into cs (they complete at once) */
static void connects(u16 port, int n, struct socket **cs)
{
	for (int i = 0; i < n; i++) {
		cr_assert_eq(sock_create(SOCK_STREAM, &cs[i]), 0);
		struct sockaddr_in4 to = { US, port };
		cr_assert_eq(sock_connect(cs[i], &to), 0, "connect %d", i);
	}
}

/* n connections to port: how many each of the listeners l[0..nl) took */
static void connect_n(u16 port, int n, struct socket **l, int nl, int *took, struct socket **cs)
{
	connects(port, n, cs);
	for (int k = 0; k < nl; k++) {
		struct socket *s;
		took[k] = 0;
		while (l[k] && sock_accept(l[k], &s, MSG_DONTWAIT) == 0) {
			took[k]++;
			sock_close(s);
		}
	}
}

static struct socket *rp_listener(u16 port)
{
	int e;
	struct socket *l = bound_to(port, RP, 0, &e);
	cr_assert_eq(e, 0);
	cr_assert_eq(sock_listen(l, 64), 0);
	return l;
}

Test(tcp_loop, reuseport_spreads_connections_by_flow_hash)
{
	struct socket *l[2] = { rp_listener(103), rp_listener(103) }, *cs[48];
	int took[2];
	connect_n(103, 48, l, 2, took, cs);
	cr_assert_eq(took[0] + took[1], 48, "every connection accepted once: %d + %d", took[0], took[1]);
	cr_assert(took[0] > 0 && took[1] > 0, "both listeners took some: %d, %d", took[0], took[1]);
	for (int i = 0; i < 48; i++)
		sock_close(cs[i]);
	sock_close(l[0]);
	sock_close(l[1]);
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

Test(tcp_loop, reuseport_prefers_the_listener_of_the_receiving_cpu)
{
	struct socket *l[2] = { rp_listener(104), rp_listener(104) }, *cs[16];
	int took[2];
	/* l[1]'s owner accepts on CPU 1; the SYNs arrive on CPU 0 */
	WRITE_ONCE(sk_tcb(l[1])->accept_cpu, 1);
	connect_n(104, 16, l, 2, took, cs);
	cr_assert_eq(took[0], 16, "CPU 0's listener took all: %d, %d", took[0], took[1]);
	for (int i = 0; i < 16; i++)
		sock_close(cs[i]);
	/* no listener of CPU 0: by hash among all */
	WRITE_ONCE(sk_tcb(l[0])->accept_cpu, 1);
	WRITE_ONCE(sk_tcb(l[1])->accept_cpu, 1);
	connect_n(104, 16, l, 2, took, cs);
	cr_assert(took[0] > 0 && took[1] > 0 && took[0] + took[1] == 16, "%d, %d", took[0], took[1]);
	for (int i = 0; i < 16; i++)
		sock_close(cs[i]);
	sock_close(l[0]);
	sock_close(l[1]);
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}

/* Closing one listener of a group resets the connections in its own
 * accept queue (Linux too, with net.ipv4.tcp_migrate_req at its default
 * 0); those queued at the others stay, and new ones go to the others. */
Test(tcp_loop, closing_one_reuseport_listener_keeps_the_others_queues)
{
	struct socket *l[2] = { rp_listener(105), rp_listener(105) }, *cs[32];
	connects(105, 32, cs);
	u32 q0 = sk_tcb(l[0])->n_accept, q1 = sk_tcb(l[1])->n_accept;
	cr_assert(q0 > 0 && q1 > 0 && q0 + q1 == 32, "queued %u, %u", q0, q1);
	sock_close(l[0]);
	int reset = 0;
	u8 c;
	for (int i = 0; i < 32; i++)
		reset += sock_recvfrom(cs[i], &c, 1, MSG_DONTWAIT, NULL) == -ECONNRESET;
	cr_assert_eq(reset, (int)q0, "the closed listener's queue was reset: %d of %u", reset, q0);
	struct socket *s;
	int took = 0;
	while (sock_accept(l[1], &s, MSG_DONTWAIT) == 0) {
		took++;
		sock_close(s);
	}
	cr_assert_eq(took, (int)q1, "the other listener's queue is whole: %d of %u", took, q1);
	struct socket *more[8];
	int t1[1];
	connect_n(105, 8, &l[1], 1, t1, more);
	cr_assert_eq(t1[0], 8, "new connections go to the listener left");
	for (int i = 0; i < 32; i++)
		sock_close(cs[i]);
	for (int i = 0; i < 8; i++)
		sock_close(more[i]);
	sock_close(l[1]);
	host_net_advance(61ULL * 1000000000ULL);
	cr_assert_eq(pkb_live(), 0);
}
