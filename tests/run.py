#!/usr/bin/python3
"""Caboose test runner: every tier, one result per check.

Over 1,000 lines because it holds one short driver per tier (how to run
it, how to read its results) so that `make test` is one command; the
tiers' own checks live in tests/integration/ and tests/host/.

Run by `make test` after the build (build/caboose.elf, build/caboose.iso,
build/host/unit, build/host/loadgen-unit, build/bench/loadgen).  Python 3
standard library only.

Tiers, in order (select with --tiers, default all):
  layers    tools/check-layers (one result per rule) and its own test
            (tests/tools/test_check_layers.py, one result per case); the test of
            tools/flamegraph (tests/tools/test_flamegraph.py: SVG widths, nesting,
            escaping, bad input; one result per case); the test of the namespace
            runner (tests/tools/test_netns.py: a SIGTERM or a time limit leaves
            nothing running) and of the host tier's reading of a Criterion run
            (tests/tools/test_run_criterion.py: a hang, a crash, a synthesis
            that disagrees); every tool in tools/ and
            bench/ answers --help with its usage on stdout and status 0
            (tests/tools/test_help.py, one result per tool)
  host      build/host/unit, build/host/loadgen-unit and build/host/httpd-unit
            (Criterion); one result per Criterion test
  httpd     apps/httpd on Linux, loopback only (tests/host/httpd/httpd_test.py;
            curl, wrk): bodies, conditionals, ranges, every error, pipelining,
            time-outs, 1000 connections, the access log (about 10 s); then
            the same binary on Caboose as its first program (tests/integration/
            httpd_guest_test.py; needs root: a tap in a namespace it makes):
            the same checks from the namespace, then no socket left open, and
            SIGKILL (the REPL's kill) with 20 connections open: the kernel
            closes its sockets (about 2 min); then Debian's nginx unchanged
            on Caboose (tests/integration/nginx_guest_test.py; needs root):
            the Linux guest's nginx.conf and files (tests/lib/nginx_site.py),
            a master and 2 workers as www-data on 2 CPUs, curl bodies by
            sha256 (612 B, 64 KiB, 1 MiB), HEAD, 404, keep-alive, wrk -t1
            -c16 -d3s with no error, 1,000 concurrent connections, hostile
            requests (oversized header and URI, garbage), SIGQUIT through the
            REPL ends the workers and the master, no emerg/alert/crit in its
            error.log; then behind the seeded lossy relay at 5%: /1m and /64k
            byte-exact (about 1 min); then the in-kernel responder's files
            from the VFS (tests/integration/responder_test.py; needs root):
            the bodies made at start, a file busybox's nc writes at run time
            served by sha256 and HEAD, rewritten, removed (404), traversal and
            closed files refused (403), no payload copy (about 15 s)
  ktest     `ktest=list` once, then `ktest=all` under -smp 1, 2 and 4; one result
            per `ktest: PASS/FAIL name` line plus one per boot (CPU count, summary
            line, exit status 1)
  explicit  the explicit in-kernel tests of EXPLICIT below, one boot each
  boot      boot paths: iPXE over TFTP, the GRUB ISO, an unknown command-line option
  smoke     `make run`'s own QEMU command (make run-cmd), -smp 1 and 2, in the
            background on free localhost ports: curl gets / (200, the page)
            and /metrics through its forwarded ports, then QEMU is stopped by
            its PID (tools/run_smoke.py, which `make run-smoke` runs too)
  repl      the kernel REPL on COM2 (tests/integration/repl_test.py): every command,
            live and frozen during a CPU-heavy workload; the sampling profiler
            (profile start/stop/top/folded: bad arguments refused, the workload's
            function on top, folded counts adding up to the samples, a restart
            at another rate, [idle] on an idle machine, profile=on); then fuzzing
  blk       virtio-blk and the block layer (tests/integration/blk_test.py; no
            root): raw images made by the test, read through the REPL's `blk`
            (hashes against the host file), writes read back and found in the
            host file, flush, FUA, discard, write zeroes, checked concurrent
            reads on 1 CPU and on 2 CPUs with 2 queues, a bounded depth, a
            lost interrupt and a hung device (EIO, reset), a read-only disk
            (EROFS), blkdebug I/O errors (EIO), a disk of 0 bytes (about 15 s);
            then ext2/ext3 (tests/integration/ext2_test.py): an ext3 image of
            a generated tree (mke2fs -d) mounted at /mnt/vda, checked through
            the REPL (mount, ls, stat, cat) and by Debian's busybox from the
            user tier's initrd (sha256sum and stat of every file against the
            host's, EROFS on a read-only drive), e2fsck -fn clean afterwards;
            ext2 and ext3 written by busybox (ext3 through its JBD2 journal);
            QEMU killed mid-workload on ext3 (e2fsck replay and Caboose's own,
            fsync'd files intact); an open file unlinked and synced, QEMU
            killed: on the orphan list, freed by Caboose's next mount; a
            debugfs-made journal replayed as e2fsck does; images with
            extents, or needing recovery on a read-only drive, refused; the
            Linux guest (bench/linux-guest, built on first use) as the
            oracle: each lists with sha256 what the other wrote on one ext3
            image (tests/integration/ext2_linux.py) (about 5 minutes)
  nic       virtio-net with two queue pairs on a tap in a network namespace the
            test creates (tests/integration/nic_test.py; needs root): echo of
            frames checked byte for byte, per-queue and copy counters
  net       the network stack (tests/integration/net_test.py; needs root, and
            dnsmasq, ping, ip): in a network namespace with a tap, a DHCP lease
            from dnsmasq (and its renewal), ping to 65507 bytes and UDP echo
            checked byte for byte (fragments both ways), ICMP port unreachable,
            ARP on both sides, hostile frames each checked against its
            net.drop.* counter; a static ip= boot; QEMU's user-mode network
            as `make run` has it (about 70 s, mostly waiting for timeouts)
  tcp       TCP against Linux in a network namespace (tests/integration/
            tcp_test.py; needs root, curl, wrk, iperf3): curl and wrk against the HTTP
            responder, its latency histograms in /metrics, /metrics.json and the
            REPL (with the tail attribution wrk fills: stages that add up to the
            total to the nanosecond), 64 MiB each way through echo, 1000 connections, iperf3
            against the iperf service (both ways, 4 streams, refusals, hostile
            control connections), a SYN flood met with cookies; then behind a
            seeded lossy relay at 1%, 5% and 10% loss
  hostile   hostile input against TCP (tests/integration/tcp_hostile_test.py;
            needs root, curl): raw frames from spoofed addresses inject
            out-of-window data, RSTs, SYNs and bad ACKs into live connections
            (RFC 5961), tiny- and zero-window clients hold /1m, 3000 half-open
            connections fill the SYN queue; each checked on the wire and
            against the guest's counters, with curl served throughout (about
            60 s)
  matrix    the network must never die (issue 11; tests/integration/
            matrix_test.py; needs root, curl, wrk, iperf3): one boot each of
            1 CPU with one queue pair, 2 CPUs with one, 2 with two, 4 with
            two, 1 CPU on a tap with vnet_hdr=off, and `make run`'s QEMU
            command (user network) with 1 and 2 CPUs; on each the issue's two
            reproductions (wrk -t1 -c20 three times back to back; wrk -t1
            -c16), wrk bursts at 1, 16 and 100 connections and a share of
            1000 connections, iperf3 both ways and 64 MiB through echo; after
            each load curl gets 200, no ring is stuck (REPL `nic`) and the
            watchdog counters stayed 0; `make matrix RUNS=10` repeats the
            reproductions (about 4 min)
  soak      a short soak (tests/integration/soak_test.py; needs root, and
            build/bench/loadgen): CABOOSE_SOAK_MINUTES (default 3) of wrk,
            the open-loop generator, iperf3, connection churn, ping and
            echo behind the lossy relay at 1% on CABOOSE_SOAK_SMP CPUs
            (default 1): no gap over 1 s between responses, no watchdog
            recovery, memory within 1% and no buffer, connection or slab
            object left after; `make soak` runs the long one (about 5 min)
  user      user programs (apps/tests, static musl binaries in build/user/
            initrd.cpio): one boot per check with init=PROGRAM init.exit=qemu,
            under -cpu max (SMEP, SMAP) and once under QEMU's default CPU;
            output, the kernel's exit/signal log line and QEMU's status
            checked (printf, argv/envp/auxv, brk/mmap, -EFAULT and -ENOSYS,
            a fault of each kind ending only its process while a second
            program runs; apps/tests/sysfuzz, seeded random system calls in
            forked children, seeds 1-3 on 1 and 2 CPUs: status 0, no panic,
            no return value outside Linux's range, /proc/meminfo's MemFree
            within 1 MiB of its value before); the REPL's ps and syscalls after a program ran; then
            the same binaries on Linux (bench/linux-guest's kernel, built if
            missing) and on Caboose: same output, same exit status or signal
            (sysfuzz: the status only; hello, args, mem, efault, files: descriptors and the RAM file
            system's calls with their errors, pipe: pipes in one process,
            procs: fork with copy on write, wait4/waitid, execve of a program
            and a "#!" script, signal handlers, masks, EINTR, kill; sockets:
            bad arguments, options, TCP and UDP over 127.0.0.1 between two
            processes, socketpair, TCP_INFO through a connection's life; fifo:
            named pipes opened every way, EINTR, poll's hang-up; itimer:
            setitimer, getitimer and alarm, ITIMER_REAL, ITIMER_VIRTUAL and
            ITIMER_PROF; clock: clock_settime and
            settimeofday seen by every process, as root and as a user; epoll:
            level and edge triggering on pipes
            and sockets, oneshot, closed descriptors, EINTR, EPOLLEXCLUSIVE waking
            one of two instances; daemon:
            credentials, chown, prctl, shared anonymous memory across
            fork, eventfd, SCM_RIGHTS, F_SETOWN; Debian's
            static busybox (/bin/busybox from busybox-static, with a link in
            /bin per applet) running sh/busybox-c.sh, the issue's
            `sh -c 'echo hi | cat; ls /; for ...'`, and sh/busybox-script.sh,
            pipes, redirections, subshells, signals and applets; the crashes;
            Debian's dynamically linked coreutils from their .debs
            (sh/coreutils.sh: ls, sha256sum, sort, date), glibc programs
            linked dynamically (NAME-dyn), interp (execve with good and bad
            PT_INTERP interpreters), mmapfile (private file mappings));
            then Debian's busybox sh interactive on the console tty, driven
            through a socket on COM1, on Caboose and on the Linux guest
            (tests/integration/tty_test.py: echo, editing, canonical mode,
            ^C gives $? 130, ^D ends init); Debian's dynamically linked
            iperf3 -s on Caboose against
            the host's iperf3 -c, both ways, -P 1 and 4, in a network
            namespace (tests/integration/iperf3_dyn_test.py; needs root)
  bench     every benchmark of `make bench` with --quick, as `make bench
            QUICK=1` runs them (needs root; about 3 minutes): each exits 0
            with one JSON document in which every load ran, on Caboose and
            on the Linux guest (figures are not checked); bench/run: every
            system (nginx and apps/httpd on Linux, nginx, apps/httpd and the
            responder on Caboose) ran every load, the bodies' sha256 matched
            the Linux guest's files, the same-binary ratios come first, and
            nginx Caboose / Linux has ratios; bench/sys: every operation
            measured on both systems, each with a ratio
  fuzz      the libFuzzer targets of the network stack, apps/httpd, the
            in-kernel responder's request targets and the ext2/ext3 reader
            (tests/fuzz/run.py), 20 s each from a seed corpus

Output: progress and one `PASS name` / `FAIL name: reason` line per result on
stderr (a failure is followed by the tail of the relevant output); the full
serial logs in build/test-logs/; stdout carries exactly one line, the last:
`N passed, M failed`.  The exit status is 0 only if nothing failed and at least
one result was recorded.

QEMU exit statuses (isa-debug-exit at 0xf4, status = value << 1 | 1):
  1 = every selected ktest passed, 3 = some failed, 5 = kernel panic with
  ktest set.  Anything else (0 = reset/triple fault under -no-reboot, our own
  timeout) is a failure.

Timeouts (seconds) can be set by option or environment variable:
  --timeout          CABOOSE_TEST_TIMEOUT           each ktest=all boot (default 300)
  --explicit-timeout CABOOSE_TEST_EXPLICIT_TIMEOUT  other -kernel boots: ktest=list,
                                                    explicit tests, cmdline (default 120)
  --silence-timeout  CABOOSE_TEST_SILENCE_TIMEOUT   any -kernel boot that prints
                                                    nothing for this long (default 150;
                                                    0 = never)
  --boot-timeout     CABOOSE_TEST_BOOT_TIMEOUT      iPXE and GRUB boots (default 90)
  --host-timeout     CABOOSE_TEST_HOST_TIMEOUT      build/host/unit (default 1200: about
                                                    110 s on a quiet 2-core host, over 600
                                                    when the host is loaded)

The kernel image and ISO are copied into build/test-logs/ at the start, so every
boot of one run uses the same image even if the build changes meanwhile, and the
logs can be matched with the image that produced them.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
MEM = "512M"

# ---------------------------------------------------------------------------
# Explicit in-kernel tests: `ktest=all` skips them; each gets a boot of its own.
#   status:   expected QEMU exit status (1 = pass, 5 = panic)
#   expect:   strings that must all appear in the serial output
#   order:    function names that must appear in the panic backtrace in this
#             order (innermost first), possibly with other frames between
#   module:   pass a Multiboot module starting with MODULE_MAGIC (-initrd)
# Adding or removing a test is one line here.
# ---------------------------------------------------------------------------
PANIC = 5
PASSED = 1
FAILED = 3


def explicit(name, status, expect=(), order=(), module=False, smp=2):
    return dict(name=name, status=status, expect=list(expect), order=list(order),
                module=module, smp=smp)


EXPLICIT = [
    explicit("fault_backtrace", PANIC, ["page fault"],
             order=["kt_fault_level3", "kt_fault_level2", "kt_fault_level1"]),
    explicit("stack_overflow", PANIC, ["kernel stack overflow"]),
    explicit("slab_double_free", PANIC, ["kfree: double free"]),
    explicit("slab_overrun", PANIC, ["kfree: overrun"]),
    explicit("slab_bad_pointer", PANIC, ["kfree: bad pointer"]),
    explicit("page_double_put", PANIC, ["page_put: page", "freed twice"]),
    explicit("spinlock_recursion", PANIC, ["already held by this CPU"]),
    explicit("mutex_recursion", PANIC, ["already held by this thread"]),
    explicit("boot_module", PASSED, ["ktest: PASS boot_module"], module=True),
    explicit("fault_write_text", PANIC, ["page fault: write of", "protection violation"]),
    explicit("fault_exec_data", PANIC, ["page fault: instruction fetch", "protection violation"]),
    explicit("fault_gp", PANIC, ["general protection (#GP)"]),
]

# explicit tests that another tier boots (the repl tier runs repl_workload
# and drives the REPL while it runs)
EXPLICIT_ELSEWHERE = {"repl_workload", "repl_spin"}

# -smp N and the accelerator for the ktest=all boots
KTEST_BOOTS = [(1, "tcg"), (2, "tcg,thread=multi"), (4, "tcg,thread=multi")]

MODULE_MAGIC = b"CABOOSE-TEST-MODULE"

# ---------------------------------------------------------------------------
# Serial output patterns (never anchored at line start: firmware escape codes
# may precede a line).
# ---------------------------------------------------------------------------
ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")
READY_RE = re.compile(r"caboose: ready: (\d+) CPUs online, boot (\d+) ms")
RUN_RE = re.compile(r"ktest: RUN (\S+)")
RESULT_RE = re.compile(r"ktest: (PASS|FAIL) (\S+) \((\d+) ms\)")
FAILAT_RE = re.compile(r"ktest: (\S+): FAIL at (.*)")
SUMMARY_RE = re.compile(r"ktest: (\d+) passed, (\d+) failed")
NOTEST_RE = re.compile(r"ktest: no test named '([^']*)'")
LIST_RE = re.compile(r"ktest: ([A-Za-z0-9_.-]+)( \(explicit\))?\s*$")
PANIC_RE = re.compile(r"panic: (.*)")
FRAME_RE = re.compile(r"#(\d+)\s+([0-9a-fA-F]+)\s+([A-Za-z0-9_.$]+)(\+0x[0-9a-fA-F]+)?")
TAIL_LINES = 30


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def add(self, name, ok, reason="", tail=None):
        if ok:
            self.passed += 1
            err("PASS %s" % name)
        else:
            self.failed += 1
            self.failures.append(name)
            err("FAIL %s: %s" % (name, reason))
            if tail:
                err("  ---- output tail ----")
                for line in tail:
                    err("  | " + line)
                err("  ---------------------")


def err(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def clean(text):
    """Serial output as lines, with escape codes and carriage returns removed."""
    text = ANSI_RE.sub("", text).replace("\r", "")
    return text.split("\n")


def tail_of(lines, n=TAIL_LINES):
    lines = [l for l in lines if l.strip()]
    return lines[-n:]


# ---------------------------------------------------------------------------
# Child processes: QEMU and the host unit-test binary.  We keep their own PIDs
# and kill only those (and, for Criterion, the process group it was started in,
# which holds nothing but its own workers).
# ---------------------------------------------------------------------------
LIVE = {}  # pid -> (Popen, kill_group)


def kill_child(proc, group=False):
    if proc.poll() is None:
        try:
            if group:
                os.killpg(proc.pid, signal.SIGTERM)
            else:
                proc.terminate()
            proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            try:
                if group:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
    LIVE.pop(proc.pid, None)


def kill_all_children():
    for proc, group in list(LIVE.values()):
        kill_child(proc, group)


def on_signal(signum, _frame):
    kill_all_children()
    err("tests/run.py: stopped by signal %d" % signum)
    sys.exit(128 + signum)


class Boot:
    """The outcome of one QEMU run."""

    def __init__(self, status, lines, elapsed, timed_out, stopped, log, why=""):
        self.status = status        # QEMU's exit status, None if we killed it
        self.lines = lines          # cleaned serial output
        self.elapsed = elapsed
        self.timed_out = timed_out  # we killed it: WHY says which limit
        self.stopped = stopped      # we killed it after `stop_when` matched
        self.log = log
        self.why = why

    @property
    def text(self):
        return "\n".join(self.lines)

    def status_str(self):
        if self.timed_out:
            return "%s (QEMU killed)" % self.why
        if self.status is not None and self.status < 0:
            return "QEMU killed by signal %d" % -self.status
        return "exit status %s" % self.status

    def tail(self):
        return tail_of(self.lines) + ["(full log: %s)" % os.path.relpath(self.log, ROOT)]


def qemu(args, log, timeout, stop_when=None, settle=30.0, silence=0):
    """Run QEMU with ARGS, serial/monitor output to LOG.

    Returns a Boot.  QEMU is killed after TIMEOUT seconds, or (if SILENCE is
    non-zero) once it has printed nothing for SILENCE seconds.  If STOP_WHEN (a
    regex) matches the output, QEMU is killed and Boot.stopped is set.  Once
    the ktest summary or a panic is printed QEMU should exit on its own; it
    gets SETTLE seconds to do so.
    """
    cmd = [QEMU] + args
    t0 = time.monotonic()
    with open(log, "wb") as f:
        f.write(("# " + " ".join(cmd) + "\n").encode())
        f.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
    LIVE[proc.pid] = (proc, False)
    deadline = t0 + timeout
    timed_out = stopped = False
    why = ""
    size, grew = -1, t0
    final_re = re.compile(r"%s|%s" % (SUMMARY_RE.pattern, PANIC_RE.pattern))
    settled = False
    try:
        while True:
            try:
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            cur = os.stat(log).st_size
            if cur != size:
                size, grew = cur, now
            elif silence and now - grew >= silence:
                timed_out = True
                why = "no output for %.0f s" % (now - grew)
                break
            if stop_when is not None or not settled:
                with open(log, "rb") as f:
                    text = ANSI_RE.sub("", f.read().decode("utf-8", "replace"))
                if stop_when is not None and re.search(stop_when, text):
                    stopped = True
                    break
                if not settled and final_re.search(text):
                    settled = True
                    deadline = min(deadline, now + settle)
            if now >= deadline:
                timed_out = True
                why = ("no exit %.0f s after the final line" % settle if settled
                       else "timed out after %.0f s" % (now - t0))
                break
    finally:
        kill_child(proc)
    elapsed = time.monotonic() - t0
    with open(log, "rb") as f:
        lines = clean(f.read().decode("utf-8", "replace"))
    status = None if (timed_out or stopped) else proc.returncode
    return Boot(status, lines, elapsed, timed_out, stopped, log, why)


def kernel_args(smp, accel, cmdline, initrd=None, kernel=None):
    a = ["-accel", accel, "-smp", str(smp), "-m", MEM, "-nographic", "-no-reboot",
         "-kernel", kernel, "-append", cmdline,
         # a NIC like `make run` has, but with no way out of QEMU
         "-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0",
         "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if initrd:
        a += ["-initrd", initrd]
    return a


def accel_for(smp):
    return "tcg" if smp == 1 else "tcg,thread=multi"


def write_module(path):
    with open(path, "wb") as f:
        f.write(MODULE_MAGIC + b"\n" + bytes(range(256)) * 16)


def ready_cpus(boot):
    m = READY_RE.search(boot.text)
    return int(m.group(1)) if m else None


def panic_line(boot):
    m = PANIC_RE.search(boot.text)
    return m.group(0).strip() if m else None


# ---------------------------------------------------------------------------
# Tier: host unit tests (Criterion)
# ---------------------------------------------------------------------------
CRIT_SYNTH_RE = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| "
                           r"Failing: (\d+) \| Crashing: (\d+)")
CRIT_LINE_RE = re.compile(r"^\[(PASS|FAIL|SKIP)\] (\S+?)::(\S+?):")


def criterion_block(lines, tname):
    """The --verbose lines from `[RUN ] TNAME` to `[FAIL] TNAME`: its messages."""
    end = None
    for i, line in enumerate(lines):
        if line.startswith("[FAIL] %s:" % tname):
            end = i
    if end is None:
        return None
    start = max(0, end - 40)
    for i in range(end, start - 1, -1):
        if lines[i].rstrip() == "[RUN ] " + tname:
            start = i
            break
    return [l for l in lines[start:end + 1]
            if l.startswith("[----]") or tname in l][-TAIL_LINES:]


def tier_host(res, opts, state):
    run_criterion(res, opts, opts.host_unit, "host-unit", "host")
    run_criterion(res, opts, opts.loadgen_unit, "loadgen-unit", "host loadgen")
    run_criterion(res, opts, os.path.join(opts.build, "host", "httpd-unit"), "httpd-unit",
                  "host httpd")


def run_criterion(res, opts, unit, name, prefix):
    """One Criterion binary: one result per test (PREFIX suite::test) and
    one for the run as a whole (NAME run)."""
    if not os.path.isfile(unit) or not os.access(unit, os.X_OK):
        res.add(name, False, "%s is missing or not executable (build it with "
                "`make %s`)" % (os.path.relpath(unit, ROOT), os.path.relpath(unit, ROOT)))
        return
    log = os.path.join(opts.logs, name + ".log")
    jpath = os.path.join(opts.logs, name + ".json")
    err("== host unit tests: %s" % os.path.relpath(unit, ROOT))
    t0 = time.monotonic()
    with open(log, "wb") as f:
        proc = subprocess.Popen([unit, "--verbose", "--color=never", "--json=" + jpath],
                                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                cwd=ROOT, start_new_session=True)
        LIVE[proc.pid] = (proc, True)
        timed_out = False
        try:
            proc.wait(timeout=opts.host_timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            kill_child(proc, group=True)
    elapsed = time.monotonic() - t0
    with open(log, "rb") as f:
        lines = clean(f.read().decode("utf-8", "replace"))
    tail = tail_of(lines) + ["(full log: %s)" % os.path.relpath(log, ROOT)]

    # per-test results: the JSON report, or else the --verbose lines
    tests = []  # (suite::name, status, messages)
    report = None
    if os.path.exists(jpath):
        try:
            with open(jpath) as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            report = None
            res.add(name + " report", False, "unreadable JSON report %s: %s" % (jpath, e))
    if report is not None:
        for suite in report.get("test_suites", []):
            for t in suite.get("tests", []):
                tests.append(("%s::%s" % (suite.get("name"), t.get("name")),
                              t.get("status", "?"), t.get("messages", [])))
    else:
        for line in lines:
            m = CRIT_LINE_RE.match(line)
            if m:
                st = {"PASS": "PASSED", "FAIL": "FAILED", "SKIP": "SKIPPED"}[m.group(1)]
                tests.append(("%s::%s" % (m.group(2), m.group(3)), st, [line]))

    counted = 0
    all_ok = True
    for tname, st, msgs in sorted(tests):
        if st == "SKIPPED":
            err("SKIP host %s: %s (not counted)" % (tname, "; ".join(msgs)))
            continue
        counted += 1
        if st == "PASSED":
            res.add("%s %s" % (prefix, tname), True)
        else:
            all_ok = False
            res.add("%s %s" % (prefix, tname), False,
                    "%s: %s" % (st.lower(), "; ".join(msgs) or "no message"),
                    criterion_block(lines, tname))

    # the run as a whole: it must finish, report a synthesis that agrees with
    # the per-test results, and exit 0 if everything passed
    synth = None
    for line in lines:
        m = CRIT_SYNTH_RE.search(line)
        if m:
            synth = tuple(int(x) for x in m.groups())
    problems = []
    if timed_out:
        problems.append("timed out after %.0f s (killed)" % elapsed)
    elif proc.returncode < 0:
        problems.append("crashed: killed by signal %d" % -proc.returncode)
    if synth is None:
        if not timed_out:   # a killed runner prints none: the time-out says it
            problems.append("no Criterion synthesis line (the runner itself crashed?)")
    else:
        tested, passing, failing, crashing = synth
        if tested == 0:
            problems.append("Criterion ran no tests")
        if tested != counted:
            problems.append("synthesis says %d tests, %d per-test results found"
                            % (tested, counted))
        if failing or crashing:
            all_ok = False
    if report is None and synth is not None:
        problems.append("no JSON report written (per-test results taken from the log)")
    if not timed_out and proc.returncode is not None and proc.returncode >= 0:
        if all_ok and proc.returncode != 0:
            problems.append("all tests passed but the binary exited with status %d"
                            % proc.returncode)
        if not all_ok and proc.returncode == 0:
            problems.append("tests failed but the binary exited with status 0")
    res.add(name + " run", not problems, "; ".join(problems), tail if problems else None)
    err("   (host unit tests took %.1f s)" % elapsed)


# ---------------------------------------------------------------------------
# Tier: ktest=list and ktest=all boots
# ---------------------------------------------------------------------------
def tier_ktest(res, opts, state):
    err("== ktest=list")
    b = qemu(kernel_args(1, "tcg", "console=ttyS0 ktest=list", kernel=opts.kernel),
             os.path.join(opts.logs, "ktest-list.log"), opts.explicit_timeout,
             silence=opts.silence_timeout)
    regular, expl = [], []
    for line in b.lines:
        if RUN_RE.search(line) or SUMMARY_RE.search(line) or NOTEST_RE.search(line):
            continue
        m = LIST_RE.search(line)
        if m:
            (expl if m.group(2) else regular).append(m.group(1))
    state["regular"], state["explicit"] = regular, expl
    problems = []
    if b.status != PASSED:
        problems.append(b.status_str() + " (expected 1)")
    if not regular:
        problems.append("no regular tests listed")
    res.add("ktest list", not problems, "; ".join(problems), b.tail() if problems else None)
    if regular or expl:
        err("   regular: %s" % " ".join(regular))
        err("   explicit: %s" % " ".join(expl))
    # every explicit test the kernel has must have an expectation here
    table = {e["name"] for e in EXPLICIT} | EXPLICIT_ELSEWHERE
    for n in expl:
        if n not in table:
            res.add("ktest[explicit] %s table" % n, False,
                    "the kernel has this explicit test but tests/run.py's EXPLICIT "
                    "table has no expectation for it")

    for smp, accel in KTEST_BOOTS:
        tag = "ktest[smp=%d]" % smp
        err("== %s: ktest=all, -smp %d -accel %s" % (tag, smp, accel))
        b = qemu(kernel_args(smp, accel, "console=ttyS0 ktest=all", kernel=opts.kernel),
                 os.path.join(opts.logs, "ktest-smp%d.log" % smp), opts.timeout,
                 silence=opts.silence_timeout)
        err("   (%.1f s)" % b.elapsed)
        check_ktest_all(res, tag, smp, b, regular)


def failure_context(lines, test):
    """The lines of LINES that belong to TEST's failure."""
    out = []
    for line in lines:
        m = FAILAT_RE.search(line)
        if m and m.group(1) == test:
            out.append(line.strip())
    return out


