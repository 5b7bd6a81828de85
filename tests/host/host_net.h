/*
 * A fake NIC and the scheduler pieces the network stack needs, for the
 * host unit tests and the fuzzers (tests/host/host_net.c).
 *
 * host_net_setup() brings up memory, pkbs, a fake clock at 1 s and one
 * fake NIC (MAC 02:00:00:00:00:02) attached as interface 0. Frames the
 * stack transmits are kept, oldest first: host_net_tx() takes the next one
 * (the caller frees it), host_net_tx_count() counts them. host_net_rx()
 * hands the stack a frame the way the virtio driver does: its first
 * `split` bytes in the header zone, the rest in payload pages from offset
 * 0. The clock moves only by host_net_advance(), which also runs net_tick.
 *
 * Blocking (a socket read that would sleep) panics: host tests use
 * MSG_DONTWAIT.
 */
#ifndef TESTS_HOST_HOST_NET_H
#define TESTS_HOST_HOST_NET_H

#include "netstack/net.h"
#include "nic/nic.h"

extern struct nic host_nic;
extern const u8 host_nic_mac[6];

void host_net_setup(u32 nic_features);
void host_net_rx(const void *frame, u32 len, u32 split);
struct pkb *host_net_tx(void);
int host_net_tx_count(void);
void host_net_tx_drop_all(void);
/* The next transmitted frame flattened into buf (headers then payload):
 * its length, or -1 when none is left. The pkb is freed. */
int host_net_tx_bytes(u8 *buf, u32 max, struct pkb **keep);
void host_net_advance(u64 ns);
u64 host_net_now(void);
/* A checksum over bytes (RFC 1071), for building test frames. */
u16 host_csum(const void *data, u32 len, u32 seed);

#endif
