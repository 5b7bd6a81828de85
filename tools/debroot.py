#!/usr/bin/python3
"""Debian's own dynamically linked programs for the initial archive.

Usage: tools/debroot.py OUT CACHE PACKAGES PROGRAMS

  PACKAGES  comma-separated Debian packages (coreutils); with the library
            packages (Section: libs) they depend on, transitively (libc6
            among them), `apt-get download`ed into CACHE/debs (kept) and
            unpacked with `dpkg -x` into CACHE/root, unchanged
  PROGRAMS  comma-separated SRC[:DEST]: a program's path in the unpacked
            packages and where it goes in the archive (bin/ls:usr/bin/ls)
  OUT       written with one NAME=FILE line per file for tools/mkcpio.py
            (@OUT): each program, every library it needs (DT_NEEDED,
            recursively) where ld.so looks for it, and ld.so itself at
            /lib64/ld-linux-x86-64.so.2; a link's target file, not the link

The same archive boots the Linux guest and Caboose, so both run the very
same binaries.  Packages come the way bench/linux-guest takes its own
(tests/lib/debs.py).  Progress on stderr; nothing on stdout.
"""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.lib.log import make_log  # noqa: E402
from tests.lib import debs as debs_lib  # noqa: E402

log = make_log("debroot")


def main():
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        return 0
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    out, cache, packages, programs = sys.argv[1:]
    packages = [p for p in packages.split(",") if p]
    progs = [(p.partition(":")[0], p.partition(":")[2] or p.partition(":")[0])
             for p in programs.split(",") if p]
    debs = os.path.join(cache, "debs")
    root = os.path.join(cache, "root")
    os.makedirs(debs, exist_ok=True)
    debs_lib.download(debs, packages, log)
    libs = debs_lib.lib_packages(debs, packages, log)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    debs_lib.unpack(debs, packages + libs, root, log)
    specs = {}
    for src, dest in progs:
        if not os.path.isfile(os.path.join(root, src)):
            raise SystemExit("debroot: %s is in none of %s" % (src, ", ".join(packages)))
        for rel in debs_lib.lib_closure(root, src):
            name = dest if rel == src else rel
            specs[name] = debs_lib.resolve(root, rel)
    with open(out + ".tmp", "w") as f:
        for name in sorted(specs):
            f.write("%s=%s\n" % (name, specs[name]))
    os.rename(out + ".tmp", out)
    log("%d files from %d packages (%s)" % (len(specs), len(packages + libs),
                                             ", ".join(packages + libs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
