#!/usr/bin/python3
"""make run-smoke: boot `make run`'s own QEMU command in the background and
fetch pages through its forwarded ports with curl, as a user would.

For each CPU count (1 and 2; --smp picks others):
  - the command is make's: `make -s run-cmd SMP=N HTTP_PORT=P METRICS_PORT=Q
    REPL_SOCK=... RUN_KERNEL=...` prints RUN_QEMU, the variable `make run`
    runs, so the two cannot drift; P and Q are free localhost ports (QEMU's
    user network, restrict=on, no root), the REPL socket is one of our own;
  - QEMU starts with stdin from /dev/null (the console, -serial mon:stdio,
    goes to LOGDIR/run-smoke-smpN.log); its own PID is kept;
  - `curl http://127.0.0.1:P/` is tried until an HTTP answer comes (at most
    --timeout seconds, default 60): it must be 200 with the 612-byte page;
  - `curl http://127.0.0.1:Q/metrics`: 200, Prometheus text with the
    latency histogram;
  - the console has the ready line with N CPUs and no panic, and QEMU is
    still running; then it is stopped by its PID (SIGTERM, SIGKILL after
    10 s).

Alone (make run-smoke): PASS/FAIL lines on stderr, one line on stdout,
`N passed, M failed`; exit status 0 only if all passed. From tests/run.py
(tier "smoke"): run_all(logdir, kernel) returns (name, ok, detail) results.
Nothing leaves the machine: QEMU's user network has restrict=on, curl talks
to 127.0.0.1.
"""

import argparse
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY_RE = re.compile(r"caboose: ready: (\d+) CPUs online, boot (\d+) ms")
PAGE_LEN = 612
PAGE_MARK = b"Welcome to Caboose!"
METRICS_MARK = b"caboose_http_request_stage_seconds"


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def free_ports(n):
    """N distinct localhost TCP ports nobody listens on (a later bind can
    still lose a race: the caller retries)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run_cmd(**var):
    """make run's QEMU command with VAR as make variables, as an argv."""
    args = ["make", "-s", "--no-print-directory", "-C", ROOT, "run-cmd"] + \
        ["%s=%s" % kv for kv in sorted(var.items())]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if p.returncode != 0 or not lines:
        raise RuntimeError("`%s` failed (status %d): %s" % (" ".join(args), p.returncode,
                                                           (p.stderr or p.stdout)[-500:]))
    return shlex.split(lines[-1])


def curl(url, out, timeout=10):
    """(HTTP status as a string, '000' when no answer; the body)."""
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.run(["curl", "-s", "-m", str(timeout), "-o", out, "-w", "%{http_code}", url],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, timeout=timeout + 30)
    body = b""
    if os.path.exists(out):
        with open(out, "rb") as f:
            body = f.read()
    return (p.stdout.strip() or "000"), body


