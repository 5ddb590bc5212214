"""Through nginx, routed like the Ingress: the service's contract, and requests spread over the
three replicas."""
import unittest

from stack import BODY, HOST, Stack, request, require


class ThroughNginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def test_get_is_the_json(self):
        status, headers, body = request(self.stack.port)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(body, BODY)

    def test_host_with_port_is_routed_too(self):
        status, _, body = request(self.stack.port, host=f"{HOST}:{self.stack.port}")
        self.assertEqual((status, body), (200, BODY))

    def test_head_is_get_without_body(self):
        status, headers, body = request(self.stack.port, method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(headers["content-length"], str(len(BODY)))
        self.assertEqual(body, b"")

    def test_post_and_other_methods_are_405_with_the_exact_text(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                status, headers, body = request(self.stack.port, method=method)
                self.assertEqual(status, 405)
                self.assertEqual(body, b"Only GET method valid")
                self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
                self.assertEqual(headers["allow"], "GET, HEAD")

    def test_probes_and_unknown_paths_reach_the_service(self):
        self.assertEqual(request(self.stack.port, path="/healthz")[2], b'{"status":"ok"}')
        self.assertEqual(request(self.stack.port, path="/readyz")[0], 200)
        status, _, body = request(self.stack.port, path="/nope")
        self.assertEqual((status, body), (404, b'{"error":"not found"}'))

    def test_metrics_is_not_routed(self):
        # The replicas' public port answers 404 (its JSON, so it got there); /metrics lives on
        # their METRICS_PORT, which is no upstream. The probes stay public (docs/conformance.md).
        for path in ("/metrics", "/metrics?format=prometheus", "/metrics/"):
            with self.subTest(path=path):
                status, _, body = request(self.stack.port, path=path)
                self.assertEqual((status, body), (404, b'{"error":"not found"}'))

    def test_unknown_host_is_404(self):
        for host in ("example.com", f"other.127.0.0.1.nip.io:{self.stack.port}", "127.0.0.1"):
            with self.subTest(host=host):
                status, _, body = request(self.stack.port, host=host)
                self.assertEqual(status, 404)
                self.assertNotIn(b"Usain", body)
        log = self.stack.access_log(routed=False)
        self.assertTrue(log and all(r["upstream_addr"] == "" for r in log), "unknown hosts reached a replica")

    def test_requests_are_spread_over_the_three_replicas(self):
        for _ in range(12):
            self.assertEqual(request(self.stack.port)[0], 200)
        used = {r["upstream_addr"] for r in self.stack.access_log()}
        self.assertEqual(used, {f"127.0.0.1:{p}" for p in self.stack.replica_ports})


if __name__ == "__main__":
    require("nginx", "nginx")
    unittest.main()
