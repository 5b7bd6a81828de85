#!/usr/bin/python3
"""ext2/ext3 through the VFS (issue 14), part of the `blk` tier.

The test writes a directory tree (small, empty, 3 MiB and sparse files, a
4.4 GiB sparse file, a deep directory, a 255-byte name, 300 entries in one
directory, fast and slow symbolic links, a hard link, a FIFO, modes and
owners), makes an ext3 image of it with `mke2fs -t ext3 -d` (as `make disk`
does), and boots Caboose with the image as a virtio disk:

  repl   the REPL's `mount` shows /mnt/vda as ext3, read-only, with its
         journal state; `df` gives dumpe2fs's block size, block and inode
         counts, free ones, and free less the reserved as available; `ls`
         lists the tree's names; `stat` of a file, the
         huge sparse file, a slow link and the FIFO gives what the host's
         lstat gives (mode, size, links, owner, mtime; a link's target);
         `cat` gives a file's first bytes
  user   Debian's static busybox (the user tier's initrd) runs a script
         kept on the disk itself: sha256sum of every file under
         /mnt/vda/tree (the huge one but its last bytes), `stat -c` of every
         entry, readlink of the links, getcwd in the deep directory, and
         writes that must fail with EROFS; everything is compared with the
         same computed on the host over the source tree
  fsck   `e2fsck -fn` finds the image clean afterwards
  write  an ext2 image (no journal) is mounted read-write: busybox runs a
         script kept on it that writes a tree under /mnt/vda/out (mkdir -p,
         files by echo, seq and cat, appends, an 800 KiB file through the
         indirect blocks, cp, mv within and across directories, a directory
         moved, symbolic links fast and slow, rm, rmdir, truncate, and an
         rmdir of a non-empty directory that must fail, a hard link, chmod and
         touch -t, whose stat lines go into the tree; then, after a sync,
         `stat -f` (statfs) must give what dumpe2fs reads on the image once
         QEMU has exited), then the host runs
         the same script with its busybox in a directory, checks the image
         with `e2fsck -fn` and compares the image's tree (debugfs rdump)
         with its own (diff -r)
  ext3w  the same write script on an ext3 image: written through the
         journal (fs/ext2/jbd2.h), needs_recovery cleared by the clean exit,
         e2fsck -fn clean, the tree as the host's
  perms  apps/tests/perms (root, then an ordinary user: open, exec, create,
         remove, sticky and set-group-ID directories, chmod, chown, utimes,
         owners of new files) on a read-write ext2 and ext3 disk prints what
         it prints on the RAM root; e2fsck -fn clean afterwards
  wberr  a write-back that fails (blkdebug under a file's block): the
         write succeeds, its fsync reports EIO once, the next succeeds
  evict  the inode cache at ext2.nodes_max=64: busybox reads 600 files
         three times, makes 200, renames and links: checksums as the
         host's, nodes evicted and read again, ext2.nodes back at the
         limit, no freed directory entry seen, e2fsck clean
  wback  write-back: busybox appends 1500 lines and writes 2.5 MiB, never
         syncs; every dirty page reaches the disk within 30 s. ext2: by the
         flushers; after QEMU is killed the image holds both files (sha256
         as busybox printed), e2fsck clean. ext3: fewer than 375 disk write
         requests for it all; after the kill and e2fsck's replay the
         appended file is whole
  crash  power cuts: QEMU killed (its PID) at CRASH_CUTS random moments,
         drawn from a printed seed, of a write workload on ext3 (files
         created and fsync'd with `sync FILE`, a log appended to, scratch
         files renamed and removed): e2fsck -fy replays and -fn is clean,
         every file whose fsync returned is intact; Caboose's own replay of
         the crashed image (a boot that runs `true`) is e2fsck -fn clean
         with the same files intact. `make crash CUTS=100 [SEED=N]` runs
         only these (--crash CUTS --seed N), a JSON summary on stdout
  osync  200 writes to a file opened O_DSYNC and to one opened O_SYNC,
         no fsync, QEMU killed at once: after the replay every line is there
  dirsync a rename, then fsync of the directory (`sync .`), then QEMU
         killed at once: after the replay the rename is there
  orphan a file opened, written, unlinked and synced by busybox, still open
         when QEMU is killed: on the orphan list (e2fsck -fn flags it);
         Caboose's next mount frees it (e2fsck -fn clean, the free counts
         as e2fsck -fy's), and so does the Linux guest's mount of a copy
  replay a journal left needing recovery by debugfs (jw: 3 committed
         transactions with a revoke, one uncommitted) is replayed by Caboose
         at mount: the blocks equal e2fsck -fy's replay, e2fsck -fn clean
  refuse an image with an incompatible feature (extents, as ext4 has) and
         one that needs journal recovery on a read-only disk are not
         mounted, with a log line naming the reason, and the system boots
  root   root=/dev/vda: an ext3 image holding busybox, /dev, /proc and a
         script is "/" (no initial archive): the script sees it in
         /proc/mounts as / and the RAM root's /dev over its /dev, writes
         /dev/null, reads a file of the image, creates files and a
         directory and syncs; the host reads them back (debugfs), e2fsck
         -fn clean. root=/dev/vdb with no such disk: logged, the RAM root
         stays / and init runs from it; a root= that names no virtio disk
         is refused as a bad value
  linux  the Linux guest as the oracle (tests/integration/ext2_linux.py):
         Linux lists what Caboose wrote as Caboose does (sha256 of every
         file), Caboose lists what Linux wrote as Linux does, e2fsck -fn clean
  (the read checks above run on a read-only drive, so EROFS is expected)

Usage: tests/integration/ext2_test.py [--initrd build/user/initrd.cpio]
                                      [--crash CUTS [--seed N]]
Prints PASS/FAIL lines on stderr and "N passed, M failed" on stdout.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
from tests.lib import guest, harness  # noqa: E402
from tests.lib.results import Results  # noqa: E402
import blk_test  # noqa: E402

KERNEL = os.path.join(ROOT, "build", "caboose.elf")
INITRD = os.path.join(ROOT, "build", "user", "initrd.cpio")
HUGE = 4700000000

SCRIPT = r"""#!/bin/busybox sh
export PATH=/bin
cd /mnt/vda/tree || exit 3
echo "== sha256"
busybox find . -type f ! -name huge.bin | busybox sort | while read -r f; do
    busybox sha256sum "$f"
done
echo "== huge"
busybox tail -c 100 huge.bin | busybox sha256sum
echo "== stat"
busybox find . | busybox sort | while read -r f; do
    busybox stat -c '%n %f %u %g %h %Y' "$f"
