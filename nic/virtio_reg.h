/*
 * Virtio 1.x: device status, feature bits, the modern PCI transport's
 * capability layout and common configuration, split virtqueue layout.
 * Section numbers refer to the Virtio 1.2 specification.
 */
#ifndef NIC_VIRTIO_REG_H
#define NIC_VIRTIO_REG_H

#include "kernel/lib/types.h"

#define VIRTIO_PCI_VENDOR 0x1af4

/* §2.1 device status field */
#define VIRTIO_STATUS_ACKNOWLEDGE  1
#define VIRTIO_STATUS_DRIVER       2
#define VIRTIO_STATUS_DRIVER_OK    4
#define VIRTIO_STATUS_FEATURES_OK  8
#define VIRTIO_STATUS_NEEDS_RESET  64
#define VIRTIO_STATUS_FAILED       128

/* §6 reserved feature bits */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33
#define VIRTIO_F_RING_PACKED        34

/* §4.1.4 virtio PCI capability (vendor-specific, cap id 9) */
#define VIRTIO_PCI_CAP_CFG_TYPE  3   /* 8, ro: which structure */
#define VIRTIO_PCI_CAP_BAR       4   /* 8, ro */
#define VIRTIO_PCI_CAP_OFFSET    8   /* 32, ro: within the BAR */
#define VIRTIO_PCI_CAP_LENGTH    12  /* 32, ro */
#define VIRTIO_PCI_NOTIFY_MULT   16  /* 32, ro: notify capability only */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* §4.1.4.3 common configuration structure, offsets */
#define VIRTIO_CC_DFSELECT      0x00  /* 32, rw: device_feature_select */
#define VIRTIO_CC_DF            0x04  /* 32, ro: device_feature */
#define VIRTIO_CC_GFSELECT      0x08  /* 32, rw: driver_feature_select */
#define VIRTIO_CC_GF            0x0c  /* 32, rw: driver_feature */
#define VIRTIO_CC_MSIX_CONFIG   0x10  /* 16, rw: config_msix_vector */
#define VIRTIO_CC_NUM_QUEUES    0x12  /* 16, ro */
#define VIRTIO_CC_STATUS        0x14  /* 8, rw: device_status */
#define VIRTIO_CC_CFG_GEN       0x15  /* 8, ro: config_generation */
#define VIRTIO_CC_Q_SELECT      0x16  /* 16, rw */
#define VIRTIO_CC_Q_SIZE        0x18  /* 16, rw */
#define VIRTIO_CC_Q_MSIX        0x1a  /* 16, rw */
#define VIRTIO_CC_Q_ENABLE      0x1c  /* 16, rw */
#define VIRTIO_CC_Q_NOFF        0x1e  /* 16, ro: queue_notify_off */
#define VIRTIO_CC_Q_DESC        0x20  /* 64, rw */
#define VIRTIO_CC_Q_AVAIL       0x28  /* 64, rw: driver area */
#define VIRTIO_CC_Q_USED        0x30  /* 64, rw: device area */
#define VIRTIO_MSI_NO_VECTOR    0xffff

/* §2.7 split virtqueues */
#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

/* naturally aligned: no packing needed */
struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct vring_avail {
	u16 flags;
	u16 idx;
	u16 ring[];   /* then u16 used_event */
};

struct vring_used_elem {
	u32 id;
	u32 len;
};

struct vring_used {
	u16 flags;
	u16 idx;
	struct vring_used_elem ring[];   /* then u16 avail_event */
};

#endif
