"""The HTTP clients of the integration tests, Debian's curl and wrk and a
few by hand, against a guest (run them where the guest's network is: in
the test's namespace).

  curl(url, timeout)        (HTTP status as a string, '000' when no
                            answer; body length)
  curl_body(url, timeout)   (curl's exit status, the body's bytes)
  sha256(data)              its hex digest (bodies are compared by it)
  wrk(url, conns, secs, threads, timeout_s)  one wrk run: requests, the
                            socket errors by kind, non-2xx, exit status
  wrk_brief(r), wrk_errors(r)  a wrk run in one line; its errors, summed
  many_connections(host, port, n, path)  n connections open at once,
                            each answered
  raw(host, port, data, timeout)  bytes sent on a new connection, what
                            came back until the close
  read_all(sock)            what a socket reads until the close, and the
                            error that ended it early (or None)
  status_of(resp)           the status code of a raw answer, or None

Python 3 standard library only."""
import hashlib
import re
import socket
import subprocess
import time

PAGE_LEN = 612      # the 612-byte page every server of the tests has at /
WRK_ERR_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def curl(url, timeout=10):
    """(HTTP status as a string, '000' when no answer; body length)."""
    p = subprocess.run(["curl", "-s", "-m", str(timeout), "-o", "/dev/null",
                        "-w", "%{http_code} %{size_download}", url],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True, timeout=timeout + 30)
    parts = (p.stdout.strip() or "000 0").split()
    return parts[0], int(float(parts[1])) if len(parts) > 1 else 0


def curl_body(url, timeout=30):
    """(curl's exit status, the body it got)."""
    p = subprocess.run(["curl", "-s", "-m", str(timeout), url], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, timeout=timeout + 30)
    return p.returncode, p.stdout


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def wrk(url, conns, secs, threads=1, timeout_s=None):
    """One wrk run: dict(requests, connect, read, write, timeout, non2xx,
    status, raw). wrk prints its "Socket errors" and "Non-2xx" lines only
    when there were some; they count 0 otherwise."""
    args = ["wrk", "-t%d" % min(threads, conns), "-c%d" % conns, "-d%ds" % secs]
    if timeout_s:
        args += ["--timeout", "%ds" % timeout_s]
    p = subprocess.run(args + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=secs + 60)
    m = re.search(r"(\d+) requests in", p.stdout)
    e = WRK_ERR_RE.search(p.stdout)
    n = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    r = dict(requests=int(m.group(1)) if m else 0, non2xx=int(n.group(1)) if n else 0,
             status=p.returncode, raw=p.stdout[-800:])
    for i, k in enumerate(("connect", "read", "write", "timeout")):
        r[k] = int(e.group(i + 1)) if e else 0
    return r


def wrk_errors(r):
    """A wrk run's failed requests: socket errors of every kind and non-2xx."""
    return r["connect"] + r["read"] + r["write"] + r["timeout"] + r["non2xx"]


def wrk_brief(r):
    return "%d requests, errors connect %d read %d write %d timeout %d, non-2xx %d" % (
        r["requests"], r["connect"], r["read"], r["write"], r["timeout"], r["non2xx"])


def many_connections(host, port, n, path="/"):
    """N connections open at once; each sends its request as soon as it is
    up (an idle one could be closed by http.idle while the rest open); the
    answers are read once all are open: (answered with 200, connected, s)."""
    socks, ok = [], 0
    t0 = time.time()
    try:
        for _ in range(n):
            c = socket.socket()
            c.settimeout(30)
            c.connect((host, port))
            socks.append(c)
            c.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: caboose\r\n\r\n")
        for c in socks:
            d = b""
            try:
                while not (b"\r\n\r\n" in d and len(d) >= d.index(b"\r\n\r\n") + 4 + PAGE_LEN):
                    b = c.recv(4096)
                    if not b:
                        break
                    d += b
            except OSError:
                pass
            ok += d.startswith(b"HTTP/1.1 200 OK")
    except OSError:
        pass
    finally:
        for c in socks:
            c.close()
    return ok, len(socks), time.time() - t0


def raw(host, port, data, timeout=20):
    """Send DATA (if any) on a new connection to HOST:PORT; what came back
    until the server closed. A server that answers before it read
    everything may close (and so reset) mid-send: its answer is still there
    to read. An error with nothing read comes back as b"error: ..."."""
    s = socket.create_connection((host, port), timeout=timeout)
    err = None
    try:
        if data:
            try:
                s.sendall(data)
            except OSError as e:
                err = e
        out, e = read_all(s)    # e: a reset after the answer (unread bytes at the close)
        err = err or e
    finally:
        s.close()
    if not out and err is not None:
        return b"error: %s" % str(err).encode()
    return out


def read_all(sock):
    """(what SOCK read until the close, the OSError that ended it first or
    None)."""
    out = b""
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                return out, None
            out += b
    except OSError as e:
        return out, e


def status_of(resp):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return int(m.group(1)) if m else None
