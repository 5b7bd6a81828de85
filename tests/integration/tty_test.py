#!/usr/bin/python3
"""Debian's busybox sh, interactive on the console tty, driven through a unix
socket chardev on COM1: on Caboose, then the same script on the Linux guest
(bench/linux-guest) as the oracle.

Usage: tests/integration/tty_test.py [--kernel ELF] [--linux VMLINUZ]
                                     [--initrd CPIO] [--logs DIR]

The shell runs as `/tests/tty shell /bin/sh -i` (apps/tests/tty.c: a child
in a new session with the console as its controlling terminal), the first
program on both kernels. Checks, in order:
  prompt      the shell prints its prompt (it found a terminal: interactive)
  echo        typed characters come back (busybox's own line editor, in
              non-canonical mode with the tty's echo off)
  edit        the editor's erase (^? and ^H) gives the edited command
  canonical   the `read` builtin reads through the tty's canonical mode:
              erase ^?, werase ^W and kill ^U give the edited line, and
              ECHOCTL echoes ^C-style control characters
  lnext reprint  ^V quotes ^C and ^U into a `read` line, ^R echoes the
              line again (screen byte for byte as Linux's)
  flow control  after ^S nothing is output, not even the shell's echo of
              a typed command, until ^Q; then the command runs
  echo held while stopped  ^S while `read` waits, then a word: the tty's
              own echo of it comes only after ^Q, and read has the word
  sigint      `sleep 100` interrupted by ^C: the prompt is back in under
              10 s and $? is 130
  same echo   the canonical step's screen is Linux's, byte for byte
  job control `sleep 100`, ^Z: "Stopped"; `jobs` lists it; `fg` runs it
              again in the foreground; ^C ends it with $? 130
  eof         ^D at the prompt ends the shell: exit 0 (Caboose logs init's
              end; Linux panics with exitcode=0x00000000)
Output: one `PASS name` / `FAIL name: why` line per check on stderr,
`N passed, M failed` on stdout; exit status 0 when all passed.
Python 3 standard library only."""
import argparse
import os
import re
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.lib import guest  # noqa: E402

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1bc")


class Console:
    """The guest's COM1 through QEMU's socket chardev; everything read is kept."""

    def __init__(self, path, log, deadline):
        self.buf = b""
        self.log = open(log, "wb")
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.s.settimeout(0.2)

    def pump(self):
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return True
        except OSError:
            return False
        if not d:
            return False
        self.buf += d
        self.log.write(d)
        self.log.flush()
        return True

    def expect(self, pattern, timeout, start=0):
        """Wait for the regex (bytes) in what came after offset start; the
        match or None."""
        end = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf, start)
            if m:
                return m
            if time.monotonic() > end or not self.pump():
                return rx.search(self.buf, start)

    def type(self, data, gap=0.05):
        """Send data a byte at a time, as a person types."""
        for b in data:
            self.s.sendall(bytes([b]))
            time.sleep(gap)

    def close(self):
        self.s.close()
        self.log.close()




def prompt_after(con, start, timeout):
    """The shell's prompt ("/ # ") after offset start."""
    return con.expect(rb"[/~\w]* # ", timeout, start)


def read_line(con, typed):
    """The shell's `read` builtin (the tty's canonical mode) given typed:
    (the line it read, or None; the screen from the command to its echo,
    without ANSI sequences); the prompt is back afterwards."""
    mark = len(con.buf)
    con.type(b"read x; echo \"got=[$x]\"\r")
    time.sleep(0.5)
    con.type(typed)
    m = con.expect(rb"\ngot=\[([^\]\n]*)\]", 20, mark)
    screen = ANSI.sub(b"", con.buf[mark:m.end() if m else len(con.buf)])
    prompt_after(con, mark + 10, 20)
    return (m.group(1) if m else None), screen


screens = {}   # the canonical step's screen, per kernel
lnext_screens = {}   # the lnext step's


