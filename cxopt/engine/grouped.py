"""Grouped evaluation (DESIGN.md section 1, "Grouped"): exact in expectation, O(groups) a trial.

Portfolios touching at most ``MAX_CLASS_DRIVERS`` drivers go to the class-sum kernel
(groups that change alike are summed once); larger ones to the per-group kernel. The
interacting pairs the optimiser needs are valued from the baseline, the singles and each
pair's interaction on the groups both act on (:func:`evaluate_pairs`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cxopt.data.customers import GroupStats
from cxopt.engine.arrays import (MAX_CLASS_DRIVERS, MAX_PAIR_DRIVERS, affected_lists, class_tables, pair_tables,
                                 portfolio_table, segment_targets)
from cxopt.engine.draws import Draws
from cxopt.model.scenario import Scenario

__all__ = ["evaluate_grouped", "evaluate_pairs", "NESTED_MIN_SETS", "NESTED_RATIO"]

# with nested=True, a batch whose driver sets all lie in a union U with at most groups / NESTED_RATIO
# classes, and that has at least NESTED_MIN_SETS sets (a plan's subsets of the chosen portfolio),
# takes its class sums from U's (evaluate_nested_classes): the same values up to the order of the
# additions, so a portfolio's bits then depend on the batch it came in
NESTED_MIN_SETS = 4
NESTED_RATIO = 4


def evaluate_grouped(sc: Scenario, groups: GroupStats, draws: Draws, portfolios: Sequence[Sequence[int]],
                     *, nested: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers, (P, T) each, for each portfolio (lists of initiative indices).

    Each portfolio's values are the same bits whatever else is in the batch, unless ``nested``: then
    a batch of many driver sets within a small union (the subsets of one portfolio) may take its
    class sums from the union's, equal to rounding (about 1e-16 of the revenue) and much faster."""
    from cxopt.kernels.classes import evaluate_grouped_classes, evaluate_nested_classes
    from cxopt.kernels.grouped import evaluate_grouped as evaluate_groups

    P, T = len(portfolios), draws.trials
    out_rev = np.empty((P, T))
    out_cust = np.empty((P, T))
    if P == 0:
        return out_rev, out_cust
    fixes = [sorted({int(draws.fix_driver[e]) for e in range(draws.fix_ptr[k], draws.fix_ptr[k + 1])})
             for k in range(len(sc.initiatives))]
    touched = [tuple(sorted({j for k in p for j in fixes[k]})) for p in portfolios]
    small = [i for i in range(P) if len(touched[i]) <= MAX_CLASS_DRIVERS]
    large = [i for i in range(P) if len(touched[i]) > MAX_CLASS_DRIVERS]
    common = (groups.segment, groups.mask, groups.customers.astype(np.float64), groups.revenue,
              groups.revenue_churn, groups.churn, len(sc.pain_points), max(len(groups.segments), 1),
              draws.strength, draws.market, draws.fix_ptr, draws.fix_driver, draws.effect,
              segment_targets(sc, groups), draws.success, draws.golive, sc.horizon_months)
    if small:
        sets = sorted({touched[i] for i in small})
        rank = {ts: q for q, ts in enumerate(sets)}
        order = sorted(small, key=lambda i: rank[touched[i]])
        ct = class_tables(groups, [touched[i] for i in order])
        union = sorted({j for ts in sets for j in ts})
        n_seg = max(len(groups.segments), 1)
        if nested and len(sets) >= NESTED_MIN_SETS and (n_seg << len(union)) * NESTED_RATIO <= groups.n_groups:
            rev, cust = evaluate_nested_classes(portfolio_table([portfolios[i] for i in order]), ct.port_set,
                                                ct.set_ptr, ct.set_drivers, ct.aff_ptr, ct.aff_idx, ct.aff_cls,
                                                *_union_tables(groups, union, sets), *common)
        else:
            rev, cust = evaluate_grouped_classes(portfolio_table([portfolios[i] for i in order]), ct.port_set,
                                                 ct.set_ptr, ct.set_drivers, ct.aff_ptr, ct.aff_idx,
                                                 ct.aff_cls, *common)
        out_rev[order], out_cust[order] = rev, cust
    if large:
        ptr, idx = affected_lists(sc, groups, [portfolios[i] for i in large])
        rev, cust = evaluate_groups(portfolio_table([portfolios[i] for i in large]), ptr, idx, *common)
        out_rev[large], out_cust[large] = rev, cust
    return out_rev, out_cust


