/* Faults that must be reported, with a symbolized backtrace, and end the
 * kernel: each runs in a boot of its own (tests/run.py checks the output). */
#include "kernel/test/ktest.h"
#include "kernel/console/console.h"

static volatile u64 *volatile bad_address = (u64 *)0x10;
int kt_fault_level3(int x);
int kt_fault_level2(int x);
int kt_fault_level1(int x);

__attribute__((noinline)) int kt_fault_level3(int x)
{
	*bad_address = (u64)x;  /* the first page is never mapped */
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

__attribute__((noinline)) int kt_fault_level2(int x)
{
	int r = kt_fault_level3(x + 1);
	__asm__ volatile("" ::: "memory");
	return r + 1;
}

__attribute__((noinline)) int kt_fault_level1(int x)
{
	int r = kt_fault_level2(x + 1);
	__asm__ volatile("" ::: "memory");
	return r + 1;
}

KTEST_EXPLICIT(fault_backtrace)
{
	kt_fault_level1(1);
	ktest_fail(__FILE__, __LINE__, "the fault was not reported");
}

__attribute__((noinline)) static u64 recurse(u64 depth)
{
	volatile u8 frame[512];
	frame[0] = (u8)depth;
	frame[511] = (u8)depth;
	if (depth > (1ULL << 40))  /* never: 16 KiB of stack runs out long before */
		return 0;
	u64 r = recurse(depth + 1);
	__asm__ volatile("" ::: "memory");
	return r + frame[0] + frame[511];
}

KTEST_EXPLICIT(stack_overflow)
{
	recurse(0);
	ktest_fail(__FILE__, __LINE__, "the stack overflow was not caught");
}
