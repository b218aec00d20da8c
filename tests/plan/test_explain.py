"""A plan explains itself (DESIGN.md section 3): drivers, risk left, return, quick wins, voices.

References are closed forms on tiny bases where every input is fixed: one pain that every
customer meets, severity 0.1, two initiatives with fixed effects 0.5 and 0.4 going live in
months 1 and 7 of 12 (the second one for business customers only). Then the horizon-averaged
share of the pain's churn removed is, per segment, the average over the months of
``1 - prod (1 - f)`` over the live initiatives, and Shapley over two players is
``sh_1 = (v_1 + v_12 - v_2) / 2``.
"""

from __future__ import annotations


import numpy as np
import pytest

import cxopt
from cxopt.engine.paths import monthly_path
from cxopt.plan.build import build_plan
from cxopt.plan.explain import payback_month, risk_left
from cxopt.portfolio.search import optimize

N = 400
H = 12


def scenario(*, pains=None, margin=None, savings=None, budget_months=None, costs=(1_000.0, 3_000.0), sponsor=None):
    pains = pains or [{"id": "billing_error", "volume": 1.0, "severity": 0.1, "complaint_rate": 0.3}]
    meta = {"name": "explain under test", "trials": 16, "seed": 5, "horizon_months": H, "start": "2027-01"}
    if margin is not None:
        meta["margin"] = margin
    if sponsor is not None:
        meta["sponsor"] = sponsor
    first = {"id": "first_call_fix", "owner": "Head of Care", "cost": costs[0], "months_to_impact": 0,
             "fixes": {"billing_error": 0.5}}
    second = {"id": "billing_portal", "owner": "Head of Digital", "cost": costs[1], "months_to_impact": 6,
              "fixes": {"billing_error": 0.4}, "segments": ["business"]}
    if savings is not None:
        second["savings"] = savings
    spec = {
        "scenario": meta,
        "customers": {"count": N, "revenue": 1000.0, "baseline_churn": 0.05,
                      "segments": [{"id": "consumer", "share": 0.5}, {"id": "business", "share": 0.5}]},
        "pain_points": pains,
        "delighters": [{"id": "welcome_call", "reach": 0.5, "lift": 0.2}],
        "initiatives": [first, second],
        "budget": {"total": 10_000.0},
    }
    if budget_months is not None:
        spec["budget"] = {"total": {"h1": 5_000.0, "h2": 5_000.0}, "months": budget_months}
        first["cost"], second["cost"] = {"h1": costs[0]}, {"h2": costs[1]}
    return cxopt.parse_scenario(spec, source="explain-test.toml")


def simulate(sc):
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=N), seed=1)


@pytest.fixture(scope="module")
def tiny():
    sim = simulate(scenario())
    result = optimize(sim, solver="exhaustive")
    assert result.selected_ids == ["first_call_fix", "billing_portal"]
    return sim, result, build_plan(result, binding=False)


def exposed_by_segment(sim, j=0):
    g = sim.groups
    e = g.exposed(j)
    return {s: float(g.customers[e & (g.segment == i)].sum()) for i, s in enumerate(g.segments)}


def test_shares_removed_agree_with_the_closed_form(tiny):
    sim, _, plan = tiny
    w = exposed_by_segment(sim)
    total = sum(w.values())
    # horizon-averaged F per segment: first live months 1..12, second (business) months 7..12
    F = {frozenset(): {"consumer": 0.0, "business": 0.0},
         frozenset({1}): {"consumer": 0.5, "business": 0.5},
         frozenset({2}): {"consumer": 0.0, "business": 0.4 * 6 / 12},
         frozenset({1, 2}): {"consumer": 0.5, "business": (6 * 0.5 + 6 * (1 - 0.5 * 0.6)) / 12}}
    v = {s: sum(w[seg] * f for seg, f in F[s].items()) / total for s in F}
    sh1 = (v[frozenset({1})] + v[frozenset({1, 2})] - v[frozenset({2})]) / 2
    sh2 = (v[frozenset({2})] + v[frozenset({1, 2})] - v[frozenset({1})]) / 2
    drivers = {a["id"]: a["drivers"] for a in plan.to_dict()["actions"]}
    got1 = drivers["first_call_fix"][0]["share_removed"]
    got2 = drivers["billing_portal"][0]["share_removed"]
    for got, want in ((got1, sh1), (got2, sh2)):
        assert got["p10"] == pytest.approx(want, rel=1e-12) and got["p90"] == pytest.approx(want, rel=1e-12)
    assert sh1 + sh2 == pytest.approx(v[frozenset({1, 2})], rel=1e-12)


def test_the_shares_on_one_pain_add_up_to_what_the_portfolio_removes(tiny):
    _, _, plan = tiny
    d = plan.to_dict()
    pain = d["risk_left"]["pain_points"][0]
    shares = sum(a["drivers"][0]["share_removed"]["mean"] for a in d["actions"])
    assert shares * pain["baseline"]["mean"] == pytest.approx(pain["removed"]["mean"], rel=1e-12)


