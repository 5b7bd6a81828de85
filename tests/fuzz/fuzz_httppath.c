/*
 * libFuzzer target for the HTTP responder's request targets
 * (apps/kernel/http_path.c): the input is a request target (cut at its
 * first NUL, as the responder's request line is), the first byte choosing
 * the root. A target taken must name a path below the root: the root, then
 * '/', no NUL, no ".." component, room left for the index; one refused
 * must be refused with 400, 403 or 414.
 */
#include <stdlib.h>
#include <string.h>
#include "apps/kernel/services.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const char *const roots[] = { "/srv/www", "", "/w" };
	if (size < 1)
		return 0;
	const char *root = roots[data[0] % 3];
	char *t = malloc(size);
	memcpy(t, data + 1, size - 1);
	t[size - 1] = 0;
	size_t osz = 64 + data[0] * 8u;   /* small buffers too: the 414 path */
	char *out = malloc(osz);
	int r = http_target_path(t, root, out, osz);
	size_t rl = strlen(root);
	if (r == 0) {
		size_t n = strlen(out);
		if (memcmp(out, root, rl) != 0 || out[rl] != '/' || n + sizeof(HTTP_INDEX) > osz)
			__builtin_trap();
		for (size_t i = rl; i + 1 < n; i++)   /* a ".." component */
			if (out[i] == '/' && out[i + 1] == '.' && out[i + 2] == '.' &&
			    (out[i + 3] == '/' || out[i + 3] == 0))
				__builtin_trap();
		(void)http_mime_type(out);
	} else if (r != 400 && r != 403 && r != 414) {
		__builtin_trap();
	}
	free(out);
	free(t);
	return 0;
}
