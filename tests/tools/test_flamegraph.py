#!/usr/bin/python3
"""Tests of tools/flamegraph: folded stacks in, SVG out.

Each case runs the tool as a program (stdin or files, stdout or -o) and
reads the SVG back with xml.etree: the boxes' widths must be in the ratio
of their samples, callers must sit under their callees, identical stacks
must be added up, names must be escaped, and bad input must fail with exit
status 2 and the line named.

Run by the layers tier of tests/run.py. Output: one `ok NAME` or
`FAIL NAME: reason` line per case on stdout, details on stderr; exit status
1 if any case failed.  Python 3 standard library only.
"""
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_check_layers import run_cases  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "flamegraph")
NS = "{http://www.w3.org/2000/svg}"


def run(args, stdin=""):
    return subprocess.run([sys.executable, TOOL] + args, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)


def frames(svg):
    """{name: [(samples, x, y, width)]} of the frame boxes."""
    out = {}
    for g in ET.fromstring(svg).iter(NS + "g"):
        title = g.find(NS + "title").text
        rect = g.find(NS + "rect")
        name, _, rest = title.rpartition(" (")
        samples = int(rest.split()[0])
        out.setdefault(name, []).append((samples, float(rect.get("x")), float(rect.get("y")),
                                         float(rect.get("width"))))
    return out


class Flamegraph(unittest.TestCase):
    FOLDED = ("thread_start;http_main;tcp_output 30\n"
              "thread_start;http_main;sock_read 10\n"
              "[idle] 60\n")

    def test_help(self):
        p = run(["--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("folded", p.stdout)
        self.assertIn("--min-width", p.stdout)

    def test_widths_follow_samples(self):
        p = run([], self.FOLDED)
        self.assertEqual(p.returncode, 0, p.stderr)
        f = frames(p.stdout)
        self.assertEqual(f["all"][0][0], 100)
        self.assertEqual(f["http_main"][0][0], 40)
        tcp, sock = f["tcp_output"][0], f["sock_read"][0]
        self.assertAlmostEqual(tcp[3] / sock[3], 3.0, places=2)
        self.assertAlmostEqual(f["[idle]"][0][3] / f["all"][0][3], 0.6, places=2)
        self.assertIn("100 samples", p.stderr)

    def test_callers_below_callees(self):
        f = frames(run([], self.FOLDED).stdout)
        y = {n: f[n][0][2] for n in ("all", "thread_start", "http_main", "tcp_output")}
        self.assertTrue(y["all"] > y["thread_start"] > y["http_main"] > y["tcp_output"], y)
        # a callee lies within its caller's horizontal extent
        cx, cw = f["http_main"][0][1], f["http_main"][0][3]
        for n in ("tcp_output", "sock_read"):
            x, w = f[n][0][1], f[n][0][3]
            self.assertTrue(cx - 1e-6 <= x and x + w <= cx + cw + 1e-6, (n, x, w, cx, cw))

    def test_inverted_puts_root_on_top(self):
        f = frames(run(["--inverted"], self.FOLDED).stdout)
        self.assertLess(f["all"][0][2], f["tcp_output"][0][2])

    def test_duplicates_add_up(self):
        p = run([], "a;b 5\na;b 7\na 1\n")
        f = frames(p.stdout)
        self.assertEqual(f["b"][0][0], 12)
        self.assertEqual(len(f["b"]), 1)
        self.assertEqual(f["all"][0][0], 13)

    def test_files_and_output(self):
        with tempfile.TemporaryDirectory() as d:
            a, b, out = (os.path.join(d, n) for n in ("a.folded", "b.folded", "out.svg"))
            with open(a, "w") as f:
                f.write("x;y 2\n")
            with open(b, "w") as f:
                f.write("x;y 3\nx;z 5\n")
            p = run(["-o", out, "--title", "two files", a, b])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "")
            with open(out) as f:
                svg = f.read()
        fr = frames(svg)
        self.assertEqual(fr["y"][0][0], 5)
        self.assertEqual(fr["all"][0][0], 10)
        self.assertIn("two files", svg)

    def test_names_escaped(self):
        p = run(["--title", "<&>"], "a<b>&c;\"q\" 3\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        f = frames(p.stdout)  # parses: everything was escaped
        self.assertIn("a<b>&c", f)
        self.assertIn('"q"', f)

    def test_min_width_drops_narrow_frames(self):
        p = run(["--min-width", "5", "--width", "200"], "wide 1000\nnarrow 1\n")
        f = frames(p.stdout)
        self.assertIn("wide", f)
        self.assertNotIn("narrow", f)
        self.assertEqual(f["all"][0][0], 1001)

    def test_bad_line_fails_and_is_named(self):
        p = run([], "a;b 3\nthis line has no count\n")
        self.assertEqual(p.returncode, 2)
        self.assertIn("stdin:2", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_empty_frame_is_bad(self):
        self.assertEqual(run([], "a;;b 3\n").returncode, 2)

    def test_skip_bad(self):
        p = run(["--skip-bad"], "# comment\n\na;b 3\ngarbage\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(frames(p.stdout)["b"][0][0], 3)
        self.assertIn("1 bad lines skipped", p.stderr)

    def test_empty_input(self):
        p = run([], "")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no stacks", p.stderr)

    def test_missing_file(self):
        p = run(["/nonexistent/folded"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/folded", p.stderr)



if __name__ == "__main__":
    sys.exit(run_cases(Flamegraph, __doc__))
