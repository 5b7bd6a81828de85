/*
 * In-kernel tests of the block layer that need no disk: the limits the
 * virtio-blk driver derives from what a device states, fed the values a
 * broken or hostile device could give (a capacity of 0 or beyond reason,
 * block sizes that are no power of two, zero segment counts, segments
 * smaller than a block). None may crash or give limits that let a request
 * overflow; absurd capacities are refused.
 */
#include "fs/blk/blk_priv.h"
#include "kernel/test/ktest.h"
#include "kernel/lib/string.h"

static int limits(struct vblk_raw_config *c, struct blk_disk *d)
{
	char why[96];
	memset(d, 0, sizeof(*d));
	return vblk_limits(c, d, why, sizeof(why));
}

static bool sane(const struct blk_disk *d)
{
	u32 per = d->sector_size / BLK_SECTOR;
	return d->nsectors < BLK_MAX_CAPACITY && d->sector_size >= BLK_SECTOR &&
	       d->sector_size <= 65536 && (d->sector_size & (d->sector_size - 1)) == 0 &&
	       d->nsectors % per == 0 && d->max_segs >= 1 && d->max_segs <= BLK_MAX_SEGS &&
	       d->max_seg_len >= BLK_SECTOR && d->max_seg_len <= PAGE_SIZE &&
	       d->max_sectors >= per && d->max_sectors % per == 0 &&
	       (u64)d->max_sectors * BLK_SECTOR <= (u64)d->max_segs * d->max_seg_len &&
	       d->max_discard_sectors % per == 0;
}

KTEST(blk_limits_bad_config)
{
	struct blk_disk d;
	struct vblk_raw_config c = { 0 };
	KT_ASSERT(limits(&c, &d) == 0 && d.nsectors == 0 && sane(&d), "capacity 0 is a disk");
	c.capacity = ~0ULL;
	KT_ASSERT(limits(&c, &d) == -EINVAL, "capacity 2^64-1 refused");
	c.capacity = BLK_MAX_CAPACITY;
	KT_ASSERT(limits(&c, &d) == -EINVAL, "capacity 2^48 refused");
	c.capacity = BLK_MAX_CAPACITY - 1;
	KT_ASSERT(limits(&c, &d) == 0 && sane(&d), "capacity 2^48-1 taken");

	static const u32 sizes[] = { 0, 1, 511, 513, 1000, 4096, 65536, 131072, 0x80000000u,
				     0xffffffffu };
	static const u32 segs[] = { 0, 1, 2, 47, 48, 49, 254, 0xffffffffu };
	static const u32 segsz[] = { 0, 1, 511, 512, 1000, 4095, 4096, 0xffffffffu };
	static const u64 caps[] = { 0, 1, 7, 8, 9, 4096, 1ULL << 40 };
	for (unsigned a = 0; a < ARRAY_SIZE(sizes); a++)
		for (unsigned b = 0; b < ARRAY_SIZE(segs); b++)
			for (unsigned s = 0; s < ARRAY_SIZE(segsz); s++)
				for (unsigned k = 0; k < ARRAY_SIZE(caps); k++) {
					struct vblk_raw_config x = {
						.capacity = caps[k], .has_blk_size = true,
						.blk_size = sizes[a], .has_seg_max = true,
						.seg_max = segs[b], .has_size_max = true,
						.size_max = segsz[s], .discard_or_wz = true,
						.max_discard_sectors = sizes[a],
					};
					int err = limits(&x, &d);
					KT_ASSERT(err == 0 || err == -EINVAL, "err %d", err);
					KT_ASSERT(err || sane(&d),
						  "blk_size %u seg_max %u size_max %u cap %llu: "
						  "sectors %llu size %u max_sectors %u segs %u len %u",
						  sizes[a], segs[b], segsz[s],
						  (unsigned long long)caps[k],
						  (unsigned long long)d.nsectors, d.sector_size,
						  d.max_sectors, d.max_segs, d.max_seg_len);
				}
}
