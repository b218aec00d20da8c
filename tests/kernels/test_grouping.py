"""The grouping pass against a NumPy group-by, on the hash-table path (more than 12 drivers,
as cxopt.data.customers uses above DENSE_KEY_BITS = 12) and the dense path."""

from __future__ import annotations

import numpy as np
import pytest

from cxopt.kernels.fixed import fixed_to_float
from cxopt.kernels.grouping import group_chunk, group_chunk_dense, merge_groups, pack_mask
from tests.kernels import reference


def customers(n: int, n_drivers: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    exposed = rng.random((n, n_drivers)) < 0.08
    seg = rng.integers(0, 3, n).astype(np.int32)
    revenue = rng.lognormal(5, 1.5, n)
    churn = rng.uniform(0, 0.4, n)
    return exposed, seg, revenue, churn


def as_dict(t_seg, t_mask, sums, maxp) -> dict:
    rows = {}
    for key in zip(*np.nonzero(t_seg >= 0)):
        s = sums[key]
        rows[(int(t_seg[key]), int(t_mask[key]))] = (
            int(s[0]), fixed_to_float(s[1:2], s[2:3])[0], fixed_to_float(s[3:4], s[4:5])[0],
            fixed_to_float(s[5:6], s[6:7])[0], maxp[key])
    return rows


def assert_same_groups(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for k, (n, a, b, c, mp) in want.items():
        gn, ga, gb, gc, gmp = got[k]
        assert gn == n and gmp == mp
        assert np.allclose([ga, gb, gc], [a, b, c], rtol=1e-12, atol=n * 2.0**-32)


def test_pack_mask_sets_bit_j_for_driver_j():
    exposed, *_ = customers(1000, 20)
    want = (exposed.astype(np.uint64) << np.arange(20, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    assert np.array_equal(pack_mask(exposed), want)


def test_hash_table_path_groups_more_than_12_drivers_like_numpy():
    exposed, seg, revenue, churn = customers(30_000, 16)
    mask = pack_mask(exposed)
    assert int(mask.max()) >= 1 << 12  # keys the dense path could not index
    t_seg, t_mask, sums, maxp, ok = group_chunk(seg, mask, revenue, churn, 3, 1 << 14)
    assert ok
    # the slices' tables merged into one global table
    cap = 1 << 15
    g_seg, g_mask = np.full(cap, -1, dtype=np.int32), np.zeros(cap, dtype=np.uint64)
    g_sums, g_maxp = np.zeros((cap, 7), dtype=np.int64), np.zeros(cap)
    assert merge_groups(g_seg, g_mask, g_sums, g_maxp, t_seg, t_mask, sums, maxp) > 0
    assert_same_groups(as_dict(g_seg, g_mask, g_sums, g_maxp), reference.group_by(seg, mask, revenue, churn))


def test_a_full_hash_table_is_reported_not_overrun():
    exposed, seg, revenue, churn = customers(5000, 16, seed=1)
    mask = pack_mask(exposed)
    *_, ok = group_chunk(seg, mask, revenue, churn, 2, 16)
    assert not ok
    t_seg, t_mask, sums, maxp, ok = group_chunk(seg, mask, revenue, churn, 1, 1 << 14)
    small = np.full(16, -1, dtype=np.int32)
    assert merge_groups(small, np.zeros(16, np.uint64), np.zeros((16, 7), np.int64), np.zeros(16),
                        t_seg, t_mask, sums, maxp) == -1


@pytest.mark.parametrize("n_slices", [1, 4])
def test_dense_path_matches_numpy_and_the_hash_table(n_slices):
    exposed, seg, revenue, churn = customers(20_000, 6, seed=2)
    mask = pack_mask(exposed)
    sums, maxp = group_chunk_dense(seg, mask, revenue, churn, n_slices, 6)
    total, top = sums.sum(axis=0), maxp.max(axis=0)
    keys = np.flatnonzero(total[:, 0])
    dense = {(int(k >> 6), int(k & 63)): (int(total[k, 0]), fixed_to_float(total[k, 1:2], total[k, 2:3])[0],
                                           fixed_to_float(total[k, 3:4], total[k, 4:5])[0],
                                           fixed_to_float(total[k, 5:6], total[k, 6:7])[0], top[k])
             for k in keys}
    assert_same_groups(dense, reference.group_by(seg, mask, revenue, churn))
    t_seg, t_mask, t_sums, t_maxp, ok = group_chunk(seg, mask, revenue, churn, n_slices, 1 << 10)
    table: dict = {}
    for key in zip(*np.nonzero(t_seg >= 0)):
        k = int(t_seg[key]) << 6 | int(t_mask[key])
        table[k] = table.get(k, 0) + t_sums[key]
    assert ok and all(np.array_equal(table[k], total[k]) for k in keys)  # the same integers
