"""bench/run's report: each metric's median and spread over a system's
runs (busy runs left out), the ratio of two systems' medians or why there
is none, the ratio table (one section a comparison), and the plots
(gnuplot PNGs of the loadgen sweeps and the latency CDFs)."""

import os
import statistics
import subprocess

BUSY_HOST_PCT = 10.0    # other processes' CPU above this: the run is left out
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "bench")


def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or d.get(p) is None:
            return None
        d = d[p]
    return d


# metric label, path into a system's run, conversion, target; for loads, the
# load's name is path[1] (its errors and host interference are looked up)
METRICS = [
    ("boot to ready line, ms", ("boot", "ready_line_ms"), None, None),
    ("boot to first HTTP 200, ms", ("boot", "first_200_ms"), None, "<= 0.2"),
    ("612 B keep-alive, requests/s (wrk)", ("loads", "wrk_612b", "requests_per_s"), None, ">= 3"),
    ("612 B keep-alive, p99 ms (wrk)", ("loads", "wrk_612b", "latency_us", "p99"), "ms", None),
    ("64 KiB, MB/s (wrk)", ("loads", "wrk_64k", "mb_per_s"), None, None),
    ("1 MiB, MB/s (wrk)", ("loads", "wrk_1m", "mb_per_s"), None, ">= 1"),
    ("1 connection, p50 ms (wrk -c1)", ("loads", "wrk_c1", "latency_us", "p50"), "ms", None),
    ("1 connection, p99 ms (wrk -c1)", ("loads", "wrk_c1", "latency_us", "p99"), "ms", None),
    ("loadgen knee, requests/s", ("loads", "loadgen_sweep", "knee", "offered_rps"), None, None),
    ("p99 at 70% of Linux's knee, ms (loadgen)",
     ("loads", "loadgen_at_70pct_knee", "latency_us", "p99"), "ms", "<= 0.5"),
    ("p99.9 at 70% of Linux's knee, ms (loadgen)",
     ("loads", "loadgen_at_70pct_knee", "latency_us", "p99_9"), "ms", None),
    ("memory in use at ready, MiB", ("memory", "used_kb_at_ready"), "mib", None),
]
MEMORY_DIFFERS = ("not the same measure on both (Linux: MemTotal - MemAvailable; Caboose: "
                  "pages in use): figures shown, ratio withheld")
MEMORY_SAME_KERNEL = ("the same boot serves both programs (the guest's whole memory): "
                      "ratio withheld")


def load_errors(run, load):
    """Failed requests of one load in one run: wrk's socket errors and
    non-2xx answers, loadgen's errors and time-outs (None: not run)."""
    l = get(run, "loads", load)
    if not isinstance(l, dict) or l.get("status") != "ok":
        return None
    if "errors" in l and "steps" not in l:
        return l["errors"] + l.get("timeouts", 0)
    if "steps" in l:        # a sweep: the steps up to its knee
        k = get(l, "knee", "step")
        return sum(st.get("errors", 0) + st.get("timeouts", 0)
                   for st in l["steps"][:(k + 1 if k is not None else 0)])
    return 0


def summarize(runs, path, conv):
    """Median and spread of PATH over RUNS, leaving out runs whose load had
    host interference above BUSY_HOST_PCT; errors summed over those kept."""
    kept, excluded, errors = [], [], 0
    for run in runs:
        v = get(run, *path)
        if v is None:
            continue
        if conv == "ms":
            v = v / 1000.0
        elif conv == "mib":
            v = v / 1024.0
        busy = get(run, "loads", path[1], "other_cpu_pct") if path[0] == "loads" else None
        if busy is not None and busy > BUSY_HOST_PCT:
            excluded.append(round(v, 3))
            continue
        kept.append(v)
        if path[0] == "loads":
            errors += load_errors(run, path[1]) or 0
    if not kept:
        return {"n": 0, "excluded": excluded, "errors": errors}
    return {"median": round(statistics.median(kept), 3), "min": round(min(kept), 3),
            "max": round(max(kept), 3), "n": len(kept), "excluded": excluded,
            "errors": errors}


