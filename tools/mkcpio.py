#!/usr/bin/python3
"""Write a newc cpio archive (the initial archive Caboose and Linux unpack).

Usage: mkcpio.py OUT NAME=FILE|NAME=@chr:MAJOR:MINOR:MODE|NAME=@lnk:TARGET|NAME=@dir[:MODE]|@LIST ...

NAME is the path inside the archive (e.g. tests/hello), FILE the host file;
@chr:1:3:0666 makes a character device node instead (dev/null), which Linux
creates as it unpacks the archive (Caboose makes its own /dev nodes);
@lnk:TARGET a symbolic link (bin/cat=@lnk:busybox); @dir an (empty)
directory, mode 0755 or MODE in octal (tmp=@dir:1777, proc=@dir: where
Linux's programs mount /proc); @LIST reads more
NAME=... specs from the file LIST, one a line (tools/debroot.py writes one).
Parent directories get entries of their own (mode 0755), files keep their
executable bit; owners are root and times zero, so the archive depends only
on its contents.  Python standard library only (a fresh machine has no cpio).
"""
import os
import sys


def header(ino, mode, size, name, rdev=(0, 0)):
    fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad(n):
    return b"\0" * ((4 - n % 4) % 4)


def main():
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        return 0
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out, specs = sys.argv[1], []
    for arg in sys.argv[2:]:
        if arg.startswith("@"):
            with open(arg[1:]) as f:
                specs += [l.strip() for l in f if l.strip()]
        else:
            specs.append(arg)
    entries, dirs = [], set()
    for spec in specs:
        name, _, path = spec.partition("=")
        name = name.strip("/")
        if not name or not path:
            sys.stderr.write("mkcpio: bad NAME=FILE: %r\n" % spec)
            return 2
        parts = name.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
        entries.append((name, path))
    data = bytearray()
    ino = 1
    # directories first, parents before children (sorted), so that an
    # unpacker finds each file's directory made; one named with @dir[:MODE]
    # has that mode, a parent 0755
    explicit = {name: int(path[5:], 8) if path.startswith("@dir:") else 0o755
                for name, path in entries if path == "@dir" or path.startswith("@dir:")}
    for d in sorted(dirs | set(explicit)):
        n = d.encode()
        h = header(ino, 0o040000 | explicit.get(d, 0o755), 0, n) + n + b"\0"
        data += h + pad(len(h))
        ino += 1
    for name, path in entries:
        if path.startswith("@lnk:"):
            target = path[5:].encode()
            n = name.encode()
            h = header(ino, 0o120777, len(target), n) + n + b"\0"
            data += h + pad(len(h)) + target + pad(len(target))
            ino += 1
            continue
        if name in explicit:
            continue   # written above
        if path.startswith("@chr:"):
            _, major, minor, mode = path.split(":")
            n = name.encode()
            h = header(ino, 0o020000 | int(mode, 8), 0, n, (int(major), int(minor))) + n + b"\0"
            data += h + pad(len(h))
            ino += 1
            continue
        with open(path, "rb") as f:
            body = f.read()
        mode = 0o100755 if os.access(path, os.X_OK) else 0o100644
        n = name.encode()
        h = header(ino, mode, len(body), n) + n + b"\0"
        data += h + pad(len(h)) + body + pad(len(body))
        ino += 1
    n = b"TRAILER!!!"
    h = header(0, 0, 0, n) + n + b"\0"
    data += h + pad(len(h))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
