"""Counter-based uniforms: a pure function of (key, customer, trial), whatever the chunking."""

from __future__ import annotations

import numpy as np

from cxopt.kernels import random as kernel_random
from cxopt.kernels.sampled import customer_uniforms
from tests.kernels import reference

KEY = np.uint64(0x1234_5678_9ABC_DEF1)


def test_uniforms_match_splitmix64_in_python_integers():
    ids = np.array([0, 1, 2, 17, 2**40 + 3, 2**62], dtype=np.int64)
    for t in (0, 1, 999):
        got = customer_uniforms(KEY, ids, t)
        want = [reference.counter_uniform(int(KEY), int(i), t) for i in ids]
        assert got.tolist() == want


def test_uniforms_do_not_depend_on_how_customers_are_chunked():
    ids = np.random.default_rng(3).permutation(5000).astype(np.int64)
    whole = customer_uniforms(KEY, ids, 7)
    for cuts in ([1], [999, 1000, 4096], list(range(0, 5000, 333))):
        pieces = [customer_uniforms(KEY, part, 7) for part in np.split(ids, cuts)]
        assert np.array_equal(np.concatenate(pieces), whole)
    # and not on the order either: a customer's uniform is its own
    order = np.argsort(ids)
    assert np.array_equal(customer_uniforms(KEY, ids[order], 7), whole[order])


def test_fill_uniforms_writes_the_same_numbers_into_a_buffer():
    ids = np.arange(100, dtype=np.int64)
    u = np.full(100, -1.0)
    kernel_random.fill_uniforms(KEY, ids, 3, u)
    assert np.array_equal(u, customer_uniforms(KEY, ids, 3))


def test_uniforms_are_inside_the_open_interval_and_look_uniform():
    u = customer_uniforms(KEY, np.arange(200_000, dtype=np.int64), 5)
    assert u.min() > 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts - 20_000) < 5 * np.sqrt(20_000))


def test_streams_differ_by_trial_and_by_key():
    ids = np.arange(1000, dtype=np.int64)
    a = customer_uniforms(KEY, ids, 0)
    assert abs(np.corrcoef(a, customer_uniforms(KEY, ids, 1))[0, 1]) < 0.1
    assert abs(np.corrcoef(a, customer_uniforms(KEY ^ np.uint64(1), ids, 0))[0, 1]) < 0.1
