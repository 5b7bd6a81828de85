#!/usr/bin/python3
"""Debian's nginx on Caboose, unchanged (issue 13): the .deb's binary and
its libraries (tools/debroot.py) in the initial archive with the very
site the Linux guest serves (tests/lib/nginx_site.py: nginx.conf with
user www-data, 2 workers, sendfile, keep-alive; /etc/passwd and group;
the 612-byte page, /64k, /1m), started by a busybox script as /init
(`nginx -g 'daemon off;'`, the master then forks its 2 workers) on a
2-CPU guest, 10.213.17.2/24 on a tap in a network namespace this test
creates (host side 10.213.17.1); the clients run in the namespace.

Checks: the master and its 2 workers are up (the REPL's ps), the workers
as www-data (/proc/PID/status through the REPL's cat); curl bodies
byte-exact by sha256 for /, /64k and /1m; HEAD (Content-Length, no
body); 404; keep-alive (3 requests on one connection); wrk -t1 -c16 -d3s
with no error and some requests; 1,000 concurrent connections all
answered; hostile requests (a 16 KiB header line: 400, 414 or 494, a
16 KiB URI: 400 or 414; a negative Content-Length: 400;
garbage: 400; a request cut off by the client) and the guest still
answers afterwards; then SIGQUIT to the master through the REPL's kill:
the workers and the master exit (status 0) and nothing is left in ps; no
panic. Then a second boot behind the seeded lossy relay (lossy_relay.py:
tap1 <-> relay <-> QEMU's UDP socket netdev, 5% loss with duplicates,
reordering and corruption, seed LOSSY_SEED; guest 10.213.18.2): /1m and
/64k arrive byte-exact (sha256), the relay dropped frames both ways, no
panic.

Needs root (network namespace), curl, wrk. From tests/run.py (tier
httpd): run_all(logdir, kernel) returns (name, ok, detail) results. Alone:
python3 tests/integration/nginx_guest_test.py [LOGDIR]. Logs in LOGDIR:
nginx-guest.console.log, .repl.log, .qemu.*, nginx-guest.initrd.log;
nginx-guest-lossy.console.log, .qemu.*, .relay.log.
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from tests.lib import guest as guest_lib    # noqa: E402
from tests.lib import nginx_site           # noqa: E402
from tests.lib.netns import run_in_netns   # noqa: E402
import netload                             # noqa: E402

GUEST = "10.213.17.2"
HOSTSIDE = "10.213.17.1/24"
LOSSY_GUEST = "10.213.18.2"        # behind the relay, on tap1
LOSSY_HOSTSIDE = "10.213.18.1/24"
LOSSY_SEED = 117
LOSSY = dict(loss=0.05, dup=0.005, reorder=0.005, corrupt=0.0025)
PORT = 80
TAG = "nginx-guest"
CACHE = os.path.join(ROOT, "build", "user", "debian-nginx")
# Caboose's descriptor table holds 4096 (its hard RLIMIT_NOFILE), the
# config's worker_connections; the Linux guest raises it to 65536
INIT = """#!/bin/busybox sh
ulimit -n 4096
echo "nginx-guest: starting nginx"
/usr/sbin/nginx -g 'daemon off;'
echo "nginx-guest: nginx ended with status $?"
"""


def make_initrd(path, work, log):
    """nginx and its libraries, the shared site (nginx_site), busybox as
    /bin/busybox for /init."""
    specs = os.path.join(work, "nginx.specs")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "debroot.py"), specs, CACHE,
                    "nginx", "usr/sbin/nginx"], check=True, stdout=log, stderr=log, timeout=600)
    stage = os.path.join(work, "stage")
    nginx_site.write_tree(stage)
    entries = []
    for d, dirs, names in os.walk(stage):
        rel = os.path.relpath(d, stage)
        if not names and not dirs:
            entries.append("%s=@dir" % rel)
        for n in names:
            entries.append("%s=%s" % (os.path.join(rel, n), os.path.join(d, n)))
    init = os.path.join(work, "init")
    with open(init, "w") as f:
        f.write(INIT)
    os.chmod(init, 0o755)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkcpio.py"), path, "@" + specs,
                    "tmp=@dir:1777", "init=" + init, "bin/busybox=/bin/busybox"] + entries,
                   check=True, stdout=log, stderr=log, timeout=60)


def boot(logdir, kernel, initrd):
    """Caboose on 2 CPUs with its REPL on COM2 (the shared launcher)."""
    d = tempfile.mkdtemp(prefix="caboose-nginx-")
    sock = os.path.join(d, "repl.sock")
    cmdline = "console=ttyS0 ip=%s/24,10.213.17.1 init=/init" % GUEST
    argv = guest_lib.qemu_argv(logdir, TAG, 2, cmdline, kernel, repl=sock,
                               extra=["-initrd", initrd] + guest_lib.nic_args("tap0"))
    proc = guest_lib.start(argv, logdir, TAG)
    deadline = time.time() + 20
    while not os.path.exists(sock):
        if time.time() > deadline or proc.poll() is not None:
            raise RuntimeError("QEMU did not start (exit %s): %s"
                               % (proc.poll(), guest_lib.qemu_stderr(logdir, TAG)))
        time.sleep(0.05)
    transcript = open(os.path.join(logdir, TAG + ".repl.log"), "wb")
    g = guest_lib.Guest.attach(sock, proc, transcript,
                               os.path.join(logdir, TAG + ".console.log"), timeout=60)
    g.dir = d   # Guest.close removes it
    return g


def wait_for(pred, timeout, step=0.5):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def nginx_pids(g):
    """(master pid, [worker pids]) from the REPL's ps."""
    procs = [p for p in g.json("ps").get("processes", []) if "nginx" in p.get("name", "")]
    master = [p["pid"] for p in procs if p.get("ppid") not in [q["pid"] for q in procs]]
    workers = [p["pid"] for p in procs if p["pid"] not in master]
    return (master[0] if len(master) == 1 else None), workers


