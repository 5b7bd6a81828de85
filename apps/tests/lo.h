/* lo_up: the Linux guest boots with its loopback interface down (each
 * differential program is its first process); Caboose's loopback needs no
 * set-up and has no interface ioctls. Set-up, not a test: nothing printed. */
#ifndef APPS_TESTS_LO_H
#define APPS_TESTS_LO_H

#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

#endif
