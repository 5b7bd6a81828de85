/*
 * virtio-net driver (modern PCI), multiqueue.
 *
 * Over 1,000 lines on purpose: one driver, one file (as xv6 and 9front keep
 * theirs), because transmit, receive, the watchdog and the device reset
 * share the queue structures and their rules; hardware facts are in
 * virtio_net_reg.h, the transport in virtio_pci.c.
 *
 * Transmit: queue q = cpu % npairs; with a queue per CPU the CPU uses it with
 * preemption off and no lock, otherwise under the queue's lock. Each packet is
 * one ring slot with an indirect table [virtio_net_hdr][headers][payload
 * fragments]; the virtio_net_hdr is its own descriptor (a per-slot array).
 * Completed slots are reclaimed on the next transmit on that queue; a full
 * ring returns -EAGAIN and the caller keeps the packet, and may sleep in
 * tx_wait on the queue's completion interrupt (MSI-X, routed to the
 * queue's CPU; enabled only while someone waits).
 *
 * Receive with header split: each posted buffer is a two-descriptor chain
 * [virtio_net_hdr + predicted header bytes, inside the pkb's own header
 * zone][one page for the payload]. When the prediction matches the packet's
 * real header length the payload lands page-aligned at offset 0 and nothing
 * is copied; otherwise the payload is copied once into a fresh page and the
 * copy counted (copy.rx_miss), and the next prediction follows the packet.
 * Interrupts: the handler only notes the event and wakes the queue's poll
 * thread (pinned to the queue's CPU), which processes a budget of packets,
 * refills, and re-arms the interrupt when idle (NAPI-like). A received
 * packet is handed up only after its replacement buffer is posted; if
 * memory is out the packet is dropped (counted) and its buffer reposted, so
 * the ring never runs empty.
 *
 * Watchdog (one thread per queue pair, on the queue's CPU): a queue with work
 * outstanding and no progress for vnet.watchdog_ms is stalled: a transmit
 * queue whose device index has not moved while descriptors wait (a lost
 * notification: the device is notified again, senders waiting for room are
 * woken), a receive queue with completions its poll thread, asleep for an
 * interrupt, has not taken (a lost interrupt: the thread is woken). Each
 * stall is logged once with the ring's state and counted (nic.watchdog.*,
 * REPL `nic`); a transmit queue still stalled 5 periods later gets a device
 * reset. Between stalls it reclaims transmit completions on an idle queue
 * (they are otherwise reclaimed by the next transmit) and notifies an idle
 * receive queue (a device that ran out of buffers and missed the refill's
 * notification delivers again). `nic inject drop-rx-irq|drop-tx-kick`
 * loses one interrupt or one notification on purpose, for the tests.
 *
 * Device reset: when the device flags NEEDS_RESET, a thread of the driver
 * stops the queues, resets the device, drops (and counts) the buffers it
 * held, sets it up again and resumes (vnet_recover).
 */
#include "nic/nic.h"
#include "nic/virtio.h"
#include "nic/virtio_net_reg.h"
#include "zerocopy/frame.h"
#include "kernel/console/console.h"
#include "kernel/lib/param.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/rcu.h"

#define RX_BUDGET 64
#define PREDICT_DEFAULT 54   /* Ethernet + IPv4 + TCP without options */
#define PREDICT_MIN 14
#define PREDICT_MAX (PKB_HDR_ROOM - VIRTIO_NET_HDR_LEN - 16)
#define VNET_RING_MAX 256
/* Large receive without mergeable buffers: every buffer must hold a 64 KiB
 * segment (Virtio 1.2 §5.1.6.3.1), 16 pages after the header zone. Only
 * RX_BIG_POSTED of them are kept posted per queue (4 MiB), not a ring's
 * worth; pages a small packet leaves unused are reposted (the stash). */
#define RX_BIG_PAGES 16
#define RX_BIG_POSTED 64
#define RX_STASH 64

struct vnet;

/* what the watchdog saw of a queue at its last look */
struct vnet_wd {
	u16 idx;                         /* the index whose moving is progress */
	u64 since;                       /* ns since no progress, 0 while progressing */
	bool stalled;                    /* this stall is logged and counted */
};

struct vnet_txq {
	struct vq vq;
	spinlock_t lock;                 /* only when CPUs share queues */
	struct waitq room_wq;            /* senders waiting for a full ring */
	struct virtio_net_hdr *vhdr;     /* one per ring slot */
	struct nic_queue_stats st;
	struct vnet_wd wd;               /* [watchdog thread] */
	volatile bool drop_kick;         /* injected: lose the next notification */
} __aligned(CACHELINE);

struct vnet_rxq {
	struct vq vq;
	struct vnet *vn;
	unsigned idx, cpu;
	u16 predict;                     /* header bytes the next buffer expects */
	u16 rx_pages;                    /* pages a posted buffer holds */
	u16 max_posted;                  /* buffers kept posted */
	unsigned nstash;
	struct page *stash[RX_STASH];    /* see stash_get */
	volatile bool irq_pending;
	volatile bool sleeping;          /* the poll thread waits for an interrupt */
	volatile bool drop_irq;          /* injected: lose the next interrupt */
	struct waitq wq;
	struct nic_queue_stats st;
	struct vnet_wd wd;               /* [watchdog thread] */
} __aligned(CACHELINE);

struct vnet {
	struct virtio_pci vp;
	struct nic nic;
	u16 npairs, max_pairs;
	bool shared_tx;
	struct vnet_rxq rx[NIC_MAX_QUEUES];
	struct vnet_txq tx[NIC_MAX_QUEUES];
	struct vq ctrl;
	bool have_ctrl, msix;
	u64 want;                        /* features offered at probe */
	/* device reset recovery (vnet_recover) */
	volatile bool stopping;          /* queues are being torn down */
	volatile bool reset_pending;
	int parked;                      /* [atomic] poll threads parked */
	struct waitq restart_wq, reset_wq;
};

