"""What the optimiser maximises: retained revenue, or the portfolio's value (issues 14 and 15).

* ``revenue`` (the default): a portfolio S is worth its retained revenue ``R(S, t)`` in trial t.
* ``value``: ``margin x R(S, t) + sum_{k in S} (savings_k(t) - cost_k)``, with ``margin`` the
  scenario's ``[scenario] margin`` (1.0 when none is given), ``savings_k(t)`` initiative k's
  operating savings over the horizon in trial t and ``cost_k`` its total cost, both as
  :mod:`cxopt.engine.operating` counts them (the plan's return figures count the same).

Both are one affine map of the per-trial revenue, ``margin x R + sum_{k in S} net_k(t)``, additive
per initiative; :class:`ObjectiveValue` is that map, the one place it is written. It is applied to
per-trial values *before* the mean or the CVaR is taken: to the value tables the integer program is
built from (:meth:`ObjectiveValue.tables`: baseline, standalone gains and pair interactions) and to
the exact per-trial revenue of the portfolios the search re-evaluates (:meth:`ObjectiveValue.per_trial`),
so that ``--risk cvar:ALPHA:BETA`` mixes in the CVaR of the value, not of the revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cxopt.engine.operating import horizon_savings, initiative_costs
from cxopt.errors import ArgumentError
from cxopt.portfolio.risk import parse_risk

__all__ = ["ObjectiveValue", "objective_value", "OBJECTIVE_NAMES", "describe_objective", "check_objective"]

OBJECTIVE_NAMES = ("revenue", "value")  # what the optimiser may maximise (``cost`` only with a target)
_WORDS = {
    "revenue": "expected retained revenue",
    "value": "expected value (margin x retained revenue + savings - cost)",
    "cost": "least cost meeting the targets",
}


def check_objective(name: str, *, allowed: Sequence[str] = OBJECTIVE_NAMES) -> str:
    """``name`` when it is one of ``allowed``, else an :class:`ArgumentError` on ``objective``."""
    if name not in allowed:
        extra = " (cost only with a target or requirement: the cheapest portfolio that meets it)" \
            if name == "cost" else ""
        raise ArgumentError("objective", f"expected one of {', '.join(allowed)}, got {name!r}{extra}")
    return name


def describe_objective(name: str, risk: str = "mean") -> str:
    """The objective in words, e.g. ``'expected value (margin x retained revenue + savings - cost)'``;
    with a risk ``cvar:A:B`` the mix of mean and CVaR is said too."""
    words = _WORDS.get(name, name)
    if risk and risk != "mean":
        alpha, beta = parse_risk(risk)
        words += f", risk-adjusted: (1-{beta:g}) mean + {beta:g} CVaR at {alpha:g}"
    return words


@dataclass(frozen=True)
class ObjectiveValue:
    """The per-trial worth of a portfolio: ``margin x R(S, t) + sum_{k in S} net[k, t]``.

    Attributes
    ----------
    name : {"revenue", "value"}
    margin : float
        1.0 for ``revenue``.
    net : numpy.ndarray
        (K, T) per initiative and trial, ``savings_k(t) - cost_k`` (zeros for ``revenue``).
    """

    name: str
    margin: float
    net: np.ndarray

    @property
    def is_revenue(self) -> bool:
        return self.name == "revenue"

    def per_trial(self, portfolios: Sequence[Sequence[int]], revenue: np.ndarray) -> np.ndarray:
        """(n, T) worth of each portfolio from its (n, T) per-trial retained revenue."""
        revenue = np.asarray(revenue, dtype=np.float64)
        if self.is_revenue:
            return revenue
        out = self.margin * revenue
        for i, p in enumerate(portfolios):
            ks = sorted(int(k) for k in p)
            if ks:
                out[i] += self.net[ks].sum(axis=0)
        return out

    def tables(self, baseline: np.ndarray, gains: np.ndarray, interactions: np.ndarray):
        """The value tables in this objective's units: ``(baseline, gains, interactions)``.

        The same map as :meth:`per_trial`: the empty portfolio is worth ``margin x R({})``, a
        standalone gain becomes ``margin x g_k + net_k`` and a pair interaction ``margin x w_kl``
        (the net terms are additive, so they never interact).
        """
        if self.is_revenue:
            return baseline, gains, interactions
        return self.margin * baseline, self.margin * gains + self.net, self.margin * interactions


def objective_value(sim, name: str = "revenue") -> ObjectiveValue:
    """The :class:`ObjectiveValue` for a simulation's scenario and draws.

    Parameters
    ----------
    sim : Simulation
    name : {"revenue", "value"}

    Raises
    ------
    ArgumentError
        ``name`` is not one of :data:`OBJECTIVE_NAMES`.
    """
    check_objective(name)
    K, T = len(sim.scenario.initiatives), sim.trials
    if name == "revenue":
        return ObjectiveValue("revenue", 1.0, np.zeros((K, T)))
    margin = sim.scenario.scenario.margin
    margin = 1.0 if margin is None else float(margin)
    net = horizon_savings(sim.scenario, sim.draws).T - initiative_costs(sim.scenario)[:, None]
    return ObjectiveValue("value", margin, np.ascontiguousarray(net))
