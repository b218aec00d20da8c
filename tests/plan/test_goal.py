"""The goal in the planner's metric (DESIGN.md section 3, issue 14): CX score levels, the target
at a stated confidence, and contributions that add up in that metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cxopt
from cxopt.engine.levels import metric_level
from cxopt.errors import ArgumentError
from cxopt.plan.build import build_plan
from cxopt.plan.goal import goal_values

ROOT = Path(__file__).resolve().parents[2]
ARTICLE_GOAL = ROOT / "scenarios" / "article_goal.toml"
TRIALS = 400


@pytest.fixture(scope="module")
def article():
    sc = cxopt.load_scenario(ARTICLE_GOAL)
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=20_000), trials=TRIALS, seed=11)
    return sim, cxopt.optimize(sim)


def test_article_goal_contributions_are_the_articles_points_and_add_up(article):
    sim, result = article
    goal = build_plan(result, goal_metric="csat", confidence=0.8).goal
    assert sum(goal.contributions.values()) == pytest.approx(goal.expected_increment, abs=1e-9)
    expected = {"bill_check": 1.5, "repair_in_48h": 2.0, "plain_contracts": 1.0, "proactive_alerts": 1.0}
    assert set(goal.contributions) == set(expected)
    for kid, points in expected.items():
        assert goal.contributions[kid] == pytest.approx(points, abs=0.1), kid
    assert goal.expected_increment == pytest.approx(5.5, abs=0.2)


def test_baseline_level_is_todays_level_and_the_portfolio_level_starts_from_it(article):
    sim, result = article
    plan = build_plan(result, goal_metric="csat")
    m = plan.to_dict()["metrics"]["csat"]
    assert m["today"] == 72.0 and m["baseline"]["mean"] == pytest.approx(72.0)
    assert m["portfolio"]["p10"] > 72.0  # a level, not the points lost
    assert plan.goal.baseline == pytest.approx(72.0)


def test_level_of_one_fix_is_exposed_share_times_impact_times_share_fixed(article):
    sim, _ = article
    k = sim.index_of("bill_check")
    g = sim.groups
    j = sim.scenario.driver_ids.index("billing_error")
    exposed = g.customers[g.exposed(j)].sum() / g.n_customers
    e = sim.draws.fix_ptr[k]
    live = sim.draws.success[:, k] & (sim.draws.golive[:, k] <= sim.scenario.horizon_months - 1)
    expected = 72.0 + exposed * 8.0 * np.where(live, sim.draws.effect[:, e], 0.0)
    np.testing.assert_allclose(metric_level(sim, [k], "csat"), expected, rtol=1e-12)


@pytest.mark.parametrize("metric", ["churn", "retained_revenue", "csat"])
@pytest.mark.parametrize("confidence", [0.5, 0.8])
def test_probability_met_is_the_confidence_and_holds_on_fresh_trials(article, metric, confidence):
    sim, result = article
    goal = build_plan(result, goal_metric=metric, confidence=confidence).goal
    assert abs(goal.probability_met - confidence) <= 1.0 / TRIALS + 1e-12
    # a fresh simulation with another seed meets the target in C +- 3 sd of the trials
    fresh = cxopt.simulate(sim.scenario, cxopt.CustomerBase.synthetic(sim.scenario, n=20_000), trials=TRIALS,
                           seed=12345, pairs=False)
    values = goal_values(fresh, [tuple(result.selected)], metric)[0]
    met = values <= goal.target if metric == "churn" else values >= goal.target
    sd = np.sqrt(confidence * (1 - confidence) / TRIALS)
    assert abs(met.mean() - confidence) <= 3 * sd + 1.0 / TRIALS


def test_goal_json_has_the_goal_fields(article):
    _, result = article
    g = build_plan(result, goal_metric="csat", confidence=0.8).to_dict()["goal"]
    for key in ("metric", "baseline", "target", "confidence", "probability_met", "probability_better_than_baseline",
                "expected_increment", "contributions"):
        assert key in g
    assert g["metric"] == "csat" and g["confidence"] == 0.8


def test_unknown_goal_metric_and_bad_confidence_name_the_parameter(article):
    _, result = article
    with pytest.raises(ArgumentError, match="goal_metric"):
        build_plan(result, goal_metric="happiness")
    with pytest.raises(ArgumentError, match="confidence"):
        build_plan(result, confidence=1.0)


def test_undeclared_metric_is_reported_as_a_change_not_a_level():
    sc = cxopt.parse_scenario({
        "customers": {"count": 1000}, "pain_points": [{"id": "p", "volume": 0.5, "severity": 0.1, "nps_impact": -10}],
        "initiatives": [{"id": "a", "owner": "o", "cost": 1.0, "fixes": {"p": 0.5}}]})
    sim = cxopt.simulate(sc, trials=20, seed=1)
    d = build_plan(cxopt.optimize(sim)).to_dict()
    assert d["metrics"]["nps"]["today"] is None
    assert d["metrics"]["nps"]["baseline"]["mean"] == 0.0
    assert "change from today" in build_plan(cxopt.optimize(sim)).to_markdown()
