"""``cxopt optimize`` and ``frontier``: the portfolio, its plan, and the best portfolio per budget."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from cxopt.cli.common import (BaseOpt, ClusterOpt, ConfidenceOpt, CustomersOpt, ExactTargetOpt, ForceOpt, GoalMetricOpt,
                              JsonOpt, MaxOpt,
                              Mode, NoCacheOpt, Objective, ObjectiveOpt, QuietOpt, RequireOpt, RiskOpt, TargetOpt,
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
             cluster: ClusterOpt = None, no_cache: NoCacheOpt = False, goal_metric: GoalMetricOpt = None,
             confidence: ConfidenceOpt = None, target: TargetOpt = None, require: RequireOpt = None,
             objective: ObjectiveOpt = Objective.revenue, exact_target: ExactTargetOpt = False) -> None:
    """Choose the portfolio (at most five initiatives) that keeps the most revenue (or value) within budget."""
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
        goal = goal_options(sc, goal_metric, confidence, target, require, objective)
        goal["exact"] = exact_target
        t0 = time.perf_counter()
        sim = simulate_with_progress(sc, customers, base, seed, trials, mode, quiet, cluster, no_cache=no_cache)
        if goal["targets"] or goal["requirements"]:
            result, extra = choose_for_targets(sim, goal, json_, budget=budget, max_initiatives=max_initiatives)
        else:
            result, extra = run_optimize(sim, budget=budget, max_initiatives=max_initiatives, risk=risk,
                                         solver=solver.value, top=top, time_limit=time_limit,
                                         objective=goal["objective"]), {}
        plan = build_plan(result, goal_metric=goal["metric"], confidence=goal["confidence"], extra=extra)
        data = plan.to_dict()
        data["seconds"] = time.perf_counter() - t0
        if out is not None:
            from cxopt.report.plandir import save_plan

            save_plan(plan, out, force=force, frontier=report_frontier(
                sim, result, risk, solver, top, time_limit,
                objective="value" if goal["objective"] == "value" else "revenue"))
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
             no_cache: NoCacheOpt = False, goal_metric: GoalMetricOpt = None,
             confidence: ConfidenceOpt = None, objective: ObjectiveOpt = Objective.revenue) -> None:
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
        if objective == Objective.cost:
            raise ArgumentError("objective", "cost needs a --target or --require, which the frontier does not take; "
                                             "use revenue or value")
        goal_options(sc, goal_metric, confidence, None, None, objective)  # bad input before the simulation
        sim = simulate_with_progress(sc, customers, base, seed, trials, Mode.grouped, quiet, no_cache=no_cache)
        grid = np.linspace(low_f, high_f, n) if n > 1 else np.array([high_f])
        results = run_frontier(sim, grid, max_initiatives=max_initiatives, risk=risk, solver=solver.value,
                               top=top, time_limit=time_limit, objective=objective.value)
        data = frontier_summary(sim, grid, results, hurdle=hurdle)
        add_frontier_objective(data, results, objective.value, risk)
        if goal_metric is not None or confidence is not None:  # each budget's goal in the planner's metric
            from cxopt.plan.goal import check_confidence, check_goal_metric, goal_brief

            metric = check_goal_metric(sc, goal_metric)
            c = check_confidence(0.5 if confidence is None else confidence)
            for row, res in zip(data["frontier"], results):
                if res is not None:
                    row["goal"] = goal_brief(sim, res.selected, metric, c)
        if json_:
            print_json(data)
        else:
            from cxopt.report.terminal import print_frontier

            print_frontier(data, out_console())


def add_frontier_objective(data: dict, results, objective: str, risk) -> None:
    """The frontier's JSON says what each budget's portfolio was chosen by; with ``value``, each row's
    expected value (margin x retained revenue + savings - cost) beside its retained revenue."""
    from cxopt.portfolio.objective import describe_objective

    data["objective"] = objective
    data["objective_text"] = describe_objective(objective, risk or "mean")
    if objective != "value":
        return
    for row, res in zip(data["frontier"], results):
        if res is not None:
            row["expected_value"] = res.solver["expected_value"]


def goal_options(sc, goal_metric, confidence, target, require, objective) -> dict:
    """The goal and target options, validated before minutes of simulation (errors name the flags)."""
    from cxopt.errors import ArgumentError
    from cxopt.plan.goal import check_confidence, check_goal_metric
    from cxopt.portfolio.chance import parse_requirement, parse_target

    targets = [parse_target(t, sc, "target") for t in target or []]
    requirements = [parse_requirement(r, sc, "require") for r in require or []]
    if objective == Objective.cost and not (targets or requirements):
        raise ArgumentError("objective", "cost needs a --target or --require (the cheapest portfolio that meets it)")
    if goal_metric is None and targets:
        goal_metric = targets[0].metric  # the goal is stated in the metric the target names
    return {"metric": check_goal_metric(sc, goal_metric), "confidence": check_confidence(
        0.5 if confidence is None else confidence), "targets": targets, "requirements": requirements,
        "objective": objective.value}


def choose_for_targets(sim, goal: dict, json_: bool, **limits):
    """The chance-constrained choice; when nothing reaches the targets, ``--json`` still prints one object."""
    from cxopt.portfolio.chance import TargetUnreachableError, choose_with_targets, target_report
    from cxopt.portfolio.constraints import Constraints

    cons = Constraints.from_scenario(sim.scenario, **limits)
    try:
        result = choose_with_targets(sim, cons, targets=goal["targets"], requirements=goal["requirements"],
                                     confidence=goal["confidence"], objective=goal["objective"],
                                     screen=False if goal.get("exact") else None)
    except TargetUnreachableError as exc:
        if json_:
            print_json({"status": "infeasible", "message": str(exc), "best_probability": exc.best_probability,
                        "best_portfolio": exc.best_portfolio, "confidence": goal["confidence"],
                        "target": [t.as_given for t in goal["targets"]],
                        "requirements": [r.as_given for r in goal["requirements"]]})
        raise
    extra = target_report(sim, result, goal["targets"], goal["requirements"], goal["confidence"])
    return result, {"status": "ok", "objective": goal["objective"], **extra}


def register(app: typer.Typer) -> None:
    """Add ``optimize``, ``frontier`` to the ``cxopt`` app."""
    app.command()(optimize)
    app.command()(frontier)
