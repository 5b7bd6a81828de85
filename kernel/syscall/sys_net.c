/*
 * Sockets as files: socket, socketpair, bind, listen, accept, accept4,
 * connect, getsockname, getpeername, setsockopt, getsockopt, shutdown,
 * sendto, recvfrom, sendmsg, recvmsg; and read, write, readv, writev,
 * poll, epoll, fstat, fcntl O_NONBLOCK and close through the socket's
 * struct file (its ops below, over netstack/net.h's socket calls).
 *
 * AF_INET stream (TCP) and datagram (UDP) sockets. AF_UNIX: socketpair
 * of stream sockets only (two pipes joined crosswise, fs/pipe.c), with
 * files passed as SCM_RIGHTS (the last section); socket(AF_UNIX) and
 * AF_INET6 answer -EAFNOSUPPORT.
 *
 * Over 1,000 lines because the socket pair and its descriptors in flight
 * share sendmsg/recvmsg's parsing with the Internet sockets here; the
 * socket pair section (from "socketpair:" on) is the part to move to a
 * file of its own (sys_unix.c) when it grows again.
 *
 * Blocking is done here, not in the stack: every call into the stack is
 * non-blocking (the socket is made SO_NONBLOCK at birth), and a blocking
 * call waits on the socket's wait queue for the readiness it needs, a
 * signal (-EINTR) or its SO_RCVTIMEO/SO_SNDTIMEO (-EAGAIN).
 *
 * Copies: a send copies user bytes once, straight into fresh packet
 * pages (copy.tx_write), and hands the stack the pkb. A receive cannot:
 * the stack copies out under the socket's spinlock, where user memory
 * cannot be touched (a fault may sleep), so received bytes pass through a
 * kernel bounce buffer of at most SOCK_CHUNK bytes: two copies, the
 * bounce one counted in copy.sock_bounce. sendfile to a stream socket lends
 * the file's pages to the packets (sys_sock_sendfile: no copy). (One copy
 * on receive is issue 13's.)
 *
 * Options answered as Linux answers them: SO_REUSEADDR and SO_REUSEPORT
 * (kept by the stack, whose bind and listen follow Linux's port rules;
 * SO_REUSEPORT listeners share a port, each connection given to one by
 * its flow's hash: netstack/tcp.c), SO_KEEPALIVE, SO_RCVBUF/SO_SNDBUF
 * (Linux doubles what is set, within its limits; the stack gets the value
 * asked for), SO_RCVTIMEO,
 * SO_SNDTIMEO, SO_LINGER (l_linger 0 aborts on close; a close never
 * waits), SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN, SO_ERROR,
 * TCP_NODELAY, TCP_CORK and MSG_MORE (accepted; segments are not held
 * back), IP_TOS (kept, not put on the wire). Others: -ENOPROTOOPT.
 *
 * Bounds: a process has RLIMIT_NOFILE descriptors (1024, up to FD_MAX); SOCK_USER_MAX sockets exist
 * at most across all processes (-ENFILE); each socket's buffers are the
 * stack's (bounded by SO_RCVBUF/SO_SNDBUF). The last close of a socket's
 * file, also at a process's exit, closes it in the stack (FIN, or RST
 * with unread data).
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
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

/* SOL_SOCKET options, Linux's numbers (those shared with net.h agree) */
#define LX_SO_REUSEADDR  2
#define LX_SO_TYPE       3
#define LX_SO_ERROR      4
#define LX_SO_SNDBUF     7
#define LX_SO_RCVBUF     8
#define LX_SO_KEEPALIVE  9
#define LX_SO_LINGER     13
#define LX_SO_REUSEPORT  15
#define LX_SO_RCVTIMEO   20
#define LX_SO_SNDTIMEO   21
#define LX_SO_ACCEPTCONN 30
#define LX_SO_PROTOCOL   38
#define LX_SO_DOMAIN     39
/* IPPROTO_TCP options */
#define LX_TCP_NODELAY 1
#define LX_TCP_CORK    3
/* IPPROTO_IP options */
#define LX_IP_TOS 1

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

#define SOCK_CHUNK    (64u * 1024)   /* bounce buffer: bytes moved in one step */
#define UDP_MAX_DATA  65507u
#define SOCK_USER_MAX 4096           /* sockets of all processes together */
#define SOCKADDR_MAX  128            /* sizeof(struct sockaddr_storage) */

struct lx_sockaddr_in {
	u16 family;
	u16 port;    /* network order */
	u32 addr;    /* network order */
	u8 zero[8];
};

struct lx_msghdr {
	u64 name;
	u32 namelen, pad0;
	u64 iov;
	u64 iovlen;
	u64 control;
	u64 controllen;
	s32 flags, pad1;
};

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

static u64 sock_user_open;     /* [atomic] */
static u64 bounce_bytes;       /* [atomic] */
KCOUNTER_VAR("sock.user_open", "sockets", sock_user_open);
KCOUNTER_VAR("copy.sock_bounce", "bytes", bounce_bytes);

static u16 bswap16(u16 v) { return (u16)(v << 8 | v >> 8); }
static u32 bswap32(u32 v) { return __builtin_bswap32(v); }

static void bounce(u64 n) { __atomic_add_fetch(&bounce_bytes, n, __ATOMIC_RELAXED); }

/* ---- the socket's file ---- */

static const struct file_ops sock_fops, unix_fops;
/* socketpair's descriptors in flight (SCM_RIGHTS), below */
struct rights;
struct vec;
static long rights_get(u64 uctl, u64 len, struct rights **out);
static long unix_send_rights(struct file *f, const struct vec *v, int flags, struct rights *rt);
static long unix_recvmsg(struct file *f, const struct vec *v, int flags, u64 uctl, u64 ctl_len,
			 u64 *ctl_used, bool *ctrunc);

static struct sockfile *sockfile_of(struct file *f)
{
	return f->ops == &sock_fops ? f->priv : NULL;
}

static bool nonblocking(struct file *f, int flags)
{
	return (flags & LX_MSG_DONTWAIT) || (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & O_NONBLOCK);
}

/* Wait until s shows one of mask (or an error or hang-up), a signal, or
 * the deadline (0: none): 0, -EINTR or -EAGAIN. */
static int sock_wait(struct socket *s, unsigned mask, u64 timeout_ns)
{
	struct waitq *wq = sock_waitq(s);
	struct waiter w = WAITER_INIT;
	u64 deadline = timeout_ns ? arch_clock_ns() + timeout_ns : 0;
	int r = 0;
	for (;;) {
		wait_prepare(wq, &w);
		if (sock_poll(s) & (mask | POLLERR | POLLHUP))
			break;
		if (proc_signal_pending()) {
			r = -EINTR;
			break;
		}
		if (!deadline) {
			wait_block(wq);
		} else if (!wait_block_until(wq, deadline)) {
			r = sock_poll(s) & (mask | POLLERR | POLLHUP) ? 0 : -EAGAIN;
			break;
		}
	}
	wait_finish(wq, &w);
	return r;
}

/* One receive into kernel memory: a blocking one waits for data. from:
 * the sender (datagrams). */