static const char *const vnet_feature_names[64] = {
	[VIRTIO_NET_F_CSUM] = "CSUM", [VIRTIO_NET_F_GUEST_CSUM] = "GUEST_CSUM",
	[VIRTIO_NET_F_CTRL_GUEST_OFFLOADS] = "CTRL_GUEST_OFFLOADS", [VIRTIO_NET_F_MTU] = "MTU",
	[VIRTIO_NET_F_MAC] = "MAC", [VIRTIO_NET_F_GUEST_TSO4] = "GUEST_TSO4",
	[VIRTIO_NET_F_GUEST_TSO6] = "GUEST_TSO6", [VIRTIO_NET_F_GUEST_ECN] = "GUEST_ECN",
	[VIRTIO_NET_F_GUEST_UFO] = "GUEST_UFO", [VIRTIO_NET_F_HOST_TSO4] = "HOST_TSO4",
	[VIRTIO_NET_F_HOST_TSO6] = "HOST_TSO6", [VIRTIO_NET_F_HOST_ECN] = "HOST_ECN",
	[VIRTIO_NET_F_HOST_UFO] = "HOST_UFO", [VIRTIO_NET_F_MRG_RXBUF] = "MRG_RXBUF",
	[VIRTIO_NET_F_STATUS] = "STATUS", [VIRTIO_NET_F_CTRL_VQ] = "CTRL_VQ",
	[VIRTIO_NET_F_CTRL_RX] = "CTRL_RX", [VIRTIO_NET_F_CTRL_VLAN] = "CTRL_VLAN",
	[VIRTIO_NET_F_GUEST_ANNOUNCE] = "GUEST_ANNOUNCE", [VIRTIO_NET_F_MQ] = "MQ",
	[VIRTIO_NET_F_CTRL_MAC_ADDR] = "CTRL_MAC_ADDR",
	[VIRTIO_NET_F_SPEED_DUPLEX] = "SPEED_DUPLEX",
};

static inline u8 cfg8(struct vnet *vn, u32 off) { return *(volatile u8 *)(vn->vp.device + off); }
static inline u16 cfg16(struct vnet *vn, u32 off) { return *(volatile u16 *)(vn->vp.device + off); }
static inline u32 cfg32(struct vnet *vn, u32 off) { return *(volatile u32 *)(vn->vp.device + off); }
static inline bool has(struct vnet *vn, int bit) { return vn->vp.features & (1ULL << bit); }

/* ---- receive ---- */

/* The frame as the device wrote it: in_zone bytes in the header zone, then
 * the buffer's pages back to back. */
struct split_view {
	const u8 *zone;
	u32 in_zone;
	const struct pkb *b;
};

static u32 view_byte(const void *ctx, u32 i)
{
	const struct split_view *v = ctx;
	if (i < v->in_zone)
		return v->zone[i];
	i -= v->in_zone;
	return ((const u8 *)page_address(v->b->frags[i / PAGE_SIZE].page))[i % PAGE_SIZE];
}

/* Copy frame bytes [from, from+n) out of the view (the rx_miss copy). */
static void view_copy(const struct split_view *v, u32 from, u8 *dst, u32 n)
{
	if (from < v->in_zone) {
		u32 k = MIN(n, v->in_zone - from);
		memcpy(dst, v->zone + from, k);
		dst += k;
		from += k;
		n -= k;
	}
	while (n) {
		u32 i = from - v->in_zone, off = i % PAGE_SIZE;
		u32 k = MIN(n, (u32)PAGE_SIZE - off);
		memcpy(dst, (const u8 *)page_address(v->b->frags[i / PAGE_SIZE].page) + off, k);
		dst += k;
		from += k;
		n -= k;
	}
}

/* Receive pages that a packet did not fill wait here for the next post
 * (large receive posts RX_BIG_PAGES pages a buffer, small packets use one).
 * Only the queue's poll thread (or the reset thread, while it is parked)
 * touches the stash. */
static struct page *stash_get(struct vnet_rxq *q)
{
	return q->nstash ? q->stash[--q->nstash] : page_alloc(0);
}

static void stash_put(struct vnet_rxq *q, struct page *pg)
{
	if (q->nstash < RX_STASH)
		q->stash[q->nstash++] = pg;
	else
		page_put(pg);
}

/* Post b as [virtio_net_hdr + predicted header bytes][rx_pages pages]. A
 * posted buffer holds its pages as fragments of length 0 until the device
 * fills them: only this driver sees a pkb in that state. On -ENOMEM the
 * pages b holds stay with it (pkb_free returns them). */
static int rx_post(struct vnet_rxq *q, struct pkb *b)
{
	while (b->nfrags < q->rx_pages) {
		struct page *pg = stash_get(q);
		if (!pg)
			return -ENOMEM;
		b->frags[b->nfrags++] = (struct pkb_frag){ pg, 0, 0 };
	}
	while (b->nfrags > q->rx_pages)
		stash_put(q, b->frags[--b->nfrags].page);
	struct pkb_sg in[1 + RX_BIG_PAGES];
	for (unsigned i = 0; i < b->nfrags; i++) {
		b->frags[i].off = 0;
		b->frags[i].len = 0;
		in[1 + i] = (struct pkb_sg){ page_to_phys(b->frags[i].page), PAGE_SIZE };
	}
	b->len = 0;
	b->flags = 0;
	b->gso_size = b->gso_type = 0;
	b->hdr_start = (u16)(PKB_HDR_ROOM - VIRTIO_NET_HDR_LEN - q->predict);
	in[0] = (struct pkb_sg){ virt_to_phys(b->hdr + b->hdr_start), VIRTIO_NET_HDR_LEN + q->predict };
	return vq_add(&q->vq, NULL, 0, in, 1 + (int)b->nfrags, b);
}

