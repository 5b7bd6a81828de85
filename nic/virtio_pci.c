/*
 * The virtio 1.x modern PCI transport (§4.1) and split virtqueues (§2.7).
 * All register access goes through the cc_* accessors.
 */
#include "nic/virtio.h"
#include "nic/pci_reg.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

static inline u8 cc_r8(struct virtio_pci *vp, u32 off) { return *(volatile u8 *)(vp->common + off); }
static inline u16 cc_r16(struct virtio_pci *vp, u32 off) { return *(volatile u16 *)(vp->common + off); }
static inline u32 cc_r32(struct virtio_pci *vp, u32 off) { return *(volatile u32 *)(vp->common + off); }
static inline void cc_w8(struct virtio_pci *vp, u32 off, u8 v) { *(volatile u8 *)(vp->common + off) = v; }
static inline void cc_w16(struct virtio_pci *vp, u32 off, u16 v) { *(volatile u16 *)(vp->common + off) = v; }
static inline void cc_w32(struct virtio_pci *vp, u32 off, u32 v) { *(volatile u32 *)(vp->common + off) = v; }
static inline void cc_w64(struct virtio_pci *vp, u32 off, u64 v)
{
	cc_w32(vp, off, (u32)v);
	cc_w32(vp, off + 4, (u32)(v >> 32));
}

u8 virtio_status(struct virtio_pci *vp) { return cc_r8(vp, VIRTIO_CC_STATUS); }
u8 virtio_config_generation(struct virtio_pci *vp) { return cc_r8(vp, VIRTIO_CC_CFG_GEN); }

void virtio_reset(struct virtio_pci *vp)
{
	cc_w8(vp, VIRTIO_CC_STATUS, 0);
	for (int i = 0; i < 100000 && cc_r8(vp, VIRTIO_CC_STATUS) != 0; i++)
		cpu_pause();
}

static void add_status(struct virtio_pci *vp, u8 bits)
{
	cc_w8(vp, VIRTIO_CC_STATUS, cc_r8(vp, VIRTIO_CC_STATUS) | bits);
}

int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *d)
{
	memset(vp, 0, sizeof(*vp));
	vp->pci = d;
	pci_enable(d);
	for (u8 cap = pci_find_cap(d, PCI_CAP_ID_VENDOR, 0); cap;
	     cap = pci_find_cap(d, PCI_CAP_ID_VENDOR, cap)) {
		u8 type = pci_read8(d, cap + VIRTIO_PCI_CAP_CFG_TYPE);
		u8 bar = pci_read8(d, cap + VIRTIO_PCI_CAP_BAR);
		u32 off = pci_read32(d, cap + VIRTIO_PCI_CAP_OFFSET);
		u32 len = pci_read32(d, cap + VIRTIO_PCI_CAP_LENGTH);
		if (bar > 5 || type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue;
		u8 *base = pci_map_bar(d, bar);
		if (!base || (u64)off + len > d->bar[bar].size)
			continue;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (!vp->common)
				vp->common = base + off;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (!vp->notify_base) {
				vp->notify_base = base + off;
				vp->notify_mult = pci_read32(d, cap + VIRTIO_PCI_NOTIFY_MULT);
			}
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (!vp->isr)
				vp->isr = base + off;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!vp->device)
				vp->device = base + off;
			break;
		}
	}
	if (!vp->common || !vp->notify_base || !vp->device) {
		pr_err("virtio: %02x:%02x.%u has no modern (virtio 1.x) interface", d->bus, d->dev,
		       d->fn);
		return -ENODEV;
	}
	virtio_reset(vp);
	add_status(vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vp->nqueues = cc_r16(vp, VIRTIO_CC_NUM_QUEUES);
	return 0;
}

