#!/usr/bin/python3
"""apps/httpd as a user program on Caboose (issue 13): the same static
binary the httpd tier runs on Linux is the first program of a Caboose
guest (init=/bin/httpd, one worker, so one thread: -w 1 runs the event
loop in the main thread), serving /www from the initial archive on port
8080; the guest has 10.213.14.2/24 on a tap in a network namespace this
test creates (host side 10.213.14.1), and the clients run in it.

Checks: every check of tests/host/httpd/httpd_test.py's checks() against
the guest (curl bodies by sha256, heads, 304s, ranges, each error status,
keep-alive with pipelining, HTTP/1.0, the slow client's 408, slowloris,
the idle time-out, wrk -t1 -c100 -d2s with no errors, 1,000 concurrent
connections); then the resource checks through the guest's REPL (COM2):
with every client gone, sock.user_open is 1 (the listener: no connection
leaked); with 20 idle keep-alive connections open, SIGKILL to httpd (the
REPL's kill) ends it, the kernel closes its sockets (each client reads
end of file or a reset, sock.user_open goes to 0, no TCP connection of
port 8080 stays beyond TIME_WAIT, no open file is left, a new connection
is refused), and the guest still answers ping.

Then httpd serving an ext3 disk (-r /mnt/vda; the image made by mke2fs
-t ext3 -d): a file of 1 MiB and a bit, GET twice, cold (the page cache
misses and fills) then warm (every page a hit), each byte for byte
(sha256) and sent by sendfile with its pages lent to the packets
(sendfile.by_ref grows by the body, copy.tx_write and copy.sendfile_file
by under 1% of it).

Then httpd -w 2 (a SO_REUSEPORT listener and an event loop each) on 1
CPU, on 2 CPUs with 1 queue pair (tap0) and with 2 (tap1, multi-queue,
guest 10.213.15.2): a bounded wrk load with every request answered, a
SIGTERM through the REPL, the two workers' answers (httpd prints them)
covering wrk's count, and both workers serving some where the design
promises it (see workers_run).

Needs root (network namespace), curl, wrk, ping. From tests/run.py (tier
httpd): run_all(logdir) returns (name, ok, detail) results. Alone:
python3 tests/integration/httpd_guest_test.py [LOGDIR].
Logs in LOGDIR: httpd-guest.console.log, .repl.log, .qemu.log, and
httpd-guest-w2-smpC-qQ.* for the -w 2 runs.
"""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "host", "httpd"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from tests.lib import clients, guest, harness   # noqa: E402
from tests.lib.harness import wait_for         # noqa: E402
from tests.lib.netns import run_in_netns       # noqa: E402
from tests.lib.results import Results          # noqa: E402
import blk_test                                # noqa: E402
import httpd_test                              # noqa: E402

GUEST = "10.213.14.2"
HOSTSIDE = "10.213.14.1/24"
GUEST2 = "10.213.15.2"          # on tap1, multi-queue
HOSTSIDE2 = "10.213.15.1/24"
PORT = 8080
# httpd -w 2 (a SO_REUSEPORT listener and an event loop each) on
# (CPUs, queue pairs)
WORKER_CONFIGS = [(1, 1), (2, 1), (2, 2)]
WRK_THREADS, WRK_CONNS, WRK_SECS = 2, 32, 3


def make_initrd(path, binary, root):
    """The initial archive: /bin/httpd, /www (httpd_test's files and its
    two symbolic links), /etc/passwd (a link's target outside /www)."""
    entries = ["bin/httpd=" + binary, "etc/passwd=" + os.path.join(root, "..", "passwd")]
    for d, _, names in os.walk(root):
        for n in names:
            full = os.path.join(d, n)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                entries.append("www/%s=@lnk:%s" % (rel, os.readlink(full)))
            else:
                entries.append("www/%s=%s" % (rel, full))
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkcpio.py"), path] + entries,
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def boot(logdir, kernel, initrd, cpus=1, queues=1, workers=1, tag="httpd-guest"):
    """Caboose with -smp CPUS and QUEUES queue pairs running httpd -w
    WORKERS: on tap0 (one queue) as GUEST, or on tap1 (multi-queue) as
    GUEST2 when QUEUES is 2."""
    addr, tap, gw = (GUEST, "tap0", "10.213.14.1") if queues == 1 else \
        (GUEST2, "tap1", "10.213.15.1")
    cmdline = ("console=ttyS0 ip=%s/24,%s init=/bin/httpd "
               "init.args=-r,/www,-p,%d,-w,%d,-q,-t,%g,-k,%g"
               % (addr, gw, PORT, workers, httpd_test.HEAD_TIMEOUT, httpd_test.IDLE_TIMEOUT))
    return harness.boot(logdir, tag, cpus, cmdline, kernel, initrd,
                        guest.nic_args(tap, queues, speed=0))


