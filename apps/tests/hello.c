/* The first program: printf through musl's stdio (ioctl, writev, exit_group). */
#include <stdio.h>

int main(void)
{
	printf("hello, world\n");
	printf("%s %d %x %.3f\n", "formatted:", 42, 0xcafe, 2.5);
	return 0;
}
