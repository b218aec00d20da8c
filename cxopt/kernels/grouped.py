"""numba kernels: plain arrays in, arrays out; no I/O, no cxopt imports, no global state.

Reproducibility rules used throughout (NOTES.md, numba):

* Sums over customers are accumulated in **fixed point** (two int64 limbs: whole units and
  units of 2**-32), so they are exact and therefore identical whatever the order of
  accumulation: thread count, chunk size or partitioning cannot change a result.
* Random numbers inside kernels are **counter-based**: a uniform is a hash of
  (seed, customer id, trial, stream) through splitmix64, so a customer's draw does not
  depend on which thread or chunk handled it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

TRIAL_CHUNK = 16  # trials per parallel task (results do not depend on it)
FRAC_SCALE = 4294967296.0  # 2**32: fixed-point fractional unit
EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)

_jit = dict(cache=True, nogil=True, fastmath=False)


# --------------------------------------------------------------------------------------
# counter-based random numbers
# --------------------------------------------------------------------------------------
@njit(inline="always", **_jit)
def splitmix64(x):
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(inline="always", **_jit)
def counter_uniform(key, customer, trial):
    """Uniform in (0, 1) from (key, customer, trial); ``key`` already mixes seed and stream."""
    h = splitmix64(key ^ splitmix64(np.uint64(customer) + splitmix64(np.uint64(trial))))
    return ((h >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


# --------------------------------------------------------------------------------------
# fixed-point accumulation
# --------------------------------------------------------------------------------------
@njit(inline="always", **_jit)
def _fx_split(x):
    """x >= 0 as (whole units, units of 2**-32), rounded to the nearest 2**-32."""
    if x < 2147483648.0:
        # one conversion: x * 2**32 is exact, and fits an int64 below 2**31
        v = np.int64(x * FRAC_SCALE + 0.5)
        return v >> np.int64(32), v & np.int64(0xFFFFFFFF)
    whole = np.int64(x)  # truncation == floor for x >= 0
    return whole, np.int64((x - whole) * FRAC_SCALE + 0.5)


def fixed_to_float(whole: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Combine the two fixed-point limbs into float64 (exact up to the final rounding)."""
    return whole.astype(np.float64) + frac.astype(np.float64) / FRAC_SCALE


# --------------------------------------------------------------------------------------
# grouping pass: (segment, mask) -> N, sum r, sum r p, sum p
# --------------------------------------------------------------------------------------
@njit(inline="always", **_jit)
def _slot(seg, mask, cap_mask):
    h = splitmix64(mask ^ (np.uint64(seg) << np.uint64(56)) ^ np.uint64(seg))
    return np.int64(h & np.uint64(cap_mask))


@njit(**_jit)
def _insert(t_mask, t_seg, seg, mask, cap_mask):
    """Slot of (seg, mask) in an open-addressing table, inserting it if absent; -1 if full."""
    s = _slot(seg, mask, cap_mask)
    for _ in range(cap_mask + 1):
        if t_seg[s] == -1:
            t_seg[s] = seg
            t_mask[s] = mask
            return s
        if t_seg[s] == seg and t_mask[s] == mask:
            return s
        s = (s + 1) & cap_mask
    return -1


@njit(parallel=True, **_jit)
def group_chunk(segment, mask, revenue, churn, n_slices, capacity):
    """Reduce one chunk of customers to per-(segment, mask) fixed-point sums.

    Each of ``n_slices`` contiguous slices fills its own hash table (``capacity`` slots,
    a power of two); the caller merges the slices. Returns ``ok`` False when a table
    filled up (retry with a larger capacity).

    Returns
    -------
    t_seg, t_mask : (n_slices, capacity) table keys (t_seg == -1: empty slot)
    sums : (n_slices, capacity, 7) int64: n, rev_whole, rev_frac, rp_whole, rp_frac, p_whole, p_frac
    maxp : (n_slices, capacity) float64, the largest baseline churn in the group
    ok : bool
    """
    n = segment.shape[0]
    cap_mask = capacity - 1
    t_seg = np.full((n_slices, capacity), -1, dtype=np.int32)
    t_mask = np.zeros((n_slices, capacity), dtype=np.uint64)
    sums = np.zeros((n_slices, capacity, 7), dtype=np.int64)
    maxp = np.zeros((n_slices, capacity), dtype=np.float64)
    full = np.zeros(n_slices, dtype=np.bool_)
    step = (n + n_slices - 1) // n_slices
    for s in prange(n_slices):
        lo = s * step
        hi = min(n, lo + step)
        ts = t_seg[s]
        tm = t_mask[s]
        acc = sums[s]
        mp = maxp[s]
        # cache the last key: exposure masks repeat a lot in real bases
        last_seg = np.int32(-2)
        last_mask = np.uint64(0)
        slot = -1
        for i in range(lo, hi):
            sg = segment[i]
            mk = mask[i]
            if sg != last_seg or mk != last_mask:
                slot = _insert(tm, ts, sg, mk, cap_mask)
                if slot < 0:
                    full[s] = True
                    break
                last_seg = sg
                last_mask = mk
            r = revenue[i]
            p = churn[i]
            w, f = _fx_split(r)
            acc[slot, 0] += 1
            acc[slot, 1] += w
            acc[slot, 2] += f
            w, f = _fx_split(r * p)
            acc[slot, 3] += w
            acc[slot, 4] += f
            w, f = _fx_split(p)
            acc[slot, 5] += w
            acc[slot, 6] += f
            if p > mp[slot]:
                mp[slot] = p
    return t_seg, t_mask, sums, maxp, not full.any()


