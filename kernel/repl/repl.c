/*
 * The REPL: reads lines from its serial port (ttyS1 by default, so the human
 * log on the console does not garble it; repl=ttyS0 shares the console,
 * repl=off disables it), runs commands, prints results human-readable or,
 * after a "json" prefix, as one JSON document on one line. The thread is
 * THREAD_NOFREEZE: it keeps running while `freeze` has halted the other
 * CPUs.
 *
 * Input: the port's receive interrupt copies bytes into a ring (dropping and
 * counting what does not fit) and wakes the REPL thread (DESIGN principle
 * 6). Lines longer than REPL_LINE_MAX, and lines with bytes that are not
 * printable ASCII, are refused with an error, never run.
 *
 * Locks: [I] the ring has one consumer (the REPL thread) and producers that
 * hold rx_lock: the interrupt handler, and the REPL thread's own check for
 * a lost interrupt (two CPUs must never both read the UART's data register
 * for one byte). Indices are atomic; everything else is touched only by the
 * REPL thread.
 */
#include "kernel/repl/repl.h"
#include "kernel/arch/arch.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/sched.h"
#include "kernel/sync/spinlock.h"

#define REPL_LINE_MAX 200
#define REPL_ARGS_MAX 16
#define RING_SIZE 1024
#define PROMPT "caboose> "

struct repl_out {
	bool json;
	bool failed;
	int sections;           /* JSON sections written so far */
	int items;              /* items in the open object/array */
	int ncols;
	struct { char name[24]; bool num; int width; } col[REPL_MAX_COLS];
};

static int repl_port = 1;       /* ttyS1 */
static struct waitq rx_wq;
static u8 ring[RING_SIZE];
static u32 ring_head, ring_tail; /* [I] head: producer, tail: consumer */
static u64 rx_dropped, rx_bytes, lines_run, lines_refused; /* [I] / REPL thread */

extern const struct repl_cmd *const _repl_cmd_start[], *const _repl_cmd_end[];
extern const struct kcounter *const _kcounter_start[], *const _kcounter_end[];

const struct kcounter *const *kcounters(size_t *n)
{
	*n = (size_t)(_kcounter_end - _kcounter_start);
	return _kcounter_start;
}

static int set_repl(const char *v)
{
	if (strcmp(v, "ttyS0") == 0)
		repl_port = 0;
	else if (strcmp(v, "ttyS1") == 0)
		repl_port = 1;
	else if (strcmp(v, "off") == 0)
		repl_port = -1;
	else
		return -EINVAL;
	return 0;
}
KPARAM("repl", set_repl, "ttyS1 (default, COM2), ttyS0 (share the console) or off");

/* ---- output ---- */

static void out_raw(const char *s, size_t n)
{
	if (repl_port == 0) {
		console_write(s, n);
		return;
	}
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			arch_uart_write((unsigned)repl_port, s + start, i - start);
			arch_uart_write((unsigned)repl_port, "\r\n", 2);
			start = i + 1;
		}
	}
	arch_uart_write((unsigned)repl_port, s + start, n - start);
}

static void out_str(const char *s) { out_raw(s, strlen(s)); }

static void out_fmt(const char *fmt, ...) __printf(1, 2);
static void out_fmt(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_raw(buf, (size_t)MIN(n, (int)sizeof(buf) - 1));
}

static void out_json_str(const char *s)
{
	char buf[8];
	out_raw("\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[0] = '\\';
			buf[1] = (char)c;
			out_raw(buf, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			ksnprintf(buf, sizeof(buf), "\\u%04x", c);
			out_raw(buf, 6);
		} else {
			out_raw((const char *)&c, 1);
		}
	}
	out_raw("\"", 1);
}

bool repl_json(const struct repl_out *o) { return o->json; }

void repl_printf(struct repl_out *o, const char *fmt, ...)
{
	if (o->json)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_raw(buf, (size_t)MIN(n, (int)sizeof(buf) - 1));
}

