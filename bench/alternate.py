"""Alternating rounds: the contestants the targets compare, measured in turn, round after round.
A shared machine's speed drifts by up to a third within minutes (bench/README.md), so the targets
compare contestants in pairs measured seconds apart: per round and load shape, every contestant
runs once (a fresh server, a 1 s warm-up, one wrk run), in the reverse order on every other round
so that a steady drift favours neither; the report takes, per round, one contestant's figure over
the other's and the median of those ratios.
"""
import statistics

from servers import Server

# The contestants (spec keys, bench/servers.py) the targets compare, when present in the run, in
# the order they run: the image's binary beside Boost.Beast and the static glibc build.
KEYS = ("fa_static", "fa_musl", "beast", "fa_musl_nolog", "fa", "fa_nolog")
SECONDS = 3  # per wrk run: short, so that the runs compared are close in time, and many rounds fit


def run(specs, shapes, rounds, server_cpu, client_cpu, logdir, run_wrk, log):
    """{key: {shape: {"rps": [per round], "p99": [ms, per round], "rps_median", "p99_ms"}}}."""
    chosen = sorted((s for s in specs if s["key"] in KEYS), key=lambda s: KEYS.index(s["key"]))
    out = {s["key"]: {shape[0]: {"rps": [], "p99": []} for shape in shapes} for s in chosen}
    for r in range(rounds):
        for shape in shapes:
            for spec in chosen if r % 2 == 0 else reversed(chosen):
                srv = Server(spec, server_cpu, logdir, f"alt{r}{shape[0]}")
                try:
                    run_wrk(srv.port, shape, 1, client_cpu)
                    res = run_wrk(srv.port, shape, SECONDS, client_cpu)
                finally:
                    srv.discard()
                cell = out[spec["key"]][shape[0]]
                cell["rps"].append(res["rps"])
                cell["p99"].append(res["p99_us"] / 1000)
        log(f"alternating round {r + 1} of {rounds} done")
    for shapes_of in out.values():
        for cell in shapes_of.values():
            cell["rps_median"] = statistics.median(cell["rps"])
            cell["p99_ms"] = statistics.median(cell["p99"])
    return out
