"""GET /metrics: the Prometheus text exposition reflects what the server did."""
import re
import time
import unittest

import harness
from harness import Reader, Server, connect, exchange, get, request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN)$')


def scrape(port):
    status, headers, body = get(port, "/metrics")
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


class Metrics(unittest.TestCase):
    def test_counters_histogram_and_gauges(self):
        with Server() as server:
            before = scrape(server.port)
            for _ in range(3):
                get(server.port, "/")
            for method in ("POST", "BREW"):
                exchange(server.port, request(method, "/"))[3].sock.close()
            get(server.port, "/nope")
            time.sleep(0.2)  # the server notices the closed connections
            after = scrape(server.port)
            self.assertEqual(after['http_requests_total{code="200",method="GET"}'],
                             before.get('http_requests_total{code="200",method="GET"}', 0) + 4)  # 3 + 1 scrape
            self.assertEqual(after['http_requests_total{code="405",method="POST"}'], 1)
            self.assertEqual(after['http_requests_total{code="405",method="OTHER"}'], 1)  # bounded labels
            self.assertEqual(after['http_requests_total{code="404",method="GET"}'], 1)
            answered = sum(v for k, v in after.items() if k.startswith("http_requests_total"))
            self.assertEqual(after["http_request_duration_seconds_count"], answered)
            self.assertEqual(after['http_request_duration_seconds_bucket{le="+Inf"}'], answered)
            self.assertEqual(after["http_requests_in_flight"], 1)  # this scrape
            self.assertEqual(after["http_open_connections"], 1)
            self.assertEqual(after["favorite_athlete_connections_waiting"], 0)
            build = [k for k in after if k.startswith("favorite_athlete_build_info")]
            self.assertEqual(len(build), 1)
            self.assertRegex(build[0], r'commit="[^"]+"')
            self.assertRegex(build[0], r'version="\d+\.\d+\.\d+"')

    def test_idle_connections_and_partial_heads_park_without_a_worker(self):
        with Server(env={"THREADS": "1", "KEEPALIVE_TIMEOUT_SECONDS": "30", "READ_TIMEOUT_SECONDS": "2"}) as server:
            idle = Reader(connect(server.port))
            idle.sock.sendall(request("GET", "/"))
            self.assertEqual(idle.response()[0], 200)
            slow = connect(server.port)
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and then nothing, for now
            time.sleep(0.2)
            started = time.monotonic()
            samples = scrape(server.port)  # the one worker is free for it
            self.assertLess(time.monotonic() - started, 0.5)
            self.assertEqual(samples["favorite_athlete_connections_parked"], 2)
            self.assertEqual(samples["http_open_connections"], 3)
            idle.sock.sendall(request("GET", "/"))  # parked, not closed: served again
            self.assertEqual(idle.response()[0], 200)
            slow.sendall(b"\r\n")  # the head completes: answered
            self.assertEqual(Reader(slow).response()[0], 200)

            stalled = connect(server.port)
            stalled.sendall(b"GET / HTTP/1.1\r\n")
            started = time.monotonic()
            self.assertTrue(Reader(stalled).closed(timeout=5))  # at READ_TIMEOUT_SECONDS
            self.assertGreater(time.monotonic() - started, 1.5)


if __name__ == "__main__":
    harness.main()