static int rx_post_new(struct vnet_rxq *q)
{
	struct pkb *b = pkb_alloc();
	if (!b)
		return -ENOMEM;
	int err = rx_post(q, b);
	if (err)
		pkb_free(b);
	return err;
}

/* Fill the ring (up to max_posted buffers) and tell the device about every
 * buffer posted since the last notice, including rx_one's replacements. */
static void rx_refill(struct vnet_rxq *q)
{
	while (q->vq.num_free > 0 && q->vq.size - q->vq.num_free < q->max_posted &&
	       rx_post_new(q) == 0)
		;
	vq_kick(&q->vq);
}

/* Make the payload page-aligned after a missed prediction: copy it once
 * into fresh pages (counted), and keep the headers contiguous at the end of
 * the header zone. Returns 0 or -ENOMEM (b unchanged). */
static int rx_fix_split(struct vnet_rxq *q, struct pkb *b, const struct split_view *v,
			u32 frame_len, u32 hlen)
{
	u32 payload = frame_len - hlen;
	u32 npages = (payload + PAGE_SIZE - 1) / PAGE_SIZE;
	/* the zone's unused bytes can push a full buffer one page over */
	struct page *np[RX_BIG_PAGES + 1];
	_Static_assert(RX_BIG_PAGES + 1 <= PKB_MAX_FRAGS, "a missed split must fit a pkb");
	for (u32 i = 0; i < npages; i++) {
		np[i] = page_alloc(0);
		if (!np[i]) {
			while (i--)
				page_put(np[i]);
			return -ENOMEM;
		}
	}
	for (u32 i = 0; i < npages; i++)
		view_copy(v, hlen + i * PAGE_SIZE, page_address(np[i]),
			  MIN((u32)PAGE_SIZE, payload - i * PAGE_SIZE));
	if (payload)
		pkb_count_copy(PKB_COPY_RX_MISS, payload);
	/* headers: [vnet hdr][hlen bytes] must end at the end of the zone */
	u8 tmp[PKB_HDR_ROOM];
	memcpy(tmp, b->hdr + b->hdr_start, VIRTIO_NET_HDR_LEN);
	view_copy(v, 0, tmp + VIRTIO_NET_HDR_LEN, hlen);
	b->hdr_start = (u16)(PKB_HDR_ROOM - VIRTIO_NET_HDR_LEN - hlen);
	memcpy(b->hdr + b->hdr_start, tmp, VIRTIO_NET_HDR_LEN + hlen);
	for (u32 i = 0; i < b->nfrags; i++)
		stash_put(q, b->frags[i].page);
	for (u32 i = 0; i < npages; i++)
		b->frags[i] = (struct pkb_frag){ np[i], 0, MIN((u32)PAGE_SIZE, payload - i * PAGE_SIZE) };
	b->nfrags = (u16)npages;
	b->len = payload;
	q->st.hdr_misses++;
	q->st.miss_bytes += payload;
	return 0;
}

/* The payload landed at offset 0 of the first page: give the pkb the pages
 * it filled and keep the rest for the next post. */
static void rx_take_pages(struct vnet_rxq *q, struct pkb *b, u32 payload)
{
	u32 used = (payload + PAGE_SIZE - 1) / PAGE_SIZE;
	while (b->nfrags > used)
		stash_put(q, b->frags[--b->nfrags].page);
	for (u32 i = 0; i < used; i++)
		b->frags[i].len = MIN((u32)PAGE_SIZE, payload - i * PAGE_SIZE);
	b->len = payload;
}

/* Offload metadata from the device: checksums it vouches for or left
 * partial (a packet from the same host), and large-receive segments. */
static void rx_offloads(struct vnet_rxq *q, struct pkb *b, const struct virtio_net_hdr *vh)
{
	if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		b->flags |= PKB_CSUM_VALID;
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		b->flags |= PKB_CSUM_PARTIAL | PKB_CSUM_VALID;
		b->csum_start = vh->csum_start;
		b->csum_offset = vh->csum_offset;
	}
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		b->gso_type = vh->gso_type;
		b->gso_size = vh->gso_size;
	}
	if (b->len > PAGE_SIZE || vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		q->st.large++;
}

static void rx_drop(struct vnet_rxq *q, struct pkb *b)
{
	q->st.drops++;
	if (rx_post(q, b)) /* reuse the buffer */
		pkb_free(b);
}

static void rx_one(struct vnet_rxq *q, struct pkb *b, u32 used_len)
{
	struct vnet *vn = q->vn;
	u64 c0 = arch_cycles();
	u32 predicted = PKB_HDR_ROOM - VIRTIO_NET_HDR_LEN - b->hdr_start;
	if (used_len < VIRTIO_NET_HDR_LEN + ETH_HLEN ||
	    used_len > VIRTIO_NET_HDR_LEN + predicted + b->nfrags * PAGE_SIZE) {
		rx_drop(q, b); /* runt or impossible length */
		return;
	}
	u32 frame_len = used_len - VIRTIO_NET_HDR_LEN;
	struct split_view v = { b->hdr + b->hdr_start + VIRTIO_NET_HDR_LEN,
				MIN(frame_len, predicted), b };
	struct frame_hdrs f;
	u32 hlen = frame_parse(view_byte, &v, frame_len, &f);
	hlen = MIN(hlen, (u32)PREDICT_MAX);

	/* the replacement goes in first: the ring must not shrink */
	if (rx_post_new(q) != 0) {
		rx_drop(q, b);
		return;
	}
	if (hlen == predicted && frame_len >= predicted) {
		q->st.hdr_hits++;
		rx_take_pages(q, b, frame_len - predicted);
	} else if (rx_fix_split(q, b, &v, frame_len, hlen) != 0) {
		q->st.drops++;
		pkb_free(b);
		return;
	}
	q->predict = (u16)MAX(hlen, (u32)PREDICT_MIN);
	rx_offloads(q, b, (const struct virtio_net_hdr *)pkb_hdr(b));
	pkb_pull(b, VIRTIO_NET_HDR_LEN);
	b->queue = (u16)q->idx;
	q->st.packets++;
	q->st.bytes += frame_len;
	q->st.cycles += arch_cycles() - c0; /* the driver's share, before the stack's */
	nic_deliver(&vn->nic, b);
}

