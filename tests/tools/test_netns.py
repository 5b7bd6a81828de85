#!/usr/bin/python3
"""Tests of tests/lib/netns.py: a test stopped by a signal or a time limit
leaves nothing running.

A stand-in for a test script (written to a temporary directory) has an
inside part that starts a child (`sleep`, standing for QEMU or a load
generator), records its PID, and stops it in a finally block. The outer
part runs it through run_in_netns. Cases: SIGTERM to the outer part while
the inside runs; run_in_netns's own time limit; SIGTERM to a script that
installed exit_on_sigterm() after a handler of its own (that handler is
kept). Each asserts that the child and the inside part are gone, the
finally block ran, and the namespace was deleted. Before exit_on_sigterm()
a SIGTERM killed the outer part on the spot: the inside part, its QEMU and
its load generators ran on (seen after an interrupted `make soak`).

Needs root (network namespaces). Run by the layers tier of tests/run.py.
Output: one `ok NAME` or `FAIL NAME: reason` line per case on stdout,
details on stderr; exit status 1 if any case failed.
"""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_check_layers import run_cases  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent('''\
    import json, os, signal, subprocess, sys, time
    sys.path.insert(0, %(root)r)
    from tests.lib.netns import exit_on_sigterm, run_in_netns
    DIR = %(dir)r

    def note(name, text):
        with open(os.path.join(DIR, name), "w") as f:
            f.write(text)

    if sys.argv[1] == "--inside":
        exit_on_sigterm()
        child = subprocess.Popen(["sleep", "600"])
        try:
            note("inside.pid", "%%d %%d %%s" %% (os.getpid(), child.pid,
                                               os.readlink("/proc/self/ns/net")))
            time.sleep(600)
            print(json.dumps([["inside", True, ""]]))
        finally:
            child.kill()
            child.wait()
            note("cleaned", "yes")
    else:
        if sys.argv[1] == "own-handler":
            mine = lambda signum, _f: (note("own-handler", "ran"), sys.exit(128 + signum))
            signal.signal(signal.SIGTERM, mine)
        timeout = float(sys.argv[2])
        res = run_in_netns("nstest", __file__, [], [], timeout=timeout)
        note("outer.json", json.dumps(res))
''')


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for this purpose; it waits for a parent that is itself gone
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Netns(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("needs root: network namespaces")
        self.dir = tempfile.mkdtemp(prefix="caboose-nstest-")
        self.script = os.path.join(self.dir, "stand_in.py")
        with open(self.script, "w") as f:
            f.write(SCRIPT % {"root": ROOT, "dir": self.dir})
        self.outer = None

    def tearDown(self):
        if self.outer is not None and self.outer.poll() is None:
            self.outer.kill()
            self.outer.wait()
        p = os.path.join(self.dir, "inside.pid")
        if os.path.exists(p):   # whatever a failed case left running: ours, by PID
            for pid in map(int, open(p).read().split()[:2]):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)

    def start(self, mode="plain", timeout=600):
        self.outer = subprocess.Popen([sys.executable, self.script, mode, str(timeout)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
        path = os.path.join(self.dir, "inside.pid")
        end = time.time() + 30
        while time.time() < end and not os.path.exists(path):
            time.sleep(0.05)
        time.sleep(0.2)
        self.assertTrue(os.path.exists(path), "the inside part never started")
        inside, child, ns = open(path).read().split()
        self.assertNotEqual(ns, os.readlink("/proc/self/ns/net"),
                            "the inside part runs in this namespace")
        return int(inside), int(child)

    def namespaces(self):
        out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
        return [l.split()[0] for l in out.splitlines() if l.strip()]

    def assert_clean(self, inside, child):
        self.assertTrue(os.path.exists(os.path.join(self.dir, "cleaned")),
                        "the inside part's finally block did not run")
        self.assertFalse(alive(child), "the inside part's child %d runs on" % child)
        self.assertFalse(alive(inside), "the inside part %d runs on" % inside)
        mine = "caboose-nstest-%d" % self.outer.pid
        self.assertNotIn(mine, self.namespaces(), "namespace %s left behind" % mine)

    def test_sigterm_stops_the_inside_part(self):
        inside, child = self.start()
        self.outer.send_signal(signal.SIGTERM)
        self.outer.wait(timeout=90)
        self.assertEqual(self.outer.returncode, 128 + signal.SIGTERM)
        self.assert_clean(inside, child)

    def test_time_limit_stops_the_inside_part(self):
        inside, child = self.start(timeout=3)
        self.outer.wait(timeout=90)
        self.assert_clean(inside, child)
        res = open(os.path.join(self.dir, "outer.json")).read()
        self.assertIn("took more than 3 s", res)
        self.assertIn("false", res)

    def test_a_handler_of_its_own_is_kept(self):
        inside, child = self.start("own-handler")
        self.outer.send_signal(signal.SIGTERM)
        self.outer.wait(timeout=90)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "own-handler")),
                        "the script's own SIGTERM handler was replaced")
        self.assert_clean(inside, child)



if __name__ == "__main__":
    sys.exit(run_cases(Netns, __doc__))
