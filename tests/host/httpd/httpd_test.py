#!/usr/bin/python3
"""apps/httpd on Linux, loopback only: build/apps/httpd serves a temporary
directory on 127.0.0.1 (a port the server picks, -p 0, read from its
stderr) and real clients check it: curl and Python (http.client, raw
sockets), wrk.

Checks: -h; bodies byte for byte (sha256) for a 612-byte index.html, a
1 MiB file and a nested file; HEAD; the heads (Content-Type, ETag,
Last-Modified); 304 on If-None-Match and If-Modified-Since; 206 ranges
(first-last, suffix, open) and 416; every error the server sends (400,
403, 404, 405, 413, 414, 431, 501, 505; 408 in the slow-client check) and
301; keep-alive with 3 pipelined requests on one connection; a slow client
dropped after the head time-out (-t 1) and an idle one after the keep-alive
time-out (-k 2); wrk -t1 -c100 -d2s with no errors; 1,000 concurrent
connections all served; the access log's combined format; the server
stopped by SIGTERM to its PID, exit status 0, its counters on stderr.

Used by tests/run.py (tier httpd: run_all(logs, binary) gives (name, ok,
detail) per check); run alone it prints `PASS name` / `FAIL name: why` on
stderr and `N passed, M failed` on stdout.
"""
import hashlib
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
HOST = "127.0.0.1"
HEAD_TIMEOUT = 1.0  # -t
IDLE_TIMEOUT = 2.0  # -k


def sha(b):
    return hashlib.sha256(b).hexdigest()


def make_root(d):
    files = {}
    index = (b"<!DOCTYPE html>\n<html><head><title>Caboose</title></head><body>\n" +
             b"<p>" + b"caboose " * 66 + b"</p>\n")
    index = index + b"x" * (611 - len(index)) + b"\n"
    assert len(index) == 612
    files["index.html"] = index
    files["1m.bin"] = bytes((i * 7 + (i >> 11)) & 0xFF for i in range(1 << 20))
    files["sub/dir/nested.txt"] = b"nested file\n" * 100
    files["sub/index.html"] = b"<p>sub</p>\n"
    files["empty/.keep"] = b""
    files["style.css"] = b"body{}\n"
    for name, data in files.items():
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.symlink("/etc/passwd", os.path.join(d, "passwd-link"))
    os.symlink("index.html", os.path.join(d, "inner-link.html"))
    return files


