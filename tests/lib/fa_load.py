"""Many clients at once, built on fa_test's raw HTTP client: a steady load that records every
request (Load: the e2e tests' traffic through nginx, the soak's, the access log's), and the
slow-client attack (slow_clients) both the integration and the e2e tests run. Standard library
only; on PYTHONPATH with fa_test (tests/lib)."""
import contextlib
import socket
import threading
import time

from fa_test import connect, GREETING, Reader, req


@contextlib.contextmanager
def slow_clients(port, host="test"):
    """For the block: 2000 idle keep-alive clients (one request answered each, then silence) and
    200 slowloris clients (a header byte per second, reconnecting whenever cut off) hold
    connections to port."""
    idle = []
    for _ in range(2000):
        idle.append(Reader(connect(port, timeout=10)))
        status = idle[-1].ask(req(host=host))[0]
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
    try:
        time.sleep(1)  # every slowloris client connected
        yield
    finally:
        stop.set()
        for reader in idle:
            reader.sock.close()
        for t in attackers:
            t.join(timeout=5)


class Load:
    """`clients` threads sending requests to 127.0.0.1:port, each at about `rate` requests per
    second (None: each as soon as the last is answered) on a kept-alive connection of its own (a
    new one after an answer saying close, after a failure, or with fresh=True after every
    answer). request(i, n) is client i's n-th request (default: GET / for host). Records every
    request: (start, latency s, status, request bytes); status None if it failed (no answer, a
    broken connection, or a 2xx to GET / without the greeting), each failure named in errors."""

    def __init__(self, port, clients=6, rate=50, host="test", request=None, fresh=False):
        self.port, self.interval, self.fresh = port, 1.0 / rate if rate else 0.0, fresh
        self.request = request or (lambda i, n: req(host=host))
        self.records, self.errors = [], []
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def _client(self, i):
        reader, next_at, n = None, time.monotonic(), 0
        while not self._stop.is_set():
            data, start, n = self.request(i, n), time.monotonic(), n + 1
            try:
                reader = reader or Reader(socket.create_connection(("127.0.0.1", self.port), timeout=5))
                reader.sock.sendall(data)
                status, headers, body = reader.response(head_only=data.startswith(b"HEAD "))
                if status // 100 == 2 and data.startswith(b"GET / ") and body != GREETING:
                    raise AssertionError(f"unexpected body {body!r}")
                if self.fresh or headers.get("connection") == "close":
                    reader.sock.close()
                    reader = None
            except Exception as e:  # every failure is counted, none ends the load
                with self._lock:
                    self.errors.append(f"{type(e).__name__}: {e}")
                status = None
                if reader:
                    reader.sock.close()
                reader = None
            with self._lock:
                self.records.append((start, time.monotonic() - start, status, data))
            next_at = max(next_at + self.interval, time.monotonic() - self.interval)
            self._stop.wait(max(0.0, next_at - time.monotonic()))
        if reader:
            reader.sock.close()

    def stats(self, since=0.0, until=float("inf")):
        """Of the requests started in [since, until): how many were sent, failed and non-2xx, the
        slowest (max_ms), and a line of figures with their latencies."""
        with self._lock:
            records = [r for r in self.records if since <= r[0] < until]
        ms = sorted(r[1] * 1000 for r in records) or [float("nan")]
        s = {"sent": len(records), "failed": sum(1 for r in records if r[2] is None),
             "non_2xx": sum(1 for r in records if r[2] is not None and r[2] // 100 != 2), "max_ms": ms[-1]}
        pct = {p: ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))] for p in (50, 99)}
        s["line"] = (f"sent={s['sent']} failed={s['failed']} non_2xx={s['non_2xx']} "
                     f"p50={pct[50]:.1f}ms p99={pct[99]:.1f}ms max={ms[-1]:.1f}ms")
        return s
