/*
 * In-kernel services for tests and benchmarks, chosen with
 * services=discard,echo,http (any subset; none by default):
 *   echo     UDP port 7: every datagram goes back to its sender, zero-copy
 *            (the received pages are sent again)
 *   discard  UDP port 9: datagrams are counted and dropped
 *   http     needs TCP (not built yet): refused at boot with a clear error
 */
#ifndef NETSTACK_SERVICES_H
#define NETSTACK_SERVICES_H

void services_start(void);

#endif
