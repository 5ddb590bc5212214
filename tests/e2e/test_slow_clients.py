"""Slow and idle clients through the nginx front every deployment has: 200 connections sending a
header byte per second and 2000 idle keep-alive connections must not delay a normal GET beyond
1 s. nginx buffers request heads and holds idle connections itself; the replicas never see them."""
import resource
import socket
import statistics
import threading
import time
import unittest

from stack import BODY, HOST, Stack, request, require, skip


class SlowClients(unittest.TestCase):
    def test_slowloris_and_idle_keep_alive_through_nginx(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 2600:
            skip(f"open-files hard limit {hard} is below 2600")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 4096, hard))
        host_header = f"Host: {HOST}\r\n".encode()
        with Stack() as stack:
            idle = []
            for _ in range(2000):
                sock = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
                sock.sendall(b"GET / HTTP/1.1\r\n" + host_header + b"\r\n")
                self.assertIn(b" 200 ", sock.recv(4096).split(b"\r\n")[0] + b" ")
                idle.append(sock)
            stop = threading.Event()

            def slowloris():
                while not stop.is_set():
                    try:
                        with socket.create_connection(("127.0.0.1", stack.port), timeout=5) as sock:
                            sock.sendall(b"GET / HTTP/1.1\r\n" + host_header)
                            while not stop.wait(1):
                                sock.sendall(b"X")
                    except OSError:
                        pass

            attackers = [threading.Thread(target=slowloris, daemon=True) for _ in range(200)]
            for t in attackers:
                t.start()
            try:
                time.sleep(1)
                waits = []
                deadline = time.monotonic() + 8
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    status, _, body = request(stack.port)
                    waits.append(time.monotonic() - started)
                    self.assertEqual((status, body), (200, BODY))
                    time.sleep(0.1)
            finally:
                stop.set()
                for sock in idle:
                    sock.close()
                for t in attackers:
                    t.join(timeout=5)
            print(f"FIGURES slow-clients via nginx: 200 slowloris + 2000 idle keep-alive; normal GET "
                  f"n={len(waits)} median={statistics.median(waits) * 1000:.1f} ms "
                  f"max={max(waits) * 1000:.1f} ms", flush=True)
            self.assertLess(max(waits), 1.0)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


if __name__ == "__main__":
    require("nginx", "nginx")
    unittest.main()
