"""The benchmark's measuring half: runs the contestants (bench/servers.py) and returns every figure
as one dict, which bench/benchmark.py writes to results.json for bench/report.py. What it measures
and how: bench/README.md. Python standard library only.
"""
import collections
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import time

import instructions
from servers import Server, clients, log

HERE = os.path.dirname(os.path.abspath(__file__))
ROUNDS = 10  # alternating rounds of the contestants the targets compare
ALTERNATING_SECONDS = 3  # per wrk run: short, so that the runs compared are close in time, and many rounds fit
SHAPES = [
    # key, label, wrk connections, extra wrk args
    ("ka50", "50 keep-alive", 50, []),
    ("ka1000", "1000 keep-alive", 1000, []),
    ("close50", "50 Connection: close", 50, ["-H", "Connection: close"]),
]


def group(pgid):
    """The processes of a group: {pid: (user + system CPU ticks of every thread, VmRSS kB, VmHWM kB)}."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/status") as f:
                kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}
        except (OSError, IndexError, ValueError):
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: pgrp; 14 and 15: utime, stime
            found[int(pid)] = (int(fields[11]) + int(fields[12]), kb.get("VmRSS", 0), kb.get("VmHWM", 0))
    return found


def cpu_busy_ticks(cpu):
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return sum(v[:8]) - v[3] - v[4]  # all but idle and iowait
    return 0


def check_log(path, tail=5):
    """Accounts for one server process's stdout file: bytes and lines written, the access log
    lines among them, and whether it ends in whole JSON lines (the last `tail` lines parsed)."""
    lines = request_lines = 0
    last = collections.deque(maxlen=tail)
    with open(path, "rb") as f:
        for line in f:
            lines += 1
            request_lines += b'"msg":"request"' in line
            last.append(line)
    ends_whole = not last or last[-1].endswith(b"\n")
    parsed = 0
    for line in last:
        try:
            parsed += isinstance(json.loads(line), dict)
        except ValueError:
            pass
    return {"bytes": os.path.getsize(path), "lines": lines, "request_lines": request_lines,
            "ends_with_whole_line": ends_whole, "last_lines_checked": len(last), "last_lines_json": parsed}


def run_wrk(port, shape, seconds):
    """One wrk run on this process's CPU (the client core: wrk inherits the affinity)."""
    _, _, conns, extra = shape
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "2s", "-s",
           os.path.join(HERE, "wrk_report.lua"), *extra, f"http://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    r = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


def measure_contestant(spec, cfg):
    """One contestant's figures; cfg: server_cpu, logdir, runs, seconds, warmup."""
    cpu = cfg["server_cpu"]
    res = {k: spec[k] for k in ("key", "label", "httplib", "libc") if k in spec}
    res["shapes"], starts = {}, []
    for shape in SHAPES:
        srv = Server(spec, cpu, cfg["logdir"])
        starts.append(srv.ready_ms)  # each shape's fresh server timed from exec to its first 200
        if shape is SHAPES[0] and spec.get("size_note"):  # idle RSS: 1 s after the first 200
            time.sleep(1)
            idle_kb = sum(rss for _, rss, _ in group(srv.proc.pid).values())
        counted = 1  # responses the clients counted: Server's readiness GET, warm-up, runs, clients
        try:
            if cfg["warmup"]:
                counted += run_wrk(srv.port, shape, cfg["warmup"])["requests"]
            c0, g0, t0 = cpu_busy_ticks(cpu or 0), group(srv.proc.pid), time.monotonic()
            rs = [run_wrk(srv.port, shape, cfg["seconds"]) for _ in range(cfg["runs"])]
            g1 = group(srv.proc.pid)
            server = sum(g1[p][0] - g0.get(p, (0,))[0] for p in g1) / os.sysconf("SC_CLK_TCK")  # user + system, s
            elapsed = time.monotonic() - t0
            other = (cpu_busy_ticks(cpu or 0) - c0) / os.sysconf("SC_CLK_TCK") - server
            other_pct = max(0.0, 100 * other / elapsed) if cpu is not None else None
            conns = clients(srv.port, 1000, cfg["seconds"]) if shape[0] == "ka1000" else None
            peak_kb = sum(hwm for _, _, hwm in group(srv.proc.pid).values())
        finally:
            graceful = srv.stop()
        rps = [r["rps"] for r in rs]
        mid = sorted(rs, key=lambda r: r["rps"])[len(rs) // 2]
        out = {"rps_median": statistics.median(rps), "rps_min": min(rps), "rps_max": max(rps),
               "p50_ms": mid["p50_us"] / 1000, "p99_ms": mid["p99_us"] / 1000,
               "socket_errors": sum(r["socket_errors"] for r in rs), "timeouts": sum(r["timeout"] for r in rs),
               "non_2xx": sum(r["status"] for r in rs), "requests": sum(r["requests"] for r in rs),
               "peak_rss_kb": peak_kb, "other_cpu_pct": other_pct, "runs": rs,
               # The server's own CPU (user + system, every thread) per request, and its share of the
               # runs' time: below 100%, the server waited for the client, whose limit its req/s is.
               "server_cpu_us_per_request": 1e6 * server / max(1, sum(r["requests"] for r in rs)),
               "server_cpu_pct": 100 * server / elapsed}
        if conns:
            out["per_connection"] = conns
        if srv.stdout_path:  # a favorite-athlete row, the access log on or off: bench/report.py checks it
            counted += out["requests"] + (conns["responses"] if conns else 0)
            out["log"] = dict(check_log(srv.stdout_path), responses_counted_by_clients=counted, graceful_stop=graceful)
            os.remove(srv.stdout_path)  # accounted for; a full run would otherwise keep gigabytes
        res["shapes"][shape[0]] = out
        log(f"{spec['label']} / {shape[1]}: {out['rps_median']:.0f} req/s, p99 {out['p99_ms']:.2f} ms, "
            f"errors {out['socket_errors']}, non-2xx {out['non_2xx']}")
    if spec.get("size_note"):  # not a row measured under load only
        res.update(start_ms=statistics.median(starts), start_runs_ms=starts, idle_rss_kb=idle_kb,
                   size_bytes=spec.get("size_bytes") or os.path.getsize(spec["argv"][0]),  # Flask's: its packages
                   size_note=spec.get("size_note"))
        log(f"{spec['label']}: exec to first 200 {res['start_ms']:.2f} ms, idle RSS {idle_kb} kB")
    return res


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    debian = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(), "debian": debian}


