/*
 * The NIC interface: what the network stack sees of any network device.
 * Drivers (virtio-net first) fill a struct nic and register it; the stack
 * registers one receive hook per NIC. Received packets go up through the
 * hook (drivers never call into protocols); the hook owns the pkb it is
 * given. Transmission: nic_xmit(nic, b) queues b on the calling CPU's
 * transmit queue; on success the NIC owns b, on -EAGAIN (ring full) the
 * caller still owns it, on other errors b has been freed and counted.
 *
 * Per CPU: transmit queue (cpu % ntxq); a CPU uses its own queue without
 * a lock when there are as many queues as CPUs. Receive queues are bound to
 * CPUs; their poll threads call the hook on that CPU.
 */
#ifndef NIC_NIC_H
#define NIC_NIC_H

#include "zerocopy/pkb.h"

#define NIC_MAX_QUEUES 16
#define NIC_MAX 4

#define NIC_F_TX_CSUM (1u << 0)   /* device finishes partial checksums we send */
#define NIC_F_RX_CSUM (1u << 1)   /* device validates checksums it receives */
#define NIC_F_TSO4    (1u << 2)   /* device segments TCP/IPv4 we send */
#define NIC_F_LRO4    (1u << 3)   /* device may hand up coalesced TCP/IPv4 segments
				     (pkb gso_size set), up to 64 KiB */

struct nic;
typedef void (*nic_rx_hook_t)(struct nic *nic, struct pkb *b);

struct nic_queue_stats {
	u64 packets, bytes, drops;
	u64 hdr_hits, hdr_misses, miss_bytes;  /* receive: header-split prediction */
	u64 large;           /* receive: segments over a page or coalesced (large receive) */
	u64 ring_full, kicks, wraps, irqs;
	u64 stalls;          /* the watchdog found the queue stalled and recovered it */
	u64 inflight;        /* buffers the device holds now (posted / not reclaimed) */
	/* ring indexes (free-running, 16 bits): published to the device, completed
	 * by it, consumed by the driver, at the last notification check; where the driver asks for an interrupt
	 * and where the device asks for a notification (event index) */
	u64 ring_avail, ring_used, ring_seen, ring_kicked, used_event, avail_event;
	u64 cycles;          /* CPU cycles in the driver's per-packet path (TSC;
				guest instructions under QEMU -icount shift=0) */
};

struct nic_ops {
	int (*xmit)(struct nic *nic, struct pkb *b);
	/* Sleep until the calling CPU's transmit queue has room (or timeout):
	 * 0, or -ETIMEDOUT. For senders that got -EAGAIN. */
	int (*tx_wait)(struct nic *nic, u64 timeout_ns);
	/* Fault injection for tests ("bad-descriptor"); -ENOTSUP if unknown. */
	int (*inject)(struct nic *nic, const char *what);
	void (*stats)(struct nic *nic, unsigned q, bool tx, struct nic_queue_stats *out);
};

struct nic {
	char name[16];
	const char *driver;
	u8 mac[6];
	u16 mtu;
	u32 features;            /* NIC_F_* */
	u32 speed_mbps;
	volatile bool link_up;
	u16 ntxq, nrxq;
	const struct nic_ops *ops;
	nic_rx_hook_t rx;        /* set by the stack (nic_set_rx_hook) */
	void *priv;
	u64 link_changes;
	u64 resets;              /* device resets recovered from */
};

int nic_register(struct nic *nic);
struct nic *nic_get(int i);
int nic_count(void);
void nic_set_rx_hook(struct nic *nic, nic_rx_hook_t hook);
int nic_xmit(struct nic *nic, struct pkb *b);
/* nic_xmit, waiting for room while the ring is full (up to timeout_ns);
 * on failure b has been freed and the drop counted. */
int nic_xmit_wait(struct nic *nic, struct pkb *b, u64 timeout_ns);
/* Deliver a received packet (drivers): to the hook, or dropped and counted. */
void nic_deliver(struct nic *nic, struct pkb *b);

/* Probe every driver's devices (boot). */
void nic_init(void);

/* drivers */
int virtio_net_probe(void);

#endif
