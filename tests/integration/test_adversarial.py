"""Hostile input and hostile clients straight at the binary, with figures printed.

FA_SOAK_SECONDS (default 20) sets the soak's length: `FA_SOAK_SECONDS=300` is the long soak."""
import collections
import os
import time
import unittest

from fa_load import Load, slow_clients
from fa_test import get, main, raise_fd_limit, req, Server
from test_malformed import CASES, refused_quickly


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class BigAndOddInputs(unittest.TestCase):
    def test_each_gets_4xx_or_close_quickly_and_memory_stays_flat(self):
        # integration.malformed's cases (refused_quickly(): a 4xx saying close or a close, within
        # 1.5 s, still serving), two bodies of 100 MB among them.
        with Server(env={"ACCESS_LOG": "off"}) as server:
            get(server.port)
            before = rss_kib(server.proc.pid)
            for case in CASES:
                with self.subTest(case.id):
                    seen = refused_quickly(self, server.port, case)
                    status = seen.responses[0].status if seen.responses else "closed"
                    print(f"  {case.id:34} -> {status} in {seen.took * 1000:.0f} ms")
            growth = rss_kib(server.proc.pid) - before
            print(f"  RSS growth over all cases: {growth} KiB")
            self.assertLess(growth, 5 * 1024)


class SlowAndIdleClients(unittest.TestCase):
    def test_slowloris_and_idle_keep_alive_do_not_wedge_the_server(self):
        raise_fd_limit(2600)
        read_timeout = 2
        with Server(env={"ACCESS_LOG": "off", "READ_TIMEOUT_SECONDS": str(read_timeout),
                         "KEEPALIVE_TIMEOUT_SECONDS": "30"}) as server:
            # The normal client: a GET / on a new connection every 0.2 s.
            with slow_clients(server.port), Load(server.port, clients=1, rate=5, fresh=True) as load:
                time.sleep(8)
            time.sleep(read_timeout + 0.5)
            started = time.monotonic()
            status, after = get(server.port)[0], time.monotonic() - started
            probes = load.stats()
            print(f"  normal GET under 200 slowloris + 2000 idle: {probes['line']}; after the attack: {after * 1000:.1f} ms")
            self.assertEqual(load.errors, [])
            self.assertEqual((probes["failed"], probes["non_2xx"]), (0, 0))
            self.assertGreater(probes["sent"], 0)
            self.assertLess(probes["max_ms"], (read_timeout + 1.5) * 1000)  # never wedged past the read timeout
            self.assertEqual(status, 200)
            self.assertLess(after, 0.5)  # recovered by itself


# The soak's one-shot clients' requests, valid and invalid, each client in turn.
MIX = [req(), req("HEAD / HTTP/1.1"), req("GET /healthz HTTP/1.1"), req("POST / HTTP/1.1"),
       req("POST / HTTP/1.1", "Content-Length: 5", body=b"hello"), req("BREW / HTTP/1.1"),
       req("GET /nope HTTP/1.1"), b"garbage\r\n\r\n", req(f"GET /{'u' * 5000} HTTP/1.1"), req("GET / HTTP/1.1", "X: a\x00b")]


class Soak(unittest.TestCase):
    def test_mixed_traffic_keeps_memory_and_fds_flat(self):
        seconds = int(os.environ.get("FA_SOAK_SECONDS", "20"))
        with Server(env={"ACCESS_LOG": "off", "READ_TIMEOUT_SECONDS": "2"}) as server:
            pid = server.proc.pid
            samples = []
            # Four clients send MIX on a new connection each, two GET / on kept-alive ones.
            with Load(server.port, clients=4, rate=None, request=lambda i, n: MIX[(i + n) % len(MIX)], fresh=True) as mixed, \
                    Load(server.port, clients=2, rate=None) as kept_alive:
                for _ in range(seconds):
                    time.sleep(1)
                    self.assertIsNone(server.proc.poll(), "the server exited during the soak:\n" + "".join(server.stderr))
                    samples.append((rss_kib(pid), open_fds(pid)))
            time.sleep(1)
            fds_after = open_fds(pid)
            counts = collections.Counter("closed" if status is None else f"{status // 100}xx"
                                         for _, _, status, _ in mixed.records + kept_alive.records)
            warm = samples[len(samples) // 4:]
            rss = [r for r, _ in warm]
            print(f"  soak {seconds} s: {sum(counts.values())} sent, {dict(counts)}; RSS KiB min={min(rss)} max={max(rss)}; "
                  f"fds during max={max(f for _, f in samples)}, after={fds_after}")
            self.assertEqual(counts["5xx"], 0)
            self.assertGreater(counts["2xx"], seconds * 20)
            self.assertLess(max(rss) - min(rss), 2 * 1024)  # flat once warm
            self.assertLessEqual(fds_after, samples[0][1] + 2)


if __name__ == "__main__":
    main()
