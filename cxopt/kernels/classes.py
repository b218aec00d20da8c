"""The grouped evaluation by class sums, the fast path (DESIGN.md section 1, "Grouped").

A portfolio acting on the drivers T changes a group's retention only through (segment, the
group's mask restricted to T): its "class". Per trial, the baseline-weighted group sums are
added up per class once for each distinct T, and every epoch of every portfolio using T
then costs O(classes) instead of O(groups) (:mod:`cxopt.kernels.valuation`). A trial in
which a touched pain has severity exactly 1 is valued per group instead, exactly.

The class sums of all the sets are taken in one pass over the groups per trial: each group
adds its weights to every set's class it falls in (a list per group, built once per call).
Each set's sums are then the same additions in the same order (ascending group) as a pass
per set, bit for bit; only the additions of different sets interleave, so they no longer
wait on one another. When the sets all lie in a small union U (a plan's subsets of the
chosen portfolio), :func:`evaluate_nested_classes` sums the groups into U's classes only and
adds each set's class sums up from those. An epoch's value per class looks its products up in a
table of the touched drivers' patterns (:func:`class_value_by_table`, the same bits as
:func:`cxopt.kernels.valuation.class_value`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import BY_CLASS, JIT, TRIAL_CHUNK
from cxopt.kernels.epochs import (baseline_sums, epoch, golive_months, live_at, pain_factors, trial_scratch)
from cxopt.kernels.valuation import left_unfixed, live_value


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
    aff_ptr, aff_idx, aff_cls : CSR per set: affected groups (ascending) and their class
        (segment * 2**|T| + bits of the mask on T)

    Returns
    -------
    revenue, customers : (P, T) float64, horizon-average retained revenue and customers
    """
    n_sets = set_ptr.shape[0] - 1
    off = np.zeros(n_sets + 1, dtype=np.int64)  # each set's rows in the per-trial table of class sums
    for s in range(n_sets):
        off[s + 1] = off[s] + (n_seg << (set_ptr[s + 1] - set_ptr[s]))
    grp_ptr, grp_slot = groups_to_slots(g_seg.shape[0], aff_ptr, aff_idx, aff_cls, off)
    return _evaluate(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, grp_ptr, grp_slot, off,
                     0, np.zeros((0, 0), dtype=np.int64), off[n_sets],
                     (g_seg, g_mask, g_n, g_a, g_b, g_c), n_pains, n_seg,
                     (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive), horizon,
                     np.empty((0, 0, 0)), np.empty((0, 0, 0)))  # averages, no monthly paths


@njit(**JIT)
def paths_by_class(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                   g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg,
                   strength, market, fix_ptr, fix_driver, effect, seg_target,
                   success, golive, horizon, path_rev, path_cust):
    """The monthly paths of many portfolios in one call: ``path_rev[p, t, tau]``, ``path_cust[p, t, tau]``,
    the retained revenue and customers in force in month tau (arguments as
    :func:`evaluate_grouped_classes`; per portfolio the same values as
    :func:`cxopt.kernels.epochs.value_paths` in mode BY_CLASS on the same groups, bit for bit)."""
    n_sets = set_ptr.shape[0] - 1
    off = np.zeros(n_sets + 1, dtype=np.int64)
    for s in range(n_sets):
        off[s + 1] = off[s] + (n_seg << (set_ptr[s + 1] - set_ptr[s]))
    grp_ptr, grp_slot = groups_to_slots(g_seg.shape[0], aff_ptr, aff_idx, aff_cls, off)
    _evaluate(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, grp_ptr, grp_slot, off,
              0, np.zeros((0, 0), dtype=np.int64), off[n_sets], (g_seg, g_mask, g_n, g_a, g_b, g_c), n_pains, n_seg,
              (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive), horizon, path_rev, path_cust)


@njit(**JIT)
def groups_to_slots(G, list_ptr, list_idx, list_cls, list_off):
    """The lists of groups per set turned into lists of rows per group: ``grp_slot[grp_ptr[g]:grp_ptr[g + 1]]``
    are the rows (``list_off[set] + class``) group g adds to, set by set."""
    grp_ptr = np.zeros(G + 1, dtype=np.int64)
    for q in range(list_idx.shape[0]):
        grp_ptr[list_idx[q] + 1] += 1
    for g in range(G):
        grp_ptr[g + 1] += grp_ptr[g]
    slot = np.empty(list_idx.shape[0], dtype=np.int64)
    fill = grp_ptr[:G].copy()
    for s in range(list_ptr.shape[0] - 1):
        for q in range(list_ptr[s], list_ptr[s + 1]):
            g = list_idx[q]
            slot[fill[g]] = list_off[s] + list_cls[q]
            fill[g] += 1
    return grp_ptr, slot


