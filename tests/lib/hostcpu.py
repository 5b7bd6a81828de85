"""Host CPU accounting from /proc, for benchmarks that report how busy the
rest of the machine was while they measured (the hosts are small and
shared: a ratio measured beside a busy neighbour says so)."""
import os
import resource


def cpu_jiffies():
    """(busy, total) jiffies over all host CPUs since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)      # idle + iowait
    total = sum(v[:8])
    return total - idle, total


def proc_jiffies(pid):
    """utime + stime of one process, in jiffies; 0 once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


class Interference:
    """Host CPU used, during a load, by everything but QEMU (qemu_pid) and
    our children (the load tools), as a percentage of all host CPUs:
    Interference(pid) at the start, .pct() at the end (None if no time
    passed)."""

    def __init__(self, qemu_pid):
        self.pid = qemu_pid
        self.busy0, self.total0 = cpu_jiffies()
        self.q0 = proc_jiffies(qemu_pid)
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.c0 = r.ru_utime + r.ru_stime

    def pct(self):
        busy, total = cpu_jiffies()
        q = proc_jiffies(self.pid)
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        kids = (r.ru_utime + r.ru_stime - self.c0) * os.sysconf("SC_CLK_TCK")
        other = (busy - self.busy0) - (q - self.q0) - kids
        dt = total - self.total0
        return round(max(0.0, 100.0 * other / dt), 1) if dt > 0 else None
