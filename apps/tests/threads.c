/* Threads through the C library's pthreads (musl, and glibc in the
 * threads-glibc build): create and join, a mutex-protected counter,
 * condition variables, a barrier, thread-local storage, pthread_exit
 * values, detached threads, many short-lived threads, thread ids, signals
 * to one thread (pthread_kill) and to the process (kill: a thread that does
 * not block it takes it), per-thread masks and alternate stacks, mmap and
 * munmap from several threads at once, a robust mutex whose owner died,
 * exit from one thread versus exit_group, fork and execve from a threaded
 * process, and the main thread leaving first (pthread_exit). Prints results only (no ids, no times); the output is the same
 * on Linux (tests/run.py compares them). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NT 8
#define ROUNDS 20000

static long gettid_(void) { return syscall(SYS_gettid); }

static void check(const char *what, int r)
{
	if (r)
		printf("%s failed: %s\n", what, strerror(r));
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- a mutex-protected counter, return values ---- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_fn(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return (void *)((intptr_t)arg * 10);
}

static void test_counter(void)
{
	pthread_t t[NT];
	for (intptr_t i = 0; i < NT; i++)
		check("pthread_create", pthread_create(&t[i], NULL, count_fn, (void *)i));
	long sum = 0;
	for (int i = 0; i < NT; i++) {
		void *r;
		check("pthread_join", pthread_join(t[i], &r));
		sum += (intptr_t)r;
	}
	printf("counter: %ld (want %d), returned values sum %ld\n", counter, NT * ROUNDS, sum);
}

/* ---- condition variables: a bounded queue ---- */
#define QN 4
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qnotempty = PTHREAD_COND_INITIALIZER, qnotfull = PTHREAD_COND_INITIALIZER;
static int q[QN], qhead, qlen;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 1000; i++) {
		pthread_mutex_lock(&qmu);
		while (qlen == QN)
			pthread_cond_wait(&qnotfull, &qmu);
		q[(qhead + qlen++) % QN] = i;
		pthread_cond_signal(&qnotempty);
		pthread_mutex_unlock(&qmu);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long sum = 0;
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&qmu);
		while (qlen == 0)
			pthread_cond_wait(&qnotempty, &qmu);
		sum += q[qhead];
		qhead = (qhead + 1) % QN;
		qlen--;
		pthread_cond_broadcast(&qnotfull);
		pthread_mutex_unlock(&qmu);
	}
	*(long *)arg = sum;
	return NULL;
}

static void test_cond(void)
{
	pthread_t p, c1, c2;
	long s1 = 0, s2 = 0;
	pthread_create(&c1, NULL, consumer, &s1);
	pthread_create(&c2, NULL, consumer, &s2);
	pthread_create(&p, NULL, producer, NULL);
	pthread_join(p, NULL);
	pthread_join(c1, NULL);
	pthread_join(c2, NULL);
	printf("condition variables: consumed sum %ld (want 500500)\n", s1 + s2);
	/* a timed wait that times out */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&qmu);
	int r = pthread_cond_timedwait(&qnotempty, &qmu, &ts);
	pthread_mutex_unlock(&qmu);
	printf("pthread_cond_timedwait with nothing coming: %s\n", strerror(r));
}

/* ---- a barrier ---- */
static pthread_barrier_t bar;
static int serial_count, phase_errors, phase;

