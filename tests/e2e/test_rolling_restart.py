"""Rolling restart of the three replicas (Stack.rolling_restart: one at a time, as the Deployment
rolls out, each after the previous one stayed ready for min_ready_seconds) under a steady load
through nginx: no GET may fail or get a non-2xx answer. The figures are printed."""
import time
import unittest

from stack import FAIL_TIMEOUT, Load, Stack, figures, require, retried


class RollingRestart(unittest.TestCase):
    def test_no_failed_request_while_every_replica_restarts(self):
        with Stack(drain_seconds=1) as stack:
            before = {n: stack.replica_pid(n) for n in (1, 2, 3)}
            with Load(stack.port) as load:
                time.sleep(1)
                started = time.monotonic()
                # Raises if a replica does not exit 0, come back ready or stay ready.
                print(*stack.rolling_restart(min_ready_seconds=2), sep="\n", flush=True)
                finished = time.monotonic()
                # Long enough for nginx to send traffic to every new replica again.
                time.sleep(FAIL_TIMEOUT + 1)
                settled = time.monotonic()
            total, during = load.stats(), load.stats(started, finished)
            after = load.stats(since=settled - 1)
            figures("rolling-restart", total, during,
                    f"restart took {finished - started:.1f}s; "
                    f"requests nginx retried on another replica={retried(stack.access_log())}")
            bad = [r for r in stack.access_log() if r["status"] != 200]
            if bad:
                print("nginx answered non-200:", *bad[:20], sep="\n  ", flush=True)
            self.assertEqual(load.errors, [])
            self.assertEqual((total["failed"], total["non_2xx"]), (0, 0))
            self.assertGreater(during["sent"], 100, "the load did not run during the restart")
            self.assertGreater(after["sent"], 0)
            for n in (1, 2, 3):
                with self.subTest(replica=n):
                    exits = stack.exits(n)
                    self.assertEqual([(pid, rc) for _, pid, rc in exits], [(before[n], 0)])
                    self.assertNotEqual(stack.replica_pid(n), before[n])
                    # The new process serves traffic through nginx again.
                    self.assertTrue(stack.served(n))


if __name__ == "__main__":
    require("nginx", "nginx")
    unittest.main()
