/* Inside kernel/syscall: the handlers, by area. Each takes the six
 * argument registers and returns the result or a negative errno. */
#ifndef SYSCALL_SYS_PRIV_H
#define SYSCALL_SYS_PRIV_H

#include "kernel/proc/proc.h"
#include "kernel/proc/uaccess.h"

typedef long (*sys_fn)(const u64 a[6]);

/* sys_io.c */
long sys_read(const u64 a[6]);
long sys_write(const u64 a[6]);
long sys_writev(const u64 a[6]);
long sys_ioctl(const u64 a[6]);
/* sys_mm.c */
long sys_mmap(const u64 a[6]);
long sys_munmap(const u64 a[6]);
long sys_brk(const u64 a[6]);
/* sys_misc.c */
long sys_exit(const u64 a[6]);
long sys_getpid(const u64 a[6]);
long sys_set_tid_address(const u64 a[6]);
long sys_arch_prctl(const u64 a[6]);
long sys_uname(const u64 a[6]);
long sys_clock_gettime(const u64 a[6]);
long sys_getrandom(const u64 a[6]);
long sys_rt_sigaction(const u64 a[6]);
long sys_rt_sigprocmask(const u64 a[6]);

#endif
