"""The access log as its reader sees it, with stdout a file, a fast pipe, a slow pipe, a
non-blocking pipe, a reader that stops reading, and a SIGKILL at random moments: every line is
whole JSON, and every request answered is a line or counted in
favorite_athlete_log_lines_dropped_total."""
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from fa_test import BIN, connect, free_port, main, Reader, request, scrape


class Service:
    """The binary with stdout on a given fd; its ports chosen here, since stdout is not ours to read."""

    def __init__(self, stdout):
        self.port, self.metrics_port = free_port(), free_port()
        env = {"PATH": os.environ.get("PATH", ""), "BIND_ADDRESS": "127.0.0.1", "PORT": str(self.port),
               "METRICS_PORT": str(self.metrics_port), "DRAIN_SECONDS": "0", "THREADS": "2"}
        self.proc = subprocess.Popen([BIN], env=env, stdout=stdout, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def load(self, seconds, clients=4):
        """Keep-alive GETs from several clients for `seconds`: the number of answers read."""
        answered = [0] * clients

        def client(i):
            reader = Reader(connect(self.port))
            until = time.monotonic() + seconds
            try:
                while time.monotonic() < until:
                    reader.ask(request("GET", f"/?c={i}"))
                    answered[i] += 1
            except (OSError, EOFError):
                pass  # killed (the SIGKILL test)
            reader.sock.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(answered)

    def dropped(self):
        return int(scrape(self.metrics_port)["favorite_athlete_log_lines_dropped_total"])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)


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
            service = Service(out)
        else:
            r, w = os.pipe()
            os.set_blocking(w, not nonblocking)
            service = Service(w)
            os.close(w)
            reader = threading.Thread(target=lambda: (time.sleep(stuck_seconds), read_pipe(r, *pipe_reader, chunks)))
            reader.start()
        answered = service.load(1.0 + stuck_seconds)
        time.sleep(0.3)  # the loops' last batches are written (or dropped) within 100 ms
        dropped = service.dropped()
        self.assertEqual(service.stop(), 0)
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
            service = Service(w)
            os.close(w)
            chunks = []
            reader = threading.Thread(target=read_pipe, args=(r, 512, 0.0005, chunks))
            reader.start()
            loader = threading.Thread(target=lambda: self.load_until_killed(service))
            loader.start()
            time.sleep(random.uniform(0.05, 0.5))
            service.proc.kill()
            service.proc.wait(timeout=5)
            loader.join(timeout=10)
            reader.join(timeout=10)
            os.close(r)
            text = b"".join(chunks)
            if text:
                request_lines(text)

    @staticmethod
    def load_until_killed(service):
        try:
            service.load(5.0)
        except OSError:
            pass  # killed before a client connected


if __name__ == "__main__":
    main()
