"""The CX level in every month of the horizon (engine.levels.metric_level_path), the forecast
tracking holds a measured level against: held to the formula written out by hand per driver
(exposed share x points x share fixed by the initiatives live that month)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cxopt
from cxopt.engine.levels import metric_level, metric_level_path, metric_levels_in_month

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    sc = cxopt.load_scenario(ROOT / "scenarios" / "article_goal.toml")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=5_000), trials=300, seed=3, pairs=False)


def by_hand(sim, portfolio, month):
    """L0 + sum over drivers of exposed share x gain x (1 - prod over live k of (1 - f_kj))."""
    sc, g, d = sim.scenario, sim.groups, sim.draws
    level = np.full(d.trials, sc.metrics["csat"].baseline)
    for j, drv in enumerate(sc.drivers):
        impact = drv.metric_impacts().get("csat", 0.0)
        if not impact:
            continue
        share = g.customers[g.exposed(j)].sum() / g.n_customers
        gain = -impact if j < len(sc.pain_points) else impact
        not_fixed = np.ones(d.trials)
        for k in portfolio:
            assert sc.initiatives[k].segments is None  # every segment: the share is the whole base's
            live = d.success[:, k] & (d.golive[:, k] <= month)
            for e in range(d.fix_ptr[k], d.fix_ptr[k + 1]):
                if d.fix_driver[e] == j:
                    not_fixed *= np.where(live, 1.0 - d.effect[:, e], 1.0)
        level += share * gain * (1.0 - not_fixed)
    return level


def test_each_month_is_the_formula_with_that_months_live_set(sim):
    portfolio = list(range(len(sim.scenario.initiatives)))
    path = metric_level_path(sim, portfolio, "csat")
    assert path.shape == (sim.trials, sim.scenario.horizon_months)
    for month in range(sim.scenario.horizon_months):
        np.testing.assert_allclose(path[:, month], by_hand(sim, portfolio, month), rtol=1e-12)
        np.testing.assert_array_equal(path[:, month], metric_levels_in_month(sim, [portfolio], "csat", month)[0])


def test_the_last_month_is_the_horizons_level_and_nothing_live_is_todays(sim):
    portfolio = list(range(len(sim.scenario.initiatives)))
    path = metric_level_path(sim, portfolio, "csat")
    np.testing.assert_array_equal(path[:, -1], metric_level(sim, portfolio, "csat"))
    d = sim.draws
    nothing_live = ~(d.success & (d.golive <= 0)).any(axis=1)
    assert nothing_live.any()
    assert np.all(path[nothing_live, 0] == 72.0)
    # the level only rises as initiatives go live (every csat driver here is fixed or delivered)
    assert np.all(np.diff(path, axis=1) >= -1e-12)
