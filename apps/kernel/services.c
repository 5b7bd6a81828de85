/*
 * The in-kernel services (services.h): each is a kernel thread using the
 * socket layer the way a program will, blocking in sock_recv_pkb.
 */
#include "apps/kernel/services.h"
#include "apps/kernel/metrics.h"
#include "netstack/net.h"
#include "fs/vfs.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"

enum { SVC_DISCARD = 1, SVC_ECHO = 2, SVC_HTTP = 4, SVC_METRICS = 8, SVC_IPERF = 16 };
static unsigned wanted;
/* The first occurrence of pat in buf[0, len), or NULL. */
static char *strstr_bounded(char *buf, u32 len, const char *pat)
{
	u32 pl = (u32)strlen(pat);
	for (u32 i = 0; i + pl <= len; i++)
		if (memcmp(buf + i, pat, pl) == 0)
			return buf + i;
	return NULL;
}

static u64 echo_datagrams, echo_bytes, discard_datagrams, discard_bytes; /* [atomic] */

static int set_services(const char *v)
{
	unsigned w = 0;
	while (*v) {
		const char *e = strchr(v, ',');
		size_t n = e ? (size_t)(e - v) : strlen(v);
		if (n == 7 && strncmp(v, "discard", n) == 0)
			w |= SVC_DISCARD;
		else if (n == 4 && strncmp(v, "echo", n) == 0)
			w |= SVC_ECHO;
		else if (n == 4 && strncmp(v, "http", n) == 0)
			w |= SVC_HTTP;
		else if (n == 7 && strncmp(v, "metrics", n) == 0)
			w |= SVC_METRICS;
		else if (n == 5 && strncmp(v, "iperf", n) == 0)
			w |= SVC_IPERF;
		else
			return -EINVAL;
		v += n + (e ? 1 : 0);
	}
	wanted = w;
	return 0;
}
KPARAM("services", set_services,
       "discard,echo,http,metrics,iperf (any subset): in-kernel test services");

static u32 http_idle_s = 60;  /* a keep-alive connection idle this long is closed */
static int set_http_idle(const char *v)
{
	const char *end;
	u64 n;
	if (kstrtou64(v, &end, false, &n) < 0 || *end || n == 0 || n > 86400)
		return -EINVAL;
	http_idle_s = (u32)n;
	return 0;
}
KPARAM("http.idle", set_http_idle, "seconds (1-86400, default 60): the HTTP service closes a "
       "connection that sends nothing, or takes none of its response, for this long");

static struct socket *udp_socket(u16 port)
{
	struct socket *s;
	struct sockaddr_in4 a = { IP4_ANY, port };
	if (sock_create(SOCK_DGRAM, &s) != 0)
		return NULL;
	if (sock_bind(s, &a) != 0) {
		sock_close(s);
		return NULL;
	}
	sock_setopt(s, SO_RCVBUF, 4u << 20);
	return s;
}

static void echo_main(void *arg)
{
	struct socket *s = arg;
	for (;;) {
		struct pkb *b;
		struct sockaddr_in4 from;
		if (sock_recv_pkb(s, &b, 0, &from) != 0)
			continue;
		u32 n = b->len;
		if (sock_send_pkb(s, b, 0, &from) >= 0) {
			__atomic_fetch_add(&echo_datagrams, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&echo_bytes, n, __ATOMIC_RELAXED);
		}
	}
}

static void discard_main(void *arg)
{
	struct socket *s = arg;
	for (;;) {
		struct pkb *b;
		if (sock_recv_pkb(s, &b, 0, NULL) != 0)
			continue;
		__atomic_fetch_add(&discard_datagrams, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&discard_bytes, b->len, __ATOMIC_RELAXED);
		pkb_free(b);
	}
}

/* ---- TCP: echo, discard, and the HTTP responder ---- */

static u64 tcp_conns, http_requests, http_errors, http_idle_closes, http_stalls; /* [atomic] */

/* A send that found no room for http.idle seconds: the client takes
 * nothing (a zero window); the close will abort rather than keep the
 * unsent response queued while probes go on. */
