/*
 * virtio-blk driver (modern PCI, and the modern interface of transitional
 * devices), multiqueue. The virtio transport and split virtqueues are
 * nic/virtio_pci.c's (nic/virtio.h): the disk driver and the NIC drivers
 * are one layer, so this is a sideways include, not an upward one.
 *
 * Queues: one per CPU when the device offers that many (VIRTIO_BLK_F_MQ),
 * else fewer, shared. A request goes on queue cpu % nqueues under the
 * queue's lock, as one ring slot: an indirect table [header][data pages or
 * a discard range][status byte], the data segments straight from the
 * caller's pages. At most `depth` requests are in flight on a queue
 * (blk.depth, at most the ring size); a submitter past that sleeps on
 * slot_wq until a completion frees a slot.
 *
 * Completions: the queue's MSI-X interrupt only notes the event and wakes
 * the queue's completion thread (pinned to the queue's CPU), which takes
 * the finished requests off the ring under the lock, records their
 * latency, and runs their end_io with the lock dropped. Without MSI-X the
 * thread polls every millisecond.
 *
 * Timeouts: the completion thread also wakes every blk.timeout_ms / 4 and
 * looks for a request older than blk.timeout_ms (default 10000). The
 * device is then reset (vblk_reset): submitters and the other queues'
 * threads are held off, every request the device held is completed with
 * -EIO (counted as a timeout and an error), the queues are given back
 * fresh, and the disk runs on. `blk inject hang` makes the queues stop
 * notifying the device (it never sees new requests) until that reset, and
 * `blk inject drop-irq` loses one completion interrupt (the periodic look
 * finds the completion): both for the tests.
 *
 * Merging of adjacent requests is not done (the `merges` counter stays 0):
 * there is no queue of waiting requests to merge in yet, since a request
 * goes to the ring as soon as it has a slot.
 *
 * Locks: q->lock (spinlock) guards [Q] fields; vb->reset_lock (mutex)
 * serialises resets. Lock order: reset_lock, then queue locks in index
 * order (only the reset holds more than one, and never all at once).
 */
#include "fs/blk/blk.h"
#include "fs/blk/blk_priv.h"
#include "fs/blk/virtio_blk_reg.h"
#include "nic/virtio.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/sync.h"

#define VBLK_RING_MAX 128
#define VBLK_POLL_NS 1000000ULL       /* no MSI-X: the completion thread polls */
#define VBLK_REAP_BATCH 32

struct vblk;

/* One per ring slot (indexed by the chain's head descriptor). */
struct vblk_slot {
	struct virtio_blk_outhdr hdr;     /* device-readable */
	struct virtio_blk_dwz dwz;        /* device-readable: discard / write zeroes */
	u8 status;                        /* device-writable */
	struct blk_req *req;              /* [Q] NULL while the slot is free */
};

struct vblk_queue {
	struct vq vq;                     /* [Q] */
	struct vblk *vb;
	unsigned idx, cpu;
	spinlock_t lock;
	struct vblk_slot *slots;          /* [Q] one per ring slot */
	u16 depth;                        /* at most this many in flight */
	u16 inflight;                     /* [Q] */
	struct blk_queue_stats st;        /* [Q] (irqs: atomic) */
	struct hist *lat[2];              /* [Q] reads; writes and flushes */
	struct waitq irq_wq;              /* the completion thread sleeps here */
	struct waitq slot_wq;             /* submitters waiting for a slot */
	volatile bool irq_pending;
	volatile bool drop_irq;           /* injected: lose the next interrupt */
	volatile bool hang;               /* injected: never notify the device */
} __aligned(CACHELINE);

struct vblk {
	struct virtio_pci vp;
	struct blk_disk disk;
	u64 want;                         /* features offered at probe */
	u16 nq;
	bool msix;
	volatile bool resetting;          /* queues held off by vblk_reset */
	struct mutex reset_lock;
	struct vblk_queue q[BLK_MAX_QUEUES];
};

static u64 timeout_ms = 10000;   /* blk.timeout_ms */
static u64 depth_max = VBLK_RING_MAX;  /* blk.depth */

