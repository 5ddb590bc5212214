"""The HTTP contract through real sockets: every row of fa_test.contract() (the README's table),
HEAD against GET, the access log."""
import json
import time
import unittest

from fa_test import connect, contract, exchange, get, judge, main, outcome, Reader, request, Server, ServerTestCase


class Contract(ServerTestCase):
    ENV = {"METRICS_PORT": "0"}  # served on a port of its own, never on the public one

    def test_every_row_of_the_contract(self):
        for case in contract():
            with self.subTest(case.id):
                self.assertEqual(judge(case, outcome(self.port, case)), [])

    def test_head_root_matches_get_without_body(self):
        status, head_headers, _, reader = exchange(self.port, request("HEAD", "/"), head_only=True)
        self.assertEqual(status, 200)
        _, get_headers, _ = get(self.port)
        for h in ("connection", "keep-alive", "date"):  # Date may tick between the two
            head_headers.pop(h, None)
            get_headers.pop(h, None)
        self.assertEqual(head_headers, get_headers)
        # No body follows: the next bytes on the connection are the next response.
        self.assertEqual(reader.ask(request("GET", "/healthz"))[0], 200)

    def test_one_access_log_line_per_request(self):
        reader = exchange(self.port, request("GET", "/healthz?probe=1"))[3]
        peer = "127.0.0.1:%d" % reader.sock.getsockname()[1]  # this request's line, not another test's
        record = self.server.next_log(msg="request")
        while record["peer"] != peer:
            record = self.server.next_log(msg="request")
        self.assertEqual((record["method"], record["path"], record["status"]), ("GET", "/healthz", 200))
        self.assertIsInstance(record["duration_ms"], (int, float))
        self.assertIn("time", record)


class AccessLogBatches(unittest.TestCase):
    def test_written_while_idle_and_complete_after_sigterm(self):
        with Server(env={"THREADS": "2"}) as server:
            get(server.port, "/healthz")  # an idle loop writes its batch at once
            started = time.monotonic()
            self.assertEqual(server.next_log(msg="request", timeout=2)["path"], "/healthz")
            self.assertLess(time.monotonic() - started, 1.0)
            # Many requests on several connections, then SIGTERM: every line is written, whole and
            # once, before "stopped". (A loop busy at the signal writes its batch as it ends: the
            # benchmark checks that under load, bench/measure.py; service/test_access_log.cpp unit-tests it.)
            readers = [Reader(connect(server.port)) for _ in range(8)]
            count = 0
            for _ in range(250):
                for reader in readers:
                    reader.sock.sendall(request("GET", f"/n{count}"))  # the log has paths, not queries
                    count += 1
                for reader in readers:
                    self.assertEqual(reader.response()[0], 404)
            server.signal()
            self.assertEqual(server.wait(), 0)
            records = server.remaining_logs()
            self.assertEqual(records[-1]["msg"], "stopped")
            paths = sorted(int(r["path"][2:]) for r in records
                           if r.get("msg") == "request" and r["path"].startswith("/n"))
            self.assertEqual(paths, list(range(count)))


class Configured(unittest.TestCase):
    def test_athlete_from_env_is_valid_json(self):
        name = 'Zoë "Lightning" \\ 蘇炳添 </script>'
        with Server(env={"FAVORITE_ATHLETE": name}) as server:
            self.assertEqual(json.loads(get(server.port)[2]), {"myFavoriteAthlete": name})

    def test_access_log_off(self):
        with Server(env={"ACCESS_LOG": "off"}) as server:
            for _ in range(3):
                get(server.port)
            server.signal()
            self.assertEqual(server.wait(), 0)
            msgs = [record["msg"] for record in server.remaining_logs()]
            self.assertNotIn("request", msgs)
            self.assertEqual(msgs[-1], "stopped")


if __name__ == "__main__":
    main()
