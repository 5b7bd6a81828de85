/*
 * Kernel command-line settings. A subsystem declares the options it
 * understands, next to the code they configure, with
 *   KPARAM("name", setter, "help text");
 * where setter(const char *value) returns 0 or a negative errno. kmain
 * applies the command line once, early (param_apply); options no subsystem
 * declares are reported on the console as unknown, bad values as bad, and
 * neither stops the boot.
 *
 * The declarations are collected by the linker (section .kparam), so this
 * header is the whole interface: any layer may declare options, and the
 * REPL lists them (param_all) without knowing who declared them.
 */
#ifndef KLIB_PARAM_H
#define KLIB_PARAM_H

#include "kernel/lib/types.h"
#include "kernel/lib/cmdline.h"

struct kparam {
	const char *name;
	int (*set)(const char *val);
	const char *help;
};

/* The section holds pointers: the compiler may pad and align the structs
 * themselves, but an array of pointers has no gaps. */
#define KPARAM(nm, fn, hlp) \
	static const struct kparam __kparam_##fn = { .name = (nm), .set = (fn), .help = (hlp) }; \
	static const struct kparam *const __kparam_ptr_##fn __section(".kparam") \
		__attribute__((used)) = &__kparam_##fn

/* The command line as param_apply parsed it (the REPL shows it). */
extern struct cmdline kernel_cmdline;

/* Apply the command line: call each option's setter, report unknown and
 * invalid ones. Returns the number of problems reported. */
int param_apply(const char *raw, bool skip_image);
const struct kparam *param_find(const char *name);
/* All known options (for the REPL and the README), n of them. */
const struct kparam *const *param_all(size_t *n);

#endif
