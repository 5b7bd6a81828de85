/* Symbol lookups in the embedded table (see ksyms.h). */
#include "kernel/console/ksyms.h"
#include "kernel/arch/arch.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

static const char *name_of(const struct ksym_table *t, const struct ksym_entry *e)
{
	return (const char *)t + t->strings_offset + e->name;
}

const char *ksym_table_lookup(const struct ksym_table *t, u64 addr, u64 *offset)
{
	if (!t || t->count == 0 || addr < t->entries[0].addr)
		return NULL;
	u64 lo = 0, hi = t->count; /* find the last entry with entries[i].addr <= addr */
	while (hi - lo > 1) {
		u64 mid = lo + (hi - lo) / 2;
		if (t->entries[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	const struct ksym_entry *e = &t->entries[lo];
	u64 off = addr - e->addr;
	if (e->size ? off >= e->size : (lo + 1 == t->count))
		return NULL;
	if (offset)
		*offset = off;
	return name_of(t, e);
}

u64 ksym_table_address(const struct ksym_table *t, const char *name)
{
	if (!t)
		return 0;
	for (u64 i = 0; i < t->count; i++)
		if (strcmp(name_of(t, &t->entries[i]), name) == 0)
			return t->entries[i].addr;
	return 0;
}

#ifndef CABOOSE_HOST
static const struct ksym_table *kernel_table(void)
{
	const struct ksym_table *t = (const struct ksym_table *)_ksyms_start;
	return t->count ? t : NULL;
}

const char *ksym_lookup(u64 addr, u64 *offset)
{
	return ksym_table_lookup(kernel_table(), addr, offset);
}

u64 ksym_address(const char *name)
{
	return ksym_table_address(kernel_table(), name);
}
#endif