static int set_timeout(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, false, &n) < 0 || n < 100 || n > 600000)
		return -EINVAL;
	timeout_ms = n;
	return 0;
}
KPARAM("blk.timeout_ms", set_timeout,
       "a disk request unanswered this long fails with EIO after a device reset "
       "(100-600000), default 10000");

static int set_depth(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, false, &n) < 0 || n < 1 || n > VBLK_RING_MAX)
		return -EINVAL;
	depth_max = n;
	return 0;
}
KPARAM("blk.depth", set_depth, "requests in flight per disk queue (1-128), default 128");

static const char *const vblk_feature_names[64] = {
	[VIRTIO_BLK_F_SIZE_MAX] = "SIZE_MAX", [VIRTIO_BLK_F_SEG_MAX] = "SEG_MAX",
	[VIRTIO_BLK_F_GEOMETRY] = "GEOMETRY", [VIRTIO_BLK_F_RO] = "RO",
	[VIRTIO_BLK_F_BLK_SIZE] = "BLK_SIZE", [VIRTIO_BLK_F_FLUSH] = "FLUSH",
	[VIRTIO_BLK_F_TOPOLOGY] = "TOPOLOGY", [VIRTIO_BLK_F_CONFIG_WCE] = "CONFIG_WCE",
	[VIRTIO_BLK_F_MQ] = "MQ", [VIRTIO_BLK_F_DISCARD] = "DISCARD",
	[VIRTIO_BLK_F_WRITE_ZEROES] = "WRITE_ZEROES",
};

static inline u16 cfg16(struct vblk *vb, u32 off) { return *(volatile u16 *)(vb->vp.device + off); }
static inline u32 cfg32(struct vblk *vb, u32 off) { return *(volatile u32 *)(vb->vp.device + off); }
static inline bool has(struct vblk *vb, int bit) { return vb->vp.features & (1ULL << bit); }

/* §2.5.1: a 64-bit field is read as two halves under one config generation */
static u64 cfg64(struct vblk *vb, u32 off)
{
	for (int tries = 0; tries < 100; tries++) {
		u8 gen = virtio_config_generation(&vb->vp);
		u64 v = cfg32(vb, off) | (u64)cfg32(vb, off + 4) << 32;
		if (virtio_config_generation(&vb->vp) == gen)
			return v;
	}
	return 0; /* a configuration that never settles: a disk of nothing */
}

/* ---- limits: what the device says, made safe (blk_priv.h) ---- */

int vblk_limits(const struct vblk_raw_config *c, struct blk_disk *d, char *why, size_t why_len)
{
	why[0] = '\0';
	if (c->capacity >= BLK_MAX_CAPACITY) {
		ksnprintf(why, why_len, "absurd capacity of %llu sectors",
			  (unsigned long long)c->capacity);
		return -EINVAL;
	}
	d->nsectors = c->capacity;
	d->sector_size = BLK_SECTOR;
	if (c->has_blk_size) {
		u32 b = c->blk_size;
		if (b >= BLK_SECTOR && b <= 65536 && (b & (b - 1)) == 0)
			d->sector_size = b;
		else
			ksnprintf(why, why_len, "block size %u ignored (512 used)", b);
	}
	/* a capacity that is not a whole number of blocks: the tail is unusable */
	d->nsectors -= d->nsectors % (d->sector_size / BLK_SECTOR);
	d->max_segs = BLK_MAX_SEGS;
	if (c->has_seg_max && c->seg_max >= 1 && c->seg_max < d->max_segs)
		d->max_segs = (u16)c->seg_max;
	d->max_seg_len = PAGE_SIZE;
	if (c->has_size_max && c->size_max >= BLK_SECTOR && c->size_max < PAGE_SIZE)
		d->max_seg_len = c->size_max & ~(BLK_SECTOR - 1);
	d->max_sectors = (u32)((u64)d->max_segs * d->max_seg_len / BLK_SECTOR);
	d->max_sectors -= d->max_sectors % (d->sector_size / BLK_SECTOR);
	if (d->max_sectors == 0) {
		ksnprintf(why, why_len, "segments of %u bytes cannot hold a block of %u",
			  d->max_seg_len, d->sector_size);
		return -EINVAL;
	}
	d->max_discard_sectors = 0;
	if (c->discard_or_wz) {
		u32 m = c->max_discard_sectors ? c->max_discard_sectors : 0xffffffffu;
		d->max_discard_sectors = m - m % (d->sector_size / BLK_SECTOR);
	}
	return 0;
}