def drive(con, res, tag, end_re, boot_timeout):
    """The checks on one kernel; end_re is how the kernel reports init's end."""
    m = prompt_after(con, 0, boot_timeout)
    res(tag + " prompt", m is not None, "no prompt in %d s: %r" % (boot_timeout, con.buf[-300:]))
    if not m:
        return
    mark = len(con.buf)
    con.type(b"echo typed-hello\r")
    m = con.expect(rb"echo typed-hello\r?\n[^\n]*typed-hello", 20, mark)
    res(tag + " echo", m is not None, "no echo or output: %r" % con.buf[mark:][-300:])
    prompt_after(con, mark + 10, 20)

    mark = len(con.buf)
    con.type(b"echo edXX\x7f\x08ited\r")   # the editor erases on ^? and ^H
    m = con.expect(rb"\n[^\n]*\bedited\b", 20, mark)
    res(tag + " edit", m is not None, "no 'edited': %r" % ANSI.sub(b"", con.buf[mark:])[-300:])
    prompt_after(con, mark + 10, 20)

    # the kill of "garbage" (ECHOKE: erased on screen) and the rubouts
    got, echoed = read_line(con, b"garbage\x15helo\x7flo junk\x17world\r")
    ok = got == b"hello world" and b"\b \b" in echoed
    res(tag + " canonical", ok, "read gave %r; screen %r" % (got, echoed[-300:]))
    screens[tag] = echoed if got is not None else None

    # LNEXT (^V) quotes ^C and the kill character ^U; REPRINT (^R) echoes
    # the line again
    got, echoed = read_line(con, b"ab\x16\x03c\x16\x15\x12d\r")
    ok = got == b"ab\x03c\x15d" and b"^\b^C" in echoed and b"^R\r\nab^Cc^U" in echoed
    res(tag + " lnext reprint", ok, "read gave %r; screen %r" % (got, echoed[-300:]))
    lnext_screens[tag] = echoed if got is not None else None

    # flow control: after STOP (^S) nothing comes out, not even the shell's
    # echo of what is typed next, until START (^Q)
    mark = len(con.buf)
    con.type(b"\x13")
    time.sleep(0.5)
    stop_at = len(con.buf)
    con.type(b"echo after-stop\r")
    time.sleep(3)
    held = con.expect(rb"after-stop", 0.5, stop_at) is None
    con.type(b"\x11")
    m = con.expect(rb"\nafter-stop", 20, stop_at)
    res(tag + " flow control", held and m is not None,
        "output held after ^S: %s; after ^Q: %r" % (held, ANSI.sub(b"", con.buf[mark:])[-300:]))
    prompt_after(con, m.end() if m else mark, 20)

    # the tty's own echo is held too: STOP typed while `read` waits (the
    # canonical mode, the kernel echoing), then a word: no echo of it
    # until START; then the line ends and read has the word
    mark = len(con.buf)
    con.type(b"read x; echo \"got=[$x]\"\r")
    time.sleep(0.5)
    con.type(b"\x13")
    time.sleep(0.5)
    stop_at = len(con.buf)
    con.type(b"withheld")
    time.sleep(2)
    held = con.expect(rb"withheld", 0.5, stop_at) is None
    con.type(b"\x11")
    shown = con.expect(rb"withheld", 20, stop_at) is not None
    con.type(b"\r")
    m = con.expect(rb"\ngot=\[([^\]\n]*)\]", 20, mark)
    res(tag + " echo held while stopped", held and shown and m is not None and
        m.group(1) == b"withheld", "echo held after ^S: %s, shown after ^Q: %s, read gave %r: %r"
        % (held, shown, m.group(1) if m else None, ANSI.sub(b"", con.buf[mark:])[-300:]))
    prompt_after(con, m.end() if m else mark, 20)

    mark = len(con.buf)
    con.type(b"sleep 100\r")
    con.expect(rb"sleep 100\r?\n", 20, mark)
    time.sleep(1.5)
    t0 = time.monotonic()
    con.type(b"\x03")
    m = prompt_after(con, len(con.buf), 15)
    dt = time.monotonic() - t0
    mark2 = len(con.buf)
    con.type(b"echo status=$?\r")
    st = con.expect(rb"status=(\d+)", 20, mark2)
    code = st.group(1) if st else None
    res(tag + " sigint", m is not None and dt < 10 and code == b"130",
        "prompt after %.1f s (%s), $?=%r" % (dt, "seen" if m else "not seen", code))
    prompt_after(con, mark2 + 10, 20)

    mark = len(con.buf)
    con.type(b"sleep 100\r")
    con.expect(rb"sleep 100\r?\n", 20, mark)
    time.sleep(1.5)
    con.type(b"\x1a")
    m = con.expect(rb"Stopped[^\n]*sleep 100", 15, mark)
    prompt_after(con, m.end() if m else mark, 15)
    mark2 = len(con.buf)
    con.type(b"jobs\r")
    j = con.expect(rb"\[1\]\+? +Stopped[^\n]*sleep 100", 15, mark2)
    prompt_after(con, mark2 + 6, 15)
    mark3 = len(con.buf)
    con.type(b"fg\r")
    f = con.expect(rb"fg\r?\n[^\n]*sleep 100", 15, mark3)
    time.sleep(1.5)
    alive = prompt_after(con, mark3 + 4, 0.5) is None   # still running in the foreground
    con.type(b"\x03")
    prompt_after(con, len(con.buf), 15)
    mark4 = len(con.buf)
    con.type(b"echo status=$?\r")
    st = con.expect(rb"status=(\d+)", 20, mark4)
    code = st.group(1) if st else None
    res(tag + " job control", m is not None and j is not None and f is not None and alive and
        code == b"130", "^Z stopped: %s, jobs: %s, fg: %s, running again: %s, $? after ^C %r: %r"
        % (m is not None, j is not None, f is not None, alive, code,
           ANSI.sub(b"", con.buf[mark:])[-400:]))
    prompt_after(con, mark4 + 10, 20)

    mark = len(con.buf)
    con.type(b"\x04")
    m = con.expect(end_re, 30, mark)
    res(tag + " eof", m is not None, "no end of init after ^D: %r" %
        ANSI.sub(b"", con.buf[mark:])[-300:])


