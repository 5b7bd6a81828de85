/*
 * Credentials: a process's real, effective and saved user and group ids
 * and its supplementary groups (struct proc_cred), with Linux's rules for
 * changing them. A process whose effective uid is 0 is privileged (it
 * holds CAP_SETUID and CAP_SETGID: Caboose has no other capabilities)
 * and may set any id; any other may only move its ids among the values
 * it already has. The file-system ids (fsuid, fsgid: what the VFS checks)
 * follow the effective ones, or setfsuid/setfsgid's. The first program starts as root; fork copies the
 * credentials and execve keeps them (no set-user-ID programs).
 *
 * Ids come in as u32; (u32)-1 means "leave it" where Linux says so and is
 * -EINVAL where a real id is needed.
 *
 * Locks: [P] procs_lock guards p->cred; the calls here read and write it
 * whole under it, so a reader (the REPL, /proc) never sees half a change.
 */
#include "kernel/proc/proc.h"
#include "kernel/proc/proc_priv.h"
#include "kernel/lib/string.h"

#define KEEP ((u32)-1)

/* No lock (every system call that names a file asks): a copy taken while
 * cred_seq stayed even and unchanged is one cred_set wrote whole. */
void proc_cred_get(struct proc *p, struct proc_cred *out)
{
	for (;;) {
		u32 s = __atomic_load_n(&p->cred_seq, __ATOMIC_ACQUIRE);
		if (!(s & 1)) {
			*out = p->cred;
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&p->cred_seq, __ATOMIC_RELAXED) == s)
				return;
		}
		cpu_pause();
	}
}

/* As Linux's commit_creds: a change of the effective ids makes the
 * process not dumpable (fs.suid_dumpable 0), which prctl reports. */