static int rx_process(struct vnet_rxq *q, int budget)
{
	int n = 0;
	u32 len;
	struct pkb *b;
	while (n < budget && (b = vq_get_used(&q->vq, &len)) != NULL) {
		rx_one(q, b, len);
		n++;
	}
	return n;
}

static void rx_poll_main(void *arg)
{
	struct vnet_rxq *q = arg;
	struct vnet *vn = q->vn;
	for (;;) {
		if (vn->stopping) { /* a device reset is under way: stay off the ring */
			__atomic_fetch_add(&vn->parked, 1, __ATOMIC_ACQ_REL);
			wait_event(&vn->restart_wq, !vn->stopping);
			__atomic_fetch_sub(&vn->parked, 1, __ATOMIC_ACQ_REL);
			continue;
		}
		int n = rx_process(q, RX_BUDGET);
		rx_refill(q);
		if (n == RX_BUDGET) {
			thread_yield();
			continue;
		}
		if (vq_enable_intr(&q->vq)) {
			vq_disable_intr(&q->vq);
			continue;
		}
		q->sleeping = true;
		wait_event(&q->wq, q->irq_pending);
		q->sleeping = false;
		q->irq_pending = false;
		vq_disable_intr(&q->vq);
	}
}

static u64 wd_rx_irqs_dropped, wd_tx_kicks_dropped; /* [atomic] injected losses */