static void feature_names(char *buf, size_t size, u64 f, const char *const *names, int nnames)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int bit = 0; bit < 64 && n + 1 < size; bit++) {
		if (!(f & (1ULL << bit)))
			continue;
		const char *nm = bit < nnames && names && names[bit] ? names[bit] : NULL;
		if (bit == VIRTIO_F_VERSION_1)
			nm = "VERSION_1";
		else if (bit == VIRTIO_F_RING_INDIRECT_DESC)
			nm = "INDIRECT_DESC";
		else if (bit == VIRTIO_F_RING_EVENT_IDX)
			nm = "EVENT_IDX";
		else if (bit == VIRTIO_F_RING_PACKED)
			nm = "RING_PACKED";
		else if (bit == VIRTIO_F_ACCESS_PLATFORM)
			nm = "ACCESS_PLATFORM";
		int w = nm ? ksnprintf(buf + n, size - n, "%s%s", n ? " " : "", nm)
			   : ksnprintf(buf + n, size - n, "%sbit%d", n ? " " : "", bit);
		n += (size_t)MAX(w, 0);
	}
}

int virtio_negotiate(struct virtio_pci *vp, u64 want, const char *const *names, int nnames,
		     const char *who)
{
	cc_w32(vp, VIRTIO_CC_DFSELECT, 0);
	u64 offered = cc_r32(vp, VIRTIO_CC_DF);
	cc_w32(vp, VIRTIO_CC_DFSELECT, 1);
	offered |= (u64)cc_r32(vp, VIRTIO_CC_DF) << 32;
	u64 take = offered & want;
	static char buf[512];
	feature_names(buf, sizeof(buf), offered, names, nnames);
	pr_info("%s: features offered: %s", who, buf);
	feature_names(buf, sizeof(buf), take, names, nnames);
	pr_info("%s: features taken:   %s", who, buf);
	if (!(take & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_err("%s: device does not offer VERSION_1", who);
		add_status(vp, VIRTIO_STATUS_FAILED);
		return -EIO;
	}
	cc_w32(vp, VIRTIO_CC_GFSELECT, 0);
	cc_w32(vp, VIRTIO_CC_GF, (u32)take);
	cc_w32(vp, VIRTIO_CC_GFSELECT, 1);
	cc_w32(vp, VIRTIO_CC_GF, (u32)(take >> 32));
	add_status(vp, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_status(vp) & VIRTIO_STATUS_FEATURES_OK)) {
		pr_err("%s: device refused the features", who);
		add_status(vp, VIRTIO_STATUS_FAILED);
		return -EIO;
	}
	vp->features = take;
	/* the queue count can depend on the features (virtio-net's MQ) */
	vp->nqueues = cc_r16(vp, VIRTIO_CC_NUM_QUEUES);
	return 0;
}

void virtio_driver_ok(struct virtio_pci *vp) { add_status(vp, VIRTIO_STATUS_DRIVER_OK); }

int virtio_set_config_vector(struct virtio_pci *vp, u16 entry)
{
	cc_w16(vp, VIRTIO_CC_MSIX_CONFIG, entry);
	return cc_r16(vp, VIRTIO_CC_MSIX_CONFIG) == entry ? 0 : -EIO;
}

/* ---- split virtqueues ---- */

