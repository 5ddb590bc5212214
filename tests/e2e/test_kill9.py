"""`kill -9` of one replica under a steady load through nginx: no GET fails (nginx retries it on
another replica), the replica is restarted on the same port and serves through nginx again."""
import os
import signal
import time
import unittest

import harness


class Kill9(unittest.TestCase):
    def test_no_failed_get_when_a_replica_is_killed(self):
        with harness.Stack(drain_seconds=1) as stack:
            victim = 2
            port = stack.replica_ports[victim - 1]
            old = stack.replica_pid(victim)
            with harness.Load(stack.port) as load:
                time.sleep(1)
                killed = time.monotonic()
                os.kill(old, signal.SIGKILL)
                # The port is taken over again: a new process, ready on the same port.
                harness.wait_until(lambda: stack.replica_pid(victim) != old
                                   and harness.status_of(port, "/readyz") == 200, 15,
                                   f"replica {victim} to be back on port {port}")
                back = time.monotonic()
                time.sleep(harness.FAIL_TIMEOUT + 1)
            total, during = load.stats(), load.stats(killed, back + harness.FAIL_TIMEOUT)
            harness.figures("kill-9", total, during,
                            f"replica back on its port after {back - killed:.2f}s; "
                            f"requests nginx retried on another replica={harness.retried(stack.access_log())}")
            self.assertEqual(load.errors, [])
            self.assertEqual((total["failed"], total["non_2xx"]), (0, 0))
            self.assertGreater(during["sent"], 50, "the load did not run while the replica was down")
            self.assertEqual([(pid, rc) for _, pid, rc in stack.exits(victim)], [(old, 128 + signal.SIGKILL)])
            self.assertGreater(stack.replica_requests_since_start(victim), 0,
                               "the restarted replica got no traffic through nginx")
            for n in (1, 3):
                self.assertEqual(stack.exits(n), [], f"replica {n} restarted too")


if __name__ == "__main__":
    harness.require("nginx", "nginx")
    unittest.main()
