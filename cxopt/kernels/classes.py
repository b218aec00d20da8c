"""The grouped evaluation by class sums, the fast path (DESIGN.md section 1, "Grouped").

A portfolio acting on the drivers T changes a group's retention only through (segment, the
group's mask restricted to T): its "class". Per trial, the baseline-weighted group sums are
added up per class once for each distinct T, and every epoch of every portfolio using T
then costs O(classes) instead of O(groups) (:mod:`cxopt.kernels.valuation`). A trial in
which a touched pain has severity exactly 1 is valued per group instead, exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import BY_CLASS, JIT, TRIAL_CHUNK
from cxopt.kernels.epochs import (baseline_sums, epoch, epoch_change, golive_months, live_at, pain_factors,
                                  trial_scratch, value_trials)


@njit(**JIT)
def evaluate_grouped_classes(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                             g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg,
                             strength, market, fix_ptr, fix_driver, effect, seg_target,
                             success, golive, horizon):
    """Same result as :func:`cxopt.kernels.grouped.evaluate_grouped`, by class sums.

    Extra parameters
    ----------------
    port_set : (P,) index of each portfolio's driver set; portfolios must be sorted by it
    set_ptr, set_drivers : CSR, the drivers of each distinct set T (at most 16 each)
    aff_ptr, aff_idx, aff_cls : CSR per set: affected groups and their class
        (segment * 2**|T| + bits of the mask on T)

    Returns
    -------
    revenue, customers : (P, T) float64, horizon-average retained revenue and customers
    """
    P = portfolios.shape[0]
    T = market.shape[0]
    out_rev = np.empty((P, T))
    out_cust = np.empty((P, T))
    out = (out_rev, out_cust, np.empty((0, 0, 0)), np.empty((0, 0, 0)), np.empty((0, 0, 0), dtype=np.bool_),
           np.empty((0, 0)), np.empty((0, 0)))
    value_trials(BY_CLASS, 0, T, 0, P, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                 (g_seg, g_mask, g_n, g_a, g_b, g_c), n_pains, n_seg,
                 (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive), horizon, out)
    return out_rev, out_cust


# --------------------------------------------------------------------------------------
# nested driver sets: the class sums of every set from those of their union
# --------------------------------------------------------------------------------------
@njit(**JIT)
def _union_sums(u_idx, u_cls, W, acc_u):
    """Baseline-weighted sums per class of the union U (``acc_u``: segment * 2**|U| + bits on U)."""
    for c in range(acc_u.shape[0]):
        for z in range(4):
            acc_u[c, z] = 0.0
    for q in range(u_idx.shape[0]):
        g = u_idx[q]
        c = u_cls[q]
        acc_u[c, 0] += W[g, 0]
        acc_u[c, 1] += W[g, 1]
        acc_u[c, 2] += W[g, 2]
        acc_u[c, 3] += W[g, 3]


@njit(**JIT)
def _set_sums_from_union(s_idx, u_n, proj, n_seg, n_t, acc_u, acc):
    """Set ``s_idx``'s class sums (segment * 2**|T| + bits on T) by adding up the union's classes."""
    n_cls = n_seg << n_t
    for c in range(n_cls):
        for z in range(4):
            acc[c, z] = 0.0
    width_u = 1 << u_n
    for cu in range(n_seg << u_n):
        c = ((cu >> u_n) << n_t) | proj[s_idx, cu & (width_u - 1)]
        acc[c, 0] += acc_u[cu, 0]
        acc[c, 1] += acc_u[cu, 1]
        acc[c, 2] += acc_u[cu, 2]
        acc[c, 3] += acc_u[cu, 3]
    return n_cls


@njit(**JIT)
def _nested_trial(t, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, u_n, u_idx, u_cls, proj,
                  groups, n_pains, n_seg, draws, horizon, out_rev, out_cust, scratch, acc_u):
    """Trial ``t`` of every portfolio: :func:`cxopt.kernels.epochs.value_trial` in mode BY_CLASS, but
    the class sums of each driver set are added up from the union's (O(2**|U|) a set, not O(groups))."""
    g_seg, g_mask, g_n, g_a, g_b, g_c = groups
    strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive = draws
    P0, W, base_rev, base_cust, cls_acc, not_f, touched, live, months, per_aff = scratch
    pain_factors(g_mask, n_pains, strength[t], P0)
    r0, c0 = baseline_sums(BY_CLASS, groups, P0, market[t], W, base_rev, base_cust)
    _union_sums(u_idx, u_cls, W, acc_u)
    current = -1
    n_t = 0
    n_cls = 0
    t_drivers = set_drivers[:0]
    for p in range(portfolios.shape[0]):
        s_idx = port_set[p]
        if s_idx != current:
            current = s_idx
            n_t = set_ptr[s_idx + 1] - set_ptr[s_idx]
            n_cls = _set_sums_from_union(s_idx, u_n, proj, n_seg, n_t, acc_u, cls_acc)
            t_drivers = set_drivers[set_ptr[s_idx]:set_ptr[s_idx + 1]]
        aff = aff_idx[aff_ptr[s_idx]:aff_ptr[s_idx + 1]]
        n_m = golive_months(portfolios, p, t, success, golive, horizon, months)
        if n_m == 0:  # nothing delivered within the horizon: the baseline
            out_rev[p, t] = r0
            out_cust[p, t] = c0
            continue
        acc_rev = months[0] * r0  # months before the first go-live: the baseline
        acc_cust = months[0] * c0
        for x in range(n_m):
            start, stop = epoch(months, n_m, x, horizon)
            if stop == start:
                continue
            length = stop - start
            n_live = live_at(portfolios, p, t, success, golive, start, live)
            d_rev, d_cust = epoch_change(BY_CLASS, t, n_t, t_drivers, n_cls, live, n_live, aff, groups, n_pains,
                                         n_seg, draws, scratch)
            acc_rev += length * (r0 + d_rev)
            acc_cust += length * (c0 + d_cust)
        out_rev[p, t] = acc_rev / horizon
        out_cust[p, t] = acc_cust / horizon