int vq_create(struct vq *q, struct virtio_pci *vp, u16 index, u16 max_size, u16 msix_entry)
{
	memset(q, 0, sizeof(*q));
	if (index >= vp->nqueues)
		return -ENOENT;
	cc_w16(vp, VIRTIO_CC_Q_SELECT, index);
	u16 size = cc_r16(vp, VIRTIO_CC_Q_SIZE);
	if (size == 0)
		return -ENOENT;
	while (size > max_size && size > 1)
		size /= 2;
	if (size & (size - 1))
		return -EINVAL; /* split rings are powers of two */
	cc_w16(vp, VIRTIO_CC_Q_SIZE, size);
	/* one block: descriptors, avail (+used_event), used (+avail_event),
	 * indirect tables */
	u64 desc_sz = 16ULL * size, avail_sz = 6 + 2ULL * size;
	u64 used_off = ALIGN_UP(desc_sz + avail_sz, 64), used_sz = 6 + 8ULL * size;
	u64 ind_off = ALIGN_UP(used_off + used_sz, 64);
	u64 total = ind_off + (u64)size * VQ_MAX_SEGS * sizeof(struct vring_desc);
	unsigned order = 0;
	while (((u64)PAGE_SIZE << order) < total)
		order++;
	struct page *pg = page_alloc_zeroed(order);
	void **cookie = kzalloc(sizeof(void *) * size);
	if (!pg || !cookie) {
		if (pg)
			page_put(pg);
		kfree(cookie);
		return -ENOMEM;
	}
	u8 *base = page_address(pg);
	q->vp = vp;
	q->index = index;
	q->size = size;
	q->mem = pg;
	q->order = order;
	q->desc = (struct vring_desc *)base;
	q->avail = (struct vring_avail *)(base + desc_sz);
	q->used = (struct vring_used *)(base + used_off);
	q->indirect = (struct vring_desc *)(base + ind_off);
	q->cookie = cookie;
	q->msix_entry = msix_entry;
	return vq_program(q);
}

/* (Re)initialize the ring in its memory and give it to the device. */
int vq_program(struct vq *q)
{
	struct virtio_pci *vp = q->vp;
	memset(page_address(q->mem), 0, PAGE_SIZE << q->order);
	memset(q->cookie, 0, sizeof(void *) * q->size);
	q->event_idx = vp->features & (1ULL << VIRTIO_F_RING_EVENT_IDX);
	for (u16 i = 0; i < q->size; i++)
		q->desc[i].next = (u16)(i + 1);
	q->num_free = q->size;
	q->free_head = 0;
	q->avail_idx = q->last_used = q->kicked_idx = 0;
	cc_w16(vp, VIRTIO_CC_Q_SELECT, q->index);
	cc_w16(vp, VIRTIO_CC_Q_SIZE, q->size);
	u64 pa = page_to_phys(q->mem);
	cc_w64(vp, VIRTIO_CC_Q_DESC, pa);
	cc_w64(vp, VIRTIO_CC_Q_AVAIL, pa + ((u8 *)q->avail - (u8 *)q->desc));
	cc_w64(vp, VIRTIO_CC_Q_USED, pa + ((u8 *)q->used - (u8 *)q->desc));
	cc_w16(vp, VIRTIO_CC_Q_MSIX, q->msix_entry);
	if (q->msix_entry != VIRTIO_MSI_NO_VECTOR && cc_r16(vp, VIRTIO_CC_Q_MSIX) != q->msix_entry) {
		pr_err("virtio: queue %u refused MSI-X entry %u", q->index, q->msix_entry);
		return -EIO;
	}
	u16 noff = cc_r16(vp, VIRTIO_CC_Q_NOFF);
	q->notify = (volatile u16 *)(vp->notify_base + (u32)noff * vp->notify_mult);
	cc_w16(vp, VIRTIO_CC_Q_ENABLE, 1);
	return 0;
}

/* After a device reset: hand back every chain's cookie (the device no
 * longer owns them); the caller frees them. */
void *vq_detach(struct vq *q)
{
	for (u16 i = 0; i < q->size; i++) {
		if (q->cookie[i]) {
			void *c = q->cookie[i];
			q->cookie[i] = NULL;
			return c;
		}
	}
	return NULL;
}

/* Post a deliberately malformed chain (an indirect table whose length is
 * not a multiple of a descriptor): the device must flag NEEDS_RESET. For
 * fault-injection tests only. */
int vq_add_malformed(struct vq *q)
{
	if (q->num_free == 0)
		return -ENOSPC;
	u16 head = q->free_head;
	struct vring_desc *d = &q->desc[head];
	q->free_head = d->next;
	q->num_free--;
	d->addr = virt_to_phys(&q->indirect[(u32)head * VQ_MAX_SEGS]);
	d->len = 15;
	d->flags = VRING_DESC_F_INDIRECT;
	q->cookie[head] = NULL;
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail_idx++;
	WRITE_ONCE(q->avail->idx, q->avail_idx);
	*q->notify = q->index;
	return 0;
}

