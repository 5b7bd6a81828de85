#!/usr/bin/python3
"""Disk tests (issue 14): the virtio-blk driver and the block layer, through
the REPL's `blk` command, against raw images this test makes.

Boots (no root needed):
  blk-smp2  2 CPUs, a disk with 2 queues, blk.depth=4: capacity; reads hash
            to the host file's bytes; a write (and a FUA write) reads back and
            is in the host file after QEMU exits; flush; write zeroes and
            discard; checked concurrent reads from both CPUs use both queues
            and wait for the bounded depth; a lost interrupt and a device that
            stops answering (both injected) end in a completion and in EIO
            after a device reset, and the disk works again
  blk-smp1  1 CPU, one queue: the same reads, a write read back, stress
  blk-bad   three disks: read-only (readonly=on: writes get EROFS), one with
            blkdebug I/O errors at known sectors (EIO, the kernel runs on,
            other sectors read fine), one of 0 bytes (capacity 0: refused,
            no crash)

Usable alone:  python3 tests/integration/blk_test.py
or from tests/run.py through run_all(), which returns (name, ok, detail).
"""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
from tests.lib import guest  # noqa: E402
from tests.lib.guest import Guest  # noqa: E402
from tests.lib.log import log  # noqa: E402
from tests.lib.results import Results  # noqa: E402
KERNEL = os.path.join(ROOT, "build", "caboose.elf")
SECTOR = 512
IMAGE_SECTORS = 16384          # 8 MiB
TIMEOUT_MS = 2000              # blk.timeout_ms for the boots


# the patterns of fs/blk/blk_repl.c
_BASE = bytes(range(256)) * 3


def image_sector(s):
    o = (8 + 7 * s) % 256
    return s.to_bytes(8, "little") + _BASE[o:o + 504]


