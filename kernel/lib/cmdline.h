/*
 * Kernel command-line parsing. The loader's string starts with the image
 * name (a file name under QEMU, a URI under iPXE): cmdline_parse skips it.
 * What follows is whitespace-separated words, each `key=value` or a bare
 * `key` (value ""). A value may be quoted with "..." to contain spaces.
 * The parsed form copies the string, so the loader's memory can be reused.
 */
#ifndef KLIB_CMDLINE_H
#define KLIB_CMDLINE_H

#include "kernel/lib/types.h"

#define CMDLINE_MAX 1024
#define CMDLINE_MAX_ARGS 48

struct cmdline_arg {
	const char *key;
	const char *val;
};

struct cmdline {
	char buf[CMDLINE_MAX];
	char image[128];
	int nargs;
	bool truncated; /* input was longer than CMDLINE_MAX or had too many words */
	struct cmdline_arg arg[CMDLINE_MAX_ARGS];
};

/* Returns 0, or -E2BIG when input was cut (c->truncated is then set and the
 * words that fit are still parsed). */
int cmdline_parse(struct cmdline *c, const char *raw, bool skip_image);
/* The value of the last occurrence of key, or NULL when absent. */
const char *cmdline_get(const struct cmdline *c, const char *key);

#endif
