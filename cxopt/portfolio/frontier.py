"""The budget frontier: the same choice solved over a sweep of budgets (DESIGN.md section 2)."""

from __future__ import annotations

from typing import Sequence

from cxopt.engine.simulation import Simulation
from cxopt.errors import ArgumentError, InfeasibleError, Problem
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.result import OptimizationResult
from cxopt.portfolio.search import optimize

__all__ = ["frontier"]


def frontier(sim: Simulation, budgets: Sequence[float], **kwargs) -> list[OptimizationResult | None]:
    """The optimal portfolio at each budget (``None`` where no portfolio is feasible).

    ``kwargs`` are :func:`~cxopt.portfolio.search.optimize`'s (``max_initiatives``,
    ``owner_capacity``, ``risk``, ``solver``, ``top``, ``time_limit``).
    """
    bad = [Problem("", "budgets", f"must be >= 0, got {b:g}") for b in budgets if not float(b) >= 0]
    if bad:
        raise ArgumentError(bad)
    out = []
    base = Constraints.from_scenario(sim.scenario, max_initiatives=kwargs.pop("max_initiatives", None),
                                     owner_capacity=kwargs.pop("owner_capacity", None))
    for b in budgets:
        try:
            out.append(optimize(sim, constraints=base.with_budget(float(b)), **kwargs))
        except InfeasibleError:
            out.append(None)
    return out
