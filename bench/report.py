"""The benchmark's report: its targets (evaluate), the ratios to the peers, results.md and
plot.png, from the results bench/harness.py measured. Python standard library only.
"""
import os
import shutil
import subprocess
import sys
import time


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


SHAPES = [
    # key, label, wrk connections, extra wrk args
    ("ka50", "50 keep-alive", 50, []),
    ("ka1000", "1000 keep-alive", 1000, []),
    ("close50", "50 Connection: close", 50, ["-H", "Connection: close"]),
]

SHORT = {"fa": "f-a, default", "fa_nolog": "f-a, log off", "fa_t2": "f-a, THREADS=2",
         "fa_static": "static glibc", "fa_musl": "static musl", "fa_musl_nolog": "musl, log off",
         "h2o": "h2o", "restinio": "RESTinio", "beast": "Boost.Beast", "httplib_readme": "httplib README",
         "httplib_nodelay": "README+NODELAY",
         "nginx": "nginx", "go": "Go net/http", "flask": "Flask+gunicorn"}

def fmt_mb(kb):
    return f"{kb / 1024:.1f}" if kb else "–"


def fmt_pct(v):
    return "–" if v is None else f"{v:.0f}%"


def fmt_rps(v):
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def shape_ratio(by, a, b, shape, metric="rps_median"):
    """Contestant a's figure over contestant b's at one load shape; None when either did not run."""
    sa, sb = (by[k]["shapes"].get(shape) if k in by else None for k in (a, b))
    if not sa or not sb:
        return None
    return sa[metric] / max(sb[metric], 1e-3)


KEEP_ALIVE = [s for s in SHAPES if s[0] in ("ka50", "ka1000")]


def image_targets(results, add):
    """The image's binary (static musl where built) against Boost.Beast, the static glibc build and
    itself with ACCESS_LOG=off: from the alternating rounds where the run had them."""
    by = {c["key"]: c for c in results["contestants"]}
    alt = results.get("alternating")
    src = {k: {"shapes": v} for k, v in alt.items()} if alt else by
    how = f"median of {len(next(iter(alt.values()))['ka50']['rps'])} alternating rounds" if alt else "one after another"
    image = "fa_musl" if "fa_musl" in by else "fa"

    def fmt(v, metric):
        return f"{fmt_rps(v)} req/s" if metric == "rps_median" else f"p99 {v:.2f} ms"

    for target, b, metric, ok, shapes in (
            ("the image's binary >= 1.0x Boost.Beast req/s", "beast", "rps_median", lambda r: r >= 1.0, KEEP_ALIVE),
            ("the image's binary p99 <= 1.3x Boost.Beast's", "beast", "p99_ms", lambda r: r <= 1.3, KEEP_ALIVE[:1]),
            ("the image's binary >= 0.97x the static glibc build's req/s", "fa_static", "rps_median",
             lambda r: r >= 0.97, KEEP_ALIVE),
            ("the access log costs <= 5% (the image's binary, on vs off)", image + "_nolog", "rps_median",
             lambda r: r >= 0.95, KEEP_ALIVE)):
        for key, label, _, _ in shapes:
            r = shape_ratio(src, image, b, key, metric)
            if r is None:
                add(f"{label}: {target}", None, f"no {SHORT[b] if b not in src else SHORT[image]} in this run")
            else:
                va, vb = (src[k]["shapes"][key][metric] for k in (image, b))
                add(f"{label}: {target}", ok(r), f"{fmt(va, metric)} vs {SHORT[b]} {fmt(vb, metric)} ({how})",
                    f"{r:.2f}x")


