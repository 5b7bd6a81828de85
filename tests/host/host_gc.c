/*
 * The GC heap's environment on the host (kernel/gc/gc_priv.h): one thread,
 * so stopping the world changes nothing; the "thread stacks" are the
 * ranges a test registers with host_gc_stack (a simulated stack: any word
 * in it that points into an object keeps the object, as a kernel stack's
 * would); collections run synchronously in the caller.
 */
#include "tests/host/host_gc.h"
#include "kernel/console/console.h"

#include <stdio.h>
#include <stdlib.h>

static struct {
	const void *lo, *hi;
} stacks[8];
static int nstacks;
static _Thread_local struct gc_resv *resv;
static int world_stopped;
u64 host_gc_kicks;

void host_gc_init(u64 heap_max)
{
	host_mm_init();
	gc_heap_init(heap_max);
	nstacks = 0;
	resv = NULL;
	host_gc_kicks = 0;
}

void host_gc_stack(const void *lo, size_t len)
{
	if (nstacks == (int)(sizeof(stacks) / sizeof(stacks[0]))) {
		fprintf(stderr, "host_gc_stack: too many stacks\n");
		abort();
	}
	stacks[nstacks].lo = lo;
	stacks[nstacks].hi = (const char *)lo + len;
	nstacks++;
}

void gc_env_stop_world(void)
{
	if (world_stopped++)
		panic("host gc: world stopped twice");
}

void gc_env_start_world(void)
{
	if (--world_stopped)
		panic("host gc: world started while not stopped");
}

void gc_env_scan_roots(gc_visit_fn visit)
{
	if (!world_stopped)
		panic("host gc: roots scanned with the world running");
	for (int i = 0; i < nstacks; i++)
		gc_scan_range(stacks[i].lo, stacks[i].hi, visit);
}

struct gc_resv **gc_env_resv_slot(void) { return &resv; }
void gc_env_kick(void) { host_gc_kicks++; }
void gc_env_collect(void) { gc_cycle_run(); }
bool gc_env_wait_unreserve(u64 ns)
{
	(void)ns;
	return false;   /* one thread: nobody else will end a reservation */
}
void gc_env_unreserved(void) {}
void gc_collect(void) { gc_cycle_run(); }
void gc_set_heap_max(u64 bytes) { gc.heap_max = bytes; }
