#!/usr/bin/python3
"""The in-kernel HTTP responder serves files from the VFS (issue 13):
Caboose with services=http and an initial archive of Debian's static
busybox and an /init script, on a tap in a network namespace this test
creates (guest 10.213.19.2/24, host side 10.213.19.1).

The script (INIT) makes, as root, what the responder must refuse below
its root /srv/www (a file of mode 0600, a directory of mode 0700, a FIFO)
and a directory with an index, then waits in busybox's `nc -l` three
times: the test sends bytes it chose at random (os.urandom) and a user
program, nc, writes them to /srv/www/up/a.bin; then other bytes of
another length, which the script writes over the same file (truncated
and rewritten: the same inode); then nothing, and the script removes
the file. So the bodies checked were written at run time by a program
through write(2), and each answer must come from a lookup made for its
request (no table of bodies: the second upload's bytes and length, then
404 once removed).

A small ext2 image (mke2fs -d) is the guest's virtio disk, mounted at
/mnt/vda, and the script links it into the root as /srv/www/disk: its
file's pages come from the page cache (fs/pagecache.h), lent to the
packets as the RAM file system's are.

Checks, by raw requests (the targets go out as written, no client
normalises them):
  - the files the kernel makes at start where the root lacks them: / is
    the 612-byte page (text/html), /64k and /1m today's bytes, HEAD gives
    their Content-Length and no body; a file of the archive is served
    byte for byte (text/plain by its extension);
  - the uploaded file: GET gives its bytes (sha256) and length, HEAD its
    Content-Length; after the second upload the new bytes and length;
    after the removal 404;
  - a 1 MiB file on the ext2 disk, through the link, twice: its bytes
    (sha256), copy.http_file +0 and services.http_by_ref + its size;
    the first GET fills the page cache (misses, its pages added), the
    second finds every page cached (hits, no miss) and the walk's names
    in the directory cache (dcache hits);
  - 404 for a missing name, 403 for "..", "%2e%2e", "a/../..", the 0600
    file, a file in the 0700 directory, the FIFO (answered at once: it is
    never opened) and a directory without index.html; a directory and
    its name with a slash serve its index.html; POST is 405; a malformed
    escape is 400 and closes, as any bad request;
  - over the GETs of the RAM file system's files the copy counters
    (copy.*) grow by the requests read and the headers written only
    (copy.http_file, the responder's own copy of a body, by nothing),
    while services.http_by_ref grows by at least their bodies (they went
    by reference); the 404 and 403 counters
    (services.http_not_found, services.http_forbidden) grew.

Needs root (network namespace), /bin/busybox (Debian's busybox-static).
From tests/run.py (tier httpd): run_all(logdir, kernel) returns (name,
ok, detail) results. Alone: python3 tests/integration/responder_test.py
[LOGDIR]. Logs in LOGDIR: responder.console.log, .repl.log, .qemu.log.
"""
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from tests.lib import guest, harness            # noqa: E402
from tests.lib.harness import wait_for         # noqa: E402
from tests.lib.netns import run_in_netns       # noqa: E402
from tests.lib.results import Results          # noqa: E402

GUEST = "10.213.19.2"
HOSTSIDE = "10.213.19.1/24"
TAG = "responder"
BUSYBOX = "/bin/busybox"
ARCHIVE_TXT = b"a file of the initial archive, served from the RAM root\n" * 20
DISK_BIN = bytes((i * 7 + 3) & 0xFF for i in range((1 << 20) + 123))   # on the ext2 disk

INIT = """#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /srv/www/up /srv/www/sub /tmp
$B mkdir -m 700 /srv/www/locked
echo locked > /srv/www/locked/f.txt
echo secret > /srv/www/private.txt
$B chmod 600 /srv/www/private.txt
$B mkfifo /srv/www/pipe
echo '<p>sub</p>' > /srv/www/sub/index.html
$B ln -s /mnt/vda /srv/www/disk
echo "rt: ready"
$B nc -l -p 7001 < /dev/null > /srv/www/up/a.bin
echo "rt: stored a $($B wc -c < /srv/www/up/a.bin)"
$B nc -l -p 7002 < /dev/null > /tmp/b.bin
$B cat /tmp/b.bin > /srv/www/up/a.bin
echo "rt: stored b $($B wc -c < /srv/www/up/a.bin)"
$B nc -l -p 7003 < /dev/null > /dev/null
$B rm /srv/www/up/a.bin
echo "rt: removed"
exec $B sleep 1000000
"""