static long http_push(struct socket *s, struct pkb *p)
{
	long r = sock_send_pkb(s, p, 0, NULL);
	if (r == -EAGAIN) {
		__atomic_fetch_add(&http_stalls, 1, __ATOMIC_RELAXED);
		sock_setopt(s, SO_LINGER, 0);
	}
	return r;
}

/* A connection's thread runs on the CPU that owns the connection: its
 * receive queue's CPU, so what it sends leaves by that CPU's transmit
 * queue and the host keeps steering the flow there (no reordering between
 * queues). */
static void spawn(const char *name, void (*fn)(void *), struct socket *c)
{
	int cpu = sock_owner_cpu(c);
	struct thread *t = thread_create(name, fn, c, cpu, cpu >= 0 ? THREAD_PINNED : 0);
	if (!t) {
		pr_err("services: no thread for a %s connection", name);
		sock_close(c);
		return;
	}
	thread_put(t);
}

struct tcp_service {
	const char *name;
	u16 port;
	void (*conn)(void *sock);
	struct socket *lis;
};

static void accept_main(void *arg)
{
	struct tcp_service *svc = arg;
	for (;;) {
		struct socket *c;
		if (sock_accept(svc->lis, &c, 0) != 0) {
			thread_sleep_ns(10000000);
			continue;
		}
		__atomic_fetch_add(&tcp_conns, 1, __ATOMIC_RELAXED);
		spawn(svc->name, svc->conn, c);
	}
}

static void tcp_echo_conn(void *arg)
{
	struct socket *s = arg;
	static const u32 bufsz = 16384;
	u8 *buf = kmalloc(bufsz, 0);
	while (buf) {
		long n = sock_recvfrom(s, buf, bufsz, 0, NULL);
		if (n <= 0 || sock_sendto(s, buf, (u32)n, 0, NULL) != n)
			break;
	}
	kfree(buf);
	sock_close(s);
}

static void tcp_discard_conn(void *arg)
{
	struct socket *s = arg;
	u8 *buf = kmalloc(16384, 0);
	while (buf && sock_recvfrom(s, buf, 16384, 0, NULL) > 0)
		;
	kfree(buf);
	sock_close(s);
}

/* The HTTP/1.1 responder: GET (or HEAD) of the files below http.root,
 * keep-alive unless the client says otherwise.
 *
 * Every request looks its file up in the VFS (vfs_lookup_as: the walk
 * open() makes, under the namespace lock until the dentry cache of #14
 * takes it), as nobody (http_cred): a file or a directory on the way
 * that is closed to others is refused (403), as for nginx's www-data.
 * "/" and a directory serve their index.html (none: 403, as nginx); a
 * missing name is 404; anything but a regular file is 403 and is never
 * opened (vfs_open_inode: no FIFO waits, no device is touched). The body
 * is the file's own pages, lent to the packets (file_ops.page_ref, as
 * sendfile: services.http_by_ref); where the file system lends none (ext2,
 * a hole) a page is read into a fresh page: one copy, counted in
 * copy.http_file. Content-Length is the inode's size when the request is
 * answered; a file that shrinks under a send ends the connection (the
 * body it promised cannot be whole).
 *
 * What a request costs now, past parsing: the target decoded into the
 * connection's path buffer (http_target_path); one walk (two for a
 * directory) taking the namespace lock once each; one struct file from
 * the slab (the open the lent pages are asked through); one page
 * reference a page of body, taken under the inode's lock; the header
 * formatted into the first packet; file_put, which drops the inode
 * reference under the namespace lock. No payload byte is copied from the
 * RAM file system. Measured under QEMU -icount shift=0 (a nanosecond an
 * instruction), 300 keep-alive GETs, the queue stage's p50 (metrics.h):
 * / 19,071 -> 22,143 against the pre-built bodies, about 3,000
 * instructions for the lookup and open; /64k 387,071 -> 391,167. */
static char http_root[HTTP_ROOT_MAX] = HTTP_ROOT_DEFAULT;   /* set once, before start */
static int set_http_root(const char *v)
{
	size_t n = strlen(v);
	if (v[0] != '/' || n >= HTTP_ROOT_MAX)
		return -EINVAL;
	while (n > 0 && v[n - 1] == '/')
		n--;   /* "/" itself becomes "": targets start with their own slash */
	memcpy(http_root, v, n);
	http_root[n] = 0;
	return 0;
}
KPARAM("http.root", set_http_root, "an absolute directory (default " HTTP_ROOT_DEFAULT "): the "
       "HTTP service's document root; what it lacks of index.html, 64k and 1m is made at start");

