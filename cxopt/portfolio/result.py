"""What choosing a portfolio gives back: cxopt's status words (the one place they are
defined), one backend solve's :class:`SolveOutcome`, and the chosen portfolio's
:class:`OptimizationResult` with the :class:`Candidate` portfolios the search considered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise
from cxopt.portfolio.constraints import Constraints

__all__ = ["STATUS_OPTIMAL", "STATUS_FEASIBLE", "STATUS_INFEASIBLE", "STATUS_ERROR", "STATUS_WORDS", "SOLVED",
           "SolveOutcome", "Candidate", "OptimizationResult"]

STATUS_OPTIMAL = "optimal"  # a solution, proven best
STATUS_FEASIBLE = "feasible_not_proven"  # a solution that obeys every rule, not proven best (e.g. a time limit)
STATUS_INFEASIBLE = "infeasible"  # proven: no portfolio obeys the rules
STATUS_ERROR = "error"  # no usable answer (solver failure, unbounded, stopped without a solution, unknown)
STATUS_WORDS = frozenset({STATUS_OPTIMAL, STATUS_FEASIBLE, STATUS_INFEASIBLE, STATUS_ERROR})
SOLVED = frozenset({STATUS_OPTIMAL, STATUS_FEASIBLE})  # the words that come with a portfolio


@dataclass(frozen=True)
class SolveOutcome:
    """One solve by any backend, in cxopt's words.

    ``selected`` and ``value`` (the backend's objective for that selection: the program's
    estimate, or the exact value for a backend that evaluates exactly) are set exactly when
    ``status`` is in :data:`SOLVED`. ``native`` is the solver's own status, for messages only.
    """

    status: str
    selected: tuple[int, ...] | None = None
    value: float | None = None
    seconds: float = 0.0
    evaluated: int = 0  # portfolios the backend evaluated exactly itself (the exhaustive one)
    native: str = ""

    def __post_init__(self):
        if self.status not in STATUS_WORDS:
            raise ValueError(f"not a cxopt status word: {self.status!r}")
        if (self.selected is not None) != (self.status in SOLVED):
            raise ValueError(f"a {self.status!r} outcome {'needs' if self.status in SOLVED else 'has no'} a selection")


@dataclass(frozen=True)
class Candidate:
    """One portfolio the search considered, with the program's estimate and the exact value."""

    selected: tuple[int, ...]
    estimate: float
    exact: float


@dataclass(frozen=True)
class OptimizationResult:
    """The chosen portfolio and how it was found."""

    simulation: Simulation
    constraints: Constraints
    selected: tuple[int, ...]
    revenue: np.ndarray  # (T,) retained revenue of the portfolio per trial
    customers: np.ndarray  # (T,)
    objective: str  # "mean" or "cvar:ALPHA:BETA"
    solver: dict
    candidates: tuple[Candidate, ...] = field(default=())
    objective_name: str = "revenue"  # what was maximised: "revenue", "value" (or "cost" with a target)
    value: np.ndarray | None = None  # (T,) the portfolio's value per trial (objective "value"); None otherwise

    @property
    def worth(self) -> np.ndarray:
        """(T,) the portfolio per trial in the units it was chosen by: its value, else its retained revenue."""
        return self.revenue if self.value is None else self.value

    @property
    def selected_ids(self) -> list[str]:
        return [self.constraints.ids[k] for k in self.selected]

    @property
    def total_cost(self) -> float:
        return self.constraints.total_cost(self.selected)

    def cost_by_period(self) -> dict[str, float]:
        spend = self.constraints.costs[list(self.selected)].sum(axis=0) if self.selected else \
            np.zeros(len(self.constraints.periods))
        return {p: float(spend[i]) for i, p in enumerate(self.constraints.periods)}

    def summary(self) -> dict:
        sim = self.simulation
        return {
            "selected": self.selected_ids,
            "total_cost": self.total_cost,
            "baseline": {"retained_revenue": summarise(sim.baseline_revenue),
                         "churn_rate": summarise(sim.churn_rate(sim.baseline_customers))},
            "portfolio": {"retained_revenue": summarise(self.revenue),
                          "churn_rate": summarise(sim.churn_rate(self.customers))},
            "gain": summarise(self.revenue - sim.baseline_revenue),
            "objective_name": self.objective_name,
            **({} if self.value is None else {"value": summarise(self.value)}),
            "solver": self.solver,
        }
