#!/usr/bin/python3
"""The configuration matrix (issue 11): the network must never die, on any
CPU and queue configuration. Each configuration boots Caboose once:

  tap smp1 qp1       1 CPU, one queue pair (a single-queue tap)
  tap smp2 qp1       2 CPUs, one queue pair
  tap smp2 qp2       2 CPUs, two queue pairs (what the other tiers boot)
  tap smp4 qp2       4 CPUs, two queue pairs
  tap smp1 qp1 vnet_hdr=off   the tap passes plain frames (no offloads)
  user smp1, smp2    `make run`'s own QEMU command (QEMU's user network,
                     hostfwd to free localhost ports; tools/run_smoke.py
                     reads it with make run-cmd)

and runs on it:
  repro a    the issue's first reproduction: wrk -t1 -c20 three times back
             to back (the second and third got 0 requests, then curl timed
             out);
  repro b    its second: wrk -t1 -c16, then nothing may be left in the
             transmit ring;
  bursts     wrk at 1, 16 and 100 connections back to back;
  and on the taps: 1000 connections open at once, iperf3 -t 2 both ways,
  64 MiB each way through echo (the user network forwards HTTP only, and
  its listening socket takes connections one at a time: about 3 a second
  opened one after another here, so 1000 would take minutes; wrk's bursts
  open 100 at once there).

After each load: curl gets 200 with the page, the REPL's `nic` shows no
stuck ring (a transmit queue whose device index lags what was made
available or notified, a receive queue with completions the driver has not
taken), and the watchdog counters nic.watchdog.* are as they were at boot
(0: a recovery needed is a failure). Each wrk run must get requests and no
non-2xx answer; socket errors are reported, not judged (a 2 s wrk timeout
under a loaded TCG host is no stall).

On the first configuration the health check is shown to fail when it
should: a lost transmit notification, injected (`nic inject drop-tx-kick`),
is recovered by the watchdog, and the check reports the recovery.

Modes: the test tier (tests/run.py --tiers matrix: run_all(logdir), each
load once, short durations: wrk -d2s, bursts -d1s); `make matrix RUNS=N`
(main(): the two reproductions N times in a row per configuration at the
issue's durations, -d5s and -d3s; one JSON summary on stdout, progress on
stderr; --configs picks configurations, --loads full adds the loads once).

Needs root: one network namespace for the whole run, made by
tests.lib.netns.run_in_netns; the taps are made and removed inside it for each
configuration (a single-queue tap for one queue pair). Every QEMU is killed
by its own PID; nothing leaves the namespace or loopback.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netload as nl  # noqa: E402

ROOT = nl.ROOT
from tests.lib.log import log  # noqa: E402  (netload put ROOT on sys.path)
KERNEL = os.path.join(ROOT, "build", "caboose.elf")


def config(name, kind, smp, queues=1, vnet_hdr=True, selfcheck=False):
    return dict(name=name, kind=kind, smp=smp, queues=queues, vnet_hdr=vnet_hdr,
                selfcheck=selfcheck)


CONFIGS = [
    config("tap-smp1-qp1", "tap", 1, 1, selfcheck=True),
    config("tap-smp2-qp1", "tap", 2, 1),
    config("tap-smp2-qp2", "tap", 2, 2),
    config("tap-smp4-qp2", "tap", 4, 2),
    config("tap-smp1-qp1-novnethdr", "tap", 1, 1, vnet_hdr=False),
    config("user-smp1", "user", 1),
    config("user-smp2", "user", 2),
]
HEAVY = ("conns1000", "iperf", "echo64")
ECHO_BYTES = 64 << 20
IPERF_FLOOR = 1 << 20      # bytes a 2 s test moves at the very least


class Run:
    """Results of one configuration: check() records (name, ok, detail)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.results = []
        self.repros = []     # one dict a round of the two reproductions
        self.watch0 = None

    def check(self, name, ok, detail=""):
        name = "matrix %s: %s" % (self.cfg["name"], name)
        self.results.append((name, bool(ok), "" if ok else str(detail)[:1500]))
        log(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:300]))
        return bool(ok)


