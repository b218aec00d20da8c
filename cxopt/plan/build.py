"""The plan: the chosen portfolio turned into a goal, contributions that add up, and actions.

Contributions (DESIGN.md section 3) are exact Shapley values over the <= 5 chosen
initiatives: every subset of the portfolio is evaluated on the simulation's draws (at
most 32 evaluations) and each initiative gets its average marginal gain over all orders
in which the portfolio could have been assembled, so the parts add up to the whole even
though effects overlap. Computed per trial, so each contribution has its own band; in
retained revenue, churn points and every linear metric the scenario gives impacts for.

The goal is SMART: the metric (churn rate, and the retained revenue it keeps), the
baseline, the target (the portfolio's P50 by default, or the value met with a stated
confidence), the P10–P90 band, the date (start + horizon), the initiatives and owners,
and the probability that the target is met.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np

from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise
from cxopt.engine.levels import level_fields, metric_levels
from cxopt.engine.paths import MonthlyPath, metric_names, monthly_path, monthly_paths
from cxopt.plan.goal import Goal, check_confidence, check_goal_metric, goal_end, plan_goal  # noqa: F401  (Goal re-exported)
from cxopt.plan.schedule import golive_label, planned_metric
from cxopt.portfolio.search import OptimizationResult
from cxopt.plan.sensitivity import tornado
from cxopt.plan.shapley import shapley, shapley_values  # noqa: F401  (shapley re-exported: callers import it here)

__all__ = ["shapley", "Contribution", "Goal", "Action", "Plan", "build_plan", "PLAN_FORMAT_VERSION"]

PLAN_FORMAT_VERSION = 2  # 2: every month a user reads is a label (1..H); see docs/plan-format.md


@dataclass(frozen=True)
class Contribution:
    """One initiative's share of the portfolio's gain (Shapley) beside its standalone gain."""

    id: str
    name: str
    owner: str
    cost: float
    revenue: dict[str, float]
    churn_points: dict[str, float]
    standalone_revenue: dict[str, float]
    standalone_churn_points: dict[str, float]
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One line of the action plan."""

    id: str
    name: str
    owner: str
    start_month: int  # month label of the first month of work (1..H)
    golive_month: dict[str, float]  # p10, p50, p90 of the go-live month label (first month live; H + 1: never)
    success_probability: float
    cost: dict[str, float]
    metric: dict | None
    contribution: dict[str, float]
    review: str
    checkpoints: list[dict]


@dataclass(frozen=True)
class Plan:
    """A chosen portfolio with its forecast, goal, contributions and action plan."""

    result: OptimizationResult
    contributions: list[Contribution]
    goal: Goal
    actions: list[Action]
    sensitivity: list[dict]
    path: MonthlyPath
    metrics: dict[str, dict[str, dict[str, float]]]
    subset_revenue: dict = field(repr=False, default_factory=dict)
    explain: dict = field(default_factory=dict)  # plan.explain / plan.binding: drivers, risk left, return, limits
    extra: dict = field(default_factory=dict)  # recorded as is in plan.json (e.g. "replanned")

    @property
    def simulation(self) -> Simulation:
        return self.result.simulation

    def to_dict(self) -> dict:
        """Everything in plain JSON types (the ``--json`` output and ``plan.json``)."""
        from dataclasses import asdict

        from cxopt.plan.risk import market_at_risk

        sim = self.simulation
        res = self.result
        g = sim.groups
        sc = sim.scenario
        risk = market_at_risk(sc, g)
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "scenario": sc.name,
            "currency": sc.scenario.currency,
            "horizon_months": sc.horizon_months,
            "start": None if _start(sc) is None else _start(sc).isoformat(),
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
                "gross_revenue_retention": summarise(sim.baseline_revenue / (g.total_revenue or 1.0)),
            },
            "portfolio": {
                "retained_revenue": summarise(res.revenue),
                "churn_rate": summarise(sim.churn_rate(res.customers)),
                "customers_lost": summarise(sim.n_customers - res.customers),
                "revenue_lost": summarise(g.total_revenue - res.revenue),
                "gross_revenue_retention": summarise(res.revenue / (g.total_revenue or 1.0)),
                "gain": summarise(res.revenue - sim.baseline_revenue),
                "probability_gain_positive": float(np.mean(res.revenue > sim.baseline_revenue)),
            },
            "metrics": self.metrics,
            "market_at_risk": risk.market_at_risk,
            "pain_points": [asdict(p) for p in risk.pain_points],
            "contributions": {c.id: c.revenue["mean"] for c in self.contributions},
            "contribution_details": {c.id: asdict(c) for c in self.contributions},
            "goal": asdict(self.goal),
            "actions": [{**asdict(a), **({"drivers": self.explain["drivers"].get(a.id, []),
                                          "quick_win": a.id in self.explain["quick_wins"]}
                                         if self.explain else {})} for a in self.actions],
            "sensitivity": self.sensitivity,
            "monthly_forecast": {
                "customers_lost": [summarise(self.path.customers_lost[:, m]) for m in range(self.path.horizon)],
                "revenue_lost": [summarise(self.path.revenue_lost[:, m]) for m in range(self.path.horizon)],
            },
            "solver": res.solver,
            "candidates": [{"selected": [res.constraints.ids[k] for k in c.selected], "estimate": c.estimate,
                            "exact": c.exact} for c in res.candidates],
            "trials": sim.trials,
            "seed": sim.draws.seed,
            "customers": sim.n_customers,
            "revenue": g.total_revenue,
            "mode": sim.mode,
            **_explained(self.explain, risk, sim.n_customers),
            **self.extra,
        }

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_markdown(self) -> str:
        from cxopt.report.markdown import plan_markdown

        return plan_markdown(self.to_dict())

    def to_html(self, frontier: dict | None = None) -> str:
        from cxopt.report.html import plan_html

        trials = {"baseline": self.simulation.baseline_revenue, "portfolio": self.result.revenue}
        return plan_html(self.to_dict(), frontier=frontier, trials=trials)


