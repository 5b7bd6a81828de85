/* Inside kernel/proc: what proc.c and signal.c share. */
#ifndef PROC_PROC_PRIV_H
#define PROC_PROC_PRIV_H

#include "kernel/proc/proc.h"

#define SIG_DFL 0
#define SIG_IGN 1

/* [P] the process table (proc.c) */
extern spinlock_t procs_lock;
extern struct list_node procs;

/* A process-directed signal: sig pending in p, its threads woken (one
 * that does not block it takes it). [P] held or p known to live. */
void signal_send(struct proc *p, int sig);
/* A thread-directed one (tgkill, faults, SIGPIPE). */
void uthread_signal(struct uthread *ut, int sig);
/* A child whose parent sleeps in vfork execs or ends: the parent goes on. */
void vfork_release(struct proc *c);
/* A child's stop or continue for its parent (proc.c). [P] */
void proc_report_stop(struct proc *p, u8 what);
#define SA_NOCLDSTOP 1
/* The architecture's user-return hook: deliver what is pending. */
void signal_on_user_return(void);
/* The CPU interval timers charged with the returning thread's time
 * (itimer.c), from the user-return hook while one is armed. */
void itimer_cpu_on_user_return(struct uthread *ut);

#endif
