/* virtio-net device (Virtio 1.2 §5.1): feature bits, configuration layout,
 * the per-packet header, control-queue commands. */
#ifndef NIC_VIRTIO_NET_REG_H
#define NIC_VIRTIO_NET_REG_H

#include "kernel/lib/types.h"

#define VIRTIO_NET_PCI_DEVICE_MODERN 0x1041
#define VIRTIO_NET_PCI_DEVICE_TRANS  0x1000

/* §5.1.3 feature bits (bit numbers; the driver names every bit a device
 * may offer in its boot log, and takes only some) */
#define VIRTIO_NET_F_CSUM        0
#define VIRTIO_NET_F_GUEST_CSUM  1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU         3
#define VIRTIO_NET_F_MAC         5
#define VIRTIO_NET_F_GUEST_TSO4  7
#define VIRTIO_NET_F_GUEST_TSO6  8
#define VIRTIO_NET_F_GUEST_ECN   9
#define VIRTIO_NET_F_GUEST_UFO   10
#define VIRTIO_NET_F_HOST_TSO4   11
#define VIRTIO_NET_F_HOST_TSO6   12
#define VIRTIO_NET_F_HOST_ECN    13
#define VIRTIO_NET_F_HOST_UFO    14
#define VIRTIO_NET_F_MRG_RXBUF   15
#define VIRTIO_NET_F_STATUS      16
#define VIRTIO_NET_F_CTRL_VQ     17
#define VIRTIO_NET_F_CTRL_RX     18
#define VIRTIO_NET_F_CTRL_VLAN   19
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ          22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23
#define VIRTIO_NET_F_SPEED_DUPLEX 63

/* §5.1.4 device configuration, offsets */
#define VIRTIO_NET_CFG_MAC       0x00  /* 6 x 8, ro */
#define VIRTIO_NET_CFG_STATUS    0x06  /* 16, ro */
#define VIRTIO_NET_CFG_MAX_PAIRS 0x08  /* 16, ro */
#define VIRTIO_NET_CFG_MTU       0x0a  /* 16, ro */
#define VIRTIO_NET_CFG_SPEED     0x0c  /* 32, ro: Mb/s, -1 unknown */
#define VIRTIO_NET_S_LINK_UP     1

/* §5.1.6 the header in front of every packet (VERSION_1: 12 bytes) */
struct virtio_net_hdr {
	u8 flags;
	u8 gso_type;
	u16 hdr_len;
	u16 gso_size;
	u16 csum_start;
	u16 csum_offset;
	u16 num_buffers;
} __packed;
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE  0
#define VIRTIO_NET_HDR_GSO_TCPV4 1

/* §5.1.6.5 control queue */
struct virtio_net_ctrl_hdr {
	u8 class_;
	u8 cmd;
} __packed;
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_OK 0

#endif
