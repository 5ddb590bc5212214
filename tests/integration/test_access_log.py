"""The access log as its reader sees it, with stdout a file, a pipe read fast, a pipe read slowly,
and a reader that stops reading: every line is whole JSON, and every request answered is one line
or counted in favorite_athlete_log_lines_dropped_total. Also: a request's line and its fields,
written at once by an idle loop; ACCESS_LOG=off. (A non-blocking pipe and a SIGKILL at any moment
of a write: service/test_logging.cpp, on the same writer.)"""
import json
import os
import signal
import tempfile
import threading
import time
import unittest

from fa_load import Load
from fa_test import exchange, get, main, req, scrape, Server


def load(server, seconds):
    """Keep-alive GETs from 4 clients for `seconds`, each to a path of its own (the log has paths,
    not queries): the paths answered."""
    with Load(server.port, clients=4, rate=None, request=lambda i, n: req(f"GET /c{i}-{n} HTTP/1.1")) as load:
        time.sleep(seconds)
    return [request.split()[1].decode() for _, _, status, request in load.records if status is not None]


def read_pipe(fd, chunk, pause, into):
    """Reads fd to EOF into a list of chunks, pausing between reads (a slow reader)."""
    while True:
        data = os.read(fd, chunk)
        if not data:
            return
        into.append(data)
        if pause:
            time.sleep(pause)


def log_records(text):
    """The log's records; fails on any line that is not whole JSON."""
    assert text.endswith(b"\n"), f"the log ends in part of a line: {text[-200:]!r}"
    return [json.loads(line) for line in text.splitlines()]  # raises on a torn or glued line


class AccessLog(unittest.TestCase):
    def check(self, pipe_reader=None, stuck_seconds=0.0):
        """Load, then SIGTERM: every answer read is a whole line, once, or counted as dropped; with
        none dropped the last line says "stopped"."""
        chunks = []
        if pipe_reader is None:
            out = tempfile.TemporaryFile()
            server = Server(env={"THREADS": "2"}, stdout=out)
        else:
            r, w = os.pipe()
            server = Server(env={"THREADS": "2"}, stdout=w)
            os.close(w)
            reader = threading.Thread(target=lambda: (time.sleep(stuck_seconds), read_pipe(r, *pipe_reader, chunks)))
            reader.start()
        with server:
            answered = load(server, 1.0 + stuck_seconds)
            time.sleep(0.3)  # the loops' last batches are written (or dropped) within 100 ms
            dropped = int(scrape(server.metrics_port)["favorite_athlete_log_lines_dropped_total"])
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.proc.wait(timeout=15), 0)
        if pipe_reader is None:
            out.seek(0)
            text = out.read()
            out.close()
        else:
            reader.join(timeout=30)
            os.close(r)
            text = b"".join(chunks)
        records = log_records(text)
        if not dropped:  # (a reader that stopped may miss it too)
            self.assertEqual(records[-1]["msg"], "stopped")
        logged = [r["path"] for r in records if r["msg"] == "request"]
        self.assertEqual(len(set(logged)), len(logged), "a request logged twice")
        self.assertLessEqual(set(logged), set(answered), "a line for a request never answered")
        self.assertEqual(len(logged) + dropped, len(answered), f"{len(logged)} lines, {dropped} dropped")
        return dropped

    def test_the_line_of_a_request_written_at_once_by_an_idle_loop(self):
        # (A loop busy at SIGTERM writes its batch as it ends: the benchmark checks that under load,
        # bench/measure.py; service/test_access_log.cpp unit-tests it.)
        with Server(env={"THREADS": "2"}) as server:
            reader = exchange(server.port, req("GET /healthz?probe=1 HTTP/1.1", "Connection: close"))[3]
            started = time.monotonic()
            record = server.next_log(msg="request", timeout=2)
            self.assertLess(time.monotonic() - started, 1.0)
            self.assertEqual((record["method"], record["path"], record["status"]), ("GET", "/healthz", 200))  # no query
            self.assertEqual(record["peer"], "127.0.0.1:%d" % reader.sock.getsockname()[1])
            self.assertIsInstance(record["duration_ms"], (int, float))
            self.assertIn("time", record)

    def test_access_log_off(self):
        with Server(env={"ACCESS_LOG": "off"}) as server:
            for _ in range(3):
                get(server.port)
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.proc.wait(timeout=15), 0)
            msgs = [record["msg"] for record in server.remaining_logs()]
            self.assertNotIn("request", msgs)
            self.assertEqual(msgs[-1], "stopped")

    def test_stdout_a_file(self):
        self.assertEqual(self.check(), 0)

    def test_stdout_a_pipe_read_fast(self):
        self.assertEqual(self.check((65536, 0)), 0)

    def test_stdout_a_pipe_read_slowly(self):
        self.check((512, 0.001))

    def test_a_reader_that_stops_reading_gets_whole_lines_dropped_and_counted(self):
        self.assertGreater(self.check((65536, 0), stuck_seconds=2.5), 0)


if __name__ == "__main__":
    main()
