/* /proc as programs read it: /proc/self, /proc/PID/{maps,stat,status,comm,
 * cmdline,environ,exe,cwd,fd/}, /proc/cpuinfo, meminfo, uptime, stat,
 * mounts. What differs between two
 * kernels or two runs (addresses, pids, sizes, times, CPU models) is
 * printed in a normalised form: maps as the sorted set of (permissions,
 * kind) with kind one of program, [heap], [stack], anonymous ([vdso],
 * [vvar] and [vsyscall] left out: Caboose has none of them yet); numbers as
 * relations. The output is the same on Linux (tests/run.py compares them);
 * on Linux the program mounts /proc itself (it runs as the first process).
 * Unbuffered stdout. */
/* environ comes from <unistd.h> (the build defines _GNU_SOURCE) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[65536];

/* the whole file into buf; its length, or -1 */
static long slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	long got = 0;
	ssize_t n;
	/* small reads: the text comes in pieces from the offsets */
	while (got < (long)sizeof(buf) - 1 && (n = read(fd, buf + got, 100)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

static const char *field(const char *text, const char *key);

/* Do the len bytes in buf hold v's strings, each with its NUL? */
static int strings_are(const char *b, long len, char *const *v)
{
	long at = 0;
	for (; *v; v++) {
		size_t n = strlen(*v) + 1;
		if (at + (long)n > len || memcmp(b + at, *v, n))
			return 0;
		at += n;
	}
	return at == len;
}

static void show_link(const char *what, const char *path)
{
	char link[256];
	ssize_t k = readlink(path, link, sizeof(link) - 1);
	if (k >= 0)
		link[k] = 0;
	printf("%s: %s\n", what, k >= 0 ? link : strerror(errno));
}

/* cmdline, environ, exe, cwd, mounts, btime */
static void names(char **argv)
{
	long n = slurp("/proc/self/cmdline");
	printf("/proc/self/cmdline is my argv, NULs and all: %d\n", strings_are(buf, n, argv));
	for (long i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = '|';
	printf("/proc/self/cmdline: %s\n", n >= 0 ? buf : strerror(errno));
	n = slurp("/proc/self/environ");
	printf("/proc/self/environ is my environment: %d\n", strings_are(buf, n, environ));
	struct stat st;
	printf("/proc/self/environ is mode 0400: %d\n",
	       stat("/proc/self/environ", &st) == 0 && (st.st_mode & 07777) == 0400);
	show_link("/proc/self/exe", "/proc/self/exe");
	show_link("/proc/self/cwd", "/proc/self/cwd");
	if (chdir("/tmp") == 0) {
		show_link("/proc/self/cwd after chdir /tmp", "/proc/self/cwd");
		chdir("/");
	}
	int proc_line = 0;
	if (slurp("/proc/mounts") > 0)
		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
			char src[64], where[64], type[64];
			if (sscanf(l, "%63s %63s %63s", src, where, type) == 3 &&
			    !strcmp(where, "/proc") && !strcmp(type, "proc"))
				proc_line = 1;
		}
	printf("/proc/mounts has proc at /proc: %d\n", proc_line);
	const char *bt = slurp("/proc/stat") > 0 ? field(buf, "btime ") : NULL;
	printf("/proc/stat btime is a date after 2001: %d\n", bt && strtoul(bt, NULL, 10) > 1000000000UL);
}

static void show_open(const char *path)
{
	long n = slurp(path);
	if (n < 0)
		printf("%s: %s\n", path, strerror(errno));
	else
		printf("%s: read, %s\n", path, n > 0 ? "not empty" : "empty");
}

/* the value after "key" at a line's start, or NULL */
static const char *field(const char *text, const char *key)
{
	size_t k = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, k))
			return l + k;
	return NULL;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void maps(const char *path, const char *prog)
{
	if (slurp(path) < 0) {
		printf("%s: %s\n", path, strerror(errno));
		return;
	}
	char *lines[512];
	int n = 0, bad = 0;
	for (char *l = strtok(buf, "\n"); l && n < 512; l = strtok(NULL, "\n")) {
		unsigned long lo, hi, off, ino;
		char perms[8], dev[16];
		int used = 0;
		if (sscanf(l, "%lx-%lx %7s %lx %15s %lu %n", &lo, &hi, perms, &off, dev, &ino,
			   &used) < 6 || lo >= hi || strlen(perms) != 4) {
			bad++;
			continue;
		}
		const char *name = l + used;
		if (!strcmp(name, "[vdso]") || !strcmp(name, "[vvar]") || !strcmp(name, "[vsyscall]"))
			continue;
		const char *kind = !*name ? "anonymous" : name[0] == '[' ? name :
				   strstr(name, prog) ? "program" : "other file";
		char *s = malloc(64);
		snprintf(s, 64, "%s %s", perms, kind);
		lines[n++] = s;
	}
	qsort(lines, (size_t)n, sizeof(lines[0]), cmp);
	printf("%s: %d lines in Linux's format, %d not\n", path, n > 0, bad);
	for (int i = 0; i < n; i++) {
		if (i == 0 || strcmp(lines[i], lines[i - 1]))
			printf("  %s\n", lines[i]);
	}
	for (int i = 0; i < n; i++)
		free(lines[i]);
}

static void fds(void)
{
	int p[2];
	pipe(p);
	int null = open("/dev/null", O_RDONLY);
	int dir = open("/tests", O_RDONLY | O_DIRECTORY);
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		printf("opendir /proc/self/fd: %s\n", strerror(errno));
		return;
	}
	int self = dirfd(d);
	struct dirent *e;
	int nums[64], n = 0, dots = 0;
	while ((e = readdir(d)) && n < 64) {
		if (e->d_name[0] == '.') {
			dots++;
			continue;
		}
		nums[n++] = atoi(e->d_name);
	}
	closedir(d);
	printf("/proc/self/fd: . and ..: %d\n", dots);
	for (int i = 0; i < n; i++) {
		if (nums[i] == self) {
			printf("  fd the listing used: listed\n");
			continue;
		}
		char path[64], target[256];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", nums[i]);
		ssize_t k = readlink(path, target, sizeof(target) - 1);
		if (k < 0) {
			printf("  %d: readlink %s\n", nums[i], strerror(errno));
			continue;
		}
		target[k] = 0;
		if (!strncmp(target, "pipe:[", 6))
			strcpy(target, "pipe:[N]");
		printf("  %d -> %s\n", nums[i], target);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", null);
	struct stat st;
	printf("stat through the link: %d\n", stat(path, &st) == 0);
	printf("readlink of a closed fd: %s\n",
	       readlink("/proc/self/fd/999", path, sizeof(path)) < 0 ? strerror(errno) : "found");
	close(p[0]);
	close(p[1]);
	close(null);
	close(dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	setvbuf(stdout, NULL, _IONBF, 0);
	/* Linux's first process finds /proc unmounted; Caboose mounts it */
	mkdir("/proc", 0555);
	mount("proc", "/proc", "proc", 0, NULL);

	char link[64];
	ssize_t k = readlink("/proc/self", link, sizeof(link) - 1);
	if (k >= 0)
		link[k] = 0;
	printf("/proc/self is a link to my pid: %d\n", k > 0 && atoi(link) == getpid());
	struct stat st;
	printf("lstat /proc/self: link %d; stat: directory %d\n",
	       lstat("/proc/self", &st) == 0 && S_ISLNK(st.st_mode),
	       stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode));

	/* the listing holds my pid and the files */
	DIR *d = opendir("/proc");
	int found_me = 0, found_self = 0, found_meminfo = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		found_me |= atoi(e->d_name) == getpid();
		found_self |= !strcmp(e->d_name, "self");
		found_meminfo |= !strcmp(e->d_name, "meminfo");
	}
	if (d)
		closedir(d);
	printf("/proc lists my pid %d, self %d, meminfo %d\n", found_me, found_self, found_meminfo);

	/* a heap, a private anonymous mapping, a PROT_NONE one */
	char *heap = malloc(200000);
	heap[0] = 1;
	sbrk(4096);
	void *anon = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	maps("/proc/self/maps", prog);
	munmap(anon, 3 * 4096);
	munmap(none, 4096);

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", getpid());
	if (slurp(path) >= 0) {
		int pid, ppid;
		char comm[64], state;
		int n = sscanf(buf, "%d (%63[^)]) %c %d", &pid, comm, &state, &ppid);
		int fields = 0;
		for (char *t = strtok(strrchr(buf, ')') + 1, " \n"); t; t = strtok(NULL, " \n"))
			fields++;
		printf("%s: pid %d, comm %s, state %c, ppid is mine: %d, fields %d\n", "/proc/PID/stat",
		       n == 4 && pid == getpid(), comm, state, ppid == getppid(), fields + 2);
	} else {
		printf("/proc/PID/stat: %s\n", strerror(errno));
	}
	if (slurp("/proc/self/status") >= 0) {
		const char *name = field(buf, "Name:\t"), *state = field(buf, "State:\t");
		const char *pid = field(buf, "Pid:\t"), *thr = field(buf, "Threads:\t");
		printf("/proc/self/status: Name %.*s, State %.*s, Pid mine %d, Threads %d, VmRSS %d\n",
		       name ? (int)strcspn(name, "\n") : 0, name ? name : "",
		       state ? (int)strcspn(state, "\n") : 0, state ? state : "",
		       pid && atoi(pid) == getpid(), thr ? atoi(thr) : -1,
		       field(buf, "VmRSS:\t") != NULL);
	}
	if (slurp("/proc/self/comm") >= 0)
		printf("/proc/self/comm: %s", buf);
	fds();
	names(argv);

	/* a child's entry is there while it lives, gone once reaped */
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		char x;
		close(p[1]);
		read(p[0], &x, 1);
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", c);
	long cn = slurp(path);
	printf("a child's cmdline is my argv: %d\n", strings_are(buf, cn, argv));
	char mine[256], its[256];
	ssize_t a = readlink("/proc/self/exe", mine, sizeof(mine));
	snprintf(path, sizeof(path), "/proc/%d/exe", c);
	ssize_t b = readlink(path, its, sizeof(its));
	printf("a child's exe is mine: %d\n", a > 0 && a == b && !memcmp(mine, its, (size_t)a));
	snprintf(path, sizeof(path), "/proc/%d/status", c);
	printf("a child's status while it lives: %s\n", slurp(path) >= 0 ? "read" : strerror(errno));
	const char *pp = field(buf, "PPid:\t");
	printf("its PPid is my pid: %d\n", pp && atoi(pp) == getpid());
	close(p[1]);
	waitpid(c, NULL, 0);
	printf("after its wait: %s\n", slurp(path) >= 0 ? "still there" : strerror(errno));

	if (slurp("/proc/cpuinfo") >= 0) {
		int procs = 0;
		for (const char *l = buf; (l = strstr(l, "processor\t: ")); l++)
			procs++;
		const char *flags = field(buf, "flags\t\t: ");
		printf("/proc/cpuinfo: processors as sysconf says %d, vendor_id %d, model name %d, "
		       "flags with fpu and sse2 %d\n", procs == sysconf(_SC_NPROCESSORS_ONLN),
		       field(buf, "vendor_id\t: ") != NULL, field(buf, "model name\t: ") != NULL,
		       flags && strstr(flags, "fpu") && strstr(flags, " sse2"));
	}
	if (slurp("/proc/meminfo") >= 0) {
		const char *tot = field(buf, "MemTotal:"), *fr = field(buf, "MemFree:");
		const char *av = field(buf, "MemAvailable:");
		unsigned long t = tot ? strtoul(tot, NULL, 10) : 0, f = fr ? strtoul(fr, NULL, 10) : 0;
		printf("/proc/meminfo: MemTotal > 0 %d, MemFree <= MemTotal %d, MemAvailable %d, "
		       "in kB %d, aligned %d\n", t > 0, f <= t, av != NULL,
		       tot && strstr(tot, " kB\n") == tot + strcspn(tot, "\n") - 3,
		       tot && strlen("MemTotal:") + strcspn(tot, "\n") == 27);
	}
	if (slurp("/proc/uptime") >= 0) {
		double up = -1, idle = -1;
		int n = sscanf(buf, "%lf %lf", &up, &idle);
		printf("/proc/uptime: two numbers %d, up > 0 %d, idle >= 0 %d\n", n == 2, up > 0,
		       idle >= 0);
	}
	if (slurp("/proc/stat") >= 0) {
		const char *cpu = field(buf, "cpu ");
		int nums = 0, cpus = 0;
		for (const char *s = cpu; s && *s && *s != '\n'; s++)
			if (*s != ' ' && (s[-1] == ' '))
				nums++;
		for (const char *l = buf; (l = strstr(l, "\ncpu")); l++)
			cpus++;
		printf("/proc/stat: cpu line with %d numbers, per-CPU lines as sysconf says %d, "
		       "btime %d, processes %d, procs_running %d\n", nums,
		       cpus == sysconf(_SC_NPROCESSORS_ONLN), field(buf, "btime ") != NULL,
		       field(buf, "processes ") != NULL, field(buf, "procs_running ") != NULL);
	}

	show_open("/proc/self/nonexistent");
	show_open("/proc/999999/status");
	printf("mkdir in /proc: %s\n", mkdir("/proc/x", 0755) < 0 ? strerror(errno) : "made");
	printf("done\n");
	return 0;
}
