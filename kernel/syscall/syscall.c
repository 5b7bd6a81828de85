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
struct sys_entry {
	sys_fn fn;
	const char *name;
};

static const struct sys_entry table[NR_MAX] = {
	[0] = { sys_read, "read" },
	[1] = { sys_write, "write" },
	[2] = { sys_open, "open" },
	[3] = { sys_close, "close" },
	[4] = { sys_stat, "stat" },
	[5] = { sys_fstat, "fstat" },
	[6] = { sys_lstat, "lstat" },
	[8] = { sys_lseek, "lseek" },
	[9] = { sys_mmap, "mmap" },
	[11] = { sys_munmap, "munmap" },
	[12] = { sys_brk, "brk" },
	[13] = { sys_rt_sigaction, "rt_sigaction" },
	[14] = { sys_rt_sigprocmask, "rt_sigprocmask" },
	[16] = { sys_ioctl, "ioctl" },
	[17] = { sys_pread64, "pread64" },
	[18] = { sys_pwrite64, "pwrite64" },
	[19] = { sys_readv, "readv" },
	[20] = { sys_writev, "writev" },
	[21] = { sys_access, "access" },
	[22] = { sys_pipe, "pipe" },
	[32] = { sys_dup, "dup" },
	[33] = { sys_dup2, "dup2" },
	[39] = { sys_getpid, "getpid" },
	[60] = { sys_exit, "exit" },
	[63] = { sys_uname, "uname" },
	[72] = { sys_fcntl, "fcntl" },
	[74] = { sys_fsync, "fsync" },
	[75] = { sys_fsync, "fdatasync" },
	[76] = { sys_truncate, "truncate" },
	[77] = { sys_ftruncate, "ftruncate" },
	[79] = { sys_getcwd, "getcwd" },
	[80] = { sys_chdir, "chdir" },
	[81] = { sys_fchdir, "fchdir" },
	[82] = { sys_rename, "rename" },
	[83] = { sys_mkdir, "mkdir" },
	[84] = { sys_rmdir, "rmdir" },
	[85] = { sys_creat, "creat" },
	[87] = { sys_unlink, "unlink" },
	[89] = { sys_readlink, "readlink" },
	[95] = { sys_umask, "umask" },
	[158] = { sys_arch_prctl, "arch_prctl" },
	[186] = { sys_gettid, "gettid" },
	[217] = { sys_getdents64, "getdents64" },
	[218] = { sys_set_tid_address, "set_tid_address" },
	[228] = { sys_clock_gettime, "clock_gettime" },
	[227] = { sys_clock_settime, "clock_settime" },
	[231] = { sys_exit_group, "exit_group" },
	[257] = { sys_openat, "openat" },
	[258] = { sys_mkdirat, "mkdirat" },
	[259] = { sys_mknodat, "mknodat" },
	[133] = { sys_mknod, "mknod" },
	[262] = { sys_newfstatat, "newfstatat" },
	[263] = { sys_unlinkat, "unlinkat" },
	[264] = { sys_renameat, "renameat" },
	[267] = { sys_readlinkat, "readlinkat" },
	[269] = { sys_faccessat, "faccessat" },
	[292] = { sys_dup3, "dup3" },
	[293] = { sys_pipe2, "pipe2" },
	[284] = { sys_eventfd, "eventfd" },
	[290] = { sys_eventfd2, "eventfd2" },
	[316] = { sys_renameat2, "renameat2" },
	[318] = { sys_getrandom, "getrandom" },
	[439] = { sys_faccessat2, "faccessat2" },
	[15] = { sys_rt_sigreturn, "rt_sigreturn" },
	[24] = { sys_sched_yield, "sched_yield" },
	[35] = { sys_nanosleep, "nanosleep" },
	[56] = { sys_clone, "clone" },
	[57] = { sys_fork, "fork" },
	[58] = { sys_vfork, "vfork" },
	[435] = { sys_clone3, "clone3" },
	[272] = { sys_unshare, "unshare" },
	[59] = { sys_execve, "execve" },
	[61] = { sys_wait4, "wait4" },
	[62] = { sys_kill, "kill" },
	[102] = { sys_getuid, "getuid" },
	[104] = { sys_getgid, "getgid" },
	[105] = { sys_setuid, "setuid" },
	[106] = { sys_setgid, "setgid" },
	[107] = { sys_geteuid, "geteuid" },
	[108] = { sys_getegid, "getegid" },
	[113] = { sys_setreuid, "setreuid" },
	[114] = { sys_setregid, "setregid" },
	[115] = { sys_getgroups, "getgroups" },
	[116] = { sys_setgroups, "setgroups" },
	[117] = { sys_setresuid, "setresuid" },
	[118] = { sys_getresuid, "getresuid" },
	[119] = { sys_setresgid, "setresgid" },
	[120] = { sys_getresgid, "getresgid" },
	[157] = { sys_prctl, "prctl" },
	[109] = { sys_setpgid, "setpgid" },
	[110] = { sys_getppid, "getppid" },
	[111] = { sys_getpgrp, "getpgrp" },
	[112] = { sys_setsid, "setsid" },
	[121] = { sys_getpgid, "getpgid" },
	[124] = { sys_getsid, "getsid" },
	[200] = { sys_tkill, "tkill" },
	[230] = { sys_clock_nanosleep, "clock_nanosleep" },
	[234] = { sys_tgkill, "tgkill" },
	[247] = { sys_waitid, "waitid" },
	[34] = { sys_pause, "pause" },
	[36] = { sys_getitimer, "getitimer" },
	[122] = { sys_setfsuid, "setfsuid" },
	[123] = { sys_setfsgid, "setfsgid" },
	[37] = { sys_alarm, "alarm" },
	[38] = { sys_setitimer, "setitimer" },
	[10] = { sys_mprotect, "mprotect" },
	[26] = { sys_msync, "msync" },
	[88] = { sys_symlink, "symlink" },
	[7] = { sys_poll, "poll" },
	[40] = { sys_sendfile, "sendfile" },
	[271] = { sys_ppoll, "ppoll" },
	[266] = { sys_symlinkat, "symlinkat" },
	[86] = { sys_link, "link" },
	[265] = { sys_linkat, "linkat" },
	[90] = { sys_chmod, "chmod" },
	[91] = { sys_fchmod, "fchmod" },
	[268] = { sys_fchmodat, "fchmodat" },
	[92] = { sys_chown, "chown" },
	[93] = { sys_fchown, "fchown" },
	[94] = { sys_lchown, "lchown" },
	[260] = { sys_fchownat, "fchownat" },
	[280] = { sys_utimensat, "utimensat" },
	[261] = { sys_futimesat, "futimesat" },
	[235] = { sys_utimes, "utimes" },
	[130] = { sys_rt_sigsuspend, "rt_sigsuspend" },
	[202] = { sys_futex, "futex" },
	[273] = { sys_set_robust_list, "set_robust_list" },
	[274] = { sys_get_robust_list, "get_robust_list" },
	[203] = { sys_sched_setaffinity, "sched_setaffinity" },
	[204] = { sys_sched_getaffinity, "sched_getaffinity" },
	[131] = { sys_sigaltstack, "sigaltstack" },
	[97] = { sys_getrlimit, "getrlimit" },
	[160] = { sys_setrlimit, "setrlimit" },
	[162] = { sys_sync, "sync" },
	[302] = { sys_prlimit64, "prlimit64" },
	[306] = { sys_syncfs, "syncfs" },
	[28] = { sys_madvise, "madvise" },
	[127] = { sys_rt_sigpending, "rt_sigpending" },
	[128] = { sys_rt_sigtimedwait, "rt_sigtimedwait" },
	[41] = { sys_socket, "socket" },
	[42] = { sys_connect, "connect" },
	[43] = { sys_accept, "accept" },
	[44] = { sys_sendto, "sendto" },
	[45] = { sys_recvfrom, "recvfrom" },
	[46] = { sys_sendmsg, "sendmsg" },
	[47] = { sys_recvmsg, "recvmsg" },
	[48] = { sys_shutdown, "shutdown" },
	[49] = { sys_bind, "bind" },
	[50] = { sys_listen, "listen" },
	[51] = { sys_getsockname, "getsockname" },
	[52] = { sys_getpeername, "getpeername" },
	[53] = { sys_socketpair, "socketpair" },
	[54] = { sys_setsockopt, "setsockopt" },
	[55] = { sys_getsockopt, "getsockopt" },
	[288] = { sys_accept4, "accept4" },
	[213] = { sys_epoll_create, "epoll_create" },
	[232] = { sys_epoll_wait, "epoll_wait" },
	[233] = { sys_epoll_ctl, "epoll_ctl" },
	[281] = { sys_epoll_pwait, "epoll_pwait" },
	[291] = { sys_epoll_create1, "epoll_create1" },
	[441] = { sys_epoll_pwait2, "epoll_pwait2" },
	/* what Debian's ld.so, glibc and coreutils ask for besides */
	[99] = { sys_sysinfo, "sysinfo" },
	[137] = { sys_statfs, "statfs" },
	[138] = { sys_fstatfs, "fstatfs" },
	[188] = { sys_setxattr, "setxattr" },
	[189] = { sys_lsetxattr, "lsetxattr" },
	[190] = { sys_fsetxattr, "fsetxattr" },
	[191] = { sys_getxattr, "getxattr" },
	[192] = { sys_lgetxattr, "lgetxattr" },
	[193] = { sys_fgetxattr, "fgetxattr" },
	[194] = { sys_listxattr, "listxattr" },
	[195] = { sys_llistxattr, "llistxattr" },
	[196] = { sys_flistxattr, "flistxattr" },
	[221] = { sys_fadvise64, "fadvise64" },
	[332] = { sys_statx, "statx" },
	[23] = { sys_select, "select" },
	[270] = { sys_pselect6, "pselect6" },
	[96] = { sys_gettimeofday, "gettimeofday" },
	[164] = { sys_settimeofday, "settimeofday" },
	[201] = { sys_time, "time" },
	[98] = { sys_getrusage, "getrusage" },
};