def check_ktest_all(res, tag, smp, b, regular):
    started, finished, notfound = [], {}, []
    for line in b.lines:
        m = RUN_RE.search(line)
        if m:
            started.append(m.group(1))
            continue
        m = RESULT_RE.search(line)
        if m:
            finished[m.group(2)] = (m.group(1), int(m.group(3)))
            continue
        m = NOTEST_RE.search(line)
        if m:
            notfound.append(m.group(1))
    # one result per finished test
    for test, (verdict, ms) in finished.items():
        if verdict == "PASS":
            res.add("%s %s" % (tag, test), True)
        else:
            ctx = failure_context(b.lines, test)
            res.add("%s %s" % (tag, test), False,
                    "; ".join(ctx) or "FAIL (%d ms)" % ms, b.tail())
    # started but never finished: a hang, an in-kernel timeout, or a panic
    unfinished = [t for t in started if t not in finished]
    for test in unfinished:
        why = failure_context(b.lines, test)
        p = panic_line(b)
        if p:
            why.append(p)
        why.append(b.status_str())
        res.add("%s %s" % (tag, test), False, "started but did not finish: " + "; ".join(why),
                b.tail())
    # listed by ktest=list but never started: if the run was cut short (a test
    # hung or the kernel died) that is reported once, in the boot result;
    # otherwise ktest=all skipped it, which is a failure of its own
    summary_seen = any(SUMMARY_RE.search(l) for l in b.lines)
    cut_short = bool(unfinished) or not summary_seen
    unreached = [t for t in regular if t not in started and t not in finished]
    if not cut_short:
        for test in unreached:
            res.add("%s %s" % (tag, test), False,
                    "listed by ktest=list but not run by ktest=all (%s)" % b.status_str())

    # the boot as a whole
    problems = []
    n = ready_cpus(b)
    if n is None:
        problems.append("no 'caboose: ready: N CPUs online' line")
    elif n != smp:
        problems.append("ready line says %d CPUs online, expected %d" % (n, smp))
    sm = None
    for line in b.lines:
        m = SUMMARY_RE.search(line)
        if m:
            sm = (int(m.group(1)), int(m.group(2)))
    if sm is None:
        problems.append("no final 'ktest: N passed, M failed' line")
    else:
        npass = sum(1 for v, _ in finished.values() if v == "PASS")
        nfail = sum(1 for v, _ in finished.values() if v == "FAIL") + len(notfound) + \
            len(unfinished)
        if sm != (npass, nfail):
            problems.append("summary says %d passed, %d failed; the lines say %d, %d"
                            % (sm + (npass, nfail)))
    if notfound:
        problems.append("kernel reported unknown tests: %s" % ", ".join(notfound))
    if cut_short and unreached:
        problems.append("never reached: %s" % " ".join(unreached))
    if b.status != PASSED:
        p = panic_line(b)
        problems.append(b.status_str() + " (expected 1)" + (" after " + p if p else ""))
    res.add("%s boot" % tag, not problems, "; ".join(problems), b.tail() if problems else None)


