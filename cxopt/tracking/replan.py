"""Re-plan on the evidence: keep what is live or spent, re-choose the rest (the article's
"agility in adjustment").

After ``now`` months of actuals, :func:`replan`

* carries the posterior over the uncertain inputs (:func:`cxopt.track`), resampled to equal
  weights;
* keeps the plan's initiatives whose work has started (their cost is spent: it counts 0
  against what is left) and drops the cancelled ones;
* lets every other candidate start now: its months to impact count from month ``now + 1``
  (its go-live moves by ``now - start_month`` months when that is later than planned);
* re-chooses with the same optimiser and the same rules — must-include the kept ones, the
  focus limit and owners' capacity counting them — within the remaining budget (default:
  the plan's budget less the cost of what was started, per period);
* values the old plan (carried on as planned) and the new one on the same posterior draws.

The result can be written as a new plan directory (``save_plan``); its ``plan.json`` records
``replanned`` (parent, month, kept, cancelled, go-live shifts) so it can be tracked on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cxopt.engine.arrays import interacting_pairs
from cxopt.engine.draws import Draws, draws_from_state
from cxopt.engine.grouped import evaluate_grouped, evaluate_pairs
from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise
from cxopt.errors import ArgumentError
from cxopt.plan.build import Plan, build_plan
from cxopt.plan.store import StoredPlan
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.search import optimize
from cxopt.tracking.actuals import Actuals, plan_and_actuals
from cxopt.tracking.facts import apply_facts
from cxopt.tracking.smc import systematic_resample
from cxopt.tracking.track import Tracking, track

__all__ = ["Replan", "replan", "shift_golive"]


def shift_golive(draws: Draws, shift: dict[int, int], horizon: int) -> Draws:
    """The draws with initiative k's go-live ``shift[k]`` months later (never past the horizon)."""
    if not shift:
        return draws
    golive = draws.golive.copy()
    for k, months in shift.items():
        golive[:, k] = np.minimum(golive[:, k] + int(months), horizon)
    return draws.with_facts(golive=golive)


@dataclass(frozen=True)
class Replan:
    """The re-chosen portfolio beside the old one, on the same posterior draws."""

    month: int
    kept: list[str]
    cancelled: list[str]
    budget_remaining: dict[str, float]
    old: dict
    new: dict
    gain_over_old: dict
    tracking: Tracking
    plan: Plan

    def to_dict(self) -> dict:
        return {"month": self.month, "kept": self.kept, "cancelled": self.cancelled,
                "budget_remaining": self.budget_remaining, "old": self.old, "new": self.new,
                "gain_over_old": self.gain_over_old, "plan": self.plan.to_dict()}


def _now(actuals: Actuals) -> int:
    months = [int(m) for m in actuals.months] + [math.ceil(r.time - 1e-9) for r in actuals.readings]
    return max(months, default=0)