def ratio_rows(runs, num, den, same_kernel=False, same_boot=None):
    """One row per metric: the median over the runs of system NUM and of
    system DEN (spread, runs kept and excluded, failed requests) and the
    ratio NUM / DEN of the medians, or why there is none.  The targets
    (Caboose against Linux) are left out when both run on one kernel.
    Memory is compared only between two boots of one kernel (same_boot
    False): one boot serving both has one figure, two kernels count it
    differently."""
    if same_boot is None:
        same_boot = same_kernel
    lx, cb = runs.get(den, []), runs.get(num, [])
    rows = []
    for label, path, conv, target in METRICS:
        target = None if same_kernel else target
        a, b = summarize(lx, path, conv), summarize(cb, path, conv)
        why = None
        for name, x, rs in ((num, b, cb), (den, a, lx)):
            if x["n"] == 0 and not x["excluded"] and not why:
                load = next((get(r, *path[:2]) for r in rs if path[0] == "loads"), None)
                boot = next((get(r, "boot", "first_200_reason") for r in rs), None)
                why = "%s: %s" % (name, (load or {}).get("reason") or (
                    boot if path[1] == "first_200_ms" and boot else "not measured"))
        if path[-2:] == ("knee", "offered_rps"):
            none = [n for n, rs in ((den, lx), (num, cb)) if any(
                get(r, "loads", "loadgen_sweep", "status") == "ok" and
                get(r, "loads", "loadgen_sweep", "knee", "step") is None for r in rs)]
            if none:
                why = "%s: in some run not even the first step kept up" % " and ".join(none)
        ratio = round(b["median"] / a["median"], 3) if a.get("median") and \
            b.get("median") is not None else None
        if ratio is None and not why:
            if a["excluded"] or b["excluded"]:
                why = "every run had host interference above %.0f%%" % BUSY_HOST_PCT
            else:
                why = "not measured"
        if path[-2:] == ("knee", "offered_rps"):
            above = [n for n, rs in ((den, lx), (num, cb))
                     if any(get(r, "loads", "loadgen_sweep", "knee_above_sweep") for r in rs)]
            if above:
                ratio, why = None, "%s kept up at the sweep's last step: knee above it" % \
                    " and ".join(above)
        if path[0] == "memory":
            if same_boot or not same_kernel:
                ratio, why = None, MEMORY_SAME_KERNEL if same_boot else MEMORY_DIFFERS
        # a latency with failed requests behind it is not compared (wrk
        # leaves them out of its percentiles; loadgen counts them at the
        # time-out, which would make the ratio a measure of the time-out)
        if "latency_us" in path and (a["errors"] or b["errors"]):
            ratio, why = None, "failed requests (%s %d, %s %d): ratio withheld" % (
                den, a["errors"], num, b["errors"])
        rows.append({"metric": label, den: a, num: b, "ratio": ratio,
                     "target": target, "why_missing": why})
    return rows


def fmt(v):
    if v is None:
        return "-"
    return "%.3f" % v if abs(v) < 10 else "%.0f" % v


def cell(x):
    if x.get("median") is None:
        # only busy runs: their median, starred, for the reader; no ratio
        if x["excluded"]:
            return "(%s*)" % fmt(statistics.median(x["excluded"]))
        return "n/a"
    if x["n"] > 1:
        return "%s [%s-%s]" % (fmt(x["median"]), fmt(x["min"]), fmt(x["max"]))
    return fmt(x["median"])


def ratio_section(title, num, den, rows):
    """The table of one comparison: DEN's and NUM's medians, NUM / DEN."""
    lines = ["== " + title,
             ("%-44s %22s %22s %9s  %-7s %s" % ("metric", den + " [spread]", num + " [spread]",
                                                "ratio", "target", "notes")).rstrip()]
    for r in rows:
        notes = []
        for sname in (den, num):
            x = r[sname]
            if x["excluded"]:
                notes.append("%s: %d busy run(s) left out" % (sname, len(x["excluded"])))
            if x["errors"]:
                notes.append("%s: %d failed requests" % (sname, x["errors"]))
        if r["why_missing"]:
            notes.append(r["why_missing"])
        lines.append(("%-44s %22s %22s %9s  %-7s %s" % (
            r["metric"], cell(r[den]), cell(r[num]), fmt(r["ratio"]),
            r["target"] or "", "; ".join(notes))).rstrip())
    return lines


def ratio_table(ratios):
    """Every comparison of RATIOS (bench/run's "ratios", in order): its
    rows, or the one line saying why it is not available."""
    lines = []
    for c in ratios:
        if c.get("status") == "unavailable":
            lines += ["== " + c["title"], "   not available: " + c["reason"], ""]
            continue
        lines += ratio_section(c["title"], c["numerator"], c["denominator"], c["rows"]) + [""]
    lines.append("(*: only runs with host interference above %.0f%%, left out of the ratio; "
                 "medians with [min-max] over the runs kept)" % BUSY_HOST_PCT)
    return "\n".join(lines) + "\n"


def gnuplot(script, name, log):
    path = os.path.join(OUT, name + ".gp")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        log("gnuplot %s: %s" % (name, r.stderr.strip()[-300:]))
        return None
    return os.path.join(OUT, name + ".png")


