"""The portfolio optimiser at scale: 200 candidate initiatives, pairwise interactions, CVaR.

One simulation (200 heterogeneous initiatives on 40 pain points, every single and interacting
pair, 1,000 trials; ``scenario_portfolio.py``) is built once; then ``optimize`` is timed with the mean objective and with
``cvar:0.1:0.5``, for HiGHS and CBC. Target: each under 10 s (solves, no-good walk and
exact re-evaluation of the candidates; the simulation itself is not counted).

Reference in the same run (issue 17): ``highs-pulp``, the same model solved through PuLP 3.3's
HiGHS adapter, which rebuilds the model from PuLP's expressions on every solve (the route
before issue 17); the ratio against the direct highspy route (one model kept alive across
cuts, warm starts) is printed. ``CXOPT_BENCH_CUSTOMERS`` / ``CXOPT_BENCH_TRIALS`` scale the
case down where the full simulation does not fit the time at hand.

    python -m pytest benchmarks/bench_optimize.py --benchmark-enable -s
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cxopt import optimize  # noqa: E402
from scenario_portfolio import portfolio_simulation  # noqa: E402
from cxopt.portfolio.backends.highs import HighsBackend  # noqa: E402
from cxopt.portfolio.backends.pulp_base import PulpBackend  # noqa: E402
from cxopt.portfolio.model import PortfolioProblem  # noqa: E402
from cxopt.portfolio.search import solve_problem  # noqa: E402

INITIATIVES = int(os.environ.get("CXOPT_BENCH_INITIATIVES", 200))
TRIALS = int(os.environ.get("CXOPT_BENCH_TRIALS", 1000))
CUSTOMERS = int(os.environ.get("CXOPT_BENCH_CUSTOMERS", 100_000))
SECONDS: dict = {}


class PulpHighsRebuild(HighsBackend):
    """The reference: HiGHS through PuLP's adapter (the model rebuilt from PuLP on every solve)."""

    name = "highs-pulp"
    solve_problem = PulpBackend.solve_problem

    def command(self, time_limit, warm_start=False):
        import pulp

        return pulp.HiGHS(msg=False, timeLimit=time_limit)


@pytest.fixture(scope="module")
def sim():
    return portfolio_simulation(CUSTOMERS, INITIATIVES, TRIALS)


@pytest.mark.parametrize("solver", ["highs-pulp", "highs", "cbc"])
@pytest.mark.parametrize("risk", [None, "cvar:0.1:0.5"])
def test_optimize_200_initiatives(benchmark, sim, solver, risk):
    if solver == "highs-pulp":
        from cxopt.portfolio.constraints import Constraints

        run = lambda: solve_problem(sim, PortfolioProblem.from_simulation(sim, Constraints.from_scenario(sim.scenario),  # noqa: E731
                                                                          risk or "mean"), PulpHighsRebuild(), time_limit=120)
    else:
        run = lambda: optimize(sim, solver=solver, risk=risk, time_limit=120)  # noqa: E731
    result = benchmark.pedantic(run, rounds=1, iterations=1)
    s = result.solver
    SECONDS[(solver, risk)] = benchmark.stats.stats.min
    ref = SECONDS.get(("highs-pulp", risk))
    if ref and solver != "highs-pulp":
        print(f"\n{solver} {risk or 'mean'}: {ref / benchmark.stats.stats.min:.2f}x faster than highs-pulp")
    print(f"\n{solver} {risk or 'mean'}: {benchmark.stats.stats.min:.2f} s total (first solve "
          f"{s['first_solve_seconds']:.2f} s, solves in all {s['solve_seconds']:.2f} s), "
          f"status {s['status']}, "
          f"{s['candidates_evaluated']} candidates, selected {result.selected_ids}; target < 10 s")
    assert not result.constraints.violations(result.selected)
