"""The goal in the planner's metric, at a stated confidence (DESIGN.md section 3).

The goal metric is ``churn`` (the churn rate over the horizon), ``retained_revenue`` or a CX
score (``[metrics.<name>]`` or a name drivers give ``impacts`` for; its level as
:mod:`cxopt.engine.levels` counts it). Per trial the portfolio's value is compared with the
baseline's in the same trial.

* Target at confidence C: the value the portfolio reaches in a share C of the trials — for a
  metric where lower is better (churn) the smallest value v with P(value <= v) >= C, else the
  largest v with P(value >= v) >= C (the empirical quantile, ``inverted_cdf``, so that
  ``probability_met`` is C within 1/trials, never a normal approximation).
* Contributions: exact Shapley values of the per-trial increment over the chosen initiatives
  (the same subset evaluations as the revenue contributions), averaged over trials; they add
  up to ``expected_increment`` (the mean of portfolio minus baseline) up to rounding.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np

from cxopt.engine.levels import metric_info, metric_levels
from cxopt.engine.summary import summarise
from cxopt.errors import ArgumentError
from cxopt.plan.schedule import add_months
from cxopt.plan.shapley import exact_shapley as shapley

__all__ = ["Goal", "shapley", "GOAL_METRICS", "check_goal_metric", "check_confidence", "goal_values", "plan_goal", "target_at", "goal_brief",
           "lower_is_better"]

GOAL_METRICS = ("churn", "retained_revenue")


@dataclass(frozen=True)
class Goal:
    """The SMART goal: metric, baseline, target, band, date, owners, probability met."""

    metric: str
    baseline: float
    target: float
    band: tuple[float, float]
    date: str
    confidence: float
    probability_met: float
    probability_better_than_baseline: float
    retained_revenue_gain: dict[str, float]
    owners: dict[str, str]
    statement: str
    expected_increment: float = 0.0  # mean over trials of portfolio minus baseline, in the goal metric
    contributions: dict[str, float] = field(default_factory=dict)  # Shapley, adding up to expected_increment
    sponsor: str | None = None




def check_goal_metric(sc, metric: str | None) -> str:
    """The validated goal metric (None: ``churn``); an unknown name names the parameter and the choices."""
    metric = "churn" if metric is None else str(metric)
    known = [*GOAL_METRICS, *sc.metric_names()]
    if metric not in known:
        raise ArgumentError("goal_metric", f"expected one of {', '.join(known)}, got {metric!r} "
                                           "(declare a CX score as [metrics.<name>] in the scenario)")
    return metric


def check_confidence(confidence: float, parameter: str = "confidence") -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ArgumentError(parameter, f"must lie strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def lower_is_better(sc, metric: str) -> bool:
    if metric == "churn":
        return True
    if metric == "retained_revenue":
        return False
    return not metric_info(sc, metric).higher_is_better


def goal_values(sim, portfolios, metric: str, revenue=None, customers=None) -> np.ndarray:
    """(P, T) the goal metric per portfolio and trial (pass retained revenue/customers if already evaluated)."""
    if metric in GOAL_METRICS:
        if revenue is None or customers is None:
            revenue, customers = sim.evaluate([sorted(p) for p in portfolios])
        return np.asarray(revenue if metric == "retained_revenue" else 1.0 - np.asarray(customers) / sim.n_customers)
    return metric_levels(sim, portfolios, metric)


def target_at(values: np.ndarray, confidence: float, lower_better: bool) -> tuple[float, float]:
    """(target, probability met): the value reached in a share ``confidence`` of the trials."""
    v = np.asarray(values, dtype=np.float64)
    if lower_better:
        target = float(np.quantile(v, confidence, method="inverted_cdf"))
        return target, float(np.mean(v <= target))
    target = float(-np.quantile(-v, confidence, method="inverted_cdf"))
    return target, float(np.mean(v >= target))


def plan_goal(sim, result, metric: str, confidence: float, subset_values: dict[frozenset, np.ndarray],
              end: str, contributions: dict[int, np.ndarray] | None = None) -> Goal:
    """The SMART goal in ``metric``: ``subset_values`` holds the metric per trial for (at least) the empty
    and the full portfolio, and for every subset unless the per-trial Shapley ``contributions`` are given
    (``plan.shapley``: estimated above its exact limit)."""
    sc = sim.scenario
    sel = list(result.selected)
    empty, full = frozenset(), frozenset(sel)
    base, port = subset_values[empty], subset_values[full]
    lower = lower_is_better(sc, metric)
    target, prob = target_at(port, confidence, lower)
    increment = port - base
    contrib = contributions if contributions is not None else (
        shapley({s: v - base for s, v in subset_values.items()}, sel) if sel else {})
    by_id = {sc.initiatives[k].id: float(np.mean(contrib[k])) for k in sel}
    better = float(np.mean(port < base)) if lower else float(np.mean(port > base))
    b50 = float(np.median(base))
    lo, hi = (float(x) for x in np.quantile(port, [0.1, 0.9]))
    gain = summarise(result.revenue - sim.baseline_revenue)
    owners = {sc.initiatives[k].id: sc.initiatives[k].owner for k in sel}
    cur = sc.scenario.currency
    who = "; ".join(f"{sc.initiatives[k].label} ({sc.initiatives[k].owner})" for k in sel)
    n = len(sel)
    if metric == "churn":
        head = (f"Reduce customer churn over the {sc.horizon_months} months to {end} from {100 * b50:.1f}% to "
                f"{100 * target:.1f}% (P10–P90 {100 * lo:.1f}%–{100 * hi:.1f}%)")
        tail = "probability churn ends below the baseline"
    elif metric == "retained_revenue":
        head = (f"Keep {target:,.0f} {cur} of revenue over the {sc.horizon_months} months to {end}, against "
                f"{b50:,.0f} without the portfolio (P10–P90 {lo:,.0f}–{hi:,.0f})")
        tail = "probability of keeping more revenue than the baseline"
    else:
        info = metric_info(sc, metric)
        verb = "Reduce" if lower else "Raise"
        what = f"{info.label}" if info.today is not None else f"{info.label} (change from today's level)"
        head = (f"{verb} {what} by {end} from {b50:.2f} to {target:.2f} {info.unit} (P10–P90 {lo:.2f}–{hi:.2f}; "
                f"expected increment {increment.mean():+.2f})")
        tail = f"probability {info.label} ends {'below' if lower else 'above'} the baseline"
    statement = (f"{head}, keeping {gain['mean']:,.0f} {cur} more revenue (P10–P90 {gain['p10']:,.0f}–"
                 f"{gain['p90']:,.0f}), through {n} initiatives: {who or 'none'}. "
                 f"Probability the target is met: {100 * prob:.0f}% (stated confidence {100 * confidence:.0f}%); "
                 f"{tail}: {100 * better:.0f}%.")
    sponsor = sc.scenario.sponsor
    if sponsor:
        statement += f" Sponsor: {sponsor}."
    return Goal(metric=metric, baseline=b50, target=target, band=(lo, hi), date=end, confidence=confidence,
                probability_met=prob, probability_better_than_baseline=better, retained_revenue_gain=gain,
                owners=owners, statement=statement, expected_increment=float(increment.mean()),
                contributions=by_id, sponsor=sponsor)


def goal_end(sc) -> str:
    start = sc.scenario.start
    return (add_months(start, sc.horizon_months) - _dt.timedelta(days=1)).isoformat() if start else \
        f"the end of month {sc.horizon_months}"


def goal_brief(sim, selected, metric: str, confidence: float) -> dict:
    """The goal's numbers for one portfolio without contributions (a frontier row)."""
    lower = lower_is_better(sim.scenario, metric)
    base, port = goal_values(sim, [(), tuple(selected)], metric)
    target, prob = target_at(port, confidence, lower)
    better = float(np.mean(port < base)) if lower else float(np.mean(port > base))
    return {"metric": metric, "baseline": float(np.median(base)), "target": target, "confidence": confidence,
            "probability_met": prob, "probability_better_than_baseline": better,
            "expected_increment": float(np.mean(port - base))}
