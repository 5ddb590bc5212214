"""Malformed and oversized requests: a 4xx (or a closed connection), quickly, and the server
keeps serving. CASES and rejected() are also what integration.adversarial sends (with two 100 MB
bodies, measuring memory) and how test_connections checks a body is never read."""
import threading
import time

from fa_test import connect, exchange, get, main, Reader, request, ServerTestCase

MiB = 1024 * 1024
# name -> (request bytes, the statuses allowed; () accepts any 4xx or a close)
CASES = {
    "garbage request line": (b"HELLO\r\n\r\n", (400,)),
    "TLS hello": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n", ()),
    "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (400,)),
    "HTTP/0.9 request line": (b"GET /\r\n", (400,)),
    # A 400 at once, though cpp-httplib's parser alone would wait for a CRLF until the read
    # deadline: the head is checked as received (check_head, service/request_head.hpp).
    "bare LF line endings": (b"GET / HTTP/1.1\nHost: x\n\n", (400,)),
    "a bare LF inside a CRLF head": (b"GET / HTTP/1.1\r\nHost: x\nX: y\n\r\n", (400,)),
    "NUL in the request line": (b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", ()),
    "NUL in the request line, no Host": (b"GET /\x00 HTTP/1.1\r\n\r\n", ()),
    "NUL in a header value": (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", ()),
    "5000-byte URI": (request("GET", "/" + "a" * 5000), (414,)),
    "64 KB URI": (request("GET", "/" + "a" * 65536), ()),
    "8000-byte header line": (request("GET", "/", [("X-Big", "b" * 8000)]), ()),
    "1 MB header line": (request("GET", "/", [("X-Huge", "h" * MiB)]), ()),
    "10 000 headers": (request("GET", "/", [(f"X-{i}", "v") for i in range(10000)]), ()),
    "invalid Content-Length": (request("POST", "/", [("Content-Length", "abc")]), (400, 405)),
    "two Content-Lengths": (request("POST", "/", [("Content-Length", "0"), ("Content-Length", "30")]), ()),
    "CL + TE": (request("POST", "/", [("Content-Length", "6"), ("Transfer-Encoding", "chunked")],
                        b"0\r\n\r\nGET /x HTTP/1.1\r\n\r\n"), (400, 405)),
    "TE with odd spacing": (b"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", ()),
    "obs-fold header": (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", ()),
}


def rejected(test, port, data, expect=(), body_bytes=0):
    """Sends data, then body_bytes of body while reading the answer: it must be a 4xx (one of
    expect, if given) saying close, then the connection closes, or a close without an answer;
    within 1.5 s, and the server still serves afterwards. Returns (status or "closed", body, s)."""
    sock = connect(port, timeout=5)

    def send():  # until body_bytes are sent or the server closes
        try:
            sock.sendall(data)
            for _ in range(0, body_bytes, 65536):
                sock.sendall(b"x" * 65536)
        except OSError:
            pass

    started = time.monotonic()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    reader = Reader(sock)
    try:
        status, headers, body = reader.response()
    except EOFError:  # or reset
        status, body = "closed", b""
    took = time.monotonic() - started
    test.assertLess(took, 1.5)
    if status != "closed":
        test.assertTrue(400 <= status < 500, status)
        test.assertEqual(headers.get("connection"), "close")
        test.assertTrue(reader.closed(), "a second response followed: body bytes were parsed as a request")
    if expect:
        test.assertIn(status, expect)
    sock.close()
    sender.join(timeout=5)
    test.assertEqual(get(port)[0], 200, "the server stopped serving")
    return status, body, took


class Malformed(ServerTestCase):
    ENV = {"READ_TIMEOUT_SECONDS": "2"}

    def test_each_is_rejected_quickly_and_the_server_keeps_serving(self):
        for name, (data, expect) in CASES.items():
            with self.subTest(name):
                rejected(self, self.port, data, expect)

    def test_invalid_percent_encoding_is_just_an_unknown_path(self):
        for path in ("/%zz", "/%", "/%00", "/%ff%fe", "/%0d%0aSet-Cookie:%20x"):
            status, headers, _, _ = exchange(self.port, request("GET", path, [("Connection", "close")]))
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