def test_residual_plus_removed_is_the_baseline_risk_per_pain(tiny):
    sim, _, plan = tiny
    d = plan.to_dict()
    for p in d["risk_left"]["pain_points"]:
        assert p["left"]["mean"] + p["removed"]["mean"] == pytest.approx(p["baseline"]["mean"], rel=1e-12)
        assert p["baseline"]["mean"] == pytest.approx(0.1, rel=1e-12)  # everyone exposed, severity 0.1
        assert p["left_full_effect"]["mean"] <= p["left"]["mean"] + 1e-15


def test_market_at_risk_after_with_one_pain_is_that_pains_risk_left(tiny):
    _, _, plan = tiny
    d = plan.to_dict()
    assert d["market_at_risk_after"]["customers"] == pytest.approx(d["risk_left"]["pain_points"][0]["left"]["mean"],
                                                                   rel=1e-12)
    assert d["risk_left"]["market_at_risk"]["baseline"]["customers"]["mean"] == pytest.approx(
        d["market_at_risk"]["customers"], rel=1e-12)


def test_overlap_is_the_customers_exposed_to_both_pains_counted_twice():
    pains = [{"id": "billing_error", "volume": 1.0, "severity": 0.1},
             {"id": "long_hold", "volume": 1.0, "severity": 0.2}]
    sim = simulate(scenario(pains=pains))
    out = risk_left(sim, [])
    # everyone meets both: market at risk 1 - 0.9 x 0.8 = 0.28, the per-pain sum 0.3, overlap 0.02
    assert out["market_at_risk_after"]["customers"] == pytest.approx(0.28, rel=1e-12)
    assert out["risk_left"]["overlap"]["baseline"]["mean"] == pytest.approx(0.02, rel=1e-9)


def test_delighters_report_reach_lift_and_nothing_delivered_without_an_initiative(tiny):
    _, _, plan = tiny
    (x,) = plan.to_dict()["delighters"]
    assert x["id"] == "welcome_call" and x["lift"]["mean"] == pytest.approx(0.2)
    assert 0.3 < x["reach"] < 0.7
    assert x["share_delivered"]["mean"] == 0.0


def by_hand_payback(gain_by_month, cost_by_month):
    """The first month label whose cumulative gain reaches the cumulative cost (H + 1: never)."""
    cum_gain = cum_cost = 0.0
    for m, (g, c) in enumerate(zip(gain_by_month, cost_by_month), start=1):
        cum_gain += g
        cum_cost += c
        if cum_gain >= cum_cost - 1e-9:
            return m
    return len(gain_by_month) + 1


def test_payback_month_agrees_with_the_monthly_path_by_hand():
    sc = scenario(margin=0.4, budget_months={"h1": "2027-01", "h2": "2027-04"}, costs=(1_000.0, 800.0))
    sim = simulate(sc)
    result = optimize(sim, solver="exhaustive")
    plan = build_plan(result, binding=False)
    r = plan.to_dict()["returns"]
    base = monthly_path(sim, []).revenue_lost
    gain = 0.4 * (base - plan.path.revenue_lost)  # margin on the revenue each month keeps
    cost = [1_000.0, 0, 0, 800.0] + [0] * (H - 4)  # h2's costs are spent in its first month, 2027-04
    assert r["portfolio"]["monthly_cost"] == cost
    months = [by_hand_payback(gain[t], cost) for t in range(sim.trials)]
    assert r["portfolio"]["payback_month"]["p50"] == float(np.quantile(months, 0.5))
    assert r["portfolio"]["gain"]["mean"] == pytest.approx(float(gain.sum(axis=1).mean()), rel=1e-12)
    assert r["basis"] == "margin"
    assert 1 < r["portfolio"]["payback_month"]["p50"] <= H  # not vacuous: it pays back inside the horizon


def test_a_years_savings_accrue_monthly_once_live():
    sc = scenario(savings=12_000.0)
    sim = simulate(sc)
    plan = build_plan(optimize(sim, solver="exhaustive"), binding=False)
    r = plan.to_dict()["returns"]
    # billing_portal goes live in month 7: 6 months of 1,000 each
    assert r["initiatives"]["billing_portal"]["savings"]["mean"] == pytest.approx(6_000.0)
    assert r["portfolio"]["savings"]["mean"] == pytest.approx(6_000.0)


def test_payback_month_is_h_plus_one_when_never_reached():
    assert list(payback_month(np.array([[1.0, 1.0, 1.0]]), np.array([5.0, 0, 0]))) == [4]
    assert list(payback_month(np.array([[1.0, 4.0, 0.0]]), np.array([5.0, 0, 0]))) == [2]


def test_quick_wins_are_early_likely_and_cheap(tiny):
    _, _, plan = tiny
    d = plan.to_dict()
    # first_call_fix: live in month 1, certain, cost 1,000 below the median 2,000; billing_portal goes live in month 7
    assert d["quick_wins"] == ["first_call_fix"]
    assert {a["id"]: a["quick_win"] for a in d["actions"]} == {"first_call_fix": True, "billing_portal": False}


