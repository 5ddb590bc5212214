#!/usr/bin/env python3
"""bench/report.py from a results.json to results.md: the targets come from bench/targets.json, each
names the bound it applies, and each can fail: an error, a connection never served or a broken
access log (synthetic figures) fails the report, and the ratio and value targets both ways in the
recorded runs, whose results.md regenerates byte for byte from their results.json. No server run
(bench.quick runs the measuring half)."""
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


SHAPES = {"ka50": "50 keep-alive", "ka1000": "1000 keep-alive", "close50": "50 Connection: close"}


def results(ka50=(), per_connection=(), log=()):
    """A run of one favorite-athlete row ("fa") with no error, every one of 1000 connections served and
    a sound stdout file, but for what ka50 (wrk's figures at 50), per_connection (the 1000 counted one
    by one) and log (the stdout file at 50, measure.check_log's figures) override."""
    pc = dict({"connections": 1000, "connections_with_no_response": 0, "errors": 0, "timeouts": 0, "non_200": 0},
              **dict(per_connection))
    lg = dict({"ends_with_whole_line": True, "last_lines_json": 5, "last_lines_checked": 5, "request_lines": 9,
               "responses_counted_by_clients": 9, "graceful_stop": True}, **dict(log))
    shapes = {"ka50": dict({"socket_errors": 0, "non_2xx": 0, "requests": 9, "log": lg}, **dict(ka50)),
              "ka1000": {"socket_errors": 0, "non_2xx": 0, "requests": 9, "per_connection": pc}}
    return {"meta": {"shapes": SHAPES}, "contestants": [{"key": "fa", "label": "fa", "shapes": shapes}]}


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

    def test_each_break_misses_its_smoke_target(self):
        """The smoke targets, which fail bench.quick: each kind of error misses "zero errors", a
        connection never served "every one of 1000", a stdout file not sound "the access log sound"
        (test_measure.py: what is not)."""
        def missed(res):
            return [t["target"] for t in report.evaluate(res, TABLE) if t["smoke"] and t["result"] != "PASS"]
        self.assertEqual(missed(results()), [])
        errors = [{"ka50": {"socket_errors": 1}}, {"ka50": {"non_2xx": 1}}, {"ka50": {"requests": 0}},
                  *({"per_connection": {k: 1}} for k in ("errors", "timeouts", "non_200"))]
        for broken, words in [*((b, "zero errors") for b in errors),
                              ({"per_connection": {"connections_with_no_response": 1}}, "every one of 1000"),
                              ({"log": {"graceful_stop": False}}, "access log sound")]:
            self.assertEqual([words in t for t in missed(results(**broken))], [True], broken)

    def test_a_smoke_target_missed_fails_the_report(self):
        """report.py exits 1, naming it, so bench/benchmark.py (bench.quick) fails."""
        res = json.loads(pathlib.Path(BENCH, "results", "2026-12-07-own-code", "results.json").read_text())
        res["contestants"][0]["shapes"]["ka50"]["non_2xx"] = 1
        with tempfile.TemporaryDirectory() as d:
            pathlib.Path(d, "results.json").write_text(json.dumps(res))
            run = subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), os.path.join(d, "results.json")],
                                 capture_output=True, text=True, env=dict(os.environ, PATH="/nonexistent"))
        self.assertEqual((run.returncode, run.stderr.splitlines()[-1]), (1, "FAIL: " + next(
            t["target"] for t in TABLE["targets"] if t.get("field") == "errors")), run.stderr)

    def test_the_bounds_in_the_table_decide_and_include_their_value(self):
        table = json.loads(json.dumps(TABLE))
        errors = next(t for t in table["targets"] if t.get("field") == "errors")  # 0 in results()
        for bounds, result in (({"min": 0, "max": 0}, "PASS"), ({"max": -1}, "MISS"), ({"min": 1, "max": 1}, "MISS")):
            errors.update(bounds)
            self.assertEqual(outcome(results(), ["zero errors"], table), [result], bounds)

    def test_a_contestant_not_run_is_not_measured(self):
        self.assertEqual(outcome(results(), ["Boost.Beast"]), ["not measured"] * 3)


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
        res = json.loads(pathlib.Path(BENCH, "results", "2026-12-07-own-code", "results.json").read_text())
        for built in ("0.41.0", "0.41.0, 0.53.1"):  # one favorite-athlete row off the pin is enough
            res["meta"]["httplib"] = built
            md = report.markdown(res, report.evaluate(res, TABLE))
            self.assertIn(f"cpp-httplib {built}, not the pinned 0.53.1", md.splitlines()[0])


if __name__ == "__main__":
    unittest.main()
