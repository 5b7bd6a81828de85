/* Big argument lists and a deep stack, as Linux takes them (its 8 MiB
 * stack limit): an execve of itself with 20,000 arguments (about 200 KiB)
 * arrives whole; one argument longer than 128 KiB (MAX_ARG_STRLEN), and
 * 3 MiB of arguments in all (over a quarter of the stack limit), fail
 * with E2BIG and leave the caller running; the main thread uses 4 MiB of
 * its stack. A shell's glob over a directory of a few thousand files
 * needs the first; a program with big frames, the last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "show.h"

/* environ comes from <unistd.h> (the build defines _GNU_SOURCE) */

/* 65 frames of 64 KiB each: a little over 4 MiB of stack, every frame
 * touched at both ends */
static unsigned long deep(int n)
{
	volatile char frame[64 * 1024];
	frame[0] = (char)n;
	frame[sizeof(frame) - 1] = (char)(n + 1);
	unsigned long below = n ? deep(n - 1) : 0;
	return below + (unsigned char)frame[0] + (unsigned char)frame[sizeof(frame) - 1];
}

static char big[200 * 1024], mid[100 * 1024];

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "child")) {
		unsigned long sum = 0;
		size_t bytes = 0;
		for (int i = 1; i < argc; i++) {
			for (const char *p = argv[i]; *p; p++)
				sum = sum * 31 + (unsigned char)*p;
			bytes += strlen(argv[i]) + 1;
		}
		printf("child: argc=%d bytes=%zu sum=%lu last=%s\n", argc, bytes, sum,
		       argv[argc - 1]);
		return 0;
	}
	printf("deep: %lu\n", deep(64));
	memset(big, 'b', sizeof(big) - 1);
	char *one[] = { argv[0], "child", big, NULL };
	T(execve(argv[0], one, environ));
	memset(mid, 'm', sizeof(mid) - 1);
	char *many[33] = { argv[0], "child" };
	for (int i = 2; i < 32; i++)
		many[i] = mid;
	T(execve(argv[0], many, environ));
	enum { N = 20000 };
	char **av = malloc((N + 3) * sizeof(*av));
	if (!av)
		return 1;
	av[0] = argv[0];
	av[1] = "child";
	for (int i = 0; i < N; i++) {
		av[i + 2] = malloc(12);
		if (!av[i + 2])
			return 1;
		snprintf(av[i + 2], 12, "arg%05d", i);
	}
	av[N + 2] = NULL;
	fflush(stdout);
	T(execve(argv[0], av, environ));
	return 1;
}