int repl_error(struct repl_out *o, int err, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->failed = true;
	if (o->json) {
		out_str(o->sections ? ",\"error\":" : "\"error\":");
		out_json_str(buf);
		out_fmt(",\"errno\":%d", err);
		o->sections++;
	} else {
		out_fmt("error: %s\n", buf);
	}
	return err;
}

static void section(struct repl_out *o, const char *name)
{
	if (o->sections++)
		out_raw(",", 1);
	out_json_str(name);
	out_raw(":", 1);
}

void repl_obj_begin(struct repl_out *o, const char *name)
{
	o->items = 0;
	if (o->json) {
		section(o, name);
		out_raw("{", 1);
	}
}

static void key(struct repl_out *o, const char *k)
{
	if (o->items++)
		out_raw(",", 1);
	out_json_str(k);
	out_raw(":", 1);
}

void repl_kv_u64(struct repl_out *o, const char *k, u64 v)
{
	if (o->json) {
		key(o, k);
		out_fmt("%llu", (unsigned long long)v);
	} else {
		out_fmt("%-22s %llu\n", k, (unsigned long long)v);
	}
}

void repl_kv_str(struct repl_out *o, const char *k, const char *v)
{
	if (o->json) {
		key(o, k);
		out_json_str(v);
	} else {
		out_fmt("%-22s %s\n", k, v);
	}
}

void repl_obj_end(struct repl_out *o)
{
	if (o->json)
		out_raw("}", 1);
}

/* cols: space-separated name[:n|s[:width]] */
void repl_table_begin(struct repl_out *o, const char *name, const char *cols)
{
	o->ncols = 0;
	o->items = 0;
	for (const char *p = cols; *p && o->ncols < REPL_MAX_COLS;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		int c = o->ncols++;
		size_t n = 0;
		while (*p && *p != ' ' && *p != ':' && n < sizeof(o->col[c].name) - 1)
			o->col[c].name[n++] = *p++;
		o->col[c].name[n] = '\0';
		o->col[c].num = false;
		o->col[c].width = (int)MAX(n, (size_t)6);
		if (*p == ':') {
			p++;
			o->col[c].num = *p == 'n';
			while (*p && *p != ':' && *p != ' ')
				p++;
			if (*p == ':') {
				u64 w = 0;
				const char *end;
				p++;
				if (kstrtou64(p, &end, false, &w) == 0) {
					o->col[c].width = (int)MIN(w, (u64)40);
					p = end;
				}
			}
		}
		while (*p && *p != ' ')
			p++;
	}
	if (o->json) {
		section(o, name);
		out_raw("[", 1);
		return;
	}
	for (int c = 0; c < o->ncols; c++)
		out_fmt(o->col[c].num ? "%*s " : "%-*s ", o->col[c].width, o->col[c].name);
	out_raw("\n", 1);
}

void repl_row(struct repl_out *o, const char *const *cells)
{
	if (o->json) {
		out_str(o->items++ ? ",{" : "{");
		for (int c = 0; c < o->ncols; c++) {
			if (c)
				out_raw(",", 1);
			out_json_str(o->col[c].name);
			out_raw(":", 1);
			if (o->col[c].num && cells[c][0])
				out_str(cells[c]);
			else
				out_json_str(cells[c]);
		}
		out_raw("}", 1);
		return;
	}
	for (int c = 0; c < o->ncols; c++)
		out_fmt(o->col[c].num ? "%*s " : "%-*s ", o->col[c].width, cells[c]);
	out_raw("\n", 1);
}

void repl_table_end(struct repl_out *o)
{
	if (o->json)
		out_raw("]", 1);
}

/* ---- parsing ---- */

int repl_parse_u64(const char *s, u64 *out) { return kstrtou64(s, NULL, false, out); }

int repl_parse_addr(const char *s, u64 *out)
{
	if (s[0] >= '0' && s[0] <= '9')
		return kstrtou64(s, NULL, false, out);
	char name[64];
	size_t n = 0;
	while (s[n] && s[n] != '+' && n < sizeof(name) - 1) {
		name[n] = s[n];
		n++;
	}
	name[n] = '\0';
	u64 off = 0;
	if (s[n] == '+' && kstrtou64(s + n + 1, NULL, false, &off) < 0)
		return -EINVAL;
	if (s[n] && s[n] != '+')
		return -EINVAL;
	u64 a = ksym_address(name);
	if (!a)
		return -ENOENT;
	*out = a + off;
	return 0;
}

