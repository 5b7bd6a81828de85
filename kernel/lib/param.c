/*
 * Kernel command-line settings (param.h): the options every subsystem
 * declares with KPARAM, collected by the linker. param_apply splits the
 * command line, calls the setters and reports unknown options and bad values
 * on the console; it never stops the boot.
 */
#include "kernel/lib/param.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

extern const struct kparam *const _kparam_start[], *const _kparam_end[];

struct cmdline kernel_cmdline;

const struct kparam *const *param_all(size_t *n)
{
	*n = (size_t)(_kparam_end - _kparam_start);
	return _kparam_start;
}

const struct kparam *param_find(const char *name)
{
	for (const struct kparam *const *p = _kparam_start; p < _kparam_end; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}

int param_apply(const char *raw, bool skip_image)
{
	int problems = 0;
	if (cmdline_parse(&kernel_cmdline, raw, skip_image) < 0) {
		pr_warn("cmdline: too long (over %d bytes or %d options); the rest is ignored",
			CMDLINE_MAX, CMDLINE_MAX_ARGS);
		problems++;
	}
	for (int i = 0; i < kernel_cmdline.nargs; i++) {
		const struct cmdline_arg *a = &kernel_cmdline.arg[i];
		const struct kparam *p = param_find(a->key);
		if (!p) {
			pr_warn("cmdline: unknown option '%s%s%s' (ignored)", a->key,
				a->val[0] ? "=" : "", a->val);
			problems++;
			continue;
		}
		int err = p->set(a->val);
		if (err) {
			pr_warn("cmdline: bad value for %s: '%s' (%s; error %d)", a->key, a->val,
				p->help, err);
			problems++;
		}
	}
	return problems;
}
