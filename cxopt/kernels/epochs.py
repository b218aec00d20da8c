"""Epochs, the months between go-live dates in which a portfolio's live set is constant, and
the one per-trial driver every portfolio evaluation goes through (DESIGN.md section 1, "One
trial"): per trial, the baseline factors of every group; then for each portfolio, its
delivered members' go-live months -> epochs -> the live set -> the epoch's value (by
:mod:`cxopt.kernels.valuation`), weighted by the epoch's length.

Which value is taken is a mode (:data:`cxopt.kernels.config.BY_GROUP`, ``BY_CLASS``,
``FACTORS``): numba cannot pass a valuer in as a closure across ``prange``, so the driver
branches on an integer; the thin entry points (:mod:`grouped`, :mod:`classes`,
:mod:`sampled`) fix the mode and the output arrays.

The monthly path (:func:`value_paths`) walks the same epochs but keeps each month's value
instead of the horizon's average: one call gives every month of every trial of a portfolio
(tracking evaluates its particles' paths with it, once per move).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import BY_CLASS, FACTORS, JIT, TRIAL_CHUNK
from cxopt.kernels.valuation import class_sums, class_value, epoch_factors, live_value


@njit(**JIT)
def trailing_zeros_loop(x):
    """The position of the lowest set bit of a non-zero uint64, by a loop (what LLVM's cttz gives)."""
    n = 0
    while not (x >> np.uint64(n)) & np.uint64(1):
        n += 1
    return n


try:  # LLVM's cttz, one instruction: numba-internal but long stable; the loop where a numba moved it
    from numba.cpython.unsafe.numbers import trailing_zeros
except ImportError:  # pragma: no cover
    trailing_zeros = trailing_zeros_loop


# --------------------------------------------------------------------------------------
# the epoch walker
# --------------------------------------------------------------------------------------
@njit(**JIT)
def golive_months(portfolios, p, t, success, golive, horizon, months):
    """Sorted go-live months (within the horizon) of portfolio p's delivered members in trial t.

    Fills ``months[:n]`` and returns n; 0 means the portfolio never acts in this trial.
    """
    n_m = 0
    for q in range(portfolios.shape[1]):
        k = portfolios[p, q]
        if k < 0:
            break
        if success[t, k] and golive[t, k] < horizon:
            months[n_m] = golive[t, k]
            n_m += 1
    for a in range(1, n_m):  # insertion sort: a handful of months, no allocation
        v = months[a]
        b = a - 1
        while b >= 0 and months[b] > v:
            months[b + 1] = months[b]
            b -= 1
        months[b + 1] = v
    return n_m


@njit(**JIT)
def epoch(months, n_m, x, horizon):
    """(start, stop) of the epoch opened by ``months[x]``; stop == start for a repeated month."""
    start = months[x]
    if x + 1 < n_m and months[x + 1] == start:
        return start, start
    stop = horizon
    for y in range(x + 1, n_m):
        if months[y] > start:
            stop = months[y]
            break
    return start, stop


@njit(**JIT)
def live_at(portfolios, p, t, success, golive, month, live):
    """Portfolio p's members live in ``month`` of trial t, into ``live``; returns how many."""
    n_live = 0
    for q in range(portfolios.shape[1]):
        k = portfolios[p, q]
        if k < 0:
            break
        if success[t, k] and golive[t, k] <= month:
            live[n_live] = k
            n_live += 1
    return n_live


@njit(**JIT)
def baseline_factors(g_mask, n_pains, sev, P0):
    """P0[g] = prod over pain points j met by group g of (1 - sigma_j)."""
    for g in range(g_mask.shape[0]):
        m = g_mask[g]
        f = 1.0
        for j in range(n_pains):  # branch-free: bit 0 multiplies by 1
            f *= 1.0 - sev[j] * np.float64((m >> np.uint64(j)) & np.uint64(1))
        P0[g] = f


@njit(**JIT)
def baseline_sums(mode, groups, P0, m_t, W, base_rev, base_cust):
    """Per group, the baseline retained revenue and customers (and BY_CLASS: the baseline-weighted
    sums ``W``) of a trial whose pain factors are ``P0``; returns their totals (r0, c0)."""
    g_seg, g_mask, g_n, g_a, g_b, g_c = groups
    r0 = 0.0
    c0 = 0.0
    if mode == BY_CLASS:
        for g in range(g_seg.shape[0]):
            W[g, 0] = P0[g] * g_a[g]
            W[g, 1] = P0[g] * g_b[g]
            W[g, 2] = P0[g] * g_n[g]
            W[g, 3] = P0[g] * g_c[g]
            base_rev[g] = W[g, 0] - m_t * W[g, 1]
            base_cust[g] = W[g, 2] - m_t * W[g, 3]
            r0 += base_rev[g]
            c0 += base_cust[g]
    else:
        for g in range(g_seg.shape[0]):
            base_rev[g] = P0[g] * (g_a[g] - m_t * g_b[g])
            base_cust[g] = P0[g] * (g_n[g] - m_t * g_c[g])
            r0 += base_rev[g]
            c0 += base_cust[g]
    return r0, c0


@njit(**JIT)
def epoch_change(mode, t, n_t, t_drivers, n_cls, live, n_live, aff, groups, n_pains, n_seg, draws, scratch):
    """Change in retained revenue and customers from trial t's baseline while ``live[:n_live]`` is in
    force (BY_CLASS: by the class sums in the scratch, per group where a severity is exactly 1)."""
    g_seg, g_mask, g_n, g_a, g_b, g_c = groups
    strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive = draws
    P0, W, base_rev, base_cust, cls_acc, not_f, touched, live_buf, months, per_aff = scratch
    d_rev = 0.0
    d_cust = 0.0
    ok = False
    if mode == BY_CLASS:
        d_rev, d_cust, ok = class_value(n_t, t_drivers, n_cls, cls_acc, live, n_live, t, n_pains, n_seg,
                                        strength, market[t], fix_ptr, fix_driver, effect, seg_target, not_f)
    if not ok:  # per group (BY_CLASS: a severity of exactly 1, where the ratio form fails)
        d_rev, d_cust = live_value(live, n_live, t, g_seg, g_mask, g_n, g_a, g_b, g_c, aff, n_pains,
                                   n_seg, strength, market, fix_ptr, fix_driver, effect, seg_target,
                                   P0, not_f, touched, base_rev, base_cust)
    return d_rev, d_cust


@njit(**JIT)
def pain_factors(g_mask, n_pains, sev, P0):
    """:func:`baseline_factors` into ``P0[:G]``, the same bits, faster: the product over a group's low
    pain points from a table of every subset's product (``P0[G:]`` holds it: the largest ``2**L <=
    len(P0) - G``, :func:`trial_scratch`), then one multiplication per pain point above ``L`` the
    group meets.

    The table multiplies each subset's factors in ascending driver order, and the pains above it
    follow in ascending order, as the loop does (a factor of exactly 1 for a pain not met changes
    nothing): the same bits in 2**L + G x (pains met above L) steps instead of G x n_pains (each
    pain met found by its bit's position, LLVM's count of trailing zeros). On 22,168 groups and 40
    pains (5 met on average): 13x faster than the loop.
    """
    G = g_mask.shape[0]
    L = min(n_pains, 30)
    while L > 0 and (1 << L) > P0.shape[0] - G:
        L -= 1
    size = 1 << L
    table = P0[G:G + size]
    if L == 0:
        table = np.ones(1)
    table[0] = 1.0
    high = -1
    for m in range(1, size):
        if m == 1 << (high + 1):
            high += 1
        table[m] = table[m ^ (1 << high)] * (1.0 - sev[high])
    bits = np.uint64(size - 1)
    shift = np.uint64(L)
    one = np.uint64(1)
    zero = np.uint64(0)
    # the pain points' bits only (a group's mask holds its delighters above them)
    pains = np.uint64(0xFFFFFFFFFFFFFFFF) if n_pains >= 64 else (one << np.uint64(n_pains)) - one
    for g in range(G):
        m = g_mask[g] & pains
        f = table[np.int64(m & bits)]
        rest = m >> shift
        while rest != zero:  # the pains met above the table, lowest first
            f *= 1.0 - sev[L + np.int64(trailing_zeros(rest))]
            rest &= rest - one
        P0[g] = f


# --------------------------------------------------------------------------------------
# the per-trial driver
# --------------------------------------------------------------------------------------
@njit(**JIT)
def trial_scratch(mode, G, n_seg, D, kmax, max_t, max_aff):
    """Per-thread buffers of :func:`value_trial`, allocated once per chunk of trials (only
    those the mode uses have their full size)."""
    # after the groups' factors, room for a table of pain-subset products (pain_factors): 2**L entries,
    # L at most the drivers (2**D bounds 2**n_pains) and 2**L at most G / 2, so that building it costs
    # less than the groups (measured on 22,168 groups and 40 pains: 2**13 is about the fastest)
    L = min(D, 30)
    while L > 0 and (1 << L) > max(G // 2, 1):
        L -= 1
    P0 = np.empty(G + (1 << L))
    W = np.empty((G if mode == BY_CLASS else 0, 4))
    base_rev = np.empty(0 if mode == FACTORS else G)
    base_cust = np.empty(0 if mode == FACTORS else G)
    cls_acc = np.zeros((n_seg << max_t, 4))
    not_f = np.ones((n_seg, max(max_t, D, 1)))
    touched = np.empty(max(D, 1), dtype=np.int64)
    live = np.empty(max(kmax, 1), dtype=np.int64)
    months = np.empty(kmax + 2, dtype=np.int64)
    per_aff = np.empty((4, max(max_aff, 1)))  # pain and delighter products, their horizon sums
    return P0, W, base_rev, base_cust, cls_acc, not_f, touched, live, months, per_aff


@njit(**JIT)
def value_trial(mode, t, t0, p0, p1, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                groups, n_pains, n_seg, draws, horizon, out, scratch):
    """Trial ``t`` of portfolios ``p0..p1-1``, valued per ``mode``.

    groups : (g_seg, g_mask, g_n, g_a, g_b, g_c), the group keys and sums N, sum r, sum r p, sum p
    draws : (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive)
    out : (out_rev, out_cust, coef_a, coef_b, changed, base_a, base_b); BY_GROUP and BY_CLASS
        fill ``out_rev[p, t]``, ``out_cust[p, t]``; FACTORS fills the others at trial row
        ``t - t0`` and portfolio column ``p - p0`` (the unused arrays may be empty)
    aff_ptr, aff_idx : CSR, the groups each portfolio (BY_CLASS: each driver set) can affect
    port_set, set_ptr, set_drivers, aff_cls : BY_CLASS only (see ``evaluate_grouped_classes``)
    """
    g_seg, g_mask, g_n, g_a, g_b, g_c = groups
    strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive = draws
    out_rev, out_cust, coef_a, coef_b, changed, base_a, base_b = out
    P0, W, base_rev, base_cust, cls_acc, not_f, touched, live, months, per_aff = scratch
    pain_f, delight_f, acc_a, acc_b = per_aff[0], per_aff[1], per_aff[2], per_aff[3]
    G = g_seg.shape[0]
    tt = t - t0
    pain_factors(g_mask, n_pains, strength[t], P0)
    m_t = market[t]
    r0 = 0.0
    c0 = 0.0
    if mode == FACTORS:  # horizon retention of a customer of group g is a - b p
        for g in range(G):
            a0 = P0[g]
            b0 = m_t * P0[g]
            base_a[tt, g] = a0
            base_b[tt, g] = b0
            for pp in range(p1 - p0):
                coef_a[tt, g, pp] = a0
                coef_b[tt, g, pp] = b0
    else:
        r0, c0 = baseline_sums(mode, groups, P0, m_t, W, base_rev, base_cust)
    current = -1
    n_t = 0
    n_cls = 0
    t_drivers = set_drivers[:0]
    for p in range(p0, p1):
        pp = p - p0
        if mode == BY_CLASS:
            s_idx = port_set[p]
            if s_idx != current:  # class sums of this driver set, once per trial
                current = s_idx
                n_t, n_cls = class_sums(s_idx, aff_ptr, aff_idx, aff_cls, set_ptr, n_seg, W, cls_acc)
                t_drivers = set_drivers[set_ptr[s_idx]:set_ptr[s_idx + 1]]
            aff = aff_idx[aff_ptr[s_idx]:aff_ptr[s_idx + 1]]
        else:
            aff = aff_idx[aff_ptr[p]:aff_ptr[p + 1]]
        n_aff = aff.shape[0]
        if mode == FACTORS and n_aff == 0:
            continue  # no group can change: the baseline, already in place
        n_m = golive_months(portfolios, p, t, success, golive, horizon, months)
        if n_m == 0:  # nothing delivered within the horizon: the baseline
            if mode != FACTORS:
                out_rev[p, t] = r0
                out_cust[p, t] = c0
            continue
        # months before the first go-live: the baseline
        acc_rev = months[0] * r0
        acc_cust = months[0] * c0
        if mode == FACTORS:
            for q in range(n_aff):
                g = aff[q]
                acc_a[q] = months[0] * P0[g]
                acc_b[q] = months[0] * m_t * P0[g]
        for x in range(n_m):
            start, stop = epoch(months, n_m, x, horizon)
            if stop == start:
                continue
            length = stop - start
            n_live = live_at(portfolios, p, t, success, golive, start, live)
            if mode == FACTORS:
                epoch_factors(live, n_live, t, aff, g_seg, g_mask, n_pains, strength.shape[1], strength,
                              fix_ptr, fix_driver, effect, seg_target, not_f, pain_f, delight_f)
                for q in range(n_aff):
                    acc_a[q] += length * pain_f[q]
                    acc_b[q] += length * (m_t * delight_f[q] * pain_f[q])
                continue
            d_rev, d_cust = epoch_change(mode, t, n_t, t_drivers, n_cls, live, n_live, aff, groups, n_pains, n_seg,
                                         draws, scratch)
            acc_rev += length * (r0 + d_rev)
            acc_cust += length * (c0 + d_cust)
        if mode == FACTORS:
            for q in range(n_aff):
                g = aff[q]
                coef_a[tt, g, pp] = acc_a[q] / horizon
                coef_b[tt, g, pp] = acc_b[q] / horizon
                changed[tt, g, pp] = coef_a[tt, g, pp] != base_a[tt, g] or coef_b[tt, g, pp] != base_b[tt, g]
        else:
            out_rev[p, t] = acc_rev / horizon
            out_cust[p, t] = acc_cust / horizon


@njit(parallel=True, **JIT)
def value_trials(mode, t0, t1, p0, p1, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                 groups, n_pains, n_seg, draws, horizon, out):
    """:func:`value_trial` for trials ``t0..t1-1``, in parallel over chunks of trials.

    Each chunk allocates its scratch once (per-thread buffers; an allocation per trial
    under ``prange`` is not free); results do not depend on the chunking.
    """
    G = groups[0].shape[0]
    D = draws[0].shape[1]
    kmax = portfolios.shape[1]
    max_t = 0
    max_aff = 0
    if mode == BY_CLASS:
        for s in range(set_ptr.shape[0] - 1):
            max_t = max(max_t, set_ptr[s + 1] - set_ptr[s])
        max_t = max(max_t, 1)
    elif mode == FACTORS:
        for p in range(p0, p1):
            max_aff = max(max_aff, aff_ptr[p + 1] - aff_ptr[p])
    T = t1 - t0
    # at least 64 tasks when there are enough trials, to balance any thread count
    # (numba.get_num_threads() here would make the kernel uncacheable)
    chunk = max(1, min(TRIAL_CHUNK, T // 64))
    n_chunks = (T + chunk - 1) // chunk
    for c in prange(n_chunks):
        scratch = trial_scratch(mode, G, n_seg, D, kmax, max_t, max_aff)
        for t in range(t0 + c * chunk, min(t1, t0 + (c + 1) * chunk)):
            value_trial(mode, t, t0, p0, p1, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx,
                        aff_cls, groups, n_pains, n_seg, draws, horizon, out, scratch)


# --------------------------------------------------------------------------------------
# the monthly path: every month of one trial in one call
# --------------------------------------------------------------------------------------
@njit(**JIT)
def value_path(mode, t, p, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
               groups, n_pains, n_seg, draws, horizon, path_rev, path_cust, scratch):
    """Trial ``t`` of portfolio ``p``: the retained revenue and customers *in force* in each month
    (``path_rev[t, tau]``, ``path_cust[t, tau]`` for tau = 0..horizon-1; mode BY_GROUP or BY_CLASS).

    The baseline until the first go-live, then each epoch's value over its months: the same
    epochs, live sets and valuation as :func:`value_trial`, which averages them over the horizon.
    """
    strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive = draws
    P0, W, base_rev, base_cust, cls_acc, not_f, touched, live, months, per_aff = scratch
    pain_factors(groups[1], n_pains, strength[t], P0)
    r0, c0 = baseline_sums(mode, groups, P0, market[t], W, base_rev, base_cust)
    n_m = golive_months(portfolios, p, t, success, golive, horizon, months)
    first = months[0] if n_m > 0 else horizon
    for tau in range(first):
        path_rev[t, tau] = r0
        path_cust[t, tau] = c0
    if n_m == 0:
        return
    n_t = 0
    n_cls = 0
    t_drivers = set_drivers[:0]
    if mode == BY_CLASS:
        s_idx = port_set[p]
        n_t, n_cls = class_sums(s_idx, aff_ptr, aff_idx, aff_cls, set_ptr, n_seg, W, cls_acc)
        t_drivers = set_drivers[set_ptr[s_idx]:set_ptr[s_idx + 1]]
        aff = aff_idx[aff_ptr[s_idx]:aff_ptr[s_idx + 1]]
    else:
        aff = aff_idx[aff_ptr[p]:aff_ptr[p + 1]]
    for x in range(n_m):
        start, stop = epoch(months, n_m, x, horizon)
        if stop == start:
            continue
        n_live = live_at(portfolios, p, t, success, golive, start, live)
        d_rev, d_cust = epoch_change(mode, t, n_t, t_drivers, n_cls, live, n_live, aff, groups, n_pains, n_seg,
                                     draws, scratch)
        for tau in range(start, stop):
            path_rev[t, tau] = r0 + d_rev
            path_cust[t, tau] = c0 + d_cust


@njit(parallel=True, **JIT)
def value_paths(mode, p, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                groups, n_pains, n_seg, draws, horizon, path_rev, path_cust):
    """:func:`value_path` of portfolio ``p`` for every trial, in parallel over chunks of trials
    (each trial writes its own row: the result does not depend on the thread count)."""
    G = groups[0].shape[0]
    D = draws[0].shape[1]
    T = draws[1].shape[0]
    kmax = portfolios.shape[1]
    max_t = 1
    if mode == BY_CLASS:
        max_t = max(1, set_ptr[port_set[p] + 1] - set_ptr[port_set[p]])
    chunk = max(1, min(TRIAL_CHUNK, T // 64))
    n_chunks = (T + chunk - 1) // chunk
    for c in prange(n_chunks):
        scratch = trial_scratch(mode, G, n_seg, D, kmax, max_t, 0)
        for t in range(c * chunk, min(T, (c + 1) * chunk)):
            value_path(mode, t, p, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                       groups, n_pains, n_seg, draws, horizon, path_rev, path_cust, scratch)
