/*
 * Futexes (futex(2), Linux's semantics): a thread sleeps on a 32-bit word
 * of its address space while the word holds the value it expects, until
 * another thread wakes that word.
 *
 * Every mapping is private (no shared memory yet), so a futex is named by
 * its address space and address, with or without FUTEX_PRIVATE_FLAG, as
 * Linux names private mappings' futexes (processes sharing a space with
 * CLONE_VM share its futexes too). Waiters hang in a hash of lists, each
 * bucket under a lock of its own [X] (futexes in different buckets never
 * contend); each waiter sleeps on a wait queue of its own (on its stack)
 * which a waker signals under [X] after taking it off the list, so a
 * waiter that returns has nothing of it left in another's hands. The value
 * check and the queueing happen under [X], and a waker changes the word
 * before it takes [X]: no wakeup is lost. REQUEUE moves waiters between
 * two buckets holding both locks (the lower address first); a waiter
 * finds its current bucket through w->b, which changes only under both.
 *
 * Operations: WAIT, WAKE, WAIT_BITSET, WAKE_BITSET, REQUEUE, CMP_REQUEUE,
 * with FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME (BITSET waits only, as
 * Linux). Timeouts: relative (monotonic) for WAIT, absolute for
 * WAIT_BITSET (the monotonic clock's, or with FUTEX_CLOCK_REALTIME the wall
 * clock's, which is the monotonic one shifted: it is never set after
 * boot). WAKE_OP and the priority-inheritance
 * operations return -ENOSYS, counted (said once in the log).
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"
#include "kernel/proc/uaccess.h"
#include "kernel/console/console.h"
#include "kernel/lib/counter.h"

#define FUTEX_WAIT            0
#define FUTEX_WAKE            1
#define FUTEX_REQUEUE         3
#define FUTEX_CMP_REQUEUE     4
#define FUTEX_WAIT_BITSET     9
#define FUTEX_WAKE_BITSET     10
#define FUTEX_PRIVATE_FLAG    128
#define FUTEX_CLOCK_REALTIME  256
#define FUTEX_CMD_MASK        (~(u64)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define FUTEX_BITSET_ANY      0xffffffffu
#define FUTEX_BUCKETS         64

struct futex_bucket {
	spinlock_t lock;          /* [X] */
	struct list_node waiters; /* [X] */
};

struct futex_waiter {
	struct list_node link;   /* [X] in its bucket */
	struct futex_bucket *b;  /* [X] (both buckets' for REQUEUE to change it) */
	struct vm *vm;           /* [X] the key: space and address */
	u64 uaddr;               /* [X] (REQUEUE changes it) */
	u32 bitset;
	bool woken;              /* [X] */
	struct waitq wq;
};

static struct futex_bucket buckets[FUTEX_BUCKETS];
static int nwaiters;                                      /* [atomic] */
static u64 futex_waits, futex_wakes, futex_unsupported;   /* [atomic] */
KCOUNTER_VAR("futex.waits", "calls", futex_waits);
KCOUNTER_VAR("futex.wakes", "threads", futex_wakes);
KCOUNTER_VAR("futex.unsupported", "calls", futex_unsupported);

void futex_init(void)
{
	for (int i = 0; i < FUTEX_BUCKETS; i++) {
		spin_init(&buckets[i].lock, "futex");
		list_init(&buckets[i].waiters);
	}
}

static struct futex_bucket *bucket(struct vm *vm, u64 uaddr)
{
	u64 h = (uaddr >> 2) ^ ((u64)(uptr)vm >> 6);
	h ^= h >> 17;
	return &buckets[h % FUTEX_BUCKETS];
}

/* Lock the bucket w is in now (REQUEUE may move it meanwhile). */
static struct futex_bucket *lock_waiter(struct futex_waiter *w, unsigned long *fl)
{
	for (;;) {
		struct futex_bucket *b = READ_ONCE(w->b);
		*fl = spin_lock_irqsave(&b->lock);
		if (READ_ONCE(w->b) == b)
			return b;
		spin_unlock_irqrestore(&b->lock, *fl);
	}
}

/* [X] held: wake up to n waiters on (vm, uaddr) whose bitset meets mask;
 * the number woken. */
