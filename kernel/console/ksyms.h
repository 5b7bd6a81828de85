/*
 * The embedded symbol table. tools/mksyms.sh turns `nm` output of a first
 * link into a .ksyms section (this layout); the second link places it last
 * in the image so no other address moves.
 */
#ifndef CONSOLE_KSYMS_H
#define CONSOLE_KSYMS_H

#include "kernel/lib/types.h"

struct ksym_entry {
	u64 addr;
	u32 name;   /* offset into the string table */
	u32 size;   /* 0 when unknown: extends to the next symbol */
};

struct ksym_table {
	u64 count;
	u64 strings_offset;            /* from the start of the table */
	struct ksym_entry entries[];   /* sorted by addr */
};

/* Name of the symbol containing addr and the offset into it, or NULL. */
const char *ksym_table_lookup(const struct ksym_table *t, u64 addr, u64 *offset);
u64 ksym_table_address(const struct ksym_table *t, const char *name);

#endif
