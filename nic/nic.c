/*
 * The NIC registry, delivery to the stack's receive hook, and the `nic` REPL
 * command. The test services (nictest=) are in nictest.c.
 */
#include "nic/nic.h"
#include "nic/nictest.h"
#include "nic/pci.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/repl/repl.h"
#include "kernel/sched/sched.h"

static struct nic *nics[NIC_MAX];
static int nnics;
static u64 rx_no_hook;   /* [atomic] */

int nic_register(struct nic *nic)
{
	if (nnics == NIC_MAX)
		return -ENOSPC;
	nics[nnics++] = nic;
	return 0;
}

struct nic *nic_get(int i) { return i >= 0 && i < nnics ? nics[i] : NULL; }
int nic_count(void) { return nnics; }

void nic_set_rx_hook(struct nic *nic, nic_rx_hook_t hook)
{
	__atomic_store_n(&nic->rx, hook, __ATOMIC_RELEASE);
}

void nic_deliver(struct nic *nic, struct pkb *b)
{
	nic_rx_hook_t hook = __atomic_load_n(&nic->rx, __ATOMIC_ACQUIRE);
	if (!hook) {
		__atomic_fetch_add(&rx_no_hook, 1, __ATOMIC_RELAXED);
		pkb_free(b);
		return;
	}
	hook(nic, b);
}

int nic_xmit(struct nic *nic, struct pkb *b) { return nic->ops->xmit(nic, b); }

static u64 tx_waits; /* [atomic] */

int nic_xmit_wait(struct nic *nic, struct pkb *b, u64 timeout_ns)
{
	u64 deadline = arch_clock_ns() + timeout_ns;
	for (;;) {
		int err = nic_xmit(nic, b);
		if (err != -EAGAIN)
			return err;
		__atomic_fetch_add(&tx_waits, 1, __ATOMIC_RELAXED);
		u64 now = arch_clock_ns();
		if (now >= deadline || nic->ops->tx_wait(nic, deadline - now) != 0) {
			pkb_free(b);
			return -ETIMEDOUT;
		}
	}
}

KCOUNTER_VAR("nic.tx_full_waits", "waits", tx_waits);
KCOUNTER_VAR("nic.rx_no_hook", "frames", rx_no_hook);

void nic_init(void)
{
	pci_init(); /* done already at boot (kmain); a second call finds the table */
	int n = virtio_net_probe();
	if (n == 0)
		pr_info("nic: no network device found");
	nictest_start();
}

/* ---- REPL ---- */

REPL_CMD("nic", cmd_nic, "[inject WHAT [NIC]]",
	 "network devices and per-queue counters; inject drop-rx-irq|drop-tx-kick|bad-descriptor "
	 "loses one interrupt or notification, or queues a malformed descriptor (tests)");
static int cmd_nic(struct repl_out *o, int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "inject") == 0) {
		int i = 0;
		if (argc >= 4) {
			for (i = 0; i < nnics && strcmp(nics[i]->name, argv[3]); i++)
				;
		}
		if (i >= nnics)
			return repl_error(o, -ENODEV, "no NIC named %s", argv[3]);
		struct nic *n = nics[i];
		int err = n->ops->inject ? n->ops->inject(n, argv[2]) : -ENOTSUP;
		if (err)
			return repl_error(o, err, "%s: %s", argv[2], err == -ENOTSUP ? "unknown fault" : "injection failed");
		printk(LOG_INFO, "%s: injected %s", n->name, argv[2]);
		repl_printf(o, "%s: injected %s\n", n->name, argv[2]);
		return 0;
	}
	if (argc >= 2)
		return repl_error(o, -EINVAL, "usage: nic [inject WHAT [NIC]]");
	repl_table_begin(o, "nics", "name::6 driver::10 mac::17 link::4 mtu:n:5 speed:n:6 "
			 "queues:n:6 link_changes:n:12 resets:n:6");
	for (int i = 0; i < nnics; i++) {
		struct nic *n = nics[i];
		char mac[24], mtu[8], sp[12], q[8], lc[24], rs[24];
		ksnprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			  n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		ksnprintf(mtu, sizeof(mtu), "%u", n->mtu);
		ksnprintf(sp, sizeof(sp), "%u", n->speed_mbps);
		ksnprintf(q, sizeof(q), "%u", n->ntxq);
		ksnprintf(lc, sizeof(lc), "%llu", (unsigned long long)n->link_changes);
		ksnprintf(rs, sizeof(rs), "%llu", (unsigned long long)n->resets);
		const char *cells[9] = { n->name, n->driver, mac, n->link_up ? "up" : "down", mtu, sp,
					 q, lc, rs };
		repl_row(o, cells);
	}
	repl_table_end(o);
	repl_table_begin(o, "queues", "nic::6 dir::3 queue:n:5 packets:n:10 bytes:n:12 "
			 "drops:n:7 ring_full:n:9 kicks:n:9 wraps:n:7 irqs:n:8 hdr_hits:n:9 "
			 "hdr_misses:n:10 miss_bytes:n:10 large:n:7 inflight:n:8 cycles:n:12 "
			 "avail:n:5 used:n:5 seen:n:5 kicked:n:6 used_ev:n:7 avail_ev:n:8 stalls:n:6");
	for (int i = 0; i < nnics; i++) {
		struct nic *n = nics[i];
		for (int dir = 0; dir < 2; dir++) {
			for (unsigned qi = 0; qi < (dir ? n->ntxq : n->nrxq); qi++) {
				struct nic_queue_stats st;
				n->ops->stats(n, qi, dir == 1, &st);
				u64 v[21] = { qi, st.packets, st.bytes, st.drops, st.ring_full, st.kicks,
					      st.wraps, st.irqs, st.hdr_hits, st.hdr_misses,
					      st.miss_bytes, st.large, st.inflight, st.cycles,
					      st.ring_avail, st.ring_used, st.ring_seen, st.ring_kicked, st.used_event,
					      st.avail_event, st.stalls };
				char b[21][24];
				const char *cells[23] = { n->name, dir ? "tx" : "rx" };
				for (int k = 0; k < 21; k++) {
					ksnprintf(b[k], 24, "%llu", (unsigned long long)v[k]);
					cells[k + 2] = b[k];
				}
				repl_row(o, cells);
			}
		}
	}
	repl_table_end(o);
	return 0;
}
