"""The simulation behind the optimiser at scale (issue 17, item 4): 200 candidates on 100,000
customers, 19,900 interacting pairs, 1,000 trials (``scenario_portfolio.py``).

Before and after in the same run, on the same groups and draws:

* before: every pair evaluated as a portfolio of two (``evaluate_grouped`` on
  ``[[]] + singles + pairs``, the route of ``simulate`` until issue 17);
* after: the baseline and singles as before, then each pair as R(k) + R(l) - R() + w_kl, w_kl
  summed over the subsets of the pair's drivers met by both (``evaluate_pairs``).

Prints wall and CPU seconds of each (CPU: all threads of this process), their ratio, the load
average, and the agreement of the tables (largest relative difference of the pair values;
largest difference of the interactions w_kl over the largest baseline revenue).

With ``CXOPT_BENCH_CLI=1`` it also times the whole ``python -m cxopt optimize`` (simulate +
search + plan, HiGHS, mean objective) on the case written as TOML, from this checkout, and
from the checkout named by ``CXOPT_BENCH_CLI_BEFORE`` (e.g. the main branch's) when given.

    python benchmarks/bench_simulate_pairs.py
    CXOPT_BENCH_TRIALS=100 python benchmarks/bench_simulate_pairs.py      # a quick look
    CXOPT_BENCH_CLI=1 CXOPT_BENCH_CLI_BEFORE=/work/main python benchmarks/bench_simulate_pairs.py

``CXOPT_BENCH_BEFORE=0`` skips the before route (it takes minutes at full size).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import cxopt  # noqa: E402
import scenario_portfolio  # noqa: E402
from cxopt.data.customers import CustomerBase  # noqa: E402
from cxopt.engine.arrays import interacting_pairs  # noqa: E402
from cxopt.engine.draws import draw_trials  # noqa: E402
from cxopt.engine.executor import LocalExecutor  # noqa: E402
from cxopt.engine.grouped import evaluate_grouped, evaluate_pairs  # noqa: E402
from cxopt.engine.simulation import simulate  # noqa: E402
from cxopt.model.toml_writer import dump_toml  # noqa: E402

INITIATIVES = int(os.environ.get("CXOPT_BENCH_INITIATIVES", 200))
TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 1000))
CUSTOMERS = int(os.environ.get("CXOPT_BENCH_CUSTOMERS", 100_000))
BEFORE = os.environ.get("CXOPT_BENCH_BEFORE", "1") != "0"
CLI = os.environ.get("CXOPT_BENCH_CLI", "0") == "1"
CLI_BEFORE = os.environ.get("CXOPT_BENCH_CLI_BEFORE")


def timed(fn):
    """(wall seconds, CPU seconds of this process, result)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def scenario_data() -> dict:
    """The benchmark scenario as plain data (what ``portfolio_scenario`` parses)."""
    seen = {}
    parse = scenario_portfolio.cxopt.parse_scenario

    def keep(data, **kw):
        seen["data"] = data
        return parse(data, **kw)

    scenario_portfolio.cxopt.parse_scenario = keep
    try:
        scenario_portfolio.portfolio_scenario(CUSTOMERS, initiatives=INITIATIVES)
    finally:
        scenario_portfolio.cxopt.parse_scenario = parse
    return seen["data"]


