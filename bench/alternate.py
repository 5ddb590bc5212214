"""Alternating rounds: the contestants the targets compare, measured in turn, round after round, so
that a slow spell of a shared machine falls on all of them alike. Per round, contestant and load
shape: a fresh server, a 1 s warm-up, one wrk run; the figure is the median over the rounds.
"""
import statistics

from servers import Server

# The contestants (spec keys, bench/servers.py) the targets compare, when present in the run.
KEYS = ("fa_musl", "fa_musl_nolog", "fa_static", "fa", "fa_nolog", "beast")


def run(specs, shapes, rounds, seconds, server_cpu, client_cpu, logdir, run_wrk, log):
    """{key: {shape: {"rps": [per round], "rps_median", "p99_ms" (median over rounds)}}}."""
    chosen = [s for s in specs if s["key"] in KEYS]
    out = {s["key"]: {shape[0]: {"rps": [], "p99": []} for shape in shapes} for s in chosen}
    for r in range(rounds):
        for spec in chosen:
            for shape in shapes:
                srv = Server(spec, server_cpu, logdir, f"alt{r}{shape[0]}")
                try:
                    run_wrk(srv.port, shape, 1, client_cpu)
                    res = run_wrk(srv.port, shape, seconds, client_cpu)
                finally:
                    srv.discard()
                cell = out[spec["key"]][shape[0]]
                cell["rps"].append(res["rps"])
                cell["p99"].append(res["p99_us"] / 1000)
        log(f"alternating round {r + 1} of {rounds} done")
    for shapes_of in out.values():
        for cell in shapes_of.values():
            cell["rps_median"] = statistics.median(cell["rps"])
            cell["p99_ms"] = statistics.median(cell.pop("p99"))
    return out
