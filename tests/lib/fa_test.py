"""The Python tests' one library (tests/integration, tests/conformance, tests/e2e): runs the real
favorite-athlete binary on 127.0.0.1, talks raw HTTP/1.1 to it (send bytes, read each response by
its framing; scrape() reads /metrics as Prometheus does), judges an exchange against a case
(request bytes -> required answer: the conformance checklist's cases and the README's contract,
contract()), picks free ports and waits. Many clients at once (a steady load, the slow-client
attack): fa_load.py, beside it.

Standard library only. The binary comes from $FA_BIN (ctest sets it); ctest puts this directory on
PYTHONPATH (by hand: PYTHONPATH=tests/lib).
"""
import collections
import json
import os
import queue
import re
import resource
import socket
import subprocess
import threading
import time
import unittest

BIN = os.environ.get("FA_BIN", "build/dev/favorite-athlete")
GREETING = b'{"myFavoriteAthlete":"Usain Bolt"}'  # GET / with the default FAVORITE_ATHLETE
_sockets = []  # closed with the server, so tests need no cleanup of their own
SANITIZER_REPORT = re.compile(r"ERROR: AddressSanitizer|WARNING: ThreadSanitizer|runtime error:|ERROR: LeakSanitizer")


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
    (a file or fd) its log goes there instead, unread: the ports (PORT, METRICS_PORT) are chosen
    here then."""

    def __init__(self, env=None, stdout=None):
        full_env = {"PATH": os.environ.get("PATH", ""), "PORT": "0", "BIND_ADDRESS": "127.0.0.1",
                    "DRAIN_SECONDS": "0"}
        if stdout is not None:
            full_env["PORT"], full_env["METRICS_PORT"] = map(str, free_ports(2))
        full_env.update(env or {})
        self.proc = subprocess.Popen([BIN], env=full_env, stdout=subprocess.PIPE if stdout is None else stdout,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.stderr = []
        streams = [(self.proc.stderr, self.stderr.append)] + ([(self.proc.stdout, self.lines.put)] if stdout is None else [])
        self._pumps = [threading.Thread(target=self._pump, args=stream, daemon=True) for stream in streams]
        for pump in self._pumps:
            pump.start()
        if stdout is not None:
            self.port, self.metrics_port = int(full_env["PORT"]), int(full_env["METRICS_PORT"])
            wait_until(lambda: self.proc.poll() is not None or accepts(self.port), 5, f"the server on port {self.port}")
            assert self.proc.poll() is None, f"the server exited with {self.proc.returncode}: {self.stderr}"
        else:
            self.listening = self.next_log(timeout=5)  # the start line: ports, event loops, limits
            assert self.listening["msg"] == "listening", self.listening
            self.port = self.listening["port"]
            self.metrics_port = self.listening.get("metrics_port")  # "off" unless METRICS_PORT is set

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


def req(line="GET / HTTP/1.1", *fields, host="test", body=b""):
    """A request head: the request line, Host (unless host is None), then the given raw lines."""
    lines = [line] + ([f"Host: {host}"] if host is not None else []) + list(fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


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


def get(port, path="/", host="test", timeout=5):
    """One GET on its own connection, closed after the answer: (status, headers, body)."""
    data = req(f"GET {path} HTTP/1.1", "Connection: close", host=host)
    status, headers, body, reader = exchange(port, data, timeout=timeout)
    reader.sock.close()
    return status, headers, body


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN)$')
# What Prometheus 2.x sends when it scrapes a target.
SCRAPE_HEADERS = ["Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                  "Accept-Encoding: gzip", "User-Agent: Prometheus/2.45.0",
                  "X-Prometheus-Scrape-Timeout-Seconds: 10", "Connection: close"]


def scrape(metrics_port):
    """GET /metrics as Prometheus sends it: {'name{labels}': value}; asserts the exposition format."""
    status, headers, body, reader = exchange(metrics_port, req("GET /metrics HTTP/1.1", *SCRAPE_HEADERS))
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


# A case: a request and the answer required of it (tests/conformance/checklist.py holds the RFC's).
#   id, ref, rule  a short stable name, where the requirement is written, the requirement in words
#   raw      the request bytes (or a list of byte strings: a big body streamed), sent on a fresh
#            connection while the answer is read
#   status   the required status of the first response (an int or a tuple of ints; None in it: a
#            close before any response is allowed too)
#   close    True: the server must close the connection after that response;
#            False: it must keep it open (a follow-up GET / on it is answered 200);
#            None: either (the RFC lets a server close any connection); open, the follow-up gets 200
#   head     the first response is to HEAD: no body follows its head
#   headers  {name: regex} the first response's headers must match (None: must be absent)
#   replies  for pipelined requests: the statuses of every response, in order
#   body     a regex the first response's body must match
Case = collections.namedtuple("Case", "id ref rule raw status close head headers replies body",
                              defaults=(None, False, {}, None, None))
# responses: what was parsed; after: "open" (a follow-up GET / was answered, its status in
# followup), "closed" (EOF or reset), "junk, then closed", or "silent" (neither within the
# deadline); error: why parsing stopped early, if it did; took: seconds until a response or EOF.
Outcome = collections.namedtuple("Outcome", "responses after followup error took")
Response = collections.namedtuple("Response", "status headers body")
DEADLINE = 3.0  # for every read of outcome(): a server that wedges fails, never hangs


def outcome(port, case, host="test"):
    """Sends case.raw on a new connection; reads its responses, then probes the connection with a
    GET / for host."""
    conn = Reader(connect(port, timeout=DEADLINE))
    started = time.monotonic()
    deadline = started + DEADLINE
    sender = threading.Thread(target=_send, args=(conn.sock, case.raw), daemon=True)
    sender.start()
    responses, error = [], None
    try:
        try:
            for i in range(len(case.replies or (1,))):
                responses.append(Response(*conn.response(case.head and i == 0, deadline)))
        except EOFError:
            error = "closed before a response" if not responses else "closed before every response"
        except socket.timeout:
            error = "no response within the deadline"
        except ValueError as e:
            error = str(e)
        took = time.monotonic() - started
        if conn.eof:
            return Outcome(responses, "closed", None, error, took)
        sender.join(DEADLINE)  # the request is sent (or the server stopped taking it) before the probe
        # Did the server close? A follow-up request tells at once: answered, or EOF/reset.
        try:
            conn.sock.sendall(req(host=host))
            status = conn.response(False, time.monotonic() + DEADLINE)[0]
            return Outcome(responses, "open", status, error, took)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            # Bytes left after a Content-Length are junk; with none, they are the body (Go's 400s).
            junk = conn.buf and (not responses or "content-length" in responses[-1].headers)
            return Outcome(responses, "junk, then closed" if junk else "closed", None, error, took)
        except (socket.timeout, ValueError):
            return Outcome(responses, "silent", None, error, took)
    finally:
        conn.sock.close()


def _send(sock, raw):
    """raw (bytes or a list of them) until all is sent or the server stops taking it."""
    try:
        for chunk in [raw] if isinstance(raw, bytes) else raw:
            sock.sendall(chunk)
    except OSError:
        pass  # closed or reset by the server: what it answered is judged


def judge(case, outcome):
    """The ways outcome breaks case's requirement (empty: it conforms)."""
    wanted = case.replies or (case.status,)
    problems = []
    if outcome.error and len(outcome.responses) < len(wanted):
        problems.append(outcome.error)
    allowed = case.status if isinstance(case.status, tuple) else (case.status,)
    if not outcome.responses:
        if None in allowed and outcome.error == "closed before a response":
            return []
        return problems or ["no response"]
    first = outcome.responses[0]
    if first.status not in allowed:
        problems.append(f"status {first.status}, required {case.status}")
    if case.replies and [r.status for r in outcome.responses] != list(case.replies):
        problems.append(f"replies {[r.status for r in outcome.responses]}, required {list(case.replies)}")
    for name, pattern in case.headers.items():
        value = first.headers.get(name)
        if pattern is None and value is not None:
            problems.append(f"{name}: {value!r} must be absent")
        elif pattern is not None and (value is None or not re.search(pattern, value)):
            problems.append(f"{name}: {value!r} does not match {pattern!r}")
    if case.body is not None and not re.search(case.body, first.body):
        problems.append(f"body {first.body[:80]!r} does not match {case.body!r}")
    if case.head and first.body:
        problems.append("a body after a HEAD response")
    if case.close is not None and outcome.after != ("closed" if case.close else "open"):
        problems.append(f"connection {outcome.after}, must {'be closed' if case.close else 'stay open'}")
    if outcome.after == "open" and outcome.followup != 200:  # whatever the case, an open connection serves on
        problems.append(f"follow-up GET / on the connection kept open: {outcome.followup}, required 200")
    return problems


