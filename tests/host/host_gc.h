/*
 * The GC heap on the host (tests/host/host_gc.c): a fresh heap over the
 * host arena, and simulated thread stacks as roots.
 */
#ifndef TESTS_HOST_HOST_GC_H
#define TESTS_HOST_HOST_GC_H

#include "tests/host/host.h"
#include "kernel/gc/gc_priv.h"

/* host_mm_init, then an empty heap bounded at heap_max bytes. */
void host_gc_init(u64 heap_max);
/* Scan [lo, lo+len) conservatively in every collection, as a stack. */
void host_gc_stack(const void *lo, size_t len);
extern u64 host_gc_kicks;

#endif
