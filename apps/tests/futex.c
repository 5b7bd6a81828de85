/* futex(2) called directly: WAIT and WAKE, the BITSET forms, REQUEUE and
 * CMP_REQUEUE, relative and absolute timeouts (CLOCK_REALTIME flag), and
 * the errors: EAGAIN for a changed value, EINVAL for a misaligned word, a
 * bad timeout or an empty bitset, EFAULT for bad addresses, ETIMEDOUT,
 * EINTR for a signal, ENOSYS for unknown operations; set_robust_list and
 * get_robust_list, and a robust futex whose owner thread ended. Waiters are
 * threads (pthreads); every count printed is one the design fixes (wakes
 * are repeated until they find their sleeper). The output is the same on
 * Linux (tests/run.py compares them). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

/* <linux/futex.h>'s values (musl-gcc has no kernel headers) */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_REQUEUE_PRIVATE (FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

static long fx(void *uaddr, int op, uint32_t val, void *timeout, void *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static uint32_t word, word2;
static volatile long wait_result, wait_errno;
static volatile int waiting;

/* a thread that waits on word (value 0) with op and bitset */
struct waitspec {
	int op;
	uint32_t bitset;
	struct timespec *timeout;
};

static void *waiter(void *arg)
{
	struct waitspec *w = arg;
	waiting = 1;
	errno = 0;
	wait_result = fx(&word, w->op, 0, w->timeout, NULL, w->bitset);
	wait_errno = errno;
	return NULL;
}

/* wake until one sleeper is found (it may not sleep yet) */
static long wake_one(uint32_t *uaddr, int op, uint32_t bitset)
{
	for (int i = 0; i < 5000; i++) {
		long r = fx(uaddr, op, 1, NULL, NULL, bitset);
		if (r != 0)
			return r;
		nap_ms(1);
	}
	return 0;
}

static void test_errors(void)
{
	uint32_t v = 5;
	struct timespec zero = { 0, 0 }, bad = { 0, 2000000000L }, neg = { -1, 0 };
	T(fx(&v, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
	T(fx(&v, FUTEX_WAIT, 4, NULL, NULL, 0));
	T(fx((char *)&v + 1, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
	T(fx(NULL, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
	T(fx((void *)0xffff800000000000UL, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
	T(fx(&v, FUTEX_WAIT_PRIVATE, 5, &zero, NULL, 0));
	T(fx(&v, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));
	T(fx(&v, FUTEX_WAIT_PRIVATE, 5, &neg, NULL, 0));
	T(fx(&v, FUTEX_WAIT_PRIVATE, 5, (void *)8, NULL, 0));
	T(fx(&v, FUTEX_WAIT_PRIVATE, 4, (void *)8, NULL, 0));
	T(fx(&v, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
	T(fx(&v, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 5, &zero, NULL, 0));
	T(fx(&v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	T(fx(&v, FUTEX_WAKE, 0, NULL, NULL, 0));
	T(fx(&v, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0));
	T(fx((char *)&v + 2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	T(fx((void *)0x10000, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	T(fx((void *)0x10000, FUTEX_WAKE, 1, NULL, NULL, 0));
	T(fx((void *)0xffff800000000000UL, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	T(fx(&v, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &word2, 4));
	T(fx(&v, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &word2, 5));
	T(fx(&v, FUTEX_CMP_REQUEUE_PRIVATE, -1, (void *)1, &word2, 5));
	T(fx(&v, FUTEX_REQUEUE_PRIVATE, 1, (void *)-1L, &word2, 0));
	T(fx(&v, FUTEX_REQUEUE_PRIVATE, 1, (void *)1, (char *)&word2 + 1, 0));
	T(fx(&v, 99, 1, NULL, NULL, 0));
	T(fx(&v, 2, 1, NULL, NULL, 0));   /* FUTEX_FD: gone since Linux 2.6.26 */
}

static long since_ms(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void test_timeouts(void)
{
	uint32_t v = 0;
	struct timespec start, rel = { 0, 30000000L }, abs;
	clock_gettime(CLOCK_MONOTONIC, &start);
	long r = fx(&v, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
	int e = errno;
	long took = since_ms(&start);
	printf("WAIT 30 ms relative: %ld %s, waited at least 30 ms: %s\n", r, strerror(e),
	       took >= 29 ? "yes" : "no");
	clock_gettime(CLOCK_MONOTONIC, &start);
	abs = start;
	abs.tv_nsec += 30000000L;
	if (abs.tv_nsec >= 1000000000L) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000L;
	}
	r = fx(&v, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
	e = errno;
	took = since_ms(&start);
	printf("WAIT_BITSET until monotonic now + 30 ms: %ld %s, waited at least 30 ms: %s\n",
	       r, strerror(e), took >= 29 ? "yes" : "no");
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	rt.tv_nsec += 30000000L;
	if (rt.tv_nsec >= 1000000000L) {
		rt.tv_sec++;
		rt.tv_nsec -= 1000000000L;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	r = fx(&v, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &rt, NULL,
	       FUTEX_BITSET_MATCH_ANY);
	e = errno;
	took = since_ms(&start);
	printf("WAIT_BITSET|CLOCK_REALTIME until now + 30 ms: %ld %s, waited at least 30 ms: %s\n",
	       r, strerror(e), took >= 29 ? "yes" : "no");
	struct timespec past = { 1, 0 };
	T(fx(&v, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, NULL, FUTEX_BITSET_MATCH_ANY));
	T(fx(&v, FUTEX_WAIT_BITSET_PRIVATE, 1, &past, NULL, FUTEX_BITSET_MATCH_ANY));
}

static void test_wake(void)
{
	pthread_t t;
	struct waitspec w = { FUTEX_WAIT_PRIVATE, 0, NULL };
	word = 0;
	pthread_create(&t, NULL, waiter, &w);
	printf("WAKE found the sleeper: %ld\n", wake_one(&word, FUTEX_WAKE_PRIVATE, 0));
	pthread_join(t, NULL);
	printf("its WAIT returned %ld\n", wait_result);

	struct waitspec wb = { FUTEX_WAIT_BITSET_PRIVATE, 0x1, NULL };
	pthread_create(&t, NULL, waiter, &wb);
	while (!waiting)
		nap_ms(1);
	nap_ms(20);
	T(fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x2));
	printf("WAKE_BITSET 0x1 found the sleeper: %ld\n",
	       wake_one(&word, FUTEX_WAKE_BITSET_PRIVATE, 0x1));
	pthread_join(t, NULL);
	printf("its WAIT_BITSET returned %ld\n", wait_result);

	/* a shared (not PRIVATE) wait is woken by a shared wake */
	struct waitspec ws = { FUTEX_WAIT, 0, NULL };
	pthread_create(&t, NULL, waiter, &ws);
	printf("shared WAKE found the sleeper: %ld\n", wake_one(&word, FUTEX_WAKE, 0));
	pthread_join(t, NULL);
}

/* requeue: three sleepers on word move to word2, then wake there */
static void *req_waiter(void *arg)
{
	(void)arg;
	long r = fx(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return (void *)r;
}

static void test_requeue(void)
{
	pthread_t t[3];
	word = 0;
	word2 = 0;
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, req_waiter, NULL);
	long moved = 0;
	for (int i = 0; i < 5000 && moved < 3; i++) {
		long r = fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(long)INT_MAX, &word2, 0);
		if (r < 0) {
			printf("CMP_REQUEUE: %s\n", strerror(errno));
			break;
		}
		moved += r;
		if (moved < 3)
			nap_ms(1);
	}
	printf("CMP_REQUEUE moved %ld sleepers to the second word\n", moved);
	T(fx(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
	T(fx(&word2, FUTEX_REQUEUE_PRIVATE, 1, (void *)1, &word, 0));
	T(fx(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
	T(fx(&word2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
	long ok = 0;
	for (int i = 0; i < 3; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += (long)r == 0;
	}
	printf("requeued sleepers returned 0: %ld of 3\n", ok);
}

/* a signal ends a wait with EINTR (a handler without SA_RESTART) */
static void on_usr1(int sig) { (void)sig; }

static void test_eintr(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	struct timespec five = { 5, 0 };
	struct waitspec w = { FUTEX_WAIT_PRIVATE, 0, &five };
	pthread_t t;
	word = 0;
	waiting = 0;
	wait_result = 1;
	pthread_create(&t, NULL, waiter, &w);
	while (!waiting)
		nap_ms(1);
	for (int i = 0; i < 500 && wait_result == 1; i++) {
		pthread_kill(t, SIGUSR1);
		nap_ms(10);
	}
	pthread_join(t, NULL);
	printf("WAIT interrupted by a signal: %ld %s\n", wait_result, strerror((int)wait_errno));
}

/* robust futexes: the kernel marks a lock its dead owner held */
struct robust_head {
	void *next;
	long futex_offset;
	void *pending;
};
struct robust_lock {
	void *next;        /* the list entry */
	uint32_t futex;    /* owner's tid, FUTEX_WAITERS, FUTEX_OWNER_DIED */
};
static struct robust_head head;
static struct robust_lock lock;

static void *robust_owner(void *arg)
{
	(void)arg;
	head.next = &lock;
	head.futex_offset = (long)offsetof(struct robust_lock, futex);
	head.pending = NULL;
	lock.next = &head;
	lock.futex = (uint32_t)syscall(SYS_gettid);
	syscall(SYS_set_robust_list, &head, sizeof(head));
	syscall(SYS_exit, 0);   /* the thread alone, holding the lock */
	return NULL;
}

static void test_robust(void)
{
	struct robust_head *h = NULL;
	size_t len = 0;
	T(syscall(SYS_set_robust_list, &head, sizeof(head) + 1));
	T(syscall(SYS_get_robust_list, 0, &h, &len));
	printf("get_robust_list: the C library's head %s, length %zu\n", h ? "set" : "none", len);
	T(syscall(SYS_get_robust_list, 0, NULL, &len));
	pthread_t t;
	lock.futex = 1;
	pthread_create(&t, NULL, robust_owner, NULL);
	/* no join: the thread left without its C library knowing (musl's
	 * join would wait for ever); the kernel marks the word at its end */
	for (int i = 0; i < 2000 && !(lock.futex & 0x40000000u); i++)
		nap_ms(1);
	printf("the dead owner's lock word: %#x\n", lock.futex);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_errors();
	test_timeouts();
	test_wake();
	test_requeue();
	test_eintr();
	test_robust();
	printf("futex: done\n");
	return 0;
}