static long recv_some(struct file *f, struct sockfile *sf, void *buf, u32 len, int flags,
		      struct sockaddr_in4 *from)
{
	int sflags = MSG_DONTWAIT | (flags & LX_MSG_PEEK ? MSG_PEEK : 0);
	for (;;) {
		long r = sock_recvfrom(sf->s, buf, len, sflags, sf->type == LX_SOCK_DGRAM ? from : NULL);
		if (r == -EBADF)    /* the stack's word for a closed datagram socket */
			r = 0;
		if (r != -EAGAIN || nonblocking(f, flags))
			return r;
		int w = sock_wait(sf->s, POLLIN, sf->rcvtimeo_ns);
		if (w < 0)
			return w;
	}
}

/* One send from kernel memory: a blocking one waits for room. */
static long send_some(struct file *f, struct sockfile *sf, const void *buf, u32 len, int flags,
		      const struct sockaddr_in4 *to)
{
	for (;;) {
		long r = sock_sendto(sf->s, buf, len, MSG_DONTWAIT, to);
		if (sf->type == LX_SOCK_STREAM && r == -ENOTCONN)
			r = -EPIPE;   /* Linux: a stream never connected is a broken pipe */
		if (r != -EAGAIN || nonblocking(f, flags))
			return r;
		int w = sock_wait(sf->s, POLLOUT, sf->sndtimeo_ns);
		if (w < 0)
			return w;
	}
}

/* The vector of a call: user iovecs, or one kernel or user buffer. */
struct vec {
	const struct sys_iovec *iov;   /* kernel copy of the user's */
	u64 n;
	u64 total;
};

/* Copy a user iovec array in and check it as Linux does (-EMSGSIZE for
 * too many; sys_iovecs_get's errors). */
static int vec_get(u64 uiov, u64 n, struct vec *v)
{
	if (n > 1024)
		return -EMSGSIZE;
	struct sys_iovec *iov;
	int r = sys_iovecs_get(uiov, n, &iov, &v->total);
	if (r < 0)
		return r;
	v->iov = iov;
	v->n = n;
	return 0;
}

/* Gather bytes [off, off + n) of the vector into buf: bytes copied (short
 * on a bad pointer). */
static size_t vec_gather(const struct vec *v, u64 off, u8 *buf, size_t n)
{
	size_t done = 0;
	for (u64 i = 0; i < v->n && done < n; i++) {
		u64 l = v->iov[i].len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t k = MIN(l - off, n - done);
		size_t got = copy_from_user_partial(buf + done, v->iov[i].base + off, k);
		done += got;
		if (got < k)
			break;
		off = 0;
	}
	return done;
}

static size_t vec_scatter(const struct vec *v, u64 off, const u8 *buf, size_t n)
{
	size_t done = 0;
	for (u64 i = 0; i < v->n && done < n; i++) {
		u64 l = v->iov[i].len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t k = MIN(l - off, n - done);
		size_t got = copy_to_user_partial(v->iov[i].base + off, buf + done, k);
		done += got;
		if (got < k)
			break;
		off = 0;
	}
	return done;
}

/* send and recv on a socketpair's end: its file's read and write, one
 * iovec after the other (a short transfer ends the call) */
static long unix_io(struct file *f, const struct vec *v, bool write, int flags)
{
	unsigned saved = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
	if (flags & LX_MSG_DONTWAIT)
		__atomic_or_fetch(&f->flags, O_NONBLOCK, __ATOMIC_RELAXED);
	long r = sys_file_rw_iovecs(f, v->iov, v->n, v->total, write);
	if (flags & LX_MSG_DONTWAIT)
		__atomic_store_n(&f->flags, saved, __ATOMIC_RELAXED);
	if (r == -EPIPE && write && !(flags & LX_MSG_NOSIGNAL))
		proc_raise_sigpipe();
	return r;
}

/* Bytes [off, off + n) of the vector copied straight into fresh pages
 * of a new pkb: the one copy of a send (copy.tx_write). *got: the bytes
 * copied (fewer than n on a bad pointer); NULL if memory is short. */
static struct pkb *pkb_from_vec(const struct vec *v, u64 off, u32 n, u32 *got)
{
	struct pkb *b = pkb_alloc();
	*got = 0;
	if (!b)
		return NULL;
	while (*got < n) {
		struct page *pg = page_alloc(0);
		if (!pg) {
			pkb_free(b);
			return NULL;
		}
		u32 k = MIN(n - *got, (u32)PAGE_SIZE);
		u32 c = (u32)vec_gather(v, off + *got, page_address(pg), k);
		int r = c ? pkb_add_frag(b, pg, 0, c) : 0;
		page_put(pg);   /* the pkb holds its own reference */
		if (r < 0) {
			pkb_free(b);
			return NULL;
		}
		*got += c;
		if (c < k)
			break;
	}
	pkb_count_copy(PKB_COPY_TX_WRITE, *got);
	return b;
}

/* Send the vector: a stream in chunks (a blocking send sends all unless
 * a signal or an error stops it; what went counts), a datagram whole. A
 * chunk is copied only once the socket has room for it (or would answer
 * at once: an error), so that no copy is made in vain. */
static long send_vec(struct file *f, struct sockfile *sf, const struct vec *v, int flags,
		     const struct sockaddr_in4 *to)
{
	if (sf->type == LX_SOCK_DGRAM && v->total > UDP_MAX_DATA)
		return -EMSGSIZE;
	u32 cap = sf->type == LX_SOCK_DGRAM ? (u32)v->total : (u32)MIN(v->total, SOCK_CHUNK);
	u64 done = 0;
	long r = 0;
	do {
		if (sf->type == LX_SOCK_STREAM && !(sock_poll(sf->s) & (POLLOUT | POLLERR | POLLHUP))) {
			if (nonblocking(f, flags)) {
				r = -EAGAIN;
				break;
			}
			r = sock_wait(sf->s, POLLOUT, sf->sndtimeo_ns);
			if (r < 0)
				break;
		}
		u32 n = (u32)MIN(v->total - done, cap), got;
		struct pkb *b = pkb_from_vec(v, done, n, &got);
		if (!b) {
			r = -ENOMEM;
			break;
		}
		if (got < n && !got) {
			pkb_free(b);
			r = -EFAULT;
			break;
		}
		long k = sock_send_pkb(sf->s, b, MSG_DONTWAIT, to);   /* takes b */
		if (sf->type == LX_SOCK_STREAM && k == -ENOTCONN)
			k = -EPIPE;   /* Linux: a stream never connected is a broken pipe */
		if (k == -EAGAIN && sf->type == LX_SOCK_STREAM && !nonblocking(f, flags))
			continue;     /* room went meanwhile: wait above, copy again */
		if (k < 0) {
			r = k;
			break;
		}
		done += (u64)k;
		if (got < n)   /* a bad pointer ended the gather */
			break;
		if (sf->type == LX_SOCK_DGRAM || proc_signal_pending())
			break;
	} while (done < v->total);
	if (done)
		return (long)done;
	if (r == -EPIPE && !(flags & LX_MSG_NOSIGNAL))
		proc_raise_sigpipe();
	return r;
}

/* Receive into the vector: a stream takes what is there (MSG_WAITALL: all
 * asked for, unless EOF, an error or a signal); a datagram is one, cut to
 * the vector (*trunc set when cut). */