/* ---- input ---- */

static spinlock_t rx_lock = SPINLOCK_INIT("repl_rx");

static void rx_irq(void *arg)
{
	(void)arg;
	int c;
	unsigned long f = spin_lock_irqsave(&rx_lock);
	while ((c = arch_uart_getc((unsigned)repl_port)) >= 0) {
		u32 h = __atomic_load_n(&ring_head, __ATOMIC_RELAXED);
		u32 t = __atomic_load_n(&ring_tail, __ATOMIC_ACQUIRE);
		rx_bytes++;
		if (h - t >= RING_SIZE) {
			rx_dropped++;
			continue;
		}
		ring[h % RING_SIZE] = (u8)c;
		__atomic_store_n(&ring_head, h + 1, __ATOMIC_RELEASE);
	}
	spin_unlock_irqrestore(&rx_lock, f);
	waitq_wake_one(&rx_wq);
}

static bool rx_ready(void)
{
	return __atomic_load_n(&ring_head, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&ring_tail, __ATOMIC_RELAXED);
}

static bool irq_mode;

static int rx_get(void)
{
	for (;;) {
		if (repl_port == 0 || !irq_mode) {
			/* polled: the console port's interrupt is not ours */
			int c = repl_port == 0 ? arch_console_getc() : arch_uart_getc((unsigned)repl_port);
			if (c >= 0)
				return c;
			thread_sleep_ns(5000000);
			continue;
		}
		wait_event_timeout(&rx_wq, rx_ready(), 1000000000ULL);
		if (!rx_ready()) {
			rx_irq(NULL); /* in case an interrupt was lost */
			continue;
		}
		u32 t = ring_tail;
		int c = ring[t % RING_SIZE];
		__atomic_store_n(&ring_tail, t + 1, __ATOMIC_RELEASE);
		return c;
	}
}

enum line_status { LINE_OK, LINE_LONG, LINE_GARBAGE, LINE_CANCEL };

static enum line_status read_line(char *buf, size_t size, u8 *bad)
{
	size_t n = 0;
	enum line_status st = LINE_OK;
	for (;;) {
		int c = rx_get();
		if (c == '\r' || c == '\n') {
			if (c == '\r' || n || st != LINE_OK) {
				out_raw("\n", 1);
				buf[MIN(n, size - 1)] = '\0';
				if (c == '\n' && n == 0 && st == LINE_OK)
					continue; /* LF after CR */
				return st;
			}
			continue;
		}
		if (c == 0x03) { /* Ctrl-C */
			out_raw("^C\n", 3);
			return LINE_CANCEL;
		}
		if (c == 0x7f || c == 0x08) {
			if (n && st == LINE_OK) {
				n--;
				out_raw("\b \b", 3);
			}
			continue;
		}
		if (c == 0x15) { /* Ctrl-U */
			while (n && st == LINE_OK) {
				n--;
				out_raw("\b \b", 3);
			}
			continue;
		}
		if (c < 0x20 || c > 0x7e) {
			if (st == LINE_OK)
				*bad = (u8)c;
			if (st != LINE_LONG)
				st = LINE_GARBAGE;
			continue;
		}
		if (n + 1 >= size) {
			st = LINE_LONG;
			continue;
		}
		if (st == LINE_OK) {
			buf[n++] = (char)c;
			out_raw((const char *)&c, 1);
		}
	}
}

/* ---- dispatch ---- */

/* A command word may carry a /format suffix (x/16x): match the name
 * before the slash. */
static const struct repl_cmd *find_cmd(const char *word)
{
	const char *slash = strchr(word, '/');
	size_t n = slash ? (size_t)(slash - word) : strlen(word);
	for (const struct repl_cmd *const *c = _repl_cmd_start; c < _repl_cmd_end; c++)
		if (strlen((*c)->name) == n && strncmp((*c)->name, word, n) == 0)
			return *c;
	return NULL;
}

