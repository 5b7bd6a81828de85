/*
 * Block-layer internals shared by the files of fs/blk (never included from
 * outside the folder): the virtio-blk configuration as the device states
 * it, and the check that turns it into safe disk limits (tested by
 * kt_blk.c with the absurd values a broken or hostile device could give).
 */
#ifndef BLK_BLK_PRIV_H
#define BLK_BLK_PRIV_H

#include "fs/blk/blk.h"

struct vblk_raw_config {
	u64 capacity;                     /* 512-byte sectors */
	bool has_blk_size, has_seg_max, has_size_max, discard_or_wz;
	u32 blk_size, seg_max, size_max;
	u32 max_discard_sectors;          /* 0: no limit stated */
};

/* Fill d's nsectors, sector_size, max_segs, max_seg_len, max_sectors and
 * max_discard_sectors from c. Values out of reason are replaced by safe
 * ones (a message in why); a device that cannot be used safely (a capacity
 * of BLK_MAX_CAPACITY or more) gives -EINVAL and the reason in why. */
int vblk_limits(const struct vblk_raw_config *c, struct blk_disk *d, char *why, size_t why_len);

#endif
