/*
 * Virtio 1.x over modern PCI, and split virtqueues: the transport of the
 * virtio drivers, virtio-net here and virtio-blk in fs/blk (the disk driver
 * sits beside nic/ in the layers, so it includes this header sideways).
 *
 * A driver: virtio_pci_init (reset, acknowledge, map the structures),
 * virtio_negotiate (offer what it wants, keep what the device has; the
 * boot log says what was offered and taken), vq_create for each queue,
 * virtio_driver_ok. Queues: vq_add a chain (device-readable `out` segments
 * then device-writable `in` segments, through an indirect table so one ring
 * slot is one packet), vq_kick, vq_get_used.
 *
 * Locks: a vq is used by one thread at a time (its owner says which:
 * a per-CPU transmit queue, a receive poll thread).
 */
#ifndef NIC_VIRTIO_H
#define NIC_VIRTIO_H

#include "nic/pci.h"
#include "nic/virtio_reg.h"
#include "zerocopy/pkb.h"

struct virtio_pci {
	struct pci_dev *pci;
	volatile u8 *common, *notify_base, *isr, *device;
	u32 notify_mult;
	u64 features;         /* negotiated */
	u16 nqueues;          /* the device's num_queues */
};

#define VQ_MAX_SEGS (2 + PKB_MAX_FRAGS)

struct vq {
	struct virtio_pci *vp;
	u16 index, size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_desc *indirect;  /* size tables of VQ_MAX_SEGS */
	volatile u16 *notify;
	bool event_idx;
	u16 free_head, num_free;
	u16 avail_idx;                /* next avail->idx to publish */
	u16 last_used;                /* next used entry to consume */
	u16 kicked_idx;               /* avail idx at the last notify */
	void **cookie;
	u64 kicks, wraps;
	struct page *mem;
	unsigned order;
	u16 msix_entry;
};

int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *d);
/* Offers `want`; returns 0 and sets vp->features, or -EIO. `names` maps
 * bit numbers to names for the log (may be NULL). */
int virtio_negotiate(struct virtio_pci *vp, u64 want, const char *const *names, int nnames,
		     const char *who);
void virtio_driver_ok(struct virtio_pci *vp);
void virtio_reset(struct virtio_pci *vp);
u8 virtio_status(struct virtio_pci *vp);
/* Changes whenever the device configuration does (§4.1.4.3): read it
 * before and after a multi-part field. */
u8 virtio_config_generation(struct virtio_pci *vp);
int virtio_set_config_vector(struct virtio_pci *vp, u16 entry);

int vq_create(struct vq *q, struct virtio_pci *vp, u16 index, u16 max_size, u16 msix_entry);
/* Re-initialize a created queue in place and give it to the device again
 * (after a device reset). */
int vq_program(struct vq *q);
/* After a device reset: one outstanding cookie at a time, NULL when none. */
void *vq_detach(struct vq *q);
int vq_add_malformed(struct vq *q);
/* Add one chain; returns 0 or -ENOSPC (ring full) / -EINVAL (too many
 * segments). */
int vq_add(struct vq *q, const struct pkb_sg *out, int nout, const struct pkb_sg *in, int nin,
	   void *cookie);
/* Tell the device about new chains if it wants to hear (event index). */
void vq_kick(struct vq *q);
/* Notify the device whatever it asked for (the watchdog, a full ring). */
void vq_notify(struct vq *q);
/* Next completed chain's cookie (and bytes written), or NULL. */
void *vq_get_used(struct vq *q, u32 *len);
bool vq_has_used(struct vq *q);
/* A snapshot of the ring's indexes (any context; for the REPL and the
 * watchdog). */
struct vq_indexes {
	u16 avail, used, seen, kicked, used_event, avail_event;
	bool no_intr;
};
void vq_indexes(struct vq *q, struct vq_indexes *ix);
/* Ask for an interrupt at the next completion; returns true if some are
 * already there (poll again instead of sleeping). */
bool vq_enable_intr(struct vq *q);
void vq_disable_intr(struct vq *q);

#endif