static int split(char *line, char **argv)
{
	int argc = 0;
	char *p = line;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == REPL_ARGS_MAX)
			return -E2BIG;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return argc;
}

static void run_line(char *line)
{
	char *argv[REPL_ARGS_MAX];
	struct repl_out o = { 0 };
	int argc = split(line, argv);
	if (argc == 0)
		return;
	if (argc > 0 && strcmp(argv[0], "json") == 0) {
		o.json = true;
		argc--;
		memmove(argv, argv + 1, sizeof(argv[0]) * (size_t)MAX(argc, 0));
	}
	lines_run++;
	if (o.json) {
		out_raw("{", 1);
		out_str("\"cmd\":");
		out_json_str(argc > 0 ? argv[0] : "");
		o.sections = 1;
	}
	if (argc < 0) {
		repl_error(&o, -E2BIG, "too many words (max %d)", REPL_ARGS_MAX);
	} else if (argc == 0) {
		repl_error(&o, -EINVAL, "json needs a command after it");
	} else {
		const struct repl_cmd *c = find_cmd(argv[0]);
		if (!c)
			repl_error(&o, -ENOENT, "unknown command '%s' (try 'help')", argv[0]);
		else
			c->fn(&o, argc, argv);
	}
	if (o.json)
		out_fmt(",\"ok\":%s}\n", o.failed ? "false" : "true");
}

static void repl_main(void *arg)
{
	(void)arg;
	char line[REPL_LINE_MAX + 1];
	out_str("\nCaboose REPL: type 'help'. 'json <command>' prints JSON.\n" PROMPT);
	for (;;) {
		u8 bad = 0;
		enum line_status st = read_line(line, sizeof(line), &bad);
		switch (st) {
		case LINE_OK:
			run_line(line);
			break;
		case LINE_LONG:
			lines_refused++;
			out_fmt("error: line too long (max %d characters), ignored\n", REPL_LINE_MAX - 1);
			break;
		case LINE_GARBAGE:
			lines_refused++;
			out_fmt("error: line has an unprintable byte 0x%02x, ignored\n", bad);
			break;
		case LINE_CANCEL:
			break;
		}
		out_str(PROMPT);
	}
}

void repl_start(void)
{
	if (repl_port < 0)
		return;
	waitq_init(&rx_wq, "repl_rx");
	if (repl_port > 0) {
		if (!arch_uart_init((unsigned)repl_port)) {
			pr_warn("repl: no serial port ttyS%d; REPL disabled", repl_port);
			return;
		}
		int v = arch_irq_alloc(rx_irq, NULL);
		if (v >= 0 && arch_uart_rx_irq((unsigned)repl_port, v, 0) == 0)
			irq_mode = true;
		else
			pr_warn("repl: no receive interrupt for ttyS%d; polling", repl_port);
	}
	struct thread *t = thread_create("repl", repl_main, NULL, -1, THREAD_NOFREEZE);
	if (!t) {
		pr_err("repl: cannot create the REPL thread");
		return;
	}
	thread_put(t);
	pr_info("repl: listening on ttyS%d", repl_port);
}

/* ---- core commands ---- */

REPL_CMD("help", cmd_help, "[COMMAND]", "list commands, or describe one");
static int cmd_help(struct repl_out *o, int argc, char **argv)
{
	repl_table_begin(o, "commands", "command::10 args::22 help::40");
	for (const struct repl_cmd *const *c = _repl_cmd_start; c < _repl_cmd_end; c++) {
		if (argc > 1 && strcmp((*c)->name, argv[1]) != 0)
			continue;
		const char *cells[3] = { (*c)->name, (*c)->args, (*c)->help };
		repl_row(o, cells);
	}
	repl_table_end(o);
	if (argc > 1 && !find_cmd(argv[1]))
		return repl_error(o, -ENOENT, "unknown command '%s'", argv[1]);
	repl_printf(o, "prefix any command with 'json' for machine-readable output\n");
	return 0;
}

static u64 boot_ready_ns;

