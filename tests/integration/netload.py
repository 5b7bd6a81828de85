#!/usr/bin/python3
"""Shared helpers for the load tests (the matrix and soak tiers, and the
tcp tier's bulk checks): boot Caboose on a tap or on `make run`'s user
network, drive load at it with Debian's clients, and judge its health
through the REPL. Python 3 standard library only; importable from any test
(tests/integration is on sys.path).

  boot_tap(logdir, tag, kernel, smp, queues, vnet_hdr)  a guest on tap0 in the
        caller's network namespace (10.213.9.2/24, services http, echo,
        discard, metrics, iperf), its REPL attached
  boot_user(logdir, tag, kernel, smp)  `make run`'s own QEMU command (make
        run-cmd, as tools/run_smoke.py reads it) on free localhost ports
  wrk, wrk_brief, curl, many_connections  tests/lib/clients.py's, under
        the names the matrix and soak use
  echo_bulk(host, port, n)     n bytes each way at once through echo
  nic_stuck(g), watchdog(g)    the REPL's view: rings with work the device or
        the driver left untaken, the nic.watchdog.* counters
  health(guest, watch0)        after a load: curl gets 200, no ring stuck,
        the watchdog counters as they were (a recovery needed is a failure)

Every QEMU started here is killed by its own PID (Booted.stop). Nothing
leaves the namespace or loopback: the tap has no route out, the user
network has restrict=on.
"""
import hashlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tools"))
from tests.lib import guest  # noqa: E402
from tests.lib.guest import Guest  # noqa: E402
# the HTTP clients, kept here under their old names for the matrix and soak
from tests.lib.clients import PAGE_LEN, curl, many_connections, wrk, wrk_brief  # noqa: E402,F401

GUEST = "10.213.9.2"
HOST = "10.213.9.1"
ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")
READY_RE = re.compile(r"caboose: ready: (\d+) CPUs online")
WATCHDOG = ("nic.watchdog.tx_stalls", "nic.watchdog.rx_stalls", "nic.watchdog.resets")


def console_text(path):
    try:
        with open(path, "rb") as f:
            return ANSI_RE.sub("", f.read().decode("utf-8", "replace"))
    except OSError:
        return ""


class Booted:
    """A running guest: its QEMU (own PID), console log, attached REPL and
    where its services answer."""

    def __init__(self, proc, console, repl_sock, transcript, http, echo=None, iperf=None,
                 label=""):
        self.proc, self.console, self.repl_sock = proc, console, repl_sock
        self.transcript = transcript
        self.http = http            # (host, port)
        self.echo = echo            # (host, port) or None
        self.iperf = iperf          # host or None
        self.label = label
        self.g = None

    @property
    def url(self):
        return "http://%s:%d/" % self.http

    def attach(self, timeout=60):
        self.g = Guest.attach(self.repl_sock, self.proc, open(self.transcript, "wb"),
                              self.console, timeout)
        return self.g

    def text(self):
        return console_text(self.console)

    def stop(self):
        if self.g is not None:
            try:
                self.g.sock.close()
                self.g.transcript.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_ready(b, pattern, timeout=90):
    """Wait for PATTERN on the console; raise if QEMU exits or time runs out."""
    end = time.time() + timeout
    while time.time() < end:
        if re.search(pattern, b.text()):
            return
        if b.proc.poll() is not None:
            raise RuntimeError("QEMU exited with status %s; console: %s"
                               % (b.proc.returncode, b.text()[-500:]))
        time.sleep(0.2)
    raise RuntimeError("no %r in %d s; console: %s" % (pattern, timeout, b.text()[-500:]))