static void rx_irq(void *arg)
{
	struct vnet_rxq *q = arg;
	q->st.irqs++;
	/* no more interrupts until the poll thread has looked (it re-arms them
	 * when the ring is empty); without event indexes the device would
	 * otherwise interrupt for every packet until the thread runs */
	vq_disable_intr(&q->vq);
	if (q->drop_irq) { /* a lost interrupt, on purpose (nic inject): one in all */
		for (unsigned i = 0; i < q->vn->npairs; i++)
			q->vn->rx[i].drop_irq = false;
		__atomic_fetch_add(&wd_rx_irqs_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	q->irq_pending = true;
	waitq_wake_one(&q->wq);
}

/* ---- transmit ---- */

/* Transmit completions interrupt only while a sender waits for room. */
static void tx_irq(void *arg)
{
	struct vnet_txq *q = arg;
	q->st.irqs++;
	waitq_wake_all(&q->room_wq);
}

static void tx_reclaim(struct vnet_txq *q)
{
	struct pkb *b;
	while ((b = vq_get_used(&q->vq, NULL)) != NULL)
		pkb_free(b);
}

static int vnet_xmit(struct nic *nic, struct pkb *b)
{
	struct vnet *vn = nic->priv;
	struct pkb_sg sg[VQ_MAX_SEGS];
	int err = 0;

	u64 c0 = arch_cycles();
	preempt_disable();
	struct vnet_txq *q = &vn->tx[cpu_id() % vn->npairs];
	if (vn->shared_tx)
		spin_lock(&q->lock);
	if (vn->stopping) {
		q->st.drops++;
		err = -ENETDOWN;
		goto out_free;
	}
	tx_reclaim(q);
	if (!nic->link_up) {
		q->st.drops++;
		err = -ENETDOWN;
		goto out_free;
	}
	if (q->vq.num_free == 0) {
		/* the device may have missed a notification: tell it again */
		q->st.ring_full++;
		vq_notify(&q->vq);
		err = -EAGAIN;
		goto out;
	}
	u16 slot = q->vq.free_head;
	struct virtio_net_hdr *vh = &q->vhdr[slot];
	memset(vh, 0, sizeof(*vh));
	if ((b->flags & PKB_CSUM_PARTIAL) && (nic->features & NIC_F_TX_CSUM)) {
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->csum_start = b->csum_start;
		vh->csum_offset = b->csum_offset;
	}
	if (b->gso_size && (nic->features & NIC_F_TSO4)) {
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh->gso_size = b->gso_size;
		vh->hdr_len = (u16)pkb_hdr_len(b);
	}
	sg[0] = (struct pkb_sg){ virt_to_phys(vh), VIRTIO_NET_HDR_LEN };
	int n = pkb_to_sg(b, sg + 1, VQ_MAX_SEGS - 1);
	if (n <= 0) {
		q->st.drops++;
		err = n ? n : -EINVAL;
		goto out_free;
	}
	u32 bytes = pkb_hdr_len(b) + b->len;
	err = vq_add(&q->vq, sg, n + 1, NULL, 0, b);
	if (err) {
		q->st.drops++;
		goto out_free;
	}
	if (q->drop_kick) { /* a lost notification, on purpose (nic inject): one in all */
		for (unsigned i = 0; i < vn->npairs; i++)
			vn->tx[i].drop_kick = false;
		q->vq.kicked_idx = q->vq.avail_idx;
		__atomic_fetch_add(&wd_tx_kicks_dropped, 1, __ATOMIC_RELAXED);
	} else {
		vq_kick(&q->vq);
	}
	q->st.packets++;
	q->st.bytes += bytes;
	goto out;
out_free:
	pkb_free(b);
out:
	q->st.cycles += arch_cycles() - c0;
	if (vn->shared_tx)
		spin_unlock(&q->lock);
	preempt_enable();
	return err;
}

static bool tx_room(struct vnet_txq *q)
{
	return q->vq.num_free > 0 || vq_has_used(&q->vq);
}

static int vnet_tx_wait(struct nic *nic, u64 timeout_ns)
{
	struct vnet *vn = nic->priv;
	struct vnet_txq *q = &vn->tx[cpu_id() % vn->npairs];
	if (tx_room(q))
		return 0;
	/* ask for an interrupt at the next completion, then sleep on it */
	if (vn->shared_tx)
		spin_lock(&q->lock);
	bool already = vq_enable_intr(&q->vq);
	if (vn->shared_tx)
		spin_unlock(&q->lock);
	bool ok = already ||
		  wait_event_timeout(&q->room_wq, tx_room(q) || vn->stopping, timeout_ns);
	if (vn->stopping)
		return -ENETDOWN;
	if (vn->shared_tx)
		spin_lock(&q->lock);
	vq_disable_intr(&q->vq);
	if (vn->shared_tx)
		spin_unlock(&q->lock);
	return ok ? 0 : -ETIMEDOUT;
}

static void vnet_stats(struct nic *nic, unsigned qi, bool tx, struct nic_queue_stats *out)
{
	struct vnet *vn = nic->priv;
	if (qi >= vn->npairs) {
		memset(out, 0, sizeof(*out));
		return;
	}
	struct vq *vq = tx ? &vn->tx[qi].vq : &vn->rx[qi].vq;
	*out = tx ? vn->tx[qi].st : vn->rx[qi].st;
	out->kicks = vq->kicks;
	out->wraps = vq->wraps;
	out->inflight = (u64)(vq->size - READ_ONCE(vq->num_free));
	struct vq_indexes ix;
	vq_indexes(vq, &ix);
	out->ring_avail = ix.avail;
	out->ring_used = ix.used;
	out->ring_seen = ix.seen;
	out->ring_kicked = ix.kicked;
	out->used_event = ix.used_event;
	out->avail_event = ix.avail_event;
}

static int vnet_inject(struct nic *nic, const char *what);

static const struct nic_ops vnet_ops = {
	.xmit = vnet_xmit,
	.tx_wait = vnet_tx_wait,
	.inject = vnet_inject,
	.stats = vnet_stats,
};

/* ---- control queue and configuration changes ---- */

static int ctrl_mq(struct vnet *vn, u16 pairs)
{
	static struct {
		struct virtio_net_ctrl_hdr hdr;
		u16 pairs;
		u8 ack;
	} __packed cmd;
	cmd.hdr.class_ = VIRTIO_NET_CTRL_MQ;
	cmd.hdr.cmd = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	cmd.pairs = pairs;
	cmd.ack = 0xff;
	struct pkb_sg out[2] = { { virt_to_phys(&cmd.hdr), 2 }, { virt_to_phys(&cmd.pairs), 2 } };
	struct pkb_sg in[1] = { { virt_to_phys(&cmd.ack), 1 } };
	if (vq_add(&vn->ctrl, out, 2, in, 1, &cmd) != 0)
		return -EIO;
	vq_kick(&vn->ctrl);
	u64 deadline = arch_clock_ns() + 1000000000ULL;
	while (!vq_get_used(&vn->ctrl, NULL)) {
		if (arch_clock_ns() > deadline)
			return -ETIMEDOUT;
		cpu_pause();
	}
	return cmd.ack == VIRTIO_NET_OK ? 0 : -EIO;
}

static void config_irq(void *arg)
{
	struct vnet *vn = arg;
	bool up = !has(vn, VIRTIO_NET_F_STATUS) ||
		  (cfg16(vn, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP);
	if (up != vn->nic.link_up) {
		vn->nic.link_up = up;
		vn->nic.link_changes++;
		printk(LOG_INFO, "%s: link %s", vn->nic.name, up ? "up" : "down");
	}
	if ((virtio_status(&vn->vp) & VIRTIO_STATUS_NEEDS_RESET) && !vn->reset_pending) {
		vn->reset_pending = true;
		waitq_wake_one(&vn->reset_wq);
	}
}

/*
 * Recover from a device that flagged NEEDS_RESET: stop senders (they run
 * with preemption off, so a grace period sees them all out) and park the
 * poll threads, reset the device, drop every buffer it held (counted),
 * negotiate again, give it fresh rings in the same memory, refill, resume.
 */
static void vnet_recover(struct vnet *vn)
{
	const char *nm = vn->nic.name;
	printk(LOG_ERR, "%s: device needs a reset: resetting it", nm);
	vn->stopping = true;
	synchronize_rcu();
	for (unsigned i = 0; i < vn->npairs; i++) {
		vn->rx[i].irq_pending = true;
		waitq_wake_one(&vn->rx[i].wq);
		waitq_wake_all(&vn->tx[i].room_wq);
	}
	u64 deadline = arch_clock_ns() + 2000000000ULL;
	while (__atomic_load_n(&vn->parked, __ATOMIC_ACQUIRE) < (int)vn->npairs) {
		if (arch_clock_ns() > deadline) {
			printk(LOG_ERR, "%s: poll threads did not stop; device left down", nm);
			return;
		}
		thread_sleep_ns(1000000);
	}
	struct pci_dev *d = vn->vp.pci;
	virtio_reset(&vn->vp);
	u64 dropped = 0;
	struct pkb *b;
	for (unsigned i = 0; i < vn->npairs; i++) {
		while ((b = vq_detach(&vn->rx[i].vq)) != NULL) {
			pkb_free(b);
			dropped++;
		}
		while ((b = vq_detach(&vn->tx[i].vq)) != NULL) {
			pkb_free(b);
			dropped++;
			vn->tx[i].st.drops++;
		}
	}
	if (vn->have_ctrl)
		while (vq_detach(&vn->ctrl))
			; /* the control command is static */
	int err = virtio_pci_init(&vn->vp, d);
	if (!err)
		err = virtio_negotiate(&vn->vp, vn->want, vnet_feature_names, 64, nm);
	if (!err && vn->msix)
		err = virtio_set_config_vector(&vn->vp, 0);
	for (unsigned i = 0; !err && i < vn->npairs; i++) {
		err = vq_program(&vn->rx[i].vq);
		if (!err)
			err = vq_program(&vn->tx[i].vq);
		vq_disable_intr(&vn->tx[i].vq);
	}
	if (!err && vn->have_ctrl)
		err = vq_program(&vn->ctrl);
	if (err) {
		printk(LOG_ERR, "%s: could not bring the device back (%d); it stays down", nm, err);
		return;
	}
	virtio_driver_ok(&vn->vp);
	if (vn->npairs > 1 && ctrl_mq(vn, vn->npairs) != 0)
		printk(LOG_ERR, "%s: queue pairs not re-enabled after the reset", nm);
	for (unsigned i = 0; i < vn->npairs; i++)
		rx_refill(&vn->rx[i]);
	vn->nic.resets++;
	vn->stopping = false;
	waitq_wake_all(&vn->restart_wq);
	printk(LOG_INFO, "%s: device reset done: %llu buffers it held were dropped; running again",
	       nm, (unsigned long long)dropped);
}

static void reset_main(void *arg)
{
	struct vnet *vn = arg;
	for (;;) {
		wait_event(&vn->reset_wq, vn->reset_pending);
		vnet_recover(vn);
		vn->reset_pending = false;
	}
}

/* ---- watchdog ---- */

static u64 wd_period_ms = 1000; /* vnet.watchdog_ms; 0: off */
static u64 wd_tx_stalls, wd_rx_stalls, wd_resets; /* [atomic] */

static int set_watchdog(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, false, &n) < 0 || (n && n < 10) || n > 600000)
		return -EINVAL;
	wd_period_ms = n;
	return 0;
}
KPARAM("vnet.watchdog_ms", set_watchdog,
       "a queue with work outstanding and no progress this long is stalled and recovered "
       "(10-600000; 0: no watchdog), default 1000");

KCOUNTER_VAR("nic.watchdog.tx_stalls", "stalls", wd_tx_stalls);
KCOUNTER_VAR("nic.watchdog.rx_stalls", "stalls", wd_rx_stalls);
KCOUNTER_VAR("nic.watchdog.resets", "resets", wd_resets);
KCOUNTER_VAR("nic.inject.rx_irqs_dropped", "interrupts", wd_rx_irqs_dropped);
KCOUNTER_VAR("nic.inject.tx_kicks_dropped", "notifications", wd_tx_kicks_dropped);

static void wd_log(struct vnet *vn, const char *dir, unsigned qi, struct vq *vq, u64 ms,
		   const char *action)
{
	struct vq_indexes ix;
	vq_indexes(vq, &ix);
	printk(LOG_WARN, "%s: watchdog: %s queue %u stalled for %llu ms (avail %u used %u seen %u "
	       "kicked %u, %u in flight): %s", vn->nic.name, dir, qi, (unsigned long long)ms,
	       ix.avail, ix.used, ix.seen, ix.kicked, (unsigned)(vq->size - READ_ONCE(vq->num_free)),
	       action);
}

/* Progress since the last look? Returns how long there has been none (ns),
 * 0 when there was some or no work is outstanding. */
static u64 wd_idle(struct vnet_wd *wd, bool outstanding, u16 idx, u64 now)
{
	bool moved = idx != wd->idx;
	wd->idx = idx;
	if (moved || !outstanding) {
		wd->since = 0;
		wd->stalled = false;
		return 0;
	}
	if (!wd->since)
		wd->since = now;
	return now - wd->since;
}

static void wd_tx(struct vnet *vn, unsigned qi, u64 now, u64 bound)
{
	struct vnet_txq *q = &vn->tx[qi];
	struct vq_indexes ix;
	preempt_disable();
	if (vn->shared_tx)
		spin_lock(&q->lock);
	vq_indexes(&q->vq, &ix);
	/* progress: the device completing descriptors */
	u64 idle = wd_idle(&q->wd, ix.avail != ix.used, ix.used, now);
	if (idle >= bound) {
		if (!q->wd.stalled) {
			q->wd.stalled = true;
			q->st.stalls++;
			__atomic_fetch_add(&wd_tx_stalls, 1, __ATOMIC_RELAXED);
			wd_log(vn, "tx", qi, &q->vq, idle / 1000000, "notifying the device again");
		}
		vq_notify(&q->vq);
	}
	tx_reclaim(q); /* completions a quiet queue would keep until its next transmit */
	if (vn->shared_tx)
		spin_unlock(&q->lock);
	preempt_enable();
	if (idle >= bound)
		waitq_wake_all(&q->room_wq);
	if (idle >= 5 * bound && !vn->reset_pending) {
		wd_log(vn, "tx", qi, &q->vq, idle / 1000000, "resetting the device");
		__atomic_fetch_add(&wd_resets, 1, __ATOMIC_RELAXED);
		q->wd.since = 0;
		vn->reset_pending = true;
		waitq_wake_one(&vn->reset_wq);
	}
}

static void wd_rx(struct vnet *vn, unsigned qi, u64 now, u64 bound)
{
	struct vnet_rxq *q = &vn->rx[qi];
	struct vq_indexes ix;
	vq_indexes(&q->vq, &ix);
	/* only a poll thread asleep for an interrupt can miss completions */
	/* progress: the poll thread taking completions */
	u64 idle = wd_idle(&q->wd, ix.used != ix.seen && q->sleeping, ix.seen, now);
	if (idle >= bound) {
		if (!q->wd.stalled) {
			q->wd.stalled = true;
			q->st.stalls++;
			__atomic_fetch_add(&wd_rx_stalls, 1, __ATOMIC_RELAXED);
			wd_log(vn, "rx", qi, &q->vq, idle / 1000000, "waking its poll thread");
		}
		q->irq_pending = true;
		waitq_wake_one(&q->wq);
	} else if (ix.used == ix.seen && q->sleeping) {
		vq_notify(&q->vq); /* idle: a refill's notification may have been missed */
	}
}

static void wd_main(void *arg)
{
	struct vnet_rxq *rq = arg;
	struct vnet *vn = rq->vn;
	unsigned qi = rq->idx;
	for (;;) {
		u64 period = wd_period_ms * 1000000ULL;
		thread_sleep_ns(period / 2);
		if (vn->stopping || vn->reset_pending)
			continue;
		u64 now = arch_clock_ns();
		wd_tx(vn, qi, now, period);
		wd_rx(vn, qi, now, period);
	}
}

static int vnet_inject(struct nic *nic, const char *what)
{
	struct vnet *vn = nic->priv;
	if (strcmp(what, "drop-rx-irq") == 0) {
		for (unsigned i = 0; i < vn->npairs; i++)
			vn->rx[i].drop_irq = true;
		return 0;
	}
	if (strcmp(what, "drop-tx-kick") == 0) {
		for (unsigned i = 0; i < vn->npairs; i++)
			vn->tx[i].drop_kick = true;
		return 0;
	}
	if (strcmp(what, "bad-descriptor") != 0)
		return -ENOTSUP;
	preempt_disable();
	struct vnet_txq *q = &vn->tx[cpu_id() % vn->npairs];
	if (vn->shared_tx)
		spin_lock(&q->lock);
	int err = vq_add_malformed(&q->vq);
	if (vn->shared_tx)
		spin_unlock(&q->lock);
	preempt_enable();
	return err;
}

/* ---- probe ---- */

static int vnet_setup_queues(struct vnet *vn, struct pci_dev *d)
{
	bool msix = pci_msix_setup(d) == 0;
	vn->msix = msix;
	unsigned want = MIN((unsigned)vn->max_pairs, ncpus);
	want = MIN(want, (unsigned)NIC_MAX_QUEUES);
	if (msix && d->msix_entries < 1 + 2 * want)
		want = MAX(1u, (unsigned)(d->msix_entries - 1) / 2);
	if (!msix)
		pr_warn("%s: no MSI-X: receive queues are polled", vn->nic.name);
	vn->npairs = (u16)want;
	vn->shared_tx = vn->npairs < ncpus;

	if (msix) {
		int v = arch_irq_alloc(config_irq, vn);
		if (v < 0 || pci_msix_set(d, 0, v, 0) || virtio_set_config_vector(&vn->vp, 0))
			pr_warn("%s: no configuration-change interrupt", vn->nic.name);
	}
	for (unsigned i = 0; i < vn->npairs; i++) {
		struct vnet_rxq *rq = &vn->rx[i];
		struct vnet_txq *tq = &vn->tx[i];
		rq->vn = vn;
		rq->idx = i;
		rq->cpu = i % ncpus;
		rq->predict = PREDICT_DEFAULT;
		bool big = has(vn, VIRTIO_NET_F_GUEST_TSO4);
		rq->rx_pages = big ? RX_BIG_PAGES : 1;
		rq->max_posted = big ? RX_BIG_POSTED : VNET_RING_MAX;
		waitq_init(&rq->wq, "vnet_rx");
		spin_init(&tq->lock, "vnet_tx");
		waitq_init(&tq->room_wq, "vnet_tx_room");
		u16 rx_entry = msix ? (u16)(1 + 2 * i) : VIRTIO_MSI_NO_VECTOR;
		u16 tx_entry = msix ? (u16)(2 + 2 * i) : VIRTIO_MSI_NO_VECTOR;
		int err = vq_create(&rq->vq, &vn->vp, (u16)(2 * i), VNET_RING_MAX, rx_entry);
		if (!err)
			err = vq_create(&tq->vq, &vn->vp, (u16)(2 * i + 1), VNET_RING_MAX, tx_entry);
		if (err) {
			pr_err("%s: queue pair %u: cannot set up its queues (%d); device has %u",
			       vn->nic.name, i, err, vn->vp.nqueues);
			return err;
		}
		tq->vhdr = kzalloc(sizeof(struct virtio_net_hdr) * tq->vq.size);
		if (!tq->vhdr)
			return -ENOMEM;
		vq_disable_intr(&tq->vq);
		if (msix) {
			int v = arch_irq_alloc(rx_irq, rq);
			if (v < 0 || pci_msix_set(d, rx_entry, v, rq->cpu))
				return -ENOSPC;
			v = arch_irq_alloc(tx_irq, tq);
			if (v < 0 || pci_msix_set(d, tx_entry, v, i % ncpus))
				return -ENOSPC;
		}
	}
	if (vn->have_ctrl) {
		int err = vq_create(&vn->ctrl, &vn->vp, (u16)(2 * vn->max_pairs), 64,
				    VIRTIO_MSI_NO_VECTOR);
		if (err) {
			pr_warn("%s: no control queue (%d): one queue pair", vn->nic.name, err);
			vn->have_ctrl = false;
		}
	}
	if (msix)
		pci_msix_enable(d, true);
	return 0;
}

static bool vnet_lro = true;

static int set_lro(const char *v)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		return -EINVAL;
	vnet_lro = strcmp(v, "on") == 0;
	return 0;
}
KPARAM("vnet.lro", set_lro, "on|off: take coalesced 64 KiB TCP segments (GUEST_TSO4), default on");

