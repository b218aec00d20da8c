"""Fixed-point sums: each value rounded once to 2**-32, then integer sums, identical for any split."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from cxopt.kernels.fixed import fixed_to_float, split_revenue
from cxopt.kernels.grouping import group_chunk


def awkward_values(n: int, seed: int = 0) -> np.ndarray:
    """Magnitudes from 1e-6 to 1e9: a float sum of these depends on the order."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, n) * 10.0 ** rng.integers(-6, 10, n)


def test_split_rounds_each_value_to_the_nearest_unit_of_2_to_the_minus_32():
    x = np.concatenate([awkward_values(2000), [0.0, 0.5, 1.0, 2.0**31 - 0.25, 2.0**31, 3e12 + 0.125]])
    whole, frac = split_revenue(x)
    assert np.all((frac >= 0) & (frac <= 2**32))
    for xi, w, f in zip(x, whole, frac):
        error = Fraction(int(w)) + Fraction(int(f), 2**32) - Fraction(float(xi))
        assert abs(error) <= Fraction(1, 2**33) + Fraction(1, 2**52) * max(1, xi)


def test_fixed_to_float_recovers_the_values():
    x = awkward_values(1000)
    whole, frac = split_revenue(x)
    assert np.allclose(fixed_to_float(whole, frac), x, rtol=1e-15, atol=2.0**-32)


def test_integer_sums_are_identical_for_any_order_and_split():
    x = awkward_values(10_000, seed=1)
    whole, frac = split_revenue(x)
    total = (int(whole.sum()), int(frac.sum()))
    rng = np.random.default_rng(2)
    for _ in range(5):
        perm = rng.permutation(x.size)
        cuts = np.sort(rng.choice(x.size, size=7, replace=False))
        parts = [split_revenue(part) for part in np.split(x[perm], cuts)]
        assert (sum(int(w.sum()) for w, _ in parts), sum(int(f.sum()) for _, f in parts)) == total


def test_group_sums_are_identical_for_any_number_of_slices_and_chunking():
    rng = np.random.default_rng(4)
    n = 20_000
    seg = rng.integers(0, 3, n).astype(np.int32)
    mask = rng.integers(0, 4, n).astype(np.uint64)
    revenue = awkward_values(n, seed=5)
    churn = rng.uniform(0, 0.5, n)

    def table(lo: int, hi: int, n_slices: int) -> dict:
        t_seg, t_mask, sums, _, ok = group_chunk(seg[lo:hi], mask[lo:hi], revenue[lo:hi], churn[lo:hi],
                                                 n_slices, 64)
        assert ok
        out: dict = {}
        for s, j in zip(*np.nonzero(t_seg >= 0)):
            key = (int(t_seg[s, j]), int(t_mask[s, j]))
            out[key] = out.get(key, 0) + sums[s, j]
        return out

    want = table(0, n, 1)
    for n_slices in (2, 3, 7, 64):
        got = table(0, n, n_slices)
        assert got.keys() == want.keys()
        assert all(np.array_equal(got[k], want[k]) for k in want)
    # two chunks of any size add up to the same integers
    for cut in (1, 4321, n - 1):
        a, b = table(0, cut, 2), table(cut, n, 5)
        merged = {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}
        assert all(np.array_equal(merged[k], want[k]) for k in want)
    # and the float sum of the same numbers does depend on the order (the reason for all this)
    perm = rng.permutation(n)
    assert any(np.sum(revenue[perm[:k]]) + np.sum(revenue[perm[k:]]) != np.sum(revenue) for k in range(1, 50))