# ---------------------------------------------------------------------------
# Tier: explicit tests, one boot each
# ---------------------------------------------------------------------------
def backtrace_funcs(lines):
    funcs, inside = [], False
    for line in lines:
        if "backtrace:" in line:
            inside, funcs = True, []
            continue
        if inside:
            m = FRAME_RE.search(line)
            if m:
                funcs.append(m.group(3))
            elif line.strip():
                inside = False
    return funcs


def tier_explicit(res, opts, state):
    module = os.path.join(opts.logs, "module.bin")
    write_module(module)
    for e in EXPLICIT:
        name = "ktest[explicit] %s" % e["name"]
        err("== %s (-smp %d, expect exit %d)" % (name, e["smp"], e["status"]))
        b = qemu(kernel_args(e["smp"], accel_for(e["smp"]),
                             "console=ttyS0 ktest=%s" % e["name"],
                             initrd=module if e["module"] else None, kernel=opts.kernel),
                 os.path.join(opts.logs, "explicit-%s.log" % e["name"]),
                 opts.explicit_timeout, silence=opts.silence_timeout)
        err("   (%.1f s)" % b.elapsed)
        problems = []
        text = b.text
        nf = NOTEST_RE.search(text)
        if nf:
            problems.append("the kernel has no test named '%s'" % nf.group(1))
        elif not re.search(r"ktest: RUN %s\b" % re.escape(e["name"]), text):
            problems.append("'ktest: RUN %s' never printed" % e["name"])
        problems += failure_context(b.lines, e["name"])
        if b.status != e["status"]:
            p = panic_line(b)
            problems.append("%s, expected %d%s" % (b.status_str(), e["status"],
                                                   " (" + p + ")" if p and e["status"] != PANIC
                                                   else ""))
        if e["status"] == PANIC:
            if not panic_line(b):
                problems.append("no 'panic:' line")
            if "backtrace:" not in text:
                problems.append("no 'backtrace:'")
        for s in e["expect"]:
            if s not in text:
                problems.append("output lacks %r" % s)
        if e["order"]:
            funcs = backtrace_funcs(b.lines)
            pos, missing = 0, None
            for fn in e["order"]:
                try:
                    pos = funcs.index(fn, pos) + 1
                except ValueError:
                    missing = fn
                    break
            if missing:
                problems.append("backtrace lacks %s in order %s (frames: %s)"
                                % (missing, " < ".join(e["order"]),
                                   " ".join(funcs) or "none"))
        res.add(name, not problems, "; ".join(problems), b.tail() if problems else None)


