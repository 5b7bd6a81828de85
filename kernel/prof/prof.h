/*
 * The sampling profiler: where the CPUs spend their time, by call stack.
 *
 * prof_start(hz) makes every CPU take a non-maskable interrupt hz times a
 * second (arch_profile_start); each one records the interrupted call stack
 * (a frame-pointer walk of the kernel stack, every frame reduced to the
 * start of its function) into its CPU's table of distinct stacks, which
 * counts how often each was seen. Samples of a halted CPU are the one
 * frame [idle], of user mode [user]; samples inside an interrupt handler
 * or the entry code keep the handler's frames under a root frame [irq].
 *
 * Memory is bounded: PROF_TABLE_BYTES a CPU, allocated by the first
 * prof_start and kept; a sample whose stack is new when its CPU's table
 * is full (or its hash chain long) is dropped and counted. Stacks deeper
 * than PROF_DEPTH lose their outermost frames (counted as truncated).
 * Recording takes no lock: each CPU writes only its own table, and readers
 * (the REPL, while sampling runs or after) see whole entries.
 *
 * prof_start and prof_stop are for threads (they take a mutex); restarting
 * clears the previous profile. The REPL commands are `profile start [HZ]`,
 * `profile stop`, `profile top [N]`, `profile folded` and `profile`
 * (status). Command line: profile.hz=N sets the rate `profile start` uses
 * without an argument (default PROF_HZ_DEFAULT), profile=on starts the
 * profiler at boot (prof_init).
 */
#ifndef PROF_PROF_H
#define PROF_PROF_H

#include "kernel/lib/types.h"

#define PROF_HZ_DEFAULT 997    /* prime: does not beat with 1 ms and 10 ms timers */

void prof_init(void);          /* kmain, once, with every CPU online */
/* 0, -EBUSY (running), -EINVAL (hz out of range), -ENOMEM, -ENODEV */
int prof_start(unsigned hz);
int prof_stop(void);           /* 0, or -EALREADY when not running */
bool prof_running(void);
unsigned prof_default_hz(void);

#endif
