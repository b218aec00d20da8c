"""The value of every interacting pair of initiatives, from the singles and the pair's
interaction alone (DESIGN.md section 1, "Grouped").

Retained revenue is a sum over groups, and a group's value moves only with the initiatives
acting on it, so w_kl = R(kl) - R(k) - R(l) + R() is a sum over the groups both k and l act
on; with go-live months g_k, g_l it is (H - max(g_k, g_l)) / H times the monthly
interaction once both are live (zero in a trial where either is not delivered within the
horizon). A group's monthly retention is a product over the drivers it meets, so with U the
drivers the pair touches and delta_j the change a live set makes to driver j's factor,

    sum_g weight_g prod_{j in U met by g} (base_j + delta_j) = sum_{X subset of U} prod_{j in X} delta_j S_X,

S_X the sum over the groups meeting all of X, each weighted by its baseline factors outside
X (no division: a severity of exactly 1 needs no special case). Subsets of k's own drivers
(or l's) cancel in w_kl exactly and are not listed (:class:`cxopt.engine.arrays.PairTables`).
A trial costs sum over listed subsets of the groups meeting them, far fewer than the groups
each pair's portfolio would visit.

Trials are taken in blocks (:data:`BLOCK`): the group sums of a block are added up
together, so each listed (subset, group) costs one pass over a contiguous row of the block's
trials. Every sum runs in a fixed order inside one thread, so the tables depend neither on
the thread count nor on the block size.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import JIT

BLOCK = 16  # trials valued together


@njit(**JIT)
def group_pains(g_mask, n_pains):
    """CSR (ptr, idx): the pains each group meets, ascending."""
    G = g_mask.shape[0]
    ptr = np.zeros(G + 1, dtype=np.int64)
    for g in range(G):
        n = 0
        for j in range(n_pains):
            if (g_mask[g] >> np.uint64(j)) & np.uint64(1):
                n += 1
        ptr[g + 1] = ptr[g] + n
    idx = np.empty(ptr[G], dtype=np.int64)
    for g in range(G):
        q = ptr[g]
        for j in range(n_pains):
            if (g_mask[g] >> np.uint64(j)) & np.uint64(1):
                idx[q] = j
                q += 1
    return ptr, idx


@njit(**JIT)
def subset_sums(t0, t1, xs_mask, ent_ptr, ent_group, gx_ptr, gx_subset, g_seg, g_n, g_a, g_b, g_c, n_pains,
                p_ptr, p_idx, strength, row, S, S_all):
    """S[x, s, 4 (t - t0) + z] = sums of (sum r, sum r p, N, sum p)[z] over the groups of segment
    s meeting all of subset x, each times the product of (1 - sigma_jt) over the pains it meets
    outside x; ``S_all[x, 4 (t - t0) + z]`` the same over all segments.

    Group by group (``gx_ptr``, ``gx_subset``: the subsets each group meets, the transpose of
    ``ent_ptr``, ``ent_group``), so each sum still adds its groups in ascending order."""
    n_seg = S.shape[1]
    width = 4 * (t1 - t0)
    for x in range(xs_mask.shape[0]):
        for s in range(n_seg):
            for i in range(width):
                S[x, s, i] = 0.0
    for g in range(g_n.shape[0]):
        if gx_ptr[g] == gx_ptr[g + 1]:
            continue
        for t in range(t0, t1):  # the group's baseline-weighted sums in each trial of the block
            f = 1.0
            for q in range(p_ptr[g], p_ptr[g + 1]):
                f *= 1.0 - strength[t, p_idx[q]]
            i = 4 * (t - t0)
            row[i] = f * g_a[g]
            row[i + 1] = f * g_b[g]
            row[i + 2] = f * g_n[g]
            row[i + 3] = f * g_c[g]
        s = g_seg[g]
        for e in range(gx_ptr[g], gx_ptr[g + 1]):
            x = gx_subset[e]
            for i in range(width):
                S[x, s, i] += row[i]
    for x in range(xs_mask.shape[0]):
        xm = xs_mask[x]
        for t in range(t0, t1):
            i0 = 4 * (t - t0)
            inside = 1.0  # x's own pain factors, divided back out of the sums
            for j in range(n_pains):
                if (xm >> np.uint64(j)) & np.uint64(1):
                    inside *= 1.0 - strength[t, j]
            if inside > 1e-100:
                for s in range(n_seg):
                    for z in range(4):
                        S[x, s, i0 + z] /= inside
            else:  # a severity of (nearly) 1 in x: the factors outside x, multiplied out directly
                for s in range(n_seg):
                    for z in range(4):
                        S[x, s, i0 + z] = 0.0
                for e in range(ent_ptr[x], ent_ptr[x + 1]):
                    g = ent_group[e]
                    f = 1.0
                    for q in range(p_ptr[g], p_ptr[g + 1]):
                        j = p_idx[q]
                        if not (xm >> np.uint64(j)) & np.uint64(1):
                            f *= 1.0 - strength[t, j]
                    s = g_seg[g]
                    S[x, s, i0] += f * g_a[g]
                    S[x, s, i0 + 1] += f * g_b[g]
                    S[x, s, i0 + 2] += f * g_n[g]
                    S[x, s, i0 + 3] += f * g_c[g]
        for i in range(width):
            acc = 0.0
            for s in range(n_seg):
                acc += S[x, s, i]
            S_all[x, i] = acc


@njit(**JIT)
def transpose(ent_ptr, ent_group, G):
    """The CSR (ptr, subsets) of the subsets each group meets, from the groups of each subset."""
    ptr = np.zeros(G + 1, dtype=np.int64)
    for e in range(ent_group.shape[0]):
        ptr[ent_group[e] + 1] += 1
    for g in range(G):
        ptr[g + 1] += ptr[g]
    fill = ptr[:-1].copy()
    out = np.empty(ent_group.shape[0], dtype=np.int64)
    for x in range(ent_ptr.shape[0] - 1):
        for e in range(ent_ptr[x], ent_ptr[x + 1]):
            g = ent_group[e]
            out[fill[g]] = x
            fill[g] += 1
    return ptr, out


@njit(**JIT)
def pair_block(q, k, l, t0, t1, u_ptr, u_driver, u_fix, x_ptr, x_local, x_index, n_pains, n_seg, strength, market,
               effect, seg_target, success, golive, horizon, S, S_all, delta, w_rev, w_cust):
    """w_kl of pair q in trials t0..t1-1 into ``w_rev[t - t0]``, ``w_cust[t - t0]`` (zero in a
    trial where k or l is not delivered within the horizon)."""
    n_u = u_ptr[q + 1] - u_ptr[q]
    every = True  # both target every segment
    for s in range(n_seg):
        if not (seg_target[k, s] and seg_target[l, s]):
            every = False
    for t in range(t0, t1):
        tl = t - t0
        w_rev[tl] = 0.0
        w_cust[tl] = 0.0
        if not (success[t, k] and golive[t, k] < horizon and success[t, l] and golive[t, l] < horizon):
            continue
        for x in range(n_u):
            i = u_ptr[q] + x
            j = u_driver[i]
            nk = 1.0 if u_fix[i, 0] < 0 else 1.0 - effect[t, u_fix[i, 0]]  # share of driver j k leaves
            nl = 1.0 if u_fix[i, 1] < 0 else 1.0 - effect[t, u_fix[i, 1]]
            sig = strength[t, j]
            fk = sig * (1.0 - nk)
            fl = sig * (1.0 - nl)
            fkl = sig * (1.0 - nk * nl)
            if j < n_pains:  # the pain factor 1 - sigma (1 - F) moves by sigma F
                delta[0, x], delta[1, x], delta[2, x] = fk, fl, fkl
                delta[3, x], delta[4, x], delta[5, x] = fk, fl, fkl
            else:  # the delighter factor 1 - lambda F moves by -lambda F, in the churn term only
                delta[0, x], delta[1, x], delta[2, x] = 0.0, 0.0, 0.0
                delta[3, x], delta[4, x], delta[5, x] = -fk, -fl, -fkl
        m_t = market[t]
        rev = 0.0
        cust = 0.0
        for i in range(x_ptr[q], x_ptr[q + 1]):
            b = x_local[i]
            xi = x_index[i]
            pk, pl, pkl, dk, dl, dkl = 1.0, 1.0, 1.0, 1.0, 1.0, 1.0
            for x in range(n_u):
                if (b >> x) & 1:
                    pk *= delta[0, x]
                    pl *= delta[1, x]
                    pkl *= delta[2, x]
                    dk *= delta[3, x]
                    dl *= delta[4, x]
                    dkl *= delta[5, x]
            b_p = pkl - pk - pl
            b_d = dkl - dk - dl
            if every:
                sa, sb, sn, sc = S_all[xi, 4 * tl], S_all[xi, 4 * tl + 1], S_all[xi, 4 * tl + 2], S_all[xi, 4 * tl + 3]
            else:  # only the segments both target: elsewhere one of them acts alone, no interaction
                sa, sb, sn, sc = 0.0, 0.0, 0.0, 0.0
                for s in range(n_seg):
                    if seg_target[k, s] and seg_target[l, s]:
                        sa += S[xi, s, 4 * tl]
                        sb += S[xi, s, 4 * tl + 1]
                        sn += S[xi, s, 4 * tl + 2]
                        sc += S[xi, s, 4 * tl + 3]
            rev += b_p * sa - m_t * b_d * sb
            cust += b_p * sn - m_t * b_d * sc
        months = horizon - max(golive[t, k], golive[t, l])
        w_rev[tl] = rev * months / horizon
        w_cust[tl] = cust * months / horizon


@njit(**JIT)
def with_interaction(r_k, r_l, r_0, w, k_acts, l_acts):
    """R(kl) from R(k), R(l), R() and w_kl; exactly R(k) (R(l)) when the other does not act."""
    if not l_acts:
        return r_k
    if not k_acts:
        return r_l
    return r_k + (r_l - r_0) + w


@njit(parallel=True, **JIT)
def pair_values(pairs, u_ptr, u_driver, u_fix, x_ptr, x_local, x_index, xs_mask, ent_ptr, ent_group,
                g_seg, g_mask, g_n, g_a, g_b, g_c, n_pains, n_seg,
                strength, market, effect, seg_target, success, golive, horizon,
                base_rev, base_cust, single_rev, single_cust):
    """Horizon retained revenue and customers (Q, T) of each pair, from the singles and w_kl.

    Parameters
    ----------
    pairs, u_ptr, ..., ent_group : the tables of :class:`cxopt.engine.arrays.PairTables`
        (``u_fix[i]``: the fix entries of k and of l on driver ``u_driver[i]``, -1 for none)
    g_* : group keys and sums N, A = sum r, B = sum r p, C = sum p
    strength, market, effect, seg_target, success, golive, horizon :
        as :func:`cxopt.kernels.grouped.evaluate_grouped`
    base_rev, base_cust : (T,) the baseline; single_rev, single_cust : (K, T) each initiative alone

    Returns
    -------
    revenue, customers : (Q, T) float64
    """
    Q = pairs.shape[0]
    T = market.shape[0]
    G = g_mask.shape[0]
    n_x = xs_mask.shape[0]
    max_u = 1
    for q in range(Q):
        max_u = max(max_u, u_ptr[q + 1] - u_ptr[q])
    p_ptr, p_idx = group_pains(g_mask, n_pains)
    gx_ptr, gx_subset = transpose(ent_ptr, ent_group, G)
    out_rev = np.empty((Q, T))
    out_cust = np.empty((Q, T))
    n_blocks = (T + BLOCK - 1) // BLOCK
    for c in prange(n_blocks):
        t0 = c * BLOCK
        t1 = min(T, t0 + BLOCK)
        row = np.empty(4 * (t1 - t0))
        S = np.empty((n_x, max(n_seg, 1), 4 * (t1 - t0)))
        S_all = np.empty((n_x, 4 * (t1 - t0)))
        delta = np.empty((6, max_u))
        subset_sums(t0, t1, xs_mask, ent_ptr, ent_group, gx_ptr, gx_subset, g_seg, g_n, g_a, g_b, g_c, n_pains,
                    p_ptr, p_idx, strength, row, S, S_all)
        w_rev = np.empty(t1 - t0)
        w_cust = np.empty(t1 - t0)
        for q in range(Q):
            k = pairs[q, 0]
            l = pairs[q, 1]
            pair_block(q, k, l, t0, t1, u_ptr, u_driver, u_fix, x_ptr, x_local, x_index, n_pains, n_seg, strength,
                       market, effect, seg_target, success, golive, horizon, S, S_all, delta, w_rev, w_cust)
            for t in range(t0, t1):
                k_acts = success[t, k] and golive[t, k] < horizon
                l_acts = success[t, l] and golive[t, l] < horizon
                out_rev[q, t] = with_interaction(single_rev[k, t], single_rev[l, t], base_rev[t], w_rev[t - t0],
                                                 k_acts, l_acts)
                out_cust[q, t] = with_interaction(single_cust[k, t], single_cust[l, t], base_cust[t],
                                                  w_cust[t - t0], k_acts, l_acts)
    return out_rev, out_cust
