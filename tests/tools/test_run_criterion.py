#!/usr/bin/python3
"""Tests of tests/run.py's reading of a Criterion binary (run_criterion).

Fake binaries (shell scripts) stand in for build/host/unit: one that hangs
past the time limit, one that dies without a synthesis line, one whose
synthesis disagrees with its per-test lines, one that passes. Each case
asserts the results the tier records: a hang is one failure that says it
timed out (before the fix, reading the synthesis of a killed run raised
TypeError and stopped the whole tier), a crash says it crashed, a
disagreement is named, a good run passes.

Run by the layers tier of tests/run.py. Output: one `ok NAME` or
`FAIL NAME: reason` line per case on stdout, details on stderr; exit status
1 if any case failed.
"""
import importlib.util
import io
import os
import sys
import tempfile
import types
import unittest
from contextlib import redirect_stderr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_check_layers import run_cases  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("caboose_run", os.path.join(ROOT, "tests", "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)

GOOD = """[PASS] s::a: (0.00s)
[PASS] s::b: (0.00s)
[====] Synthesis: Tested: 2 | Passing: 2 | Failing: 0 | Crashing: 0
"""


class RunCriterion(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="caboose-crit-")
        self.opts = types.SimpleNamespace(logs=self.dir, host_timeout=2)

    def fake(self, body):
        path = os.path.join(self.dir, "unit")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        return path

    def results(self, body):
        res = run.Results()
        with redirect_stderr(io.StringIO()):
            run.run_criterion(res, self.opts, self.fake(body), "unit", "host")
        return res

    def test_a_hang_is_one_timed_out_failure(self):
        res = self.results("sleep 30\n")
        self.assertEqual(res.failures, ["unit run"])
        self.assertEqual(res.passed, 0)

    def test_a_hang_says_it_timed_out(self):
        res = run.Results()
        out = io.StringIO()
        with redirect_stderr(out):
            run.run_criterion(res, self.opts, self.fake("sleep 30\n"), "unit", "host")
        self.assertIn("timed out after", out.getvalue())

    def test_a_crash_without_synthesis_fails(self):
        out = io.StringIO()
        res = run.Results()
        with redirect_stderr(out):
            run.run_criterion(res, self.opts, self.fake("echo '[PASS] s::a: (0.00s)'\nkill -SEGV $$\n"),
                              "unit", "host")
        self.assertIn("unit run", res.failures)
        self.assertIn("killed by signal 11", out.getvalue())

    def test_a_synthesis_that_disagrees_fails(self):
        out = io.StringIO()
        res = run.Results()
        with redirect_stderr(out):
            run.run_criterion(res, self.opts, self.fake(
                "cat <<'EOF'\n[PASS] s::a: (0.00s)\n"
                "[====] Synthesis: Tested: 3 | Passing: 3 | Failing: 0 | Crashing: 0\nEOF\n"),
                "unit", "host")
        self.assertIn("unit run", res.failures)
        self.assertIn("synthesis says 3 tests, 1 per-test results found", out.getvalue())

    def test_a_good_run_passes(self):
        res = self.results(
            "for a; do case $a in --json=*) j=${a#--json=};; esac; done\n"
            "echo '{\"test_suites\": [{\"name\": \"s\", \"tests\": ["
            "{\"name\": \"a\", \"status\": \"PASSED\"}, "
            "{\"name\": \"b\", \"status\": \"PASSED\"}]}]}' > \"$j\"\n"
            "cat <<'EOF'\n" + GOOD + "EOF\n")
        self.assertEqual(res.failures, [])
        self.assertEqual(res.passed, 3)   # two tests and the run



if __name__ == "__main__":
    sys.exit(run_cases(RunCriterion, __doc__))
