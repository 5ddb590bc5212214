#!/usr/bin/env python3
"""bench/report.py from a results.json to results.md: the targets come from bench/targets.json and
each one can fail (synthetic figures), and each recorded run's results.md regenerates byte for byte
from its results.json. No server run (bench.quick runs the measuring half)."""
import glob
import json
import os
import pathlib
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

    def test_a_bound_changed_in_the_table_changes_the_result(self):
        table = json.loads(json.dumps(TABLE))
        next(t for t in table["targets"] if t.get("b") == "beast" and "min" in t)["min"] = 1.1
        self.assertEqual(outcome(results(), ["Boost.Beast req/s"], table), ["MISS", "MISS"])

    def test_a_contestant_not_run_is_not_measured(self):
        res = results()
        del res["alternating"]["beast"]
        self.assertEqual(outcome(res, ["Boost.Beast"]), ["not measured"] * 3)


def read(run):
    return [pathlib.Path(run, name).read_bytes() for name in ("results.md", "plot.dat")]


class Report(unittest.TestCase):
    def report(self, results_json, out):
        """results.md and plot.dat from report.py run on a results.json (PATH without gnuplot: no plot.png)."""
        subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), results_json, "--out", out], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, PATH="/nonexistent"))
        return read(out)

    def test_recorded_runs_regenerate_byte_for_byte(self):
        """Every run recorded since the split: its results.md and plot.dat are what report.py writes from
        its results.json, so report.py and bench/targets.json still say what those files say. The runs
        whose meta names no load shapes were written by the one-file harness before it (bench/harness.py
        in the git history) and are not read. This also shows that a paired target takes the median of the
        rounds' ratios: in both runs it differs from the ratio of the medians (2026-12-07-own-code, image vs
        Boost.Beast at 50: 1.05x, where 82.6k / 81.5k is 1.01x)."""
        runs = sorted(glob.glob(os.path.join(BENCH, "results", "*", "results.json")))
        regenerated = []
        for path in runs:
            with open(path) as f:
                if "shapes" not in json.load(f)["meta"]:
                    continue
            with self.subTest(run=path), tempfile.TemporaryDirectory() as d:
                self.assertEqual(self.report(path, d), read(os.path.dirname(path)))
                regenerated.append(os.path.basename(os.path.dirname(path)))
        self.assertGreaterEqual(len(regenerated), 2, regenerated)  # 2026-12-07 and 2026-12-07-own-code at least

    def test_an_offline_run_says_so(self):
        """A run that could not get the pinned cpp-httplib says so in its title."""
        with open(os.path.join(BENCH, "results", "2026-12-07-own-code", "results.json")) as f:
            res = json.load(f)
        res["meta"].update(httplib="0.41.0", pin_reachable=False)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "results.json"), "w") as f:
                json.dump(res, f)
            md = self.report(os.path.join(d, "results.json"), d)[0].decode()
        self.assertIn("cpp-httplib 0.41.0, not the pinned 0.53.1", md.splitlines()[0])


if __name__ == "__main__":
    unittest.main()