HDR_X = ('set logscale x\nset xrange [1:20000]\n'
         'set xtics ("0%%" 1, "50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000)\n'
         'set xlabel "percentile"\nset ylabel "latency, ms"\nset logscale y\n'
         'set key bottom right\nset grid\n')
TERM = 'set terminal pngcairo noenhanced size 900,560 font "sans,10"\n'


def write_cdf(name, cdf):
    """CDF points as 'x latency_ms', x = 1 / (1 - p)."""
    path = os.path.join(OUT, "data", name + ".dat")
    with open(path, "w") as f:
        for p, v in cdf:
            if p < 100:
                f.write("%.6f %.4f\n" % (1.0 / (1.0 - p / 100.0), max(v, 1) / 1000.0))
    return path


def plots(systems, seed, wrk_loads, log):
    """The PNGs of SYSTEMS ({name: a run}): latency versus load, and the
    CDFs of the sweeps' steps and of the wrk loads; each system its own
    dash type."""
    os.makedirs(os.path.join(OUT, "data"), exist_ok=True)
    made = []
    # latency versus offered load (loadgen sweeps)
    series = []
    for sname, s in systems.items():
        sw = get(s, "loads", "loadgen_sweep")
        if not sw or sw.get("status") != "ok":
            continue
        path = os.path.join(OUT, "data", "sweep-%s.dat" % sname)
        with open(path, "w") as f:
            f.write("# offered achieved p50_ms p90_ms p99_ms p99_9_ms\n")
            for st in sw["steps"]:
                if "latency_us" in st:
                    l = st["latency_us"]
                    f.write("%.1f %.1f %.4f %.4f %.4f %.4f\n" % (
                        st["offered_rps"], st["achieved_rps"], l["p50"] / 1000,
                        l["p90"] / 1000, l["p99"] / 1000, l["p99_9"] / 1000))
        series.append((sname, path, get(sw, "knee", "offered_rps")))
    if series:
        sc = TERM + 'set output "%s"\n' % os.path.join(OUT, "latency-vs-load.png")
        sc += ('set title "Latency versus offered load (bench/loadgen, open loop, Poisson, '
               'seed %d)"\nset xlabel "offered load, requests/s"\nset ylabel "latency, ms"\n'
               'set logscale y\nset grid\nset key top left\n' % seed)
        parts = []
        for i, (sname, path, knee) in enumerate(series):
            dash = list(systems).index(sname) + 1
            parts += ['"%s" u 1:3 w lp dt %d lc 1 pt 7 t "%s p50"' % (path, dash, sname),
                      '"%s" u 1:5 w lp dt %d lc 2 pt 7 t "%s p99"' % (path, dash, sname),
                      '"%s" u 1:6 w lp dt %d lc 3 pt 7 t "%s p99.9"' % (path, dash, sname)]
            if knee:
                sc += ('set arrow %d from %f, graph 0 to %f, graph 1 nohead dt 3 lc %d\n'
                       'set label %d "%s knee" at %f, graph 0.95 offset 0.5,0\n'
                       % (i + 1, knee, knee, 4 + i, i + 1, sname, knee))
        made.append(gnuplot(sc + "plot " + ", \\\n     ".join(parts) + "\n", "latency-vs-load",
                            log))
    # CDFs of each sweep step, and of the wrk loads
    for kind in ("loadgen", "wrk"):
        parts = []
        for sname, s in systems.items():
            dash = list(systems).index(sname) + 1
            if kind == "loadgen":
                sw = get(s, "loads", "loadgen_sweep")
                if not sw or sw.get("status") != "ok":
                    continue
                curves = [("%s %.0f/s" % (sname, st["offered_rps"]), st["cdf"])
                          for st in sw["steps"] if "cdf" in st]
            else:
                curves = [("%s %s" % (sname, n), get(s, "loads", n, "cdf"))
                          for n, _, _ in wrk_loads if get(s, "loads", n, "cdf")]
            for i, (title, cdf) in enumerate(curves):
                p = write_cdf("cdf-%s-%s" % (kind, title.replace(" ", "-").replace("/", "")),
                              cdf)
                parts.append('"%s" u 1:2 w l lw 2 dt %d lc %d t "%s"' % (p, dash, i + 1, title))
        if not parts:
            continue
        title = ("Latency CDF per offered load (bench/loadgen, from the scheduled send time)"
                 if kind == "loadgen" else
                 "Latency CDF, wrk (closed loop: omits the waits of unsent requests)")
        sc = TERM + 'set output "%s"\n' % os.path.join(OUT, "latency-cdf-%s.png" % kind)
        sc += 'set title "%s"\n' % title + HDR_X
        made.append(gnuplot(sc + "plot " + ", \\\n     ".join(parts) + "\n",
                            "latency-cdf-%s" % kind, log))
    return [os.path.relpath(p, ROOT) for p in made if p]


