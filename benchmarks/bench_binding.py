"""What binds on the optimiser's 200-candidate case (issue 17, item 4): group tests against one
re-solve per limit.

The case is the README's (``scenario_portfolio.py``: 200 initiatives, 100,000 customers, 19,900
interacting pairs, 1,000 trials; built as ``bench_simulate_pairs.py`` builds it), the plan the
HiGHS mean-objective optimum. In the same run, on the same plan:

* after: :func:`cxopt.plan.binding.binding` (limits tested in groups, a limit that gains re-solved
  on its own);
* before: :func:`cxopt.plan.binding.binding_per_limit` (one re-solve per limit, per owner for a
  capacity: the route until issue 17), kept callable as the reference.

Each is timed with the simulation's memo of valued portfolios emptied first (neither route
inherits the other's exact evaluations). Prints wall and CPU seconds (this process, all
threads), the re-solves done, the ratio, the load average, and whether the two answers are the
same (every limit's gain, slack and relaxed portfolio).

With ``CXOPT_BENCH_CLI=1`` it also times the whole ``python -m cxopt optimize --out DIR`` on the
case written as TOML (simulate + search + plan with its binding study + the plan directory with
its frontier), in a child process, from this checkout, and from the checkout named by
``CXOPT_BENCH_CLI_BEFORE`` (e.g. the main branch's) when given; and, in this process, the
stages of that run on the simulation already built (optimize, the plan without its binding
study, the binding study both ways with the memo as that run leaves it, the report's frontier).

    python benchmarks/bench_binding.py
    CXOPT_BENCH_TRIALS=200 python benchmarks/bench_binding.py          # a quick look
    CXOPT_BENCH_CLI=1 CXOPT_BENCH_CLI_BEFORE=/work/main python benchmarks/bench_binding.py

``CXOPT_BENCH_BEFORE=0`` skips the per-limit reference; ``CXOPT_BENCH_RISK=cvar:0.1:0.5`` studies a
risk-averse plan (in process; the command line runs stay on the mean objective).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import cxopt  # noqa: E402
from bench_simulate_pairs import scenario_data  # noqa: E402
from cxopt.data.customers import CustomerBase  # noqa: E402
from cxopt.engine.simulation import simulate  # noqa: E402
from cxopt.model.toml_writer import dump_toml  # noqa: E402
from cxopt.plan.binding import binding, binding_per_limit  # noqa: E402
from cxopt.portfolio.search import optimize  # noqa: E402
from timing import run_cxopt  # noqa: E402

TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 1000))
RISK = os.environ.get("CXOPT_BENCH_RISK") or None  # e.g. cvar:0.1:0.5 (the in-process study only)
BEFORE = os.environ.get("CXOPT_BENCH_BEFORE", "1") != "0"
CLI = os.environ.get("CXOPT_BENCH_CLI", "0") == "1"
CLI_BEFORE = os.environ.get("CXOPT_BENCH_CLI_BEFORE")


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def timed(fn):
    """(wall seconds, CPU seconds of this process, result)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def forget(sim) -> None:
    """Empty the simulation's memo of valued portfolios (each route pays its own evaluations)."""
    memo = getattr(sim, "_memo", None)
    if memo is not None:
        memo.clear()


def differences(before: dict, after: dict) -> list[str]:
    out = []
    for a, b in zip(before["limits"], after["limits"]):
        if a != b:
            out.append(f"  {a['limit']}: before gain {a['gain_if_relaxed']:,.2f} {a['relaxed_selection']}, "
                       f"after gain {b['gain_if_relaxed']:,.2f} {b['relaxed_selection']}")
    if len(before["limits"]) != len(after["limits"]):
        out.append("  not the same limits")
    return out


def cli_run(checkout: Path, scenario: Path, out_dir: Path) -> dict:
    """The whole ``cxopt optimize --out`` from ``checkout`` in a child process."""
    args = ["optimize", str(scenario), "--trials", str(TRIALS), "--seed", "1", "--solver", "highs", "--json",
            "--quiet", "--out", str(out_dir)]
    wall, cpu, plan = run_cxopt(args, env=dict(os.environ, PYTHONPATH=str(checkout)))
    rev = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    return {"wall": wall, "cpu": cpu, "seconds": plan["seconds"], "portfolio": plan.get("selected"),
            "binding": plan.get("binding"), "load": load(), "commit": rev or "?"}


