#!/usr/bin/env python3
"""bench/report.py from a results.json to results.md: the targets come from bench/targets.json and
each one can fail. Synthetic figures, no server run (bench.quick runs the measuring half)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
sys.path.insert(0, BENCH)
import report  # noqa: E402

with open(os.path.join(BENCH, "targets.json")) as f:
    TABLE = json.load(f)


def results(musl_rps=100_000, musl_nolog_rps=100_000, musl_p99=1.0):
    """The rows issue 22's targets compare, in alternating rounds: glibc and Beast at 100k req/s, p99 1 ms."""
    def cell(rps, p99=1.0):
        return {"rps": [rps], "p99": [p99], "rps_median": rps, "p99_ms": p99}
    alt = {"fa_musl": {"ka50": cell(musl_rps, musl_p99), "ka1000": cell(musl_rps)},
           "fa_musl_nolog": {s: cell(musl_nolog_rps) for s in ("ka50", "ka1000")},
           "fa_static": {s: cell(100_000) for s in ("ka50", "ka1000")},
           "beast": {s: cell(100_000) for s in ("ka50", "ka1000")}}
    rows = [{"key": k, "label": k, "shapes": {}} for k in alt]
    shapes = {"ka50": "50 keep-alive", "ka1000": "1000 keep-alive", "close50": "50 Connection: close"}
    return {"meta": {"shapes": shapes}, "contestants": rows,
            "alternating": alt}


def outcome(res, words, table=TABLE):
    """Results of the targets whose name has all of words, one per load shape."""
    return [t["result"] for t in report.evaluate(res, table) if all(w in t["target"] for w in words)]


class Targets(unittest.TestCase):
    def test_issue_targets_are_the_table(self):
        self.assertEqual(outcome(results(), ["Boost.Beast req/s"]), ["PASS", "PASS"])  # 1.00x at 50 and 1000
        self.assertEqual(outcome(results(musl_rps=99_000), ["Boost.Beast req/s"]), ["MISS", "MISS"])
        self.assertEqual(outcome(results(musl_p99=1.3), ["p99 <= 1.3x"]), ["PASS"])
        self.assertEqual(outcome(results(musl_p99=1.31), ["p99 <= 1.3x"]), ["MISS"])
        self.assertEqual(outcome(results(musl_rps=97_000), ["static glibc"]), ["PASS", "PASS"])
        self.assertEqual(outcome(results(musl_rps=96_900), ["static glibc"]), ["MISS", "MISS"])
        log = ["access log", "image's binary"]
        self.assertEqual(outcome(results(musl_rps=95_000), log), ["PASS", "PASS"])
        self.assertEqual(outcome(results(musl_rps=94_900), log), ["MISS", "MISS"])

    def test_rounds_are_compared_in_pairs(self):
        """Equal medians (1.00x), but the image lost two of three rounds to the run measured beside it."""
        res = results()
        res["alternating"]["fa_musl"]["ka50"].update(rps=[90_000, 100_000, 120_000], p99=[1.0, 1.0, 1.0])
        res["alternating"]["beast"]["ka50"].update(rps=[100_000, 110_000, 80_000], p99=[1.0, 1.0, 1.0])
        self.assertEqual(outcome(res, ["Boost.Beast req/s"]), ["MISS", "PASS"])  # 0.91x at 50 (per round)

    def test_a_bound_changed_in_the_table_changes_the_result(self):
        table = json.loads(json.dumps(TABLE))
        next(t for t in table["targets"] if t.get("b") == "beast" and "min" in t)["min"] = 1.1
        self.assertEqual(outcome(results(), ["Boost.Beast req/s"], table), ["MISS", "MISS"])

    def test_a_contestant_not_run_is_not_measured(self):
        res = results()
        del res["alternating"]["beast"]
        self.assertEqual(outcome(res, ["Boost.Beast"]), ["not measured"] * 3)


class Report(unittest.TestCase):
    def test_results_md_from_results_json(self):
        res = results(musl_rps=90_000)
        for c in res["contestants"]:
            ka1000 = res["alternating"][c["key"]]["ka1000"]
            c["shapes"] = {s: dict(res["alternating"][c["key"]].get(s, ka1000), rps_min=1, rps_max=1, p50_ms=1,
                                   socket_errors=0, timeouts=0, non_2xx=0, peak_rss_kb=1024) for s in res["meta"]["shapes"]}
        res["contestants"][0]["shapes"]["ka50"].update(server_cpu_us_per_request=14.21, server_cpu_pct=97.6)
        res["meta"].update(httplib="0.41.0", httplib_pinned="0.53.1", pin_reachable=False, date="d", load_before="0",
                           load_after="0", pinning="p", runs=1, seconds=2, warmup=0, quick=True, log_dir="/tmp",
                           log_fs="tmpfs", machine={"cpu": "c", "cores": 2, "kernel": "k", "debian": "12"})
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "results.json"), "w") as f:
                json.dump(res, f)
            subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), os.path.join(d, "results.json")],
                           check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, PATH="/nonexistent"))
            with open(os.path.join(d, "results.md")) as f:
                md = f.read()
        self.assertIn("not the pinned 0.53.1", md.splitlines()[0])  # an offline run says so in its title
        self.assertIn("| 50 keep-alive: the image's binary >= 1.0x Boost.Beast req/s | 90.0k req/s vs Boost.Beast "
                      "100.0k req/s (medians of 1 alternating rounds; per round 0.90x to 0.90x) | 0.90x | **MISS** |", md)
        # The server's CPU per request and how busy it was; "–" for a run that did not record it.
        self.assertIn("| fa_musl | 90.0k | 90.0k | 1.00 / 1.00 | 14.2 µs (98%) |", md)
        self.assertIn("| beast | 100.0k | 100.0k | 1.00 / 1.00 | – |", md)


if __name__ == "__main__":
    unittest.main()
