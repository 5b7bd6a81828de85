/*
 * Interfaces, the receive hook, drop counters, the stack's clock and timer
 * tick. One netif per NIC the stack is attached to; interfaces are never
 * removed, so a pointer to one stays valid.
 */
#include "netstack/net_priv.h"
#include "nic/nic.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

struct netif *net_ifs[NET_MAX_IFS];
int net_nifs;

/* ---- drops ---- */

static u64 drops[MAX_CPUS][NET_DROP_COUNT];  /* per CPU, [atomic] */

static const char *const drop_names[] = {
#define NAME(n, t) #n,
	NET_DROPS(NAME)
#undef NAME
};
static const char *const drop_texts[] = {
#define TEXT(n, t) t,
	NET_DROPS(TEXT)
#undef TEXT
};

const char *net_drop_name(enum net_drop r)
{
	return (unsigned)r < NET_DROP_COUNT ? drop_names[r] : "?";
}

const char *net_drop_text(enum net_drop r)
{
	return (unsigned)r < NET_DROP_COUNT ? drop_texts[r] : "?";
}

void net_count_drop(enum net_drop why)
{
	if ((unsigned)why < NET_DROP_COUNT)
		__atomic_fetch_add(&drops[cpu_id()][why], 1, __ATOMIC_RELAXED);
}

void net_drop(struct pkb *b, enum net_drop why)
{
	net_count_drop(why);
	pkb_free(b);
}

u64 net_drop_count(enum net_drop r)
{
	if ((unsigned)r >= NET_DROP_COUNT)
		return 0;
	u64 s = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++)
		s += __atomic_load_n(&drops[c][r], __ATOMIC_RELAXED);
	return s;
}

/* ---- clock ---- */

static u64 (*net_clock)(void) = arch_clock_ns;

void net_set_clock(u64 (*clock)(void)) { net_clock = clock ? clock : arch_clock_ns; }
u64 net_now_ns(void) { return net_clock(); }

/* ---- interfaces ---- */

struct netif *netif_of_nic(struct nic *nic)
{
	for (int i = 0; i < net_nifs; i++)
		if (net_ifs[i]->nic == nic)
			return net_ifs[i];
	return NULL;
}

bool net_is_local(ip4_t addr)
{
	if ((addr >> 24) == 127)
		return true;
	for (int i = 0; i < net_nifs; i++)
		if (addr && READ_ONCE(net_ifs[i]->addr) == addr)
			return true;
	return false;
}

bool net_is_broadcast(const struct netif *ifp, ip4_t addr)
{
	if (addr == IP4_BROADCAST)
		return true;
	ip4_t a = READ_ONCE(ifp->addr), m = READ_ONCE(ifp->mask);
	return a && m != 0xffffffffu && addr == (a | ~m);
}

static void net_rx(struct nic *nic, struct pkb *b)
{
	struct netif *ifp = netif_of_nic(nic);
	if (!ifp) {
		net_drop(b, NET_DROP_no_if);
		return;
	}
	eth_input(ifp, b);
}

int net_attach(struct nic *nic)
{
	if (net_nifs == NET_MAX_IFS)
		return -ENOSPC;
	struct netif *ifp = kzalloc(sizeof(*ifp));
	if (!ifp)
		return -ENOMEM;
	ifp->index = net_nifs;
	ifp->nic = nic;
	ksnprintf(ifp->name, sizeof(ifp->name), "%s", nic->name);
	memcpy(ifp->mac, nic->mac, 6);
	ifp->mtu = nic->mtu ? nic->mtu : 1500;
	spin_init(&ifp->lock, "netif");
	ifp->ip_id = (u16)(net_now_ns() ^ (net_now_ns() >> 16));
	net_ifs[net_nifs] = ifp;
	__atomic_store_n(&net_nifs, net_nifs + 1, __ATOMIC_RELEASE);
	nic_set_rx_hook(nic, net_rx);
	return ifp->index;
}

int net_if_count(void) { return __atomic_load_n(&net_nifs, __ATOMIC_ACQUIRE); }

static struct netif *netif_get(int i)
{
	return i >= 0 && i < net_if_count() ? net_ifs[i] : NULL;
}

