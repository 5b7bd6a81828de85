/* Faults that must be reported, with a symbolized backtrace, and end the
 * kernel: each runs in a boot of its own (tests/run.py checks the output). */
#include "kernel/test/ktest.h"
#include "kernel/arch/arch.h"
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

char kt_exec_data[16] = { (char)0xc3 }; /* ret */

KTEST_EXPLICIT(fault_write_text)
{
	*(volatile char *)_text_start = 0; /* W^X: text is read-only */
	ktest_fail(__FILE__, __LINE__, "writing kernel text did not fault");
}

KTEST_EXPLICIT(fault_exec_data)
{
	void (*fn)(void) = (void (*)(void))(void *)kt_exec_data; /* NX: data cannot run */
	fn();
	ktest_fail(__FILE__, __LINE__, "executing data did not fault");
}

KTEST_EXPLICIT(fault_gp)
{
	*(volatile u64 *)0x8000000000000000ULL = 1; /* non-canonical: #GP */
	ktest_fail(__FILE__, __LINE__, "non-canonical access did not fault");
}
