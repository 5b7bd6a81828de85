/* diskbench: file-system throughput on a disk, for bench/disk (not a
 * differential test: the user tier does not run it). bench/disk boots
 * Caboose and the Linux guest with copies of one ext3 image that holds
 * this binary and big.bin (made by mke2fs -d, never read since), runs
 *
 *   diskbench DIR [quick]
 *
 * on each (DIR: where the image is mounted) and compares the lines it
 * prints, one per job (ns: CLOCK_MONOTONIC around the job):
 *
 *   diskbench: NAME ops=N bytes=B ns=T sum=S wreq=W flush=F
 *
 * Jobs, one after the other, as fio's of the same names would do them:
 *   seqread-cold  DIR/big.bin from the start to its end in 256 KiB reads,
 *                 the first time since boot (from the disk)
 *   seqread-warm  the same again (from the page cache)
 *   randread      4 KiB preads at random 4 KiB-aligned offsets of big.bin
 *                 (warm), a fixed sequence of offsets
 *   seqwrite      DIR/seq.bin: as many bytes as big.bin in 256 KiB writes,
 *                 then fsync (the fsync in the time)
 *   create        files DIR/c/fNNNN of 4 KiB each: open (O_CREAT), write,
 *                 fsync, close
 *   append        DIR/log.txt: 100-byte lines, one write(2) each (O_APPEND,
 *                 as a log is written), then fsync (in the time)
 * sum: a checksum of the bytes read (big.bin's pattern, so a wrong read
 * shows) or written. wreq, flush: the write and flush requests of the
 * disk (vda) during the job, from /proc/diskstats on both kernels (counts
 * that the host's load does not move, unlike the rates). `quick`: a tenth of the work (the bench tier's check).
 * Ends with `diskbench: done`, or `diskbench: FAIL what: error`. */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static char dir[256];
