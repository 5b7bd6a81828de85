/*
 * The fake NIC, clock and scheduler stubs of host_net.h. No Criterion
 * here: the fuzzers link this file too.
 */
#include "tests/host/host.h"
#include "tests/host/host_net.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"
#include "netstack/net_priv.h"

#include <stdlib.h>

struct nic host_nic;
const u8 host_nic_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static struct pkb *txq_head, *txq_tail;
static int txq_n;
static u64 fake_now = 1000000000ULL;

static u64 host_clock(void) { return fake_now; }
u64 host_net_now(void) { return fake_now; }

void host_net_advance(u64 ns)
{
	/* in steps of 10 ms, as the kernel's TCP timer thread ticks */
	u64 end = fake_now + ns;
	while (fake_now < end) {
		fake_now = MIN(end, fake_now + 10000000ULL);
		tcp_tick(fake_now);
	}
	net_tick(fake_now);
}

static int fake_xmit(struct nic *nic, struct pkb *b)
{
	(void)nic;
	b->next = NULL;
	if (txq_tail)
		txq_tail->next = b;
	else
		txq_head = b;
	txq_tail = b;
	txq_n++;
	return 0;
}

static int fake_tx_wait(struct nic *nic, u64 timeout_ns)
{
	(void)nic;
	(void)timeout_ns;
	return 0;
}

static void fake_stats(struct nic *nic, unsigned q, bool tx, struct nic_queue_stats *out)
{
	(void)nic;
	(void)q;
	(void)tx;
	memset(out, 0, sizeof(*out));
}

static const struct nic_ops fake_ops = {
	.xmit = fake_xmit,
	.tx_wait = fake_tx_wait,
	.stats = fake_stats,
};

/* ---- the parts of nic.c the stack calls ---- */

void nic_set_rx_hook(struct nic *nic, nic_rx_hook_t hook) { nic->rx = hook; }
int nic_xmit(struct nic *nic, struct pkb *b) { return nic->ops->xmit(nic, b); }
int nic_xmit_wait(struct nic *nic, struct pkb *b, u64 timeout_ns)
{
	(void)timeout_ns;
	return nic_xmit(nic, b);
}

/* ---- wait queues: nothing ever sleeps on the host ---- */

void waitq_init(struct waitq *wq, const char *name)
{
	spin_init(&wq->lock, name);
	list_init(&wq->waiters);
	wq->name = name;
}
void wait_prepare(struct waitq *wq, struct waiter *w) { (void)wq; (void)w; }
void wait_block(struct waitq *wq) { panic("host: a test would block on %s", wq->name); }
void wait_finish(struct waitq *wq, struct waiter *w) { (void)wq; (void)w; }
bool waitq_wake_one(struct waitq *wq) { (void)wq; return false; }
int waitq_wake_all(struct waitq *wq) { (void)wq; return 0; }
/* A wait with a deadline: nothing else runs here to wake it, so the fake
 * clock moves to the deadline (timers run meanwhile) and the wait times out. */
bool wait_block_until(struct waitq *wq, u64 deadline_ns)
{
	(void)wq;
	u64 now = arch_clock_ns();
	host_net_advance(deadline_ns > now ? deadline_ns - now : 0);
	return false;
}

/* ---- set-up and frames ---- */

void host_net_setup(u32 nic_features)
{
	host_slab_init();
	pkb_init();
	net_set_clock(host_clock);
	memset(&host_nic, 0, sizeof(host_nic));
	ksnprintf(host_nic.name, sizeof(host_nic.name), "fake0");
	host_nic.driver = "fake";
	memcpy(host_nic.mac, host_nic_mac, 6);
	host_nic.mtu = 1500;
	host_nic.features = nic_features;
	host_nic.link_up = true;
	host_nic.ntxq = host_nic.nrxq = 1;
	host_nic.ops = &fake_ops;
	if (net_attach(&host_nic) != 0)
		panic("host_net_setup: net_attach");
}

void host_net_rx(const void *frame, u32 len, u32 split)
{
	split = MIN(split, len);
	split = MIN(split, (u32)PKB_HDR_ROOM);
	/* as a NIC fills it: no copy is counted */
	struct pkb *b = pkb_alloc_payload(len - split);
	if (!b)
		panic("host_net_rx: no pkb for %u bytes", len - split);
	memcpy(pkb_push(b, split), frame, split);
	const u8 *p = (const u8 *)frame + split;
	for (unsigned i = 0; i < b->nfrags; i++) {
		memcpy(page_address(b->frags[i].page), p, b->frags[i].len);
		p += b->frags[i].len;
	}
	host_nic.rx(&host_nic, b);
}

struct pkb *host_net_tx(void)
{
	struct pkb *b = txq_head;
	if (!b)
		return NULL;
	txq_head = b->next;
	if (!txq_head)
		txq_tail = NULL;
	b->next = NULL;
	txq_n--;
	return b;
}

int host_net_tx_count(void) { return txq_n; }

void host_net_tx_drop_all(void)
{
	struct pkb *b;
	while ((b = host_net_tx()) != NULL)
		pkb_free(b);
}

int host_net_tx_bytes(u8 *buf, u32 max, struct pkb **keep)
{
	struct pkb *b = host_net_tx();
	if (!b)
		return -1;
	u32 h = pkb_hdr_len(b);
	if (h + b->len > max)
		panic("host_net_tx_bytes: frame of %u bytes, buffer of %u", h + b->len, max);
	memcpy(buf, pkb_hdr(b), h);
	for (unsigned i = 0, at = h; i < b->nfrags; i++) {
		memcpy(buf + at, (const u8 *)page_address(b->frags[i].page) + b->frags[i].off,
		       b->frags[i].len);
		at += b->frags[i].len;
	}
	int n = (int)(h + b->len);
	if (keep)
		*keep = b;
	else
		pkb_free(b);
	return n;
}

u16 host_csum(const void *data, u32 len, u32 seed)
{
	const u8 *p = data;
	u64 s = seed;
	for (u32 i = 0; i + 1 < len; i += 2)
		s += (u32)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (u32)(p[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (u16)~s;
}
