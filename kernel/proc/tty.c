/*
 * The console terminal: /dev/console (COM1) as a tty with Linux's line
 * discipline (n_tty), its termios ioctls, and job control's checks.
 *
 * Input: COM1's receive interrupt moves bytes into a raw ring (nothing
 * more, DESIGN principle 6) and wakes the tty thread, which runs the line
 * discipline: input translation (ICRNL, INLCR, IGNCR, ISTRIP), the signal
 * characters (ISIG: ^C SIGINT, ^\ SIGQUIT, ^Z SIGTSTP to the foreground
 * process group), canonical editing (ICANON: ERASE, KILL, WERASE with
 * IEXTEN, EOF, EOL, EOL2) and echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL,
 * ECHOCTL), as Linux does them. Bytes readers may take sit in the input
 * ring; in canonical mode each complete line's length is queued beside it
 * (an EOF at the start of a line queues a line of 0 bytes: read returns 0).
 * Non-canonical reads follow VMIN and VTIME as POSIX (and Linux) say.
 *
 * Output: OPOST with ONLCR (\n as \r\n) or raw, straight to the UART
 * (synchronous, like every console write).
 *
 * Sessions: a process has a controlling terminal when its ctty flag is set
 * and its session is the tty's (tty.session). TIOCSCTTY gives the tty to a
 * session leader, setsid and TIOCNOTTY take it away. A process of that
 * session outside the foreground group (tty.pgrp) that reads gets SIGTTIN
 * (its group), one that writes with TOSTOP or changes the settings gets
 * SIGTTOU, which stops it by default (kernel/proc/signal.c) and the call
 * starts again once it is continued; ignored or blocked, the read fails
 * with -EIO and the rest goes on, as on Linux; so does a process of an
 * orphaned group, which nobody could continue. As on Linux, reads and
 * writes through /dev/console are exempt (a console never stops its
 * reader); /dev/ttyS0 is the same tty with the checks.
 *
 * Also with IEXTEN in canonical mode: LNEXT (^V) takes the next byte as it
 * is (echoed "^\b", then the byte), REPRINT (^R, with ECHO) echoes the
 * line being edited again on a new line. Flow control (IXON): STOP (^S)
 * holds programs' output (their writes wait, interruptibly) until START
 * (^Q), or any byte with IXANY; TCXONC's TCOOFF/TCOON do the same, and
 * only TCOON undoes TCOOFF; clearing IXON starts output again; TCIOFF and
 * TCION send the STOP and START characters. All as Linux's n_tty.
 *
 * Echoes made while output is stopped are held (up to ECHO_HELD bytes,
 * the rest counted as tty.echo_dropped) and go out first when it starts.
 *
 * Not done: the kernel's log lines are not held while output is stopped,
 * ECHOPRT, VDISCARD, PARMRK, hang-up,
 * and kernel log lines keep no memory of a line being edited (a log line
 * lands in the middle of it).
 *
 * Locks: [R] rx_lock (interrupt context: the raw ring), then [T] tty.lock
 * (the settings, the queues, the session), then procs_lock. Output goes
 * out after [T] is dropped, except echo, which keeps [T] so that echoes
 * stay in input order (console_write's lock nests inside).
 */
#include "kernel/proc/tty.h"
#include "kernel/proc/proc_priv.h"
#include "kernel/proc/uaccess.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/lib/counter.h"
#include "kernel/repl/repl.h"
#include "fs/vfs.h"

#define SIGHUP  1
#define SIGINT  2
#define SIGQUIT 3
#define SIGWINCH 28
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22

#define RAW_SIZE  1024          /* power of two */
#define IN_SIZE   4096
#define LINES_MAX 256
#define EDIT_MAX  4095          /* a canonical line, as Linux's N_TTY_BUF_SIZE - 1 */
#define ECHO_HELD 4096          /* echoes held while output is stopped (Linux's echo buffer) */

