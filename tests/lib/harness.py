"""The harness of the integration tests that boot Caboose in a network
namespace of their own and test it from there (nginx_guest_test,
httpd_guest_test, iperf3_dyn_test, tcp_test in tests/integration/): each
has an outside part (run_all: what needs the host's network, such as
Debian's packages, then the namespace) and an inside part (--inside:
boots and checks, its results as JSON on stdout).

  debian_archive(path, work, log, package, program, init, entries)
        an initial archive with a Debian program and its libraries
  nginx_archive(path, work, log, init, entries)  the same with nginx and
        the site of tests.lib.nginx_site, as the Linux guest serves it
  run_with_archive(label, tag, script, logdir, kernel, tools, make_archive,
                   taps, ns, timeout)
        the outside part of a test that boots an archive: the kernel and
        the host's tools there, the archive built, the inside part run in
        a namespace (tests.lib.netns.run_in_netns)
  boot(logdir, tag, smp, cmdline, kernel, initrd, nic, timeout)
        Caboose with its REPL at a fresh prompt (a tests.lib.guest.Guest)
  wait_for(pred, timeout, step)   polls PRED until it is true or time is up
  console_text(logdir, tag)       a guest's console log so far ('' if none)
  Relay                           tests/integration/lossy_relay.py between
        a tap and QEMU's UDP socket netdev, seeded; its drop counts
  script_main(run_all, inside)    the `main` of such a test: --inside ARGS
        runs the inside part, else run_all(LOGDIR) with PASS/FAIL lines

Python 3 standard library only."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types

from tests.lib import guest
from tests.lib.netns import run_in_netns

ROOT = guest.ROOT
LOSSY_RELAY = os.path.join(ROOT, "tests", "integration", "lossy_relay.py")


def wait_for(pred, timeout, step=0.5):
    """PRED's value once it is true, or its last value when TIMEOUT s pass."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def console_text(logdir, tag):
    """TAG's console log (COM1, tests.lib.guest) so far; '' if none yet."""
    try:
        with open(os.path.join(logdir, tag + ".console.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def boot(logdir, tag, smp, cmdline, kernel=None, initrd=None, nic=(), timeout=60):
    """Caboose on SMP CPUs with INITRD (if any) and NIC (QEMU's arguments:
    tests.lib.guest.nic_args or a socket netdev), its REPL on COM2 at a
    fresh prompt within TIMEOUT s: a Guest. RuntimeError, with QEMU's
    stderr, when the REPL does not answer."""
    g = guest.Guest(logdir, tag, smp, cmdline, kernel,
                    extra=(["-initrd", initrd] if initrd else []) + list(nic))
    try:
        g.wait_prompt(timeout)
    except (TimeoutError, EOFError) as e:
        g.close()
        raise RuntimeError("%s: no REPL prompt (%s): %s"
                           % (tag, e, guest.qemu_stderr(logdir, tag)))
    return g


def debian_archive(path, work, log, package, program, init, entries=()):
    """The initial archive PATH (tools/mkcpio.py): Debian's PACKAGE's
    PROGRAM (its path in the package) and every library it needs
    (tools/debroot.py; the .debs cached in build/user/debian-PACKAGE), /tmp,
    Debian's static busybox as /bin/busybox, INIT (a script's text) as
    /init, and ENTRIES (mkcpio's NAME=FILE) beside them. WORK: a directory
    for what goes in; LOG: an open file for the tools' output.
    CalledProcessError or TimeoutExpired when a tool fails."""
    specs = os.path.join(work, package + ".specs")
    cache = os.path.join(ROOT, "build", "user", "debian-" + package)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "debroot.py"), specs, cache,
                    package, program], check=True, stdout=log, stderr=log, timeout=600)
    script = os.path.join(work, "init")
    with open(script, "w") as f:
        f.write(init)
    os.chmod(script, 0o755)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkcpio.py"), path, "@" + specs,
                    "tmp=@dir:1777", "init=" + script, "bin/busybox=/bin/busybox"]
                   + list(entries), check=True, stdout=log, stderr=log, timeout=60)


def nginx_archive(path, work, log, init, entries=()):
    """Caboose's initial archive PATH of the nginx site the Linux guest
    serves (tests.lib.nginx_site: nginx.conf, users, directories, bodies):
    Debian's nginx and its libraries, busybox, INIT as /init and ENTRIES
    beside them, as debian_archive. nginx_guest_test and bench/run boot
    it. (Not in nginx_site.py: bench/linux-guest rebuilds its guest when
    that file changes.)"""
    from tests.lib import nginx_site
    stage = os.path.join(work, "stage")
    nginx_site.write_tree(stage)
    debian_archive(path, work, log, "nginx", "usr/sbin/nginx", init,
                   tree_entries(stage) + list(entries))


