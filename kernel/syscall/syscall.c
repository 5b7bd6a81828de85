/*
 * System-call dispatch: the table by Linux x86-64 number, the per-number
 * counts and the REPL's `syscalls`. See syscall.h.
 */
#include "kernel/syscall/syscall.h"
#include "kernel/syscall/sys_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/repl/repl.h"

#define NR_MAX 1024  /* counted one by one below this; the last bucket takes the rest */

/* Linux x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl) */
enum {
	NR_read = 0, NR_write = 1, NR_mmap = 9, NR_munmap = 11, NR_brk = 12,
	NR_rt_sigaction = 13, NR_rt_sigprocmask = 14, NR_ioctl = 16, NR_writev = 20,
	NR_getpid = 39, NR_exit = 60, NR_uname = 63, NR_arch_prctl = 158, NR_gettid = 186,
	NR_set_tid_address = 218, NR_clock_gettime = 228, NR_exit_group = 231,
	NR_getrandom = 318,
};

struct sys_entry {
	sys_fn fn;
	const char *name;
};

static const struct sys_entry table[NR_MAX] = {
	[NR_read] = { sys_read, "read" },
	[NR_write] = { sys_write, "write" },
	[NR_mmap] = { sys_mmap, "mmap" },
	[NR_munmap] = { sys_munmap, "munmap" },
	[NR_brk] = { sys_brk, "brk" },
	[NR_rt_sigaction] = { sys_rt_sigaction, "rt_sigaction" },
	[NR_rt_sigprocmask] = { sys_rt_sigprocmask, "rt_sigprocmask" },
	[NR_ioctl] = { sys_ioctl, "ioctl" },
	[NR_writev] = { sys_writev, "writev" },
	[NR_getpid] = { sys_getpid, "getpid" },
	[NR_exit] = { sys_exit, "exit" },
	[NR_uname] = { sys_uname, "uname" },
	[NR_arch_prctl] = { sys_arch_prctl, "arch_prctl" },
	[NR_gettid] = { sys_getpid, "gettid" },
	[NR_set_tid_address] = { sys_set_tid_address, "set_tid_address" },
	[NR_clock_gettime] = { sys_clock_gettime, "clock_gettime" },
	[NR_exit_group] = { sys_exit, "exit_group" },
	[NR_getrandom] = { sys_getrandom, "getrandom" },
};

/* [atomic] calls and failed calls by number; the last bucket is every
 * number at or above NR_MAX-1 */
static u64 calls[NR_MAX], errors[NR_MAX];

static long dispatch(u64 nr, const u64 args[6])
{
	unsigned idx = nr < NR_MAX ? (unsigned)nr : NR_MAX - 1;
	u64 n = __atomic_add_fetch(&calls[idx], 1, __ATOMIC_RELAXED);
	struct proc *p = proc_current();
	if (p)
		p->syscalls++;
	sys_fn fn = nr < NR_MAX ? table[nr].fn : NULL;
	if (!fn) {
		__atomic_add_fetch(&errors[idx], 1, __ATOMIC_RELAXED);
		if (n == 1)
			pr_info("syscall: pid %d (%s) called %llu, which Caboose lacks: -ENOSYS",
				p ? p->pid : 0, p ? p->name : "?", (unsigned long long)nr);
		return -ENOSYS;
	}
	long r = fn(args);
	if (r < 0 && r >= -4095)
		__atomic_add_fetch(&errors[idx], 1, __ATOMIC_RELAXED);
	return r;
}

void syscall_init(void) { arch_set_syscall_handler(dispatch); }

REPL_CMD("syscalls", cmd_syscalls, "",
	 "system calls by number: name (or 'ENOSYS' for one Caboose lacks), calls, errors");
static int cmd_syscalls(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "syscalls", "nr:n:5 name::16 calls:n:10 errors:n:10");
	for (unsigned i = 0; i < NR_MAX; i++) {
		u64 c = __atomic_load_n(&calls[i], __ATOMIC_RELAXED);
		if (!c)
			continue;
		char nr[16], cs[24], es[24];
		ksnprintf(nr, sizeof(nr), "%u", i);   /* the last: that number or above */
		ksnprintf(cs, sizeof(cs), "%llu", (unsigned long long)c);
		ksnprintf(es, sizeof(es), "%llu",
			  (unsigned long long)__atomic_load_n(&errors[i], __ATOMIC_RELAXED));
		const char *name = table[i].name ? table[i].name : "ENOSYS";
		const char *cells[] = { nr, name, cs, es };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}