@njit(**JIT)
def _class_pass(W, grp_ptr, grp_slot, n_rows, acc):
    """Per-trial class sums: every group's weights added to each of its rows (``acc[:n_rows]``)."""
    for r in range(n_rows):
        for z in range(4):
            acc[r, z] = 0.0
    for g in range(grp_ptr.shape[0] - 1):
        w0 = W[g, 0]
        w1 = W[g, 1]
        w2 = W[g, 2]
        w3 = W[g, 3]
        for e in range(grp_ptr[g], grp_ptr[g + 1]):
            r = grp_slot[e]
            acc[r, 0] += w0
            acc[r, 1] += w1
            acc[r, 2] += w2
            acc[r, 3] += w3


@njit(**JIT)
def _set_sums_from_union(s_idx, u_n, proj, n_seg, n_t, acc, row):
    """Set ``s_idx``'s class sums (segment * 2**|T| + bits on T) into ``acc[row:]``, added up from the
    union's classes in ``acc[:n_seg << u_n]``."""
    n_cls = n_seg << n_t
    for c in range(n_cls):
        for z in range(4):
            acc[row + c, z] = 0.0
    width_u = 1 << u_n
    for cu in range(n_seg << u_n):
        c = row + (((cu >> u_n) << n_t) | proj[s_idx, cu & (width_u - 1)])
        acc[c, 0] += acc[cu, 0]
        acc[c, 1] += acc[cu, 1]
        acc[c, 2] += acc[cu, 2]
        acc[c, 3] += acc[cu, 3]


@njit(**JIT)
def class_value_by_table(n_t, t_drivers, n_cls, acc, live, n_live, t, n_pains, n_seg, strength, m_t,
                         fix_ptr, fix_driver, effect, seg_target, not_f, tab_r, tab_d):
    """:func:`cxopt.kernels.valuation.class_value`, bit for bit, with each class's products looked up.

    ``class_value`` multiplies, per class, the factor of every touched driver the class meets (a
    division per pain); here each driver's factor is computed once per segment and the products of
    every pattern of bits are tabulated (``tab_r``, ``tab_d``: (segments, >= 2**|T|)), each built
    from the pattern without its highest bit times that bit's factor: the same factors multiplied
    in the same ascending order from 1.0, so the same bits, in 2**|T| steps instead of |T| 2**|T|.
    """
    if not left_unfixed(n_t, t_drivers, live, n_live, t, n_pains, n_seg, strength, fix_ptr, fix_driver, effect,
                        seg_target, not_f):
        return 0.0, 0.0, False
    width = 1 << n_t
    for s in range(n_seg):
        tab_r[s, 0] = 1.0
        tab_d[s, 0] = 1.0
        high = -1
        for m in range(1, width):
            if m == 1 << (high + 1):
                high += 1
            prev = m ^ (1 << high)
            j = t_drivers[high]
            F = 1.0 - not_f[s, high]
            sig = strength[t, j]
            if j < n_pains:
                tab_r[s, m] = tab_r[s, prev] * ((1.0 - sig * (1.0 - F)) / (1.0 - sig))
                tab_d[s, m] = tab_d[s, prev]
            else:
                tab_r[s, m] = tab_r[s, prev]
                tab_d[s, m] = tab_d[s, prev] * (1.0 - sig * F)
    d_rev = 0.0
    d_cust = 0.0
    for c in range(n_cls):
        bits = c & (width - 1)
        if bits == 0:
            continue
        s = c >> n_t
        sa = acc[c, 0]
        sn = acc[c, 2]
        if sa == 0.0 and sn == 0.0:
            continue
        R = tab_r[s, bits]
        Dd = tab_d[s, bits]
        sb = acc[c, 1]
        sc_ = acc[c, 3]
        d_rev += R * (sa - m_t * Dd * sb) - (sa - m_t * sb)
        d_cust += R * (sn - m_t * Dd * sc_) - (sn - m_t * sc_)
    return d_rev, d_cust, True