/* ---- submission ---- */

static bool room(struct vblk_queue *q)
{
	return !q->vb->resetting && READ_ONCE(q->inflight) < q->depth &&
	       READ_ONCE(q->vq.num_free) > 0;
}

static const u32 vblk_type[BLK_NOPS] = {
	[BLK_READ] = VIRTIO_BLK_T_IN, [BLK_WRITE] = VIRTIO_BLK_T_OUT,
	[BLK_FLUSH] = VIRTIO_BLK_T_FLUSH, [BLK_DISCARD] = VIRTIO_BLK_T_DISCARD,
	[BLK_WRITE_ZEROES] = VIRTIO_BLK_T_WRITE_ZEROES,
};

/* The chain of slot s for r: [header][data or range][status]. */
static void build_chain(struct vblk_slot *s, struct blk_req *r, struct pkb_sg *out, int *nout,
			struct pkb_sg *in, int *nin)
{
	s->hdr.type = vblk_type[r->op];
	s->hdr.ioprio = 0;
	s->hdr.sector = r->op == BLK_FLUSH ? 0 : r->sector;
	s->status = 0xff;
	*nout = 0;
	*nin = 0;
	out[(*nout)++] = (struct pkb_sg){ virt_to_phys(&s->hdr), sizeof(s->hdr) };
	if (r->op == BLK_DISCARD || r->op == BLK_WRITE_ZEROES) {
		s->dwz = (struct virtio_blk_dwz){ r->sector, r->nsectors, 0 };
		out[(*nout)++] = (struct pkb_sg){ virt_to_phys(&s->dwz), sizeof(s->dwz) };
	}
	for (unsigned i = 0; i < r->nsegs; i++) {
		struct pkb_sg sg = { page_to_phys(r->seg[i].page) + r->seg[i].off, r->seg[i].len };
		if (r->op == BLK_WRITE)
			out[(*nout)++] = sg;
		else
			in[(*nin)++] = sg;
	}
	in[(*nin)++] = (struct pkb_sg){ virt_to_phys(&s->status), 1 };
}

static void count_submit(struct vblk_queue *q, const struct blk_req *r)
{
	q->st.requests++;
	switch (r->op) {
	case BLK_READ:
		q->st.reads++;
		q->st.sectors_read += r->nsectors;
		break;
	case BLK_WRITE:
		q->st.writes++;
		q->st.sectors_written += r->nsectors;
		break;
	case BLK_FLUSH:
		q->st.flushes++;
		break;
	case BLK_DISCARD:
		q->st.discards++;
		break;
	default:
		q->st.write_zeroes++;
		break;
	}
}

static int vblk_submit(struct blk_disk *d, struct blk_req *r)
{
	struct vblk *vb = d->priv;
	struct vblk_queue *q = &vb->q[cpu_id() % vb->nq];
	struct pkb_sg out[BLK_MAX_SEGS + 2], in[BLK_MAX_SEGS + 1];
	int nout, nin;
	_Static_assert(BLK_MAX_SEGS + 2 <= VQ_MAX_SEGS, "a request must fit an indirect table");

	spin_lock(&q->lock);
	while (!room(q)) {
		q->st.slot_waits++;
		spin_unlock(&q->lock);
		wait_event(&q->slot_wq, room(q));
		spin_lock(&q->lock);
	}
	u16 head = q->vq.free_head; /* vq_add takes the chain's head from here */
	struct vblk_slot *s = &q->slots[head];
	build_chain(s, r, out, &nout, in, &nin);
	r->start_ns = arch_clock_ns();
	int err = vq_add(&q->vq, out, nout, in, nin, s);
	if (err) { /* cannot happen after room(): checked sizes, a free slot */
		spin_unlock(&q->lock);
		return -EIO;
	}
	s->req = r;
	q->inflight++;
	count_submit(q, r);
	if (!q->hang) {
		vq_kick(&q->vq);
		q->st.kicks = q->vq.kicks;
	}
	spin_unlock(&q->lock);
	return 0;
}

