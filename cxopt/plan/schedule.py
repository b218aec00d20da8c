"""The one month convention (DESIGN.md section 3) and an initiative's planned metric path.

Every month a user reads or writes is a **month label**: month ``m`` (1..H, or ``YYYY-MM``
counted from ``[scenario] start``) is the m-th calendar month of the horizon; a value "in
month m" is its value at the end of month m; an initiative's go-live month is the first
month in which it is live. Internally (the draws, ``trials.parquet``'s ``golive.*``) months
count from 0: the internal go-live ``g`` is the label ``g + 1``. This module is the only
place that converts.

The planned process-metric path is linear from the baseline at the start of the work (the
end of month ``start_month``, the scenario's months before work starts) to the target at the
end of the go-live month: at the end of month ``m`` the planned share of the way is
``clip((m - start_month) / (golive - start_month), 0, 1)`` with ``golive`` the go-live label.
plan.md's checkpoints, plan.json's and the tracking page's planned paths all come from
:func:`planned_share`, so a plan followed exactly is on track.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

__all__ = ["golive_label", "planned_share", "planned_metric", "month_name", "add_months"]


def golive_label(golive_index: np.ndarray | int) -> np.ndarray | int:
    """The go-live month label (first month live, 1-based) of an internal 0-based go-live."""
    return golive_index + 1


def planned_share(start_month: int, golive: np.ndarray | float, month: int | np.ndarray) -> np.ndarray:
    """Planned share of the way from the metric's baseline to its target at the end of ``month``.

    Parameters
    ----------
    start_month : int
        The initiative's ``start_month`` (months of the horizon before work starts).
    golive : float or array
        The go-live month label (first month live).
    month : int or array
        The month label.
    """
    span = np.maximum(np.asarray(golive, dtype=np.float64) - start_month, 1.0)
    return np.clip((np.asarray(month, dtype=np.float64) - start_month) / span, 0.0, 1.0)


def planned_metric(metric, start_month: int, golive: float, month: int) -> float:
    """The process metric planned for the end of ``month`` (labels), baseline -> target."""
    share = float(planned_share(start_month, golive, month))
    return metric.baseline + share * (metric.target - metric.baseline)


def add_months(d: _dt.date, months: int) -> _dt.date:
    """The first day of the month ``months`` after ``d``'s month."""
    y, m = divmod(d.month - 1 + months, 12)
    return _dt.date(d.year + y, m + 1, 1)


def month_name(month: int, start: _dt.date | None) -> str:
    """``"2027-03"`` for month label 3 of a plan starting 2027-01, ``"3"`` without a start."""
    if start is None:
        return str(int(month))
    return add_months(start, int(month) - 1).strftime("%Y-%m")