def tree_entries(stage, under=""):
    """mkcpio's NAME=FILE entries for every file below STAGE (NAME below
    UNDER), and NAME=@dir for every empty directory."""
    entries = []
    for d, dirs, names in os.walk(stage):
        rel = os.path.normpath(os.path.join(under, os.path.relpath(d, stage)))
        if not names and not dirs:
            entries.append("%s=@dir" % rel)
        for n in names:
            entries.append("%s=%s" % (os.path.normpath(os.path.join(rel, n)), os.path.join(d, n)))
    return entries


def run_with_archive(label, tag, script, logdir, kernel, tools, make_archive, taps, ns,
                     timeout=900):
    """The outside part of a test whose guest boots an initial archive:
    KERNEL (default build/caboose.elf) and TOOLS (programs on the host)
    must be there; make_archive(path, work, log) builds the archive (its
    packages come before the namespace, which has no way out; its output
    in LOGDIR/TAG.initrd.log); then `SCRIPT --inside LOGDIR KERNEL ARCHIVE`
    runs in a namespace with TAPS (run_in_netns; NS names it and a
    harness failure there). Its results, or one failing result named after
    LABEL saying what was missing."""
    kernel = os.path.abspath(kernel or guest.KERNEL)
    if not os.path.isfile(kernel):
        return [(label, False, "%s is missing (make)" % kernel)]
    for tool in tools:
        if not shutil.which(tool):
            return [(label, False, "no %s on the host (tools/deps.sh test)" % tool)]
    os.makedirs(logdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=tag + "-")
    try:
        initrd = os.path.join(work, "initrd.cpio")
        logpath = os.path.join(logdir, tag + ".initrd.log")
        try:
            with open(logpath, "w") as log:
                make_archive(initrd, work, log)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            return [("%s: its initial archive" % label, False, "%s (log %s)" % (e, logpath))]
        return run_in_netns(ns, script,
                            [os.path.abspath(logdir), kernel, initrd], taps, timeout=timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Relay:
    """tests/integration/lossy_relay.py between TAP and QEMU's UDP socket
    netdev (netdev_args), seeded with SEED: it drops, duplicates, reorders
    and corrupts frames at the rates given, and logs each decision to
    LOGDIR/TAG.relay.log. stop() ends it and returns (its drop counts, or
    None; its stdout and stderr for a failure's detail). `rates`: the rates
    as lossy_relay.Schedule takes them; `log`: the decisions' file."""

    QEMU_PORT, RELAY_PORT = 40001, 40002

    def __init__(self, logdir, tag, seed, loss, dup, reorder, corrupt, tap="tap1"):
        self.log = os.path.join(logdir, tag + ".relay.log")
        self.rates = types.SimpleNamespace(loss=loss, dup=dup, reorder=reorder, corrupt=corrupt)
        args = []
        for k, v in sorted(vars(self.rates).items()):
            args += ["--" + k, str(v)]
        self.proc = subprocess.Popen(
            [sys.executable, LOSSY_RELAY, "--tap", tap, "--qemu-port", str(self.QEMU_PORT),
             "--relay-port", str(self.RELAY_PORT), "--seed", str(seed), "--log", self.log] + args,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def netdev_args(self):
        """QEMU's NIC: every frame goes through the relay."""
        return ["-netdev", "socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d"
                % (self.RELAY_PORT, self.QEMU_PORT), "-device", "virtio-net-pci,netdev=n0"]

    def stop(self):
        self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        try:
            counts = json.loads(out.strip().splitlines()[-1])
            counts["to_guest"]["drop"], counts["to_host"]["drop"]
        except (ValueError, IndexError, KeyError, TypeError):
            counts = None
        return counts, out, err


def stop_qemu(proc):
    """Kills a QEMU this test started (by its own PID) and reaps it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def script_main(run_all, inside):
    """A test script's main: `--inside ARGS...` prints inside(*ARGS)'s
    results as JSON; else run_all(LOGDIR) (default build/test-logs), a
    PASS/FAIL line each on stderr, the count on stdout. Exit status 1 when
    anything failed or nothing ran."""
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        from tests.lib.netns import exit_on_sigterm
        exit_on_sigterm()  # a SIGTERM runs the finally blocks: nothing left running
        print(json.dumps(inside(*sys.argv[2:])))
        return 0
    logdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "test-logs")
    res = run_all(logdir)
    bad = 0
    for name, ok, detail in res:
        sys.stderr.write("%s %s%s\n" % ("PASS" if ok else "FAIL", name,
                                         "" if ok else ": " + detail))
        bad += not ok
    print("%d passed, %d failed" % (len(res) - bad, bad))
    return 1 if bad or not res else 0