struct tty {
	spinlock_t lock;
	struct ktermios t;        /* [T] */
	struct kwinsize ws;       /* [T] */
	u8 in[IN_SIZE];           /* [T] bytes readers may take */
	size_t in_head, in_len;   /* [T] */
	u16 lines[LINES_MAX];     /* [T] canonical: the complete lines' lengths */
	size_t line_head, nlines; /* [T] */
	u8 edit[EDIT_MAX];        /* [T] canonical: the line being edited */
	size_t edit_len;          /* [T] */
	int session, pgrp;        /* [T] 0: none */
	bool lnext;               /* [T] canonical: the next byte is literal */
	bool stopped;             /* [T] output held (STOP, TCOOFF) */
	bool tco_stopped;         /* [T] ... by TCOOFF: only TCOON starts it */
	char held[ECHO_HELD];     /* [T] echoes made while output is stopped */
	size_t held_len;          /* [T] */
	struct waitq rwait;       /* readers and pollers */
	struct waitq owait;       /* writers waiting for output to start */
};

static struct tty tty = { .lock = SPINLOCK_INIT("tty") };

static spinlock_t rx_lock = SPINLOCK_INIT("tty_rx");
static u8 raw[RAW_SIZE];         /* [R] */
static u32 raw_head, raw_tail;   /* [R] */
static struct waitq kwait;       /* the tty thread */
static bool tty_ready;

static u64 rx_bytes, rx_dropped, in_dropped, echo_dropped, signals_sent;  /* [atomic] */
KCOUNTER_VAR("tty.rx", "bytes", rx_bytes);
KCOUNTER_VAR("tty.rx_dropped", "bytes", rx_dropped);   /* the raw ring was full */
KCOUNTER_VAR("tty.in_dropped", "bytes", in_dropped);   /* no room in the line or queue */
KCOUNTER_VAR("tty.echo_dropped", "bytes", echo_dropped);   /* echoes past ECHO_HELD while stopped */
KCOUNTER_VAR("tty.signals", "signals", signals_sent);

#define L(f) (tty.t.c_lflag & (f))
#define I(f) (tty.t.c_iflag & (f))
#define CC(i) (tty.t.c_cc[i])

static const struct file_ops console_fops;

/* ---- the receive interrupt ---- */

static void rx_irq(void *arg)
{
	(void)arg;
	int c;
	unsigned long f = spin_lock_irqsave(&rx_lock);
	while ((c = arch_console_getc()) >= 0) {
		__atomic_add_fetch(&rx_bytes, 1, __ATOMIC_RELAXED);
		if (raw_head - raw_tail >= RAW_SIZE) {
			__atomic_add_fetch(&rx_dropped, 1, __ATOMIC_RELAXED);
			continue;
		}
		raw[raw_head++ % RAW_SIZE] = (u8)c;
	}
	spin_unlock_irqrestore(&rx_lock, f);
	waitq_wake_one(&kwait);
}

static int raw_get(void)
{
	unsigned long f = spin_lock_irqsave(&rx_lock);
	int c = raw_head == raw_tail ? -1 : raw[raw_tail++ % RAW_SIZE];
	spin_unlock_irqrestore(&rx_lock, f);
	return c;
}

static bool raw_pending(void) { return READ_ONCE(raw_head) != READ_ONCE(raw_tail); }

/* ---- echo and output ---- */

static void out_raw(const char *s, size_t n) { console_write_raw(s, n); }

/* An echo: out now, or, while output is stopped, held until it starts
 * again (start_output), as Linux's n_tty holds its echoes. [T] */
static void echo_raw(const char *s, size_t n)
{
	if (!tty.stopped) {
		out_raw(s, n);
		return;
	}
	size_t room = ECHO_HELD - tty.held_len, k = MIN(n, room);
	memcpy(tty.held + tty.held_len, s, k);
	tty.held_len += k;
	if (k < n)
		__atomic_add_fetch(&echo_dropped, n - k, __ATOMIC_RELAXED);
}

/* Output processing (OPOST, ONLCR) of s into the UART, or into the echoes
 * held (echo). */
static void out_cooked(const u8 *s, size_t n, u32 oflag, bool echo)
{
	void (*emit)(const char *, size_t) = echo ? echo_raw : out_raw;
	char buf[128];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k + 2 > sizeof(buf)) {
			emit(buf, k);
			k = 0;
		}
		if (s[i] == '\n' && (oflag & (OPOST | ONLCR)) == (OPOST | ONLCR))
			buf[k++] = '\r';
		buf[k++] = (char)s[i];
	}
	emit(buf, k);
}

static bool is_ctl(u8 c) { return c < 0x20 || c == 0x7f; }