static void *bar_fn(void *arg)
{
	(void)arg;
	for (int round = 0; round < 5; round++) {
		int seen = __atomic_load_n(&phase, __ATOMIC_SEQ_CST);
		if (seen != round)
			__atomic_add_fetch(&phase_errors, 1, __ATOMIC_SEQ_CST);
		int r = pthread_barrier_wait(&bar);
		if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
			__atomic_add_fetch(&serial_count, 1, __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&phase, 1, __ATOMIC_SEQ_CST);
		}
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

static void test_barrier(void)
{
	pthread_t t[4];
	pthread_barrier_init(&bar, NULL, 4);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, bar_fn, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	printf("barrier: 5 rounds, serial threads %d, threads ahead of their round %d\n",
	       serial_count, phase_errors);
}

/* ---- thread-local storage, ids ---- */
static __thread int tls_val = 7;
static __thread char tls_buf[64];
static long tids[NT];

static void *tls_fn(void *arg)
{
	int i = (int)(intptr_t)arg;
	int start = tls_val;
	tls_val = 100 + i;
	snprintf(tls_buf, sizeof(tls_buf), "thread %d", i);
	tids[i] = gettid_();
	nap_ms(5);
	sched_yield();
	return (void *)(intptr_t)(start == 7 && tls_val == 100 + i && atoi(tls_buf + 7) == i);
}

static void test_tls(void)
{
	pthread_t t[NT - 1];
	tids[NT - 1] = getpid();
	int good = 0;
	for (intptr_t i = 0; i < NT - 1; i++)
		pthread_create(&t[i], NULL, tls_fn, (void *)i);
	for (int i = 0; i < NT - 1; i++) {
		void *r;
		pthread_join(t[i], &r);
		good += (intptr_t)r;
	}
	int distinct = 1;
	for (int i = 0; i < NT; i++)
		for (int j = i + 1; j < NT; j++)
			if (tids[i] == tids[j])
				distinct = 0;
	printf("thread-local storage: %d of %d threads saw their own; main's still %d\n", good,
	       NT - 1, tls_val);
	printf("thread ids distinct from each other and the pid: %s; main's tid is the pid: %s\n",
	       distinct ? "yes" : "no", gettid_() == getpid() ? "yes" : "no");
}

/* ---- pthread_exit, detached threads, many threads ---- */
static void *exit_fn(void *arg)
{
	(void)arg;
	pthread_exit((void *)42);
	return NULL;
}

static int detached_done;

static void *detached_fn(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&detached_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *short_fn(void *arg) { return arg; }

static void test_lives(void)
{
	pthread_t t;
	void *r;
	pthread_create(&t, NULL, exit_fn, NULL);
	pthread_join(t, &r);
	printf("pthread_exit value: %ld\n", (long)(intptr_t)r);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 16; i++)
		check("pthread_create detached", pthread_create(&t, &a, detached_fn, NULL));
	pthread_attr_destroy(&a);
	for (int i = 0; i < 2000 && __atomic_load_n(&detached_done, __ATOMIC_SEQ_CST) < 16; i++)
		nap_ms(1);
	printf("detached threads finished: %d\n", detached_done);
	long sum = 0;
	for (intptr_t i = 0; i < 300; i++) {
		int e = pthread_create(&t, NULL, short_fn, (void *)i);
		if (e) {
			printf("short-lived thread %ld: %s\n", (long)i, strerror(e));
			break;
		}
		pthread_join(t, &r);
		sum += (intptr_t)r;
	}
	printf("300 short-lived threads: sum %ld (want 44850)\n", sum);
}

/* ---- signals ---- */
static volatile long handler_tid;
static volatile int handled;

static void on_usr(int sig)
{
	(void)sig;
	handler_tid = gettid_();
	handled++;
}

static volatile int spin_go;
static volatile long spinner_tid;

static void *spinner(void *arg)
{
	(void)arg;
	spinner_tid = gettid_();
	while (!spin_go)
		nap_ms(1);
	return NULL;
}

static void test_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t t;
	spin_go = 0;
	pthread_create(&t, NULL, spinner, NULL);
	while (!spinner_tid)
		nap_ms(1);
	handled = 0;
	check("pthread_kill", pthread_kill(t, SIGUSR1));
	for (int i = 0; i < 2000 && !handled; i++)
		nap_ms(1);
	printf("pthread_kill: the handler ran in the target thread: %s\n",
	       handled && handler_tid == spinner_tid ? "yes" : "no");
	/* the process's signal goes to the thread that does not block it */
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	handled = 0;
	kill(getpid(), SIGUSR2);
	for (int i = 0; i < 2000 && !handled; i++)
		nap_ms(1);
	printf("kill with the main thread blocking it: taken by the other thread: %s\n",
	       handled && handler_tid == spinner_tid ? "yes" : "no");
	spin_go = 1;
	pthread_join(t, NULL);
	/* every thread blocks it now: pending until the main thread unblocks */
	handled = 0;
	kill(getpid(), SIGUSR2);
	nap_ms(20);
	printf("while blocked everywhere: handled %d\n", handled);
	sigset_t pend;
	sigpending(&pend);
	printf("sigpending has SIGUSR2: %s\n", sigismember(&pend, SIGUSR2) ? "yes" : "no");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	printf("after unblocking: handled %d in the main thread: %s\n", handled,
	       handler_tid == gettid_() ? "yes" : "no");
	/* tgkill with a wrong thread group */
	errno = 0;
	long r = syscall(SYS_tgkill, getpid(), 999999, SIGUSR1);
	printf("tgkill to no such thread: %ld %s\n", r, strerror(errno));
	r = syscall(SYS_tgkill, 0, gettid_(), SIGUSR1);
	printf("tgkill with tgid 0: %ld %s\n", r, strerror(errno));
}

