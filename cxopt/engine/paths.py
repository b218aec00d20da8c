"""Metrics of a portfolio beyond retained revenue: the monthly path and linear metrics (NPS).

* Monthly path (DESIGN.md section 1): ``rho`` changes only at go-live months, so month
  ``tau``'s retention in force is the portfolio evaluated with the initiatives live in
  that month held fixed. Expected customers lost in month tau = (N - retained(tau)) / H,
  revenue likewise. This is the forecast tracking holds actuals against.
* Linear metrics (e.g. NPS points): a pain point's impact applies to exposed customers
  while it is not fixed (share ``1 - F``), a delighter's when it is delivered (share ``F``).
  Averaged over customers and over the horizon's months.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cxopt.data.customers import GroupStats
from cxopt.engine.arrays import (MAX_CLASS_DRIVERS, affected_lists, class_tables, portfolio_table,
                                 segment_targets)
from cxopt.engine.draws import Draws
from cxopt.engine.simulation import Simulation
from cxopt.kernels.config import BY_CLASS, BY_GROUP

__all__ = ["MonthlyPath", "monthly_path", "monthly_paths", "live_matrix", "linear_metric", "metric_names"]


@dataclass(frozen=True)
class MonthlyPath:
    """Per trial and month: expected customers and revenue lost (T, H)."""

    customers_lost: np.ndarray
    revenue_lost: np.ndarray

    @property
    def horizon(self) -> int:
        return int(self.customers_lost.shape[1])


def live_matrix(draws: Draws, portfolio: list[int], month: int) -> np.ndarray:
    """(T, len(portfolio)) bool: which initiatives are live in ``month`` of each trial."""
    p = list(portfolio)
    return draws.success[:, p] & (draws.golive[:, p] <= month)


def monthly_path(sim: Simulation, portfolio: list[int], draws: Draws | None = None) -> MonthlyPath:
    """The expected monthly losses of a portfolio on every trial.

    Grouped: one kernel call (:func:`cxopt.kernels.epochs.value_paths`) walks each trial's
    epochs and keeps every month's retention in force. Sampled (with its base): each distinct
    live pattern re-evaluated on the base (:meth:`Simulation.evaluate`).
    """
    d = draws or sim.draws
    p = sorted(int(k) for k in portfolio)
    if sim.mode == "sampled" and sim.base is not None:
        return _monthly_path_by_pattern(sim, p, d)
    sc = sim.scenario
    H = sc.horizon_months
    fixes = {int(d.fix_driver[e]) for k in p for e in range(d.fix_ptr[k], d.fix_ptr[k + 1])}
    g = _merge_untouched_delighters(sim.groups, len(sc.pain_points), fixes)
    port = portfolio_table([p])
    if len(fixes) <= MAX_CLASS_DRIVERS:
        ct = class_tables(g, [tuple(sorted(fixes))])
        mode, tables = BY_CLASS, (ct.port_set, ct.set_ptr, ct.set_drivers, ct.aff_ptr, ct.aff_idx, ct.aff_cls)
    else:
        ptr, idx = affected_lists(sc, g, [p])
        none = np.zeros(0, dtype=np.int64)
        mode, tables = BY_GROUP, (none, none, none, ptr, idx, none)
    rev = np.empty((d.trials, H))
    cust = np.empty((d.trials, H))
    groups = (g.segment, g.mask, g.customers.astype(np.float64), g.revenue, g.revenue_churn, g.churn)
    draws_ = (d.strength, d.market, d.fix_ptr, d.fix_driver, d.effect, segment_targets(sc, g), d.success, d.golive)
    from cxopt.kernels.epochs import value_paths

    value_paths(mode, 0, port, *tables, groups, len(sc.pain_points), max(len(g.segments), 1), draws_, H, rev, cust)
    return MonthlyPath(customers_lost=(float(sim.n_customers) - cust) / H,
                       revenue_lost=(sim.groups.total_revenue - rev) / H)


def monthly_paths(sim: Simulation, portfolios: list[list[int]], draws: Draws | None = None) -> list[MonthlyPath]:
    """:func:`monthly_path` of several portfolios (a plan's, the baseline's, each chosen initiative's)
    in one kernel call (:func:`cxopt.kernels.classes.paths_by_class`): one pass over the groups per
    trial for all of them, on the groups with the delighters none of them delivers merged.

    The portfolio whose drivers are all the others' (a plan's) gets :func:`monthly_path`'s values bit
    for bit (the same merged groups and sums); the others are summed over those coarser groups and
    so equal :func:`monthly_path` up to the order of the additions (about 1e-16 of the revenue).
    """
    d = draws or sim.draws
    ps = [sorted(int(k) for k in p) for p in portfolios]
    sc = sim.scenario
    fixes = [tuple(sorted({int(d.fix_driver[e]) for k in p for e in range(d.fix_ptr[k], d.fix_ptr[k + 1])}))
             for p in ps]
    union = {j for f in fixes for j in f}
    if (sim.mode == "sampled" and sim.base is not None) or len(union) > MAX_CLASS_DRIVERS or len(ps) < 2:
        return [monthly_path(sim, p, d) for p in ps]
    H = sc.horizon_months
    sets = sorted(set(fixes))
    rank = {ts: q for q, ts in enumerate(sets)}
    order = sorted(range(len(ps)), key=lambda i: rank[fixes[i]])

    def compute() -> np.ndarray:
        from cxopt.kernels.classes import paths_by_class

        g = _merge_untouched_delighters(sim.groups, len(sc.pain_points), union)
        ct = class_tables(g, [fixes[i] for i in order])
        both = np.empty((2, len(ps), d.trials, H))  # revenue, customers: the kernel fills both halves
        paths_by_class(portfolio_table([ps[i] for i in order]), ct.port_set, ct.set_ptr, ct.set_drivers, ct.aff_ptr,
                       ct.aff_idx, ct.aff_cls, g.segment, g.mask, g.customers.astype(np.float64), g.revenue,
                       g.revenue_churn, g.churn, len(sc.pain_points), max(len(g.segments), 1), d.strength, d.market,
                       d.fix_ptr, d.fix_driver, d.effect, segment_targets(sc, g), d.success, d.golive, H,
                       both[0], both[1])
        return both

    # a re-run reads the paths from the simulation's store (the same bits), keyed by the batch
    if sim.store is not None and sim.keys is not None and d is sim.draws:
        rev, cust = sim.store.get_or_compute(sim.keys.batch(ps, "paths"), compute, (2, len(ps), d.trials, H))
    else:
        rev, cust = compute()
    out: list[MonthlyPath | None] = [None] * len(ps)
    for q, i in enumerate(order):
        out[i] = MonthlyPath(customers_lost=(float(sim.n_customers) - cust[q]) / H,
                             revenue_lost=(sim.groups.total_revenue - rev[q]) / H)
    return out  # type: ignore[return-value]


def _merge_untouched_delighters(g: GroupStats, n_pains: int, fixes: set[int]) -> GroupStats:
    """The groups with the bits of the delighters the portfolio does not deliver cleared, and the
    groups that then coincide summed: such a delighter changes no retention (nobody receives it),
    so those groups change alike month by month, and the kernel visits fewer groups."""
    D = len(g.drivers)
    keep = np.uint64(sum(1 << j for j in range(D) if j < n_pains or j in fixes))
    mask = g.mask & keep
    if D > 40 or np.array_equal(mask, g.mask):
        return g
    keys, inverse = np.unique((g.segment.astype(np.uint64) << np.uint64(D)) | mask, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = keys.shape[0]

    def total(x: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=x, minlength=n)

    return replace(g, segment=(keys >> np.uint64(D)).astype(g.segment.dtype), mask=keys & np.uint64((1 << D) - 1),
                   customers=total(g.customers.astype(np.float64)).astype(g.customers.dtype),
                   revenue=total(g.revenue), revenue_churn=total(g.revenue_churn), churn=total(g.churn))


def _monthly_path_by_pattern(sim: Simulation, p: list[int], d: Draws) -> MonthlyPath:
    """Each distinct live pattern of the month evaluated as a portfolio held fixed (sampled mode)."""
    H = sim.scenario.horizon_months
    N = float(sim.n_customers)
    A = sim.groups.total_revenue
    cust = np.empty((d.trials, H))
    rev = np.empty((d.trials, H))
    cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    for tau in range(H):
        live = live_matrix(d, p, tau)
        key = live.tobytes()
        if key not in cache:
            success = d.success.copy()
            golive = d.golive.copy()
            success[:, p] = live
            golive[:, p] = np.where(live, 0, H)
            r, c = sim.evaluate([p], draws=d.with_facts(success=success, golive=golive))
            cache[key] = (r[0], c[0])
        r, c = cache[key]
        rev[:, tau] = (A - r) / H
        cust[:, tau] = (N - c) / H
    return MonthlyPath(customers_lost=cust, revenue_lost=rev)


def metric_names(sim: Simulation) -> list[str]:
    """Names of the CX metrics: declared in ``[metrics]`` or named by a driver's impacts (e.g. ``["nps"]``)."""
    return sim.scenario.metric_names()


