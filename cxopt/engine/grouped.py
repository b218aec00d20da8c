"""Grouped evaluation (DESIGN.md section 1, "Grouped"): exact in expectation, O(groups) a trial.

Portfolios touching at most ``MAX_CLASS_DRIVERS`` drivers go to the class-sum kernel
(groups that change alike are summed once); larger ones to the per-group kernel.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cxopt.data.customers import GroupStats
from cxopt.engine.arrays import MAX_CLASS_DRIVERS, affected_lists, class_tables, portfolio_table, segment_targets
from cxopt.engine.draws import Draws
from cxopt.kernels.classes import evaluate_grouped_classes
from cxopt.kernels.grouped import evaluate_grouped as evaluate_groups
from cxopt.model.scenario import Scenario

__all__ = ["evaluate_grouped"]


def evaluate_grouped(sc: Scenario, groups: GroupStats, draws: Draws, portfolios: Sequence[Sequence[int]]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers, (P, T) each, for each portfolio (lists of initiative indices)."""
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
        rev, cust = evaluate_grouped_classes(portfolio_table([portfolios[i] for i in order]), ct.port_set,
                                                     ct.set_ptr, ct.set_drivers, ct.aff_ptr, ct.aff_idx,
                                                     ct.aff_cls, *common)
        out_rev[order], out_cust[order] = rev, cust
    if large:
        ptr, idx = affected_lists(sc, groups, [portfolios[i] for i in large])
        rev, cust = evaluate_groups(portfolio_table([portfolios[i] for i in large]), ptr, idx, *common)
        out_rev[large], out_cust[large] = rev, cust
    return out_rev, out_cust
