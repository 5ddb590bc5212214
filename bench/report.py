#!/usr/bin/env python3
"""The benchmark's reporting half: reads a results.json that bench/measure.py wrote and writes
results.md (opening with the targets of bench/targets.json, each PASS, MISS or not measured),
plot.dat and (with gnuplot) plot.png beside it, or into --out. Exits 1 when a smoke target is not met.

  bench/report.py bench/results/<date>/results.json [--out DIR]

Python standard library only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHORT = {"fa": "f-a, default", "fa_nolog": "f-a, log off", "fa_t2": "f-a, THREADS=2",
         "fa_static": "static glibc", "fa_musl": "static musl", "fa_musl_nolog": "musl, log off",
         "h2o": "h2o", "restinio": "RESTinio", "beast": "Boost.Beast", "httplib_readme": "httplib README",
         "httplib_nodelay": "README+NODELAY",
         "nginx": "nginx", "go": "Go net/http", "flask": "Flask+gunicorn"}


def fmt_mb(kb):
    return f"{kb / 1024:.1f}" if kb else "–"


def fmt_rps(v):
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def fmt_metric(v, metric):
    return f"{fmt_rps(v)} req/s" if metric == "rps_median" else f"p99 {v:.2f} ms"


def table(head, rows, left=1):
    """A Markdown table: the first `left` columns aligned left, the others right; a blank line after."""
    return [f"| {' | '.join(head)} |", "|" + " --- |" * left + " ---: |" * (len(head) - left),
            *(f"| {' | '.join(map(str, row))} |" for row in rows), ""]


def paired_ratio(cell_a, cell_b, metric):
    """(median, lowest, highest) of a's figure over b's, round by round (measure.alternating)."""
    per_round = "rps" if metric == "rps_median" else "p99"
    ratios = [x / max(y, 1e-3) for x, y in zip(cell_a[per_round], cell_b[per_round])]
    return statistics.median(ratios), min(ratios), max(ratios)


def log_ok(lg, access_log):
    """A stdout file (measure.check_log) ends in whole JSON lines after a graceful stop, and holds a
    request line for every response a client counted (more are fine: responses in flight when a
    client stopped are logged too), or none with the access log off."""
    logged = lg["request_lines"] >= lg["responses_counted_by_clients"] if access_log else lg["request_lines"] == 0
    return lg["ends_with_whole_line"] and lg["last_lines_json"] == lg["last_lines_checked"] > 0 and logged and \
        lg["graceful_stop"]


def value(c, field):
    """A contestant's figure for a value target: one of its fields, or one derived here."""
    if field == "unsound_logs":  # None for the ACCESS_LOG=off rows of 2026-12-07, whose stdout was not kept
        logs = [s["log"] for s in c["shapes"].values() if "log" in s]
        return sum(not log_ok(lg, "ACCESS_LOG=off" not in c["label"]) for lg in logs) if logs else None
    if field == "unserved_connections":  # of the 1000 measure.py opens
        return c["shapes"]["ka1000"]["per_connection"]["connections_with_no_response"]
    if field == "errors":
        n = 0
        for s in c["shapes"].values():
            pc = s.get("per_connection", {})
            n += s["socket_errors"] + s["non_2xx"] + (s["requests"] == 0) + sum(pc.get(k, 0) for k in
                                                                                ("errors", "timeouts", "non_200"))
        return n
    return c.get(field)


def within(v, t):
    return t.get("min", v) <= v <= t.get("max", v)


