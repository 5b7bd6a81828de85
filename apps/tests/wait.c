/* Blocks reading the console, so the REPL can see a live process. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char buf[64];
	printf("wait: reading\n");
	fflush(stdout);
	ssize_t n = read(0, buf, sizeof(buf));
	printf("wait: read %zd\n", n);
	return 0;
}
