"""The pair kernel (R(k) + R(l) - R() + w_kl, w_kl over the subsets of the pair's drivers met
by both) against the model computed month by month for every pair, on random worlds: several
segments and partial targeting, delighters, initiatives sharing a driver, go-live months inside
and past the horizon, failed deliveries, and severities of exactly 1."""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest

from cxopt.engine.arrays import PairTables
from cxopt.kernels.pairs import pair_values
from tests.kernels import reference
from tests.kernels.builders import random_world

RTOL = 1e-12
WORLDS = {  # name: (seed, shape)
    "two segments": (1, dict(n_init=6, trials=20)),
    "one segment, three fixes each": (2, dict(n_seg=1, n_pains=4, n_delighters=1, max_fixes=3, n_init=6, trials=20)),
    "three segments, two delighters": (3, dict(n_seg=3, n_pains=3, n_delighters=2, n_groups=60, trials=20)),
    "severities of exactly 1": (4, dict(n_pains=3, severity_one=0.3, trials=20)),
    "more trials than a block": (5, dict(n_init=4, trials=37, n_groups=20)),
}


def make_world(name: str) -> dict:
    seed, shape = WORLDS[name]
    return random_world(seed, **shape)


def every_pair(n: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n), 2)), dtype=np.int64).reshape(-1, 2)


def with_all_portfolios(w: dict) -> dict:
    K = w["fix_ptr"].size - 1
    w = dict(w)
    w["portfolios"] = [[]] + [[k] for k in range(K)] + [list(p) for p in every_pair(K)]
    return w


def kernel(w: dict, pairs: np.ndarray, rev: np.ndarray, cust: np.ndarray, max_drivers: int = 64):
    """pair_values on the world, given the reference's baseline and singles."""
    K = w["fix_ptr"].size - 1
    pt = PairTables(w["fix_ptr"], w["fix_driver"], w["g_mask"], pairs, max_drivers)
    assert pt.slow.size == 0
    return pair_values(pt.pairs, pt.u_ptr, pt.u_driver, pt.u_fix, pt.x_ptr, pt.x_local, pt.x_index, pt.xs_mask,
                       pt.ent_ptr, pt.ent_group, w["g_seg"], w["g_mask"], w["g_n"], w["g_a"], w["g_b"], w["g_c"],
                       w["n_pains"], w["n_seg"], w["strength"], w["market"], w["effect"], w["seg_target"],
                       w["success"], w["golive"], w["horizon"], rev[0], cust[0],
                       np.ascontiguousarray(rev[1:K + 1]), np.ascontiguousarray(cust[1:K + 1]))


@pytest.fixture(scope="module", params=sorted(WORLDS))
def world(request):
    w = with_all_portfolios(make_world(request.param))
    rev, cust = reference.grouped(w)
    return w, rev, cust


def test_pair_values_match_the_model_month_by_month(world):
    w, rev, cust = world
    K = w["fix_ptr"].size - 1
    pairs = every_pair(K)
    got_rev, got_cust = kernel(w, pairs, rev, cust)
    np.testing.assert_allclose(got_rev, rev[K + 1:], rtol=RTOL)
    np.testing.assert_allclose(got_cust, cust[K + 1:], rtol=RTOL)


def test_interactions_match_the_model_to_rounding_of_the_revenue(world):
    # w_kl is a small difference of large numbers: held to 1e-12 of the baseline, not of itself
    w, rev, cust = world
    K = w["fix_ptr"].size - 1
    pairs = every_pair(K)
    got_rev, _ = kernel(w, pairs, rev, cust)
    singles = rev[1:K + 1]
    want = rev[K + 1:] - singles[pairs[:, 0]] - singles[pairs[:, 1]] + rev[0]
    got = got_rev - singles[pairs[:, 0]] - singles[pairs[:, 1]] + rev[0]
    assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(rev[0]))
    assert np.max(np.abs(want)) > 1e-6 * np.max(np.abs(rev[0]))  # the worlds do interact


def test_a_pair_with_a_member_not_delivered_is_exactly_the_other_single(world):
    w, rev, cust = world
    K = w["fix_ptr"].size - 1
    pairs = every_pair(K)
    got_rev, got_cust = kernel(w, pairs, rev, cust)
    acts = w["success"] & (w["golive"] < w["horizon"])  # (T, K)
    for q, (k, l) in enumerate(pairs):
        only_k = acts[:, k] & ~acts[:, l]
        assert np.array_equal(got_rev[q, ~acts[:, l]], rev[1 + k, ~acts[:, l]])
        assert np.array_equal(got_cust[q, only_k], cust[1 + k, only_k])
        assert np.array_equal(got_rev[q, ~acts[:, k] & acts[:, l]], rev[1 + l, ~acts[:, k] & acts[:, l]])


def test_the_worlds_reach_the_paths_they_are_named_for():
    w = make_world("severities of exactly 1")
    assert any(w["strength"][t, j] == 1.0 and w["success"][t, k] and w["golive"][t, k] < w["horizon"]
               for t in range(20) for k in range(6) for j in w["fix_lists"][k] if j < 3)
    w = make_world("one segment, three fixes each")
    shared = [set(a) & set(b) for a, b in itertools.combinations(w["fix_lists"], 2)]
    assert any(shared) and not all(shared)  # pairs fixing a common driver, and pairs that do not


def test_the_tables_do_not_depend_on_the_thread_count():
    w = with_all_portfolios(random_world(3, n_init=6, trials=70, n_groups=50))
    rev, cust = reference.grouped(dict(w, portfolios=w["portfolios"][:7]))
    pairs = every_pair(6)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kernel(w, pairs, rev, cust)
        numba.set_num_threads(max(2, before))
        many = kernel(w, pairs, rev, cust)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])


def test_pair_tables_list_only_subsets_meeting_both_members_and_some_group():
    # drivers 0, 1 (k), 2 (l), 3 (both); groups meet {0, 2}, {1, 3}, {0, 1}
    fix_ptr = np.array([0, 3, 5])
    fix_driver = np.array([0, 1, 3, 2, 3])
    g_mask = np.array([0b0101, 0b1010, 0b0011], dtype=np.uint64)
    pt = PairTables(fix_ptr, fix_driver, g_mask, np.array([[0, 1]]), 6)
    listed = sorted(int(pt.xs_mask[x]) for x in pt.x_index)
    # {0,2} and {1,3} are met by a group and meet both; {0,1} is k's own; {3} alone is shared
    assert listed == sorted([0b0101, 0b1010, 0b1000])
    assert pt.u_driver.tolist() == [0, 1, 2, 3]
    assert pt.u_fix.tolist() == [[0, -1], [1, -1], [-1, 3], [2, 4]]
    for x in range(pt.xs_mask.size):  # each subset's groups: exactly those meeting all of it
        m = pt.xs_mask[x]
        want = np.flatnonzero((g_mask & m) == m)
        assert pt.ent_group[pt.ent_ptr[x]:pt.ent_ptr[x + 1]].tolist() == want.tolist()
    assert PairTables(fix_ptr, fix_driver, g_mask, np.array([[0, 1]]), 3).slow.tolist() == [0]