# ---------------------------------------------------------------------------
# Tier: boot paths
# ---------------------------------------------------------------------------
def boot_module_problems(b):
    """What is wrong with a boot that should pass ktest=boot_module."""
    problems = []
    if "ktest: PASS boot_module" not in b.text:
        problems.append("no 'ktest: PASS boot_module'")
    if b.status != PASSED:
        problems.append(b.status_str() + " (expected 1)")
    return problems


def tier_boot(res, opts, state):
    # (b) iPXE from QEMU's TFTP server, Multiboot kernel + module
    name = "boot ipxe-tftp"
    err("== %s" % name)
    tftp = os.path.join(opts.build, "tftp")
    shutil.rmtree(tftp, ignore_errors=True)
    os.makedirs(tftp)
    shutil.copy(opts.kernel, os.path.join(tftp, "caboose.elf"))
    write_module(os.path.join(tftp, "module.bin"))
    with open(os.path.join(tftp, "boot.ipxe"), "w") as f:
        f.write("#!ipxe\n"
                "kernel tftp://${next-server}/caboose.elf console=ttyS0 ktest=boot_module\n"
                "module tftp://${next-server}/module.bin\n"
                "boot\n")
    b = qemu(["-accel", "tcg", "-smp", "1", "-m", MEM, "-nographic", "-no-reboot",
              "-boot", "order=n,reboot-timeout=0",
              "-netdev", "user,id=n0,restrict=on,tftp=%s,bootfile=boot.ipxe" % tftp,
              "-device", "virtio-net-pci,netdev=n0",
              "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
             os.path.join(opts.logs, "boot-ipxe.log"), opts.boot_timeout)
    err("   (%.1f s)" % b.elapsed)
    problems = boot_module_problems(b)
    res.add(name, not problems, "; ".join(problems), b.tail() if problems else None)

    # (c) the GRUB ISO, no ktest: wait for the ready line, then stop QEMU
    name = "boot grub-iso"
    err("== %s" % name)
    if not os.path.isfile(opts.iso):
        res.add(name, False, "%s is missing (make iso)" % os.path.relpath(opts.iso, ROOT))
    else:
        b = qemu(["-accel", "tcg,thread=multi", "-smp", "2", "-m", MEM, "-nographic",
                  "-no-reboot", "-cdrom", opts.iso,
                  "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
                 os.path.join(opts.logs, "boot-grub-iso.log"), opts.boot_timeout,
                 stop_when=READY_RE.pattern + "|" + PANIC_RE.pattern)
        err("   (%.1f s)" % b.elapsed)
        problems = []
        n = ready_cpus(b)
        p = panic_line(b)
        if p:
            problems.append(p)
        if n is None:
            problems.append("no ready line (%s)" % ("stopped" if b.stopped else b.status_str()))
        elif n != 2:
            problems.append("ready line says %d CPUs online, expected 2" % n)
        res.add(name, not problems, "; ".join(problems), b.tail() if problems else None)

    # (c2) GRUB passes the command line and a module: an ISO of our own whose
    # entry has unknown options first and last (GRUB, unlike QEMU and iPXE,
    # passes no image name before the options)
    name = "boot grub-cmdline-module"
    err("== %s" % name)
    d = os.path.join(opts.logs, "grub-cmdline")
    os.makedirs(os.path.join(d, "boot", "grub"))
    shutil.copy(opts.kernel, os.path.join(d, "boot", "caboose.elf"))
    write_module(os.path.join(d, "boot", "module.bin"))
    with open(os.path.join(d, "boot", "grub", "grub.cfg"), "w") as f:
        f.write("set timeout=0\nset default=0\n"
                "serial --unit=0 --speed=115200\n"
                "terminal_input serial\nterminal_output serial\n"
                "menuentry \"Caboose test\" {\n"
                "\tmultiboot /boot/caboose.elf bogus_first=1 console=ttyS0 "
                "ktest=boot_module bogus_last=2\n"
                "\tmodule /boot/module.bin\n"
                "\tboot\n}\n")
    iso = os.path.join(opts.logs, "grub-cmdline.iso")
    mk = subprocess.run(["grub-mkrescue", "-o", iso, d], stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if mk.returncode != 0 or not os.path.isfile(iso):
        res.add(name, False, "grub-mkrescue failed (status %d)" % mk.returncode,
                tail_of(mk.stdout.decode("utf-8", "replace").split("\n")))
    else:
        b = qemu(["-accel", "tcg", "-smp", "1", "-m", MEM, "-nographic", "-no-reboot",
                  "-cdrom", iso, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
                 os.path.join(opts.logs, "boot-grub-cmdline.log"), opts.boot_timeout)
        err("   (%.1f s)" % b.elapsed)
        problems = boot_module_problems(b)
        for opt in ("bogus_first=1", "bogus_last=2"):
            if "cmdline: unknown option '%s' (ignored)" % opt not in b.text:
                problems.append("no \"cmdline: unknown option '%s' (ignored)\"" % opt)
        res.add(name, not problems, "; ".join(problems), b.tail() if problems else None)

    # (d) an unknown command-line option is reported and ignored
    name = "boot cmdline-unknown-option"
    err("== %s" % name)
    module = os.path.join(opts.logs, "module.bin")
    write_module(module)
    b = qemu(kernel_args(1, "tcg", "console=ttyS0 bogus_option=1 ktest=boot_module",
                         initrd=module, kernel=opts.kernel),
             os.path.join(opts.logs, "boot-cmdline.log"), opts.explicit_timeout,
             silence=opts.silence_timeout)
    err("   (%.1f s)" % b.elapsed)
    problems = boot_module_problems(b)
    if "cmdline: unknown option 'bogus_option=1' (ignored)" not in b.text:
        problems.append("no \"cmdline: unknown option 'bogus_option=1' (ignored)\"")
    res.add(name, not problems, "; ".join(problems), b.tail() if problems else None)


def tier_smoke(res, opts, state):
    """make run's QEMU command, booted as make run-smoke does
    (tools/run_smoke.py), with this run's kernel image."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import run_smoke
    for name, ok, detail in run_smoke.run_all(opts.logs, opts.kernel):
        res.add(name, ok, detail)


def tier_repl(res, opts, state):
    """The REPL (tests/integration/repl_test.py): every command live and
    frozen during a workload, then fuzzing."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import repl_test
    repl_test.KERNEL = opts.kernel
    for name, ok, detail in repl_test.run_all(opts.logs):
        res.add(name, ok, detail)


def tier_blk(res, opts, state):
    """Disks (tests/integration/blk_test.py): virtio-blk through the REPL."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import blk_test
    blk_test.KERNEL = opts.kernel
    for name, ok, detail in blk_test.run_all(opts.logs):
        res.add(name, ok, detail)
    import ext2_test
    ext2_test.KERNEL = opts.kernel
    for name, ok, detail in ext2_test.run_all(opts.logs, opts.initrd):
        res.add(name, ok, detail)


def tier_nic(res, opts, state):
    """The NIC path (tests/integration/nic_test.py): virtio-net with two
    queue pairs on a tap in a network namespace; frames echoed byte for
    byte; per-queue counters, ring wraps and copy counters checked."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import nic_test
    nic_test.KERNEL = opts.kernel
    for name, ok, detail in nic_test.run_all(opts.logs):
        res.add(name, ok, detail)


def tier_net(res, opts, state):
    """The network stack (tests/integration/net_test.py): DHCP from dnsmasq,
    ping and UDP echo with fragments, ARP, hostile input and its drop
    counters, in a network namespace; a static address; QEMU's user-mode
    network."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import net_test
    net_test.KERNEL = opts.kernel
    for name, ok, detail in net_test.run_all(opts.logs):
        res.add(name, ok, detail)


def tier_tcp(res, opts, state):
    """TCP against Linux (tests/integration/tcp_test.py)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import tcp_test
    tcp_test.KERNEL = opts.kernel
    for name, ok, detail in tcp_test.run_all(opts.logs):
        res.add(name, ok, detail)


def tier_hostile(res, opts, state):
    """Hostile input against TCP (tests/integration/tcp_hostile_test.py)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import tcp_hostile_test
    tcp_hostile_test.KERNEL = opts.kernel
    for name, ok, detail in tcp_hostile_test.run_all(opts.logs):
        res.add(name, ok, detail)


def tier_matrix(res, opts, state):
    """The configuration matrix (tests/integration/matrix_test.py): the
    issue 11 reproductions and the load checks on every CPU, queue and
    network configuration."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import matrix_test
    matrix_test.KERNEL = opts.kernel
    t0 = time.monotonic()
    for name, ok, detail in matrix_test.run_all(opts.logs):
        res.add(name, ok, detail)
    err("== matrix: %.0f s" % (time.monotonic() - t0))


def tier_soak(res, opts, state):
    """A short soak (tests/integration/soak_test.py): CABOOSE_SOAK_MINUTES
    (default 3) of mixed load on CABOOSE_SOAK_SMP CPUs (default 1)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import soak_test
    soak_test.KERNEL = opts.kernel
    loadgen = os.path.join(opts.build, "bench", "loadgen")
    if not os.access(loadgen, os.X_OK):
        res.add("soak", False, "%s is missing (make)" % os.path.relpath(loadgen, ROOT))
        return
    soak_test.LOADGEN = loadgen
    minutes = env_float("CABOOSE_SOAK_MINUTES", 3)
    smp = int(env_float("CABOOSE_SOAK_SMP", 1))
    for name, ok, detail in soak_test.run_all(opts.logs, minutes, smp):
        res.add(name, ok, detail)
    path = os.path.join(opts.logs, "soak-smp%d-summary.json" % smp)
    if os.path.exists(path):
        with open(path) as f:
            err("== soak: " + f.read().strip())


def tier_httpd(res, opts, state):
    """apps/httpd on Linux (tests/host/httpd/httpd_test.py), then the same
    binary as a user program on Caboose (tests/integration/httpd_guest_test.py),
    then Debian's nginx on Caboose (tests/integration/nginx_guest_test.py),
    then the in-kernel responder's files from the VFS
    (tests/integration/responder_test.py)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "host", "httpd"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import httpd_test
    import httpd_guest_test
    binary = os.path.join(opts.build, "apps", "httpd")
    for name, ok, detail in httpd_test.run_all(opts.logs, binary):
        res.add(name, ok, detail)
    if not os.path.isfile(opts.kernel):
        res.add("httpd on Caboose", False, "%s is missing (make)" % os.path.relpath(opts.kernel, ROOT))
        return
    for name, ok, detail in httpd_guest_test.run_all(opts.logs, opts.kernel, binary):
        res.add(name, ok, detail)
    import nginx_guest_test
    for name, ok, detail in nginx_guest_test.run_all(opts.logs, opts.kernel):
        res.add(name, ok, detail)
    import responder_test
    for name, ok, detail in responder_test.run_all(opts.logs, opts.kernel):
        res.add("responder: " + name, ok, detail)


def tier_fuzz(res, opts, state):
    """The libFuzzer targets, bounded (tests/fuzz/run.py); built by make."""
    seconds = int(env_float("CABOOSE_FUZZ_SECONDS", 20))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fuzz", "run.py"),
                        "--seconds", str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=3 * (seconds + 180))
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        res.add("fuzz", False, "tests/fuzz/run.py printed no JSON: " + p.stderr[-800:])
        return
    for r in doc["fuzz"]:
        res.add("fuzz %s: %d s, no crash, no leak" % (r["target"], seconds), r["status"] == "ok"
                and r.get("runs", 0) > 1000,
                "%s, %s runs: %s" % (r["status"], r.get("runs"), r.get("detail", "")))


def bench_checks(name, doc):
    """What each benchmark's --quick JSON must show: (check, ok, detail)."""
    out = []
    if name == "boot":
        runs = [r for v in doc.get("smp", {}).values() for r in v.get("runs", [])]
        out.append(("a boot reached its ready line", bool(runs) and
                    all(r.get("kernel_ms", 0) > 0 for r in runs), json.dumps(runs)[:300]))
    elif name == "nic":
        runs = doc.get("runs", [])
        # the guest queues every frame of its flood; the host's socket and
        # the guest's receive ring may drop some on a busy host, so only
        # "some got through" is asserted of those
        out.append(("the flood was queued, frames got through both ways", bool(runs) and all(
            r.get("tx_frames") == doc["frames"]["tx"] and r.get("tx_host_saw", 0) > 0 and
            r.get("rx_frames", 0) > 0 for r in runs), json.dumps(runs)[:300]))
    elif name == "net":
        res = doc.get("results", [])
        for r in res:
            ok = all(r.get(k, {}).get("n", 0) > 0 for k in ("ping_56", "ping_1472")) and \
                all(r.get(k, {}).get("requests_per_s", 0) > 0 for k in ("udp_echo_1", "udp_echo_16"))
            out.append(("%s answered ping and UDP echo" % r.get("system"), ok, json.dumps(r)[:300]))
        out.append(("ratios computed", len(doc.get("ratios", [])) > 0, "no ratios"))
    elif name == "tcp":
        for r in doc.get("results", []):
            loads = ("iperf3_to_guest", "iperf3_from_guest", "http_612b")
            ok = all(r.get(k, {}).get("status") == "ok" for k in loads) and \
                all(r.get(k, {}).get("gbit_per_s", 0) > 0 for k in loads[:2]) and \
                r.get("http_612b", {}).get("requests", 0) > 0
            out.append(("%s: iperf3 both ways and wrk" % r.get("system"), ok, json.dumps(r)[:300]))
    elif name == "run":
        systems = doc.get("systems", {})
        want = {"nginx-linux", "nginx-caboose", "httpd-linux", "httpd-caboose",
                "responder-caboose", "responder-disk-caboose"}
        out.append(("every system ran (%s)" % ", ".join(sorted(want)),
                    want <= set(systems), "systems: %s" % ", ".join(sorted(systems))))
        for sname, sysd in sorted(systems.items()):
            loads = sysd.get("loads", {})
            bad = [k for k, v in loads.items() if v.get("status") != "ok"]
            out.append(("%s: every load ran (%d)" % (sname, len(loads)), len(loads) >= 6 and not bad,
                        "not ok: %s; %s" % (", ".join(bad), sysd.get("reason", ""))))
            if sname != "responder-caboose":
                pages = sysd.get("pages_checked") or {}
                out.append(("%s: served the Linux guest's files (sha256)" % sname, len(pages) == 3
                            and all(p.get("same_as_linux_guest_files") for p in pages.values()),
                            json.dumps(pages)[:300]))
        ratios = {c.get("key"): c for c in doc.get("ratios", [])}
        same = ratios.get("httpd_caboose_over_httpd_linux", {})
        out.append(("ratio table: apps/httpd Caboose / Linux first, with ratios",
                    doc.get("ratios", [{}])[0].get("key") == "httpd_caboose_over_httpd_linux"
                    and any(r.get("ratio") for r in same.get("rows", [])), json.dumps(same)[:300]))
        ng = ratios.get("nginx_caboose_over_nginx_linux", {})
        out.append(("ratio table: nginx Caboose / Linux (the same binary), with ratios",
                    ng.get("same_binary") and any(r.get("ratio") for r in ng.get("rows", [])),
                    json.dumps(ng)[:300]))
        dk = ratios.get("responder_disk_over_responder_memory", {})
        out.append(("ratio table: the responder from the ext3 disk / from memory, with ratios",
                    any(r.get("ratio") for r in dk.get("rows", [])), json.dumps(dk)[:300]))
    elif name == "sys":
        for sname, sysd in sorted(doc.get("systems", {}).items()):
            ops = sysd.get("ops", {})
            out.append(("%s: every operation measured (%d)" % (sname, len(ops)),
                        len(ops) == 7 and not sysd.get("problem") and
                        all(o.get("ticks", 0) > 0 for o in ops.values()),
                        "%s; %s" % (sysd.get("problem"), json.dumps(ops)[:300])))
        rows = doc.get("ops", [])
        out.append(("a ratio for every operation", len(rows) == 7 and
                    all(r.get("caboose_over_linux") for r in rows), json.dumps(rows)[:300]))
    elif name == "disk":
        for sname, sysd in sorted(doc.get("systems", {}).items()):
            jobs = sysd.get("jobs", {})
            out.append(("%s: every job ran (6)" % sname,
                        len(jobs) == 6 and not sysd.get("problem") and
                        all(j.get("rate", 0) > 0 for j in jobs.values()),
                        "%s; %s" % (sysd.get("problem"), json.dumps(jobs)[:300])))
            out.append(("%s: e2fsck -fn finds its image clean afterwards" % sname,
                        (sysd.get("fsck") or {}).get("clean") is True,
                        json.dumps(sysd.get("fsck"))[:300]))
        rows = doc.get("jobs", [])
        out.append(("a ratio for every job, both kernels read the same bytes", len(rows) == 6 and
                    all(r.get("caboose_over_linux") and r.get("same_bytes") for r in rows),
                    json.dumps(rows)[:300]))
        wr = {r.get("job"): {k: (r.get("io") or {}).get(k, {}).get("write_requests_per_op")
                             for k in ("caboose", "linux")} for r in rows}
        out.append(("the disk's write requests counted on both kernels (/proc/diskstats), "
                    "some for every writing job",
                    len(rows) == 6 and all(v["caboose"] is not None and v["linux"] is not None
                                           for v in wr.values()) and
                    all(wr.get(j, {}).get(k) for j in ("seqwrite", "create", "append")
                        for k in ("caboose", "linux")), json.dumps(wr)[:300]))
    return out


def tier_bench(res, opts, state):
    """Every benchmark of `make bench` with --quick, as `make bench QUICK=1`
    runs them: a broken benchmark fails here, not weeks later.  Figures are
    not checked (a loaded host makes them meaningless), only that each
    benchmark exits 0 and its JSON shows every load ran."""
    for name in ("boot", "nic", "net", "tcp", "run", "sys", "disk"):
        t0 = time.monotonic()
        log = os.path.join(opts.logs, "bench-%s.err" % name)
        try:
            with open(log, "w") as errf:
                p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", name), "--quick"],
                                   stdout=subprocess.PIPE, stderr=errf, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            res.add("bench %s --quick" % name, False, "no result in 600 s (log %s)" % log)
            continue
        try:
            doc = json.loads(p.stdout)
        except ValueError:
            doc = None
        tail = open(log, errors="replace").read().splitlines()[-15:]
        res.add("bench %s --quick: exit 0, one JSON document (%.0f s)" %
                (name, time.monotonic() - t0), p.returncode == 0 and doc is not None,
                "exit %d, log %s" % (p.returncode, log), tail)
        if doc is None:
            continue
        for check, ok, detail in bench_checks(name, doc):
            res.add("bench %s: %s" % (name, check), ok, detail)


def tier_layers(res, opts, state):
    """tools/check-layers over the tree, its test, the tests of
    tools/flamegraph, of tests/lib/netns.py (a stopped test leaves
    nothing running) and of run_criterion (how a Criterion run is read),
    and every tool's --help: each prints `ok NAME` or
    `FAIL NAME: detail` lines, one result each."""
    for tag, cmd in (("layers", [sys.executable, os.path.join(ROOT, "tools", "check-layers")]),
                     ("layers test", [sys.executable, os.path.join(ROOT, "tests", "tools",
                                                                   "test_check_layers.py")]),
                     ("flamegraph test", [sys.executable, os.path.join(ROOT, "tests", "tools",
                                                                       "test_flamegraph.py")]),
                     ("netns test", [sys.executable, os.path.join(ROOT, "tests", "tools",
                                                                  "test_netns.py")]),
                     ("criterion reading test", [sys.executable,
                                                 os.path.join(ROOT, "tests", "tools",
                                                              "test_run_criterion.py")]),
                     ("tools", [sys.executable, os.path.join(ROOT, "tests", "tools",
                                                             "test_help.py")])):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=ROOT, timeout=300)
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        for l in lines:
            name, _, detail = l.partition(" ")[2].partition(": ")
            res.add("%s %s" % (tag, name), l.startswith("ok "), detail)
        if not lines or p.returncode != (1 if any(l.startswith("FAIL") for l in lines) else 0):
            res.add(tag + " run", False, "exit status %d: %s" % (p.returncode, p.stderr[-800:]))


# ---------------------------------------------------------------------------
# Tier: user programs.  Each case: (name, init=, init.args=, -cpu, strings the
# output must hold in this order, strings it must not hold, init's exit code).
# With init.exit=qemu QEMU's status is (code << 1) | 1 (kernel/proc/init.c).
# ---------------------------------------------------------------------------
def user_case(name, init, args="", cpu="max", expect=(), forbid=(), code=0, smp=2):
    return dict(name=name, init=init, args=args, cpu=cpu, expect=list(expect),
                forbid=list(forbid) + ["panic:"], code=code, smp=smp)


def sysfuzz_case(seed, smp):
    """apps/tests/sysfuzz: seeded random system calls in forked children;
    children killed by signals are expected, the kernel must survive."""
    return user_case("sysfuzz seed %d, 1500 calls, %d CPU" % (seed, smp), "/tests/sysfuzz",
                     "%d,1500" % seed, smp=smp,
                     expect=["sysfuzz: seed %d, 1500 calls in 15 children" % seed,
                             "sysfuzz: children:",
                             "sysfuzz: after the run fork/exec/malloc/write ok",
                             ": no leak (bound 1024 kB)", "sysfuzz: 0 bad return values; done",
                             "proc: pid 1 (/tests/sysfuzz) exited with status 0"],
                     forbid=["FAILED", "oops", "BUG"])


def crash_case(how, log):
    return user_case("crash %s ends only its process" % how, "/tests/crash,/tests/hello", how,
                     expect=["crash: %s" % how, "proc: pid 1 (/tests/crash): " + log,
                             "proc: pid 1 (/tests/crash) killed by " + log.split(":")[0],
                             "hello, world", "proc: pid 2 (/tests/hello) exited with status 0"],
                     forbid=["crash: still alive"])


HELLO_OUT = ["hello, world", "formatted: 42 cafe 2.500",
             "proc: pid 1 (/tests/hello) exited with status 0"]
USER_CASES = [
    user_case("hello via printf (SMEP and SMAP on)", "/tests/hello",
              expect=["cpu: user mode by syscall/sysret; SMEP on, SMAP on"] + HELLO_OUT),
    user_case("hello on QEMU's default CPU (no SMEP, no SMAP)", "/tests/hello", cpu=None,
              expect=["SMEP off (the CPU lacks it), SMAP off (the CPU lacks it)"] + HELLO_OUT),
    user_case("argv, envp and auxv", "/tests/args", "one,two",
              expect=["argc=3", "argv[0]=/tests/args", "argv[1]=one", "argv[2]=two",
                      "env HOME=/", "env TERM=linux", "AT_PAGESZ=4096",
                      "AT_PHNUM ok=1", "AT_PHDR ok=1", "AT_ENTRY ok=1", "AT_RANDOM ok=1",
                      "AT_HWCAP sse2=1", "stack aligned=1",
                      "proc: pid 1 (/tests/args) exited with status 0"]),
    user_case("brk and mmap growth, touching memory", "/tests/mem",
              expect=["brk grows by 1 MiB: ok", "mmap 4 MiB: ok", "munmap the middle: ok",
                      "MAP_FIXED into the hole: ok", "malloc'd memory holds data: ok",
                      "mem: all ok", "proc: pid 1 (/tests/mem) exited with status 0"],
              forbid=["FAILED"]),
    user_case("bad pointers give EFAULT, unimplemented calls ENOSYS", "/tests/efault",
              expect=["write(1, (void *)1, 10) = -1 Bad address",
                      "write(1, kernel address, 10) = -1 Bad address",
                      "write(1, non-canonical, 10) = -1 Bad address",
                      "write(7, buf, 1) = -1 Bad file descriptor",
                      "clock_gettime(MONOTONIC, NULL) = -1 Bad address",
                      "clock_gettime(-5, &ts) = -1 Invalid argument",
                      "uname(kernel address) = -1 Bad address",
                      "getrandom(NULL, 16, 0) = -1 Bad address",
                      "rt_sigaction(SIGKILL, bad act) = -1 Bad address",
                      "rt_sigaction(SIGKILL, &act) = -1 Invalid argument",
                      "rt_sigprocmask(9, &set) = -1 Invalid argument",
                      "writev(1, bad iov, 1) = -1 Bad address",
                      "mmap(PROT_READ|PROT_WRITE, file 9) = -1 Bad file descriptor",
                      "arch_prctl(ARCH_SET_FS, kernel address) = -1 Operation not permitted",
                      "unimplemented 999 = -1 Function not implemented",
                      "unimplemented 400 = -1 Function not implemented",
                      "uname(&u) = 0", "machine=x86_64", "monotonic ok=1",
                      "getrandom(r, 32, 0) = 32", "pid=1 tid==pid=1", "efault: done",
                      "proc: pid 1 (/tests/efault) exited with status 0"]),
    user_case("calls Caboose lacks: ENOSYS, logged; /dev/null is no tty", "/tests/enosys",
              expect=["ioctl(/dev/null, TIOCGWINSZ, &ws) = -1 Not a tty",
                      "syscall: pid 1 (/tests/enosys) called 283, which Caboose lacks: -ENOSYS",
                      "timerfd_create = -1 Function not implemented",
                      "inotify_init1 = -1 Function not implemented",
                      "unimplemented 999 = -1 Function not implemented", "enosys: done",
                      "proc: pid 1 (/tests/enosys) exited with status 0"]),
    crash_case("segv", "SIGSEGV: write of unmapped address 0 at pc"),
    crash_case("read0", "SIGSEGV: read of unmapped address 0x8 at pc"),
    crash_case("fpe", "SIGFPE: divide error (#DE) at pc"),
    crash_case("ill", "SIGILL: invalid opcode (#UD) at pc"),
    crash_case("guard", "SIGSEGV: write of the stack guard gap"),
    crash_case("nx", "SIGSEGV: instruction fetch of a mapping that forbids it"),
    crash_case("kernel", "SIGSEGV: read of kernel address 0xffffffff80200000"),
    crash_case("text", "SIGSEGV: write of a mapping that forbids it"),
    sysfuzz_case(1, 1), sysfuzz_case(2, 2), sysfuzz_case(3, 2),
    user_case("a missing program is reported", "/tests/nothing", code=126,
              expect=["init: cannot run /tests/nothing: error -2 (not in the initial archive)"]),
]


def in_order(text, strings):
    pos = 0
    for s in strings:
        i = text.find(s, pos)
        if i < 0:
            return s
        pos = i + len(s)
    return None


def user_args(opts, cmdline, cpu, extra=(), smp=2):
    a = kernel_args(smp, accel_for(smp), cmdline, initrd=opts.initrd, kernel=opts.kernel)
    if cpu:
        a += ["-cpu", cpu]
    return a + list(extra)


def tier_user(res, opts, state):
    if not os.path.isfile(opts.initrd):
        res.add("user tier", False, "%s is missing (make user)" % os.path.relpath(opts.initrd, ROOT))
        return
    for i, c in enumerate(USER_CASES):
        name = "user %s" % c["name"]
        err("== %s" % name)
        cmdline = "console=ttyS0 panic=exit ip=off init=%s init.exit=qemu" % c["init"]
        if c["args"]:
            cmdline += " init.args=" + c["args"]
        b = qemu(user_args(opts, cmdline, c["cpu"], smp=c["smp"]),
                 os.path.join(opts.logs, "user-%d.log" % i),
                 opts.explicit_timeout, silence=opts.silence_timeout)
        problems = []
        text = b.text
        missing = in_order(text, c["expect"])
        if missing:
            problems.append("output lacks %r (in order)" % missing)
        for f in c["forbid"]:
            if f in text:
                problems.append("output has %r" % f)
        want = (c["code"] << 1) | 1
        if b.status != want:
            problems.append("%s, expected %d" % (b.status_str(), want))
        res.add(name, not problems, "; ".join(problems), b.tail() if problems else None)
    user_repl(res, opts)
    user_file_maps(res, opts)
    user_fuzz_baseline(res, opts)
    user_vs_linux(res, opts)
    user_tty(res, opts)
    user_iperf3(res, opts)


def user_tty(res, opts):
    """Debian's busybox sh interactive on the console tty through a socket
    chardev, on Caboose and on the Linux guest (tests/integration/
    tty_test.py): echo, editing, canonical mode, ^C, ^D."""
    err("== user interactive busybox sh on the console tty")
    kernel, why = linux_guest_kernel(opts)
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import tty_test
    for name, ok, detail in tty_test.run_all(opts.logs, opts.kernel, kernel, opts.initrd):
        res.add("user tty " + name, ok, detail)


def user_iperf3(res, opts):
    """Debian's dynamically linked iperf3 -s on Caboose against the host's
    iperf3 -c in a namespace (tests/integration/iperf3_dyn_test.py; needs
    root)."""
    err("== user iperf3 (Debian's, dynamically linked) on Caboose")
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import iperf3_dyn_test
    for name, ok, detail in iperf3_dyn_test.run_all(opts.logs, opts.kernel):
        res.add("user " + name, ok, detail)


# The same binaries on Linux (the guest bench/linux-guest builds from Debian's
# kernel package) and on Caboose, each as the first and only program (rdinit=
# and init=); their output and how they ended must be the same. Caboose runs
# them with 2 CPUs, or with the CPUs a third element names (a fourth,
# "nonic", boots Caboose without a NIC, as the Linux guest is: loopback must
# work with no interface at all); the thread tests
# run with both, built with musl and with glibc (NAME-glibc). NAME-dyn: built
# with gcc against glibc dynamically, run by Debian's ld.so and libc6 from the
# archive; sh/coreutils.sh runs Debian's dynamically linked ls, sha256sum,
# sort and date unchanged from their .debs (tools/debroot.py); interp: execve
# of programs naming good and bad interpreters.
DIFF_PROGRAMS = [("hello", ""), ("args", "one,two"), ("bigargs", ""), ("mem", ""), ("efault", ""),
                 ("files", ""), ("pipe", ""), ("procs", ""),
                 ("threads", ""), ("threads", "", 1), ("threads-glibc", ""),
                 ("threads-glibc", "", 1), ("futex", ""), ("futex", "", 1),
                 ("futex-glibc", ""), ("spawn", ""), ("spawn-glibc", ""), ("spawn", "", 1), ("procfs", ""), ("attrs", ""),
                 ("sockets", ""), ("sockets", "", 2, "nonic"), ("unixgc", ""), ("unixgc", "", 1), ("fifo", ""), ("fifo", "", 1), ("itimer", ""), ("itimer", "", 1), ("clock", ""), ("clock", "", 1), ("epoll", ""), ("tty", ""), ("epoll", "", 1), ("sigwait", ""),
                 ("daemon", ""),
                 ("sigwait", "", 1),
                 ("interp", ""), ("mmapfile", ""), ("mmapshared", ""), ("mmapshared", "", 1), ("vdso", ""), ("hello-dyn", ""),
                 ("args-dyn", "one,two"),
                 ("procs-dyn", ""), ("threads-dyn", ""), ("threads-dyn", "", 1),
                 ("sh/coreutils.sh", ""),
                 ("sh/busybox-c.sh", ""), ("sh/busybox-script.sh", ""), ("crash", "segv"), ("crash", "fpe"), ("crash", "ill"), ("crash", "guard"),
                 ("sysfuzz", "1,1500"), ("sysfuzz", "2,1500"), ("perms", ""), ("jobs", ""),
                 ("clone", ""), ("clone", "", 1), ("sigio", ""), ("sigio", "", 1)]
# random calls: Linux's and Caboose's outputs differ; only the status is compared
STATUS_ONLY = {"sysfuzz"}
LINUX_EXIT_RE = re.compile(r"Attempted to kill init! exitcode=0x([0-9a-fA-F]+)")
BOOT_NOISE = ("SeaBIOS", "caboose: starting", "iPXE", "Press Ctrl-B")


def program_lines(lines):
    """What the program printed: every line but the kernels' logs and the
    firmware's banners (Caboose runs with loglevel=2, so no log line splits
    one of the program's)."""
    out = []
    for l in lines[1:]:   # the first is the QEMU command
        # SeaBIOS ends its last line without a newline
        l = re.sub(r"^Booting from ROM\.*", "", l)
        if not l.strip() or re.match(r"\s*\[\s*\d+\.\d+\]", l) or l.startswith(BOOT_NOISE):
            continue
        if l.startswith("---[ end Kernel panic"):
            break
        out.append(l)
    return out


def linux_guest_kernel(opts):
    kernel = os.path.join(opts.build, "linux-guest", "vmlinuz")
    if os.path.isfile(kernel):
        return kernel, ""
    err("   building the Linux guest (bench/linux-guest: Debian's kernel package)")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "linux-guest")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=900)
    if p.returncode != 0 or not os.path.isfile(kernel):
        return None, "bench/linux-guest failed: " + p.stderr[-600:]
    return kernel, ""