def fetch(path, method="GET", headers=None):
    c = http.client.HTTPConnection(GUEST, PORT, timeout=30)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        c.close()


def curl_sha(path):
    p = subprocess.run(["curl", "-s", "-m", "30", "http://%s%s" % (GUEST, path)],
                       stdout=subprocess.PIPE, timeout=60)
    return p.returncode, hashlib.sha256(p.stdout).hexdigest(), len(p.stdout)


def raw(data, timeout=20):
    """Send DATA on a new connection; what came back until the close."""
    s = socket.create_connection((GUEST, PORT), timeout=timeout)
    out = b""
    try:
        # a server that answers before it read everything may close (and
        # so reset) mid-send: its answer is still there to read
        try:
            s.sendall(data)
        except OSError:
            pass
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass   # a reset after the answer (unread bytes at the close)
    finally:
        s.close()
    return out


def status_of(resp):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return int(m.group(1)) if m else None


def checks(g):
    """The HTTP checks against nginx: (name, ok, detail)."""
    for name, size in nginx_site.PAGES.items():
        path = nginx_site.url_path(name)
        want = hashlib.sha256(nginx_site.page(size)).hexdigest()
        rc, got, n = curl_sha(path)
        yield ("nginx on Caboose: curl %s: %d bytes, sha256 as served by the Linux guest"
               % (path, size), rc == 0 and got == want, "curl %d, %d bytes, %s" % (rc, n, got))
    st, h, body = fetch("/", "HEAD")
    yield ("nginx on Caboose: HEAD /: 200, Content-Length 612, no body",
           st == 200 and h.get("content-length") == "612" and body == b"",
           "%s %r %d bytes" % (st, h.get("content-length"), len(body)))
    st, _, _ = fetch("/no/such/file")
    yield ("nginx on Caboose: GET /no/such/file: 404", st == 404, "status %s" % st)
    # keep-alive: three requests on one connection (http.client reuses it)
    c = http.client.HTTPConnection(GUEST, PORT, timeout=30)
    got = []
    try:
        for path in ("/", "/64k", "/"):
            c.request("GET", path)
            r = c.getresponse()
            got.append((r.status, len(r.read()), r.getheader("connection")))
        port = c.sock.getsockname()[1] if c.sock else None
        c.request("GET", "/")
        r = c.getresponse()
        r.read()
        same = c.sock is not None and c.sock.getsockname()[1] == port
    except (OSError, http.client.HTTPException) as e:
        got.append(repr(e))
        same = False
    finally:
        c.close()
    yield ("nginx on Caboose: keep-alive: 4 requests on one connection", same and
           got[:3] == [(200, 612, "keep-alive"), (200, 65536, "keep-alive"),
                       (200, 612, "keep-alive")], repr(got))
    w = netload.wrk("http://%s/" % GUEST, 16, 3)
    errs = w["connect"] + w["read"] + w["write"] + w["timeout"] + w["non2xx"]
    yield ("nginx on Caboose: wrk -t1 -c16 -d3s: requests, no error",
           w["status"] == 0 and w["requests"] > 0 and errs == 0, netload.wrk_brief(w))
    ok, conns, secs = netload.many_connections(GUEST, PORT, 1000)
    yield ("nginx on Caboose: 1000 concurrent connections, every one answered 200",
           ok == 1000 and conns == 1000, "%d of %d answered in %.1f s" % (ok, conns, secs))
    # hostile requests
    # nginx's large_client_header_buffers: 4 of 8 KiB
    big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 16384 + b"\r\n\r\n"
    st = status_of(raw(big))
    yield ("nginx on Caboose: a 16 KiB header line: 400, 414 or 494", st in (400, 414, 494),
           "status %s" % st)
    longuri = b"GET /" + b"b" * 16384 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    st = status_of(raw(longuri))
    yield ("nginx on Caboose: a 16 KiB URI: 400 or 414", st in (400, 414), "status %s" % st)
    st = status_of(raw(b"\x00\xff\x13garbage \x7f\r\n\r\n"))
    yield ("nginx on Caboose: garbage for a request line: 400", st == 400, "status %s" % st)
    st = status_of(raw(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"))
    yield ("nginx on Caboose: a negative Content-Length: 400", st == 400, "status %s" % st)
    try:
        s = socket.create_connection((GUEST, PORT), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHo")
        s.close()
    except OSError:
        pass
    st, _, body = fetch("/")
    yield ("nginx on Caboose: still answers after the hostile requests", st == 200 and
           len(body) == 612, "status %s, %d bytes" % (st, len(body)))


def lossy(logdir, kernel, initrd):
    """nginx behind the seeded lossy relay: bodies byte-exact, the relay
    dropped frames both ways, no panic."""
    results = []
    tag = TAG + "-lossy"
    console = os.path.join(logdir, tag + ".console.log")
    rlog = os.path.join(logdir, tag + ".relay.log")
    args = []
    for k, v in LOSSY.items():
        args += ["--" + k, str(v)]
    relay = subprocess.Popen([sys.executable, os.path.join(HERE, "lossy_relay.py"), "--tap", "tap1",
                              "--qemu-port", "40001", "--relay-port", "40002", "--seed",
                              str(LOSSY_SEED), "--log", rlog] + args,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cmdline = "console=ttyS0 ip=%s/24,10.213.18.1 init=/init" % LOSSY_GUEST
    q = guest_lib.start(guest_lib.qemu_argv(
        logdir, tag, 2, cmdline, kernel,
        extra=["-initrd", initrd, "-netdev",
               "socket,id=n0,udp=127.0.0.1:40002,localaddr=127.0.0.1:40001",
               "-device", "virtio-net-pci,netdev=n0"]), logdir, tag)
    label = "nginx on Caboose behind the lossy relay (%d%% loss, seed %d)" % (
        round(LOSSY["loss"] * 100), LOSSY_SEED)
    out = ""
    try:
        up = wait_for(lambda: netload.curl("http://%s/" % LOSSY_GUEST, 10)[0] == "200", 90, 1)
        results.append(("%s: answers GET /" % label, bool(up), "" if up else
                        open(console, "rb").read().decode("utf-8", "replace")[-600:]))
        if up:
            for path, size in (("/1m", 1 << 20), ("/64k", 65536)):
                want = hashlib.sha256(nginx_site.page(size)).hexdigest()
                p = subprocess.run(["curl", "-s", "-m", "120", "http://%s%s" % (LOSSY_GUEST, path)],
                                   stdout=subprocess.PIPE, timeout=180)
                got = hashlib.sha256(p.stdout).hexdigest()
                results.append(("%s: %s byte-exact (sha256)" % (label, path),
                                p.returncode == 0 and got == want,
                                "curl %d, %d bytes" % (p.returncode, len(p.stdout))))
    except Exception as e:  # a harness error must not look like success
        results.append(("%s: harness" % label, False, repr(e)))
    finally:
        if q.poll() is None:
            q.kill()
        q.wait()
        relay.terminate()
        try:
            out, _ = relay.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            relay.kill()
            out, _ = relay.communicate()
    try:
        counts = json.loads(out.strip().splitlines()[-1])
        results.append(("%s: the relay dropped frames both ways" % label,
                        counts["to_guest"]["drop"] > 0 and counts["to_host"]["drop"] > 0,
                        json.dumps(counts)))
    except (ValueError, IndexError, KeyError) as e:
        results.append(("%s: relay report" % label, False, "%s: %r" % (e, out[-300:])))
    text = open(console, "rb").read().decode("utf-8", "replace") if os.path.exists(console) else ""
    results.append(("%s: no panic" % label, "panic" not in text.lower(), text[-400:]))
    return results


def inside(logdir, kernel, initrd):
    results = []
    g = None
    try:
        g = boot(logdir, kernel, initrd)
        up = wait_for(lambda: netload.curl("http://%s/" % GUEST, 5)[0] == "200", 60)
        results.append(("nginx on Caboose: answers GET / with 200", bool(up),
                        "" if up else g.console_text()[-800:]))
        if not up:
            return results
        master, workers = nginx_pids(g)
        results.append(("nginx on Caboose: a master and 2 workers (ps)",
                        master is not None and len(workers) == 2,
                        "master %s, workers %s" % (master, workers)))
        for w in workers:
            st = g.cmd("cat /proc/%d/status" % w)
            results.append(("nginx on Caboose: worker %d runs as www-data (uid and gid 33)" % w,
                            bool(re.search(r"Uid:\s+33\s+33\s+33", st)) and
                            bool(re.search(r"Gid:\s+33\s+33\s+33", st)), st[-300:]))
        for name, ok, detail in checks(g):
            results.append((name, ok, detail))
        # SIGQUIT to the master: graceful shutdown of the workers, then it
        g.cmd("kill %s 3" % master)
        gone = wait_for(lambda: not any("nginx" in p.get("name", "") for p in
                                        g.json("ps").get("processes", [])), 30)
        text = g.console_text()
        ended = "nginx-guest: nginx ended with status 0" in text
        results.append(("nginx on Caboose: SIGQUIT (REPL kill) to the master: its workers and "
                        "it exit, status 0", bool(gone) and ended,
                        "ps empty %s; console: %s" % (bool(gone), text[-500:])))
        log = g.cmd("cat /var/log/nginx/error.log")
        bad = [l for l in log.splitlines() if re.search(r"\[(emerg|alert|crit)\]", l)]
        results.append(("nginx on Caboose: no emerg, alert or crit line in its error.log "
                        "(its first KiB)", not bad, "\n".join(bad)[:600]))
        panic = "panic" in text.lower()
        results.append(("nginx on Caboose: no panic", not panic, text[-400:] if panic else ""))
    except Exception as e:  # a harness error must not look like success
        results.append(("nginx on Caboose harness", False, repr(e)))
    finally:
        if g is not None:
            g.close()
    return results + lossy(logdir, kernel, initrd)


def run_all(logdir, kernel=None):
    kernel = os.path.abspath(kernel or os.path.join(ROOT, "build", "caboose.elf"))
    if not os.path.isfile(kernel):
        return [("nginx on Caboose", False, "%s is missing (make)" % kernel)]
    for tool in ("curl", "wrk"):
        if not shutil.which(tool):
            return [("nginx on Caboose", False, "no %s on the host (tools/deps.sh test)" % tool)]
    os.makedirs(logdir, exist_ok=True)
    # the packages come before the namespace, which has no way out
    work = tempfile.mkdtemp(prefix="nginx-guest-")
    try:
        initrd = os.path.join(work, "initrd.cpio")
        logpath = os.path.join(logdir, TAG + ".initrd.log")
        try:
            with open(logpath, "w") as log:
                make_initrd(initrd, work, log)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            return [("nginx on Caboose: its initial archive", False, "%s (log %s)" % (e, logpath))]
        return run_in_netns("nginx", __file__, [os.path.abspath(logdir), kernel, initrd],
                            [("tap0", False, HOSTSIDE), ("tap1", False, LOSSY_HOSTSIDE)],
                            timeout=900)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        print(json.dumps(inside(sys.argv[2], sys.argv[3], sys.argv[4])))
        return 0
    logdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "test-logs")
    res = run_all(logdir)
    bad = 0
    for name, ok, detail in res:
        sys.stderr.write("%s %s%s\n" % ("PASS" if ok else "FAIL", name,
                                         "" if ok else ": " + detail))
        bad += not ok
    print("%d passed, %d failed" % (len(res) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
