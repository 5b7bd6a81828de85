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
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from tests.lib import guest, harness        # noqa: E402
from tests.lib.results import Results      # noqa: E402
import netload                             # noqa: E402

GUEST = "10.213.16.2"
HOSTSIDE = "10.213.16.1/24"
IPERF_FLOOR = 1 << 20
TAG = "iperf3-dyn"


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
    """iperf3 and its libraries (tools/debroot.py, .debs cached in
    build/user/debian-iperf3), /tmp (iperf3 -s makes a file there for each
    test), and Debian's static busybox to start the servers (/init)."""
    harness.debian_archive(path, work, log, "iperf3", "usr/bin/iperf3", INIT)


def inside(logdir, kernel, initrd):
    check = Results()
    qemu = None
    try:
        cmdline = "console=ttyS0 ip=%s/24,10.213.16.1 init=/init" % GUEST
        qemu = guest.start(guest.qemu_argv(logdir, TAG, 2, cmdline, kernel,
                                           extra=["-initrd", initrd]
                                           + guest.nic_args("tap0", speed=0)),
                           logdir, TAG)

        def ready():
            text = harness.console_text(logdir, TAG)
            return all("Server listening on %d" % p in text for p in PORTS)
        ok = harness.wait_for(lambda: ready() or qemu.poll() is not None, 60) and ready()
        if not check("Debian's iperf3 -s (dynamically linked) starts on Caboose, %d "
                     "servers" % len(PORTS), ok, harness.console_text(logdir, TAG)[-800:]
                     + guest.qemu_stderr(logdir, TAG)):
            return check.items
        for port, args in zip(PORTS, (("-t", "2"), ("-t", "2", "-R"), ("-t", "2", "-P", "4"),
                                      ("-t", "2", "-P", "4", "-R"))):
            s = netload.iperf3(GUEST, "-p", str(port), *args, timeout=60)
            good = not s["error"] and (s["received"] or 0) > IPERF_FLOOR
            check("host iperf3 -c %s against Debian's iperf3 -s on Caboose: no error, "
                  "over %d bytes received" % (" ".join(args), IPERF_FLOOR), good, json.dumps(s))
        # each server ends after its one test (-1) with status 0
        time.sleep(1)
        t = harness.console_text(logdir, TAG)
        ended = t.count("(iperf3) exited with status 0")
        check("each iperf3 -s -1 ended with status 0 after its test",
              ended == len(PORTS) and "killed by" not in t,
              "%d of %d: %s" % (ended, len(PORTS), t[-600:]))
        check("Caboose: no panic", "panic" not in t.lower(), t[-400:])
    except Exception as e:  # a harness error must not look like success
        check("iperf3 on Caboose harness", False, repr(e))
    finally:
        if qemu is not None:
            harness.stop_qemu(qemu)
    return check.items


def run_all(logdir, kernel=None):
    return harness.run_with_archive(
        "iperf3 on Caboose", TAG, __file__, logdir, kernel, ("iperf3",), make_initrd,
        [("tap0", False, HOSTSIDE)], ns="iperf3dyn")


if __name__ == "__main__":
    sys.exit(harness.script_main(run_all, inside))