def boot_tap(logdir, tag, kernel, smp, queues, vnet_hdr=True, cmdline="", tap="tap0",
             extra=()):
    """Caboose on TAP (made by the caller, multi_queue) with QUEUES queue
    pairs and -smp SMP; returns a Booted with its REPL attached."""
    console = os.path.join(logdir, tag + ".console.log")
    sock = os.path.join(logdir, tag + "-repl.sock")
    for stale in (console, sock):
        if os.path.exists(stale):
            os.unlink(stale)
    args = guest.qemu_argv(
        logdir, tag, smp,
        ("console=ttyS0 ip=%s/24,%s services=http,echo,discard,metrics,iperf %s"
         % (GUEST, HOST, cmdline)).strip(), kernel, repl=sock,
        extra=guest.nic_args(tap, queues=queues, vnet_hdr=vnet_hdr) + list(extra))
    proc = guest.start(args, logdir, tag)
    b = Booted(proc, console, sock, os.path.join(logdir, tag + ".repl.log"), (GUEST, 80),
               echo=(GUEST, 7), iperf=GUEST, label=tag)
    try:
        wait_ready(b, r"services: iperf on TCP port 5201")
        b.attach()
    except Exception:
        b.stop()
        raise
    return b


def boot_user(logdir, tag, kernel, smp):
    """`make run`'s QEMU command (the user network, restrict=on, hostfwd of
    the HTTP and metrics ports to free localhost ports) with -smp SMP."""
    import run_smoke
    console = os.path.join(logdir, tag + ".console.log")
    sock = os.path.join(logdir, tag + "-repl.sock")
    rel = os.path.relpath(sock, ROOT)
    if len(rel) < len(sock):    # QEMU runs in ROOT; unix socket paths are short
        sock = rel
    for attempt in range(3):
        http_port, metrics_port = run_smoke.free_ports(2)
        argv = run_smoke.run_cmd(SMP=smp, HTTP_PORT=http_port, METRICS_PORT=metrics_port,
                                 REPL_SOCK=sock, RUN_KERNEL=kernel)
        with open(os.path.join(logdir, tag + ".qemu.cmd"), "w") as f:
            f.write(" ".join(shlex.quote(a) for a in argv) + "\n")
        with open(console, "wb") as f:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                    stderr=subprocess.STDOUT, cwd=ROOT)
        time.sleep(0.5)
        if proc.poll() is not None and "host forwarding rule" in console_text(console):
            continue     # lost the race for a port
        break
    b = Booted(proc, console, os.path.join(ROOT, sock), os.path.join(logdir, tag + ".repl.log"),
               ("127.0.0.1", http_port), label=tag)
    try:
        wait_ready(b, r"services: http on")
        b.attach()
        # the address comes by DHCP from QEMU's own server: wait for an answer
        end = time.time() + 60
        while curl(b.url, timeout=5)[0] == "000" and time.time() < end:
            time.sleep(0.5)
    except Exception:
        b.stop()
        raise
    return b