/* [atomic] calls and failed calls by number; the last bucket is every
 * number at or above NR_MAX-1 */
static u64 calls[NR_MAX], errors[NR_MAX];

/* Everything but the common case: a number Caboose lacks or out of range,
 * no user thread (a kernel test), the CPU-time timers on. */
static __attribute__((noinline)) long dispatch_slow(u64 nr, const u64 args[6])
{
	unsigned idx = nr < NR_MAX ? (unsigned)nr : NR_MAX - 1;
	u64 n = __atomic_add_fetch(&calls[idx], 1, __ATOMIC_RELAXED);
	struct uthread *ut = uthread_current();
	struct proc *p = ut ? ut->proc : NULL;
	if (ut) {
		__atomic_add_fetch(&p->syscalls, 1, __ATOMIC_RELAXED);
		if (READ_ONCE(p->it_cpu_on))   /* system time from here on */
			itimer_cpu_enter(ut);
	}
	sys_fn fn = nr < NR_MAX ? table[nr].fn : NULL;
	if (!fn) {
		__atomic_add_fetch(&errors[idx], 1, __ATOMIC_RELAXED);
		if (n == 1)
			pr_info("syscall: pid %d (%s) called %llu, which Caboose lacks: -ENOSYS",
				p ? p->pid : 0, p ? p->name : "?", (unsigned long long)nr);
		return -ENOSYS;
	}
	long r = fn(args);
	if (ut) {   /* for a signal handler's SA_RESTART (kernel/proc/signal.c) */
		ut->last_nr = (long)nr;
		ut->last_result = r;
	}
	if (r < 0 && r >= -4095)
		__atomic_add_fetch(&errors[idx], 1, __ATOMIC_RELAXED);
	return r;
}

/* Every system call comes here; the common case (a user thread, a call
 * Caboose has, no CPU-time timer) is kept short: it is most of the cost of
 * a cheap call such as getppid (bench/sys's null). */
static long dispatch(u64 nr, const u64 args[6])
{
	struct uthread *ut = uthread_current();
	if (unlikely(nr >= NR_MAX || !ut || !table[nr].fn || READ_ONCE(ut->proc->it_cpu_on)))
		return dispatch_slow(nr, args);
	__atomic_add_fetch(&calls[nr], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ut->proc->syscalls, 1, __ATOMIC_RELAXED);
	long r = table[nr].fn(args);
	ut->last_nr = (long)nr;   /* for a signal handler's SA_RESTART (kernel/proc/signal.c) */
	ut->last_result = r;
	if (unlikely(r < 0 && r >= -4095))
		__atomic_add_fetch(&errors[nr], 1, __ATOMIC_RELAXED);
	return r;
}

void syscall_init(void)
{
	epoll_init();
	async_init();
	arch_set_syscall_handler(dispatch);
}

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
