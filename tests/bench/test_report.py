#!/usr/bin/env python3
"""bench/report.py from a results.json to results.md: the targets come from bench/targets.json, each
names the bound it applies, and each can fail: an error, a connection never served or a broken
access log (made in a recorded run) fails the report, and the ratio and value targets both ways in the
recorded runs, whose results.md regenerates byte for byte from their results.json. No server run
(bench.quick runs the measuring half)."""
import functools
import glob
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import unittest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
sys.path.insert(0, BENCH)
import report  # noqa: E402

with open(os.path.join(BENCH, "targets.json")) as f:
    TABLE = json.load(f)


REPORT = os.path.join(BENCH, "report.py")
LATEST = pathlib.Path(BENCH, "results", "2026-12-07-own-code", "results.json")


def outcome(res, words, table=TABLE):
    """Results of the targets whose name has all of words, one per load shape."""
    return [t["result"] for t in report.evaluate(res, table) if all(w in t["target"] for w in words)]


class Targets(unittest.TestCase):
    def test_each_target_states_its_bound(self):
        """results.md prints a target's name, not its bound: the name says the bound the table applies
        (">= 1.0x": a min of 1.0; "<= 2 MB": a max of 2; "costs <= 5%": a min of 0.95; no bound named:
        a max of 0). The names are in the recorded results.md files, which Report regenerates, so no
        bound changes unseen."""
        for t in TABLE["targets"]:
            m = re.search(r"([<>]=) ([\d.]+)(%?)", t["target"])
            if not m:  # "zero errors", "every one of 1000 connections served", "the access log sound"
                stated = {"max": 0}
            elif m[3]:  # "costs <= 5%": at least 0.95x
                stated = {"min": round(1 - float(m[2]) / 100, 4)}
            else:
                stated = {"min" if m[1] == ">=" else "max": float(m[2])}
            self.assertEqual({k: t[k] for k in ("min", "max") if k in t}, stated, t["target"])

    def test_each_break_fails_the_report_on_its_smoke_target(self):
        """bench.quick fails where report.py does: on each kind of error ("zero errors"), a connection
        never served ("every one of 1000"), a stdout file not sound ("the access log sound"; which are
        not: test_measure.py), each made in the latest recorded run's first row, which passes them."""
        for path, broken, words in [
                ("ka50.socket_errors", 1, "zero errors"), ("ka50.non_2xx", 1, "zero errors"),
                ("ka50.requests", 0, "zero errors"), *((f"ka1000.per_connection.{k}", 1, "zero errors")
                                                       for k in ("errors", "timeouts", "non_200")),
                ("ka1000.per_connection.connections_with_no_response", 1, "every one of 1000"),
                ("ka50.log.graceful_stop", False, "the access log sound")]:
            res = json.loads(LATEST.read_text())
            *within, field = path.split(".")
            functools.reduce(dict.get, within, res["contestants"][0]["shapes"])[field] = broken
            with tempfile.TemporaryDirectory() as d:
                pathlib.Path(d, "results.json").write_text(json.dumps(res))
                run = subprocess.run([sys.executable, REPORT, os.path.join(d, "results.json")], capture_output=True,
                                     text=True, env=dict(os.environ, PATH="/nonexistent"))
            self.assertEqual(run.returncode, 1, path)
            self.assertRegex(run.stderr.splitlines()[-1], f"^FAIL: [^;]*{words}[^;]*$", path)  # that target alone

    def test_a_bound_includes_its_value(self):
        """A figure equal to its min or max meets it (that each bound decides: the recorded runs' MISSes)."""
        table, res = json.loads(json.dumps(TABLE)), json.loads(LATEST.read_text())  # no error in that run
        next(t for t in table["targets"] if t.get("field") == "errors").update(min=0, max=0)
        self.assertEqual(outcome(res, ["zero errors"], table), ["PASS"])

    def test_a_contestant_not_run_is_not_measured(self):
        res = json.loads(LATEST.read_text())
        del res["alternating"], res["contestants"][1:]
        self.assertEqual(outcome(res, ["Boost.Beast"]), ["not measured"] * 3)


def read(run):
    return [pathlib.Path(run, name).read_bytes() for name in ("results.md", "plot.dat")]


class Report(unittest.TestCase):
    def report(self, results_json, out):
        """results.md and plot.dat from report.py run on a results.json (PATH without gnuplot: no plot.png)."""
        subprocess.run([sys.executable, REPORT, results_json, "--out", out], check=True,
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

    def test_the_readme_quotes_the_runs_it_names(self):
        """bench/README.md on the recorded runs (up to "What limits it"): every ratio and k-figure after a
        link to a run's results.md is in that results.md (which Report regenerates from its results.json)."""
        readme = pathlib.Path(BENCH, "README.md").read_text()
        parts = re.split(r"\]\((results/[^)]+/results\.md)\)", readme[:readme.index("What limits it.")])
        quoted = 0
        for run, text in zip(parts[1::2], parts[2::2]):
            md = pathlib.Path(BENCH, run).read_text()
            for figure in re.findall(r"\b\d+\.\d+[xk]\b", text):
                self.assertIn(figure, md, run)
                quoted += 1
        self.assertGreater(quoted, 30)

    def test_a_run_not_all_on_the_pinned_cpp_httplib_says_so(self):
        """In its first line (the recorded runs, on the pin, say that they are)."""
        res = json.loads(LATEST.read_text())
        for built in ("0.41.0", "0.41.0, 0.53.1"):  # one favorite-athlete row off the pin is enough
            res["meta"]["httplib"] = built
            md = report.markdown(res, report.evaluate(res, TABLE))
            self.assertIn(f"cpp-httplib {built}, not the pinned 0.53.1", md.splitlines()[0])


if __name__ == "__main__":
    unittest.main()
