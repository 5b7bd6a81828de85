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
import json
import http.client
import os
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from tests.lib import clients, guest, harness, nginx_site    # noqa: E402
from tests.lib.results import Results                 # noqa: E402

GUEST = "10.213.17.2"
HOSTSIDE = "10.213.17.1/24"
LOSSY_GUEST = "10.213.18.2"        # behind the relay, on tap1
LOSSY_HOSTSIDE = "10.213.18.1/24"
LOSSY_SEED = 117
LOSSY = dict(loss=0.05, dup=0.005, reorder=0.005, corrupt=0.0025)
PORT = 80
TAG = "nginx-guest"
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
    harness.nginx_archive(path, work, log, INIT)


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


def raw_status(data):
    """The status nginx answers DATA with on a new connection."""
    return clients.status_of(clients.raw(GUEST, PORT, data))


def checks(check):
    """The HTTP checks against nginx."""
    for name, size in nginx_site.PAGES.items():
        path = nginx_site.url_path(name)
        want = clients.sha256(nginx_site.page(size))
        rc, body = clients.curl_body("http://%s%s" % (GUEST, path), 30)
        got = clients.sha256(body)
        check("nginx on Caboose: curl %s: %d bytes, sha256 as served by the Linux guest"
              % (path, size), rc == 0 and got == want, "curl %d, %d bytes, %s" % (rc, len(body), got))
    st, h, body = fetch("/", "HEAD")
    check("nginx on Caboose: HEAD /: 200, Content-Length 612, no body",
          st == 200 and h.get("content-length") == "612" and body == b"",
          "%s %r %d bytes" % (st, h.get("content-length"), len(body)))
    st, _, _ = fetch("/no/such/file")
    check("nginx on Caboose: GET /no/such/file: 404", st == 404, "status %s" % st)
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
    check("nginx on Caboose: keep-alive: 4 requests on one connection", same and
          got[:3] == [(200, 612, "keep-alive"), (200, 65536, "keep-alive"),
                      (200, 612, "keep-alive")], repr(got))
    w = clients.wrk("http://%s/" % GUEST, 16, 3)
    check("nginx on Caboose: wrk -t1 -c16 -d3s: requests, no error",
          w["status"] == 0 and w["requests"] > 0 and clients.wrk_errors(w) == 0,
          clients.wrk_brief(w))
    ok, conns, secs = clients.many_connections(GUEST, PORT, 1000)
    check("nginx on Caboose: 1000 concurrent connections, every one answered 200",
          ok == 1000 and conns == 1000, "%d of %d answered in %.1f s" % (ok, conns, secs))
    # hostile requests
    # nginx's large_client_header_buffers: 4 of 8 KiB
    st = raw_status(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 16384 + b"\r\n\r\n")
    check("nginx on Caboose: a 16 KiB header line: 400, 414 or 494", st in (400, 414, 494),
          "status %s" % st)
    st = raw_status(b"GET /" + b"b" * 16384 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check("nginx on Caboose: a 16 KiB URI: 400 or 414", st in (400, 414), "status %s" % st)
    st = raw_status(b"\x00\xff\x13garbage \x7f\r\n\r\n")
    check("nginx on Caboose: garbage for a request line: 400", st == 400, "status %s" % st)
    st = raw_status(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
    check("nginx on Caboose: a negative Content-Length: 400", st == 400, "status %s" % st)
    try:
        s = socket.create_connection((GUEST, PORT), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHo")
        s.close()
    except OSError:
        pass
    st, _, body = fetch("/")
    check("nginx on Caboose: still answers after the hostile requests", st == 200 and
          len(body) == 612, "status %s, %d bytes" % (st, len(body)))


def lossy(check, logdir, kernel, initrd):
    """nginx behind the seeded lossy relay: bodies byte-exact, the relay
    dropped frames both ways, no panic."""
    tag = TAG + "-lossy"
    relay = harness.Relay(logdir, tag, LOSSY_SEED, **LOSSY)
    cmdline = "console=ttyS0 ip=%s/24,10.213.18.1 init=/init" % LOSSY_GUEST
    q = guest.start(guest.qemu_argv(
        logdir, tag, 2, cmdline, kernel, extra=["-initrd", initrd] + relay.netdev_args()),
        logdir, tag)
    label = "nginx on Caboose behind the lossy relay (%d%% loss, seed %d)" % (
        round(LOSSY["loss"] * 100), LOSSY_SEED)
    try:
        up = harness.wait_for(
            lambda: clients.curl("http://%s/" % LOSSY_GUEST, 10)[0] == "200", 90, 1)
        check("%s: answers GET /" % label, bool(up), harness.console_text(logdir, tag)[-600:])
        if up:
            for path, size in (("/1m", 1 << 20), ("/64k", 65536)):
                want = clients.sha256(nginx_site.page(size))
                rc, body = clients.curl_body("http://%s%s" % (LOSSY_GUEST, path), 120)
                check("%s: %s byte-exact (sha256)" % (label, path),
                      rc == 0 and clients.sha256(body) == want,
                      "curl %d, %d bytes" % (rc, len(body)))
    except Exception as e:  # a harness error must not look like success
        check("%s: harness" % label, False, repr(e))
    finally:
        harness.stop_qemu(q)
        counts, out, _ = relay.stop()
    if counts is None:
        check("%s: relay report" % label, False, repr(out[-300:]))
    else:
        check("%s: the relay dropped frames both ways" % label,
              counts["to_guest"]["drop"] > 0 and counts["to_host"]["drop"] > 0,
              json.dumps(counts))
    text = harness.console_text(logdir, tag)
    check("%s: no panic" % label, "panic" not in text.lower(), text[-400:])


def inside(logdir, kernel, initrd):
    check = Results()
    g = None
    try:
        g = harness.boot(logdir, TAG, 2, "console=ttyS0 ip=%s/24,10.213.17.1 init=/init" % GUEST,
                         kernel, initrd, guest.nic_args("tap0"))
        up = harness.wait_for(lambda: clients.curl("http://%s/" % GUEST, 5)[0] == "200", 60)
        if not check("nginx on Caboose: answers GET / with 200", bool(up),
                     g.console_text()[-800:]):
            return check.items
        master, workers = nginx_pids(g)
        check("nginx on Caboose: a master and 2 workers (ps)",
              master is not None and len(workers) == 2,
              "master %s, workers %s" % (master, workers))
        for w in workers:
            st = g.cmd("cat /proc/%d/status" % w)
            check("nginx on Caboose: worker %d runs as www-data (uid and gid 33)" % w,
                  bool(re.search(r"Uid:\s+33\s+33\s+33", st)) and
                  bool(re.search(r"Gid:\s+33\s+33\s+33", st)), st[-300:])
        checks(check)
        # SIGQUIT to the master: graceful shutdown of the workers, then it
        g.cmd("kill %s 3" % master)
        gone = harness.wait_for(lambda: not any("nginx" in p.get("name", "") for p in
                                                g.json("ps").get("processes", [])), 30)
        text = g.console_text()
        ended = "nginx-guest: nginx ended with status 0" in text
        check("nginx on Caboose: SIGQUIT (REPL kill) to the master: its workers and "
              "it exit, status 0", bool(gone) and ended,
              "ps empty %s; console: %s" % (bool(gone), text[-500:]))
        log = g.cmd("cat /var/log/nginx/error.log")
        bad = [l for l in log.splitlines() if re.search(r"\[(emerg|alert|crit)\]", l)]
        check("nginx on Caboose: no emerg, alert or crit line in its error.log "
              "(its first KiB)", not bad, "\n".join(bad)[:600])
        check("nginx on Caboose: no panic", "panic" not in text.lower(), text[-400:])
    except Exception as e:  # a harness error must not look like success
        check("nginx on Caboose harness", False, repr(e))
    finally:
        if g is not None:
            g.close()
    lossy(check, logdir, kernel, initrd)
    return check.items


def run_all(logdir, kernel=None):
    return harness.run_with_archive(
        "nginx on Caboose", TAG, __file__, logdir, kernel, ("curl", "wrk"), make_initrd,
        [("tap0", False, HOSTSIDE), ("tap1", False, LOSSY_HOSTSIDE)], ns="nginx")


if __name__ == "__main__":
    sys.exit(harness.script_main(run_all, inside))
