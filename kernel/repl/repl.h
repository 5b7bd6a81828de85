/*
 * The kernel REPL (DESIGN principle 4): a prompt on a serial port that
 * inspects the live kernel and can freeze and thaw the other CPUs.
 *
 * A subsystem adds a command with
 *     REPL_CMD("name", fn, "ARGS", "what it shows");
 *     static int fn(struct repl_out *o, int argc, char **argv);
 * argv[0] is the command name. fn prints through the repl_out helpers,
 * which give human-readable text by default and one JSON document when the
 * line starts with "json"; it returns 0, or a negative errno after calling
 * repl_error. Commands run in the REPL thread, which keeps running while
 * the machine is frozen: they must not wait for other threads.
 *
 * Output shapes:
 *   key/value:  repl_obj_begin(o, "mem"); repl_kv_u64(o, "free", n); ...
 *               repl_obj_end(o);
 *   tables:     repl_table_begin(o, "threads", cols); repl_row(o, cells);
 *               repl_table_end(o); where cols is "id:n name state:s ..."
 *               (":n" numeric cells are printed bare in JSON)
 *   free text:  repl_printf (human mode only; ignored in JSON mode)
 */
#ifndef REPL_REPL_H
#define REPL_REPL_H

#include "kernel/lib/types.h"

struct repl_out;

struct repl_cmd {
	const char *name;
	int (*fn)(struct repl_out *o, int argc, char **argv);
	const char *args;
	const char *help;
};

#define REPL_CMD(nm, f, a, h) \
	static int f(struct repl_out *o, int argc, char **argv); \
	static const struct repl_cmd __repl_cmd_##f = { (nm), f, (a), (h) }; \
	static const struct repl_cmd *const __repl_cmd_ptr_##f __section(".repl_cmd") \
		__attribute__((used)) = &__repl_cmd_##f

/* Whether the line asked for JSON (commands whose human form is not a
 * table or key/value list, e.g. `profile folded`, print it by hand). */
bool repl_json(const struct repl_out *o);
void repl_printf(struct repl_out *o, const char *fmt, ...) __printf(2, 3);
int repl_error(struct repl_out *o, int err, const char *fmt, ...) __printf(3, 4);

void repl_obj_begin(struct repl_out *o, const char *name);
void repl_kv_u64(struct repl_out *o, const char *key, u64 v);
void repl_kv_str(struct repl_out *o, const char *key, const char *v);
void repl_obj_end(struct repl_out *o);

#define REPL_MAX_COLS 24
void repl_table_begin(struct repl_out *o, const char *name, const char *cols);
void repl_row(struct repl_out *o, const char *const *cells);
void repl_table_end(struct repl_out *o);

/* Parse a number or SYMBOL[+OFFSET]; 0 or -EINVAL / -ENOENT. */
int repl_parse_addr(const char *s, u64 *out);
int repl_parse_u64(const char *s, u64 *out);

void repl_start(void);
/* kmain reports the time the kernel became ready (arch_clock_ns), which
 * the uptime command shows. */
void repl_boot_ready(u64 ns);
/* Does the REPL read the console port (repl=ttyS0)? Then the tty leaves it. */
bool repl_uses_console(void);

#endif