@njit(parallel=True, **_jit)
def group_chunk_dense(segment, mask, revenue, churn, n_slices, n_bits):
    """:func:`group_chunk` for a small key space: key = segment * 2**n_bits + mask, direct indexing.

    Returns sums (n_slices, n_keys, 7) and maxp (n_slices, n_keys) (same layout as the table form).
    """
    n = segment.shape[0]
    n_keys = (np.int64(segment.max()) + 1 if n else 1) << n_bits
    sums = np.zeros((n_slices, n_keys, 7), dtype=np.int64)
    maxp = np.zeros((n_slices, n_keys), dtype=np.float64)
    step = (n + n_slices - 1) // n_slices
    for s in prange(n_slices):
        _dense_slice(segment, mask, revenue, churn, n_bits, s * step, min(n, (s + 1) * step), sums[s], maxp[s])
    return sums, maxp


@njit(**_jit)
def _dense_slice(segment, mask, revenue, churn, n_bits, lo, hi, acc, mp):
    for i in range(lo, hi):
        key = (np.int64(segment[i]) << n_bits) | np.int64(mask[i])
        r = revenue[i]
        p = churn[i]
        acc[key, 0] += 1
        w, f = _fx_split(r)
        acc[key, 1] += w
        acc[key, 2] += f
        w, f = _fx_split(r * p)
        acc[key, 3] += w
        acc[key, 4] += f
        w, f = _fx_split(p)
        acc[key, 5] += w
        acc[key, 6] += f
        mp[key] = max(mp[key], p)


@njit(**_jit)
def merge_groups(g_seg, g_mask, g_sums, g_maxp, t_seg, t_mask, sums, maxp):
    """Add slice tables into the global table (same layout, its own capacity). -1 if full."""
    cap_mask = g_seg.shape[0] - 1
    added = 0
    for s in range(t_seg.shape[0]):
        for j in range(t_seg.shape[1]):
            if t_seg[s, j] == -1:
                continue
            slot = _insert(g_mask, g_seg, t_seg[s, j], t_mask[s, j], cap_mask)
            if slot < 0:
                return -1
            for c in range(7):
                g_sums[slot, c] += sums[s, j, c]
            if maxp[s, j] > g_maxp[slot]:
                g_maxp[slot] = maxp[s, j]
            added += 1
    return added


@njit(parallel=True, **_jit)
def pack_mask(exposed):
    """(n, D) booleans -> uint64 masks with bit j set when driver j is met."""
    n, d = exposed.shape
    out = np.zeros(n, dtype=np.uint64)
    for i in prange(n):
        m = np.uint64(0)
        for j in range(d):
            if exposed[i, j]:
                m |= np.uint64(1) << np.uint64(j)
        out[i] = m
    return out


# --------------------------------------------------------------------------------------
# epochs: the months between go-live dates, when a portfolio's live set is constant
# --------------------------------------------------------------------------------------
@njit(**_jit)
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


@njit(**_jit)
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


@njit(**_jit)
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