def _explained(explain: dict, risk, customers: int) -> dict:
    """The plan.json keys of plan/explain.py and plan/binding.py (none for a plan built without them)."""
    if not explain:
        return {}
    from dataclasses import asdict

    from cxopt.plan.explain import voices

    return {
        "market_at_risk_after": explain["risk"]["market_at_risk_after"],
        "risk_left": explain["risk"]["risk_left"],
        "delighters": explain["risk"]["delighters"],
        "returns": explain["returns"],
        "binding": explain["binding"]["limits"] if explain.get("binding") else [],
        "unspent_budget": explain["binding"]["unspent"] if explain.get("binding") else [],
        "quick_wins": explain["quick_wins"],
        "voices": voices([asdict(p) for p in risk.pain_points], customers),
        "sponsor": explain.get("sponsor"),
    }


def _start(sc) -> _dt.date | None:
    """The plan's first month (``[scenario] start``); None keeps the plan in months 1..H."""
    return sc.scenario.start


def _actions(sim: Simulation, res: OptimizationResult, contributions: list[Contribution]) -> list[Action]:
    """The action plan, every month a label (DESIGN.md section 3: 1..H, go-live = first month live)."""
    sc = sim.scenario
    d = sim.draws
    by_id = {c.id: c for c in contributions}
    cons = res.constraints
    out = []
    for k in res.selected:
        init = sc.initiatives[k]
        gl = golive_label(d.golive[:, k])  # H + 1: not live within the horizon
        q10, q50, q90 = (float(x) for x in np.quantile(gl, [0.1, 0.5, 0.9]))
        metric = None if init.metric is None else init.metric.model_dump()
        golive = int(round(q50))
        checkpoints = []
        if init.metric is not None:
            # the process metric's planned path, from the baseline when work starts to the
            # target at the end of the go-live month (plan.schedule, the same path tracking uses)
            for m in range(init.start_month + 1, min(golive, sc.horizon_months) + 1):
                checkpoints.append({"month": m, "expected_metric": planned_metric(init.metric, init.start_month,
                                                                                   golive, m)})
        review = init.review or ("weekly until go-live, then monthly" if golive > init.start_month + 1 else "monthly")
        cost = {p: float(cons.costs[k, i]) for i, p in enumerate(cons.periods)}
        out.append(Action(
            id=init.id, name=init.label, owner=init.owner, start_month=init.start_month + 1,
            golive_month={"p10": q10, "p50": q50, "p90": q90}, success_probability=init.success_probability,
            cost=cost, metric=metric, contribution=by_id[init.id].revenue, review=review,
            checkpoints=checkpoints,
        ))
    return out


