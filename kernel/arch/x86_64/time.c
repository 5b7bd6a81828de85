/*
 * Time: the TSC is the clock, the local APIC timer the per-CPU one-shot
 * alarm. Both are calibrated once against the PIT (channel 2, gated through
 * port 0x61, polled). The monotonic clock is nanoseconds since the first
 * instruction of the kernel (boot_tsc0, recorded by boot.S).
 */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/init.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"

#define PIT_HZ 1193182
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61        /* bit 0 gate, bit 1 speaker, bit 5 output (read) */
#define CALIBRATE_MS 20

extern u64 boot_tsc0;
u64 tsc_hz;
static u64 ns_mult;          /* ns = (tsc delta * ns_mult) >> 32 */
static u64 tsc_ticks_per_lapic_tick; /* for arming */
static void (*timer_fn)(void);

static void pit_wait_setup(u32 ms)
{
	u32 count = PIT_HZ * ms / 1000;
	outb(PIT_GATE, (inb(PIT_GATE) & ~0x02) | 0x01);
	outb(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, (count >> 8) & 0xff);
}

static bool pit_done(void) { return inb(PIT_GATE) & 0x20; }

void time_calibrate(void)
{
	u64 best_tsc = 0, best_lapic = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		lapic_timer_oneshot(0xffffffff);
		/* restart channel 2: drop and raise the gate */
		outb(PIT_GATE, inb(PIT_GATE) & ~0x01);
		pit_wait_setup(CALIBRATE_MS);
		u32 l0 = lapic_timer_current();
		u64 t0 = rdtsc();
		u64 spins = 0;
		while (!pit_done() && spins++ < 2000000000ULL)
			cpu_relax();
		u64 t1 = rdtsc();
		u32 l1 = lapic_timer_current();
		u64 dt = t1 - t0, dl = l0 - l1;
		if (!best_tsc || dt < best_tsc) {
			best_tsc = dt;
			best_lapic = dl;
		}
	}
	lapic_timer_stop();
	tsc_hz = best_tsc * 1000 / CALIBRATE_MS;
	lapic_ticks_per_ms = best_lapic / CALIBRATE_MS;
	if (tsc_hz < 1000000 || lapic_ticks_per_ms == 0)
		panic("time: calibration failed (tsc %llu Hz, lapic %llu ticks/ms)",
		      (unsigned long long)tsc_hz, (unsigned long long)lapic_ticks_per_ms);
	ns_mult = (1000000000ULL << 32) / tsc_hz; /* fits: 1e9 * 2^32 < 2^64 */
	tsc_ticks_per_lapic_tick = best_tsc / (best_lapic ? best_lapic : 1);
	pr_info("time: TSC %llu.%03llu MHz, LAPIC timer %llu ticks/ms",
		(unsigned long long)(tsc_hz / 1000000), (unsigned long long)(tsc_hz / 1000 % 1000),
		(unsigned long long)lapic_ticks_per_ms);
}

u64 arch_clock_ns(void)
{
	if (!ns_mult)
		return 0;
	u64 d = rdtsc() - boot_tsc0;
	return (u64)(((unsigned __int128)d * ns_mult) >> 32);
}

void arch_udelay(u64 us)
{
	u64 end = arch_clock_ns() + us * 1000;
	while (arch_clock_ns() < end)
		cpu_relax();
}

void arch_timer_arm(u64 deadline_ns)
{
	u64 now = arch_clock_ns();
	u64 delta = deadline_ns > now ? deadline_ns - now : 0;
	u64 ticks = delta * lapic_ticks_per_ms / 1000000;
	if (ticks > 0xffffffffULL)
		ticks = 0xffffffffULL;
	lapic_timer_oneshot((u32)(ticks ? ticks : 1));
}

static void timer_irq(struct trapframe *tf, void *arg)
{
	(void)tf;
	(void)arg;
	if (timer_fn)
		timer_fn();
}

void arch_timer_set_handler(void (*fn)(void))
{
	timer_fn = fn;
	trap_set_handler(VEC_TIMER, timer_irq, NULL);
}
