/*
 * Basic types for all of Caboose. Freestanding C11: only the compiler's own
 * headers (stdint, stddef, stdbool, stdarg) are used, so the same code builds
 * in the kernel and on the host for unit tests.
 */
#ifndef KLIB_TYPES_H
#define KLIB_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef uintptr_t uptr;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __packed __attribute__((packed))
#define __aligned(n) __attribute__((aligned(n)))
#define __noreturn __attribute__((noreturn))
#define __unused __attribute__((unused))
#define __section(s) __attribute__((section(s)))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define CACHELINE 64

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* Error numbers: functions return 0 or a negative errno (STYLE.md point 6). */
#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define E2BIG 7
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EINVAL 22
#define ENOSPC 28
#define EROFS 30
#define ERANGE 34
#define ENOSYS 38
#define ENODEV 19
#define ENETDOWN 100
#define ETIMEDOUT 110
#define ENOTSUP 95
#define EBADF 9
#define EPIPE 32
#define EDESTADDRREQ 89
#define EMSGSIZE 90
#define EPROTONOSUPPORT 93
#define ENOPROTOOPT 92
#define EADDRINUSE 98
#define EADDRNOTAVAIL 99
#define ENETUNREACH 101
#define ECONNRESET 104
#define ENOBUFS 105
#define EISCONN 106
#define ENOTCONN 107
#define ECONNREFUSED 111
#define EHOSTUNREACH 113
#define EOPNOTSUPP 95
#define ECONNABORTED 103
#define EALREADY 114
#define EINPROGRESS 115
#define ESRCH 3
#define ENOEXEC 8
#define EACCES 13
#define ENOTTY 25
#define ENAMETOOLONG 36
#define ENXIO 6
#define ECHILD 10
#define EXDEV 18
#define ENOTDIR 20
#define EISDIR 21
#define ENFILE 23
#define EMFILE 24
#define EFBIG 27
#define ESPIPE 29
#define EMLINK 31
#define ENOTEMPTY 39
#define ELOOP 40
#define ELIBBAD 80
#define EOVERFLOW 75
#define ENODATA 61
#define EDOM 33
#define ENOTSOCK 88
#define ESOCKTNOSUPPORT 94
#define EAFNOSUPPORT 97

#endif