def evaluate(results, table):
    """[{target, measured, ratio, result, earlier}] for each target of the table (bench/targets.json);
    result PASS, MISS, or "not measured" when a contestant it needs did not run (e.g. --quick)."""
    by = {c["key"]: c for c in results["contestants"]}
    labels = results["meta"]["shapes"]
    alt = results.get("alternating")

    def resolve(name):
        """Contestant keys for a name: itself, an alias's first key present, or fa* (each f-a row)."""
        if name == "fa*":
            return [k for k in by if k.startswith("fa")]
        return [next((k for k in table["aliases"][name] if k in by), name)] if name in table["aliases"] else [name]

    out = []

    def add(name, t, ok, measured, ratio=None):
        result = "not measured" if ok is None else "PASS" if ok else "MISS"
        out.append({"target": name, "measured": measured, "ratio": ratio, "earlier": t.get("earlier", False),
                    "smoke": t.get("smoke", False), "result": result})

    for t in table["targets"]:
        if "each" in t:  # one line: the figure of each row it names, and whether all are within
            keys = [k for name in t["each"] for k in resolve(name) if k in by]
            figures = [(SHORT.get(k, k), value(by[k], t["field"])) for k in keys]
            figures = [(k, round(v / t.get("scale", 1), 2)) for k, v in figures if v is not None]
            add(t["target"], t, all(within(v, t) for _, v in figures) if figures else None,
                "; ".join(f"{k}: {v:g} {t.get('unit', '')}".rstrip() for k, v in figures)
                or f"no {', '.join(t['each'])} in this run")
            continue
        a, b = resolve(t["a"])[0], resolve(t["b"])[0]
        paired = bool(alt and t.get("alternating"))
        src = {k: {"shapes": v} for k, v in alt.items()} if paired else by
        for shape in t["shapes"]:
            name = f"{labels[shape]}: {t['target']}"
            missing = [k for k in (a, b) if shape not in src.get(k, {}).get("shapes", {})]
            if missing:
                add(name, t, None, f"no {', '.join(SHORT.get(k, k) for k in missing)} in this run")
                continue
            va, vb = (src[k]["shapes"][shape][t["metric"]] for k in (a, b))
            if paired:  # the median of the rounds' ratios: each pair measured seconds apart
                r, low, high = paired_ratio(alt[a][shape], alt[b][shape], t["metric"])
                how = f"medians of {len(alt[a][shape]['rps'])} alternating rounds; per round {low:.2f}x to {high:.2f}x"
            else:
                r, how = va / max(vb, 1e-3), "one after another"
            add(name, t, within(r, t), f"{fmt_metric(va, t['metric'])} vs {SHORT.get(b, b)} "
                f"{fmt_metric(vb, t['metric'])} ({how})", f"{r:.2f}x")
    return out


def httplib_title(m):
    """Which cpp-httplib the service was built with, and whether it is the pinned one."""
    if m["httplib"] == m["httplib_pinned"]:
        return f"The service: cpp-httplib {m['httplib']}, the pinned release (what the image ships)."
    return (f"**The service here: cpp-httplib {m['httplib']}, not the pinned {m['httplib_pinned']} the image ships "
            f"(the pin could not be fetched: an offline build from Debian's source). Its figures are not the "
            f"image's.**")


def side_by_side_row(c):
    s50, s1k, ins = c["shapes"]["ka50"], c["shapes"]["ka1000"], c.get("instructions", {})
    share = ins.get("httplib_share")
    return [c["label"], fmt_rps(s50["rps_median"]), fmt_rps(s1k["rps_median"]),
            f"{s50['p50_ms']:.2f} / {s50['p99_ms']:.2f}",
            f"{s50['server_cpu_us_per_request']:.1f} µs ({s50['server_cpu_pct']:.0f}%)",
            f"{fmt_mb(c.get('idle_rss_kb'))} / {fmt_mb(max(s50['peak_rss_kb'], s1k['peak_rss_kb']))}",
            f"{c['start_ms']:.1f}" if "start_ms" in c else "–",
            f"{c['size_bytes'] / 1048576:.1f} ({c['size_note']})" if "size_bytes" in c else "–",
            f"{ins['per_request'] / 1000:.1f}k" if "per_request" in ins else ins.get("error", "–"),
            "–" if share is None else f"{100 * share:.0f}%"]


def measurement_row(c, label, s):
    return [c["label"], label, f"{fmt_rps(s['rps_median'])} ({fmt_rps(s['rps_min'])}–{fmt_rps(s['rps_max'])})",
            f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}", f"{s['socket_errors']} ({s['timeouts']})", s["non_2xx"],
            fmt_mb(s["peak_rss_kb"]), "–" if s["other_cpu_pct"] is None else f"{s['other_cpu_pct']:.0f}%"]


