"""The access log as its reader sees it, with stdout a file, a fast pipe, a slow pipe, a
non-blocking pipe, a reader that stops reading, and a SIGKILL at random moments: every line is
whole JSON, and every request answered is a line or counted in
favorite_athlete_log_lines_dropped_total."""
import json
import os
import random
import tempfile
import threading
import time
import unittest

from fa_test import connect, free_ports, main, Reader, request, Server
from test_metrics import scrape


def start(stdout):
    """The binary with stdout on a given fd (not ours to read): its ports are chosen here."""
    port, metrics_port = free_ports(2)
    return Server(env={"PORT": str(port), "METRICS_PORT": str(metrics_port), "THREADS": "2"}, stdout=stdout)


def load(server, seconds, clients=4):
    """Keep-alive GETs from several clients for `seconds`: the number of answers read."""
    answered = [0] * clients

    def client(i):
        until = time.monotonic() + seconds
        try:
            reader = Reader(connect(server.port))
            while time.monotonic() < until:
                reader.ask(request("GET", f"/?c={i}"))
                answered[i] += 1
            reader.sock.close()
        except (OSError, EOFError):
            pass  # killed (the SIGKILL test), maybe before this client connected

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(answered)


def read_pipe(fd, chunk, pause, into):
    """Reads fd to EOF into a list of chunks, pausing between reads (a slow reader)."""
    while True:
        try:
            data = os.read(fd, chunk)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        if not data:
            return
        into.append(data)
        if pause:
            time.sleep(pause)


def request_lines(text):
    """The request lines of the log; fails on any line that is not whole JSON."""
    assert text.endswith(b"\n"), f"the log ends in part of a line: {text[-200:]!r}"
    records = [json.loads(line) for line in text.splitlines()]  # raises on a torn or glued line
    return [r for r in records if r.get("msg") == "request"]


class AccessLog(unittest.TestCase):
    def check(self, pipe_reader=None, stuck_seconds=0.0, nonblocking=False):
        """Load, then SIGTERM: every answer read is a whole line or counted as dropped."""
        chunks = []
        if pipe_reader is None:
            out = tempfile.TemporaryFile()
            server = start(out)
        else:
            r, w = os.pipe()
            os.set_blocking(w, not nonblocking)
            server = start(w)
            os.close(w)
            reader = threading.Thread(target=lambda: (time.sleep(stuck_seconds), read_pipe(r, *pipe_reader, chunks)))
            reader.start()
        with server:
            answered = load(server, 1.0 + stuck_seconds)
            time.sleep(0.3)  # the loops' last batches are written (or dropped) within 100 ms
            dropped = int(scrape(server.metrics_port)["favorite_athlete_log_lines_dropped_total"])
            server.signal()
            self.assertEqual(server.wait(), 0)
        if pipe_reader is None:
            out.seek(0)
            text = out.read()
            out.close()
        else:
            reader.join(timeout=30)
            os.close(r)
            text = b"".join(chunks)
        lines = request_lines(text)
        self.assertEqual(len(lines) + dropped, answered, f"{len(lines)} lines, {dropped} dropped")
        return dropped

    def test_stdout_a_file(self):
        self.assertEqual(self.check(), 0)

    def test_stdout_a_pipe_read_fast(self):
        self.assertEqual(self.check((65536, 0)), 0)

    def test_stdout_a_pipe_read_slowly(self):
        self.check((512, 0.001))

    def test_stdout_a_non_blocking_pipe_read_slowly(self):
        self.check((512, 0.001), nonblocking=True)

    def test_a_reader_that_stops_reading_gets_whole_lines_dropped_and_counted(self):
        self.assertGreater(self.check((65536, 0), stuck_seconds=2.5), 0)

    def test_a_sigkill_at_any_moment_leaves_whole_lines(self):
        for _ in range(5):
            r, w = os.pipe()
            chunks = []
            with start(w) as server:
                os.close(w)
                reader = threading.Thread(target=read_pipe, args=(r, 512, 0.0005, chunks))
                reader.start()
                loader = threading.Thread(target=load, args=(server, 5.0))
                loader.start()
                time.sleep(random.uniform(0.05, 0.5))
                server.proc.kill()
                loader.join(timeout=10)
                reader.join(timeout=10)
            os.close(r)
            text = b"".join(chunks)
            if text:
                request_lines(text)


if __name__ == "__main__":
    main()
