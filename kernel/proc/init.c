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
 */
#include "kernel/proc/proc.h"
#include "fs/vfs.h"
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

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