/* How wide c's echo is: ^X takes two columns with ECHOCTL. [T] */
static int echo_width(u8 c)
{
	return is_ctl(c) && c != '\t' && L(ECHOCTL) ? 2 : 1;
}

/* Echo c as Linux does: control characters as ^X under ECHOCTL. [T] */
static void echo_char(u8 c)
{
	if (c == '\n') {
		out_cooked(&c, 1, tty.t.c_oflag, true);
	} else if (is_ctl(c) && c != '\t' && L(ECHOCTL)) {
		char s[2] = { '^', (char)(c ^ 0100) };
		echo_raw(s, 2);
	} else {
		echo_raw((const char *)&c, 1);
	}
}

/* Take the last character of the line back off the screen. [T] */
static void rub_out(u8 c)
{
	if (!L(ECHO))
		return;
	if (!L(ECHOE)) {
		echo_char(CC(VERASE));
		return;
	}
	for (int i = echo_width(c); i > 0; i--)
		echo_raw("\b \b", 3);
}

/* ---- the input queue ---- */

static bool in_put(u8 c)
{
	if (tty.in_len >= IN_SIZE) {
		__atomic_add_fetch(&in_dropped, 1, __ATOMIC_RELAXED);
		return false;
	}
	tty.in[(tty.in_head + tty.in_len++) % IN_SIZE] = c;
	return true;
}

/* The edited line (and its terminator, if any) becomes readable. [T] */
static void commit_line(int term)
{
	if (tty.nlines >= LINES_MAX || tty.in_len + tty.edit_len + 1 > IN_SIZE) {
		__atomic_add_fetch(&in_dropped, tty.edit_len + 1, __ATOMIC_RELAXED);
		tty.edit_len = 0;
		return;
	}
	for (size_t i = 0; i < tty.edit_len; i++)
		in_put(tty.edit[i]);
	size_t n = tty.edit_len;
	if (term >= 0) {
		in_put((u8)term);
		n++;
	}
	tty.lines[(tty.line_head + tty.nlines++) % LINES_MAX] = (u16)n;
	tty.edit_len = 0;
	waitq_wake_all(&tty.rwait);
}

static void flush_input(void)
{
	tty.in_len = tty.nlines = tty.edit_len = 0;
}

/* Can a reader take something (canonical: a line; else VMIN bytes, or one
 * byte when VMIN is 0)? [T], or racily for a wait's condition */
static bool readable(size_t vmin)
{
	if (tty.t.c_lflag & ICANON)
		return READ_ONCE(tty.nlines) > 0;
	return READ_ONCE(tty.in_len) >= MAX(vmin, (size_t)1);
}

/* ---- the line discipline ---- */

