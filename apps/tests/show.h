/* The differential test programs' printing (apps/tests): T(call) prints
 * the call's text and what it returned, "-1 <strerror>" for an error, so
 * that Linux's output and Caboose's can be compared line by line;
 * status() prints how a waited-for child ended. */
#ifndef APPS_TESTS_SHOW_H
#define APPS_TESTS_SHOW_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static inline void show(const char *what, long r)
{
	if (r < 0)
		printf("%s = -1 %s\n", what, strerror(errno));
	else
		printf("%s = %ld\n", what, r);
}
#define T(expr) show(#expr, (long)(expr))

static inline void status(const char *what, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", what, WTERMSIG(st));
	else
		printf("%s: status %#x\n", what, st);
}

#endif