static unsigned char buf[CHUNK];

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void fail(const char *what)
{
	printf("diskbench: FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

/* The disk's write and flush requests so far (/proc/diskstats' fields 5
 * and 16 of vda): 0, or -1 when the kernel has no such line */
static int diskstats(uint64_t *writes, uint64_t *flushes)
{
	FILE *f = fopen("/proc/diskstats", "r");
	if (!f)
		return -1;
	char line[512];
	int r = -1;
	while (r && fgets(line, sizeof(line), f)) {
		unsigned long long v[17];
		char name[32];
		int n = sscanf(line, "%*u %*u %31s %llu %llu %llu %llu %llu %llu %llu %llu %llu "
			       "%llu %llu %llu %llu %llu %llu %llu %llu", name, &v[0], &v[1], &v[2],
			       &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
			       &v[12], &v[13], &v[14], &v[15], &v[16]);
		if (n == 18 && !strcmp(name, "vda")) {
			*writes = v[4];
			*flushes = v[15];
			r = 0;
		}
	}
	fclose(f);
	return r;
}

static uint64_t w0, f0;
static int have0;

/* A job starts: its clock, and the disk's counts */
static uint64_t start(void)
{
	have0 = diskstats(&w0, &f0) == 0;
	return now_ns();
}

/* A job's line; wreq and flush: the write and flush requests the disk
 * saw during it (-1: not known) */
static void report(const char *name, long ops, uint64_t bytes, uint64_t ns, uint64_t sum)
{
	uint64_t w1 = 0, f1 = 0;
	int have = have0 && diskstats(&w1, &f1) == 0;
	printf("diskbench: %s ops=%ld bytes=%llu ns=%llu sum=%llu wreq=%lld flush=%lld\n", name,
	       ops, (unsigned long long)bytes, (unsigned long long)ns, (unsigned long long)sum,
	       have ? (long long)(w1 - w0) : -1LL, have ? (long long)(f1 - f0) : -1LL);
	fflush(stdout);
}

static uint64_t sum_of(const unsigned char *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

static void path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static uint64_t seqread(const char *name)
{
	char p[512];
	path(p, sizeof(p), "big.bin");
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		fail("open big.bin");
	uint64_t t0 = start(), bytes = 0, sum = 0;
	long ops = 0;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0)
			fail("read big.bin");
		if (n == 0)
			break;
		sum += sum_of(buf, (size_t)n);
		bytes += (uint64_t)n;
		ops++;
	}
	uint64_t t = now_ns() - t0;
	close(fd);
	report(name, ops, bytes, t, sum);
	return bytes;
}

static void randread(uint64_t size, long n)
{
	char p[512];
	path(p, sizeof(p), "big.bin");
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		fail("open big.bin");
	uint64_t blocks = size / 4096, x = 0x2545f4914f6cdd1dull, sum = 0;
	if (!blocks)
		fail("big.bin is empty");
	uint64_t t0 = start();
	for (long i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		off_t off = (off_t)((x * 0x2545f4914f6cdd1dull) % blocks) * 4096;
		if (pread(fd, buf, 4096, off) != 4096)
			fail("pread big.bin");
		sum += buf[0] + buf[4095];
	}
	uint64_t t = now_ns() - t0;
	close(fd);
	report("randread", n, (uint64_t)n * 4096, t, sum);
}

static void seqwrite(uint64_t size)
{
	char p[512];
	path(p, sizeof(p), "seq.bin");
	for (size_t i = 0; i < CHUNK; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		fail("open seq.bin");
	uint64_t t0 = start(), done = 0;
	long ops = 0;
	while (done < size) {
		size_t k = size - done < CHUNK ? (size_t)(size - done) : CHUNK;
		if (write(fd, buf, k) != (ssize_t)k)
			fail("write seq.bin");
		done += k;
		ops++;
	}
	if (fsync(fd) < 0)
		fail("fsync seq.bin");
	uint64_t t = now_ns() - t0;
	close(fd);
	report("seqwrite", ops, done, t, sum_of(buf, CHUNK));
}

static void create(long n)
{
	char p[512];
	path(p, sizeof(p), "c");
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		fail("mkdir c");
	for (size_t i = 0; i < 4096; i++)
		buf[i] = (unsigned char)(i ^ 0x5a);
	uint64_t t0 = start();
	for (long i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "c/f%04ld", i);
		path(p, sizeof(p), name);
		int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		if (fd < 0)
			fail("open c/f");
		if (write(fd, buf, 4096) != 4096)
			fail("write c/f");
		if (fsync(fd) < 0)
			fail("fsync c/f");
		close(fd);
	}
	uint64_t t = now_ns() - t0;
	report("create", n, (uint64_t)n * 4096, t, sum_of(buf, 4096));
}

static void append(long n)
{
	char p[512];
	path(p, sizeof(p), "log.txt");
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);
	if (fd < 0)
		fail("open log.txt");
	uint64_t sum = 0;
	uint64_t t0 = start();
	for (long i = 0; i < n; i++) {
		char line[101];
		int k = snprintf(line, sizeof(line), "%08ld %090ld\n", i, i * 7919);
		if (k != 100 || write(fd, line, 100) != 100)
			fail("write log.txt");
		sum += sum_of((unsigned char *)line, 100);
	}
	if (fsync(fd) < 0)
		fail("fsync log.txt");
	uint64_t t = now_ns() - t0;
	close(fd);
	report("append", n, (uint64_t)n * 100, t, sum);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strlen(argv[1]) >= sizeof(dir)) {
		printf("diskbench: FAIL usage: diskbench DIR [quick]\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	long k = argc > 2 && !strcmp(argv[2], "quick") ? 10 : 1;
	uint64_t size = seqread("seqread-cold");
	seqread("seqread-warm");
	randread(size, 20000 / k);
	seqwrite(size / (uint64_t)k);
	create(400 / k);
	append(20000 / k);
	printf("diskbench: done\n");
	fflush(stdout);
	return 0;
}
