"""User-space instructions per request under callgrind: the benchmark's figure that does not
depend on the machine's load, so the one to compare between runs.

For a contestant (a spec of bench/servers.py: argv, env), two runs under `valgrind
--tool=callgrind`: one answers only the readiness GET, the other that and REQUESTS more (CONNS
keep-alive connections, one request at a time each, reconnecting where the server closes).
Instructions per request = (Ir of the second - Ir of the first) / REQUESTS, every thread of the
server counted. Where the binary has symbols, the share of the second run's instructions in code
from httplib.h (its functions and what is inlined from it; with -g, inlined code is attributed to
its own file) is read with callgrind_annotate.
Python standard library only; valgrind from Debian's package.
"""
import os
import re
import subprocess

from servers import Server, clients

REQUESTS = 20000
CONNS = 10


def _ir(spec, out, requests, cpu):
    """Runs the spec's server under callgrind, sends `requests` GETs, stops it; returns its Ir
    (summed over its processes) and the largest profile."""
    callgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", "--dump-instr=no"]
    srv = Server(spec, cpu, os.path.dirname(out), wrap=callgrind)
    try:
        if requests:
            got = clients(srv.port, CONNS, 600, quota=requests // CONNS, timeout=60)
            if got["responses"] != requests or got["non_200"] or got["errors"] or got["timeouts"]:
                raise RuntimeError(f"{spec['key']} under callgrind: {got}")
    finally:
        srv.stop(wait=60)  # SIGTERM: callgrind writes its profile on a fatal signal too
    files = [os.path.join(os.path.dirname(out), f) for f in os.listdir(os.path.dirname(out))
             if f.startswith(os.path.basename(out) + ".")]  # one per process (nginx: master, worker)
    total = 0
    for path in files:
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    total += int(line.split()[1])
                    break
    return total, max(files, key=os.path.getsize)


def httplib_share(path):
    """The share of one profile's Ir in code from httplib.h; None where the binary has no symbols."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", path],
                       capture_output=True, text=True, timeout=120)
    rows, total = [], 0
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line) or re.match(r"^\s*([\d,]+)\s+(\S.*)$", line)
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
        counts = [_ir(spec, os.path.join(d, f"out.{n}"), n, cpu) for n in (0, REQUESTS)]
        return {"per_request": (counts[1][0] - counts[0][0]) / REQUESTS, "requests": REQUESTS, "connections": CONNS,
                "httplib_share": httplib_share(counts[1][1]) if spec.get("httplib") else None}
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return {"error": str(e)}