def stages(sim) -> None:
    """The stages of ``optimize --out`` in this process, on the simulation already built."""
    from cxopt.cli.common import report_frontier
    from cxopt.cli.common import SolverName
    from cxopt.plan.build import build_plan

    forget(sim)
    w, c, res = timed(lambda: optimize(sim, solver="highs"))
    print(f"stage optimize:                 {w:7.2f} s wall, {c:7.2f} s CPU ({load()})")
    w, c, _ = timed(lambda: build_plan(res, binding=False))
    print(f"stage plan without binding:     {w:7.2f} s wall, {c:7.2f} s CPU ({load()})")
    # the binding study as optimize --out runs it: the memo holds what the search and the plan valued
    memo = getattr(sim, "_memo", None)
    kept = dict(memo) if memo is not None else {}
    for name, route in (("binding (group tests)", binding), ("binding (one per limit)", binding_per_limit)):
        if memo is not None:
            memo.clear()
            memo.update(kept)
        w, c, _ = timed(lambda: route(res))
        print(f"stage {name + ':':26s}{w:7.2f} s wall, {c:7.2f} s CPU ({load()})")
    w, c, _ = timed(lambda: report_frontier(sim, res, None, SolverName("highs"), 10, 60.0))
    print(f"stage report frontier (--out):  {w:7.2f} s wall, {c:7.2f} s CPU ({load()})")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    data = scenario_data()
    sc = cxopt.parse_scenario(data)
    print(load())
    w, c, sim = timed(lambda: simulate(sc, CustomerBase.synthetic(sc, seed=1), trials=TRIALS, seed=1))
    print(f"{len(sc.initiatives)} initiatives, {sim.pairs.shape[0]:,} interacting pairs, {TRIALS} trials, "
          f"{sim.n_customers:,} customers: simulated in {w:.2f} s wall, {c:.2f} s CPU (not counted)")
    res = optimize(sim, solver="highs", risk=RISK)
    print(f"plan: {res.selected_ids} (HiGHS, {RISK or 'mean'} objective)")
    forget(sim)
    stats: dict = {}
    wall_a, cpu_a, after = timed(lambda: binding(res, stats=stats))
    binds = [x["limit"] for x in after["limits"] if x["binds"]]
    print(f"after:  group tests   {wall_a:8.2f} s wall, {cpu_a:8.2f} s CPU, {stats['searches']} searches "
          f"({stats['solves']} solver calls) for {stats['limits']} limits; binding: {binds} ({load()})")
    if BEFORE:
        forget(sim)
        wall_b, cpu_b, before = timed(lambda: binding_per_limit(res))
        print(f"before: one per limit {wall_b:8.2f} s wall, {cpu_b:8.2f} s CPU, {stats['limits']} searches "
              f"({load()})")
        print(f"ratio before/after: {wall_b / wall_a:.1f}x wall, {cpu_b / cpu_a:.1f}x CPU")
        diff = differences(before, after)
        same = "yes" if not diff else "NO"
        print(f"same answer (every limit's slack, gain and relaxed portfolio): {same}")
        for line in diff:
            print(line)
    if CLI:
        stages(sim)
        del sim
        with tempfile.TemporaryDirectory() as tmp:
            data["scenario"]["trials"] = TRIALS
            path = Path(tmp) / "portfolio_200.toml"
            path.write_text(dump_toml(data))
            runs = {"after": cli_run(HERE.parent, path, Path(tmp) / "after")}
            if CLI_BEFORE:
                runs["before"] = cli_run(Path(CLI_BEFORE), path, Path(tmp) / "before")
            for name, r in runs.items():
                print(f"cxopt optimize --out ({name}, {r['commit']}): {r['seconds']:.2f} s by its own clock "
                      f"(until the plan directory is written); process "
                      f"{r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU ({r['load']})")
            if "before" in runs:
                b, a = runs["before"], runs["after"]
                print(f"cxopt optimize --out ratio before/after: {b['wall'] / a['wall']:.1f}x wall, "
                      f"{b['cpu'] / a['cpu']:.1f}x CPU; same portfolio: {b['portfolio'] == a['portfolio']}; "
                      f"same binding table: {b['binding'] == a['binding']}")


if __name__ == "__main__":
    main()
