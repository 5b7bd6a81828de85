#!/usr/bin/python3
"""Every tool in tools/ and bench/ answers --help with its usage on stdout
and exit status 0, and does nothing else (no socket, no QEMU, no install).

A tool is a file there that is a program: executable, or named *.py or
*.sh (grub.cfg, C sources, the wrk script and folders are not). Each runs
with --help under a 20 s time-out, from the tree's root.

Run by the layers tier of tests/run.py. Output: one `ok help TOOL` or
`FAIL help TOOL: reason` line per tool on stdout; exit status 1 if any
failed. Python 3 standard library only.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDERS = ["tools", "bench"]


def tools():
    for d in FOLDERS:
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            path = os.path.join(d, name)
            full = os.path.join(ROOT, path)
            if not os.path.isfile(full):
                continue
            if name.endswith((".py", ".sh")) or os.access(full, os.X_OK):
                yield path


def command(path):
    if path.endswith(".sh"):
        return ["sh", path]
    with open(os.path.join(ROOT, path), "rb") as f:
        first = f.readline()
    if path.endswith(".py") or b"python" in first:
        return [sys.executable, path]
    return [os.path.join(ROOT, path)]


def main():
    failed = 0
    found = list(tools())
    if not found:
        print("FAIL help: no tools found under %s" % ", ".join(FOLDERS))
        return 1
    for path in found:
        try:
            p = subprocess.run(command(path) + ["--help"], cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=20)
            problems = []
            if p.returncode != 0:
                problems.append("exit status %d" % p.returncode)
            if "usage" not in p.stdout.lower():
                problems.append("no usage on stdout")
            detail = "; ".join(problems) + (": " + p.stderr.strip()[-200:] if p.stderr else "")
        except subprocess.TimeoutExpired:
            problems, detail = ["timeout"], "no answer in 20 s"
        if problems:
            failed += 1
            print("FAIL help %s: %s" % (path, detail))
        else:
            print("ok help %s" % path)
    sys.stderr.write("test_help: %d of %d tools failed\n" % (failed, len(found)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
