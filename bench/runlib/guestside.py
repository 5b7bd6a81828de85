"""bench/run's figures from inside a guest and around it: the server-side
latency histograms of Caboose's metrics service (server_snapshot,
server_delta, log_server), the sampling profiler through the REPL
(profile_start, profile_stop) and the loss counters (loss_snapshot,
loss_delta: the guest's through the REPL, the tap's through ip)."""

import json
import os
import subprocess
import sys
import urllib.request

from tests.lib.log import make_log
from tests.lib.netns import sh

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "bench")
METRICS_PORT = 9100     # Caboose's metrics service (services=...,metrics)
log = make_log("bench/run")


SERVER_PCTS = [("p50", 500000), ("p90", 900000), ("p99", 990000), ("p99_9", 999000)]


def unavailable(reason):
    return {"status": "unavailable", "reason": reason}



def server_snapshot(target):
    """The target's /metrics.json, or None (no metrics port, no answer)."""
    if not target.get("metrics_port"):
        return None
    url = "http://%s:%d/metrics.json" % (target["ip"], target["metrics_port"])
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())
    except (OSError, ValueError) as e:
        log("  %s: no server-side figures: %s" % (url, e))
        return None


def server_delta(before, after, note):
    """What the requests between two snapshots (before None: since boot)
    added to each stage: count, mean and percentiles in microseconds, by
    the kernel's rule (the highest value of the bucket holding the rank,
    capped at the maximum; the maximum is exact when it was set between
    the snapshots, else the highest bucket's bound)."""
    if after is None or (before is None and note != "since boot"):
        return unavailable("no /metrics.json from the metrics service")
    res = {"source": "GET :%d/metrics.json (apps/kernel/metrics.h)" % METRICS_PORT, "note": note}
    for k in ("unwatched", "unacked"):
        res[k] = after["latency"][k] - (before["latency"][k] if before else 0)
    for st, a in after["latency"]["stages"].items():
        b = before["latency"]["stages"].get(st, {}) if before else {}
        prev = {lo: c for lo, _, c in b.get("buckets", [])}
        buckets, n = [], 0
        for lo, hi, c in sorted(a["buckets"]):
            d = c - prev.pop(lo, 0)
            if d < 0:
                return unavailable("the histograms were reset during the load")
            if d:
                buckets.append((hi, d))
                n += d
        if prev:
            return unavailable("the histograms were reset during the load")
        if not n:
            res[st] = {"count": 0, "what": a.get("what")}
            continue
        mx = a["max_ns"] if a["max_ns"] > b.get("max_ns", 0) else buckets[-1][0]
        lat = {}
        for name, ppm in SERVER_PCTS:
            rank, seen = max(1, -(-n * ppm // 1000000)), 0
            for hi, c in buckets:
                seen += c
                if seen >= rank:
                    lat[name] = round(min(hi, mx) / 1000.0, 3)
                    break
        lat["max"] = round(mx / 1000.0, 3)
        res[st] = {"what": a.get("what"), "count": n,
                   "mean_us": round((a["sum_ns"] - b.get("sum_ns", 0)) / n / 1000.0, 3),
                   "latency_us": lat}
    # tail attribution: of the time the tail requests (total above the
    # kernel's running p99) took meanwhile, the share of each stage
    ta = after["latency"].get("tail", {}).get("stages", {})
    tb = before["latency"].get("tail", {}).get("stages", {}) if before else {}
    if ta:
        d = {st: (a["count"] - tb.get(st, {}).get("count", 0),
                  a["sum_ns"] - tb.get(st, {}).get("sum_ns", 0)) for st, a in ta.items()}
        tot = d.get("total", (0, 0))
        if tot[0] > 0 and tot[1] > 0:
            res["tail"] = {"requests": tot[0], "mean_us": round(tot[1] / tot[0] / 1000.0, 1),
                           "share_pct": {st: round(100.0 * v[1] / tot[1], 1)
                                         for st, v in d.items() if st != "total"}}
    return res


def log_server(r):
    s = r.get("server_latency", {})
    if s.get("total", {}).get("count"):
        log("  server side: " + "; ".join(
            "%s p50 %.2f ms, p99 %.2f ms" % (st, s[st]["latency_us"]["p50"] / 1000,
                                            s[st]["latency_us"]["p99"] / 1000)
            for st in ("queue", "ack", "total") if s.get(st, {}).get("count")))
    t = s.get("tail")
    if t:
        log("  tail (%d requests, mean %.2f ms): %s" % (
            t["requests"], t["mean_us"] / 1000, ", ".join(
                "%s %.0f%%" % (k, v) for k, v in sorted(t["share_pct"].items(),
                                                        key=lambda kv: -kv[1]) if v >= 0.5)))


def profile_start(target, opts):
    g = target.get("repl")
    if g and opts.profile:
        j = g.json("profile start %d" % opts.profile)
        if not j.get("ok"):
            raise RuntimeError("profile start: %s" % j.get("error"))


def profile_stop(target, opts, name):
    """The profile of the load just run: top 10, folded stacks, flame graph."""
    g = target.get("repl")
    if not g or not opts.profile:
        return None
    st = g.json("profile stop").get("profile", {})
    top = g.json("profile top 10").get("top", [])
    folded = os.path.join(OUT, "%s-%s.folded" % (target["name"], name))
    svg = os.path.join(OUT, "%s-%s.svg" % (target["name"], name))
    with open(folded, "w") as f:
        f.write(g.cmd("profile folded", timeout=120) + "\n")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "flamegraph"), "-o", svg,
                        "--title", "%s %s (%d Hz)" % (target["name"], name, opts.profile),
                        folded], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log("  profile: %d samples, %d dropped; top: %s" % (
        st.get("samples", 0), st.get("dropped", 0),
        ", ".join("%s %.1f%%" % (t["function"], t["self_pct"]) for t in top[:5])))
    return {"hz": opts.profile, "samples": st.get("samples"), "dropped": st.get("dropped"),
            "truncated": st.get("truncated"),
            "top": [{k: t[k] for k in ("function", "self_pct", "total_pct")} for t in top],
            "folded": os.path.relpath(folded, ROOT),
            "svg": os.path.relpath(svg, ROOT) if p.returncode == 0 else None}