def evaluate(results):
    """The targets, every figure from this one run: [{target, measured, ratio, result, earlier}],
    result PASS, MISS, or "not measured" when a contestant it needs did not run (e.g. --quick)."""
    by = {c["key"]: c for c in results["contestants"]}
    fas = [c for c in results["contestants"] if c["key"].startswith("fa")]
    t = []

    def add(name, ok, measured, ratio=None, earlier=False):
        t.append({"target": name, "measured": measured, "ratio": ratio, "earlier": earlier,
                  "result": "not measured" if ok is None else "PASS" if ok else "MISS"})

    def figure(key, shape, metric):
        v = by[key]["shapes"][shape][metric]
        return f"{fmt_rps(v)} req/s" if metric == "rps_median" else f"p99 {v:.2f} ms"

    def compare(target, a, b, metric, ok, shapes=KEEP_ALIVE, earlier=False):
        for key, label, _, _ in shapes:
            r = shape_ratio(by, a, b, key, metric)
            if r is None:
                missing = ", ".join(SHORT[k] for k in (a, b) if k not in by)
                add(f"{label}: {target}", None, f"no {missing} in this run", earlier=earlier)
            else:
                add(f"{label}: {target}", ok(r), f"{figure(a, key, metric)} vs {SHORT[b]} {figure(b, key, metric)}",
                    f"{r:.2f}x", earlier)

    image_targets(results, add)
    compare("default >= 0.85x nginx req/s", "fa", "nginx", "rps_median", lambda r: r >= 0.85, earlier=True)
    compare("ACCESS_LOG=off >= 0.9x nginx req/s", "fa_nolog", "nginx", "rps_median", lambda r: r >= 0.9, earlier=True)
    compare("default p99 <= 1.5x nginx", "fa", "nginx", "p99_ms", lambda r: r <= 1.5, earlier=True)
    compare("default >= 1.5x Go net/http req/s", "fa", "go", "rps_median", lambda r: r >= 1.5, earlier=True)
    for key, label, _, _ in SHAPES:
        name = f"{label}: the access log costs <= 5% (1 - on/off req/s)"
        r = shape_ratio(by, "fa", "fa_nolog", key)
        if r is None:
            add(name, None, "no ACCESS_LOG=off row in this run", earlier=True)
        else:
            add(name, 1 - r <= 0.05, f"on {figure('fa', key, 'rps_median')} vs off {figure('fa_nolog', key, 'rps_median')}",
                f"{r:.2f}x: costs {100 * (1 - r):.1f}%", earlier=True)
    statics = [by[k] for k in ("fa_static", "fa_musl") if k in by]
    for c in statics:
        add(f"idle RSS <= 2 MB ({c['label']})", c["idle_rss_kb"] <= 2048, f"{c['idle_rss_kb']} kB")
    if not statics:
        add("idle RSS <= 2 MB (static binaries)", None,
            f"no static binary in this run (dynamic: {by['fa']['idle_rss_kb']} kB)")
    served, unserved = [], []
    for c in fas:
        pc = c["shapes"].get("ka1000", {}).get("per_connection")
        if pc:
            n = pc["connections"] - pc["connections_with_no_response"]
            (served if n == pc["connections"] == 1000 else unserved).append(f"{c['label']}: {n} of {pc['connections']}")
    add("1000 keep-alive: every one of 1000 connections served (benchtool, each favorite-athlete row)",
        (not unserved) if served or unserved else None,
        "; ".join(unserved) or f"1000 of 1000 in each of the {len(served)} rows")
    errors = []
    for c in fas:
        for key, label, _, _ in SHAPES:
            s = c["shapes"].get(key)
            if not s:
                continue
            pc = s.get("per_connection", {})
            n = s["socket_errors"] + s["non_2xx"] + pc.get("errors", 0) + pc.get("timeouts", 0) + pc.get("non_200", 0)
            if n:
                errors.append(f"{c['label']} / {label}: wrk {s['socket_errors']} socket errors ({s['timeouts']} timeouts), "
                              f"{s['non_2xx']} non-2xx; benchtool {pc.get('errors', 0)} errors, "
                              f"{pc.get('timeouts', 0)} timeouts, {pc.get('non_200', 0)} non-200")
    add("zero errors (wrk and benchtool, each favorite-athlete row and load shape)", not errors if fas else None,
        "; ".join(errors) or f"0 in each of the {len(fas)} rows")
    # Targets of the first benchmark (2026-11-21) that the ones above do not replace.
    compare("default >= 10x Flask/gunicorn req/s", "fa", "flask", "rps_median", lambda r: r >= 10,
            shapes=SHAPES[:1], earlier=True)
    st = by.get("fa_musl") or by.get("fa_static") or by["fa"]  # the image's binary where it was built
    add(f"exec to first 200 <= 5 ms ({st['label']})", st["start_ms"] <= 5, f"{st['start_ms']:.2f} ms", earlier=True)
    add(f"binary <= 3 MB ({st['label']})", st["size_bytes"] <= 3 * 1024 * 1024,
        f"{st['size_bytes'] / 1048576:.2f} MB", earlier=True)
    return t


