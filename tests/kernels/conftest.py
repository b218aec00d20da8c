"""Kernels are compiled (or loaded from numba's cache) once, before any test is timed."""

from __future__ import annotations

import numpy as np
import pytest

from cxopt.kernels import classes, fixed, grouped, grouping, sampled
from tests.kernels.builders import class_args, grouped_args, random_world, sampled_args


@pytest.fixture(scope="session", autouse=True)
def warm_kernels():
    w = random_world(0, n_groups=8, trials=2, n_init=2)
    grouped.evaluate_grouped(*grouped_args(w))
    classes.evaluate_grouped_classes(*class_args(w)[0])
    coef = sampled.retention_coefficients(*sampled_args(w, 0, 2, 0, 2))
    ids = np.arange(3, dtype=np.int64)
    rw, rf = fixed.split_revenue(np.ones(3))
    sampled.sample_retained(np.uint64(1), 0, ids, np.full(3, 0.1), np.zeros(3, dtype=np.int64), rw, rf, *coef, 2)
    sampled.customer_uniforms(np.uint64(1), ids, 0)
    seg = np.zeros(3, dtype=np.int32)
    mask = np.zeros(3, dtype=np.uint64)
    t_seg, t_mask, sums, maxp, _ = grouping.group_chunk(seg, mask, np.ones(3), np.full(3, 0.1), 2, 8)
    grouping.group_chunk_dense(seg, mask, np.ones(3), np.full(3, 0.1), 2, 2)
    g_seg = np.full(8, -1, dtype=np.int32)
    grouping.merge_groups(g_seg, np.zeros(8, np.uint64), np.zeros((8, 7), np.int64), np.zeros(8), t_seg, t_mask,
                          sums, maxp)
    grouping.pack_mask(np.zeros((3, 2), dtype=np.bool_))
