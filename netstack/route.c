/*
 * The IPv4 route table: connected routes (one per configured address) and
 * default routes through a gateway; longest prefix wins. Small and fixed:
 * ROUTE_MAX entries. Writers (rare: address changes) take the lock and
 * bump a sequence count around their change; route_lookup, called for
 * every packet sent from every CPU, takes no lock: it reads the table and
 * tries again if the count was odd or moved meanwhile (the lock showed as
 * 1-1.5% of all samples under wrk, both CPUs sending).
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
static u32 route_seq;                      /* [R] to write; odd while a change is under way */

static void write_begin(void)
{
	spin_lock(&route_lock);
	__atomic_store_n(&route_seq, route_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(void)
{
	__atomic_store_n(&route_seq, route_seq + 1, __ATOMIC_RELEASE);
	spin_unlock(&route_lock);
}

int route_add(ip4_t dst, ip4_t mask, ip4_t gw, struct netif *ifp)
{
	int err = -ENOSPC;
	write_begin();
	for (int i = 0; i < ROUTE_MAX; i++) {
		if (!routes[i].used) {
			routes[i] = (struct route){ true, dst & mask, mask, gw, ifp };
			err = 0;
			break;
		}
	}
	write_end();
	return err;
}

void route_del_if(struct netif *ifp)
{
	write_begin();
	for (int i = 0; i < ROUTE_MAX; i++)
		if (routes[i].used && routes[i].ifp == ifp)
			__atomic_store_n(&routes[i].used, false, __ATOMIC_RELAXED);
	write_end();
}

int route_lookup(ip4_t dst, struct netif **ifp, ip4_t *nexthop, ip4_t *src)
{
	for (;;) {
		u32 seq = __atomic_load_n(&route_seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			cpu_pause();
			continue;
		}
		struct route best = { 0 };
		for (int i = 0; i < ROUTE_MAX; i++) {
			const struct route *r = &routes[i];
			if (!__atomic_load_n(&r->used, __ATOMIC_RELAXED))
				continue;
			ip4_t rdst = __atomic_load_n(&r->dst, __ATOMIC_RELAXED);
			ip4_t mask = __atomic_load_n(&r->mask, __ATOMIC_RELAXED);
			if ((dst & mask) == rdst && (!best.used || mask > best.mask))
				best = (struct route){ true, rdst, mask,
						       __atomic_load_n(&r->gw, __ATOMIC_RELAXED),
						       __atomic_load_n(&r->ifp, __ATOMIC_RELAXED) };
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&route_seq, __ATOMIC_RELAXED) != seq)
			continue;   /* changed while we looked: again */
		if (!best.used || !best.ifp)
			return -ENETUNREACH;
		*ifp = best.ifp;
		*nexthop = best.gw ? best.gw : dst;
		*src = READ_ONCE(best.ifp->addr);
		return 0;
	}
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
