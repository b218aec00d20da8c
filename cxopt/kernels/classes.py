"""The grouped evaluation by class sums, the fast path (DESIGN.md section 1, "Grouped").

A portfolio acting on the drivers T changes a group's retention only through (segment, the
group's mask restricted to T): its "class". Per trial, the baseline-weighted group sums are
added up per class once for each distinct T, and every epoch of every portfolio using T
then costs O(classes) instead of O(groups) (:mod:`cxopt.kernels.valuation`). A trial in
which a touched pain has severity exactly 1 is valued per group instead, exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cxopt.kernels.config import BY_CLASS, JIT
from cxopt.kernels.epochs import value_trials


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
