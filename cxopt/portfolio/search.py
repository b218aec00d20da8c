"""Choosing the portfolio (DESIGN.md section 2): :func:`optimize`, the no-good walk.

The integer program (:mod:`cxopt.portfolio.model`) has standalone gains and pairwise
interactions only, so the best M distinct solutions (no-good cuts) are re-evaluated
exactly on the simulation's draws and the best is returned, with the gap between the
program's estimate and the exact value. The walk goes past M (up to 5M) while the next
solution's estimate, widened by twice the largest estimate-vs-exact gap seen, is not
clearly below the best exact value — a heuristic stopping rule, not a proof (its record
on 500 random instances is in docs/decisions.md): the result is called ``optimal`` only
when every solve was proven and the walk ran out of portfolios (every feasible one was
evaluated exactly), or when the program is itself exact (no simulation behind its tables)
so that the rule is a bound. The exhaustive backend evaluates every feasible portfolio exactly
instead and is the reference in tests.

The names callers have always imported from here are re-exported (the budget frontier
lives in :mod:`cxopt.portfolio.frontier`, which builds on this module).
"""

from __future__ import annotations

import time

from cxopt.engine.simulation import Simulation
from cxopt.errors import ArgumentError, InfeasibleError, Problem, SolverError
from cxopt.portfolio.backends import SOLVER_NAMES, Backend, backend_for
from cxopt.portfolio.backends.exhaustive import EXHAUSTIVE_LIMIT, feasible_portfolios
from cxopt.portfolio.backends.ranked import RankedProgramBackend, ranked_program
from cxopt.portfolio.constraints import Constraints, limit_problems
from cxopt.portfolio.diagnosis import diagnose
from cxopt.engine.summary import summarise
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.objective import check_objective, describe_objective
from cxopt.portfolio.reduction import REDUCE_ABOVE, walk_reduced
from cxopt.portfolio.result import (
    STATUS_ERROR,
    STATUS_FEASIBLE,
    STATUS_INFEASIBLE,
    STATUS_OPTIMAL,
    STATUS_WORDS,
    Candidate,
    OptimizationResult,
)
from cxopt.portfolio.risk import cvar, parse_risk, risk_value

__all__ = ["optimize", "check_arguments", "Constraints", "Candidate", "OptimizationResult", "InfeasibleError",
           "SolverError", "risk_value", "cvar", "feasible_portfolios", "EXHAUSTIVE_LIMIT", "STATUS_OPTIMAL",
           "STATUS_FEASIBLE", "STATUS_INFEASIBLE", "STATUS_ERROR", "STATUS_WORDS"]


def check_arguments(*, budget=None, max_initiatives=None, owner_capacity=None, risk=None, solver="auto", top=1,
                    time_limit=None, objective="revenue") -> None:
    """Every problem with :func:`optimize`'s parameters at once, as one :class:`ArgumentError`."""
    problems = limit_problems(budget, max_initiatives, owner_capacity)
    if risk is not None and risk != "mean":
        try:
            parse_risk(risk)
        except ArgumentError as exc:
            problems += exc.problems
    if solver not in SOLVER_NAMES:
        problems.append(Problem("", "solver", f"expected highs, cbc, exhaustive or auto, got {solver!r}"))
    if top < 1:
        problems.append(Problem("", "top", f"must be at least 1, got {top}"))
    if time_limit is not None and not time_limit > 0:
        problems.append(Problem("", "time_limit", f"must be a positive number of seconds (or None), got {time_limit}"))
    try:
        check_objective(objective)
    except ArgumentError as exc:
        problems += exc.problems
    if problems:
        raise ArgumentError(problems)


def optimize(
    sim: Simulation,
    *,
    budget: float | None = None,
    max_initiatives: int | None = None,
    owner_capacity: int | None = None,
    risk: str | None = None,
    solver: str = "auto",
    top: int = 10,
    time_limit: float | None = 60.0,
    constraints: Constraints | None = None,
    objective: str = "revenue",
) -> OptimizationResult:
    """Pick the portfolio that maximises expected (or risk-adjusted) retained revenue, or value.

    Parameters
    ----------
    sim : Simulation
        Value tables from :func:`cxopt.simulate` (with ``pairs=True``).
    budget : float, optional
        Overrides the scenario's ``[budget] total``.
    max_initiatives, owner_capacity : int, optional
        Override the scenario's focus limit and owner capacity.
    risk : str, optional
        ``"cvar:ALPHA:BETA"``: maximise ``(1-BETA) mean + BETA CVaR_ALPHA``.
    solver : {"auto", "highs", "cbc", "exhaustive"}
    top : int
        How many distinct solutions (no-good cuts) to re-evaluate exactly (M).
    time_limit : float, optional
        Seconds per solve; a solve stopped early returns its best, marked not proven.
    constraints : Constraints, optional
        The rules, ready made (then ``budget``, ``max_initiatives`` and ``owner_capacity`` are not read).
    objective : {"revenue", "value"}
        What is maximised per trial before the mean (or the CVaR): retained revenue, or the value
        ``margin x retained revenue + savings - cost`` (:mod:`cxopt.portfolio.objective`).

    Raises
    ------
    ArgumentError
        A parameter out of its range (each problem names the parameter).
    InfeasibleError
        No portfolio satisfies the constraints (``conflicts`` names them).
    SolverError
        The solver failed or returned no portfolio (not infeasibility).
    """
    check_arguments(budget=budget, max_initiatives=max_initiatives, owner_capacity=owner_capacity, risk=risk,
                    solver=solver, top=top, time_limit=time_limit, objective=objective)
    cons = constraints or Constraints.from_scenario(sim.scenario, budget=budget, max_initiatives=max_initiatives,
                                                    owner_capacity=owner_capacity)
    t0 = time.perf_counter()
    backend = backend_for(solver)
    problem = PortfolioProblem.from_simulation(sim, cons, risk or "mean", objective)
    return solve_problem(sim, problem, backend, top=top, time_limit=time_limit, t0=t0)