def test_voices_rank_pains_by_complaints_and_flag_the_squeaky_wheel():
    from cxopt.plan.explain import voices

    pains = [{"id": "loud", "name": "Loud", "volume_measured": 0.5, "complaint_rate": 0.6, "rank_revenue": 3,
              "revenue_at_risk": {"mean": 10.0}, "silent_killer": False},
             {"id": "quiet", "name": "Quiet", "volume_measured": 0.1, "complaint_rate": 0.05, "rank_revenue": 1,
              "revenue_at_risk": {"mean": 90.0}, "silent_killer": True},
             {"id": "mid", "name": "Mid", "volume_measured": 0.2, "complaint_rate": 0.3, "rank_revenue": 2,
              "revenue_at_risk": {"mean": 50.0}, "silent_killer": False}]
    out = {v["id"]: v for v in voices(pains, 1000)}
    assert out["loud"]["complaints"] == pytest.approx(300.0) and out["loud"]["rank_complaints"] == 1
    assert out["loud"]["squeaky_wheel"] and not out["quiet"]["squeaky_wheel"] and not out["mid"]["squeaky_wheel"]


def test_the_sponsor_is_named_on_the_goal():
    sim = simulate(scenario(sponsor="Chief Customer Officer"))
    plan = build_plan(optimize(sim, solver="exhaustive"), explain=False)
    assert plan.goal.sponsor == "Chief Customer Officer"
    assert "Sponsor: Chief Customer Officer." in plan.goal.statement


@pytest.mark.parametrize("change, field", [
    ({"scenario": {"margin": 1.5}}, "scenario.margin"),
    ({"budget": {"total": 10.0, "months": {"h1": "2027-01"}}}, "budget.months.h1"),
    ({"budget": {"total": 10.0, "months": {"total": "2029-01"}}}, "budget.months.total"),
])
def test_bad_return_fields_name_the_field(change, field):
    spec = {"scenario": {"start": "2027-01"}, "customers": {"count": 10},
            "pain_points": [{"id": "p", "volume": 0.5, "severity": 0.1}],
            "initiatives": [{"id": "a", "owner": "o", "cost": 1.0, "fixes": {"p": 0.5}}]}
    for k, v in change.items():
        spec[k] = {**spec.get(k, {}), **v}
    with pytest.raises(cxopt.ScenarioError) as exc:
        cxopt.parse_scenario(spec, source="bad.toml")
    assert any(p.path == field for p in exc.value.problems), str(exc.value)


def test_savings_per_period_must_name_budget_periods():
    spec = {"customers": {"count": 10}, "pain_points": [{"id": "p", "volume": 0.5, "severity": 0.1}],
            "initiatives": [{"id": "a", "owner": "o", "cost": 1.0, "fixes": {"p": 0.5}, "savings": {"q9": 5.0}}]}
    with pytest.raises(cxopt.ScenarioError) as exc:
        cxopt.parse_scenario(spec, source="bad.toml")
    assert any(p.path == "initiatives[0].savings.q9" for p in exc.value.problems)


def test_the_return_fields_survive_writing_and_reading_the_scenario():
    sc = scenario(margin=0.4, savings={"h2": 100.0}, budget_months={"h1": "2027-01", "h2": "2027-04"},
                  sponsor="Chief Customer Officer")
    back = cxopt.parse_scenario(sc.to_data(), source="round-trip")
    assert back.scenario.margin == 0.4 and back.scenario.sponsor == "Chief Customer Officer"
    assert back.initiatives[1].savings == {"h2": 100.0}
    assert [back.period_month(p) for p in ("h1", "h2")] == [1, 4]


def test_market_at_risk_by_log_products_equals_the_group_by_group_product(article_path):
    """The blocked log-sum form of the market at risk equals the direct product over pains per group
    (the reference written out here), with several trial blocks and a severity of exactly 1."""
    import cxopt
    from cxopt.plan import explain

    sc = cxopt.load_scenario(article_path)
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=20_000), trials=300, seed=4)
    sim.draws.strength[7, 0] = 1.0  # a pain that takes every exposed customer in one trial
    g, n_p = sim.groups, len(sc.pain_points)
    Fm = [(explain.fixed_share(sim, [0, 2]), 3), (explain.fixed_share(sim, [0, 2], full_effect=True), 1)]
    block, explain.TRIAL_BLOCK = explain.TRIAL_BLOCK, 128
    try:
        got = explain._market_at_risk(sim, Fm)
    finally:
        explain.TRIAL_BLOCK = block
    sigma = sim.draws.strength[:, :n_p]
    cust = np.zeros(sim.trials)
    for F, n in Fm:
        survive = np.ones((sim.trials, g.n_groups))
        for j in range(n_p):
            e = g.exposed(j)
            survive[:, e] *= 1.0 - sigma[:, j, None] * (1.0 - F[:, g.segment[e], j])
        cust += n * ((1.0 - survive) @ g.customers) / g.customers.sum()
    np.testing.assert_allclose(got["customers"], cust / 4, rtol=1e-12, atol=1e-15)
