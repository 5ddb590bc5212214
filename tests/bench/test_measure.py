#!/usr/bin/env python3
"""The measuring half's checks without wrk: bench/servers.py's clients count the responses on each
connection, and a connection closed unanswered, a timeout and a non-200 (against a small server here
that misbehaves on the connections it is told to); a stdout file cut short, short of lines, not
graceful, or with request lines where the log is off is not sound (measure.check_log, report.log_ok;
test_report.py: that fails bench.quick); servers.Server refuses a contestant whose GET / is not the
service's body; a full run has a row for every contestant bench/targets.json names; the pinned
cpp-httplib is found; bench/instructions.py's figure is per request (valgrind)."""
import argparse
import itertools
import json
import os
import shutil
import socketserver
import sys
import tempfile
import threading
import unittest
from unittest import mock

import fa_test  # tests/lib, on PYTHONPATH under ctest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import instructions  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402

REPLY = b"HTTP/1.1 %s\r\nContent-Length: 2\r\n%s\r\n{}"


def serve(odd=(), close_every=0):
    """A keep-alive server on a free port answering 200; odd maps the n-th connection accepted to what
    it gets instead: "starve" (read, never answered), "drop" (closed unanswered) or "503". With
    close_every, every close_every-th reply on a connection closes it."""
    accepted, odd = itertools.count(), dict(odd)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            what = odd.get(next(accepted))
            for n in itertools.count(1):
                try:
                    if not self.request.recv(4096) or what == "drop":
                        return
                except ConnectionResetError:  # the client's connections at its end
                    return
                if what != "starve":
                    close = close_every and n % close_every == 0
                    self.request.sendall(REPLY % (b"503 Busy" if what == "503" else b"200 OK",
                                                  b"Connection: close\r\n" if close else b""))
                    if close:
                        return

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        request_queue_size = 64  # the default 5 would leave connections waiting in SYN retries

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class PerConnection(unittest.TestCase):
    def count(self, timeout=2.0, **server):
        srv = serve(**server)
        try:
            return servers.clients(srv.server_address[1], 20, 1.0, timeout=timeout)
        finally:
            srv.shutdown()
            srv.server_close()

    def test_every_connection_served_and_each_close_reconnects(self):
        pc = self.count(close_every=3)
        self.assertEqual((pc["connections_with_no_response"], pc["errors"], pc["non_200"]), (0, 0, 0))
        self.assertGreater(pc["per_connection_min"], 0)
        # A reply with Connection: close, a new connection (some still connecting when the run ends).
        self.assertGreater(pc["replies_with_connection_close"], 20)
        self.assertLessEqual(pc["tcp_connections_opened"], 20 + pc["replies_with_connection_close"])
        self.assertGreaterEqual(pc["tcp_connections_opened"], pc["replies_with_connection_close"])

    def test_a_connection_never_served_is_counted(self):
        pc = self.count(odd={7: "starve"})
        self.assertEqual((pc["connections_with_no_response"], pc["per_connection_min"]), (1, 0))

    def test_a_connection_closed_unanswered_a_timeout_and_a_non_200_are_counted(self):
        pc = self.count(timeout=0.5, odd={3: "drop", 5: "starve", 7: "503"})
        self.assertEqual((pc["errors"], pc["timeouts"], pc["connections_with_no_response"]), (1, 1, 0))
        self.assertGreater(pc["non_200"], 0)


class Start(unittest.TestCase):
    def test_a_contestant_not_answering_the_service_body_is_refused(self):
        """Every contestant answers GET / with the service's bytes, or it is not compared: a directory
        listing (Python's http.server) answers 200 and is refused."""
        spec = {"key": "listing", "argv": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "@PORT@"]}
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(RuntimeError, "did not return the service's body"):
                servers.Server(spec, None, d).kill()  # kill: had it started


def contestants(quick, workdir):
    """The specs of a run, the test binary as every favorite-athlete build (none started)."""
    fa = None if quick else os.environ["FA_BIN"]  # --quick builds no static binary
    args = argparse.Namespace(binary=os.environ["FA_BIN"], static_binary=fa, musl_binary=fa, go_server="go",
                              quick=quick, peers=False)
    return servers.contestants(args, workdir)