def _union_tables(groups: GroupStats, union: list[int], sets: list[tuple[int, ...]]
                  ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """(|U|, the groups exposed to U, their class on U, each set's bits of each pattern on U)."""
    bits = np.zeros(groups.n_groups, dtype=np.int64)
    for y, j in enumerate(union):
        bits |= ((groups.mask >> np.uint64(j)) & np.uint64(1)).astype(np.int64) << y
    hit = np.flatnonzero(bits).astype(np.int64)
    cls = (groups.segment[hit].astype(np.int64) << len(union)) | bits[hit]
    patterns = np.arange(1 << len(union), dtype=np.int64)
    proj = np.zeros((len(sets), patterns.size), dtype=np.int64)
    pos = {j: y for y, j in enumerate(union)}
    for q, ts in enumerate(sets):
        for x, j in enumerate(ts):
            proj[q] |= ((patterns >> pos[j]) & 1) << x
    return len(union), hit, cls, proj


def evaluate_pairs(sc: Scenario, groups: GroupStats, draws: Draws, pairs: np.ndarray,
                   baseline: tuple[np.ndarray, np.ndarray], singles: tuple[np.ndarray, np.ndarray],
                   max_drivers: int = MAX_PAIR_DRIVERS) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers, (n_pairs, T) each, of the portfolios ``pairs`` (k, l).

    The same values as :func:`evaluate_grouped` on ``[[k, l] for k, l in pairs]`` (to rounding,
    about 1e-15 of the revenue: the sums are taken in another order), computed as
    R(k) + R(l) - R() + w_kl with w_kl summed over the groups both k and l act on; exactly
    R(k) (R(l)) in a trial where the other is not delivered within the horizon.

    Parameters
    ----------
    pairs : (n_pairs, 2) initiative indices
    baseline : (revenue, customers), (T,) each: :func:`evaluate_grouped` of ``[[]]``
    singles : (revenue, customers), (K, T) each: :func:`evaluate_grouped` of ``[[k] for k in range(K)]``
    max_drivers : pairs touching more drivers between them are valued by :func:`evaluate_grouped`
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    T = draws.trials
    out_rev = np.empty((pairs.shape[0], T))
    out_cust = np.empty((pairs.shape[0], T))
    if pairs.shape[0] == 0:
        return out_rev, out_cust
    pt = pair_tables(groups, draws.fix_ptr, draws.fix_driver, pairs, max_drivers)
    if pt.fast.size:
        from cxopt.kernels.pairs import pair_values

        rev, cust = pair_values(pt.pairs, pt.u_ptr, pt.u_driver, pt.u_fix, pt.x_ptr, pt.x_local, pt.x_index,
                                pt.xs_mask, pt.ent_ptr, pt.ent_group,
                                groups.segment, groups.mask, groups.customers.astype(np.float64), groups.revenue,
                                groups.revenue_churn, groups.churn, len(sc.pain_points), max(len(groups.segments), 1),
                                draws.strength, draws.market, draws.effect, segment_targets(sc, groups), draws.success,
                                draws.golive, sc.horizon_months,
                                np.ascontiguousarray(baseline[0]), np.ascontiguousarray(baseline[1]),
                                np.ascontiguousarray(singles[0]), np.ascontiguousarray(singles[1]))
        if not pt.slow.size:
            return rev, cust  # every pair in its row already: no copy of the (n_pairs, T) tables
        out_rev[pt.fast], out_cust[pt.fast] = rev, cust
    if pt.slow.size:
        rev, cust = evaluate_grouped(sc, groups, draws, [list(map(int, pairs[q])) for q in pt.slow])
        out_rev[pt.slow], out_cust[pt.slow] = rev, cust
    return out_rev, out_cust
