"""Hostile input and hostile clients straight at the binary, with figures printed.

FA_SOAK_SECONDS (default 20) sets the soak's length: `FA_SOAK_SECONDS=300` is the long soak."""
import os
import socket
import statistics
import threading
import time
import unittest

from fa_test import connect, get, main, raise_fd_limit, Reader, request, Server, under_slow_clients

MiB = 1024 * 1024


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def timed_get(port):
    started = time.monotonic()
    return get(port)[0], time.monotonic() - started


def attempt(port, data, stream_body=0):
    """Sends data (then stream_body bytes of body, if any) and returns the status or 'closed'."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(data)
        if stream_body:
            chunk = b"x" * 65536
            sent = 0
            sock.settimeout(2)
            try:
                while sent < stream_body:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the server closed: it will not read a 100 MB body
        try:
            return Reader(sock).response()[0]
        except (EOFError, ConnectionResetError, socket.timeout):
            return "closed"
    finally:
        sock.close()


class BigAndOddInputs(unittest.TestCase):
    def test_each_gets_4xx_or_close_quickly_and_memory_stays_flat(self):
        hundred_mb = 100 * MiB
        chunked_head = request("POST", "/", [("Transfer-Encoding", "chunked")])
        cases = {
            "100 MB POST, Content-Length": (request("POST", "/", [("Content-Length", str(hundred_mb))]), hundred_mb),
            "100 MB POST, chunked": (chunked_head + b"6400000\r\n", hundred_mb),
            "1 MB header line": (request("GET", "/", [("X-Huge", "h" * MiB)]), 0),
            "10 000 headers": (request("GET", "/", [(f"X-{i}", "v") for i in range(10000)]), 0),
            "64 KB URI": (request("GET", "/" + "u" * 65536), 0),
            "NUL in request line": (b"GET /\x00 HTTP/1.1\r\n\r\n", 0),
            "NUL in header value": (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 0),
            "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0),
            "HTTP/0.9 request line": (b"GET /\r\n", 0),
            "CL + TE": (request("POST", "/", [("Content-Length", "6"), ("Transfer-Encoding", "chunked")],
                                b"0\r\n\r\nGET /x HTTP/1.1\r\n\r\n"), 0),
            "TE with odd spacing": (b"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 0),
            "two Content-Lengths": (request("POST", "/", [("Content-Length", "0"), ("Content-Length", "30")]), 0),
            "obs-fold header": (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 0),
        }
        with Server(env={"ACCESS_LOG": "off"}) as server:
            get(server.port)
            before = rss_kib(server.proc.pid)
            for name, (data, body) in cases.items():
                with self.subTest(name):
                    started = time.monotonic()
                    status = attempt(server.port, data, body)
                    took = time.monotonic() - started
                    print(f"  {name:28} -> {status} in {took * 1000:.0f} ms")
                    self.assertTrue(status == "closed" or 400 <= status < 500,
                                    f"{name}: {status}")
                    self.assertLess(took, 3)
                    self.assertEqual(get(server.port)[0], 200)
            growth = rss_kib(server.proc.pid) - before
            print(f"  RSS growth over all cases: {growth} KiB")
            self.assertLess(growth, 5 * 1024)


class SlowAndIdleClients(unittest.TestCase):
    def test_slowloris_and_idle_keep_alive_do_not_wedge_the_server(self):
        raise_fd_limit(2600)
        read_timeout = 2
        with Server(env={"ACCESS_LOG": "off", "READ_TIMEOUT_SECONDS": str(read_timeout),
                         "KEEPALIVE_TIMEOUT_SECONDS": "30"}) as server:
            waits = under_slow_clients(server.port, lambda: self.assertEqual(get(server.port)[0], 200), pause=0.2)
            time.sleep(read_timeout + 0.5)
            status, after = timed_get(server.port)
            print(f"  normal GET under 200 slowloris + 2000 idle: n={len(waits)} "
                  f"median={statistics.median(waits) * 1000:.0f} ms max={max(waits) * 1000:.0f} ms; "
                  f"after the attack: {after * 1000:.1f} ms")
            self.assertLess(max(waits), read_timeout + 1.5)  # never wedged past the read timeout
            self.assertEqual(status, 200)
            self.assertLess(after, 0.5)  # recovered by itself


class Soak(unittest.TestCase):
    def test_mixed_traffic_keeps_memory_and_fds_flat(self):
        seconds = int(os.environ.get("FA_SOAK_SECONDS", "20"))
        with Server(env={"ACCESS_LOG": "off", "READ_TIMEOUT_SECONDS": "2"}) as server:
            port, pid = server.port, server.proc.pid
            counts = {"sent": 0, "2xx": 0, "4xx": 0, "5xx": 0, "closed": 0}
            lock = threading.Lock()
            stop = threading.Event()
            mix = [request("GET", "/"), request("HEAD", "/"), request("GET", "/healthz"), request("POST", "/"),
                   request("POST", "/", [("Content-Length", "5")], b"hello"), request("BREW", "/"),
                   request("GET", "/nope"), b"garbage\r\n\r\n", request("GET", "/" + "u" * 5000),
                   request("GET", "/", [("X", "a\x00b")])]

            def client(offset):
                i = offset
                while not stop.is_set():
                    data = mix[i % len(mix)]
                    i += 1
                    status = attempt(port, data)
                    key = "closed" if status == "closed" else f"{status // 100}xx"
                    with lock:
                        counts["sent"] += 1
                        counts[key] = counts.get(key, 0) + 1

            def keep_alive_client():
                while not stop.is_set():
                    reader = Reader(connect(port))
                    for _ in range(100):
                        status, headers, _ = reader.ask(request("GET", "/"))
                        with lock:
                            counts["sent"] += 1
                            counts[f"{status // 100}xx"] += 1
                        if headers.get("connection") == "close":
                            break
                    reader.sock.close()

            workers = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
            workers += [threading.Thread(target=keep_alive_client, daemon=True) for _ in range(2)]
            for t in workers:
                t.start()
            samples = []
            for _ in range(seconds):
                time.sleep(1)
                self.assertIsNone(server.proc.poll(), "the server exited during the soak:\n" + "".join(server.stderr))
                samples.append((rss_kib(pid), open_fds(pid)))
            stop.set()
            for t in workers:
                t.join(timeout=10)
            time.sleep(1)
            fds_after = open_fds(pid)
            warm = samples[len(samples) // 4:]
            rss = [r for r, _ in warm]
            print(f"  soak {seconds} s: {counts}; RSS KiB min={min(rss)} max={max(rss)}; "
                  f"fds during max={max(f for _, f in samples)}, after={fds_after}")
            self.assertEqual(counts["5xx"], 0)
            self.assertGreater(counts["2xx"], seconds * 20)
            self.assertLess(max(rss) - min(rss), 2 * 1024)  # flat once warm
            self.assertLessEqual(fds_after, samples[0][1] + 2)


if __name__ == "__main__":
    main()
