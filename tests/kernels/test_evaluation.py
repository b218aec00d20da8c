"""The grouped, class-sum and sampled kernels against the model computed month by month
(DESIGN.md section 1, "One trial"), including the paths only benchmarks reached before:
portfolios touching more than 12 drivers and severities of exactly 1."""

from __future__ import annotations

import numpy as np
import pytest

from cxopt.kernels.classes import evaluate_grouped_classes
from cxopt.kernels.fixed import fixed_to_float, split_revenue
from cxopt.kernels.grouped import evaluate_grouped
from cxopt.kernels.sampled import customer_uniforms, retention_coefficients, sample_retained
from tests.kernels import reference
from tests.kernels.builders import class_args, grouped_args, random_world, sampled_args, touched_drivers

RTOL = 1e-12
WORLDS = {
    "small": dict(trials=10),
    "one segment, few trials": dict(n_seg=1, trials=5),
    "three segments, short horizon": dict(n_seg=3, horizon=6, trials=12),
}


@pytest.fixture(scope="module", params=sorted(WORLDS))
def world(request):
    w = random_world(11, **WORLDS[request.param])
    return w, reference.grouped(w)


def test_per_group_kernel_matches_the_model_month_by_month(world):
    w, (rev, cust) = world
    got_rev, got_cust = evaluate_grouped(*grouped_args(w))
    assert np.allclose(got_rev, rev, rtol=RTOL) and np.allclose(got_cust, cust, rtol=RTOL)


def test_class_sum_kernel_matches_the_model_month_by_month(world):
    w, (rev, cust) = world
    args, order = class_args(w)
    got_rev, got_cust = evaluate_grouped_classes(*args)
    assert np.allclose(got_rev, rev[order], rtol=RTOL) and np.allclose(got_cust, cust[order], rtol=RTOL)


def test_a_severity_of_exactly_one_is_valued_exactly_by_both_kernels():
    w = random_world(5, n_pains=3, trials=12, severity_one=0.3)
    rev, cust = reference.grouped(w)
    # the case must occur: a portfolio live on a pain whose severity is 1 in some trial
    assert any(w["strength"][t, j] == 1.0 and w["success"][t, k] and w["golive"][t, k] < w["horizon"]
               for t in range(12) for p in w["portfolios"] for k in p for j in w["fix_lists"][k] if j < 3)
    args, order = class_args(w)
    got_rev, got_cust = evaluate_grouped_classes(*args)
    assert np.all(np.isfinite(got_rev))
    assert np.allclose(got_rev, rev[order], rtol=RTOL) and np.allclose(got_cust, cust[order], rtol=RTOL)
    got_rev, got_cust = evaluate_grouped(*grouped_args(w))
    assert np.allclose(got_rev, rev, rtol=RTOL) and np.allclose(got_cust, cust, rtol=RTOL)


def test_portfolios_touching_more_than_12_drivers():
    # the engine sends these to the per-group kernel (MAX_CLASS_DRIVERS = 12); the class-sum
    # kernel is still exact up to 16 touched drivers
    w = random_world(7, n_pains=11, n_delighters=4, n_groups=150, n_init=8, max_fixes=4, trials=6,
                     portfolios=[[], list(range(8)), [0, 2, 4, 6, 7], [1, 3, 5, 7]])
    assert len(touched_drivers(w, w["portfolios"][1])) > 12
    rev, cust = reference.grouped(w)
    got_rev, got_cust = evaluate_grouped(*grouped_args(w))
    assert np.allclose(got_rev, rev, rtol=RTOL) and np.allclose(got_cust, cust, rtol=RTOL)
    args, order = class_args(w)
    got_rev, got_cust = evaluate_grouped_classes(*args)
    assert np.allclose(got_rev, rev[order], rtol=RTOL) and np.allclose(got_cust, cust[order], rtol=RTOL)


def test_the_baseline_row_is_the_baseline_in_every_trial(world):
    w, _ = world
    rev, cust = evaluate_grouped(*grouped_args(w))
    P0 = np.array([[np.prod([1 - w["strength"][t, j] for j in range(w["n_pains"]) if int(m) >> j & 1])
                    for m in w["g_mask"]] for t in range(w["market"].size)])
    want = (P0 * (w["g_a"] - w["market"][:, None] * w["g_b"])).sum(axis=1)
    assert w["portfolios"][0] == [] and np.allclose(rev[0], want, rtol=RTOL)


@pytest.mark.parametrize("block", [(0, None, 0, None), (3, 8, 2, 11)])
def test_retention_coefficients_match_the_model(world, block):
    w, _ = world
    T, P = w["market"].size, len(w["portfolios"])
    t0, t1, p0, p1 = block[0], min(block[1] or T, T), block[2], min(block[3] or P, P)
    a, b, changed, base_a, base_b = retention_coefficients(*sampled_args(w, t0, t1, p0, p1))
    for t in range(t0, t1):
        ba, bb = reference.retention_coefficients(w, t, [])
        assert np.allclose(base_a[t - t0], ba, rtol=RTOL) and np.allclose(base_b[t - t0], bb, rtol=RTOL)
        for p in range(p0, p1):
            ra, rb = reference.retention_coefficients(w, t, w["portfolios"][p])
            assert np.allclose(a[t - t0, :, p - p0], ra, rtol=RTOL)
            assert np.allclose(b[t - t0, :, p - p0], rb, rtol=RTOL)
            # flagged as changed exactly where the coefficients differ from the baseline
            differs = (a[t - t0, :, p - p0] != base_a[t - t0]) | (b[t - t0, :, p - p0] != base_b[t - t0])
            assert np.array_equal(changed[t - t0, :, p - p0], differs)


def test_sampled_sums_count_the_customers_whose_uniform_falls_below_their_retention():
    w = random_world(3, trials=4, n_groups=20)
    T, P, G = 4, len(w["portfolios"]), w["g_seg"].size
    coef = retention_coefficients(*sampled_args(w, 0, T, 0, P))
    rng = np.random.default_rng(0)
    n = 1000
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    group = np.sort(rng.integers(0, G, n)).astype(np.int64)
    churn = rng.uniform(0, 0.3, n)
    revenue = rng.lognormal(4, 1, n)
    whole, frac = split_revenue(revenue)
    key = np.uint64(99)
    results = [sample_retained(key, 0, ids, churn, group, whole, frac, *coef, s) for s in (1, 3, 64)]
    for w_, f_, c_ in results[1:]:  # any number of slices: the same integers
        assert np.array_equal(w_, results[0][0]) and np.array_equal(f_, results[0][1])
        assert np.array_equal(c_, results[0][2])
    got_rev = fixed_to_float(results[0][0], results[0][1])
    for t in range(T):
        u = np.array([reference.counter_uniform(int(key), int(i), t) for i in ids])
        assert np.array_equal(u, customer_uniforms(key, ids, t))
        for p in range(P):
            kept = u < coef[0][t, group, p] - coef[1][t, group, p] * churn
            assert results[0][2][t, p] == kept.sum()
            assert np.isclose(got_rev[t, p], revenue[kept].sum(), rtol=1e-12)