static bool is_word(u8 c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

/* ERASE, WERASE and KILL on the line being edited. [T] */
static void erase(u8 key)
{
	if (key == CC(VKILL) && !(L(ECHO) && L(ECHOK) && L(ECHOKE) && L(ECHOE))) {
		tty.edit_len = 0;
		if (L(ECHO)) {
			echo_char(key);
			if (L(ECHOK))
				echo_char('\n');
		}
		return;
	}
	bool seen_word = false;
	while (tty.edit_len) {
		u8 c = tty.edit[tty.edit_len - 1];
		if (key == CC(VWERASE)) {
			if (is_word(c))
				seen_word = true;
			else if (seen_word)
				break;
		}
		tty.edit_len--;
		rub_out(c);
		if (key == CC(VERASE))
			break;
	}
}

/* The signal characters: flush (unless NOFLSH), echo, and signal the
 * foreground group; returns the signal to send after [T] is dropped. */
static int isig(u8 c)
{
	int sig = c == CC(VINTR) ? SIGINT : c == CC(VQUIT) ? SIGQUIT : SIGTSTP;
	if (!L(NOFLSH))
		flush_input();
	if (L(ECHO))
		echo_char(c);
	return sig;
}

/* Is c the enabled special character i? (_POSIX_VDISABLE is 0) */
#define SPECIAL(c, i) (CC(i) != 0 && (c) == CC(i))

/* Output held, or going again (writers woken). [T] */
static void start_output(bool tco)
{
	if (tty.tco_stopped && !tco)
		return;   /* START does not undo TCOOFF */
	tty.stopped = tty.tco_stopped = false;
	out_raw(tty.held, tty.held_len);   /* the echoes held meanwhile, first */
	tty.held_len = 0;
	waitq_wake_all(&tty.owait);
}

/* A byte that is part of the line whatever it is (after LNEXT). [T] */
static void literal(u8 c)
{
	if (tty.edit_len >= EDIT_MAX - 1) {
		__atomic_add_fetch(&in_dropped, 1, __ATOMIC_RELAXED);
		return;   /* room is kept for the newline */
	}
	if (L(ECHO) && c == '\n' && L(ECHOCTL))
		echo_raw("^J", 2);   /* a literal newline is a control character here */
	else if (L(ECHO))
		echo_char(c);
	tty.edit[tty.edit_len++] = c;
}

/* One byte of input; returns a signal to send to the foreground group, or
 * 0. [T] */
static int ldisc_byte(u8 c)
{
	if (I(ISTRIP))
		c &= 0x7f;
	if (tty.lnext) {
		tty.lnext = false;
		literal(c);
		return 0;
	}
	if (I(IXON)) {
		if (SPECIAL(c, VSTART)) {
			start_output(false);
			return 0;
		}
		if (SPECIAL(c, VSTOP)) {
			tty.stopped = true;
			return 0;
		}
	}
	if (L(ISIG) && (SPECIAL(c, VINTR) || SPECIAL(c, VQUIT) || SPECIAL(c, VSUSP)))
		return isig(c);
	if (tty.stopped && I(IXON) && I(IXANY))
		start_output(false);
	if (c == '\r') {
		if (I(IGNCR))
			return 0;
		if (I(ICRNL))
			c = '\n';
	} else if (c == '\n' && I(INLCR)) {
		c = '\r';
	}
	if (!L(ICANON)) {
		if (in_put(c)) {
			if (L(ECHO))
				echo_char(c);
			waitq_wake_all(&tty.rwait);
		}
		return 0;
	}
	if (SPECIAL(c, VERASE) || SPECIAL(c, VKILL) || (L(IEXTEN) && SPECIAL(c, VWERASE))) {
		erase(c);
		return 0;
	}
	if (L(IEXTEN) && SPECIAL(c, VLNEXT)) {
		tty.lnext = true;
		if (L(ECHO) && L(ECHOCTL))
			echo_raw("^\b", 2);
		return 0;
	}
	if (L(IEXTEN) && L(ECHO) && SPECIAL(c, VREPRINT)) {
		echo_char(c);
		echo_char('\n');
		for (size_t i = 0; i < tty.edit_len; i++)
			echo_char(tty.edit[i]);
		return 0;
	}
	if (SPECIAL(c, VEOF)) {
		commit_line(-1);   /* not echoed, not stored */
		return 0;
	}
	bool eol = c == '\n' || SPECIAL(c, VEOL) || (L(IEXTEN) && SPECIAL(c, VEOL2));
	if (!eol && tty.edit_len >= EDIT_MAX - 1) {
		__atomic_add_fetch(&in_dropped, 1, __ATOMIC_RELAXED);
		return 0;   /* room is kept for the newline */
	}
	if (L(ECHO) || (c == '\n' && L(ECHONL)))
		echo_char(c);
	if (eol)
		commit_line(c);
	else
		tty.edit[tty.edit_len++] = c;
	return 0;
}

/* Send sig to every process of group pgrp. */
static void signal_group(int pgrp, int sig)
{
	if (pgrp <= 0)
		return;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->state == PROC_RUNNING && p->pgid == pgrp)
			signal_send(p, sig);
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	__atomic_add_fetch(&signals_sent, 1, __ATOMIC_RELAXED);
}

static void tty_main(void *arg)
{
	bool irq = (bool)(uptr)arg;
	for (;;) {
		/* a second at most: an interrupt may be lost; polled: 10 ms */
		wait_event_timeout(&kwait, raw_pending(), irq ? 1000000000ULL : 10000000ULL);
		rx_irq(NULL);
		int c;
		while ((c = raw_get()) >= 0) {
			unsigned long f = spin_lock_irqsave(&tty.lock);
			int sig = ldisc_byte((u8)c);
			int pgrp = tty.pgrp;
			spin_unlock_irqrestore(&tty.lock, f);
			if (sig)
				signal_group(pgrp, sig);
		}
	}
}

/* ---- job control ---- */

static bool has_ctty(const struct proc *p)
{
	return p->ctty && p->sid == READ_ONCE(tty.session);
}

