/*
 * Start-up of the stack in the kernel: the `ip=` and `services=` options,
 * attaching to the NICs, and the timer thread that calls net_tick.
 *
 *   ip=dhcp                 (default) the DHCP client configures the first NIC
 *   ip=ADDR/PREFIX[,GW]     a static address, e.g. ip=10.0.2.15/24,10.0.2.2
 *   ip=off                  no address (the stack still answers nothing)
 *   ip1=ADDR/PREFIX[,GW]    a static address for the second NIC (none by
 *                           default), e.g. for a test link beside the first
 *   tcp.sack=off            TCP neither offers nor uses SACK (NewReno recovery)
 */
#include "netstack/net_priv.h"
#include "nic/nic.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

#define TICK_NS 100000000ULL

static struct ip_setting ip_conf = { .mode = IP_SET_DHCP };

static int set_ip(const char *v)
{
	struct ip_setting c;
	int err = net_parse_ip_setting(v, &c);
	if (!err)
		ip_conf = c;
	return err;
}
KPARAM("ip", set_ip, "dhcp (default), ADDR/PREFIX[,GW] (static), or off");

static struct ip_setting ip1_conf = { .mode = IP_SET_OFF };

static int set_ip1(const char *v)
{
	struct ip_setting c;
	int err = net_parse_ip_setting(v, &c);
	if (!err && c.mode == IP_SET_DHCP)
		err = -EINVAL; /* one DHCP client: the first NIC's */
	if (!err)
		ip1_conf = c;
	return err;
}
KPARAM("ip1", set_ip1, "ADDR/PREFIX[,GW] (static) or off (default): the second NIC");

static int set_sack(const char *v)
{
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
		return -EINVAL;
	tcp_sack_set_enabled(strcmp(v, "on") == 0);
	return 0;
}
KPARAM("tcp.sack", set_sack, "on|off: offer and use selective acknowledgments (RFC 2018), default on");

/* Each CPU's TCP timer thread turns that CPU's timer wheel. */
static void tcp_tick_main(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;
	for (;;) {
		thread_sleep_ns(10000000);
		tcp_tick_cpu(cpu, net_now_ns());
	}
}

static void tick_main(void *arg)
{
	(void)arg;
	for (;;) {
		thread_sleep_ns(TICK_NS);
		net_tick(net_now_ns());
	}
}

void net_init(void)
{
	int attached = 0;
	for (int i = 0; i < nic_count(); i++) {
		struct nic *n = nic_get(i);
		if (__atomic_load_n(&n->rx, __ATOMIC_ACQUIRE)) {
			pr_info("net: %s keeps its test receive hook; no stack on it", n->name);
			continue;
		}
		if (net_attach(n) >= 0)
			attached++;
	}
	struct thread *t = thread_create("net_tick", tick_main, NULL, -1, 0);
	if (t)
		thread_put(t);
	else
		pr_err("net: no timer thread: ARP, fragments and DHCP will not time out");
	for (unsigned c = 0; c < ncpus; c++) {
		t = thread_create("tcp_timer", tcp_tick_main, (void *)(uintptr_t)c, (int)c,
				  THREAD_PINNED);
		if (t)
			thread_put(t);
		else
			pr_err("net: no TCP timer thread on CPU %u: its connections will not retransmit", c);
	}
	if (attached == 0) {
		pr_info("net: no interface");
		return;
	}
	switch (ip_conf.mode) {
	case IP_SET_STATIC: {
		int err = net_if_set_addr(0, ip_conf.addr, ip_conf.prefix, ip_conf.gw);
		if (err)
			pr_err("net: ip= address refused (%d)", err);
		break;
	}
	case IP_SET_DHCP:
		net_if_dhcp(0);
		pr_info("net: %s: DHCP started", net_ifs[0]->name);
		break;
	case IP_SET_OFF:
		pr_info("net: ip=off: no address");
		break;
	}
	if (ip1_conf.mode == IP_SET_STATIC) {
		int err = attached > 1 ? net_if_set_addr(1, ip1_conf.addr, ip1_conf.prefix,
							 ip1_conf.gw) : -ENODEV;
		if (err)
			pr_err("net: ip1= address refused (%d)", err);
		else
			pr_info("net: %s: ip1= address set", net_ifs[1]->name);
	}
}