def build_plan(result: OptimizationResult, *, goal_metric: str | None = None, confidence: float | None = None,
               goal_confidence: float = 0.5, explain: bool = True, binding: bool = True,
               extra: dict | None = None) -> Plan:
    """The plan for an optimisation result: contributions, goal, actions, sensitivity, path.

    Parameters
    ----------
    result : OptimizationResult
    goal_metric : str, optional
        ``"churn"`` (default), ``"retained_revenue"`` or a CX metric of the scenario (:mod:`cxopt.plan.goal`).
    confidence : float, optional
        The target is the goal metric's value met in this share of trials (default 0.5: the P50).
    goal_confidence : float
        The former name of ``confidence`` (used when ``confidence`` is not given).
    explain : bool
        Explain the plan (plan/explain.py): drivers, risk left, return, quick wins, voices.
    binding : bool
        Also re-solve with each limit relaxed one step (plan/binding.py): what binds.
    extra : dict, optional
        Recorded as is in the plan's JSON (e.g. the chance-constrained ``target`` list).
    """
    sim = result.simulation
    if confidence is None:
        confidence = check_confidence(goal_confidence, "goal_confidence")
    confidence = check_confidence(confidence)
    goal_metric = check_goal_metric(sim.scenario, goal_metric)
    sel = list(result.selected)
    names = metric_names(sim)

    def evaluate(subsets):
        rev, cust = sim.evaluate([sorted(s) for s in subsets], nested=True)  # subsets of one portfolio
        # churn points saved = 100 * customers kept / N (a churn-rate reduction, in points)
        out = {"revenue": rev, "churn": 100.0 * cust / sim.n_customers}
        # CX score levels in the horizon's last month (engine.levels: whom the level counts)
        out.update({("metric", n): list(metric_levels(sim, [sorted(s) for s in subsets], n)) for n in names})
        out["goal"] = (rev if goal_metric == "retained_revenue" else out[("metric", goal_metric)]
                       if goal_metric in names else 1.0 - cust / sim.n_customers)
        return out

    sh = shapley_values(evaluate, sel)  # exact up to EXACT_LIMIT chosen, estimated above (cxopt.plan.shapley)
    v_rev, v_churn, sh_rev, sh_churn = sh.subset_values["revenue"], sh.subset_values["churn"], \
        sh.values["revenue"], sh.values["churn"]
    v_metric = {n: sh.subset_values[("metric", n)] for n in names}
    sh_metric = {n: sh.values[("metric", n)] for n in names}
    empty = frozenset()
    contributions = []
    for k in sel:
        init = sim.scenario.initiatives[k]
        contributions.append(Contribution(
            id=init.id, name=init.label, owner=init.owner, cost=init.total_cost(),
            revenue=summarise(sh_rev[k]), churn_points=summarise(sh_churn[k]),
            standalone_revenue=summarise(v_rev[frozenset({k})] - v_rev[empty]),
            standalone_churn_points=summarise(v_churn[frozenset({k})] - v_churn[empty]),
            metrics={name: summarise(sh_metric[name][k]) for name in names},
        ))
    contributions.sort(key=lambda c: -c.revenue["mean"])
    full = frozenset(sel)
    metrics = {name: {"baseline": summarise(v_metric[name][empty]), "portfolio": summarise(v_metric[name][full]),
                      **level_fields(sim.scenario, name)} for name in names}
    # the plan's path, and for its return the baseline's and each chosen initiative's: one kernel call
    paths = dict(zip([tuple(sorted(sel)), (), *((k,) for k in sel)],
                     monthly_paths(sim, [sel, [], *([k] for k in sel)]))) if explain else {}
    path = paths[tuple(sorted(sel))] if explain else monthly_path(sim, sel)
    actions = _actions(sim, result, contributions)
    explained = {}
    if explain:
        from cxopt.plan.explain import driver_shares, quick_wins, returns, risk_left

        explained = {"drivers": driver_shares(sim, sel), "risk": risk_left(sim, sel),
                     "returns": returns(sim, result, sh_rev, path, paths=paths),
                     "quick_wins": quick_wins(sim, sel, {a.id: a.golive_month["p50"] for a in actions}),
                     "sponsor": sim.scenario.scenario.sponsor}
        if binding:
            from cxopt.plan.binding import binding as limits

            explained["binding"] = limits(result)
    return Plan(
        result=result,
        contributions=contributions,
        goal=plan_goal(sim, result, goal_metric, confidence, sh.subset_values["goal"], goal_end(sim.scenario),
                       contributions=sh.values["goal"]),
        actions=actions,
        sensitivity=tornado(sim.scenario, sim.draws, sel, result.revenue),
        path=path,
        metrics=metrics,
        subset_revenue=v_rev,
        explain=explained,
        # said only when estimated, so that an exact plan's JSON is what it always was
        extra=dict(extra or {}) | ({} if sh.exact else {"contribution_method": sh.method, "contribution_permutations": sh.permutations,
                                   "contribution_standard_errors": {sim.scenario.initiatives[k].id: {
                                       "revenue": sh.standard_error["revenue"][k],
                                       "churn_points": sh.standard_error["churn"][k]} for k in sel}}),
    )