static bool sig_ignored(int sig)
{
	struct uthread *ut = uthread_current();
	return ut->proc->sighand->act[sig - 1].handler == SIG_IGN || (ut->sigmask & (1ULL << (sig - 1)));
}

/* A background process of the terminal's session reads (SIGTTIN) or
 * writes or changes settings (SIGTTOU): 0 to go on, or the error. */
static int job_check(int sig)
{
	struct proc *p = proc_current();
	if (!p || !has_ctty(p) || p->pgid == READ_ONCE(tty.pgrp) || !READ_ONCE(tty.pgrp))
		return 0;
	if (sig_ignored(sig))
		return sig == SIGTTIN ? -EIO : 0;
	if (proc_pgrp_orphaned(p->pgid, p->sid))
		return -EIO;   /* nobody could continue it */
	/* the default stops the group, and the call starts again once it is
	 * continued; a handler's SA_RESTART starts it again, as Linux */
	signal_group(p->pgid, sig);
	return -EINTR;
}

/* ---- reads ---- */

/* Take up to max bytes: canonical, the rest of the first line; else what
 * is there. Returns the count; *eof for a line of 0 bytes (EOF). [T] */
static size_t take(u8 *buf, size_t max, bool *eof)
{
	size_t n = tty.in_len;
	*eof = false;
	if (tty.t.c_lflag & ICANON) {
		if (!tty.nlines)
			return 0;
		u16 *len = &tty.lines[tty.line_head];
		n = *len;
		if (n == 0) {
			*eof = true;
			tty.line_head = (tty.line_head + 1) % LINES_MAX;
			tty.nlines--;
			return 0;
		}
	}
	n = MIN(n, max);
	for (size_t i = 0; i < n; i++)
		buf[i] = tty.in[(tty.in_head + i) % IN_SIZE];
	tty.in_head = (tty.in_head + n) % IN_SIZE;
	tty.in_len -= n;
	if (tty.t.c_lflag & ICANON) {
		u16 *len = &tty.lines[tty.line_head];
		*len = (u16)(*len - n);
		if (*len == 0) {
			tty.line_head = (tty.line_head + 1) % LINES_MAX;
			tty.nlines--;
		}
	}
	return n;
}

/* Wait for a byte (a line in canonical mode) until the deadline (0:
 * none); false at the deadline or on a signal (-EINTR in *err). */
static bool wait_input(u64 deadline, int *err)
{
	for (;;) {
		if (readable(1))
			return true;
		if (proc_signal_pending()) {
			*err = -EINTR;
			return false;
		}
		u64 now = arch_clock_ns();
		if (deadline && now >= deadline)
			return false;
		u64 step = deadline ? deadline - now : 1000000000ULL;
		wait_event_timeout(&tty.rwait, readable(1) || proc_signal_pending(), step);
	}
}

/* Canonical: one line (or its first u->len bytes). Otherwise VMIN and
 * VTIME (in tenths of a second) as POSIX: MIN 0 TIME 0 returns what is
 * there; MIN 0 TIME t waits up to t for a first byte; MIN m TIME 0 waits
 * for m bytes (or u->len); MIN m TIME t restarts t after each byte. */
static long tty_read(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	int err = f->ops == &console_fops ? 0 : job_check(SIGTTIN);
	if (err)
		return err;
	if (u->len == 0)
		return 0;
	bool canon = READ_ONCE(tty.t.c_lflag) & ICANON;
	size_t vmin = canon ? 1 : READ_ONCE(tty.t.c_cc[VMIN]);
	u64 vtime = canon ? 0 : READ_ONCE(tty.t.c_cc[VTIME]) * 100000000ULL;
	bool poll_only = !canon && vmin == 0 && vtime == 0;
	bool nonblock = (f->flags & O_NONBLOCK) && !poll_only;
	if (nonblock && !readable(1))
		return -EAGAIN;
	size_t want = canon ? 1 : MIN(u->len, MAX(vmin, (size_t)1));
	u64 deadline = !canon && vmin == 0 && vtime ? arch_clock_ns() + vtime : 0;
	u8 buf[256];
	size_t done = 0;
	for (;;) {
		unsigned long fl = spin_lock_irqsave(&tty.lock);
		bool eof;
		size_t n = take(buf, MIN(sizeof(buf), u->len - done), &eof);
		spin_unlock_irqrestore(&tty.lock, fl);
		if (n && uio_to(u, buf, n) < n)
			return done ? (long)done : -EFAULT;
		done += n;
		if (eof || done >= u->len || poll_only || nonblock || (canon && done) ||
		    (!canon && done >= want))
			break;
		if (!canon && vmin && vtime && done)
			deadline = arch_clock_ns() + vtime;   /* between bytes */
		if (n == 0 && !wait_input(deadline, &err))
			break;
	}
	if (done == 0 && err)
		return err;
	return (long)done;
}

