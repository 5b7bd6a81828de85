/*
 * The credential calls (get/set of the user and group ids, the
 * supplementary groups; the rules are kernel/proc/cred.c's) and prctl.
 */
#include "kernel/syscall/sys_priv.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"

/* Linux's NGROUPS_MAX: setgroups refuses more with -EINVAL */
#define NGROUPS_MAX 65536

static struct proc_cred cur(void)
{
	struct proc_cred c;
	proc_cred_get(proc_current(), &c);
	return c;
}

long sys_getuid(const u64 a[6]) { (void)a; return cur().uid; }
long sys_geteuid(const u64 a[6]) { (void)a; return cur().euid; }
long sys_getgid(const u64 a[6]) { (void)a; return cur().gid; }
long sys_getegid(const u64 a[6]) { (void)a; return cur().egid; }
long sys_setuid(const u64 a[6]) { return proc_setuid((u32)a[0]); }
long sys_setgid(const u64 a[6]) { return proc_setgid((u32)a[0]); }
long sys_setreuid(const u64 a[6]) { return proc_setreuid((u32)a[0], (u32)a[1]); }
long sys_setregid(const u64 a[6]) { return proc_setregid((u32)a[0], (u32)a[1]); }
long sys_setresuid(const u64 a[6]) { return proc_setresuid((u32)a[0], (u32)a[1], (u32)a[2]); }
long sys_setresgid(const u64 a[6]) { return proc_setresgid((u32)a[0], (u32)a[1], (u32)a[2]); }
long sys_setfsuid(const u64 a[6]) { return proc_setfsuid((u32)a[0]); }
long sys_setfsgid(const u64 a[6]) { return proc_setfsgid((u32)a[0]); }

static long put_three(u64 ur, u64 ue, u64 us, u32 r, u32 e, u32 s)
{
	if (copy_to_user(ur, &r, 4) < 0 || copy_to_user(ue, &e, 4) < 0 ||
	    copy_to_user(us, &s, 4) < 0)
		return -EFAULT;
	return 0;
}

long sys_getresuid(const u64 a[6])
{
	struct proc_cred c = cur();
	return put_three(a[0], a[1], a[2], c.uid, c.euid, c.suid);
}

long sys_getresgid(const u64 a[6])
{
	struct proc_cred c = cur();
	return put_three(a[0], a[1], a[2], c.gid, c.egid, c.sgid);
}

/* getgroups(size, list): size 0 asks how many; fewer than there are is
 * -EINVAL. */
long sys_getgroups(const u64 a[6])
{
	s32 size = (s32)a[0];
	struct proc_cred c = cur();
	if (size < 0)
		return -EINVAL;
	if (size == 0)
		return c.ngroups;
	if (size < c.ngroups)
		return -EINVAL;
	if (c.ngroups && copy_to_user(a[1], c.groups, (size_t)c.ngroups * 4) < 0)
		return -EFAULT;
	return c.ngroups;
}

/* setgroups(size, list): privileged only (checked first, as Linux); kept
 * sorted, as Linux keeps them (getgroups returns that order). */
long sys_setgroups(const u64 a[6])
{
	s32 size = (s32)a[0];
	if (cur().euid != 0)
		return -EPERM;
	if (size < 0 || size > NGROUPS_MAX)
		return -EINVAL;
	if (size > PROC_NGROUPS) {
		pr_info("setgroups: %d groups, Caboose keeps at most %d: -EINVAL", size,
			PROC_NGROUPS);
		return -EINVAL;
	}
	u32 g[PROC_NGROUPS];
	if (size && copy_from_user(g, a[1], (size_t)size * 4) < 0)
		return -EFAULT;
	for (int i = 1; i < size; i++)
		for (int j = i; j > 0 && g[j - 1] > g[j]; j--) {
			u32 t = g[j];
			g[j] = g[j - 1];
			g[j - 1] = t;
		}
	return proc_setgroups(size, g);
}

#define PR_GET_DUMPABLE 3
#define PR_SET_DUMPABLE 4
#define PR_SET_NAME     15
#define PR_GET_NAME     16
#define PR_CAPBSET_READ 23
#define CAP_LAST_CAP    40   /* Linux 6.1's, the Linux guest's */
#define TASK_COMM_LEN   16

/* prctl: the options programs ask at start-up. Capabilities: the bounding
 * set is full, as on Linux for root (Caboose has no smaller one). Names:
 * the process's (Caboose names processes, not threads). Any other option
 * is -EINVAL, logged once, so a program that needs one says so. */
long sys_prctl(const u64 a[6])
{
	struct proc *p = proc_current();
	switch (a[0]) {
	case PR_GET_DUMPABLE:
		return __atomic_load_n(&p->dumpable, __ATOMIC_RELAXED);
	case PR_SET_DUMPABLE:
		if (a[1] > 1)
			return -EINVAL;
		__atomic_store_n(&p->dumpable, a[1] == 1, __ATOMIC_RELAXED);
		return 0;
	case PR_CAPBSET_READ:
		return a[1] <= CAP_LAST_CAP ? 1 : -EINVAL;
	case PR_SET_NAME: {
		/* up to the string's end: the bytes after it may be unmapped */
		char name[TASK_COMM_LEN] = "";
		size_t got = copy_from_user_partial(name, a[1], sizeof(name));
		if (strnlen(name, got) == got && got < sizeof(name))
			return -EFAULT;
		name[TASK_COMM_LEN - 1] = '\0';
		memset(p->name, 0, sizeof(p->name));
		memcpy(p->name, name, strlen(name));
		return 0;
	}
	case PR_GET_NAME: {
		char name[TASK_COMM_LEN] = { 0 };
		memcpy(name, p->name, strnlen(p->name, TASK_COMM_LEN - 1));
		return copy_to_user(a[1], name, sizeof(name)) < 0 ? -EFAULT : 0;
	}
	default: {
		static bool said;
		if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
			pr_info("prctl: pid %d (%s): option %llu is not supported: -EINVAL",
				p->pid, p->name, (unsigned long long)a[0]);
		return -EINVAL;
	}
	}
}