static inline u16 *used_event(struct vq *q) { return &q->avail->ring[q->size]; }
static inline volatile u16 *avail_event(struct vq *q)
{
	return (volatile u16 *)&q->used->ring[q->size];
}

int vq_add(struct vq *q, const struct pkb_sg *out, int nout, const struct pkb_sg *in, int nin,
	   void *cookie)
{
	int n = nout + nin;
	if (n <= 0 || n > VQ_MAX_SEGS)
		return -EINVAL;
	if (q->num_free == 0)
		return -ENOSPC;
	u16 head = q->free_head;
	struct vring_desc *t = &q->indirect[(u32)head * VQ_MAX_SEGS];
	for (int i = 0; i < n; i++) {
		const struct pkb_sg *sg = i < nout ? &out[i] : &in[i - nout];
		t[i].addr = sg->addr;
		t[i].len = sg->len;
		t[i].flags = (u16)((i < nout ? 0 : VRING_DESC_F_WRITE) |
				   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		t[i].next = (u16)(i + 1);
	}
	struct vring_desc *d = &q->desc[head];
	q->free_head = d->next;
	q->num_free--;
	d->addr = virt_to_phys(t);
	d->len = (u32)(n * sizeof(struct vring_desc));
	d->flags = VRING_DESC_F_INDIRECT;
	q->cookie[head] = cookie;
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail_idx++;
	if ((q->avail_idx & (q->size - 1)) == 0)
		q->wraps++;
	WRITE_ONCE(q->avail->idx, q->avail_idx);
	return 0;
}

void vq_kick(struct vq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	u16 old = q->kicked_idx, now = q->avail_idx;
	bool need;
	if (q->event_idx) {
		u16 ev = READ_ONCE(*avail_event(q));
		need = (u16)(now - ev - 1) < (u16)(now - old);
	} else {
		need = !(READ_ONCE(q->used->flags) & VRING_USED_F_NO_NOTIFY);
	}
	q->kicked_idx = now;
	if (need && now != old) {
		*q->notify = q->index;
		q->kicks++;
	}
}

void vq_notify(struct vq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->kicked_idx = q->avail_idx;
	*q->notify = q->index;
	q->kicks++;
}

bool vq_has_used(struct vq *q) { return READ_ONCE(q->used->idx) != q->last_used; }

void vq_indexes(struct vq *q, struct vq_indexes *ix)
{
	ix->avail = q->avail_idx;
	ix->used = READ_ONCE(q->used->idx);
	ix->seen = q->last_used;
	ix->kicked = q->kicked_idx;
	ix->used_event = q->event_idx ? READ_ONCE(*used_event(q)) : 0;
	ix->avail_event = q->event_idx ? READ_ONCE(*avail_event(q)) : 0;
	ix->no_intr = !q->event_idx && (READ_ONCE(q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

void *vq_get_used(struct vq *q, u32 *len)
{
	if (!vq_has_used(q))
		return NULL;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	struct vring_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
	u32 id = e->id;
	if (id >= q->size || !q->cookie[id]) {
		pr_err("virtio: queue %u: device returned bad id %u", q->index, id);
		q->last_used++;
		return NULL;
	}
	if (len)
		*len = e->len;
	q->last_used++;
	void *c = q->cookie[id];
	q->cookie[id] = NULL;
	q->desc[id].next = q->free_head;
	q->free_head = (u16)id;
	q->num_free++;
	return c;
}

bool vq_enable_intr(struct vq *q)
{
	if (q->event_idx)
		WRITE_ONCE(*used_event(q), q->last_used);
	else
		WRITE_ONCE(q->avail->flags, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_has_used(q);
}

void vq_disable_intr(struct vq *q)
{
	if (q->event_idx) /* half the index space behind: no completion crosses it */
		WRITE_ONCE(*used_event(q), (u16)(q->last_used - 0x8000));
	else
		WRITE_ONCE(q->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
}
