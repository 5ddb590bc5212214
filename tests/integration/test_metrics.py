"""GET /metrics on the metrics port (METRICS_PORT): the Prometheus text exposition reflects what
the public port did (that the public port never serves it is a row of fa_test.contract(); that it
is scraped while draining and closes first: test_lifecycle.py's Shutdown)."""
import time
import unittest

from fa_test import connect, exchange, get, main, Reader, req, scrape, Server, wait_until


METRICS = {"METRICS_PORT": "0"}  # any free port, logged in the "listening" line


class Metrics(unittest.TestCase):
    def test_counters_histogram_and_gauges(self):
        with Server(env=METRICS) as server:
            self.assertNotEqual(server.metrics_port, server.port)
            before = scrape(server.metrics_port)
            for _ in range(3):
                get(server.port, "/")
            for method in ("POST", "BREW"):
                exchange(server.port, req(f"{method} / HTTP/1.1"))[3].sock.close()
            get(server.port, "/nope")
            time.sleep(0.2)  # the server notices the closed connections
            after = scrape(server.metrics_port)
            # Scrapes are not requests of the public port: they count nowhere.
            self.assertEqual(after['favorite_athlete_http_requests_total{code="200",method="GET"}'],
                             before.get('favorite_athlete_http_requests_total{code="200",method="GET"}', 0) + 3)
            self.assertEqual(after['favorite_athlete_http_requests_total{code="405",method="POST"}'], 1)
            self.assertEqual(after['favorite_athlete_http_requests_total{code="405",method="OTHER"}'], 1)  # bounded labels
            self.assertEqual(after['favorite_athlete_http_requests_total{code="404",method="GET"}'], 1)
            answered = sum(v for k, v in after.items() if k.startswith("favorite_athlete_http_requests_total"))
            self.assertEqual(after["favorite_athlete_http_request_duration_seconds_count"], answered)
            self.assertEqual(after['favorite_athlete_http_request_duration_seconds_bucket{le="+Inf"}'], answered)
            self.assertEqual(after["favorite_athlete_http_requests_in_flight"], 0)
            self.assertEqual(after["favorite_athlete_http_open_connections"], 0)
            for state in ("idle", "reading", "writing", "closing"):
                self.assertEqual(after[f'favorite_athlete_connections{{state="{state}"}}'], 0)
            build = [k for k in after if k.startswith("favorite_athlete_build_info")]
            self.assertEqual(len(build), 1)
            self.assertRegex(build[0], r'commit="[^"]+"')
            self.assertRegex(build[0], r'version="\d+\.\d+\.\d+"')

    def test_metrics_port_serves_only_metrics(self):
        with Server(env=METRICS) as server:
            self.assertEqual(get(server.metrics_port, "/")[0], 404)
            self.assertEqual(get(server.metrics_port, "/healthz")[0], 404)
            status, headers, _, posted = exchange(server.metrics_port, req("POST /metrics HTTP/1.1"))
            self.assertEqual((status, headers["allow"]), (405, "GET, HEAD"))
            # Closed, as a client would: cpp-httplib 0.41 reads a POST with no Content-Length for a
            # body until the peer closes (0.53 does not), so left open it holds a worker as a client
            # that sends nothing does, and this test is about one such client.
            posted.sock.close()
            status, headers, body, reader = exchange(server.metrics_port, req("HEAD /metrics HTTP/1.1"), head_only=True)
            self.assertEqual((status, body), (200, b""))
            reader.sock.close()
            self.assertRegex(headers["date"], r" GMT$")
            # One request per connection: a kept-alive scraper never holds the one worker.
            status, headers, _, reader = exchange(server.metrics_port, req("GET /metrics HTTP/1.1"))
            self.assertEqual((status, headers.get("connection")), (200, "close"))
            self.assertTrue(reader.closed())
            # A client that sends nothing holds one of the two workers, not the scrape.
            idle = connect(server.metrics_port)
            started = time.monotonic()
            self.assertIn("favorite_athlete_http_requests_in_flight", scrape(server.metrics_port))
            self.assertLess(time.monotonic() - started, 1.0)
            idle.close()

    def test_off_by_default(self):
        with Server() as server:
            self.assertEqual(server.metrics_port, "off")

    def test_idle_connections_and_partial_heads_hold_no_thread(self):
        # cpp-httplib's own server held a worker per keep-alive connection until its timeout, so
        # with every worker held by an idle client the next one waited that long.
        env = dict(METRICS, THREADS="1", KEEPALIVE_TIMEOUT_SECONDS="30")
        with Server(env=env) as server:
            idle = Reader(connect(server.port))
            self.assertEqual(idle.ask(req())[0], 200)
            slow = connect(server.port)
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and then nothing, for now
            time.sleep(0.2)
            started = time.monotonic()
            self.assertEqual(get(server.port)[0], 200)  # the one event loop serves it meanwhile
            self.assertLess(time.monotonic() - started, 0.5)
            # The one-shot GET's connection stays open while the server lingers after its reply
            # (at most 1 s): wait for it to go.
            open_connections = "favorite_athlete_http_open_connections"
            wait_until(lambda: scrape(server.metrics_port)[open_connections] == 2, 3, f"{open_connections} 2")
            samples = scrape(server.metrics_port)
            self.assertEqual(samples['favorite_athlete_connections{state="idle"}'], 1)
            self.assertEqual(samples['favorite_athlete_connections{state="reading"}'], 1)
            self.assertEqual(samples[open_connections], 2)
            self.assertEqual(idle.ask(req())[0], 200)  # idle, not closed: served again
            slow.sendall(b"\r\n")  # the head completes: answered
            self.assertEqual(Reader(slow).response()[0], 200)


if __name__ == "__main__":
    main()