/* Who the responder reads as: nobody, no privilege. */
static const struct vfs_cred http_cred = { .uid = 65534, .gid = 65534, .priv = false };

static u64 http_by_ref, http_copied, http_not_found, http_forbidden; /* [atomic] */

/* The status a lookup's or an open's error answers. */
static int http_status_of(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
		return 404;
	case -EACCES:
	case -ELOOP:
	case -EINVAL:
	case -ENXIO:
		return 403;
	case -ENAMETOOLONG:
		return 414;
	default:
		return 500;
	}
}

/* The file path (http_target_path's, with room for HTTP_INDEX) names,
 * opened for its body: 0 and *out, or the status to answer. */
static int http_open(char *path, struct file **out)
{
	struct inode *ino;
	int r = vfs_lookup_as(&http_cred, NULL, path, true, &ino);
	if (r == 0 && S_ISDIR(ino->mode)) {
		vfs_iput(ino);
		size_t n = strlen(path);
		if (n && path[n - 1] == '/')
			n--;
		memcpy(path + n, HTTP_INDEX, sizeof(HTTP_INDEX));
		r = vfs_lookup_as(&http_cred, NULL, path, true, &ino);
		if (r == -ENOENT)
			return 403;   /* a directory without an index (nginx: 403) */
	}
	if (r < 0)
		return http_status_of(r);
	r = vfs_open_inode(&http_cred, ino, O_RDONLY, out);
	if (r < 0) {
		vfs_iput(ino);
		return http_status_of(r);
	}
	return 0;
}

/* The page holding byte off of f with a reference for the caller, where
 * in it (*pg_off) and how many of the file's bytes follow (*len; 0: the
 * end): the file's own page where its file system lends it, else one it
 * is read into (a copy, counted). */
static int http_file_page(struct file *f, u64 off, struct page **pg, u32 *pg_off, u32 *len)
{
	if (f->ops->page_ref) {
		int r = f->ops->page_ref(f, off, pg, pg_off, len);
		if (r != -EOPNOTSUPP) {
			if (r == 0)
				__atomic_fetch_add(&http_by_ref, *len, __ATOMIC_RELAXED);
			return r;
		}
	}
	struct page *np = page_alloc(0);
	if (!np)
		return -ENOMEM;
	u32 o = (u32)(off & (PAGE_SIZE - 1));
	struct uio u = { (u64)(uptr)page_address(np) + o, PAGE_SIZE - o, false };
	long k = vfs_read(f, &u, &off);
	if (k <= 0) {
		page_put(np);
		*len = 0;
		return (int)k;
	}
	__atomic_fetch_add(&http_copied, (u64)k, __ATOMIC_RELAXED);
	*pg = np;
	*pg_off = o;
	*len = (u32)k;
	return 0;
}

/* Send header text and then bytes [0, len) of f (if any), by reference
 * where the file system lends its pages. */
static int http_send(struct socket *s, const char *hdr, u32 hlen, struct file *f, u64 len)
{
	struct pkb *p = pkb_alloc();
	if (!p || pkb_copy_in(p, hdr, hlen) != 0) {
		pkb_free(p);
		return -ENOMEM;
	}
	u64 off = 0;
	while (off < len) {
		if (p->nfrags == PKB_MAX_FRAGS) {
			if (http_push(s, p) < 0)
				return -EPIPE;
			p = pkb_alloc();
			if (!p)
				return -ENOMEM;
		}
		struct page *pg;
		u32 pg_off, n;
		int r = http_file_page(f, off, &pg, &pg_off, &n);
		if (r == 0 && n == 0)
			r = -EIO;   /* it shrank: the promised length cannot be sent */
		if (r == 0) {
			n = (u32)MIN((u64)n, len - off);
			r = pkb_add_frag(p, pg, pg_off, n);   /* takes its own reference */
			page_put(pg);
		}
		if (r != 0) {
			pkb_free(p);
			return r < 0 ? r : -ENOMEM;
		}
		off += n;
	}
	return http_push(s, p) < 0 ? -EPIPE : 0;
}

