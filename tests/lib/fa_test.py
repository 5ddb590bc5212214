"""The Python tests' one library (tests/integration, tests/conformance, tests/e2e): runs the real
favorite-athlete binary on 127.0.0.1, talks raw HTTP/1.1 to it (send bytes, read each response by
its framing), picks free ports, waits, and runs the slow-client attack both the integration and
the e2e tests use.

Standard library only. The binary comes from $FA_BIN (ctest sets it); ctest puts this directory on
PYTHONPATH (by hand: PYTHONPATH=tests/lib).
"""
import json
import os
import queue
import re
import resource
import signal
import socket
import subprocess
import threading
import time
import unittest

BIN = os.environ.get("FA_BIN", "build/dev/favorite-athlete")
GREETING = b'{"myFavoriteAthlete":"Usain Bolt"}'  # GET / with the default FAVORITE_ATHLETE
_sockets = []  # closed with the server, so tests need no cleanup of their own
SANITIZER_REPORT = re.compile(r"ERROR: AddressSanitizer|WARNING: ThreadSanitizer|runtime error:|ERROR: LeakSanitizer")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN)$')
# What Prometheus 2.x sends when it scrapes a target.
SCRAPE_HEADERS = [("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                             "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                  ("Accept-Encoding", "gzip"), ("User-Agent", "Prometheus/2.45.0"),
                  ("X-Prometheus-Scrape-Timeout-Seconds", "10"), ("Connection", "close")]


def wait_until(predicate, timeout, what):
    """Calls predicate every 50 ms until it is true; AssertionError naming what after timeout s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def accepts(port):
    """True if something accepts a connection on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Server:
    """One server process on an ephemeral port; its stdout JSON lines are collected. With stdout
    (a file or fd) its log goes there instead, unread: env must give PORT (and METRICS_PORT) then."""

    def __init__(self, env=None, args=(), start=True, stdout=None):
        full_env = {"PATH": os.environ.get("PATH", ""), "PORT": "0", "BIND_ADDRESS": "127.0.0.1",
                    "DRAIN_SECONDS": "0"}
        full_env.update(env or {})
        self.proc = subprocess.Popen([BIN, *args], env=full_env, stdout=subprocess.PIPE if stdout is None else stdout,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.stderr = []
        streams = [(self.proc.stderr, self.stderr.append)] + ([(self.proc.stdout, self.lines.put)] if stdout is None else [])
        self._pumps = [threading.Thread(target=self._pump, args=stream, daemon=True) for stream in streams]
        for pump in self._pumps:
            pump.start()
        self.port = self.metrics_port = None
        if start and stdout is not None:
            self.port, self.metrics_port = int(full_env["PORT"]), int(full_env.get("METRICS_PORT", 0)) or None
            wait_until(lambda: self.proc.poll() is not None or accepts(self.port), 5, f"the server on port {self.port}")
            assert self.proc.poll() is None, f"the server exited with {self.proc.returncode}: {self.stderr}"
        elif start:
            first = self.next_log(timeout=5)
            assert first["msg"] == "listening", first
            self.port = first["port"]
            self.metrics_port = first.get("metrics_port")  # "off" unless METRICS_PORT is set

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink(line)

    def next_log(self, timeout=5, msg=None):
        """The next stdout line (as JSON), optionally skipping to one whose msg matches."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            record = json.loads(line)
            if msg is None or record.get("msg") == msg:
                return record

    def remaining_logs(self, timeout=15):
        """After the process exits: every stdout line not consumed yet, as JSON."""
        self.proc.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout=5)
        records = []
        while not self.lines.empty():
            records.append(json.loads(self.lines.get_nowait()))
        return records

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=15):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        while _sockets:
            _sockets.pop().close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for pump in self._pumps:
            pump.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        # Under the asan/tsan presets a report may not stop the server: never let one pass.
        reports = [line for line in self.stderr if SANITIZER_REPORT.search(line)]
        assert not reports, "sanitizer report from the server:\n" + "".join(self.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_binary(args=(), env=None, timeout=5):
    """The binary run to its end (flags, refused settings): its CompletedProcess, output as text."""
    return subprocess.run([BIN, *args], env={"PATH": "/usr/bin:/bin", **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)


def raise_fd_limit(need):
    """Raises the open-files soft limit to the hard one; skips the test if the hard one is below need."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise unittest.SkipTest(f"open-files hard limit {hard} is below {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else need, hard))


def free_ports(count=1):
    """Ports nothing listens on now on 127.0.0.1 (held open together, so they differ)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def connect(port, timeout=5):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _sockets.append(sock)
    return sock


def request(method="GET", path="/", headers=(), body=b"", version="HTTP/1.1", host="test"):
    head = f"{method} {path} {version}\r\nHost: {host}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("latin-1") + b"\r\n" + body


class Reader:
    """Parses responses off one connection; keeps bytes that belong to the next response. With a
    deadline (a time.monotonic() value) no read waits past it: socket.timeout instead."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False  # the peer closed (EOF or reset)

    def _fill(self, deadline=None):
        if deadline is not None:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise EOFError("connection closed")
        self.buf += chunk

    def response(self, head_only=False, deadline=None):
        """(status, headers with lower-case names, body); ValueError if it is not a well-formed
        response with a Content-Length framing (the service never sends chunked)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        match = re.match(r"^HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
        if not match:
            raise ValueError(f"not a status line: {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"not a header line: {line!r}")
            if name.lower() in headers:
                raise ValueError(f"header sent twice: {name}")
            headers[name.lower()] = value.strip()
        if not head_only and "transfer-encoding" in headers:
            raise ValueError("a chunked response (none expected here)")
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill(deadline)
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(match.group(1)), headers, body

    def ask(self, data):
        """Sends data (a request) and reads one response: (status, headers, body)."""
        self.sock.sendall(data)
        return self.response()

    def closed(self, timeout=3):
        """True if the peer closes (EOF or reset) with no further bytes within timeout."""
        try:
            while True:
                self._fill(time.monotonic() + timeout)
        except EOFError:
            return not self.buf
        except socket.timeout:
            return False


def exchange(port, data, head_only=False, timeout=5):
    """Sends raw bytes on a new connection, returns (status, headers, body, reader)."""
    sock = connect(port, timeout)
    sock.sendall(data)
    reader = Reader(sock)
    return (*reader.response(head_only), reader)


def get(port, path="/", method="GET", host="test", timeout=5):
    """One request on its own connection, closed after the answer: (status, headers, body)."""
    data = request(method, path, [("Connection", "close")], host=host)
    status, headers, body, reader = exchange(port, data, method == "HEAD", timeout)
    reader.sock.close()
    return status, headers, body


def under_slow_clients(port, probe, pause, host="test"):
    """Runs probe() every pause s for 8 s while 2000 idle keep-alive clients (one request answered
    each, then silence) and 200 slowloris clients (a header byte per second, reconnecting whenever
    cut off) hold connections to port: how long each probe took (s)."""
    idle = []
    for _ in range(2000):
        idle.append(Reader(connect(port, timeout=10)))
        status = idle[-1].ask(request("GET", "/", host=host))[0]
        assert status == 200, status
    stop = threading.Event()

    def slowloris():
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode())
                    while not stop.wait(1):
                        sock.sendall(b"X")
            except OSError:
                pass

    attackers = [threading.Thread(target=slowloris, daemon=True) for _ in range(200)]
    for t in attackers:
        t.start()
    waits = []
    try:
        time.sleep(1)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            started = time.monotonic()
            probe()
            waits.append(time.monotonic() - started)
            time.sleep(pause)
    finally:
        stop.set()
        for reader in idle:
            reader.sock.close()
        for t in attackers:
            t.join(timeout=5)
    return waits


def scrape(metrics_port):
    """GET /metrics as Prometheus sends it: {'name{labels}': value}; asserts the exposition format."""
    status, headers, body, reader = exchange(metrics_port, request("GET", "/metrics", SCRAPE_HEADERS))
    reader.sock.close()
    assert status == 200, status
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8", headers
    samples = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, f"not an exposition line: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


class ServerTestCase(unittest.TestCase):
    """One server for the whole class, started with ENV; tests use self.port and self.server."""

    ENV = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(env=cls.ENV)
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


def main():
    """unittest.main(), except that with FA_TESTS_NO_SKIP=1 (CI) a skipped test is a failure."""
    program = unittest.main(exit=False)
    result = program.result
    if result.skipped and os.environ.get("FA_TESTS_NO_SKIP") == "1":
        print(f"FA_TESTS_NO_SKIP=1: {len(result.skipped)} test(s) skipped", flush=True)
        raise SystemExit(1)
    raise SystemExit(0 if result.wasSuccessful() else 1)
