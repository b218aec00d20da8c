"""The budget frontier on one model (issue 17 item 6): 50 budget steps on the 200-candidate case.

``frontier`` builds one program and, per budget, drops the previous walk's cuts, moves the budget
rows' right-hand side and starts from the previous step's portfolio; each walk runs on the
candidates that can matter at that budget (``cxopt.portfolio.reduction``). The reference in the
same run solves each budget from scratch (``optimize(sim, budget=b)``: a new program per step).
Both must return the same portfolios; the ratio is printed with wall and CPU seconds and the load
average. Each starts with the simulation's memo of exact evaluations emptied (the scratch run would
otherwise find every portfolio the frontier valued). Target (issue 17): 50 steps under 20 s. The simulation is built once and not counted.

    python -m pytest benchmarks/bench_frontier.py --benchmark-enable -s
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cxopt import optimize  # noqa: E402
from cxopt.portfolio.frontier import frontier  # noqa: E402
from scenario_portfolio import portfolio_simulation  # noqa: E402

INITIATIVES = int(os.environ.get("CXOPT_BENCH_INITIATIVES", 200))
TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 1000))
CUSTOMERS = int(os.environ.get("CXOPT_BENCH_CUSTOMERS", 100_000))
STEPS = int(os.environ.get("CXOPT_BENCH_STEPS", 50))


@pytest.fixture(scope="module")
def sim():
    return portfolio_simulation(CUSTOMERS, INITIATIVES, TRIALS)


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def test_frontier_50_steps(benchmark, sim):
    budgets = np.linspace(300_000, 3_000_000, STEPS)
    timed: dict = {}

    from cxopt.portfolio.model import ValueTables

    ValueTables.from_simulation(sim)  # the tables, built once per simulation, before either is timed

    def run():
        sim._memo.clear()  # neither run starts with the other's exact evaluations
        out, timed["wall"], timed["cpu"] = _timed(lambda: frontier(sim, budgets))
        return out

    steps = benchmark.pedantic(run, rounds=1, iterations=1)
    sim._memo.clear()
    scratch, s_wall, s_cpu = _timed(lambda: [optimize(sim, budget=float(b)) for b in budgets])
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    kept = [r.solver.get("reduction", {}).get("kept", INITIATIVES) for r in steps if r is not None]
    print(f"\nfrontier, {STEPS} budget steps on {INITIATIVES} candidates: {timed['wall']:.1f} s wall, "
          f"{timed['cpu']:.1f} s CPU (one model); each budget from scratch {s_wall:.1f} s wall, {s_cpu:.1f} s CPU; "
          f"ratio {s_wall / timed['wall']:.2f}x wall; candidates kept per step {min(kept)}-{max(kept)} "
          f"(median {int(np.median(kept))}); load {load}; target < 20 s")
    for b, a, c in zip(budgets, steps, scratch):
        assert a is not None and c is not None
        assert a.selected == c.selected, f"budget {b:,.0f}: frontier {a.selected_ids} vs scratch {c.selected_ids}"
        assert not a.constraints.violations(a.selected)
