/*
 * The only way the kernel touches user memory (SMAP makes any other access
 * fault, and that fault panics as the kernel bug it is).
 *
 * copy_from_user/copy_to_user check that the whole range lies below
 * USER_TOP, then copy through arch_copy_user, whose page faults end the
 * copy early instead of panicking. They return 0 or -EFAULT; a failed copy
 * may have moved some bytes (a prefix). The *_partial forms return the
 * bytes copied, for calls that report short transfers (write, read).
 *
 * Callers hold no spinlock (a fault may take time to resolve once demand
 * paging exists).
 */
#ifndef PROC_UACCESS_H
#define PROC_UACCESS_H

#include "kernel/arch/arch.h"

static inline bool user_range_ok(u64 addr, size_t n)
{
	return addr < USER_TOP && n <= USER_TOP - addr;
}

static inline size_t copy_from_user_partial(void *dst, u64 src, size_t n)
{
	if (!user_range_ok(src, n))
		return 0;
	return n - arch_copy_user(dst, (const void *)(uptr)src, n);
}

static inline size_t copy_to_user_partial(u64 dst, const void *src, size_t n)
{
	if (!user_range_ok(dst, n))
		return 0;
	return n - arch_copy_user((void *)(uptr)dst, src, n);
}

static inline int copy_from_user(void *dst, u64 src, size_t n)
{
	return copy_from_user_partial(dst, src, n) == n ? 0 : -EFAULT;
}

static inline int copy_to_user(u64 dst, const void *src, size_t n)
{
	return copy_to_user_partial(dst, src, n) == n ? 0 : -EFAULT;
}

#endif
