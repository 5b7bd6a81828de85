/*
 * The Linux x86-64 system-call ABI (first increment). syscall_init
 * registers the dispatcher with the architecture: rax holds the number,
 * rdi rsi rdx r10 r8 r9 the arguments, rax the result (a negative errno on
 * failure, as Linux returns it).
 *
 * Implemented: file descriptors over the VFS (fs/vfs.h): read, write,
 * pread64, pwrite64, readv, writev, open, openat, creat, close, lseek,
 * stat, fstat, lstat, newfstatat, getdents64, mkdir, mkdirat, rmdir,
 * unlink, unlinkat, rename, renameat, renameat2 (no flags), dup, dup2,
 * dup3, fcntl (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL,
 * F_SETFL), ioctl (FIONBIO; -ENOTTY otherwise: no tty layer), pipe, pipe2,
 * truncate, ftruncate, fsync, fdatasync, getcwd, chdir, fchdir, access,
 * faccessat, faccessat2, umask, readlink and readlinkat (no symbolic links:
 * -EINVAL); memory: mmap (anonymous) and munmap, brk; exit and exit_group,
 * getpid, gettid, set_tid_address, arch_prctl (FS), uname, clock_gettime,
 * getrandom, rt_sigaction and rt_sigprocmask (recorded; SIGPIPE's default
 * action and SIG_IGN are honoured). Every other number returns -ENOSYS;
 * every call is counted by number (REPL `syscalls`), and the first call of
 * each unimplemented one is logged. Flags Caboose does not support give
 * -EINVAL (O_PATH, O_TMPFILE, O_DIRECT, rename flags, pipe2's O_DIRECT).
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