def wrk_ok(r):
    return r["requests"] > 0 and r["non2xx"] == 0 and r["status"] == 0


def repro_a(b, run, secs, rnd=None):
    """wrk -t1 -c20 three times back to back, then curl must answer."""
    rs = [nl.wrk(b.url, 20, secs) for _ in range(3)]
    ok, detail = nl.health(b, run.watch0)
    tag = "repro a (wrk -t1 -c20 -d%ds three times, then curl)%s" % (
        secs, "" if rnd is None else " run %d" % rnd)
    good = all(wrk_ok(r) for r in rs) and ok
    run.check(tag, good, "; ".join(nl.wrk_brief(r) for r in rs) + "; " + detail)
    return dict(requests=[r["requests"] for r in rs],
                errors=[r["connect"] + r["read"] + r["write"] + r["timeout"] for r in rs],
                ok=good, detail="" if good else detail)


def repro_b(b, run, secs, rnd=None):
    """wrk -t1 -c16, then curl answers and nothing is stuck in a ring."""
    r = nl.wrk(b.url, 16, secs)
    ok, detail = nl.health(b, run.watch0)
    tag = "repro b (wrk -t1 -c16 -d%ds, then curl, no stuck transmit ring)%s" % (
        secs, "" if rnd is None else " run %d" % rnd)
    good = wrk_ok(r) and ok
    run.check(tag, good, nl.wrk_brief(r) + "; " + detail)
    return dict(requests=r["requests"], errors=r["connect"] + r["read"] + r["write"] +
                r["timeout"], ok=good, detail="" if good else detail)


def bursts(b, run, secs):
    rs = [nl.wrk(b.url, c, secs, threads=1 if c == 1 else 2) for c in (1, 16, 100)]
    ok, detail = nl.health(b, run.watch0)
    run.check("wrk bursts at 1, 16 and 100 connections back to back (-d%ds each)" % secs,
              all(wrk_ok(r) for r in rs) and ok,
              "; ".join(nl.wrk_brief(r) for r in rs) + "; " + detail)
    log("matrix %s: bursts: %s" % (run.cfg["name"], [r["requests"] for r in rs]))


def tcp_totals(g):
    return g.json("tcp")["tcp_totals"]


def delta(a, b):
    """What moved in the guest's TCP totals (for a failure's detail)."""
    keys = ("retransmits", "timeouts", "sack_recoveries", "newreno_recoveries",
            "challenge_acks", "resets_sent")
    return {k: b.get(k, 0) - a.get(k, 0) for k in keys if b.get(k, 0) != a.get(k, 0)}


def heavy(b, run, what):
    if what == "conns1000":
        got, conn, dt = nl.many_connections(*b.http, n=1000)
        ok, detail = nl.health(b, run.watch0)
        run.check("1000 concurrent connections each answered", got == 1000 and ok,
                  "%d of 1000 answered (%d connected); %s" % (got, conn, detail))
        log("matrix %s: 1000 connections in %.1f s" % (run.cfg["name"], dt))
    elif what == "iperf":
        t0 = tcp_totals(b.g)
        fwd = nl.iperf3(b.iperf, "-t", "2")
        t1 = tcp_totals(b.g)
        rev = nl.iperf3(b.iperf, "-t", "2", "-R")
        t2 = tcp_totals(b.g)
        ok, detail = nl.health(b, run.watch0)
        run.check("iperf3 -t 2 both ways", all(r["error"] is None and
                                                (r["received"] or 0) > IPERF_FLOOR
                                                for r in (fwd, rev)) and ok,
                  "to Caboose %s (guest TCP %s); from Caboose %s (guest TCP %s); %s"
                  % (fwd, delta(t0, t1), rev, delta(t1, t2), detail))
        log("matrix %s: iperf3 received %s / %s bytes" % (run.cfg["name"], fwd["received"],
                                                           rev["received"]))
    elif what == "echo64":
        good, n, dt = nl.echo_bulk(*b.echo, nbytes=ECHO_BYTES)
        ok, detail = nl.health(b, run.watch0)
        run.check("64 MiB each way through echo, byte for byte", good and ok,
                  "%d of %d bytes back; %s" % (n, ECHO_BYTES, detail))
        log("matrix %s: 64 MiB each way in %.1f s" % (run.cfg["name"], dt))