void repl_boot_ready(u64 ns) { boot_ready_ns = ns; }
bool repl_uses_console(void) { return repl_port == 0; }

REPL_CMD("uptime", cmd_uptime, "", "time since boot, boot-to-ready time, CPUs");
static int cmd_uptime(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	u64 now = arch_clock_ns();
	repl_obj_begin(o, "uptime");
	repl_kv_u64(o, "uptime_ms", now / 1000000);
	repl_kv_u64(o, "boot_to_ready_ms", boot_ready_ns / 1000000);
	repl_kv_u64(o, "cpus_online", ncpus);
	repl_kv_str(o, "frozen", sched_frozen() ? "yes" : "no");
	repl_obj_end(o);
	return 0;
}

REPL_CMD("loglevel", cmd_loglevel, "[0-4]", "show or set the console log level");
static int cmd_loglevel(struct repl_out *o, int argc, char **argv)
{
	if (argc > 2)
		return repl_error(o, -EINVAL, "usage: loglevel [0-4]");
	if (argc == 2) {
		u64 v;
		if (repl_parse_u64(argv[1], &v) < 0 || v > LOG_DEBUG)
			return repl_error(o, -EINVAL, "bad log level '%s' (0-4)", argv[1]);
		log_level = (int)v;
	}
	repl_obj_begin(o, "loglevel");
	repl_kv_u64(o, "level", (u64)log_level);
	repl_obj_end(o);
	return 0;
}

