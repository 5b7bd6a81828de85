/*
 * ARP (RFC 826) for IPv4 over Ethernet: a fixed table of ARP_SIZE entries.
 *
 * An entry is INCOMPLETE while we wait for a reply (a request goes out at
 * most every second, ARP_TRIES times; packets wait on the entry, at most
 * ARP_QUEUE of them, oldest dropped first), then RESOLVED for ARP_TTL_S,
 * then removed. Requests for our address create or refresh the sender's
 * entry (RFC 826's merge); other ARP traffic only refreshes entries that
 * exist, so an ARP storm cannot fill the table. A full table evicts the
 * oldest resolved entry; when all are incomplete the new packet is dropped.
 *
 * Every change to the table happens under the lock, between two steps of a
 * sequence count (write_begin/write_end). arp_output, called for every
 * packet sent, first looks for a resolved entry without the lock (the
 * entry it found last is tried first): a look the count shows was not
 * disturbed by a change gives the MAC address; anything else (no resolved
 * entry, a change meanwhile) takes the lock. Under wrk on 2 CPUs the lock
 * had become the most taken one (up to 3% of all samples in
 * raw_spin_lock) once the route table's lock was gone.
 */
#include "netstack/net_priv.h"
#include "kernel/lib/string.h"

#define ARP_SIZE 256
#define ARP_QUEUE 8
#define ARP_TRIES 3
#define ARP_RETRY_NS 1000000000ULL
#define ARP_TTL_S 120

enum arp_state { ARP_FREE, ARP_INCOMPLETE, ARP_RESOLVED };

struct arp_entry {
	enum arp_state state;
	ip4_t ip;
	u8 mac[6];
	struct netif *ifp;
	u64 updated_ns;       /* resolved: when; incomplete: last request */
	u32 tries;
	u32 nq;
	struct pkb *q_head, *q_tail;
};

static struct arp_entry table[ARP_SIZE];   /* [A] */
static spinlock_t arp_lock = SPINLOCK_INIT("arp");
static u64 requests_sent, replies_sent;     /* [A] */
static u32 arp_seq;                         /* [A] to write; odd during a change */
static u32 arp_hint;                        /* [atomic] index of the last lock-free hit */
static u64 fast_hits, fast_misses;          /* [atomic] lock-free looks: MAC found or not */

