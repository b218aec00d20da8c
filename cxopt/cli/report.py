"""``cxopt report``: the plan's self-contained HTML page alone (no plan directory).

Registered on the main app by ``cxopt.cli`` (``register(app)``). Like every command it is a
thin skin: simulate, choose the portfolio as ``cxopt optimize`` does (``--objective``, ``--target``
and ``--require`` are optimize's options, checked and applied by the same functions), build the
plan, a small budget frontier around the budget (0.25x to 2x, for the frontier plot; each budget's
portfolio chosen by the same objective), then write the page atomically — an existing file is
kept unless ``--force`` (exit 2).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxopt.cli.common import ExactTargetOpt, Objective, ObjectiveOpt, RequireOpt, TargetOpt, finite

__all__ = ["register", "report"]


def report(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("report.html"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")] = False,
    budget: Annotated[Optional[float], typer.Option("--budget", min=0, callback=finite,
                                                    help="Total budget (overrides the scenario's).")] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", min=1,
                                                  help="Trials (default: the scenario's).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0,
                                                help="Random seed (default: the scenario's).")] = None,
    customers: Annotated[Optional[int], typer.Option("--customers", min=1,
                                                     help="Synthetic base of N customers.")] = None,
    base: Annotated[Optional[Path], typer.Option(
        "--base", help="Customer file (Parquet, CSV, directory or glob).")] = None,
    frontier_steps: Annotated[int, typer.Option("--frontier-steps", min=0,
                                                help="Budgets in the frontier plot, 0.25x to 2x the budget "
                                                     "(0: no frontier).")] = 6,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    goal_metric: Annotated[Optional[str], typer.Option(
        "--goal-metric", help="State the goal in churn (default), retained_revenue or a declared CX metric.")] = None,
    confidence: Annotated[Optional[float], typer.Option(
        "--confidence", help="The goal's target is met in this share of trials (default 0.5).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Read the whole base again (skip the group "
                                                              "statistics cache).")] = False,
    target: TargetOpt = None, require: RequireOpt = None, objective: ObjectiveOpt = Objective.revenue,
    exact_target: ExactTargetOpt = False,
) -> None:
    """Write the plan as one self-contained HTML page: the goal, contributions, action plan and plots."""
    from cxopt.cli import common as cli
    from cxopt.cli.optimize import choose_for_targets, goal_options
    from cxopt.data.atomic import write_text_atomic
    from cxopt.portfolio.search import optimize as run_optimize
    from cxopt.plan.build import build_plan
    from cxopt.errors import ArgumentError, Problem

    with cli.error_boundary():
        if frontier_steps == 1:
            raise ArgumentError(Problem("", "--frontier-steps",
                                        "a frontier needs at least 2 budgets (0 for none), got 1"))
        sc = cli.load(scenario)
        from cxopt.data.atomic import check_output

        check_output(out, force=force)  # before minutes of simulation, not after
        goal = goal_options(sc, goal_metric, confidence, target, require, objective)  # as optimize checks them
        goal["exact"] = exact_target
        from cxopt.report.html import plan_html

        t0 = time.perf_counter()
        sim = cli.simulate_with_progress(sc, customers, base, seed, trials, cli.Mode.grouped, quiet,
                                         no_cache=no_cache)
        if goal["targets"] or goal["requirements"]:  # the same choice as ``cxopt optimize``
            result, extra = choose_for_targets(sim, goal, False, budget=budget)
        else:
            result, extra = run_optimize(sim, budget=budget, objective=goal["objective"]), {}
        plan = build_plan(result, goal_metric=goal["metric"], confidence=goal["confidence"], extra=extra)
        frontier = None
        if frontier_steps >= 2:  # each budget's portfolio chosen by the plan's objective (cost: by revenue)
            frontier = cli.report_frontier(sim, result, None, cli.SolverName.auto, 10, 60.0, steps=frontier_steps,
                                            objective="value" if goal["objective"] == "value" else "revenue")
        trial_values = {"baseline": sim.baseline_revenue, "portfolio": result.revenue}
        page = plan_html(plan.to_dict(), frontier=frontier, trials=trial_values)
        write_text_atomic(out, page, force=force)
        cli.err.print(f"wrote the report to {out} in {time.perf_counter() - t0:.1f} s", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the ``cxopt`` app."""
    app.command("report")(report)
