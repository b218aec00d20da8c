"""The actuals file: what happened, month by month (and process metrics week by week).

One row per month, months in order (``docs/plan-format.md``): ``month`` (a month label: 1..H,
or ``YYYY-MM`` counted from ``[scenario] start``), ``customers_lost``, ``revenue_lost``,
``customers_active``, and per initiative ``<id>.metric`` (its process metric at the end of
the month), ``<id>.status`` (planned, live, delayed, cancelled) and ``<id>.live_month`` (the
month label of its first live month, actual or revised), and per CX metric the scenario
declares in ``[metrics]`` a column named after it (``csat``): the level measured that month
(a survey), evidence on the initiatives' effects (``tracking.evidence``). A row whose ``month`` is an ISO date
(``2027-02-08``) is a dated process-metric reading (owners review weekly): it may hold only
metric columns. A file with a header and no rows is valid: nothing has happened yet.
"""

from __future__ import annotations

import calendar
import csv
import datetime as _dt
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cxopt.errors import DataError, Problem
from cxopt.plan.store import StoredPlan, load_plan

__all__ = ["Actuals", "MetricReading", "read_actuals", "plan_and_actuals", "STATUSES", "BASE_COLUMNS"]

STATUSES = ("planned", "live", "delayed", "cancelled")
BASE_COLUMNS = ("month", "customers_lost", "revenue_lost", "customers_active")
# cells that mean "not given" in a CSV: blank, or a spreadsheet's not-available marks; a NaN written as
# a number ("nan", "NaN") is not among them: a value that is not a finite number is bad input
MISSING = ("", "#N/A", "#N/A N/A", "#NA", "N/A", "NA", "NULL", "n/a", "null")
# names a column of CX score levels is likely to carry: one the scenario does not declare is an error
# that says so, not "unknown column"
WELL_KNOWN_METRICS = ("nps", "csat", "ces", "osat", "tnps")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class MetricReading:
    """One process-metric reading: ``time`` in months from the horizon's start (the end of
    month label m is ``m``; a reading dated the 8th of month m is ``m - 1 + 8/31``)."""

    initiative: str
    time: float
    value: float
    label: str


@dataclass(frozen=True)
class Actuals:
    """Validated actuals. Monthly rows: months are labels 1..H; missing values are NaN / None."""

    months: np.ndarray  # (M,) int month labels, strictly increasing
    customers_lost: np.ndarray  # (M,) float, NaN where not given
    revenue_lost: np.ndarray
    customers_active: np.ndarray
    metric: dict[str, np.ndarray]  # initiative id -> (M,) float: the monthly rows' readings
    status: dict[str, list]  # initiative id -> (M,) str or None
    live_month: dict[str, np.ndarray]  # initiative id -> (M,) float month label (NaN: not given)
    readings: tuple[MetricReading, ...] = ()  # every metric reading, monthly and dated, in time order
    source: str = ""
    levels: dict[str, np.ndarray] = field(default_factory=dict)  # declared CX metric -> (M,) measured level, NaN

    def __post_init__(self) -> None:
        if not self.readings and self.metric:  # built in Python from monthly metric columns
            readings = [MetricReading(kid, float(m), float(x), str(int(m)))
                        for kid, values in self.metric.items() for m, x in zip(self.months, values) if not np.isnan(x)]
            object.__setattr__(self, "readings", tuple(sorted(readings, key=lambda r: (r.time, r.initiative))))

    @property
    def has_evidence(self) -> bool:
        """Whether anything here is evidence (losses or metric readings), not only facts."""
        return bool(np.any(~np.isnan(self.customers_lost)) or np.any(~np.isnan(self.revenue_lost))
                    or self.readings or any(np.any(~np.isnan(v)) for v in self.levels.values()))

    @classmethod
    def empty(cls, source: str = "") -> "Actuals":
        nothing = np.zeros(0)
        return cls(months=np.zeros(0, dtype=np.int64), customers_lost=nothing, revenue_lost=nothing,
                   customers_active=nothing, metric={}, status={}, live_month={}, source=source)