/* The bodies the tests and benchmarks fetch (/, /64k, /1m), made in the
 * root at start where missing, with the bytes the responder served when
 * it had only these: a 612-byte page (the size people compare with), and
 * the alphabet repeated. */
static const char welcome[] =
	"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to Caboose!</title>\n</head>\n<body>\n"
	"<h1>Welcome to Caboose!</h1>\n<p>This page was served by Caboose, a kernel for network "
	"appliances, from its own TCP/IP stack. The body you are reading went out of a page the "
	"kernel made once at boot: no byte of it was copied on the way to the wire.</p>\n"
	"<p>Headers ride last.</p>\n</body>\n</html>\n";
static const struct { const char *name; u32 len; } http_defaults[] = {
	{ "index.html", 612 }, { "64k", 65536 }, { "1m", 1048576 },
};

/* Bytes [off, off + n) of default file i into buf. */
static void http_default_bytes(int i, u8 *buf, u32 off, u32 n)
{
	for (u32 j = 0; j < n; j++)
		buf[j] = (u8)('a' + (off + j) % 26);
	if (i != 0)
		return;
	u32 wl = sizeof(welcome) - 1;   /* the page: text, spaces, a newline */
	for (u32 j = 0; j < n; j++) {
		u32 k = off + j;
		buf[j] = k == 611 ? '\n' : k < wl && k < 611 ? (u8)welcome[k] : ' ';
	}
}

/* mkdir -p of the root; 0 or the first error other than -EEXIST. */
static int http_make_root(char *path)
{
	for (char *p = path + 1; *path; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		int r = vfs_mkdir(NULL, path, 0755);
		*p = c;
		if (r < 0 && r != -EEXIST)
			return r;
		if (!c)
			break;
	}
	return 0;
}

/* What of the default files the root lacks, made (mode 0644, root's).
 * Runs once at start, in the thread that starts the services. */
static void http_make_defaults(void)
{
	char path[HTTP_ROOT_MAX + 16];
	memcpy(path, http_root, sizeof(http_root));
	int r = http_make_root(path);
	if (r < 0) {
		pr_err("services: http: cannot make %s (error %d)", http_root, r);
		return;
	}
	u8 *buf = kmalloc(PAGE_SIZE, 0);
	if (!buf) {
		pr_err("services: http: no memory to make its files");
		return;
	}
	for (int i = 0; i < (int)ARRAY_SIZE(http_defaults); i++) {
		ksnprintf(path, sizeof(path), "%s/%s", http_root, http_defaults[i].name);
		struct file *f = NULL;
		r = vfs_open(NULL, path, O_WRONLY | O_CREAT | O_EXCL, 0644, &f);
		if (r == -EEXIST)
			continue;   /* the archive's, or the disk's: served as it is */
		for (u32 off = 0; r == 0 && off < http_defaults[i].len; off += PAGE_SIZE) {
			u32 n = MIN((u32)PAGE_SIZE, http_defaults[i].len - off);
			http_default_bytes(i, buf, off, n);
			struct uio u = { (u64)(uptr)buf, n, false };
			long k = vfs_write(f, &u, NULL);
			r = k == (long)n ? 0 : k < 0 ? (int)k : -ENOSPC;
		}
		if (f)
			file_put(f);
		if (r < 0)
			pr_err("services: http: cannot make %s (error %d)", path, r);
		else
			pr_info("services: http: made %s (%u bytes)", path, http_defaults[i].len);
	}
	kfree(buf);
}

static bool header_says(const char *req, const char *end, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	for (const char *l = req; l && l < end; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		bool match = true;
		for (size_t i = 0; i < nl && match; i++) {
			char c = l[i];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			char d = name[i];
			if (d >= 'A' && d <= 'Z')
				d = (char)(d + 32);
			match = c == d;
		}
		if (!match || l[nl] != ':')
			continue;
		const char *v = l + nl + 1;
		while (*v == ' ')
			v++;
		bool vm = true;
		for (size_t i = 0; i < vl && vm; i++) {
			char c = v[i];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			vm = c == value[i];
		}
		if (vm)
			return true;
	}
	return false;
}