@njit(**JIT)
def _trial(t, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, grp_ptr, grp_slot, off, u_n, proj,
           n_pass, groups, n_pains, n_seg, draws, horizon, out_rev, out_cust, path_rev, path_cust, scratch, acc,
           tab_r, tab_d):
    """Trial ``t`` of every portfolio, as :func:`cxopt.kernels.epochs.value_trial` in mode BY_CLASS
    (the same epochs, live sets and valuation), with the class sums of :func:`_class_pass`; ``proj``
    non-empty: those are the union's, and each set's are added up from them when it is first met.
    With ``path_rev`` non-empty, each month's value in force goes to ``path_rev[p, t, tau]`` (as
    :func:`cxopt.kernels.epochs.value_path`) instead of the horizon's average to ``out_rev[p, t]``."""
    g_seg, g_mask, g_n, g_a, g_b, g_c = groups
    strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive = draws
    P0, W, base_rev, base_cust, cls_acc, not_f, touched, live, months, per_aff = scratch
    pain_factors(g_mask, n_pains, strength[t], P0)
    m_t = market[t]
    r0, c0 = baseline_sums(BY_CLASS, groups, P0, m_t, W, base_rev, base_cust)
    _class_pass(W, grp_ptr, grp_slot, n_pass, acc)
    nested = proj.shape[0] > 0
    by_month = path_rev.shape[0] > 0
    current = -1
    n_t = 0
    n_cls = 0
    t_drivers = set_drivers[:0]
    for p in range(portfolios.shape[0]):
        s_idx = port_set[p]
        if s_idx != current:
            current = s_idx
            n_t = set_ptr[s_idx + 1] - set_ptr[s_idx]
            n_cls = n_seg << n_t
            if nested:
                _set_sums_from_union(s_idx, u_n, proj, n_seg, n_t, acc, off[s_idx])
            t_drivers = set_drivers[set_ptr[s_idx]:set_ptr[s_idx + 1]]
        n_m = golive_months(portfolios, p, t, success, golive, horizon, months)
        if by_month:
            for tau in range(months[0] if n_m > 0 else horizon):  # before the first go-live: the baseline
                path_rev[p, t, tau] = r0
                path_cust[p, t, tau] = c0
        if n_m == 0:  # nothing delivered within the horizon: the baseline
            if not by_month:
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
            d_rev, d_cust, ok = class_value_by_table(n_t, t_drivers, n_cls, acc[off[s_idx]:off[s_idx] + n_cls], live,
                                                     n_live, t, n_pains, n_seg, strength, m_t, fix_ptr, fix_driver,
                                                     effect, seg_target, not_f, tab_r, tab_d)
            if not ok:  # a severity of exactly 1, where the ratio form fails: per group
                d_rev, d_cust = live_value(live, n_live, t, g_seg, g_mask, g_n, g_a, g_b, g_c,
                                           aff_idx[aff_ptr[s_idx]:aff_ptr[s_idx + 1]], n_pains, n_seg, strength,
                                           market, fix_ptr, fix_driver, effect, seg_target, P0, not_f, touched,
                                           base_rev, base_cust)
            if by_month:
                for tau in range(start, stop):
                    path_rev[p, t, tau] = r0 + d_rev
                    path_cust[p, t, tau] = c0 + d_cust
                continue
            acc_rev += length * (r0 + d_rev)
            acc_cust += length * (c0 + d_cust)
        if not by_month:
            out_rev[p, t] = acc_rev / horizon
            out_cust[p, t] = acc_cust / horizon


@njit(parallel=True, **JIT)
def _evaluate(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, grp_ptr, grp_slot, off, u_n, proj,
              n_pass, groups, n_pains, n_seg, draws, horizon, path_rev, path_cust):
    """:func:`_trial` for every trial, in parallel over chunks of trials (each trial writes its own
    column: the result does not depend on the chunking or the thread count)."""
    P = portfolios.shape[0]
    T = draws[1].shape[0]
    by_month = path_rev.shape[0] > 0
    out_rev = np.empty((0 if by_month else P, T))
    out_cust = np.empty((0 if by_month else P, T))
    G = groups[0].shape[0]
    D = draws[0].shape[1]
    kmax = portfolios.shape[1]
    max_t = 1
    for s in range(set_ptr.shape[0] - 1):
        max_t = max(max_t, set_ptr[s + 1] - set_ptr[s])
    rows = off[off.shape[0] - 1]
    chunk = max(1, min(TRIAL_CHUNK, T // 64))  # as value_trials
    n_chunks = (T + chunk - 1) // chunk
    for c in prange(n_chunks):
        scratch = trial_scratch(BY_CLASS, G, n_seg, D, kmax, max_t, 0)
        acc = np.empty((max(rows, 1), 4))
        tab_r = np.empty((n_seg, 1 << max_t))
        tab_d = np.empty((n_seg, 1 << max_t))
        for t in range(c * chunk, min(T, (c + 1) * chunk)):
            _trial(t, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, grp_ptr, grp_slot, off, u_n,
                   proj, n_pass, groups, n_pains, n_seg, draws, horizon, out_rev, out_cust, path_rev, path_cust,
                   scratch, acc, tab_r, tab_d)
    return out_rev, out_cust


@njit(**JIT)
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
    n_sets = set_ptr.shape[0] - 1
    n_u = n_seg << u_n
    off = np.zeros(n_sets + 1, dtype=np.int64)  # the union's rows first, then each set's
    off[0] = n_u
    for s in range(n_sets):
        off[s + 1] = off[s] + (n_seg << (set_ptr[s + 1] - set_ptr[s]))
    u_ptr = np.zeros(2, dtype=np.int64)
    u_ptr[1] = u_idx.shape[0]
    grp_ptr, grp_slot = groups_to_slots(g_seg.shape[0], u_ptr, u_idx, u_cls, np.zeros(1, dtype=np.int64))
    return _evaluate(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, grp_ptr, grp_slot, off,
                     u_n, proj, n_u, (g_seg, g_mask, g_n, g_a, g_b, g_c), n_pains, n_seg,
                     (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive), horizon,
                     np.empty((0, 0, 0)), np.empty((0, 0, 0)))  # averages, no monthly paths
