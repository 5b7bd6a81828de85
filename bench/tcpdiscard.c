/*
 * tcpdiscard: a TCP discard server (port given, default 9) for the Linux
 * guest of the benchmarks, so that bench/tcp measures the same service on
 * both kernels: it reads and drops what each connection sends, one process
 * per connection. Built static on the host (bench/linux-guest does it).
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 9;
	int one = 1;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 128) != 0) {
		perror("tcpdiscard");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (fork() == 0) {
			static char buf[1 << 16];
			while (read(c, buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
		close(c);
	}
}
