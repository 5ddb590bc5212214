"""End-to-end harness: scripts/local.sh (three replicas behind a real nginx) on free 127.0.0.1 ports,
and a steady load through nginx that counts every request.

Standard library only. The binary comes from $FA_BIN (ctest sets it). A test whose
tool is missing exits 77 (ctest: skipped). Everything a test starts is stopped when it ends.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOCAL_SH = os.path.join(ROOT, "scripts", "local.sh")
BIN = os.path.abspath(os.environ.get("FA_BIN", os.path.join(ROOT, "build/dev/favorite-athlete")))
HOST = "favorite-athlete.127.0.0.1.nip.io"
BODY = b'{"myFavoriteAthlete":"Usain Bolt"}'
SKIP = 77
# nginx's passive health (nginx/favorite-athlete.conf.template): a failed replica gets no
# traffic for at most this long (fail_timeout=1s, counted in whole seconds), then rejoins.
FAIL_TIMEOUT = 2.0
PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def require(tool, package):
    if shutil.which(tool, path=PATH) is None:
        skip(f"{tool} not found (Debian package {package})")


def free_ports(count):
    """Ports nothing listens on now (held together so they differ)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def request(port, method="GET", path="/", host=HOST, timeout=5):
    """One request on its own connection: (status, headers dict with lower-case names, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, headers={"Host": host} if host else {})
        res = conn.getresponse()
        body = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, body
    finally:
        conn.close()


def status_of(port, path, host=HOST):
    try:
        return request(port, path=path, host=host, timeout=1)[0]
    except OSError:
        return None


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Stack:
    """`scripts/local.sh up` with its own run directory and ports; replicas use the binary under test."""

    def __init__(self, drain_seconds=1, shutdown_timeout_seconds=5):
        require("nginx", "nginx")
        require("setsid", "util-linux")
        self.drain_seconds = drain_seconds
        self.shutdown_timeout_seconds = shutdown_timeout_seconds
        self.tmp = tempfile.mkdtemp(prefix="e2e-", dir="/tmp")
        self.run_dir = os.path.join(self.tmp, "run")
        self.port, *self.replica_ports = free_ports(4)
        env = dict(os.environ, PATH=PATH, DRAIN_SECONDS=str(drain_seconds),
                   SHUTDOWN_TIMEOUT_SECONDS=str(shutdown_timeout_seconds), ACCESS_LOG="on")
        self.output_path = os.path.join(self.tmp, "local.sh.out")
        self._output = open(self.output_path, "wb")
        self.proc = subprocess.Popen(
            ["bash", LOCAL_SH, "up", "--binary", BIN, "--run-dir", self.run_dir, "--port", str(self.port),
             "--replica-ports", ",".join(map(str, self.replica_ports))],
            env=env, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            wait_until(lambda: os.path.exists(os.path.join(self.run_dir, "ready")) or self.proc.poll() is not None,
                       30, "scripts/local.sh up to be ready")
            if self.proc.poll() is not None:
                raise AssertionError(f"scripts/local.sh up exited with {self.proc.returncode}:\n{self.output()}")
        except BaseException:
            self.close()
            raise

    def file(self, name):
        return os.path.join(self.run_dir, name)

    def output(self):
        with open(self.output_path, errors="replace") as f:
            return f.read()

    def replica_pid(self, n):
        with open(self.file(f"replica-{n}.pid")) as f:
            return int(f.read())

    def exits(self, n):
        """[(epoch seconds, pid, exit code)] of replica n, in order."""
        try:
            with open(self.file(f"replica-{n}.exits")) as f:
                return [(float(t), int(p), int(rc)) for t, p, rc in (line.split() for line in f)]
        except FileNotFoundError:
            return []

    def access_log(self, routed=True):
        """nginx's access log lines (JSON): for the routed host, or (routed=False) for any other."""
        with open(self.file("nginx-access.log")) as f:
            return [r for r in map(json.loads, f) if (r["host"] == HOST) == routed]

    def replica_requests_since_start(self, n):
        """Requests the current process of replica n has logged (after its last "listening" line)."""
        count = 0
        with open(self.file(f"replica-{n}.log")) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("msg") == "listening":
                    count = 0
                elif record.get("msg") == "request":
                    count += 1
        return count

    def rolling_restart(self, min_ready_seconds=2, timeout=60):
        res = subprocess.run(["bash", LOCAL_SH, "rolling-restart", "--run-dir", self.run_dir,
                              "--min-ready-seconds", str(min_ready_seconds)],
                             env=dict(os.environ, PATH=PATH), stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=timeout)
        return res.returncode, res.stdout + res.stderr

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signals `local.sh up` and returns its exit code."""
        timeout = timeout or self.drain_seconds + self.shutdown_timeout_seconds + 10
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def close(self):
        """Stops whatever is still running, however the test ended."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.drain_seconds + self.shutdown_timeout_seconds + 10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        for name in ("nginx.pid", "replica-1.pid", "replica-2.pid", "replica-3.pid"):
            try:
                with open(self.file(name)) as f:
                    os.kill(int(f.read()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        self._output.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            print(f"--- scripts/local.sh output ---\n{self.output()}", flush=True)
        self.close()


class Load:
    """`clients` threads, each on its own kept-alive connection to nginx, sending GET / at about
    `rate` requests per second. Counts every request: answered 2xx with the right body, answered
    otherwise (non-2xx), or failed (no answer, broken connection, wrong body)."""

    def __init__(self, port, clients=6, rate=50):
        self.port, self.clients, self.interval = port, clients, 1.0 / rate
        self.records = []  # (start monotonic, latency s, status or None)
        self.errors = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def _client(self):
        conn = None
        next_at = time.monotonic()
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            start = time.monotonic()
            status = None
            try:
                conn.request("GET", "/", headers={"Host": HOST})
                res = conn.getresponse()
                body = res.read()
                status = res.status
                if status // 100 == 2 and body != BODY:
                    raise AssertionError(f"unexpected body {body!r}")
                if res.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # every failure is counted, none ends the load
                with self._lock:
                    self.errors.append(f"{type(e).__name__}: {e}")
                status = None
                conn.close()
                conn = None
            with self._lock:
                self.records.append((start, time.monotonic() - start, status))
            next_at = max(next_at + self.interval, time.monotonic() - self.interval)
            self._stop.wait(max(0.0, next_at - time.monotonic()))
        if conn is not None:
            conn.close()

    def stats(self, since=None, until=None):
        with self._lock:
            records = [r for r in self.records
                       if (since is None or r[0] >= since) and (until is None or r[0] < until)]
        latencies = sorted(r[1] for r in records)

        def pct(p):
            if not latencies:
                return float("nan")
            return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))] * 1000

        return {
            "sent": len(records),
            "failed": sum(1 for r in records if r[2] is None),
            "non_2xx": sum(1 for r in records if r[2] is not None and r[2] // 100 != 2),
            "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
        }


def retried(access_log):
    """Requests nginx had to send to more than one replica (connect error, closed connection, 5xx)."""
    return sum(1 for r in access_log if "," in r["upstream_addr"])


def figures(name, total, window=None, extra=""):
    """One line of measured figures, printed (ctest -V shows it) as well as asserted."""
    line = (f"FIGURES {name}: sent={total['sent']} failed={total['failed']} non_2xx={total['non_2xx']} "
            f"p50={total['p50_ms']:.1f}ms p99={total['p99_ms']:.1f}ms max={total['max_ms']:.1f}ms")
    if window:
        line += (f" | during: sent={window['sent']} failed={window['failed']} non_2xx={window['non_2xx']} "
                 f"p50={window['p50_ms']:.1f}ms p99={window['p99_ms']:.1f}ms max={window['max_ms']:.1f}ms")
    if extra:
        line += " | " + extra
    print(line, flush=True)