/* The status lines of the answers without a body. */
static const char *http_reason(int status)
{
	switch (status) {
	case 403: return "403 Forbidden";
	case 404: return "404 Not Found";
	case 414: return "414 URI Too Long";
	default:  return "500 Internal Server Error";
	}
}

/* Answer one request (req .. end, the blank line excluded); path: the
 * connection's HTTP_PATH_MAX bytes for the file's path. false: close.
 * *send_ns: the time spent in the send calls of its response. */
static bool http_answer(struct socket *s, char *req, char *end, char *path, u64 *send_ns)
{
	*send_ns = 0;
	*end = 0;
	char *sp1 = strchr(req, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	char *eol = strchr(req, '\r');
	int st = 0;
	if (sp1 && sp2 && eol && sp2 < eol) {
		*sp1 = *sp2 = 0;
		st = http_target_path(sp1 + 1, http_root, path, HTTP_PATH_MAX);
	}
	if (!sp1 || !sp2 || !eol || sp2 > eol || st == 400) {
		__atomic_fetch_add(&http_errors, 1, __ATOMIC_RELAXED);
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
					  "Connection: close\r\n\r\n";
		http_send(s, bad, sizeof(bad) - 1, NULL, 0);
		return false;
	}
	bool v11 = strncmp(sp2 + 1, "HTTP/1.1", 8) == 0;
	bool keep = v11 ? !header_says(eol, end, "connection", "close")
			: header_says(eol, end, "connection", "keep-alive");
	bool head = strcmp(req, "HEAD") == 0;
	const char *conn = keep ? "keep-alive" : "close";
	struct file *f = NULL;
	u64 len = 0;
	char hdr[256];
	int n;
	if (strcmp(req, "GET") != 0 && !head) {
		n = ksnprintf(hdr, sizeof(hdr), "HTTP/1.1 405 Method Not Allowed\r\nServer: caboose\r\n"
			      "Allow: GET, HEAD\r\nContent-Length: 0\r\nConnection: %s\r\n\r\n", conn);
	} else if (st != 0 || (st = http_open(path, &f)) != 0) {
		if (st == 404 || st == 403)
			__atomic_fetch_add(st == 404 ? &http_not_found : &http_forbidden, 1,
					   __ATOMIC_RELAXED);
		n = ksnprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nServer: caboose\r\n"
			      "Content-Length: 0\r\nConnection: %s\r\n\r\n", http_reason(st), conn);
	} else {
		len = __atomic_load_n(&f->inode->size, __ATOMIC_RELAXED);
		n = ksnprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nServer: caboose\r\nContent-Type: %s\r\n"
			      "Content-Length: %llu\r\nConnection: %s\r\n\r\n", http_mime_type(path),
			      (unsigned long long)len, conn);
	}
	__atomic_fetch_add(&http_requests, 1, __ATOMIC_RELAXED);
	u64 t = net_now_ns();
	int err = http_send(s, hdr, (u32)n, f, head ? 0 : len);
	*send_ns = net_now_ns() - t;
	if (f)
		file_put(f);
	return err == 0 && keep;
}

#define HTTP_REQ_MAX 8192

/* Each request is timed (metrics.h): t0 when its first byte arrived from
 * the network (the socket's read stamp; the read's return if none), when
 * the thread took it up (the read returned, or the answer before it in the
 * same read was queued) and how much of the wait before was the thread's
 * own (its bytes came while it was blocked in the read: waking and
 * waiting to run), the time in the send calls, t1 when its response was
 * queued; metrics_response watches for the ACK of its last byte. */
