/*
 * The wall clock: the CMOS real-time clock (MC146818, ports 0x70/0x71), read
 * once at boot; from then on the TSC carries it (arch_realtime_ns is the
 * RTC's time at boot plus arch_clock_ns) until clock_settime moves it
 * (arch_realtime_set_offset; the RTC itself is never written). QEMU's RTC
 * starts at the host's time (UTC by default), as a server's does.
 *
 * The RTC is read between updates: wait until no update is in progress,
 * read every field, and read again until two readings agree. Fields may be
 * BCD or binary and the hour 12- or 24-hour (status register B says which);
 * the year has two digits and is taken as 20YY (no ACPI century register
 * is looked at). A reading that makes no date (a month of 13, an RTC that
 * does not answer) leaves the wall clock at the epoch, said in the log.
 */
#include "kernel/arch/x86_64/x86.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/civil.h"

#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71
#define RTC_SEC   0x00
#define RTC_MIN   0x02
#define RTC_HOUR  0x04
#define RTC_DAY   0x07
#define RTC_MON   0x08
#define RTC_YEAR  0x09
#define RTC_A     0x0a
#define RTC_B     0x0b
#define RTC_A_UIP    0x80   /* update in progress */
#define RTC_B_24H    0x02
#define RTC_B_BINARY 0x04
#define RTC_PM       0x80   /* in the hour, 12-hour mode */

static u64 realtime_off_ns;   /* [atomic] the epoch time (ns) at which arch_clock_ns read 0 */

static u8 cmos(u8 reg)
{
	outb(CMOS_ADDR, reg | 0x80);   /* bit 7: NMIs stay disabled while we read */
	return inb(CMOS_DATA);
}

struct rtc_fields {
	u8 sec, min, hour, day, mon, year;
};

static bool read_fields(struct rtc_fields *f)
{
	for (int spin = 0; cmos(RTC_A) & RTC_A_UIP; spin++)
		if (spin > 1000000)
			return false;
	f->sec = cmos(RTC_SEC);
	f->min = cmos(RTC_MIN);
	f->hour = cmos(RTC_HOUR);
	f->day = cmos(RTC_DAY);
	f->mon = cmos(RTC_MON);
	f->year = cmos(RTC_YEAR);
	return true;
}

static u8 from_bcd(u8 v) { return (u8)((v >> 4) * 10 + (v & 15)); }

/* The RTC's time in seconds since the epoch, or 0 when it makes no date;
 * *out: the fields, binary and 24-hour. */
static u64 rtc_epoch_s(struct rtc_fields *out)
{
	struct rtc_fields a, b;
	int tries = 0;
	do {
		if (!read_fields(&a) || !read_fields(&b) || ++tries > 10)
			return 0;
	} while (a.sec != b.sec || a.min != b.min || a.hour != b.hour || a.day != b.day ||
		 a.mon != b.mon || a.year != b.year);
	u8 regb = cmos(RTC_B);
	bool pm = !(regb & RTC_B_24H) && (a.hour & RTC_PM);
	a.hour &= (u8)~RTC_PM;
	if (!(regb & RTC_B_BINARY)) {
		a.sec = from_bcd(a.sec);
		a.min = from_bcd(a.min);
		a.hour = from_bcd(a.hour);
		a.day = from_bcd(a.day);
		a.mon = from_bcd(a.mon);
		a.year = from_bcd(a.year);
	}
	if (!(regb & RTC_B_24H))
		a.hour = (u8)(a.hour % 12 + (pm ? 12 : 0));
	if (a.sec > 59 || a.min > 59 || a.hour > 23 || a.day < 1 || a.day > 31 || a.mon < 1 ||
	    a.mon > 12 || a.year > 99)
		return 0;
	*out = a;
	s64 days = civil_to_days(2000 + a.year, a.mon, a.day);
	return (u64)days * 86400 + a.hour * 3600u + a.min * 60u + a.sec;
}

void rtc_init(void)
{
	struct rtc_fields f;
	u64 s = rtc_epoch_s(&f);
	if (!s) {
		pr_warn("time: the RTC gives no valid date: the wall clock starts at the epoch");
		return;
	}
	realtime_off_ns = s * 1000000000ULL - arch_clock_ns();
	pr_info("time: wall clock from the RTC: 20%02u-%02u-%02u %02u:%02u:%02u UTC", f.year, f.mon,
		f.day, f.hour, f.min, f.sec);
}

u64 arch_realtime_offset_ns(void) { return READ_ONCE(realtime_off_ns); }

u64 arch_realtime_ns(void) { return READ_ONCE(realtime_off_ns) + arch_clock_ns(); }

void arch_realtime_set_offset(u64 off_ns) { WRITE_ONCE(realtime_off_ns, off_ns); }
