/* Inside kernel/syscall: what the socket calls share. sys_net.c: the
 * Internet sockets as files (socket to recvmsg); sys_sockopt.c: their
 * options (setsockopt, getsockopt); sys_unix.c: socketpair's AF_UNIX
 * streams and the files they carry (SCM_RIGHTS). Numbers are Linux's. */
#ifndef SYSCALL_SYS_SOCK_PRIV_H
#define SYSCALL_SYS_SOCK_PRIV_H

#include "kernel/syscall/sys_priv.h"
#include "netstack/net.h"

#define AF_UNSPEC 0
#define AF_UNIX   1
#define AF_INET   2
#define AF_INET6  10
#define AF_MAX    46

#define LX_SOCK_STREAM    1
#define LX_SOCK_DGRAM     2
#define LX_SOCK_SEQPACKET 5
#define SOCK_TYPE_MASK    0xf
#define SOCK_NONBLOCK     O_NONBLOCK
#define SOCK_CLOEXEC      O_CLOEXEC
#define SOCK_MAX_TYPE     10

#define SOL_SOCKET  1
#define IPPROTO_IP  0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

#define LX_MSG_OOB          0x1
#define LX_MSG_PEEK         0x2
#define LX_MSG_CTRUNC       0x8
#define LX_MSG_TRUNC        0x20
#define LX_MSG_DONTWAIT     0x40
#define LX_MSG_WAITALL      0x100
#define LX_MSG_NOSIGNAL     0x4000
#define LX_MSG_MORE         0x8000
#define LX_MSG_CMSG_CLOEXEC 0x40000000

/* Linux's limits for SO_RCVBUF/SO_SNDBUF (net.core.rmem_max, wmem_max) and
 * its defaults as getsockopt shows them */
#define RMEM_MAX        212992
#define WMEM_MAX        212992
#define MIN_RCVBUF      2304
#define MIN_SNDBUF      4608
#define TCP_RCVBUF_DFL  131072
#define TCP_SNDBUF_DFL  16384
#define UDP_BUF_DFL     212992

/* A socket's file: f->priv. The options are the file's, as on Linux. */
struct sockfile {
	struct socket *s;
	int type;                       /* LX_SOCK_STREAM or LX_SOCK_DGRAM */
	bool listening;                 /* [atomic] */
	bool connecting;                /* a non-blocking connect said EINPROGRESS */
	bool keepalive, nodelay, cork, linger; /* [owner: racy is harmless] */
	int linger_s, tos;
	u32 rcvbuf, sndbuf;             /* as getsockopt shows them */
	u64 rcvtimeo_ns, sndtimeo_ns;   /* 0: wait for ever */
};

/* The vector of a call: user iovecs, or one kernel or user buffer. */
struct vec {
	const struct sys_iovec *iov;   /* kernel copy of the user's */
	u64 n;
	u64 total;
};

/* sys_net.c */
/* The socket behind a descriptor: 0 with *fp (a reference) and *sfp, or
 * -EBADF, -ENOTSOCK. */
int sys_sock_fd(u64 fd, struct file **fp, struct sockfile **sfp);

/* sys_unix.c */
/* f is an end of a socketpair. */
bool sys_unix_end(struct file *f);
/* send and recv on a socketpair's end: its file's read and write, one
 * iovec after the other (a short transfer ends the call) */
long sys_unix_io(struct file *f, const struct vec *v, bool write, int flags);
/* A batch of files in flight (SCM_RIGHTS). */
struct rights;
/* The files an SCM_RIGHTS control buffer names, with references, in a
 * new batch (*out; NULL: the buffer names none). -EINVAL for another
 * kind of message or too many files, -EBADF, -EFAULT, -ENOMEM. */
long sys_unix_rights_get(u64 uctl, u64 len, struct rights **out);
/* sendmsg on a socketpair's end with files (the batch is taken over). */
long sys_unix_send_rights(struct file *f, const struct vec *v, int flags, struct rights *rt);
/* recvmsg on a socketpair's end: the bytes, and the files sent with them
 * as new descriptors in an SCM_RIGHTS message of the control buffer
 * (*ctl_used bytes of it; *ctrunc when it could not hold them all). */
long sys_unix_recvmsg(struct file *f, const struct vec *v, int flags, u64 uctl, u64 ctl_len,
		      u64 *ctl_used, bool *ctrunc);

#endif
