"""Process behaviour: configuration errors, flags, and graceful shutdown on SIGTERM (that Ctrl-C's
SIGINT stops it as gracefully, under load: e2e.shutdown)."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from fa_test import BIN, connect, free_port, get, GREETING, main, Reader, req, SANITIZER_REPORT, scrape, Server

# strerror(EADDRINUSE): glibc says "Address already in use", musl "Address in use".
ADDRESS_IN_USE = r"Address (already )?in use"


def run(args=(), env=None):
    """The binary run to its end (flags, refused settings): its CompletedProcess, output as text."""
    result = subprocess.run([BIN, *args], env={"PATH": "/usr/bin:/bin", **(env or {})}, capture_output=True,
                            text=True, timeout=5)
    assert not SANITIZER_REPORT.search(result.stderr), "sanitizer report from the binary:\n" + result.stderr
    return result


class Configuration(unittest.TestCase):
    def assert_refused(self, env, setting, code=2, args=()):
        started = time.monotonic()
        result = run(args, {"BIND_ADDRESS": "127.0.0.1", **env})
        self.assertEqual(result.returncode, code, result.stderr)
        self.assertLess(time.monotonic() - started, 2)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn(setting, lines[0])
        self.assertEqual(result.stdout, "")
        return lines[0]

    def test_invalid_values_exit_2_naming_the_setting(self):
        # One of each kind: service/test_config.cpp has every setting's refusals and messages.
        self.assert_refused({"PORT": "abc"}, "PORT")
        self.assert_refused({"PORT": "18999", "METRICS_PORT": "18999"},
                            "METRICS_PORT (--metrics-port) 18999 is invalid: expected a port other than PORT")
        self.assert_refused({}, "--port", args=("--port", "x"))

    def test_second_instance_cannot_share_the_port_or_the_metrics_port(self):
        # cpp-httplib sets SO_REUSEPORT by default: a second instance would start and take a
        # share of the connections. (A port another program holds is refused the same way.)
        with Server(env={"METRICS_PORT": "0"}) as first:
            line = self.assert_refused({"PORT": str(first.port)}, f"PORT={first.port}", code=1)
            self.assertRegex(line, ADDRESS_IN_USE)
            taken = first.metrics_port
            line = self.assert_refused({"PORT": "0", "METRICS_PORT": str(taken)}, f"METRICS_PORT={taken}", code=1)
            self.assertRegex(line, ADDRESS_IN_USE)
            self.assertEqual(get(first.port)[0], 200)

    def test_athlete_from_env_is_valid_json(self):
        name = 'Zoë "Lightning" \\ 蘇炳添 </script>'
        with Server(env={"FAVORITE_ATHLETE": name}) as server:
            self.assertEqual(json.loads(get(server.port)[2]), {"myFavoriteAthlete": name})

    def test_threads_auto_is_one_event_loop_per_cpu_it_may_run_on(self):
        for env, loops in (({}, len(os.sched_getaffinity(0))), ({"THREADS": "3"}, 3)):
            with Server(env=env) as server:
                self.assertEqual(server.listening["event_loops"], loops, env)

    def test_only_the_bind_address_is_listened_on(self):
        with Server(env={"METRICS_PORT": "0"}) as server:  # BIND_ADDRESS=127.0.0.1
            for port in (server.port, server.metrics_port):
                with self.assertRaises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.2", port), timeout=1)

    def test_help_and_version(self):
        result = run(["--help"])
        self.assertEqual(result.returncode, 0)
        self.assertIn("FAVORITE_ATHLETE", result.stdout)  # every setting: service/test_config.cpp
        result = run(["--version"])
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"^favorite-athlete \d+\.\d+\.\d+ \(commit \S+, cpp-httplib \d")

    def test_check_mode(self):
        with Server() as server:
            self.assertEqual(run(["--check", f"http://127.0.0.1:{server.port}/healthz"]).returncode, 0)
            failed = run(["--check", f"http://127.0.0.1:{server.port}/nope"])
            self.assertEqual(failed.returncode, 1)
            self.assertIn("status 404", failed.stderr)
        self.assertEqual(run(["--check", f"http://127.0.0.1:{free_port()}/healthz"]).returncode, 1)
        with socket.socket() as silent:  # connections wait in its backlog, never answered
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            started = time.monotonic()
            self.assertEqual(run(["--check", f"http://127.0.0.1:{silent.getsockname()[1]}/healthz"]).returncode, 1)
            self.assertLess(time.monotonic() - started, 3)


class Shutdown(unittest.TestCase):
    def test_sigterm_drains_then_finishes_in_flight_and_exits_0(self):
        server = Server(env={"DRAIN_SECONDS": "2", "SHUTDOWN_TIMEOUT_SECONDS": "5", "READ_TIMEOUT_SECONDS": "10",
                             "METRICS_PORT": "0"})
        with server:
            port = server.port
            keep_alive = Reader(connect(port))  # kept alive from before SIGTERM
            status, headers, _ = keep_alive.ask(req())
            self.assertEqual((status, headers.get("connection") == "close"), (200, False))
            in_flight = connect(port)
            in_flight.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n")  # head not finished yet

            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.next_log(msg="draining")["drain_seconds"], 2)
            self.assertEqual(get(port, "/readyz")[0], 503)
            self.assertIn("favorite_athlete_http_requests_in_flight", scrape(server.metrics_port))  # still scraped
            status, headers, body = get(port, "/")
            self.assertEqual((status, body), (200, GREETING))
            # During the drain a connection gets one answer, saying close (clients move to other
            # replicas), then EOF: nothing sent after it or pipelined behind it is answered.
            status, headers, _ = keep_alive.ask(req())
            self.assertEqual((status, headers.get("connection")), (200, "close"))
            try:
                keep_alive.sock.sendall(req())  # sent after the close answer
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assertTrue(keep_alive.closed(), "a request sent after a close answer was answered")
            pipelined = Reader(connect(port))
            pipelined.sock.sendall(req() * 3)
            status, headers, _ = pipelined.response()
            self.assertEqual((status, headers.get("connection")), (200, "close"))
            self.assertTrue(pipelined.closed(), "a request pipelined behind a close answer was answered")

            # Past the drain, a request still in flight: neither port accepts (the metrics port closes first).
            time.sleep(2.5)
            for closed in (port, server.metrics_port):
                with self.assertRaises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", closed), timeout=1)
            in_flight.sendall(b"\r\n")
            status, _, body = Reader(in_flight).response()
            self.assertEqual((status, body), (200, GREETING))

            self.assertEqual(server.proc.wait(timeout=5), 0)
            self.assertEqual(server.remaining_logs()[-1]["msg"], "stopped")

    def test_sigterm_under_load_every_answer_read_is_logged_and_every_logged_answer_was_read(self):
        # Clients that honour close, two requests in flight each, until the server stops accepting.
        with Server(env={"DRAIN_SECONDS": "1", "THREADS": "2"}) as server:
            answers, after_close = [0] * 8, []

            def client(i):
                while True:
                    try:
                        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                    except OSError:
                        return  # refused: the server stopped accepting
                    reader = Reader(sock)
                    try:
                        said_close = False
                        while not said_close:
                            sock.sendall(req() * 2)
                            for _ in range(2):
                                said_close = reader.response()[1].get("connection") == "close"
                                answers[i] += 1
                                if said_close:
                                    break  # the request behind it must never be answered
                        if not reader.closed(timeout=3):
                            after_close.append(i)
                    except (EOFError, ConnectionResetError, BrokenPipeError):
                        pass  # the server closed a connection idle at the stop: nothing answered
                    finally:
                        sock.close()

            threads = [threading.Thread(target=client, args=(i,)) for i in range(len(answers))]
            for t in threads:
                t.start()
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGTERM)
            for t in threads:
                t.join(timeout=20)
            self.assertEqual(server.proc.wait(timeout=10), 0)
            logged = [r for r in server.remaining_logs() if r.get("msg") == "request"]
            self.assertEqual(after_close, [])
            self.assertGreater(sum(answers), 100)
            self.assertEqual(len(logged), sum(answers))

    def test_second_signal_exits_at_once(self):
        with Server(env={"DRAIN_SECONDS": "30"}) as server:
            server.proc.send_signal(signal.SIGTERM)
            server.next_log(msg="draining")
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.proc.wait(timeout=5), 128 + signal.SIGTERM)
            self.assertLess(time.monotonic() - started, 1)

    def test_shutdown_timeout_bounds_a_stuck_request(self):
        with Server(env={"SHUTDOWN_TIMEOUT_SECONDS": "1", "READ_TIMEOUT_SECONDS": "30"}) as server:
            stuck = connect(server.port)
            stuck.sendall(b"GET / HTTP/1.1\r\n")
            time.sleep(0.2)
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.proc.wait(timeout=5), 1)
            self.assertLess(time.monotonic() - started, 2.5)
            server.remaining_logs()  # waits for the output pipes to be read to the end
            self.assertIn("shutdown timed out", "".join(server.stderr))


if __name__ == "__main__":
    main()
