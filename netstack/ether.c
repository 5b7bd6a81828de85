/*
 * Ethernet: accept frames for our MAC or broadcast, dispatch by EtherType;
 * push the header on the way out and hand the frame to the NIC.
 */
#include "netstack/net_priv.h"
#include "nic/nic.h"
#include "kernel/lib/string.h"

const u8 eth_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static u64 vlan_frames; /* [atomic] counted, then dropped */

void eth_input(struct netif *ifp, struct pkb *b)
{
	struct eth_hdr *e = (struct eth_hdr *)pkb_pullup(b, ETH_HLEN);
	if (!e) {
		net_drop(b, NET_DROP_eth_short);
		return;
	}
	/* the MTU, plus the Ethernet header and one VLAN tag; large-receive
	 * segments (gso_size set by the NIC) are longer by design */
	if (pkb_hdr_len(b) + b->len > (u32)ifp->mtu + ETH_HLEN + ETH_VLAN_HLEN && !b->gso_size) {
		net_drop(b, NET_DROP_eth_too_long);
		return;
	}
	if (memcmp(e->dst, ifp->mac, 6) != 0 && memcmp(e->dst, eth_broadcast, 6) != 0) {
		net_drop(b, NET_DROP_eth_not_ours);
		return;
	}
	u16 type = be16(e->type);
	pkb_pull(b, ETH_HLEN);
	switch (type) {
	case ETH_P_IP:
		ip_input(ifp, b);
		return;
	case ETH_P_ARP:
		arp_input(ifp, b);
		return;
	case ETH_P_VLAN:
		__atomic_fetch_add(&vlan_frames, 1, __ATOMIC_RELAXED);
		net_drop(b, NET_DROP_eth_vlan);
		return;
	default:
		net_drop(b, NET_DROP_eth_proto);
	}
}

int eth_output(struct netif *ifp, struct pkb *b, const u8 dst[6], u16 type)
{
	struct eth_hdr *e = (struct eth_hdr *)pkb_push(b, ETH_HLEN);
	if (!e) {
		net_drop(b, NET_DROP_tx_error);
		return -ENOSPC;
	}
	memcpy(e->dst, dst, 6);
	memcpy(e->src, ifp->mac, 6);
	put_be16(e->type, type);
	if (b->flags & PKB_CSUM_PARTIAL)
		b->csum_start = (u16)(b->csum_start + ETH_HLEN); /* from the frame's start */
	/* a full ring makes the sender wait briefly for room, not drop */
	int err = nic_xmit_wait(ifp->nic, b, 100000000ULL);
	if (err)
		net_count_drop(NET_DROP_tx_error);
	return err;
}
