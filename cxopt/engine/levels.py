"""CX score levels (NPS, CSAT, CES or the company's own) per trial, from today's level.

Whom the score counts (docs/decisions.md): today's customers, each once, as surveyed in the
horizon's last month (a fixed panel). Today's level ``L0`` (``[metrics.<name>] baseline``)
already carries every pain as it is; in month tau an exposed customer's score moves by a
pain's impact times the share of that pain not yet fixed, and a delighter's impact times the
share of its eligible customers reached. So for a portfolio S in trial t

    level_t(S) = L0 + sum_{segment s, driver j} n_sj / N * F_sjt(S, H-1) * gain_j
    gain_j = -impact_j for a pain (the points it stops costing), +impact_j for a delighter

with ``F`` the share fixed (reached) by the initiatives live in the last month, ``n_sj`` the
customers of segment s exposed to (eligible for) driver j. Customers who leave are not
re-weighted out of the panel: the level then moves only through what the initiatives fix,
never because unhappy customers left (which a survivor survey would show as a gain even with
no initiative). A metric that drivers name in ``impacts`` but no ``[metrics]`` table declares
has no known level today: it is reported as the change from today (``L0 = 0``).

The level in an earlier month m (:func:`metric_levels_in_month`, :func:`metric_level_path`) is
the same sum with the initiatives live in month m: what a survey of the panel at the end of
month m measures, and what tracking holds a measured level (the actuals' ``<metric>``
column) against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from cxopt.engine.arrays import segment_targets
from cxopt.engine.draws import Draws
from cxopt.engine.simulation import Simulation

__all__ = ["MetricInfo", "metric_info", "level_fields", "level_weights", "metric_levels", "metric_level",
           "metric_levels_in_month", "metric_level_path"]


@dataclass(frozen=True)
class MetricInfo:
    """What a report needs to label a metric: today's level (None: not declared), unit, direction."""

    name: str
    label: str
    today: float | None
    unit: str
    higher_is_better: bool


def metric_info(sc, name: str) -> MetricInfo:
    m = sc.metrics.get(name)
    if m is None:
        return MetricInfo(name, name.upper() if len(name) <= 4 else name, None, "points", True)
    return MetricInfo(name, m.name or (name.upper() if len(name) <= 4 else name), m.baseline, m.unit,
                      m.higher_is_better)


def level_fields(sc, name: str) -> dict:
    """The labels a plan records beside a metric's levels (reports read them, never recompute)."""
    info = metric_info(sc, name)
    return {"label": info.label, "today": info.today, "unit": info.unit, "higher_is_better": info.higher_is_better,
            "measure": "level in the horizon's last month over today's customers" if info.today is not None else
            "change from today's level in the horizon's last month (no [metrics] baseline declared)"}


def level_weights(sim: Simulation, name: str) -> np.ndarray:
    """(S, D) points each (segment, driver) adds to the level when fully fixed / delivered."""
    sc, g = sim.scenario, sim.groups
    n_p = len(sc.pain_points)
    S = len(g.segments)
    impacts = np.array([drv.metric_impacts().get(name, 0.0) for drv in sc.drivers], dtype=np.float64)
    exposed = np.zeros((S, len(impacts)))
    for j in range(len(impacts)):
        if impacts[j] != 0.0:
            e = g.exposed(j)
            exposed[:, j] = np.bincount(g.segment[e], weights=g.customers[e], minlength=S)
    sign = np.where(np.arange(len(impacts)) < n_p, -1.0, 1.0)
    return exposed * (impacts * sign)[None, :] / float(g.n_customers)


def metric_levels(sim: Simulation, portfolios: Sequence[Iterable[int]], name: str,
                  draws: Draws | None = None) -> np.ndarray:
    """(P, T): the metric's level in the horizon's last month for each portfolio on every trial."""
    return metric_levels_in_month(sim, portfolios, name, sim.scenario.horizon_months - 1, draws)


def metric_levels_in_month(sim: Simulation, portfolios: Sequence[Iterable[int]], name: str, month: int,
                           draws: Draws | None = None) -> np.ndarray:
    """(P, T): the metric's level in month index ``month`` (0-based: month label ``month + 1``) for
    each portfolio on every trial: the initiatives live in that month fix (reach) their share.

    The same grouped statistics and formula as the horizon's level (module docstring), with
    the live set of that month: the level a survey at the end of month label ``month + 1``
    measures (tracking holds measured levels against it).
    """
    d = draws or sim.draws
    sc = sim.scenario
    info = metric_info(sc, name)
    today = 0.0 if info.today is None else float(info.today)
    w = level_weights(sim, name)
    target = segment_targets(sc, sim.groups)
    live = d.success & (d.golive <= int(month))  # (T, K)
    # per initiative, its (driver, segment-weight) terms: not-fixed factor per trial
    terms: dict[int, list[tuple[int, np.ndarray]]] = {}
    out = np.full((len(portfolios), d.trials), today)
    for q, p in enumerate(portfolios):
        p = sorted(int(k) for k in p)
        not_f: dict[tuple[int, int], np.ndarray] = {}
        for k in p:
            if k not in terms:
                terms[k] = [(int(d.fix_driver[e]), np.where(live[:, k], 1.0 - d.effect[:, e], 1.0))
                            for e in range(d.fix_ptr[k], d.fix_ptr[k + 1])]
            for j, factor in terms[k]:
                for s in np.flatnonzero(target[k]):
                    if w[s, j] != 0.0:
                        key = (int(s), j)
                        not_f[key] = not_f[key] * factor if key in not_f else factor
        for (s, j), nf in not_f.items():
            out[q] += w[s, j] * (1.0 - nf)
    return out


def metric_level_path(sim: Simulation, portfolio: Iterable[int], name: str, draws: Draws | None = None
                      ) -> np.ndarray:
    """(T, H): the metric's level in each month of the horizon for one portfolio (the last column
    is :func:`metric_level`, the same bits)."""
    p = [sorted(int(k) for k in portfolio)]
    H = sim.scenario.horizon_months
    return np.column_stack([metric_levels_in_month(sim, p, name, m, draws)[0] for m in range(H)])


def metric_level(sim: Simulation, portfolio: Iterable[int], name: str, draws: Draws | None = None) -> np.ndarray:
    """(T,): the metric's level in the horizon's last month for one portfolio."""
    return metric_levels(sim, [list(portfolio)], name, draws)[0]