def per_connection_row(c):
    pc = c["shapes"]["ka1000"]["per_connection"]
    spread = " / ".join(str(pc[f"per_connection_{k}"]) for k in ("min", "p1", "median", "max"))
    closes = 100 * pc["replies_with_connection_close"] / max(pc["responses"], 1)
    return [c["label"], fmt_rps(pc["requests_per_sec"]), spread, pc["connections_with_no_response"],
            pc["tcp_connections_opened"], f"{closes:.0f}%", f"{pc['errors']} / {pc['timeouts']}"]


def log_row(c, label, lg):
    whole = "yes" if lg["ends_with_whole_line"] else "**no**"
    return [c["label"], label, f"{lg['bytes'] / 1048576:.1f}", lg["lines"], f"{lg['bytes'] / max(lg['lines'], 1):.0f}",
            f"{lg['request_lines']} / {lg['responses_counted_by_clients']}",
            f"{whole}, last {lg['last_lines_json']} of {lg['last_lines_checked']} parsed",
            "yes" if lg["graceful_stop"] else "**no**"]


def markdown(results, targets):
    m, rows = results["meta"], results["contestants"]
    shapes = m["shapes"]
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
    L += targets_markdown(targets, m["quick"])
    L += table(["contestant", "req/s 50 ka", "req/s 1000 ka", "p50 / p99 ms at 50", "server CPU per request at 50 "
                "(busy)", "RSS idle / peak MB", "exec to first 200 ms", "size MB (what)", "instructions / request",
                "inside cpp-httplib"], map(side_by_side_row, rows))
    L.append("Server CPU: the user and system time of the server's processes over the measured runs at 50 "
             "keep-alive connections, per request (the kernel's TCP work included), and as a share of the runs' "
             "time: below 100% the server waited for the client, and its req/s is the client's limit, not its own.")
    L.append("")
    L.append("Instructions per request: user space, every thread, under callgrind (does not depend on the "
             "machine's load: the figure to compare between runs); a run answering only the readiness GET is "
             "subtracted from one answering 20000 more over 10 keep-alive connections. Inside cpp-httplib: the "
             "share of them in functions of the httplib namespace (with debug info: in code from httplib.h, "
             "inlined code included); stripped binaries have no names (–).")
    L.append("")
    alt = results.get("alternating")
    if alt:
        L.append("Alternating rounds (each round and load shape: every contestant below in turn, in the reverse "
                 "order every other round, fresh server, 1 s warm-up, one wrk run): req/s per round, median, and p99 "
                 "(median over rounds). The targets take each round's ratio of two of them and the median of those:")
        L.append("")
        label = {c["key"]: c["label"] for c in rows}
        L += table(["contestant", "load shape", "req/s per round", "median", "p99 ms"],
                   ([label[key], shape, ", ".join(map(fmt_rps, cell["rps"])), fmt_rps(cell["rps_median"]),
                     f"{cell['p99_ms']:.2f}"] for key, cells in alt.items() for shape, cell in cells.items()), left=3)
    L += table(["contestant", "load shape", "req/s median (min–max)", "p50 ms", "p99 ms", "errors (timeouts)",
                "non-2xx", "peak RSS MB", "other work on server CPU"],
               (measurement_row(c, label, c["shapes"][key]) for c in rows for key, label in shapes.items()), left=2)
    by = m.get("per_connection_by", "bench/conns")  # 2026-12-07 counted with a Go client since replaced
    L.append(f"1000 keep-alive connections, counted per connection by `{by}` (each connection sends "
             "GET / one at a time and reconnects when the server closes):")
    L.append("")
    L += table(["contestant", "req/s", "responses per connection: min / 1st pct / median / max",
                "connections never served", "TCP connections opened", "replies with Connection: close",
                "errors / timeouts"], map(per_connection_row, rows))
    logged = [(c, label, c["shapes"][key]["log"]) for c in rows for key, label in shapes.items()
              if "log" in c["shapes"][key]]
    L.append(f"Access log written: each server process's stdout is a regular file in {m['log_dir']} "
             f"({m['log_fs']}), as a container runtime writes a pod's log to a file. The server is stopped with "
             f"SIGTERM (its event loops write the lines they hold), then the file is counted, its last lines "
             f"parsed as JSON, and deleted. Request lines must be at least the responses the clients counted "
             f"(readiness GET, warm-up, wrk runs, {by})" +
             ("; with ACCESS_LOG=off, none." if any("ACCESS_LOG=off" in c["label"] for c, *_ in logged) else "."))
    L.append("")
    L += table(["contestant", "load shape", "log MB", "lines", "bytes per line", "request lines / responses counted",
                "ends in whole JSON lines", "graceful stop"], (log_row(*row) for row in logged), left=2)
    return "\n".join(L)


