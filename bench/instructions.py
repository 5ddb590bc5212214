"""User-space instructions per request under callgrind (bench/README.md): the figure that does not
depend on the machine's load. Two runs of a contestant (a spec of bench/servers.py), one answering
only the readiness GET, the other that and REQUESTS more over CONNS keep-alive connections: the
difference over REQUESTS, every thread counted. Python standard library only; Debian's valgrind.
"""
import os
import re
import subprocess

from servers import Server, clients

REQUESTS = 20000
CONNS = 10


def _ir(spec, out, requests, cpu):
    """Runs the spec's server under callgrind, its profile written to `out`, sends `requests` GETs,
    stops it; returns its Ir, every thread counted. One process only: a forked worker (nginx's)
    would write over the same file."""
    callgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"]
    srv = Server(spec, cpu, os.path.dirname(out), wrap=callgrind)
    try:
        if requests:
            got = clients(srv.port, CONNS, 600, quota=requests // CONNS, timeout=60)
            if got["responses"] != requests or got["non_200"] or got["errors"] or got["timeouts"]:
                raise RuntimeError(f"{spec['key']} under callgrind: {got}")
    finally:
        srv.stop(wait=60)  # SIGTERM: callgrind writes its profile on a fatal signal too
    with open(out) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))


def httplib_share(path):
    """The share of one profile's Ir in code from httplib.h; None where the binary has no symbols."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", path],
                       capture_output=True, text=True, timeout=120)
    rows, total = [], 0
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)  # valgrind 3.19: "Ir (share) where"
        if not m:
            continue
        ir, where = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in where:
            total = ir
        elif ":" in where:
            rows.append((ir, where))
    # Code from httplib.h: by file where the binary has debug info, else by function name.
    httplib = sum(ir for ir, where in rows if where.split(":", 1)[0].endswith("httplib.h")
                  or where.split(":", 1)[1].startswith("httplib::"))
    symbols = any(not where.split(":", 1)[1].startswith("0x") for _, where in rows)
    return httplib / total if total and symbols else None


def measure(spec, workdir, cpu):
    """{"per_request", "requests", "connections", "httplib_share"} for one contestant (the share for
    those with cpp-httplib), or {"error"}."""
    d = os.path.join(workdir, "callgrind", spec["key"])
    os.makedirs(d, exist_ok=True)
    try:
        profile = os.path.join(d, "loaded.out")  # read for the share inside cpp-httplib
        idle, loaded = _ir(spec, os.path.join(d, "idle.out"), 0, cpu), _ir(spec, profile, REQUESTS, cpu)
        return {"per_request": (loaded - idle) / REQUESTS, "requests": REQUESTS, "connections": CONNS,
                "httplib_share": httplib_share(profile) if spec.get("httplib") else None}
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return {"error": str(e)}
