"""The nested class-sum kernel (a plan's subsets of one portfolio: every driver set within a small
union) against the model month by month, against the per-set class sums, and across thread counts;
the market-at-risk kernel's two ways of multiplying the pains (a table of subsets, a direct loop)."""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest

from cxopt.kernels.classes import evaluate_grouped_classes, evaluate_nested_classes
from cxopt.kernels.risk import pain_losses
from tests.kernels import reference
from tests.kernels.builders import class_args, random_world, touched_drivers

RTOL = 1e-12


def nested_args(w: dict) -> tuple[tuple, np.ndarray]:
    """Arguments of ``evaluate_nested_classes`` (the class-sum kernel's plus the union's tables)."""
    args, order = class_args(w)
    sets = sorted({touched_drivers(w, p) for p in w["portfolios"]})
    union = sorted({j for ts in sets for j in ts})
    bits = np.zeros(w["g_seg"].size, dtype=np.int64)
    for y, j in enumerate(union):
        bits |= ((w["g_mask"] >> np.uint64(j)) & np.uint64(1)).astype(np.int64) << y
    hit = np.flatnonzero(bits).astype(np.int64)
    u_cls = (w["g_seg"][hit].astype(np.int64) << len(union)) | bits[hit]
    proj = np.zeros((len(sets), 1 << len(union)), dtype=np.int64)
    for q, ts in enumerate(sets):
        for b in range(1 << len(union)):  # bit x of the set's pattern: its driver's bit in the union's
            proj[q, b] = sum(((b >> union.index(j)) & 1) << x for x, j in enumerate(ts))
    return args[:7] + (len(union), hit, u_cls, proj) + args[7:], order


def subsets_world(seed: int, **kw) -> dict:
    """Every subset of one portfolio of four initiatives (what a plan's contributions evaluate)."""
    w = random_world(seed, n_pains=4, n_delighters=2, n_groups=60, n_init=6, max_fixes=2, **kw)
    w["portfolios"] = [list(s) for r in range(5) for s in itertools.combinations([0, 2, 3, 5], r)]
    return w


@pytest.mark.parametrize("seed, kw", [(3, dict(trials=12)), (4, dict(trials=9, n_seg=3)),
                                      (5, dict(trials=12, severity_one=0.3))])
def test_nested_kernel_matches_the_model_month_by_month(seed, kw):
    w = subsets_world(seed, **kw)
    rev, cust = reference.grouped(w)
    args, order = nested_args(w)
    got_rev, got_cust = evaluate_nested_classes(*args)
    assert np.allclose(got_rev, rev[order], rtol=RTOL) and np.allclose(got_cust, cust[order], rtol=RTOL)


def test_nested_kernel_equals_the_per_set_class_sums_to_rounding_and_the_baseline_exactly():
    w = subsets_world(8, trials=40, severity_one=0.05)
    args, order = nested_args(w)
    got_rev, got_cust = evaluate_nested_classes(*args)
    cls_args, cls_order = class_args(w)
    want_rev, want_cust = evaluate_grouped_classes(*cls_args)
    assert np.array_equal(order, cls_order)
    np.testing.assert_allclose(got_rev, want_rev, rtol=1e-14)
    np.testing.assert_allclose(got_cust, want_cust, rtol=1e-14)
    # the baseline (and any trial in which nothing is delivered) is the same sum, bit for bit
    empty = int(np.flatnonzero(order == 0)[0])
    assert w["portfolios"][0] == [] and np.array_equal(got_rev[empty], want_rev[empty])


def test_nested_kernel_does_not_depend_on_the_thread_count():
    w = subsets_world(9, trials=300)
    args, _ = nested_args(w)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = evaluate_nested_classes(*args)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = evaluate_nested_classes(*args)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])


def risk_inputs(seed: int, n_pains: int = 4, S: int = 2, U: int = 30, R: int = 50):
    rng = np.random.default_rng(seed)
    T = 20
    sigma = rng.uniform(0.0, 0.5, (T, n_pains))
    sigma[3, 1] = 1.0  # a pain that takes every exposed customer in one trial
    F = rng.uniform(0.0, 1.0, (R, S, n_pains))
    trials = rng.integers(0, T, R).astype(np.int64)
    seg_u = rng.integers(0, S, U).astype(np.int64)
    E_u = rng.random((U, n_pains)) < 0.5
    mask_u = (E_u.astype(np.int64) << np.arange(n_pains)).sum(axis=1)
    N_u, A_u = rng.uniform(1, 100, U), rng.uniform(100, 1e4, U)
    return sigma, F, trials, seg_u, mask_u, E_u, N_u, A_u


def test_pain_losses_match_the_product_over_pains_written_out():
    sigma, F, trials, seg_u, mask_u, E_u, N_u, A_u = risk_inputs(1)
    keep = 1.0 - sigma[trials][:, None, :] * (1.0 - F)  # (R, S, pains)
    survive = np.prod(np.where(E_u[None, :, :], keep[:, seg_u, :], 1.0), axis=2)  # (R, U)
    for table in (True, False):
        cust, rev = pain_losses(sigma, F, trials, seg_u, mask_u, E_u, N_u, A_u, table)
        np.testing.assert_allclose(cust, (1.0 - survive) @ N_u, rtol=1e-12)
        np.testing.assert_allclose(rev, (1.0 - survive) @ A_u, rtol=1e-12)


def test_pain_losses_by_table_equal_the_direct_loop_bit_for_bit_whatever_the_threads():
    args = risk_inputs(2, n_pains=6, R=500)
    table = pain_losses(*args, True)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        direct = pain_losses(*args, False)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(table[0], direct[0]) and np.array_equal(table[1], direct[1])


@pytest.mark.parametrize("seed, kw", [(11, dict(trials=30)), (12, dict(trials=20, n_seg=3, severity_one=0.2))])
def test_one_pass_class_sums_equal_a_pass_per_set_bit_for_bit(seed, kw):
    """evaluate_grouped_classes adds every set's class sums in one pass over the groups: each set's
    additions are the same, in the same order, as the per-set pass of epochs.value_trials (BY_CLASS)."""
    from cxopt.kernels.config import BY_CLASS
    from cxopt.kernels.epochs import value_trials

    w = random_world(seed, n_pains=4, n_delighters=2, n_groups=70, n_init=7, **kw)
    args, _ = class_args(w)
    got_rev, got_cust = evaluate_grouped_classes(*args)
    port = args[0]
    P, T = port.shape[0], w["market"].size
    out = (np.empty((P, T)), np.empty((P, T)), np.empty((0, 0, 0)), np.empty((0, 0, 0)),
           np.empty((0, 0, 0), dtype=np.bool_), np.empty((0, 0)), np.empty((0, 0)))
    c = args[7:]
    value_trials(BY_CLASS, 0, T, 0, P, *args[:7], c[:6], c[6], c[7], c[8:16], c[16], out)
    assert np.array_equal(got_rev, out[0]) and np.array_equal(got_cust, out[1])