static void http_conn(void *arg)
{
	struct socket *s = arg;
	sock_setopt(s, TCP_NODELAY, 1);
	/* an idle client does not hold its thread forever, nor one that
	 * takes nothing of the response (a zero window) */
	sock_setopt(s, SO_RCVTIMEO, http_idle_s * 1000);
	sock_setopt(s, SO_SNDTIMEO, http_idle_s * 1000);
	/* the request, then the path of its file */
	char *req = kmalloc(HTTP_REQ_MAX + 1 + HTTP_PATH_MAX, 0);
	char *path = req + HTTP_REQ_MAX + 1;
	struct metrics_conn *mc = metrics_conn_new();
	u32 have = 0;
	u64 t_first = 0;
	bool open = req != NULL;
	while (open) {
		u64 t_call = net_now_ns();
		long n = sock_recvfrom(s, req + have, HTTP_REQ_MAX - have, 0, NULL);
		u64 t_ret = net_now_ns();
		if (n == -EAGAIN)
			__atomic_fetch_add(&http_idle_closes, 1, __ATOMIC_RELAXED);
		if (n <= 0)
			break;
		u64 t_read = sock_read_stamp(s);
		if (!t_read)
			t_read = net_now_ns();
		if (have == 0)
			t_first = t_read;
		have += (u32)n;
		req[have] = 0;
		char *end;
		u64 t_start = t_ret;
		while (open && (end = strstr_bounded(req, have, "\r\n\r\n")) != NULL) {
			u32 used = (u32)(end - req) + 4;
			struct metrics_times tm = { .t0 = t_first, .start = t_start };
			/* bytes that came while the thread was blocked in this read */
			if (t_start == t_ret && t_ret > MAX(t_first, t_call))
				tm.sched_ns = t_ret - MAX(t_first, t_call);
			open = http_answer(s, req, end, path, &tm.send_ns);
			tm.t1 = t_start = net_now_ns();
			metrics_response(mc, s, &tm);
			memmove(req, req + used, have - used);
			have -= used;
			req[have] = 0;
			t_first = t_read; /* what is left came with this read */
		}
		if (open && have == HTTP_REQ_MAX) {
			static const char big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
						  "Content-Length: 0\r\nConnection: close\r\n\r\n";
			http_send(s, big, sizeof(big) - 1, NULL, 0);
			__atomic_fetch_add(&http_errors, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	kfree(req);
	metrics_conn_put(mc);
	sock_shutdown(s, SHUT_WR);
	sock_close(s);
}

/* The metrics service, TCP port 9100: GET (or HEAD) of /metrics, the
 * Prometheus text format, and /metrics.json (metrics.h); anything else is
 * 404. One request a connection, then close. Hostile clients are bounded:
 * the request must arrive whole in METRICS_REQ_MAX bytes (else 431) within
 * METRICS_DEADLINE_NS of the connection's start, however slowly it trickles
 * in (else 408); the answer must leave within a second such deadline; at
 * most METRICS_CONNS connections are served at a time (the others are
 * closed at once). After answering, what the client still sends is read
 * and dropped for up to METRICS_LINGER_NS (until it closes): closing with
 * unread bytes would reset the connection, and the client could lose the
 * answer (a 431 to a client still sending, say). */
#define METRICS_REQ_MAX 2048
#define METRICS_DEADLINE_NS (5ULL * 1000000000ULL)
#define METRICS_LINGER_NS (2ULL * 1000000000ULL)
#define METRICS_CONNS 8

static u32 metrics_active;                                         /* [atomic] */
static u64 metrics_served, metrics_refused, metrics_timeouts, metrics_bad; /* [atomic] */

/* Wait until s has something for `events`, or the deadline passes (false). */
static bool wait_ready(struct socket *s, unsigned events, u64 deadline)
{
	u64 now = arch_clock_ns();
	if (now >= deadline)
		return false;
	return wait_event_timeout(sock_waitq(s), sock_poll(s) & (events | POLLERR | POLLHUP),
				  deadline - now);
}

static bool send_until(struct socket *s, const char *p, u32 len, u64 deadline)
{
	while (len) {
		long n = sock_sendto(s, p, len, MSG_DONTWAIT, NULL);
		if (n > 0) {
			p += n;
			len -= (u32)n;
		} else if (n != -EAGAIN || !wait_ready(s, POLLOUT, deadline)) {
			return false;
		}
	}
	return true;
}

static void metrics_reply(struct socket *s, const char *status, const char *type,
			  const char *body, u32 blen, bool head)
{
	char hdr[256];
	int n = ksnprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nServer: caboose\r\nContent-Type: %s\r\n"
			  "Content-Length: %u\r\nConnection: close\r\n\r\n", status, type, blen);
	u64 deadline = arch_clock_ns() + METRICS_DEADLINE_NS;
	if (send_until(s, hdr, (u32)n, deadline) && !head && blen)
		send_until(s, body, blen, deadline);
}

/* Read one request's head into req (NUL-terminated, the blank line cut
 * off): 0, or the HTTP status to answer with (408, 431), or -1 (the peer
 * left or failed: no answer). */
static int metrics_read(struct socket *s, char *req)
{
	u64 deadline = arch_clock_ns() + METRICS_DEADLINE_NS;
	u32 have = 0;
	for (;;) {
		char *end = strstr_bounded(req, have, "\r\n\r\n");
		if (end) {
			*end = 0;
			return 0;
		}
		if (have == METRICS_REQ_MAX)
			return 431;
		long n = sock_recvfrom(s, req + have, METRICS_REQ_MAX - have, MSG_DONTWAIT, NULL);
		if (n == -EAGAIN) {
			if (!wait_ready(s, POLLIN, deadline))
				return 408;
			continue;
		}
		if (n <= 0)
			return -1;
		have += (u32)n;
		req[have] = 0;
	}
}

static void metrics_linger(struct socket *s, char *buf, u32 size)
{
	u64 deadline = arch_clock_ns() + METRICS_LINGER_NS;
	for (;;) {
		long n = sock_recvfrom(s, buf, size, MSG_DONTWAIT, NULL);
		if (n == -EAGAIN) {
			if (!wait_ready(s, POLLIN, deadline))
				return;
		} else if (n <= 0) {
			return;
		}
	}
}

static void metrics_conn(void *arg)
{
	struct socket *s = arg;
	char *req = NULL, *doc = NULL;
	if (__atomic_add_fetch(&metrics_active, 1, __ATOMIC_RELAXED) > METRICS_CONNS) {
		__atomic_fetch_add(&metrics_refused, 1, __ATOMIC_RELAXED);
		goto out;
	}
	sock_setopt(s, TCP_NODELAY, 1);
	req = kmalloc(METRICS_REQ_MAX + 1, 0);
	if (!req)
		goto out;
	int st = metrics_read(s, req);
	if (st != 0) {
		if (st == 408)
			__atomic_fetch_add(&metrics_timeouts, 1, __ATOMIC_RELAXED);
		else if (st == 431)
			__atomic_fetch_add(&metrics_bad, 1, __ATOMIC_RELAXED);
		if (st > 0)
			metrics_reply(s, st == 408 ? "408 Request Timeout" : "431 Request Header Fields Too Large",
				      "text/plain", NULL, 0, false);
		goto out;
	}
	char *sp1 = strchr(req, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	char *eol = strchr(req, '\r');
	if (!eol)
		eol = req + strlen(req);
	if (!sp1 || !sp2 || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		__atomic_fetch_add(&metrics_bad, 1, __ATOMIC_RELAXED);
		metrics_reply(s, "400 Bad Request", "text/plain", NULL, 0, false);
		goto out;
	}
	*sp1 = *sp2 = 0;
	char *path = sp1 + 1, *query = strchr(path, '?');
	if (query)
		*query = 0;
	bool head = strcmp(req, "HEAD") == 0;
	bool json = strcmp(path, "/metrics.json") == 0;
	u32 len = 0;
	if (strcmp(req, "GET") != 0 && !head) {
		metrics_reply(s, "405 Method Not Allowed", "text/plain", NULL, 0, false);
	} else if (!json && strcmp(path, "/metrics") != 0) {
		metrics_reply(s, "404 Not Found", "text/plain", NULL, 0, head);
	} else if (metrics_render(json ? METRICS_JSON : METRICS_PROMETHEUS, &doc, &len) != 0) {
		metrics_reply(s, "503 Service Unavailable", "text/plain", NULL, 0, head);
	} else {
		__atomic_fetch_add(&metrics_served, 1, __ATOMIC_RELAXED);
		metrics_reply(s, "200 OK", json ? "application/json" : "text/plain; version=0.0.4",
			      doc, len, head);
	}
out:
	kfree(doc);
	sock_shutdown(s, SHUT_WR);
	if (req)
		metrics_linger(s, req, METRICS_REQ_MAX);
	kfree(req);
	__atomic_fetch_sub(&metrics_active, 1, __ATOMIC_RELAXED);
	sock_close(s);
}

/* Listen and start the service's accept thread; 0 or a negative errno,
 * with nothing left behind on failure. */
static int start_tcp(struct tcp_service *svc)
{
	struct socket *l;
	struct sockaddr_in4 a = { IP4_ANY, svc->port };
	const char *what = "cannot listen on";
	int err = sock_create(SOCK_STREAM, &l);
	if (err)
		goto fail;
	if ((err = sock_bind(l, &a)) != 0 || (err = sock_listen(l, 1024)) != 0)
		goto fail_close;
	svc->lis = l;
	struct thread *t = thread_create(svc->name, accept_main, svc, -1, 0);
	if (!t) {
		err = -ENOMEM;
		what = "no thread for";
		svc->lis = NULL;
		goto fail_close;
	}
	thread_put(t);
	pr_info("services: %s on TCP port %u", svc->name, svc->port);
	return 0;
fail_close:
	sock_close(l);
fail:
	pr_err("services: %s: %s TCP port %u (error %d)", svc->name, what, svc->port, err);
	return err;
}

static struct tcp_service svc_echo = { "tcp_echo", 7, tcp_echo_conn, NULL };
static struct tcp_service svc_discard = { "tcp_discard", 9, tcp_discard_conn, NULL };
static struct tcp_service svc_http = { "http", 80, http_conn, NULL };
static struct tcp_service svc_metrics = { "metrics", 9100, metrics_conn, NULL };

static void start_udp(const char *name, u16 port, void (*fn)(void *))
{
	struct socket *s = udp_socket(port);
	if (!s) {
		pr_err("services: %s: cannot bind UDP port %u", name, port);
		return;
	}
	struct thread *t = thread_create(name, fn, s, -1, 0);
	if (!t) {
		pr_err("services: %s: no thread", name);
		sock_close(s);
		return;
	}
	thread_put(t);
	pr_info("services: %s on UDP port %u", name, port);
}

void services_start(void)
{
	if (wanted & SVC_ECHO) {
		start_udp("udp_echo", 7, echo_main);
		start_tcp(&svc_echo);
	}
	if (wanted & SVC_DISCARD) {
		start_udp("udp_discard", 9, discard_main);
		start_tcp(&svc_discard);
	}
	if ((wanted & (SVC_HTTP | SVC_METRICS)) && metrics_init() != 0)
		pr_err("services: no memory for the latency histograms");
	if (wanted & SVC_METRICS)
		start_tcp(&svc_metrics);
	if (wanted & SVC_HTTP) {
		http_make_defaults();
		if (start_tcp(&svc_http) == 0)
			pr_info("services: http: serving %s", http_root[0] ? http_root : "/");
	}
	if (wanted & SVC_IPERF) {
		int err = iperf_start();
		if (err)
			pr_err("services: iperf: cannot start (error %d)", err);
		else
			pr_info("services: iperf on TCP port %u", IPERF_PORT);
	}
}

KCOUNTER_VAR("services.udp_echo_datagrams", "datagrams", echo_datagrams);
KCOUNTER_VAR("services.udp_echo_bytes", "bytes", echo_bytes);
KCOUNTER_VAR("services.udp_discard_datagrams", "datagrams", discard_datagrams);
KCOUNTER_VAR("services.udp_discard_bytes", "bytes", discard_bytes);
KCOUNTER_VAR("services.tcp_connections", "connections", tcp_conns);
KCOUNTER_VAR("services.http_requests", "requests", http_requests);
KCOUNTER_VAR("services.http_bad_requests", "requests", http_errors);
KCOUNTER_VAR("services.http_idle_closes", "connections", http_idle_closes);
KCOUNTER_VAR("services.http_send_stalls", "connections", http_stalls);
KCOUNTER_VAR("services.http_not_found", "requests", http_not_found);
KCOUNTER_VAR("services.http_forbidden", "requests", http_forbidden);
KCOUNTER_VAR("services.http_by_ref", "bytes", http_by_ref);
KCOUNTER_VAR("copy.http_file", "bytes", http_copied);
KCOUNTER_VAR("services.metrics_served", "requests", metrics_served);
KCOUNTER_VAR("services.metrics_refused", "connections", metrics_refused);
KCOUNTER_VAR("services.metrics_timeouts", "connections", metrics_timeouts);
KCOUNTER_VAR("services.metrics_bad_requests", "requests", metrics_bad);