class Server:
    def __init__(self, binary, root, logs, extra=()):
        self.out = open(os.path.join(logs, "httpd-stdout.log"), "wb")
        self.errpath = os.path.join(logs, "httpd-stderr.log")
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen([binary, "-r", root, "-a", HOST, "-p", "0", "-w", "2",
                                      "-t", str(HEAD_TIMEOUT), "-k", str(IDLE_TIMEOUT)]
                                     + list(extra), stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL)
        self.port = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"port (\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)

    def stderr(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM to our own child's PID; its exit status (None if killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.out.close()
        self.err.close()
        return self.proc.returncode


def connect(port, timeout=5):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(f, head=False):
    """One response from a socket file: (status, headers dict, body)."""
    line = f.readline()
    if not line:
        return None, {}, b""
    status = int(line.split()[1])
    hdrs = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, v = line.decode("latin-1").split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    n = 0 if head or status == 304 else int(hdrs.get("content-length", 0))
    body = f.read(n) if n else b""
    return status, hdrs, body


def raw(port, data, head=False):
    s = connect(port)
    try:
        s.sendall(data)
        f = s.makefile("rb")
        st, h, b = read_response(f, head)
        f.close()
        return st, h, b
    finally:
        s.close()


def get(port, path, headers=None, method="GET"):
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def checks(port, files, root, binary):
    """Yield (name, ok, detail) for each check against a running server."""
    big = files["1m.bin"]

    # bodies with curl, byte for byte
    for path, name in (("/", "index.html"), ("/index.html", "index.html"),
                       ("/1m.bin", "1m.bin"), ("/sub/dir/nested.txt", "sub/dir/nested.txt"),
                       ("/sub/", "sub/index.html"), ("/a/../sub/./dir//nested.txt",
                                                     "sub/dir/nested.txt")):
        p = subprocess.run(["curl", "-s", "--path-as-is", "-o", "-", "-w", "%{http_code}",
                            "http://%s:%d%s" % (HOST, port, path)], capture_output=True,
                           timeout=30)
        body, code = p.stdout[:-3], p.stdout[-3:]
        want = files[name]
        yield ("httpd curl %s: 200, sha256 of %d bytes" % (path, len(want)),
               code == b"200" and sha(body) == sha(want),
               "status %s, %d bytes, sha256 %s" % (code, len(body), sha(body)[:16]))

    # heads
    st, h, b = get(port, "/")
    yield ("httpd head of /: text/html, Content-Length 612, ETag, Last-Modified, keep-alive",
           st == 200 and h.get("content-type") == "text/html" and
           h.get("content-length") == "612" and h.get("etag", "").startswith('"') and
           "last-modified" in h and h.get("connection") == "keep-alive", repr(h))
    etag, lm = h.get("etag"), h.get("last-modified")
    st2, h2, b2 = get(port, "/style.css")
    yield ("httpd Content-Type by extension (.css, .bin)",
           h2.get("content-type") == "text/css" and
           get(port, "/1m.bin", method="HEAD")[1].get("content-type") ==
           "application/octet-stream", repr(h2))
    st, h, b = get(port, "/1m.bin", method="HEAD")
    yield ("httpd HEAD /1m.bin: Content-Length 1048576, no body",
           st == 200 and h.get("content-length") == str(1 << 20) and b == b"", repr(h))

    # conditionals
    st, h, b = get(port, "/", {"If-None-Match": etag})
    yield ("httpd If-None-Match: 304, no body", st == 304 and b == b"" and
           h.get("etag") == etag, "status %s %r" % (st, h))
    st, h, b = get(port, "/", {"If-None-Match": 'W/"x", ' + etag})
    yield ("httpd If-None-Match list with a weak tag: 304", st == 304, "status %s" % st)
    st, h, b = get(port, "/", {"If-None-Match": '"other"'})
    yield ("httpd If-None-Match other tag: 200", st == 200 and len(b) == 612, "status %s" % st)
    st, h, b = get(port, "/", {"If-Modified-Since": lm})
    yield ("httpd If-Modified-Since = Last-Modified: 304", st == 304, "status %s" % st)
    st, h, b = get(port, "/", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    yield ("httpd If-Modified-Since 1970: 200", st == 200 and len(b) == 612, "status %s" % st)

    # ranges
    for rng, lo, hi in (("bytes=0-99", 0, 100), ("bytes=-100", len(big) - 100, len(big)),
                        ("bytes=1048000-", 1048000, len(big)), ("bytes=5-5", 5, 6),
                        ("bytes=1000-9999999", 1000, len(big))):
        st, h, b = get(port, "/1m.bin", {"Range": rng})
        cr = "bytes %d-%d/%d" % (lo, hi - 1, len(big))
        yield ("httpd Range %s: 206, %s" % (rng, cr),
               st == 206 and h.get("content-range") == cr and b == big[lo:hi],
               "status %s %r, %d bytes" % (st, h.get("content-range"), len(b)))
    st, h, b = get(port, "/1m.bin", {"Range": "bytes=2000000-"})
    yield ("httpd Range past the end: 416, Content-Range */size",
           st == 416 and h.get("content-range") == "bytes */%d" % len(big), "status %s" % st)
    st, h, b = get(port, "/1m.bin", {"Range": "bytes=0-1,5-6"})
    yield ("httpd two ranges: ignored, 200 with the whole file", st == 200 and b == big,
           "status %s, %d bytes" % (st, len(b)))
    p = subprocess.run(["curl", "-s", "-r", "100-199", "http://%s:%d/1m.bin" % (HOST, port)],
                       capture_output=True, timeout=30)
    yield ("httpd curl -r 100-199", p.stdout == big[100:200], "%d bytes" % len(p.stdout))

    # errors, from raw requests
    long_target = b"/" + b"a" * 5000
    big_head = b"X-Big: " + b"b" * 9000 + b"\r\n"
    errs = [
        (404, b"GET /nope.html HTTP/1.1\r\nHost: x\r\n\r\n", "missing file"),
        (403, b"GET /empty/ HTTP/1.1\r\nHost: x\r\n\r\n", "directory without index.html"),
        (403, b"GET /passwd-link HTTP/1.1\r\nHost: x\r\n\r\n", "symlink out of the root"),
        (403, b"GET /inner-link.html HTTP/1.1\r\nHost: x\r\n\r\n", "symlink inside (refused)"),
        (405, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", "POST"),
        (405, b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", "DELETE"),
        (400, b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "traversal .."),
        (400, b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "traversal %2e%2e"),
        (400, b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", "encoded NUL"),
        (400, b"GET / HTTP/1.1\r\n\r\n", "no Host"),
        (400, b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", "space before colon"),
        (400, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "TLS bytes"),
        (414, b"GET " + long_target + b" HTTP/1.1\r\nHost: x\r\n\r\n", "5000-byte target"),
        (431, b"GET / HTTP/1.1\r\nHost: x\r\n" + big_head + b"\r\n", "9000-byte field"),
        (505, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/2.0"),
        (413, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n", "9999999-byte body"),
        (501, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked body"),
        (301, b"GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", "directory without slash"),
    ]
    for want, req, what in errs:
        try:
            st, h, b = raw(port, req)
            ok = st == want and len(b) == int(h.get("content-length", -1))
            if want == 405:
                ok = ok and h.get("allow") == "GET, HEAD"
            if want == 301:
                ok = ok and h.get("location") == "/sub/"
            detail = "status %s %r" % (st, h)
        except (OSError, ValueError, IndexError) as e:
            ok, detail = False, repr(e)
        yield "httpd %d for %s" % (want, what), ok, detail

    # keep-alive and pipelining: 3 requests in one write, then a 4th
    s = connect(port)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /1m.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9999\r\n\r\n"
                  b"HEAD /sub/dir/nested.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        f = s.makefile("rb")
        r1 = read_response(f)
        r2 = read_response(f)
        r3 = read_response(f, head=True)
        s.sendall(b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r4 = read_response(f)
        eof = f.read(1) == b""
        f.close()
        ok = (r1[0] == 200 and r1[2] == files["index.html"] and r2[0] == 206 and
              r2[2] == big[:10000] and r3[0] == 200 and r3[2] == b"" and
              r3[1].get("content-length") == str(len(files["sub/dir/nested.txt"])) and
              r4[0] == 200 and r4[2] == files["style.css"] and eof)
        detail = "statuses %s %s %s %s, eof %s" % (r1[0], r2[0], r3[0], r4[0], eof)
    except (OSError, ValueError, IndexError) as e:
        ok, detail = False, repr(e)
    finally:
        s.close()
    yield "httpd keep-alive: 3 pipelined requests and a 4th with close on one connection", ok, detail

    # HTTP/1.0: closes unless asked
    s = connect(port)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    yield ("httpd HTTP/1.0 without keep-alive: answer, then close",
           data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(files["index.html"]) and
           b"Connection: close\r\n" in data, "%d bytes" % len(data))

    # a slow client: half a head, then nothing: 408 after -t, then closed
    s = connect(port, timeout=HEAD_TIMEOUT * 5)
    t0 = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        data += repr(e).encode()
    took = time.monotonic() - t0
    s.close()
    yield ("httpd slow client: 408 and closed after the %.1f s head time-out" % HEAD_TIMEOUT,
           data.startswith(b"HTTP/1.1 408 ") and HEAD_TIMEOUT * 0.8 <= took <= HEAD_TIMEOUT + 2,
           "%.2f s, %r" % (took, data[:40]))

    # a slowloris: a byte every 0.3 s does not extend the head time-out
    s = connect(port, timeout=HEAD_TIMEOUT * 5)
    t0 = time.monotonic()
    closed = False
    try:
        for ch in b"GET / HTTP/1.1\r\nHost: xxxxxxxxxxxxxxxx":
            s.sendall(bytes([ch]))
            time.sleep(0.3)
            if time.monotonic() - t0 > HEAD_TIMEOUT + 3:
                break
    except OSError:
        closed = True
    took = time.monotonic() - t0
    s.close()
    yield ("httpd slowloris (a byte every 0.3 s): dropped within the head time-out",
           closed and took <= HEAD_TIMEOUT + 2, "closed %s after %.2f s" % (closed, took))

    # an idle keep-alive connection: closed after -k, without a word
    s = connect(port, timeout=IDLE_TIMEOUT * 5)
    s.sendall(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
    f = s.makefile("rb")
    r = read_response(f)
    t0 = time.monotonic()
    rest = f.read()
    took = time.monotonic() - t0
    f.close()
    s.close()
    yield ("httpd idle keep-alive connection closed after the %.0f s time-out" % IDLE_TIMEOUT,
           r[0] == 200 and rest == b"" and IDLE_TIMEOUT * 0.8 <= took <= IDLE_TIMEOUT + 2,
           "%.2f s, %d bytes after the answer" % (took, len(rest)))

    # wrk: no errors
    p = subprocess.run(["wrk", "-t1", "-c100", "-d2s", "http://%s:%d/" % (HOST, port)],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"(\d+) requests in", p.stdout)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", p.stdout)
    bad = re.search(r"Socket errors|Non-2xx", p.stdout)
    yield ("httpd wrk -t1 -c100 -d2s /: no socket errors, all 2xx",
           p.returncode == 0 and m and int(m.group(1)) > 0 and not bad,
           "%s requests, %s requests/s%s" % (m and m.group(1), rps and rps.group(1),
                                             "; " + p.stdout[-300:] if bad or not m else ""))

    # 1,000 concurrent connections: all open at once, each served
    n = 1000
    socks, served = [], 0
    detail = ""
    try:
        for _ in range(n):
            s = connect(port, timeout=20)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        for s in socks:
            f = s.makefile("rb")
            st, h, b = read_response(f)
            f.close()
            if st == 200 and b == files["index.html"]:
                served += 1
    except OSError as e:
        detail = repr(e)
    finally:
        for s in socks:
            s.close()
    yield ("httpd %d concurrent connections all served" % n, served == n,
           "%d of %d served (%d opened) %s" % (served, n, len(socks), detail))

    # -h: every flag explained, exit 0
    p = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10)
    flags = ["-h", "-r", "-a", "-p", "-w", "-c", "-k", "-t", "-q", "-L"]
    missing = [fl for fl in flags if not re.search(r"^\s+%s\b" % fl, p.stdout, re.M)]
    yield ("httpd -h explains every flag and exits 0", p.returncode == 0 and not missing,
           "status %d, missing %s" % (p.returncode, missing))
    p = subprocess.run([binary, "-p", "99999"], capture_output=True, text=True, timeout=10)
    yield ("httpd a bad flag value: exit 2 and a message on stderr",
           p.returncode == 2 and "port" in p.stderr and p.stdout == "", p.stderr)


LOG_RE = re.compile(r'^(\S+) - - \[(\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "([^"]*)" '
                    r'(\d{3}) (\d+) "([^"]*)" "([^"]*)"$')


def run_all(logs, binary=None):
    binary = binary or os.path.join(ROOT, "build", "apps", "httpd")
    results = []
    if not os.access(binary, os.X_OK):
        return [("httpd binary", False, "%s missing (make build/apps/httpd)" % binary)]
    os.makedirs(logs, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or (soft < hard and hard < 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    root = tempfile.mkdtemp(prefix="httpd-test-")
    srv = None
    try:
        files = make_root(root)
        srv = Server(binary, root, logs)
        if srv.port is None:
            results.append(("httpd starts and names its port", False, srv.stderr()[-500:]))
            return results
        results.append(("httpd starts and names its port", True, ""))
        try:
            for r in checks(srv.port, files, root, binary):
                results.append(r)
        except Exception as e:  # a check that broke must not look like success
            results.append(("httpd checks", False, "test error: %r" % e))
        status = srv.stop()
        err = srv.stderr()
        results.append(("httpd stops on SIGTERM with status 0 and its counters on stderr",
                        status == 0 and "0 sendfile fallbacks" in err,
                        "status %s; %s" % (status, err.strip().splitlines()[-1:])))
        with open(os.path.join(logs, "httpd-stdout.log"), "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        bad = [l for l in lines if not LOG_RE.match(l)]
        want = [l for l in lines if '"GET /index.html HTTP/1.1" 200 612 "-" "curl/' in l]
        results.append(("httpd access log: every line in combined format", lines and not bad,
                        "%d lines, %d bad, first bad %r" % (len(lines), len(bad),
                                                             bad[:1])))
        results.append(("httpd access log: curl's GET /index.html logged with 200 612",
                        bool(want), "%d lines" % len(lines)))
    finally:
        if srv is not None and srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
        shutil.rmtree(root, ignore_errors=True)
    return results


def main():
    logs = os.path.join(ROOT, "build", "test-logs")
    binary = sys.argv[1] if len(sys.argv) > 1 else None
    passed = failed = 0
    for name, ok, detail in run_all(logs, binary):
        if ok:
            passed += 1
            sys.stderr.write("PASS %s\n" % name)
        else:
            failed += 1
            sys.stderr.write("FAIL %s: %s\n" % (name, detail))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed else 1


if __name__ == "__main__":
    sys.exit(main())
