/*
 * udpecho: a UDP echo server (port given, default 7) for the Linux guest of
 * the benchmarks, so that bench/net measures the same service on both
 * kernels. Built static on the host (bench/linux-guest does it).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: udpecho [PORT]\n"
		       "A UDP echo server (default port 7) for the Linux guest of the benchmarks.\n");
		return 0;
	}
	int port = argc > 1 ? atoi(argv[1]) : 7;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("udpecho");
		return 1;
	}
	static char buf[65536];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n >= 0)
			sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}
