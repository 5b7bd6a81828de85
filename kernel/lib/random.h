/*
 * Bytes for AT_RANDOM, getrandom and /dev/urandom: a generator seeded from
 * the cycle counter and mixed (splitmix64); unpredictable enough for stack
 * canaries and hash seeds, not a cryptographic source. Safe from any
 * context (one atomic add, no lock).
 */
#ifndef KLIB_RANDOM_H
#define KLIB_RANDOM_H

#include "kernel/lib/types.h"

void random_bytes(void *buf, size_t n);

#endif