def write_sector(s, seed):
    return bytes((31 * s + 7 * j + 13 * seed + j // 256) & 0xFF for j in range(SECTOR))


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def make_image(path, sectors):
    with open(path, "wb") as f:
        for s in range(sectors):
            f.write(image_sector(s))


def read_host(path, sector, count):
    with open(path, "rb") as f:
        f.seek(sector * SECTOR)
        return f.read(count * SECTOR)


class Boot:
    """QEMU with the given drive arguments, started by the shared launcher
    (tests.lib.guest: its command and stderr kept beside the console); the
    REPL attached."""

    def __init__(self, logdir, tag, smp, drives, cmdline=""):
        self.console = os.path.join(logdir, tag + ".console.log")
        sock = os.path.join(logdir, tag + "-repl.sock")
        for stale in (sock, self.console):
            if os.path.exists(stale):
                os.unlink(stale)
        cmdline = "console=ttyS0 ip=off blk.timeout_ms=%d %s" % (TIMEOUT_MS, cmdline)
        self.proc = guest.start(guest.qemu_argv(logdir, tag, smp, cmdline, KERNEL, repl=sock,
                                                extra=drives), logdir, tag)
        try:
            ready = guest.wait_console(self.proc, logdir, tag, b"caboose: ready", 60)
        except RuntimeError:
            self.stop()
            raise
        if not ready:
            self.stop()
            raise RuntimeError("no ready line in 60 s: %s" % guest.qemu_stderr(logdir, tag))
        self.g = Guest.attach(sock, self.proc,
                              open(os.path.join(logdir, tag + ".repl.log"), "wb"),
                              self.console)

    def json(self, line, timeout=60):
        return self.g.json(line, timeout)

    def text(self):
        return open(self.console, "rb").read().decode("utf-8", "replace")

    def stop(self):
        """Kill QEMU (not a power cut: what the guest wrote is in the host's
        page cache) and wait for it."""
        g = getattr(self, "g", None)
        if g:
            g.sock.close()
            g.transcript.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def drive(path, ident, extra_drive="", extra_dev="", addr=None):
    dev = "virtio-blk-pci,drive=%s%s%s" % (ident, extra_dev,
                                           ",addr=%s" % addr if addr else "")
    return ["-drive", "file=%s,if=none,format=raw,id=%s%s" % (path, ident, extra_drive),
            "-device", dev]


def queues(b):
    return b.json("blk")["queues"]


def check_reads(b, check, tag, img):
    j = b.json("blk")
    d = j["disks"][0] if j["disks"] else {}
    check("%s: capacity %d sectors seen" % (tag, IMAGE_SECTORS),
          d.get("sectors") == IMAGE_SECTORS and d.get("sector_size") == SECTOR, str(j)[:300])
    bad = []
    for sector, count in ((0, 1), (1, 7), (0, 8), (4093, 9), (IMAGE_SECTORS - 1, 1),
                          (1000, 1024), (8000, 2048)):
        r = b.json("blk read vda %d %d" % (sector, count))
        want = fnv1a(read_host(img, sector, count))
        if not r["ok"] or r["read"]["fnv1a"] != want:
            bad.append("%d+%d: %s, host %s" % (sector, count, r.get("read", r), want))
    check("%s: reads of 1 to 2048 sectors hash to the host file's bytes" % tag, not bad,
          "; ".join(bad)[:500])
    r = b.json("blk read vda %d 1" % IMAGE_SECTORS)
    check("%s: a read past the end is refused with EINVAL" % tag,
          not r["ok"] and r["errno"] == -22, str(r))


def check_write(b, check, tag, sector, count, seed, fua=False):
    want = fnv1a(b"".join(write_sector(sector + i, seed) for i in range(count)))
    w = b.json("blk write vda %d %d %d%s" % (sector, count, seed, " fua" if fua else ""))
    r = b.json("blk read vda %d %d" % (sector, count))
    check("%s: a %swrite of %d sectors at %d reads back" % (tag, "FUA " if fua else "", count,
                                                            sector),
          w["ok"] and r["ok"] and w["write"]["fnv1a"] == want and r["read"]["fnv1a"] == want,
          "write %s read %s want %s" % (w, r, want))
    return (sector, count, seed)


def check_host_writes(check, tag, img, writes):
    bad = [w for w in writes if read_host(img, w[0], w[1]) !=
           b"".join(write_sector(w[0] + i, w[2]) for i in range(w[1]))]
    check("%s: the host file holds every write after QEMU exits" % tag, not bad, str(bad))


def stress(b, check, tag, first, count, reqs, nqueues):
    before = queues(b)
    s = b.json("blk stress vda %d %d %d" % (first, count, reqs), timeout=120)
    after = queues(b)
    st = s.get("stress", {})
    used = [a["requests"] - p["requests"] for a, p in zip(after, before)]
    check("%s: %d checked reads from every CPU, every byte right" % (tag, reqs),
          s["ok"] and st["errors"] == 0 and st["bad_sectors"] == 0
          and st["requests"] == reqs * st["threads"], str(s))
    check("%s: %d queue%s in use, each took requests" % (tag, nqueues, "s" * (nqueues > 1)),
          len(after) == nqueues and all(u > 0 for u in used), "requests per queue %s" % used)
    return before, after


def run_smp2(logdir, check):
    tag = "blk-smp2"
    tmp = tempfile.mkdtemp(prefix="caboose-blk-")
    img = os.path.join(tmp, "disk.img")
    make_image(img, IMAGE_SECTORS)
    writes = []
    b = Boot(logdir, tag, 2, drive(img, "d0", ",discard=unmap",
                                   ",num-queues=2"), "blk.depth=4")
    try:
        text = b.text()
        check("%s: boot log names the disk, its queues and features" % tag,
              "vda: virtio-blk at" in text and "2 queues in use" in text
              and "features taken:" in text and "flush" in text,
              "\n".join(l for l in text.splitlines() if "vda" in l)[-600:])
        check_reads(b, check, tag, img)
        writes.append(check_write(b, check, tag, 100, 16, 5))
        writes.append(check_write(b, check, tag, 2047, 300, 9, fua=True))
        f = b.json("blk flush vda")
        q = queues(b)
        check("%s: flush" % tag, f["ok"] and sum(x["flushes"] for x in q) >= 2, str(f))
        z = b.json("blk zeroes vda 3000 8")
        r = b.json("blk read vda 3000 8")
        check("%s: write zeroes" % tag, z["ok"] and r["ok"] and
              r["read"]["fnv1a"] == fnv1a(bytes(8 * SECTOR)), "%s %s" % (z, r))
        writes.append((3000, 8, None))
        d = b.json("blk discard vda 3100 8")
        check("%s: discard" % tag, d["ok"], str(d))
        before, after = stress(b, check, tag, 4096, 4096, 300, 2)
        waits = sum(a["slot_waits"] - p["slot_waits"] for a, p in zip(after, before))
        check("%s: with blk.depth=4 and 8 reads in flight per CPU, submitters waited for "
              "a slot" % tag, waits > 0 and all(a["inflight"] == 0 for a in after),
              str(after))
        j = b.json("blk latency")
        rows = [x for x in j["latency"] if x["dir"] == "read"]
        check("%s: latency histograms per queue" % tag,
              len(rows) == 2 and all(x["count"] > 0 and 0 < x["p50_us"] <= x["max_us"]
                                     for x in rows), str(j)[:400])

        # a lost interrupt: the completion thread's periodic look finds it
        def dropped():
            c = b.json("counters blk.inject")["counters"]
            return sum(x["value"] for x in c if x["name"] == "blk.inject.irqs_dropped")
        b.json("blk inject drop-irq vda")
        t0 = time.time()
        r = b.json("blk read vda 50 4")
        took = time.time() - t0
        check("%s: a lost completion interrupt is recovered within %.1f s" % (
              tag, TIMEOUT_MS / 1000.0),
              r["ok"] and r["read"]["fnv1a"] == fnv1a(read_host(img, 50, 4))
              and dropped() == 1 and took < TIMEOUT_MS / 1000.0 + 1,
              "%s after %.2f s, %d interrupts dropped" % (r, took, dropped()))
        log("%s: lost interrupt: the read took %.2f s" % (tag, took))

        # a device that stops answering: EIO after the timeout, then a reset
        b.json("blk inject hang vda")
        t0 = time.time()
        r = b.json("blk read vda 60 4", timeout=60)
        took = time.time() - t0
        check("%s: a device that stops answering gives EIO after blk.timeout_ms" % tag,
              not r["ok"] and r["errno"] == -5 and TIMEOUT_MS / 1000.0 * 0.9 <= took
              < TIMEOUT_MS / 1000.0 * 3 + 2, "%s after %.2f s" % (r, took))
        j = b.json("blk")
        r = b.json("blk read vda 60 4")
        check("%s: after the device reset the disk works again" % tag,
              j["disks"][0]["resets"] == 1 and sum(x["timeouts"] for x in j["queues"]) >= 1
              and r["ok"] and r["read"]["fnv1a"] == fnv1a(read_host(img, 60, 4)),
              "%s %s" % (j, r))
        writes.append(check_write(b, check, tag, 5000, 40, 11))
        text = b.text()
        check("%s: the reset is logged" % tag, "resetting the device" in text
              and "device reset done: " in text and "panic" not in text,
              "\n".join(l for l in text.splitlines() if "vda" in l)[-600:])
    finally:
        b.stop()
    zeroed = [w for w in writes if w[2] is None]
    check_host_writes(check, tag, img, [w for w in writes if w[2] is not None])
    check("%s: the host file holds the zeroes" % tag,
          all(read_host(img, s, n) == bytes(n * SECTOR) for s, n, _ in zeroed), str(zeroed))
    os.unlink(img)
    os.rmdir(tmp)


def run_smp1(logdir, check):
    tag = "blk-smp1"
    tmp = tempfile.mkdtemp(prefix="caboose-blk-")
    img = os.path.join(tmp, "disk.img")
    make_image(img, IMAGE_SECTORS)
    # the modern device id (0x1042); the other boots have transitional ones (0x1001)
    b = Boot(logdir, tag, 1, drive(img, "d0", extra_dev=",disable-legacy=on"))
    writes = []
    try:
        check_reads(b, check, tag, img)
        writes.append(check_write(b, check, tag, 12000, 64, 3))
        stress(b, check, tag, 0, 4096, 300, 1)
    finally:
        b.stop()
    check_host_writes(check, tag, img, writes)
    os.unlink(img)
    os.rmdir(tmp)


def run_bad(logdir, check):
    tag = "blk-bad"
    tmp = tempfile.mkdtemp(prefix="caboose-blk-")
    ro, eio, empty = (os.path.join(tmp, n) for n in ("ro.img", "eio.img", "empty.img"))
    make_image(ro, 2048)
    make_image(eio, 2048)
    open(empty, "wb").close()
    rules = os.path.join(tmp, "blkdebug.conf")
    with open(rules, "w") as f:
        f.write('[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "1000"\n\n'
                '[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "1500"\n')
    drives = (drive(ro, "d0", ",readonly=on", addr="0x5") +
              ["-drive", "file=blkdebug:%s:%s,if=none,format=raw,id=d1" % (rules, eio),
               "-device", "virtio-blk-pci,drive=d1,addr=0x6"] +
              drive(empty, "d2", addr="0x7"))
    b = Boot(logdir, tag, 2, drives)
    try:
        j = b.json("blk")
        disks = {d["name"]: d for d in j["disks"]}
        check("%s: three disks: read-only, 2048 sectors, capacity 0" % tag,
              len(disks) == 3 and "ro" in disks["vda"]["features"].split(",")
              and disks["vdb"]["sectors"] == 2048 and disks["vdc"]["sectors"] == 0, str(j))
        r = b.json("blk read vda 10 8")
        w = b.json("blk write vda 10 8 1")
        z = b.json("blk zeroes vda 10 8")
        check("%s: a read-only disk reads, and refuses writes with EROFS" % tag,
              r["ok"] and r["read"]["fnv1a"] == fnv1a(read_host(ro, 10, 8))
              and not w["ok"] and w["errno"] == -30 and not z["ok"] and z["errno"] == -30,
              "%s %s %s" % (r, w, z))
        r1 = b.json("blk read vdb 996 8")
        w1 = b.json("blk write vdb 1500 1 2")
        r2 = b.json("blk read vdb 10 8")
        w2 = b.json("blk write vdb 20 4 2")
        q = [x for x in b.json("blk")["queues"] if x["disk"] == "vdb"]
        check("%s: injected I/O errors (blkdebug) come back as EIO" % tag,
              not r1["ok"] and r1["errno"] == -5 and not w1["ok"] and w1["errno"] == -5
              and sum(x["errors"] for x in q) == 2, "%s %s %s" % (r1, w1, q))
        check("%s: after I/O errors the disk reads and writes elsewhere" % tag,
              r2["ok"] and r2["read"]["fnv1a"] == fnv1a(read_host(eio, 10, 8)) and w2["ok"],
              "%s %s" % (r2, w2))
        e = b.json("blk read vdc 0 1")
        f = b.json("blk flush vdc")
        u = b.json("uptime")
        check("%s: a disk of capacity 0 refuses I/O with EINVAL, and flushes" % tag,
              not e["ok"] and e["errno"] == -22 and f["ok"], "%s %s" % (e, f))
        text = b.text()
        check("%s: the kernel runs on, no panic" % tag, u["ok"] and "panic" not in text
              and "vdc: capacity 0" in text, text[-500:])
    finally:
        b.stop()
    for p in (ro, eio, empty, rules):
        os.unlink(p)
    os.rmdir(tmp)


def run_all(logdir):
    os.makedirs(logdir, exist_ok=True)
    check = Results()
    for fn in (run_smp2, run_smp1, run_bad):
        try:
            fn(logdir, check)
        except Exception as e:  # a harness failure is one failed result
            check("%s harness" % fn.__name__, False, "%s: %s" % (type(e).__name__, e))
    return check.items


if __name__ == "__main__":
    res = run_all(os.path.join(ROOT, "build", "test-logs"))
    failed = sum(1 for _, ok, _ in res if not ok)
    print("%d passed, %d failed" % (len(res) - failed, failed))
    sys.exit(1 if failed or not res else 0)
