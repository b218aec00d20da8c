"""``cxopt optimize`` and ``frontier``: the portfolio, its plan, and the best portfolio per budget."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxopt.cli.common import (BaseOpt, ClusterOpt, CustomersOpt, ForceOpt, JsonOpt, MaxOpt, Mode, NoCacheOpt, QuietOpt,
                              RiskOpt,
                              ScenarioArg, SeedOpt, SolverName, SolverOpt, ThreadsOpt, TimeOpt, TopOpt, TrialsOpt,
                              err, error_boundary, finite, load, out_console, print_json, report_frontier, set_threads, simulate_with_progress)


def optimize(scenario: ScenarioArg,
             budget: Annotated[Optional[float], typer.Option("--budget", min=0, callback=finite, help="Total budget (overrides the scenario's).")] = None,
             max_initiatives: MaxOpt = None, risk: RiskOpt = None, solver: SolverOpt = SolverName.auto,
             top: TopOpt = 10, time_limit: TimeOpt = 60.0,
             trials: TrialsOpt = None, seed: SeedOpt = None, customers: CustomersOpt = None, base: BaseOpt = None,
             mode: Annotated[Mode, typer.Option("--mode")] = Mode.grouped, json_: JsonOpt = False,
             out: Annotated[Optional[Path], typer.Option("--out", help="Write the plan to this directory.")] = None,
             force: ForceOpt = False, quiet: QuietOpt = False, threads: ThreadsOpt = None,
             cluster: ClusterOpt = None, no_cache: NoCacheOpt = False) -> None:
    """Choose the portfolio (at most five initiatives) that keeps the most revenue within budget."""
    from cxopt.portfolio.search import optimize as run_optimize
    from cxopt.plan.build import build_plan

    with error_boundary():
        set_threads(threads)
        sc = load(scenario)
        if out is not None:  # before any work: refuse an existing output or one that cannot be written
            from cxopt.report.plandir import check_plan_out

            check_plan_out(out, force=force)
        if max_initiatives is not None and max_initiatives > 5:
            warnings.warn(f"--max-initiatives {max_initiatives} raises the focus limit above 5 on purpose")
        t0 = time.perf_counter()
        sim = simulate_with_progress(sc, customers, base, seed, trials, mode, quiet, cluster, no_cache=no_cache)
        result = run_optimize(sim, budget=budget, max_initiatives=max_initiatives, risk=risk,
                              solver=solver.value, top=top, time_limit=time_limit)
        plan = build_plan(result)
        data = plan.to_dict()
        data["seconds"] = time.perf_counter() - t0
        if out is not None:
            from cxopt.report.plandir import save_plan

            save_plan(plan, out, force=force, frontier=report_frontier(sim, result, risk, solver, top, time_limit))
            err.print(f"wrote the plan to {out}", markup=False)
        if json_:
            print_json(data)
        else:
            from cxopt.report.terminal import print_plan

            print_plan(data, out_console())


def frontier(scenario: ScenarioArg,
             budgets: Annotated[str, typer.Option("--budgets", help="LOW:HIGH:STEPS, e.g. 250000:3000000:12")],
             max_initiatives: MaxOpt = None, risk: RiskOpt = None, solver: SolverOpt = SolverName.auto,
             top: TopOpt = 10, time_limit: TimeOpt = 60.0,
             trials: TrialsOpt = None, seed: SeedOpt = None, customers: CustomersOpt = None, base: BaseOpt = None,
             json_: JsonOpt = False, quiet: QuietOpt = False, threads: ThreadsOpt = None,
             hurdle: Annotated[float, typer.Option("--hurdle", min=0,
                                                   help="Mark budget steps whose extra gain (margin where given) "
                                                        "per extra unit of cost is below this.")] = 1.0,
             no_cache: NoCacheOpt = False) -> None:
    """The best portfolio and its value at each budget: what the next dollar buys."""
    import numpy as np

    from cxopt.portfolio.frontier import frontier as run_frontier
    from cxopt.report.summary import frontier_summary
    from cxopt.errors import ArgumentError, Problem

    with error_boundary():
        set_threads(threads)
        try:
            low, high, steps = budgets.split(":")
            low_f, high_f, n = float(low), float(high), int(steps)
            if not (math.isfinite(low_f) and math.isfinite(high_f) and 0 <= low_f <= high_f and n >= 1):
                raise ValueError
        except ValueError:
            raise ArgumentError(Problem("", "--budgets", f"expected LOW:HIGH:STEPS with 0 <= LOW <= HIGH and STEPS >= 1, "
                                                        f"got {budgets!r}")) from None
        sc = load(scenario)
        sim = simulate_with_progress(sc, customers, base, seed, trials, Mode.grouped, quiet, no_cache=no_cache)
        grid = np.linspace(low_f, high_f, n) if n > 1 else np.array([high_f])
        results = run_frontier(sim, grid, max_initiatives=max_initiatives, risk=risk, solver=solver.value,
                               top=top, time_limit=time_limit)
        data = frontier_summary(sim, grid, results, hurdle=hurdle)
        if json_:
            print_json(data)
        else:
            from cxopt.report.terminal import print_frontier

            print_frontier(data, out_console())


def register(app: typer.Typer) -> None:
    """Add ``optimize``, ``frontier`` to the ``cxopt`` app."""
    app.command()(optimize)
    app.command()(frontier)