def run_cli(checkout: Path, scenario: Path) -> dict:
    """``python -m cxopt optimize`` from ``checkout``: its own seconds, and the process's wall and CPU."""
    cmd = [sys.executable, "-m", "cxopt", "optimize", str(scenario), "--trials", str(TRIALS), "--seed", "1",
           "--solver", "highs", "--json", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(checkout))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} in {checkout}: exit {done.returncode}\n{done.stderr[-2000:]}")
    plan = json.loads(done.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    solver = plan.get("solver", {})
    return {"wall": wall, "cpu": cpu, "seconds": plan["seconds"], "portfolio": plan.get("selected"),
            "search": solver.get("seconds"), "load": load()}


def print_cli(name: str, r: dict) -> None:
    search = "" if r["search"] is None else f", of which the search {r['search']:.2f} s"
    print(f"cxopt optimize ({name}): {r['seconds']:.2f} s by its own clock (simulate + search + plan{search}); "
          f"process {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU ({r['load']})", flush=True)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    sc = cxopt.parse_scenario(scenario_data())
    base = CustomerBase.synthetic(sc, seed=1)
    groups = LocalExecutor().group(sc, base, None, None)
    draws = draw_trials(sc, TRIALS, 1)
    K = len(sc.initiatives)
    pairs = interacting_pairs(sc, groups)
    print(f"{K} initiatives, {pairs.shape[0]:,} interacting pairs, {groups.n_groups:,} groups, {TRIALS} trials, "
          f"{CUSTOMERS:,} customers")
    # compile (or load from the cache) outside the timings
    small = draw_trials(sc, 2, 1)
    r, c = evaluate_grouped(sc, groups, small, [[]] + [[k] for k in range(K)] + [list(pairs[0])])
    evaluate_pairs(sc, groups, small, pairs[:2], (r[0], c[0]), (r[1:K + 1], c[1:K + 1]))

    def after():
        rev, cust = evaluate_grouped(sc, groups, draws, [[]] + [[k] for k in range(K)])
        prev, pcust = evaluate_pairs(sc, groups, draws, pairs, (rev[0], cust[0]), (rev[1:], cust[1:]))
        return rev, prev

    print(load())
    wall_a, cpu_a, (rev, prev) = timed(after)
    print(f"after:  baseline + singles + pairs {wall_a:8.2f} s wall, {cpu_a:8.2f} s CPU ({load()})")
    if BEFORE:
        portfolios = [[]] + [[k] for k in range(K)] + [list(map(int, p)) for p in pairs]
        wall_b, cpu_b, (old, _) = timed(lambda: evaluate_grouped(sc, groups, draws, portfolios))
        print(f"before: every pair as a portfolio   {wall_b:8.2f} s wall, {cpu_b:8.2f} s CPU ({load()})")
        print(f"ratio before/after: {wall_b / wall_a:.1f}x wall, {cpu_b / cpu_a:.1f}x CPU")
        assert np.array_equal(old[:K + 1], rev), "the baseline and singles must not change"
        old_pairs = old[K + 1:]
        singles = rev[1:]
        w_new = prev - singles[pairs[:, 0]] - singles[pairs[:, 1]] + rev[0]
        w_old = old_pairs - singles[pairs[:, 0]] - singles[pairs[:, 1]] + rev[0]
        print(f"agreement: pair values {np.max(np.abs(prev - old_pairs) / np.abs(old_pairs)):.2e} relative; "
              f"interactions {np.max(np.abs(w_new - w_old)) / np.max(rev[0]):.2e} of the baseline revenue "
              f"(largest |w| {np.max(np.abs(w_old)) / np.max(rev[0]):.2e} of it)")
    wall_s, cpu_s, sim = timed(lambda: simulate(sc, base, trials=TRIALS, seed=1))
    print(f"simulate() after, whole: {wall_s:.2f} s wall, {cpu_s:.2f} s CPU; stages "
          + ", ".join(f"{k} {v:.2f} s" for k, v in sim.seconds.items()) + f" ({load()})")
    if CLI:
        with tempfile.TemporaryDirectory() as tmp:
            data = scenario_data()
            data["scenario"]["trials"] = TRIALS
            path = Path(tmp) / "portfolio_200.toml"
            path.write_text(dump_toml(data))
            runs = {"after": run_cli(HERE.parent, path)}
            print_cli("after", runs["after"])
            if CLI_BEFORE:
                runs["before"] = run_cli(Path(CLI_BEFORE), path)
                print_cli("before", runs["before"])
            if "before" in runs:
                print(f"cxopt optimize ratio before/after: {runs['before']['wall'] / runs['after']['wall']:.1f}x wall; "
                      f"same portfolio: {runs['before']['portfolio'] == runs['after']['portfolio']}")


if __name__ == "__main__":
    main()