/* ---- writes ---- */

static long tty_write(struct file *f, struct uio *u, u64 *pos)
{
	(void)pos;
	if (L(TOSTOP) && f->ops != &console_fops) {
		int r = job_check(SIGTTOU);
		if (r)
			return r;
	}
	u8 buf[256];
	size_t want = u->len, done = 0;
	while (u->len) {
		/* flow control: wait while output is held (STOP, TCOOFF) */
		while (READ_ONCE(tty.stopped)) {
			if (proc_signal_pending())
				return done ? (long)done : -EINTR;
			wait_event_timeout(&tty.owait, !READ_ONCE(tty.stopped) ||
					   proc_signal_pending(), 1000000000ULL);
		}
		size_t k = MIN(u->len, sizeof(buf));
		size_t got = uio_from(u, buf, k);
		out_cooked(buf, got, READ_ONCE(tty.t.c_oflag), false);
		done += got;
		if (got < k)
			break;
	}
	return done || !want ? (long)done : -EFAULT;
}

/* ---- poll ---- */

static unsigned tty_poll(struct file *f)
{
	(void)f;
	return (readable(1) ? POLLIN | POLLRDNORM : 0) | POLLOUT | POLLWRNORM;
}

static int tty_waitqs(struct file *f, struct waitq **out)
{
	(void)f;
	out[0] = &tty.rwait;
	return 1;
}

/* ---- ioctls ---- */

/* New settings: leaving canonical mode makes the edited line readable;
 * entering it makes what is queued one line. [T] */
static void set_termios(const struct ktermios *t)
{
	bool was = tty.t.c_lflag & ICANON, now = t->c_lflag & ICANON;
	if (!(t->c_iflag & IXON) && (tty.t.c_iflag & IXON) && !tty.tco_stopped)
		start_output(false);   /* flow control off: output goes again */
	if (!now)
		tty.lnext = false;
	tty.t = *t;
	if (was && !now) {
		for (size_t i = 0; i < tty.edit_len; i++)
			in_put(tty.edit[i]);
		tty.edit_len = tty.nlines = 0;
	} else if (!was && now && tty.in_len) {
		tty.nlines = 1;
		tty.line_head = 0;
		tty.lines[0] = (u16)MIN(tty.in_len, (size_t)0xffff);
	}
	waitq_wake_all(&tty.rwait);
}

/* Does a live process of group pgrp exist, and in which session? */
static int group_session(int pgrp)
{
	int sid = -ESRCH;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->state == PROC_RUNNING && p->pgid == pgrp) {
			sid = p->sid;
			break;
		}
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	return sid;
}

/* Process pid's session (sid) or group (!sid), or -ESRCH. */
static int ids_of(int pid, bool sid)
{
	int id = -ESRCH;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->state == PROC_RUNNING && p->pid == pid) {
			id = sid ? p->sid : p->pgid;
			break;
		}
	}
	spin_unlock_irqrestore(&procs_lock, fl);
	return id;
}

int proc_getsid(int pid) { return ids_of(pid, true); }
int proc_getpgid(int pid) { return ids_of(pid, false); }

int proc_setpgid(int pid, int pgid)
{
	struct proc *self = proc_current(), *t = NULL;
	int r = 0;
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	struct list_node *n;
	list_for_each(n, &procs) {
		struct proc *p = list_entry(n, struct proc, link);
		if (p->state == PROC_RUNNING &&
		    (p == self ? pid == 0 || pid == p->pid : p->pid == pid && p->parent == self))
			t = p;
	}
	if (!t) {
		r = -ESRCH;
		goto out;
	}
	if (!pgid)
		pgid = t->pid;
	/* a child: of our session, and not yet past an execve (Linux's order) */
	if (t != self && t->sid != self->sid) {
		r = -EPERM;
		goto out;
	}
	if (t != self && t->execed) {
		r = -EACCES;
		goto out;
	}
	if (t->sid == t->pid || t->sid != self->sid) {
		r = -EPERM;
		goto out;
	}
	if (pgid != t->pid) {   /* joining a group: one of the same session */
		r = -EPERM;
		list_for_each(n, &procs) {
			struct proc *p = list_entry(n, struct proc, link);
			if (p->state == PROC_RUNNING && p->pgid == pgid && p->sid == t->sid)
				r = 0;
		}
		if (r)
			goto out;
	}
	t->pgid = pgid;
out:
	spin_unlock_irqrestore(&procs_lock, fl);
	return r;
}

