/* Inside kernel/syscall: the handlers, by area. Each takes the six
 * argument registers and returns the result or a negative errno. */
#ifndef SYSCALL_SYS_PRIV_H
#define SYSCALL_SYS_PRIV_H

#include "kernel/proc/proc.h"
#include "kernel/proc/uaccess.h"

typedef long (*sys_fn)(const u64 a[6]);

/* sys_io.c */
/* The file behind a descriptor, with a reference, or NULL (-EBADF). */
struct file *sys_file(u64 fd);
/* Linux's struct iovec. */
struct sys_iovec {
	u64 base, len;
};
/* n user iovecs copied into a kmalloc'd array (*out, the caller frees
 * it) and checked as Linux checks them: -EFAULT for a bad array, -EINVAL
 * for a negative length or total; *total is their sum, capped at one
 * transfer's most. -ENOMEM. The caller bounds n. */
int sys_iovecs_get(u64 uiov, u64 n, struct sys_iovec **out, u64 *total);
/* readv/writev's core: the iovecs in turn through f's read or write until
 * total bytes moved or a short transfer; the bytes moved, or the error of
 * the first when none moved. */
long sys_file_rw_iovecs(struct file *f, const struct sys_iovec *iov, u64 n, u64 total, bool write);
/* A timespec timeout from user memory into *ns (0: NULL, *ns -1: none):
 * 0, -EFAULT, -EINVAL (negative, or nanoseconds >= 10^9). */
int sys_timeout(u64 uts, s64 *ns);
long sys_read(const u64 a[6]);
long sys_write(const u64 a[6]);
long sys_pread64(const u64 a[6]);
long sys_pwrite64(const u64 a[6]);
long sys_readv(const u64 a[6]);
long sys_writev(const u64 a[6]);
long sys_lseek(const u64 a[6]);
long sys_close(const u64 a[6]);
long sys_dup(const u64 a[6]);
long sys_dup2(const u64 a[6]);
long sys_dup3(const u64 a[6]);
long sys_fcntl(const u64 a[6]);
long sys_ioctl(const u64 a[6]);
long sys_pipe(const u64 a[6]);
long sys_pipe2(const u64 a[6]);
long sys_eventfd(const u64 a[6]);
long sys_eventfd2(const u64 a[6]);
long sys_ftruncate(const u64 a[6]);
long sys_fsync(const u64 a[6]);
/* sys_net.c: FIONREAD on a socket (net.h's sock_inq); -ENOTTY for any
 * other file (pipes: not yet) */
long sys_sock_inq(struct file *f);
/* sys_net.c: sendfile from in (at *off, advanced by what went) to a
 * stream socket with the file's pages lent to the packets; -EOPNOTSUPP
 * when out is no stream socket or in cannot lend pages (sendfile copies) */
long sys_sock_sendfile(struct file *out, struct file *in, u64 *off, size_t count);
long sys_sync(const u64 a[6]);
long sys_syncfs(const u64 a[6]);
long sys_poll(const u64 a[6]);
long sys_sendfile(const u64 a[6]);
long sys_ppoll(const u64 a[6]);
/* sys_fs.c */
/* A path from user memory into a kmalloc'd buffer the caller frees. */
int sys_path(u64 upath, char **out);
/* A path from user memory into kp: kp->s is kp->buf when it fits there
 * (no allocation: most paths), else memory sys_path_put gives back. */
struct kpath {
	char *s;
	char buf[192];
};
int sys_path_in(u64 upath, struct kpath *kp);
void sys_path_put(struct kpath *kp);
long sys_open(const u64 a[6]);
long sys_openat(const u64 a[6]);
long sys_creat(const u64 a[6]);
long sys_fstat(const u64 a[6]);
long sys_stat(const u64 a[6]);
long sys_lstat(const u64 a[6]);
long sys_newfstatat(const u64 a[6]);
long sys_statx(const u64 a[6]);
long sys_statfs(const u64 a[6]);
long sys_fstatfs(const u64 a[6]);
long sys_getxattr(const u64 a[6]);
long sys_lgetxattr(const u64 a[6]);
long sys_fgetxattr(const u64 a[6]);
long sys_listxattr(const u64 a[6]);
long sys_llistxattr(const u64 a[6]);
long sys_flistxattr(const u64 a[6]);
long sys_setxattr(const u64 a[6]);
long sys_lsetxattr(const u64 a[6]);
long sys_fsetxattr(const u64 a[6]);
long sys_fadvise64(const u64 a[6]);
long sys_sysinfo(const u64 a[6]);
long sys_select(const u64 a[6]);
long sys_pselect6(const u64 a[6]);
long sys_time(const u64 a[6]);
long sys_getrusage(const u64 a[6]);
long sys_gettimeofday(const u64 a[6]);
long sys_settimeofday(const u64 a[6]);
long sys_getdents64(const u64 a[6]);
long sys_mkdir(const u64 a[6]);
long sys_mkdirat(const u64 a[6]);
long sys_mknodat(const u64 a[6]);
long sys_mknod(const u64 a[6]);
long sys_unlink(const u64 a[6]);
long sys_unlinkat(const u64 a[6]);
long sys_rmdir(const u64 a[6]);
long sys_rename(const u64 a[6]);
long sys_renameat(const u64 a[6]);
long sys_renameat2(const u64 a[6]);
long sys_getcwd(const u64 a[6]);
long sys_chdir(const u64 a[6]);
long sys_fchdir(const u64 a[6]);
long sys_access(const u64 a[6]);
long sys_faccessat(const u64 a[6]);
long sys_faccessat2(const u64 a[6]);
long sys_umask(const u64 a[6]);
long sys_readlink(const u64 a[6]);
long sys_readlinkat(const u64 a[6]);
long sys_truncate(const u64 a[6]);
long sys_symlink(const u64 a[6]);
long sys_symlinkat(const u64 a[6]);
long sys_link(const u64 a[6]);
long sys_linkat(const u64 a[6]);
long sys_chmod(const u64 a[6]);
long sys_fchmod(const u64 a[6]);
long sys_fchmodat(const u64 a[6]);
long sys_chown(const u64 a[6]);
long sys_fchown(const u64 a[6]);
long sys_lchown(const u64 a[6]);
long sys_fchownat(const u64 a[6]);
long sys_utimensat(const u64 a[6]);
long sys_futimesat(const u64 a[6]);
long sys_utimes(const u64 a[6]);
/* sys_mm.c */
long sys_mmap(const u64 a[6]);
long sys_munmap(const u64 a[6]);
long sys_brk(const u64 a[6]);
long sys_mprotect(const u64 a[6]);
long sys_msync(const u64 a[6]);
/* sys_proc.c */
long sys_fork(const u64 a[6]);
long sys_clone(const u64 a[6]);
long sys_vfork(const u64 a[6]);
long sys_clone3(const u64 a[6]);
long sys_unshare(const u64 a[6]);
/* sys_async.c: O_ASYNC on (SIGIO to the owner at every readiness change
 * of f) or off. 0, -ENOMEM (nothing changed). */