def run_one(args, tag, argv, sock, log, end_re, results):
    if os.path.exists(sock):
        os.unlink(sock)
    err = open(log + ".qemu.stderr", "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                         start_new_session=True)
    try:
        con = Console(sock, log, time.monotonic() + 30)
        try:
            drive(con, lambda n, ok, why: results.append((n, ok, why)), tag, end_re, 120)
        finally:
            con.close()
    except OSError as e:
        results.append((tag + " console", False, "cannot connect: %s" % e))
    finally:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()   # QEMU itself (no shell in between), by its PID
            p.wait()
        err.close()


def run_all(logs, kernel, linux, initrd):
    os.makedirs(logs, exist_ok=True)
    results = []
    sock = os.path.join(logs, "tty.sock")
    chardev = ["-chardev", "socket,id=c0,path=%s,server=on,wait=off" % sock,
               "-serial", "chardev:c0"]
    cb = guest.base_argv(2) + [
        "-kernel", kernel, "-initrd", initrd, "-cpu", "max", "-nic", "none",
        "-append", "console=ttyS0 loglevel=3 panic=exit ip=off repl=off init=/tests/tty "
        "init.args=shell,/bin/sh,-i init.exit=qemu",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4"] + chardev
    run_one(None, "caboose", cb, sock, os.path.join(logs, "tty-caboose.log"),
            rb"init: /tests/tty ended with code 0", results)
    if linux and os.path.isfile(linux):
        lx = guest.base_argv(1) + [
            "-kernel", linux, "-initrd", initrd, "-nic", "none",
            "-append", "console=ttyS0 quiet panic=-1 no_timer_check "
            "rdinit=/tests/tty -- shell /bin/sh -i"] + chardev
        run_one(None, "linux", lx, sock, os.path.join(logs, "tty-linux.log"),
                rb"Attempted to kill init! exitcode=0x00000000", results)
        same = screens.get("caboose") is not None and \
            screens.get("caboose") == screens.get("linux")
        results.append(("canonical echo byte for byte as Linux's", same,
                        "caboose %r\nlinux   %r" % (screens.get("caboose"), screens.get("linux"))))
        same = lnext_screens.get("caboose") is not None and \
            lnext_screens.get("caboose") == lnext_screens.get("linux")
        results.append(("lnext and reprint echo byte for byte as Linux's", same,
                        "caboose %r\nlinux   %r" % (lnext_screens.get("caboose"),
                                                   lnext_screens.get("linux"))))
    else:
        results.append(("linux", False, "no Linux guest kernel at %s" % linux))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build", "caboose.elf"))
    ap.add_argument("--linux", default=os.path.join(ROOT, "build", "linux-guest", "vmlinuz"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build", "user", "initrd.cpio"))
    ap.add_argument("--logs", default=os.path.join(ROOT, "build", "test-logs"))
    a = ap.parse_args()
    res = run_all(a.logs, a.kernel, a.linux, a.initrd)
    bad = 0
    for name, ok, why in res:
        sys.stderr.write("%s %s%s\n" % ("PASS" if ok else "FAIL", name, "" if ok else ": " + why))
        bad += not ok
    print("%d passed, %d failed" % (len(res) - bad, bad))
    return 0 if res and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
