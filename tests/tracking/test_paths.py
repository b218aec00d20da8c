"""The monthly path tracking evaluates its particles with (engine.paths.monthly_path): one kernel
call walking each trial's epochs, held to the month-by-month evaluation it replaced (each
month's live set evaluated as a portfolio held fixed, through Simulation.evaluate)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cxopt
from cxopt.engine import paths

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    sc = cxopt.load_scenario(ROOT / "scenarios" / "bottom_up_article.toml")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=20_000, seed=3), trials=300, seed=4, pairs=False)


@pytest.mark.parametrize("portfolio", [[], [0], [1, 3], [0, 2, 4, 6], "all"])
def test_the_path_equals_each_months_live_set_evaluated(sim, portfolio):
    portfolio = list(range(len(sim.scenario.initiatives))) if portfolio == "all" else portfolio
    got = paths.monthly_path(sim, portfolio)
    want = paths._monthly_path_by_pattern(sim, sorted(portfolio), sim.draws)
    np.testing.assert_allclose(got.customers_lost, want.customers_lost, rtol=1e-11)
    np.testing.assert_allclose(got.revenue_lost, want.revenue_lost, rtol=1e-11)


def test_a_delighter_nobody_delivers_is_merged_away(sim):
    sc, g = sim.scenario, sim.groups
    n_pains = len(sc.pain_points)
    merged = paths._merge_untouched_delighters(g, n_pains, set())
    if len(sc.delighters):
        assert merged.n_groups < g.n_groups
    for name in ("customers", "revenue", "revenue_churn", "churn"):
        assert getattr(merged, name).sum() == pytest.approx(getattr(g, name).sum(), rel=1e-12)
    assert paths._merge_untouched_delighters(g, n_pains, set(range(len(sc.drivers)))) is g
