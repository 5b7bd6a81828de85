/* Faults that end the process, by argv[1]: segv (NULL write), read0,
 * fpe (divide by zero), ill (ud2), guard (below the stack), nx (run the
 * stack), kernel (read kernel memory), text (write own code). */
#include <stdio.h>
#include <string.h>

static volatile int zero, one = 1;
static volatile unsigned long small_address = 8;
static volatile unsigned long kernel_address = 0xffffffff80200000UL;

/* walks down the stack into the guard gap (the depth never reaches 0) */
static int deep(volatile char *p, unsigned long depth)
{
	volatile char frame[4096];
	frame[0] = *p;
	if (depth == 0)
		return frame[0];
	return deep(frame, depth + 1) + frame[1];
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "segv";
	printf("crash: %s\n", how);
	fflush(stdout);
	if (!strcmp(how, "segv"))
		*(volatile int *)0 = 1;
	else if (!strcmp(how, "read0"))
		printf("%d\n", *(volatile int *)small_address);
	else if (!strcmp(how, "fpe"))
		printf("%d\n", one / zero);
	else if (!strcmp(how, "ill"))
		__asm__ volatile("ud2");
	else if (!strcmp(how, "guard")) {
		char c = 0;
		printf("%d\n", deep(&c, 1));
	} else if (!strcmp(how, "nx")) {
		volatile unsigned char code[16] = { 0xc3 };
		((void (*)(void))code)();
	} else if (!strcmp(how, "kernel"))
		printf("%d\n", *(volatile int *)kernel_address);
	else if (!strcmp(how, "text"))
		*(volatile char *)main = 0;
	printf("crash: still alive\n");
	return 3;
}