/* canonical mode too: only complete lines are in the queue */
static int inq(void) { return (int)tty.in_len; }

static long ctty_ioctl(struct proc *p, unsigned cmd, u64 arg)
{
	int v;
	switch (cmd) {
	case TIOCGPGRP:
		if (!has_ctty(p))
			return -ENOTTY;
		v = tty.pgrp;
		return copy_to_user(arg, &v, sizeof(v));
	case TIOCGSID:
		if (!has_ctty(p))
			return -ENOTTY;
		v = tty.session;
		return copy_to_user(arg, &v, sizeof(v));
	case TIOCSPGRP: {
		if (!has_ctty(p))
			return -ENOTTY;
		int r = job_check(SIGTTOU);
		if (r)
			return r;
		if (copy_from_user(&v, arg, sizeof(v)))
			return -EFAULT;
		if (v < 0)
			return -EINVAL;
		int sid = group_session(v);
		if (sid < 0)
			return sid;
		if (sid != p->sid)
			return -EPERM;
		WRITE_ONCE(tty.pgrp, v);
		return 0;
	}
	case TIOCSCTTY:
		if (has_ctty(p))
			return 0;
		if (p->sid != p->pid)
			return -EPERM;   /* only a session leader */
		if (tty.session && tty.session != p->sid && arg != 1)
			return -EPERM;   /* another session's (root may steal it with 1) */
		p->ctty = true;
		tty.session = p->sid;
		tty.pgrp = p->pgid;
		return 0;
	case TIOCNOTTY:
		if (!has_ctty(p))
			return -ENOTTY;
		p->ctty = false;
		if (p->sid == p->pid) {   /* the leader lets it go for the session */
			int pgrp = tty.pgrp;
			tty.session = tty.pgrp = 0;
			signal_group(pgrp, SIGHUP);
		}
		return 0;
	}
	return -ENOTTY;
}

static long termios_ioctl(unsigned cmd, u64 arg)
{
	struct ktermios t;
	unsigned long fl;
	int r;
	switch (cmd) {
	case TCGETS:
		fl = spin_lock_irqsave(&tty.lock);
		t = tty.t;
		spin_unlock_irqrestore(&tty.lock, fl);
		return copy_to_user(arg, &t, sizeof(t));
	case TCSETS:
	case TCSETSW:   /* output is synchronous: nothing to drain */
	case TCSETSF:
		if ((r = job_check(SIGTTOU)))
			return r;
		if (copy_from_user(&t, arg, sizeof(t)))
			return -EFAULT;
		fl = spin_lock_irqsave(&tty.lock);
		if (cmd == TCSETSF)
			flush_input();
		set_termios(&t);
		spin_unlock_irqrestore(&tty.lock, fl);
		return 0;
	case TIOCGWINSZ:
		return copy_to_user(arg, &tty.ws, sizeof(tty.ws));
	case TIOCSWINSZ: {
		struct kwinsize ws;
		if (copy_from_user(&ws, arg, sizeof(ws)))
			return -EFAULT;
		bool changed = memcmp(&ws, &tty.ws, sizeof(ws)) != 0;
		tty.ws = ws;
		if (changed)
			signal_group(tty.pgrp, SIGWINCH);
		return 0;
	}
	case FIONREAD:
		fl = spin_lock_irqsave(&tty.lock);
		r = inq();
		spin_unlock_irqrestore(&tty.lock, fl);
		return copy_to_user(arg, &r, sizeof(r));
	case TIOCOUTQ:
		r = 0;   /* output is synchronous */
		return copy_to_user(arg, &r, sizeof(r));
	case TCFLSH:
		if (arg > 2)
			return -EINVAL;
		if ((r = job_check(SIGTTOU)))
			return r;
		if (arg != 1) {   /* TCIFLUSH, TCIOFLUSH; output has no queue */
			fl = spin_lock_irqsave(&tty.lock);
			flush_input();
			spin_unlock_irqrestore(&tty.lock, fl);
		}
		return 0;
	case TCSBRK:    /* tcdrain, tcsendbreak: output is already out */
	case TCXONC:
		if ((r = job_check(SIGTTOU)))
			return r;
		fl = spin_lock_irqsave(&tty.lock);
		switch (arg) {
		case TCOOFF:
			tty.stopped = tty.tco_stopped = true;
			break;
		case TCOON:
			if (tty.tco_stopped)
				start_output(true);
			break;
		case TCIOFF:
		case TCION:
			if (CC(arg == TCIOFF ? VSTOP : VSTART))
				out_raw((const char *)&CC(arg == TCIOFF ? VSTOP : VSTART), 1);
			break;
		default:
			spin_unlock_irqrestore(&tty.lock, fl);
			return -EINVAL;
		}
		spin_unlock_irqrestore(&tty.lock, fl);
		return 0;
	}
	return ctty_ioctl(proc_current(), cmd, arg);
}

