/* REPL commands of the scheduler: threads, run queues, thread backtraces. */
#include "kernel/sched/sched.h"
#include "kernel/sched/sched_priv.h"
#include "kernel/lib/counter.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/repl/repl.h"

static const char *const state_names[] = { "runnable", "running", "blocked", "dead" };

static void thread_row(struct thread *t, void *arg)
{
	struct repl_out *o = arg;
	char id[24], cpu[8], rt[24], sw[24], mig[24], flags[8];
	ksnprintf(id, sizeof(id), "%llu", (unsigned long long)t->id);
	ksnprintf(cpu, sizeof(cpu), "%u", t->cpu);
	ksnprintf(rt, sizeof(rt), "%llu", (unsigned long long)(t->runtime_ns / 1000));
	ksnprintf(sw, sizeof(sw), "%llu", (unsigned long long)t->switches);
	ksnprintf(mig, sizeof(mig), "%llu", (unsigned long long)t->migrations);
	ksnprintf(flags, sizeof(flags), "%s%s", t->flags & THREAD_NOFREEZE ? "F" : "",
		  t->flags & THREAD_PINNED ? "P" : "");
	const char *wait = t->state == THREAD_BLOCKED && t->wait_chan ? t->wait_chan : "";
	const char *cells[9] = { id, t->name, state_names[t->state], cpu, wait, rt, sw, mig,
				 flags };
	repl_row(o, cells);
}

REPL_CMD("threads", cmd_threads, "", "threads: state, CPU, wait channel, run time");
static int cmd_threads(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "threads", "id:n:5 name::16 state::8 cpu:n:3 wait::12 "
			 "runtime_us:n:12 switches:n:9 migrations:n:10 flags::5");
	thread_for_each(thread_row, o);
	repl_table_end(o);
	return 0;
}

REPL_CMD("runq", cmd_runq, "", "per-CPU run queues: length, steals, idle, frozen");
static int cmd_runq(struct repl_out *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	repl_table_begin(o, "runq", "cpu:n:3 online::6 idle::4 frozen::6 runnable:n:8 "
			 "current::16 steals:n:8 stolen:n:8 switches:n:10 idle_ms:n:10");
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		struct sched_cpu_stats st;
		sched_stats(c, &st);
		if (!st.online)
			continue;
		char id[8], rn[16], stl[24], stn[24], sw[24], idle[24];
		ksnprintf(id, sizeof(id), "%u", c);
		ksnprintf(rn, sizeof(rn), "%u", st.runnable);
		ksnprintf(stl, sizeof(stl), "%llu", (unsigned long long)st.steals);
		ksnprintf(stn, sizeof(stn), "%llu", (unsigned long long)st.stolen);
		ksnprintf(sw, sizeof(sw), "%llu", (unsigned long long)st.switches);
		ksnprintf(idle, sizeof(idle), "%llu", (unsigned long long)(st.idle_ns / 1000000));
		const char *cells[10] = { id, "yes", st.idle ? "yes" : "no", st.frozen ? "yes" : "no",
					  rn, st.current ? st.current : "-", stl, stn, sw, idle };
		repl_row(o, cells);
	}
	repl_table_end(o);
	return 0;
}

struct find {
	u64 id;
	struct thread *t;   /* with a reference taken under the threads lock */
};

static void find_thread(struct thread *t, void *arg)
{
	struct find *f = arg;
	if (t->id != f->id || f->t)
		return;
	int r = __atomic_load_n(&t->refs, __ATOMIC_RELAXED);
	while (r > 0) /* never revive a thread whose last reference is going */
		if (__atomic_compare_exchange_n(&t->refs, &r, r + 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			f->t = t;
			return;
		}
}

static void bt_row(void *arg, int depth, u64 addr, const char *sym, u64 off)
{
	struct repl_out *o = arg;
	char d[8], a[24], s[64];
	ksnprintf(d, sizeof(d), "%d", depth);
	ksnprintf(a, sizeof(a), "%#llx", (unsigned long long)addr);
	ksnprintf(s, sizeof(s), "%s+0x%llx", sym ? sym : "?", (unsigned long long)off);
	const char *cells[3] = { d, a, s };
	repl_row(o, cells);
}

REPL_CMD("bt", cmd_bt, "THREAD-ID", "backtrace of a thread that is not running");
static int cmd_bt(struct repl_out *o, int argc, char **argv)
{
	struct find f = { 0 };
	if (argc != 2 || repl_parse_u64(argv[1], &f.id) < 0)
		return repl_error(o, -EINVAL, "usage: bt THREAD-ID (see 'threads')");
	thread_for_each(find_thread, &f);
	struct thread *t = f.t;
	if (!t)
		return repl_error(o, -ENOENT, "no thread %llu", (unsigned long long)f.id);
	int err = 0;
	if (t == thread_current()) {
		repl_table_begin(o, "backtrace", "depth:n:5 address::18 symbol::40");
		arch_backtrace_walk((u64)__builtin_frame_address(0), 0, 0, bt_row, o);
		repl_table_end(o);
		thread_put(t);
		return 0;
	}
	/* Holding the thread's lock keeps it from being switched in (the
	 * scheduler takes that lock to run it), so its stack holds still, and
	 * a thread that is not dead keeps its stack. */
	unsigned long fl = irq_save();
	raw_spin_lock(&t->lock);
	if (t->state == THREAD_RUNNING) {
		err = repl_error(o, -EBUSY, "thread %llu is running on cpu %u; 'freeze' first",
				 (unsigned long long)f.id, t->cpu);
	} else if (t->state == THREAD_DEAD || !t->ctx) {
		err = repl_error(o, -ENOENT, "thread %llu has exited", (unsigned long long)f.id);
	} else {
		u64 fp, pc;
		arch_context_frame(t->ctx, &fp, &pc);
		repl_table_begin(o, "backtrace", "depth:n:5 address::18 symbol::40");
		arch_backtrace_walk(fp, pc, 0, bt_row, o);
		repl_table_end(o);
	}
	raw_spin_unlock(&t->lock);
	irq_restore(fl);
	thread_put(t);
	return err;
}

static u64 c_threads(void) { return thread_count(); }
static u64 c_timers(void)
{
	u64 n = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++)
		n += timers_fired(c);
	return n;
}
KCOUNTER_PCPU("sched.context_switches", "switches", cpus, ctx_switches);
KCOUNTER_PCPU("sched.steals", "threads", rqs, steals);
KCOUNTER_PCPU("sched.wake_ipis", "IPIs", rqs, kicks);
KCOUNTER_PCPU("sched.wake_ipis_saved", "IPIs", rqs, kicks_saved);
KCOUNTER("sched.threads", "threads", c_threads);
KCOUNTER("timer.fired", "timers", c_timers);