def stop(proc):
    """Stop QEMU by its own PID: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def console(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def smoke(smp, logdir, kernel, timeout):
    """One boot with -smp SMP; returns (name, ok, detail) results."""
    results = []
    tag = "run smoke[smp=%d]" % smp

    def check(name, ok, detail=""):
        results.append(("%s: %s" % (tag, name), bool(ok), "" if ok else str(detail)[:1500]))

    con = os.path.join(logdir, "run-smoke-smp%d.log" % smp)
    sock = os.path.join(logdir, "run-smoke-smp%d-repl.sock" % smp)
    rel = os.path.relpath(sock, ROOT)
    if len(rel) < len(sock):    # QEMU runs in ROOT; unix socket paths are short
        sock = rel
    proc = None
    try:
        for attempt in range(3):
            http_port, metrics_port = free_ports(2)
            argv = run_cmd(SMP=smp, HTTP_PORT=http_port, METRICS_PORT=metrics_port,
                           REPL_SOCK=sock, RUN_KERNEL=kernel)
            if attempt == 0:
                log("%s: %s" % (tag, " ".join(shlex.quote(a) for a in argv)))
            with open(con, "wb") as f:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                        stderr=subprocess.STDOUT, cwd=ROOT,
                                        start_new_session=True)
            time.sleep(0.5)
            # lost the race for a port: QEMU says so and exits at once
            if proc.poll() is not None and "host forwarding rule" in console(con):
                log("%s: a port was taken meanwhile; new ports" % tag)
                continue
            break
        log("%s: QEMU pid %d, http 127.0.0.1:%d, metrics 127.0.0.1:%d"
            % (tag, proc.pid, http_port, metrics_port))

        # GET / until an HTTP answer comes (the guest boots meanwhile)
        out = os.path.join(logdir, "run-smoke-smp%d.body" % smp)
        t0 = time.monotonic()
        code, body, tries = "000", b"", 0
        while time.monotonic() - t0 < timeout and proc.poll() is None:
            tries += 1
            code, body = curl("http://127.0.0.1:%d/" % http_port, out)
            if code != "000":
                break
            time.sleep(0.5)
        waited = time.monotonic() - t0
        log("%s: first HTTP answer after %.1f s (%d tries)" % (tag, waited, tries))
        check("curl http://127.0.0.1:PORT/ through make run's hostfwd: 200, the %d-byte page "
              "(within %d s of QEMU's start)" % (PAGE_LEN, timeout),
              code == "200" and len(body) == PAGE_LEN and PAGE_MARK in body,
              "status %s, %d bytes after %.1f s (%d tries)%s; console tail: %s"
              % (code, len(body), waited, tries,
                 ", QEMU exited with status %s" % proc.returncode if proc.poll() is not None
                 else "", console(con)[-600:]))

        code, body = curl("http://127.0.0.1:%d/metrics" % metrics_port, out)
        check("curl http://127.0.0.1:PORT/metrics through the metrics hostfwd: 200, "
              "Prometheus text", code == "200" and METRICS_MARK in body,
              "status %s, %d bytes: %r" % (code, len(body), body[:200]))

        text = console(con)
        m = READY_RE.search(text)
        running = proc.poll() is None
        check("the console's ready line says %d CPUs online, no panic, QEMU still running"
              % smp, m and int(m.group(1)) == smp and "panic" not in text.lower() and running,
              "ready line %r, panic %s, QEMU %s; console tail: %s"
              % (m.group(0) if m else None, "panic" in text.lower(),
                 "running" if running else "exited with status %s" % proc.returncode,
                 text[-600:]))
    except Exception as e:  # a harness error must not look like success
        check("harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if proc is not None:
            stop(proc)
        for p in (sock,):
            try:
                os.unlink(os.path.join(ROOT, p))
            except OSError:
                pass
    return results


def run_all(logdir, kernel=None, smps=(1, 2), timeout=60):
    os.makedirs(logdir, exist_ok=True)
    kernel = os.path.abspath(kernel or os.path.join(ROOT, "build", "caboose.elf"))
    results = []
    for smp in smps:
        t0 = time.monotonic()
        results += smoke(smp, logdir, kernel, timeout)
        log("run smoke[smp=%d]: %.1f s" % (smp, time.monotonic() - t0))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--smp", default="1,2", help="CPU counts, one boot each (default 1,2)")
    ap.add_argument("--timeout", type=float,
                    default=float(os.environ.get("CABOOSE_SMOKE_TIMEOUT", 60)),
                    help="seconds from QEMU's start to the first HTTP answer (default 60)")
    ap.add_argument("--logdir", default=os.path.join(ROOT, "build", "smoke"))
    ap.add_argument("--kernel", default=None, help="default build/caboose.elf")
    opts = ap.parse_args()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)     # the finally blocks stop QEMU
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    results = run_all(opts.logdir, opts.kernel, [int(x) for x in opts.smp.split(",")],
                      opts.timeout)
    failed = 0
    for name, ok, detail in results:
        log(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
        failed += not ok
    sys.stdout.write("%d passed, %d failed\n" % (len(results) - failed, failed))
    return 0 if results and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
