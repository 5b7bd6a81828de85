"""A guest on a tap in a network namespace for the benchmarks that put
Caboose beside the Linux guest (bench/net, bench/tcp), and the Linux
guest's manifest.

  manifest()   bench/linux-guest's manifest (it builds the guest on first
               use, from Debian's packages, cached in build/linux-guest/):
               kernel, initramfs, package versions; None when it failed
  boot(ns, logdir, name, kernel_args, ready, timeout)
               QEMU (tests.lib.guest's machine: 2 CPUs, TCG) in namespace
               NS with KERNEL_ARGS (-kernel, -append, -initrd), a NIC with
               2 queue pairs on its tap0 and COM1 in LOGDIR/NAME.console.log,
               started by tests.lib.guest.start (its command line and
               stderr kept beside the console); waits for the regular
               expression READY on the console, then a second for the
               guest to settle: (the QEMU process, READY's match or None)
  ratios(caboose, linux, metrics, log)  Caboose / Linux for each metric,
               as rows for the JSON, each logged

Python 3 standard library only."""
import json
import os
import re
import subprocess
import sys
import time

from tests.lib import guest

LINUX_GUEST = os.path.join(guest.ROOT, "bench", "linux-guest")


def manifest():
    p = subprocess.run([sys.executable, LINUX_GUEST], stdout=subprocess.PIPE, stderr=sys.stderr,
                       text=True)
    return json.loads(p.stdout) if p.returncode == 0 else None


def boot(ns, logdir, name, kernel_args, ready, timeout=90):
    console = os.path.join(logdir, name + ".console.log")
    if os.path.exists(console):
        os.unlink(console)
    q = guest.start(guest.base_argv(2) + list(kernel_args) + ["-serial", "file:" + console]
                    + guest.nic_args("tap0", queues=2), logdir, name,
                    prefix=["ip", "netns", "exec", ns])
    end, m = time.time() + timeout, None
    while time.time() < end and q.poll() is None:
        try:
            with open(console, "rb") as f:
                m = re.search(ready, f.read().decode("utf-8", "replace"))
        except OSError:
            m = None
        if m:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    return q, m


def get(d, *path):
    """D[path[0]][path[1]]...; None where a step is missing."""
    for k in path:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def ratios(caboose, linux, metrics, log):
    """Caboose / Linux for each (label, path into a system's results, which
    is better: "higher" or "lower") of METRICS, each logged with LOG: rows
    {metric, caboose, linux, caboose_over_linux, better}."""
    rows = []
    for label, path, better in metrics:
        a, b = get(caboose, *path), get(linux, *path)
        rows.append({"metric": label, "caboose": a, "linux": b, "better": better,
                     "caboose_over_linux": round(a / b, 3) if a and b else None})
        log("%-30s caboose %10s  linux %10s  caboose/linux %s (%s is better)"
            % (label, a, b, rows[-1]["caboose_over_linux"], better))
    return rows