static long recv_vec(struct file *f, struct sockfile *sf, const struct vec *v, int flags,
		     struct sockaddr_in4 *from, bool *trunc)
{
	u32 cap = sf->type == LX_SOCK_DGRAM ? 65536 : (u32)MIN(v->total, SOCK_CHUNK);
	u8 *buf = kmalloc(cap ? cap : 1, 0);
	if (!buf)
		return -ENOMEM;
	u64 done = 0;
	long r = 0;
	*trunc = false;
	do {
		u32 n = (u32)MIN(v->total - done, cap);
		if (sf->type == LX_SOCK_DGRAM)
			n = cap;
		long k = recv_some(f, sf, buf, n, done ? flags | LX_MSG_DONTWAIT : flags, from);
		if (k < 0) {
			if (!done)
				r = k;
			if (k == -EAGAIN && done && (flags & LX_MSG_WAITALL) && !nonblocking(f, flags)) {
				int w = sock_wait(sf->s, POLLIN, sf->rcvtimeo_ns);
				if (w == 0)
					continue;
			}
			break;
		}
		if (sf->type == LX_SOCK_DGRAM) {
			size_t want = MIN((u64)k, v->total);
			*trunc = (u64)k > v->total;
			size_t put = vec_scatter(v, 0, buf, want);
			bounce(put);
			r = put < want ? -EFAULT : (long)want;
			break;
		}
		size_t put = vec_scatter(v, done, buf, (size_t)k);
		bounce(put);
		done += put;
		if (put < (size_t)k) {   /* the rest is lost, as Linux loses it */
			if (!done)
				r = -EFAULT;
			break;
		}
		if (k == 0 || !(flags & LX_MSG_WAITALL) || (flags & LX_MSG_PEEK))
			break;
	} while (done < v->total);
	kfree(buf);
	if (sf->type == LX_SOCK_STREAM && done)
		return (long)done;
	return r;
}

static long sockf_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	struct sockfile *sf = f->priv;
	if (!u->user) {
		long r = recv_some(f, sf, (void *)(uptr)u->addr, (u32)MIN(u->len, 0x7ffff000UL), 0, NULL);
		if (r > 0) {
			u->addr += (u64)r;
			u->len -= (size_t)r;
		}
		return r;
	}
	struct sys_iovec one = { u->addr, u->len };
	struct vec v = { &one, 1, u->len };
	bool trunc;
	long r = recv_vec(f, sf, &v, 0, NULL, &trunc);
	if (r > 0) {
		u->addr += (u64)r;
		u->len -= (size_t)r;
	}
	return r;
}

static long sockf_write(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	struct sockfile *sf = f->priv;
	long r;
	if (!u->user) {   /* sendfile's page: no bounce */
		r = send_some(f, sf, (const void *)(uptr)u->addr, (u32)MIN(u->len, 0x7ffff000UL), 0, NULL);
	} else {
		struct sys_iovec one = { u->addr, u->len };
		struct vec v = { &one, 1, u->len };
		r = send_vec(f, sf, &v, LX_MSG_NOSIGNAL, NULL);   /* sys_write raises SIGPIPE */
	}
	if (r > 0) {
		u->addr += (u64)r;
		u->len -= (size_t)r;
	}
	return r;
}

/* sendfile to a stream socket: the file's own pages go into the packets by
 * reference (file_ops.page_ref; counted in sendfile.by_ref), so the body
 * leaves with no copy at all. A page the file system cannot lend (a hole)
 * is read into a fresh page: one copy, counted as copy.tx_write. A chunk
 * is built only once the socket has room for it; a send the stack refuses
 * for room (-EAGAIN) drops the chunk's references and waits, then builds
 * it again. */
static u64 sendfile_ref_bytes;   /* [atomic] */
KCOUNTER_VAR("sendfile.by_ref", "bytes", sendfile_ref_bytes);

static struct pkb *file_chunk(struct file *in, u64 off, u32 n, u32 *got, long *err)
{
	struct pkb *b = pkb_alloc();
	*got = 0;
	*err = 0;
	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	u32 by_ref = 0;
	while (*got < n && b->nfrags < PKB_MAX_FRAGS) {
		struct page *pg;
		u32 pg_off, len;
		int r = in->ops->page_ref(in, off + *got, &pg, &pg_off, &len);
		if (r == -EOPNOTSUPP) {   /* no page to lend: read it into one */
			pg = page_alloc(0);
			if (!pg) {
				*err = -ENOMEM;
				break;
			}
			u64 pos = off + *got;
			pg_off = (u32)(pos & (PAGE_SIZE - 1));
			struct uio u = { (u64)(uptr)page_address(pg) + pg_off,
					 MIN(n - *got, (u32)PAGE_SIZE - pg_off), false };
			long k = vfs_read(in, &u, &pos);
			if (k < 0) {
				page_put(pg);
				*err = k;
				break;
			}
			len = (u32)k;
			pkb_count_copy(PKB_COPY_TX_WRITE, len);
			if (!len) {
				page_put(pg);
				break;
			}
		} else if (r < 0) {
			*err = r;
			break;
		} else if (!len) {
			break;   /* the end of the file: no page, no reference */
		} else {
			len = MIN(len, n - *got);
			by_ref += len;
		}
		r = pkb_add_frag(b, pg, pg_off, len);
		page_put(pg);   /* the pkb holds its own reference */
		if (r < 0)
			break;   /* the fragment table is full */
		*got += len;
	}
	__atomic_add_fetch(&sendfile_ref_bytes, by_ref, __ATOMIC_RELAXED);
	if (!*got) {
		pkb_free(b);
		return NULL;
	}
	return b;
}

long sys_sock_sendfile(struct file *out, struct file *in, u64 *off, size_t count)
{
	struct sockfile *sf = sockfile_of(out);
	if (!sf || sf->type != LX_SOCK_STREAM || !in->ops->page_ref)
		return -EOPNOTSUPP;
	u64 done = 0;
	long r = 0;
	while (done < count) {
		if (!(sock_poll(sf->s) & (POLLOUT | POLLERR | POLLHUP))) {
			if (nonblocking(out, 0)) {
				r = -EAGAIN;
				break;
			}
			r = sock_wait(sf->s, POLLOUT, sf->sndtimeo_ns);
			if (r < 0)
				break;
		}
		u32 got;
		struct pkb *b = file_chunk(in, *off, (u32)MIN(count - done, SOCK_CHUNK), &got, &r);
		if (!b)
			break;   /* the end of the file, or r says why */
		long k = sock_send_pkb(sf->s, b, MSG_DONTWAIT, NULL);   /* takes b */
		if (k == -ENOTCONN)
			k = -EPIPE;   /* Linux: a stream never connected is a broken pipe */
		if (k == -EAGAIN && !nonblocking(out, 0))
			continue;     /* room went meanwhile: wait above, lend again */
		if (k < 0) {
			r = k;
			break;
		}
		done += (u64)k;
		*off += (u64)k;
		if (r < 0 || proc_signal_pending())
			break;
	}
	return done ? (long)done : r;
}

static unsigned sockf_poll(struct file *f)
{
	struct sockfile *sf = f->priv;
	unsigned m = sock_poll(sf->s);
	if (m & POLLIN)
		m |= POLLRDNORM;
	if (m & POLLOUT)
		m |= POLLWRNORM;
	return m;
}

