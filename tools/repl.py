#!/usr/bin/python3
"""Talk to the Caboose REPL on a unix socket (make run puts it at
build/repl.sock).

  tools/repl.py [SOCKET]                 interactive; Ctrl-] quits
  tools/repl.py [SOCKET] -c 'json threads' [-c ...]
                                         run commands, print their output on
                                         stdout (JSON when prefixed), exit
"""
import argparse
import os
import select
import socket
import sys
import termios
import time
import tty

PROMPT = b"caboose> "


def run_commands(sock, cmds):
    sock.settimeout(0.2)
    buf = b""

    def until_prompt(timeout=30):
        nonlocal buf
        end = time.time() + timeout
        while PROMPT not in buf:
            if time.time() > end:
                raise SystemExit("repl: no prompt within %d s" % timeout)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise SystemExit("repl: connection closed")
            buf += data
        i = buf.index(PROMPT) + len(PROMPT)
        out, buf = buf[:i], buf[i:]
        return out

    sock.sendall(b"\x03")  # a fresh line, whatever was typed before
    until_prompt()
    quiet = time.time()
    while time.time() - quiet < 0.3:  # drain anything else pending
        try:
            if sock.recv(65536):
                quiet = time.time()
        except socket.timeout:
            pass
    buf = b""
    failed = False
    for c in cmds:
        sock.sendall(c.encode() + b"\r")
        out = until_prompt().decode("utf-8", "replace").replace("\r\n", "\n")
        body = out.split("\n", 1)[1] if "\n" in out else ""
        body = body[: -len(PROMPT)] if body.endswith(PROMPT.decode()) else body
        sys.stdout.write(body)
        failed |= body.startswith("error:") or '"ok":false' in body
    return 1 if failed else 0


def interactive(sock):
    print("connected to the Caboose REPL; Ctrl-] quits", file=sys.stderr)
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd) if os.isatty(fd) else None
    try:
        if old:
            tty.setraw(fd)
        while True:
            r, _, _ = select.select([sock, fd], [], [])
            if sock in r:
                data = sock.recv(65536)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if fd in r:
                data = os.read(fd, 1024)
                if not data or b"\x1d" in data:
                    break
                sock.sendall(data)
    finally:
        if old:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
    return 0


def main():
    ap = argparse.ArgumentParser(
        prog="tools/repl.py", description=__doc__.split("\n\n")[0].replace("\n", " "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("socket", nargs="?", default="build/repl.sock",
                    help="the REPL's unix socket (default build/repl.sock)")
    ap.add_argument("-c", dest="cmds", action="append", default=[], metavar="COMMAND",
                    help="run COMMAND, print its output, exit (repeatable)")
    opts = ap.parse_args()
    path, cmds = opts.socket, opts.cmds
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.connect(path)
    except OSError as e:
        raise SystemExit("repl: cannot connect to %s: %s (is 'make run' running?)" % (path, e))
    return run_commands(sock, cmds) if cmds else interactive(sock)


if __name__ == "__main__":
    sys.exit(main())
