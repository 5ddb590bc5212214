"""Malformed and oversized requests beyond the RFC's rules (those are conformance.checklist's
cases: NUL or a bare LF in a field, obs-fold, Content-Length and Transfer-Encoding framing, a
5000-byte target), and 100 MB bodies: a 4xx saying close (or a close without an answer), quickly,
and the server keeps serving. last_answer(), CASES and refused_quickly() are also what
integration.adversarial sends (measuring memory) and how test_connections checks that an answer
is the last on its connection."""
import time

from fa_test import Case, connect, exchange, get, judge, main, outcome, req, ServerTestCase

MiB = 1024 * 1024
BODY_100_MB = [b"x" * 65536] * (100 * MiB // 65536)  # a Case's raw after its head: one 64 KiB chunk, 1600 times
REFUSED = (*range(400, 500), None)  # a Case's status: any 4xx, or a close without an answer
ONLY_GET = rb"\AOnly GET method valid\Z"  # the 405's body


def last_answer(name, raw, status=REFUSED, **fields):
    """A fa_test.Case whose answer says Connection: close (and no Keep-Alive) and is the last on its connection:
    nothing sent after the request (a body, a request pipelined behind it, the probe) is answered."""
    return Case(name, "", "", raw, status, True, headers={"connection": r"^close$", "keep-alive": None}, **fields)


CASES = [
    last_answer("garbage request line", b"HELLO\r\n\r\n", 400),
    last_answer("TLS hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n"),
    last_answer("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
    last_answer("HTTP/0.9 request line", b"GET /\r\n", 400),
    # A 400 at once, though cpp-httplib's parser alone would wait for a CRLF until the read
    # deadline: the head is checked as received (check_head, service/request_head.hpp).
    last_answer("bare LF line endings", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    last_answer("NUL in the request line", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n"),
    last_answer("NUL in the request line, no Host", b"GET /\x00 HTTP/1.1\r\n\r\n"),
    last_answer("64 KB URI", req(f"GET /{'a' * 65536} HTTP/1.1")),
    last_answer("8000-byte header line", req("GET / HTTP/1.1", "X-Big: " + "b" * 8000)),
    last_answer("1 MB header line", req("GET / HTTP/1.1", "X-Huge: " + "h" * MiB)),
    last_answer("10 000 headers", req("GET / HTTP/1.1", *(f"X-{i}: v" for i in range(10000)))),
    # Streamed while the answer is read: refused without being read.
    last_answer("100 MB POST, Content-Length", [req("POST / HTTP/1.1", f"Content-Length: {100 * MiB}"), *BODY_100_MB],
                405, body=ONLY_GET),
    last_answer("100 MB POST, chunked",
                [req("POST / HTTP/1.1", "Transfer-Encoding: chunked") + b"6400000\r\n", *BODY_100_MB]),
]


def refused_quickly(test, port, case):
    """case met (fa_test.judge) with its answer within 1.5 s, and the server serving afterwards:
    the outcome."""
    seen = outcome(port, case)
    test.assertEqual(judge(case, seen), [])
    test.assertLess(seen.took, 1.5)
    test.assertEqual(get(port)[0], 200, "the server stopped serving")
    return seen


class Malformed(ServerTestCase):
    ENV = {"READ_TIMEOUT_SECONDS": "2"}

    def test_each_is_rejected_quickly_and_the_server_keeps_serving(self):
        for case in CASES:
            with self.subTest(case.id):
                refused_quickly(self, self.port, case)

    def test_invalid_percent_encoding_is_just_an_unknown_path(self):
        for path in ("/%zz", "/%", "/%00", "/%ff%fe", "/%0d%0aSet-Cookie:%20x"):
            status, headers, _, _ = exchange(self.port, req(f"GET {path} HTTP/1.1", "Connection: close"))
            self.assertEqual(status, 404)
            self.assertNotIn("set-cookie", headers)

    def test_slow_request_head_is_cut_at_the_read_timeout(self):
        # A client trickling one byte at a time may hold a worker for READ_TIMEOUT_SECONDS (2 s
        # here) for its whole request head, not per byte.
        sock = connect(self.port, timeout=10)
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        closed_at = None
        try:
            for i in range(40):
                sock.sendall(b"X-%d: y\r\n" % i)
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.monotonic() - started
        if closed_at is None:
            self.fail("the server kept reading a request head for 10 s")
        self.assertGreater(closed_at, 1.5)
        self.assertLess(closed_at, 4.0)
        self.assertEqual(get(self.port)[0], 200)


if __name__ == "__main__":
    main()
