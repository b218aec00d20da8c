"""The pair tables of ``simulate`` (valued as R(k) + R(l) - R() + w_kl on the groups both act
on, :func:`cxopt.engine.grouped.evaluate_pairs`) against each pair evaluated as a portfolio of
two by :func:`cxopt.engine.grouped.evaluate_grouped`, the path every other portfolio takes, on
random scenarios: segments and targeting, shared pains, delighters, uncertain go-live months
and delivery, and a severity of exactly 1. Then the optimiser: the same portfolio either way."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cxopt import optimize, parse_scenario
from cxopt.data.customers import CustomerBase
from cxopt.engine.grouped import evaluate_grouped, evaluate_pairs
from cxopt.engine.simulation import simulate
from tests import builders

SEGMENTS = [{"id": "consumer", "share": 0.7}, {"id": "business", "share": 0.2, "revenue_multiplier": 4.0},
            {"id": "public", "share": 0.1}]


def random_scenario(seed: int, *, n_pains: int = 5, n_delighters: int = 1, n_init: int = 8,
                    severity_one: bool = False):
    """A random scenario: each initiative fixes one to three drivers, some target segments."""
    rng = np.random.default_rng(seed)
    pains = [builders.pain_point(f"pain{j}", float(rng.uniform(0.05, 0.4)),
                                 builders.pert(0.02, float(rng.uniform(0.05, 0.3)), 0.45))
             for j in range(n_pains)]
    if severity_one:
        pains[0]["severity"] = 1.0
    delighters = [builders.delighter(f"joy{j}", float(rng.uniform(0.1, 0.4)), builders.uniform(0.05, 0.2))
                  for j in range(n_delighters)]
    drivers = [p["id"] for p in pains] + [d["id"] for d in delighters]
    inits = []
    for k in range(n_init):
        fixes = rng.choice(len(drivers), size=int(rng.integers(1, 4)), replace=False)
        segments = None if rng.random() < 0.6 else sorted(rng.choice([s["id"] for s in SEGMENTS], size=2,
                                                                      replace=False).tolist())
        inits.append(builders.initiative(
            f"init{k}", {drivers[j]: builders.uniform(0.2, 0.8) for j in fixes}, cost=float(rng.integers(1, 10)),
            success_probability=float(np.round(rng.uniform(0.5, 1.0), 2)),
            months_to_impact=builders.uniform(0, 14) if rng.random() < 0.5 else int(rng.integers(0, 6)),
            segments=segments))
    return parse_scenario(builders.scenario(
        scenario={"name": f"pairs {seed}", "horizon_months": 12, "seed": seed, "trials": 40},
        customers={"count": 5_000, "revenue": builders.lognormal(800.0, 0.9),
                   "baseline_churn": builders.beta(0.08, 0.03), "exposure_correlation": 0.3,
                   "segments": SEGMENTS},
        market={"churn_multiplier": builders.triangular(0.9, 1.0, 1.15)},
        pain_points=pains, delighters=delighters, initiatives=inits,
        budget={"total": 12},
    ), source=f"pairs-{seed}.toml")


CASES = {
    "segments and delighters": dict(seed=1),
    "many shared pains": dict(seed=2, n_pains=3, n_delighters=0, n_init=9),
    "delighters only beside one pain": dict(seed=3, n_pains=1, n_delighters=3),
    "a severity of exactly 1": dict(seed=4, severity_one=True),
    "wide": dict(seed=5, n_pains=8, n_delighters=2, n_init=12),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    sc = random_scenario(**CASES[request.param])
    sim = simulate(sc, CustomerBase.synthetic(sc, seed=3), trials=40, seed=CASES[request.param]["seed"])
    old_rev, old_cust = evaluate_grouped(sc, sim.groups, sim.draws, [list(map(int, p)) for p in sim.pairs])
    return sc, sim, old_rev, old_cust


def test_the_pair_tables_equal_each_pair_evaluated_as_a_portfolio(case):
    sc, sim, old_rev, old_cust = case
    assert sim.pairs.shape[0] > 0
    np.testing.assert_allclose(sim.pair_revenue, old_rev, rtol=1e-12)
    np.testing.assert_allclose(sim.pair_customers, old_cust, rtol=1e-12)


def test_the_interactions_equal_those_of_the_portfolio_path_to_rounding_of_the_revenue(case):
    sc, sim, old_rev, _ = case
    k, l = sim.pairs[:, 0], sim.pairs[:, 1]
    new = sim.pair_revenue - sim.single_revenue[k] - sim.single_revenue[l] + sim.baseline_revenue
    old = old_rev - sim.single_revenue[k] - sim.single_revenue[l] + sim.baseline_revenue
    scale = np.max(sim.baseline_revenue)
    assert np.max(np.abs(new - old)) <= 1e-12 * scale
    assert np.max(np.abs(old)) > 1e-6 * scale  # the pairs do interact


def test_pairs_past_the_driver_limit_take_the_portfolio_path_bit_for_bit(case):
    sc, sim, old_rev, old_cust = case
    baseline = (sim.baseline_revenue, sim.baseline_customers)
    singles = (sim.single_revenue, sim.single_customers)
    rev, cust = evaluate_pairs(sc, sim.groups, sim.draws, sim.pairs, baseline, singles, max_drivers=0)
    assert np.array_equal(rev, old_rev) and np.array_equal(cust, old_cust)
    # and a mix of both paths puts every pair in its row
    rev, cust = evaluate_pairs(sc, sim.groups, sim.draws, sim.pairs, baseline, singles, max_drivers=3)
    np.testing.assert_allclose(rev, old_rev, rtol=1e-12)
    np.testing.assert_allclose(cust, old_cust, rtol=1e-12)


@pytest.mark.parametrize("risk", [None, "cvar:0.1:0.5"])
def test_the_optimiser_picks_the_same_portfolio_from_either_table(case, risk):
    sc, sim, old_rev, old_cust = case
    before = dataclasses.replace(sim, pair_revenue=old_rev, pair_customers=old_cust)
    a = optimize(sim, solver="highs", max_initiatives=4, risk=risk)
    b = optimize(before, solver="highs", max_initiatives=4, risk=risk)
    assert a.selected_ids == b.selected_ids
