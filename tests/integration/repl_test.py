#!/usr/bin/python3
"""REPL tests (issue 3): drive the kernel REPL on the guest's second serial
port (a unix socket chardev) and check every command's output, in live mode
and while frozen, during a CPU-heavy in-kernel workload; the sampling
profiler's commands against the same workload; then a fuzz run of random
bytes and overlong lines.

Usable alone:  python3 tests/integration/repl_test.py [--seed N]
or from tests/run.py through run_all(), which returns (name, ok, detail)
results. Progress goes to stderr.
"""
import os
import random
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.lib.log import log  # noqa: E402
from tests.lib.guest import Guest, PROMPT  # noqa: E402
from tests.lib.results import Results  # noqa: E402
KERNEL = os.path.join(ROOT, "build", "caboose.elf")   # tests/run.py sets it


def progress(g):
    return g.json("x/1g kt_workload_progress")["memory"]["values"][0]


def check_all_commands(g, r, mode, smp):
    """Every command, human and JSON, with checks on what it says."""
    h = g.cmd("help")
    r.check(mode + " help lists commands",
            all(c in h for c in ("threads", "runq", "mem", "slab", "irq", "counters", "x ",
                                 "w ", "bt", "freeze", "thaw", "loglevel", "settings", "uptime")),
            h[:300])
    j = g.json("help")
    r.check(mode + " json help", j["ok"] and len(j["commands"]) >= 15, str(j)[:200])

    j = g.json("uptime")
    r.check(mode + " uptime", j["ok"] and j["uptime"]["cpus_online"] == smp
            and j["uptime"]["uptime_ms"] > 0
            and j["uptime"]["frozen"] == ("yes" if mode == "frozen" else "no"), str(j))
    r.check(mode + " uptime human", "uptime_ms" in g.cmd("uptime"))

    j = g.json("threads")
    names = [t["name"] for t in j["threads"]]
    repl = [t for t in j["threads"] if t["name"] == "repl"]
    workers = [t for t in j["threads"] if t["name"] == "kt_worker"]
    r.check(mode + " threads", j["ok"] and repl and "F" in repl[0]["flags"]
            and repl[0]["state"] == "running" and len(workers) == 2 * smp
            and all(isinstance(t["runtime_us"], int) for t in j["threads"]), str(names))
    if mode == "frozen":
        r.check("frozen threads: no worker running",
                all(t["state"] != "running" for t in workers), str(workers))
    r.check(mode + " threads human", "wait" in g.cmd("threads"))

    j = g.json("runq")
    rows = j["runq"]
    r.check(mode + " runq", j["ok"] and len(rows) == smp
            and all(k in rows[0] for k in ("runnable", "steals", "stolen", "idle", "frozen")),
            str(j)[:300])
    if mode == "frozen":
        others = [row for row in rows if row["current"] != "repl"]
        r.check("frozen runq: other CPUs frozen",
                len(others) >= smp - 1 and all(row["frozen"] == "yes" for row in others),
                str(rows))
    r.check(mode + " runq human", "steals" in g.cmd("runq"))

    j = g.json("mem")
    p = j["pages"]
    r.check(mode + " mem", j["ok"] and 0 < p["free"] <= p["total"]
            and p["used"] == p["total"] - p["free"] and len(j["cpu_caches"]) == smp
            and len(j["free_blocks"]) == 11 and p["kernel_stacks"] > 0, str(p))

    j = g.json("slab")
    caches = {c["cache"]: c for c in j["slab"]}
    r.check(mode + " slab", j["ok"] and "kmalloc-64" in caches and "thread" in caches
            and caches["thread"]["inuse"] >= 3, str(list(caches))[:200])

    j = g.json("irq")
    vec = {v["vector"]: v for v in j["irq"]}
    r.check(mode + " irq", j["ok"] and 224 in vec and vec[224]["total"] > 0
            and ("cpu%d" % (smp - 1)) in vec[224], str(j)[:300])

    j = g.json("counters")
    ctr = {c["name"]: c["value"] for c in j["counters"]}
    r.check(mode + " counters", j["ok"] and ctr.get("sched.context_switches", 0) > 0
            and ctr.get("repl.lines", 0) > 0 and "page.free" in ctr, str(ctr)[:300])
    j = g.json("counters repl.")
    r.check(mode + " counters prefix", all(c["name"].startswith("repl.") for c in j["counters"])
            and len(j["counters"]) == 4, str(j))

    j = g.json("gc")
    g0 = j.get("gc", {})
    r.check(mode + " gc", j["ok"] and g0.get("heap_max", 0) > 0
            and all(k in g0 for k in ("collections", "pause_p99_ns", "pause_max_ns", "live_bytes",
                                      "heap_bytes", "headroom_pct", "alloc_bytes_per_s",
                                      "reservation_waits", "mark_last_ns")), str(j)[:300])
    j = g.json("gc collect")
    if mode == "frozen":
        r.check("frozen gc collect refused", not j["ok"] and "frozen" in j.get("error", ""),
                str(j)[:300])
    else:
        r.check("live gc collect", j["ok"] and j["gc"]["collections"] > g0["collections"]
                and j["gc"]["pauses"] >= 2 * j["gc"]["collections"], str(j)[:300])
    r.check(mode + " gc human", "pause_max_ns" in g.cmd("gc"))
    j = g.json("counters gc.")
    ctr = {c["name"]: c["value"] for c in j["counters"]}
    r.check(mode + " gc counters", j["ok"] and "gc.collections" in ctr
            and "gc.pause_p99_ns" in ctr and ctr.get("gc.heap_max", 0) == g0.get("heap_max"),
            str(ctr)[:300])

    j = g.json("settings")
    given = {s["option"]: s["value"] for s in j["given"]}
    r.check(mode + " settings", j["ok"] and given.get("ktest") == "repl_workload"
            and any(o["option"] == "smp" for o in j["options"]), str(j)[:300])

    j = g.json("loglevel")
    r.check(mode + " loglevel", j["ok"] and j["loglevel"]["level"] == 3, str(j))
    j = g.json("loglevel 4")
    r.check(mode + " loglevel set", j["ok"] and j["loglevel"]["level"] == 4, str(j))
    g.json("loglevel 3")

    j = g.json("x/1g kt_workload_target")
    r.check(mode + " x symbol", j["ok"] and j["memory"]["values"] == [3000000000], str(j))
    out = g.cmd("x/4x boot_tsc0")
    r.check(mode + " x human", "<boot_tsc0+0x0>:" in out, out)
    j = g.json("x/2w kt_workload_target+4")
    r.check(mode + " x offset", j["ok"] and j["memory"]["unit"] == 4, str(j))
    j = g.json("x/1g 0x10")
    r.check(mode + " x unmapped refused", not j["ok"] and "not mapped" in j["error"], str(j))
    j = g.json("x/256g 0xfffffffffffffff8")   # the range wraps past the top
    r.check(mode + " x wrapping range refused", not j["ok"] and "not mapped" in j["error"], str(j))

    # the first device window is the local APIC: reading registers can have
    # effects, so the REPL refuses
    j = g.json("x/1w 0xffffd00000000000")
    r.check(mode + " x device memory refused", not j["ok"] and "device memory" in j["error"], str(j))

    value = 0x1234 if mode == "live" else 0x5678
    j = g.json("w kt_repl_scratch %#x" % value)
    back = g.json("x/1g kt_repl_scratch")
    r.check(mode + " w then x", j["ok"] and back["memory"]["values"] == [value], str(back))
    j = g.json("w _text_start 1")
    r.check(mode + " w text refused", not j["ok"] and "not writable" in j["error"], str(j))
    j = g.json("w 0x10 1")
    r.check(mode + " w unmapped refused", not j["ok"] and "not mapped" in j["error"], str(j))

    threads = g.json("threads")["threads"]
    blocked = [t for t in threads if t["state"] == "blocked"]
    target = blocked[0] if blocked else None
    if mode == "frozen":
        target = next((t for t in threads if t["name"] == "kt_worker"), target)
    j = g.json("bt %d" % target["id"]) if target else {"ok": False}
    frames = j.get("backtrace", [])
    r.check(mode + " bt", j["ok"] and len(frames) >= 2
            and all("+0x" in f["symbol"] for f in frames), str(j)[:400])
    out = g.cmd("bt %d" % target["id"]) if target else ""
    r.check(mode + " bt human", "symbol" in out, out[:200])
    j = g.json("bt 999999")
    r.check(mode + " bt missing thread", not j["ok"] and "no thread" in j["error"], str(j))

    # bad input to commands
    out = g.cmd("nosuchcommand")
    r.check(mode + " unknown command", "error: unknown command 'nosuchcommand'" in out, out)
    out = g.cmd("x/1g zz9")
    r.check(mode + " bad symbol", "error: no symbol 'zz9'" in out, out)
    out = g.cmd("loglevel 99")
    r.check(mode + " bad number", "error: bad log level" in out, out)
    out = g.cmd("x/999g kt_repl_scratch")
    r.check(mode + " bad count", "error: count 999 out of range" in out, out)