# --------------------------------------------------------------------------------------
# grouped evaluation (DESIGN.md section 1, "Grouped")
# --------------------------------------------------------------------------------------
@njit(**_jit)
def _baseline_factors(g_mask, n_pains, sev, P0):
    """P0[g] = prod over pain points j met by group g of (1 - sigma_j)."""
    for g in range(g_mask.shape[0]):
        m = g_mask[g]
        f = 1.0
        for j in range(n_pains):  # branch-free: bit 0 multiplies by 1
            f *= 1.0 - sev[j] * np.float64((m >> np.uint64(j)) & np.uint64(1))
        P0[g] = f


@njit(**_jit)
def _live_value(live, n_live, t, g_seg, g_mask, g_n, g_a, g_b, g_c, aff, n_pains, n_seg,
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


@njit(parallel=True, **_jit)
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
    kmax = portfolios.shape[1]
    T = market.shape[0]
    G = g_seg.shape[0]
    D = strength.shape[1]
    out_rev = np.empty((P, T))
    out_cust = np.empty((P, T))
    for t in prange(T):
        P0 = np.empty(G)
        _baseline_factors(g_mask, n_pains, strength[t], P0)
        base_rev = np.empty(G)
        base_cust = np.empty(G)
        r0 = 0.0
        c0 = 0.0
        m_t = market[t]
        for g in range(G):
            base_rev[g] = P0[g] * (g_a[g] - m_t * g_b[g])
            base_cust[g] = P0[g] * (g_n[g] - m_t * g_c[g])
            r0 += base_rev[g]
            c0 += base_cust[g]
        not_f = np.ones((n_seg, max(D, 1)))
        touched = np.empty(max(D, 1), dtype=np.int64)
        live = np.empty(max(kmax, 1), dtype=np.int64)
        months = np.empty(kmax + 2, dtype=np.int64)
        for p in range(P):
            aff = aff_idx[aff_ptr[p]:aff_ptr[p + 1]]
            n_m = golive_months(portfolios, p, t, success, golive, horizon, months)
            if n_m == 0:
                out_rev[p, t] = r0
                out_cust[p, t] = c0
                continue
            # months before the first go-live: baseline
            acc_rev = months[0] * r0
            acc_cust = months[0] * c0
            for x in range(n_m):
                start, stop = epoch(months, n_m, x, horizon)
                if stop == start:
                    continue
                n_live = live_at(portfolios, p, t, success, golive, start, live)
                d_rev, d_cust = _live_value(live, n_live, t, g_seg, g_mask, g_n, g_a, g_b, g_c, aff, n_pains,
                                            n_seg, strength, market, fix_ptr, fix_driver, effect, seg_target,
                                            P0, not_f, touched, base_rev, base_cust)
                acc_rev += (stop - start) * (r0 + d_rev)
                acc_cust += (stop - start) * (c0 + d_cust)
            out_rev[p, t] = acc_rev / horizon
            out_cust[p, t] = acc_cust / horizon
    return out_rev, out_cust


# --------------------------------------------------------------------------------------
# grouped evaluation by class sums (the fast path)
#
# A portfolio acting on the drivers T changes a group's retention only through
# (segment, the group's mask restricted to T): its "class". Per trial, the baseline-weighted
# sums  P0_g A_g, P0_g B_g, P0_g N_g, P0_g C_g  are added up per class once for each
# distinct T, and every evaluation (each epoch of each portfolio using T) then costs
# O(classes) instead of O(groups).
# --------------------------------------------------------------------------------------
@njit(**_jit)
def _class_value(n_t, t_drivers, n_cls, acc, live, n_live, t, n_pains, n_seg, strength, m_t,
                 fix_ptr, fix_driver, effect, seg_target, not_f):
    """Change in retained revenue and customers from the baseline, with ``live`` in force.

    Returns (d_rev, d_cust, ok); ok is False when a touched pain has severity exactly 1 in
    this trial (its baseline factor is 0 and the ratio form cannot be used).
    """
    for x in range(n_t):
        j = t_drivers[x]
        for s in range(n_seg):
            not_f[s, x] = 1.0
        if j < n_pains and strength[t, j] >= 1.0:
            return 0.0, 0.0, False
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


@njit(**_jit)
def _trial_classes(t, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                   g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg, strength, market, fix_ptr, fix_driver,
                   effect, seg_target, success, golive, horizon, out_rev, out_cust,
                   P0, W, base_rev, base_cust, acc, not_f, touched, live, months):
    """One trial of :func:`evaluate_grouped_classes` (buffers supplied by the caller)."""
    P = portfolios.shape[0]
    G = g_seg.shape[0]
    _baseline_factors(g_mask, n_pains, strength[t], P0)
    r0 = 0.0
    c0 = 0.0
    m_t = market[t]
    for g in range(G):
        W[g, 0] = P0[g] * g_a[g]
        W[g, 1] = P0[g] * g_b[g]
        W[g, 2] = P0[g] * g_n[g]
        W[g, 3] = P0[g] * g_c[g]
        base_rev[g] = W[g, 0] - m_t * W[g, 1]
        base_cust[g] = W[g, 2] - m_t * W[g, 3]
        r0 += base_rev[g]
        c0 += base_cust[g]
    current = -1
    n_cls = 0
    n_t = 0
    for p in range(P):
        s_idx = port_set[p]
        if s_idx != current:
            # class sums of this driver set, once per trial
            current = s_idx
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
        t_drivers = set_drivers[set_ptr[s_idx]:set_ptr[s_idx + 1]]
        n_m = golive_months(portfolios, p, t, success, golive, horizon, months)
        if n_m == 0:
            out_rev[p, t] = r0
            out_cust[p, t] = c0
            continue
        acc_rev = months[0] * r0
        acc_cust = months[0] * c0
        for x in range(n_m):
            start, stop = epoch(months, n_m, x, horizon)
            if stop == start:
                continue
            n_live = live_at(portfolios, p, t, success, golive, start, live)
            d_rev, d_cust, ok = _class_value(n_t, t_drivers, n_cls, acc, live, n_live, t, n_pains, n_seg,
                                             strength, m_t, fix_ptr, fix_driver, effect, seg_target, not_f)
            if not ok:  # a severity of exactly 1: the per-group form, exact
                aff = aff_idx[aff_ptr[s_idx]:aff_ptr[s_idx + 1]]
                d_rev, d_cust = _live_value(live, n_live, t, g_seg, g_mask, g_n, g_a, g_b, g_c, aff,
                                            n_pains, n_seg, strength, market, fix_ptr, fix_driver, effect,
                                            seg_target, P0, not_f, touched, base_rev, base_cust)
            acc_rev += (stop - start) * (r0 + d_rev)
            acc_cust += (stop - start) * (c0 + d_cust)
        out_rev[p, t] = acc_rev / horizon
        out_cust[p, t] = acc_cust / horizon


@njit(parallel=True, **_jit)
def evaluate_grouped_classes(portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                             g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg,
                             strength, market, fix_ptr, fix_driver, effect, seg_target,
                             success, golive, horizon):
    """Same result as :func:`evaluate_grouped`, by class sums.

    Extra parameters
    ----------------
    port_set : (P,) index of each portfolio's driver set; portfolios must be sorted by it
    set_ptr, set_drivers : CSR, the drivers of each distinct set T (at most 16 each)
    aff_ptr, aff_idx, aff_cls : CSR per set: affected groups and their class
        (segment * 2**|T| + bits of the mask on T)
    """
    P = portfolios.shape[0]
    kmax = portfolios.shape[1]
    T = market.shape[0]
    G = g_seg.shape[0]
    D = strength.shape[1]
    n_sets = set_ptr.shape[0] - 1
    max_t = 1
    for s in range(n_sets):
        max_t = max(max_t, set_ptr[s + 1] - set_ptr[s])
    out_rev = np.empty((P, T))
    out_cust = np.empty((P, T))
    n_chunks = (T + TRIAL_CHUNK - 1) // TRIAL_CHUNK
    for chunk in prange(n_chunks):
        # buffers once per chunk of trials, not per trial: allocation under prange is not free
        P0 = np.empty(G)
        W = np.empty((G, 4))
        base_rev = np.empty(G)
        base_cust = np.empty(G)
        acc = np.zeros((n_seg << max_t, 4))
        not_f = np.ones((n_seg, max(max_t, D)))
        touched = np.empty(max(D, 1), dtype=np.int64)
        live = np.empty(max(kmax, 1), dtype=np.int64)
        months = np.empty(kmax + 2, dtype=np.int64)
        for t in range(chunk * TRIAL_CHUNK, min(T, (chunk + 1) * TRIAL_CHUNK)):
            _trial_classes(t, portfolios, port_set, set_ptr, set_drivers, aff_ptr, aff_idx, aff_cls,
                           g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg, strength, market, fix_ptr,
                           fix_driver, effect, seg_target, success, golive, horizon, out_rev, out_cust,
                           P0, W, base_rev, base_cust, acc, not_f, touched, live, months)
    return out_rev, out_cust