OTHER_METHODS = ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "BREW", "M-SEARCH", "get")


def contract(host="test", methods=OTHER_METHODS):
    """The README's HTTP contract as cases (a method and a target each; the body and headers named
    are required exactly), every answer but a 405 on a connection kept alive (so a HEAD's body
    would show as a broken follow-up): conformance.checklist sends them to the binary, the e2e
    tests to nginx with the host it routes. methods: those answered 405 on any path ("*",
    asterisk-form, is a valid target for OPTIONS only)."""
    def exact(text):  # \A...\Z: $ would let a trailing newline pass
        return b"\\A" + re.escape(text) + b"\\Z" if isinstance(text, bytes) else r"\A" + re.escape(text) + r"\Z"

    def case(target, status, body, method="GET", fields=(), **headers):
        close = None if status == 405 else False  # a 405 may close (the service does for unknown methods)
        return Case(f"{method} {target}", "README.md#http-contract", "", req(f"{method} {target} HTTP/1.1", *fields, host=host),
                    status, close, method == "HEAD", {k.replace("_", "-"): exact(v) for k, v in headers.items()}, body=exact(body))
    length, not_found = str(len(GREETING)), b'{"error":"not found"}'
    return [case("/", 200, GREETING, content_type="application/json", content_length=length),
            case("/", 200, b"", "HEAD", content_type="application/json", content_length=length),
            case("/?x=1", 200, GREETING),  # the query is ignored
            case("/", 200, GREETING, fields=["Range: bytes=0-3"]),  # ranges are not served
            case("/healthz", 200, b'{"status":"ok"}'),
            case("/readyz", 200, b'{"status":"ready"}'),
            case("/no/such/thing", 404, not_found, content_type="application/json"),
            # /metrics lives on METRICS_PORT only; the public port answers it as any unknown path.
            *[case(target, 404, not_found) for target in ("/metrics", "/metrics/", "/metrics?x=1", f"http://{host}/metrics")],
            *[case(path, 405, b"Only GET method valid", method, allow="GET, HEAD", content_type="text/plain; charset=utf-8")
              for method in methods for path in ("/", "/healthz", "/nope") + (("*",) if method == "OPTIONS" else ())]]


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
