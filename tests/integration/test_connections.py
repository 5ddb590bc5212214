"""Connection handling: keep-alive, pipelining, bodies that are never read, and the
cpp-httplib defaults this service fixes, as measured on 0.11, the first cpp-httplib it was built
on (each test fails against those defaults)."""
import resource
import shutil
import subprocess
import time
import unittest

from fa_test import connect, get, main, raise_fd_limit, Reader, req, Server, ServerTestCase
from test_malformed import last_answer, ONLY_GET, refused_quickly

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n"
BEHIND = req("GET /healthz HTTP/1.1")
# RFC 9112 9.6: an answer that says close is the last on its connection, whatever made it say
# close; nothing pipelined behind it is answered, and a body is never parsed as a request.
LAST_ANSWERS = [
    last_answer("the request's own close", req("GET / HTTP/1.1", "Connection: close") + BEHIND, 200),
    last_answer("HTTP/1.0 without keep-alive", req("GET / HTTP/1.0") + BEHIND, 200),
    last_answer("an error", b"GET / HTTP/1.1\r\n\r\n" + BEHIND, 400),  # no Host
    last_answer("POST, Content-Length", req("POST / HTTP/1.1", f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED), 405),
    last_answer("POST, chunked", req("POST / HTTP/1.1", "Transfer-Encoding: chunked",
                                     body=b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)), 405),
    last_answer("GET with a body: answered, then closed",
                req("GET / HTTP/1.1", f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED), 200),
    # The final answer at once, with no 100 Continue first.
    last_answer("Expect: 100-continue", req("PUT / HTTP/1.1", "Content-Length: 1000000", "Expect: 100-continue"),
                405, body=ONLY_GET),
]


class Connections(ServerTestCase):
    ENV = {"KEEPALIVE_TIMEOUT_SECONDS": "5"}

    def test_every_answer_that_says_close_is_the_last_on_its_connection(self):
        for case in LAST_ANSWERS:
            with self.subTest(case.id):
                refused_quickly(self, self.port, case)

    def test_the_request_limit_answer_is_the_last(self):
        # Also what proves keep-alive and pipelining (with conformance.checklist's "pipelined" and
        # "head" cases): cpp-httplib 0.11's own server dropped every request after the first one
        # in a segment.
        reader = Reader(connect(self.port))
        reader.sock.sendall(req() * 1001)  # one more than a connection may take, in one write
        for i in range(1000):
            status, headers, _ = reader.response()
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("connection") == "close", i == 999, f"answer {i + 1}")
        self.assertTrue(reader.closed())

    def test_no_nagle_stall_in_a_pipeline_longer_than_a_turn(self):
        # Replies go out once per turn (16 requests): 17 pipelined ones in two writes. Without
        # TCP_NODELAY the second waits for the client's delayed ACK of the first (~40 ms), so 25
        # such pipelines would take 1 s or more.
        reader = Reader(connect(self.port))
        started = time.monotonic()
        for _ in range(25):
            reader.sock.sendall(req() * 17)
            for _ in range(17):
                self.assertEqual(reader.response()[0], 200)
        self.assertLess(time.monotonic() - started, 0.5)

    def test_an_idle_connection_is_closed_after_keepalive_timeout_seconds(self):
        with Server(env={"KEEPALIVE_TIMEOUT_SECONDS": "1"}) as server:
            reader = Reader(connect(server.port))
            status, headers, _ = reader.ask(req())
            self.assertEqual((status, headers.get("keep-alive")), (200, "timeout=1, max=1000"))
            started = time.monotonic()
            self.assertTrue(reader.closed(timeout=3))
            self.assertGreater(time.monotonic() - started, 0.8)

    def test_listen_backlog_is_not_five(self):
        if not shutil.which("ss"):
            self.skipTest("ss (iproute2) is not installed")  # FA_TESTS_NO_SKIP=1 fails it
        out = subprocess.run(["ss", "-Hltn", f"sport = :{self.port}"], capture_output=True, text=True,
                             check=True).stdout.split()
        backlog = int(out[2])  # State Recv-Q Send-Q ...: Send-Q of a listener is its backlog
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read())
        self.assertEqual(backlog, min(1024, somaxconn))


class ManyConnections(unittest.TestCase):
    def test_more_than_1024_silent_connections(self):
        # select() cannot watch fds >= 1024 (cpp-httplib 0.11 used it, then treated them as
        # readable and blocked without a timeout), and the default open-files soft limit is 1024:
        # the server starts with that limit here and must raise it itself. 1100 silent clients
        # must neither wedge the loops nor keep a normal client from being served.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        with Server(env={"THREADS": "8", "KEEPALIVE_TIMEOUT_SECONDS": "30"}) as server:
            raise_fd_limit(1300)  # for the clients
            silent = [connect(server.port) for _ in range(1100)]  # closed with the server
            started = time.monotonic()
            self.assertEqual(get(server.port)[0], 200)
            self.assertLess(time.monotonic() - started, 5.0)
            last = Reader(silent[-1])  # accepted with an fd above 1024
            self.assertEqual(last.ask(req("GET / HTTP/1.1", "Connection: close"))[0], 200)


if __name__ == "__main__":
    main()
