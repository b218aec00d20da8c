"""The market at risk of the plan's explanation (:mod:`cxopt.plan.explain`): per row (a trial and
the initiatives live in it), the customers and revenue lost because of pain points.

A group's customers survive the pains with probability ``prod_j (1 - sigma_j (1 - F_sj))`` over
the pains it is exposed to. The groups are summed over their delighters first (keys: segment and
pain mask). With few pains the product of every pain subset is tabulated once per row and
segment (2**pains steps, each subset's factors multiplied in ascending pain order, as the direct
loop does); otherwise each key multiplies its own pains. One row per task unit: the result does
not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import JIT, TRIAL_CHUNK


@njit(parallel=True, **JIT)
def pain_losses(sigma, F, trials, seg_u, mask_u, E_u, N_u, A_u, use_table):
    """Customers and revenue lost, ``sum_u (1 - survival_u) N_u`` (and ``A_u``), per row.

    Parameters
    ----------
    sigma : (T, n_pains) severities per trial
    F : (R, S, >= n_pains) share of each pain removed, per row and segment
    trials : (R,) int64, the trial of each row
    seg_u, mask_u : (U,) int64, each key's segment and pain mask (bit j: exposed to pain j)
    E_u : (U, n_pains) bool, the same exposure (the direct loop's)
    N_u, A_u : (U,) customers and revenue per key
    use_table : tabulate the subsets' products (needs 2**n_pains entries per segment)

    Returns
    -------
    customers, revenue : (R,) float64
    """
    R = F.shape[0]
    S = F.shape[1]
    n_p = sigma.shape[1]
    U = seg_u.shape[0]
    out_c = np.empty(R)
    out_r = np.empty(R)
    size = (1 << n_p) if use_table else 0
    chunk = max(1, min(TRIAL_CHUNK, R // 64))
    n_chunks = (R + chunk - 1) // chunk
    for c in prange(n_chunks):
        keep = np.empty((S, max(n_p, 1)))
        table = np.empty((S, max(size, 1)))
        for r in range(c * chunk, min(R, (c + 1) * chunk)):
            t = trials[r]
            for s in range(S):
                for j in range(n_p):
                    keep[s, j] = 1.0 - sigma[t, j] * (1.0 - F[r, s, j])
            if use_table:
                for s in range(S):
                    table[s, 0] = 1.0
                    high = -1
                    for m in range(1, size):
                        if m == 1 << (high + 1):
                            high += 1
                        table[s, m] = table[s, m ^ (1 << high)] * keep[s, high]
            cs = 0.0
            rs = 0.0
            for u in range(U):
                s = seg_u[u]
                if use_table:
                    survive = table[s, mask_u[u]]
                else:
                    survive = 1.0
                    for j in range(n_p):
                        if E_u[u, j]:
                            survive *= keep[s, j]
                lost = 1.0 - survive
                cs += lost * N_u[u]
                rs += lost * A_u[u]
            out_c[r] = cs
            out_r[r] = rs
    return out_c, out_r
