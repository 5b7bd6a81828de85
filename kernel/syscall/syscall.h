/*
 * The Linux x86-64 system-call ABI (first increment). syscall_init
 * registers the dispatcher with the architecture: rax holds the number,
 * rdi rsi rdx r10 r8 r9 the arguments, rax the result (a negative errno on
 * failure, as Linux returns it).
 *
 * Implemented: read, write, writev (fd 0-2: the serial console), ioctl
 * (-ENOTTY on the console), mmap (anonymous) and munmap, brk, exit and
 * exit_group, getpid, gettid, set_tid_address, arch_prctl (FS), uname,
 * clock_gettime, getrandom, rt_sigaction and rt_sigprocmask (recorded
 * only). Every other number returns -ENOSYS; every call is counted by
 * number (REPL `syscalls`), and the first call of each unimplemented one
 * is logged.
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
