/* Freestanding string and memory functions (the compiler may emit calls to
 * memcpy/memset/memmove/memcmp, so these keep their standard names). */
#ifndef KLIB_STRING_H
#define KLIB_STRING_H

#include "kernel/lib/types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* Parse an unsigned number: decimal, 0x hex, optional K/M/G suffix when
 * suffix is true. Returns 0 or -EINVAL/-ERANGE; *end (optional) gets the
 * first unparsed character. */
int kstrtou64(const char *s, const char **end, bool suffix, u64 *out);
/* The value of a hexadecimal digit (either case), or -1 */
int hex_digit(char c);

#endif