static void write_begin(void)
{
	spin_lock(&arp_lock);
	__atomic_store_n(&arp_seq, arp_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(void)
{
	__atomic_store_n(&arp_seq, arp_seq + 1, __ATOMIC_RELEASE);
	spin_unlock(&arp_lock);
}

static bool resolved_as(const struct arp_entry *e, struct netif *ifp, ip4_t ip)
{
	return __atomic_load_n(&e->state, __ATOMIC_RELAXED) == ARP_RESOLVED &&
	       __atomic_load_n(&e->ip, __ATOMIC_RELAXED) == ip &&
	       __atomic_load_n(&e->ifp, __ATOMIC_RELAXED) == ifp;
}

/* The MAC address of a resolved entry for (ifp, ip), read without the
 * lock; false when there is none or the table kept changing. */
static bool lookup_unlocked(struct netif *ifp, ip4_t ip, u8 mac[6])
{
	for (int tries = 0; tries < 4; tries++) {
		u32 seq = __atomic_load_n(&arp_seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		u32 i = __atomic_load_n(&arp_hint, __ATOMIC_RELAXED) % ARP_SIZE;
		if (!resolved_as(&table[i], ifp, ip)) {
			for (i = 0; i < ARP_SIZE && !resolved_as(&table[i], ifp, ip); i++)
				;
		}
		if (i < ARP_SIZE) {
			for (int k = 0; k < 6; k++)
				mac[k] = __atomic_load_n(&table[i].mac[k], __ATOMIC_RELAXED);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&arp_seq, __ATOMIC_RELAXED) != seq)
			continue;
		if (i == ARP_SIZE)
			break;
		__atomic_store_n(&arp_hint, i, __ATOMIC_RELAXED);
		__atomic_fetch_add(&fast_hits, 1, __ATOMIC_RELAXED);
		return true;
	}
	__atomic_fetch_add(&fast_misses, 1, __ATOMIC_RELAXED);
	return false;
}

static struct arp_entry *find(struct netif *ifp, ip4_t ip)
{
	for (int i = 0; i < ARP_SIZE; i++)
		if (table[i].state != ARP_FREE && table[i].ip == ip && table[i].ifp == ifp)
			return &table[i];
	return NULL;
}

/* Drop an entry's queued packets: they are returned as a list for the
 * caller to free after dropping the lock. */
static struct pkb *take_queue(struct arp_entry *e)
{
	struct pkb *q = e->q_head;
	e->q_head = e->q_tail = NULL;
	e->nq = 0;
	return q;
}

/* Free an entry; its waiting packets go onto *dead, for the caller to drop
 * after the lock. */
static void free_entry(struct arp_entry *e, struct pkb **dead)
{
	struct pkb *q = take_queue(e);
	while (q) {
		struct pkb *n = q->next;
		q->next = *dead;
		*dead = q;
		q = n;
	}
	e->state = ARP_FREE;
}

static void drop_list(struct pkb *q, enum net_drop why)
{
	while (q) {
		struct pkb *n = q->next;
		q->next = NULL;
		net_drop(q, why);
		q = n;
	}
}

/* A free slot, or the oldest resolved entry; NULL when every slot waits. */
static struct arp_entry *alloc_entry(void)
{
	struct arp_entry *victim = NULL;
	for (int i = 0; i < ARP_SIZE; i++) {
		struct arp_entry *e = &table[i];
		if (e->state == ARP_FREE)
			return e;
		if (e->state == ARP_RESOLVED && (!victim || e->updated_ns < victim->updated_ns))
			victim = e;
	}
	return victim;
}

static struct pkb *arp_build(struct netif *ifp, u16 op, const u8 tha[6], ip4_t tpa)
{
	struct pkb *b = pkb_alloc();
	if (!b)
		return NULL;
	struct arp_pkt *a = (struct arp_pkt *)pkb_push(b, ARP_LEN);
	put_be16(a->htype, ARP_HTYPE_ETHER);
	put_be16(a->ptype, ETH_P_IP);
	a->hlen = 6;
	a->plen = 4;
	put_be16(a->op, op);
	memcpy(a->sha, ifp->mac, 6);
	put_be32(a->spa, READ_ONCE(ifp->addr));
	memcpy(a->tha, tha, 6);
	put_be32(a->tpa, tpa);
	return b;
}

static void arp_send(struct netif *ifp, u16 op, const u8 dst[6], const u8 tha[6], ip4_t tpa)
{
	struct pkb *b = arp_build(ifp, op, tha, tpa);
	if (!b) {
		net_count_drop(NET_DROP_nomem);
		return;
	}
	eth_output(ifp, b, dst, ETH_P_ARP);
}

static const u8 zero_mac[6];

void arp_announce(struct netif *ifp)
{
	ip4_t a = READ_ONCE(ifp->addr);
	if (a)
		arp_send(ifp, ARP_OP_REQUEST, eth_broadcast, zero_mac, a);
}

/* Send a resolved entry's queue (lock not held). */
static void flush_queue(struct netif *ifp, struct pkb *q, const u8 mac[6])
{
	while (q) {
		struct pkb *n = q->next;
		q->next = NULL;
		eth_output(ifp, q, mac, ETH_P_IP);
		q = n;
	}
}

void arp_input(struct netif *ifp, struct pkb *b)
{
	struct arp_pkt *a = (struct arp_pkt *)pkb_pullup(b, ARP_LEN);
	if (!a || be16(a->htype) != ARP_HTYPE_ETHER || be16(a->ptype) != ETH_P_IP ||
	    a->hlen != 6 || a->plen != 4 || (a->sha[0] & 1)) {
		net_drop(b, NET_DROP_arp_bad);
		return;
	}
	u16 op = be16(a->op);
	ip4_t spa = be32(a->spa), tpa = be32(a->tpa);
	ip4_t mine = READ_ONCE(ifp->addr);
	bool for_us = mine && tpa == mine;
	if ((op != ARP_OP_REQUEST && op != ARP_OP_REPLY) || spa == IP4_BROADCAST ||
	    (spa && spa == mine)) {
		/* (someone else claiming our address is logged as bad too) */
		net_drop(b, NET_DROP_arp_bad);
		return;
	}
	struct pkb *q = NULL;
	u8 mac[6];
	memcpy(mac, a->sha, 6);
	u64 now = net_now_ns();
	write_begin();
	struct arp_entry *e = spa ? find(ifp, spa) : NULL;
	if (!e && for_us && spa) {
		e = alloc_entry(); /* free, or resolved (whose queue is empty) */
		if (e) {
			memset(e, 0, sizeof(*e));
			e->ip = spa;
			e->ifp = ifp;
		}
	}
	if (e) {
		memcpy(e->mac, mac, 6);
		e->state = ARP_RESOLVED;
		e->updated_ns = now;
		e->tries = 0;
		q = take_queue(e);
	}
	if (for_us && op == ARP_OP_REQUEST)
		replies_sent++;
	write_end();
	flush_queue(ifp, q, mac);

	if (for_us && op == ARP_OP_REQUEST) {
		/* reply in place: the request becomes the reply */
		put_be16(a->op, ARP_OP_REPLY);
		memcpy(a->tha, a->sha, 6);
		put_be32(a->tpa, spa);
		memcpy(a->sha, ifp->mac, 6);
		put_be32(a->spa, mine);
		pkb_trim(b, 0); /* Ethernet padding */
		eth_output(ifp, b, mac, ETH_P_ARP);
		return;
	}
	if (!for_us && !e)
		net_drop(b, NET_DROP_arp_not_for_us);
	else
		pkb_free(b);
}

int arp_output(struct netif *ifp, struct pkb *b, ip4_t nh)
{
	if (net_is_broadcast(ifp, nh))
		return eth_output(ifp, b, eth_broadcast, ETH_P_IP);
	u8 mac[6];
	if (lookup_unlocked(ifp, nh, mac))
		return eth_output(ifp, b, mac, ETH_P_IP);
	u64 now = net_now_ns();
	bool send_req = false;
	struct pkb *dropped = NULL;
	write_begin();
	struct arp_entry *e = find(ifp, nh);
	if (e && e->state == ARP_RESOLVED) {
		memcpy(mac, e->mac, 6);
		write_end();
		return eth_output(ifp, b, mac, ETH_P_IP);
	}
	if (!e) {
		e = alloc_entry();
		if (!e) {
			write_end();
			net_drop(b, NET_DROP_arp_table_full);
			return -ENOBUFS;
		}
		memset(e, 0, sizeof(*e));
		e->state = ARP_INCOMPLETE;
		e->ip = nh;
		e->ifp = ifp;
		e->tries = 1;
		e->updated_ns = now;
		send_req = true;
		requests_sent++;
	}
	if (e->nq == ARP_QUEUE) { /* drop the oldest */
		dropped = e->q_head;
		e->q_head = dropped->next;
		dropped->next = NULL;
		if (!e->q_head)
			e->q_tail = NULL;
		e->nq--;
	}
	b->next = NULL;
	if (e->q_tail)
		e->q_tail->next = b;
	else
		e->q_head = b;
	e->q_tail = b;
	e->nq++;
	write_end();
	if (dropped)
		net_drop(dropped, NET_DROP_arp_queue_full);
	if (send_req)
		arp_send(ifp, ARP_OP_REQUEST, eth_broadcast, zero_mac, nh);
	return 0;
}

void arp_fast_stats(u64 *hits, u64 *misses)
{
	*hits = __atomic_load_n(&fast_hits, __ATOMIC_RELAXED);
	*misses = __atomic_load_n(&fast_misses, __ATOMIC_RELAXED);
}

void arp_tick(u64 now)
{
	struct { struct netif *ifp; ip4_t ip; } resend[16];
	int nres = 0;
	struct pkb *dead = NULL;
	write_begin();
	for (int i = 0; i < ARP_SIZE; i++) {
		struct arp_entry *e = &table[i];
		if (e->state == ARP_RESOLVED && now - e->updated_ns > ARP_TTL_S * 1000000000ULL) {
			e->state = ARP_FREE;
		} else if (e->state == ARP_INCOMPLETE && now - e->updated_ns >= ARP_RETRY_NS) {
			if (e->tries >= ARP_TRIES) {
				free_entry(e, &dead);
			} else if (nres < 16) {
				e->tries++;
				e->updated_ns = now;
				resend[nres].ifp = e->ifp;
				resend[nres++].ip = e->ip;
				requests_sent++;
			}
		}
	}
	write_end();
	drop_list(dead, NET_DROP_arp_unresolved);
	for (int i = 0; i < nres; i++)
		arp_send(resend[i].ifp, ARP_OP_REQUEST, eth_broadcast, zero_mac, resend[i].ip);
}

void arp_flush_if(struct netif *ifp)
{
	struct pkb *dead = NULL;
	write_begin();
	for (int i = 0; i < ARP_SIZE; i++) {
		struct arp_entry *e = &table[i];
		if (e->state != ARP_FREE && e->ifp == ifp) {
			free_entry(e, &dead);
		}
	}
	write_end();
	drop_list(dead, NET_DROP_arp_unresolved);
}

int arp_list(struct arp_info *out, int max)
{
	int n = 0;
	u64 now = net_now_ns();
	spin_lock(&arp_lock);
	for (int i = 0; i < ARP_SIZE && n < max; i++) {
		struct arp_entry *e = &table[i];
		if (e->state == ARP_FREE)
			continue;
		out[n].ip = e->ip;
		memcpy(out[n].mac, e->mac, 6);
		out[n].state = e->state == ARP_RESOLVED ? "resolved" : "incomplete";
		out[n].age_ms = (now - e->updated_ns) / 1000000;
		out[n].queued = e->nq;
		out[n].ifindex = e->ifp->index;
		n++;
	}
	spin_unlock(&arp_lock);
	return n;
}

int arp_lookup(ip4_t ip, u8 mac[6])
{
	int err = -ENOENT;
	spin_lock(&arp_lock);
	for (int i = 0; i < ARP_SIZE; i++) {
		if (table[i].state == ARP_RESOLVED && table[i].ip == ip) {
			memcpy(mac, table[i].mac, 6);
			err = 0;
			break;
		}
	}
	spin_unlock(&arp_lock);
	return err;
}
