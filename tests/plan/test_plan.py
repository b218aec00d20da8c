"""The plan (DESIGN.md sections 3 and 5): contributions that add up, and the plan's contract.

Contributions are exact Shapley values over the chosen initiatives. The references here are
the definition itself — the average, over every order in which the portfolio could be
assembled, of each initiative's marginal gain, evaluated per trial on the simulation's draws —
and two consequences: the parts add up to the portfolio's gain in every trial, and an
initiative that shares no customer with the others contributes exactly its standalone gain.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import cxopt
from cxopt.portfolio.search import optimize
from cxopt.plan.build import build_plan, shapley
from tests import builders

CUSTOMERS = 3_000
SEGMENTS = [{"id": "consumer", "share": 0.8}, {"id": "business", "share": 0.2, "revenue_multiplier": 4.0}]


def make_scenario(pains, initiatives, *, budget=None, max_initiatives=5, trials=60):
    limits = {"max_initiatives": max_initiatives} | ({} if budget is None else {"total": budget})
    return cxopt.parse_scenario(builders.scenario(
        scenario={"name": "plan under test", "trials": trials, "seed": 17, "horizon_months": 12},
        customers={"count": CUSTOMERS, "revenue": builders.lognormal(700.0, 0.7),
                   "baseline_churn": builders.beta(0.07, 0.02), "exposure_correlation": 0.3, "segments": SEGMENTS},
        market={"churn_multiplier": builders.triangular(0.9, 1.0, 1.15)},
        pain_points=pains,
        initiatives=initiatives,
        budget=limits,
    ), source="plan-test.toml")


def pain(id, volume=0.3):
    return builders.pain_point(id, volume, builders.pert(0.05, 0.12, 0.25))


def initiative(id, fixes, *, q=0.85, months=None, segments=None, cost=100.0):
    return builders.initiative(id, fixes, cost=cost, success_probability=q, segments=segments,
                               months_to_impact=months if months is not None else builders.uniform(0, 6))


def effect(low, high):
    return builders.uniform(low, high)


def run(sc, **kwargs):
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=CUSTOMERS), seed=3, **kwargs)
    return sim


@pytest.fixture(scope="module")
def overlapping():
    """Four initiatives, three of them on shared pains: effects overlap, so parts do not simply add."""
    sc = make_scenario(
        [pain("billing_error"), pain("long_hold"), pain("missed_install", volume=0.2)],
        [initiative("first_call_fix", {"billing_error": effect(0.4, 0.7)}),
         initiative("billing_portal", {"billing_error": effect(0.2, 0.5), "long_hold": effect(0.1, 0.3)}),
         initiative("virtual_hold", {"long_hold": effect(0.3, 0.6)}, months=2),
         initiative("install_right", {"missed_install": effect(0.3, 0.6)}, q=0.7)],
        max_initiatives=4)
    sim = run(sc)
    result = optimize(sim, solver="exhaustive")
    assert len(result.selected) == 4  # no budget: everything helps
    return sim, result


def subset_values(sim, players):
    subsets = [frozenset(c) for r in range(len(players) + 1) for c in itertools.combinations(players, r)]
    rev, cust = sim.evaluate([sorted(s) for s in subsets])
    return {s: rev[i] for i, s in enumerate(subsets)}, {s: cust[i] for i, s in enumerate(subsets)}


def test_shapley_values_add_up_to_the_portfolio_gain_in_every_trial(overlapping):
    sim, result = overlapping
    players = list(result.selected)
    rev, _ = subset_values(sim, players)
    sh = shapley(rev, players)
    total = sum(sh[k] for k in players)
    gain = rev[frozenset(players)] - rev[frozenset()]
    scale = np.abs(rev[frozenset(players)])
    assert np.all(np.abs(total - gain) <= 1e-9 * scale)
    assert np.any(np.abs(gain) > 1e-6 * scale)  # not a vacuous check


def test_shapley_values_match_the_average_over_all_orders(overlapping):
    sim, result = overlapping
    players = list(result.selected)
    rev, _ = subset_values(sim, players)
    orders = list(itertools.permutations(players))
    brute = {k: np.zeros(sim.trials) for k in players}
    for order in orders:
        before = frozenset()
        for k in order:
            brute[k] += rev[before | {k}] - rev[before]
            before = before | {k}
    sh = shapley(rev, players)
    scale = np.abs(rev[frozenset(players)])
    for k in players:
        assert np.all(np.abs(sh[k] - brute[k] / len(orders)) <= 1e-9 * scale), sim.initiative_ids[k]


def test_plan_contributions_are_the_shapley_means(overlapping):
    sim, result = overlapping
    plan = build_plan(result)
    players = list(result.selected)
    rev, _ = subset_values(sim, players)
    sh = shapley(rev, players)
    by_id = {c.id: c for c in plan.contributions}
    for k in players:
        kid = sim.initiative_ids[k]
        assert math.isclose(by_id[kid].revenue["mean"], float(sh[k].mean()), rel_tol=1e-9, abs_tol=1e-6)
        standalone = rev[frozenset({k})] - rev[frozenset()]
        assert math.isclose(by_id[kid].standalone_revenue["mean"], float(standalone.mean()), rel_tol=1e-9, abs_tol=1e-6)


def test_overlap_makes_contributions_smaller_than_standalone_gains(overlapping):
    sim, result = overlapping
    by_id = {c.id: c for c in build_plan(result).contributions}
    # two fixes of the same pain: each is worth less in the portfolio than alone
    for kid in ("first_call_fix", "billing_portal"):
        assert by_id[kid].revenue["mean"] < by_id[kid].standalone_revenue["mean"]


def test_churn_point_contributions_add_up_to_the_churn_reduction(overlapping):
    sim, result = overlapping
    plan = build_plan(result)
    points = sum(c.churn_points["mean"] for c in plan.contributions)
    base = sim.churn_rate(sim.evaluate([[]])[1][0]).mean()
    port = sim.churn_rate(result.customers).mean()
    assert math.isclose(points, 100.0 * (base - port), rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("how", ["pains in disjoint segments", "one pain, initiatives targeting disjoint segments"])
def test_initiatives_sharing_no_customers_contribute_their_standalone_gain(how):
    if how == "pains in disjoint segments":
        pains = [{"id": "consumer_pain", "volume": {"consumer": 0.3, "business": 0.0},
                  "severity": {"dist": "pert", "low": 0.05, "mode": 0.12, "high": 0.25}},
                 {"id": "business_pain", "volume": {"consumer": 0.0, "business": 0.4},
                  "severity": {"dist": "pert", "low": 0.05, "mode": 0.12, "high": 0.25}}]
        inits = [initiative("consumer_fix", {"consumer_pain": effect(0.3, 0.7)}),
                 initiative("business_fix", {"business_pain": effect(0.3, 0.7)}, q=0.6)]
    else:
        pains = [pain("slow_repair")]
        inits = [initiative("consumer_fix", {"slow_repair": effect(0.3, 0.7)}, segments=["consumer"]),
                 initiative("business_fix", {"slow_repair": effect(0.3, 0.7)}, segments=["business"], q=0.6)]
    sc = make_scenario(pains, inits)
    sim = run(sc)
    assert sim.pairs.shape[0] == 0  # the engine sees no interaction either
    players = [0, 1]
    rev, _ = subset_values(sim, players)
    sh = shapley(rev, players)
    scale = np.abs(rev[frozenset(players)])
    for k in players:
        standalone = rev[frozenset({k})] - rev[frozenset()]
        assert np.all(np.abs(sh[k] - standalone) <= 1e-9 * scale)
        assert np.any(standalone > 0)
    result = optimize(sim)
    plan = build_plan(result)
    for c in plan.contributions:
        assert math.isclose(c.revenue["mean"], c.standalone_revenue["mean"], rel_tol=1e-9)


def test_shapley_of_a_single_initiative_is_its_gain():
    values = {frozenset(): np.array([10.0, 20.0]), frozenset({4}): np.array([13.0, 29.0])}
    np.testing.assert_array_equal(shapley(values, [4])[4], [3.0, 9.0])


def test_shapley_on_a_known_game():
    # v(A)=1, v(B)=2, v(AB)=6: A gets (1 + 4)/2, B gets (2 + 5)/2
    values = {frozenset(): 0.0, frozenset({0}): 1.0, frozenset({1}): 2.0, frozenset({0, 1}): 6.0}
    sh = shapley(values, [0, 1])
    assert float(sh[0]) == pytest.approx(2.5) and float(sh[1]) == pytest.approx(3.5)


# --------------------------------------------------------------------------------------
# the plan's contract (DESIGN.md section 5)
# --------------------------------------------------------------------------------------
BANDS = {"mean", "p10", "p50", "p90"}


def check_contract(data: dict, sc) -> None:
    assert isinstance(data["selected"], list) and set(data["selected"]) <= set(sc.initiative_ids)
    assert isinstance(data["total_cost"], float)
    for part in ("baseline", "portfolio"):
        assert set(data[part]["retained_revenue"]) >= BANDS
        assert set(data[part]["churn_rate"]) >= BANDS
        band = data[part]["retained_revenue"]
        assert band["p10"] <= band["p50"] <= band["p90"]
    assert set(data["market_at_risk"]) >= {"customers", "revenue"}
    assert all(0 <= data["market_at_risk"][k] <= 1 for k in ("customers", "revenue"))
    assert set(data["contributions"]) == set(data["selected"])
    assert all(isinstance(v, float) for v in data["contributions"].values())
    assert set(data["solver"]) >= {"name", "status", "seconds"}
    assert data["solver"]["status"] in {"optimal", "feasible_not_proven", "infeasible", "error"}
    json.dumps(data, allow_nan=False)


def test_plan_dict_has_the_section_5_keys(overlapping):
    sim, result = overlapping
    data = build_plan(result).to_dict()
    check_contract(data, sim.scenario)
    assert data["selected"] == result.selected_ids
    assert data["total_cost"] == pytest.approx(400.0)


def test_plan_contributions_add_up_to_portfolio_minus_baseline(overlapping):
    _, result = overlapping
    data = build_plan(result).to_dict()
    gain = data["portfolio"]["retained_revenue"]["mean"] - data["baseline"]["retained_revenue"]["mean"]
    assert math.isclose(sum(data["contributions"].values()), gain, rel_tol=1e-9)


def test_an_empty_portfolio_gives_an_empty_plan():
    sc = make_scenario([pain("p1")], [initiative("costly_fix", {"p1": effect(0.3, 0.6)}, cost=500.0)], budget=100.0)
    sim = run(sc, trials=20)
    result = optimize(sim)
    assert result.selected == ()
    data = build_plan(result).to_dict()
    check_contract(data, sc)
    assert data["contributions"] == {}
    assert data["portfolio"]["retained_revenue"]["mean"] == pytest.approx(data["baseline"]["retained_revenue"]["mean"],
                                                                          rel=1e-12)


def test_sampled_mode_contributions_add_up_to_portfolio_minus_baseline():
    sc = make_scenario([pain("p1"), pain("p2")],
                       [initiative("a_fix", {"p1": effect(0.3, 0.6)}), initiative("b_fix", {"p2": effect(0.3, 0.6)}),
                        initiative("c_fix", {"p1": effect(0.1, 0.3)})], trials=40)
    sim = run(sc, mode="sampled")
    data = build_plan(optimize(sim)).to_dict()
    gain = data["portfolio"]["retained_revenue"]["mean"] - data["baseline"]["retained_revenue"]["mean"]
    assert math.isclose(sum(data["contributions"].values()), gain, rel_tol=1e-9)
    assert math.isclose(data["portfolio"]["gain"]["mean"], gain, rel_tol=1e-9)