def solve_problem(sim: Simulation, problem: PortfolioProblem, backend: Backend, *, top: int = 10,
                  time_limit: float | None = 60.0, t0: float | None = None,
                  reduce: bool | None = None) -> OptimizationResult:
    """:func:`optimize` on a problem already built (the frontier re-uses one across budgets); ``reduce``
    as :func:`no_good_walk`'s (False: the walk on every candidate, the reference in benchmarks)."""
    t0 = time.perf_counter() if t0 is None else t0
    if backend.EXACT:
        return _exact_search(sim, problem, backend, t0)
    return _no_good_walk(sim, problem, backend, top, time_limit, t0, reduce)


def _no_good_walk(sim: Simulation, problem: PortfolioProblem, backend: Backend, top: int,
                  time_limit: float | None, t0: float, reduce: bool | None = None) -> OptimizationResult:
    best, candidates, proven, stopped_by, solve_seconds = no_good_walk(problem, backend, top, time_limit, reduce)
    return _result(sim, problem, backend, best, candidates, proven, stopped_by, solve_seconds, t0)


def no_good_walk(problem: PortfolioProblem, backend: Backend, top: int = 10, time_limit: float | None = 60.0,
                 reduce: bool | None = None):
    """The walk on its own (no simulation needed): ``(best, candidates, proven, stopped_by, solve_seconds)``.

    ``reduce``: walk on the candidates that can reach the walk's portfolios only, with the certificate
    of :mod:`cxopt.portfolio.reduction` (the same portfolios as the walk on all of them); by default
    above :data:`~cxopt.portfolio.reduction.REDUCE_ABOVE` candidates.
    """
    if reduce is None:
        reduce = len(problem.constraints.ids) > REDUCE_ABOVE
    problem.search_note = None
    if reduce:
        def walk(p: PortfolioProblem, m: int, tl: float | None):
            if p is problem:
                return _walk(p, backend, m, tl, strict=True)
            # a small program is ranked by enumeration (backends/ranked.py: the same order, proven), else solved
            small = ranked_program(p) is not None
            return _walk(p, RankedProgramBackend() if small else backend, m, tl, strict=False)

        out = walk_reduced(problem, walk, top, time_limit)
    else:
        # solver "auto": a program with few feasible portfolios is ranked outright (backends/ranked.py: the
        # integer program's order, exactly optimal, proven), not branched on once per cut
        small = backend.auto and not backend.EXACT and ranked_program(problem) is not None
        out = _walk(problem, RankedProgramBackend() if small else backend, top, time_limit, strict=True)
    best, candidates, proven, stopped_by, solve_seconds, _ = out
    problem.incumbent = best.selected  # the next walk on this model (a frontier step) starts from it
    return best, candidates, proven, stopped_by, solve_seconds