int net_if_info(int ifindex, struct netif_info *o)
{
	struct netif *ifp = netif_get(ifindex);
	if (!ifp)
		return -ENODEV;
	memset(o, 0, sizeof(*o));
	ksnprintf(o->name, sizeof(o->name), "%s", ifp->name);
	memcpy(o->mac, ifp->mac, 6);
	o->mtu = ifp->mtu;
	o->up = ifp->nic->link_up;
	u64 now = net_now_ns();
	spin_lock(&ifp->lock);
	o->addr = ifp->addr;
	o->mask = ifp->mask;
	o->gw = ifp->gw;
	struct dhcp_client *d = &ifp->dhcp;
	o->dhcp = d->state != DHCP_OFF;
	o->dhcp_state = dhcp_state_name(d->state);
	if (d->state >= DHCP_BOUND) {
		u64 el = (now - d->bound_at_ns) / 1000000000ULL;
		o->dhcp_server = d->server;
		o->lease_s = d->lease_s;
		o->lease_left_s = d->lease_s > el ? d->lease_s - el : 0;
		o->t1_left_s = d->t1_s > el ? d->t1_s - el : 0;
		o->t2_left_s = d->t2_s > el ? d->t2_s - el : 0;
	}
	spin_unlock(&ifp->lock);
	return 0;
}

static ip4_t prefix_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

bool netif_set_addr_locked(struct netif *ifp, ip4_t addr, ip4_t mask, ip4_t gw)
{
	bool changed = ifp->addr != addr || ifp->mask != mask || ifp->gw != gw;
	route_del_if(ifp);
	WRITE_ONCE(ifp->mask, mask);
	WRITE_ONCE(ifp->gw, gw);
	WRITE_ONCE(ifp->addr, addr);
	if (addr) {
		route_add(addr & mask, mask, 0, ifp);
		if (gw)
			route_add(0, 0, gw, ifp);
	}
	if (changed && addr) {
		printk(LOG_INFO, "%s: address %u.%u.%u.%u/%u, gateway %u.%u.%u.%u", ifp->name,
		       addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255,
		       net_prefix_len(mask), gw >> 24, (gw >> 16) & 255,
		       (gw >> 8) & 255, gw & 255);
	} else if (changed) {
		printk(LOG_INFO, "%s: address removed", ifp->name);
	}
	return changed && addr;
}

int net_if_set_addr(int ifindex, ip4_t addr, unsigned prefix, ip4_t gw)
{
	struct netif *ifp = netif_get(ifindex);
	if (!ifp)
		return -ENODEV;
	if (prefix > 32)
		return -EINVAL;
	ip4_t mask = prefix_mask(prefix);
	if (addr && (addr == IP4_BROADCAST || (addr >> 28) >= 14 || (addr >> 24) == 127 ||
		     (addr >> 24) == 0 || (prefix < 31 && (addr & ~mask) == ~mask)))
		return -EINVAL;
	if (gw && addr && (gw & mask) != (addr & mask))
		return -EINVAL;  /* the gateway must be on the link */
	spin_lock(&ifp->lock);
	dhcp_stop(ifp);
	bool announce = netif_set_addr_locked(ifp, addr, mask, addr ? gw : 0);
	spin_unlock(&ifp->lock);
	arp_flush_if(ifp);
	if (announce)
		arp_announce(ifp);
	return 0;
}

int net_if_dhcp(int ifindex)
{
	struct netif *ifp = netif_get(ifindex);
	if (!ifp)
		return -ENODEV;
	dhcp_start(ifp);
	return 0;
}

void net_tick(u64 now)
{
	arp_tick(now);
	ip_frag_tick(now);
	for (int i = 0; i < net_if_count(); i++)
		dhcp_tick(net_ifs[i], now);
}

/* ---- parsing the ip= setting ---- */

static int parse_dec(const char **s, u32 max, u32 *out)
{
	u32 v = 0;
	const char *p = *s;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (u32)(*p - '0');
		if (v > max)
			return -EINVAL;
		p++;
	}
	*s = p;
	*out = v;
	return 0;
}

int net_parse_ip4(const char **s, ip4_t *out)
{
	const char *p = *s;
	ip4_t a = 0;
	for (int i = 0; i < 4; i++) {
		u32 v;
		if (parse_dec(&p, 255, &v) || (i < 3 && *p++ != '.'))
			return -EINVAL;
		a = a << 8 | v;
	}
	*s = p;
	*out = a;
	return 0;
}

int net_parse_ip_setting(const char *v, struct ip_setting *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(v, "dhcp") == 0) {
		out->mode = IP_SET_DHCP;
		return 0;
	}
	if (strcmp(v, "off") == 0) {
		out->mode = IP_SET_OFF;
		return 0;
	}
	const char *s = v;
	u32 prefix;
	if (net_parse_ip4(&s, &out->addr) || *s++ != '/' || parse_dec(&s, 32, &prefix) ||
	    prefix == 0)
		return -EINVAL;
	if (*s == ',') {
		s++;
		if (net_parse_ip4(&s, &out->gw))
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	out->mode = IP_SET_STATIC;
	out->prefix = prefix;
	return 0;
}
