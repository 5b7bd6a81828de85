"""A Caboose guest under QEMU with its REPL (COM2) on a unix socket: the
launcher (Guest(logdir, name, smp, cmdline): COM1 to LOGDIR/NAME.console.log,
QEMU's own log to NAME.qemu.log (its -d items from
$CABOOSE_QEMU_D, default cpu_reset,guest_errors; "int,cpu_reset" finds a
triple fault), its stderr to NAME.qemu.stderr, the REPL transcript to NAME.repl.log) and
the REPL client (cmd, json, read_until, drain), also for a guest someone
else started (Guest.attach)."""
import json
import os
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "caboose.elf")   # the default image
PROMPT = b"caboose> "


class Guest:
    """QEMU running Caboose with COM1 to a file and COM2 on a socket."""

    def __init__(self, logdir, name, smp, cmdline, kernel=None):
        self.dir = tempfile.mkdtemp(prefix="caboose-repl-")
        self.sock_path = os.path.join(self.dir, "repl.sock")
        self.console = os.path.join(logdir, name + ".console.log")
        self.transcript = open(os.path.join(logdir, name + ".repl.log"), "wb")
        accel = "tcg,thread=multi" if smp > 1 else "tcg"
        # QEMU's own complaints (an assertion, a chardev error) go to a file:
        # a pipe nobody reads would hide them, or block QEMU when full
        self.stderr = open(os.path.join(logdir, name + ".qemu.stderr"), "wb")
        self.proc = subprocess.Popen(
            ["qemu-system-x86_64", "-accel", accel, "-smp", str(smp), "-m", "512M",
             "-display", "none", "-no-reboot", "-kernel", kernel or KERNEL, "-append", cmdline,
             "-serial", "file:" + self.console,
             "-chardev", "socket,id=repl,path=%s,server=on,wait=off" % self.sock_path,
             "-serial", "chardev:repl",
             "-d", os.environ.get("CABOOSE_QEMU_D", "cpu_reset,guest_errors"), "-D", os.path.join(logdir, name + ".qemu.log"),
             "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 20
        while not os.path.exists(self.sock_path):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("QEMU did not create the REPL socket (exit %s)"
                                   % self.proc.poll())
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.sock_path)
        self.sock.settimeout(0.5)
        self.buf = b""

    @classmethod
    def attach(cls, sock_path, proc, transcript, console=None, timeout=30):
        """The REPL of a guest someone else started (COM2 on sock_path):
        connected, at a fresh prompt. transcript: an open binary file."""
        g = cls.__new__(cls)
        g.sock_path, g.console, g.proc, g.transcript = sock_path, console, proc, transcript
        g.sock = socket.socket(socket.AF_UNIX)
        g.sock.connect(sock_path)
        g.sock.settimeout(0.5)
        g.buf = b""
        g.send(b"\x03")
        g.read_until(PROMPT, timeout)
        g.drain()
        return g

    def read_until(self, pat, timeout=30):
        end = time.time() + timeout
        while pat not in self.buf:
            if time.time() > end:
                raise TimeoutError("no %r from the REPL; last output %r" % (pat, self.buf[-300:]))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise EOFError("REPL socket closed (QEMU exit %s)" % self.proc.poll())
            self.transcript.write(data)
            self.buf += data
        i = self.buf.index(pat) + len(pat)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode("utf-8", "replace")

    def drain(self, quiet=0.7, limit=20):
        """Discard output until the REPL has been silent for `quiet` s."""
        end = time.time() + limit
        last = time.time()
        while time.time() < end and time.time() - last < quiet:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise EOFError("REPL socket closed")
            self.transcript.write(data)
            last = time.time()
        self.buf = b""

    def send(self, data):
        self.transcript.write(b"\n>>> " + data[:200] + b"\n")
        self.sock.sendall(data)

    def cmd(self, line, timeout=30):
        """Run a command; return its output without the echoed line and prompt."""
        self.send(line.encode() + b"\r")
        out = self.read_until(PROMPT, timeout)
        body = out[: -len(PROMPT)].replace("\r\n", "\n")
        lines = body.split("\n")
        # the first line is the echo of what we typed
        return "\n".join(lines[1:]).strip("\n")

    def json(self, line, timeout=30):
        out = self.cmd("json " + line, timeout)
        for l in out.split("\n"):
            if l.startswith("{"):
                return json.loads(l)
        raise ValueError("no JSON in reply to %r: %r" % (line, out))

    def console_text(self):
        with open(self.console, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.transcript.close()
        if getattr(self, "stderr", None):
            self.stderr.close()
        try:
            os.unlink(self.sock_path)
            os.rmdir(self.dir)
        except OSError:
            pass