static long tty_ioctl(struct file *f, unsigned cmd, u64 arg)
{
	(void)f;
	return termios_ioctl(cmd, arg);
}

static const struct file_ops ttys0_fops = {
	.read = tty_read, .write = tty_write, .poll = tty_poll, .waitqs = tty_waitqs,
	.ioctl = tty_ioctl, .stat_mode = S_IFCHR,
};
static const struct file_ops console_fops = {
	.read = tty_read, .write = tty_write, .poll = tty_poll, .waitqs = tty_waitqs,
	.ioctl = tty_ioctl, .stat_mode = S_IFCHR,
};

/* /dev/tty: the caller's controlling terminal, which can only be this one;
 * a process without one gets -ENXIO (Linux's tty_open_current_tty). Once
 * open it is ttyS0, job control's checks included. */
static int devtty_open(struct file *f)
{
	(void)f;
	struct proc *p = proc_current();
	return p && has_ctty(p) ? 0 : -ENXIO;
}

static const struct file_ops devtty_fops = {
	.read = tty_read, .write = tty_write, .poll = tty_poll, .waitqs = tty_waitqs,
	.ioctl = tty_ioctl, .stat_mode = S_IFCHR, .open = devtty_open,
};

/* Linux's defaults for a serial console (tty_std_termios), at 115200 */
static void defaults(void)
{
	static const u8 cc[NCCS] = {
		[VINTR] = 3, [VQUIT] = 034, [VERASE] = 0177, [VKILL] = 025, [VEOF] = 4,
		[VTIME] = 0, [VMIN] = 1, [VSTART] = 021, [VSTOP] = 023, [VSUSP] = 032,
		[VREPRINT] = 022, [VDISCARD] = 017, [VWERASE] = 027, [VLNEXT] = 026,
	};
	tty.t.c_iflag = ICRNL | IXON;
	tty.t.c_oflag = OPOST | ONLCR;
	tty.t.c_cflag = B115200 | CS8 | CREAD | HUPCL | CLOCAL;
	tty.t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
	memcpy(tty.t.c_cc, cc, sizeof(cc));
}

void tty_init(void)
{
	if (repl_uses_console()) {
		pr_info("tty: the REPL reads the console (repl=ttyS0): /dev/console stays raw");
		return;
	}
	defaults();
	waitq_init(&tty.rwait, "tty_read");
	waitq_init(&tty.owait, "tty_write");
	waitq_init(&kwait, "tty_rx");
	bool irq = false;
	if (arch_uart_init(0)) {
		int v = arch_irq_alloc(rx_irq, NULL);
		irq = v >= 0 && arch_uart_rx_irq(0, v, 0) == 0;
	}
	if (!irq)
		pr_warn("tty: no receive interrupt for the console; polling every 10 ms");
	struct thread *t = thread_create("tty", tty_main, (void *)(uptr)irq, -1, 0);
	if (!t) {
		pr_err("tty: cannot create the tty thread; /dev/console stays raw");
		return;
	}
	thread_put(t);
	tty_ready = true;
	dev_set_console_ops(&console_fops, &ttys0_fops, &devtty_fops);
}