def test_live_and_frozen(logdir, smp=2):
    r = Results("repl[smp=%d] " % smp)
    g = Guest(logdir, "repl-smp%d" % smp, smp, "console=ttyS0 ktest=repl_workload", KERNEL)
    try:
        g.read_until(PROMPT, 60)
        start = time.time()
        while progress(g) == 0 and time.time() - start < 30:
            time.sleep(0.2)
        r.check("workload started", progress(g) > 0)
        check_all_commands(g, r, "live", smp)

        before = progress(g)
        r.check("workload unfinished before freeze", before < 3000000000, str(before))
        j = g.json("freeze")
        r.check("freeze", j["ok"] and j["freeze"]["frozen"] == "yes", str(j))
        a = progress(g)
        time.sleep(1.5)
        b = progress(g)
        r.check("no progress while frozen", a == b, "%d -> %d" % (a, b))
        check_all_commands(g, r, "frozen", smp)
        c = progress(g)
        r.check("still no progress after frozen commands", c == a, "%d -> %d" % (a, c))
        j = g.json("thaw")
        r.check("thaw", j["ok"] and j["thaw"]["was_frozen"] == "yes", str(j))
        time.sleep(1.0)
        d = progress(g)
        r.check("progress after thaw", d > c, "%d -> %d" % (c, d))
        status = g.wait_exit(240)
        text = g.console_text()
        r.check("workload finishes after thaw",
                status == 1 and "ktest: PASS repl_workload" in text,
                "exit %s; console tail %r" % (status, text[-400:]))
        r.check("no panic", "panic:" not in text, text[-400:])
    except Exception as e:  # a crash of the harness is a failure, not a skip
        r.check("harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        g.close()
    return r.items


def test_fuzz(logdir, seed=1234, smp=2):
    r = Results("repl-fuzz ")
    rng = random.Random(seed)
    g = Guest(logdir, "repl-fuzz", smp, "console=ttyS0", KERNEL)
    try:
        g.read_until(PROMPT, 60)
        for _ in range(40):
            n = rng.randint(1, 600)
            junk = bytes(rng.randint(0, 255) for _ in range(n))
            g.send(junk)
            time.sleep(0.01)
        g.send(b"A" * 5000 + b"\r")
        g.send(b"threads \x00\x01\xff garbage\r")
        g.send(b"\x1b[A\x1b[B\x7f\x7f\x08\r")
        g.send(b"\x03")
        time.sleep(0.5)
        # resynchronise: the garbage overflowed the input ring (dropped and
        # counted), which may have swallowed our own Ctrl-C; so cancel, let
        # the replies come out, and try again until a command answers
        ok = None
        for attempt in range(5):
            g.send(b"\x03")
            g.drain()
            try:
                ok = g.json("uptime", timeout=20)
                break
            except (ValueError, TimeoutError) as e:
                log("no answer after garbage (attempt %d): %s" % (attempt + 1, e))
        r.check("answers after garbage", ok is not None and ok["ok"]
                and ok["uptime"]["cpus_online"] == smp, str(ok))
        out = g.cmd("A" * 300)
        r.check("overlong line refused", "error: line too long" in out, out[:200])
        g.send(b"uptime \x01\r")
        out = g.read_until(PROMPT, 10)
        r.check("unprintable byte refused", "error: line has an unprintable byte 0x01" in out,
                out[:200])
        j = g.json("counters repl.")
        ctr = {c["name"]: c["value"] for c in j["counters"]}
        r.check("refusals counted", ctr.get("repl.lines_refused", 0) >= 2, str(ctr))
        j = g.json("threads")
        r.check("kernel alive after fuzz", j["ok"] and any(t["name"] == "repl" for t in j["threads"]))
        text = g.console_text()
        r.check("no panic after fuzz", "panic:" not in text, text[-400:])
    except Exception as e:
        r.check("harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        g.close()
    return r.items


FOLDED_RE = re.compile(r"^([^ ;][^ ]*) (\d+)$")


def folded_lines(text):
    """[(frames, count)] of `profile folded` output; raises on a bad line."""
    out = []
    for line in text.split("\n"):
        m = FOLDED_RE.match(line.strip("\r"))
        if not m or any(not f for f in m.group(1).split(";")):
            raise ValueError("not a folded stack: %r" % line[:200])
        out.append((m.group(1).split(";"), int(m.group(2))))
    return out


def profile_round(g, r, label, hz, seconds):
    """Start, wait, stop; check that top, folded and the status agree.
    Returns (top rows, samples)."""
    j = g.json("profile start %d" % hz)
    r.check(label + " start", j["ok"] and j["profile"]["hz"] == hz, str(j))
    time.sleep(seconds)
    j = g.json("profile")
    r.check(label + " running", j["ok"] and j["profile"]["running"] == "yes", str(j))
    j = g.json("profile stop")
    st = j.get("profile", {})
    r.check(label + " stop", j["ok"] and st.get("running") == "no" and st.get("samples", 0) > 0,
            str(j))
    samples = st.get("samples", 0)
    # no more than the rate allows over the time it ran: a restart that kept
    # the last profile's counts, or a CPU sampled twice a tick, would break it
    bound = hz * len(j.get("cpus", [])) * (st.get("duration_ms", 0) / 1000.0 + 0.2)
    r.check(label + " within the rate", 0 < samples <= bound,
            "%d samples, bound %.0f: %s" % (samples, bound, j))
    r.check(label + " nothing dropped", st.get("dropped") == 0, str(j))
    r.check(label + " per-CPU samples add up",
            sum(c["samples"] for c in j.get("cpus", [])) == samples, str(j))
    top = g.json("profile top 10")
    rows = top.get("top", [])
    r.check(label + " top", top["ok"] and 0 < len(rows) <= 10
            and top["summary"]["samples"] == samples
            and all(a["self"] >= b["self"] for a, b in zip(rows, rows[1:]))
            and all(x["total"] >= x["self"] for x in rows), str(top)[:400])
    try:
        lines = folded_lines(g.cmd("profile folded"))
        total = sum(n for _, n in lines)
        stacks = ["".join(f) for f, _ in lines]
        r.check(label + " folded adds up", total == samples and len(set(stacks)) == len(stacks),
                "folded %d, samples %d, %d lines" % (total, samples, len(lines)))
    except ValueError as e:
        r.check(label + " folded adds up", False, str(e))
    j = g.json("profile folded")
    r.check(label + " json folded adds up",
            j["ok"] and sum(x["count"] for x in j["folded"]) == samples, str(j)[:300])
    return rows, samples


def test_profile(logdir, smp=2):
    """The sampling profiler (issue 16): bad arguments, then a profile of
    the CPU-heavy workload that must name its function first, whose folded
    stacks add up; a restart at another rate; [idle] on an idle machine."""
    r = Results("profile[smp=%d] " % smp)
    # repl_spin, not repl_workload: a workload that ends would exit QEMU
    # in the middle of the test on a host slow enough
    g = Guest(logdir, "profile-smp%d" % smp, smp, "console=ttyS0 ktest=repl_spin "
              "profile.hz=499")
    try:
        g.read_until(PROMPT, 60)
        j = g.json("profile")
        r.check("status before start", j["ok"] and j["profile"]["running"] == "no"
                and j["profile"]["hz"] == 499 and j["profile"]["samples"] == 0, str(j))
        for line, want in (("profile top", "no profile yet"),
                           ("profile folded", "no profile yet"),
                           ("profile stop", "profile stop: not running"),
                           ("profile start 5", "HZ must be a number from 10 to 10000, not '5'"),
                           ("profile start 20000", "not '20000'"),
                           ("profile start fast", "not 'fast'"),
                           ("profile start 100 200", "usage: profile start [HZ]"),
                           ("profile top 0", "usage: profile top [N]"),
                           ("profile top many", "usage: profile top [N]"),
                           ("profile bogus", "unknown subcommand 'bogus'")):
            out = g.cmd(line)
            r.check("error: " + line, out.startswith("error: ") and want in out, out)
        start = time.time()
        while progress(g) == 0 and time.time() - start < 30:
            time.sleep(0.2)
        r.check("workload started", progress(g) > 0)
        rows, samples = profile_round(g, r, "workload", 997, 2.5)
        r.check("workload_worker on top", rows and rows[0]["function"] == "workload_worker"
                and rows[0]["self_pct"] > 50, str(rows[:3]))
        j = g.json("profile start")
        r.check("start without HZ uses profile.hz", j["ok"] and j["profile"]["hz"] == 499, str(j))
        out = g.cmd("profile start 100")
        r.check("start while running refused", "error: profile start: already running" in out, out)
        g.json("profile stop")
        # its rate bound (profile_round) is below the first round's samples
        # unless the host starved the guest: then the check is weaker, not wrong
        profile_round(g, r, "restart", 19, 1.5)
        text = g.console_text()
        r.check("no panic", "panic:" not in text, text[-400:])
    except Exception as e:  # a crash of the harness is a failure, not a skip
        r.check("harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        g.close()
    g = Guest(logdir, "profile-idle", smp, "console=ttyS0 profile=on profile.hz=997")
    try:
        g.read_until(PROMPT, 60)
        j = g.json("profile")
        r.check("profile=on starts at boot", j["ok"] and j["profile"]["running"] == "yes"
                and j["profile"]["hz"] == 997, str(j))
        time.sleep(1.5)
        g.json("profile stop")
        top = g.json("profile top 3")
        rows = top.get("top", [])
        r.check("an idle machine is [idle]", rows and rows[0]["function"] == "[idle]"
                and rows[0]["self_pct"] > 50, str(rows))
        text = g.console_text()
        r.check("idle no panic", "panic:" not in text, text[-400:])
    except Exception as e:
        r.check("idle harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        g.close()
    return r.items


def run_all(logdir, seed=1234):
    os.makedirs(logdir, exist_ok=True)
    return test_live_and_frozen(logdir, 2) + test_profile(logdir, 2) + test_fuzz(logdir, seed)


if __name__ == "__main__":
    seed = 1234
    if "--seed" in sys.argv:
        seed = int(sys.argv[sys.argv.index("--seed") + 1])
    results = run_all(os.path.join(ROOT, "build", "test-logs"), seed)
    failed = sum(1 for _, ok, _ in results if not ok)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if failed or not results else 0)