def httplib_meta(specs):
    """The cpp-httplib the favorite-athlete rows were built with, and the pinned one (CMakeLists.txt):
    offline, the service builds from Debian's source, and bench/report.py says so."""
    with open(os.path.join(HERE, "..", "CMakeLists.txt")) as f:
        m = re.search(r"cpp-httplib/v([0-9.]+)/httplib\.h", f.read())
    built = sorted({s["httplib"] for s in specs if s["key"].startswith("fa")})
    return {"httplib": ", ".join(built), "httplib_pinned": m.group(1) if m else "?"}


def alternating(specs, rounds, cfg):
    """The contestants the targets compare, in turn, round after round (bench/README.md: a shared
    machine drifts, so the report compares runs seconds apart); every other round in reverse order, so
    that a steady drift favours neither. {key: {shape: {"rps": [per round], "p99": [ms, per round],
    "rps_median", "p99_ms"}}}."""
    with open(os.path.join(HERE, "targets.json")) as f:
        table = json.load(f)
    # Those the alternating targets compare: a and b, or every key of an alias (bench/targets.json).
    names = [n for t in table["targets"] if t.get("alternating") for n in (t["a"], t["b"])]
    keys = {k for n in names for k in table["aliases"].get(n, [n])}
    chosen = [s for s in specs if s["key"] in keys]
    out = {s["key"]: {shape[0]: {"rps": [], "p99": []} for shape in SHAPES[:2]} for s in chosen}
    for r in range(rounds):
        for shape in SHAPES[:2]:
            for spec in chosen if r % 2 == 0 else reversed(chosen):
                srv = Server(spec, cfg["server_cpu"], cfg["logdir"])
                try:
                    run_wrk(srv.port, shape, 1)
                    res = run_wrk(srv.port, shape, ALTERNATING_SECONDS)
                finally:
                    srv.stop()
                cell = out[spec["key"]][shape[0]]
                cell["rps"].append(res["rps"])
                cell["p99"].append(res["p99_us"] / 1000)
        log(f"alternating round {r + 1} of {rounds} done")
    for cell in (cell for shapes in out.values() for cell in shapes.values()):
        cell["rps_median"], cell["p99_ms"] = statistics.median(cell["rps"]), statistics.median(cell["p99"])
    return out


def run(specs, work, quick):
    """Measures every spec; the results: meta, contestants and, unless quick, alternating rounds."""
    t0 = time.monotonic()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})  # this process, wrk and the clients stay off the server core
        pinning = f"server pinned to CPU {server_cpu}, wrk and the measuring to CPU {client_cpu} (sched_setaffinity)"
    else:
        pinning = "one CPU only: server and load generator share it (not pinned)"
    log(pinning)
    runs, seconds, warmup = (1, 2, 0) if quick else (3, 5, 1)
    logdir = os.path.join(work, "logs")  # the contestants' stdout and stderr
    os.makedirs(logdir, exist_ok=True)
    cfg = {"server_cpu": server_cpu, "logdir": logdir, "runs": runs, "seconds": seconds, "warmup": warmup}
    fs = subprocess.run(["stat", "-f", "-c", "%T", logdir], capture_output=True, text=True).stdout.strip() or "?"
    meta = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(), "pinning": pinning,
            "load_before": "%.2f %.2f %.2f" % os.getloadavg(), "runs": runs, "seconds": seconds, "warmup": warmup,
            "quick": quick, "log_dir": logdir, "log_fs": fs,
            "shapes": {key: label for key, label, _, _ in SHAPES}, "per_connection_by": "bench/servers.py",
            **httplib_meta(specs)}
    results = {"meta": meta, "contestants": [measure_contestant(spec, cfg) for spec in specs]}
    if not quick:
        results["alternating"] = alternating(specs, ROUNDS, cfg)
    for spec, res in zip(specs, results["contestants"]):
        if not quick and spec.get("callgrind") and shutil.which("valgrind"):
            res["instructions"] = instructions.measure(spec, work, server_cpu)
            log(f"{spec['label']}: {res['instructions'].get('per_request', 0):.0f} instructions per request")
    meta["load_after"] = "%.2f %.2f %.2f" % os.getloadavg()
    meta["elapsed_s"] = round(time.monotonic() - t0, 1)
    return results