static int sockf_waitqs(struct file *f, struct waitq **out)
{
	out[0] = sock_waitq(((struct sockfile *)f->priv)->s);
	return 1;
}

static void sockf_release(struct file *f)
{
	struct sockfile *sf = f->priv;
	if (!sf)
		return;
	sock_close(sf->s);
	kfree(sf);
	__atomic_sub_fetch(&sock_user_open, 1, __ATOMIC_RELAXED);
}

static const struct file_ops sock_fops = {
	.read = sockf_read,
	.write = sockf_write,
	.release = sockf_release,
	.poll = sockf_poll,
	.waitqs = sockf_waitqs,
	.stat_mode = S_IFSOCK | 0777,
};

/* A file for socket s (taken over: closed on failure), installed as a
 * descriptor: the descriptor or a negative errno. */
static long install_socket(struct socket *s, int type, unsigned flags)
{
	if (__atomic_add_fetch(&sock_user_open, 1, __ATOMIC_RELAXED) > SOCK_USER_MAX) {
		__atomic_sub_fetch(&sock_user_open, 1, __ATOMIC_RELAXED);
		sock_close(s);
		return -ENFILE;
	}
	struct sockfile *sf = kzalloc(sizeof(*sf));
	struct file *f = sf ? file_alloc(&sock_fops, O_RDWR | (flags & SOCK_NONBLOCK)) : NULL;
	if (!f) {
		kfree(sf);
		sock_close(s);
		__atomic_sub_fetch(&sock_user_open, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	sock_setopt(s, SO_NONBLOCK, 1);   /* waits are done here (see the top) */
	sf->s = s;
	sf->type = type;
	sf->rcvbuf = type == LX_SOCK_STREAM ? TCP_RCVBUF_DFL : UDP_BUF_DFL;
	sf->sndbuf = type == LX_SOCK_STREAM ? TCP_SNDBUF_DFL : UDP_BUF_DFL;
	f->priv = sf;
	long fd = fd_install(proc_current()->fds, 0, f, flags & SOCK_CLOEXEC);
	if (fd < 0)
		file_put(f);   /* closes s */
	return fd;
}

/* The socket behind a descriptor: 0 with *fp (a reference) and *sfp, or
 * -EBADF, -ENOTSOCK. */
static int sock_fd(u64 fd, struct file **fp, struct sockfile **sfp)
{
	struct file *f = sys_file(fd);
	if (!f)
		return -EBADF;
	struct sockfile *sf = sockfile_of(f);
	if (!sf) {
		file_put(f);
		return -ENOTSOCK;
	}
	*fp = f;
	*sfp = sf;
	return 0;
}

/* ---- addresses ---- */

/* A user sockaddr for bind, connect and sendto, as Linux reads it. */
static int addr_in(u64 uaddr, u64 ulen, struct sockaddr_in4 *out)
{
	if ((s32)ulen < 0 || (u32)ulen > SOCKADDR_MAX)
		return -EINVAL;
	struct lx_sockaddr_in sin = { 0 };
	u32 len = (u32)ulen;
	if (len && copy_from_user(&sin, uaddr, MIN(len, sizeof(sin))) < 0)
		return -EFAULT;
	if (len < sizeof(sin))
		return -EINVAL;
	if (sin.family != AF_INET)
		return -EAFNOSUPPORT;
	out->addr = bswap32(sin.addr);
	out->port = bswap16(sin.port);
	return 0;
}

/* Give an address back: *ulen says the room, gets the full length. */
static int addr_out(const struct sockaddr_in4 *a, u64 uaddr, u64 ulen)
{
	if (!uaddr)
		return 0;
	s32 room;
	if (copy_from_user(&room, ulen, sizeof(room)) < 0)
		return -EFAULT;
	if (room < 0)
		return -EINVAL;
	struct lx_sockaddr_in sin = { AF_INET, bswap16(a->port), bswap32(a->addr), { 0 } };
	if (copy_to_user(uaddr, &sin, MIN((u32)room, sizeof(sin))) < 0)
		return -EFAULT;
	s32 full = sizeof(sin);
	return copy_to_user(ulen, &full, sizeof(full));
}

/* ---- the calls ---- */

long sys_socket(const u64 a[6])
{
	int domain = (int)a[0], type = (int)a[1] & SOCK_TYPE_MASK, proto = (int)a[2];
	unsigned flags = (unsigned)a[1] & ~(unsigned)SOCK_TYPE_MASK;
	if (flags & ~(unsigned)(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (type < 1 || type > SOCK_MAX_TYPE)
		return -EINVAL;
	if (domain < 0 || domain >= AF_MAX)
		return -EAFNOSUPPORT;
	if (domain != AF_INET)
		return -EAFNOSUPPORT;   /* AF_UNIX: socketpair only; AF_INET6: not yet */
	int stype;
	if (type == LX_SOCK_STREAM && (proto == 0 || proto == IPPROTO_TCP))
		stype = SOCK_STREAM;
	else if (type == LX_SOCK_DGRAM && (proto == 0 || proto == IPPROTO_UDP))
		stype = SOCK_DGRAM;
	else if (type == LX_SOCK_STREAM || type == LX_SOCK_DGRAM)
		return -EPROTONOSUPPORT;
	else
		return -ESOCKTNOSUPPORT;   /* raw, seqpacket, ...: not offered */
	struct socket *s;
	int r = sock_create(stype, &s);
	if (r < 0)
		return r;
	return install_socket(s, type, flags);
}

long sys_bind(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	struct sockaddr_in4 sa;
	r = addr_in(a[1], a[2], &sa);
	if (r == 0)
		r = sock_bind(sf->s, &sa);
	file_put(f);
	return r;
}

long sys_listen(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	int backlog = (int)a[1];
	if (backlog < 0 || backlog > 4096)
		backlog = 4096;   /* Linux: somaxconn */
	r = sock_listen(sf->s, backlog);
	if (r == 0)
		__atomic_store_n(&sf->listening, true, __ATOMIC_RELAXED);
	file_put(f);
	return r;
}

static long do_accept(const u64 a[6], unsigned flags)
{
	if (flags & ~(unsigned)(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	struct file *f;
	struct sockfile *sf;
	long r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	struct socket *c;
	for (;;) {
		r = sock_accept(sf->s, &c, MSG_DONTWAIT);
		if (r != -EAGAIN || nonblocking(f, 0))
			break;
		r = sock_wait(sf->s, POLLIN, sf->rcvtimeo_ns);
		if (r < 0)
			break;
	}
	if (r == 0) {
		struct sockaddr_in4 peer = { 0, 0 };
		sock_getname(c, NULL, &peer);
		/* the address goes out first: a bad pointer loses the
		 * connection, as on Linux */
		r = addr_out(&peer, a[1], a[2]);
		if (r < 0)
			sock_close(c);
		else
			r = install_socket(c, sf->type, flags);
	}
	file_put(f);
	return r;
}

long sys_accept(const u64 a[6]) { return do_accept(a, 0); }
long sys_accept4(const u64 a[6]) { return do_accept(a, (unsigned)a[3]); }

long sys_connect(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	struct sockaddr_in4 sa;
	r = addr_in(a[1], a[2], &sa);
	if (r == 0)
		r = sock_connect(sf->s, &sa);
	if (sf->type == LX_SOCK_STREAM && nonblocking(f, 0)) {
		if (sf->connecting && r == -EISCONN) {
			/* the first connect after EINPROGRESS reports success */
			sf->connecting = false;
			r = 0;
		} else if (r == 0 || r == -EINPROGRESS) {
			/* Linux answers EINPROGRESS even when loopback's handshake
			 * is already over (ours runs within the call) */
			sf->connecting = true;
			r = -EINPROGRESS;
		}
	}
	if (r == -ECONNREFUSED || r == -ECONNRESET || r == -ETIMEDOUT) {
		u32 seen;   /* reported here: SO_ERROR reads 0 after, as on Linux */
		sock_getopt(sf->s, SO_ERROR, &seen);
	}
	if (r == -EINPROGRESS && !nonblocking(f, 0)) {
		r = sock_wait(sf->s, POLLOUT, 0);
		if (r == 0) {
			u32 err = 0;
			sock_getopt(sf->s, SO_ERROR, &err);
			r = -(int)err;
		}
	}
	file_put(f);
	return r;
}

static long getname(const u64 a[6], bool peer)
{
	struct file *f;
	struct sockfile *sf;
	int r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	struct sockaddr_in4 local = { 0, 0 }, remote = { 0, 0 };
	r = sock_getname(sf->s, &local, peer ? &remote : NULL);
	if (r == 0)
		r = addr_out(peer ? &remote : &local, a[1], a[2]);
	file_put(f);
	return r;
}

long sys_getsockname(const u64 a[6]) { return getname(a, false); }
long sys_getpeername(const u64 a[6]) { return getname(a, true); }

long sys_shutdown(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	int how = (int)a[1];
	if (how < SHUT_RD || how > SHUT_RDWR)
		r = -EINVAL;
	else if (sf->type == LX_SOCK_DGRAM)
		r = sock_getname(sf->s, NULL, &(struct sockaddr_in4){ 0, 0 });  /* -ENOTCONN */
	else
		r = sock_shutdown(sf->s, how);
	file_put(f);
	return r;
}

/* ---- options ---- */

static u64 timeval_ns(const s64 tv[2]) { return (u64)tv[0] * 1000000000ull + (u64)tv[1] * 1000; }

long sys_setsockopt(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	int level = (int)a[1], opt = (int)a[2];
	u64 uval = a[3];
	s32 len = (s32)a[4];
	s32 v = 0;
	s64 tv[2] = { 0, 0 };
	bool is_tv = level == SOL_SOCKET && (opt == LX_SO_RCVTIMEO || opt == LX_SO_SNDTIMEO);
	bool is_linger = level == SOL_SOCKET && opt == LX_SO_LINGER;
	if (len < 0) {
		r = -EINVAL;
		goto out;
	}
	if (is_tv || is_linger) {
		size_t need = is_tv ? sizeof(tv) : 2 * sizeof(s32);
		if ((size_t)len < need) {
			r = -EINVAL;
			goto out;
		}
		if (copy_from_user(tv, uval, need) < 0) {
			r = -EFAULT;
			goto out;
		}
	} else if (level == SOL_SOCKET || level == IPPROTO_TCP || level == IPPROTO_IP) {
		if ((size_t)len < sizeof(s32)) {
			r = -EINVAL;
			goto out;
		}
		if (copy_from_user(&v, uval, sizeof(v)) < 0) {
			r = -EFAULT;
			goto out;
		}
	}
	r = 0;
	if (level == SOL_SOCKET) {
		switch (opt) {
		case LX_SO_REUSEADDR: r = sock_setopt(sf->s, SO_REUSEADDR, v != 0); break;
		case LX_SO_REUSEPORT: r = sock_setopt(sf->s, SO_REUSEPORT, v != 0); break;
		case LX_SO_KEEPALIVE:
			if (sf->type == LX_SOCK_STREAM)
				r = sock_setopt(sf->s, SO_KEEPALIVE, v != 0);
			if (r == 0)
				sf->keepalive = v != 0;
			break;
		case LX_SO_RCVBUF:
		case LX_SO_SNDBUF: {
			bool rcv = opt == LX_SO_RCVBUF;
			u32 want = MIN((u32)MAX(v, 0), rcv ? RMEM_MAX : WMEM_MAX);
			r = sock_setopt(sf->s, rcv ? SO_RCVBUF : SO_SNDBUF, want);
			if (r == 0)
				*(rcv ? &sf->rcvbuf : &sf->sndbuf) = MAX(want * 2, rcv ? MIN_RCVBUF : MIN_SNDBUF);
			break;
		}
		case LX_SO_RCVTIMEO:
		case LX_SO_SNDTIMEO:
			if (tv[1] < 0 || tv[1] >= 1000000) {
				r = -EDOM;
				break;
			}
			*(opt == LX_SO_RCVTIMEO ? &sf->rcvtimeo_ns : &sf->sndtimeo_ns) =
				tv[0] < 0 ? 0 : timeval_ns(tv);
			break;
		case LX_SO_LINGER: {
			s32 l[2];
			memcpy(l, tv, sizeof(l));
			if (l[0] && l[1] == 0 && sf->type == LX_SOCK_STREAM)
				r = sock_setopt(sf->s, SO_LINGER, 0);
			if (r == 0) {
				sf->linger = l[0] != 0;
				sf->linger_s = l[1];
			}
			break;
		}
		default:
			r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_TCP && sf->type == LX_SOCK_STREAM) {
		switch (opt) {
		case LX_TCP_NODELAY:
			r = sock_setopt(sf->s, TCP_NODELAY, v != 0);
			if (r == 0)
				sf->nodelay = v != 0;
			break;
		case LX_TCP_CORK: sf->cork = v != 0; break;   /* see the top */
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IP && opt == LX_IP_TOS) {
		sf->tos = v & 0xfc;
	} else {
		r = -ENOPROTOOPT;
	}
out:
	file_put(f);
	return r;
}

long sys_getsockopt(const u64 a[6])
{
	struct file *f;
	struct sockfile *sf;
	int r = sock_fd(a[0], &f, &sf);
	if (r < 0)
		return r;
	int level = (int)a[1], opt = (int)a[2];
	u64 uval = a[3], ulen = a[4];
	s32 len;
	s64 big[2] = { 0, 0 };
	size_t size = sizeof(s32);
	s32 v = 0;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0) {
		r = -EFAULT;
		goto out;
	}
	if (len < 0) {
		r = -EINVAL;
		goto out;
	}
	r = 0;
	if (level == SOL_SOCKET) {
		switch (opt) {
		case LX_SO_REUSEADDR:
		case LX_SO_REUSEPORT: {
			u32 on = 0;
			sock_getopt(sf->s, opt == LX_SO_REUSEADDR ? SO_REUSEADDR : SO_REUSEPORT, &on);
			v = (s32)on;
			break;
		}
		case LX_SO_KEEPALIVE: v = sf->keepalive; break;
		case LX_SO_TYPE: v = sf->type; break;
		case LX_SO_DOMAIN: v = AF_INET; break;
		case LX_SO_PROTOCOL: v = sf->type == LX_SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP; break;
		case LX_SO_ACCEPTCONN: v = __atomic_load_n(&sf->listening, __ATOMIC_RELAXED); break;
		case LX_SO_RCVBUF: v = (s32)sf->rcvbuf; break;
		case LX_SO_SNDBUF: v = (s32)sf->sndbuf; break;
		case LX_SO_ERROR: {
			u32 e = 0;
			sock_getopt(sf->s, SO_ERROR, &e);
			v = (s32)e;
			break;
		}
		case LX_SO_RCVTIMEO:
		case LX_SO_SNDTIMEO: {
			u64 ns = opt == LX_SO_RCVTIMEO ? sf->rcvtimeo_ns : sf->sndtimeo_ns;
			big[0] = (s64)(ns / 1000000000);
			big[1] = (s64)(ns % 1000000000 / 1000);
			size = sizeof(big);
			break;
		}
		case LX_SO_LINGER: {
			s32 l[2] = { sf->linger, sf->linger_s };
			memcpy(big, l, sizeof(l));
			size = sizeof(l);
			break;
		}
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_TCP && sf->type == LX_SOCK_STREAM) {
		switch (opt) {
		case LX_TCP_NODELAY: v = sf->nodelay; break;
		case LX_TCP_CORK: v = sf->cork; break;
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IP && opt == LX_IP_TOS) {
		v = sf->tos;
	} else {
		r = -ENOPROTOOPT;
	}
	if (r < 0)
		goto out;
	if (size == sizeof(s32))
		memcpy(big, &v, sizeof(v));
	else if ((size_t)len < size && size == sizeof(big)) {
		r = -EINVAL;   /* Linux: a timeval needs its whole room */
		goto out;
	}
	size = MIN(size, (size_t)len);
	if (copy_to_user(uval, big, size) < 0 || copy_to_user(ulen, &(s32){ (s32)size }, sizeof(s32)) < 0)
		r = -EFAULT;
out:
	file_put(f);
	return r;
}

/* ---- send and receive ---- */


/* The endpoint behind fd for a send or a receive: a socketpair's end
 * (1, *fp), a socket (0, *fp and *sfp), or -EBADF, -ENOTSOCK. */
static int endpoint(u64 fd, struct file **fp, struct sockfile **sfp)
{
	struct file *f = sys_file(fd);
	if (f && f->ops == &unix_fops) {
		*fp = f;
		return 1;
	}
	if (f)
		file_put(f);
	return sock_fd(fd, fp, sfp);
}

static long do_send(u64 fd, struct vec *v, int flags, u64 uaddr, u64 alen)
{
	struct file *f;
	struct sockfile *sf;
	long r = endpoint(fd, &f, &sf);
	if (r < 0)
		return r;
	struct sockaddr_in4 to, *top = NULL;
	if (r == 1) {
		r = unix_io(f, v, true, flags);
	} else if (flags & LX_MSG_OOB) {
		r = -EOPNOTSUPP;
	} else {
		if (uaddr && sf->type == LX_SOCK_DGRAM) {
			r = addr_in(uaddr, alen, &to);
			top = &to;
		}
		if (r == 0)
			r = send_vec(f, sf, v, flags, top);
	}
	file_put(f);
	return r;
}

static long do_recv(u64 fd, struct vec *v, int flags, struct sockaddr_in4 *from, bool *dgram,
		    bool *trunc)
{
	struct file *f;
	struct sockfile *sf;
	long r = endpoint(fd, &f, &sf);
	if (r < 0)
		return r;
	*trunc = false;
	if (r == 1) {
		r = unix_io(f, v, false, flags);
	} else {
		*dgram = sf->type == LX_SOCK_DGRAM;
		if (flags & LX_MSG_OOB)
			r = -EINVAL;   /* no urgent data is ever kept */
		else if ((flags & LX_MSG_TRUNC) || (*dgram && (flags & LX_MSG_PEEK)))
			r = -EINVAL;   /* not offered yet: the stack cannot peek at a datagram */
		else
			r = recv_vec(f, sf, v, flags, from, trunc);
	}
	file_put(f);
	return r;
}

/* sendmsg's and recvmsg's header and vector: 0, or the error, the
 * descriptor's first (as Linux checks it before the vector). */
static long msg_get(u64 fd, u64 umsg, struct lx_msghdr *m, struct vec *v)
{
	if (copy_from_user(m, umsg, sizeof(*m)) < 0)
		return -EFAULT;
	int e = vec_get(m->iov, m->iovlen, v);
	if (e == 0)
		return 0;
	struct file *f = sys_file(fd);
	if (!f)
		return -EBADF;
	long r = sockfile_of(f) || f->ops == &unix_fops ? e : -ENOTSOCK;
	file_put(f);
	return r;
}

long sys_sock_inq(struct file *f)
{
	struct sockfile *sf = sockfile_of(f);
	return sf ? sock_inq(sf->s) : -ENOTTY;
}

long sys_sendto(const u64 a[6])
{
	struct sys_iovec one = { a[1], a[2] };
	struct vec v = { &one, 1, MIN(a[2], 0x7ffff000UL) };
	if ((s64)a[2] < 0)
		return -EINVAL;
	return do_send(a[0], &v, (int)a[3], a[4], a[5]);
}

long sys_recvfrom(const u64 a[6])
{
	struct sys_iovec one = { a[1], a[2] };
	struct vec v = { &one, 1, MIN(a[2], 0x7ffff000UL) };
	struct sockaddr_in4 from = { 0, 0 };
	bool dgram = false, trunc;
	int flags = (int)a[3];
	long r = do_recv(a[0], &v, flags, &from, &dgram, &trunc);
	if (r >= 0 && a[4]) {
		if (dgram) {
			int e = addr_out(&from, a[4], a[5]);
			if (e < 0)
				r = e;
		} else if (a[5] && copy_to_user(a[5], &(s32){ 0 }, sizeof(s32)) < 0) {
			r = -EFAULT;   /* a stream names no sender */
		}
	}
	return r;
}

long sys_sendmsg(const u64 a[6])
{
	struct lx_msghdr m;
	struct vec v;
	long r = msg_get(a[0], a[1], &m, &v);
	if (r < 0)
		return r;
	struct file *f = m.controllen ? sys_file(a[0]) : NULL;
	if (f && f->ops == &unix_fops) {
		struct rights *rt;
		r = rights_get(m.control, m.controllen, &rt);
		if (r == 0)
			r = rt ? unix_send_rights(f, &v, (int)a[2], rt)
			       : do_send(a[0], &v, (int)a[2], m.name, m.namelen);
	} else {
		/* Internet sockets carry no ancillary data here (Linux's
		 * SCM_RIGHTS is AF_UNIX's alone) */
		r = m.controllen && f ? -EINVAL : do_send(a[0], &v, (int)a[2], m.name, m.namelen);
	}
	if (f)
		file_put(f);
	kfree((void *)v.iov);
	return r;
}

long sys_recvmsg(const u64 a[6])
{
	struct lx_msghdr m;
	struct vec v;
	long e = msg_get(a[0], a[1], &m, &v);
	if (e < 0)
		return e;
	struct sockaddr_in4 from = { 0, 0 };
	bool dgram = false, trunc = false, ctrunc = false;
	u64 ctl_used = 0;
	struct file *f = sys_file(a[0]);
	long r;
	if (f && f->ops == &unix_fops)
		r = unix_recvmsg(f, &v, (int)a[2], m.control, m.controllen, &ctl_used, &ctrunc);
	else
		r = do_recv(a[0], &v, (int)a[2], &from, &dgram, &trunc);
	if (f)
		file_put(f);
	kfree((void *)v.iov);
	if (r < 0)
		return r;
	u32 namelen = 0;
	if (dgram && m.name) {
		struct lx_sockaddr_in sin = { AF_INET, bswap16(from.port), bswap32(from.addr), { 0 } };
		if (copy_to_user(m.name, &sin, MIN(m.namelen, sizeof(sin))) < 0)
			return -EFAULT;
		namelen = sizeof(sin);
	}
	struct lx_msghdr out = m;
	out.namelen = namelen;
	out.controllen = ctl_used;   /* only a socketpair's SCM_RIGHTS */
	out.flags = (trunc ? LX_MSG_TRUNC : 0) | (ctrunc ? LX_MSG_CTRUNC : 0);
	if (copy_to_user(a[1], &out, sizeof(out)) < 0)
		return -EFAULT;
	return r;
}

/* ---- socketpair: AF_UNIX streams as two pipes joined crosswise ---- */

/*
 * Descriptors in flight (SCM_RIGHTS). Each direction of a pair is a
 * struct unixdir: the bytes sent into it and taken out of it so far, and
 * the batches of files sent with sendmsg, each marked with the stream
 * offset of the first byte sent with it. A receive that takes that byte
 * takes the batch: recvmsg installs its files as new descriptors (a
 * control buffer too small: MSG_CTRUNC, the rest closed); read, recv and
 * recvfrom close them, as Linux does. A batch sent with no byte is not
 * sent (-EINVAL is not Linux's answer there: it sends nothing, counted as
 * a byte of 0 length; no program here does that).
 *
 * Locks: [S] send (a mutex) serialises the sends into a direction, so a
 * batch's offset is the place of its bytes; [R] recv the receives; [Q]
 * q (a spinlock) the batch list, which both touch. A file sent over its
 * own pair keeps the pair alive (no garbage collector for such cycles).
 */
#define SCM_RIGHTS  1
#define SCM_MAX_FD  253   /* Linux's most files in one message */

struct rights {
	struct rights *next;   /* [Q] */
	u64 at;                /* the offset of its first byte in the stream */
	int n;
	struct file *f[];      /* references */
};

struct unixdir {
	int refs;              /* [atomic] the two ends */
	struct mutex send, recv;
	spinlock_t q;
	u64 sent;              /* [S] */
	u64 taken;             /* [R] */
	struct rights *head, *tail;   /* [Q] */
};

struct unixpair {
	struct file *rd, *wr;   /* references */
	struct unixdir *in, *out;   /* a reference each */
};

static void rights_free(struct rights *r)
{
	for (int i = 0; i < r->n; i++)
		file_put(r->f[i]);
	kfree(r);
}

static void unixdir_put(struct unixdir *d)
{
	if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL))
		return;
	while (d->head) {
		struct rights *r = d->head;
		d->head = r->next;
		rights_free(r);
	}
	kfree(d);
}

/* After a receive of n bytes ([R] held): the batches sent with them, in
 * order, unlinked from the queue. */
static struct rights *rights_take(struct unixdir *d, u64 n)
{
	struct rights *got = NULL, **end = &got;
	unsigned long fl = spin_lock_irqsave(&d->q);
	while (d->head && d->head->at < d->taken + n) {
		struct rights *r = d->head;
		d->head = r->next;
		if (!d->head)
			d->tail = NULL;
		r->next = NULL;
		*end = r;
		end = &r->next;
	}
	spin_unlock_irqrestore(&d->q, fl);
	d->taken += n;
	return got;
}

static void rights_drop(struct rights *r)
{
	while (r) {
		struct rights *next = r->next;
		rights_free(r);
		r = next;
	}
}

static void pipe_nonblock(struct file *pipe, bool nb)
{
	unsigned fl = __atomic_load_n(&pipe->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&pipe->flags, (fl & ~(unsigned)O_NONBLOCK) | (nb ? O_NONBLOCK : 0),
			 __ATOMIC_RELAXED);
}

static long unix_read(struct file *f, struct uio *u, u64 *pos)
{
	struct unixpair *up = f->priv;
	mutex_lock(&up->in->recv);
	pipe_nonblock(up->rd, f->flags & O_NONBLOCK);
	long r = vfs_read(up->rd, u, pos);
	struct rights *got = r > 0 ? rights_take(up->in, (u64)r) : NULL;
	mutex_unlock(&up->in->recv);
	rights_drop(got);   /* a plain read closes the files that came with it */
	return r;
}

static long unix_write(struct file *f, struct uio *u, u64 *pos)
{
	struct unixpair *up = f->priv;
	mutex_lock(&up->out->send);
	pipe_nonblock(up->wr, f->flags & O_NONBLOCK);
	long r = vfs_write(up->wr, u, pos);
	if (r > 0)
		up->out->sent += (u64)r;
	mutex_unlock(&up->out->send);
	return r;
}

/* The files an SCM_RIGHTS control buffer names, with references, in a
 * new batch (*out; NULL: the buffer names none). -EINVAL for another
 * kind of message or too many files, -EBADF, -EFAULT, -ENOMEM. */
static long rights_get(u64 uctl, u64 len, struct rights **out)
{
	*out = NULL;
	if (len == 0)
		return 0;
	if (len < 16 || len > 16 + 4 * SCM_MAX_FD + 8)
		return -EINVAL;
	struct { u64 len; s32 level, type; s32 fds[SCM_MAX_FD + 2]; } c;
	if (copy_from_user(&c, uctl, len) < 0)
		return -EFAULT;
	if (c.level != SOL_SOCKET || c.type != SCM_RIGHTS || c.len < 16 || c.len > len ||
	    ((c.len - 16) & 3))
		return -EINVAL;
	int n = (int)((c.len - 16) / 4);
	struct rights *r = kzalloc(sizeof(*r) + (size_t)n * sizeof(struct file *));
	if (!r)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		r->f[i] = c.fds[i] >= 0 ? sys_file((u64)c.fds[i]) : NULL;
		if (!r->f[i]) {
			rights_free(r);
			return -EBADF;
		}
		r->n = i + 1;
	}
	*out = r;
	return 0;
}

/* sendmsg on a socketpair's end with files: the batch joins the queue at
 * the offset of the bytes, which then go as a write does. */
static long unix_send_rights(struct file *f, const struct vec *v, int flags, struct rights *rt)
{
	struct unixpair *up = f->priv;
	struct unixdir *d = up->out;
	mutex_lock(&d->send);
	rt->at = d->sent;
	unsigned long fl = spin_lock_irqsave(&d->q);
	if (d->tail)
		d->tail->next = rt;
	else
		d->head = rt;
	d->tail = rt;
	spin_unlock_irqrestore(&d->q, fl);
	pipe_nonblock(up->wr, (flags & LX_MSG_DONTWAIT) || (f->flags & O_NONBLOCK));
	long r = v->total ? sys_file_rw_iovecs(up->wr, v->iov, v->n, v->total, true) : 0;
	if (r > 0) {
		d->sent += (u64)r;
	} else {
		/* nothing sent: no receiver can have taken it (it is the
		 * tail and no byte lies past it) */
		fl = spin_lock_irqsave(&d->q);
		struct rights **pp = &d->head, *prev = NULL;
		while (*pp != rt) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = NULL;
		d->tail = prev;
		spin_unlock_irqrestore(&d->q, fl);
		rights_free(rt);
		if (r == 0)
			r = -EINVAL;
	}
	mutex_unlock(&d->send);
	if (r == -EPIPE && !(flags & LX_MSG_NOSIGNAL))
		proc_raise_sigpipe();
	return r;
}

/* recvmsg on a socketpair's end: the bytes, and the files sent with them
 * as new descriptors in an SCM_RIGHTS message of the control buffer
 * (*ctl_used bytes of it; *ctrunc when it could not hold them all). */
static long unix_recvmsg(struct file *f, const struct vec *v, int flags, u64 uctl, u64 ctl_len,
			 u64 *ctl_used, bool *ctrunc)
{
	struct unixpair *up = f->priv;
	*ctl_used = 0;
	*ctrunc = false;
	mutex_lock(&up->in->recv);
	pipe_nonblock(up->rd, (flags & LX_MSG_DONTWAIT) || (f->flags & O_NONBLOCK));
	long r = sys_file_rw_iovecs(up->rd, v->iov, v->n, v->total, false);
	struct rights *got = r > 0 ? rights_take(up->in, (u64)r) : NULL;
	mutex_unlock(&up->in->recv);
	struct { u64 len; s32 level, type; s32 fds[SCM_MAX_FD + 1]; } c = { 0, SOL_SOCKET,
									     SCM_RIGHTS, { 0 } };
	int n = 0;
	u64 room = ctl_len >= 16 ? (ctl_len - 16) / 4 : 0;
	struct fdtable *t = proc_current()->fds;
	for (struct rights *b = got; b; b = b->next)
		for (int i = 0; i < b->n; i++) {
			int fd = (u64)n < room && n <= SCM_MAX_FD ?
				 fd_install(t, 0, b->f[i], flags & LX_MSG_CMSG_CLOEXEC) : -1;
			if (fd < 0) {
				*ctrunc = true;
				continue;
			}
			b->f[i] = NULL;   /* the descriptor holds its reference */
			c.fds[n++] = fd;
		}
	while (got) {   /* what was not installed is closed */
		struct rights *next = got->next;
		for (int i = 0; i < got->n; i++)
			if (got->f[i])
				file_put(got->f[i]);
		kfree(got);
		got = next;
	}
	if (n) {
		c.len = 16 + 4 * (u64)n;
		*ctl_used = MIN(ALIGN_UP(c.len, 8), ctl_len);
		if (copy_to_user(uctl, &c, c.len) < 0)
			return -EFAULT;
	}
	return r;
}

static unsigned unix_poll(struct file *f)
{
	struct unixpair *up = f->priv;
	unsigned r = up->rd->ops->poll(up->rd), w = up->wr->ops->poll(up->wr);
	unsigned m = (r & (POLLIN | POLLRDNORM)) | (w & (POLLOUT | POLLWRNORM));
	if (r & POLLHUP)   /* the other end closed */
		m |= POLLIN | POLLRDNORM | POLLHUP | POLLRDHUP;
	return m;
}

static int unix_waitqs(struct file *f, struct waitq **out)
{
	struct unixpair *up = f->priv;
	int n = up->rd->ops->waitqs(up->rd, out);
	return n + up->wr->ops->waitqs(up->wr, out + n);
}

static void unix_release(struct file *f)
{
	struct unixpair *up = f->priv;
	if (!up)
		return;
	file_put(up->rd);
	file_put(up->wr);
	unixdir_put(up->in);
	unixdir_put(up->out);
	kfree(up);
}

static const struct file_ops unix_fops = {
	.read = unix_read,
	.write = unix_write,
	.release = unix_release,
	.poll = unix_poll,
	.waitqs = unix_waitqs,
	.stat_mode = S_IFSOCK | 0777,
};

long sys_socketpair(const u64 a[6])
{
	int domain = (int)a[0], type = (int)a[1] & SOCK_TYPE_MASK, proto = (int)a[2];
	unsigned flags = (unsigned)a[1] & ~(unsigned)SOCK_TYPE_MASK;
	if (flags & ~(unsigned)(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (domain == AF_INET)
		return -EOPNOTSUPP;
	if (domain != AF_UNIX)
		return -EAFNOSUPPORT;
	if (type != LX_SOCK_STREAM)
		return type == LX_SOCK_DGRAM || type == LX_SOCK_SEQPACKET ? -EOPNOTSUPP : -ESOCKTNOSUPPORT;
	if (proto != 0)
		return -EPROTONOSUPPORT;
	struct file *r1, *w1, *r2, *w2;
	int r = pipe_create(0, &r1, &w1);
	if (r < 0)
		return r;
	r = pipe_create(0, &r2, &w2);
	if (r < 0) {
		file_put(r1);
		file_put(w1);
		return r;
	}
	struct unixpair *p0 = kzalloc(sizeof(*p0)), *p1 = kzalloc(sizeof(*p1));
	struct unixdir *d0 = kzalloc(sizeof(*d0)), *d1 = kzalloc(sizeof(*d1));
	struct file *f0 = file_alloc(&unix_fops, O_RDWR | (flags & SOCK_NONBLOCK));
	struct file *f1 = file_alloc(&unix_fops, O_RDWR | (flags & SOCK_NONBLOCK));
	if (!p0 || !p1 || !d0 || !d1 || !f0 || !f1) {
		kfree(p0);
		kfree(p1);
		kfree(d0);
		kfree(d1);
		if (f0)
			file_put(f0);
		if (f1)
			file_put(f1);
		file_put(r1);
		file_put(w1);
		file_put(r2);
		file_put(w2);
		return -ENOMEM;
	}
	struct unixdir *dirs[2] = { d0, d1 };   /* d0: into end 0 (r1), d1: into end 1 */
	for (int i = 0; i < 2; i++) {
		dirs[i]->refs = 2;
		mutex_init(&dirs[i]->send, "unix.send");
		mutex_init(&dirs[i]->recv, "unix.recv");
		spin_init(&dirs[i]->q, "unix.q");
	}
	*p0 = (struct unixpair){ r1, w2, d0, d1 };
	*p1 = (struct unixpair){ r2, w1, d1, d0 };
	f0->priv = p0;
	f1->priv = p1;
	struct fdtable *t = proc_current()->fds;
	bool cloexec = flags & SOCK_CLOEXEC;
	int fds[2];
	fds[0] = fd_install(t, 0, f0, cloexec);
	if (fds[0] < 0) {
		file_put(f0);
		file_put(f1);
		return fds[0];
	}
	fds[1] = fd_install(t, 0, f1, cloexec);
	if (fds[1] < 0) {
		fd_close(t, (u64)fds[0]);
		file_put(f1);
		return fds[1];
	}
	if (copy_to_user(a[3], fds, sizeof(fds)) < 0) {
		fd_close(t, (u64)fds[0]);
		fd_close(t, (u64)fds[1]);
		return -EFAULT;
	}
	return 0;
}
