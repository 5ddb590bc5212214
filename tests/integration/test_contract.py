"""The HTTP contract through real sockets: every row of fa_test.contract() (the README's table),
HEAD against GET, the athlete configured (the access log's line: test_access_log.py)."""
import json
import unittest

from fa_test import contract, exchange, get, judge, main, outcome, req, Server, ServerTestCase


class Contract(ServerTestCase):
    ENV = {"METRICS_PORT": "0"}  # served on a port of its own, never on the public one

    def test_every_row_of_the_contract(self):
        for case in contract():
            with self.subTest(case.id):
                self.assertEqual(judge(case, outcome(self.port, case)), [])

    def test_head_root_matches_get_without_body(self):
        status, head_headers, _, reader = exchange(self.port, req("HEAD / HTTP/1.1"), head_only=True)
        self.assertEqual(status, 200)
        _, get_headers, _ = get(self.port)
        for h in ("connection", "keep-alive", "date"):  # Date may tick between the two
            head_headers.pop(h, None)
            get_headers.pop(h, None)
        self.assertEqual(head_headers, get_headers)
        # No body follows: the next bytes on the connection are the next response.
        self.assertEqual(reader.ask(req("GET /healthz HTTP/1.1"))[0], 200)


class Configured(unittest.TestCase):
    def test_athlete_from_env_is_valid_json(self):
        name = 'Zoë "Lightning" \\ 蘇炳添 </script>'
        with Server(env={"FAVORITE_ATHLETE": name}) as server:
            self.assertEqual(json.loads(get(server.port)[2]), {"myFavoriteAthlete": name})


if __name__ == "__main__":
    main()
