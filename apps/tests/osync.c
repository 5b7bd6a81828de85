/* osync FILE [sync|dsync]: FILE opened with O_SYNC (or O_DSYNC), 200
 * lines written to it one write(2) each, then "== written" and a long
 * sleep, never fsync: ext2_test kills the machine at once and looks for
 * every line on the disk (each write was durable when it returned). Not
 * a differential test. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		printf("usage: osync FILE [sync|dsync]\n");
		return 2;
	}
	int how = argc > 2 && !strcmp(argv[2], "dsync") ? O_DSYNC : O_SYNC;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | how, 0644);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	for (int i = 1; i <= 200; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %d\n", i);
		if (write(fd, line, (size_t)n) != n) {
			perror("write");
			return 1;
		}
	}
	printf("== written\n");
	fflush(stdout);
	sleep(600);
	return 0;
}