def boot(cfg, logdir, kernel):
    tag = "matrix-" + cfg["name"]
    if cfg["kind"] == "user":
        return nl.boot_user(logdir, tag, kernel, cfg["smp"])
    nl.remove_tap("tap0")
    nl.make_tap("tap0", multi_queue=cfg["queues"] > 1)
    return nl.boot_tap(logdir, tag, kernel, cfg["smp"], cfg["queues"], cfg["vnet_hdr"])


def run_config(cfg, logdir, kernel, mode, runs, loads):
    run = Run(cfg)
    t0 = time.time()
    b = None
    try:
        b = boot(cfg, logdir, kernel)
        text = b.text()
        m = nl.READY_RE.search(text)
        qp = "%d queue pair%s in use" % (cfg["queues"], "s" if cfg["queues"] > 1 else "")
        run.check("boots with %d CPUs%s" % (cfg["smp"], ", " + qp if cfg["kind"] == "tap" else ""),
                  m and int(m.group(1)) == cfg["smp"] and
                  (cfg["kind"] == "user" or qp in text),
                  "\n".join(l for l in text.splitlines() if "ready" in l or "vnet" in l)[-600:])
        run.watch0 = nl.watchdog(b.g)
        run.check("watchdog counters start at 0", all(v == 0 for v in run.watch0.values()),
                  run.watch0)
        if mode == "test":
            run.repros.append(dict(a=repro_a(b, run, 2), b=repro_b(b, run, 2)))
        else:
            for i in range(runs):
                a = repro_a(b, run, 5, i + 1)
                bb = repro_b(b, run, 3, i + 1)
                run.repros.append(dict(a=a, b=bb))
                log("matrix %s: run %d: a %s, b %s" % (cfg["name"], i + 1, a["requests"],
                                                      bb["requests"]))
        if loads != "none":
            bursts(b, run, 1 if mode == "test" else 3)
            # the user network forwards HTTP only, and its listening socket
            # takes connections one at a time (about 3 a second opened one
            # after another here): its share is the bursts (wrk opens its
            # 100 at once)
            for what in (HEAVY if cfg["kind"] == "tap" else ()):
                heavy(b, run, what)
        text = b.text()
        run.check("no panic, no watchdog log line", "panic" not in text.lower() and
                  "watchdog:" not in text,
                  "\n".join(l for l in text.splitlines() if "panic" in l.lower() or
                            "watchdog" in l)[-800:])
        if cfg["selfcheck"] and mode == "test":
            # the health check can fail: a lost transmit notification,
            # injected, on a quiet link (one ping's reply, then nothing to
            # kick the queue again) is recovered by the watchdog, and the
            # check reports the recovery
            b.g.cmd("nic inject drop-tx-kick")
            p = subprocess.run(["ping", "-c", "1", "-W", "5", nl.GUEST], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            time.sleep(1.0)
            ok, detail = nl.health(b, run.watch0)
            run.check("the health check reports an injected lost notification (the ping "
                      "answered after the watchdog's recovery)",
                      p.returncode == 0 and not ok and "watchdog recoveries" in detail,
                      "ping %d; health %s: %s" % (p.returncode, ok, detail))
    except Exception as e:  # a harness error must not look like success
        run.check("harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if b is not None:
            b.stop()
        if cfg["kind"] == "tap":
            nl.remove_tap("tap0")
    run.seconds = time.time() - t0
    log("matrix %s: %.0f s" % (cfg["name"], run.seconds))
    return run


def summary(runs, n):
    out = {"runs": n, "configs": [], "passed": 0, "failed": 0}
    for r in runs:
        c = r.cfg
        fails = [x for x in r.results if not x[1]]
        out["configs"].append({
            "name": c["name"], "network": c["kind"], "smp": c["smp"], "queue_pairs": c["queues"],
            "vnet_hdr": c["vnet_hdr"] if c["kind"] == "tap" else None,
            "seconds": round(r.seconds, 1),
            "repro_a_passed": sum(1 for x in r.repros if x["a"]["ok"]),
            "repro_b_passed": sum(1 for x in r.repros if x["b"]["ok"]),
            "repro_rounds": len(r.repros),
            "repro_a_requests": [x["a"]["requests"] for x in r.repros],
            "repro_b_requests": [x["b"]["requests"] for x in r.repros],
            "checks_passed": len(r.results) - len(fails), "checks_failed": len(fails),
            "failures": [x[0] for x in fails]})
        out["passed"] += len(r.results) - len(fails)
        out["failed"] += len(fails)
    return out


def inside(logdir, kernel, mode, runs, loads, names):
    cfgs = [c for c in CONFIGS if names == "all" or c["name"] in names.split(",")]
    done = [run_config(c, logdir, kernel, mode, runs, loads) for c in cfgs]
    with open(os.path.join(logdir, "matrix-summary.json"), "w") as f:
        json.dump(summary(done, runs), f)
    return [x for r in done for x in r.results]


def run_all(logdir, mode="test", runs=1, loads="full", names="all", timeout=1800):
    os.makedirs(logdir, exist_ok=True)
    from tests.lib.netns import run_in_netns
    return run_in_netns("matrix", __file__, [logdir, KERNEL, mode, runs, loads, names], [],
                        timeout=timeout)


def main():
    global KERNEL
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--runs", type=int, default=10, help="rounds of the two reproductions")
    ap.add_argument("--configs", default="all", help="comma-separated names (default all): "
                    + ", ".join(c["name"] for c in CONFIGS))
    ap.add_argument("--loads", default="none", choices=("none", "full"),
                    help="besides the reproductions: none (default) or every load once")
    ap.add_argument("--kernel", default=KERNEL)
    ap.add_argument("--logdir", default=os.path.join(ROOT, "build", "matrix"))
    opts = ap.parse_args()
    KERNEL = os.path.abspath(opts.kernel)
    unknown = set(opts.configs.split(",")) - {c["name"] for c in CONFIGS} - {"all"}
    if unknown:
        ap.error("unknown configuration(s): %s" % ", ".join(sorted(unknown)))
    n = len(CONFIGS) if opts.configs == "all" else len(opts.configs.split(","))
    results = run_all(opts.logdir, "runs", opts.runs, opts.loads, opts.configs,
                      timeout=600 + n * opts.runs * 120)
    path = os.path.join(opts.logdir, "matrix-summary.json")
    try:
        with open(path) as f:
            doc = json.load(f)
        os.unlink(path)
    except (OSError, ValueError):
        doc = {"runs": opts.runs, "configs": [], "passed": 0, "failed": 1,
               "error": "; ".join(d for _, ok, d in results if not ok)[:2000]}
    for name, ok, detail in results:
        if not ok:
            log("FAIL %s: %s" % (name, detail))
    sys.stdout.write(json.dumps(doc) + "\n")
    return 0 if doc["failed"] == 0 and doc["passed"] > 0 else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        from tests.lib.netns import exit_on_sigterm
        exit_on_sigterm()  # a SIGTERM runs the finally blocks: nothing left running
        a = sys.argv[2:]
        print(json.dumps(inside(a[0], a[1], a[2], int(a[3]), a[4], a[5])))
        sys.exit(0)
    sys.exit(main())