def counter(g, name):
    out = g.cmd("counters " + name)
    m = re.search(r"^\s*%s\s+(\d+)" % re.escape(name), out, re.M)
    return int(m.group(1)) if m else None


def answers():
    """Does httpd_test.HOST answer GET / with 200 on PORT?"""
    try:
        return httpd_test.get(PORT, "/")[0] == 200
    except OSError:
        return False


def inside(logdir, kernel, binary):
    check = Results()
    work = tempfile.mkdtemp(prefix="httpd-guest-")
    g = None
    try:
        root = os.path.join(work, "www")
        os.makedirs(root)
        files = httpd_test.make_root(root)
        with open(os.path.join(work, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        initrd = os.path.join(work, "initrd.cpio")
        make_initrd(initrd, binary, root)
        g = boot(logdir, kernel, initrd)
        httpd_test.HOST = GUEST
        ok = wait_for(answers, 60, 0.5)
        check("httpd on Caboose: answers GET / on port %d" % PORT, ok,
              "" if ok else g.console_text()[-800:])
        if not ok:
            return check.items
        lm = httpd_test.get(PORT, "/")[1].get("last-modified", "")
        for name, ok, detail in httpd_test.checks(PORT, files, root, binary):
            if name == "httpd If-Modified-Since 1970: 200" and lm.endswith("1970 00:00:00 GMT"):
                # the RAM root's files are made at boot and Caboose has no
                # real-time clock: their time is in the first second of
                # 1970, so that date is not older than the file (RFC 9110
                # section 13.1.3 then says 304)
                st = httpd_test.get(PORT, "/", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})[0]
                name, ok, detail = ("httpd If-Modified-Since 1970 with files of 1970 (made at "
                                    "boot, no real-time clock): 304"), st == 304, \
                    "Last-Modified %s, status %s" % (lm, st)
            check("Caboose: " + name, ok, detail)

        # sendfile's bodies leave by reference (issue 13): /1m.bin five
        # times, byte for byte; the file's pages go into the packets, so
        # sendfile.by_ref grows by the bodies and no copy counter does
        names = ("sendfile.by_ref", "copy.tx_write", "copy.sendfile_file")
        before = {n: counter(g, n) for n in names}
        bodies_ok = all(httpd_test.get(PORT, "/1m.bin")[2] == files["1m.bin"] for _ in range(5))
        after = {n: counter(g, n) for n in names}
        size = 5 * len(files["1m.bin"])
        grew = {n: (after[n] - before[n]) if None not in (before[n], after[n]) else None
                for n in names}
        check("Caboose: 5 x /1m.bin by sendfile, byte for byte, with 0 payload copies "
              "(sendfile.by_ref +%d bytes, copy.tx_write and copy.sendfile_file "
              "under 1%% of it)" % size,
              bodies_ok and None not in grew.values() and grew[names[0]] >= size
              and grew["copy.tx_write"] < size // 100
              and grew["copy.sendfile_file"] < size // 100,
              "bodies %s, counters grew %r" % ("equal" if bodies_ok else "DIFFER", grew))

        # every client gone: only the listener stays open
        n = wait_for(lambda: counter(g, "sock.user_open") == 1, 15, 0.2)
        check("Caboose: with the clients gone, 1 user socket open (the listener)", n,
              "sock.user_open = %s" % counter(g, "sock.user_open"))

        # SIGKILL with 20 connections open: the kernel closes them
        socks = []
        for _ in range(20):
            s = httpd_test.connect(PORT, timeout=20)
            s.sendall(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
            f = s.makefile("rb")
            httpd_test.read_response(f)
            f.close()
            socks.append(s)
        before = counter(g, "sock.user_open")
        ps = g.json("ps")
        pid = next((p["pid"] for p in ps.get("processes", []) if p.get("name") == "/bin/httpd"),
                   None)
        g.cmd("kill %s 9" % pid)
        ended = wait_for(lambda: "/bin/httpd ended with code 73" in g.console_text(), 30, 0.2)
        closed = 0
        for s in socks:
            s.settimeout(10)
            try:
                closed += s.recv(1) == b""
            except OSError:
                closed += 1   # a reset
            s.close()
        after = wait_for(lambda: counter(g, "sock.user_open") == 0, 15, 0.2)
        tcp = g.cmd("tcp")
        live = [l for l in tcp.splitlines() if ":%d" % PORT in l and "TIME_WAIT" not in l
                and "TIME-WAIT" not in l]
        check("Caboose: SIGKILL to httpd with 20 connections open ends it (code 64+9)",
              ended, g.console_text()[-400:] if not ended else "")
        check("Caboose: its 20 clients read end of file or a reset", closed == 20,
              "%d of 20" % closed)
        check("Caboose: its sockets closed by the kernel (sock.user_open %s -> 0), "
              "no connection of port %d left but TIME_WAIT" % (before, PORT),
              after and before == 21 and not live,
              "before %s, after %s, left %r" % (before, counter(g, "sock.user_open"),
                                                live[:5]))
        files = wait_for(lambda: counter(g, "vfs.files") == 0, 15, 0.2)
        check("Caboose: no open file left once its only program died (vfs.files 0)",
              files, "vfs.files = %s" % counter(g, "vfs.files"))
        try:
            socket.create_connection((GUEST, PORT), timeout=10).close()
            refused = "connected"
        except ConnectionRefusedError:
            refused = True
        except OSError as e:
            refused = repr(e)
        check("Caboose: the dead program's listener is gone (connect refused)",
              refused is True, str(refused))
        p = subprocess.run(["ping", "-c", "1", "-W", "5", GUEST], capture_output=True, timeout=20)
        check("Caboose: still answers ping after the program died", p.returncode == 0,
              p.stdout.decode()[-200:])
        panic = "panic" in g.console_text().lower()
        check("Caboose: no panic", not panic, g.console_text()[-400:] if panic else "")
        g.close()
        g = None
        disk_run(check, logdir, kernel, initrd, work)
        for cpus, queues in WORKER_CONFIGS:
            workers_run(check, logdir, kernel, initrd, cpus, queues)
    except Exception as e:  # a harness error must not look like success
        check("httpd on Caboose harness", False, repr(e))
    finally:
        if g is not None:
            g.close()
        shutil.rmtree(work, ignore_errors=True)
    return check.items


def disk_run(check, logdir, kernel, initrd, work):
    """httpd -r /mnt/vda on an ext3 disk: a 1 MiB file by sendfile from a
    cold page cache, then a warm one, with no payload copy."""
    src = os.path.join(work, "disk-src")
    os.makedirs(src)
    body = os.urandom((1 << 20) + 4567)
    with open(os.path.join(src, "d.bin"), "wb") as f:
        f.write(body)
    with open(os.path.join(src, "index.html"), "w") as f:
        f.write("<p>disk</p>\n")
    img = os.path.join(work, "disk.img")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext3", "-d", src, img, "16M"], check=True,
                   capture_output=True, timeout=60)
    label = "Caboose httpd -r /mnt/vda (ext3)"
    cmdline = ("console=ttyS0 ip=%s/24,10.213.14.1 init=/bin/httpd "
               "init.args=-r,/mnt/vda,-p,%d,-w,1,-q" % (GUEST, PORT))
    g = harness.boot(logdir, "httpd-guest-disk", 1, cmdline, kernel, initrd,
                     guest.nic_args("tap0", 1, speed=0) + blk_test.drive(img, "d0"))
    try:
        httpd_test.HOST = GUEST
        ok = wait_for(answers, 60, 0.5)
        check("%s: answers GET / (the disk's index.html)" % label, ok, g.console_text()[-600:])
        if not ok:
            return
        names = ("sendfile.by_ref", "copy.tx_write", "copy.sendfile_file")
        pages = (len(body) + 4095) // 4096
        for temp in ("cold", "warm"):
            p0 = g.json("pagecache")["pagecache"]
            before = {n: counter(g, n) for n in names}
            st, _, got = httpd_test.get(PORT, "/d.bin")
            after = {n: counter(g, n) for n in names}
            p1 = g.json("pagecache")["pagecache"]
            grew = {n: (after[n] - before[n]) if None not in (before[n], after[n]) else None
                    for n in names}
            miss, hit = p1["misses"] - p0["misses"], p1["hits"] - p0["hits"]
            cache_ok = (miss >= 1 and p1["added"] - p0["added"] >= pages) if temp == "cold" \
                else (miss == 0 and hit >= pages)
            same = st == 200 and hashlib.sha256(got).digest() == hashlib.sha256(body).digest()
            check("%s: GET /d.bin (%d bytes), %s cache: byte for byte (sha256), by sendfile "
                  "with 0 payload copies (sendfile.by_ref +%d, copy.tx_write and "
                  "copy.sendfile_file under 1%%), page cache %s"
                  % (label, len(body), temp, len(body),
                     "misses, %d pages added" % pages if temp == "cold"
                     else "hits on all %d pages, no miss" % pages),
                  same and None not in grew.values() and grew[names[0]] >= len(body)
                  and grew["copy.tx_write"] < len(body) // 100
                  and grew["copy.sendfile_file"] < len(body) // 100 and cache_ok,
                  "status %s, %s, counters grew %r, pagecache %r -> %r"
                  % (st, "equal" if same else "DIFFER", grew, p0, p1))
        panic = "panic" in g.console_text().lower()
        check("%s: no panic" % label, not panic, g.console_text()[-400:] if panic else "")
    finally:
        g.close()


def workers_run(check, logdir, kernel, initrd, cpus, queues):
    """httpd -w 2 on CPUS and QUEUES: a bounded wrk load, every request
    answered (no socket error, no time-out, all 2xx); SIGTERM, then each
    worker's counters from its stderr; both workers served some where the
    design promises it (see below)."""
    label = "Caboose httpd -w 2 on %d CPU%s, %d queue pair%s" % (
        cpus, "s" if cpus > 1 else "", queues, "s" if queues > 1 else "")
    tag = "httpd-guest-w2-smp%d-q%d" % (cpus, queues)
    host = GUEST if queues == 1 else GUEST2
    g = boot(logdir, kernel, initrd, cpus, queues, 2, tag)
    try:
        httpd_test.HOST = host
        ok = wait_for(answers, 60, 0.5)
        listeners = "SO_REUSEPORT listener each" in g.console_text()
        check("%s: up with a SO_REUSEPORT listener each" % label, ok and listeners,
              g.console_text()[-600:])
        if not ok:
            return
        w = clients.wrk("http://%s:%d/" % (host, PORT), WRK_CONNS, WRK_SECS, WRK_THREADS)
        done = w["requests"]
        check("%s: -t%d -c%d -d%ds, every request answered (no socket error or time-out, all "
              "2xx)" % (label, WRK_THREADS, WRK_CONNS, WRK_SECS),
              w["status"] == 0 and done > 0 and clients.wrk_errors(w) == 0,
              "%d requests; %s" % (done, w["raw"][-400:]))
        ps = g.json("ps")
        pid = next((q["pid"] for q in ps.get("processes", []) if q.get("name") == "/bin/httpd"),
                   None)
        g.cmd("kill %s 15" % pid)
        stopped = wait_for(lambda: "httpd: stopped by signal 15" in g.console_text(), 30, 0.2)
        text = g.console_text()
        per = [(int(c), int(a)) for c, a in
               re.findall(r"httpd: worker \d+: (\d+) connections, (\d+) answers", text)]
        served = sum(a for _, a in per)
        # wrk counts the answers it read; httpd may have answered a few more
        # that wrk's end cut off, never fewer
        check("%s: stopped by SIGTERM, its 2 workers' answers (%s) cover wrk's %d"
              % (label, " + ".join(str(a) for _, a in per), done),
              bool(stopped) and len(per) == 2 and served >= done > 0,
              text[-600:])
        # Each SYN goes to the listener that last accepted on the receiving
        # CPU, else to one by the flow's hash (netstack/tcp.c). On 1 CPU both
        # accept there: by hash, both get some. With 2 queue pairs, flows
        # arrive on both CPUs: each CPU's go to its own worker, or by hash. On
        # 2 CPUs with 1 queue, every SYN arrives on the CPU that polls it:
        # the worker accepting there may take all (the design's choice, its
        # accept queue is that CPU's), so only the shares are reported.
        both = len(per) == 2 and all(c > 0 and a > 0 for c, a in per)
        if (cpus, queues) == (2, 1):
            check("%s: workers' shares reported (not promised)" % label, len(per) == 2,
                  "connections, answers: %r" % per)
        else:
            check("%s: both workers accepted and answered some" % label, both,
                  "connections, answers: %r" % per)
        panic = "panic" in text.lower()
        check("%s: no panic" % label, not panic, text[-400:] if panic else "")
    finally:
        g.close()


def run_all(logdir, kernel=None, binary=None):
    kernel = os.path.abspath(kernel or os.path.join(ROOT, "build", "caboose.elf"))
    binary = os.path.abspath(binary or os.path.join(ROOT, "build", "apps", "httpd"))
    for need in (kernel, binary):
        if not os.path.isfile(need):
            return [("httpd on Caboose", False, "%s is missing (make)" % need)]
    os.makedirs(logdir, exist_ok=True)
    return run_in_netns("httpd", __file__, [os.path.abspath(logdir), kernel, binary],
                        [("tap0", False, HOSTSIDE), ("tap1", True, HOSTSIDE2)], timeout=1200)



if __name__ == "__main__":
    sys.exit(harness.script_main(run_all, inside))
