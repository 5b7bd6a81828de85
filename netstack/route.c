/*
 * The IPv4 route table: connected routes (one per configured address) and
 * default routes through a gateway; longest prefix wins. Small and fixed:
 * ROUTE_MAX entries under one lock.
 */
#include "netstack/net_priv.h"
#include "kernel/lib/string.h"

#define ROUTE_MAX 16

struct route {
	bool used;
	ip4_t dst, mask, gw;
	struct netif *ifp;
};

static struct route routes[ROUTE_MAX];     /* [R] */
static spinlock_t route_lock = SPINLOCK_INIT("route");

int route_add(ip4_t dst, ip4_t mask, ip4_t gw, struct netif *ifp)
{
	int err = -ENOSPC;
	spin_lock(&route_lock);
	for (int i = 0; i < ROUTE_MAX; i++) {
		if (!routes[i].used) {
			routes[i] = (struct route){ true, dst & mask, mask, gw, ifp };
			err = 0;
			break;
		}
	}
	spin_unlock(&route_lock);
	return err;
}

void route_del_if(struct netif *ifp)
{
	spin_lock(&route_lock);
	for (int i = 0; i < ROUTE_MAX; i++)
		if (routes[i].used && routes[i].ifp == ifp)
			routes[i].used = false;
	spin_unlock(&route_lock);
}

int route_lookup(ip4_t dst, struct netif **ifp, ip4_t *nexthop, ip4_t *src)
{
	const struct route *best = NULL;
	spin_lock(&route_lock);
	for (int i = 0; i < ROUTE_MAX; i++) {
		const struct route *r = &routes[i];
		if (r->used && (dst & r->mask) == r->dst && (!best || r->mask > best->mask))
			best = r;
	}
	int err = -ENETUNREACH;
	if (best) {
		*ifp = best->ifp;
		*nexthop = best->gw ? best->gw : dst;
		*src = READ_ONCE(best->ifp->addr);
		err = 0;
	}
	spin_unlock(&route_lock);
	return err;
}

int route_list(struct route_info *out, int max)
{
	int n = 0;
	spin_lock(&route_lock);
	for (int i = 0; i < ROUTE_MAX && n < max; i++)
		if (routes[i].used)
			out[n++] = (struct route_info){ routes[i].dst, routes[i].mask, routes[i].gw,
							routes[i].ifp->index };
	spin_unlock(&route_lock);
	return n;
}
