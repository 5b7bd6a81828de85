"""Caboose under QEMU: the one launcher every test and benchmark uses.

qemu_argv() builds QEMU's command line (TCG, COM1 to a file, COM2 as the REPL
on a unix socket, QEMU's log, the isa-debug-exit port); nic_args() adds a
virtio-net NIC on a tap; start() runs it with its command in NAME.qemu.cmd and
its stderr in NAME.qemu.stderr (a pipe nobody reads would hide QEMU's
complaints, or block it when full), and qemu_stderr() reads that back.
Guest(logdir, name, smp, cmdline) is a guest started that way with its REPL
client (cmd, json, read_until, drain); Guest.attach is the client for a guest
someone else started.  QEMU's -d items come from $CABOOSE_QEMU_D (default
cpu_reset,guest_errors; "int,cpu_reset" finds a triple fault)."""
import json
import os
import shlex
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "caboose.elf")   # the default image
PROMPT = b"caboose> "


QEMU = os.environ.get("QEMU", "qemu-system-x86_64")


def accel(smp):
    """TCG; multi-threaded when the guest has more than one CPU."""
    return "tcg,thread=multi" if smp > 1 else "tcg"


def base_argv(smp, mem="512M", icount=False):
    """The machine every test and benchmark runs, Caboose or the Linux guest:
    TCG, SMP CPUs, MEM, no display, a triple fault exits instead of
    rebooting. icount: -icount shift=0 (the guest's TSC counts its
    instructions), on single-threaded TCG whatever SMP is."""
    if icount:
        return [QEMU, "-accel", "tcg", "-icount", "shift=0", "-smp", str(smp), "-m", mem,
                "-display", "none", "-no-reboot"]
    return [QEMU, "-accel", accel(smp), "-smp", str(smp), "-m", mem,
            "-display", "none", "-no-reboot"]


def qemu_argv(logdir, name, smp, cmdline, kernel=None, repl=None, monitor=None,
              mem="512M", extra=(), icount=False):
    """QEMU's command line for Caboose: COM1 to LOGDIR/NAME.console.log, COM2
    on the unix socket `repl` (none: no second serial port), the monitor on
    the unix socket `monitor` if given, QEMU's log to NAME.qemu.log, exit
    codes through isa-debug-exit; `extra` (NICs, disks, an initrd) last;
    icount as for base_argv."""
    argv = base_argv(smp, mem, icount) + ["-kernel", kernel or KERNEL, "-append", cmdline, "-serial", "file:" + os.path.join(logdir, name + ".console.log")]
    if repl:
        argv += ["-chardev", "socket,id=repl,path=%s,server=on,wait=off" % repl,
                 "-serial", "chardev:repl"]
    if monitor:
        argv += ["-monitor", "unix:%s,server=on,wait=off" % monitor]
    argv += ["-d", os.environ.get("CABOOSE_QEMU_D", "cpu_reset,guest_errors"),
             "-D", os.path.join(logdir, name + ".qemu.log"),
             "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    return argv + list(extra)


def nic_args(tap, queues=1, vnet_hdr=True, mac=None, speed=10000, netdev="n0"):
    """A virtio-net-pci NIC on an existing tap: `queues` pairs (more than one:
    mq=on with a vector per queue, one for config changes, one spare)."""
    nd = "tap,id=%s,ifname=%s,script=no,downscript=no,vhost=off" % (netdev, tap)
    dev = "virtio-net-pci,netdev=%s" % netdev
    if queues > 1:
        nd += ",queues=%d" % queues
        dev += ",mq=on,vectors=%d" % (2 * queues + 2)
    if not vnet_hdr:
        nd += ",vnet_hdr=off"
    if speed:
        dev += ",speed=%d" % speed
    if mac:
        dev += ",mac=" + mac
    return ["-netdev", nd, "-device", dev]


def start(argv, logdir, name, prefix=()):
    """Runs QEMU (behind `prefix`, e.g. ip netns exec NS) with its command
    line in NAME.qemu.cmd and stderr in NAME.qemu.stderr."""
    argv = list(prefix) + list(argv)
    with open(os.path.join(logdir, name + ".qemu.cmd"), "w") as f:
        f.write(" ".join(shlex.quote(a) for a in argv) + "\n")
    with open(os.path.join(logdir, name + ".qemu.stderr"), "wb") as err:   # Popen keeps a copy
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)


def qemu_stderr(logdir, name, limit=500):
    """The last `limit` characters QEMU wrote to stderr (for an error message)."""
    try:
        with open(os.path.join(logdir, name + ".qemu.stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-limit:]
    except OSError:
        return ""


def wait_console(proc, logdir, name, pattern, timeout=60):
    """Waits for `pattern` (bytes) in NAME's console: True when it is there,
    False when `timeout` s pass first; RuntimeError (with QEMU's stderr) when
    QEMU exits first."""
    console = os.path.join(logdir, name + ".console.log")
    deadline = time.time() + timeout
    while True:
        try:
            with open(console, "rb") as f:
                if pattern in f.read():
                    return True
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("QEMU exited with status %s: %s (see %s.qemu.log)"
                               % (proc.returncode, qemu_stderr(logdir, name), name))
        if time.time() > deadline:
            return False
        time.sleep(0.2)


class Guest:
    """QEMU running Caboose with COM1 to a file and COM2 on a socket."""

    def __init__(self, logdir, name, smp, cmdline, kernel=None, extra=()):
        """Starts QEMU (`extra`: NICs, disks, an initrd, as for qemu_argv)
        and connects to its REPL socket; wait_prompt() waits for the REPL."""
        self.dir = tempfile.mkdtemp(prefix="caboose-repl-")
        self.sock_path = os.path.join(self.dir, "repl.sock")
        self.console = os.path.join(logdir, name + ".console.log")
        self.transcript = open(os.path.join(logdir, name + ".repl.log"), "wb")
        self.proc = start(qemu_argv(logdir, name, smp, cmdline, kernel, repl=self.sock_path,
                                    extra=extra), logdir, name)
        deadline = time.time() + 20
        while not os.path.exists(self.sock_path):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("QEMU did not create the REPL socket (exit %s): %s"
                                   % (self.proc.poll(), qemu_stderr(logdir, name)))
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
        g.wait_prompt(timeout)
        return g

    def wait_prompt(self, timeout=60):
        """Waits until the REPL answers at a fresh prompt (the kernel has
        booted far enough to run it)."""
        self.send(b"\x03")
        self.read_until(PROMPT, timeout)
        self.drain()

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
        try:
            os.unlink(self.sock_path)
            os.rmdir(self.dir)
        except OSError:
            pass
