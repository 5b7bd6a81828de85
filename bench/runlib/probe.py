"""bench/run's probes: a guest's COM1 read live (Console), GET probes
(http_get_ok, FirstOK) and the bodies' check (check_pages: status, size
and sha256 of every page)."""

import hashlib
import http.client
import re
import socket
import threading
import time


class Console:
    """COM1 of a guest: a reader thread keeps everything (and a log file)
    with arrival times, so waits can say when a line arrived."""

    def __init__(self, path, logfile):
        self.sock = socket.socket(socket.AF_UNIX)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise RuntimeError("QEMU did not open its console socket")
                time.sleep(0.005)
        self.buf = b""
        self.marks = []          # (arrival time, length of buf after it)
        self.cond = threading.Condition()
        self.log = open(logfile, "wb")
        self.closed = False
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            now = time.monotonic()
            with self.cond:
                if not data:
                    self.closed = True
                    self.cond.notify_all()
                    return
                self.buf += data
                self.marks.append((now, len(self.buf)))
                self.log.write(data)
                self.log.flush()
                self.cond.notify_all()

    def wait_for(self, regex, timeout, start=0):
        """(match, arrival time of its last byte); raises on timeout."""
        pat = re.compile(regex)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                m = pat.search(self.buf, start)
                if m:
                    t = next(t for t, n in self.marks if n >= m.end())
                    return m, t
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    raise RuntimeError("no %r on the console within %.0f s%s"
                                       % (regex, timeout, " (QEMU exited)" if self.closed else ""))
                self.cond.wait(min(left, 0.5))

    def size(self):
        with self.cond:
            return len(self.buf)

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.log.close()



def http_get_ok(ip, port, path="/", timeout=0.3):
    """True if GET PATH answers 200 (headers only are looked at)."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (path, ip)).encode())
            head = b""
            while b"\r\n" not in head:
                d = s.recv(4096)
                if not d:
                    break
                head += d
            return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def check_pages(ip, port, pages, sha256=None):
    """GET each of PAGES ({path: size}) on one keep-alive connection:
    (what is wrong, {path: sha256 of the body served}); what is wrong is
    empty if every body has its size and, where SHA256 ({path: hex}) names
    one, its sha256."""
    wrong, got = {}, {}
    conn = http.client.HTTPConnection(ip, port, timeout=10)
    try:
        for path, size in pages.items():
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            got[path] = hashlib.sha256(body).hexdigest()
            if r.status != 200 or len(body) != size:
                wrong[path] = "status %d, %d bytes (want 200, %d)" % (r.status, len(body), size)
            elif sha256 and sha256.get(path) and got[path] != sha256[path]:
                wrong[path] = "sha256 %s, want %s" % (got[path][:16], sha256[path][:16])
    except (OSError, http.client.HTTPException) as e:
        wrong["*"] = str(e)
    finally:
        conn.close()
    return wrong, got


class FirstOK:
    """Polls GET / from QEMU's start until the first 200: its host time."""

    def __init__(self, ip, port):
        self.t = None
        self.stop = False
        self.fast = False
        self.th = threading.Thread(target=self._run, args=(ip, port), daemon=True)
        self.th.start()

    def _run(self, ip, port):
        while not self.stop:
            if http_get_ok(ip, port, timeout=0.25):
                self.t = time.monotonic()
                return
            time.sleep(0.01 if self.fast else 0.05)

    def wait(self, timeout):
        self.fast = True
        self.th.join(timeout)
        self.stop = True
        return self.t


