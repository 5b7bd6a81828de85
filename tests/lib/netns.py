"""Network namespaces for the integration tests: every packet a test sends
stays in a namespace it made (../shared/TESTING.md). Needs root.

make_netns(ns, taps) makes namespace ns with lo up, IPv6 off (always: the
host would send router solicitations and MLD reports no test asked for),
and taps: a list of (name, multi_queue, "ADDR/PREFIX" or None), each up
with a 10000-frame queue. delete_netns(ns) removes it (and its taps).
run_in_netns(label, script, args, taps) runs a test's inside part in a
namespace made for it and returns its results. exit_on_sigterm() makes a
SIGTERM (a time limit's, a user's kill) run every finally block: what a
test started (QEMU, relays, load generators) is stopped, not orphaned.
"""
import json
import os
import signal
import subprocess
import sys
import threading

STOP_GRACE = 60  # seconds an inside part has to clean up after a SIGTERM


def exit_on_sigterm():
    """SIGTERM raises SystemExit in the main thread, so finally blocks run
    (Python's default is to die on the spot). A handler already set (such
    as tests/run.py's, which exits the same way after stopping its own
    children) is kept; only the main thread can set one."""
    if (threading.current_thread() is threading.main_thread() and
            signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
        signal.signal(signal.SIGTERM, lambda signum, _f: sys.exit(128 + signum))


def stop_inside(p, grace=STOP_GRACE):
    """Stop an inside part still running: SIGTERM (it cleans up), SIGKILL
    after GRACE seconds. Returns its stdout so far."""
    out = ""
    if p.poll() is None:
        p.terminate()
    try:
        out, _ = p.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out or ""


def sh(*a, check=True, timeout=30):
    """Run a command quietly; its output in the result (or the exception)."""
    return subprocess.run(list(a), check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def make_netns(ns, taps):
    sh("ip", "netns", "add", ns)
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    for knob in ("all", "default"):
        sh("ip", "netns", "exec", ns, "sysctl", "-qw",
           "net.ipv6.conf.%s.disable_ipv6=1" % knob)
    for name, mq, addr in taps:
        sh("ip", "-n", ns, "tuntap", "add", "dev", name, "mode", "tap",
           *(["multi_queue"] if mq else []))
        sh("ip", "-n", ns, "link", "set", name, "txqueuelen", "10000")
        if addr:
            sh("ip", "-n", ns, "addr", "add", addr, "dev", name)
        sh("ip", "-n", ns, "link", "set", name, "up")


def delete_netns(ns):
    sh("ip", "netns", "del", ns, check=False)


def run_in_netns(label, script, args, taps, timeout=600):
    """Run `python3 script --inside ARGS...` in a network namespace made for
    it, with taps: a list of (name, multi_queue, "ADDR/PREFIX" or None), each
    up with a 10000-frame queue. The inside part prints a JSON list of
    (name, ok, detail); that list is returned, or one failing
    "<label> harness" result. The namespace is deleted in any case."""
    if os.geteuid() != 0:
        return [("%s (needs root for a network namespace)" % label, False,
                 "run as root: the test creates a network namespace and a tap device")]
    ns = "caboose-%s-%d" % (label, os.getpid())
    exit_on_sigterm()
    p = None
    try:
        make_netns(ns, taps)
        # `ip netns exec` execs the command: p.pid is the inside part's
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(script),
                              "--inside"] + [str(a) for a in args],
                             stdout=subprocess.PIPE, stderr=None, text=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_inside(p)
            return [("%s harness" % label, False,
                     "the inside part took more than %d s (stopped)" % timeout)]
        try:
            return [tuple(r) for r in json.loads(out)]
        except ValueError:
            return [("%s harness" % label, False,
                     "inside part printed no results (exit %d)" % p.returncode)]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return [("%s harness" % label, False, "%s: %s" % (e, getattr(e, "stderr", "")))]
    finally:
        if p is not None and p.poll() is None:   # a signal or an error stopped us
            stop_inside(p)
        delete_netns(ns)
