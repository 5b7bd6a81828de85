#!/usr/bin/python3
"""ext3 with the Linux guest as the oracle (issue 14), part of the `blk` tier
(run from ext2_test.run_all).

One ext3 image (`mke2fs -t ext3 -d`) holding the scripts, three boots on it:

  caboose  busybox on Caboose runs ext2_test's write script into /cab (files,
           appends, an 800 KiB file, renames, links fast and slow, a hard
           link, truncates, chmod, touch -t) and lists /cab/out: every
           entry's type, permissions, links, a file's size and sha256, a
           link's target
  linux    the Linux guest (bench/linux-guest: Debian's kernel, its ext4
           driver mounting the image as ext3, virtio-blk) lists /cab/out,
           which must equal Caboose's listing, then runs the same write
           script into /lx, lists /lx/out, and unmounts
  caboose  busybox on Caboose lists /lx/out, which must equal Linux's
e2fsck -fn finds the image clean after each boot.

Usage: tests/integration/ext2_linux.py  (prints PASS/FAIL lines on stderr,
"N passed, M failed" on stdout)
"""
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
from tests.lib import guest  # noqa: E402
from tests.lib.results import Results  # noqa: E402
import blk_test  # noqa: E402
import ext2_test  # noqa: E402

GUEST = os.path.join(ROOT, "build", "linux-guest")

# every line of the listing starts with "@@ " (kernel messages may come
# between lines on the console)
LIST_SCRIPT = r"""#!/bin/busybox sh
B=busybox
cd "$1" || { echo "@@ no $1"; exit 3; }
$B find . | $B sort | while read -r f; do
    if [ -L "$f" ]; then
        echo "@@ L $f -> $($B readlink "$f")"
    elif [ -d "$f" ]; then
        echo "@@ D $f $($B stat -c '%a %h' "$f")"
    elif [ -f "$f" ]; then
        echo "@@ F $f $($B stat -c '%a %s %h' "$f") $($B sha256sum < "$f" | $B cut -d' ' -f1)"
    else
        echo "@@ O $f $($B stat -c '%F %a' "$f")"
    fi
done
echo "@@ end"
"""

CABOOSE_WRITE = r"""#!/bin/busybox sh
busybox mkdir -p /mnt/vda/cab && busybox sh /mnt/vda/write.sh /mnt/vda/cab &&
busybox sh /mnt/vda/list.sh /mnt/vda/cab/out
"""

LINUX_SCRIPT = r"""#!/bin/busybox sh
echo "@@ list cab"
busybox sh /mnt/vda/list.sh /mnt/vda/cab/out
busybox mkdir -p /mnt/vda/lx && busybox sh /mnt/vda/write.sh /mnt/vda/lx >/dev/null
echo "@@ list lx"
busybox sh /mnt/vda/list.sh /mnt/vda/lx/out
busybox sync
"""

CABOOSE_READ = r"""#!/bin/busybox sh
busybox sh /mnt/vda/list.sh /mnt/vda/lx/out
"""


def listing(text, start=None):
    """The "@@ " lines of a console text (from the marker `start` on, up to
    the next "@@ end"), without the prefix."""
    out, on = [], start is None
    for line in text.replace("\r", "").split("\n"):
        i = line.find("@@ ")
        if i < 0:
            continue
        body = line[i + 3:]
        if not on:
            on = body == start
            continue
        if body == "end":
            break
        out.append(body)
    return out


