"""Through nginx, routed like the Ingress: the service's contract, and requests spread over the
three replicas. Also scripts/local.sh's command line."""
import subprocess
import unittest

import harness
from harness import BODY, HOST, LOCAL_SH, request


class ThroughNginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()

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


class CommandLine(unittest.TestCase):
    def run_local(self, *args):
        return subprocess.run(["bash", LOCAL_SH, *args], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    def test_help(self):
        res = self.run_local("--help")
        self.assertEqual(res.returncode, 0)
        self.assertIn("rolling-restart", res.stdout)
        self.assertIn("--skip-tests", res.stdout)

    def test_unknown_option_and_command_fail(self):
        self.assertNotEqual(self.run_local("--bogus").returncode, 0)
        self.assertNotEqual(self.run_local("bogus").returncode, 0)
        self.assertNotEqual(self.run_local("--replica-ports", "1,2").returncode, 0)

    def test_rolling_restart_without_a_running_stack_fails(self):
        tmp = harness.tempfile.mkdtemp(prefix="e2e-", dir="/tmp")
        try:
            res = self.run_local("rolling-restart", "--run-dir", tmp)
            self.assertEqual(res.returncode, 1)
            self.assertIn("no running", res.stderr)
        finally:
            harness.shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    harness.require("nginx", "nginx")
    unittest.main()
