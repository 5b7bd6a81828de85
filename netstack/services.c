/*
 * The in-kernel services (services.h): each is a kernel thread using the
 * socket layer the way a program will, blocking in sock_recv_pkb.
 */
#include "netstack/services.h"
#include "netstack/net_priv.h"
#include "kernel/boot/boot.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"

enum { SVC_DISCARD = 1, SVC_ECHO = 2, SVC_HTTP = 4 };
static unsigned wanted;
static u64 echo_datagrams, echo_bytes, discard_datagrams, discard_bytes; /* [atomic] */

static int set_services(const char *v)
{
	unsigned w = 0;
	while (*v) {
		const char *e = strchr(v, ',');
		size_t n = e ? (size_t)(e - v) : strlen(v);
		if (n == 7 && strncmp(v, "discard", n) == 0)
			w |= SVC_DISCARD;
		else if (n == 4 && strncmp(v, "echo", n) == 0)
			w |= SVC_ECHO;
		else if (n == 4 && strncmp(v, "http", n) == 0)
			w |= SVC_HTTP;
		else
			return -EINVAL;
		v += n + (e ? 1 : 0);
	}
	wanted = w;
	return 0;
}
KPARAM("services", set_services, "discard,echo,http (any subset): in-kernel test services");

static struct socket *udp_socket(u16 port)
{
	struct socket *s;
	struct sockaddr_in4 a = { IP4_ANY, port };
	if (sock_create(SOCK_DGRAM, &s) != 0)
		return NULL;
	if (sock_bind(s, &a) != 0) {
		sock_close(s);
		return NULL;
	}
	sock_setopt(s, SO_RCVBUF, 4u << 20);
	return s;
}

static void echo_main(void *arg)
{
	struct socket *s = arg;
	for (;;) {
		struct pkb *b;
		struct sockaddr_in4 from;
		if (sock_recv_pkb(s, &b, 0, &from) != 0)
			continue;
		u32 n = b->len;
		if (sock_send_pkb(s, b, 0, &from) >= 0) {
			__atomic_fetch_add(&echo_datagrams, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&echo_bytes, n, __ATOMIC_RELAXED);
		}
	}
}

static void discard_main(void *arg)
{
	struct socket *s = arg;
	for (;;) {
		struct pkb *b;
		if (sock_recv_pkb(s, &b, 0, NULL) != 0)
			continue;
		__atomic_fetch_add(&discard_datagrams, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&discard_bytes, b->len, __ATOMIC_RELAXED);
		pkb_free(b);
	}
}

static void start_udp(const char *name, u16 port, void (*fn)(void *))
{
	struct socket *s = udp_socket(port);
	if (!s) {
		pr_err("services: %s: cannot bind UDP port %u", name, port);
		return;
	}
	struct thread *t = thread_create(name, fn, s, -1, 0);
	if (!t) {
		pr_err("services: %s: no thread", name);
		sock_close(s);
		return;
	}
	thread_put(t);
	pr_info("services: %s on UDP port %u", name, port);
}

void services_start(void)
{
	if (wanted & SVC_ECHO)
		start_udp("udp_echo", 7, echo_main);
	if (wanted & SVC_DISCARD)
		start_udp("udp_discard", 9, discard_main);
	if (wanted & SVC_HTTP)
		pr_err("services: http needs TCP, which this kernel does not have yet: not started");
}

static u64 c_echo(void) { return echo_datagrams; }
static u64 c_echo_b(void) { return echo_bytes; }
static u64 c_disc(void) { return discard_datagrams; }
static u64 c_disc_b(void) { return discard_bytes; }
KCOUNTER("services.udp_echo_datagrams", "datagrams", c_echo);
KCOUNTER("services.udp_echo_bytes", "bytes", c_echo_b);
KCOUNTER("services.udp_discard_datagrams", "datagrams", c_disc);
KCOUNTER("services.udp_discard_bytes", "bytes", c_disc_b);
