"""Through nginx, routed like the Ingress: every row of the service's contract (fa_test.contract(),
also run against the binary by conformance.checklist) and unknown hosts. That nginx spreads requests
over the three replicas: e2e.rolling_restart (each new process gets traffic)."""
import unittest

from fa_test import contract, get, judge, outcome
from stack import HOST, Stack, require

# Methods nginx itself refuses before routing (TRACE, CONNECT, lowercase, ...) never reach a replica.
METHODS = ("POST", "PUT", "DELETE", "PATCH", "BREW")


class ThroughNginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def test_every_row_of_the_contract_with_and_without_the_port_in_host(self):
        # /metrics lives on the replicas' METRICS_PORT, which is no upstream: it is a 404 here too.
        for host in (HOST, f"{HOST}:{self.stack.port}"):
            for case in contract(host, METHODS):
                with self.subTest(case.id, host=host):
                    self.assertEqual(judge(case, outcome(self.stack.port, case, host)), [])

    def test_unknown_host_is_404(self):
        for host in ("example.com", f"other.127.0.0.1.nip.io:{self.stack.port}", "127.0.0.1"):
            with self.subTest(host=host):
                status, _, body = get(self.stack.port, host=host)
                self.assertEqual(status, 404)
                self.assertNotIn(b"Usain", body)
        log = self.stack.access_log(routed=False)
        self.assertTrue(log and all(r["upstream_addr"] == "" for r in log), "unknown hosts reached a replica")


if __name__ == "__main__":
    require("nginx", "nginx")
    unittest.main()
