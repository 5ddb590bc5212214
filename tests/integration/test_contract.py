"""The HTTP contract through real sockets: every row of fa_test.contract() (the README's table),
HEAD against GET, the access log's line, the athlete configured."""
import json
import unittest

from fa_test import contract, exchange, get, judge, main, outcome, request, Server, ServerTestCase


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


class Configured(unittest.TestCase):
    def test_athlete_from_env_is_valid_json(self):
        name = 'Zoë "Lightning" \\ 蘇炳添 </script>'
        with Server(env={"FAVORITE_ATHLETE": name}) as server:
            self.assertEqual(json.loads(get(server.port)[2]), {"myFavoriteAthlete": name})


if __name__ == "__main__":
    main()