def _walk(problem: PortfolioProblem, backend: Backend, top: int, time_limit: float | None, strict: bool):
    """The walk on one program: ``(best, candidates, proven, stopped_by, solve_seconds, last_value)``, where
    ``last_value`` is the program's value of the last portfolio a solve returned (the one that stopped
    the walk, or the last one taken). Not ``strict`` (a smaller program): None instead of raising when
    the first solve finds no portfolio."""
    found: list[tuple[tuple[int, ...], float]] = []  # (selection, the program's estimate), in solve order
    exact_of: dict[tuple[int, ...], float] = {}
    statuses: list[str] = []
    solve_seconds: list[float] = []
    cap = 5 * top
    # an exact program (no simulation behind it: the tables are the whole truth) needs no sample of
    # candidates to measure its error: its rule holds from the first candidate on (the walk goes on
    # only through ties, for the smaller portfolio)
    need = 1 if problem.program_is_exact else top
    problem.solved_by = backend.name
    stopped_by = "cap"  # how the walk ended: rule, exhausted, cap or error
    max_gap, best_exact = 0.0, float("-inf")
    last = None

    def settle() -> tuple[float, float]:
        """Exact values of the candidates not yet evaluated, in one batch (shared per-trial work)."""
        pending = [sel for sel, _ in found if sel not in exact_of]
        if pending:
            exact_of.update(zip(pending, problem.exact_values(pending)))
        return (max(abs(est - exact_of[sel]) for sel, est in found), max(exact_of.values()))

    while len(found) < cap:
        outcome = backend.solve(problem, time_limit=time_limit)
        solve_seconds.append(outcome.seconds)
        if outcome.status in (STATUS_INFEASIBLE, STATUS_ERROR) and not found and not strict:
            return None
        if outcome.status == STATUS_INFEASIBLE:
            if not found:
                raise InfeasibleError("no portfolio satisfies the constraints", diagnose(problem.constraints, backend))
            stopped_by = "exhausted"  # every feasible portfolio has been seen
            break
        if outcome.status == STATUS_ERROR:
            if not found:
                raise SolverError(f"{backend.name} returned no solution (status {outcome.native}); "
                                  "try another solver or a longer time_limit")
            stopped_by = "error"
            break
        statuses.append(outcome.status)
        sel, est = outcome.selected, outcome.value
        last = sel
        # the surrogate already rules this one out (with the gaps seen so far): the solver's estimates
        # only fall along the walk, so no later candidate can do better; it is not evaluated
        if len(found) >= need and est + 2 * max_gap + 1e-9 * abs(est) < best_exact:
            stopped_by = "rule"
            break
        found.append((sel, est))
        problem.exclude(sel)  # no-good cut: exclude exactly this selection
        if len(found) >= need:
            max_gap, best_exact = settle()
            if est + 2 * max_gap + 1e-9 * abs(est) < best_exact:
                stopped_by = "rule"
                break
    settle()
    candidates = [Candidate(sel, est, exact_of[sel]) for sel, est in found]
    best = max(candidates, key=lambda c: (c.exact, -len(c.selected)))
    problem.incumbent = best.selected
    # proven only when every solve of the walk was proven (a later one may have hit the time limit)
    # and either the walk ran out of portfolios (every feasible one evaluated exactly) or the program
    # is itself exact (no simulation behind it) and its stopping rule is then a bound. The rule on a
    # simulation's pairwise surrogate is a heuristic (measured in docs/decisions.md), not a proof.
    proven = all(st == STATUS_OPTIMAL for st in statuses) and (
        stopped_by == "exhausted" or (stopped_by == "rule" and problem.program_is_exact))
    last_value = problem.program_value(last) if last is not None else float("-inf")
    return best, tuple(candidates), proven, stopped_by, solve_seconds, last_value


def _exact_search(sim: Simulation, problem: PortfolioProblem, backend: Backend, t0: float) -> OptimizationResult:
    """One solve by a backend that evaluates exactly (the exhaustive one) is the answer."""
    outcome = backend.solve(problem)
    if outcome.status == STATUS_INFEASIBLE:
        # the diagnosis drops families one at a time: a program solver, not another enumeration
        raise InfeasibleError("no portfolio satisfies the constraints", diagnose(problem.constraints, backend_for("auto")))
    if outcome.status == STATUS_ERROR:
        raise SolverError(f"{backend.name} returned no solution (status {outcome.native}); try another solver")
    best = Candidate(outcome.selected, outcome.value, outcome.value)
    return _result(sim, problem, backend, best, (best,), outcome.status == STATUS_OPTIMAL, "exhausted",
                   [outcome.seconds], t0, evaluated=outcome.evaluated)


def _result(sim, problem, backend, best: Candidate, candidates: tuple[Candidate, ...], proven: bool,
            stopped_by: str, solve_seconds: list[float], t0: float, evaluated: int | None = None) -> OptimizationResult:
    rev, cust = sim.evaluate([list(best.selected)])
    name = problem.objective_name
    value = None if problem.worth is None or problem.worth.is_revenue else \
        problem.worth.per_trial([best.selected], rev)[0]
    info = {
        "name": backend.name,
        "status": STATUS_OPTIMAL if proven else STATUS_FEASIBLE,
        "proven_optimal": proven,
        "stopped_by": stopped_by,
        "seconds": time.perf_counter() - t0,
        "first_solve_seconds": solve_seconds[0],
        "solve_seconds": sum(solve_seconds),
        "candidates_evaluated": len(candidates) if evaluated is None else evaluated,
        "estimate": best.estimate,
        "exact": best.exact,
        "gap": best.estimate - best.exact,
        "objective": problem.objective,
        "objective_name": name,
        "objective_text": describe_objective(name, problem.objective),
    }
    if problem.search_note:  # the walk ran on the candidates that can matter (cxopt.portfolio.reduction)
        info["reduction"] = dict(problem.search_note)
    elif problem.solved_by and problem.solved_by != backend.name:  # ranked by solver "auto"
        info["program_solved_by"] = problem.solved_by
    if value is not None:  # the value's figures (retained revenue is reported as before)
        info["expected_value"] = summarise(value)
        info["baseline_value"] = summarise(problem.worth.per_trial([()], sim.baseline_revenue[None, :])[0])
        info["margin"] = problem.worth.margin
    return OptimizationResult(sim, problem.constraints, tuple(best.selected), rev[0], cust[0], problem.objective,
                              info, candidates, objective_name=name, value=value)