done
echo "== links"
for l in fast-link slow-link dangling; do busybox readlink $l; done
echo "== deep"
cd deep/d1/d2/d3/d4/d5/d6/d7/d8 && busybox realpath . && cd /mnt/vda/tree
echo "== writes"
{ echo x > /mnt/vda/tree/new; } 2>/dev/null; echo "create $?"
# stdin not a tty: rm asks before removing a file access(W_OK) refuses (EROFS here)
busybox rm small.txt </dev/null 2>/dev/null; echo "rm $?"
busybox mkdir /mnt/vda/x 2>/dev/null; echo "mkdir $?"
busybox mv small.txt moved 2>/dev/null; echo "mv $?"
{ echo hi >> small.txt; } 2>/dev/null; echo "append $?"
busybox cp small.txt copy 2>&1 | busybox grep -c "Read-only file system"
echo "== end"
"""


WRITE_SCRIPT = r"""#!/bin/busybox sh
B=busybox
cd "$1" || exit 3
$B mkdir -p out/a/b/c out/gone/x
cd out
echo "hello from busybox" > a/hello.txt
echo "more" >> a/hello.txt
$B seq 1 120000 > a/b/numbers.txt
$B cat a/b/numbers.txt a/hello.txt > a/b/c/cat.txt
$B cp a/hello.txt a/copy.txt
$B mv a/copy.txt a/b/moved.txt
$B mv a/b/moved.txt renamed.txt
$B mv a/b/c top-c
$B ln -s a/hello.txt fast-link
$B ln -s a/b/numbers.txt/../../../a/b/c/very/long/target/name/that/does/not/exist/but/is/longer/than/sixty/bytes slow-link
$B rm -r gone
$B rmdir a 2>/dev/null; echo "rmdir non-empty $?" > status.txt
$B seq 1 5000 > short.txt
$B truncate -s 1000 short.txt
$B truncate -s 5000 a/hello.txt
# the page cache: a file read (so cached), appended to, written in the
# middle, cut inside a page and extended; each read must give what the disk
# holds (the host's replay of this script says what that is)
$B seq 1 3000 > co.txt
$B cat co.txt > /dev/null
echo "appended" >> co.txt
$B dd if=/dev/zero of=co.txt bs=1 count=5 seek=5000 conv=notrunc 2>/dev/null
$B cat co.txt > co-read1.txt
$B truncate -s 7000 co.txt
$B cat co.txt > /dev/null
$B truncate -s 20000 co.txt
$B cat co.txt > co-read2.txt
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    echo "file $i" > "many-$i.txt"
done
$B rm many-3.txt many-7.txt many-8.txt
$B ln a/hello.txt hard-link.txt
$B chmod 640 renamed.txt
TZ=UTC $B touch -t 200902132331.30 renamed.txt
$B stat -c '%n %a %Y %h' renamed.txt >> status.txt
$B stat -c '%n %a %h' hard-link.txt a/hello.txt >> status.txt
$B sync
$B stat -f -c 'statfs %S %b %f %a %c %d' "$1"
echo "== wrote"
"""


def run_write(logdir, check, src, initrd, fstype="ext2"):
    """ext2 or ext3 read-write: busybox writes a tree; e2fsck and a host replay judge it."""
    src = os.path.join(src, fstype)
    if not os.path.isfile(initrd):
        check("ext2 write: busybox writes on /mnt/vda", False,
              "%s is missing (make user)" % os.path.relpath(initrd, ROOT))
        return
    wsrc = os.path.join(src, "wsrc")
    os.makedirs(wsrc)
    with open(os.path.join(wsrc, "write.sh"), "w") as f:
        f.write(WRITE_SCRIPT)
    img = os.path.join(logdir, "%s-write.img" % fstype)
    mkfs(wsrc, img, ("-t", fstype), "32M")
    status, text = busybox_boot(logdir, "%s-write" % fstype, initrd, img,
                                "/mnt/vda/write.sh,/mnt/vda")
    check("%s write: busybox's script ran on a read-write %s and QEMU exited 0"
          % (fstype, fstype), status == 1 and "== wrote" in text,
          "QEMU status %s; console tail: %s" % (status, text[-1500:]))
    if fstype == "ext3":
        dump = subprocess.run(["dumpe2fs", "-h", img], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout
        check("ext3 write: needs_recovery cleared by the clean exit (sync)",
              "needs_recovery" not in dump and "has_journal" in dump, dump[:600])
    got_sf = re.search(r"^statfs (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)\r?$", text, re.M)
    rsv = int(sb_field(img, "Reserved block count") or 0)
    free = int(sb_field(img, "Free blocks") or -1)
    want_sf = [sb_field(img, "Block size"), sb_field(img, "Block count"), str(free),
               str(max(free - rsv, 0)), sb_field(img, "Inode count"), sb_field(img, "Free inodes")]
    check("%s write: statfs (busybox stat -f) after the writes gives dumpe2fs's counts"
          % fstype, got_sf is not None and list(got_sf.groups()) == want_sf,
          "statfs %s, dumpe2fs %s" % (got_sf.groups() if got_sf else None, want_sf))
    code, out = fsck(img)
    check("%s write: e2fsck -fn finds the written image clean" % fstype, code == 0, out[-600:])
    host = os.path.join(src, "host")
    os.makedirs(host)
    subprocess.run(["busybox", "sh", os.path.join(wsrc, "write.sh"), host], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = os.path.join(src, "got")
    os.makedirs(got)
    d = subprocess.run(["debugfs", "-R", "rdump /out " + got, img], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    diff = subprocess.run(["diff", "-r", "--no-dereference", os.path.join(got, "out"),
                           os.path.join(host, "out")], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    nfiles = sum(len(f) + len(dd) for _, dd, f in os.walk(os.path.join(host, "out")))
    check("%s write: the image's tree is the host's replay of the script (%d entries)"
          % (fstype, nfiles), d.returncode == 0 and diff.returncode == 0 and nfiles > 20,
          "debugfs: %s; diff: %s" % (d.stdout[-300:], diff.stdout[-1200:]))


def pat(i, n):
    return bytes(((j * 131 + i * 7 + (j >> 9)) ^ (j >> 17)) & 0xff for j in range(n))


def make_tree(src):
    t = os.path.join(src, "tree")
    os.makedirs(t)

    def put(rel, data, mode=None):
        p = os.path.join(t, rel)
        with open(p, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(p, mode)

    put("small.txt", b"hello, ext3 on Caboose\n")
    put("empty", b"")
    put("big.bin", pat(1, (3 << 20) + 123))
    with open(os.path.join(t, "sparse.bin"), "wb") as f:
        f.write(pat(2, 5000))
        f.seek(300000)
        f.write(pat(3, 3000))
        f.truncate(2000000)
    with open(os.path.join(t, "huge.bin"), "wb") as f:
        f.write(pat(4, 64))
        f.seek((1 << 32) - 10)
        f.write(pat(5, 100))
        f.seek(HUGE - 100)
        f.write(pat(6, 100))
    d = os.path.join(t, "deep")
    for i in range(1, 13):
        d = os.path.join(d, "d%d" % i)
    os.makedirs(d)
    with open(os.path.join(d, "leaf"), "wb") as f:
        f.write(b"at the bottom\n")
    put("n" * 255, b"a long name\n")
    put("with space", b"spaces\n")
    os.makedirs(os.path.join(t, "many"))
    for i in range(300):
        put("many/entry-%03d" % i, pat(10 + i, i))
    os.symlink("small.txt", os.path.join(t, "fast-link"))
    os.symlink("x" * 150 + "/target", os.path.join(t, "slow-link"))
    os.symlink("nowhere", os.path.join(t, "dangling"))
    os.link(os.path.join(t, "big.bin"), os.path.join(t, "big.hard"))
    os.mkfifo(os.path.join(t, "fifo"), 0o640)
    put("secret", b"s\n", 0o600)
    put("tool", b"#!/bin/sh\n", 0o4755)
    os.makedirs(os.path.join(t, "private"), 0o700)
    os.chmod(os.path.join(t, "private"), 0o700)
    if os.getuid() == 0:
        os.chown(os.path.join(t, "secret"), 1234, 5678)
        os.lchown(os.path.join(t, "fast-link"), 42, 43)
    with open(os.path.join(src, "check.sh"), "w") as f:
        f.write(SCRIPT)
    os.chmod(os.path.join(src, "check.sh"), 0o755)
    return t


def expected(tree):
    """What the script prints, computed on the host."""
    out = ["== sha256"]
    names = []
    for dirpath, dirnames, filenames in os.walk(tree):
        for n in dirnames + filenames:
            names.append(os.path.join(dirpath, n))
    rel = lambda p: "." + p[len(tree):]  # noqa: E731
    files = sorted((rel(p).encode() for p in names
                    if stat.S_ISREG(os.lstat(p).st_mode) and not p.endswith("/huge.bin")))
    for f in files:
        with open(os.path.join(tree, f.decode()[2:]), "rb") as fh:
            out.append("%s  %s" % (hashlib.sha256(fh.read()).hexdigest(), f.decode()))
    out.append("== huge")
    with open(os.path.join(tree, "huge.bin"), "rb") as fh:
        fh.seek(HUGE - 100)
        out.append("%s  -" % hashlib.sha256(fh.read()).hexdigest())
    out.append("== stat")
    for p in sorted([tree] + names, key=lambda p: rel(p).encode()):
        st = os.lstat(p)
        out.append("%s %x %d %d %d %d" % (rel(p), st.st_mode, st.st_uid, st.st_gid, st.st_nlink,
                                          int(st.st_mtime)))
    out.append("== links")
    out += ["small.txt", "x" * 150 + "/target", "nowhere"]
    out += ["== deep", "/mnt/vda/tree/deep/d1/d2/d3/d4/d5/d6/d7/d8"]
    out += ["== writes", "create 1", "rm 1", "mkdir 1", "mv 1", "append 1", "1", "== end"]
    return out


def mkfs(src, img, opts=("-t", "ext3"), size="64M"):
    if os.path.exists(img):
        os.unlink(img)
    with open(img, "wb") as f:
        f.truncate(int(size[:-1]) << 20)
    p = subprocess.run(["mke2fs", "-q", "-F"] + list(opts) + ["-L", "cabtest", "-d", src, img],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise RuntimeError("mke2fs %s: %s" % (" ".join(opts), p.stdout[-400:]))


def fsck(img):
    p = subprocess.run(["e2fsck", "-fn", img], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def run_repl(logdir, check, img, tree):
    b = blk_test.Boot(logdir, "ext2-repl", 2, blk_test.drive(img, "d0", ",readonly=on"))
    try:
        m = b.json("mount")["mounts"]
        vda = [x for x in m if x.get("path") == "/mnt/vda"]
        check("ext2 repl: mount shows /mnt/vda ext3 ro with its journal state",
              len(vda) == 1 and vda[0]["type"] == "ext3" and vda[0]["options"] == "ro" and
              "journal: clean" in vda[0]["state"], str(m))
        df = [x for x in b.json("df")["df"] if x.get("path") == "/mnt/vda"]
        want = {"bsize": sb_field(img, "Block size"), "blocks": sb_field(img, "Block count"),
                "free": sb_field(img, "Free blocks"), "inodes": sb_field(img, "Inode count"),
                "ifree": sb_field(img, "Free inodes")}
        want = {k: int(v) if v is not None else None for k, v in want.items()}
        rsv = int(sb_field(img, "Reserved block count") or -1)
        gotdf = {k: df[0].get(k) for k in want} if len(df) == 1 else None
        check("ext2 repl: df of /mnt/vda gives dumpe2fs's counts (avail: free less the %d "
              "reserved)" % rsv,
              gotdf == want and rsv > 0 and df[0].get("avail") == want["free"] - rsv,
              "df %s, dumpe2fs %s, reserved %d" % (df, want, rsv))
        ls = b.json("ls /mnt/vda/tree", timeout=120)["ls"]
        got = sorted(e["name"] for e in ls)
        want = sorted(os.listdir(tree) + [".", ".."])
        check("ext2 repl: ls /mnt/vda/tree lists the source's %d names" % (len(want) - 2),
              got == want, "got %s, want %s" % (got[:20], want[:20]))
        many = b.json("ls /mnt/vda/tree/many", timeout=120)["ls"]
        check("ext2 repl: ls of a 300-entry directory", len(many) == 302, str(len(many)))
        bad = []
        for rel in ("small.txt", "huge.bin", "slow-link", "fifo", "fast-link", "secret",
                    "tool", "private", "big.hard"):
            st = os.lstat(os.path.join(tree, rel))
            s = b.json("stat /mnt/vda/tree/" + rel)["stat"]
            want = {"mode": "%04o" % (st.st_mode & 0o7777), "links": st.st_nlink,
                    "uid": st.st_uid, "gid": st.st_gid,
                    "mtime": int(st.st_mtime)}
            gotd = {"mode": s["mode"], "links": s["links"], "uid": s["uid"], "gid": s["gid"],
                    "mtime": int(s["mtime"].split(".")[0])}
            if not stat.S_ISDIR(st.st_mode):
                want["size"] = st.st_size
                gotd["size"] = s["size"]
            if stat.S_ISLNK(st.st_mode):
                want["target"] = os.readlink(os.path.join(tree, rel))
                gotd["target"] = s.get("target")
            if want != gotd:
                bad.append("%s: %s, host %s" % (rel, gotd, want))
        check("ext2 repl: stat of files, links, a FIFO and a directory as the host's lstat",
              not bad, "; ".join(bad)[:800])
        c = b.json("cat /mnt/vda/tree/small.txt")["cat"]
        check("ext2 repl: cat gives the file's bytes",
              c["text"] == "hello, ext3 on Caboose\n" and c["bytes"] == 23, str(c))
        c = b.json("cat /mnt/vda/tree/big.bin")["cat"]
        check("ext2 repl: cat gives the first KiB of a big file",
              c["bytes"] == 1024 and c["size"] == (3 << 20) + 123, str(c)[:200])
        text = b.text()
        check("ext2 repl: the mount is logged with its features and journal",
              "ext2 vda: ext3 mounted read-only at /mnt/vda" in text and "has_journal" in text,
              text[-800:])
    finally:
        b.stop()


def boot_init(logdir, name, initrd, init, args, img=None, extra_drive="", cmdline_extra=""):
    """Caboose with the user tier's initrd (None: no initial archive), INIT
    run with ARGS (init.args=), img (if any) as vda, QEMU exiting with
    init: (QEMU's status or None after 400 s, the console text)."""
    cmdline = ("console=ttyS0 loglevel=2 panic=exit ip=off init=%s "
               "init.args=%s init.exit=qemu%s" % (init, args, cmdline_extra))
    extra = (["-initrd", initrd] if initrd else []) + ["-cpu", "max"] + \
        (blk_test.drive(img, "d0", extra_drive) if img else [])
    p = guest.start(guest.qemu_argv(logdir, name, 2, cmdline, KERNEL, extra=extra), logdir, name)
    try:
        status = p.wait(timeout=400)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        status = None
    with open(os.path.join(logdir, name + ".console.log"), "rb") as f:
        return status, f.read().decode("utf-8", "replace").replace("\r\n", "\n")


def busybox_boot(logdir, name, initrd, img, script_args, extra_drive=""):
    """`busybox sh SCRIPT_ARGS` as init over img (boot_init)."""
    return boot_init(logdir, name, initrd, "/bin/busybox", "sh," + script_args, img,
                     extra_drive)


def run_user(logdir, check, img, tree, initrd):
    if not os.path.isfile(initrd):
        check("ext2 user: busybox over /mnt/vda", False,
              "%s is missing (make user)" % os.path.relpath(initrd, ROOT))
        return
    status, text = busybox_boot(logdir, "ext2-user", initrd, img, "/mnt/vda/check.sh",
                                ",readonly=on")
    lines = text.split("\n")
    try:
        start = lines.index("== sha256")
        end = lines.index("== end")
        got = lines[start:end + 1]
    except ValueError:
        got = []
    want = expected(tree)
    check("ext2 user: busybox's script ran and QEMU exited 0", status == 1,
          "QEMU status %s; console tail: %s" % (status, text[-1500:]))
    sect = lambda ls, a, b: ls[ls.index(a):ls.index(b)] if a in ls and b in ls else []  # noqa
    for a, b, what in (("== sha256", "== huge", "sha256sum of every file as the host's"),
                       ("== huge", "== stat", "the last bytes of the 4.4 GiB sparse file"),
                       ("== stat", "== links", "stat of every entry (mode, owner, links, "
                                               "mtime) as the host's"),
                       ("== links", "== deep", "readlink of fast, slow and dangling links"),
                       ("== deep", "== writes", "getcwd in a deep directory"),
                       ("== writes", "== end", "create, rm, mkdir, mv, append fail; "
                                               "EROFS named")):
        g, w = sect(got, a, b), sect(want, a, b)
        diff = [(x, y) for x, y in zip(g, w) if x != y]
        check("ext2 user: %s (%d lines)" % (what, len(w) - 1), g == w and g,
              "%d vs %d lines; first differences: %s" % (len(g), len(w), diff[:4]))


def run_refused(logdir, check, src):
    for tag, opts, words in (
            ("extents", ("-t", "ext4", "-O", "^64bit,^metadata_csum,^flex_bg"),
             "incompatible feature extent"),
            ("needs-recovery-ro", ("-t", "ext3"), "was not replayed")):
        img = os.path.join(logdir, "ext2-%s.img" % tag)
        mkfs(src, img, opts, "16M")
        if tag == "needs-recovery-ro":
            p = subprocess.run(["debugfs", "-w", "-R", "feature needs_recovery", img],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if p.returncode != 0:
                check("ext2 refuses %s" % tag, False, "debugfs: " + p.stdout[-300:])
                continue
        ro = ",readonly=on" if tag == "needs-recovery-ro" else ""
        b = blk_test.Boot(logdir, "ext2-" + tag, 1, blk_test.drive(img, "d0", ro))
        try:
            m = b.json("mount")["mounts"]
            text = b.text()
            check("ext2 refuses %s with a message naming it, and boots" % tag,
                  not any(x.get("path") == "/mnt/vda" for x in m) and words in text and
                  "ext2 vda: not mounted" in text,
                  "mounts %s; console: %s" % (m, text[-600:]))
        finally:
            b.stop()


CRASH_SCRIPT = r"""#!/bin/busybox sh
B=busybox
cd /mnt/vda || exit 3
$B mkdir -p w
i=1
while [ $i -le 2000 ]; do
    $B seq $i $((i * 37)) > w/f$i
    echo "$i" >> w/log
    echo "scratch $i" > w/t$i && $B mv w/t$i w/r$i && $B rm -f w/r$((i - 1))
    $B sync w/f$i w/log && echo "synced $i"
    i=$((i + 1))
done
echo "== done"
"""
CRASH_CUTS = 4        # make test's power cuts; make crash CUTS=100 for the run
CRASH_WINDOW = 10.0   # a cut lands up to this many seconds after the first fsync


def start_script(logdir, name, initrd, img, script):
    """Caboose (2 CPUs) running busybox sh /mnt/vda/SCRIPT from the image
    img on virtio-blk, started (QEMU's process, to be waited for or
    killed by the caller); its console in LOGDIR/NAME.console.log."""
    cmdline = ("console=ttyS0 loglevel=2 panic=exit ip=off init=/bin/busybox "
               "init.args=sh,/mnt/vda/%s init.exit=qemu" % script)
    return guest.start(guest.qemu_argv(logdir, name, 2, cmdline, KERNEL,
                                       extra=["-initrd", initrd, "-cpu", "max"]
                                       + blk_test.drive(img, "d0")), logdir, name)


def crash_files_intact(img, last):
    """Which fsync'd files of CRASH_SCRIPT are wrong in img (debugfs): every
    w/fI for I <= last has exactly its lines, and w/log starts with the lines
    1..last (an append after the last fsync may or may not be there)."""
    bad = []
    for i in range(1, last + 1):
        want = "".join("%d\n" % v for v in range(i, i * 37 + 1))
        got = subprocess.run(["debugfs", "-R", "cat /w/f%d" % i, img],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        if got.decode("utf-8", "replace") != want:
            bad.append("f%d" % i)
    log = subprocess.run(["debugfs", "-R", "cat /w/log", img], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    lines = log.split("\n")
    if (log and not log.endswith("\n")) or lines[:last] != [str(v) for v in range(1, last + 1)] or \
            any(l != str(last + 1 + k) for k, l in enumerate(lines[last:-1])):
        bad.append("log (%d bytes)" % len(log))
    return bad


def run_crash(logdir, check, initrd, cuts=CRASH_CUTS, seed=None):
    """Power cuts: QEMU killed (by its PID) at a random moment of a write
    workload on ext3 (creates, appends, renames, unlinks, fsyncs), the
    moments drawn from SEED (printed, so a run replays). After each cut:
    e2fsck -fy replays and -fn is clean, every file whose fsync returned is
    intact; Caboose's own replay of the crashed image (a boot that runs
    `true`) is e2fsck -fn clean and has the same files intact."""
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)
    sys.stderr.write("ext3 crash: seed %d, %d cuts (replay: make crash SEED=%d CUTS=%d)\n"
                     % (seed, cuts, seed, cuts))
    wsrc = os.path.join(logdir, "ext3-crash-src")
    shutil.rmtree(wsrc, ignore_errors=True)
    os.makedirs(wsrc)
    with open(os.path.join(wsrc, "crash.sh"), "w") as f:
        f.write(CRASH_SCRIPT)
    for k in range(1, cuts + 1):
        secs = round(rng.uniform(0.0, CRASH_WINDOW), 2)
        what = "ext3 power cut %d of %d (seed %d, %.2f s after the first fsync)" % (
            k, cuts, seed, secs)
        name = "ext3-crash-%d" % k
        img = os.path.join(logdir, name + ".img")
        mkfs(wsrc, img, ("-t", "ext3"), "32M")
        log = os.path.join(logdir, name + ".console.log")
        if os.path.exists(log):   # an earlier run's "synced 1" would start the clock
            os.unlink(log)
        p = start_script(logdir, name, initrd, img, "crash.sh")
        try:
            t0 = None
            deadline = time.time() + 120
            while time.time() < deadline and p.poll() is None:
                try:
                    with open(log, "rb") as f:
                        # the serial console ends lines with \r\n
                        started = re.search(rb"^synced 1\r?$", f.read(), re.M) is not None
                except FileNotFoundError:   # QEMU has not opened it yet
                    started = False
                if started and t0 is None:
                    t0 = time.time()
                if t0 is not None and time.time() - t0 >= secs:
                    break
                time.sleep(0.05)
        finally:
            p.kill()   # QEMU's own PID (guest.start)
            p.wait()
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        synced = [int(x.split()[1]) for x in text.replace("\r", "").split("\n")
                  if x.startswith("synced ") and x.split()[1].isdigit()]
        last = max(synced) if synced else 0
        check("%s: the workload ran (%d files synced) and was cut in the middle" % (what, last),
              last > 0 and "== done" not in text, text[-800:])
        theirs = img + ".e2fsck"
        shutil.copy(img, theirs)
        subprocess.run(["e2fsck", "-fy", theirs], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        code, out = fsck(theirs)
        check("%s: e2fsck -fy replays, then -fn is clean" % what, code == 0, out[-600:])
        bad = crash_files_intact(theirs, last)
        check("%s: every fsync'd file intact after e2fsck's replay" % what, not bad,
              "bad: %s" % bad[:10])
        # Caboose's own replay: boot on the crashed image, exit at once
        status, ctext = busybox_boot(logdir, name + "-replay", initrd, img, "-c,true")
        code, out = fsck(img)
        bad = crash_files_intact(img, last)
        check("%s: Caboose replays it, e2fsck -fn accepts, every fsync'd file intact" % what,
              status == 1 and code == 0 and not bad,
              "status %s; bad %s; %s; %s" % (status, bad[:10], out[-500:], ctext[-500:]))


ORPHAN_SCRIPT = r"""#!/bin/busybox sh
B=busybox
cd /mnt/vda || exit 3
exec 3> held
$B seq 1 150000 >&3
echo "kept" > kept
$B rm held
$B sync
echo "== orphaned"
exec $B sleep 1000
"""


def sb_field(img, field):
    """A field of dumpe2fs -h's listing of img, or None when it is absent."""
    out = subprocess.run(["dumpe2fs", "-h", img], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    for line in out.split("\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


OSYNC_SCRIPT = r"""#!/bin/busybox sh
/tests/osync /mnt/vda/d dsync &
/tests/osync /mnt/vda/s sync
"""


def cut_when(logdir, name, initrd, script, ready):
    """A fresh ext3 image holding SCRIPT (as NAME.sh), run by busybox on
    Caboose (start_script); QEMU killed (its PID: a power cut) as soon as
    ready(console bytes) is true, or after 180 s; then e2fsck -fy replays
    the journal. (console text, whether ready was seen, the image)."""
    wsrc = os.path.join(logdir, name + "-src")
    shutil.rmtree(wsrc, ignore_errors=True)
    os.makedirs(wsrc)
    with open(os.path.join(wsrc, name + ".sh"), "w") as f:
        f.write(script)
    img = os.path.join(logdir, name + ".img")
    mkfs(wsrc, img, ("-t", "ext3"), "32M")
    log = os.path.join(logdir, name + ".console.log")
    if os.path.exists(log):   # an earlier run's lines would end the wait early
        os.unlink(log)
    p = start_script(logdir, name, initrd, img, name + ".sh")
    seen = False
    try:
        deadline = time.time() + 180
        while time.time() < deadline and p.poll() is None and not seen:
            try:
                with open(log, "rb") as f:
                    seen = ready(f.read())
            except FileNotFoundError:
                pass
            time.sleep(0.05)
    finally:
        p.kill()
        p.wait()
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    subprocess.run(["e2fsck", "-fy", img], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return text, seen, img


def run_osync(logdir, check, initrd):
    """O_DSYNC and O_SYNC: apps/tests/osync writes 200 lines to a file
    opened with each, one write(2) a line, never fsync, and says so;
    QEMU is killed as soon as both said it. After e2fsck -fy's replay both
    files hold every line (each write was on the disk and committed when
    it returned)."""
    text, seen, img = cut_when(logdir, "ext3-osync", initrd, OSYNC_SCRIPT,
                               lambda b: b.count(b"== written") >= 2)
    label = "ext3 O_SYNC/O_DSYNC"
    check("%s: both files written, 200 lines each, no fsync" % label, seen, text[-800:])
    code, out = fsck(img)
    want = "".join("line %d\n" % i for i in range(1, 201)).encode()
    got = {k: subprocess.run(["debugfs", "-R", "cat /" + k, img], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout for k in ("d", "s")}
    check("%s: after the power cut and the replay both files hold every line, e2fsck -fn "
          "clean" % label, got["d"] == want and got["s"] == want and code == 0,
          "O_DSYNC file %d bytes, O_SYNC file %d bytes (want %d); e2fsck %d: %s"
          % (len(got["d"]), len(got["s"]), len(want), code, out[-300:]))


DIRSYNC_SCRIPT = r"""#!/bin/busybox sh
B=/bin/busybox
cd /mnt/vda || exit 3
echo data > a
$B sync a
$B mv a b
$B sync .
echo "== synced $?"
$B sleep 600
"""


def run_dirsync(logdir, check, initrd):
    """fsync of a directory makes its names durable (ext3: it commits):
    a file is made and fsync'd, renamed, and the directory fsync'd
    (`sync .`); QEMU is killed as soon as that returned, well before the
    journal's 5 s timer would commit the rename. After e2fsck -fy's replay
    the file is there under its new name only, with its bytes."""
    text, seen, img = cut_when(logdir, "ext3-dirsync", initrd, DIRSYNC_SCRIPT,
                               lambda b: re.search(rb"== synced \d+", b) is not None)
    label = "ext3 directory fsync"
    check("%s: the file made, fsync'd, renamed, the directory fsync'd (exit 0)" % label,
          seen and "== synced 0" in text, text[-800:])
    code, out = fsck(img)
    b = subprocess.run(["debugfs", "-R", "cat /b", img], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL).stdout
    a = subprocess.run(["debugfs", "-R", "stat /a", img], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True).stdout
    check("%s: after the power cut and the replay the rename is there (b holds the "
          "bytes, a is gone), e2fsck -fn clean" % label,
          b == b"data\n" and "not found" in a.lower() and code == 0,
          "b %r; stat /a: %s; e2fsck %d: %s" % (b, a[-200:], code, out[-300:]))


def run_orphan(logdir, check, initrd):
    """A file opened, written, unlinked and synced, still open when QEMU is
    killed: the image holds it on its orphan list (e2fsck -fn flags it),
    and Caboose's next mount frees it: e2fsck -fn clean, the blocks and
    the inode back (the free counts as e2fsck -fy's cleanup gives)."""
    wsrc = os.path.join(logdir, "ext3-orphan-src")
    shutil.rmtree(wsrc, ignore_errors=True)
    os.makedirs(wsrc)
    with open(os.path.join(wsrc, "orphan.sh"), "w") as f:
        f.write(ORPHAN_SCRIPT)
    with open(os.path.join(wsrc, "linux.sh"), "w") as f:
        f.write("#!/bin/busybox sh\nbusybox ls /mnt/vda\n")   # the Linux guest's: mount only
    name = "ext3-orphan"
    img = os.path.join(logdir, name + ".img")
    mkfs(wsrc, img, ("-t", "ext3"), "32M")
    log = os.path.join(logdir, name + ".console.log")
    if os.path.exists(log):   # an earlier run's "== orphaned" would end the wait early
        os.unlink(log)
    p = start_script(logdir, name, initrd, img, "orphan.sh")
    seen = None
    try:
        deadline = time.time() + 180
        while time.time() < deadline and p.poll() is None:
            try:
                with open(log, "rb") as f:
                    if b"== orphaned" in f.read():
                        seen = seen or time.time()
            except FileNotFoundError:
                pass
            if seen and time.time() - seen >= 2:
                break
            time.sleep(0.2)
    finally:
        p.kill()   # QEMU's own PID (guest.start), the file still open
        p.wait()
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    check("ext3 orphan: the guest unlinked the open file and synced", seen is not None,
          text[-800:])
    head = sb_field(img, "First orphan inode")
    code, out = fsck(img)
    check("ext3 orphan: after the crash the open file is on the orphan list, which "
          "e2fsck -fn flags", head not in (None, "0") and code != 0,
          "first orphan %s; e2fsck %d: %s" % (head, code, out[-500:]))
    theirs = img + ".e2fsck"
    shutil.copy(img, theirs)
    subprocess.run(["e2fsck", "-fy", theirs], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    # Linux as the oracle of the list's format: its mount frees the orphan
    import ext2_linux
    files, why = ext2_linux.linux_guest()
    lximg = img + ".linux"
    shutil.copy(img, lximg)
    lxtext = why
    if files:
        status, lxtext = ext2_linux.linux_boot(logdir, name + "-linux", files, lximg)
    code, out = fsck(lximg)
    check("ext3 orphan: Linux's mount frees the orphan Caboose listed, e2fsck -fn clean",
          files is not None and "linux-guest: disk unmounted" in lxtext and code == 0 and
          sb_field(lximg, "First orphan inode") is None and
          sb_field(lximg, "Free blocks") == sb_field(theirs, "Free blocks"),
          "e2fsck %d: %s; %s" % (code, out[-400:], lxtext[-600:]))
    status, ctext = busybox_boot(logdir, name + "-mount", initrd, img, "-c,true")
    code, out = fsck(img)
    check("ext3 orphan: Caboose's next mount frees it, e2fsck -fn clean",
          status == 1 and code == 0 and sb_field(img, "First orphan inode") is None,
          "status %s; e2fsck %d: %s; %s" % (status, code, out[-500:], ctext[-500:]))
    mine = (sb_field(img, "Free blocks"), sb_field(img, "Free inodes"))
    want = (sb_field(theirs, "Free blocks"), sb_field(theirs, "Free inodes"))
    check("ext3 orphan: the free blocks and inodes are e2fsck -fy's", mine == want,
          "caboose %s, e2fsck %s" % (mine, want))
    kept = subprocess.run(["debugfs", "-R", "cat /kept", img], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout
    held = subprocess.run(["debugfs", "-R", "stat /held", img], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT).stdout
    check("ext3 orphan: the file written beside it stays, the unlinked one is gone",
          kept == b"kept\n" and b"not found" in held.lower(), "%r %r" % (kept, held[-200:]))


def run_replay(logdir, check, src):
    """A journal needing recovery (debugfs jw: two committed transactions
    over a file's blocks, one revoke, one left uncommitted): Caboose
    replays it at mount; the file's bytes and the blocks are e2fsck -fy's."""
    img = os.path.join(logdir, "ext3-replay.img")
    mkfs(src, img, ("-t", "ext3", "-b", "1024"), "16M")
    dbg = lambda *a: subprocess.run(["debugfs"] + list(a) + [img], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True).stdout
    b0 = int(dbg("-R", "bmap /d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/leaf 0").split()[0])
    spare = 16 * 1024 - 30
    data = os.path.join(logdir, "ext3-replay.data")
    with open(data, "wb") as f:
        f.write(b"replayed by caboose\n" + bytes(range(256)) * 16)
    cmds = os.path.join(logdir, "ext3-replay.cmds")
    with open(cmds, "w") as f:
        f.write("jo\njw -b %d,%d %s\njw -r %d\njw -b %d %s\njw -b %d -c %s\njc\n"
                % (b0, spare, data, spare, spare + 1, data, b0, data))
    subprocess.run(["debugfs", "-w", "-f", cmds, img], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    theirs = img + ".e2fsck"
    shutil.copy(img, theirs)
    subprocess.run(["e2fsck", "-fy", theirs], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    b = blk_test.Boot(logdir, "ext3-replay", 1, blk_test.drive(img, "d0"))
    try:
        m = [x for x in b.json("mount")["mounts"] if x.get("path") == "/mnt/vda"]
        text = b.text()
        check("ext3 replay: Caboose replays a journal needing recovery and mounts it",
              len(m) == 1 and "journal replayed: 3 transactions" in text and
              "3 transactions replayed" in m[0]["state"], "mounts %s; console: %s"
              % (m, text[-800:]))
        c = b.json("cat /mnt/vda/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/leaf")["cat"]
        check("ext3 replay: the replayed file reads through Caboose (its 14 bytes)",
              c["text"] == "replayed by ca" and c["size"] == 14, str(c)[:200])
    finally:
        b.stop()
    with open(img, "rb") as f1, open(theirs, "rb") as f2:
        same = []
        for blk in (b0, spare, spare + 1):
            f1.seek(blk * 1024)
            f2.seek(blk * 1024)
            same.append(f1.read(1024) == f2.read(1024))
    check("ext3 replay: the file's block, a revoked and a replayed block as e2fsck -fy's",
          all(same), str(same))
    code, out = fsck(img)
    check("ext3 replay: e2fsck -fn finds Caboose's replayed image clean", code == 0, out[-600:])


def boot_perms(logdir, name, initrd, args, img=None):
    """/tests/perms (apps/tests/perms.c) as init with args: (QEMU's status,
    the program's lines: the console without the kernel's log and the
    firmware's banner)."""
    status, text = boot_init(logdir, name, initrd, "/tests/perms", args, img)
    lines = [l for l in text.replace("\r", "").split("\n")
             if l.strip() and not l.lstrip().startswith("[") and "SeaBIOS" not in l and
             not l.startswith(("caboose: starting", "Booting from ROM"))]
    return status, lines


def run_perms(logdir, check, work, initrd, fstype):
    """The permission checks of apps/tests/perms on a read-write disk: what
    root and an ordinary user may do, and who owns what the user makes
    (its ids, a set-group-ID directory's group), must print what they
    print on the RAM root (which the user tier compares with Linux)."""
    src = os.path.join(work, "perms-" + fstype)
    os.makedirs(src)
    img = os.path.join(logdir, "%s-perms.img" % fstype)
    mkfs(src, img, ("-t", fstype), "32M")
    st_ram, ram = boot_perms(logdir, "perms-ram", initrd, "/tmp")
    st_disk, disk = boot_perms(logdir, "perms-" + fstype, initrd, "/mnt/vda", img)
    import difflib
    diff = list(difflib.unified_diff(ram, disk, "ram", fstype, lineterm="", n=1))
    check("%s permissions and owners: apps/tests/perms on the disk prints what it prints "
          "on the RAM root (%d lines)" % (fstype, len(ram)),
          st_ram == 1 and st_disk == 1 and not diff and len(ram) > 100,
          "QEMU status %s and %s; %s" % (st_ram, st_disk, "\n".join(diff[:30])))
    code, out = fsck(img)
    check("%s permissions: e2fsck -fn finds the image clean" % fstype, code == 0, out[-400:])


ROOT_SCRIPT = r"""#!/bin/busybox sh
B=/bin/busybox
echo "== root"
$B grep -E '^[a-z]+ (/|/dev|/proc) ' /proc/mounts | $B cut -d' ' -f1-3
$B cat /etc/hostname
echo hi > /dev/null && echo "dev/null written"
$B ls /dev/zero
echo "written with / on the disk" > /written.txt
$B mkdir /newdir && echo inside > /newdir/f
$B ls / | $B tr '\n' ' '; echo
$B sync
echo "== end"
"""


def run_root(logdir, check, work, initrd):
    """root=/dev/vda: the disk is / (see the docstring's root)."""
    src = os.path.join(work, "rootfs")
    for d in ("bin", "dev", "proc", "etc"):
        os.makedirs(os.path.join(src, d))
    shutil.copy("/bin/busybox", os.path.join(src, "bin", "busybox"))
    with open(os.path.join(src, "etc", "hostname"), "w") as f:
        f.write("caboose-disk-root\n")
    with open(os.path.join(src, "check.sh"), "w") as f:
        f.write(ROOT_SCRIPT)
    os.chmod(os.path.join(src, "check.sh"), 0o755)
    img = os.path.join(logdir, "ext3-root.img")
    mkfs(src, img, ("-t", "ext3"), "32M")
    status, text = boot_init(logdir, "ext3-root", None, "/bin/busybox", "sh,/check.sh", img,
                             cmdline_extra=" root=/dev/vda")
    lines = text.split("\n")
    got = lines[lines.index("== root") + 1:lines.index("== end")] \
        if "== root" in lines and "== end" in lines else []
    want = ["vda / ext3", "initrd /dev ramfs", "proc /proc proc", "caboose-disk-root",
            "dev/null written", "/dev/zero",
            "bin check.sh dev etc lost+found newdir proc written.txt "]
    check("ext3 root: with root=/dev/vda and no initial archive a program of the disk runs "
          "as init and QEMU exits 0",
          status == 1 and "== end" in lines, "QEMU status %s; console tail: %s" % (
              status, text[-1500:]))
    check("ext3 root: the script sees / on vda, the RAM root's /dev and /proc in "
          "/proc/mounts, reads the image's file, writes /dev/null, makes files",
          got == want, "got %r, want %r" % (got, want))
    back = {}
    for path in ("/written.txt", "/newdir/f"):
        d = subprocess.run(["debugfs", "-R", "cat " + path, img], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        back[path] = d.stdout
    check("ext3 root: what the script wrote on / is on the image (debugfs cat)",
          back == {"/written.txt": "written with / on the disk\n", "/newdir/f": "inside\n"},
          repr(back))
    code, out = fsck(img)
    check("ext3 root: e2fsck -fn clean after the boot", code == 0, out[-600:])
    # a root= disk that is not there: logged, the RAM root stays
    status, text = boot_init(logdir, "ext3-root-missing", initrd, "/bin/busybox",
                             "echo,ram-root-init", cmdline_extra=" root=/dev/vdb")
    check("ext3 root: root=/dev/vdb without such a disk: logged, init runs from the RAM root",
          status == 1 and "root=/dev/vdb: no such disk; the RAM root stays /" in text
          and "\nram-root-init\n" in text,
          "QEMU status %s; console tail: %s" % (status, text[-1200:]))
    status, text = boot_init(logdir, "ext3-root-bad", initrd, "/bin/busybox",
                             "echo,booted", cmdline_extra=" root=/dev/sda1")
    check("ext3 root: root=/dev/sda1 (no virtio disk name) is refused as a bad value",
          status == 1 and "bad value for root: '/dev/sda1'" in text and "\nbooted\n" in text,
          "QEMU status %s; console tail: %s" % (status, text[-1200:]))


WB_SCRIPT = r"""#!/bin/busybox sh
cd /mnt/vda || exit 3
i=1
while [ $i -le %d ]; do
    echo "line $i" >> log
    i=$((i + 1))
done
/bin/busybox dd if=/dev/urandom of=big bs=65536 count=40 2>/dev/null
/bin/busybox sha256sum big
echo "== written"
/bin/busybox sleep 600
"""
WB_APPENDS = 1500


def run_writeback(logdir, check, work, initrd, fstype):
    """Write-back: busybox appends WB_APPENDS short lines to a file, one
    write(2) each, and writes a 2.5 MiB file, then sleeps, never calling
    sync; without it the dirty pages reach the disk (pagecache.dirty 0;
    ext3: and ext2.journal_running 0, all committed) within 30 s, and QEMU
    is then killed (a power cut). ext2 (no journal:
    nothing but the flushers writes the data): ext2.writeback_flusher grew,
    and the image holds both files byte for byte, e2fsck -fn clean. ext3
    (metadata in the journal, so the disk's requests are the data's): the
    appends took far fewer write requests than appends (before write-back
    each was written through); after e2fsck -fy's replay the image is
    clean and the appended file whole."""
    src = os.path.join(work, "wb-src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    with open(os.path.join(src, "wb.sh"), "w") as f:
        f.write(WB_SCRIPT % WB_APPENDS)
    img = os.path.join(logdir, "%s-writeback.img" % fstype)
    mkfs(src, img, ("-t", fstype), "32M")
    label = "%s write-back" % fstype
    cmdline = ("console=ttyS0 loglevel=2 ip=off init=/bin/busybox "
               "init.args=sh,/mnt/vda/wb.sh")
    g = harness.boot(logdir, "%s-writeback" % fstype, 2, cmdline, KERNEL, initrd,
                     ["-cpu", "max"] + blk_test.drive(img, "d0"))
    try:
        done = harness.wait_for(lambda: "== written" in g.console_text(), 300, 0.5)
        text = g.console_text()
        check("%s: busybox's appends and dd ran" % label, done, text[-600:])
        if not done:
            return
        sums = re.findall(r"^([0-9a-f]{64})\s+big\s*$", text, re.M)
        if fstype == "ext3":
            writes = sum(q["writes"] for q in g.json("blk")["queues"])
            check("%s: %d appends of a line and a 2.5 MiB file took fewer than %d disk "
                  "write requests (dirty pages, not one write each)"
                  % (label, WB_APPENDS, WB_APPENDS // 4),
                  writes < WB_APPENDS // 4, "%d write requests since boot" % writes)

        def clean():   # ext3: and the last transaction committed
            return g.json("pagecache")["pagecache"]["dirty"] == 0 and \
                (fstype == "ext2" or counter(g, "ext2.journal_running") == 0)
        flushed = harness.wait_for(clean, 30, 0.5)
        p = g.json("pagecache")["pagecache"]
        wb = counter(g, "ext2.writeback_flusher") or 0
        check("%s: every dirty page written within 30 s without a sync (pagecache.dirty 0, "
              "written_back > 0%s)" % (label, ", ext2.writeback_flusher > 0"
                                       if fstype == "ext2" else ""),
              flushed and p["written_back"] > 0 and (wb > 0 or fstype != "ext2"),
              "pagecache %r, ext2.writeback_flusher %s" % (p, wb))
    finally:
        g.close()   # QEMU killed: no sync, no clean unmount
    if fstype == "ext3":
        subprocess.run(["e2fsck", "-fy", img], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    code, out = fsck(img)
    check("%s: e2fsck -fn clean after the power cut%s"
          % (label, " (and -fy's replay)" if fstype == "ext3" else ""), code == 0, out[-400:])
    log = subprocess.run(["debugfs", "-R", "cat /log", img], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    want = "".join("line %d\n" % i for i in range(1, WB_APPENDS + 1))
    if fstype == "ext2":
        check("%s: the appended file is on the disk byte for byte after the power cut"
              % label, log == want, "%d bytes, want %d; tail %r"
              % (len(log), len(want), log[-80:]))
        big = subprocess.run(["debugfs", "-R", "cat /big", img], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout
        check("%s: the 2.5 MiB file is on the disk, its sha256 what busybox printed"
              % label, len(sums) == 1 and len(big) == 40 * 65536 and
              hashlib.sha256(big).hexdigest() == sums[0],
              "%d bytes, sums %r" % (len(big), sums))
    else:
        check("%s: after the replay the appended file is whole (ordered data: its "
              "transactions committed after their data)" % label, log == want,
              "%d bytes, want %d; tail %r" % (len(log), len(want), log[-80:]))


WBERR_SCRIPT = r"""#!/bin/busybox sh
B=/bin/busybox
cd /mnt/vda || exit 3
$B dd if=/dev/zero of=victim bs=4096 count=16 conv=notrunc 2>/dev/null
echo "== wrote $?"
if $B sync victim; then echo "== fsync 1 ok"; else echo "== fsync 1 failed"; fi
if $B sync victim; then echo "== fsync 2 ok"; else echo "== fsync 2 failed"; fi
echo "new" > other
if $B sync other; then echo "== fsync other ok"; else echo "== fsync other failed"; fi
echo "== done"
"""


def run_wberr(logdir, check, work, initrd):
    """A write-back that fails: an ext2 image whose file `victim` has its
    first block on a sector where QEMU's blkdebug fails every write.
    busybox overwrites it in place (the write succeeds: the bytes go to
    the page cache) and fsyncs it: the fsync reports the error (EIO); a
    second fsync has nothing left to write and succeeds (the error is
    reported once, as Linux does); another file's write and fsync still
    succeed; the kernel logs the failed write-back and runs on."""
    src = os.path.join(work, "wberr-src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    with open(os.path.join(src, "victim"), "wb") as f:
        f.write(b"v" * 65536)
    with open(os.path.join(src, "wberr.sh"), "w") as f:
        f.write(WBERR_SCRIPT)
    img = os.path.join(logdir, "ext2-wberr.img")
    mkfs(src, img, ("-t", "ext2", "-b", "4096"), "16M")
    p = subprocess.run(["debugfs", "-R", "bmap /victim 0", img], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    label = "ext2 write-back error"
    try:
        block = int(p.stdout.strip())
    except ValueError:
        check("%s: debugfs finds victim's first block" % label, False, p.stdout[-200:])
        return
    rules = os.path.join(logdir, "ext2-wberr.blkdebug")
    with open(rules, "w") as f:
        f.write('[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "%d"\n'
                % (block * 8))
    status, text = boot_init(logdir, "ext2-wberr", initrd, "/bin/busybox",
                             "sh,/mnt/vda/wberr.sh", "blkdebug:%s:%s" % (rules, img))
    got = re.findall(r"^== (.*?)\s*$", text, re.M)
    want = ["wrote 0", "fsync 1 failed", "fsync 2 ok", "fsync other ok", "done"]
    check("%s: the write succeeds, its fsync fails (EIO), the next fsync and another "
          "file's succeed" % label, got == want and status == 1,
          "QEMU status %s; got %r; console tail %s" % (status, got, text[-800:]))
    check("%s: the kernel logs the failed write-back, no panic" % label,
          "writing file data back" in text and "panic: " not in text, text[-800:])


def run_mmap(logdir, check, work, initrd):
    """Shared mappings of a file on ext3 (apps/tests/mmapdisk): the page
    cache's own pages. 1 MiB + 4,567 random bytes: the mappings' bytes are
    the file's, stores through the writable one are read back at once, a
    pwrite and an append into a new page show through, past the end is
    SIGBUS, a child sees the same, a hole the file gains takes a store
    through the mapping, and another through a read-only mapping made
    writable, msync succeeds. Then the image is clean and holds
    every byte written, by the calls and through the mapping."""
    src = os.path.join(work, "mmap-src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    body = random.Random(7).randbytes((1 << 20) + 4567)
    with open(os.path.join(src, "big"), "wb") as f:
        f.write(body)
    img = os.path.join(logdir, "ext3-mmap.img")
    mkfs(src, img, ("-t", "ext3"), "32M")
    status, text = boot_init(logdir, "ext3-mmap", initrd, "/tests/mmapdisk", "/mnt/vda/big", img)
    size = len(body)
    add = 4096 + 100 - size % 4096
    past = (size + add + 4095) // 4096 * 4096
    want = ["%d bytes: the mapping's hash equals the file's: yes" % size,
            "stores at 100: pread reads them back: yes; the read-only mapping: M",
            "after pwrite at 5000: Z",
            "appended %d bytes: the old end E, the new page's last byte E" % add,
            "past the end: SIGBUS",
            "the child's hash equals the file's: yes",
            "the mapping's hash equals the file's after the writes: yes",
            "ftruncate to %d: 0" % (past + 4096),
            "a store into the new hole: pread reads H",
            "msync MS_SYNC: 0",
            "ftruncate to %d: 0" % (past + 8192),
            "a byte of the new hole: 0",
            "mprotect read-write: 0",
            "a store after the mprotect: pread reads P",
            "msync MS_SYNC: 0",
            "mmapdisk: done"]
    got = [l.strip() for l in text.split("\n") if l.strip() in want]
    label = "ext3 shared mapping"
    check("%s: the cache's pages, stores and the file's writes seen at once, SIGBUS past "
          "the end, shared with a child, stores into new holes (one after an mprotect), "
          "msync" % label,
          got == want and status == 1,
          "QEMU status %s; missing %r; console tail %s"
          % (status, [w for w in want if w not in got], text[-1200:]))
    code, out = fsck(img)
    data = subprocess.run(["debugfs", "-R", "cat /big", img], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout
    exp = bytearray(body[:5000] + b"Z" + body[5001:] + b"E" * add)
    exp[100:200] = b"M" * 100
    exp += bytes(past + 8192 - len(exp))
    exp[past + 10] = ord("H")
    exp[past + 4096 + 20] = ord("P")
    exp = bytes(exp)
    check("%s: e2fsck -fn clean, the file holds the stores through the mappings (into "
          "holes, one after an mprotect), the pwrite and the append" % label,
          code == 0 and data == exp,
          "e2fsck %d: %s; file %d bytes (want %d), equal %s"
          % (code, out[-300:], len(data), len(exp), data == exp))


MMAP_CUT_SCRIPT = r"""#!/bin/busybox sh
/tests/mmapdisk cut /mnt/vda/m
"""


def run_mmap_cut(logdir, check, initrd):
    """Stores through a writable shared mapping of an ext3 file reach the
    disk: power cuts (QEMU killed) right after msync(MS_SYNC) returned,
    and 5 s after the last stores and the munmap, with no msync (the
    flusher writes them). After e2fsck -fy's replay the file holds them."""
    for at, want_t in ((b"== msynced", False), (b"== slept", True)):
        name = "ext3-mmapcut-" + at.decode().split()[-1]
        text, seen, img = cut_when(logdir, name, initrd, MMAP_CUT_SCRIPT,
                                   lambda b, at=at: at in b)
        data = subprocess.run(["debugfs", "-R", "cat /m", img], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout
        code, out = fsck(img)
        exp = bytearray(b"o" * 65536)
        exp[1000:1100] = b"S" * 100
        what = "the msync'd stores"
        if want_t:
            exp[20000:20100] = b"T" * 100
            what += " and those unmapped 5 s before, never msync'd,"
        check("ext3 shared mapping: a power cut at %r: %s are on the disk, e2fsck clean"
              % (at.decode(), what),
              seen and "== msynced 0" in text and data == bytes(exp) and code == 0,
              "seen %s; file %d bytes, S %s, T %s; e2fsck %d; console tail %s"
              % (seen, len(data), data[1000:1100] == b"S" * 100,
                 data[20000:20100] == b"T" * 100, code, text[-600:]))


EVICT_SCRIPT = r"""#!/bin/busybox sh
B=/bin/busybox
cd /mnt/vda || exit 3
for pass in 1 2 3; do
    echo "== pass $pass $($B sha256sum many/* | $B sha256sum)"
    $B sleep 1
done
$B sha256sum many/* > /dev/null &
$B sha256sum many/* > /dev/null &
wait
$B mkdir new
i=1
while [ $i -le 200 ]; do
    echo "new file $i" > new/f$i
    i=$((i + 1))
done
$B mv many/f1 many/moved
$B ln many/f2 many/hard
$B sleep 4
echo "== new $($B cat new/* | $B sha256sum)"
echo "== moved $($B sha256sum < many/moved) hard $($B sha256sum < many/hard)"
echo "== done"
$B sleep 600
"""
EVICT_FILES = 600
EVICT_MAX = 64


def run_evict(logdir, check, work, initrd):
    """The inode cache's eviction: with ext2.nodes_max=64, busybox reads
    600 files three times (the third time twice at once as well), makes
    200 files, renames one and links another; CPU 0's flusher evicts
    unused nodes past the limit each half second, so most reads find the
    inode evicted and read it again. Every pass's checksums are the
    host's, the new files read back (from the disk once evicted), the
    renamed and linked files hold their bytes; ext2.nodes_evicted grew
    past the files' count, ext2.nodes falls back to the limit, no lock-free
    walk saw a freed entry (dcache.freed_seen 0), e2fsck -fn clean after."""
    src = os.path.join(work, "evict-src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(os.path.join(src, "many"))
    blobs = {}
    for i in range(1, EVICT_FILES + 1):
        data = ("file %d\n" % i).encode() * (1 + i % 40)
        blobs["f%d" % i] = data
        with open(os.path.join(src, "many", "f%d" % i), "wb") as f:
            f.write(data)
    with open(os.path.join(src, "ev.sh"), "w") as f:
        f.write(EVICT_SCRIPT)
    lines = "".join("%s  many/%s\n" % (hashlib.sha256(blobs[n]).hexdigest(), n)
                    for n in sorted(blobs))
    want_pass = hashlib.sha256(lines.encode()).hexdigest()
    want_new = hashlib.sha256("".join("new file %d\n" % i for i in
                                      sorted(range(1, 201), key=lambda i: "f%d" % i))
                              .encode()).hexdigest()
    img = os.path.join(logdir, "ext3-evict.img")
    mkfs(src, img, ("-t", "ext3"), "32M")
    label = "ext3 inode eviction (ext2.nodes_max=%d)" % EVICT_MAX
    cmdline = ("console=ttyS0 loglevel=2 ip=off init=/bin/busybox "
               "init.args=sh,/mnt/vda/ev.sh ext2.nodes_max=%d" % EVICT_MAX)
    g = harness.boot(logdir, "ext3-evict", 2, cmdline, KERNEL, initrd,
                     ["-cpu", "max"] + blk_test.drive(img, "d0"))
    try:
        done = harness.wait_for(lambda: "== done" in g.console_text(), 300, 0.5)
        text = g.console_text()
        check("%s: busybox's script ran" % label, done, text[-600:])
        if not done:
            return
        passes = re.findall(r"^== pass (\d) ([0-9a-f]{64})", text, re.M)
        check("%s: three passes over %d files, each as the host's sha256sum"
              % (label, EVICT_FILES), len(passes) == 3 and
              all(h == want_pass for _, h in passes), "%r, want %s" % (passes, want_pass))
        new = re.findall(r"^== new ([0-9a-f]{64})", text, re.M)
        check("%s: 200 files made, read back after a 4 s pause (written back and "
              "evicted meanwhile when the flushers kept up)" % label,
              new == [want_new], "%r, want %s" % (new, want_new))
        mv = re.findall(r"^== moved ([0-9a-f]{64})\s+-\s+hard ([0-9a-f]{64})", text, re.M)
        check("%s: a renamed and a hard-linked file hold their bytes" % label,
              mv == [(hashlib.sha256(blobs["f1"]).hexdigest(),
                      hashlib.sha256(blobs["f2"]).hexdigest())], repr(mv))
        ev = counter(g, "ext2.nodes_evicted") or 0
        back = harness.wait_for(lambda: (counter(g, "ext2.nodes") or 1 << 30) <= EVICT_MAX,
                                15, 0.5)
        nodes = counter(g, "ext2.nodes")
        freed = counter(g, "dcache.freed_seen")
        check("%s: nodes evicted (ext2.nodes_evicted %d > %d), ext2.nodes back at the "
              "limit (%s), no freed directory entry seen (dcache.freed_seen %s)"
              % (label, ev, EVICT_FILES, nodes, freed),
              ev > EVICT_FILES and back and freed == 0, "")
        panic = "panic: " in text
        check("%s: no panic" % label, not panic, text[-400:] if panic else "")
    finally:
        g.close()
    subprocess.run(["e2fsck", "-fy", img], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    code, out = fsck(img)
    check("%s: e2fsck -fn clean afterwards (after -fy's replay)" % label, code == 0,
          out[-400:])


def counter(g, name):
    out = g.cmd("counters " + name)
    m = re.search(r"^\s*%s\s+(\d+)" % re.escape(name), out, re.M)
    return int(m.group(1)) if m else None


def timed(check, name, fn, *args):
    """fn(*args), its time on stderr; an exception out of it (a harness
    failure) is one failed result named after it"""
    t0 = time.time()
    try:
        fn(*args)
    except Exception as e:
        check("%s harness" % name, False, "%s: %s" % (type(e).__name__, e))
    sys.stderr.write("ext2: %s took %.0f s\n" % (name, time.time() - t0))


def run_all(logdir, initrd=INITRD):
    os.makedirs(logdir, exist_ok=True)
    blk_test.KERNEL = KERNEL
    check = Results()
    work = os.path.join(logdir, "ext2-tree")
    shutil.rmtree(work, ignore_errors=True)
    src = os.path.join(work, "src")
    img = os.path.join(logdir, "ext2-disk.img")
    try:
        tree = make_tree(src)
        mkfs(src, img)
        code, out = fsck(img)
        check("ext2 image: e2fsck -fn clean before booting", code == 0, out[-400:])
        timed(check, "run_repl", run_repl, logdir, check, img, tree)
        timed(check, "run_user", run_user, logdir, check, img, tree, initrd)
        code, out = fsck(img)
        check("ext2 image: e2fsck -fn clean after Caboose read it", code == 0, out[-400:])
        deep = os.path.join(src, "tree", "deep")

        def linux():
            import ext2_linux
            ext2_linux.run(logdir, check, initrd)
        for name, fn, args in (
                ("run_write", run_write, (work, initrd)),
                ("run_write ext3", run_write, (work, initrd, "ext3")),
                ("run_perms ext2", run_perms, (work, initrd, "ext2")),
                ("run_perms ext3", run_perms, (work, initrd, "ext3")),
                ("run_wberr", run_wberr, (work, initrd)),
                ("run_evict", run_evict, (work, initrd)),
                ("run_mmap", run_mmap, (work, initrd)),
                ("run_mmap_cut", run_mmap_cut, (initrd,)),
                ("run_writeback ext2", run_writeback, (work, initrd, "ext2")),
                ("run_writeback ext3", run_writeback, (work, initrd, "ext3")),
                ("run_crash", run_crash, (initrd,)),
                ("run_osync", run_osync, (initrd,)),
                ("run_dirsync", run_dirsync, (initrd,)),
                ("run_orphan", run_orphan, (initrd,)),
                ("run_root", run_root, (work, initrd)),
                ("run_replay", run_replay, (deep,)),
                ("run_refused", run_refused, (deep,))):
            timed(check, name, fn, logdir, check, *args)
        timed(check, "ext2_linux", linux)
    except Exception as e:
        check("ext2 harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.items


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--initrd", default=INITRD)
    ap.add_argument("--kernel", default=KERNEL)
    ap.add_argument("--crash", type=int, metavar="CUTS",
                    help="only the power cuts, CUTS of them; a JSON summary on stdout")
    ap.add_argument("--seed", type=int, help="the power cuts' seed (default: a random one)")
    a = ap.parse_args()
    KERNEL = a.kernel
    if a.crash is not None:
        logdir = os.path.join(ROOT, "build", "test-logs")
        os.makedirs(logdir, exist_ok=True)
        blk_test.KERNEL = KERNEL
        check = Results()
        seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
        t0 = time.time()
        run_crash(logdir, check, a.initrd, a.crash, seed)
        res = check.items
        failed = [n for n, ok, _ in res if not ok]
        json.dump({"seed": seed, "cuts": a.crash, "checks": len(res), "failed": len(failed),
                   "failures": failed, "seconds": round(time.time() - t0),
                   "passed": bool(res) and not failed}, sys.stdout)
        sys.stdout.write("\n")
        sys.exit(1 if failed or not res else 0)
    res = run_all(os.path.join(ROOT, "build", "test-logs"), a.initrd)
    failed = sum(1 for _, ok, _ in res if not ok)
    print("%d passed, %d failed" % (len(res) - failed, failed))
    sys.exit(1 if failed or not res else 0)