def user_vs_linux(res, opts):
    kernel, why = linux_guest_kernel(opts)
    for entry in DIFF_PROGRAMS:
        prog, args = entry[:2]
        smp = entry[2] if len(entry) > 2 else 2
        nonic = entry[3:4] == ("nonic",)
        name = "user same output as Linux: %s%s%s%s" % (prog, " " + args if args else "",
                                                        " (%d CPU)" % smp if smp != 2 else "",
                                                        " (no NIC)" if nonic else "")
        err("== %s" % name)
        if not kernel:
            res.add(name, False, why)
            continue
        tag = prog.replace("/", "-") + ("-" + args.replace(",", "-") if args else "") + \
            ("-smp%d" % smp if smp != 2 else "") + ("-nonic" if nonic else "")
        lx = qemu(["-accel", "tcg", "-m", MEM, "-nographic", "-no-reboot", "-nic", "none",
                   "-kernel", kernel, "-initrd", opts.initrd, "-append",
                   "console=ttyS0 quiet panic=-1 no_timer_check rdinit=/tests/%s%s"
                   % (prog, " -- " + args.replace(",", " ") if args else "")],
                  os.path.join(opts.logs, "user-linux-%s.log" % tag), opts.explicit_timeout,
                  stop_when=r"---\[ end Kernel panic")
        cb_args = user_args(opts, "console=ttyS0 loglevel=2 panic=exit ip=off init=/tests/%s "
                            "init.exit=qemu%s" % (prog, " init.args=" + args if args else ""),
                            "max", smp=smp)
        if nonic:   # as the Linux guest boots: loopback with no interface at all
            i = cb_args.index("-netdev")
            cb_args = cb_args[:i] + cb_args[i + 4:] + ["-nic", "none"]
        cb = qemu(cb_args, os.path.join(opts.logs, "user-caboose-%s.log" % tag),
                  opts.explicit_timeout)
        problems = []
        m = LINUX_EXIT_RE.search(lx.text)
        if not m:
            problems.append("Linux: no exit status (%s)" % lx.status_str())
            lx_end = None
        else:
            st = int(m.group(1), 16)
            lx_end = "exit %d" % (st >> 8) if st & 0x7f == 0 else "signal %d" % (st & 0x7f)
        cb_end = None
        if cb.status is None or cb.status < 0 or not cb.status & 1:
            problems.append("Caboose: %s" % cb.status_str())
        else:
            code = cb.status >> 1
            cb_end = "signal %d" % (code - 64) if 64 < code < 126 else "exit %d" % code
        if lx_end and cb_end and lx_end != cb_end:
            problems.append("Linux: %s, Caboose: %s" % (lx_end, cb_end))
        a, b = program_lines(lx.lines), program_lines(cb.lines)
        if prog in STATUS_ONLY:
            if not lx_end or not a or not b:
                problems.append("no output or status on Linux or Caboose")
        elif a != b:
            import difflib
            d = list(difflib.unified_diff(a, b, "linux", "caboose", lineterm="", n=1))
            problems.append("outputs differ:\n" + "\n".join(d[:40]))
        elif not a:
            problems.append("no output on either")
        res.add(name, not problems, "; ".join(problems))


