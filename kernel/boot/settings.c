/*
 * The options of the console and panic (the command-line machinery itself
 * is kernel/lib/param.c).
 */
#include "kernel/console/console.h"
#include "kernel/lib/param.h"
#include "kernel/lib/string.h"

static int set_loglevel(const char *v)
{
	u64 n;
	if (kstrtou64(v, NULL, false, &n) < 0 || n > LOG_DEBUG)
		return -EINVAL;
	log_level = (int)n;
	return 0;
}
KPARAM("loglevel", set_loglevel, "0 (emergencies only) to 4 (debug); default 3");

static int set_panic(const char *v)
{
	if (strcmp(v, "halt") == 0)
		panic_action = PANIC_HALT;
	else if (strcmp(v, "exit") == 0)
		panic_action = PANIC_EXIT;
	else
		return -EINVAL;
	return 0;
}
KPARAM("panic", set_panic, "halt (default) or exit: leave QEMU with status 5");
