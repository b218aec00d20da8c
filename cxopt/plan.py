"""The plan: the chosen portfolio turned into a goal, contributions that add up, and actions.

Contributions (DESIGN.md section 3) are exact Shapley values over the <= 5 chosen
initiatives: every subset of the portfolio is evaluated on the simulation's draws (at
most 32 evaluations) and each initiative gets its average marginal gain over all orders
in which the portfolio could have been assembled. The parts therefore add up to the whole
even though effects overlap. Computed per trial, so each contribution has its own band.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .engine import Simulation, summarise
from .optimize import OptimizationResult

__all__ = ["shapley", "Contribution", "Plan", "build_plan"]


def shapley(values: dict[frozenset, np.ndarray], players: list[int]) -> dict[int, np.ndarray]:
    """Exact Shapley values from the value of every subset (arrays: per trial).

    Parameters
    ----------
    values : {frozenset(subset): value}
        Must hold every subset of ``players`` (the empty set included).
    """
    n = len(players)
    out = {}
    for k in players:
        others = [p for p in players if p != k]
        acc = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                acc = acc + weight * (values[s | {k}] - values[s])
        out[k] = np.asarray(acc, dtype=np.float64)
    return out


@dataclass(frozen=True)
class Contribution:
    id: str
    name: str
    owner: str
    cost: float
    revenue: dict[str, float]  # Shapley share of the retained-revenue gain
    churn_points: dict[str, float]  # Shapley share of the churn reduction, in points
    standalone_revenue: dict[str, float]
    standalone_churn_points: dict[str, float]


@dataclass(frozen=True)
class Plan:
    """A chosen portfolio with its forecast and per-initiative contributions."""

    result: OptimizationResult
    contributions: list[Contribution]
    subset_revenue: dict = field(repr=False, default_factory=dict)

    @property
    def simulation(self) -> Simulation:
        return self.result.simulation

    def to_dict(self) -> dict:
        sim = self.simulation
        res = self.result
        g = sim.groups
        sc = sim.scenario
        from .risk import market_at_risk

        mar = market_at_risk(sc, g).market_at_risk
        out = {
            "scenario": sc.name,
            "currency": sc.scenario.currency,
            "selected": res.selected_ids,
            "total_cost": res.total_cost,
            "cost_by_period": res.cost_by_period(),
            "budget": None if res.constraints.budget is None else
            {p: float(res.constraints.budget[i]) for i, p in enumerate(res.constraints.periods)},
            "baseline": {
                "retained_revenue": summarise(sim.baseline_revenue),
                "churn_rate": summarise(sim.churn_rate(sim.baseline_customers)),
                "customers_lost": summarise(sim.n_customers - sim.baseline_customers),
                "revenue_lost": summarise(g.total_revenue - sim.baseline_revenue),
            },
            "portfolio": {
                "retained_revenue": summarise(res.revenue),
                "churn_rate": summarise(sim.churn_rate(res.customers)),
                "customers_lost": summarise(sim.n_customers - res.customers),
                "revenue_lost": summarise(g.total_revenue - res.revenue),
                "gain": summarise(res.revenue - sim.baseline_revenue),
                "probability_gain_positive": float(np.mean(res.revenue > sim.baseline_revenue)),
            },
            "market_at_risk": mar,
            "contributions": {c.id: c.revenue["mean"] for c in self.contributions},
            "contribution_details": {c.id: {
                "name": c.name, "owner": c.owner, "cost": c.cost, "revenue": c.revenue,
                "churn_points": c.churn_points, "standalone_revenue": c.standalone_revenue,
                "standalone_churn_points": c.standalone_churn_points} for c in self.contributions},
            "solver": res.solver,
            "candidates": [{"selected": [res.constraints.ids[k] for k in c.selected], "estimate": c.estimate,
                            "exact": c.exact} for c in res.candidates],
            "trials": sim.trials,
            "seed": sim.draws.seed,
            "customers": sim.n_customers,
            "mode": sim.mode,
        }
        return out


def build_plan(result: OptimizationResult) -> Plan:
    """Contributions (exact Shapley over the chosen initiatives) for an optimisation result."""
    sim = result.simulation
    sel = list(result.selected)
    subsets = [frozenset(c) for r in range(len(sel) + 1) for c in itertools.combinations(sel, r)]
    rev, cust = sim.evaluate([sorted(s) for s in subsets])
    v_rev = {s: rev[i] for i, s in enumerate(subsets)}
    # churn points saved: 100 * (customers retained gain) / N
    v_churn = {s: 100.0 * cust[i] / sim.n_customers for i, s in enumerate(subsets)}
    sh_rev = shapley(v_rev, sel)
    sh_churn = shapley(v_churn, sel)
    empty = frozenset()
    contributions = []
    for k in sel:
        init = sim.scenario.initiatives[k]
        contributions.append(Contribution(
            id=init.id, name=init.label, owner=init.owner, cost=init.total_cost(),
            revenue=summarise(sh_rev[k]), churn_points=summarise(sh_churn[k]),
            standalone_revenue=summarise(v_rev[frozenset({k})] - v_rev[empty]),
            standalone_churn_points=summarise(v_churn[frozenset({k})] - v_churn[empty]),
        ))
    contributions.sort(key=lambda c: -c.revenue["mean"])
    return Plan(result, contributions, v_rev)
