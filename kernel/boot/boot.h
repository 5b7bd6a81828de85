/*
 * What the loader handed over, in a loader-neutral form (filled by the
 * architecture's boot code, e.g. kernel/arch/x86_64/multiboot.c), and the
 * kernel's command-line settings.
 *
 * Settings: a subsystem declares the options it understands with
 *   KPARAM("name", setter, "help text");
 * where setter(const char *value) returns 0 or a negative errno. Options no
 * subsystem declares are reported on the console as unknown.
 */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

#include "kernel/lib/types.h"
#include "kernel/lib/cmdline.h"

#define BOOT_MEM_MAX 64
#define BOOT_MOD_MAX 8

enum { BOOT_MEM_USABLE = 1, BOOT_MEM_RESERVED = 2, BOOT_MEM_ACPI = 3, BOOT_MEM_NVS = 4 };

struct boot_mem_range {
	u64 base, len;
	u32 type;
};

struct boot_module {
	u64 start, end;          /* physical, end exclusive */
	char name[96];           /* the module's string (its file name or URI first) */
};

struct boot_info {
	const char *loader;
	char cmdline_raw[CMDLINE_MAX];
	bool cmdline_has_image;         /* first word is the image (QEMU, iPXE; not GRUB 2) */
	int nmem;
	struct boot_mem_range mem[BOOT_MEM_MAX];
	int nmods;
	struct boot_module mods[BOOT_MOD_MAX];
	u64 kernel_start, kernel_end;   /* physical */
};

extern struct boot_info boot_info;
extern struct cmdline kernel_cmdline;

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

/* Apply the command line: call each option's setter, report unknown and
 * invalid ones. Returns the number of problems reported. */
int settings_apply(const char *raw, bool skip_image);
const struct kparam *settings_find(const char *name);
/* All known options (for the REPL and the README), n of them. */
const struct kparam *const *settings_all(size_t *n);

/* Generic kernel start, called by the architecture once the console and
 * exception handling are up. */
__noreturn void kmain(void);

#endif
