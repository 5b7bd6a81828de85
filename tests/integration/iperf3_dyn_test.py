#!/usr/bin/python3
"""Debian's dynamically linked iperf3, unchanged from its .deb (with
libiperf0, libssl3, libsctp1 and libc6 beside it, tools/debroot.py), as
the first program of a Caboose guest (init=/usr/bin/iperf3 -s) on a tap
in a network namespace this test creates (guest 10.213.16.2/24, host side
10.213.16.1); the host's own iperf3 -c runs in the namespace against it:
one stream and four (-P 4), each both ways (-R: Caboose sends), -t 2, one
server a test on ports 5201-5204 (see INIT).

Checks, each: iperf3 -c reports no error and more than IPERF_FLOOR bytes
received; afterwards each server ended with status 0 and the kernel did
not panic. Bytes, not rates: a busy 2-core host
makes rates meaningless.

Needs root (network namespace), iperf3 on the host. From tests/run.py
(tier user): run_all(logdir, kernel) returns (name, ok, detail) results.
Alone: python3 tests/integration/iperf3_dyn_test.py [LOGDIR].
Logs in LOGDIR: iperf3-dyn.console.log, iperf3-dyn.initrd.log and QEMU's
(iperf3-dyn.qemu.cmd, .qemu.stderr, .qemu.log: tests.lib.guest).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from tests.lib import guest                # noqa: E402
from tests.lib.netns import run_in_netns   # noqa: E402
import netload                             # noqa: E402

GUEST = "10.213.16.2"
HOSTSIDE = "10.213.16.1/24"
IPERF_FLOOR = 1 << 20
CACHE = os.path.join(ROOT, "build", "user", "debian-iperf3")


PORTS = (5201, 5202, 5203, 5204)
# One server a test, each on its own port (-1: one test, then exit): a
# second listen on a port whose last connection is in TIME_WAIT is refused
# by Caboose's bind (-EADDRINUSE, SO_REUSEADDR or not), which iperf3 -s
# does after each test. --forceflush: the console is no terminal.
INIT = """#!/bin/busybox sh
for p in %s; do /usr/bin/iperf3 -s -1 --forceflush -p $p & done
wait
""" % " ".join(str(p) for p in PORTS)


def make_initrd(path, work, log):
    """iperf3 and its libraries (tools/debroot.py, .debs cached in CACHE),
    /tmp (iperf3 -s makes a file there for each test), and Debian's static
    busybox to start the servers (/init)."""
    specs = os.path.join(work, "iperf3.specs")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "debroot.py"), specs, CACHE,
                    "iperf3", "usr/bin/iperf3"], check=True, stdout=log, stderr=log,
                   timeout=600)
    init = os.path.join(work, "init")
    with open(init, "w") as f:
        f.write(INIT)
    os.chmod(init, 0o755)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkcpio.py"), path, "@" + specs,
                    "tmp=@dir:1777", "init=" + init, "bin/busybox=/bin/busybox"],
                   check=True, stdout=log, stderr=log, timeout=60)


def inside(logdir, kernel, initrd):
    results = []
    qemu = None
    console = os.path.join(logdir, "iperf3-dyn.console.log")
    try:
        cmdline = "console=ttyS0 ip=%s/24,10.213.16.1 init=/init" % GUEST
        qemu = guest.start(guest.qemu_argv(logdir, "iperf3-dyn", 2, cmdline, kernel,
                                           extra=["-initrd", initrd]
                                           + guest.nic_args("tap0", speed=0)),
                           logdir, "iperf3-dyn")

        def text():
            try:
                with open(console, "rb") as f:
                    return f.read().decode("utf-8", "replace")
            except OSError:
                return ""
        deadline = time.monotonic() + 60

        def ready():
            return all("Server listening on %d" % p in text() for p in PORTS)
        while not ready() and time.monotonic() < deadline and qemu.poll() is None:
            time.sleep(0.5)
        ok = ready()
        results.append(("Debian's iperf3 -s (dynamically linked) starts on Caboose, %d "
                        "servers" % len(PORTS), ok, "" if ok else
                        text()[-800:] + guest.qemu_stderr(logdir, "iperf3-dyn")))
        if not ok:
            return results
        for port, args in zip(PORTS, (("-t", "2"), ("-t", "2", "-R"), ("-t", "2", "-P", "4"),
                                      ("-t", "2", "-P", "4", "-R"))):
            s = netload.iperf3(GUEST, "-p", str(port), *args, timeout=60)
            good = not s["error"] and (s["received"] or 0) > IPERF_FLOOR
            results.append(("host iperf3 -c %s against Debian's iperf3 -s on Caboose: no error, "
                            "over %d bytes received" % (" ".join(args), IPERF_FLOOR), good,
                            json.dumps(s)))
        # each server ends after its one test (-1) with status 0
        time.sleep(1)
        t = text()
        ended = t.count("(iperf3) exited with status 0")
        results.append(("each iperf3 -s -1 ended with status 0 after its test",
                        ended == len(PORTS) and "killed by" not in t,
                        "%d of %d: %s" % (ended, len(PORTS), t[-600:])))
        results.append(("Caboose: no panic", "panic" not in t.lower(), t[-400:]))
    except Exception as e:  # a harness error must not look like success
        results.append(("iperf3 on Caboose harness", False, repr(e)))
    finally:
        if qemu is not None and qemu.poll() is None:
            qemu.kill()
            qemu.wait()
    return results


def run_all(logdir, kernel=None):
    kernel = os.path.abspath(kernel or os.path.join(ROOT, "build", "caboose.elf"))
    if not os.path.isfile(kernel):
        return [("iperf3 on Caboose", False, "%s is missing (make)" % kernel)]
    if not shutil.which("iperf3"):
        return [("iperf3 on Caboose", False, "no iperf3 on the host (tools/deps.sh test)")]
    os.makedirs(logdir, exist_ok=True)
    # the packages come before the namespace, which has no way out
    work = tempfile.mkdtemp(prefix="iperf3-dyn-")
    try:
        initrd = os.path.join(work, "initrd.cpio")
        logpath = os.path.join(logdir, "iperf3-dyn.initrd.log")
        try:
            with open(logpath, "w") as log:
                make_initrd(initrd, work, log)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            return [("iperf3 on Caboose: its initial archive", False, "%s (log %s)" % (e, logpath))]
        return run_in_netns("iperf3dyn", __file__, [os.path.abspath(logdir), kernel, initrd],
                            [("tap0", False, HOSTSIDE)], timeout=900)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        print(json.dumps(inside(sys.argv[2], sys.argv[3], sys.argv[4])))
        return 0
    logdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "test-logs")
    res = run_all(logdir)
    bad = 0
    for name, ok, detail in res:
        sys.stderr.write("%s %s%s\n" % ("PASS" if ok else "FAIL", name,
                                         "" if ok else ": " + detail))
        bad += not ok
    print("%d passed, %d failed" % (len(res) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