int sys_async_set(struct file *f, bool on);
void async_init(void);
long sys_execve(const u64 a[6]);
long sys_wait4(const u64 a[6]);
long sys_waitid(const u64 a[6]);
long sys_getppid(const u64 a[6]);
long sys_kill(const u64 a[6]);
long sys_tkill(const u64 a[6]);
long sys_tgkill(const u64 a[6]);
long sys_rt_sigreturn(const u64 a[6]);
long sys_nanosleep(const u64 a[6]);
long sys_clock_nanosleep(const u64 a[6]);
long sys_getpgid(const u64 a[6]);
long sys_getsid(const u64 a[6]);
long sys_getpgrp(const u64 a[6]);
long sys_setpgid(const u64 a[6]);
long sys_setsid(const u64 a[6]);
/* sys_cred.c */
long sys_getuid(const u64 a[6]);
long sys_geteuid(const u64 a[6]);
long sys_getgid(const u64 a[6]);
long sys_getegid(const u64 a[6]);
long sys_setuid(const u64 a[6]);
long sys_setgid(const u64 a[6]);
long sys_setreuid(const u64 a[6]);
long sys_setregid(const u64 a[6]);
long sys_setresuid(const u64 a[6]);
long sys_setresgid(const u64 a[6]);
long sys_getresuid(const u64 a[6]);
long sys_getresgid(const u64 a[6]);
long sys_getgroups(const u64 a[6]);
long sys_setgroups(const u64 a[6]);
long sys_prctl(const u64 a[6]);
long sys_sched_yield(const u64 a[6]);
long sys_pause(const u64 a[6]);
long sys_getitimer(const u64 a[6]);
long sys_setfsuid(const u64 a[6]);
long sys_setfsgid(const u64 a[6]);
long sys_setitimer(const u64 a[6]);
long sys_alarm(const u64 a[6]);
long sys_rt_sigsuspend(const u64 a[6]);
long sys_futex(const u64 a[6]);
long sys_set_robust_list(const u64 a[6]);
long sys_get_robust_list(const u64 a[6]);
long sys_sched_getaffinity(const u64 a[6]);
long sys_sched_setaffinity(const u64 a[6]);
long sys_sigaltstack(const u64 a[6]);
long sys_prlimit64(const u64 a[6]);
long sys_getrlimit(const u64 a[6]);
long sys_setrlimit(const u64 a[6]);
long sys_madvise(const u64 a[6]);
/* sys_net.c (and sys_sock_priv.h) */
long sys_socket(const u64 a[6]);
long sys_bind(const u64 a[6]);
long sys_listen(const u64 a[6]);
long sys_accept(const u64 a[6]);
long sys_accept4(const u64 a[6]);
long sys_connect(const u64 a[6]);
long sys_getsockname(const u64 a[6]);
long sys_getpeername(const u64 a[6]);
long sys_shutdown(const u64 a[6]);
long sys_sendto(const u64 a[6]);
long sys_recvfrom(const u64 a[6]);
long sys_sendmsg(const u64 a[6]);
long sys_recvmsg(const u64 a[6]);
/* sys_sockopt.c */
long sys_setsockopt(const u64 a[6]);
long sys_getsockopt(const u64 a[6]);
/* sys_unix.c */
long sys_socketpair(const u64 a[6]);
/* sys_epoll.c */
void epoll_init(void);
long sys_epoll_create(const u64 a[6]);
long sys_epoll_create1(const u64 a[6]);
long sys_epoll_ctl(const u64 a[6]);
long sys_epoll_wait(const u64 a[6]);
long sys_epoll_pwait(const u64 a[6]);
long sys_epoll_pwait2(const u64 a[6]);
/* sys_misc.c */
long sys_exit(const u64 a[6]);
long sys_exit_group(const u64 a[6]);
long sys_gettid(const u64 a[6]);
long sys_getpid(const u64 a[6]);
long sys_set_tid_address(const u64 a[6]);
long sys_arch_prctl(const u64 a[6]);
long sys_uname(const u64 a[6]);
long sys_clock_gettime(const u64 a[6]);
long sys_clock_settime(const u64 a[6]);
long sys_getrandom(const u64 a[6]);
long sys_rt_sigaction(const u64 a[6]);
long sys_rt_sigprocmask(const u64 a[6]);
long sys_rt_sigpending(const u64 a[6]);
long sys_rt_sigtimedwait(const u64 a[6]);

#endif