static bool vnet_event_idx = false;
static int set_event_idx(const char *v)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		return -EINVAL;
	vnet_event_idx = strcmp(v, "on") == 0;
	return 0;
}
KPARAM("vnet.event_idx", set_event_idx,
       "on|off: event-index notification suppression (EVENT_IDX), default off");

static int vnet_probe_one(struct pci_dev *d, int index)
{
	struct vnet *vn = kzalloc(sizeof(*vn));
	if (!vn)
		return -ENOMEM;
	ksnprintf(vn->nic.name, sizeof(vn->nic.name), "vnet%d", index);
	vn->nic.driver = "virtio-net";
	int err = virtio_pci_init(&vn->vp, d);
	if (err)
		goto fail;
	u64 want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |
		   (1ULL << VIRTIO_NET_F_MAC) |
		   (1ULL << VIRTIO_NET_F_STATUS) | (1ULL << VIRTIO_NET_F_MQ) |
		   (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CSUM) |
		   (1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |
		   (1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_NET_F_SPEED_DUPLEX);
	if (vnet_lro)
		want |= 1ULL << VIRTIO_NET_F_GUEST_TSO4;
	if (vnet_event_idx)
		want |= 1ULL << VIRTIO_F_RING_EVENT_IDX;
	vn->want = want;
	waitq_init(&vn->restart_wq, "vnet_restart");
	waitq_init(&vn->reset_wq, "vnet_reset");
	err = virtio_negotiate(&vn->vp, want, vnet_feature_names, 64, vn->nic.name);
	if (err)
		goto fail;
	if (!has(vn, VIRTIO_F_RING_INDIRECT_DESC)) {
		pr_err("%s: device lacks indirect descriptors, which this driver needs",
		       vn->nic.name);
		err = -ENOTSUP;
		goto fail;
	}
	for (int i = 0; i < 6; i++)
		vn->nic.mac[i] = has(vn, VIRTIO_NET_F_MAC) ? cfg8(vn, VIRTIO_NET_CFG_MAC + (u32)i)
							   : (u8)(i == 0 ? 0x02 : i);
	vn->max_pairs = has(vn, VIRTIO_NET_F_MQ) ? cfg16(vn, VIRTIO_NET_CFG_MAX_PAIRS) : 1;
	if (vn->max_pairs == 0)
		vn->max_pairs = 1;
	vn->have_ctrl = has(vn, VIRTIO_NET_F_CTRL_VQ);
	vn->nic.mtu = has(vn, VIRTIO_NET_F_MTU) ? cfg16(vn, VIRTIO_NET_CFG_MTU) : 1500;
	vn->nic.speed_mbps = has(vn, VIRTIO_NET_F_SPEED_DUPLEX) ? cfg32(vn, VIRTIO_NET_CFG_SPEED) : 0;
	vn->nic.link_up = !has(vn, VIRTIO_NET_F_STATUS) ||
			  (cfg16(vn, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP);
	vn->nic.features = (has(vn, VIRTIO_NET_F_CSUM) ? NIC_F_TX_CSUM : 0) |
			   (has(vn, VIRTIO_NET_F_GUEST_CSUM) ? NIC_F_RX_CSUM : 0) |
			   (has(vn, VIRTIO_NET_F_HOST_TSO4) ? NIC_F_TSO4 : 0) |
			   (has(vn, VIRTIO_NET_F_GUEST_TSO4) ? NIC_F_LRO4 : 0);
	err = vnet_setup_queues(vn, d);
	if (err)
		goto fail;
	virtio_driver_ok(&vn->vp);
	if (vn->npairs > 1) {
		if (!vn->have_ctrl || ctrl_mq(vn, vn->npairs) != 0) {
			pr_warn("%s: could not enable %u queue pairs; using 1", vn->nic.name,
				vn->npairs);
			vn->npairs = 1;
			vn->shared_tx = ncpus > 1;
		}
	}
	vn->nic.ntxq = vn->npairs;
	vn->nic.nrxq = vn->npairs;
	vn->nic.ops = &vnet_ops;
	vn->nic.priv = vn;
	for (unsigned i = 0; i < vn->npairs; i++) {
		rx_refill(&vn->rx[i]);
		if (vn->rx[i].vq.num_free == vn->rx[i].vq.size) {
			err = -ENOMEM;
			goto fail;
		}
		struct thread *t = thread_create("vnet_rx", rx_poll_main, &vn->rx[i],
						 (int)vn->rx[i].cpu, THREAD_PINNED);
		if (!t) {
			err = -ENOMEM;
			goto fail;
		}
		thread_put(t);
	}
	for (unsigned i = 0; wd_period_ms && i < vn->npairs; i++) {
		struct thread *t = thread_create("vnet_wd", wd_main, &vn->rx[i],
						 (int)vn->rx[i].cpu, THREAD_PINNED);
		if (!t) {
			err = -ENOMEM;
			goto fail;
		}
		thread_put(t);
	}
	struct thread *rt = thread_create("vnet_reset", reset_main, vn, -1, 0);
	if (!rt) {
		err = -ENOMEM;
		goto fail;
	}
	thread_put(rt);
	nic_register(&vn->nic);
	const u8 *m = vn->nic.mac;
	pr_info("%s: virtio-net at %02x:%02x.%u, MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s, "
		"%u Mb/s, mtu %u, %u queue pair%s in use (device max %u), rings of %u",
		vn->nic.name, d->bus, d->dev, d->fn, m[0], m[1], m[2], m[3], m[4], m[5],
		vn->nic.link_up ? "up" : "down", vn->nic.speed_mbps, vn->nic.mtu, vn->npairs,
		vn->npairs == 1 ? "" : "s", vn->max_pairs, vn->rx[0].vq.size);
	return 0;
fail:
	pr_err("%s: setup failed (%d); device left reset", vn->nic.name, err);
	virtio_reset(&vn->vp);
	return err; /* vn and partial queues stay allocated: the device may still own them */
}

int virtio_net_probe(void)
{
	int n = 0;
	for (int i = 0; i < pci_count(); i++) {
		struct pci_dev *d = pci_get(i);
		if (d->vendor != VIRTIO_PCI_VENDOR)
			continue;
		bool net = d->device == VIRTIO_NET_PCI_DEVICE_MODERN ||
			   (d->device == VIRTIO_NET_PCI_DEVICE_TRANS && d->subsys == 1);
		if (net && vnet_probe_one(d, n) == 0)
			n++;
	}
	return n;
}
