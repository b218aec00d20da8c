"""The grouped evaluation, per affected group (DESIGN.md section 1, "Grouped"): retained
revenue and customers of each portfolio in each trial, exact in expectation over the
customers' own churn. Used for portfolios touching too many drivers for the class sums of
:mod:`cxopt.kernels.classes`; both go through :func:`cxopt.kernels.epochs.value_trial`."""

from __future__ import annotations

import numpy as np
from numba import njit

from cxopt.kernels.config import BY_GROUP, JIT
from cxopt.kernels.epochs import value_trials


@njit(**JIT)
def evaluate_grouped(portfolios, aff_ptr, aff_idx,
                     g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg,
                     strength, market, fix_ptr, fix_driver, effect, seg_target,
                     success, golive, horizon):
    """Horizon retained revenue and retained customers per (portfolio, trial).

    Parameters
    ----------
    portfolios : (P, Kmax) int32, initiative indices padded with -1 (row of -1: the baseline)
    aff_ptr, aff_idx : CSR lists of the groups each portfolio can affect
    g_* : group keys and sums N, A = sum r, B = sum r p, C = sum p
    strength : (T, D) severities (pain points, first ``n_pains``) and lifts (delighters)
    market : (T,) churn multiplier
    fix_ptr, fix_driver, effect : each initiative's fixes (CSR) and their effectiveness (T, E)
    seg_target : (K, S) bool, initiative k acts on segment s
    success : (T, K) bool; golive : (T, K) int32; horizon : H months

    Returns
    -------
    revenue, customers : (P, T) float64, horizon-average retained revenue and customers
    """
    P = portfolios.shape[0]
    T = market.shape[0]
    out_rev = np.empty((P, T))
    out_cust = np.empty((P, T))
    none = np.empty(0, dtype=np.int64)  # the class-sum inputs, unused per group
    out = (out_rev, out_cust, np.empty((0, 0, 0)), np.empty((0, 0, 0)), np.empty((0, 0, 0), dtype=np.bool_),
           np.empty((0, 0)), np.empty((0, 0)))
    value_trials(BY_GROUP, 0, T, 0, P, portfolios, none, none, none, aff_ptr, aff_idx, none,
                 (g_seg, g_mask, g_n, g_a, g_b, g_c), n_pains, n_seg,
                 (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive), horizon, out)
    return out_rev, out_cust
