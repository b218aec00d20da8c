"""How one epoch is valued: the retention of a portfolio's groups while a given set of
initiatives is live (DESIGN.md section 1, "One trial"). Three forms, one per kernel:

* :func:`live_value` — per affected group, as a change from the group's baseline (grouped);
* :func:`class_value` — per class of the touched drivers (the fast grouped path): a
  portfolio acting on the drivers T changes a group's retention only through (segment,
  the group's mask restricted to T), its "class". Per trial, the baseline-weighted sums
  P0_g A_g, P0_g B_g, P0_g N_g, P0_g C_g are added up per class once for each distinct T
  (:func:`class_sums`), and every evaluation then costs O(classes) instead of O(groups);
* :func:`epoch_factors` — per affected group, the pain and delighter products themselves
  (the sampled path's retention coefficients).

The per-trial driver that walks the epochs and calls these is :func:`cxopt.kernels.epochs.value_trial`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cxopt.kernels.config import JIT


@njit(**JIT)
def live_value(live, n_live, t, g_seg, g_mask, g_n, g_a, g_b, g_c, aff, n_pains, n_seg,
               strength, market, fix_ptr, fix_driver, effect, seg_target, P0,
               not_f, touched, base_rev, base_cust):
    """Retained revenue and customers with the initiatives ``live[:n_live]`` in force (trial t).

    Only the groups in ``aff`` (those exposed to a driver the portfolio acts on) can differ
    from the baseline; the others keep their baseline factors.
    """
    # not_f[s, j] = prod over live k targeting segment s of (1 - f_kjt) = 1 - F_sjt
    n_touched = 0
    for q in range(n_live):
        k = live[q]
        for e in range(fix_ptr[k], fix_ptr[k + 1]):
            j = fix_driver[e]
            seen = False
            for x in range(n_touched):
                if touched[x] == j:
                    seen = True
            if not seen:
                touched[n_touched] = j
                n_touched += 1
                for s in range(n_seg):
                    not_f[s, j] = 1.0
            f = effect[t, e]
            for s in range(n_seg):
                if seg_target[k, s]:
                    not_f[s, j] *= 1.0 - f
    m_t = market[t]
    d_rev = 0.0
    d_cust = 0.0
    for q in range(aff.shape[0]):
        g = aff[q]
        mk = g_mask[g]
        s = g_seg[g]
        P = P0[g]
        recompute = False
        D_fac = 1.0
        for x in range(n_touched):
            j = touched[x]
            if (mk >> np.uint64(j)) & np.uint64(1):
                F = 1.0 - not_f[s, j]
                if j < n_pains:
                    old = 1.0 - strength[t, j]
                    if old > 0.0:
                        P *= (1.0 - strength[t, j] * (1.0 - F)) / old
                    else:
                        recompute = True
                else:
                    D_fac *= 1.0 - strength[t, j] * F
        if recompute:
            P = 1.0
            for j in range(n_pains):
                if (mk >> np.uint64(j)) & np.uint64(1):
                    F = 0.0
                    for x in range(n_touched):
                        if touched[x] == j:
                            F = 1.0 - not_f[s, j]
                    P *= 1.0 - strength[t, j] * (1.0 - F)
        d_rev += P * (g_a[g] - m_t * D_fac * g_b[g]) - base_rev[g]
        d_cust += P * (g_n[g] - m_t * D_fac * g_c[g]) - base_cust[g]
    return d_rev, d_cust


@njit(**JIT)
def class_sums(s_idx, aff_ptr, aff_idx, aff_cls, set_ptr, n_seg, W, acc):
    """Baseline-weighted sums per class of driver set ``s_idx`` into ``acc``; (|T|, classes)."""
    n_t = set_ptr[s_idx + 1] - set_ptr[s_idx]
    n_cls = n_seg << n_t
    for c in range(n_cls):
        for z in range(4):
            acc[c, z] = 0.0
    for q in range(aff_ptr[s_idx], aff_ptr[s_idx + 1]):
        g = aff_idx[q]
        c = aff_cls[q]
        acc[c, 0] += W[g, 0]
        acc[c, 1] += W[g, 1]
        acc[c, 2] += W[g, 2]
        acc[c, 3] += W[g, 3]
    return n_t, n_cls


@njit(**JIT)
def left_unfixed(n_t, t_drivers, live, n_live, t, n_pains, n_seg, strength, fix_ptr, fix_driver, effect,
                 seg_target, not_f):
    """``not_f[s, x]``: the share of touched driver ``x`` (``t_drivers[x]``) left unfixed in segment ``s`` by
    the initiatives ``live[:n_live]`` in trial ``t``. False (and ``not_f`` unfinished) when a touched pain
    has severity exactly 1 in this trial: the ratio form of the class sums cannot be used."""
    for x in range(n_t):
        j = t_drivers[x]
        for s in range(n_seg):
            not_f[s, x] = 1.0
        if j < n_pains and strength[t, j] >= 1.0:
            return False
    for q in range(n_live):
        k = live[q]
        for e in range(fix_ptr[k], fix_ptr[k + 1]):
            j = fix_driver[e]
            x = 0
            while t_drivers[x] != j:
                x += 1
            f = effect[t, e]
            for s in range(n_seg):
                if seg_target[k, s]:
                    not_f[s, x] *= 1.0 - f
    return True


@njit(**JIT)
def class_value(n_t, t_drivers, n_cls, acc, live, n_live, t, n_pains, n_seg, strength, m_t,
                fix_ptr, fix_driver, effect, seg_target, not_f):
    """Change in retained revenue and customers from the baseline, with ``live`` in force.

    Returns (d_rev, d_cust, ok); ok is False when a touched pain has severity exactly 1 in
    this trial (its baseline factor is 0 and the ratio form cannot be used).
    """
    if not left_unfixed(n_t, t_drivers, live, n_live, t, n_pains, n_seg, strength, fix_ptr, fix_driver, effect,
                        seg_target, not_f):
        return 0.0, 0.0, False
    width = 1 << n_t
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
        R = 1.0
        Dd = 1.0
        for x in range(n_t):
            if (bits >> x) & 1:
                j = t_drivers[x]
                F = 1.0 - not_f[s, x]
                sig = strength[t, j]
                if j < n_pains:
                    R *= (1.0 - sig * (1.0 - F)) / (1.0 - sig)
                else:
                    Dd *= 1.0 - sig * F
        sb = acc[c, 1]
        sc_ = acc[c, 3]
        d_rev += R * (sa - m_t * Dd * sb) - (sa - m_t * sb)
        d_cust += R * (sn - m_t * Dd * sc_) - (sn - m_t * sc_)
    return d_rev, d_cust, True


@njit(**JIT)
def epoch_factors(live, n_live, t, aff, g_seg, g_mask, n_pains, n_drivers, strength, fix_ptr, fix_driver,
                  effect, seg_target, not_f, pain_f, delight_f):
    """Per affected group: the pain product P and delighter product D with ``live`` in force."""
    n_seg = not_f.shape[0]
    D = n_drivers
    for s in range(n_seg):
        for j in range(D):
            not_f[s, j] = 1.0
    # not_f[s, j] = prod over live k targeting segment s of (1 - f_kjt) = 1 - F_sjt
    for q in range(n_live):
        k = live[q]
        for e in range(fix_ptr[k], fix_ptr[k + 1]):
            j = fix_driver[e]
            f = effect[t, e]
            for s in range(n_seg):
                if seg_target[k, s]:
                    not_f[s, j] *= 1.0 - f
    for q in range(aff.shape[0]):
        g = aff[q]
        mk = g_mask[g]
        s = g_seg[g]
        P = 1.0
        Dd = 1.0
        for j in range(D):
            if (mk >> np.uint64(j)) & np.uint64(1):
                if j < n_pains:
                    # 1 - sigma (1 - F); with no fix in force not_f = 1, i.e. 1 - sigma exactly
                    P *= 1.0 - strength[t, j] * not_f[s, j]
                else:
                    Dd *= 1.0 - strength[t, j] * (1.0 - not_f[s, j])
        pain_f[q] = P
        delight_f[q] = Dd