static void cred_set(struct proc *p, const struct proc_cred *c)
{
	unsigned long fl = spin_lock_irqsave(&procs_lock);
	if (c->euid != p->cred.euid || c->egid != p->cred.egid)
		__atomic_store_n(&p->dumpable, false, __ATOMIC_RELAXED);
	__atomic_store_n(&p->cred_seq, p->cred_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	p->cred = *c;
	__atomic_store_n(&p->cred_seq, p->cred_seq + 1, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&procs_lock, fl);
}

/* Is v one of the three ids (real, effective, saved)? */
static bool one_of(u32 v, u32 r, u32 e, u32 s)
{
	return v == r || v == e || v == s;
}

/* setresuid/setresgid's core on one triple of ids: each new value (or
 * KEEP) must be one of the old three unless privileged. */
static int set_res(u32 *id, u32 r, u32 e, u32 s, bool priv)
{
	u32 want[3] = { r, e, s };
	for (int i = 0; i < 3; i++)
		if (want[i] != KEEP && !priv && !one_of(want[i], id[0], id[1], id[2]))
			return -EPERM;
	for (int i = 0; i < 3; i++)
		if (want[i] != KEEP)
			id[i] = want[i];
	return 0;
}

/* setreuid/setregid: the real id may become the real or effective one,
 * the effective any of the three; when the real id is set, or the
 * effective one becomes other than the old real one, the saved id
 * follows the new effective one (Linux's setreuid(2)). */
static int set_re(u32 *id, u32 r, u32 e, bool priv)
{
	if (r != KEEP && !priv && r != id[0] && r != id[1])
		return -EPERM;
	if (e != KEEP && !priv && !one_of(e, id[0], id[1], id[2]))
		return -EPERM;
	u32 old_real = id[0];
	if (r != KEEP)
		id[0] = r;
	if (e != KEEP)
		id[1] = e;
	if (r != KEEP || (e != KEEP && e != old_real))
		id[2] = id[1];
	return 0;
}

/* setuid/setgid: privileged, all three; otherwise the effective id only,
 * to the real or saved one. */
static int set_one(u32 *id, u32 v, bool priv)
{
	if (v == KEEP)
		return -EINVAL;
	if (priv) {
		id[0] = id[1] = id[2] = v;
		return 0;
	}
	if (v != id[0] && v != id[2])
		return -EPERM;
	id[1] = v;
	return 0;
}

enum cred_op { OP_ONE, OP_RE, OP_RES };

static int change(bool user, enum cred_op op, u32 r, u32 e, u32 s)
{
	struct proc *p = proc_current();
	struct proc_cred c;
	proc_cred_get(p, &c);
	bool priv = c.euid == 0;
	u32 id[3] = { user ? c.uid : c.gid, user ? c.euid : c.egid, user ? c.suid : c.sgid };
	int rc = op == OP_ONE ? set_one(id, r, priv)
	       : op == OP_RE  ? set_re(id, r, e, priv)
			      : set_res(id, r, e, s, priv);
	if (rc < 0)
		return rc;
	/* as Linux: every change of the effective id moves the file
	 * system's with it */
	if (user) {
		c.uid = id[0], c.euid = id[1], c.suid = id[2], c.fsuid = id[1];
	} else {
		c.gid = id[0], c.egid = id[1], c.sgid = id[2], c.fsgid = id[1];
	}
	cred_set(p, &c);
	return 0;
}

static u32 set_fs(bool user, u32 v)
{
	struct proc *p = proc_current();
	struct proc_cred c;
	proc_cred_get(p, &c);
	u32 old = user ? c.fsuid : c.fsgid;
	bool ok = v != KEEP && (c.euid == 0 || (user ? one_of(v, c.uid, c.euid, c.suid) || v == c.fsuid
						   : one_of(v, c.gid, c.egid, c.sgid) || v == c.fsgid));
	if (ok && v != old) {
		if (user)
			c.fsuid = v;
		else
			c.fsgid = v;
		cred_set(p, &c);
	}
	return old;
}

u32 proc_setfsuid(u32 uid) { return set_fs(true, uid); }
u32 proc_setfsgid(u32 gid) { return set_fs(false, gid); }

int proc_setuid(u32 uid) { return change(true, OP_ONE, uid, 0, 0); }
int proc_setgid(u32 gid) { return change(false, OP_ONE, gid, 0, 0); }
int proc_setreuid(u32 r, u32 e) { return change(true, OP_RE, r, e, 0); }
int proc_setregid(u32 r, u32 e) { return change(false, OP_RE, r, e, 0); }
int proc_setresuid(u32 r, u32 e, u32 s) { return change(true, OP_RES, r, e, s); }
int proc_setresgid(u32 r, u32 e, u32 s) { return change(false, OP_RES, r, e, s); }

int proc_setgroups(int n, const u32 *groups)
{
	if (n < 0 || n > PROC_NGROUPS)
		return -EINVAL;
	struct proc *p = proc_current();
	struct proc_cred c;
	proc_cred_get(p, &c);
	if (c.euid != 0)
		return -EPERM;
	c.ngroups = n;
	memcpy(c.groups, groups, (size_t)n * sizeof(u32));
	cred_set(p, &c);
	return 0;
}

void proc_vfs_cred(const struct proc_cred *c, bool real, struct vfs_cred *out)
{
	_Static_assert(PROC_NGROUPS <= VFS_NGROUPS, "groups fit");
	out->uid = real ? c->uid : c->fsuid;
	out->gid = real ? c->gid : c->fsgid;
	out->priv = out->uid == 0;
	out->ngroups = c->ngroups;
	memcpy(out->groups, c->groups, (size_t)c->ngroups * sizeof(u32));
}

/* vfs_cred_hook: the calling process's file-system ids (its effective
 * ones unless setfsuid/setfsgid moved them); a kernel thread has none (the VFS takes root's). */
bool proc_vfs_cred_hook(struct vfs_cred *out)
{
	struct proc *p = proc_current();
	if (!p)
		return false;
	struct proc_cred c;
	proc_cred_get(p, &c);
	proc_vfs_cred(&c, false, out);
	return true;
}
