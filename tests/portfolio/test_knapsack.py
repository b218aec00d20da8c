"""Any portfolio size finishes (issue 17): a 50-candidate multidimensional knapsack from the
literature (Petersen's problem, optimum 16,537; cxopt/bench/knapsack.py) with every candidate
allowed: the optimiser returns the literature's optimum, proven (the candidates touch disjoint
customer groups, so the program is exact), and the plan is built with estimated contributions
whose parts still add up to the whole. The timed end-to-end run is benchmarks/bench_knapsack.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

import cxopt
from cxopt.bench.knapsack import CAPACITIES, OPTIMUM, PROFITS, WEIGHTS, knapsack_scenario, write_knapsack_base
from cxopt.plan.build import build_plan
from cxopt.plan.shapley import EXACT_LIMIT
from tests import builders


def test_the_instance_is_the_literatures():
    """scipy's MILP on the data alone reaches the published optimum (the data is transcribed right)."""
    r = milp(-PROFITS.astype(float), integrality=np.ones(PROFITS.size), bounds=Bounds(0, 1),
             constraints=LinearConstraint(WEIGHTS.astype(float), -np.inf, CAPACITIES.astype(float)))
    assert round(-r.fun) == OPTIMUM


@pytest.fixture(scope="module")
def knapsack(tmp_path_factory):
    root = tmp_path_factory.mktemp("knapsack")
    write_knapsack_base(root / "base.parquet", customers_per_segment=4)
    path = builders.write(root / "knapsack.toml", knapsack_scenario("base.parquet", trials=8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # max_initiatives above 5, on purpose
        sc = cxopt.load_scenario(path)
    sim = cxopt.simulate(sc, cxopt.CustomerBase.from_file(sc, root / "base.parquet"))
    return sim, cxopt.optimize(sim, max_initiatives=50)


def test_the_optimum_of_the_literature_is_found_and_proven(knapsack):
    sim, result = knapsack
    assert sim.pairs.size == 0  # every initiative on its own segment
    assert int(PROFITS[list(result.selected)].sum()) == OPTIMUM
    assert result.solver["status"] == "optimal"
    # the gains are the profits up to one factor: the choice is the knapsack's, not an artefact
    gains = (sim.single_revenue - sim.baseline_revenue).mean(axis=1)
    np.testing.assert_allclose(gains / gains[0], PROFITS / PROFITS[0], rtol=1e-9)


def test_the_plan_of_35_initiatives_is_built_with_bounded_contributions(knapsack):
    sim, result = knapsack
    assert len(result.selected) > EXACT_LIMIT
    plan = build_plan(result, binding=False).to_dict()
    assert plan["contribution_method"] == "permutation_sampling"
    total = sum(c["revenue"]["mean"] for c in plan["contribution_details"].values())
    assert total == pytest.approx(plan["portfolio"]["retained_revenue"]["mean"]
                                  - plan["baseline"]["retained_revenue"]["mean"], rel=1e-9)
    # the pain's shares removed (sampled Shapley) add up to what the portfolio removes of it
    shares = [row["share_removed"]["mean"] for a in plan["actions"] for row in a["drivers"]]
    assert len(shares) == len(result.selected)
    # each segment holds 1/50 of the customers, live from month 0 for certain: 1/50 each, 35/50 in all,
    # which is what the market at risk after the portfolio says is gone
    np.testing.assert_allclose(shares, 1 / 50, rtol=1e-9)
    before, after = plan["market_at_risk"]["customers"], plan["market_at_risk_after"]["customers"]
    assert sum(shares) == pytest.approx(1 - after / before, rel=1e-9)
