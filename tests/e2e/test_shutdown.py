"""Stopping everything (SIGTERM, as compose and Kubernetes stop a container, or Ctrl-C, SIGINT to
each replica as a terminal sends it): every replica keeps serving through its drain and exits 0
within DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS; nginx then stops with 0; nothing is left
listening."""
import signal
import time
import unittest

from stack import Load, Stack, figures, require, status_of

DRAIN, SHUTDOWN_TIMEOUT = 1, 3


class StopAll(unittest.TestCase):
    def stop_and_check(self, sig):
        with Stack(drain_seconds=DRAIN, shutdown_timeout_seconds=SHUTDOWN_TIMEOUT) as stack:
            pids = {n: stack.replica_pid(n) for n in (1, 2, 3)}
            with Load(stack.port, clients=3, rate=40) as load:
                time.sleep(0.5)
                signalled_at = time.time()
                signalled = time.monotonic()
                rc = stack.stop(sig)
                stopped = time.monotonic()
            # While the replicas drain, nginx still gets answers from them.
            draining = load.stats(signalled, signalled + DRAIN * 0.8)
            figures(f"stop ({signal.Signals(sig).name})", load.stats(until=signalled), draining,
                    f"all stopped after {stopped - signalled:.2f}s, nginx exited {rc}")
            self.assertEqual(rc, 0, stack.nginx_log())
            self.assertGreater(draining["sent"], 5)
            self.assertEqual((draining["failed"], draining["non_2xx"]), (0, 0), "not served while draining")
            for n in (1, 2, 3):
                with self.subTest(replica=n):
                    [(exited_at, pid, code)] = stack.exits(n)
                    self.assertEqual((pid, code), (pids[n], 0))
                    self.assertLessEqual(exited_at - signalled_at, DRAIN + SHUTDOWN_TIMEOUT)
            for port in (stack.port, *stack.replica_ports):
                self.assertIsNone(status_of(port, "/healthz"), f"port {port} still answers")

    def test_sigterm_stops_every_replica_gracefully(self):
        self.stop_and_check(signal.SIGTERM)

    def test_ctrl_c_stops_every_replica_gracefully(self):
        self.stop_and_check(signal.SIGINT)


if __name__ == "__main__":
    require("nginx", "nginx")
    unittest.main()
