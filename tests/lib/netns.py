"""Network namespaces for the integration tests: every packet a test sends
stays in a namespace it made (../shared/TESTING.md). Needs root.

make_netns(ns, taps) makes namespace ns with lo up, IPv6 off (always: the
host would send router solicitations and MLD reports no test asked for),
and taps: a list of (name, multi_queue, "ADDR/PREFIX" or None), each up
with a 10000-frame queue. delete_netns(ns) removes it (and its taps).
run_in_netns(label, script, args, taps) runs a test's inside part in a
namespace made for it and returns its results.
"""
import json
import os
import subprocess
import sys


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
    try:
        make_netns(ns, taps)
        p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(script),
                            "--inside"] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=None, text=True, timeout=timeout)
        try:
            return [tuple(r) for r in json.loads(p.stdout)]
        except ValueError:
            return [("%s harness" % label, False,
                     "inside part printed no results (exit %d)" % p.returncode)]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return [("%s harness" % label, False, "%s: %s" % (e, getattr(e, "stderr", "")))]
    finally:
        delete_netns(ns)
