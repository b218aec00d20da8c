"""The summary every report shows (engine/summary.py): weighted and unweighted."""

from __future__ import annotations

import numpy as np
import pytest

from cxopt.engine.summary import summarise


def test_a_constant_is_its_own_weighted_mean():
    """Uneven weights whose sum is 1 only to rounding: the mean of a constant 72 is 72, inside its band."""
    rng = np.random.default_rng(7)
    for n in (3, 100, 1000):
        w = rng.dirichlet(np.full(n, 0.3))
        s = summarise(np.full(n, 72.0), w)
        assert s == {"mean": 72.0, "p10": 72.0, "p50": 72.0, "p90": 72.0}


def test_weighted_summary_matches_numpy():
    rng = np.random.default_rng(8)
    v, w = rng.normal(10.0, 3.0, size=500), rng.uniform(0.1, 2.0, size=500)
    s = summarise(v, w)
    assert s["mean"] == pytest.approx(np.average(v, weights=w), rel=1e-13)
    order = np.argsort(v)
    cw = np.cumsum(w[order]) / w.sum()
    for key, a in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        assert s[key] == v[order][np.searchsorted(cw, a)]


def test_equal_weights_are_the_unweighted_summary():
    v = np.random.default_rng(9).normal(size=101)
    assert summarise(v, np.full(101, 0.5)) == summarise(v)
