"""Plain-dict summaries of results (the JSON the CLI prints)."""

from __future__ import annotations

from cxopt.engine.operating import horizon_savings
from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise

__all__ = ["simulation_summary", "frontier_summary", "return_basis", "DEFAULT_HURDLE"]


def simulation_summary(sim: Simulation, seconds: float | None = None) -> dict:
    """Baseline and each initiative's standalone gain, each ``{mean, p10, p50, p90}``."""
    sc = sim.scenario
    base_churn = sim.churn_rate(sim.baseline_customers)
    initiatives = {}
    for k, init in enumerate(sc.initiatives):
        gain = sim.single_revenue[k] - sim.baseline_revenue
        churn_points = 100.0 * (base_churn - sim.churn_rate(sim.single_customers[k]))
        initiatives[init.id] = {
            "name": init.label,
            "owner": init.owner,
            "cost": init.total_cost(),
            "gain": summarise(gain),
            "churn_points": summarise(churn_points),
        }
    return {
        "scenario": sc.name,
        "currency": sc.scenario.currency,
        "mode": sim.mode,
        "trials": sim.trials,
        "seed": sim.draws.seed,
        "customers": sim.n_customers,
        "groups": sim.groups.n_groups,
        "baseline": {
            "retained_revenue": summarise(sim.baseline_revenue),
            "churn_rate": summarise(base_churn),
            "customers_retained": summarise(sim.baseline_customers),
        },
        "initiatives": initiatives,
        "interacting_pairs": int(sim.pairs.shape[0]),
        "seconds": seconds if seconds is not None else sum(sim.seconds.values()),
        "stage_seconds": dict(sim.seconds),
    }


DEFAULT_HURDLE = 1.0  # a unit back per unit spent


def return_basis(scenario) -> str:
    """What a return figure counts, in words: ``"retained revenue"`` or ``"margin on retained revenue"``,
    with ``" plus operating savings"`` when an initiative has ``savings``."""
    words = "margin on retained revenue" if scenario.scenario.margin is not None else "retained revenue"
    if any(init.savings is not None for init in scenario.initiatives):
        words += " plus operating savings"
    return words


def frontier_summary(sim: Simulation, budgets, results, *, hurdle: float = DEFAULT_HURDLE) -> dict:
    """One row per budget: the chosen initiatives, their cost and value, and what each step returns.

    Each feasible row has ``gain`` (expected retained revenue over the baseline), ``savings`` (the
    portfolio's expected operating savings over the horizon) and ``return_gain``: the gain as the
    plan's return figures count it (:func:`cxopt.plan.explain.returns`, ``returns.portfolio.gain``),
    ``margin x gain + savings`` with ``margin`` the scenario's (1 when absent). A step (from the
    previous feasible budget) returns its ``marginal_return`` (the change in ``return_gain``) per
    unit of ``marginal_cost`` (the portfolios' costs, not the budgets'): ``return_per_cost``; a step
    returning less than ``hurdle`` is marked ``below_hurdle``. With ``--objective value`` (a
    portfolio's value is ``return_gain - cost`` above the baseline's), a step returns at least 1 per
    unit exactly when it adds value, so the default hurdle marks the steps that lose value.
    """
    sc = sim.scenario
    margin = sc.scenario.margin
    m = 1.0 if margin is None else float(margin)
    savings = horizon_savings(sc, sim.draws)  # (T, K): the count the plan's returns and the objective use
    rows = []
    base = float(sim.baseline_revenue.mean())
    for b, res in zip(budgets, results):
        if res is None:
            rows.append({"budget": float(b), "feasible": False})
            continue
        gain = float(res.revenue.mean() - base)
        saved = float(savings[:, list(res.selected)].sum(axis=1).mean()) if res.selected else 0.0
        rows.append({
            "budget": float(b), "feasible": True, "selected": res.selected_ids, "total_cost": res.total_cost,
            "retained_revenue": summarise(res.revenue),
            "gain": gain, "savings": saved, "return_gain": m * gain + saved,
            "solver": res.solver["status"],
        })
    prev = None
    for r in rows:
        if r.get("feasible") and prev is not None and r["budget"] > prev["budget"]:
            r["marginal_gain_per_unit"] = (r["gain"] - prev["gain"]) / (r["budget"] - prev["budget"])
        if r.get("feasible") and prev is not None:
            extra_cost = r["total_cost"] - prev["total_cost"]
            extra_gain = r["return_gain"] - prev["return_gain"]
            r["marginal_cost"] = extra_cost
            r["marginal_return"] = extra_gain
            r["return_per_cost"] = extra_gain / extra_cost if extra_cost > 0 else None
            r["below_hurdle"] = bool(extra_cost > 0 and extra_gain < hurdle * extra_cost)
        if r.get("feasible"):
            prev = r
    return {"scenario": sc.name, "currency": sc.scenario.currency,
            "baseline_retained_revenue": summarise(sim.baseline_revenue), "frontier": rows,
            "hurdle": hurdle, "margin": margin, "return_basis": return_basis(sc)}
