/*
 * The clocks as processes see them: the vDSO's data page and the setting
 * of the wall clock (clock_settime, settimeofday) with the time zone that
 * settimeofday keeps for gettimeofday.
 *
 * The data page (struct vdso_data, kernel/proc/vdso/vdso_data.h) is one
 * kernel page, filled at boot and mapped read-only into every address
 * space beside the vDSO (elf.c, vm_map_page): never copied, so that a
 * change of the wall clock reaches every process at once. Only this file
 * writes it, under clock_lock, between two increments of its sequence
 * count (odd while the fields change; the vDSO reads again until it finds
 * the count even and unmoved). The kernel's own reading of the wall clock
 * (arch_realtime_ns, for the system calls and the file systems) changes in
 * the same odd window, so a reader that starts after clock_settime returned
 * sees the new time through either path. CLOCK_MONOTONIC never moves.
 *
 * Rules of use: proc_clock_init once at boot (after the arch's clocks);
 * proc_vvar_page's page belongs to this file (a mapping takes its own
 * reference); proc_settimeofday checks the caller's privilege itself.
 */
#include "kernel/proc/proc.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "kernel/proc/vdso/vdso_data.h"

_Static_assert(sizeof(struct vdso_data) <= VDSO_DATA_SIZE && VDSO_DATA_SIZE == PAGE_SIZE,
	       "the vDSO's data is one page");

static spinlock_t clock_lock;          /* [C] */
static struct page *vvar_page;         /* set once at boot */
static struct vdso_data *vvar;         /* [C] to write; read by the vDSOs */
static s32 tz_minuteswest, tz_dsttime; /* [C] settimeofday's struct timezone */
static bool tz_was_set;                /* [C] a time zone was given once since boot */

void proc_clock_init(void)
{
	spin_init(&clock_lock, "clock");
	vvar_page = page_alloc_zeroed(0);
	if (!vvar_page)
		panic("proc_clock_init: no page for the vDSO's data");
	vvar = page_address(vvar_page);
	u64 tsc0, mult;
	arch_clock_params(&tsc0, &mult);
	vvar->tsc0 = tsc0;
	vvar->mult = mult;
	vvar->realtime_off = arch_realtime_offset_ns();
}

struct page *proc_vvar_page(void) { return vvar_page; }

/* The wall clock's new offset from CLOCK_MONOTONIC, in the kernel and in
 * the data page together. [C] */
static void set_offset(u64 off)
{
	WRITE_ONCE(vvar->seq, vvar->seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);   /* the odd count before the fields */
	WRITE_ONCE(vvar->realtime_off, off);
	arch_realtime_set_offset(off);
	__atomic_thread_fence(__ATOMIC_RELEASE);   /* the fields before the even count */
	WRITE_ONCE(vvar->seq, vvar->seq + 1);
}

int proc_settimeofday(const u64 *ns, const s32 *tz)
{
	struct proc_cred c;
	proc_cred_get(proc_current(), &c);
	if (c.euid != 0)   /* Linux's CAP_SYS_TIME: root's alone here */
		return -EPERM;
	if (tz && (tz[0] > 15 * 60 || tz[0] < -15 * 60))
		return -EINVAL;
	unsigned long fl = spin_lock_irqsave(&clock_lock);
	int r = 0;
	if (tz) {   /* kept even when the time below is refused, as Linux's */
		tz_minuteswest = tz[0];
		tz_dsttime = tz[1];
		/* Linux's timekeeping_warp_clock: the first time zone given
		 * since boot, without a time, says the RTC kept local time
		 * (hwclock --systz): the wall clock moves by the zone's
		 * minutes to UTC; a move before the monotonic clock is dropped */
		if (!tz_was_set && !ns && tz[0]) {
			s64 off = (s64)arch_realtime_offset_ns() + (s64)tz[0] * 60 * 1000000000LL;
			if (off >= 0)
				set_offset((u64)off);
		}
		tz_was_set = true;
	}
	if (ns) {
		/* Linux's do_settimeofday64: the wall clock never reads less
		 * than the monotonic clock (no negative offset) */
		u64 mono = arch_clock_ns();
		if (*ns < mono)
			r = -EINVAL;
		else
			set_offset(*ns - mono);
	}
	spin_unlock_irqrestore(&clock_lock, fl);
	if (ns && !r) {
		/* no log line per setting: programs like ntpd set it often */
		static bool said;
		if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
			pr_info("time: the wall clock was set by pid %d (%s)", proc_current()->pid,
				proc_current()->name);
	}
	return r;
}

void proc_gettz(s32 tz[2])
{
	unsigned long fl = spin_lock_irqsave(&clock_lock);
	tz[0] = tz_minuteswest;
	tz[1] = tz_dsttime;
	spin_unlock_irqrestore(&clock_lock, fl);
}
