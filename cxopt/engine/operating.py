"""Operating savings and costs of the initiatives over the horizon, per trial (DESIGN.md section 3).

The one place that counts them, for the plan's return figures (:mod:`cxopt.plan.explain`) and
for the optimiser's ``value`` objective (:mod:`cxopt.portfolio.objective`):

* an initiative's ``savings`` given as a year's amount accrue monthly, ``amount / 12`` in each
  month it is live (delivered, ``success``, and at or after its go-live month);
* savings given per budget period count in that period's month (``[budget.months]``, month 1
  by default) when the initiative is delivered, whatever its go-live month;
* an initiative's cost is its total over the budget periods, spent whether or not it is delivered.

Savings depend on the trial's draws (success, go-live); costs do not.
"""

from __future__ import annotations

import numpy as np

from cxopt.engine.draws import Draws
from cxopt.model.scenario import Scenario

__all__ = ["monthly_savings", "horizon_savings", "initiative_costs"]


def monthly_savings(scenario: Scenario, draws: Draws, k: int) -> np.ndarray:
    """Operating savings of initiative ``k`` in each month of the horizon.

    Parameters
    ----------
    scenario : Scenario
    draws : Draws
        The trials' draws (``success`` and ``golive``, both (T, K)).
    k : int
        The initiative's index.

    Returns
    -------
    numpy.ndarray
        (T, H): savings per trial and month (index = month label - 1); zeros without ``savings``.
    """
    H = scenario.horizon_months
    s = scenario.initiatives[k].savings
    out = np.zeros((draws.trials, H))
    if s is None:
        return out
    if isinstance(s, dict):
        for period, amount in s.items():
            m = min(max(scenario.period_month(period), 1), H) - 1
            out[:, m] += amount * draws.success[:, k]
        return out
    for tau in range(H):
        out[:, tau] = (s / 12.0) * (draws.success[:, k] & (draws.golive[:, k] <= tau))
    return out


def horizon_savings(scenario: Scenario, draws: Draws) -> np.ndarray:
    """(T, K): each initiative's operating savings over the horizon, per trial (the months of
    :func:`monthly_savings` summed)."""
    K = len(scenario.initiatives)
    out = np.zeros((draws.trials, K))
    for k in range(K):
        if scenario.initiatives[k].savings is not None:
            out[:, k] = monthly_savings(scenario, draws, k).sum(axis=1)
    return out


def initiative_costs(scenario: Scenario) -> np.ndarray:
    """(K,): each initiative's total cost (summed over the budget periods when given per period)."""
    return np.array([init.total_cost() for init in scenario.initiatives], dtype=np.float64)
