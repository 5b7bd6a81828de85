/*
 * The NIC test services (nictest.c): with nictest=echo on the command line,
 * nictest_start() (called by nic_init once the drivers have probed) takes
 * every NIC's receive hook for the echo service instead of the stack.
 * Without it, nictest_start does nothing.
 */
#ifndef NIC_NICTEST_H
#define NIC_NICTEST_H

void nictest_start(void);

#endif
