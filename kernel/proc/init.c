/*
 * The first programs: init=PATH[,PATH...] on the command line runs each
 * program of the initial archive in turn, waits for it and logs how it
 * ended; init.args= gives them arguments after argv[0]; init.exit=qemu
 * then leaves QEMU with the last program's status (tests). Without init=
 * the kernel runs no program (its services run as before).
 *
 * QEMU's status with init.exit=qemu is (c << 1) | 1 (isa-debug-exit),
 * where c is the program's exit code if it exited (codes above 127 are
 * given as 127), or 64 + the signal number if a signal killed it, or 126
 * if it could not be started.
 *
 * The REPL's `run PATH [ARG...]` starts a program the same way at any
 * time (with init's environment); a kernel thread waits for it and logs
 * its end as init does, with its pid.
 */
#include "kernel/proc/proc.h"
#include "fs/vfs.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/lib/format.h"
#include "kernel/repl/repl.h"

#define INIT_MAX_PROGS 8
#define INIT_MAX_ARGS  16
#define INIT_BUF       256

static char init_progs[INIT_BUF];
static char init_args[INIT_BUF];
static bool init_exit_qemu;

static int set_init(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= sizeof(init_progs) || v[0] != '/')
		return -EINVAL;
	memcpy(init_progs, v, n + 1);
	return 0;
}
KPARAM("init", set_init, "programs of the initial archive to run in turn: /PATH[,/PATH...]");

static int set_init_args(const char *v)
{
	size_t n = strlen(v);
	if (n >= sizeof(init_args))
		return -EINVAL;
	memcpy(init_args, v, n + 1);
	return 0;
}
KPARAM("init.args", set_init_args, "arguments for the init programs, comma-separated");

static int set_init_exit(const char *v)
{
	if (strcmp(v, "qemu") == 0)
		init_exit_qemu = true;
	else if (strcmp(v, "stay") == 0)
		init_exit_qemu = false;
	else
		return -EINVAL;
	return 0;
}
KPARAM("init.exit", set_init_exit,
       "after the init programs: stay (default) or qemu (exit QEMU with the last status)");

/* Split s at commas in place; up to max words. */
static int split(char *s, char **out, int max)
{
	int n = 0;
	while (*s && n < max) {
		out[n++] = s;
		char *c = strchr(s, ',');
		if (!c)
			break;
		*c = '\0';
		s = c + 1;
	}
	return n;
}

static int exit_code(int status)
{
	if ((status & 0x7f) == 0)
		return MIN((status >> 8) & 0xff, 127);
	return 64 + (status & 0x7f);
}

void proc_run_init(void)
{
	if (!init_progs[0])
		return;
	static char progs[INIT_BUF], args[INIT_BUF];
	memcpy(progs, init_progs, sizeof(progs));
	memcpy(args, init_args, sizeof(args));
	char *prog[INIT_MAX_PROGS];
	const char *argv[INIT_MAX_ARGS + 2];
	int nprog = split(progs, prog, INIT_MAX_PROGS);
	int nargs = split(args, (char **)argv + 1, INIT_MAX_ARGS);
	argv[nargs + 1] = NULL;
	/* what Linux gives its init */
	static const char *const envp[] = { "HOME=/", "TERM=linux", NULL };
	int code = 0;
	for (int i = 0; i < nprog; i++) {
		argv[0] = prog[i];
		struct proc *p;
		int r = proc_spawn(prog[i], argv, envp, &p);
		if (r < 0) {
			pr_err("init: cannot run %s: error %d%s", prog[i], r,
			       r == -ENOENT ? " (not in the initial archive)" :
			       r == -ENOEXEC ? " (not a static x86-64 ELF program)" : "");
			code = 126;
			continue;
		}
		pr_info("init: started %s as pid %d", prog[i], p->pid);
		code = exit_code(proc_wait(p));
		pr_info("init: %s ended with code %d (%s)", prog[i], code,
			code < 64 || code == 127 ? "its exit status" : "64 + the signal that killed it");
	}
	if (init_exit_qemu) {
		int s = vfs_sync_all();   /* a clean shutdown: journals committed and clean */
		if (s < 0)
			pr_err("init: syncing the file systems failed (error %d)", s);
		pr_info("init: leaving QEMU with code %d", code);
		arch_exit(code);
	}
}

/* ---- REPL: run ---- */

struct run_wait {
	struct proc *p;
	int pid;
	char path[64];
};

static void run_wait_main(void *arg)
{
	struct run_wait *w = arg;
	int code = exit_code(proc_wait(w->p));
	pr_info("init: %s (pid %d) ended with code %d (%s)", w->path, w->pid, code,
		code < 64 || code == 127 ? "its exit status" : "64 + the signal that killed it");
	kfree(w);
}

#define RUN_MAX_ARGS 16

REPL_CMD("run", cmd_run, "PATH [ARG...]",
	 "start a program as init= does (its end is logged: init: PATH (pid N) ended with code C)");
static int cmd_run(struct repl_out *o, int argc, char **argv)
{
	if (argc < 2 || argc > RUN_MAX_ARGS + 1 || argv[1][0] != '/')
		return repl_error(o, -EINVAL, "usage: run /PATH [ARG...] (at most %d arguments)",
				  RUN_MAX_ARGS);
	if (sched_frozen())   /* the lookup's locks may be held by a frozen thread */
		return repl_error(o, -EBUSY, "the machine is frozen: thaw first");
	static const char *const envp[] = { "HOME=/", "TERM=linux", NULL };
	const char *args[RUN_MAX_ARGS + 2];
	for (int i = 1; i < argc; i++)
		args[i - 1] = argv[i];
	args[argc - 1] = NULL;
	struct run_wait *w = kzalloc(sizeof(*w));
	if (!w)
		return repl_error(o, -ENOMEM, "run: out of memory");
	ksnprintf(w->path, sizeof(w->path), "%s", argv[1]);
	int r = proc_spawn(argv[1], args, envp, &w->p);
	if (r < 0) {
		kfree(w);
		return repl_error(o, r, "run %s: %s", argv[1],
				  r == -ENOENT ? "no such program" :
				  r == -ENOEXEC ? "not an x86-64 ELF program" : "cannot start it");
	}
	w->pid = w->p->pid;
	int pid = w->pid;   /* w is the waiter's from here on */
	struct thread *t = thread_create("run-wait", run_wait_main, w, -1, 0);
	if (!t) {   /* nobody else would reap it: end it and wait here */
		proc_kill(pid, 9);
		run_wait_main(w);
		return repl_error(o, -ENOMEM, "run: no memory for the thread that waits: pid %d killed",
				  pid);
	}
	thread_put(t);
	repl_obj_begin(o, "run");
	repl_kv_u64(o, "pid", (u64)pid);
	repl_obj_end(o);
	return 0;
}
