"""User-space instructions per request under callgrind: the benchmark's figure that does not
depend on the machine's load, so the one to compare between runs.

For a contestant (a spec of bench/servers.py: argv, env), two runs under `valgrind
--tool=callgrind`: one answers only the readiness GET, the other that and REQUESTS more (CONNS
keep-alive connections, one request at a time each, reconnecting where the server closes).
Instructions per request = (Ir of the second - Ir of the first) / REQUESTS, every thread of the
server counted. Where the binary has symbols, the share of the second run's instructions in code
from httplib.h (its functions and what is inlined from it; with -g, inlined code is attributed to
its own file) and the top functions are read with callgrind_annotate.
Python standard library only; valgrind from Debian's package.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from servers import Reader, free_port, get_one, spec_env

REQUESTS = 20000
CONNS = 10


def available():
    return shutil.which("valgrind") is not None


def _client(port, n, failures):
    sock = reader = None
    for _ in range(n):
        ok = keep = False
        for attempt in range(2):  # a kept-alive connection the server closed meanwhile: once more on a new one
            reused = sock is not None
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                    reader = Reader(sock)
                ok, keep, _ = get_one(reader)
            except (OSError, EOFError, ValueError):
                ok, keep = False, False
            if not keep and sock is not None:
                sock.close()
                sock = None
            if ok or not reused:
                break
        if not ok:
            failures.append(1)
    if sock is not None:
        sock.close()


def _ir(spec, port, env, out, requests, cpu):
    """Runs the spec's server under callgrind, sends `requests` GETs, stops it; returns its Ir
    (summed over its processes) and the largest profile."""
    argv = [a.replace("@PORT@", str(port)) for a in spec["argv"]]
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p", "--dump-instr=no", *argv]
    pre = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=pre)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                    if get_one(Reader(s))[0]:
                        break
            except (OSError, EOFError, ValueError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{spec['key']} under callgrind did not answer 200")
            time.sleep(0.2)
        failures = []
        threads = [threading.Thread(target=_client, args=(port, requests // CONNS, failures)) for _ in range(CONNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise RuntimeError(f"{spec['key']} under callgrind: {len(failures)} of {requests} requests failed")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # callgrind writes its profile on a fatal signal too
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
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


def annotate(path, top=8):
    """Share of Ir in code from httplib.h, and the top functions (exclusive), from one profile."""
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
    if not total:
        return None
    # Code from httplib.h: by file where the binary has debug info, else by function name.
    httplib = sum(ir for ir, where in rows if where.split(":", 1)[0].endswith("httplib.h")
                  or where.split(":", 1)[1].startswith("httplib::"))
    symbols = any(not where.split(":", 1)[1].startswith("0x") for _, where in rows)
    return {"httplib_share": httplib / total if symbols else None,
            "top": [{"share": round(ir / total, 4), "function": where[:160]} for ir, where in rows[:top]]}


def measure(spec, workdir, cpu):
    """{"per_request", "requests", "httplib_share", "top"} for one contestant, or {"error"}."""
    d = os.path.join(workdir, "callgrind", spec["key"])
    os.makedirs(d, exist_ok=True)
    try:
        counts = []
        for n in (0, REQUESTS):
            port = free_port()
            if "setup" in spec:
                spec["setup"](port)
            counts.append(_ir(spec, port, spec_env(spec, port), os.path.join(d, f"out.{n}"), n, cpu))
        res = {"per_request": (counts[1][0] - counts[0][0]) / REQUESTS, "requests": REQUESTS, "connections": CONNS}
        res.update(annotate(counts[1][1]) or {})
        return res
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return {"error": str(e)}
