"""The frontier's step returns count what the plan's return figures count, and the HTML page names
the objective that chose the portfolio.

The hand computation is written here from the definition, independent of
``cxopt.engine.operating`` and ``cxopt.plan.explain``: a portfolio's return gain is
``margin x (mean R(S) - mean R({})) + mean savings(S)`` with R from ``Simulation.evaluate`` and a
year's savings ``s`` counted in closed form as ``s / 12 x delivered x clip(H - golive, 0, H)`` (a
twelfth for each month live), per-period savings as ``amount x delivered``; a step returns the
change in that per unit of the change in cost (the costs read off the scenario dict).
"""

from __future__ import annotations

import html
import itertools

import numpy as np
import pytest

import cxopt
from cxopt.plan.build import build_plan
from cxopt.portfolio.frontier import frontier
from cxopt.portfolio.search import optimize
from cxopt.report.html import chosen_by, plan_html
from cxopt.report.markdown import frontier_section
from cxopt.report.summary import frontier_summary

H = 12
MARGIN = 0.4
VALUE_WORDS = "expected value (margin x retained revenue + savings - cost)"

INITIATIVES = [
    {"id": "fix_a", "owner": "A", "cost": {"h1": 20_000.0}, "fixes": {"p0": 0.6}, "success_probability": 0.8,
     "months_to_impact": {"dist": "uniform", "low": 0, "high": 6}, "savings": 24_000.0},
    {"id": "fix_b", "owner": "B", "cost": {"h1": 10_000.0, "h2": 5_000.0}, "fixes": {"p1": 0.5},
     "months_to_impact": 2, "savings": {"h1": 3_000.0, "h2": 4_000.0}, "success_probability": 0.9},
    {"id": "fix_c", "owner": "C", "cost": {"h1": 30_000.0, "h2": 10_000.0}, "fixes": {"p0": 0.3, "p1": 0.3}, "months_to_impact": 1},
]
COST = {"fix_a": 20_000.0, "fix_b": 15_000.0, "fix_c": 40_000.0}
BUDGETS = [0.0, 22_000.0, 30_000.0, 45_000.0, 80_000.0]  # each period's budget in proportion (3/4 in h1)


@pytest.fixture(scope="module")
def sim():
    spec = {
        "scenario": {"name": "frontier returns under test", "trials": 200, "seed": 3, "horizon_months": H,
                     "start": "2027-01", "margin": MARGIN},
        "customers": {"count": 3_000, "revenue": {"dist": "lognormal", "median": 800.0, "sigma": 0.5},
                      "baseline_churn": {"dist": "beta", "mean": 0.08, "sd": 0.02}},
        "pain_points": [{"id": "p0", "volume": 0.5, "severity": {"dist": "uniform", "low": 0.1, "high": 0.3}},
                        {"id": "p1", "volume": 0.3, "severity": {"dist": "uniform", "low": 0.05, "high": 0.2}}],
        "initiatives": INITIATIVES,
        "budget": {"total": {"h1": 60_000.0, "h2": 20_000.0}, "months": {"h1": "2027-01", "h2": "2027-07"}},
    }
    sc = cxopt.parse_scenario(spec, source="frontier returns under test")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=3_000), seed=2)


def hand_savings(sim, ids) -> np.ndarray:
    """(T,) savings of the portfolio ``ids`` over the horizon, from the definition."""
    d = sim.draws
    out = np.zeros(sim.trials)
    for k, init in enumerate(INITIATIVES):
        if init["id"] not in ids or "savings" not in init:
            continue
        s = init["savings"]
        delivered = d.success[:, k].astype(float)
        if isinstance(s, dict):
            out += sum(s.values()) * delivered
        else:
            out += s / 12.0 * delivered * np.clip(H - d.golive[:, k], 0, H)
    return out


def hand_return_gain(sim, ids) -> float:
    idx = [k for k, init in enumerate(INITIATIVES) if init["id"] in ids]
    rev, _ = sim.evaluate([idx])
    return MARGIN * float(rev[0].mean() - sim.baseline_revenue.mean()) + float(hand_savings(sim, ids).mean())


@pytest.fixture(scope="module", params=["value", "revenue"])
def sweep(request, sim):
    results = frontier(sim, BUDGETS, solver="exhaustive", objective=request.param)
    return request.param, results, frontier_summary(sim, BUDGETS, results)


def test_every_row_counts_margin_and_savings_by_hand(sim, sweep):
    _, _, data = sweep
    rows = [r for r in data["frontier"] if r["feasible"]]
    assert len(rows) == len(BUDGETS)
    for r in rows:
        want_savings = float(hand_savings(sim, r["selected"]).mean())
        assert r["savings"] == pytest.approx(want_savings, rel=1e-12, abs=1e-9)
        assert r["return_gain"] == pytest.approx(hand_return_gain(sim, r["selected"]), rel=1e-9, abs=1e-6)
    assert data["return_basis"] == "margin on retained revenue plus operating savings"


