"""numba kernels of the per-customer sampled path (DESIGN.md section 1, "Per-customer, sampled").

Plain arrays in, arrays out. Two kernels:

* :func:`retention_coefficients` — because ``rho_it(S, tau)`` is linear in the customer's
  baseline churn ``p_i``, customer ``i`` of group ``g`` retains with probability
  ``a[t, g, p] - b[t, g, p] * p_i`` over the horizon, where
  ``a = (1/H) sum_e L_e P_g(e)`` and ``b = (1/H) sum_e L_e m_t D_g(e) P_g(e)`` over the
  epochs ``e`` (intervals between distinct go-live months of the delivered members;
  ``P`` = product of the pain factors, ``D`` = product of the delighter factors).
  The table is laid out (trial, group, portfolio) so that one group's coefficients for
  all portfolios are contiguous, with a flag per cell: does the portfolio change this
  group's coefficients at all (most portfolios leave most groups at the baseline)?
* :func:`sample_retained` — customer ``i`` is retained in trial ``t`` iff
  ``u_it < a - b p_i`` with ``u_it`` a counter-based uniform of (key, customer id, trial):
  the same ``u`` for every portfolio (common random numbers). Customers come sorted by
  group, so a run of one group shares its coefficients: the inner loop over the run is
  a plain vectorisable reduction, and a portfolio that leaves the group unchanged reuses
  the baseline's sums. Revenue is accumulated in fixed point (two int64 limbs),
  customers as integer counts, into per-slice partials: integer sums are exact, so
  neither the thread count nor the chunking nor the order of customers can change a
  result.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import FACTORS, JIT, SUB_BLOCK
from cxopt.kernels.epochs import value_trials
from cxopt.kernels.random import fill_uniforms


@njit(**JIT)
def retention_coefficients(t0, t1, p0, p1, portfolios, aff_ptr, aff_idx, g_seg, g_mask, n_pains,
                           strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive,
                           horizon):
    """Horizon retention coefficients for trials ``t0..t1-1`` and portfolios ``p0..p1-1``.

    Parameters
    ----------
    portfolios : (P, Kmax) int32, initiative indices padded with -1
    aff_ptr, aff_idx : CSR lists of the groups each portfolio can affect
    g_seg, g_mask : group keys
    strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive, horizon :
        the trials' draws, as for :func:`cxopt.kernels.grouped.evaluate_grouped`

    Returns
    -------
    coef_a, coef_b : (t1 - t0, G, p1 - p0) float64; a customer of group g with baseline
        churn p is retained over the horizon with probability ``coef_a - coef_b * p``.
    changed : (t1 - t0, G, p1 - p0) bool, the coefficients differ from the baseline's
    base_a, base_b : (t1 - t0, G) the baseline's coefficients (no initiative)
    """
    Tb = t1 - t0
    Pb = p1 - p0
    G = g_seg.shape[0]
    coef_a = np.empty((Tb, G, Pb))
    coef_b = np.empty((Tb, G, Pb))
    changed = np.zeros((Tb, G, Pb), dtype=np.bool_)
    base_a = np.empty((Tb, G))
    base_b = np.empty((Tb, G))
    none = np.empty(0, dtype=np.int64)  # the class-sum inputs, unused here
    sums = np.empty(0)  # the group sums: the sampled path draws customers instead
    out = (np.empty((0, 0)), np.empty((0, 0)), coef_a, coef_b, changed, base_a, base_b)
    value_trials(FACTORS, t0, t1, p0, p1, portfolios, none, none, none, aff_ptr, aff_idx, none,
                 (g_seg, g_mask, sums, sums, sums, sums), n_pains, seg_target.shape[1],
                 (strength, market, fix_ptr, fix_driver, effect, seg_target, success, golive), horizon, out)
    return coef_a, coef_b, changed, base_a, base_b


@njit(**JIT)
def customer_uniforms(key, customer_id, t):
    """The uniforms :func:`sample_retained` draws for these customers in trial ``t``."""
    u = np.empty(customer_id.shape[0])
    fill_uniforms(key, customer_id, t, u)
    return u


@njit(**JIT)
def run_sums(u, churn, rev_whole, rev_frac, a, b):
    """Sums over customers of one group (equal-length slices) retained: ``u < a - b p``.

    Plain ``range`` indices (never negative, so no wrap-around) let LLVM vectorise the
    loop, the test becoming a mask; integer sums are exact, so that changes no result.
    """
    sw = np.int64(0)
    sf = np.int64(0)
    sn = np.int64(0)
    for x in range(u.shape[0]):
        if u[x] < a - b * churn[x]:
            sw += rev_whole[x]
            sf += rev_frac[x]
            sn += 1
    return sw, sf, sn


@njit(parallel=True, **JIT)
def sample_retained(key, t0, customer_id, churn, group, rev_whole, rev_frac, coef_a, coef_b, changed,
                    base_a, base_b, n_slices):
    """Retained revenue (fixed point) and customers per (trial, portfolio) for a block of trials.

    Parameters
    ----------
    key : uint64, the sampling stream's key (seed mixed with a stream constant)
    t0 : global index of the block's first trial (uniforms are keyed on the global trial)
    customer_id, churn, group : (n,) int64 id, float64 baseline churn, int64 group index;
        any order gives the same result, sorted by group is fastest (long runs of one group)
    rev_whole, rev_frac : (n,) int64, revenue in fixed point (:func:`cxopt.kernels.fixed.split_revenue`)
    coef_a, coef_b, changed, base_a, base_b : from :func:`retention_coefficients`; a
        portfolio that leaves a group's coefficients unchanged reuses the baseline's sums
        for it (the same numbers, computed once)
    n_slices : number of contiguous customer slices (one partial each); any value gives
        the same result

    Returns
    -------
    whole, frac, count : (Tb, Pb) int64 sums over the customers retained
    """
    Tb = coef_a.shape[0]
    Pb = coef_a.shape[2]
    n = customer_id.shape[0]
    n_slices = max(1, min(n_slices, n))
    part_w = np.zeros((n_slices, Tb, Pb), dtype=np.int64)
    part_f = np.zeros((n_slices, Tb, Pb), dtype=np.int64)
    part_n = np.zeros((n_slices, Tb, Pb), dtype=np.int64)
    step = (n + n_slices - 1) // n_slices
    for s in prange(n_slices):
        lo = s * step
        hi = min(n, lo + step)
        # per-slice scratch, allocated once per slice (a parallel task), not per sub-block
        u = np.empty(SUB_BLOCK)
        run_start = np.empty(SUB_BLOCK + 1, dtype=np.int64)
        for b0 in range(lo, hi, SUB_BLOCK):
            b1 = min(hi, b0 + SUB_BLOCK)
            m = b1 - b0
            # runs of consecutive customers of one group: their coefficients are shared
            n_runs = 0
            for x in range(m):
                if x == 0 or group[b0 + x] != group[b0 + x - 1]:
                    run_start[n_runs] = x
                    n_runs += 1
            run_start[n_runs] = m
            for tt in range(Tb):
                t = t0 + tt
                # one uniform per customer and trial, shared by all portfolios
                fill_uniforms(key, customer_id[b0:b1], t, u)
                for r in range(n_runs):
                    x0 = run_start[r]
                    x1 = run_start[r + 1]
                    g = group[b0 + x0]
                    u_r = u[x0:x1]
                    p_r = churn[b0 + x0:b0 + x1]
                    w_r = rev_whole[b0 + x0:b0 + x1]
                    f_r = rev_frac[b0 + x0:b0 + x1]
                    base_done = False
                    bw = np.int64(0)
                    bf = np.int64(0)
                    bn = np.int64(0)
                    for pp in range(Pb):
                        if changed[tt, g, pp]:
                            sw, sf, sn = run_sums(u_r, p_r, w_r, f_r, coef_a[tt, g, pp], coef_b[tt, g, pp])
                        else:
                            if not base_done:
                                bw, bf, bn = run_sums(u_r, p_r, w_r, f_r, base_a[tt, g], base_b[tt, g])
                                base_done = True
                            sw, sf, sn = bw, bf, bn
                        part_w[s, tt, pp] += sw
                        part_f[s, tt, pp] += sf
                        part_n[s, tt, pp] += sn
    whole = np.zeros((Tb, Pb), dtype=np.int64)
    frac = np.zeros((Tb, Pb), dtype=np.int64)
    count = np.zeros((Tb, Pb), dtype=np.int64)
    for s in range(n_slices):
        whole += part_w[s]
        frac += part_f[s]
        count += part_n[s]
    return whole, frac, count