/* an alternate stack is per thread */
static volatile int on_alt;
static char *alt_base;

static void on_segv_alt(int sig)
{
	(void)sig;
	char here;
	on_alt = &here >= alt_base && &here < alt_base + 65536;
}

static void *alt_fn(void *arg)
{
	(void)arg;
	stack_t ss = { .ss_sp = alt_base, .ss_size = 65536, .ss_flags = 0 };
	stack_t cur;
	sigaltstack(&ss, NULL);
	sigaltstack(NULL, &cur);
	int set = cur.ss_sp == alt_base && cur.ss_flags == 0;
	raise(SIGURG);
	return (void *)(intptr_t)(set && on_alt);
}

static void test_altstack(void)
{
	alt_base = malloc(65536);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv_alt;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGURG, &sa, NULL);
	pthread_t t;
	void *r;
	pthread_create(&t, NULL, alt_fn, NULL);
	pthread_join(t, &r);
	stack_t cur;
	sigaltstack(NULL, &cur);
	printf("sigaltstack: the thread's handler ran on its stack: %s; the main thread has "
	       "none: %s\n", r ? "yes" : "no", cur.ss_flags == SS_DISABLE ? "yes" : "no");
	signal(SIGURG, SIG_DFL);
}

/* ---- memory from several threads at once ---- */
static void *mem_fn(void *arg)
{
	long bad = 0;
	for (int i = 0; i < 200; i++) {
		size_t len = 4096 * (1 + (i % 8));
		unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			bad++;
			continue;
		}
		for (size_t k = 0; k < len; k += 4096)
			m[k] = (unsigned char)(intptr_t)arg;
		for (size_t k = 0; k < len; k += 4096)
			bad += m[k] != (unsigned char)(intptr_t)arg;
		if (i % 3 == 0)
			mprotect(m, len, PROT_READ);
		bad += munmap(m, len) != 0;
	}
	return (void *)bad;
}

static void test_mem(void)
{
	pthread_t t[4];
	long bad = 0;
	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, mem_fn, (void *)(i + 1));
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (intptr_t)r;
	}
	printf("mmap, touch, mprotect, munmap in 4 threads at once: %ld errors\n", bad);
}

/* ---- a robust mutex whose owner ended ---- */
static pthread_mutex_t rmu;

static void *robust_fn(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rmu);
	return NULL;   /* ends holding it */
}

static void test_robust(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&rmu, &a);
	pthread_t t;
	pthread_create(&t, NULL, robust_fn, NULL);
	pthread_join(t, NULL);
	int r = pthread_mutex_lock(&rmu);
	printf("robust mutex after its owner ended: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" :
	       strerror(r));
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&rmu);
	pthread_mutex_unlock(&rmu);
}

/* ---- ends: exit in one thread, exit_group from another ---- */
static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *exit7(void *arg)
{
	(void)arg;
	nap_ms(10);
	exit(7);
}

/* the main thread has gone (pthread_exit): the last thread's return ends
 * the process with status 0 */
static void *last_thread(void *arg)
{
	(void)arg;
	nap_ms(30);
	printf("threads: done (the main thread left first)\n");
	return NULL;
}

static void report(const char *what, pid_t pid)
{
	int st;
	pid_t w = waitpid(pid, &st, 0);
	if (w != pid)
		printf("%s: waitpid: %s\n", what, strerror(errno));
	else if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", what, WTERMSIG(st));
}

static void test_ends(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		pthread_create(&t, NULL, exit7, NULL);
		for (;;)
			pause();
	}
	report("exit(7) in one of 5 threads", pid);
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		nap_ms(10);
		kill(getpid(), SIGTERM);
		for (;;)
			pause();
	}
	report("SIGTERM to a process of 4 threads", pid);
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		pid_t c = fork();   /* the child has the calling thread alone */
		if (c == 0)
			_exit(5);
		report("fork from a threaded process", c);
		char *argv[] = { "/tests/hello", NULL };
		char *envp[] = { NULL };
		execve(argv[0], argv, envp);
		printf("execve: %s\n", strerror(errno));
		_exit(1);
	}
	report("execve from a process of 4 threads", pid);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("CPUs online: %s\n", sysconf(_SC_NPROCESSORS_ONLN) >= 1 ? "at least 1" : "none");
	test_counter();
	test_cond();
	test_barrier();
	test_tls();
	test_lives();
	test_signals();
	test_altstack();
	test_mem();
	test_robust();
	test_ends();
	pthread_t t;
	pthread_create(&t, NULL, last_thread, NULL);
	pthread_exit(NULL);
}
