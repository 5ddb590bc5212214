"""`kill -9` of one replica under a steady load through nginx: no GET fails (nginx retries it on
another replica), and the replica started again on the same port serves through nginx again."""
import os
import signal
import time
import unittest

from stack import FAIL_TIMEOUT, Load, Stack, figures, require, retried


class Kill9(unittest.TestCase):
    def test_no_failed_get_when_a_replica_is_killed(self):
        with Stack(drain_seconds=1) as stack:
            victim = 2
            old = stack.replica_pid(victim)
            with Load(stack.port) as load:
                time.sleep(1)
                killed = time.monotonic()
                os.kill(old, signal.SIGKILL)
                # The port is taken over again: a new process, ready on the same port.
                stack.restart(victim)
                back = time.monotonic()
                time.sleep(FAIL_TIMEOUT + 1)
            total, during = load.stats(), load.stats(killed, back + FAIL_TIMEOUT)
            figures("kill-9", total, during,
                    f"replica back on its port after {back - killed:.2f}s; "
                    f"requests nginx retried on another replica={retried(stack.access_log())}")
            self.assertEqual(load.errors, [])
            self.assertEqual((total["failed"], total["non_2xx"]), (0, 0))
            self.assertGreater(during["sent"], 50, "the load did not run while the replica was down")
            # Killed by SIGKILL (Popen's -9; the kubelet reports it as exit code 137).
            self.assertEqual([(pid, rc) for _, pid, rc in stack.exits(victim)], [(old, -signal.SIGKILL)])
            self.assertNotEqual(stack.replica_pid(victim), old)
            self.assertTrue(stack.served(victim),
                               "the restarted replica got no traffic through nginx")
            for n in (1, 3):
                self.assertEqual(stack.exits(n), [], f"replica {n} restarted too")


if __name__ == "__main__":
    require("nginx", "nginx")
    unittest.main()