static int wake_locked(struct vm *vm, u64 uaddr, int n, u32 mask)
{
	int woken = 0;
	struct list_node *b = &bucket(vm, uaddr)->waiters, *it = b->next;
	while (it != b && woken < n) {
		struct futex_waiter *w = list_entry(it, struct futex_waiter, link);
		it = it->next;
		if (w->vm != vm || w->uaddr != uaddr || !(w->bitset & mask))
			continue;
		list_remove(&w->link);
		__atomic_sub_fetch(&nwaiters, 1, __ATOMIC_RELAXED);
		w->woken = true;
		waitq_wake_all(&w->wq);
		woken++;
	}
	__atomic_add_fetch(&futex_wakes, (u64)woken, __ATOMIC_RELAXED);
	return woken;
}

int futex_wake_vm(struct vm *vm, u64 uaddr, int n)
{
	struct futex_bucket *b = bucket(vm, uaddr);
	unsigned long fl = spin_lock_irqsave(&b->lock);
	int r = wake_locked(vm, uaddr, n, FUTEX_BITSET_ANY);
	spin_unlock_irqrestore(&b->lock, fl);
	return r;
}

int futex_waiters(void)
{
	return __atomic_load_n(&nwaiters, __ATOMIC_RELAXED);
}

/* deadline: arch_clock_ns() time, or 0 for none */
static long futex_wait(struct vm *vm, u64 uaddr, u32 val, u64 deadline, u32 bitset)
{
	if (!bitset)
		return -EINVAL;
	u32 cur;
	/* fault the page in before [X]; the read under it then finds it */
	if (copy_from_user(&cur, uaddr, sizeof(cur)) < 0)
		return -EFAULT;
	struct futex_bucket *b = bucket(vm, uaddr);
	struct futex_waiter w = { .b = b, .vm = vm, .uaddr = uaddr, .bitset = bitset };
	waitq_init(&w.wq, "futex");
	unsigned long fl = spin_lock_irqsave(&b->lock);
	if (copy_from_user(&cur, uaddr, sizeof(cur)) < 0) {
		spin_unlock_irqrestore(&b->lock, fl);
		return -EFAULT;
	}
	if (cur != val) {
		spin_unlock_irqrestore(&b->lock, fl);
		return -EAGAIN;
	}
	list_push_back(&b->waiters, &w.link);
	__atomic_add_fetch(&nwaiters, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&futex_waits, 1, __ATOMIC_RELAXED);
	long r = 0;
	for (;;) {
		struct waiter me = WAITER_INIT;
		wait_prepare(&w.wq, &me);
		if (w.woken) {
			wait_finish(&w.wq, &me);
			break;
		}
		if (deadline && arch_clock_ns() >= deadline)
			r = -ETIMEDOUT;
		else if (proc_signal_pending())
			r = -EINTR;
		if (r) {
			wait_finish(&w.wq, &me);
			list_remove(&w.link);
			__atomic_sub_fetch(&nwaiters, 1, __ATOMIC_RELAXED);
			break;
		}
		spin_unlock_irqrestore(&b->lock, fl);
		if (deadline)
			wait_block_until(&w.wq, deadline);
		else
			wait_block(&w.wq);
		wait_finish(&w.wq, &me);
		b = lock_waiter(&w, &fl);
	}
	spin_unlock_irqrestore(&b->lock, fl);
	return r;
}

/* Wake nr_wake waiters on uaddr and move up to nr_requeue more to
 * uaddr2; with cmp, only while *uaddr still holds val3. */