def user_boot_with_repl(opts, name, init):
    """Caboose with the user tier's initrd and 2 CPUs running `init` (the
    init= and init.args= words), COM1 to LOGS/NAME.log, the REPL on the
    unix socket LOGS/NAME.sock (both removed first): (QEMU, socket, log)."""
    sock = os.path.join(opts.logs, name + ".sock")
    log = os.path.join(opts.logs, name + ".log")
    for f in (sock, log):
        if os.path.exists(f):
            os.unlink(f)
    a = kernel_args(2, accel_for(2), "console=ttyS0 panic=exit ip=off " + init,
                    initrd=opts.initrd, kernel=opts.kernel)
    a = [x for x in a if x != "-nographic"]
    a += ["-cpu", "max", "-display", "none", "-serial", "file:" + log,
          "-chardev", "socket,id=repl,path=%s,server=on,wait=off" % sock, "-serial", "chardev:repl"]
    proc = subprocess.Popen([QEMU] + a, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
    LIVE[proc.pid] = (proc, False)
    return proc, sock, log


def console_until(proc, log, pattern, timeout):
    """Wait for pattern in the console log (ANSI sequences removed) while
    QEMU runs: (found, the console's text)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(log):
            with open(log, "rb") as f:
                text = ANSI_RE.sub("", f.read().decode("utf-8", "replace"))
            if pattern in text:
                return True, text
        time.sleep(0.2)
    return False, text


def user_repl(res, opts):
    """After programs ran, and while a third waits on the console, the REPL
    still answers: syscalls counts what they did, ps shows the live one."""
    name = "user REPL ps and syscalls after programs ran"
    err("== %s" % name)
    proc, sock, log = user_boot_with_repl(opts, "user-repl",
                                          "init=/tests/efault,/tests/crash,/tests/wait")
    problems = []
    try:
        _, text = console_until(proc, log, "wait: reading", opts.explicit_timeout)
        if "killed by SIGSEGV" not in text or "wait: reading" not in text:
            problems.append("the programs did not run (the third waits on the console)")
        else:
            p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "repl.py"), sock,
                                "-c", "json syscalls", "-c", "json ps"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=60)
            docs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
            if len(docs) != 2 or not all(d.get("ok") for d in docs):
                problems.append("REPL answers: %r %r" % (p.stdout[-400:], p.stderr[-400:]))
            else:
                rows = {}
                for r in docs[0].get("syscalls", []):
                    rows[r.get("name")] = r
                for n in ("write", "writev", "exit_group", "uname", "getrandom"):
                    if n not in rows:
                        problems.append("syscalls lacks %s" % n)
                if not any(r.get("nr") == 999 and r.get("name") == "ENOSYS"
                           for r in docs[0].get("syscalls", [])):
                    problems.append("syscalls lacks 999 as ENOSYS")
                if rows.get("write", {}).get("errors", 0) < 3:
                    problems.append("write errors not counted: %r" % rows.get("write"))
                procs = docs[1].get("processes", [])
                if len(procs) != 1 or procs[0].get("pid") != 3 or \
                        procs[0].get("name") != "/tests/wait" or \
                        procs[0].get("state") != "running" or not procs[0].get("pages"):
                    problems.append("ps should list /tests/wait alone, running, with its "
                                    "pages (the others ended): %r" % procs)
    finally:
        kill_child(proc)
    res.add(name, not problems, "; ".join(problems))


FUZZ_SLAB_BOUND = 8      # objects (a call leaking one each time: about 17 in 6,000 calls)
FUZZ_PAGE_BOUND = 256    # pages (1 MiB), sysfuzz's own bound on MemFree


def repl_json(sock, *cmds):
    """The REPL's JSON answers to cmds (tools/repl.py over the socket), one
    document each; a RuntimeError when one is missing or not ok."""
    argv = [sys.executable, os.path.join(ROOT, "tools", "repl.py"), sock]
    for c in cmds:
        argv += ["-c", "json " + c]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    docs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    if len(docs) != len(cmds) or not all(d.get("ok") for d in docs):
        raise RuntimeError("REPL answers to %r: %r %r" % (cmds, p.stdout[-400:], p.stderr[-400:]))
    return docs


def user_file_maps(res, opts):
    """Libraries are mapped, not copied: Debian's ld.so maps libc and
    friends (MAP_PRIVATE) as the RAM file's own pages. hello-dyn runs as
    init, then again through the REPL's run: vm.file_copies stays 0 and
    vm.file_map_pages grows by at least 100 pages for the second run."""
    name = "user dynamic program: its libraries' pages mapped, none copied (REPL counters)"
    err("== %s" % name)
    proc, sock, log = user_boot_with_repl(opts, "user-filemaps", "init=/tests/hello-dyn")
    problems = []

    def counters():
        rows = repl_json(sock, "counters vm.file")[0].get("counters", [])
        return {r.get("name"): r.get("value") for r in rows}

    try:
        ok, text = console_until(proc, log, "init: /tests/hello-dyn ended with code",
                                 opts.explicit_timeout)
        if not ok or "hello, world" not in text:
            problems.append("the first run: %r" % text[-300:])
        else:
            a = counters()
            pid = repl_json(sock, "run /tests/hello-dyn")[0]["run"]["pid"]
            end = "init: /tests/hello-dyn (pid %d) ended with code 0" % pid
            ok, text = console_until(proc, log, end, opts.explicit_timeout)
            b = counters()
            err("user file maps: %r -> %r" % (a, b))
            if not ok:
                problems.append("the second run (pid %d) did not end with code 0" % pid)
            if a.get("vm.file_copies") != 0 or b.get("vm.file_copies") != 0:
                problems.append("pages copied: vm.file_copies %r, then %r"
                                % (a.get("vm.file_copies"), b.get("vm.file_copies")))
            grew = (b.get("vm.file_map_pages") or 0) - (a.get("vm.file_map_pages") or 0)
            if grew < 100:
                problems.append("vm.file_map_pages grew by %d for the second run" % grew)
    except Exception as e:  # noqa: BLE001 - a harness failure is this check's failure
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        kill_child(proc)
    res.add(name, not problems, "; ".join(problems))


def user_fuzz_baseline(res, opts):
    """sysfuzz twice in one boot, the second time (four times the calls)
    started by the REPL's run once the first has ended: after the second
    has ended and what it left settles (its waiting thread and its
    children's stacks go back through the reaper), the slab objects in use
    and the free pages that the REPL's slab and mem report are back where
    the first left them (issue 12: the kernel's pages and slab objects
    return to their baseline, checked through the REPL). The first run
    warms the caches (procfs slots, descriptors' slabs)."""
    name = "user sysfuzz twice: slab objects and pages back to the first run's (REPL)"
    err("== %s" % name)
    proc, sock, log = user_boot_with_repl(opts, "user-fuzzbase",
                                          "init=/tests/sysfuzz init.args=4,1500")
    problems = []

    def repl(*cmds):
        return repl_json(sock, *cmds)

    def snapshot():
        slab, mem = repl("slab", "mem")
        return sum(r.get("inuse", 0) for r in slab.get("slab", [])), mem["pages"]["free"]

    try:
        ok, text = console_until(proc, log, "init: /tests/sysfuzz ended with code",
                                 opts.explicit_timeout)
        if not ok or "init: /tests/sysfuzz ended with code 0" not in text:
            problems.append("the first run did not end with code 0: %r" % text[-300:])
        else:
            objs_a, free_a = snapshot()
            pid = repl("run /tests/sysfuzz 4 6000")[0]["run"]["pid"]
            end = "init: /tests/sysfuzz (pid %d) ended with code" % pid
            ok, text = console_until(proc, log, end, opts.explicit_timeout)
            if not ok or (end + " 0") not in text:
                problems.append("the second run (pid %d) did not end with code 0: %r"
                                % (pid, text[-300:]))
            else:
                settle = time.monotonic() + 10
                objs_b, free_b = snapshot()
                while (objs_b - objs_a > FUZZ_SLAB_BOUND or free_a - free_b > FUZZ_PAGE_BOUND) \
                        and time.monotonic() < settle:
                    time.sleep(0.5)
                    objs_b, free_b = snapshot()
                err("user fuzz baseline: slab objects %d -> %d, free pages %d -> %d"
                    % (objs_a, objs_b, free_a, free_b))
                if objs_b - objs_a > FUZZ_SLAB_BOUND:
                    problems.append("slab objects in use %d after the first run, %d after the "
                                    "second (bound +%d)" % (objs_a, objs_b, FUZZ_SLAB_BOUND))
                if free_a - free_b > FUZZ_PAGE_BOUND:
                    problems.append("free pages %d after the first run, %d after the second "
                                    "(bound -%d)" % (free_a, free_b, FUZZ_PAGE_BOUND))
        if "panic:" in text:
            problems.append("panic")
    except (RuntimeError, KeyError, subprocess.TimeoutExpired) as e:
        problems.append(str(e))
    finally:
        kill_child(proc)
    res.add(name, not problems, "; ".join(problems))


# ---------------------------------------------------------------------------
TIERS = [("layers", tier_layers), ("host", tier_host), ("httpd", tier_httpd), ("ktest", tier_ktest),
         ("explicit", tier_explicit), ("boot", tier_boot), ("smoke", tier_smoke), ("repl", tier_repl),
         ("blk", tier_blk), ("nic", tier_nic), ("net", tier_net), ("tcp", tier_tcp),
         ("hostile", tier_hostile), ("matrix", tier_matrix), ("soak", tier_soak),
         ("user", tier_user), ("bench", tier_bench), ("fuzz", tier_fuzz)]


def env_float(name, default):
    v = os.environ.get(name)
    return float(v) if v else default


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--tiers", default=os.environ.get("CABOOSE_TEST_TIERS", "all"),
                    help="comma-separated subset of: %s (default all)"
                    % ", ".join(t for t, _ in TIERS))
    ap.add_argument("--timeout", type=float,
                    default=env_float("CABOOSE_TEST_TIMEOUT", 300))
    ap.add_argument("--silence-timeout", type=float,
                    default=env_float("CABOOSE_TEST_SILENCE_TIMEOUT", 150))
    ap.add_argument("--explicit-timeout", type=float,
                    default=env_float("CABOOSE_TEST_EXPLICIT_TIMEOUT", 120))
    ap.add_argument("--boot-timeout", type=float,
                    default=env_float("CABOOSE_TEST_BOOT_TIMEOUT", 90))
    ap.add_argument("--host-timeout", type=float,
                    default=env_float("CABOOSE_TEST_HOST_TIMEOUT", 1200))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--kernel", default=None, help="default BUILD/caboose.elf")
    ap.add_argument("--iso", default=None, help="default BUILD/caboose.iso")
    ap.add_argument("--initrd", default=None, help="default BUILD/user/initrd.cpio")
    ap.add_argument("--host-unit", default=None, help="default BUILD/host/unit")
    ap.add_argument("--loadgen-unit", default=None, help="default BUILD/host/loadgen-unit")
    opts = ap.parse_args()
    opts.build = os.path.abspath(opts.build)
    opts.kernel = os.path.abspath(opts.kernel or os.path.join(opts.build, "caboose.elf"))
    opts.iso = os.path.abspath(opts.iso or os.path.join(opts.build, "caboose.iso"))
    opts.host_unit = os.path.abspath(opts.host_unit or os.path.join(opts.build, "host", "unit"))
    opts.initrd = os.path.abspath(opts.initrd or os.path.join(opts.build, "user", "initrd.cpio"))
    opts.loadgen_unit = os.path.abspath(opts.loadgen_unit or
                                        os.path.join(opts.build, "host", "loadgen-unit"))
    opts.logs = os.path.join(opts.build, "test-logs")
    wanted = [t for t, _ in TIERS] if opts.tiers == "all" else opts.tiers.split(",")
    unknown = set(wanted) - {t for t, _ in TIERS}
    if unknown:
        ap.error("unknown tier(s): %s" % ", ".join(sorted(unknown)))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    shutil.rmtree(opts.logs, ignore_errors=True)
    os.makedirs(opts.logs)
    # one image for the whole run, kept beside its logs
    for attr in ("kernel", "iso", "initrd"):
        src = getattr(opts, attr)
        if os.path.isfile(src):
            dst = os.path.join(opts.logs, os.path.basename(src))
            shutil.copy(src, dst)
            setattr(opts, attr, dst)
    res = Results()
    state = {}
    t0 = time.monotonic()
    try:
        for tname, fn in TIERS:
            if tname not in wanted:
                continue
            if tname in ("ktest", "explicit", "boot", "smoke", "repl", "nic", "net", "tcp",
                         "hostile", "matrix", "soak", "user", "bench") and \
                    not os.path.isfile(opts.kernel):
                res.add(tname, False, "%s is missing (make)" % os.path.relpath(opts.kernel, ROOT))
                continue
            try:
                fn(res, opts, state)
            except Exception as e:  # a runner bug must not look like success
                import traceback
                traceback.print_exc()
                res.add("%s tier" % tname, False, "test runner error: %r" % e)
    finally:
        kill_all_children()
    err("== %.0f s in all; logs in %s" % (time.monotonic() - t0, os.path.relpath(opts.logs, ROOT)))
    if res.failures:
        err("failed:")
        for n in res.failures:
            err("  " + n)
    sys.stdout.write("%d passed, %d failed\n" % (res.passed, res.failed))
    sys.stdout.flush()
    return 0 if res.failed == 0 and res.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