def httplib_title(m):
    """Which cpp-httplib the service was built with, and whether it is the pinned one."""
    v = m["versions"].get("favorite-athlete") or ""
    got = v.split("cpp-httplib ")[-1].rstrip(")") if "cpp-httplib " in v else "?"
    pin = m["versions"].get("cpp-httplib pinned", "?")
    if got == pin:
        return f"The service: cpp-httplib {got}, the pinned release (what the image ships)."
    return (f"**The service here: cpp-httplib {got}, not the pinned {pin} the image ships (the pin could not be "
            f"fetched: an offline build from Debian's source). Its figures are not the image's.**")


def summary_markdown(results):
    """Side by side: each contestant's req/s, latency, RSS and instructions per request."""
    L = ["| contestant | req/s 50 ka | req/s 1000 ka | p50 / p99 ms at 50 | RSS idle / peak MB | "
         "instructions / request | inside cpp-httplib |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in results["contestants"]:
        s50, s1k, ins = c["shapes"].get("ka50"), c["shapes"].get("ka1000"), c.get("instructions", {})
        if not s50 or not s1k:
            continue
        share = ins.get("httplib_share")
        peak = max(s50["peak_rss_kb"], s1k["peak_rss_kb"])
        per_request = f"{ins['per_request'] / 1000:.1f}k" if "per_request" in ins else ins.get("error", "–")
        L.append(f"| {c['label']} | {fmt_rps(s50['rps_median'])} | {fmt_rps(s1k['rps_median'])} | "
                 f"{s50['p50_ms']:.2f} / {s50['p99_ms']:.2f} | {fmt_mb(c.get('idle_rss_kb'))} / {fmt_mb(peak)} | "
                 f"{per_request} | {'–' if share is None else f'{100 * share:.0f}%'} |")
    L.append("")
    L.append("Instructions per request: user space, every thread, under callgrind (does not depend on the "
             "machine's load: the figure to compare between runs); a run answering only the readiness GET is "
             "subtracted from one answering 20000 more over 10 keep-alive connections. Inside cpp-httplib: the "
             "share of them in functions of the httplib namespace (with debug info: in code from httplib.h, "
             "inlined code included); stripped binaries have no names (–).")
    L.append("")
    alt = results.get("alternating")
    if alt:
        L.append("Alternating rounds (each round: every contestant below in turn, fresh server, 1 s warm-up, one "
                 "wrk run): req/s per round, median, and p99 (median over rounds):")
        L.append("")
        L.append("| contestant | load shape | req/s per round | median | p99 ms |")
        L.append("| --- | --- | --- | ---: | ---: |")
        by = {c["key"]: c["label"] for c in results["contestants"]}
        for key, shapes in alt.items():
            for shape, cell in shapes.items():
                rounds = ", ".join(fmt_rps(v) for v in cell["rps"])
                L.append(f"| {by[key]} | {shape} | {rounds} | {fmt_rps(cell['rps_median'])} | {cell['p99_ms']:.2f} |")
        L.append("")
    return L


def markdown(results):
    m = results["meta"]
    L = [httplib_title(m), ""]
    L.append(f"Run {m['date']} on {m['machine']['cpu']}, {m['machine']['cores']} cores, Debian {m['machine']['debian']}, "
             f"kernel {m['machine']['kernel']}; load average before: {m['load_before']}, after: {m['load_after']}. "
             f"{m['pinning']}. {m['runs']} wrk runs of {m['seconds']} s per shape (after a {m['warmup']} s warm-up), "
             f"wrk -t1 --timeout 2s, each shape on a fresh server process. "
             f"Errors are wrk's socket errors (connect, read, write, timeout). "
             f"The last column is the share of the server's CPU used by other processes during the measured runs "
             f"(interference from other work on the machine; the load average is not used for this since "
             f"it counts the benchmark's own processes). "
             f"favorite-athlete runs with PORT, BIND_ADDRESS=127.0.0.1 and DRAIN_SECONDS=0 set and every other "
             f"setting unset (default), apart from the setting a row names.")
    L.append("")
    if results.get("targets"):
        L += targets_markdown(results)
    L += summary_markdown(results)
    L.append("| contestant | load shape | req/s median (min–max) | p50 ms | p99 ms | errors (timeouts) | non-2xx "
             "| peak RSS MB | other work on server CPU |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in results["contestants"]:
        for key, label, _, _ in SHAPES:
            s = c["shapes"].get(key)
            if not s:
                continue
            L.append(f"| {c['label']} | {label} | {fmt_rps(s['rps_median'])} ({fmt_rps(s['rps_min'])}–{fmt_rps(s['rps_max'])}) "
                     f"| {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['socket_errors']} ({s['timeouts']}) | {s['non_2xx']} "
                     f"| {fmt_mb(s['peak_rss_kb'])} | {fmt_pct(s.get('other_cpu_pct'))} |")
    L.append("")
    L.append("| contestant | idle RSS MB | exec to first 200 ms | size MB | size means |")
    L.append("| --- | ---: | ---: | ---: | --- |")
    for c in results["contestants"]:
        if "start_ms" in c:
            L.append(f"| {c['label']} | {fmt_mb(c['idle_rss_kb'])} | {c['start_ms']:.1f} | {c['size_bytes'] / 1048576:.1f} | {c['size_note']} |")
    L.append("")
    L.append("1000 keep-alive connections, counted per connection by `benchtool conns` (each connection sends "
             "GET / one at a time and reconnects when the server closes):")
    L.append("")
    L.append("| contestant | req/s | responses per connection: min / 1st pct / median / max | connections never served "
             "| TCP connections opened | replies with Connection: close | errors / timeouts |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in results["contestants"]:
        pc = c["shapes"].get("ka1000", {}).get("per_connection")
        if pc:
            share = 100 * pc["replies_with_connection_close"] / max(pc["responses"], 1)
            L.append(f"| {c['label']} | {fmt_rps(pc['requests_per_sec'])} | {pc['per_connection_min']} / "
                     f"{pc['per_connection_p1']} / {pc['per_connection_median']} / {pc['per_connection_max']} | "
                     f"{pc['connections_with_no_response']} | {pc['tcp_connections_opened']} | {share:.0f}% | "
                     f"{pc['errors']} / {pc['timeouts']} |")
    logged = [(c, key, label, c["shapes"][key]["log"]) for c in results["contestants"]
              for key, label, _, _ in SHAPES if "log" in c["shapes"].get(key, {})]
    if logged:
        L.append("")
        L.append(f"Access log written: each server process's stdout is a regular file in {m['log_dir']} "
                 f"({m['log_fs']}), as a container runtime writes a pod's log to a file. The server is stopped with "
                 f"SIGTERM (its event loops write the lines they hold), then the file is counted, its last lines "
                 f"parsed as JSON, and deleted. Request lines must be at least the responses the clients counted "
                 f"(readiness GET, warm-up, wrk runs, benchtool).")
        L.append("")
        L.append("| contestant | load shape | log MB | lines | bytes per line | request lines / responses counted "
                 "| ends in whole JSON lines | graceful stop |")
        L.append("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
        for c, key, label, lg in logged:
            whole = "yes" if lg["ends_with_whole_line"] else "**no**"
            L.append(f"| {c['label']} | {label} | {lg['bytes'] / 1048576:.1f} | {lg['lines']} | "
                     f"{lg['bytes'] / max(lg['lines'], 1):.0f} | {lg['request_lines']} / "
                     f"{lg['responses_counted_by_clients']} | {whole}, last {lg['last_lines_json']} of "
                     f"{lg['last_lines_checked']} parsed | {'yes' if lg['graceful_stop'] else '**no**'} |")
    if results["ratios"]:
        L.append("")
        L.append("Ratios of favorite-athlete, default and with ACCESS_LOG=off, to the others (req/s; p99 for nginx):")
        L.append("")
        L.append("| contestant | load shape | " + " | ".join(r for r in results["ratios"][0]["values"]) + " |")
        L.append("| --- | --- |" + " ---: |" * len(results["ratios"][0]["values"]))
        for r in results["ratios"]:
            L.append(f"| {r['contestant']} | {r['shape']} | " + " | ".join(f"{v:.2f}x" for v in r["values"].values()) + " |")
    return "\n".join(L) + "\n"


def targets_markdown(results):
    """The Targets section: each target, its figures from this run, the ratio, PASS or MISS."""
    ts = results["targets"]
    issue = [t for t in ts if not t["earlier"]]
    passed = sum(t["result"] == "PASS" for t in issue)
    unmeasured = sum(t["result"] == "not measured" for t in issue)
    L = ["## Targets", ""]
    L.append(f"{passed} of {len(issue)} met" + (f", {unmeasured} not measured in this run" if unmeasured else "") +
             ". \"Default\" is favorite-athlete as users get it (access log on, written to a file); every figure "
             "comes from this run (same cores, one contestant after another)." +
             (" **A --quick run: 1 run of 2 s per shape, no wait for a quiet machine: a smoke test, "
              "not a measurement.**" if results["meta"]["quick"] else ""))
    L.append("")
    for rows, title in ((issue, None), ([t for t in ts if t["earlier"]], "Earlier targets (the first benchmark's) "
                                                                          "that those above do not replace:")):
        if not rows:
            continue
        if title:
            L += [title, ""]
        L.append("| target | measured | ratio | result |")
        L.append("| --- | --- | ---: | --- |")
        for t in rows:
            res = t["result"] if t["result"] != "MISS" else "**MISS**"
            L.append(f"| {t['target']} | {t['measured']} | {t['ratio'] or '–'} | {res} |")
        L.append("")
    L += ["## Measurements", ""]
    return L


def ratios(results):
    by = {c["key"]: c for c in results["contestants"]}
    out = []
    for fa in ("fa", "fa_nolog"):
        for key, label, _, _ in SHAPES if fa in by else []:
            vals = {}
            for other, name in (("nginx", "vs nginx"), ("go", "vs Go"), ("flask", "vs Flask")):
                r = shape_ratio(by, fa, other, key)
                if r is not None:
                    vals[name + " req/s"] = r
            r = shape_ratio(by, fa, "nginx", key, "p99_ms")
            if r is not None:
                vals["p99 vs nginx"] = r
            if vals:
                out.append({"contestant": by[fa]["label"], "shape": label, "values": vals})
    return out


def plot(results, outdir):
    rows = [c for c in results["contestants"] if c["shapes"]]
    dat = os.path.join(outdir, "plot.dat")
    with open(dat, "w") as f:
        f.write("# contestant " + " ".join(f"rps_{k} p99_{k}" for k, _, _, _ in SHAPES) + "\n")
        for c in rows:
            vals = []
            for k, _, _, _ in SHAPES:
                s = c["shapes"][k]
                vals += [f"{s['rps_median']:.0f}", f"{max(s['p99_ms'], 0.01):.3f}"]
            f.write(f'"{SHORT.get(c["key"], c["key"])}" ' + " ".join(vals) + "\n")
    if not shutil.which("gnuplot"):
        log("gnuplot not found: plot.dat written, no plot.png")
        return
    m = results["meta"]
    script = f"""
set terminal pngcairo size 1400,900 font ",10"
set output "{os.path.join(outdir, 'plot.png')}"
set multiplot layout 2,1 title "favorite-athlete vs the alternatives — {m['date']}, {m['machine']['cores']} cores, server and wrk on separate cores"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set xtics font ",9"
set xrange [-0.6:{len(rows) - 0.4}]
set ylabel "requests/s (median)"
set yrange [0:*]
set format y "%.0s%c"
plot "{dat}" using 2:xtic(1) title "{SHAPES[0][1]}", "" using 4 title "{SHAPES[1][1]}", "" using 6 title "{SHAPES[2][1]}"
set ylabel "p99 latency, ms (log)"
set logscale y
set yrange [*:*]
set format y "%g"
plot "{dat}" using 3:xtic(1) title "{SHAPES[0][1]}", "" using 5 title "{SHAPES[1][1]}", "" using 7 title "{SHAPES[2][1]}"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