def make_tap(name="tap0", multi_queue=False, addr=HOST + "/24"):
    """A tap in the current namespace (the caller's own), up, with a
    10000-frame queue; remove_tap deletes it."""
    def ip(*a):
        subprocess.run(["ip"] + list(a), check=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    ip("tuntap", "add", "dev", name, "mode", "tap", *(["multi_queue"] if multi_queue else []))
    ip("link", "set", name, "txqueuelen", "10000")
    if addr:
        ip("addr", "add", addr, "dev", name)
    ip("link", "set", name, "up")


def remove_tap(name="tap0"):
    subprocess.run(["ip", "link", "del", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# ---------------------------------------------------------------------------
# clients
# ---------------------------------------------------------------------------
def echo_bulk(host, port, nbytes, timeout=240):
    """NBYTES each way at once through an echo service, checked by sha256:
    (ok, bytes back, seconds)."""
    s = socket.create_connection((host, port), timeout=60)
    chunk = os.urandom(1 << 20)
    want, got = hashlib.sha256(), hashlib.sha256()
    n_chunks = max(1, nbytes // len(chunk))
    total = n_chunks * len(chunk)
    for _ in range(n_chunks):
        want.update(chunk)
    n_got = [0]

    def reader():
        try:
            while n_got[0] < total:
                b = s.recv(1 << 20)
                if not b:
                    break
                got.update(b)
                n_got[0] += len(b)
        except OSError:
            pass
    t = threading.Thread(target=reader)
    t.start()
    t0 = time.time()
    try:
        for _ in range(n_chunks):
            s.sendall(chunk)
    except OSError:
        pass
    t.join(timeout)
    dt = time.time() - t0
    s.close()
    return n_got[0] == total and got.digest() == want.digest(), n_got[0], dt


def iperf3_json(host, *args, timeout=60):
    """Debian's iperf3 client against HOST, -J: (parsed JSON, raw output)."""
    p = subprocess.run(["iperf3", "-c", host, "-J"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    try:
        return json.loads(p.stdout), p.stdout
    except ValueError:
        return {"error": "no JSON from iperf3 (exit %d)" % p.returncode}, p.stdout


def iperf_summary(d):
    e = d.get("end", {})
    return {"error": d.get("error"), "sent": e.get("sum_sent", {}).get("bytes"),
            "received": e.get("sum_received", {}).get("bytes"),
            "seconds": e.get("sum_received", {}).get("seconds"),
            "streams": len(e.get("streams", []))}


def iperf3(host, *args, timeout=60):
    """iperf3 -c HOST ARGS: its summary (error, sent, received, ...)."""
    return iperf_summary(iperf3_json(host, *args, timeout=timeout)[0])


# ---------------------------------------------------------------------------
# the guest's view
# ---------------------------------------------------------------------------
def counters(g, prefix=""):
    return {x["name"]: x["value"] for x in g.json(("counters " + prefix).strip())["counters"]}


def watchdog(g):
    c = counters(g, "nic.watchdog.")
    return {k: c.get(k, -1) for k in WATCHDOG}


def nic_stuck(g):
    """Rings with work left untaken, from the REPL's `nic`: a transmit
    queue whose device index lags what was made available or notified
    (descriptors the device has not taken), a receive queue whose used
    index the driver has not caught up with. Returns (stuck rows, queues)."""
    qs = g.json("nic")["queues"]
    stuck = []
    for q in qs:
        if q["dir"] == "tx" and not (q["avail"] == q["used"] == q["kicked"]):
            stuck.append(q)
        elif q["dir"] == "rx" and q["used"] != q["seen"]:
            stuck.append(q)
    return stuck, qs


def ring_brief(q):
    return "%s%d avail %d used %d seen %d kicked %d inflight %d stalls %d" % (
        q["dir"], q["queue"], q["avail"], q["used"], q["seen"], q["kicked"], q["inflight"],
        q["stalls"])


def health(b, watch0, settle=5.0):
    """After a load: curl gets 200 with the page; no ring stuck (looked at
    until SETTLE seconds pass: a frame may be on its way between two
    looks); the watchdog counters as in WATCH0. (ok, detail)."""
    problems = []
    code, n = curl(b.url, timeout=10)
    if code != "200" or n != PAGE_LEN:
        problems.append("curl %s: %s, %d bytes" % (b.url, code, n))
    end = time.time() + settle
    while True:
        stuck, qs = nic_stuck(b.g)
        if not stuck or time.time() >= end:
            break
        time.sleep(0.3)
    if stuck:
        problems.append("stuck: " + "; ".join(ring_brief(q) for q in stuck))
    wd = watchdog(b.g)
    if wd != watch0:
        problems.append("watchdog recoveries: %s (were %s)" % (wd, watch0))
    if problems:
        # for the cause: what every thread was doing, kept in the REPL's
        # log beside the rings' state (a poll thread not asleep yet not
        # taking completions is a different bug from a lost interrupt)
        try:
            b.g.cmd("threads")
            b.g.cmd("runq")
            b.g.cmd("nic")
        except (OSError, EOFError, TimeoutError) as e:
            problems.append("REPL for the thread dump: %r" % (e,))
    return not problems, "; ".join(problems)
