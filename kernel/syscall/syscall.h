/*
 * The Linux x86-64 system-call ABI (first increment). syscall_init
 * registers the dispatcher with the architecture: rax holds the number,
 * rdi rsi rdx r10 r8 r9 the arguments, rax the result (a negative errno on
 * failure, as Linux returns it).
 *
 * Implemented (README "User programs" lists them by area): descriptor I/O
 * over the VFS (sys_io.c: read, write and their positional and vector
 * forms, lseek, close, dup*, fcntl, ioctl FIONBIO, pipe/pipe2, poll/ppoll,
 * sendfile, ftruncate, fsync), names (sys_fs.c: open/openat/creat, the
 * stat family, getdents64, mkdir, rmdir, unlink, rename, symlink,
 * readlink, truncate, getcwd, chdir, access, umask), memory (sys_mm.c:
 * anonymous private mmap, munmap, mprotect, brk), processes and signals
 * (sys_proc.c: fork, vfork, clone, clone3, unshare, execve, wait4,
 * waitid, getppid, process groups, the uid calls, kill, tkill, tgkill,
 * rt_sigreturn, rt_sigsuspend, pause, nanosleep, clock_nanosleep,
 * sched_yield), and the rest (sys_misc.c: exit, exit_group, getpid,
 * gettid, set_tid_address, arch_prctl FS, uname, clock_gettime,
 * clock_settime, settimeofday,
 * getrandom, rt_sigaction, rt_sigprocmask). Every other number returns
 * -ENOSYS; every call is counted by number (REPL `syscalls`), and the
 * first call of each unimplemented one is logged. Flags Caboose does not
 * support give -EINVAL (O_PATH, O_TMPFILE, O_DIRECT, rename flags, clone's
 * namespaces, shared anonymous mmap, PROT_NONE over pages with data).
 *
 * Bad user pointers give -EFAULT (kernel/proc/uaccess.h), never a panic.
 * Memory a call needs is allocated before it changes anything
 * (DESIGN principle 7).
 */
#ifndef SYSCALL_SYSCALL_H
#define SYSCALL_SYSCALL_H

#include "kernel/lib/types.h"

void syscall_init(void);

#endif