/* ---- completion ---- */

static u64 irqs_dropped; /* [atomic] injected losses */
KCOUNTER_VAR("blk.inject.irqs_dropped", "interrupts", irqs_dropped);

static void vblk_irq(void *arg)
{
	struct vblk_queue *q = arg;
	__atomic_fetch_add(&q->st.irqs, 1, __ATOMIC_RELAXED);
	if (q->drop_irq) { /* a lost interrupt, on purpose (blk inject): one in all */
		for (unsigned i = 0; i < q->vb->nq; i++)
			q->vb->q[i].drop_irq = false;
		__atomic_fetch_add(&irqs_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	q->irq_pending = true;
	waitq_wake_one(&q->irq_wq);
}

static void finish(struct blk_req *done)
{
	while (done) {
		struct blk_req *r = done;
		done = r->next;
		r->next = NULL;
		r->end_io(r);
	}
}

/* Take completed requests off the ring; their end_io runs unlocked. */
static void reap(struct vblk_queue *q)
{
	for (;;) {
		struct blk_req *done = NULL, **tail = &done;
		int n = 0;
		spin_lock(&q->lock);
		if (q->vb->resetting) {
			spin_unlock(&q->lock);
			return;
		}
		u64 now = arch_clock_ns(); /* under the lock: after every start_ns on the ring */
		struct vblk_slot *s;
		while (n < VBLK_REAP_BATCH && (s = vq_get_used(&q->vq, NULL)) != NULL) {
			struct blk_req *r = s->req;
			s->req = NULL;
			q->inflight--;
			u8 st = READ_ONCE(s->status);
			r->error = st == VIRTIO_BLK_S_OK ? 0 : st == VIRTIO_BLK_S_UNSUPP ? -EOPNOTSUPP : -EIO;
			if (r->error)
				q->st.errors++;
			hist_record(q->lat[r->op != BLK_READ], now - r->start_ns);
			*tail = r;
			tail = &r->next;
			n++;
		}
		spin_unlock(&q->lock);
		if (n)
			waitq_wake_all(&q->slot_wq);
		finish(done);
		if (n < VBLK_REAP_BATCH)
			return;
	}
}

static u64 oldest_start(struct vblk_queue *q)
{
	u64 oldest = 0;
	spin_lock(&q->lock);
	for (u16 i = 0; i < q->vq.size; i++) {
		struct blk_req *r = q->slots[i].req;
		if (r && (!oldest || r->start_ns < oldest))
			oldest = r->start_ns;
	}
	spin_unlock(&q->lock);
	return oldest;
}

static void vblk_reset(struct vblk *vb, unsigned who);

static void done_main(void *arg)
{
	struct vblk_queue *q = arg;
	struct vblk *vb = q->vb;
	for (;;) {
		u64 look = vb->msix ? timeout_ms * 1000000ULL / 4 : VBLK_POLL_NS;
		wait_event_timeout(&q->irq_wq, q->irq_pending, look);
		q->irq_pending = false;
		reap(q);
		u64 oldest = oldest_start(q);
		if (oldest && arch_clock_ns() - oldest > timeout_ms * 1000000ULL)
			vblk_reset(vb, q->idx);
	}
}

/* Hold the queues off, reset the device, fail what it held with -EIO, give
 * it fresh queues. Called by a completion thread, no lock held. */
static void vblk_reset(struct vblk *vb, unsigned who)
{
	const char *nm = vb->disk.name;
	mutex_lock(&vb->reset_lock);
	u64 oldest = oldest_start(&vb->q[who]);
	if (!oldest || arch_clock_ns() - oldest <= timeout_ms * 1000000ULL) {
		mutex_unlock(&vb->reset_lock);
		return; /* another thread's reset took care of it */
	}
	printk(LOG_ERR, "%s: queue %u: a request unanswered for %llu ms: resetting the device",
	       nm, who, (unsigned long long)((arch_clock_ns() - oldest) / 1000000));
	vb->resetting = true;
	/* a submitter or reaper inside its critical section finishes it;
	 * after this none starts one (they look at resetting under the lock) */
	for (unsigned i = 0; i < vb->nq; i++) {
		spin_lock(&vb->q[i].lock);
		spin_unlock(&vb->q[i].lock);
	}
	struct pci_dev *pci = vb->vp.pci;
	virtio_reset(&vb->vp); /* the device lets go of every buffer */
	struct blk_req *failed = NULL;
	u64 nfailed = 0;
	for (unsigned i = 0; i < vb->nq; i++) {
		struct vblk_queue *q = &vb->q[i];
		spin_lock(&q->lock);
		for (u16 k = 0; k < q->vq.size; k++) {
			struct blk_req *r = q->slots[k].req;
			if (!r)
				continue;
			q->slots[k].req = NULL;
			r->error = -EIO;
			r->next = failed;
			failed = r;
			q->st.errors++;
			q->st.timeouts++;
			nfailed++;
		}
		q->inflight = 0;
		q->hang = false;
		spin_unlock(&q->lock);
	}
	int err = virtio_pci_init(&vb->vp, pci);
	if (!err)
		err = virtio_negotiate(&vb->vp, vb->want, vblk_feature_names, 64, nm);
	for (unsigned i = 0; !err && i < vb->nq; i++)
		err = vq_program(&vb->q[i].vq);
	if (!err) {
		virtio_driver_ok(&vb->vp);
		vb->disk.resets++;
		vb->resetting = false;
		printk(LOG_INFO, "%s: device reset done: %llu requests failed with EIO; running again",
		       nm, (unsigned long long)nfailed);
	} else {
		/* resetting stays set: submitters would wait forever, so the
		 * disk is made read-nothing instead: every range is refused */
		printk(LOG_ERR, "%s: could not bring the device back (%d); it stays down", nm, err);
		vb->disk.nsectors = 0;
		vb->disk.features |= BLK_F_RO;
		vb->resetting = false;
		for (unsigned i = 0; i < vb->nq; i++)
			vb->q[i].hang = true; /* nothing reaches the dead device; timeouts fail it */
	}
	mutex_unlock(&vb->reset_lock);
	for (unsigned i = 0; i < vb->nq; i++)
		waitq_wake_all(&vb->q[i].slot_wq);
	finish(failed);
}

/* ---- the block-layer operations ---- */

static void vblk_stats(struct blk_disk *d, unsigned qi, struct blk_queue_stats *out)
{
	struct vblk *vb = d->priv;
	memset(out, 0, sizeof(*out));
	if (qi >= vb->nq)
		return;
	struct vblk_queue *q = &vb->q[qi];
	spin_lock(&q->lock);
	*out = q->st;
	out->inflight = q->inflight;
	out->kicks = q->vq.kicks;
	spin_unlock(&q->lock);
	out->irqs = __atomic_load_n(&q->st.irqs, __ATOMIC_RELAXED);
}

static void vblk_latency(struct blk_disk *d, unsigned qi, bool write, struct hist *out)
{
	struct vblk *vb = d->priv;
	if (qi < vb->nq)
		hist_merge(out, vb->q[qi].lat[write]); /* a concurrent reader: see hist.h */
}

static int vblk_inject(struct blk_disk *d, const char *what)
{
	struct vblk *vb = d->priv;
	bool hang = strcmp(what, "hang") == 0;
	if (!hang && strcmp(what, "drop-irq") != 0)
		return -ENOTSUP;
	for (unsigned i = 0; i < vb->nq; i++) {
		if (hang)
			vb->q[i].hang = true;
		else
			vb->q[i].drop_irq = true;
	}
	return 0;
}

static const struct blk_ops vblk_ops = {
	.submit = vblk_submit,
	.stats = vblk_stats,
	.latency = vblk_latency,
	.inject = vblk_inject,
};

/* ---- probe ---- */

static int setup_queues(struct vblk *vb, struct pci_dev *pci, u16 dev_queues)
{
	bool msix = pci_msix_setup(pci) == 0;
	unsigned want = MIN((unsigned)dev_queues, ncpus);
	want = MIN(want, (unsigned)BLK_MAX_QUEUES);
	if (msix && pci->msix_entries < 2)
		msix = false;
	if (msix)
		want = MIN(want, (unsigned)pci->msix_entries - 1u); /* entry 0: configuration */
	if (!msix)
		pr_warn("%s: no MSI-X: completions are polled", vb->disk.name);
	vb->msix = msix;
	vb->nq = (u16)MAX(want, 1u);
	for (unsigned i = 0; i < vb->nq; i++) {
		struct vblk_queue *q = &vb->q[i];
		q->vb = vb;
		q->idx = i;
		q->cpu = i % ncpus;
		spin_init(&q->lock, "vblk_q");
		waitq_init(&q->irq_wq, "vblk_irq");
		waitq_init(&q->slot_wq, "vblk_slot");
		u16 entry = msix ? (u16)(1 + i) : VIRTIO_MSI_NO_VECTOR;
		int err = vq_create(&q->vq, &vb->vp, (u16)i, VBLK_RING_MAX, entry);
		if (err) {
			pr_err("%s: queue %u: cannot set it up (%d)", vb->disk.name, i, err);
			return err;
		}
		q->depth = (u16)MIN((u64)q->vq.size, depth_max);
		q->slots = kzalloc(sizeof(struct vblk_slot) * q->vq.size);
		q->lat[0] = kzalloc(sizeof(struct hist));
		q->lat[1] = kzalloc(sizeof(struct hist));
		if (!q->slots || !q->lat[0] || !q->lat[1])
			return -ENOMEM;
		if (msix) {
			int v = arch_irq_alloc(vblk_irq, q);
			if (v < 0 || pci_msix_set(pci, entry, v, q->cpu))
				return -ENOSPC;
		}
	}
	if (msix) {
		virtio_set_config_vector(&vb->vp, VIRTIO_MSI_NO_VECTOR);
		pci_msix_enable(pci, true);
	}
	return 0;
}

static void read_config(struct vblk *vb, struct vblk_raw_config *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = cfg64(vb, VIRTIO_BLK_CFG_CAPACITY);
	c->has_blk_size = has(vb, VIRTIO_BLK_F_BLK_SIZE);
	c->blk_size = c->has_blk_size ? cfg32(vb, VIRTIO_BLK_CFG_BLK_SIZE) : 0;
	c->has_seg_max = has(vb, VIRTIO_BLK_F_SEG_MAX);
	c->seg_max = c->has_seg_max ? cfg32(vb, VIRTIO_BLK_CFG_SEG_MAX) : 0;
	c->has_size_max = has(vb, VIRTIO_BLK_F_SIZE_MAX);
	c->size_max = c->has_size_max ? cfg32(vb, VIRTIO_BLK_CFG_SIZE_MAX) : 0;
	c->discard_or_wz = has(vb, VIRTIO_BLK_F_DISCARD) || has(vb, VIRTIO_BLK_F_WRITE_ZEROES);
	if (has(vb, VIRTIO_BLK_F_DISCARD))
		c->max_discard_sectors = cfg32(vb, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS);
	if (has(vb, VIRTIO_BLK_F_WRITE_ZEROES)) {
		u32 wz = cfg32(vb, VIRTIO_BLK_CFG_MAX_WZ_SECTORS);
		if (!c->max_discard_sectors || (wz && wz < c->max_discard_sectors))
			c->max_discard_sectors = wz;
	}
}

static void feature_string(struct vblk *vb)
{
	static const struct { int bit; u32 flag; const char *name; } f[] = {
		{ VIRTIO_BLK_F_RO, BLK_F_RO, "ro" }, { VIRTIO_BLK_F_FLUSH, BLK_F_FLUSH, "flush" },
		{ VIRTIO_BLK_F_DISCARD, BLK_F_DISCARD, "discard" },
		{ VIRTIO_BLK_F_WRITE_ZEROES, BLK_F_WRITE_ZEROES, "write_zeroes" },
		{ VIRTIO_BLK_F_MQ, 0, "mq" },
		{ VIRTIO_F_RING_INDIRECT_DESC, 0, "indirect" },
	};
	size_t n = 0;
	char *b = vb->disk.feature_names;
	b[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		if (!has(vb, f[i].bit))
			continue;
		vb->disk.features |= f[i].flag;
		int w = ksnprintf(b + n, sizeof(vb->disk.feature_names) - n, "%s%s", n ? "," : "",
				  f[i].name);
		n = MIN(n + (size_t)MAX(w, 0), sizeof(vb->disk.feature_names) - 1);
	}
}

static int vblk_probe_one(struct pci_dev *pci, int index)
{
	struct vblk *vb = kzalloc(sizeof(*vb));
	if (!vb)
		return -ENOMEM;
	ksnprintf(vb->disk.name, sizeof(vb->disk.name), "vd%c", 'a' + index);
	vb->disk.driver = "virtio-blk";
	mutex_init(&vb->reset_lock, "vblk_reset");
	const char *nm = vb->disk.name;
	int err = virtio_pci_init(&vb->vp, pci);
	if (err)
		goto fail;
	vb->want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |
		   (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		   (1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		   (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_MQ) |
		   (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	err = virtio_negotiate(&vb->vp, vb->want, vblk_feature_names, 64, nm);
	if (err)
		goto fail;
	if (!has(vb, VIRTIO_F_RING_INDIRECT_DESC)) {
		pr_err("%s: device lacks indirect descriptors, which this driver needs", nm);
		err = -ENOTSUP;
		goto fail;
	}
	struct vblk_raw_config c;
	read_config(vb, &c);
	char why[96];
	err = vblk_limits(&c, &vb->disk, why, sizeof(why));
	if (why[0])
		pr_warn("%s: %s", nm, why);
	if (err)
		goto fail;
	feature_string(vb);
	u16 dev_queues = has(vb, VIRTIO_BLK_F_MQ) ? cfg16(vb, VIRTIO_BLK_CFG_NUM_QUEUES) : 1;
	dev_queues = (u16)MIN(MAX(dev_queues, (u16)1), vb->vp.nqueues);
	err = setup_queues(vb, pci, MAX(dev_queues, (u16)1));
	if (err)
		goto fail;
	virtio_driver_ok(&vb->vp);
	vb->disk.nqueues = vb->nq;
	vb->disk.ops = &vblk_ops;
	vb->disk.priv = vb;
	for (unsigned i = 0; i < vb->nq; i++) {
		struct thread *t = thread_create("vblk_done", done_main, &vb->q[i],
						 (int)vb->q[i].cpu, THREAD_PINNED);
		if (!t) {
			err = -ENOMEM;
			goto fail;
		}
		thread_put(t);
	}
	err = blk_register(&vb->disk);
	if (err)
		goto fail;
	if (vb->disk.nsectors == 0)
		pr_warn("%s: capacity 0: every I/O will be refused", nm);
	pr_info("%s: virtio-blk at %02x:%02x.%u, %llu sectors (%llu MiB), block %u, %s, "
		"%u queue%s in use (device has %u), depth %u, features %s", nm, pci->bus, pci->dev,
		pci->fn, (unsigned long long)vb->disk.nsectors,
		(unsigned long long)(vb->disk.nsectors >> 11), vb->disk.sector_size,
		(vb->disk.features & BLK_F_RO) ? "read-only" : "read-write", vb->nq,
		vb->nq == 1 ? "" : "s", dev_queues, vb->q[0].depth, vb->disk.feature_names);
	return 0;
fail:
	pr_err("%s: setup failed (%d); device left reset", nm, err);
	virtio_reset(&vb->vp);
	return err; /* vb stays allocated: threads or the device may still see it */
}

int virtio_blk_probe(void)
{
	int n = 0;
	for (int i = 0; i < pci_count() && n < 26; i++) {
		struct pci_dev *d = pci_get(i);
		if (d->vendor != VIRTIO_PCI_VENDOR)
			continue;
		bool blk = d->device == VIRTIO_BLK_PCI_DEVICE_MODERN ||
			   (d->device == VIRTIO_BLK_PCI_DEVICE_TRANS &&
			    d->subsys == VIRTIO_BLK_PCI_SUBSYS);
		if (blk && vblk_probe_one(d, n) == 0)
			n++;
	}
	return n;
}