def _month_label(value, start: _dt.date | None, horizon: int, where: str, row: int) -> tuple[int, float | None]:
    """(month label, time of a dated reading or None) of a ``month`` cell."""
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        value = value.isoformat()
    day_time = None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        m = int(value)
    elif isinstance(value, float) and value.is_integer():
        m = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            m = int(text)
        else:
            if start is None:
                raise DataError(Problem(where, "month", f"row {row}: {value!r} is a calendar month, but the "
                                                        "scenario has no [scenario] start; give months as "
                                                        f"1..{horizon}"))
            try:
                if _ISO_DATE.match(text):
                    d = _dt.date.fromisoformat(text)
                    days = calendar.monthrange(d.year, d.month)[1]
                    day_time = d.day / days
                else:
                    d = _dt.datetime.strptime(text, "%Y-%m").date()
            except ValueError:
                raise DataError(Problem(where, "month", f"row {row}: expected 1..{horizon}, YYYY-MM or a date "
                                                        f"YYYY-MM-DD, got {value!r}")) from None
            m = (d.year - start.year) * 12 + (d.month - start.month) + 1
    else:
        raise DataError(Problem(where, "month", f"row {row}: expected 1..{horizon} or YYYY-MM, got {value!r}"))
    if not 1 <= m <= horizon:
        raise DataError(Problem(where, "month", f"row {row}: month {value!r} is outside the plan's "
                                                f"{horizon}-month horizon"))
    return m, (None if day_time is None else m - 1 + day_time)


def _read_table(path: Path, where: str, levels: tuple[str, ...] = ()) -> pa.Table:
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path)
        if path.suffix.lower() == ".xlsx":  # a filled actuals-template.xlsx: the same table, cells named
            from cxopt.data.workbook import read_actuals_workbook

            return read_actuals_workbook(path, levels)
        # every column as text: a column of months and dates, or numbers, is parsed per cell here
        with open(path, newline="", encoding="utf-8-sig") as f:
            names = next(csv.reader(f), [])
        types = {n: pa.string() for n in names}
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True, column_types=types,
                                                                         null_values=list(MISSING)))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(Problem(where, "", f"cannot read: {exc}")) from None


def plan_and_actuals(plan: "StoredPlan | str | Path", actuals: "Actuals | str | Path") -> tuple[StoredPlan, "Actuals"]:
    """The plan and its actuals, each read from its path unless already read (what track and replan take)."""
    if not isinstance(plan, StoredPlan):
        plan = load_plan(plan)
    if not isinstance(actuals, Actuals):
        actuals = read_actuals(actuals, plan)
    return plan, actuals