def test_each_step_returns_its_extra_return_per_extra_cost_by_hand(sim, sweep):
    _, _, data = sweep
    rows = [r for r in data["frontier"] if r["feasible"]]
    steps = 0
    for prev, r in itertools.pairwise(rows):
        extra_cost = sum(COST[i] for i in r["selected"]) - sum(COST[i] for i in prev["selected"])
        extra = hand_return_gain(sim, r["selected"]) - hand_return_gain(sim, prev["selected"])
        assert r["marginal_cost"] == pytest.approx(extra_cost)
        assert r["marginal_return"] == pytest.approx(extra, rel=1e-9, abs=1e-6)
        if extra_cost > 0:
            steps += 1
            assert r["return_per_cost"] == pytest.approx(extra / extra_cost, rel=1e-9, abs=1e-12)
            assert r["below_hurdle"] == (extra < 1.0 * extra_cost)
        else:
            assert r["return_per_cost"] is None and not r["below_hurdle"]
    assert steps >= 2  # the case has steps to check


def test_the_frontier_counts_what_the_plan_returns_count(sim, sweep):
    """Each row's return gain is the plan's ``returns.portfolio.gain`` for that portfolio (one count)."""
    _, results, data = sweep
    for r, res in zip(data["frontier"], results):
        plan = build_plan(res, binding=False).to_dict()
        assert r["return_gain"] == pytest.approx(plan["returns"]["portfolio"]["gain"]["mean"], rel=1e-9, abs=1e-6)
        assert r["savings"] == pytest.approx(plan["returns"]["portfolio"]["savings"]["mean"], rel=1e-12, abs=1e-9)


@pytest.fixture(scope="module")
def by_value(sim):
    results = frontier(sim, BUDGETS, solver="exhaustive", objective="value")
    return results, frontier_summary(sim, BUDGETS, results)


def test_with_the_value_objective_a_step_clears_the_hurdle_exactly_when_it_adds_value(by_value):
    results, data = by_value
    for (prev, p_res), (r, r_res) in itertools.pairwise(list(zip(data["frontier"], results))):
        added = r_res.solver["expected_value"]["mean"] - p_res.solver["expected_value"]["mean"]
        assert added == pytest.approx(r["marginal_return"] - r["marginal_cost"], rel=1e-9, abs=1e-6)
        if r["marginal_cost"] > 0 and abs(added) > 1e-6:
            assert r["below_hurdle"] == (added < 0)


def test_value_leaves_out_the_step_the_revenue_frontier_marks_below_the_hurdle(sim, by_value):
    """At the top budget the revenue objective adds fix_c, which returns less than it costs (marked);
    the value objective, counting the same return and the cost, stops before it."""
    by_revenue = frontier_summary(sim, BUDGETS, frontier(sim, BUDGETS, solver="exhaustive"))
    top_r, top_v = by_revenue["frontier"][-1], by_value[1]["frontier"][-1]
    assert "fix_c" in top_r["selected"] and top_r["below_hurdle"] and top_r["return_per_cost"] < 1.0
    assert "fix_c" not in top_v["selected"] and not top_v["below_hurdle"]


def test_a_scenario_without_savings_or_margin_counts_retained_revenue(sim):
    spec = sim.scenario.to_data()
    spec["scenario"].pop("margin")
    for init in spec["initiatives"]:
        init.pop("savings", None)
    sc = cxopt.parse_scenario(spec, source="plain")
    plain = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=3_000), seed=2)
    data = frontier_summary(plain, BUDGETS, frontier(plain, BUDGETS, solver="exhaustive"))
    assert data["return_basis"] == "retained revenue"
    for r in data["frontier"]:
        assert r["savings"] == 0.0 and r["return_gain"] == r["gain"]


def test_the_markdown_frontier_says_what_a_return_counts(sweep):
    _, _, data = sweep
    text = " ".join(b.text for b in frontier_section(data, "USD").blocks if hasattr(b, "text"))
    assert "extra gain in margin on retained revenue plus operating savings per extra unit of cost" in text


@pytest.mark.parametrize("objective,words", [("value", VALUE_WORDS), ("revenue", "expected retained revenue")])
def test_the_page_names_the_objective_that_chose_the_portfolio(sim, objective, words):
    d = build_plan(optimize(sim, solver="exhaustive", objective=objective), binding=False).to_dict()
    assert chosen_by(d) == d["solver"]["objective_text"] == words
    page = html.unescape(plan_html(d))
    lead = page.split('id="lead-note">', 1)[1].split("</p>", 1)[0]
    assert lead == f"Portfolio chosen by {words}."
    assert f"objective: {words}" in page  # and in "How the portfolio was chosen", as in plan.md
    assert f"objective: {words}" in build_plan(optimize(sim, solver="exhaustive", objective=objective),
                                               binding=False).to_markdown()


def test_a_plan_from_before_the_value_objective_says_its_risk_form():
    assert chosen_by({"solver": {"objective": "cvar:0.1:0.5"}}) == "cvar:0.1:0.5"
    assert chosen_by({}) == "mean"
