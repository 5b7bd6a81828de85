/*
 * printf-style formatting into a caller's buffer. Supports the conversions
 * the kernel uses: %d %i %u %x %X %o %p %s %c %%, flags '-', '0', '+', ' ',
 * '#', width and precision (also '*'), and length modifiers hh h l ll z t j.
 * Returns the length the full output would have had (like C's snprintf);
 * the buffer always ends in NUL when size > 0.
 */
#ifndef KLIB_FORMAT_H
#define KLIB_FORMAT_H

#include "kernel/lib/types.h"

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
