"""The pod's life under a steady load through nginx (fa_load.Load), one class per ctest label:
- RollingRestart: the Deployment's rollout, one replica at a time (SIGTERM, exits 0, started
  again, kept ready for minReadySeconds before the next): no GET fails or gets a non-2xx answer;
- Kill9: `kill -9` of one replica, started again on its port: no GET fails (nginx retries it on
  another replica), and the new process serves through nginx again;
- StopAll: SIGTERM (as compose and Kubernetes stop a container) or Ctrl-C (SIGINT) to every
  replica: each keeps serving through its drain and exits 0 within DRAIN_SECONDS +
  SHUTDOWN_TIMEOUT_SECONDS; nginx then stops with 0; nothing is left listening.
Each prints its figures (FIGURES lines)."""
import signal
import time
import unittest

from fa_load import Load
from stack import FAIL_TIMEOUT, HOST, Stack, figures, require, retried, status_of


class RollingRestart(unittest.TestCase):
    MIN_READY_SECONDS = 2  # by then the replica's fail_timeout in nginx is over: routed again

    def roll(self, stack, n):
        """Restarts replica n as the rollout does; a line on how long it took."""
        port, started = stack.replica_ports[n - 1], time.monotonic()
        self.assertEqual(status_of(port, "/readyz", "localhost"), 200, f"replica {n} not ready before its restart")
        self.assertEqual(stack.restart(n, signal.SIGTERM), 0, f"replica {n} did not exit 0")
        line = f"replica {n}: exited 0 and started again after {time.monotonic() - started:.1f} s"
        until = time.monotonic() + self.MIN_READY_SECONDS
        while time.monotonic() < until:
            time.sleep(0.25)
            self.assertIsNone(stack.replicas[n].proc.poll(), f"replica {n} exited")
            self.assertEqual(status_of(port, "/readyz", "localhost"), 200, f"replica {n} did not stay ready")
        return line

    def test_no_failed_request_while_every_replica_restarts(self):
        with Stack(drain_seconds=1) as stack:
            before = {n: stack.replicas[n].proc.pid for n in (1, 2, 3)}
            with Load(stack.port, host=HOST) as load:
                time.sleep(1)
                started = time.monotonic()
                print(*[self.roll(stack, n) for n in (1, 2, 3)], sep="\n", flush=True)
                finished = time.monotonic()
                time.sleep(FAIL_TIMEOUT + 1)  # long enough for nginx to route to every new replica
                settled = time.monotonic()
            total, during = load.stats(), load.stats(started, finished)
            figures("rolling-restart", total, during, f"restart took {finished - started:.1f}s; "
                    f"requests nginx retried on another replica={retried(stack.access_log())}")
            bad = [r for r in stack.access_log() if r["status"] != 200]
            if bad:
                print("nginx answered non-200:", *bad[:20], sep="\n  ", flush=True)
            self.assertEqual(load.errors, [])
            self.assertEqual((total["failed"], total["non_2xx"]), (0, 0))
            self.assertGreater(during["sent"], 100, "the load did not run during the restart")
            self.assertGreater(load.stats(since=settled - 1)["sent"], 0)
            for n in (1, 2, 3):
                with self.subTest(replica=n):
                    self.assertEqual([(pid, rc) for _, pid, rc in stack.exits[n]], [(before[n], 0)])
                    self.assertNotEqual(stack.replicas[n].proc.pid, before[n])
                    self.assertTrue(stack.served(n), "the new process got no traffic through nginx")


class Kill9(unittest.TestCase):
    def test_no_failed_get_when_a_replica_is_killed(self):
        with Stack(drain_seconds=1) as stack:
            victim = 2
            old = stack.replicas[victim].proc.pid
            with Load(stack.port, host=HOST) as load:
                time.sleep(1)
                killed = time.monotonic()
                stack.restart(victim, signal.SIGKILL)  # a new process, ready on the same port
                back = time.monotonic()
                time.sleep(FAIL_TIMEOUT + 1)
            total, during = load.stats(), load.stats(killed, back + FAIL_TIMEOUT)
            figures("kill-9", total, during, f"replica back on its port after {back - killed:.2f}s; "
                    f"requests nginx retried on another replica={retried(stack.access_log())}")
            self.assertEqual(load.errors, [])
            self.assertEqual((total["failed"], total["non_2xx"]), (0, 0))
            self.assertGreater(during["sent"], 50, "the load did not run while the replica was down")
            # Killed by SIGKILL (Popen's -9; the kubelet reports it as exit code 137).
            self.assertEqual([(pid, rc) for _, pid, rc in stack.exits[victim]], [(old, -signal.SIGKILL)])
            self.assertNotEqual(stack.replicas[victim].proc.pid, old)
            self.assertTrue(stack.served(victim), "the restarted replica got no traffic through nginx")
            for n in (1, 3):
                self.assertEqual(stack.exits[n], [], f"replica {n} restarted too")


class StopAll(unittest.TestCase):
    DRAIN, SHUTDOWN_TIMEOUT = 1, 3

    def stop_and_check(self, sig):
        with Stack(drain_seconds=self.DRAIN, shutdown_timeout_seconds=self.SHUTDOWN_TIMEOUT) as stack:
            pids = {n: stack.replicas[n].proc.pid for n in (1, 2, 3)}
            with Load(stack.port, clients=3, rate=40, host=HOST) as load:
                time.sleep(0.5)
                signalled_at, signalled = time.time(), time.monotonic()
                rc = stack.stop(sig)
                stopped = time.monotonic()
            # While the replicas drain, nginx still gets answers from them.
            draining = load.stats(signalled, signalled + self.DRAIN * 0.8)
            figures(f"stop ({signal.Signals(sig).name})", load.stats(until=signalled), draining,
                    f"all stopped after {stopped - signalled:.2f}s, nginx exited {rc}")
            self.assertEqual(rc, 0, stack.nginx_log())
            self.assertGreater(draining["sent"], 5)
            self.assertEqual((draining["failed"], draining["non_2xx"]), (0, 0), "not served while draining")
            for n in (1, 2, 3):
                with self.subTest(replica=n):
                    [(exited_at, pid, code)] = stack.exits[n]
                    self.assertEqual((pid, code), (pids[n], 0))
                    self.assertLessEqual(exited_at - signalled_at, self.DRAIN + self.SHUTDOWN_TIMEOUT)
            for port in (stack.port, *stack.replica_ports):
                self.assertIsNone(status_of(port, "/healthz"), f"port {port} still answers")

    def test_sigterm_stops_every_replica_gracefully(self):
        self.stop_and_check(signal.SIGTERM)

    def test_ctrl_c_stops_every_replica_gracefully(self):
        self.stop_and_check(signal.SIGINT)


if __name__ == "__main__":
    require("nginx", "nginx")
    unittest.main()
