"""The monthly path (``value_paths``): every month of a trial's retention in force in one call,
held to the month-by-month NumPy reference (``tests.kernels.reference.month_factors``), and
to the horizon kernel (the months' average is the horizon's value)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from cxopt.kernels.classes import evaluate_grouped_classes
from cxopt.kernels.config import BY_CLASS, BY_GROUP
from cxopt.kernels.epochs import value_paths
from tests.kernels.builders import affected, class_args, padded, random_world, touched_drivers
from tests.kernels.reference import month_factors


def reference_path(w: dict, portfolio) -> tuple[np.ndarray, np.ndarray]:
    T, H = w["market"].size, w["horizon"]
    rev, cust = np.empty((T, H)), np.empty((T, H))
    for t in range(T):
        m = w["market"][t]
        for month in range(H):
            P, Dd = month_factors(w, t, portfolio, month)
            rev[t, month] = np.sum(P * (w["g_a"] - m * Dd * w["g_b"]))
            cust[t, month] = np.sum(P * (w["g_n"] - m * Dd * w["g_c"]))
    return rev, cust


def kernel_path(w: dict, portfolio, mode: int) -> tuple[np.ndarray, np.ndarray]:
    port = padded([portfolio])
    if mode == BY_CLASS:
        one = dict(w, portfolios=[portfolio])
        args, _ = class_args(one)
        tables = args[1:7]
    else:
        aff = affected(w, portfolio)
        none = np.zeros(0, dtype=np.int64)
        tables = (none, none, none, np.array([0, aff.size], dtype=np.int64), aff, none)
    T, H = w["market"].size, w["horizon"]
    rev, cust = np.full((T, H), np.nan), np.full((T, H), np.nan)
    groups = (w["g_seg"], w["g_mask"], w["g_n"], w["g_a"], w["g_b"], w["g_c"])
    draws = (w["strength"], w["market"], w["fix_ptr"], w["fix_driver"], w["effect"], w["seg_target"], w["success"],
             w["golive"])
    value_paths(mode, 0, port, *tables, groups, w["n_pains"], w["n_seg"], draws, H, rev, cust)
    return rev, cust


@pytest.mark.parametrize("mode", [BY_CLASS, BY_GROUP])
@pytest.mark.parametrize("seed,severity_one", [(1, 0.0), (2, 0.0), (3, 0.3)])
def test_every_month_equals_the_reference(mode, seed, severity_one):
    w = random_world(seed, n_pains=4, n_delighters=2, n_groups=50, n_init=5, trials=40, severity_one=severity_one)
    for portfolio in ([], [0], [1, 3], [0, 2, 4], [0, 1, 2, 3, 4]):
        got = kernel_path(w, portfolio, mode)
        want = reference_path(w, portfolio)
        for g, r in zip(got, want):
            np.testing.assert_allclose(g, r, rtol=1e-12)


def test_the_months_average_to_the_horizon_value():
    w = random_world(5, n_pains=3, n_delighters=1, n_groups=30, n_init=4, trials=64)
    portfolio = [0, 1, 3]
    rev, cust = kernel_path(w, portfolio, BY_CLASS)
    args, _ = class_args(dict(w, portfolios=[portfolio]))
    h_rev, h_cust = evaluate_grouped_classes(*args)
    np.testing.assert_allclose(rev.mean(axis=1), h_rev[0], rtol=1e-12)
    np.testing.assert_allclose(cust.mean(axis=1), h_cust[0], rtol=1e-12)
    assert touched_drivers(w, portfolio)  # the portfolio acts on something


def test_the_path_does_not_depend_on_the_thread_count():
    w = random_world(6, n_groups=40, n_init=4, trials=300)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kernel_path(w, [0, 1, 2], BY_CLASS)
        numba.set_num_threads(before)
        many = kernel_path(w, [0, 1, 2], BY_CLASS)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])


@pytest.mark.parametrize("n_pains", [0, 1, 3, 6, 12, 40])
def test_pain_factors_by_table_are_the_loops_bits(n_pains):
    """A table for every pain, for the low ones only (the rest multiplied one by one), or none: the bits
    of the plain loop in each case (40 pains: more than any table holds)."""
    from cxopt.kernels.epochs import baseline_factors, pain_factors

    w = random_world(7 + n_pains, n_pains=max(n_pains, 1), n_delighters=2, n_groups=60)
    sev = w["strength"][0]
    sev[0] = 1.0  # a severity of exactly 1 too
    G = w["g_mask"].size
    assert n_pains < 12 or int(np.bitwise_or.reduce(w["g_mask"])) >> 8  # groups meet high pains
    loop = np.empty(G)
    baseline_factors(w["g_mask"], n_pains, sev, loop)
    for room in {min(n_pains, 16), min(n_pains, 4), 0}:
        by_table = np.full(G + (1 << room) if room else G, np.nan)
        pain_factors(w["g_mask"], n_pains, sev, by_table)
        assert np.array_equal(by_table[:G], loop), room


def test_the_lowest_set_bit_by_loop_is_llvms():
    """pain_factors finds a group's pains by their bits' positions: the fallback loop agrees with cttz."""
    import numba

    from cxopt.kernels.epochs import trailing_zeros, trailing_zeros_loop

    @numba.njit
    def both(x):
        return trailing_zeros(x), trailing_zeros_loop(x)

    rng = np.random.default_rng(11)
    values = [np.uint64(1) << np.uint64(k) for k in range(64)]
    values += [np.uint64(v) | np.uint64(1 << 40) for v in rng.integers(1, 2**62, size=200)]
    for v in values:
        a, b = both(np.uint64(v))
        assert a == b