def loss_snapshot(target):
    """Where packets get lost: the guest's retransmission and drop counters
    (Caboose's REPL) and the tap's (the host side of the NIC: a guest that
    posts no receive buffers in time shows as the tap's tx drops)."""
    snap = {}
    g = target.get("repl")
    if g:
        for prefix in ("net.tcp.", "net.drop.", "sched.wake_ipis"):
            for c in g.json("counters " + prefix).get("counters", []):
                snap[c["name"]] = c["value"]
    try:
        j = json.loads(sh("ip", "-s", "-j", "link", "show", "tap0").stdout)[0]["stats64"]
        for d in ("rx", "tx"):
            for k in ("packets", "dropped", "errors"):
                snap["tap.%s_%s" % (d, k)] = j[d][k]
    except (subprocess.CalledProcessError, ValueError, KeyError, IndexError):
        pass
    return snap


def loss_delta(before, after):
    keep = ("net.tcp.retransmits", "net.tcp.timeouts", "net.tcp.segs_in", "net.tcp.segs_out",
            "tap.tx_dropped", "tap.rx_dropped", "tap.tx_packets", "tap.rx_packets",
            "sched.wake_ipis", "sched.wake_ipis_saved")
    d = {k: after[k] - before.get(k, 0) for k in after
         if k in keep or (k.startswith("net.drop.") and after[k] != before.get(k, 0))}
    if d:
        log("  losses: retransmits %s (timeouts %s), tap drops to guest %s, guest drops %s" % (
            d.get("net.tcp.retransmits", "?"), d.get("net.tcp.timeouts", "?"),
            d.get("tap.tx_dropped", "?"),
            ", ".join("%s %d" % (k[9:], v) for k, v in d.items() if k.startswith("net.drop."))
            or "none"))
    return d


