/*
 * Time: the TSC is the clock, the local APIC timer the per-CPU one-shot
 * alarm. Both are calibrated once against the PIT (channel 2, gated through
 * port 0x61, its count latched and read beside the TSC: time_calibrate).
 * The monotonic clock is nanoseconds since the first instruction of the
 * kernel (boot_tsc0, recorded by boot.S).
 */
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/init.h"
#include "kernel/arch/x86_64/trap.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

#define PIT_HZ 1193182
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61        /* bit 0 gate, bit 1 speaker, bit 5 output (read) */
#define CALIBRATE_MS 10

extern u64 boot_tsc0;
u64 tsc_hz;
static u64 ns_mult;          /* ns = (tsc delta * ns_mult) >> 32 */
static u64 tsc_ticks_per_lapic_tick; /* for arming */
static void (*timer_fn)(void);

/* Channel 2 counting down from 0xffff (mode 0, gate high): 54.9 ms before
 * it wraps. */
static void pit_start(void)
{
	outb(PIT_GATE, (inb(PIT_GATE) & ~0x03));
	outb(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
	outb(PIT_CH2, 0xff);
	outb(PIT_CH2, 0xff);
	outb(PIT_GATE, (inb(PIT_GATE) & ~0x02) | 0x01);
}

static u16 pit_count(void)
{
	outb(PIT_CMD, 0x80); /* latch channel 2 */
	u8 lo = inb(PIT_CH2);
	u8 hi = inb(PIT_CH2);
	return (u16)(lo | hi << 8);
}

/* One reading of the three clocks at (nearly) one moment: of SAMPLES tries,
 * the one whose two TSC reads lie closest together, so that a reading the
 * host interrupted (QEMU's vCPU thread descheduled between the reads, as on a
 * loaded host) is not the one used. */
#define SAMPLES 16
struct clocks {
	u64 tsc, spread;
	u32 lapic;
	u16 pit;
};

static struct clocks read_clocks(void)
{
	struct clocks best = { 0, ~0ULL, 0, 0 };
	for (int i = 0; i < SAMPLES; i++) {
		u64 a = rdtsc();
		u16 p = pit_count();
		u32 l = lapic_timer_current();
		u64 b = rdtsc();
		if (b - a < best.spread)
			best = (struct clocks){ a + (b - a) / 2, b - a, l, p };
	}
	return best;
}

/*
 * Calibration: read the TSC, the PIT and the LAPIC timer together, wait
 * CALIBRATE_MS by the PIT, read them together again; the rates follow from
 * the two readings. Time lost between the readings (the host running
 * something else) does not matter, only time inside one, which the closest
 * of SAMPLES tries keeps to a few microseconds. (Timing a PIT countdown by
 * polling for its end instead read 3195 MHz for a 2600 MHz TSC on a loaded
 * host: the end was seen late.) But the PIT's 16 bits wrap every 54.9 ms: a
 * pause that long between two looks at it hides a wrap, so an attempt in
 * which one gap between looks measures over 8 ms is thrown away (a hidden
 * wrap always would), and of the attempts left the median rate is kept; if
 * the host disturbed every attempt, the median of all, with a warning.
 */
#define ATTEMPTS 5
struct rate {
	u64 tsc, lapic, pit;
};

static bool calibrate_once(struct rate *r)
{
	lapic_timer_oneshot(0xffffffff);
	pit_start();
	struct clocks c0 = read_clocks();
	u64 spins = 0, last = c0.tsc, gap = 0;
	while ((u16)(c0.pit - pit_count()) < PIT_HZ * CALIBRATE_MS / 1000 &&
	       spins++ < 100000000ULL) {
		u64 now = rdtsc();
		gap = MAX(gap, now - last);
		last = now;
	}
	struct clocks c1 = read_clocks();
	gap = MAX(gap, c1.tsc - last);
	r->tsc = c1.tsc - c0.tsc;
	r->lapic = c0.lapic - c1.lapic;
	r->pit = (u16)(c0.pit - c1.pit);
	/* a hidden wrap means a gap of 54.9 ms or more, which by the (then
	 * too short) PIT interval of about CALIBRATE_MS shows as over 8 ms */
	return r->pit && r->tsc &&
	       (unsigned __int128)gap * r->pit < (unsigned __int128)r->tsc * (PIT_HZ * 8 / 1000);
}

void time_calibrate(void)
{
	struct rate r[ATTEMPTS], any[ATTEMPTS];
	int n = 0;
	for (int attempt = 0; attempt < 4 * ATTEMPTS && n < ATTEMPTS; attempt++) {
		struct rate x;
		bool ok = calibrate_once(&x);
		if (attempt < ATTEMPTS)
			any[attempt] = x;
		if (ok)
			r[n++] = x;
	}
	lapic_timer_stop();
	if (!n) {
		pr_warn("time: every calibration was disturbed by the host; the clock may be off");
		memcpy(r, any, sizeof(r));
		n = ATTEMPTS;
	}
	/* median by TSC rate (insertion sort of a handful) */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && r[j].tsc * r[j - 1].pit < r[j - 1].tsc * r[j].pit; j--) {
			struct rate t = r[j];
			r[j] = r[j - 1];
			r[j - 1] = t;
		}
	struct rate m = r[n / 2];
	tsc_hz = m.tsc * PIT_HZ / m.pit;
	lapic_ticks_per_ms = m.lapic * PIT_HZ / m.pit / 1000;
	if (tsc_hz < 1000000 || lapic_ticks_per_ms == 0)
		panic("time: calibration failed (tsc %llu Hz, lapic %llu ticks/ms)",
		      (unsigned long long)tsc_hz, (unsigned long long)lapic_ticks_per_ms);
	ns_mult = (1000000000ULL << 32) / tsc_hz; /* fits: 1e9 * 2^32 < 2^64 */
	tsc_ticks_per_lapic_tick = m.tsc / (m.lapic ? m.lapic : 1);
	pr_info("time: TSC %llu.%03llu MHz, LAPIC timer %llu ticks/ms (median of %d readings)",
		(unsigned long long)(tsc_hz / 1000000), (unsigned long long)(tsc_hz / 1000 % 1000),
		(unsigned long long)lapic_ticks_per_ms, n);
}

void arch_clock_params(u64 *tsc0, u64 *mult)
{
	*tsc0 = boot_tsc0;
	*mult = ns_mult;
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
