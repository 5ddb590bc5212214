"""Slow and idle clients through the nginx front every deployment has: 200 connections sending a
header byte per second and 2000 idle keep-alive connections must not delay a normal GET beyond
1 s. nginx buffers request heads and holds idle connections itself; the replicas never see them."""
import time
import unittest

from fa_load import Load, slow_clients
from fa_test import main, raise_fd_limit
from stack import HOST, Stack, require


class SlowClients(unittest.TestCase):
    def test_slowloris_and_idle_keep_alive_through_nginx(self):
        raise_fd_limit(2600)  # or skipped (FA_TESTS_NO_SKIP=1: failed)
        with Stack() as stack:
            # The normal client: a GET / on a new connection every 0.1 s.
            with slow_clients(stack.port, HOST), Load(stack.port, clients=1, rate=10, host=HOST, fresh=True) as load:
                time.sleep(8)
            probes = load.stats()
            print(f"FIGURES slow-clients via nginx: 200 slowloris + 2000 idle keep-alive; normal GET {probes['line']}",
                  flush=True)
            self.assertEqual(load.errors, [])
            self.assertEqual((probes["failed"], probes["non_2xx"]), (0, 0))
            self.assertGreater(probes["sent"], 0)
            self.assertLess(probes["max_ms"], 1000)


if __name__ == "__main__":
    require("nginx", "nginx")
    main()