def linear_metric(sim: Simulation, portfolio: list[int], name: str, draws: Draws | None = None) -> np.ndarray:
    """Per trial, the metric's average over customers and months (e.g. NPS points lost to pains)."""
    d = draws or sim.draws
    sc, g = sim.scenario, sim.groups
    H = sc.horizon_months
    n_p = len(sc.pain_points)
    S = len(g.segments)
    N = float(g.n_customers)
    impacts = np.array([drv.metric_impacts().get(name, 0.0) for drv in sc.drivers])
    # customers per (segment, driver)
    exposed = np.zeros((S, len(impacts)))
    for j in range(len(impacts)):
        e = g.exposed(j)
        exposed[:, j] = np.bincount(g.segment[e], weights=g.customers[e], minlength=S)
    weight = exposed * impacts[None, :] / N  # (S, D)
    is_pain = np.arange(len(impacts)) < n_p
    baseline = float(weight[:, is_pain].sum())
    p = sorted(int(k) for k in portfolio)
    if not p:
        return np.full(d.trials, baseline)
    target = segment_targets(sc, g)
    total = np.zeros(d.trials)
    for tau in range(H):
        live = live_matrix(d, p, tau)
        not_f = np.ones((d.trials, S, len(impacts)))
        for q, k in enumerate(p):
            for e in range(d.fix_ptr[k], d.fix_ptr[k + 1]):
                j = d.fix_driver[e]
                factor = np.where(live[:, q], 1.0 - d.effect[:, e], 1.0)
                for s in range(S):
                    if target[k, s]:
                        not_f[:, s, j] *= factor
        F = 1.0 - not_f
        # pains lose their impact where fixed; delighters gain theirs where delivered
        month = baseline - (F[:, :, is_pain] * weight[None, :, is_pain]).sum(axis=(1, 2)) \
            + (F[:, :, ~is_pain] * weight[None, :, ~is_pain]).sum(axis=(1, 2))
        total += month
    return total / H