static long futex_requeue(struct vm *vm, u64 uaddr, u64 uaddr2, s32 nr_wake, s32 nr_requeue,
			  bool cmp, u32 val3)
{
	if (nr_wake < 0 || nr_requeue < 0)
		return -EINVAL;
	if (uaddr2 & 3)
		return -EINVAL;
	if (uaddr2 >= USER_TOP)
		return -EFAULT;
	u32 cur;
	if (cmp && copy_from_user(&cur, uaddr, sizeof(cur)) < 0)
		return -EFAULT;
	struct futex_bucket *b1 = bucket(vm, uaddr), *b2 = bucket(vm, uaddr2);
	struct futex_bucket *first = b1 < b2 ? b1 : b2, *second = b1 < b2 ? b2 : b1;
	unsigned long fl = spin_lock_irqsave(&first->lock);
	if (second != first)
		spin_lock(&second->lock);
	long r;
	if (cmp && (copy_from_user(&cur, uaddr, sizeof(cur)) < 0 || cur != val3)) {
		r = cur != val3 ? -EAGAIN : -EFAULT;
		goto out;
	}
	int done = wake_locked(vm, uaddr, nr_wake, FUTEX_BITSET_ANY);
	struct list_node *b = &b1->waiters, *it = b->next;
	int moved = 0;
	while (it != b && moved < nr_requeue) {
		struct futex_waiter *w = list_entry(it, struct futex_waiter, link);
		it = it->next;
		if (w->vm != vm || w->uaddr != uaddr)
			continue;
		list_remove(&w->link);
		w->uaddr = uaddr2;
		WRITE_ONCE(w->b, b2);
		list_push_back(&b2->waiters, &w->link);
		moved++;
	}
	r = done + moved;
out:
	if (second != first)
		spin_unlock(&second->lock);
	spin_unlock_irqrestore(&first->lock, fl);
	return r;
}

struct kts {
	s64 sec, nsec;
};

long futex_call(u64 uaddr, u64 op, u64 val, u64 utime, u64 uaddr2, u64 val3)
{
	struct proc *p = proc_current();
	u64 cmd = op & FUTEX_CMD_MASK;
	bool has_timeout = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
	u64 deadline = 0;
	/* Linux's order: the timeout is read and checked first */
	if (utime && has_timeout) {
		struct kts ts;
		if (copy_from_user(&ts, utime, sizeof(ts)) < 0)
			return -EFAULT;
		if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
			return -EINVAL;
		u64 ns = (u64)ts.sec * 1000000000ULL + (u64)ts.nsec;
		if (cmd == FUTEX_WAIT)
			deadline = arch_clock_ns() + ns;
		else if (op & FUTEX_CLOCK_REALTIME)   /* the wall clock's time */
			deadline = ns > arch_realtime_offset_ns() ? ns - arch_realtime_offset_ns() : 1;
		else
			deadline = ns;
		if (!deadline)
			deadline = 1;   /* 0 means none: time 0 is long past */
		if (ts.sec > 100000000000LL)
			deadline = 0;   /* over 3,000 years: never */
	}
	if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT_BITSET)
		return -ENOSYS;
	bool known = cmd == FUTEX_WAIT || cmd == FUTEX_WAKE || cmd == FUTEX_REQUEUE ||
		     cmd == FUTEX_CMP_REQUEUE || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET;
	if (!known) {
		if (__atomic_fetch_add(&futex_unsupported, 1, __ATOMIC_RELAXED) == 0)
			pr_info("futex: pid %d (%s) asked for operation %llu, which Caboose lacks: "
				"-ENOSYS", p->pid, p->name, (unsigned long long)cmd);
		return -ENOSYS;
	}
	if (uaddr & 3)
		return -EINVAL;
	if (uaddr >= USER_TOP)
		return -EFAULT;
	struct vm *vm = p->vm;
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(vm, uaddr, (u32)val, deadline, FUTEX_BITSET_ANY);
	case FUTEX_WAIT_BITSET:
		return futex_wait(vm, uaddr, (u32)val, deadline, (u32)val3);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET: {
		u32 mask = cmd == FUTEX_WAKE ? FUTEX_BITSET_ANY : (u32)val3;
		if (!mask)
			return -EINVAL;
		/* a shared futex names a page: an unmapped one is -EFAULT */
		u32 cur;
		if (!(op & FUTEX_PRIVATE_FLAG) && copy_from_user(&cur, uaddr, sizeof(cur)) < 0)
			return -EFAULT;
		s32 n = (s32)val;
		/* as Linux's loop, which counts after each wake: 0 or less wakes one */
		struct futex_bucket *b = bucket(vm, uaddr);
		unsigned long fl = spin_lock_irqsave(&b->lock);
		int r = wake_locked(vm, uaddr, n <= 0 ? 1 : n, mask);
		spin_unlock_irqrestore(&b->lock, fl);
		return r;
	}
	case FUTEX_REQUEUE:
		return futex_requeue(vm, uaddr, uaddr2, (s32)val, (s32)utime, false, 0);
	default:   /* FUTEX_CMP_REQUEUE */
		return futex_requeue(vm, uaddr, uaddr2, (s32)val, (s32)utime, true, (u32)val3);
	}
}
