/* Command-line splitting; see cmdline.h. */
#include "kernel/lib/cmdline.h"
#include "kernel/lib/string.h"

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int cmdline_parse(struct cmdline *c, const char *raw, bool skip_image)
{
	size_t n = strnlen(raw, CMDLINE_MAX);
	const char *p = raw;

	memset(c, 0, sizeof(*c));
	if (n == CMDLINE_MAX)
		c->truncated = true;
	if (skip_image) {
		while (p < raw + n && is_space(*p))
			p++;
		size_t i = 0;
		while (p < raw + n && !is_space(*p)) {
			if (i + 1 < sizeof(c->image))
				c->image[i++] = *p;
			p++;
		}
	}
	char *out = c->buf;
	char *end = c->buf + sizeof(c->buf); /* one past the last byte */
	bool input_cut = c->truncated;       /* raw went on past CMDLINE_MAX */
	while (p < raw + n) {
		while (p < raw + n && is_space(*p))
			p++;
		if (p >= raw + n)
			break;
		if (c->nargs == CMDLINE_MAX_ARGS) {
			c->truncated = true;
			break;
		}
		struct cmdline_arg *a = &c->arg[c->nargs++];
		char *word = out;
		a->key = out;
		a->val = "";
		bool in_quote = false, have_val = false, cut = false;
		while (p < raw + n && (in_quote || !is_space(*p))) {
			if (out + 1 >= end) { /* no room for this byte and the NUL */
				cut = true;
				break;
			}
			char ch = *p++;
			if (ch == '"') {
				in_quote = !in_quote;
				continue;
			}
			if (ch == '=' && !have_val && !in_quote) {
				have_val = true;
				*out++ = '\0';
				a->val = out;
				continue;
			}
			*out++ = ch;
		}
		/* a word cut short, by our buffer or by the end of what the loader
		 * gave, is dropped: smp=16 cut to smp=1 must not take effect */
		if (cut || (input_cut && p >= raw + n)) {
			c->nargs--;
			c->truncated = true;
			out = word;
			*out = '\0';
			break;
		}
		*out++ = '\0';
	}
	return c->truncated ? -E2BIG : 0;
}

const char *cmdline_get(const struct cmdline *c, const char *key)
{
	const char *v = NULL;
	for (int i = 0; i < c->nargs; i++)
		if (strcmp(c->arg[i].key, key) == 0)
			v = c->arg[i].val;
	return v;
}