def targets_markdown(ts, quick):
    """The Targets section: each target, its figures from this run, the ratio, PASS or MISS."""
    issue = [t for t in ts if not t["earlier"]]
    passed = sum(t["result"] == "PASS" for t in issue)
    unmeasured = sum(t["result"] == "not measured" for t in issue)
    L = ["## Targets", ""]
    L.append(f"{passed} of {len(issue)} met" + (f", {unmeasured} not measured in this run" if unmeasured else "") +
             " (the table: bench/targets.json). \"Default\" is favorite-athlete as users get it (access log on, "
             "written to a file); every figure comes from this run (same cores, one contestant after another)." +
             (" **A --quick run: 1 run of 2 s per shape, no wait for a quiet machine: a smoke test, "
              "not a measurement.**" if quick else ""))
    L.append("")
    def targets_table(ts):
        return table(["target", "measured", "ratio", "result"],
                     ([t["target"], t["measured"], t["ratio"] or "–", t["result"].replace("MISS", "**MISS**")]
                      for t in ts), left=2)
    L += targets_table(issue)
    earlier = [t for t in ts if t["earlier"]]
    if earlier:
        L += ["Earlier targets (the first benchmark's) that those above do not replace:", ""] + targets_table(earlier)
    return L + ["## Measurements", ""]


def plot(results, outdir):
    rows = results["contestants"]
    shapes = list(results["meta"]["shapes"].items())
    dat = os.path.join(outdir, "plot.dat")
    with open(dat, "w") as f:
        f.write("# contestant " + " ".join(f"rps_{k} p99_{k}" for k, _ in shapes) + "\n")
        for c in rows:
            vals = []
            for k, _ in shapes:
                s = c["shapes"][k]
                vals += [f"{s['rps_median']:.0f}", f"{max(s['p99_ms'], 0.01):.3f}"]
            f.write(f'"{SHORT.get(c["key"], c["key"])}" ' + " ".join(vals) + "\n")
    if not shutil.which("gnuplot"):
        print("gnuplot not found: plot.dat written, no plot.png", file=sys.stderr)
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
plot "{dat}" using 2:xtic(1) title "{shapes[0][1]}", "" using 4 title "{shapes[1][1]}", "" using 6 title "{shapes[2][1]}"
set ylabel "p99 latency, ms (log)"
set logscale y
set yrange [*:*]
set format y "%g"
plot "{dat}" using 3:xtic(1) title "{shapes[0][1]}", "" using 5 title "{shapes[1][1]}", "" using 7 title "{shapes[2][1]}"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", help="a results.json written by the measuring step")
    p.add_argument("--out", help="where to write results.md and the plot (default: beside results.json)")
    args = p.parse_args()
    out = args.out or os.path.dirname(os.path.abspath(args.results))
    os.makedirs(out, exist_ok=True)
    with open(args.results) as f:
        results = json.load(f)
    with open(os.path.join(HERE, "targets.json")) as f:
        table = json.load(f)
    targets = evaluate(results, table)
    md = markdown(results, targets)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    plot(results, out)
    print(md)
    failed = [t["target"] for t in targets if t["smoke"] and t["result"] != "PASS"]
    if failed:  # machine-independent: bench.quick fails on them
        sys.exit(f"FAIL: {'; '.join(failed)}")


if __name__ == "__main__":
    main()
