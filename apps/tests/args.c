/* The initial stack: argc, argv, envp and the auxiliary vector. */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int main(int argc, char **argv, char **envp)
{
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	for (char **e = envp; *e; e++)
		printf("env %s\n", *e);
	printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
	printf("AT_PHNUM ok=%d\n", getauxval(AT_PHNUM) > 0);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	int loads = 0;
	for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++)
		loads += ph[i].p_type == PT_LOAD;
	printf("AT_PHDR ok=%d\n", loads > 0);
	printf("AT_ENTRY ok=%d\n", getauxval(AT_ENTRY) != 0);
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	int nonzero = 0;
	for (int i = 0; rnd && i < 16; i++)
		nonzero |= rnd[i];
	printf("AT_RANDOM ok=%d\n", rnd && nonzero);
	printf("AT_HWCAP sse2=%d\n", (int)((getauxval(AT_HWCAP) >> 26) & 1));
	printf("stack aligned=%d\n", ((unsigned long)__builtin_frame_address(0) & 7) == 0);
	return 0;
}