REPL_CMD("settings", cmd_settings, "", "the command line and every known option");
static int cmd_settings(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_obj_begin(o, "cmdline");
	repl_kv_str(o, "image", kernel_cmdline.image);
	repl_kv_str(o, "raw", boot_info.cmdline_raw);
	repl_obj_end(o);
	repl_table_begin(o, "given", "option::12 value::20 known::6");
	for (int i = 0; i < kernel_cmdline.nargs; i++) {
		const char *cells[3] = { kernel_cmdline.arg[i].key, kernel_cmdline.arg[i].val,
					 param_find(kernel_cmdline.arg[i].key) ? "yes" : "no" };
		repl_row(o, cells);
	}
	repl_table_end(o);
	size_t n;
	const struct kparam *const *all = param_all(&n);
	repl_table_begin(o, "options", "option::10 help::50");
	for (size_t i = 0; i < n; i++) {
		const char *cells[2] = { all[i]->name, all[i]->help };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

REPL_CMD("counters", cmd_counters, "[PREFIX]", "named counters (copies, switches, ...)");
static int cmd_counters(struct repl_out *o, int argc, char **argv)
{
	size_t n;
	const struct kcounter *const *all = kcounters(&n);
	repl_table_begin(o, "counters", "name::28 value:n:14 unit::10");
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strncmp(all[i]->name, argv[1], strlen(argv[1])) != 0)
			continue;
		char v[24];
		ksnprintf(v, sizeof(v), "%llu", (unsigned long long)kcounter_read(all[i]));
		const char *cells[3] = { all[i]->name, v, all[i]->unit };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

KCOUNTER_VAR("repl.lines", "lines", lines_run);
KCOUNTER_VAR("repl.lines_refused", "lines", lines_refused);
KCOUNTER_VAR("repl.rx_bytes", "bytes", rx_bytes);
KCOUNTER_VAR("repl.rx_dropped", "bytes", rx_dropped);

REPL_CMD("freeze", cmd_freeze, "", "halt every other CPU (the REPL keeps running)");
static int cmd_freeze(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int err = sched_freeze(2000000000ULL);
	if (err == -ETIMEDOUT)
		return repl_error(o, err, "some CPU did not halt within 2 s (still frozen; "
				  "'runq' shows which)");
	if (err)
		return repl_error(o, err, "cannot freeze (error %d)", err);
	repl_obj_begin(o, "freeze");
	repl_kv_str(o, "frozen", "yes");
	repl_kv_u64(o, "cpus_halted", ncpus - 1);
	repl_obj_end(o);
	return 0;
}

REPL_CMD("thaw", cmd_thaw, "", "resume the CPUs halted by freeze");
static int cmd_thaw(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	bool was = sched_frozen();
	sched_thaw();
	repl_obj_begin(o, "thaw");
	repl_kv_str(o, "frozen", "no");
	repl_kv_str(o, "was_frozen", was ? "yes" : "no");
	repl_obj_end(o);
	return 0;
}

REPL_CMD("irq", cmd_irq, "", "interrupt counts per vector and CPU");
static int cmd_irq(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char cols[256];
	int n = ksnprintf(cols, sizeof(cols), "vector:n:6 total:n:10");
	for (unsigned c = 0; c < ncpus && c < REPL_MAX_COLS - 2; c++)
		n += ksnprintf(cols + n, sizeof(cols) - (size_t)n, " cpu%u:n:9", c);
	repl_table_begin(o, "irq", cols);
	for (int v = 0; v < 256; v++) {
		u64 total = 0;
		for (unsigned c = 0; c < ncpus; c++)
			total += arch_irq_count(c, v);
		if (!total)
			continue;
		char buf[REPL_MAX_COLS][24];
		const char *cells[REPL_MAX_COLS];
		ksnprintf(buf[0], 24, "%d", v);
		ksnprintf(buf[1], 24, "%llu", (unsigned long long)total);
		for (unsigned c = 0; c < ncpus && c < REPL_MAX_COLS - 2; c++)
			ksnprintf(buf[c + 2], 24, "%llu", (unsigned long long)arch_irq_count(c, v));
		for (int i = 0; i < REPL_MAX_COLS; i++)
			cells[i] = buf[i];
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

/* Parse an address argument, reporting what is wrong with it. */
static int addr_arg(struct repl_out *o, const char *s, u64 *addr)
{
	int err = repl_parse_addr(s, addr);
	if (err == -ENOENT)
		return repl_error(o, err, "no symbol '%s'", s);
	if (err)
		return repl_error(o, err, "bad address '%s'", s);
	return 0;
}

/* x/N[b|w|g] ADDR: N units of 1, 4 or 8 bytes (default 8) */
REPL_CMD("x", cmd_x, "/N[bwg] ADDR|SYM[+OFF]", "read memory (refuses unmapped addresses)");
static int cmd_x(struct repl_out *o, int argc, char **argv)
{
	u64 count = 4, unit = 8, addr;
	const char *spec = argv[0] + 1;
	int ai = 1;
	if (argc >= 2 && argv[0][1] == '\0' && argv[1][0] == '/') {
		spec = argv[1];
		ai = 2;
	}
	if (*spec == '/') {
		spec++;
		const char *end = spec;
		if (*spec >= '0' && *spec <= '9' && kstrtou64(spec, &end, false, &count) < 0)
			return repl_error(o, -EINVAL, "bad count in '%s'", argv[0]);
		spec = end;
		if (*spec == 'x')
			spec++;
		if (*spec == 'b')
			unit = 1, spec++;
		else if (*spec == 'w')
			unit = 4, spec++;
		else if (*spec == 'g')
			unit = 8, spec++;
		if (*spec)
			return repl_error(o, -EINVAL, "bad format '/%s' (use /N, /Nb, /Nw, /Ng)", spec);
	}
	if (ai >= argc)
		return repl_error(o, -EINVAL, "usage: x/N[bwg] ADDR|SYMBOL[+OFFSET]");
	int err = addr_arg(o, argv[ai], &addr);
	if (err)
		return err;
	if (count == 0 || count > 256)
		return repl_error(o, -ERANGE, "count %llu out of range (1-256)",
				  (unsigned long long)count);
	if (addr % unit)
		return repl_error(o, -EINVAL, "address %#llx not aligned to %llu",
				  (unsigned long long)addr, (unsigned long long)unit);
	u64 end = addr + count * unit;
	if (end < addr) /* the range wraps past the top: nothing there is ours */
		return repl_error(o, -EFAULT, "address %#llx is not mapped",
				  (unsigned long long)addr);
	for (u64 a = ALIGN_DOWN(addr, PAGE_SIZE); a < end; a += PAGE_SIZE) {
		unsigned prot;
		bool large;
		if (a < DIRECT_BASE || !arch_kaddr_prot(a, &prot, &large))
			return repl_error(o, -EFAULT, "address %#llx is not mapped",
					  (unsigned long long)MAX(a, addr));
		if (prot & KMAP_NC) /* device registers: a read can have effects */
			return repl_error(o, -EPERM, "address %#llx is device memory; not read",
					  (unsigned long long)MAX(a, addr));
	}
	u64 off = 0;
	const char *sym = ksym_lookup(addr, &off);
	repl_obj_begin(o, "memory");
	if (o->json) {
		char a[24];
		ksnprintf(a, sizeof(a), "%#llx", (unsigned long long)addr);
		repl_kv_str(o, "address", a);
		repl_kv_u64(o, "unit", unit);
		out_raw(",\"values\":[", 11);
	}
	for (u64 i = 0; i < count; i++) {
		u64 v = unit == 1 ? *(volatile u8 *)(addr + i) :
			unit == 4 ? *(volatile u32 *)(addr + 4 * i) : *(volatile u64 *)(addr + 8 * i);
		if (o->json) {
			out_fmt(i ? ",%llu" : "%llu", (unsigned long long)v);
			continue;
		}
		if (i % (16 / unit) == 0) {
			u64 at = addr + i * unit;
			if (sym)
				out_fmt("%s%016llx <%s+0x%llx>:", i ? "\n" : "", (unsigned long long)at,
					sym, (unsigned long long)(off + i * unit));
			else
				out_fmt("%s%016llx:", i ? "\n" : "", (unsigned long long)at);
		}
		out_fmt(" %0*llx", (int)unit * 2, (unsigned long long)v);
	}
	if (o->json)
		out_raw("]", 1);
	else
		out_raw("\n", 1);
	repl_obj_end(o);
	return 0;
}

REPL_CMD("w", cmd_w, "ADDR|SYM[+OFF] VALUE [1|4|8]", "write memory (mapped, writable data only)");
static int cmd_w(struct repl_out *o, int argc, char **argv)
{
	u64 addr, val, size = 8;
	if (argc < 3 || argc > 4)
		return repl_error(o, -EINVAL, "usage: w ADDR|SYMBOL[+OFFSET] VALUE [1|4|8]");
	int err = addr_arg(o, argv[1], &addr);
	if (err)
		return err;
	if (repl_parse_u64(argv[2], &val) < 0)
		return repl_error(o, -EINVAL, "bad value '%s'", argv[2]);
	if (argc == 4 && (repl_parse_u64(argv[3], &size) < 0 ||
			  (size != 1 && size != 4 && size != 8)))
		return repl_error(o, -EINVAL, "bad size '%s' (1, 4 or 8)", argv[3]);
	if (addr % size)
		return repl_error(o, -EINVAL, "address %#llx not aligned to %llu",
				  (unsigned long long)addr, (unsigned long long)size);
	if (size < 8 && val >> (size * 8))
		return repl_error(o, -ERANGE, "value does not fit in %llu bytes",
				  (unsigned long long)size);
	unsigned prot;
	bool large;
	if (addr < DIRECT_BASE || !arch_kaddr_prot(addr, &prot, &large))
		return repl_error(o, -EFAULT, "address %#llx is not mapped", (unsigned long long)addr);
	if (!(prot & KMAP_W) || (prot & (KMAP_X | KMAP_NC)))
		return repl_error(o, -EPERM, "address %#llx is not writable data",
				  (unsigned long long)addr);
	u64 old;
	if (size == 1) {
		old = *(volatile u8 *)addr;
		*(volatile u8 *)addr = (u8)val;
	} else if (size == 4) {
		old = *(volatile u32 *)addr;
		*(volatile u32 *)addr = (u32)val;
	} else {
		old = *(volatile u64 *)addr;
		*(volatile u64 *)addr = val;
	}
	repl_obj_begin(o, "write");
	repl_kv_u64(o, "old", old);
	repl_kv_u64(o, "new", val);
	repl_obj_end(o);
	return 0;
}
