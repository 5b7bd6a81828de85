/*
 * Sockets as files: socket, bind, listen, accept, accept4, connect,
 * getsockname, getpeername, shutdown, sendto, recvfrom, sendmsg, recvmsg;
 * and read, write, readv, writev, poll, epoll, fstat, fcntl O_NONBLOCK and
 * close through the socket's struct file (its ops below, over
 * netstack/net.h's socket calls). Their options (setsockopt, getsockopt)
 * are sys_sockopt.c's. What the three files share: sys_sock_priv.h.
 *
 * AF_INET stream (TCP) and datagram (UDP) sockets. AF_UNIX: socketpair
 * of stream sockets only (sys_unix.c: two pipes joined crosswise, with
 * files passed as SCM_RIGHTS), whose ends send, sendto, sendmsg, recv,
 * recvfrom and recvmsg here hand over to sys_unix.c; socket(AF_UNIX) and
 * AF_INET6 answer -EAFNOSUPPORT.
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
 * Bounds: a process has RLIMIT_NOFILE descriptors (1024, up to FD_MAX); SOCK_USER_MAX sockets exist
 * at most across all processes (-ENFILE); each socket's buffers are the
 * stack's (bounded by SO_RCVBUF/SO_SNDBUF). The last close of a socket's
 * file, also at a process's exit, closes it in the stack (FIN, or RST
 * with unread data).
 */
#include "kernel/syscall/sys_sock_priv.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/string.h"
#include "kernel/mm/mm.h"
#include "netstack/net.h"

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

static u64 sock_user_open;     /* [atomic] */
static u64 bounce_bytes;       /* [atomic] */
KCOUNTER_VAR("sock.user_open", "sockets", sock_user_open);
KCOUNTER_VAR("copy.sock_bounce", "bytes", bounce_bytes);

static u16 bswap16(u16 v) { return (u16)(v << 8 | v >> 8); }
static u32 bswap32(u32 v) { return __builtin_bswap32(v); }

static void bounce(u64 n) { __atomic_add_fetch(&bounce_bytes, n, __ATOMIC_RELAXED); }

/* ---- the socket's file ---- */

static const struct file_ops sock_fops;
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
int sys_sock_fd(u64 fd, struct file **fp, struct sockfile **sfp)
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
	int r = sys_sock_fd(a[0], &f, &sf);
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
	int r = sys_sock_fd(a[0], &f, &sf);
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
	long r = sys_sock_fd(a[0], &f, &sf);
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
	int r = sys_sock_fd(a[0], &f, &sf);
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
	int r = sys_sock_fd(a[0], &f, &sf);
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
	int r = sys_sock_fd(a[0], &f, &sf);
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

/* ---- send and receive ---- */

/* The endpoint behind fd for a send or a receive: a socketpair's end
 * (1, *fp), a socket (0, *fp and *sfp), or -EBADF, -ENOTSOCK. */
static int endpoint(u64 fd, struct file **fp, struct sockfile **sfp)
{
	struct file *f = sys_file(fd);
	if (f && sys_unix_end(f)) {
		*fp = f;
		return 1;
	}
	if (f)
		file_put(f);
	return sys_sock_fd(fd, fp, sfp);
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
		r = sys_unix_io(f, v, true, flags);
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
		r = sys_unix_io(f, v, false, flags);
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
	long r = sockfile_of(f) || sys_unix_end(f) ? e : -ENOTSOCK;
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
	if (f && sys_unix_end(f)) {
		struct rights *rt;
		r = sys_unix_rights_get(m.control, m.controllen, &rt);
		if (r == 0)
			r = rt ? sys_unix_send_rights(f, &v, (int)a[2], rt)
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
	if (f && sys_unix_end(f))
		r = sys_unix_recvmsg(f, &v, (int)a[2], m.control, m.controllen, &ctl_used, &ctrunc);
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

