"""Malformed and oversized requests: a 4xx (or a closed connection), quickly, and the server
keeps serving."""
import time

from fa_test import connect, exchange, get, main, Reader, request, ServerTestCase


class Malformed(ServerTestCase):
    ENV = {"READ_TIMEOUT_SECONDS": "2"}

    def rejected(self, data, expect):
        """Sends data: a 4xx (one of expect, if given) with close, or a close without an answer,
        within 1.5 s; the server still serves afterwards."""
        sock = connect(self.port, timeout=5)
        started = time.monotonic()
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reader = Reader(sock)
        try:
            status, headers, _ = reader.response()
        except (EOFError, ConnectionResetError):
            status = "closed"
        self.assertLess(time.monotonic() - started, 1.5)
        if status != "closed":
            self.assertGreaterEqual(status, 400)
            self.assertLess(status, 500)
            self.assertEqual(headers.get("connection"), "close")
            self.assertTrue(reader.closed())
        if expect:
            self.assertIn(status, expect)
        self.assertEqual(get(self.port)[0], 200, "the server stopped serving")

    def test_each_is_rejected_quickly_and_the_server_keeps_serving(self):
        # expect: the statuses allowed; () accepts any 4xx or a close.
        for name, data, expect in (
            ("garbage request line", b"HELLO\r\n\r\n", (400,)),
            ("TLS hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n", ()),
            ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (400,)),
            ("HTTP/0.9 request line", b"GET /\r\n", (400,)),
            # A 400 at once, though cpp-httplib's parser alone would wait for a CRLF until the read
            # deadline: the head is checked as received (check_head, service/request_head.hpp).
            ("bare LF line endings", b"GET / HTTP/1.1\nHost: x\n\n", (400,)),
            ("a bare LF inside a CRLF head", b"GET / HTTP/1.1\r\nHost: x\nX: y\n\r\n", (400,)),
            ("NUL in the request line", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", ()),
            ("NUL in a header value", b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", ()),
            ("5000-byte URI", request("GET", "/" + "a" * 5000), (414,)),
            ("64 KB URI", request("GET", "/" + "a" * 65536), ()),
            ("8000-byte header line", request("GET", "/", [("X-Big", "b" * 8000)]), ()),
            ("1 MB header line", request("GET", "/", [("X-Huge", "h" * (1024 * 1024))]), ()),
            ("10 000 headers", request("GET", "/", [(f"X-{i}", "v") for i in range(10000)]), ()),
            ("invalid Content-Length", request("POST", "/", [("Content-Length", "abc")]), (400, 405)),
        ):
            with self.subTest(name):
                self.rejected(data, expect)

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