@njit(parallel=True, **JIT)
def evaluate_nested_classes(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                            u_n, u_idx, u_cls, proj,
                            g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg,
                            strength, market, fix_ptr, fix_driver, effect, seg_target,
                            success, golive, horizon):
    """:func:`evaluate_grouped_classes` for portfolios whose driver sets all lie in a small union U.

    Per trial the baseline-weighted sums are added up once per class of U, and each set's class
    sums from those (each set's class a union of U's classes): equal to the per-set sums up to
    the order of the additions (floating-point rounding, about 1e-16 of the revenue).

    Extra parameters
    ----------------
    u_n : |U|
    u_idx, u_cls : the groups exposed to a driver of U and their class (segment * 2**|U| + bits on U)
    proj : (sets, 2**|U|) int64, the bits on set s of each pattern of bits on U
    aff_cls : unused (kept for the same arguments as :func:`evaluate_grouped_classes`)

    Returns
    -------
    revenue, customers : (P, T) float64, horizon-average retained revenue and customers
    """
    P = portfolios.shape[0]
    T = market.shape[0]
    out_rev = np.empty((P, T))
    out_cust = np.empty((P, T))
    G = g_seg.shape[0]
    D = strength.shape[1]
    kmax = portfolios.shape[1]
    max_t = 1
    for s in range(set_ptr.shape[0] - 1):
        max_t = max(max_t, set_ptr[s + 1] - set_ptr[s])
    groups = (g_seg, g_mask, g_n, g_a, g_b, g_c)
    draws = (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive)
    chunk = max(1, min(TRIAL_CHUNK, T // 64))  # as value_trials: results do not depend on it
    n_chunks = (T + chunk - 1) // chunk
    for c in prange(n_chunks):
        scratch = trial_scratch(BY_CLASS, G, n_seg, D, kmax, max_t, 0)
        acc_u = np.empty((n_seg << u_n, 4))
        for t in range(c * chunk, min(T, (c + 1) * chunk)):
            _nested_trial(t, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, u_n, u_idx, u_cls, proj,
                          groups, n_pains, n_seg, draws, horizon, out_rev, out_cust, scratch, acc_u)
    return out_rev, out_cust