def linux_guest():
    """(kernel, initramfs) of bench/linux-guest, built if missing, or (None, why)."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "linux-guest")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1500)
    if p.returncode != 0:
        return None, "bench/linux-guest failed: " + p.stderr[-600:]
    man = json.loads(p.stdout)
    return (man["kernel"], man["initramfs"]), ""


def linux_boot(logdir, name, guest_files, img):
    """The Linux guest with img as vda (linux-guest.disk=ext3): (QEMU's
    status or None after 600 s, the console text)."""
    kernel, initramfs = guest_files
    cmdline = "console=ttyS0 loglevel=1 panic=-1 linux-guest.disk=ext3"
    p = guest.start(guest.qemu_argv(logdir, name, 2, cmdline, kernel,
                                    extra=["-initrd", initramfs, "-nic", "none"]
                                    + blk_test.drive(img, "d0")), logdir, name)
    try:
        status = p.wait(timeout=600)
    except subprocess.TimeoutExpired:
        p.kill()   # QEMU's own PID
        p.wait()
        status = None
    with open(os.path.join(logdir, name + ".console.log"), "rb") as f:
        return status, f.read().decode("utf-8", "replace").replace("\r\n", "\n")


def diff(a, b):
    import difflib
    return "\n".join(list(difflib.unified_diff(a, b, "linux", "caboose", lineterm="",
                                               n=1))[:30])


def run(logdir, check, initrd):
    files, why = linux_guest()
    if not files:
        check("ext3 and Linux: the Linux guest (bench/linux-guest)", False, why)
        return
    src = os.path.join(logdir, "ext3-linux-src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    for n, body in (("write.sh", ext2_test.WRITE_SCRIPT), ("list.sh", LIST_SCRIPT),
                    ("cab.sh", CABOOSE_WRITE), ("linux.sh", LINUX_SCRIPT),
                    ("read.sh", CABOOSE_READ)):
        with open(os.path.join(src, n), "w") as f:
            f.write(body)
    img = os.path.join(logdir, "ext3-linux.img")
    ext2_test.mkfs(src, img, ("-t", "ext3"), "32M")
    # 1. Caboose writes
    status, text = ext2_test.busybox_boot(logdir, "ext3-linux-1-caboose", initrd, img,
                                          "/mnt/vda/cab.sh")
    cab = listing(text)
    check("ext3 and Linux: Caboose wrote and listed its tree", status == 1 and len(cab) > 20,
          "status %s; %d lines; %s" % (status, len(cab), text[-800:]))
    code, out = ext2_test.fsck(img)
    check("ext3 and Linux: e2fsck -fn clean after Caboose wrote", code == 0, out[-500:])
    # 2. Linux reads it and writes its own
    t0 = time.time()
    status, text = linux_boot(logdir, "ext3-linux-2-linux", files, img)
    sys.stderr.write("ext2_linux: the Linux boot took %.0f s\n" % (time.time() - t0))
    mounted = "linux-guest: disk mounted (ext3)" in text
    done = "linux-guest: disk unmounted" in text
    check("ext3 and Linux: Linux mounts Caboose's image as ext3 and unmounts it",
          mounted and done, "status %s; %s" % (status, text[-1200:]))
    lx_cab, lx_own = listing(text, "list cab"), listing(text, "list lx")
    check("ext3 and Linux: Linux lists Caboose's files as Caboose does (%d entries, sha256 "
          "of each file)" % len(cab), lx_cab == cab and len(cab) > 20, diff(lx_cab, cab))
    code, out = ext2_test.fsck(img)
    check("ext3 and Linux: e2fsck -fn clean after Linux wrote", code == 0, out[-500:])
    # 3. Caboose reads what Linux wrote
    status, text = ext2_test.busybox_boot(logdir, "ext3-linux-3-caboose", initrd, img,
                                          "/mnt/vda/read.sh")
    cab_lx = listing(text)
    check("ext3 and Linux: Caboose lists Linux's files as Linux does (%d entries)"
          % len(lx_own), status == 1 and len(lx_own) > 20 and cab_lx == lx_own,
          "status %s; %s" % (status, diff(lx_own, cab_lx)))
    code, out = ext2_test.fsck(img)
    check("ext3 and Linux: e2fsck -fn clean at the end", code == 0, out[-500:])


if __name__ == "__main__":
    logdir = os.path.join(ROOT, "build", "test-logs")
    os.makedirs(logdir, exist_ok=True)
    blk_test.KERNEL = ext2_test.KERNEL
    res = Results()
    run(logdir, res, ext2_test.INITRD)
    failed = sum(1 for _, ok, _ in res.items if not ok)
    print("%d passed, %d failed" % (len(res.items) - failed, failed))
    sys.exit(1 if failed or not res.items else 0)