class Rows(unittest.TestCase):
    def keys(self, quick):
        with tempfile.TemporaryDirectory() as d:
            return [s["key"] for s in contestants(quick, d)]

    def test_every_contestant_a_target_names_is_a_row_of_a_full_run(self):
        """Each key bench/targets.json names (every key of an alias) is a row of a full run: a row
        dropped would leave its targets "not measured". nginx and Flask are rows where their tools are."""
        rows = {*self.keys(quick=False), *(p[0] for p in servers.PEERS), "nginx", "flask"}
        with open(os.path.join(os.path.dirname(measure.__file__), "targets.json")) as f:
            table = json.load(f)
        names = {n for t in table["targets"] for n in (t.get("a"), t.get("b"), *t.get("each", ())) if n}
        self.assertLessEqual({k for n in names - {"fa*"} for k in table["aliases"].get(n, [n])}, rows)

    def test_a_quick_run_has_the_default_and_log_off_rows_and_one_other(self):
        """bench.quick's checks of the access log (on, off, and the caller's ACCESS_LOG=off kept out)
        need both rows."""
        keys = self.keys(quick=True)
        self.assertEqual((keys[:2], len(keys)), (["fa", "fa_nolog"], 3))


class Instructions(unittest.TestCase):
    def test_the_figure_is_per_request_whatever_the_count(self):
        """The idle run (the start, about 100 requests' worth) is subtracted and every thread counted:
        400 and 1600 requests give the same instructions per request (here 23.7k and 23.6k), where
        the start left in puts 400's 18% above 1600's."""
        if not shutil.which("valgrind"):
            self.skipTest("valgrind is not installed (Debian valgrind)")
        with tempfile.TemporaryDirectory() as d:
            spec = next(s for s in contestants(True, d) if s["key"] == "fa")
            got = {}
            for n in (400, 1600):
                with mock.patch.object(instructions, "REQUESTS", n):
                    got[n] = instructions.measure(spec, os.path.join(d, str(n)), None)
        self.assertNotIn("error", got[400], got)
        self.assertAlmostEqual(got[400]["per_request"] / got[1600]["per_request"], 1, delta=0.03, msg=got)
        self.assertTrue(0 < got[1600]["httplib_share"] < 1, got)  # the ci binary has symbols


class Meta(unittest.TestCase):
    def test_the_pin_is_read_from_cmakelists(self):
        """bench/report.py compares it with the cpp-httplib of the run (test_report.py)."""
        self.assertRegex(measure.httplib_meta([])["httplib_pinned"], r"^\d+\.\d+\.\d+$")


class AccessLog(unittest.TestCase):
    def test_a_stdout_file_is_sound_whole_with_a_line_per_response_after_a_graceful_stop(self):
        """measure.check_log counts the file, report.log_ok judges it; 3 responses counted."""
        req = b'{"msg":"request"}\n'
        cases = [  # the file, a graceful stop, the access log on, sound
            (req * 3 + b'{"msg":"stopped"}\n', True, True, True),
            (req * 3, False, True, False),
            (req * 4 + b'{"msg":"request","st', True, True, False),  # a line cut short
            (req * 2, True, True, False),
            (req * 3 + b"not json\n", True, True, False),
            (b'{"msg":"listening"}\n', True, False, True),  # ACCESS_LOG=off: no request line
            (req * 3, True, False, False),
        ]
        for text, graceful, access_log, sound in cases:
            with tempfile.NamedTemporaryFile() as f:
                f.write(text)
                f.flush()
                lg = dict(measure.check_log(f.name), responses_counted_by_clients=3, graceful_stop=graceful)
            self.assertEqual(report.log_ok(lg, access_log), sound, text)
        self.assertEqual((lg["lines"], lg["request_lines"], lg["last_lines_json"]), (3, 3, 3))


if __name__ == "__main__":
    fa_test.main()
