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
