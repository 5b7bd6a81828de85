/*
 * kmain: the portable half of boot. The architecture has set up this CPU,
 * the console and exception handling, and filled boot_info. Here: settings,
 * memory, interrupts and time, the scheduler, the other CPUs; then this
 * context becomes CPU 0's scheduler loop and the init thread takes over.
 */
#include "kernel/arch/arch.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/mm/mm.h"
#include "kernel/gc/gc.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/rcu.h"
#include "kernel/test/ktest.h"
#include "netstack/net.h"
#include "nic/pci.h"
#include "kernel/repl/repl.h"
#include "kernel/prof/prof.h"
#include "nic/nic.h"
#include "fs/blk/blk.h"
#include "zerocopy/pkb.h"
#include "kernel/lib/string.h"
#include "kernel/proc/proc.h"
#include "kernel/proc/tty.h"
#include "kernel/syscall/syscall.h"
#include "fs/ramfs.h"
#include "fs/vfs.h"
#include "fs/ext2/ext2.h"
#include "apps/kernel/services.h"

static unsigned max_cpus = MAX_CPUS;

static int set_smp(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, false, &n) < 0 || n == 0 || n > MAX_CPUS)
		return -EINVAL;
	max_cpus = (unsigned)n;
	return 0;
}
KPARAM("smp", set_smp, "at most this many CPUs (1-64); default: all");

static int set_console(const char *v)
{
	if (strcmp(v, "ttyS0") == 0 || strncmp(v, "ttyS0,", 6) == 0)
		return 0;
	return -EINVAL; /* only COM1 is supported so far */
}
KPARAM("console", set_console, "ttyS0 (COM1, 115200 8N1): the only console so far");

static void ap_entry(void)
{
	timers_init_cpu();
	sched_loop();
}

static void start_cpus(void)
{
	u32 ids[MAX_CPUS];
	int n = arch_cpus_possible(ids, MAX_CPUS);
	for (int i = 1; i < n && (unsigned)i < max_cpus; i++) {
		struct kstack stack, ist[3];
		if (kstack_alloc(&stack) < 0 || kstack_alloc(&ist[0]) < 0 ||
		    kstack_alloc(&ist[1]) < 0 || kstack_alloc(&ist[2]) < 0)
			panic("smp: no memory for CPU %d's stacks", i);
		u64 tops[3] = { ist[0].hi, ist[1].hi, ist[2].hi };
		if (arch_cpu_start((unsigned)i, ids[i], stack.hi, tops, ap_entry) < 0) {
			pr_err("smp: CPU %d (APIC %u) did not start", i, ids[i]);
			continue;
		}
		ncpus++;
	}
	if ((unsigned)n > max_cpus)
		pr_info("smp: %d CPUs present, %u used (smp=%u)", n, max_cpus, max_cpus);
}

/* The initial archive: the first module that is a newc cpio. */
static void load_initial_archive(void)
{
	for (int i = 0; i < boot_info.nmods; i++) {
		const struct boot_module *m = &boot_info.mods[i];
		const void *va = phys_to_virt(m->start);
		size_t len = (size_t)(m->end - m->start);
		if (!ramfs_is_archive(va, len))
			continue;
		/* the archive is kept for good: its files' bytes are borrowed
		 * by the RAM file system, and sendfile hands its pages to the
		 * NIC by reference (each page holds one permanent reference) */
		page_pin_reserved(m->start, len);
		int r = ramfs_load(va, len);
		if (r < 0)
			pr_err("ramfs: module %d: bad archive (error %d); %zu files kept", i, r,
			       ramfs_count());
		else
			pr_info("ramfs: module %d: %zu files, %zu other entries skipped", i,
				ramfs_count(), ramfs_skipped());
		return;
	}
}

static void init_main(void *arg)
{
	(void)arg;
	prof_init();
	repl_start();
	tty_init();
	nic_init();
	blk_init();
	ext2_boot();        /* root=/dev/vdX makes a disk "/" here */
	procfs_mount();
	net_init();
	services_start();   /* the kernel-resident services (apps/kernel/) */
	u64 ready_ns = arch_clock_ns();
	repl_boot_ready(ready_ns);
	printk(LOG_INFO, "caboose: ready: %u CPUs online, boot %llu ms", ncpus,
	       (unsigned long long)(ready_ns / 1000000));
	if (ktest_selected())
		ktest_run_selected();
	proc_run_init();
}

__noreturn void kmain(void)
{
	pr_info("caboose: loaded by %s; command line '%s'", boot_info.loader,
		boot_info.cmdline_raw);
	param_apply(boot_info.cmdline_raw, boot_info.cmdline_has_image);
	for (int i = 0; i < boot_info.nmods; i++)
		pr_info("boot: module %d: %#llx-%#llx '%s'", i,
			(unsigned long long)boot_info.mods[i].start,
			(unsigned long long)boot_info.mods[i].end, boot_info.mods[i].name);
	mm_init(&boot_info);
	gc_init();
	pkb_init();
	arch_irq_init();
	sched_init();
	rcu_init();
	timers_init_cpu();
	/* PCI enumeration sizes BARs by turning decoding off and on: done while
	 * one CPU runs, because QEMU's multi-threaded TCG can crash when the
	 * memory map changes under another vCPU's access */
	pci_init();
	start_cpus();
	thread_init_reaper();
	gc_start_collector();
	load_initial_archive();
	vfs_init();
	proc_init();
	syscall_init();
	struct thread *init = thread_create("init", init_main, NULL, 0, 0);
	if (!init)
		panic("kmain: cannot create the init thread");
	thread_put(init);
	sched_loop();
}
