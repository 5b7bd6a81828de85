/*
 * virtio-blk: hardware facts only (Virtio 1.2 §5.2): PCI ids, feature bits,
 * the device configuration layout, the request header and status codes.
 */
#ifndef BLK_VIRTIO_BLK_REG_H
#define BLK_VIRTIO_BLK_REG_H

#include "kernel/lib/types.h"

/* §4.1.2 PCI device discovery: 0x1040 + device id 2; transitional 0x1001
 * with subsystem device id 2 */
#define VIRTIO_BLK_PCI_DEVICE_MODERN 0x1042
#define VIRTIO_BLK_PCI_DEVICE_TRANS  0x1001
#define VIRTIO_BLK_PCI_SUBSYS        2

/* §5.2.3 feature bits */
#define VIRTIO_BLK_F_SIZE_MAX     1   /* size_max: largest segment */
#define VIRTIO_BLK_F_SEG_MAX      2   /* seg_max: segments a request */
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5   /* read-only device */
#define VIRTIO_BLK_F_BLK_SIZE     6   /* blk_size: logical block size */
#define VIRTIO_BLK_F_FLUSH        9   /* VIRTIO_BLK_T_FLUSH (a volatile cache) */
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12  /* num_queues */
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* §5.2.4 device configuration layout, offsets (all little-endian, ro) */
#define VIRTIO_BLK_CFG_CAPACITY     0x00  /* 64: in 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX     0x08  /* 32 */
#define VIRTIO_BLK_CFG_SEG_MAX      0x0c  /* 32 */
#define VIRTIO_BLK_CFG_BLK_SIZE     0x14  /* 32 */
#define VIRTIO_BLK_CFG_NUM_QUEUES   0x22  /* 16 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS  0x24  /* 32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG      0x28  /* 32 */
#define VIRTIO_BLK_CFG_DISCARD_ALIGN        0x2c  /* 32: in sectors */
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS       0x30  /* 32 */
#define VIRTIO_BLK_CFG_MAX_WZ_SEG           0x34  /* 32 */

/* §5.2.6 request types */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* §5.2.6 status, the request's last (device-writable) byte */
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* §5.2.6 the device-readable header that starts every request */
struct virtio_blk_outhdr {
	u32 type;
	u32 ioprio;    /* "reserved" in 1.2 */
	u64 sector;    /* in 512-byte units, whatever blk_size is */
};

/* §5.2.6 a discard / write-zeroes range (the request's data) */
struct virtio_blk_dwz {
	u64 sector;
	u32 num_sectors;
	u32 flags;     /* bit 0: unmap (write zeroes) */
};

#endif