def replan(plan: StoredPlan | str | Path, actuals: Actuals | str | Path, *, budget: float | None = None,
           solver: str = "auto", top: int = 10, time_limit: float | None = 60.0, particles: int | None = None,
           seed: int | None = None) -> Replan:
    """Re-choose the portfolio for the remaining months and budget on the posterior draws.

    Parameters
    ----------
    plan : StoredPlan or path of a plan directory
    actuals : Actuals or path of an actuals file
    budget : float, optional
        What is left to spend (default: the plan's budget less the cost of what was started).
    solver, top, time_limit : as for :func:`cxopt.optimize`
    particles, seed : as for :func:`cxopt.track`
    """
    if budget is not None and (isinstance(budget, bool) or not math.isfinite(budget) or budget < 0):
        raise ArgumentError("budget", f"must be a finite number >= 0 (what is left to spend), got {budget!r}")
    plan, actuals = plan_and_actuals(plan, actuals)
    sc = plan.scenario
    H = sc.horizon_months
    ids = sc.initiative_ids
    now = _now(actuals)
    posterior = track(plan, actuals, particles=particles, seed=seed)

    # the posterior at equal weights, every initiative's inputs (tracking computed the portfolio's only)
    rng = np.random.default_rng(np.random.SeedSequence(int(plan.draws.seed), spawn_key=(0x4E9,)))
    idx = systematic_resample(posterior.weights, rng)
    state = posterior.state.take(idx)
    draws, latest = apply_facts(draws_from_state(sc, state, int(plan.draws.seed)), ids, H, actuals)

    selected = set(plan.selected)
    cancelled = {k for k in selected if latest.get(ids[k]) == "cancelled"}
    kept = {k for k in selected - cancelled if sc.initiatives[k].start_month < now}
    shift = {k: now - sc.initiatives[k].start_month for k in range(len(ids))
             if k not in selected and sc.initiatives[k].start_month < now}
    draws = shift_golive(draws, shift, H)

    groups = plan.groups
    K = len(ids)
    pairs = interacting_pairs(sc, groups)
    rev, cust = evaluate_grouped(sc, groups, draws, [[]] + [[k] for k in range(K)])
    # the pairs as the simulation values them (summed over the groups both act on: cxopt.engine.grouped)
    pair_rev, pair_cust = evaluate_pairs(sc, groups, draws, pairs, (rev[0], cust[0]), (rev[1:], cust[1:]))
    sim = Simulation(scenario=sc, groups=groups, draws=draws, mode="grouped",
                     baseline_revenue=rev[0], baseline_customers=cust[0],
                     single_revenue=rev[1:K + 1], single_customers=cust[1:K + 1], pairs=pairs,
                     pair_revenue=pair_rev, pair_customers=pair_cust,
                     base_description=f"posterior of {plan.path} after month {now}")

    base_rules = Constraints.from_scenario(sc)
    costs = base_rules.costs.copy()
    spent = costs[sorted(kept | cancelled)].sum(axis=0) if kept | cancelled else np.zeros(costs.shape[1])
    costs[sorted(kept | cancelled)] = 0.0
    if budget is not None:
        rules = replace(base_rules, costs=costs.sum(axis=1, keepdims=True), periods=("total",),
                        budget=np.array([float(budget)]))
    else:
        limit = None if base_rules.budget is None else np.maximum(base_rules.budget - spent, 0.0)
        rules = replace(base_rules, costs=costs, budget=limit)
    rules = replace(rules, must=frozenset(rules.must - cancelled) | frozenset(kept),
                    forbid=frozenset(rules.forbid) | frozenset(cancelled))
    # the plan's own objective (revenue or value, mean or CVaR); a plan chosen for the least cost that
    # met a target is re-chosen for revenue (its targets are not kept in the plan)
    chosen_by = plan.data.get("solver", {})
    objective = "value" if chosen_by.get("objective_name") == "value" else "revenue"
    risk = chosen_by.get("objective") if str(chosen_by.get("objective", "mean")).startswith("cvar:") else None
    result = optimize(sim, constraints=rules, solver=solver, top=top, time_limit=time_limit, risk=risk,
                      objective=objective)
    new_plan = build_plan(result, binding=False)  # the kept initiatives are must-includes: no limit study

    old = sorted(selected - cancelled)
    r_old, c_old = sim.evaluate([old])
    N = float(groups.n_customers)
    remaining = {} if rules.budget is None else {p: float(rules.budget[i]) for i, p in enumerate(rules.periods)}

    def side(portfolio: list[int], revenue: np.ndarray, customers: np.ndarray) -> dict:
        return {"selected": [ids[k] for k in portfolio], "retained_revenue": summarise(revenue),
                "churn_rate": summarise(1.0 - customers / N),
                "cost_to_come": float(rules.costs[portfolio].sum()) if portfolio else 0.0}

    record = {"parent": str(plan.path), "month": now, "kept": [ids[k] for k in sorted(kept)],
              "cancelled": [ids[k] for k in sorted(cancelled)], "golive_shift": {ids[k]: v for k, v in shift.items()}}
    new_plan = replace(new_plan, extra={**getattr(new_plan, "extra", {}), "replanned": record})
    return Replan(month=now, kept=record["kept"], cancelled=record["cancelled"], budget_remaining=remaining,
                  old=side(old, r_old[0], c_old[0]),
                  new=side(list(result.selected), result.revenue, result.customers),
                  gain_over_old=summarise(result.revenue - r_old[0]), tracking=posterior, plan=new_plan)
