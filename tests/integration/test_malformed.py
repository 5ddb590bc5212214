"""Malformed and oversized requests: a 4xx (or a closed connection), quickly, and the server
keeps serving."""
import socket
import time
import unittest

from fa_test import connect, get, main, Reader, request, Server, ServerTestCase


class Malformed(ServerTestCase):
    ENV = {"READ_TIMEOUT_SECONDS": "2"}

    def rejected(self, data, expect=None, within=1.5):
        """Sends data; returns the 4xx status, or 'closed' when the server closed without one."""
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
            status, headers = "closed", {"connection": "close"}
        self.assertLess(time.monotonic() - started, within)
        if status != "closed":
            self.assertGreaterEqual(status, 400)
            self.assertLess(status, 500)
            self.assertEqual(headers.get("connection"), "close")
            self.assertTrue(reader.closed())
        if expect is not None:
            self.assertEqual(status, expect)
        self.assertEqual(get(self.port)[0], 200, "the server stopped serving")
        return status

    def test_garbage_request_line(self):
        self.rejected(b"HELLO\r\n\r\n", 400)
        self.rejected(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n")  # TLS hello

    def test_http2_preface(self):
        self.rejected(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400)

    def test_http09_request_line(self):
        self.rejected(b"GET /\r\n", 400)

    def test_bare_lf_line_endings(self):
        # A 400 at once, though cpp-httplib's parser alone would wait for a CRLF until the read
        # deadline: the head is checked as received (handlers.hpp check_head).
        self.rejected(b"GET / HTTP/1.1\nHost: x\n\n", 400)
        self.rejected(b"GET / HTTP/1.1\r\nHost: x\nX: y\n\r\n", 400)

    def test_nul_bytes(self):
        self.rejected(b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.rejected(b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n")

    def test_long_uri_is_414(self):
        self.rejected(request("GET", "/" + "a" * 5000), 414)

    def test_64k_uri(self):
        self.rejected(request("GET", "/" + "a" * 65536))

    def test_long_header_line(self):
        self.rejected(request("GET", "/", [("X-Big", "b" * 8000)]))

    def test_1mb_header_line(self):
        self.rejected(request("GET", "/", [("X-Huge", "h" * (1024 * 1024))]))

    def test_10000_headers(self):
        self.rejected(request("GET", "/", [(f"X-{i}", "v") for i in range(10000)]))

    def test_invalid_percent_encoding_is_just_an_unknown_path(self):
        for path in ("/%zz", "/%", "/%00", "/%ff%fe", "/%0d%0aSet-Cookie:%20x"):
            sock = connect(self.port)
            sock.sendall(request("GET", path, [("Connection", "close")]))
            status, headers, _ = Reader(sock).response()
            self.assertEqual(status, 404)
            self.assertNotIn("set-cookie", headers)

    def test_invalid_content_length(self):
        status = self.rejected(request("POST", "/", [("Content-Length", "abc")]))
        self.assertIn(status, (400, 405))

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
