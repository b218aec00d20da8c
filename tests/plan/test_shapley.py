"""Contributions for a portfolio of any size (cxopt.plan.shapley): exact up to 10 chosen, an
estimate with a stated standard error above, the plan saying which.

The reference is the exact Shapley value of a game with overlaps (pair and triple terms, per
trial), computed from every subset; the estimate must add up exactly and agree with it within
its own stated error.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cxopt
from cxopt.plan.build import build_plan
from cxopt.plan.shapley import EXACT_LIMIT, all_subsets, exact_shapley, shapley_values
from cxopt.portfolio.search import optimize

T = 4


def game(n: int, seed: int = 0):
    """A value per subset and trial: standalone gains, overlapping pairs (negative) and a few triples."""
    rng = np.random.default_rng(seed)
    gains = rng.uniform(1, 10, size=(n, T))
    pairs = {p: -rng.uniform(0, 2, size=T) for p in itertools.combinations(range(n), 2) if rng.random() < 0.4}
    triples = {t: rng.uniform(0, 3, size=T) for t in itertools.combinations(range(n), 3) if rng.random() < 0.05}

    def value(s: frozenset) -> np.ndarray:
        v = 100.0 + sum((gains[k] for k in s), np.zeros(T))
        v = v + sum((w for p, w in pairs.items() if set(p) <= s), np.zeros(T))
        return v + sum((w for t, w in triples.items() if set(t) <= s), np.zeros(T))

    def evaluate(subsets):
        return {"revenue": np.array([value(s) for s in subsets])}

    return value, evaluate


def test_exact_up_to_the_limit_and_estimated_above_it():
    assert EXACT_LIMIT == 10
    _, ev10 = game(10)
    exact = shapley_values(ev10, list(range(10)))
    assert exact.method == "exact_shapley" and exact.exact and exact.permutations == 0
    assert len(exact.subset_values["revenue"]) == 1024
    _, ev11 = game(11)
    est = shapley_values(ev11, list(range(11)))
    assert est.method == "permutation_sampling" and not est.exact and est.permutations > 0
    assert all(se > 0 for se in est.standard_error["revenue"].values())


def test_the_estimate_adds_up_to_the_portfolios_gain_in_every_trial():
    value, ev = game(11, seed=1)
    est = shapley_values(ev, list(range(11)))
    total = sum(est.values["revenue"].values())
    np.testing.assert_allclose(total, value(frozenset(range(11))) - value(frozenset()), rtol=1e-12)


def test_the_estimate_agrees_with_exact_shapley_within_its_stated_error():
    n = 11
    value, ev = game(n, seed=2)
    players = list(range(n))
    exact = exact_shapley({s: value(s) for s in all_subsets(players)}, players)
    est = shapley_values(ev, players, permutations=200, seed=3)
    for k in players:
        err = abs(float(est.values["revenue"][k].mean()) - float(exact[k].mean()))
        assert err <= 4 * est.standard_error["revenue"][k] + 1e-9, (k, err, est.standard_error["revenue"][k])


def test_the_exact_route_equals_the_definition():
    value, ev = game(5, seed=4)
    players = list(range(5))
    res = shapley_values(ev, players)
    orders = list(itertools.permutations(players))
    for k in players:
        marg = sum(value(frozenset(o[: o.index(k) + 1])) - value(frozenset(o[: o.index(k)])) for o in orders)
        np.testing.assert_allclose(res.values["revenue"][k], marg / len(orders), rtol=1e-12)


def _many_initiatives(n: int):
    pains = [{"id": f"p{j}", "volume": 0.2, "severity": 0.1} for j in range(4)]
    inits = [{"id": f"i{k}", "owner": f"o{k}", "cost": 1.0, "success_probability": 1.0, "months_to_impact": 0,
              "fixes": {f"p{k % 4}": 0.2 + 0.01 * k}} for k in range(n)]
    return cxopt.parse_scenario({
        "scenario": {"name": "many", "trials": 8, "seed": 1, "horizon_months": 12},
        "customers": {"count": 400, "revenue": 500.0, "baseline_churn": 0.05},
        "pain_points": pains, "initiatives": inits, "budget": {"max_initiatives": n},
    }, source="many.toml")


@pytest.mark.filterwarnings("ignore:.*raises the focus limit")
@pytest.mark.parametrize("n,method", [(10, None), (11, "permutation_sampling")])
def test_a_plan_at_the_bound_says_how_its_contributions_were_found(n, method):
    sc = _many_initiatives(n)
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=400), seed=1)
    result = optimize(sim, solver="highs", max_initiatives=n)
    assert len(result.selected) == n  # every fix helps and there is no budget
    plan = build_plan(result)
    d = plan.to_dict()
    assert d.get("contribution_method") == method  # absent: exact Shapley, as plans always were
    if method:
        assert set(d["contribution_standard_errors"]) == {f"i{k}" for k in range(n)}
    gain = result.revenue.mean() - sim.baseline_revenue.mean()
    assert sum(c.revenue["mean"] for c in plan.contributions) == pytest.approx(gain, rel=1e-9)
