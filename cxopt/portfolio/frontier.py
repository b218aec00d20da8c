"""The budget frontier: the same choice solved over a sweep of budgets (DESIGN.md section 2).

One model serves the whole sweep: each step drops the previous walk's no-good cuts, moves the
budget rows' right-hand side and starts from the previous step's portfolio (the solver keeps
its copy of the model alive: :meth:`~cxopt.portfolio.model.PortfolioProblem.restart`).
"""

from __future__ import annotations

from typing import Sequence

from cxopt.engine.simulation import Simulation
from cxopt.errors import ArgumentError, InfeasibleError, Problem
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.result import OptimizationResult
from cxopt.portfolio.backends import backend_for
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.search import check_arguments, solve_problem

__all__ = ["frontier"]


def frontier(sim: Simulation, budgets: Sequence[float], **kwargs) -> list[OptimizationResult | None]:
    """The optimal portfolio at each budget (``None`` where no portfolio is feasible).

    ``kwargs`` are :func:`~cxopt.portfolio.search.optimize`'s (``max_initiatives``,
    ``owner_capacity``, ``risk``, ``solver``, ``top``, ``time_limit``, ``objective``: ``"revenue"``
    or ``"value"``, the same at every budget).
    """
    bad = [Problem("", "budgets", f"must be >= 0, got {b:g}") for b in budgets if not float(b) >= 0]
    if bad:
        raise ArgumentError(bad)
    out = []
    base = Constraints.from_scenario(sim.scenario, max_initiatives=kwargs.pop("max_initiatives", None),
                                     owner_capacity=kwargs.pop("owner_capacity", None))
    risk, solver = kwargs.pop("risk", None), kwargs.pop("solver", "auto")
    objective = kwargs.pop("objective", "revenue")
    check_arguments(risk=risk, solver=solver, objective=objective, **kwargs)
    backend = backend_for(solver)
    problem = None  # one model for the whole sweep: each step drops the cuts and moves the budget's RHS
    for b in budgets:
        cons = base.with_budget(float(b))
        if problem is None:
            problem = PortfolioProblem.from_simulation(sim, cons, risk or "mean", objective)
        else:
            problem.restart(cons)
        try:
            out.append(solve_problem(sim, problem, backend, **kwargs))
        except InfeasibleError:
            out.append(None)
    return out