def read_actuals(path: str | Path, plan: StoredPlan) -> Actuals:
    """Read and validate an actuals file (CSV or Parquet) against a stored plan.

    Raises
    ------
    DataError
        Naming the file, the column and the row of the first problem (every column problem at once).
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise DataError(Problem(where, "", "no such file"))
    sc = plan.scenario
    table = _read_table(path, where, tuple(m for m in sc.metrics if m not in BASE_COLUMNS))
    ids = set(sc.initiative_ids)
    chosen = {sc.initiative_ids[k] for k in plan.selected}
    names = table.column_names
    if "month" not in names:
        raise DataError(Problem(where, "month", "missing column"))
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(Problem(where, name, "the column is given twice"))
        seen.add(name)
    declared = [m for m in sc.metrics if m not in BASE_COLUMNS]
    for name in names:
        if name in BASE_COLUMNS or name in declared:
            continue
        kid, _, what = name.rpartition(".")
        if not kid and (name in sc.metric_names() or name.lower() in WELL_KNOWN_METRICS):
            problems.append(Problem(where, name, f"a measured level of the CX metric {name!r}, which the scenario "
                                                 f"does not declare: add [metrics.{name}] with today's level "
                                                 "(baseline) to hold a measured level against it"))
        elif not kid or what not in ("metric", "status", "live_month"):
            levels = f", a declared CX metric's level ({', '.join(declared)})" if declared else ""
            problems.append(Problem(where, name, "unknown column (expected month, customers_lost, revenue_lost, "
                                                 f"customers_active, <initiative>.metric/.status/.live_month{levels})"))
        elif kid not in ids:
            problems.append(Problem(where, name, f"unknown initiative {kid!r}"))
        elif what == "metric" and sc.initiative(kid).metric is None:
            problems.append(Problem(where, name, f"initiative {kid!r} has no process metric in the scenario"))
        elif kid not in chosen:
            warnings.warn(f"{where}: {name}: {kid!r} is not in the plan's portfolio; ignored")
    if problems:
        raise DataError(problems)
    rows = table.to_pylist()
    start = sc.scenario.start
    H = sc.horizon_months

    def blank(v) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    monthly, dated = [], []  # (row number, row, month label[, time])
    for i, r in enumerate(rows, start=1):
        if blank(r["month"]):
            raise DataError(Problem(where, "month", f"row {i}: missing value"))
        m, t = _month_label(r["month"], start, H, where, i)
        if t is None:
            if monthly and m <= monthly[-1][2]:
                raise DataError(Problem(where, "month", f"row {i}: month {m} is not after month {monthly[-1][2]} "
                                                        "(months must be in order, each once)"))
            monthly.append((i, r, m))
        else:
            for name in names:
                if name != "month" and not name.endswith(".metric") and not blank(r[name]):
                    raise DataError(Problem(where, name, f"row {i}: a dated row ({r['month']}) holds process "
                                                         "metrics only; losses and delivery facts are monthly"))
            dated.append((i, r, m, t))

    def number(name: str, i: int, v) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise DataError(Problem(where, name, f"row {i}: expected a number, got {v!r}")) from None
        if not math.isfinite(x):
            raise DataError(Problem(where, name, f"row {i}: not a finite number"))
        if x < 0 and not name.endswith(".metric") and name not in declared:
            raise DataError(Problem(where, name, f"row {i}: negative value {x:g}"))
        return x

    def numbers(name: str) -> np.ndarray:
        out = np.full(len(monthly), np.nan)
        if name in names:
            for q, (i, r, _) in enumerate(monthly):
                if not blank(r[name]):
                    out[q] = number(name, i, r[name])
        return out

    metric, status, live = {}, {}, {}
    readings: list[MetricReading] = []
    for kid in [x for x in sc.initiative_ids if x in chosen]:
        if f"{kid}.metric" in names:
            metric[kid] = numbers(f"{kid}.metric")
            readings += [MetricReading(kid, float(m), float(x), str(m))
                         for (_, _, m), x in zip(monthly, metric[kid]) if not np.isnan(x)]
            readings += [MetricReading(kid, t, number(f"{kid}.metric", i, r[f"{kid}.metric"]), str(r["month"]))
                         for i, r, _, t in dated if not blank(r[f"{kid}.metric"])]
        if f"{kid}.live_month" in names:
            values = numbers(f"{kid}.live_month")
            bad = ~np.isnan(values) & ((values != np.round(values)) | (values < 1) | (values > H + 1))
            if bad.any():
                q = int(np.flatnonzero(bad)[0])
                raise DataError(Problem(where, f"{kid}.live_month", f"row {monthly[q][0]}: expected the month label "
                                                                    f"of the first live month, 1..{H} (or {H + 1}: "
                                                                    f"after the horizon), got {values[q]:g}"))
            live[kid] = values
        if f"{kid}.status" in names:
            col = []
            for i, r, _ in monthly:
                v = r[f"{kid}.status"]
                if blank(v):
                    col.append(None)
                    continue
                v = str(v).strip().lower()
                if v not in STATUSES:
                    raise DataError(Problem(where, f"{kid}.status", f"row {i}: expected one of "
                                                                   f"{', '.join(STATUSES)}, got {v!r}"))
                col.append(v)
            status[kid] = col
    levels = {m: numbers(m) for m in declared if m in names}
    customers_lost, revenue_lost = numbers("customers_lost"), numbers("revenue_lost")
    customers_active = numbers("customers_active")
    # impossible actuals: more lost (in a month, or summed up to a month) than the base holds
    base_customers, base_revenue = float(np.sum(plan.groups.customers)), float(np.sum(plan.groups.revenue))
    for name, values, whole, what in (("customers_lost", customers_lost, base_customers, "customers"),
                                      ("revenue_lost", revenue_lost, base_revenue, "revenue"),
                                      ("customers_active", customers_active, base_customers, "customers")):
        running = np.nancumsum(values) if name != "customers_active" else np.nan_to_num(values)
        bad = running > whole * (1 + 1e-9) + 1e-9
        if bad.any():
            q = int(np.flatnonzero(bad)[0])
            so_far = "" if name == "customers_active" or running[q] == values[q] else f" (up to this month: {running[q]:g})"
            raise DataError(Problem(where, name, f"row {monthly[q][0]}: {values[q]:g}{so_far} is more than the "
                                                 f"plan's base holds ({whole:g} {what})"))
    return Actuals(months=np.array([m for _, _, m in monthly], dtype=np.int64),
                   customers_lost=customers_lost, revenue_lost=revenue_lost,
                   customers_active=customers_active, metric=metric, status=status, live_month=live,
                   readings=tuple(sorted(readings, key=lambda x: (x.time, x.initiative))), source=where,
                   levels=levels)