def sha(b):
    return hashlib.sha256(b).hexdigest()


def request(raw, timeout=30):
    """Send RAW (bytes, one request with Connection: close) to port 80:
    (status, headers dict (lower-case names), body bytes). Status 0 when
    no answer came."""
    s = socket.create_connection((GUEST, 80), timeout=timeout)
    try:
        s.sendall(raw)
        data = b""
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0] if lines else "")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return (int(m.group(1)) if m else 0), hdrs, body


def get(target, method="GET"):
    return request(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    % (method, target)).encode("latin-1"))


def upload(port, data, timeout=30):
    """Give DATA to the guest's `nc -l -p PORT` (it writes it to a file)."""
    end = time.time() + timeout
    while True:
        try:
            s = socket.create_connection((GUEST, port), timeout=timeout)
            break
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.3)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()


def counters(g):
    return {x["name"]: x["value"] for x in g.json("counters")["counters"]}


def copies(c):
    return {k: v for k, v in c.items() if k.startswith("copy.")}


def make_initrd(path, work):
    init = os.path.join(work, "init")
    with open(init, "w") as f:
        f.write(INIT)
    os.chmod(init, 0o755)
    txt = os.path.join(work, "archive.txt")
    with open(txt, "wb") as f:
        f.write(ARCHIVE_TXT)
    os.chmod(txt, 0o644)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkcpio.py"), path,
                    "init=" + init, "bin/busybox=" + BUSYBOX, "srv/www/archive.txt=" + txt],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def make_disk(path, work):
    """An ext2 image of one file, d.bin (DISK_BIN), its root open to all."""
    src = os.path.join(work, "disk")
    os.makedirs(src)
    os.chmod(src, 0o755)
    with open(os.path.join(src, "d.bin"), "wb") as f:
        f.write(DISK_BIN)
    os.chmod(os.path.join(src, "d.bin"), 0o644)
    with open(path, "wb") as f:
        f.truncate(4 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-d", src, path], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                   env=dict(os.environ, PATH=os.environ.get("PATH", "") + ":/sbin:/usr/sbin"))


def pattern(n):
    return bytes((ord("a") + i % 26) for i in range(n))


def inside(logdir, kernel):
    check = Results()
    work = tempfile.mkdtemp(prefix="responder-")
    g = None
    try:
        initrd = os.path.join(work, "initrd.cpio")
        make_initrd(initrd, work)
        disk = os.path.join(work, "disk.img")
        make_disk(disk, work)
        g = harness.boot(logdir, TAG, 2, "console=ttyS0 ip=%s/24,10.213.19.1 services=http "
                         "init=/init" % GUEST, kernel, initrd,
                         list(guest.nic_args("tap0", 1, speed=0))
                         + ["-drive", "file=%s,if=virtio,format=raw" % disk])
        ready = wait_for(lambda: "rt: ready" in g.console_text()
                         and "services: http: serving /srv/www" in g.console_text(), 60, 0.3)
        check("the responder serves /srv/www and the script made its files", ready,
              "" if ready else g.console_text()[-800:])
        if not ready:
            return check.items
        c0 = counters(g)

        # the files the kernel made at start, and one of the archive
        st, h, b = get("/")
        check("GET /: 200, the 612-byte page made at start, text/html",
              st == 200 and len(b) == 612 and b"Welcome to Caboose" in b
              and h.get("content-length") == "612" and h.get("content-type") == "text/html",
              "%s %r %d bytes" % (st, h, len(b)))
        served = len(b)
        for target, n in (("/64k", 65536), ("/1m", 1 << 20)):
            st, h, b = get(target)
            check("GET %s: 200, %d bytes of today's pattern, application/octet-stream" % (target, n),
                  st == 200 and b == pattern(n) and h.get("content-length") == str(n)
                  and h.get("content-type") == "application/octet-stream",
                  "%s %r %d bytes" % (st, h, len(b)))
            served += len(b)
            st, h, b = get(target, "HEAD")
            check("HEAD %s: 200, Content-Length %d, no body" % (target, n),
                  st == 200 and h.get("content-length") == str(n) and b == b"",
                  "%s %r %d bytes" % (st, h, len(b)))
        c_defaults = counters(g)
        st, h, b = get("/archive.txt")
        c_archive = counters(g)
        # the archive's pages are pinned at boot (kernel/boot/main.c), so
        # they are lent too
        copied = c_archive.get("copy.http_file", -1) - c_defaults.get("copy.http_file", 0)
        check("GET /archive.txt (the initial archive's): its bytes, text/plain, by reference "
              "(copy.http_file +0)",
              st == 200 and b == ARCHIVE_TXT and h.get("content-type") == "text/plain"
              and copied == 0, "%s %r %d bytes, copy.http_file +%d" % (st, h, len(b), copied))

        # a file on the ext2 disk: its pages come from the page cache, lent
        # to the packets; the first GET reads them from the disk (cold:
        # page cache misses), the second finds them cached (warm: hits, no
        # miss); neither copies a body byte
        pages = (len(DISK_BIN) + 4095) // 4096
        for temp in ("cold", "warm"):
            p0 = g.json("pagecache")["pagecache"]
            d0 = g.json("dcache")["dcache"]
            cd0 = counters(g)
            st, h, b = get("/disk/d.bin")
            cd1 = counters(g)
            p1 = g.json("pagecache")["pagecache"]
            d1 = g.json("dcache")["dcache"]
            copied = cd1.get("copy.http_file", -1) - cd0.get("copy.http_file", 0)
            by_ref = cd1.get("services.http_by_ref", 0) - cd0.get("services.http_by_ref", 0)
            miss, hit = p1["misses"] - p0["misses"], p1["hits"] - p0["hits"]
            # going forward, the windows after the first are read ahead
            # while the one before goes out, and the sender gets to them
            ra = {k: cd1.get("ext2.readahead_" + k, 0) - cd0.get("ext2.readahead_" + k, 0)
                  for k in ("async", "used")}
            cache_ok = (miss >= 1 and p1["added"] - p0["added"] >= pages and ra["async"] >= 1
                        and ra["used"] >= 1) if temp == "cold" \
                else (miss == 0 and hit >= pages and d1["hits"] - d0["hits"] >= 4)
            check("GET /disk/d.bin (ext2 through a link, %d bytes), %s cache: its bytes "
                  "(sha256), by reference (copy.http_file +0, services.http_by_ref +%d), "
                  "page cache %s" % (len(DISK_BIN), temp, len(DISK_BIN),
                                     "misses, %d pages added, windows read ahead and used "
                                     "(ext2.readahead_async, _used +1 or more)" % pages
                                     if temp == "cold"
                                     else "hits on all %d pages, no miss; the walk's names "
                                     "from the directory cache (dcache hits +4 or more)" % pages),
                  st == 200 and sha(b) == sha(DISK_BIN) and copied == 0
                  and by_ref >= len(DISK_BIN) and cache_ok,
                  "%s %r %d bytes, copy.http_file +%d, by_ref +%d, pagecache %r -> %r, "
                  "dcache %r -> %r, read-ahead %r" % (st, h, len(b), copied, by_ref, p0, p1,
                                                    d0, d1, ra))

        # a file a user program writes at run time
        a = os.urandom(300001)
        upload(7001, a)
        stored = wait_for(lambda: "rt: stored a %d" % len(a) in g.console_text(), 30, 0.2)
        check("nc wrote the %d bytes sent to /srv/www/up/a.bin" % len(a), stored,
              g.console_text()[-400:])
        ca = counters(g)
        st, h, b = get("/up/a.bin")
        check("GET /up/a.bin (written at run time by nc): 200, its bytes (sha256), "
              "application/octet-stream",
              st == 200 and sha(b) == sha(a) and h.get("content-length") == str(len(a))
              and h.get("content-type") == "application/octet-stream",
              "%s %r %s" % (st, h, sha(b)[:16]))
        served_fs = len(b)
        cb = counters(g)
        st, h, b = get("/up/a.bin", "HEAD")
        check("HEAD /up/a.bin: Content-Length %d, no body" % len(a),
              st == 200 and h.get("content-length") == str(len(a)) and b == b"",
              "%s %r %d" % (st, h, len(b)))
        bb = os.urandom(5000)
        upload(7002, bb)
        stored = wait_for(lambda: "rt: stored b %d" % len(bb) in g.console_text(), 30, 0.2)
        cc = counters(g)
        st, h, b = get("/up/a.bin")
        check("the same name rewritten (%d bytes): GET gives the new bytes and length" % len(bb),
              stored and st == 200 and b == bb and h.get("content-length") == str(len(bb)),
              "%s %r %d bytes" % (st, h, len(b)))
        served_fs += len(b)
        c1 = counters(g)
        # (the uploads copy as they are received: counted between the GETs only)
        grew = {k: (cb.get(k, 0) - ca.get(k, 0)) + (c1.get(k, 0) - cc.get(k, 0)) for k in copies(c1)}
        by_ref = (cb.get("services.http_by_ref", 0) - ca.get("services.http_by_ref", 0)) + \
            (c1.get("services.http_by_ref", 0) - cc.get("services.http_by_ref", 0))
        # what may grow: the two requests read (copy.rx_read), a request's
        # bytes copied once more when the NIC's header-split guess missed
        # (copy.rx_miss: the client's TCP options change from packet to
        # packet, so whether it happens depends on timing), and the two
        # headers written into their first packets (copy.tx_write, < 256 a
        # response); no body byte anywhere
        small = {"copy.rx_read": 512, "copy.rx_read_events": 4, "copy.rx_miss": 512,
                 "copy.rx_miss_events": 4, "copy.tx_write": 512, "copy.tx_write_events": 4}
        check("the run-time file's bodies left with no payload copy (copy.http_file +0, "
              "copy.tx_write the headers only, no other copy.*; services.http_by_ref +%d bytes)"
              % served_fs,
              by_ref >= served_fs and "copy.http_file" in c1
              and all(v <= small.get(k, 0) for k, v in grew.items()),
              "copy.* grew %r, by_ref +%d" % ({k: v for k, v in grew.items() if v}, by_ref))
        grew0 = c_defaults.get("copy.http_file", -1) - c0.get("copy.http_file", 0)
        by_ref0 = c_defaults.get("services.http_by_ref", 0) - c0.get("services.http_by_ref", 0)
        check("the bodies made at start left by reference (copy.http_file +0 over / /64k /1m)",
              grew0 == 0 and by_ref0 >= served,
              "copy.http_file +%d, by_ref +%d" % (grew0, by_ref0))
        upload(7003, b"")
        removed = wait_for(lambda: "rt: removed" in g.console_text(), 30, 0.2)
        st, _, b = get("/up/a.bin")
        check("once the file is removed: 404", removed and st == 404 and b == b"",
              "removed %s, status %s" % (removed, st))

        # refusals, and directories
        want = [("/no-such-file", 404), ("/up/no/such", 404), ("/index.html/x", 404),
                ("/../../init", 403), ("/%2e%2e/%2e%2e/init", 403), ("/up/../../init", 403),
                ("/.%2E/bin/busybox", 403), ("/private.txt", 403), ("/locked/f.txt", 403),
                ("/locked/", 403), ("/pipe", 403), ("/up/", 403), ("/up", 403)]
        for target, code in want:
            t0 = time.time()
            st, _, b = get(target)
            check("GET %s: %d" % (target, code), st == code and b == b"" and time.time() - t0 < 10,
                  "status %s, %d bytes, %.1f s" % (st, len(b), time.time() - t0))
        for target in ("/sub", "/sub/", "/sub/index.html"):
            st, h, b = get(target)
            check("GET %s: the directory's index.html" % target,
                  st == 200 and b == b"<p>sub</p>\n" and h.get("content-type") == "text/html",
                  "%s %r %r" % (st, h, b[:40]))
        st, h, _ = request(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                           b"Connection: close\r\n\r\n")
        check("POST /: 405 with Allow", st == 405 and h.get("allow") == "GET, HEAD", "%s %r" % (st, h))
        st, h, _ = get("/a%zz")
        check("a malformed escape: 400, connection closed", st == 400 and h.get("connection") == "close",
              "%s %r" % (st, h))
        c2 = counters(g)
        nf = c2.get("services.http_not_found", 0) - c0.get("services.http_not_found", 0)
        fb = c2.get("services.http_forbidden", 0) - c0.get("services.http_forbidden", 0)
        check("services.http_not_found and http_forbidden count them (4 and 10)",
              nf == 4 and fb == 10, "not_found +%d, forbidden +%d" % (nf, fb))
        text = g.console_text()
        check("no panic", "panic" not in text.lower(), text[-800:])
    except Exception as e:
        check("responder harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if g is not None:
            g.close()
        subprocess.run(["rm", "-rf", work])
    return check.items


def run_all(logdir, kernel=None):
    kernel = os.path.abspath(kernel or os.path.join(ROOT, "build", "caboose.elf"))
    for need in (kernel, BUSYBOX):
        if not os.path.isfile(need):
            return [("responder from the VFS", False, "%s is missing" % need)]
    os.makedirs(logdir, exist_ok=True)
    return run_in_netns(TAG, __file__, [os.path.abspath(logdir), kernel],
                        [("tap0", False, HOSTSIDE)], timeout=600)


if __name__ == "__main__":
    sys.exit(harness.script_main(run_all, inside))
