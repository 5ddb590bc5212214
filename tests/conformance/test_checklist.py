"""The conformance checklist (checklist.py) against the real binary: one subtest per requirement,
each met within 1.5 s (a server that answers only at its read timeout, 2 s here, fails); and every
row of the README's HTTP contract (fa_test.contract(), which e2e.contract sends through nginx)."""
import os
import socketserver
import threading
import unittest

import fa_test
from checklist import CASES, corpus_files
from fa_test import contract, judge, outcome

HERE = os.path.dirname(os.path.abspath(__file__))


class Checklist(fa_test.ServerTestCase):
    # READ_TIMEOUT_SECONDS: a case the server waits on ends within fa_test.outcome's deadline;
    # METRICS_PORT: /metrics is served on a port of its own, never on the public one.
    ENV = {"READ_TIMEOUT_SECONDS": "2", "METRICS_PORT": "0"}

    def test_every_requirement(self):
        failed = []
        for case in CASES:
            with self.subTest(case=case.id, ref=case.ref, rule=case.rule):
                seen = outcome(self.port, case)
                problems = judge(case, seen) + ([f"answered after {seen.took:.2f} s"] if seen.took >= 1.5 else [])
                if problems:
                    failed.append(case.id)
                self.assertEqual(problems, [], f"{case.id} ({case.ref}: {case.rule})")
        print(f"\n{len(CASES) - len(failed)}/{len(CASES)} requirements met"
              + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)

    def test_every_row_of_the_contract(self):
        for case in contract():
            with self.subTest(case.id):
                self.assertEqual(judge(case, outcome(self.port, case)), [])

    def test_the_fuzz_corpus_holds_every_case(self):
        # The seeds libFuzzer starts from (and ctest's fuzz.corpus replays) are the checklist's
        # requests; regenerate with
        # `PYTHONPATH=tests/lib python3 tests/conformance/checklist.py tests/fuzz/corpus`.
        corpus = os.path.join(HERE, "..", "fuzz", "corpus")
        on_disk = {n for n in os.listdir(corpus) if n.startswith("conformance-")}
        self.assertEqual(on_disk, set(corpus_files()))
        for name, raw in corpus_files().items():
            with open(os.path.join(corpus, name), "rb") as f:
                self.assertEqual(f.read(), raw, name)

    def test_the_server_still_serves(self):
        self.assertEqual(fa_test.get(self.port)[0], 200)


class NonConformingStub(socketserver.ThreadingTCPServer):
    """A deliberately non-conforming server: 200 and the greeting for any request head, no Date,
    never closes. The checklist must fail it, or it proves nothing."""

    daemon_threads = True

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            body = fa_test.GREETING
            buf = b""
            try:
                while chunk := self.request.recv(65536):
                    buf += chunk
                    while b"\r\n\r\n" in buf:
                        _, buf = buf.split(b"\r\n\r\n", 1)
                        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                return  # the client went

    def __init__(self):
        super().__init__(("127.0.0.1", 0), self.Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ChecklistFailsAViolatingServer(unittest.TestCase):
    def test_the_stub_breaks_these_requirements(self):
        stub = NonConformingStub()
        try:
            failing = {case.id for case in CASES if judge(case, outcome(stub.port, case))}
            print(f"\nthe non-conforming stub fails {len(failing)}/{len(CASES)} requirements", flush=True)
            for case_id in ("host-missing", "host-twice", "obs-fold", "space-before-colon", "content-length-invalid",
                            "te-not-final-chunked", "date", "post-405-allow", "connection-close"):
                with self.subTest(case=case_id):
                    self.assertIn(case_id, failing)
            # ...and it does meet one, so the judge is not simply failing everything.
            self.assertNotIn("get-origin-form", failing)
        finally:
            stub.shutdown()
            stub.server_close()

    def test_a_body_answered_as_a_request_fails_on_a_connection_kept_open(self):
        # The stub fails smuggled-request-in-body by its status; a server that answers 405 and then
        # the body's request (404 before the follow-up's 200) must fail it too, though it may keep
        # the connection open (close=None).
        smuggled = next(case for case in CASES if case.id == "smuggled-request-in-body")
        answered = fa_test.Outcome([fa_test.Response(405, {}, b"")], "open", 404, None, 0.0)
        self.assertEqual(judge(smuggled, answered), ["follow-up GET / on the connection kept open: 404, required 200"])
        self.assertEqual(judge(smuggled, answered._replace(followup=200)), [])


if __name__ == "__main__":
    fa_test.main()
