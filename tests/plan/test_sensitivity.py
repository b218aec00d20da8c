"""The tornado's ranks: cxopt.plan.sensitivity.rankdata is scipy.stats.rankdata's average ranks
(the reference here), ties and all, without importing scipy.stats."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cxopt.plan.sensitivity import rankdata


@settings(max_examples=200)
@given(st.lists(st.integers(-5, 5) | st.floats(-1e6, 1e6) | st.just(float("nan")), min_size=1, max_size=60))
def test_average_ranks_are_scipys(values):
    a = np.array(values, dtype=np.float64)
    np.testing.assert_array_equal(rankdata(a), stats.rankdata(a))


def test_ties_share_their_average_rank():
    np.testing.assert_array_equal(rankdata(np.array([3.0, 1.0, 3.0, 2.0, 3.0])), [4.0, 1.0, 4.0, 2.0, 4.0])
