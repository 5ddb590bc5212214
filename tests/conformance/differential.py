#!/usr/bin/env python3
"""Differential conformance: the checklist's raw requests against this service, nginx and Go
net/http (the benchmark's contestants, started by bench/servers.py), compared with the table in
docs/conformance.md. Run by `bench/benchmark.py --differential` (which builds the Go contestant).

Fails when an observed outcome differs from the table, when a case has no row, or when the three
servers differ and the row gives no reason: a difference nobody explained is a bug.
--write rewrites the table's outcomes from what was observed, keeping the reasons.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))  # fa_test
sys.path.insert(0, HERE)

import servers  # noqa: E402  (bench/servers.py: contestants and how to start them)
from checklist import CASES  # noqa: E402
from fa_test import outcome  # noqa: E402

SERVERS = [("fa", "service"), ("nginx", "nginx"), ("go", "Go")]
BEGIN, END = "<!-- differential:begin -->", "<!-- differential:end -->"
HEADER = ["case", "RFC", "requirement (checklist.py)", "service", "nginx", "Go", "why they differ"]


def observe(args):
    run = argparse.Namespace(binary=args.binary, static_binary=None, musl_binary=None, go_server=args.go_server,
                             quick=False, peers=False)
    specs = {s["key"]: s for s in servers.contestants(run, args.work)}
    missing = [key for key, _ in SERVERS if key not in specs]
    if missing:
        raise SystemExit(f"contestants missing: {missing} (nginx installed? --go-server given?)")
    observed = {}
    for key, _ in SERVERS:
        server = servers.Server(specs[key], None, args.work)
        try:
            for case in CASES:
                seen = outcome(server.port, case)  # compared: the statuses, then whether it stayed open
                statuses = "+".join(str(r.status) for r in seen.responses) or "none"
                observed[(case.id, key)] = f"{statuses} {seen.after}"
        finally:
            server.kill()
    return observed


def read_table(text):
    block = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    rows = {}
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells if len(cells) == len(HEADER) else None
    return rows


def cell_matches(cell, value):
    """A cell may list alternatives ("400 closed or 200 open"): one cpp-httplib version each."""
    return value in [alt.strip().strip("`") for alt in cell.split(" or ")]


def write_table(text, observed, rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for case in CASES:
        old = (rows.get(case.id) or [""] * len(HEADER))[3:]
        cells = []
        for i, (key, _) in enumerate(SERVERS):
            value = observed[(case.id, key)]
            cells.append(old[i] if cell_matches(old[i], value) else f"`{value}`")
        lines.append(f"| `{case.id}` | {case.ref} | {case.rule} | " + " | ".join(cells) + f" | {old[3]} |")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + "\n".join(lines) + "\n" + text[end:]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True)
    p.add_argument("--go-server", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--docs", default=os.path.join(ROOT, "docs", "conformance.md"))
    p.add_argument("--write", action="store_true")
    args = p.parse_args()
    observed = observe(args)
    with open(args.docs) as f:
        text = f.read()
    rows = read_table(text)
    if args.write:
        with open(args.docs, "w") as f:
            f.write(write_table(text, observed, rows))
        rows = read_table(write_table(text, observed, rows))
    problems, agree = [], 0
    for case in CASES:
        row = rows.get(case.id)
        values = [observed[(case.id, key)] for key, _ in SERVERS]
        print(f"{case.id:28} " + " | ".join(f"{name}: {v:16}" for (_, name), v in zip(SERVERS, values)))
        if row is None:
            problems.append(f"{case.id}: no row (of {len(HEADER)} cells) in the table of {args.docs}")
            continue
        if row[1:3] != [case.ref, case.rule]:
            problems.append(f"{case.id}: the RFC or requirement text differs from checklist.py (run with --write)")
        row = row[3:]
        for (_, name), cell, value in zip(SERVERS, row, values):
            if not cell_matches(cell, value):
                problems.append(f"{case.id}: {name} answered `{value}`, the table says {cell}")
        if len(set(values)) == 1:
            agree += 1
        elif not row[3]:
            problems.append(f"{case.id}: the servers differ ({', '.join(values)}) and no reason is written down")
    extra = set(rows) - {c.id for c in CASES}
    problems += [f"{name}: a row for a case the checklist does not have" for name in sorted(extra)]
    print(f"\n{len(CASES)} cases: {agree} alike on all three, {len(CASES) - agree} differ (each with its reason)")
    for problem in problems:
        print("FAIL " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
