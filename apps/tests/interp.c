/* execve of programs naming an interpreter (PT_INTERP) that is missing,
 * not executable, a directory, not an ELF file, or fine; of a PT_INTERP
 * without its NUL; and of a static-PIE (ET_DYN) program. The programs are
 * tiny ELF files written here into /tmp; each exits with 42 when it runs.
 * Prints what execve returned (or how the child ended); the output is the
 * same on Linux (tests/run.py compares them). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct tiny {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	char interp[24];
	unsigned char code[16];
} __attribute__((packed));

/* exit_group(42) */
static const unsigned char exit42[] = { 0xbf, 42, 0, 0, 0, 0xb8, 0xe7, 0, 0, 0, 0x0f, 0x05 };

/* A program of one read+execute segment at base (0 for ET_DYN), naming
 * interp (len bytes of it, the NUL among them or not) when not NULL. */
static void make(struct tiny *t, int type, unsigned long base, const char *interp, size_t len)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->eh.e_ident, ELFMAG, SELFMAG);
	t->eh.e_ident[EI_CLASS] = ELFCLASS64;
	t->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	t->eh.e_ident[EI_VERSION] = EV_CURRENT;
	t->eh.e_type = type;
	t->eh.e_machine = EM_X86_64;
	t->eh.e_version = EV_CURRENT;
	t->eh.e_entry = base + offsetof(struct tiny, code);
	t->eh.e_phoff = sizeof(Elf64_Ehdr);
	t->eh.e_ehsize = sizeof(Elf64_Ehdr);
	t->eh.e_phentsize = sizeof(Elf64_Phdr);
	t->eh.e_phnum = 2;
	t->ph[0].p_type = PT_LOAD;
	t->ph[0].p_flags = PF_R | PF_X;
	t->ph[0].p_vaddr = t->ph[0].p_paddr = base;
	t->ph[0].p_filesz = t->ph[0].p_memsz = sizeof(*t);
	t->ph[0].p_align = 4096;
	/* a second page, writable: Linux 6.1 zeroes the rest of an
	 * interpreter's last page and fails the exec when it cannot */
	t->ph[1].p_type = PT_LOAD;
	t->ph[1].p_flags = PF_R | PF_W;
	t->ph[1].p_vaddr = t->ph[1].p_paddr = base + 0x1000;
	t->ph[1].p_filesz = t->ph[1].p_memsz = 16;
	t->ph[1].p_align = 4096;
	if (interp) {
		t->ph[1].p_type = PT_INTERP;
		t->ph[1].p_flags = PF_R;
		t->ph[1].p_offset = offsetof(struct tiny, interp);
		t->ph[1].p_filesz = len;
		memcpy(t->interp, interp, len < sizeof(t->interp) ? len : sizeof(t->interp));
	}
	memcpy(t->code, exit42, sizeof(exit42));
}

static void put(const char *path, const void *data, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0)
		printf("writing %s: %s\n", path, strerror(errno));
	chmod(path, mode);
}

/* fork and execve path: what execve returned, or how the child ended */
static void run(const char *what, const char *path)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		char *const argv[] = { (char *)path, NULL };
		char *const envp[] = { NULL };
		execve(path, argv, envp);
		int e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(1);
		_exit(127);
	}
	close(p[1]);
	int e = 0, st = 0;
	ssize_t n = read(p[0], &e, sizeof(e));
	close(p[0]);
	waitpid(pid, &st, 0);
	if (n == sizeof(e))
		printf("%s: execve = -1 errno %d (%s)\n", what, e, strerror(e));
	else if (WIFEXITED(st))
		printf("%s: ran, exited %d\n", what, WEXITSTATUS(st));
	else
		printf("%s: status %#x\n", what, st);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	mkdir("/tmp", 01777);
	struct tiny prog, ld;
	make(&ld, ET_EXEC, 0x800000, NULL, 0);
	put("/tmp/ld-exec", &ld, sizeof(ld), 0755);
	make(&ld, ET_DYN, 0, NULL, 0);
	put("/tmp/ld-dyn", &ld, sizeof(ld), 0755);
	put("/tmp/ld-noexec", &ld, sizeof(ld), 0644);
	static const char text[] = "just some text, no ELF header at all: not a loader, "
				   "and longer than an ELF header is\n";
	put("/tmp/ld-short", text, 40, 0755);
	put("/tmp/ld-text", text, sizeof(text) - 1, 0755);
	mkdir("/tmp/ld-dir", 0755);

	run("static-PIE, no interpreter", "/tmp/ld-dyn");
	static const struct { const char *what, *interp; } cases[] = {
		{ "interpreter ET_DYN", "/tmp/ld-dyn" },
		{ "interpreter ET_EXEC", "/tmp/ld-exec" },
		{ "interpreter missing", "/tmp/ld-none" },
		{ "interpreter not executable", "/tmp/ld-noexec" },
		{ "interpreter a directory", "/tmp/ld-dir" },
		{ "interpreter not ELF", "/tmp/ld-text" },
		{ "interpreter shorter than an ELF header", "/tmp/ld-short" },
		{ "interpreter in a missing folder", "/tmp/nofolder/ld" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make(&prog, ET_EXEC, 0x400000, cases[i].interp, strlen(cases[i].interp) + 1);
		put("/tmp/prog", &prog, sizeof(prog), 0755);
		run(cases[i].what, "/tmp/prog");
	}
	make(&prog, ET_DYN, 0, "/tmp/ld-dyn", strlen("/tmp/ld-dyn") + 1);
	put("/tmp/prog", &prog, sizeof(prog), 0755);
	run("ET_DYN program, ET_DYN interpreter", "/tmp/prog");
	make(&prog, ET_EXEC, 0x400000, "/tmp/ld-dyn", strlen("/tmp/ld-dyn"));
	put("/tmp/prog", &prog, sizeof(prog), 0755);
	run("PT_INTERP without its NUL", "/tmp/prog");
	make(&prog, ET_EXEC, 0x400000, "/", 1);
	put("/tmp/prog", &prog, sizeof(prog), 0755);
	run("PT_INTERP of one byte", "/tmp/prog");
	make(&prog, ET_EXEC, 0x400000, "/tmp/ld-dyn", strlen("/tmp/ld-dyn") + 1);
	prog.eh.e_machine = EM_AARCH64;
	put("/tmp/prog", &prog, sizeof(prog), 0755);
	run("a program for another machine", "/tmp/prog");
	make(&ld, ET_DYN, 0, NULL, 0);
	ld.eh.e_machine = EM_AARCH64;
	put("/tmp/ld-arm", &ld, sizeof(ld), 0755);
	make(&prog, ET_EXEC, 0x400000, "/tmp/ld-arm", strlen("/tmp/ld-arm") + 1);
	put("/tmp/prog", &prog, sizeof(prog), 0755);
	run("interpreter for another machine", "/tmp/prog");
	printf("interp: done\n");
	return 0;
}
