/*
 * Network byte order (big-endian) from and to unaligned memory. Wire
 * formats (netstack/wire.h, zerocopy/frame.h) read and write their
 * multi-byte fields only through these.
 */
#ifndef KERNEL_LIB_BYTEORDER_H
#define KERNEL_LIB_BYTEORDER_H

#include "kernel/lib/types.h"

static inline u16 be16(const void *p)
{
	const u8 *b = p;
	return (u16)(b[0] << 8 | b[1]);
}
static inline u32 be32(const void *p)
{
	const u8 *b = p;
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}
static inline void put_be16(void *p, u16 v)
{
	u8 *b = p;
	b[0] = (u8)(v >> 8);
	b[1] = (u8)v;
}
static inline void put_be32(void *p, u32 v)
{
	u8 *b = p;
	b[0] = (u8)(v >> 24);
	b[1] = (u8)(v >> 16);
	b[2] = (u8)(v >> 8);
	b[3] = (u8)v;
}

#endif
