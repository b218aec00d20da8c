"""Per-trial values of many portfolios at once, for the chance-constrained screen
(:mod:`cxopt.portfolio.chance_screen`).

* :func:`pairwise_values` — the program's surrogate: baseline + each member's standalone
  gain + each member pair's interaction, per trial (the same terms as the integer program's
  tables, DESIGN.md section 2); interactions among three or more are left out.
* :func:`level_values` — a CX score level in the horizon's last month, exactly (the formula of
  :mod:`cxopt.engine.levels`, same terms in the same order: the same bits).
* :func:`met_counts` — per portfolio, the trials in which every target holds (with slack to spare).

Each portfolio writes its own row, in a fixed order: results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import JIT

TRIAL_BLOCK = 256  # trials taken together: a block's rows of the tables stay in cache across portfolios


@njit(parallel=True, **JIT)
def pairwise_values(portfolios, base, gains, pair_of, inter, out):
    """``out[m, p, t] = base[m, t] + sum_k gains[m, k, t] + sum_{k<l} inter[m, pair_of[k, l], t]``,
    the terms added in that order (members ascending, then pairs (k, l) in lexicographic order).

    Parameters
    ----------
    portfolios : (P, Kmax) int64, initiative indices ascending, padded with -1
    base : (M, T) the baseline of each of M quantities
    gains : (M, K, T) standalone gains
    pair_of : (K, K) int64, row of ``inter`` of pair (k, l) for k < l, -1 when they do not interact
    inter : (M, Q, T) pair interactions
    out : (M, P, T) filled
    """
    M = base.shape[0]
    P = portfolios.shape[0]
    T = base.shape[1]
    kmax = portfolios.shape[1]
    n_blocks = (T + TRIAL_BLOCK - 1) // TRIAL_BLOCK
    for c in prange(n_blocks):
        t0 = c * TRIAL_BLOCK
        n = min(T, t0 + TRIAL_BLOCK) - t0
        acc = np.empty(TRIAL_BLOCK)
        for m in range(M):
            for p in range(P):
                for i in range(n):
                    acc[i] = base[m, t0 + i]
                for a in range(kmax):
                    k = portfolios[p, a]
                    if k < 0:
                        break
                    row = gains[m, k, t0:t0 + n]
                    for i in range(n):
                        acc[i] += row[i]
                for a in range(kmax):
                    k = portfolios[p, a]
                    if k < 0:
                        break
                    for b in range(a + 1, kmax):
                        l = portfolios[p, b]
                        if l < 0:
                            break
                        q = pair_of[k, l]
                        if q >= 0:
                            row = inter[m, q, t0:t0 + n]
                            for i in range(n):
                                acc[i] += row[i]
                for i in range(n):
                    out[m, p, t0 + i] = acc[i]


@njit(parallel=True, **JIT)
def level_values(portfolios, today, weight, live, fix_ptr, fix_driver, effect, seg_target, out):
    """``out[p, t]``: the level ``today + sum_{s, j} weight[s, j] (1 - prod (1 - f_kjt))`` over the
    members k of portfolio p live in the horizon's last month, targeting segment s and acting on
    driver j; the (s, j) terms in the order :func:`cxopt.engine.levels.metric_levels` adds them
    (first appearance by member, fix entry, segment), so the result has the same bits.

    Parameters
    ----------
    portfolios : (P, Kmax) int64, ascending, padded with -1
    weight : (S, D) points per fully fixed (reached) segment and driver
    live : (T, K) bool, delivered and live in the horizon's last month
    fix_ptr, fix_driver, effect : the fixes (CSR) and their effectiveness (T, E)
    seg_target : (K, S) bool
    out : (P, T) filled
    """
    P = portfolios.shape[0]
    T = live.shape[0]
    kmax = portfolios.shape[1]
    n_seg = weight.shape[0]
    max_terms = 1
    for p in range(P):
        n = 0
        for a in range(kmax):
            k = portfolios[p, a]
            if k < 0:
                break
            n += (fix_ptr[k + 1] - fix_ptr[k]) * n_seg
        max_terms = max(max_terms, n)
    for p in prange(P):
        # the distinct (segment, driver) keys, in first-appearance order, and each term's key
        key_s = np.empty(max_terms, dtype=np.int64)
        key_j = np.empty(max_terms, dtype=np.int64)
        term_k = np.empty(max_terms, dtype=np.int64)
        term_e = np.empty(max_terms, dtype=np.int64)
        term_key = np.empty(max_terms, dtype=np.int64)
        n_keys = 0
        n_terms = 0
        for a in range(kmax):
            k = portfolios[p, a]
            if k < 0:
                break
            for e in range(fix_ptr[k], fix_ptr[k + 1]):
                j = fix_driver[e]
                for s in range(n_seg):
                    if seg_target[k, s] and weight[s, j] != 0.0:
                        x = 0
                        while x < n_keys and not (key_s[x] == s and key_j[x] == j):
                            x += 1
                        if x == n_keys:
                            key_s[x] = s
                            key_j[x] = j
                            n_keys += 1
                        term_k[n_terms] = k
                        term_e[n_terms] = e
                        term_key[n_terms] = x
                        n_terms += 1
        nf = np.empty(max(n_keys, 1))
        for t in range(T):
            for x in range(n_keys):
                nf[x] = 1.0
            for i in range(n_terms):
                if live[t, term_k[i]]:
                    nf[term_key[i]] *= 1.0 - effect[t, term_e[i]]
            v = today
            for x in range(n_keys):
                v += weight[key_s[x], key_j[x]] * (1.0 - nf[x])
            out[p, t] = v


@njit(parallel=True, **JIT)
def met_counts(values, which, lower, offset, value, scale, slack, out):
    """``out[p, r]``: the trials t in which every target i holds with slack ``slack[r]`` to spare
    against it, in units of ``scale[i]``: ``values[which[i], p, t] - offset[i, t]`` at most
    (``lower[i]``) or at least ``value[i]``, relaxed by ``slack[r] * scale[i]``.

    ``slack[0] = 0`` counts the trials where every target holds as stated, by the comparison of
    :meth:`cxopt.portfolio.chance.Target.met` (``offset``: the same trial's baseline for a relative
    target, zero otherwise): ``a <= b`` exactly when ``b - a >= 0`` in floating point. A target with
    ``scale[i] == 0`` is never relaxed (its values are exact).

    Parameters
    ----------
    values : (M, P, T)
    which : (n,) int64, the quantity each target reads
    lower : (n,) bool, True for ``<=``
    offset : (n, T)
    value, scale : (n,)
    slack : (R,) ascending, slack[0] == 0
    out : (P, R) int64
    """
    P = values.shape[1]
    T = values.shape[2]
    n = which.shape[0]
    R = slack.shape[0]
    for p in prange(P):
        z = np.full(T, np.inf)  # the smallest room over the targets, in units of their scale
        ok = np.ones(T, dtype=np.bool_)  # every target met as stated
        for i in range(n):
            row = values[which[i], p]
            off = offset[i]
            v0 = value[i]
            sign = -1.0 if lower[i] else 1.0  # room = sign * ((v - off) - value)
            if scale[i] > 0.0:
                inv = 1.0 / scale[i]
                for t in range(T):
                    room = sign * ((row[t] - off[t]) - v0)
                    ok[t] = ok[t] and room >= 0.0
                    z[t] = min(z[t], room * inv)
            else:
                for t in range(T):
                    room = sign * ((row[t] - off[t]) - v0)
                    if not room >= 0.0:
                        ok[t] = False
                        z[t] = -np.inf
        c = 0
        for t in range(T):
            c += ok[t]
        out[p, 0] = c
        for r in range(1, R):
            c = 0
            for t in range(T):
                c += z[t] >= -slack[r]
            out[p, r] = max(c, out[p, 0])
